//! Queries on insights' tables (`insight_days`, `post_tallies`,
//! `post_readers`, `day_readers`, `paywall_hits`, `plan_moves`,
//! `revenue_days`): each count is kept as it happens, in the transaction
//! of what causes it, and a report over a range reads the kept counts (a
//! row per day for the site; for each post, its running totals at the
//! range's two ends) — never the history behind them.
//! The rules (what a day is, how a plan's change moves the counts) are
//! `domain::insights`'.
//!
//! On PostgreSQL the counts are shared rows that parallel transactions
//! update, so every writer takes them in one order: the day's row
//! (`insight_days`) before any post's tallies (`post_tallies`), and a
//! post's tallies day by day, oldest first. Two writers taking them in
//! opposite orders could each hold a row the other waits for, and one
//! would be ended as a deadlock. In the one-statement writes (`READ_PG`,
//! `REFUSED_PG`) the day's row is the main statement and the tallies are
//! sub-statements it does not read: PostgreSQL runs those after the main
//! statement, the last listed first (so the later days, listed first, come
//! last).

use diesel::prelude::*;

use super::schema::{
    day_readers, gift_credits, gift_readers, gifts, insight_days, paywall_hits, plan_moves,
    post_readers, post_tallies, revenue_days,
};
use super::{Conn, DbConnection};
use crate::db::engine::WrittenLimit;
use crate::domain::gift::user_reader;
use crate::domain::insights::{moves, Day, Direction, Premium, Range};
use diesel::sql_types::{BigInt, Integer};

/// How long before a conversion a refusal, or else a gift opened, is
/// credited with it.
pub const CREDIT_SECONDS: i64 = 30 * 86_400;

/// Adds `$by` to `insight_days.$column` on `$day`.
macro_rules! bump_day {
    ($conn:expr, $day:expr, $column:ident, $by:expr) => {{
        let by: i32 = $by;
        let bump = diesel::insert_into(insight_days::table)
            .values((insight_days::day.eq($day.0), insight_days::$column.eq(by)))
            .on_conflict(insight_days::day)
            .do_update()
            .set(insight_days::$column.eq(insight_days::$column + by));
        super::direct!($conn, |c| bump.execute(c)).map(|_| ())
    }};
}

/// A post's running totals on a day (`post_tallies`).
#[derive(Debug, Clone, Copy, Default, Queryable, Selectable)]
#[diesel(table_name = post_tallies)]
struct Tally {
    first_readers: i32,
    paywall_hits: i32,
    gift_readers: i32,
    conversions: i32,
    registrations: i32,
}

/// Adds one to `$column` of `$post_id`'s running totals from `$day` on:
/// to the day's own row, made from the last row before it when there is
/// none, and then to the rows of later days (an instance whose clock runs
/// a little ahead may have written one). Inside the caller's transaction; two
/// instances making the day's row at once meet in its primary key, and the
/// second adds to the first's.
macro_rules! tally {
    ($conn:expr, $post_id:expr, $day:expr, $column:ident) => {{
        let (post_id, day): (i64, Day) = ($post_id, $day);
        let mut row: Tally = post_tallies::table
            .filter(post_tallies::post_id.eq(post_id))
            .filter(post_tallies::day.lt(day.0))
            .order(post_tallies::day.desc())
            .select(Tally::as_select())
            .limit_written(1)
            .load($conn)?
            .pop()
            .unwrap_or_default();
        row.$column += 1;
        let insert = diesel::insert_into(post_tallies::table)
            .values((
                post_tallies::post_id.eq(post_id),
                post_tallies::day.eq(day.0),
                post_tallies::first_readers.eq(row.first_readers),
                post_tallies::paywall_hits.eq(row.paywall_hits),
                post_tallies::gift_readers.eq(row.gift_readers),
                post_tallies::conversions.eq(row.conversions),
                post_tallies::registrations.eq(row.registrations),
            ))
            .on_conflict((post_tallies::post_id, post_tallies::day))
            .do_update()
            .set(post_tallies::$column.eq(post_tallies::$column + 1));
        super::direct!($conn, |c| insert.execute(c))?;
        diesel::update(
            post_tallies::table
                .filter(post_tallies::post_id.eq(post_id))
                .filter(post_tallies::day.gt(day.0)),
        )
        .set(post_tallies::$column.eq(post_tallies::$column + 1))
        .execute($conn)
        .map(|_| ())
    }};
}

/// An account made at `now`, any way.
pub fn registered(conn: &mut Conn, now: i64) -> QueryResult<()> {
    registered_many(conn, now, 1)
}

/// `n` accounts made at `now` (members brought in by a list at once).
pub fn registered_many(conn: &mut Conn, now: i64, n: i32) -> QueryResult<()> {
    let today = Day::of(now);
    bump_day!(conn, today, registrations, n)?;
    bump_day!(conn, today, members_delta, n)
}

/// `user_id`'s plan in force went from `before` to `after` at `now`.
pub fn plan_moved(
    conn: &mut Conn,
    user_id: i64,
    before: Premium,
    after: Premium,
    now: i64,
) -> QueryResult<()> {
    for step in moves(before, after, now) {
        if step.undo {
            unmove(conn, user_id, step.day, step.direction)?;
        } else {
            record_move(conn, user_id, step.day, step.direction)?;
        }
    }
    Ok(())
}

/// A move of `user_id`'s plan on `day`: the day's premium members change,
/// and the user counts once among the day's conversions or cancellations.
fn record_move(conn: &mut Conn, user_id: i64, day: Day, direction: Direction) -> QueryResult<()> {
    let insert = diesel::insert_into(plan_moves::table)
        .values((
            plan_moves::day.eq(day.0),
            plan_moves::user_id.eq(user_id),
            plan_moves::direction.eq(direction.as_str()),
            plan_moves::moves.eq(1),
        ))
        .on_conflict((plan_moves::day, plan_moves::user_id, plan_moves::direction))
        .do_update()
        .set(plan_moves::moves.eq(plan_moves::moves + 1))
        .returning(plan_moves::moves);
    let moves: i32 = super::direct!(conn, |c| insert.get_result(c))?;
    bump_day!(conn, day, premium_delta, direction.premium_delta())?;
    if moves == 1 {
        count_move(conn, day, direction, 1)?;
    }
    Ok(())
}

/// Takes back a move counted ahead (a grant's lapse) that will not happen.
fn unmove(conn: &mut Conn, user_id: i64, day: Day, direction: Direction) -> QueryResult<()> {
    let key = plan_moves::table
        .filter(plan_moves::day.eq(day.0))
        .filter(plan_moves::user_id.eq(user_id))
        .filter(plan_moves::direction.eq(direction.as_str()));
    let update = diesel::update(key)
        .set(plan_moves::moves.eq(plan_moves::moves - 1))
        .returning(plan_moves::moves);
    // Not there: it was never counted (a grant older than insights).
    let Some(moves) = super::direct!(conn, |c| update.get_result::<i32>(c).optional())? else {
        return Ok(());
    };
    bump_day!(conn, day, premium_delta, -direction.premium_delta())?;
    if moves <= 0 {
        diesel::delete(key).execute(conn)?;
        count_move(conn, day, direction, -1)?;
    }
    Ok(())
}

fn count_move(conn: &mut Conn, day: Day, direction: Direction, by: i32) -> QueryResult<()> {
    match direction {
        Direction::Up => bump_day!(conn, day, conversions, by),
        Direction::Down => bump_day!(conn, day, cancellations, by),
    }
}

/// An account deleted at `now`, premium (`before`) or not: one member
/// fewer, and one premium member fewer, which is no cancellation (its
/// grant's lapse, counted ahead, is taken back).
pub fn account_deleted(
    conn: &mut Conn,
    user_id: i64,
    before: Premium,
    now: i64,
) -> QueryResult<()> {
    let today = Day::of(now);
    bump_day!(conn, today, members_delta, -1)?;
    if let Premium::Until(until) = before {
        unmove(conn, user_id, Day::of(until), Direction::Down)?;
    }
    if before.is_premium() {
        bump_day!(conn, today, premium_delta, -1)?;
    }
    Ok(())
}

/// `user_id` was answered `post_id` at `now`: counted once per post, user
/// and day (the caller knows from its read whether today's row exists,
/// and comes here only when it does not).
pub fn read(conn: &mut Conn, post_id: i64, user_id: i64, now: i64) -> QueryResult<()> {
    let today = Day::of(now);
    if let DbConnection::Postgres(pg) = conn {
        // One statement, so one round trip and no transaction.
        return diesel::sql_query(READ_PG)
            .bind::<BigInt, _>(post_id)
            .bind::<Integer, _>(today.0)
            .bind::<BigInt, _>(user_id)
            .execute(pg)
            .map(|_| ());
    }
    super::write_transaction(conn, |conn| {
        let prev_day: Option<i32> = post_readers::table
            .filter(post_readers::post_id.eq(post_id))
            .filter(post_readers::user_id.eq(user_id))
            .filter(post_readers::day.lt(today.0))
            .select(diesel::dsl::max(post_readers::day))
            .get_result(conn)?;
        let post = diesel::insert_into(post_readers::table)
            .values((
                post_readers::post_id.eq(post_id),
                post_readers::user_id.eq(user_id),
                post_readers::day.eq(today.0),
                post_readers::prev_day.eq(prev_day),
            ))
            .on_conflict_do_nothing();
        if super::direct!(conn, |c| post.execute(c))? == 0 {
            return Ok(());
        }
        let site = diesel::insert_into(day_readers::table)
            .values((
                day_readers::day.eq(today.0),
                day_readers::user_id.eq(user_id),
            ))
            .on_conflict_do_nothing();
        if super::direct!(conn, |c| site.execute(c))? == 1 {
            bump_day!(conn, today, readers, 1)?;
        }
        if prev_day.is_none() {
            tally!(conn, post_id, today, first_readers)?;
        }
        Ok(())
    })
}

/// [`read`] on PostgreSQL: each step only if the one before it wrote
/// (`$1` the post, `$2` the day, `$3` the user); a first reader of the
/// post added to its running totals as [`tally!`] does.
const READ_PG: &str = "
    WITH post AS (
        INSERT INTO post_readers (post_id, user_id, day, prev_day)
        SELECT $1, $3, $2, (SELECT MAX(r.day) FROM post_readers r
                            WHERE r.post_id = $1 AND r.user_id = $3 AND r.day < $2)
        ON CONFLICT DO NOTHING RETURNING prev_day
    ), later AS (
        UPDATE post_tallies SET first_readers = first_readers + 1
        WHERE post_id = $1 AND day > $2 AND EXISTS (SELECT 1 FROM post WHERE prev_day IS NULL)
    ), first AS (
        INSERT INTO post_tallies (post_id, day, first_readers, paywall_hits, gift_readers,
                                  conversions, registrations)
        SELECT $1, $2, COALESCE(l.first_readers, 0) + 1, COALESCE(l.paywall_hits, 0),
               COALESCE(l.gift_readers, 0), COALESCE(l.conversions, 0),
               COALESCE(l.registrations, 0)
        FROM post
        LEFT JOIN LATERAL (SELECT * FROM post_tallies t WHERE t.post_id = $1 AND t.day < $2
                           ORDER BY t.day DESC LIMIT 1) l ON true
        WHERE post.prev_day IS NULL
        ON CONFLICT (post_id, day) DO UPDATE SET first_readers = post_tallies.first_readers + 1
    ), site AS (
        INSERT INTO day_readers (day, user_id) SELECT $2, $3 FROM post
        ON CONFLICT DO NOTHING RETURNING 1
    )
    INSERT INTO insight_days (day, readers) SELECT $2, 1 FROM site
    ON CONFLICT (day) DO UPDATE SET readers = insight_days.readers + 1";

/// [`refused`] on PostgreSQL (`$1` the user, `$2` the post, `$3` the day,
/// `$4` the time): a new pair is counted; one refused again today becomes
/// the latest. The update cannot see the insert's row (one snapshot), so
/// exactly one of the two writes. The day's row is the main statement and
/// the post's tallies come after it, as in [`READ_PG`] (see the module's
/// note on the order of locks).
const REFUSED_PG: &str = "
    WITH hit AS (
        INSERT INTO paywall_hits (user_id, post_id, day, at) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING RETURNING 1
    ), again AS (
        UPDATE paywall_hits SET at = $4
        WHERE user_id = $1 AND post_id = $2 AND day = $3 AND NOT EXISTS (SELECT 1 FROM hit)
    ), later AS (
        UPDATE post_tallies SET paywall_hits = paywall_hits + 1
        WHERE post_id = $2 AND day > $3 AND EXISTS (SELECT 1 FROM hit)
    ), first AS (
        INSERT INTO post_tallies (post_id, day, first_readers, paywall_hits, gift_readers,
                                  conversions, registrations)
        SELECT $2, $3, COALESCE(l.first_readers, 0), COALESCE(l.paywall_hits, 0) + 1,
               COALESCE(l.gift_readers, 0), COALESCE(l.conversions, 0),
               COALESCE(l.registrations, 0)
        FROM hit
        LEFT JOIN LATERAL (SELECT * FROM post_tallies t WHERE t.post_id = $2 AND t.day < $3
                           ORDER BY t.day DESC LIMIT 1) l ON true
        ON CONFLICT (post_id, day) DO UPDATE SET paywall_hits = post_tallies.paywall_hits + 1
    )
    INSERT INTO insight_days (day, paywall_hits) SELECT $3, 1 FROM hit
    ON CONFLICT (day) DO UPDATE SET paywall_hits = insight_days.paywall_hits + 1";

/// `user_id` was answered `402` for `post_id` at `now`: the day's pair
/// counted once, and the post made the user's latest refusal (the caller
/// comes here only when it is not both already).
pub fn refused(conn: &mut Conn, post_id: i64, user_id: i64, now: i64) -> QueryResult<()> {
    let today = Day::of(now);
    if let DbConnection::Postgres(pg) = conn {
        return diesel::sql_query(REFUSED_PG)
            .bind::<BigInt, _>(user_id)
            .bind::<BigInt, _>(post_id)
            .bind::<Integer, _>(today.0)
            .bind::<BigInt, _>(now)
            .execute(pg)
            .map(|_| ());
    }
    super::write_transaction(conn, |conn| {
        let insert = diesel::insert_into(paywall_hits::table)
            .values((
                paywall_hits::user_id.eq(user_id),
                paywall_hits::post_id.eq(post_id),
                paywall_hits::day.eq(today.0),
                paywall_hits::at.eq(now),
            ))
            .on_conflict_do_nothing();
        if super::direct!(conn, |c| insert.execute(c))? == 1 {
            bump_day!(conn, today, paywall_hits, 1)?;
            return tally!(conn, post_id, today, paywall_hits);
        }
        diesel::update(
            paywall_hits::table
                .filter(paywall_hits::user_id.eq(user_id))
                .filter(paywall_hits::post_id.eq(post_id))
                .filter(paywall_hits::day.eq(today.0)),
        )
        .set(paywall_hits::at.eq(now))
        .execute(conn)
        .map(|_| ())
    })
}

/// A gift of `post_id` opened by a reader for the first time on the day
/// of `now` (the gift's reader row says so).
pub fn gift_read(conn: &mut Conn, post_id: i64, now: i64) -> QueryResult<()> {
    let today = Day::of(now);
    bump_day!(conn, today, gift_readers, 1)?;
    tally!(conn, post_id, today, gift_readers)
}

/// A browser without a session opened a post for the first time on the
/// day of `now` (its meter's mark says so: `db::anonymous::mark`).
pub fn anonymous_read(conn: &mut Conn, now: i64) -> QueryResult<()> {
    bump_day!(conn, Day::of(now), anonymous_readers, 1)
}

/// A browser without a session met the registration wall for the first
/// time on the day of `now`.
pub fn walled(conn: &mut Conn, now: i64) -> QueryResult<()> {
    bump_day!(conn, Day::of(now), registration_walls, 1)
}

/// A registration at `now` credited to `post_id`: through a gift of it,
/// or its registration wall.
pub fn registration_credited(conn: &mut Conn, post_id: i64, now: i64) -> QueryResult<()> {
    tally!(conn, post_id, Day::of(now), registrations)
}

/// `user_id` became premium through billing at `now`: credited to the
/// last post that refused them within [`CREDIT_SECONDS`], or else to the
/// post of the last gift they opened then (signed in, or in the browser
/// whose registration was credited to it), or else to none.
pub fn converted(conn: &mut Conn, user_id: i64, now: i64) -> QueryResult<()> {
    let since = now - CREDIT_SECONDS;
    let refused: Option<i64> = paywall_hits::table
        .filter(paywall_hits::user_id.eq(user_id))
        .filter(paywall_hits::at.ge(since))
        .order((paywall_hits::at.desc(), paywall_hits::post_id.desc()))
        .select(paywall_hits::post_id)
        .limit_written(1)
        .load(conn)?
        .pop();
    let post = match refused {
        Some(post) => Some(post),
        None => last_gift(conn, user_id, since)?,
    };
    if let Some(post_id) = post {
        tally!(conn, post_id, Day::of(now), conversions)?;
    }
    Ok(())
}

/// The post of the last gift `user_id` opened since `since`.
fn last_gift(conn: &mut Conn, user_id: i64, since: i64) -> QueryResult<Option<i64>> {
    let opened: Option<(Option<i64>, i64)> = gift_readers::table
        .inner_join(gifts::table)
        .filter(gift_readers::reader.eq(user_reader(user_id)))
        .filter(gift_readers::last_opened_at.ge(since))
        .order((gift_readers::last_opened_at.desc(), gifts::id.desc()))
        .select((gift_readers::last_opened_at, gifts::post_id))
        .limit_written(1)
        .load(conn)?
        .pop();
    let credited: Option<(i64, i64)> = gift_credits::table
        .filter(gift_credits::user_id.eq(user_id))
        .filter(gift_credits::registered_at.ge(since))
        .select((gift_credits::registered_at, gift_credits::post_id))
        .get_result(conn)
        .optional()?;
    Ok(match (opened, credited) {
        (Some((Some(at), post)), Some((registered, _))) if at >= registered => Some(post),
        (_, Some((_, post))) => Some(post),
        (Some((_, post)), None) => Some(post),
        (None, None) => None,
    })
}

/// Monthly recurring revenue in `currency` changed by `delta` at `now`.
pub fn revenue_moved(conn: &mut Conn, currency: &str, delta: i64, now: i64) -> QueryResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let bump = diesel::insert_into(revenue_days::table)
        .values((
            revenue_days::day.eq(Day::of(now).0),
            revenue_days::currency.eq(currency),
            revenue_days::delta.eq(delta),
        ))
        .on_conflict((revenue_days::day, revenue_days::currency))
        .do_update()
        .set(revenue_days::delta.eq(revenue_days::delta + delta));
    super::direct!(conn, |c| bump.execute(c)).map(|_| ())
}

/// A day's kept counts.
#[derive(Debug, Clone, Copy, Default, Queryable, Selectable)]
#[diesel(table_name = insight_days)]
pub struct DayRow {
    pub day: i32,
    pub registrations: i32,
    pub conversions: i32,
    pub cancellations: i32,
    pub members_delta: i32,
    pub premium_delta: i32,
    pub readers: i32,
    pub paywall_hits: i32,
    pub gift_readers: i32,
    pub anonymous_readers: i32,
    pub registration_walls: i32,
}

/// The site's kept counts over `range`: members and premium members at
/// the end of the day before it, and each day of it with anything
/// counted, oldest first.
pub fn days(conn: &mut Conn, range: Range) -> QueryResult<((i64, i64), Vec<DayRow>)> {
    let (members, premium): (Option<i64>, Option<i64>) = insight_days::table
        .filter(insight_days::day.lt(range.from.0))
        .select((
            diesel::dsl::sum(insight_days::members_delta),
            diesel::dsl::sum(insight_days::premium_delta),
        ))
        .get_result(conn)?;
    let rows = insight_days::table
        .filter(insight_days::day.between(range.from.0, range.to.0))
        .order(insight_days::day)
        .select(DayRow::as_select())
        .load(conn)?;
    Ok(((members.unwrap_or(0), premium.unwrap_or(0)), rows))
}

/// Monthly recurring revenue at the end of `day`, per currency (one row
/// per day with a change: the sum is made here).
pub fn revenue(conn: &mut Conn, day: Day) -> QueryResult<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = revenue_days::table
        .filter(revenue_days::day.le(day.0))
        .select((revenue_days::currency, revenue_days::delta))
        .load(conn)?;
    let mut sums: Vec<(String, i64)> = Vec::new();
    for (currency, delta) in rows {
        match sums.iter_mut().find(|(c, _)| *c == currency) {
            Some((_, sum)) => *sum += delta,
            None => sums.push((currency, delta)),
        }
    }
    Ok(sums)
}

/// What `/insights/posts` sorts by (largest first, ties by post id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Readers,
    PaywallHits,
    Conversions,
    Registrations,
    GiftReaders,
}

impl Sort {
    pub fn parse(raw: &str) -> Option<Sort> {
        Some(match raw {
            "readers" => Sort::Readers,
            "paywall_hits" => Sort::PaywallHits,
            "conversions" => Sort::Conversions,
            "registrations" => Sort::Registrations,
            "gift_readers" => Sort::GiftReaders,
            _ => return None,
        })
    }

    /// The column of [`POST_FIGURES`] it names.
    fn column(self) -> &'static str {
        match self {
            Sort::Readers => "readers",
            Sort::PaywallHits => "paywall_hits",
            Sort::Conversions => "conversions",
            Sort::Registrations => "registrations",
            Sort::GiftReaders => "gift_readers",
        }
    }
}

/// A post's figures over a range.
#[derive(Debug, Clone, QueryableByName)]
pub struct PostFigures {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub slug: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub title: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub author: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub readers: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub paywall_hits: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub conversions: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub registrations: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub gift_readers: i64,
}

/// Every live post's figures over a range, one statement for both
/// engines, its cost the same for any range: each post's running totals
/// at the range's end less those before its start (two lookups by primary
/// key), and for its readers, those who came back in the range after
/// reading it before (`post_readers_back`, the rows of readers who came
/// back). `{tallies}` is [`TALLIES_SQLITE`] or [`TALLIES_PG`]; `{from}`,
/// `{to}`, `{author}`, `{order}`, `{limit}` and `{offset}` are filled in
/// with numbers and a column name of [`Sort`]'s, never with anything a
/// request wrote.
const POST_FIGURES: &str = "
    SELECT p.id, p.slug, p.title, a.username AS author,
           CAST(COALESCE(hi.first_readers, 0) - COALESCE(lo.first_readers, 0)
                + COALESCE(back.readers, 0) AS BIGINT) AS readers,
           CAST(COALESCE(hi.paywall_hits, 0) - COALESCE(lo.paywall_hits, 0) AS BIGINT)
               AS paywall_hits,
           CAST(COALESCE(hi.conversions, 0) - COALESCE(lo.conversions, 0) AS BIGINT)
               AS conversions,
           CAST(COALESCE(hi.registrations, 0) - COALESCE(lo.registrations, 0) AS BIGINT)
               AS registrations,
           CAST(COALESCE(hi.gift_readers, 0) - COALESCE(lo.gift_readers, 0) AS BIGINT)
               AS gift_readers
    FROM posts p
    LEFT JOIN users a ON a.id = p.author_id
    {tallies}
    LEFT JOIN (
        SELECT post_id, COUNT(*) AS readers FROM post_readers
        WHERE prev_day IS NOT NULL AND day BETWEEN {from} AND {to} AND prev_day < {from}
        GROUP BY post_id
    ) back ON back.post_id = p.id
    WHERE p.deleted_at IS NULL {author}
    ORDER BY {order} DESC, p.id ASC
    LIMIT {limit} OFFSET {offset}";

/// Each post's running totals at the range's end (`hi`) and before its
/// start (`lo`), on SQLite: the day found by the primary key, then its row.
const TALLIES_SQLITE: &str = "
    LEFT JOIN post_tallies hi ON hi.post_id = p.id
        AND hi.day = (SELECT MAX(t.day) FROM post_tallies t
                      WHERE t.post_id = p.id AND t.day <= {to})
    LEFT JOIN post_tallies lo ON lo.post_id = p.id
        AND lo.day = (SELECT MAX(t.day) FROM post_tallies t
                      WHERE t.post_id = p.id AND t.day < {from})";

/// The same on PostgreSQL, where a lateral lookup per post keeps the plan
/// on the primary key (joined as above, it hashes every post's every row).
const TALLIES_PG: &str = "
    LEFT JOIN LATERAL (SELECT * FROM post_tallies t WHERE t.post_id = p.id AND t.day <= {to}
                       ORDER BY t.day DESC LIMIT 1) hi ON true
    LEFT JOIN LATERAL (SELECT * FROM post_tallies t WHERE t.post_id = p.id AND t.day < {from}
                       ORDER BY t.day DESC LIMIT 1) lo ON true";

/// A page of live posts' figures over `range` (`author`: only theirs),
/// sorted by `sort`, with how many posts there are.
pub fn posts(
    conn: &mut Conn,
    range: Range,
    author: Option<i64>,
    sort: Sort,
    page: i64,
    per_page: i64,
) -> QueryResult<(i64, Vec<PostFigures>)> {
    use super::schema::posts;
    let total: i64 = super::direct!(conn, |c| {
        let mut live = posts::table
            .filter(posts::deleted_at.is_null())
            .into_boxed();
        if let Some(author) = author {
            live = live.filter(posts::author_id.eq(author));
        }
        live.count().get_result(c)
    })?;
    let tallies = match conn {
        DbConnection::Sqlite(_) => TALLIES_SQLITE,
        DbConnection::Postgres(_) => TALLIES_PG,
    };
    let sql = POST_FIGURES
        .replace("{tallies}", tallies)
        .replace("{from}", &range.from.0.to_string())
        .replace("{to}", &range.to.0.to_string())
        .replace(
            "{author}",
            &author.map_or_else(String::new, |id| format!("AND p.author_id = {id}")),
        )
        .replace("{order}", sort.column())
        .replace("{limit}", &per_page.to_string())
        .replace("{offset}", &((page - 1) * per_page).to_string());
    let rows = match conn {
        DbConnection::Sqlite(sqlite) => diesel::sql_query(sql).load(sqlite)?,
        // Compiling the statement to machine code (PostgreSQL's JIT, which
        // its cost estimate asks for) takes longer than running it.
        DbConnection::Postgres(pg) => pg.transaction(|pg| {
            diesel::sql_query("SET LOCAL jit = off").execute(pg)?;
            diesel::sql_query(sql).load(pg)
        })?,
    };
    Ok((total, rows))
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::engine::testing::on_each_backend;
    use crate::db::engine::{migrate, redo_from};

    const DAY: i64 = 86_400;

    /// Accounts, a complimentary grant and a subscription stored before
    /// insights, and what the migration that brings them counts of them:
    /// each account registered on its day, premium from it, the grant's
    /// lapse ahead on its own day, the subscription's revenue from the day
    /// it last changed.
    fn what_was_there_before_counts_from_its_day(conn: &mut Conn) {
        migrate(conn).unwrap();
        conn.batch_execute(&format!(
            "INSERT INTO users (username, username_key, password_hash, plan, created_at, premium_until)
             VALUES ('ann', 'ann', 'h', 'free', {ten}, NULL),
                    ('bea', 'bea', 'h', 'premium', {ten}, NULL),
                    ('cid', 'cid', 'h', 'free', {twelve}, {twenty});
             INSERT INTO billing_subscriptions (id, user_id, status, cancel_at_period_end,
                 last_event_created, updated_at, price_amount, price_currency, price_interval,
                 price_interval_count)
             VALUES ('sub_1', 2, 'active', FALSE, 1, {eleven}, 12001, 'eur', 'year', 1),
                    ('sub_2', 1, 'canceled', FALSE, 1, {eleven}, 500, 'eur', 'month', 1);",
            ten = 10 * DAY + 5,
            eleven = 11 * DAY,
            twelve = 12 * DAY + 7,
            twenty = 20 * DAY + 3_600,
        ))
        .unwrap();
        redo_from(conn, "2026-12-03-000001").unwrap();

        let range = Range {
            from: Day(0),
            to: Day(30),
        };
        let (before, rows) = days(conn, range).unwrap();
        assert_eq!(before, (0, 0));
        let counted: Vec<_> = rows
            .iter()
            .map(|r| {
                let figures = [r.registrations, r.conversions, r.cancellations];
                (r.day, figures, r.members_delta, r.premium_delta)
            })
            .collect();
        assert_eq!(
            counted,
            [
                (10, [2, 0, 0], 2, 1),
                (12, [1, 0, 0], 1, 1),
                (20, [0, 0, 1], 0, -1),
            ]
        );
        // The lapse is a move counted ahead, which a change to the grant
        // takes back.
        plan_moved(
            conn,
            3,
            Premium::Until(20 * DAY + 3_600),
            Premium::No,
            15 * DAY,
        )
        .unwrap();
        let (_, rows) = days(conn, range).unwrap();
        let lapse = rows.iter().find(|r| r.day == 20);
        assert!(lapse.is_none_or(|r| (r.cancellations, r.premium_delta) == (0, 0)));
        // A yearly 120.01: 10.00 a month; the canceled one none.
        assert_eq!(revenue(conn, Day(30)).unwrap(), [("eur".to_owned(), 1000)]);
        assert_eq!(revenue(conn, Day(10)).unwrap(), []);
    }

    #[test]
    fn what_was_there_before_counts_from_its_day_on_each_backend() {
        on_each_backend(
            "insights_baseline",
            what_was_there_before_counts_from_its_day,
        );
    }
}
