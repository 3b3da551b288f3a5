//! The statements of the paths every reader and every background pass
//! takes stay compiled on SQLite however their parameters are bound (see
//! `db::engine::testing::sqlite_recompiles`).

use super::*;
use crate::db::engine::testing::{sqlite_recompiles, sqlite_statements};
use crate::db::engine::Conn;
use crate::domain::paywall::Month;

fn recompiled(work: impl FnOnce(&mut Conn)) -> Vec<String> {
    let (_dir, path, statements) = sqlite_statements(work);
    let mut found: Vec<String> = statements
        .into_iter()
        .filter(|sql| !sql.starts_with("BEGIN") && !sql.starts_with("COMMIT"))
        .filter(|sql| sqlite_recompiles(&path, sql))
        .collect();
    found.dedup();
    found
}

/// Readers' reads and pages, sessions, the meter, insights, gifts, the
/// editors' and admins' lists, and the outbox's, the newsletters' and the
/// recovery queue's passes: none is compiled again on SQLite when run.
#[test]
fn the_statements_of_busy_paths_stay_compiled_on_sqlite() {
    let now = 1_800_000_000;
    let found = recompiled(|conn| {
        posts::seed_if_empty(conn).unwrap();
        let _ = users::find_by_key(conn, "reader");
        let _ = users::verified_holder(conn, "reader@example.com");
        let _ = users::holding_email(conn, "reader@example.com");
        let _ = users::find(conn, 1);
        let _ = users::search(conn, None, (1, 20));
        let _ = posts::page_for_editor(conn, None, None, now, (1, 20));
        let _ = posts::page_for_editor(conn, Some(1), Some(posts::Stage::Published), now, (1, 20));
        let _ = events::page(conn, 1, 1, 20);
        let _ = outbox::claim(conn, now, now + 60, 10);
        let _ = outbox::next_due(conn);
        let _ = newsletters::claim(conn, now, now + 60, 10);
        let _ = newsletters::due(conn, now);
        let _ = newsletters::next_visible(conn);
        let _ = forgot_requests::take(conn, 10);
        let _ = unlocks::refusal_seen(conn, 1, 3, now);
        let _ = insights::read(conn, 3, 1, now);
        let _ = insights::refused(conn, 3, 1, now);
        let _ = insights::converted(conn, 1, now);
        let _ = gifts::credit(conn, 1, "reader", now, None);
        let _ = unlocks::unlocked_ids(conn, 1, Month::at(now));
        let _ = sessions::find_live(conn, "hash", now);
        let _ = sessions::list(conn, 1, now);
        let _ = sessions::purge_expired(conn, now);
        let _ = posts::find_visible(conn, 3, now);
        let _ = posts::find_visible_to(conn, 3, 1, now);
        let _ = posts::id_by_slug(conn, "x");
        // The read-aheads, and a metered read that reads for itself.
        let asked = unlocks::Asked {
            month: Month::at(now),
            day: crate::domain::insights::Day::of(now).0,
            post: unlocks::PostRef::Id(3),
        };
        let gift = gifts::read_ahead::Asked {
            token_hash: "hash".into(),
            reader: "reader".into(),
        };
        if let crate::db::engine::DbConnection::Sqlite(c) = conn {
            let _ = sessions::read_ahead::read_sqlite(c, &["hash"]);
            let _ = unlocks::read_ahead::read_sqlite(c, &[("hash", &asked)]);
        }
        let _ = gifts::read_ahead::read(conn, &[gift]);
        let read = unlocks::MeteredRead {
            user_id: 1,
            key: unlocks::MeterKey {
                month: Month::at(now),
                post_id: 3,
            },
            limit: 5,
            now,
        };
        let _ = unlocks::peek_metered(conn, read);
        let _ = unlocks::open_metered(conn, read);
    });
    assert!(found.is_empty(), "{found:#?}");
}
