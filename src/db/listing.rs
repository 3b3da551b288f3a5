//! What `GET /blog` reads: a page of posts and, for a metered reader, the
//! posts they unlocked this month. On PostgreSQL its three statements
//! (the totals, the page, the unlocks) are pipelined into one round trip;
//! one by one they were three round trips, each a wake-up of PostgreSQL's
//! backend and of this thread: a quarter of a page's CPU, the server's
//! and PostgreSQL's alike
//! (`bench/results/2026-11-28-sqlite-recompiles.md`). On SQLite they run
//! one after another in one read transaction: one snapshot, and one pair
//! of file locks instead of one per statement (8 % of a page's CPU).

use diesel::QueryResult;

use super::engine::{Conn, DbConnection};
use super::tables::posts::{self, NotYetDue, Page, Start};
use super::tables::unlocks;
use crate::domain::paywall::Month;

/// Page `start` of `per_page` posts readers may see at `now`, and the
/// posts `unlocked_by` (a reader, in a month) unlocked, when asked.
pub fn page(
    conn: &mut Conn,
    now: i64,
    (start, per_page): (Start, i64),
    not_yet: &NotYetDue,
    unlocked_by: Option<(i64, Month)>,
) -> QueryResult<(Page, Option<Vec<i64>>)> {
    match conn {
        DbConnection::Sqlite(_) => diesel::Connection::transaction(conn, |conn| {
            let page = posts::page(conn, now, start, per_page, not_yet)?;
            let unlocked = unlocked_by
                .map(|(user_id, month)| unlocks::unlocked_ids(conn, user_id, month))
                .transpose()?;
            Ok((page, unlocked))
        }),
        DbConnection::Postgres(pg) => {
            let ((totals, rows), unlocked) = pg.pipelined(|c| async move {
                let unlocked = async move {
                    match unlocked_by {
                        Some((user_id, month)) => {
                            Some(unlocks::unlocked_ids_pg(c, user_id, month).await)
                        }
                        None => None,
                    }
                };
                tokio::join!(posts::page_pg(c, now, start, per_page), unlocked)
            });
            let (totals, rows) = (pg.noted(totals)?, pg.noted(rows)?);
            let unlocked = unlocked.map(|ids| pg.noted(ids)).transpose()?;
            Ok((
                posts::page_of(conn, totals, rows, now, per_page, not_yet)?,
                unlocked,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::engine::testing::on_each_backend;
    use crate::db::engine::{migrate, DbConnection};

    /// The pipelined reads answer what the same reads one by one answer:
    /// the page, its total and cursor, and the reader's unlocks (none for a
    /// reader who unlocked nothing; not asked, not read).
    #[test]
    fn a_page_and_its_unlocks_are_what_they_are_read_one_by_one() {
        on_each_backend("listing_page", |conn| {
            migrate(conn).unwrap();
            posts::seed_if_empty(conn).unwrap();
            let now = 1_800_000_000;
            let month = Month::at(now);
            let sql = format!(
                "INSERT INTO users (username, username_key, password_hash, created_at)
                 VALUES ('reader', 'reader', 'x', 1), ('other', 'other', 'x', 1);
                 INSERT INTO unlocks (user_id, month, post_id, unlocked_at)
                 VALUES (1, {m}, 3, 1), (1, {m}, 5, 1), (2, {m}, 4, 1), (1, {p}, 6, 1);",
                m = month.index(),
                p = month.index() - 1
            );
            match conn {
                DbConnection::Sqlite(c) => c.batch_execute(&sql).unwrap(),
                DbConnection::Postgres(c) => c.batch_execute(&sql).unwrap(),
            }
            let not_yet = NotYetDue::default();
            let first = posts::page(conn, now, Start::Page(1), 5, &not_yet).unwrap();
            let after = Start::After(first.next.unwrap());
            for start in [Start::Page(1), Start::Page(2), after] {
                let alone = posts::page(conn, now, start, 5, &not_yet).unwrap();
                let (listed, mut unlocked) =
                    page(conn, now, (start, 5), &not_yet, Some((1, month))).unwrap();
                let ids = |p: &Page| p.rows.iter().map(|r| r.id).collect::<Vec<_>>();
                assert_eq!(ids(&listed), ids(&alone));
                assert_eq!((listed.total, listed.next), (alone.total, alone.next));
                unlocked.as_mut().unwrap().sort();
                assert_eq!(unlocked, Some(vec![3, 5]));
                let (_, none) = page(conn, now, (start, 5), &not_yet, None).unwrap();
                assert_eq!(none, None);
                let (_, nothing) = page(
                    conn,
                    now,
                    (start, 5),
                    &not_yet,
                    Some((2, Month::at(now + 40 * 86_400))),
                )
                .unwrap();
                assert_eq!(nothing, Some(vec![]));
            }
        });
    }
}
