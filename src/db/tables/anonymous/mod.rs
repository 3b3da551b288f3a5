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

pub mod read_ahead;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};

use super::schema::{
    anonymous_merges, anonymous_readers, anonymous_unlocks, posts, registration_walls, users,
};
use super::{Conn, DbConnection};
use crate::db::engine::statement::prepared;
use crate::db::engine::Unique;
use crate::db::rows::{visible_post, PostRef, PostRow};
use crate::domain::Month;

/// What a browser's read finds in one statement: the post, if readers may
/// see it, with the month's opens of the browser, whether this post is
/// one of them, and the day it was last counted as a reader.
#[derive(Clone, Debug)]
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

/// A browser's new open on PostgreSQL, decided and written in one
/// statement (`OPEN_PG`): what it came to.
#[derive(QueryableByName, Debug)]
pub struct OpenedPg {
    /// The browser's opens this month before this one.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub used: i64,
    /// This post was among them (a parallel open of it came first).
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub was: bool,
    /// The network's new opens today with this one; `None`: not counted
    /// (the meter was full, or the network's day was).
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    pub network_hits: Option<i32>,
    /// The slot this open took; `None` with `network_hits` set: a
    /// parallel open of this browser took the slot first.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    pub claimed_slot: Option<i32>,
}

/// What `OPEN_PG` is asked: `reader` opening `post_id` in `month` at
/// `now` (UTC day `day`) with `limit` opens a month, counted under
/// `network` in the window `window` (its start and end) of at most `cap`.
#[derive(Clone, Copy, Debug)]
pub struct OpenAsked<'a> {
    pub reader: &'a str,
    pub month: Month,
    pub post_id: i64,
    pub limit: u32,
    pub now: i64,
    pub day: i32,
    pub network: &'a str,
    pub network_kind: &'static str,
    pub window: (i64, i64),
    pub cap: u32,
}

/// A browser's new open on PostgreSQL in one statement, one round trip:
/// the month's opens counted; the network's day counted (`ip_limits`,
/// its row locked by the upsert, refused past the cap); the slot claimed
/// (`UNIQUE (reader, month, slot)` lets one of two parallel claims in);
/// the browser's day marked and counted in insights on its first read of
/// the day. Each write runs only if the one before it did (each selects
/// from the one before). A claim that loses its slot to a parallel open of
/// the same browser leaves its network hit counted: the cap errs towards
/// fewer opens, never more.
const OPEN_PG: &str = "
    WITH opened AS (
        SELECT COUNT(*) AS used, COALESCE(bool_or(post_id = $3), false) AS was
        FROM anonymous_unlocks WHERE reader = $1 AND month = $2
    ), net AS (
        INSERT INTO ip_limits (ip, kind, window_start, hits, expires_at)
        SELECT $6, $11, $7, 1, $8 FROM opened
        WHERE opened.used < $4 AND NOT opened.was AND $9 > 0
        ON CONFLICT (ip, kind, window_start) DO UPDATE SET hits = ip_limits.hits + 1
        WHERE ip_limits.hits < $9
        RETURNING hits
    ), claimed AS (
        INSERT INTO anonymous_unlocks (reader, month, post_id, slot, unlocked_at)
        SELECT $1, $2, $3, opened.used + 1, $5 FROM opened, net
        ON CONFLICT DO NOTHING
        RETURNING slot
    ), marked AS (
        INSERT INTO anonymous_readers (reader, month, read_day)
        SELECT $1, $2, $10 FROM claimed
        ON CONFLICT (reader, month) DO UPDATE SET read_day = EXCLUDED.read_day
        WHERE anonymous_readers.read_day IS DISTINCT FROM EXCLUDED.read_day
        RETURNING 1
    ), counted AS (
        INSERT INTO insight_days (day, anonymous_readers)
        SELECT $10, 1 FROM marked
        ON CONFLICT (day) DO UPDATE SET anonymous_readers = insight_days.anonymous_readers + 1
        RETURNING 1
    )
    SELECT opened.used, opened.was,
           (SELECT hits FROM net) AS network_hits,
           (SELECT slot FROM claimed) AS claimed_slot
    FROM opened LEFT JOIN (SELECT COUNT(*) AS n FROM counted) c ON true";

/// `OPEN_PG` with its parameters (those of SQL types other than the
/// asker's kept converted), prepared once per connection.
struct OpenPg<'a> {
    asked: OpenAsked<'a>,
    month: i32,
    limit: i64,
    cap: i32,
}

prepared!(OpenPg<'_>, id = OpenPg<'static>, rows = diesel::sql_types::Untyped);

impl QueryFragment<Pg> for OpenPg<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Integer, Text};
        let a = &self.asked;
        out.push_sql(OPEN_PG);
        // In the order of $1..$11.
        out.push_bind_param_value_only::<Text, _>(a.reader)?;
        out.push_bind_param_value_only::<Integer, _>(&self.month)?;
        out.push_bind_param_value_only::<BigInt, _>(&a.post_id)?;
        out.push_bind_param_value_only::<BigInt, _>(&self.limit)?;
        out.push_bind_param_value_only::<BigInt, _>(&a.now)?;
        out.push_bind_param_value_only::<Text, _>(a.network)?;
        out.push_bind_param_value_only::<BigInt, _>(&a.window.0)?;
        out.push_bind_param_value_only::<BigInt, _>(&a.window.1)?;
        out.push_bind_param_value_only::<Integer, _>(&self.cap)?;
        out.push_bind_param_value_only::<Integer, _>(&a.day)?;
        out.push_bind_param_value_only::<Text, _>(a.network_kind)
    }
}

/// Runs `OPEN_PG` on PostgreSQL; `None` on SQLite, where the caller
/// opens in a write transaction instead.
pub fn open_pg(conn: &mut Conn, asked: OpenAsked<'_>) -> QueryResult<Option<OpenedPg>> {
    let DbConnection::Postgres(pg) = conn else {
        return Ok(None);
    };
    let open = OpenPg {
        asked,
        month: asked.month.index(),
        limit: i64::from(asked.limit),
        cap: i32::try_from(asked.cap).unwrap_or(i32::MAX),
    };
    let rows: Vec<OpenedPg> = open.load(pg)?;
    Ok(rows.into_iter().next())
}
