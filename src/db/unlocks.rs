//! Queries on `unlocks`: the metered paywall's storage.

use diesel::prelude::*;

use super::posts::{self, PostRow};
use super::schema::{unlocks, users};
use super::{Conn, DbConnection};
use crate::domain::Month;
use crate::error::ApiError;

/// What opening a post came to.
pub enum Opened {
    /// The reader may see the post; `used` is the meter after this read.
    Granted {
        post: PostRow,
        used: u32,
    },
    /// The meter is used up and this post was not unlocked this month.
    Paywalled {
        used: u32,
    },
    NotFound,
}

/// The posts `user_id` unlocked in `month`. The invariant keeps this at most
/// FREE_READS rows, so loading the ids answers both "how many used" and
/// "is this one unlocked" in one query.
fn unlocked_ids(conn: &mut Conn, user_id: i64, month: Month) -> QueryResult<Vec<i64>> {
    unlocks::table
        .filter(unlocks::user_id.eq(user_id))
        .filter(unlocks::month.eq(month.index()))
        .select(unlocks::post_id)
        .load(conn)
}

/// How many reads `user_id` has used in `month`.
pub fn used(conn: &mut Conn, user_id: i64, month: Month) -> QueryResult<u32> {
    let n: i64 = unlocks::table
        .filter(unlocks::user_id.eq(user_id))
        .filter(unlocks::month.eq(month.index()))
        .count()
        .get_result(conn)?;
    Ok(n as u32)
}

/// Opens `post_id` for a metered (free) reader, unlocking it if the meter
/// allows.
///
/// Re-reading an unlocked post, or being refused, needs no write, so those
/// are answered from a plain read first. Only a new unlock takes the write
/// path, where the count-then-insert must not run twice at once for one
/// user — under READ COMMITTED two parallel requests would both see
/// `used = limit - 1` and both insert. So the write transaction first
/// serializes the user's unlocks: on SQLite the IMMEDIATE transaction holds
/// the database's single write lock before its first read; on PostgreSQL a
/// row lock (`SELECT … FOR UPDATE`) on the user's row makes every other
/// unlock for that user, on any instance, wait until this one commits, and
/// its re-read then sees this one's row. Either way `used` never exceeds
/// `limit`, and parallel opens of one new post cost one read (the second
/// finds the first's row; the primary key (user, month, post) backs this up).
pub fn open_metered(
    conn: &mut Conn,
    user_id: i64,
    post_id: i64,
    month: Month,
    limit: u32,
    now: i64,
) -> Result<Opened, ApiError> {
    let Some(post) = posts::find(conn, post_id)? else {
        return Ok(Opened::NotFound);
    };
    let ids = unlocked_ids(conn, user_id, month)?;
    if ids.contains(&post_id) {
        return Ok(Opened::Granted {
            post,
            used: ids.len() as u32,
        });
    }
    if ids.len() as u32 >= limit {
        // Within a month `used` only grows, so a refusal read without the
        // lock cannot be wrong.
        return Ok(Opened::Paywalled {
            used: ids.len() as u32,
        });
    }

    super::write_transaction(conn, |conn| {
        if let DbConnection::Postgres(pg) = conn {
            users::table
                .find(user_id)
                .select(users::id)
                .for_update()
                .first::<i64>(pg)?;
        }
        let ids = unlocked_ids(conn, user_id, month)?;
        let used = ids.len() as u32;
        if ids.contains(&post_id) {
            return Ok(Opened::Granted { post, used });
        }
        if used >= limit {
            return Ok(Opened::Paywalled { used });
        }
        diesel::insert_into(unlocks::table)
            .values((
                unlocks::user_id.eq(user_id),
                unlocks::month.eq(month.index()),
                unlocks::post_id.eq(post_id),
                unlocks::unlocked_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Opened::Granted {
            post,
            used: used + 1,
        })
    })
}
