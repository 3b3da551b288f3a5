//! What tollgate's hot paths read ahead, given to the engine as the pool's
//! [`ReadAhead`]: a request's session, and a metered read's meter.
//!
//! On PostgreSQL every statement is a round trip to another process, and
//! the round trip (both ends' system calls, PostgreSQL's per-statement
//! work) costs more than the query; on SQLite each statement is its own
//! read transaction, whose file locks cost more than the lookup. So a job
//! says what it starts by reading (a [`Lookup`]), and its chunk reads that
//! for all its jobs in one statement per kind before they run; each job
//! finds its answer there instead of asking on its own. Sessions are read
//! ahead on both backends (on SQLite only for larger batches, see
//! [`sessions::read_ahead::to_read_ahead`]); meters on PostgreSQL, keyed by
//! the session's token hash: a metered read asks for its meter along with
//! its session, in the same job (see [`unlocks::answer_read_only`]).
//!
//! What a job finds is what the statement saw at the start of its chunk,
//! before the jobs ahead of it in the chunk ran. That is an order the
//! requests could have come in anyway: no caller of the chunk has had an
//! answer yet, so none of them can have seen another's effect. Each kind
//! of answer is used only where that holds (see the readers).

use super::engine::{Conn, ReadAhead};
use super::tables::{sessions, unlocks};

/// What a job starts by reading: the live session with this token hash
/// ([`sessions::find_live`]) and, for a metered read of a post, what its
/// user's meter says of it ([`unlocks::answer_read_only`]).
pub struct Lookup {
    pub token_hash: String,
    pub meter: Option<unlocks::MeterKey>,
}

impl Lookup {
    /// A session check alone.
    pub fn session(token_hash: String) -> Lookup {
        Lookup {
            token_hash,
            meter: None,
        }
    }
}

/// Sessions and meters, read ahead per chunk (see the module's doc).
pub struct SessionsAndMeters;

impl ReadAhead for SessionsAndMeters {
    type Key = Lookup;

    /// On PostgreSQL the read-aheads of both kinds are pipelined: both
    /// statements go out before either answer is read, so a chunk of
    /// session checks and metered reads (every logged-in reader's article)
    /// costs one round trip, not two — one wake-up of PostgreSQL's backend
    /// and of this thread instead of two. Each statement is still executed
    /// on its own, which is most of what it costs PostgreSQL; one statement
    /// for both was measured to cost as much as the two (docs/performance.md).
    /// On SQLite meters are not read ahead: a plain read in the process
    /// cost less than a statement whose length varied with the chunk. (The
    /// sessions' read-ahead takes its keys as one JSON array, prepared
    /// once; that form is untried for meters.)
    fn read<'a>(conn: &mut Conn, lookups: impl Iterator<Item = &'a Lookup>) {
        let mut hashes = Vec::new();
        let mut metered = Vec::new();
        for lookup in lookups {
            hashes.push(lookup.token_hash.as_str());
            if let Some(key) = lookup.meter {
                metered.push((lookup.token_hash.as_str(), key));
            }
        }
        let metered = match conn {
            Conn::Postgres(_) => unlocks::read_ahead::to_read_ahead(&metered),
            Conn::Sqlite(_) => None,
        };
        let hashes = sessions::read_ahead::to_read_ahead(conn, &hashes, metered.is_some());
        match conn {
            Conn::Sqlite(c) => {
                if let Some(hashes) = hashes {
                    let found = sessions::read_ahead::read_sqlite(c, &hashes);
                    sessions::read_ahead::keep(&hashes, found);
                }
            }
            Conn::Postgres(pg) => {
                let (wanted, keys) = (hashes.as_deref(), metered.as_deref());
                let (found, opens) = pg.pipelined(|c| async move {
                    tokio::join!(
                        async move {
                            match wanted {
                                Some(hashes) => {
                                    Some(sessions::read_ahead::read_pg(c, hashes).await)
                                }
                                None => None,
                            }
                        },
                        async move {
                            match keys {
                                Some(keys) => Some(unlocks::read_ahead::read_pg(c, keys).await),
                                None => None,
                            }
                        },
                    )
                });
                if let (Some(hashes), Some(found)) = (&hashes, found) {
                    sessions::read_ahead::keep(hashes, found);
                }
                if let Some(opens) = opens {
                    unlocks::read_ahead::keep(opens);
                }
            }
        }
    }

    fn forget() {
        sessions::read_ahead::forget();
        unlocks::read_ahead::forget();
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    use super::*;
    use crate::db::engine::pg::PgConn;
    use crate::db::engine::testing::on_postgres;
    use crate::db::engine::{migrate, DbConnection};
    use crate::db::schema::paywall_notices;
    use crate::db::tables::sessions::read_ahead::found;
    use crate::db::tables::sessions::{find_live, insert, touch, NewSession};
    use crate::db::tables::{posts, users};
    use crate::domain::{Month, Username};
    use diesel::SqliteConnection;

    /// A time after every demo post's.
    const LATER: i64 = 1_800_000_000;

    /// Sessions and meters read ahead in one pipelined round trip, and
    /// sessions alone, each answer where it belongs: a failed or misfiled
    /// read-ahead would show in no response (each job would just ask on its
    /// own), so it is checked here, column by column, every column with a
    /// value of its own.
    #[test]
    fn postgres_reads_sessions_and_meters_ahead_together() {
        on_postgres("read_ahead", |url| {
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
            let read = unlocks::MeteredRead {
                user_id: alice,
                key: unlocks::MeterKey { month, post_id: 1 },
                limit: 5,
                now: LATER,
            };
            unlocks::open_metered(conn, read).unwrap();
            // Post 3 is a draft again, post 4 deleted: neither is found.
            conn.batch_execute(
                "UPDATE posts SET status = 'draft' WHERE id = 3;
                 UPDATE posts SET deleted_at = 1 WHERE id = 4;",
            )
            .unwrap();
            diesel::insert_into(paywall_notices::table)
                .values((
                    paywall_notices::user_id.eq(alice),
                    paywall_notices::month.eq(month.index()),
                ))
                .execute(conn)
                .unwrap();

            let key = |post_id| unlocks::MeterKey { month, post_id };
            let metered = |token_hash: &str, post_id| Lookup {
                token_hash: token_hash.to_owned(),
                meter: Some(key(post_id)),
            };
            let lookups = [
                metered("alice's", 1),
                metered("alice's", 2),
                Lookup::session("nobody's".into()),
                metered("nobody's", 1),
                metered("bob's", 1),
                metered("alice's", 999),
                metered("alice's", 3),
                metered("alice's", 4),
            ];
            // The whole post, as a reader's own query finds it.
            let post = |conn: &mut Conn, id| {
                let post = posts::find_visible(conn, id, LATER).unwrap().unwrap();
                Some(format!("{post:?}"))
            };
            let expected = [
                Some((alice, post(conn, 1), 1, true, true)),
                Some((alice, post(conn, 2), 1, false, true)),
                None,
                Some((bob, post(conn, 1), 0, false, false)),
                Some((alice, None, 1, false, true)),
                Some((alice, None, 1, false, true)),
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
                    ("alice's", 3),
                    ("alice's", 4),
                ]
                .map(|(token_hash, post_id)| {
                    unlocks::read_ahead::found(token_hash, key(post_id)).map(|m| {
                        (
                            m.user_id,
                            m.post.map(|post| format!("{post:?}")),
                            m.meter.used_before,
                            m.meter.was_unlocked,
                            m.meter.noticed,
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
                    let chunk: Vec<Lookup> = lookups
                        .iter()
                        .map(|lookup| Lookup {
                            token_hash: lookup.token_hash.clone(),
                            meter: lookup.meter.filter(|_| with_meters),
                        })
                        .collect();
                    SessionsAndMeters::read(conn, chunk.iter());
                    let session = sessions::read_ahead::found("alice's");
                    let nobody = sessions::read_ahead::found("nobody's");
                    let meters = read();
                    SessionsAndMeters::forget();

                    let at = format!("round {round}, meters {with_meters}");
                    let session = session.expect("sessions read ahead");
                    let session = session.expect("alice's session found");
                    assert_eq!(format!("{session:?}"), direct, "{at}");
                    assert!(matches!(nobody, Some(None)), "{at}");
                    if with_meters {
                        assert_eq!(meters, expected, "{at}");
                    } else {
                        assert_eq!(meters, [None, None, None, None, None, None, None], "{at}");
                    }
                }
            }
            // One metered read alone: its session is read ahead with it.
            SessionsAndMeters::read(conn, [metered("bob's", 1)].iter());
            let (session, meter) = (sessions::read_ahead::found("bob's"), read()[3].clone());
            SessionsAndMeters::forget();
            assert!(matches!(session, Some(Some(_))));
            assert_eq!(meter, expected[3]);
            assert!(
                sessions::read_ahead::found("alice's").is_none(),
                "forgotten"
            );
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
            .join("read_ahead.db")
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
        // Every hash twice, and two nobody holds: twelve lookups.
        let mut chunk: Vec<Lookup> = hashes.iter().map(|h| Lookup::session(h.clone())).collect();
        chunk.extend(hashes.iter().map(|h| Lookup::session(h.clone())));
        chunk.push(Lookup::session("nobody's".into()));
        chunk.push(Lookup::session("nobody's either".into()));
        for round in 1..=2 {
            SessionsAndMeters::read(conn, chunk.iter());
            for (hash, direct) in hashes.iter().zip(&direct) {
                let found = sessions::read_ahead::found(hash).expect("read ahead");
                let found = found.expect("found");
                assert_eq!(&format!("{found:?}"), direct, "round {round}");
            }
            assert!(matches!(
                sessions::read_ahead::found("nobody's"),
                Some(None)
            ));
            SessionsAndMeters::forget();
            assert!(
                sessions::read_ahead::found(&hashes[0]).is_none(),
                "forgotten"
            );
        }
    }

    /// The read-ahead finds, for every hash, what [`find_live`] finds on
    /// its own (the read-ahead failing would not show in any answer: each
    /// job would just ask again, a statement per request).
    fn sessions_read_ahead_are_what_find_live_finds(conn: &mut Conn) {
        migrate(conn).unwrap();
        let mut session = |name: &str, hash: &str, expires_at: i64, agent: Option<&str>| {
            let user = users::insert(conn, &Username::parse(name).unwrap(), "a hash", 1)
                .unwrap()
                .unwrap();
            let new = NewSession {
                id: &format!("id-{hash}"),
                token_hash: hash,
                user_id: user.id,
                stay_signed_in: agent.is_none(),
                user_agent: agent,
                ip: Some("192.0.2.7"),
                now: 1,
                expires_at,
            };
            insert(conn, &new).unwrap();
        };
        session("alice", "live", 100, Some("a browser"));
        session("bob", "expired", 5, None);
        // Every column a value of its own, so that two swapped are seen.
        touch(conn, "id-live", 3, 100, "192.0.2.7").unwrap();
        // Enough hashes for SQLite to read ahead too, one of them twice.
        let hashes = [
            "live", "expired", "none", "live", "n1", "n2", "n3", "n4", "n5",
        ];
        let lookups: Vec<Lookup> = hashes
            .iter()
            .map(|h| Lookup::session(h.to_string()))
            .collect();
        SessionsAndMeters::read(conn, lookups.iter());
        let ahead: Vec<_> = hashes.iter().map(|h| found(h)).collect();
        SessionsAndMeters::forget();
        for (hash, ahead) in hashes.iter().zip(ahead) {
            let ahead = ahead.unwrap_or_else(|| panic!("{hash} was not read ahead"));
            let live = ahead.filter(|(session, _)| session.expires_at > 10);
            let direct = find_live(conn, hash, 10).unwrap();
            assert_eq!(format!("{live:?}"), format!("{direct:?}"), "{hash}");
        }
        assert!(found("live").is_none(), "forgotten");
        let (session, user) = find_live(conn, "live", 10).unwrap().unwrap();
        assert_eq!(
            (session.ip.as_deref(), user.username.as_str()),
            (Some("192.0.2.7"), "alice")
        );
    }

    #[test]
    fn sqlite_sessions_read_ahead_are_what_find_live_finds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db").to_string_lossy().into_owned();
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(&path).unwrap());
        sessions_read_ahead_are_what_find_live_finds(&mut conn);
    }

    #[test]
    fn postgres_sessions_read_ahead_are_what_find_live_finds() {
        crate::db::engine::testing::on_postgres("sessions", |url| {
            let mut conn = DbConnection::Postgres(PgConn::establish(url).unwrap());
            sessions_read_ahead_are_what_find_live_finds(&mut conn);
        });
    }
}
