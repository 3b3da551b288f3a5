//! Reading ahead for a chunk of batched work.
//!
//! On PostgreSQL every statement is a round trip to another process, and
//! the round trip (both ends' system calls, PostgreSQL's per-statement
//! work) costs more than the query; on SQLite each statement is its own
//! read transaction, whose file locks cost more than the lookup. So when a
//! job announces what it starts by reading (a [`Hint`]), its chunk reads
//! that for all its jobs in one statement per kind before they run, and
//! each job finds its answer here instead of asking on its own. Sessions
//! are read ahead on both backends (on SQLite only for larger batches, see
//! [`sessions::to_read_ahead`]); meters on PostgreSQL, keyed by the
//! session's token hash: a metered read asks for its meter along with its
//! session, in the same job (see [`unlocks::answer_read_only`]).
//!
//! What a job finds is what the statement saw at the start of its chunk,
//! before the jobs ahead of it in the chunk ran. That is an order the
//! requests could have come in anyway: no caller of the chunk has had an
//! answer yet, so none of them can have seen another's effect. Each kind
//! of answer is used only where that holds (see the readers).

use super::{sessions, unlocks, Conn};

/// What a job starts by reading: the live session with this token hash
/// ([`sessions::find_live`]) and, for a metered read of a post, what its
/// user's meter says of it ([`unlocks::answer_read_only`]).
pub struct Hint {
    pub token_hash: String,
    pub meter: Option<unlocks::MeterKey>,
}

impl Hint {
    /// A session check alone.
    pub fn session(token_hash: String) -> Hint {
        Hint {
            token_hash,
            meter: None,
        }
    }
}

/// Reads ahead what `hints` announce, on `conn`, for the chunk about to
/// run there. A failure is left for the jobs to meet (and report)
/// themselves.
///
/// On PostgreSQL the read-aheads of both kinds are pipelined: both
/// statements go out before either answer is read, so a chunk of session
/// checks and metered reads (every logged-in reader's article) costs one
/// round trip, not two — one wake-up of PostgreSQL's backend and of this
/// thread instead of two. Each statement is still executed on its own,
/// which is most of what it costs PostgreSQL; one statement for both was
/// tried and cost as much as the two (bench/README.md, sessions 8 to 10).
/// On SQLite meters are not read ahead: a plain read in the process cost
/// less than a statement whose length varied with the chunk. (The sessions'
/// read-ahead has since taken its keys as one JSON array, prepared once;
/// that form was not tried for meters.)
pub fn run<'a>(conn: &mut Conn, hints: impl Iterator<Item = &'a Hint>) {
    let mut hashes = Vec::new();
    let mut metered = Vec::new();
    for hint in hints {
        hashes.push(hint.token_hash.as_str());
        if let Some(key) = hint.meter {
            metered.push((hint.token_hash.as_str(), key));
        }
    }
    let metered = match conn {
        Conn::Postgres(_) => unlocks::to_read_ahead(&metered),
        Conn::Sqlite(_) => None,
    };
    let hashes = sessions::to_read_ahead(conn, &hashes, metered.is_some());
    match conn {
        Conn::Sqlite(c) => {
            if let Some(hashes) = hashes {
                sessions::keep_prefetched(&hashes, sessions::read_ahead_sqlite(c, &hashes));
            }
        }
        Conn::Postgres(pg) => {
            let (wanted, keys) = (hashes.as_deref(), metered.as_deref());
            let (found, opens) = pg.pipelined(|c| async move {
                tokio::join!(
                    async move {
                        match wanted {
                            Some(hashes) => Some(sessions::read_ahead_pg(c, hashes).await),
                            None => None,
                        }
                    },
                    async move {
                        match keys {
                            Some(keys) => Some(unlocks::read_ahead_pg(c, keys).await),
                            None => None,
                        }
                    },
                )
            });
            if let (Some(hashes), Some(found)) = (&hashes, found) {
                sessions::keep_prefetched(hashes, found);
            }
            if let Some(opens) = opens {
                unlocks::keep_prefetched(opens);
            }
        }
    }
}

/// Ends what [`run`] read, when its chunk ends.
pub fn forget() {
    sessions::forget_prefetched();
    unlocks::forget_prefetched();
}

#[cfg(test)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::db::schema::paywall_notices;
    use crate::db::{migrate, pg::PgConn, posts, users, DbConnection};
    use crate::domain::{Month, Username};
    use diesel::SqliteConnection;

    /// Sessions and meters read ahead in one pipelined round trip, and
    /// sessions alone, each answer where it belongs: a failed or misfiled
    /// read-ahead would show in no response (each job would just ask on its
    /// own), so it is checked here, column by column, every column with a
    /// value of its own.
    #[test]
    fn postgres_reads_sessions_and_meters_ahead_together() {
        crate::db::testing::on_postgres("prefetch", |url| {
            let conn = &mut DbConnection::Postgres(PgConn::establish(url).unwrap());
            migrate(conn).unwrap();
            posts::seed_if_empty(conn).unwrap();
            let month =
                Month::containing(chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap());
            let mut user = |name: &str| {
                users::insert(conn, &Username::parse(name).unwrap(), "a hash", 1)
                    .unwrap()
                    .unwrap()
                    .id
            };
            let (alice, bob) = (user("alice"), user("bob"));
            let mut session = |id: &str, token_hash: &str, user_id| {
                let new = sessions::NewSession {
                    id,
                    token_hash,
                    user_id,
                    stay_signed_in: false,
                    user_agent: Some("a browser"),
                    ip: Some("192.0.2.7"),
                    now: 7,
                    expires_at: 100,
                };
                sessions::insert(conn, &new).unwrap();
            };
            session("id-alice", "alice's", alice);
            session("id-bob", "bob's", bob);
            // Every column a value of its own, so that two swapped are seen.
            sessions::touch(conn, "id-alice", 9, 100, "192.0.2.8").unwrap();
            // Alice has read post 1 this month and met the paywall once.
            unlocks::open_metered(conn, alice, 1, month, 5, 2).unwrap();
            diesel::insert_into(paywall_notices::table)
                .values((
                    paywall_notices::user_id.eq(alice),
                    paywall_notices::month.eq(month.index()),
                ))
                .execute(conn)
                .unwrap();

            let key = |post_id| unlocks::MeterKey { month, post_id };
            let metered = |token_hash: &str, post_id| Hint {
                token_hash: token_hash.to_owned(),
                meter: Some(key(post_id)),
            };
            let hints = [
                metered("alice's", 1),
                metered("alice's", 2),
                Hint::session("nobody's".into()),
                metered("nobody's", 1),
                metered("bob's", 1),
                metered("alice's", 999),
            ];
            let title = |conn: &mut Conn, id| posts::find(conn, id).unwrap().unwrap().title;
            let expected = [
                Some((alice, Some((1, title(conn, 1))), 1, true, true)),
                Some((alice, Some((2, title(conn, 2))), 1, false, true)),
                None,
                Some((bob, Some((1, title(conn, 1))), 0, false, false)),
                Some((alice, None, 1, false, true)),
            ];
            // What this chunk read ahead for a meter, field by field.
            let read = || {
                [
                    ("alice's", 1),
                    ("alice's", 2),
                    ("nobody's", 1),
                    ("bob's", 1),
                    ("alice's", 999),
                ]
                .map(|(token_hash, post_id)| {
                    unlocks::prefetched(token_hash, key(post_id)).map(|m| {
                        (
                            m.user_id,
                            m.post.map(|post| (post.id, post.title)),
                            m.used_before,
                            m.was_unlocked,
                            m.noticed,
                        )
                    })
                })
            };
            // Alice's session and user, column by column, as found alone.
            let direct = sessions::find_live(conn, "alice's", 0).unwrap();
            let direct = format!("{:?}", direct.expect("alice's session"));
            // Twice: the first run prepares both statements (one after the
            // other), the second finds them prepared and sends both before
            // reading either answer. With meters, and sessions alone.
            for round in 1..=2 {
                for with_meters in [true, false] {
                    let chunk: Vec<Hint> = hints
                        .iter()
                        .map(|hint| Hint {
                            token_hash: hint.token_hash.clone(),
                            meter: hint.meter.filter(|_| with_meters),
                        })
                        .collect();
                    run(conn, chunk.iter());
                    let session = sessions::prefetched("alice's");
                    let nobody = sessions::prefetched("nobody's");
                    let meters = read();
                    forget();

                    let at = format!("round {round}, meters {with_meters}");
                    let session = session.expect("sessions read ahead");
                    let session = session.expect("alice's session found");
                    assert_eq!(format!("{session:?}"), direct, "{at}");
                    assert!(matches!(nobody, Some(None)), "{at}");
                    if with_meters {
                        assert_eq!(meters, expected, "{at}");
                    } else {
                        assert_eq!(meters, [None, None, None, None, None], "{at}");
                    }
                }
            }
            // One metered read alone: its session is read ahead with it.
            run(conn, [metered("bob's", 1)].iter());
            let (session, meter) = (sessions::prefetched("bob's"), read()[3].clone());
            forget();
            assert!(matches!(session, Some(Some(_))));
            assert_eq!(meter, expected[3]);
            assert!(sessions::prefetched("alice's").is_none(), "forgotten");
        });
    }

    /// SQLite reads sessions ahead for a batch of eight or more, each
    /// found one as `find_live` finds it alone, each missing one as
    /// missing, repeated hashes once: a failed read-ahead would show in no
    /// response (each job would just look up its own), so it is checked
    /// here, twice (the second run finds the statement prepared).
    #[test]
    fn sqlite_reads_sessions_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("prefetch.db")
            .to_string_lossy()
            .into_owned();
        let conn = &mut DbConnection::Sqlite(SqliteConnection::establish(&path).unwrap());
        migrate(conn).unwrap();
        let mut hashes = Vec::new();
        for n in 0..5 {
            let name = format!("reader{n}");
            let user = users::insert(conn, &Username::parse(&name).unwrap(), "a hash", 1)
                .unwrap()
                .unwrap()
                .id;
            let (id, token_hash) = (format!("id-{n}"), format!("hash-{n}"));
            let new = sessions::NewSession {
                id: &id,
                token_hash: &token_hash,
                user_id: user,
                stay_signed_in: n % 2 == 0,
                user_agent: (n != 3).then_some("a browser"),
                ip: Some("192.0.2.7"),
                now: 7 + n,
                expires_at: 100 + n,
            };
            sessions::insert(conn, &new).unwrap();
            hashes.push(token_hash);
        }
        let direct: Vec<String> = hashes
            .iter()
            .map(|h| format!("{:?}", sessions::find_live(conn, h, 0).unwrap().unwrap()))
            .collect();
        // Every hash twice, and two nobody holds: twelve hints.
        let mut chunk: Vec<Hint> = hashes.iter().map(|h| Hint::session(h.clone())).collect();
        chunk.extend(hashes.iter().map(|h| Hint::session(h.clone())));
        chunk.push(Hint::session("nobody's".into()));
        chunk.push(Hint::session("nobody's either".into()));
        for round in 1..=2 {
            run(conn, chunk.iter());
            for (hash, direct) in hashes.iter().zip(&direct) {
                let found = sessions::prefetched(hash).expect("read ahead");
                let found = found.expect("found");
                assert_eq!(&format!("{found:?}"), direct, "round {round}");
            }
            assert!(matches!(sessions::prefetched("nobody's"), Some(None)));
            forget();
            assert!(sessions::prefetched(&hashes[0]).is_none(), "forgotten");
        }
    }
}
