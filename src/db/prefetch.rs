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
//! [`sessions::prefetch`]); meters on PostgreSQL, where the alternative is
//! a statement that writes.
//!
//! What a job finds is what the statement saw at the start of its chunk,
//! before the jobs ahead of it in the chunk ran. That is an order the
//! requests could have come in anyway: no caller of the chunk has had an
//! answer yet, so none of them can have seen another's effect. Each kind
//! of answer is used only where that holds (see the readers).

use super::{sessions, unlocks, Conn};

/// What a job starts by reading.
pub enum Hint {
    /// The live session with this token hash ([`sessions::find_live`]).
    Session(String),
    /// The metered open of a post ([`unlocks::open_metered`]).
    Metered(unlocks::MeteredKey),
}

/// Reads ahead what `hints` announce, on `conn`, for the chunk about to
/// run there. A failure is left for the jobs to meet (and report)
/// themselves, on their own statements.
///
/// On PostgreSQL the read-aheads of both kinds are pipelined: both
/// statements go out before either answer is read, so a chunk of session
/// checks and metered reads (every logged-in reader's article) costs one
/// round trip, not two — one wake-up of PostgreSQL's backend and of this
/// thread instead of two. Each statement is still executed on its own,
/// which is most of what it costs PostgreSQL; one statement for both was
/// tried and cost as much as the two (bench/README.md, sessions 8 to 10).
pub fn run<'a>(conn: &mut Conn, hints: impl Iterator<Item = &'a Hint>) {
    let mut hashes = Vec::new();
    let mut metered = Vec::new();
    for hint in hints {
        match hint {
            Hint::Session(hash) => hashes.push(hash.as_str()),
            Hint::Metered(key) => metered.push(*key),
        }
    }
    let hashes = sessions::to_read_ahead(conn, &hashes);
    match conn {
        Conn::Sqlite(c) => {
            if let Some(hashes) = hashes {
                sessions::keep_prefetched(&hashes, sessions::read_ahead_sqlite(c, &hashes));
            }
        }
        Conn::Postgres(pg) => {
            let metered = unlocks::to_read_ahead(&metered);
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

    /// Both kinds read ahead in one pipelined round trip, and each kind
    /// alone, each answer where it belongs: a failed or misfiled read-ahead
    /// would show in no response (each job would just ask on its own), so
    /// it is checked here, column by column, every column with a value of
    /// its own.
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
            let new = sessions::NewSession {
                id: "id-alice",
                token_hash: "alice's",
                user_id: alice,
                stay_signed_in: false,
                user_agent: Some("a browser"),
                ip: Some("192.0.2.7"),
                now: 7,
                expires_at: 100,
            };
            sessions::insert(conn, &new).unwrap();
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

            let key = |user_id, post_id| unlocks::MeteredKey::new(user_id, month, post_id);
            let hints = [
                Hint::Session("alice's".into()),
                Hint::Metered(key(alice, 1)),
                Hint::Session("nobody's".into()),
                Hint::Metered(key(alice, 2)),
                Hint::Metered(key(bob, 1)),
                Hint::Metered(key(alice, 999)),
            ];
            let title = |conn: &mut Conn, id| posts::find(conn, id).unwrap().unwrap().title;
            let expected = [
                Some((1, title(conn, 1), 1, true, true)),
                Some((2, title(conn, 2), 1, false, true)),
                Some((1, title(conn, 1), 0, false, false)),
                None,
            ];
            // What this chunk read ahead for a meter, field by field.
            let metered = |user_id, post_id| {
                unlocks::prefetched(&key(user_id, post_id)).map(|m| {
                    (
                        m.post.id,
                        m.post.title,
                        m.used_before,
                        m.was_unlocked,
                        m.noticed,
                    )
                })
            };
            // Alice's session and user, column by column, as found alone.
            let direct = sessions::find_live(conn, "alice's", 0).unwrap();
            let direct = format!("{:?}", direct.expect("alice's session"));
            // Twice: the first run prepares both statements (one after the
            // other), the second finds them prepared and sends both before
            // reading either answer. Both kinds together, and each alone.
            for round in 1..=2 {
                for (with_sessions, with_meters) in [(true, true), (true, false), (false, true)] {
                    let chunk = hints.iter().filter(|hint| match hint {
                        Hint::Session(_) => with_sessions,
                        Hint::Metered(_) => with_meters,
                    });
                    run(conn, chunk);
                    let session = sessions::prefetched("alice's");
                    let nobody = sessions::prefetched("nobody's");
                    let read = [
                        metered(alice, 1),
                        metered(alice, 2),
                        metered(bob, 1),
                        metered(alice, 999),
                    ];
                    forget();

                    let at =
                        format!("round {round}, sessions {with_sessions}, meters {with_meters}");
                    if with_sessions {
                        let session = session.expect("sessions read ahead");
                        let session = session.expect("alice's session found");
                        assert_eq!(format!("{session:?}"), direct, "{at}");
                        assert!(matches!(nobody, Some(None)), "{at}");
                    } else {
                        assert!(session.is_none() && nobody.is_none(), "{at}");
                    }
                    if with_meters {
                        assert_eq!(read, expected, "{at}");
                    } else {
                        assert_eq!(read, [None, None, None, None], "{at}");
                    }
                }
            }
            assert!(sessions::prefetched("alice's").is_none(), "forgotten");
        });
    }
}
