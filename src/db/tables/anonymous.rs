//! Queries on the anonymous readers' tables (`anonymous_unlocks`,
//! `anonymous_readers`, `anonymous_merges`, `registration_walls`): a browser's meter, keyed by
//! the hash of its `tollgate_reader` cookie (`domain::gift::browser_reader`),
//! never the cookie. The rule that decides a read is `domain::paywall`'s,
//! as for members; the service that applies it is `reading::anonymous`.
//!
//! A browser's `used` never exceeds its limit under any concurrency, on
//! any number of instances, as a member's does not (`db::unlocks`): each
//! open claims slot `used + 1`, and `UNIQUE (reader, month, slot)` lets
//! only one of two parallel claims of a slot in; the primary key (reader,
//! month, post) makes a second open of one post claim nothing.

use diesel::prelude::*;

use super::schema::{
    anonymous_merges, anonymous_readers, anonymous_unlocks, posts, registration_walls, users,
};
use super::Conn;
use crate::db::engine::Unique;
use crate::db::rows::{visible_post, PostRef, PostRow};
use crate::domain::Month;

/// What a browser's read finds in one statement: the post, if readers may
/// see it, with the month's opens of the browser, whether this post is
/// one of them, and the day it was last counted as a reader.
pub struct Found {
    pub post: PostRow,
    pub used: u32,
    pub unlocked: bool,
    pub read_day: Option<i32>,
}

/// The post `post` names, if readers may see it at `now`, with `reader`'s
/// meter of `month` ([`Found`]), in one statement; `None` for no such post.
pub fn post_and_meter(
    conn: &mut Conn,
    reader: &str,
    month: Month,
    post: &PostRef,
    now: i64,
) -> QueryResult<Option<Found>> {
    let months_opens = anonymous_unlocks::table
        .filter(anonymous_unlocks::reader.eq(reader))
        .filter(anonymous_unlocks::month.eq(month.index()));
    let read_day = anonymous_readers::table
        .filter(anonymous_readers::reader.eq(reader))
        .filter(anonymous_readers::month.eq(month.index()))
        .select(anonymous_readers::read_day)
        .single_value();
    macro_rules! columns {
        () => {
            (
                PostRow::as_select(),
                months_opens.count().single_value().assume_not_null(),
                diesel::dsl::exists(months_opens.filter(anonymous_unlocks::post_id.eq(posts::id))),
                read_day,
            )
        };
    }
    let row: Option<(PostRow, i64, bool, Option<i32>)> =
        visible_post!(conn, post, now, columns!())?;
    Ok(row.map(|(post, used, unlocked, read_day)| Found {
        post,
        used: used as u32,
        unlocked,
        read_day,
    }))
}

/// The posts `reader` opened in `month`, earliest first (the order a
/// merge into an account takes them in).
pub fn opened(conn: &mut Conn, reader: &str, month: Month) -> QueryResult<Vec<i64>> {
    anonymous_unlocks::table
        .filter(anonymous_unlocks::reader.eq(reader))
        .filter(anonymous_unlocks::month.eq(month.index()))
        .order((anonymous_unlocks::unlocked_at, anonymous_unlocks::slot))
        .select(anonymous_unlocks::post_id)
        .load(conn)
}

/// Claims slot `slot` of `reader`'s `month` for `post_id` at `now`:
/// `false` when another open took that slot, or this post, first (the
/// caller decides again on what is stored now).
pub fn claim(
    conn: &mut Conn,
    reader: &str,
    month: Month,
    post_id: i64,
    slot: u32,
    now: i64,
) -> QueryResult<bool> {
    let inserted = super::direct!(conn, |c| diesel::insert_into(anonymous_unlocks::table)
        .values((
            anonymous_unlocks::reader.eq(reader),
            anonymous_unlocks::month.eq(month.index()),
            anonymous_unlocks::post_id.eq(post_id),
            anonymous_unlocks::slot.eq(slot as i32),
            anonymous_unlocks::unlocked_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Takes back the open of `post_id` a [`claim`] made in this transaction
/// (its network's day was over its cap).
pub fn unclaim(conn: &mut Conn, reader: &str, month: Month, post_id: i64) -> QueryResult<()> {
    diesel::delete(anonymous_unlocks::table.find((reader, month.index(), post_id)))
        .execute(conn)
        .map(|_| ())
}

/// Which of a browser's days a mark is for: the last day it opened a
/// post, or the last day it was walled (each counted once a day).
#[derive(Clone, Copy, Debug)]
pub enum Mark {
    Read,
    Walled,
}

/// Marks `reader` as having read (or been walled) on `day` of `month`:
/// `true` when this call is the day's first mark of its kind, which the
/// caller counts in insights in the same transaction. The row is made on
/// the browser's first mark of the month.
pub fn mark(
    conn: &mut Conn,
    reader: &str,
    month: Month,
    day: i32,
    mark: Mark,
) -> QueryResult<bool> {
    let key = (
        anonymous_readers::reader.eq(reader),
        anonymous_readers::month.eq(month.index()),
    );
    super::direct!(conn, |c| diesel::insert_into(anonymous_readers::table)
        .values(key)
        .on_conflict_do_nothing()
        .execute(c))?;
    let row = anonymous_readers::table.find((reader, month.index()));
    let changed = match mark {
        Mark::Read => diesel::update(
            row.filter(
                anonymous_readers::read_day
                    .is_null()
                    .or(anonymous_readers::read_day.ne(day)),
            ),
        )
        .set(anonymous_readers::read_day.eq(day))
        .execute(conn)?,
        Mark::Walled => diesel::update(
            row.filter(
                anonymous_readers::walled_day
                    .is_null()
                    .or(anonymous_readers::walled_day.ne(day)),
            ),
        )
        .set(anonymous_readers::walled_day.eq(day))
        .execute(conn)?,
    };
    Ok(changed == 1)
}

/// Takes `reader`'s reads of `month` for `user_id`, unless an account took
/// them already: `true` for the one call that takes them (the primary key
/// makes a racing second sign-in wait for the first, then find them
/// taken). Its own table, not a column of `anonymous_readers`, so that a
/// sign-in (which holds the day's insights row from its registration)
/// never waits on a row that a read of the same browser holds while it
/// waits for that insights row.
pub fn take(conn: &mut Conn, reader: &str, month: Month, user_id: i64) -> QueryResult<bool> {
    let taken = super::direct!(conn, |c| diesel::insert_into(anonymous_merges::table)
        .values((
            anonymous_merges::reader.eq(reader),
            anonymous_merges::month.eq(month.index()),
            anonymous_merges::user_id.eq(user_id),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(taken == 1)
}

/// Notes that `post_id` walled `reader` at `now` (the post a registration
/// that follows is credited to).
pub fn walled(conn: &mut Conn, reader: &str, post_id: i64, now: i64) -> QueryResult<()> {
    super::direct!(conn, |c| diesel::insert_into(registration_walls::table)
        .values((
            registration_walls::reader.eq(reader),
            registration_walls::post_id.eq(post_id),
            registration_walls::walled_at.eq(now),
        ))
        .on_conflict(registration_walls::reader)
        .do_update()
        .set((
            registration_walls::post_id.eq(post_id),
            registration_walls::walled_at.eq(now),
        ))
        .execute(c))
    .map(|_| ())
}

/// The post that last walled `reader` since `since`, and when.
pub fn last_wall(conn: &mut Conn, reader: &str, since: i64) -> QueryResult<Option<(i64, i64)>> {
    registration_walls::table
        .find(reader)
        .filter(registration_walls::walled_at.ge(since))
        .select((registration_walls::post_id, registration_walls::walled_at))
        .get_result(conn)
        .optional()
}

/// Deletes the meters of months before `month` (a browser's past month is
/// never read again: only insights' counts stay) and the walls noted
/// before `walls_before`.
pub fn purge(conn: &mut Conn, month: Month, walls_before: i64) -> QueryResult<usize> {
    let m = month.index();
    let opens = diesel::delete(anonymous_unlocks::table.filter(anonymous_unlocks::month.lt(m)))
        .execute(conn)?;
    let readers = diesel::delete(anonymous_readers::table.filter(anonymous_readers::month.lt(m)))
        .execute(conn)?;
    let merges = diesel::delete(anonymous_merges::table.filter(anonymous_merges::month.lt(m)))
        .execute(conn)?;
    let walls = diesel::delete(
        registration_walls::table.filter(registration_walls::walled_at.lt(walls_before)),
    )
    .execute(conn)?;
    Ok(opens + readers + merges + walls)
}
