//! Queries on insights' tables (`insight_days`, `post_days`,
//! `post_readers`, `day_readers`, `paywall_hits`, `plan_moves`,
//! `revenue_days`): each count is kept as it happens, in the transaction
//! of what causes it, and a report over a range reads the kept counts (one
//! row per day, and per post and day) — never the history behind them.
//! The rules (what a day is, how a plan's change moves the counts) are
//! `domain::insights`'.

use diesel::prelude::*;

use super::schema::{
    day_readers, gift_credits, gift_readers, gifts, insight_days, paywall_hits, plan_moves,
    post_days, post_readers, revenue_days,
};
use super::{Conn, DbConnection};
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

/// Adds one to `post_days.$column` for `$post_id` on `$day`.
macro_rules! bump_post {
    ($conn:expr, $post_id:expr, $day:expr, $column:ident) => {{
        let bump = diesel::insert_into(post_days::table)
            .values((
                post_days::post_id.eq($post_id),
                post_days::day.eq($day.0),
                post_days::$column.eq(1),
            ))
            .on_conflict((post_days::post_id, post_days::day))
            .do_update()
            .set(post_days::$column.eq(post_days::$column + 1));
        super::direct!($conn, |c| bump.execute(c)).map(|_| ())
    }};
}

/// An account made at `now`, any way.
pub fn registered(conn: &mut Conn, now: i64) -> QueryResult<()> {
    let today = Day::of(now);
    bump_day!(conn, today, registrations, 1)?;
    bump_day!(conn, today, members_delta, 1)
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
        let post = diesel::insert_into(post_readers::table)
            .values((
                post_readers::post_id.eq(post_id),
                post_readers::day.eq(today.0),
                post_readers::user_id.eq(user_id),
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
        if super::direct!(conn, |c| site.execute(c))? == 0 {
            return Ok(());
        }
        bump_day!(conn, today, readers, 1)
    })
}

/// [`read`] on PostgreSQL: each step only if the one before it wrote
/// (`$1` the post, `$2` the day, `$3` the user).
const READ_PG: &str = "
    WITH post AS (
        INSERT INTO post_readers (post_id, day, user_id) VALUES ($1, $2, $3)
        ON CONFLICT DO NOTHING RETURNING 1
    ), site AS (
        INSERT INTO day_readers (day, user_id) SELECT $2, $3 FROM post
        ON CONFLICT DO NOTHING RETURNING 1
    )
    INSERT INTO insight_days (day, readers) SELECT $2, 1 FROM site
    ON CONFLICT (day) DO UPDATE SET readers = insight_days.readers + 1";

/// [`refused`] on PostgreSQL (`$1` the user, `$2` the post, `$3` the day,
/// `$4` the time): a new pair is counted; one refused again today becomes
/// the latest. The update cannot see the insert's row (one snapshot), so
/// exactly one of the two writes.
const REFUSED_PG: &str = "
    WITH hit AS (
        INSERT INTO paywall_hits (user_id, post_id, day, at) VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING RETURNING 1
    ), again AS (
        UPDATE paywall_hits SET at = $4
        WHERE user_id = $1 AND post_id = $2 AND day = $3 AND NOT EXISTS (SELECT 1 FROM hit)
    ), site AS (
        INSERT INTO insight_days (day, paywall_hits) SELECT $3, 1 FROM hit
        ON CONFLICT (day) DO UPDATE SET paywall_hits = insight_days.paywall_hits + 1
    )
    INSERT INTO post_days (post_id, day, paywall_hits) SELECT $2, $3, 1 FROM hit
    ON CONFLICT (post_id, day) DO UPDATE SET paywall_hits = post_days.paywall_hits + 1";

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
            return bump_post!(conn, post_id, today, paywall_hits);
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

/// Whether `post_id` refused `user_id` on the day of `now` and is their
/// latest refusal: then a refusal now has nothing to count (SQLite's
/// check; PostgreSQL's is part of the metered read's statement).
pub fn refusal_seen(conn: &mut Conn, user_id: i64, post_id: i64, now: i64) -> QueryResult<bool> {
    let latest: Option<(i64, i32)> = paywall_hits::table
        .filter(paywall_hits::user_id.eq(user_id))
        .order((paywall_hits::at.desc(), paywall_hits::post_id.desc()))
        .select((paywall_hits::post_id, paywall_hits::day))
        .limit(1)
        .load(conn)?
        .pop();
    Ok(latest == Some((post_id, Day::of(now).0)))
}

/// A gift of `post_id` opened by a reader for the first time on the day
/// of `now` (the gift's reader row says so).
pub fn gift_read(conn: &mut Conn, post_id: i64, now: i64) -> QueryResult<()> {
    let today = Day::of(now);
    bump_day!(conn, today, gift_readers, 1)?;
    bump_post!(conn, post_id, today, gift_readers)
}

/// A registration at `now` credited to a gift of `post_id`.
pub fn registration_credited(conn: &mut Conn, post_id: i64, now: i64) -> QueryResult<()> {
    bump_post!(conn, post_id, Day::of(now), registrations)
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
        .limit(1)
        .load(conn)?
        .pop();
    let post = match refused {
        Some(post) => Some(post),
        None => last_gift(conn, user_id, since)?,
    };
    if let Some(post_id) = post {
        bump_post!(conn, post_id, Day::of(now), conversions)?;
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
        .limit(1)
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
/// engines: the kept per-day counts summed (`post_days`, by its day
/// index), and the distinct readers counted from `post_readers`' day
/// index (a reader on several days of the range counts once). `{range}`,
/// `{author}`, `{order}` and `{page}` are filled in with numbers and a
/// column name of [`Sort`]'s, never with anything a request wrote.
const POST_FIGURES: &str = "
    SELECT p.id, p.slug, p.title, a.username AS author,
           CAST(COALESCE(r.readers, 0) AS BIGINT) AS readers,
           CAST(COALESCE(d.paywall_hits, 0) AS BIGINT) AS paywall_hits,
           CAST(COALESCE(d.conversions, 0) AS BIGINT) AS conversions,
           CAST(COALESCE(d.registrations, 0) AS BIGINT) AS registrations,
           CAST(COALESCE(d.gift_readers, 0) AS BIGINT) AS gift_readers
    FROM posts p
    LEFT JOIN users a ON a.id = p.author_id
    LEFT JOIN (
        SELECT post_id, COUNT(*) AS readers
        FROM (SELECT DISTINCT post_id, user_id FROM post_readers
              WHERE day BETWEEN {from} AND {to}) distinct_readers
        GROUP BY post_id
    ) r ON r.post_id = p.id
    LEFT JOIN (
        SELECT post_id, SUM(paywall_hits) AS paywall_hits, SUM(conversions) AS conversions,
               SUM(registrations) AS registrations, SUM(gift_readers) AS gift_readers
        FROM post_days WHERE day BETWEEN {from} AND {to}
        GROUP BY post_id
    ) d ON d.post_id = p.id
    WHERE p.deleted_at IS NULL {author}
    ORDER BY {order} DESC, p.id ASC
    LIMIT {limit} OFFSET {offset}";

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
    let sql = POST_FIGURES
        .replace("{from}", &range.from.0.to_string())
        .replace("{to}", &range.to.0.to_string())
        .replace(
            "{author}",
            &author.map_or_else(String::new, |id| format!("AND p.author_id = {id}")),
        )
        .replace("{order}", sort.column())
        .replace("{limit}", &per_page.to_string())
        .replace("{offset}", &((page - 1) * per_page).to_string());
    let rows = diesel::sql_query(sql).load(conn)?;
    Ok((total, rows))
}
