//! Queries on `unlocks`: the metered paywall's storage.

use diesel::prelude::*;

use super::posts::{self, PostRow};
use super::schema::unlocks;
use super::Conn;
use crate::domain::Month;

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
/// path: an IMMEDIATE transaction, which takes SQLite's single write lock
/// *before* reading. Every check-and-insert for every user is therefore
/// serialized, so two parallel requests can never both see `used = limit - 1`
/// and both insert: `used` never exceeds `limit`. The primary key
/// (user, month, post) makes parallel opens of one new post cost one read.
pub fn open_metered(
    conn: &mut Conn,
    user_id: i64,
    post_id: i64,
    month: Month,
    limit: u32,
    now: i64,
) -> QueryResult<Opened> {
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

    conn.immediate_transaction(|conn| {
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
