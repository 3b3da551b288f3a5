//! What tollgate's hot paths read ahead, given to the engine as the pool's
//! [`ReadAhead`]: a request's session, a metered read's meter, a gift
//! opened, and a browser's anonymous read.
//!
//! On PostgreSQL every statement is a round trip to another process, and
//! the round trip (both ends' system calls, PostgreSQL's per-statement
//! work) costs more than the query; on SQLite each statement is its own
//! read transaction, whose file locks cost more than the lookup. So a job
//! says what it starts by reading (a [`Lookup`]), and its chunk reads that
//! for all its jobs in one statement per kind before they run; each job is
//! handed what was found for it (an [`Ahead`]) instead of asking on its
//! own. Sessions are read ahead on both backends (on SQLite only for larger
//! batches, see [`sessions::read_ahead::to_read_ahead`]); meters on both,
//! keyed by the session's token hash: a metered read asks for its meter
//! along with its session, in the same job (see
//! [`unlocks::answer_read_only`]); gift opens on both
//! ([`gifts::read_ahead`]); and the reads of browsers without a session
//! on both ([`anonymous::read_ahead`]), keyed by the browser's reader hash.
//!
//! What a job finds is what the statement saw at the start of its chunk,
//! before the jobs ahead of it in the chunk ran. That is an order the
//! requests could have come in anyway: no caller of the chunk has had an
//! answer yet, so none of them can have seen another's effect. Each kind
//! of answer is used only where that holds (see the readers).

use super::engine::{each_once, Conn, ReadAhead};
use super::tables::{anonymous, gifts, sessions, unlocks};

/// What a job starts by reading: the live session with this token hash
/// ([`sessions::find_live`]) and, for a metered read of a post, what its
/// user's meter says of it ([`unlocks::answer_read_only`]); or a gift
/// opened ([`gifts::open`]), or a browser's anonymous read
/// ([`anonymous::post_and_meter`]), neither of which reads a session.
pub struct Lookup {
    token_hash: Option<String>,
    meter: Option<unlocks::Asked>,
    gift: Option<gifts::read_ahead::Asked>,
    anonymous: Option<anonymous::read_ahead::Asked>,
}

impl Lookup {
    /// A session check alone.
    pub fn session(token_hash: String) -> Lookup {
        Lookup {
            token_hash: Some(token_hash),
            meter: None,
            gift: None,
            anonymous: None,
        }
    }

    /// A session check, and the metered read `meter` asks for if any.
    pub fn metered(token_hash: String, meter: Option<unlocks::Asked>) -> Lookup {
        Lookup {
            token_hash: Some(token_hash),
            meter,
            gift: None,
            anonymous: None,
        }
    }

    /// A gift opened.
    pub fn gift(asked: gifts::read_ahead::Asked) -> Lookup {
        Lookup {
            token_hash: None,
            meter: None,
            gift: Some(asked),
            anonymous: None,
        }
    }

    /// A browser's read without a session.
    pub fn anonymous(asked: anonymous::read_ahead::Asked) -> Lookup {
        Lookup {
            token_hash: None,
            meter: None,
            gift: None,
            anonymous: Some(asked),
        }
    }
}

/// What a [`Lookup`]'s chunk read ahead for it, handed to its job.
#[derive(Default)]
pub struct Ahead {
    /// The session: `None` when the chunk did not look sessions up (too
    /// few to pay, or the read failed), `Some(None)` when no session has
    /// the hash. Expired ones are included: see [`sessions::read_ahead::live`].
    pub session: Option<Option<sessions::read_ahead::Found>>,
    /// The metered read: `None` when it was not read ahead.
    pub meter: Option<unlocks::read_ahead::Metered>,
    /// The gift opened: `None` when it was not read ahead, `Some(None)`
    /// when no live gift of a live post has the token. Whether the post's
    /// time has come is left to the job: see [`gifts::read_ahead::found_at`].
    pub gift: Option<Option<gifts::Found>>,
    /// The anonymous read: `None` when it was not read ahead, `Some(None)`
    /// when no live, published post has the name. Whether the post's time
    /// has come is left to the job: see [`anonymous::read_ahead::found_at`].
    pub anonymous: Option<Option<anonymous::Found>>,
}

/// Sessions, meters and gifts, read ahead per chunk (see the module's doc).
pub struct SessionsAndMeters;

impl ReadAhead for SessionsAndMeters {
    type Key = Lookup;
    type Found = Ahead;

    /// On PostgreSQL the read-aheads of every kind are pipelined: all the
    /// statements go out before any answer is read, so a chunk of session
    /// checks, metered reads (every logged-in reader's article) and gift
    /// opens costs one round trip, not one per kind — one wake-up of
    /// PostgreSQL's backend and of this thread instead of several. Each
    /// statement is still executed on its own, which is most of what it
    /// costs PostgreSQL; one statement for sessions and meters was measured
    /// to cost as much as the two (docs/performance.md). On SQLite each
    /// kind is a statement of its own, its keys as one JSON array so that
    /// it is prepared once. Each job's own read of its meter would be a
    /// statement Diesel renders on every call, and a read transaction of
    /// its own, whose file locks cost more than its lookups: read ahead,
    /// a re-read costs a fifth less CPU (S2,
    /// `bench/results/2026-11-27-sqlite-meters.md`).
    fn read(conn: &mut Conn, lookups: &[&Lookup]) -> Vec<Ahead> {
        let mut hashes = Vec::with_capacity(lookups.len());
        let mut metered = Vec::new();
        let mut opened = Vec::new();
        let mut browsers = Vec::new();
        for lookup in lookups {
            if let Some(token_hash) = &lookup.token_hash {
                hashes.push(token_hash.as_str());
                if let Some(asked) = &lookup.meter {
                    metered.push((token_hash.as_str(), asked));
                }
            }
            if let Some(asked) = &lookup.gift {
                opened.push(asked);
            }
            if let Some(asked) = &lookup.anonymous {
                browsers.push(asked);
            }
        }
        let metered = unlocks::read_ahead::to_read_ahead(&metered);
        let gifts = each_once(&opened);
        let browsers = each_once(&browsers);
        let with_others = metered.is_some() || gifts.is_some() || browsers.is_some();
        let hashes = sessions::read_ahead::to_read_ahead(conn, &hashes, with_others);
        let (sessions, meters, gifts, browsers) = match conn {
            Conn::Sqlite(c) => {
                let sessions = hashes.map(|hashes| {
                    let found = sessions::read_ahead::read_sqlite(c, &hashes);
                    sessions::read_ahead::sheet(&hashes, found)
                });
                let meters =
                    metered.and_then(|keys| unlocks::read_ahead::read_sqlite(c, &keys).ok());
                let gifts = gifts.and_then(|keys| {
                    gifts::read_ahead::sheet(gifts::read_ahead::read_sqlite(c, &keys))
                });
                let browsers =
                    browsers.and_then(|keys| anonymous::read_ahead::read_sqlite(c, &keys).ok());
                (sessions.flatten(), meters, gifts, browsers)
            }
            Conn::Postgres(pg) => {
                let (wanted, keys, gift_keys, browser_keys) = (
                    hashes.as_deref(),
                    metered.as_deref(),
                    gifts.as_deref(),
                    browsers.as_deref(),
                );
                let (found, opens, gifts, browsers) = pg.pipelined(|c| async move {
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
                        async move {
                            match gift_keys {
                                Some(keys) => Some(gifts::read_ahead::read_pg(c, keys).await),
                                None => None,
                            }
                        },
                        async move {
                            match browser_keys {
                                Some(keys) => Some(anonymous::read_ahead::read_pg(c, keys).await),
                                None => None,
                            }
                        },
                    )
                });
                let sessions = match (&hashes, found) {
                    (Some(hashes), Some(found)) => sessions::read_ahead::sheet(hashes, found),
                    _ => None,
                };
                (
                    sessions,
                    opens.and_then(unlocks::read_ahead::sheet),
                    gifts.and_then(gifts::read_ahead::sheet),
                    browsers.and_then(anonymous::read_ahead::sheet),
                )
            }
        };
        lookups
            .iter()
            .map(|lookup| Ahead {
                session: match (&sessions, &lookup.token_hash) {
                    (Some(sheet), Some(token_hash)) => {
                        Some(sheet.get(token_hash).cloned().flatten())
                    }
                    _ => None,
                },
                meter: match (&meters, &lookup.token_hash, &lookup.meter) {
                    (Some(sheet), Some(token_hash), Some(asked)) => {
                        unlocks::read_ahead::find(sheet, token_hash, asked)
                    }
                    _ => None,
                },
                gift: match (&gifts, &lookup.gift) {
                    (Some(sheet), Some(asked)) => Some(gifts::read_ahead::find(sheet, asked)),
                    _ => None,
                },
                anonymous: match (&browsers, &lookup.anonymous) {
                    (Some(sheet), Some(asked)) => Some(sheet.get(asked).cloned()),
                    _ => None,
                },
            })
            .collect()
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
    use crate::db::tables::sessions::read_ahead::live;
    use crate::db::tables::sessions::{find_live, insert, touch, NewSession};
    use crate::db::tables::{posts, users};
    use crate::domain::{Month, Username};

    /// A time after every demo post's.
    const LATER: i64 = 1_800_000_000;

    /// Takes demo posts 3 to 5 from readers as a read-ahead must see: post
    /// 3 a draft again, post 4 deleted, post 5 scheduled 50 s after LATER.
    fn hide_posts(conn: &mut Conn) {
        conn.batch_execute(&format!(
            "UPDATE posts SET status = 'draft' WHERE id = 3;
             UPDATE posts SET deleted_at = 1 WHERE id = 4;
             UPDATE posts SET published_at = {} WHERE id = 5;",
            LATER + 50
        ))
        .unwrap();
    }

    /// The slug of the published post `id`, as a reader's link names it.
    fn slug_of(conn: &mut Conn, id: i64) -> String {
        let row = posts::find_visible(conn, id, LATER).unwrap().unwrap();
        posts::find_content(conn, id, row.updated_at)
            .unwrap()
            .unwrap()
            .slug
    }

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
            hide_posts(conn);
            diesel::insert_into(paywall_notices::table)
                .values((
                    paywall_notices::user_id.eq(alice),
                    paywall_notices::month.eq(month.index()),
                ))
                .execute(conn)
                .unwrap();

            let asked = |post| unlocks::Asked {
                month,
                day: crate::domain::insights::Day::of(LATER).0,
                post,
            };
            let metered = |token_hash: &str, post_id| {
                Lookup::metered(
                    token_hash.to_owned(),
                    Some(asked(unlocks::PostRef::Id(post_id))),
                )
            };
            let by_slug = |token_hash: &str, slug: &str| {
                Lookup::metered(
                    token_hash.to_owned(),
                    Some(asked(unlocks::PostRef::Slug(slug.into()))),
                )
            };
            let (slug_1, slug_3) = (slug_of(conn, 1), "the-third-is-a-draft-now".to_owned());
            let lookups = [
                metered("alice's", 1),
                metered("alice's", 2),
                Lookup::session("nobody's".into()),
                metered("nobody's", 1),
                metered("bob's", 1),
                metered("alice's", 999),
                metered("alice's", 3),
                metered("alice's", 4),
                // By slug, what by id finds: post 1, and no post for a
                // slug nobody has.
                by_slug("alice's", &slug_1),
                by_slug("alice's", &slug_3),
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
                Some((alice, post(conn, 1), 1, true, true)),
                Some((alice, None, 1, false, true)),
            ];
            // What a chunk's read-ahead handed each lookup's job for its
            // meter, field by field (`lookups[2]` asks for none).
            let meters = |found: &[Ahead]| -> Vec<_> {
                found
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != 2)
                    .map(|(_, ahead)| {
                        ahead.meter.clone().map(|m| {
                            (
                                m.user_id,
                                m.post.map(|post| format!("{post:?}")),
                                m.meter.used_before,
                                m.meter.was_unlocked,
                                m.meter.noticed,
                            )
                        })
                    })
                    .collect()
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
                        .map(|lookup| {
                            Lookup::metered(
                                lookup.token_hash.clone().unwrap(),
                                lookup.meter.clone().filter(|_| with_meters),
                            )
                        })
                        .collect();
                    let found = SessionsAndMeters::read(conn, &chunk.iter().collect::<Vec<_>>());

                    let at = format!("round {round}, meters {with_meters}");
                    assert_eq!(found.len(), chunk.len(), "{at}");
                    let session = found[0].session.clone().expect("sessions read ahead");
                    let session = session.expect("alice's session found");
                    assert_eq!(format!("{session:?}"), direct, "{at}");
                    assert!(matches!(found[2].session, Some(None)), "{at}");
                    if with_meters {
                        assert_eq!(meters(&found), expected, "{at}");
                    } else {
                        assert_eq!(
                            meters(&found),
                            [None, None, None, None, None, None, None, None, None],
                            "{at}"
                        );
                    }
                }
            }
            // One metered read alone: its session is read ahead with it.
            let lookup = metered("bob's", 1);
            let found = SessionsAndMeters::read(conn, &[&lookup]);
            assert!(matches!(found[0].session, Some(Some(_))));
            let meter = found[0].meter.clone().map(|m| {
                (
                    m.user_id,
                    m.post.map(|post| format!("{post:?}")),
                    m.meter.used_before,
                    m.meter.was_unlocked,
                    m.meter.noticed,
                )
            });
            assert_eq!(meter, expected[3]);
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
        let conn = &mut DbConnection::Sqlite(crate::db::engine::open_sqlite(&path).unwrap());
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
        let keys: Vec<&Lookup> = chunk.iter().collect();
        for round in 1..=2 {
            let found = SessionsAndMeters::read(conn, &keys);
            assert_eq!(found.len(), keys.len());
            for (i, direct) in direct.iter().enumerate() {
                // Each hash's two lookups find the same session.
                for ahead in [&found[i], &found[i + hashes.len()]] {
                    let session = ahead.session.clone().expect("read ahead");
                    let session = session.expect("found");
                    assert_eq!(&format!("{session:?}"), direct, "round {round}");
                }
            }
            assert!(matches!(found[10].session, Some(None)));
            assert!(matches!(found[11].session, Some(None)));
            assert!(found.iter().all(|ahead| ahead.meter.is_none()));
        }
        // Below eight lookups SQLite reads nothing ahead: each job asks.
        let found = SessionsAndMeters::read(conn, &keys[..7]);
        assert!(found.iter().all(|ahead| ahead.session.is_none()));
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
        let found = SessionsAndMeters::read(conn, &lookups.iter().collect::<Vec<_>>());
        for (hash, ahead) in hashes.iter().zip(found) {
            let ahead = ahead
                .session
                .unwrap_or_else(|| panic!("{hash} was not read ahead"));
            let live = live(ahead, 10);
            let direct = find_live(conn, hash, 10).unwrap();
            assert_eq!(format!("{live:?}"), format!("{direct:?}"), "{hash}");
        }
        let (session, user) = find_live(conn, "live", 10).unwrap().unwrap();
        assert_eq!(
            (session.ip.as_deref(), user.username.as_str()),
            (Some("192.0.2.7"), "alice")
        );
    }

    #[test]
    fn sessions_read_ahead_are_what_find_live_finds_on_each_backend() {
        crate::db::engine::testing::on_each_backend(
            "sessions",
            sessions_read_ahead_are_what_find_live_finds,
        );
    }

    /// The gifts read ahead are what [`gifts::find`] finds for each token
    /// and reader on its own, at a time before and after a scheduled
    /// post's: a live gift seen and not seen by its reader, a revoked one,
    /// one of a draft, of a deleted post and of a scheduled one, a token
    /// nobody holds, one key twice, beside a session check (a failed
    /// read-ahead would show in no response: each job would ask on its
    /// own). Twice: the second run finds the statement prepared.
    fn gifts_read_ahead_are_what_find_finds(conn: &mut Conn) {
        use crate::db::schema::gift_readers;
        migrate(conn).unwrap();
        posts::seed_if_empty(conn).unwrap();
        let giver = users::insert(conn, &Username::parse("giver").unwrap(), "a hash", 1)
            .unwrap()
            .unwrap()
            .id;
        let month = Month::containing(chrono::DateTime::from_timestamp(LATER, 0).unwrap());
        let mut gift = |post_id, token_hash: &str| {
            let new = gifts::NewGift {
                giver_id: giver,
                post_id,
                month,
                token_hash,
                nonce: "a nonce",
                now: LATER,
                expires_at: LATER + 100,
            };
            match gifts::make(conn, &new, 100).unwrap() {
                gifts::Made::New { gift, .. } => gift.id,
                made => panic!("{made:?}"),
            }
        };
        let live = gift(1, "live");
        gift(2, "revoked");
        gift(3, "of a draft");
        gift(4, "of a deleted post");
        gift(5, "scheduled");
        diesel::insert_into(gift_readers::table)
            .values((
                gift_readers::gift_id.eq(live),
                gift_readers::reader.eq("b:seen"),
                gift_readers::opened_at.eq(LATER),
            ))
            .execute(conn)
            .unwrap();
        conn.batch_execute("UPDATE gifts SET revoked_at = 1 WHERE token_hash = 'revoked'")
            .unwrap();
        hide_posts(conn);
        let ask = |token_hash: &str, reader: &str| gifts::read_ahead::Asked {
            token_hash: token_hash.to_owned(),
            reader: reader.to_owned(),
        };
        let asked = [
            ask("live", "b:seen"),
            ask("live", "u:7"),
            ask("revoked", "b:seen"),
            ask("of a draft", "b:seen"),
            ask("of a deleted post", "b:seen"),
            ask("scheduled", "b:seen"),
            ask("nobody's", "b:seen"),
            ask("live", "b:seen"),
        ];
        let mut chunk: Vec<Lookup> = asked.iter().cloned().map(Lookup::gift).collect();
        chunk.push(Lookup::session("nobody's".into()));
        for round in 1..=2 {
            let found = SessionsAndMeters::read(conn, &chunk.iter().collect::<Vec<_>>());
            assert_eq!(found.len(), chunk.len());
            for now in [LATER + 10, LATER + 60] {
                for (asked, ahead) in asked.iter().zip(&found) {
                    let at = format!("round {round}, at {now}, {asked:?}");
                    let ahead = ahead.gift.clone().expect(&at);
                    let ahead = gifts::read_ahead::found_at(ahead, now);
                    let direct = gifts::find(conn, &asked.token_hash, &asked.reader, now);
                    assert_eq!(
                        format!("{ahead:?}"),
                        format!("{:?}", direct.unwrap()),
                        "{at}"
                    );
                }
            }
            let found_live = found[0].gift.clone().flatten().expect("the live gift");
            assert!(found_live.seen && found_live.giver == "giver");
            assert!(!found[1].gift.clone().flatten().unwrap().seen);
            // Revoked, a draft's, a deleted post's, nobody's: not found.
            for i in [2, 3, 4, 6] {
                assert!(matches!(found[i].gift, Some(None)), "{:?}", asked[i]);
            }
            // The scheduled post's, found, and readable once its time came.
            let scheduled = found[5].gift.clone().flatten();
            assert!(gifts::read_ahead::found_at(scheduled.clone(), LATER + 10).is_none());
            assert!(gifts::read_ahead::found_at(scheduled, LATER + 60).is_some());
            assert!(found[8].gift.is_none(), "a session check reads no gift");
        }
    }

    /// The anonymous reads read ahead are what
    /// [`anonymous::post_and_meter`] finds for each browser and post on its
    /// own, at a time before and after a scheduled post's: a post the
    /// browser opened (by id and by slug), one it did not, another
    /// browser's, another month's, a draft, a deleted post, a scheduled
    /// one, a slug nobody has, one key twice, beside a session check (a
    /// failed read-ahead would show in no response: each job would ask on
    /// its own). Twice: the second run finds the statement prepared.
    fn anonymous_reads_ahead_are_what_post_and_meter_finds(conn: &mut Conn) {
        use crate::db::rows::PostRef;
        migrate(conn).unwrap();
        posts::seed_if_empty(conn).unwrap();
        let month = Month::containing(chrono::DateTime::from_timestamp(LATER, 0).unwrap());
        let next = Month::from_index(month.index() + 1);
        let day = crate::domain::insights::Day::of(LATER).0;
        // Browser "b:one" opened posts 1 and 2 this month and read today;
        // "b:two" opened post 2 only in the month after.
        anonymous::claim(conn, "b:one", month, 1, 1, LATER).unwrap();
        anonymous::claim(conn, "b:one", month, 2, 2, LATER).unwrap();
        anonymous::mark(conn, "b:one", month, day, anonymous::Mark::Read).unwrap();
        anonymous::claim(conn, "b:two", next, 2, 1, LATER).unwrap();
        hide_posts(conn);
        let slug_1 = slug_of(conn, 1);
        let ask = |reader: &str, month, post| anonymous::read_ahead::Asked {
            reader: reader.to_owned(),
            month,
            post,
        };
        let asked = [
            ask("b:one", month, PostRef::Id(1)),
            ask("b:one", month, PostRef::Slug(slug_1.as_str().into())),
            ask("b:one", month, PostRef::Id(6)),
            ask("b:two", month, PostRef::Id(2)),
            ask("b:two", next, PostRef::Id(2)),
            ask("b:one", month, PostRef::Id(3)),
            ask("b:one", month, PostRef::Id(4)),
            ask("b:one", month, PostRef::Id(5)),
            ask("b:one", month, PostRef::Slug("nobody-wrote-this".into())),
            ask("b:one", month, PostRef::Id(1)),
        ];
        let mut chunk: Vec<Lookup> = asked.iter().cloned().map(Lookup::anonymous).collect();
        chunk.push(Lookup::session("nobody's".into()));
        for round in 1..=2 {
            let found = SessionsAndMeters::read(conn, &chunk.iter().collect::<Vec<_>>());
            assert_eq!(found.len(), chunk.len());
            for now in [LATER + 10, LATER + 60] {
                for (asked, ahead) in asked.iter().zip(&found) {
                    let at = format!("round {round}, at {now}, {asked:?}");
                    let ahead = ahead.anonymous.clone().expect(&at);
                    let ahead = anonymous::read_ahead::found_at(ahead, now);
                    let direct = anonymous::post_and_meter(
                        conn,
                        &asked.reader,
                        asked.month,
                        &asked.post,
                        now,
                    );
                    assert_eq!(
                        format!("{ahead:?}"),
                        format!("{:?}", direct.unwrap()),
                        "{at}"
                    );
                }
            }
            let one = found[0].anonymous.clone().flatten().expect("post 1");
            assert_eq!((one.used, one.unlocked, one.read_day), (2, true, Some(day)));
            let other = found[2].anonymous.clone().flatten().expect("post 6");
            assert_eq!((other.used, other.unlocked), (2, false));
            let two = found[4].anonymous.clone().flatten().expect("next month's");
            assert_eq!((two.used, two.unlocked, two.read_day), (1, true, None));
            // A draft's, a deleted post's, nobody's slug: not found.
            for i in [5, 6, 8] {
                assert!(matches!(found[i].anonymous, Some(None)), "{:?}", asked[i]);
            }
            assert!(found[10].anonymous.is_none(), "a session check reads none");
        }
    }

    #[test]
    fn anonymous_reads_ahead_are_what_post_and_meter_finds_on_each_backend() {
        crate::db::engine::testing::on_each_backend(
            "anonymous",
            anonymous_reads_ahead_are_what_post_and_meter_finds,
        );
    }

    #[test]
    fn gifts_read_ahead_are_what_find_finds_on_each_backend() {
        crate::db::engine::testing::on_each_backend("gifts", gifts_read_ahead_are_what_find_finds);
    }
}
