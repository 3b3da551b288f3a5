//! Queries on `unlocks`: the paywall rule (`domain::paywall`) applied to
//! what is stored, so that `used` never exceeds `limit` under any
//! concurrency, and parallel opens of one new post cost one read. How a
//! chunk of batched work reads its meters in one statement is in
//! [`read_ahead`].

pub mod read_ahead;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};

use super::schema::{paywall_hits, paywall_notices, post_readers, posts, unlocks, users};
use super::{Conn, DbConnection, Error};
use crate::db::engine::statement::prepared;
use crate::db::engine::{Unique, WrittenLimit};
pub use crate::db::rows::PostRef;
use crate::db::rows::{post_columns, visible_post, PostRow};
use crate::domain::insights::Day;
use crate::domain::paywall::{decide, Decision};
use crate::domain::post::Access;
use crate::domain::Month;

/// What opening a post came to.
pub enum Opened {
    /// The reader may see the post; `used` is the meter after this read;
    /// `reread`: it was already unlocked this month (no read spent).
    Granted {
        post: PostRow,
        used: u32,
        reread: bool,
        seen: Seen,
    },
    /// The meter is used up and this post was not unlocked this month.
    /// `first_of_month`: no refusal of this month has been recorded for the
    /// user yet (`db::paywall_notices`), so this one should be.
    Paywalled {
        post_id: i64,
        used: u32,
        first_of_month: bool,
        seen: Seen,
    },
    /// A `premium` post, for premium readers only; nothing was spent.
    PremiumRequired { post_id: i64, used: u32, seen: Seen },
    /// No post readers may see has that id.
    NotFound,
}

/// What insights already hold of a read today (`db::insights`), as the
/// read itself found it: a read counted, or a refusal counted as the
/// user's latest. What is not is written after the answer is decided,
/// once a day, so that a re-read or a refusal repeated writes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Today's reader row of this user and post exists.
    pub read: bool,
    /// This post refused this user today, and was their latest refusal.
    pub refused: bool,
}

impl Opened {
    fn reread(post: PostRow, used: u32, seen: Seen) -> Opened {
        Opened::Granted {
            post,
            used,
            reread: true,
            seen,
        }
    }

    /// A read spent (`used` counts it), or a `free` post, which spends
    /// none.
    fn unlocked(post: PostRow, used: u32, seen: Seen) -> Opened {
        Opened::Granted {
            post,
            used,
            reread: false,
            seen,
        }
    }

    /// The answer every path gives for a decision that needs no write:
    /// `None` for an unlock, and for a refusal, which each path words with
    /// what it knows of the month's notices.
    fn settled(decision: Decision, post: PostRow, used: u32, seen: Seen) -> Option<Opened> {
        match decision {
            Decision::Reread => Some(Opened::reread(post, used, seen)),
            Decision::Open => Some(Opened::unlocked(post, used, seen)),
            Decision::PremiumOnly => Some(Opened::PremiumRequired {
                post_id: post.id,
                used,
                seen,
            }),
            Decision::Unlock | Decision::Refuse => None,
        }
    }
}

/// The post's access level as stored (the CHECK constraint allows only
/// the three).
fn access_of(post: &PostRow) -> Access {
    Access::parse(&post.access).unwrap_or_default()
}

/// A metered read: `user_id` opening `key.post_id` in `key.month` at
/// `now`, with a meter of `limit` reads a month.
#[derive(Clone, Copy, Debug)]
pub struct MeteredRead {
    pub user_id: i64,
    pub key: MeterKey,
    pub limit: u32,
    pub now: i64,
}

/// The post `post` names, if readers may see it at `now`, with how many
/// posts `user_id` unlocked in `month` and whether this is one of them, in
/// one statement and one row (`None` when there is no such post). The
/// month's unlocks are counted in subqueries, not joined: a join would
/// repeat the post's columns (its body and html) once per unlocked post.
/// A slug is looked up by the live posts' unique index on it, as an id by
/// the primary key: one lookup either way.
fn post_and_meter(
    conn: &mut Conn,
    user_id: i64,
    month: Month,
    post: &PostRef,
    now: i64,
) -> QueryResult<Option<(PostRow, u32, bool, bool)>> {
    let months_unlocks = unlocks::table
        .filter(unlocks::user_id.eq(user_id))
        .filter(unlocks::month.eq(month.index()));
    let read_today = post_readers::table
        .filter(post_readers::day.eq(Day::of(now).0))
        .filter(post_readers::user_id.eq(user_id));
    // Written once, compiled for each backend (`direct!`).
    macro_rules! columns {
        () => {
            (
                PostRow::as_select(),
                months_unlocks.count().single_value().assume_not_null(),
                diesel::dsl::exists(months_unlocks.filter(unlocks::post_id.eq(posts::id))),
                diesel::dsl::exists(read_today.filter(post_readers::post_id.eq(posts::id))),
            )
        };
    }
    let row: Option<(PostRow, i64, bool, bool)> = visible_post!(conn, post, now, columns!())?;
    Ok(row.map(|(post, used, unlocked, read)| (post, used as u32, unlocked, read)))
}

/// [`decide`] applied to the plain read ([`post_and_meter`]) of `read`'s
/// post (by id): the post, the month's reads spent, the decision, and
/// whether today's read is counted (`None` when there is no such post).
fn decide_from_plain_read(
    conn: &mut Conn,
    read: MeteredRead,
) -> QueryResult<Option<(PostRow, u32, Decision, Seen)>> {
    let (user_id, month, post) = (read.user_id, read.key.month, PostRef::Id(read.key.post_id));
    let Some((post, used, unlocked, read_today)) =
        post_and_meter(conn, user_id, month, &post, read.now)?
    else {
        return Ok(None);
    };
    let decision = decide(access_of(&post), unlocked, used, read.limit);
    let seen = Seen {
        read: read_today,
        refused: false,
    };
    Ok(Some((post, used, decision, seen)))
}

/// The query of [`unlocked_ids`], for its synchronous and its pipelined
/// form.
macro_rules! unlocked_ids {
    ($user_id:expr, $month:expr) => {{
        let (user_id, month): (i64, Month) = ($user_id, $month);
        unlocks::table
            .filter(unlocks::user_id.eq(user_id))
            .filter(unlocks::month.eq(month.index()))
            .select(unlocks::post_id)
    }};
}

/// The posts `user_id` unlocked in `month` (at most FREE_READS of them).
pub fn unlocked_ids(conn: &mut Conn, user_id: i64, month: Month) -> QueryResult<Vec<i64>> {
    super::direct!(conn, |c| unlocked_ids!(user_id, month).load(c))
}

/// [`unlocked_ids`] as a future on a PostgreSQL connection's driver, to
/// share a round trip with other reads (see
/// `crate::db::engine::pg::PgConn::pipelined`).
pub async fn unlocked_ids_pg(
    mut conn: &diesel_async::AsyncPgConnection,
    user_id: i64,
    month: Month,
) -> QueryResult<Vec<i64>> {
    diesel_async::RunQueryDsl::load(unlocked_ids!(user_id, month), &mut conn).await
}

/// What [`grant`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granted {
    /// The post is unlocked now, a read spent on it.
    Unlocked,
    /// It was unlocked this month already: nothing spent.
    Already,
    /// The meter is used up: it stays closed.
    Full,
}

/// Unlocks `post_id` for `user_id` in `month` at `now` unless it is
/// unlocked already or the meter (`limit`) is used up: a browser's
/// anonymous reads joining its account. Each try claims slot `used + 1`;
/// a try that loses its slot to a parallel unlock (which then holds a
/// slot of its own) counts again, so at most `limit` tries lose.
pub fn grant(
    conn: &mut Conn,
    user_id: i64,
    month: Month,
    post_id: i64,
    limit: u32,
    now: i64,
) -> QueryResult<Granted> {
    for _ in 0..=limit {
        let ids = unlocked_ids(conn, user_id, month)?;
        if ids.contains(&post_id) {
            return Ok(Granted::Already);
        }
        let used = ids.len() as u32;
        if used >= limit {
            return Ok(Granted::Full);
        }
        let inserted = super::direct!(conn, |c| diesel::insert_into(unlocks::table)
            .values((
                unlocks::user_id.eq(user_id),
                unlocks::month.eq(month.index()),
                unlocks::post_id.eq(post_id),
                unlocks::unlocked_at.eq(now),
                unlocks::slot.eq(used as i32 + 1),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if inserted == 1 {
            return Ok(Granted::Unlocked);
        }
    }
    Ok(Granted::Full)
}

/// What opening the post would come to, without spending a read: for
/// `HEAD`, which delivers nothing.
pub fn peek_metered(conn: &mut Conn, read: MeteredRead) -> QueryResult<Opened> {
    let Some((post, used, decision, seen)) = decide_from_plain_read(conn, read)? else {
        return Ok(Opened::NotFound);
    };
    Ok(match decision {
        // Nothing is spent, so the meter stays as it is.
        Decision::Unlock => Opened::unlocked(post, used, seen),
        // A HEAD records nothing, so it does not ask.
        Decision::Refuse => Opened::Paywalled {
            post_id: post.id,
            used,
            first_of_month: false,
            seen,
        },
        settled => Opened::settled(settled, post, used, seen).unwrap_or(Opened::NotFound),
    })
}

/// Opens the post for a metered reader, unlocking it if the rule allows.
pub fn open_metered(conn: &mut Conn, read: MeteredRead) -> Result<Opened, Error> {
    match conn {
        DbConnection::Postgres(pg) => open_metered_pg(pg, read),
        DbConnection::Sqlite(_) => open_metered_serialized(conn, read),
    }
}

/// SQLite: re-reads and refusals are answered from one plain read. A new
/// unlock runs in an IMMEDIATE transaction, which holds the database's
/// single write lock before its first read, so every count-then-insert runs
/// alone: no two can both see `used = limit - 1`, and a second open of the
/// same post finds the first one's row.
fn open_metered_serialized(conn: &mut Conn, read: MeteredRead) -> Result<Opened, Error> {
    let MeteredRead {
        user_id,
        key,
        limit,
        now,
    } = read;
    let Some((post, used, decision, seen)) = decide_from_plain_read(conn, read)? else {
        return Ok(Opened::NotFound);
    };
    match decision {
        // Within a month `used` only grows, so a refusal read without the
        // lock cannot be wrong.
        Decision::Refuse => return refused(conn, read, used, seen),
        Decision::Unlock => {}
        settled => {
            return Ok(Opened::settled(settled, post, used, seen).unwrap_or(Opened::NotFound))
        }
    }
    let access = access_of(&post);
    super::write_transaction(conn, |conn| {
        // Decided again under the lock: another request may have unlocked
        // this post, or used the last read, since the plain read above.
        let ids = unlocked_ids(conn, user_id, key.month)?;
        let used = ids.len() as u32;
        match decide(access, ids.contains(&key.post_id), used, limit) {
            Decision::Refuse => refused(conn, read, used, seen),
            Decision::Unlock => {
                diesel::insert_into(unlocks::table)
                    .values((
                        unlocks::user_id.eq(user_id),
                        unlocks::month.eq(key.month.index()),
                        unlocks::post_id.eq(key.post_id),
                        unlocks::unlocked_at.eq(now),
                        unlocks::slot.eq(used as i32 + 1),
                    ))
                    .execute(conn)?;
                Ok(Opened::unlocked(post, used + 1, seen))
            }
            settled => Ok(Opened::settled(settled, post, used, seen).unwrap_or(Opened::NotFound)),
        }
    })
}

/// A refusal on SQLite, with whether it is the month's first and whether
/// insights hold it already (reads in the process, no round trip).
fn refused(conn: &mut Conn, read: MeteredRead, used: u32, seen: Seen) -> Result<Opened, Error> {
    let (user_id, post_id) = (read.user_id, read.key.post_id);
    Ok(Opened::Paywalled {
        post_id,
        used,
        first_of_month: !noticed_in(conn, user_id, read.key.month)?,
        seen: Seen {
            refused: refusal_seen(conn, user_id, post_id, read.now)?,
            ..seen
        },
    })
}

/// Whether `user_id`'s first refusal of `month` is already noted in
/// `paywall_notices` (SQLite's check; on PostgreSQL the metered read asks
/// this in its own statement).
fn noticed_in(conn: &mut Conn, user_id: i64, month: Month) -> QueryResult<bool> {
    super::direct!(conn, |c| diesel::select(diesel::dsl::exists(
        paywall_notices::table
            .filter(paywall_notices::user_id.eq(user_id))
            .filter(paywall_notices::month.eq(month.index())),
    ))
    .get_result(c))
}

/// Whether `post_id` refused `user_id` on the day of `now` and is their
/// latest refusal in `paywall_hits`: then a refusal now has nothing to
/// count in insights (SQLite's check; PostgreSQL's is part of the metered
/// read's statement).
pub fn refusal_seen(conn: &mut Conn, user_id: i64, post_id: i64, now: i64) -> QueryResult<bool> {
    let latest: Option<(i64, i32)> = paywall_hits::table
        .filter(paywall_hits::user_id.eq(user_id))
        .order((paywall_hits::at.desc(), paywall_hits::post_id.desc()))
        .select((paywall_hits::post_id, paywall_hits::day))
        .limit_written(1)
        .load(conn)?
        .pop();
    Ok(latest == Some((post_id, Day::of(now).0)))
}

/// PostgreSQL: one statement, one round trip, no transaction and no lock.
/// The statement mirrors [`decide`]: `was_unlocked` is the re-read, the
/// `HAVING COUNT(*) < $4` is "the meter has room", and the claim is the
/// unlock.
///
/// Under READ COMMITTED a count-then-insert over-grants (two requests both
/// count 4 and both insert), so the count is not trusted alone: each unlock
/// claims slot `count + 1`, and `UNIQUE (user_id, month, slot)` lets only
/// one of two parallel claims of a slot succeed (`ON CONFLICT DO NOTHING`;
/// PostgreSQL makes the second wait for the first to commit, then skip).
/// The primary key (user, month, post) likewise makes a second open of the
/// same post skip. A request that lost a race sees neither its slot nor a
/// refusal, and simply asks again.
fn open_metered_pg(pg: &mut super::pg::PgConn, read: MeteredRead) -> Result<Opened, Error> {
    let open = OpenMetered {
        user_id: read.user_id,
        month: read.key.month.index(),
        post_id: read.key.post_id,
        limit: i64::from(read.limit),
        now: read.now,
        day: Day::of(read.now).0,
    };
    // Each retry follows a commit by a competing request, so a handful is
    // plenty; more would mean something else is wrong.
    for _ in 0..8 {
        let rows: Vec<OpenRow> = open.load(pg)?;
        let Some(OpenRow {
            post,
            claimed_slot,
            meter,
        }) = rows.into_iter().next()
        else {
            return Ok(Opened::NotFound);
        };
        let used_before = meter.used_before as u32;
        let seen = meter.seen();
        let decision = decide(
            access_of(&post),
            meter.was_unlocked,
            used_before,
            read.limit,
        );
        match (decision, claimed_slot) {
            // Whether the month's first refusal is recorded is asked in the
            // same statement, so a refusal stays one round trip.
            (Decision::Refuse, _) => {
                return Ok(Opened::Paywalled {
                    post_id: post.id,
                    used: used_before,
                    first_of_month: !meter.noticed,
                    seen,
                })
            }
            // This statement's claim won the slot.
            (Decision::Unlock, Some(slot)) => return Ok(Opened::unlocked(post, slot as u32, seen)),
            // Lost a race for the slot (or for this post): ask again.
            (Decision::Unlock, None) => {}
            (settled, _) => {
                return Ok(
                    Opened::settled(settled, post, used_before, seen).unwrap_or(Opened::NotFound)
                )
            }
        }
    }
    Err(Error::Unavailable)
}

/// The metered read on PostgreSQL (see [`open_metered_pg`]). Only a
/// `metered` post is claimed; `free` and `premium` ones spend nothing.
const OPEN: &str = concat!(
    "
    WITH post AS (
        SELECT ",
    post_columns!(),
    "
        FROM posts p LEFT JOIN users a ON a.id = p.author_id
        WHERE p.id = $3 AND p.status = 'published' AND p.deleted_at IS NULL
          AND p.published_at <= $5
    ), claimed AS (
        INSERT INTO unlocks (user_id, month, post_id, slot, unlocked_at)
        SELECT $1, $2, $3, COUNT(*) + 1, $5
        FROM unlocks
        WHERE user_id = $1 AND month = $2
        HAVING COUNT(*) < $4 AND EXISTS (SELECT 1 FROM post WHERE access = 'metered')
        ON CONFLICT DO NOTHING
        RETURNING slot
    )
    SELECT post.*,
           (SELECT slot FROM claimed) AS claimed_slot,
           (SELECT COUNT(*) FROM unlocks WHERE user_id = $1 AND month = $2) AS used_before,
           EXISTS (SELECT 1 FROM unlocks
                   WHERE user_id = $1 AND month = $2 AND post_id = $3) AS was_unlocked,
           EXISTS (SELECT 1 FROM paywall_notices
                   WHERE user_id = $1 AND month = $2) AS noticed,
           EXISTS (SELECT 1 FROM post_readers
                   WHERE post_id = $3 AND day = $6 AND user_id = $1) AS read_today,
           COALESCE((SELECT h.post_id = $3 AND h.day = $6 FROM paywall_hits h
                     WHERE h.user_id = $1
                     ORDER BY h.at DESC, h.post_id DESC LIMIT 1), false) AS refusal_counted
    FROM post"
);

/// [`open_metered_pg`]'s statement with its parameters, prepared once per
/// connection (PostgreSQL would otherwise parse and plan it on every read).
#[derive(Clone, Copy)]
struct OpenMetered {
    user_id: i64,
    month: i32,
    post_id: i64,
    limit: i64,
    now: i64,
    day: i32,
}

prepared!(
    OpenMetered,
    id = OpenMetered,
    rows = diesel::sql_types::Untyped
);

impl QueryFragment<Pg> for OpenMetered {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{BigInt, Integer};
        out.push_sql(OPEN);
        // In the order of $1..$6.
        out.push_bind_param_value_only::<BigInt, _>(&self.user_id)?;
        out.push_bind_param_value_only::<Integer, _>(&self.month)?;
        out.push_bind_param_value_only::<BigInt, _>(&self.post_id)?;
        out.push_bind_param_value_only::<BigInt, _>(&self.limit)?;
        out.push_bind_param_value_only::<BigInt, _>(&self.now)?;
        out.push_bind_param_value_only::<Integer, _>(&self.day)
    }
}

/// A month's meter for one post (by id), as an unlock spends it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MeterKey {
    pub month: Month,
    pub post_id: i64,
}

/// A metered read a request asks about along with its session: the post
/// its path names, in `month`, on `day` (the request's UTC day, which
/// insights count a reader on: see [`answer_read_only`]).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Asked {
    pub month: Month,
    pub day: i32,
    pub post: PostRef,
}

/// A read-only look at a metered read, asked with the session: `user_id`
/// opening the post `asked` names, at `now`, with a meter of `limit`.
#[derive(Clone, Copy, Debug)]
pub struct Look<'a> {
    pub user_id: i64,
    pub asked: &'a Asked,
    pub limit: u32,
    pub now: i64,
}

/// What opening a post comes to, unless it is an unlock: a re-read, a
/// refusal (and whether it is the month's first, which the
/// caller records), or no such post. `None` for an unlock, which only
/// [`open_metered`] may grant, and on PostgreSQL when the chunk read
/// nothing ahead for it.
///
/// Asked while the request's session is looked up, so that a metered read
/// goes to the database once, not once for its session and again for its
/// meter. The answer is what the meter said at a moment within the
/// request's lifetime, which is a valid answer to it: within a month an
/// unlock is never undone and `used` only grows, so a re-read or refusal
/// seen then is still one. It comes from the chunk's read-ahead, `ahead`
/// (see [`read_ahead`]: keyed by the session's token hash, because the
/// user is not known before the session is read); on SQLite, when the
/// chunk read nothing ahead for it, from a plain read, the read half of
/// `open_metered_serialized`.
pub fn answer_read_only(
    conn: &mut Conn,
    look: Look<'_>,
    ahead: Option<read_ahead::Metered>,
) -> QueryResult<Option<Opened>> {
    let ahead = ahead.filter(|row| row.user_id == look.user_id);
    let (post, used, decision, noticed, seen) = match (ahead, &*conn) {
        (None, DbConnection::Postgres(_)) => return Ok(None),
        (Some(row), _) => {
            // The read-ahead knows no clock: it found the post if it is
            // live and published, and whether its time has come is asked
            // here, at the request's own `now`.
            let Some(post) = row.post.filter(|post| post.published_at <= look.now) else {
                return Ok(Some(Opened::NotFound));
            };
            let used = row.meter.used_before as u32;
            let decision = decide(access_of(&post), row.meter.was_unlocked, used, look.limit);
            (
                post,
                used,
                decision,
                Some(row.meter.noticed),
                row.meter.seen(),
            )
        }
        (None, DbConnection::Sqlite(_)) => {
            let (month, post) = (look.asked.month, &look.asked.post);
            let Some((post, used, unlocked, read)) =
                post_and_meter(conn, look.user_id, month, post, look.now)?
            else {
                return Ok(Some(Opened::NotFound));
            };
            let decision = decide(access_of(&post), unlocked, used, look.limit);
            let seen = Seen {
                read,
                refused: false,
            };
            (post, used, decision, None, seen)
        }
    };
    Ok(match decision {
        Decision::Refuse => {
            let (noticed, seen) = match noticed {
                Some(noticed) => (noticed, seen),
                None => (
                    noticed_in(conn, look.user_id, look.asked.month)?,
                    Seen {
                        refused: refusal_seen(conn, look.user_id, post.id, look.now)?,
                        ..seen
                    },
                ),
            };
            Some(Opened::Paywalled {
                post_id: post.id,
                used,
                first_of_month: !noticed,
                seen,
            })
        }
        settled => Opened::settled(settled, post, used, seen),
    })
}

#[derive(QueryableByName)]
struct OpenRow {
    #[diesel(embed)]
    post: PostRow,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    claimed_slot: Option<i32>,
    #[diesel(embed)]
    meter: MeterState,
}

/// What the month's unlocks and notices say of one read, as both metered
/// statements on PostgreSQL (the read and its read-ahead) return it.
#[derive(QueryableByName, Clone, Copy, Debug)]
pub struct MeterState {
    /// The month's reads spent before this one.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub used_before: i64,
    /// This post is among them.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub was_unlocked: bool,
    /// The month's first refusal is recorded already.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub noticed: bool,
    /// Today's reader row of this user and post exists.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub read_today: bool,
    /// This post refused this user today, and was their latest refusal.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    pub refusal_counted: bool,
}

impl MeterState {
    fn seen(&self) -> Seen {
        Seen {
            read: self.read_today,
            refused: self.refusal_counted,
        }
    }
}
