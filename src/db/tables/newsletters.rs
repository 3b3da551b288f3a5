//! Queries on `newsletters` and `newsletter_recipients`: a post asked to
//! be emailed, its recipients queued in one statement when the post
//! becomes visible, and each recipient's message claimed and recorded as
//! the outbox's messages are (see `db::outbox` for why a claim with a
//! lease sends each message once across instances and crashes).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer};

use super::schema::{newsletter_recipients, newsletters, posts, users};
use super::{Conn, DbConnection};
use crate::db::engine::Unique;
use crate::db::rows::Published;
use crate::domain::Plan;

/// An account as a newsletter's message to it needs it: whether it still
/// takes the newsletter, where, and its plan.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Subscriber {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub newsletter: bool,
    pub disabled: bool,
    pub plan: String,
    pub premium_until: Option<i64>,
}

impl Subscriber {
    /// The address to send the newsletter to, if the account still takes
    /// it there: enabled, taking the newsletter, at a verified address.
    pub fn address(&self) -> Option<&str> {
        let takes = self.newsletter && self.email_verified && !self.disabled;
        self.email.as_deref().filter(|_| takes)
    }

    /// The plan in force at `now`.
    pub fn plan_at(&self, now: i64) -> Plan {
        let stored = Plan::parse(&self.plan).unwrap_or(Plan::Free);
        Plan::in_force(stored, self.premium_until, now)
    }
}

/// A newsletter's progress, as `EditablePost.email` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = newsletters)]
pub struct Progress {
    pub status: String,
    pub recipients: i64,
    pub sent: i64,
}

/// Asks for post `post_id` to be emailed once it is visible, in the
/// caller's transaction (the publish's). A post asked before — emailed,
/// being emailed or stopped — is never asked again.
pub fn ask(conn: &mut Conn, post_id: i64, now: i64) -> QueryResult<()> {
    let insert = diesel::insert_into(newsletters::table)
        .values((
            newsletters::post_id.eq(post_id),
            newsletters::status.eq("pending"),
            newsletters::created_at.eq(now),
        ))
        .on_conflict_do_nothing();
    super::direct!(conn, |c| insert.execute(c)).map(|_| ())
}

/// Stops what is not yet sent of post `post_id`'s newsletter, in the
/// caller's transaction (an unpublish's or a delete's): a newsletter that
/// never started is forgotten (publishing the post again may ask anew); one
/// under way is done with what it sent, and never sends again.
pub fn stop(conn: &mut Conn, post_id: i64) -> QueryResult<()> {
    diesel::delete(
        newsletter_recipients::table
            .filter(newsletter_recipients::post_id.eq(post_id))
            .filter(newsletter_recipients::state.eq("pending")),
    )
    .execute(conn)?;
    diesel::update(
        newsletters::table
            .find(post_id)
            .filter(newsletters::status.eq("sending")),
    )
    .set(newsletters::status.eq("sent"))
    .execute(conn)?;
    diesel::delete(
        newsletters::table
            .find(post_id)
            .filter(newsletters::status.eq("pending")),
    )
    .execute(conn)
    .map(|_| ())
}

/// The progress of post `post_id`'s newsletter, if it has one.
pub fn progress(conn: &mut Conn, post_id: i64) -> QueryResult<Option<Progress>> {
    newsletters::table
        .find(post_id)
        .select(Progress::as_select())
        .unique(conn)
}

/// When post `post_id`'s recipients were queued, if they were.
pub fn queued_at(conn: &mut Conn, post_id: i64) -> QueryResult<Option<i64>> {
    newsletters::table
        .find(post_id)
        .select(newsletters::queued_at)
        .unique(conn)
        .map(Option::flatten)
}

/// The newsletters whose post readers can see at `now` and whose
/// recipients are not queued yet.
pub fn due(conn: &mut Conn, now: i64) -> QueryResult<Vec<i64>> {
    newsletters::table
        .inner_join(posts::table)
        .filter(newsletters::status.eq("pending"))
        .filter(posts::status.eq(Published))
        .filter(posts::deleted_at.is_null())
        .filter(posts::published_at.le(now))
        .select(newsletters::post_id)
        .order(newsletters::post_id)
        .load(conn)
}

/// When the next pending newsletter's post becomes visible, if one waits
/// for its time.
pub fn next_visible(conn: &mut Conn) -> QueryResult<Option<i64>> {
    newsletters::table
        .inner_join(posts::table)
        .filter(newsletters::status.eq("pending"))
        .filter(posts::status.eq(Published))
        .filter(posts::deleted_at.is_null())
        .select(diesel::dsl::min(posts::published_at))
        .get_result(conn)
}

/// Queues post `post_id`'s recipients — every enabled account taking the
/// newsletter at a verified address — in one `INSERT … SELECT`, however
/// many they are, and marks the newsletter `sending`. The caller runs it
/// in a write transaction; the conditional update first makes the
/// newsletter this transaction's (a second instance finds it `sending`
/// and queues nothing). Answers how many were queued, or `None` when
/// another instance queued them.
pub fn queue(conn: &mut Conn, post_id: i64, now: i64) -> QueryResult<Option<i64>> {
    let taken = diesel::update(
        newsletters::table
            .find(post_id)
            .filter(newsletters::status.eq("pending")),
    )
    .set((
        newsletters::status.eq("sending"),
        newsletters::queued_at.eq(now),
    ))
    .execute(conn)?;
    if taken == 0 {
        return Ok(None);
    }
    let readers = users::table
        .filter(users::newsletter.eq(true))
        .filter(users::email_verified.eq(true))
        .filter(users::disabled.eq(false))
        .filter(users::email.is_not_null())
        .select((
            post_id.into_sql::<BigInt>(),
            users::id,
            "pending".into_sql::<diesel::sql_types::Text>(),
            now.into_sql::<BigInt>(),
            0.into_sql::<Integer>(),
        ));
    let queued = diesel::insert_into(newsletter_recipients::table)
        .values(readers)
        .into_columns((
            newsletter_recipients::post_id,
            newsletter_recipients::user_id,
            newsletter_recipients::state,
            newsletter_recipients::next_attempt_at,
            newsletter_recipients::attempts,
        ));
    let queued = super::direct!(conn, |c| queued.execute(c))? as i64;
    // Nobody to send to: done at once.
    let status = if queued == 0 { "sent" } else { "sending" };
    diesel::update(newsletters::table.find(post_id))
        .set((
            newsletters::recipients.eq(queued),
            newsletters::status.eq(status),
        ))
        .execute(conn)?;
    Ok(Some(queued))
}

/// A recipient's message claimed for delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub post_id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    /// Attempts so far, this one included.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Claims up to `limit` due messages until `lease_until`, as
/// `db::outbox::claim` does (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the
/// write transaction on SQLite). The caller runs this in a write
/// transaction.
/// The `LIMIT` is written into the text, never bound (`db::engine::limit`).
pub fn claim(conn: &mut Conn, now: i64, lease_until: i64, limit: i64) -> QueryResult<Vec<Claimed>> {
    match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(format!(
            "UPDATE newsletter_recipients SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE (post_id, user_id) IN (SELECT post_id, user_id FROM newsletter_recipients \
                          WHERE state = 'pending' AND next_attempt_at <= $2 \
                          ORDER BY next_attempt_at, post_id, user_id LIMIT {limit} \
                          FOR UPDATE SKIP LOCKED) \
             RETURNING post_id, user_id, attempts"
        ))
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .load(pg),
        DbConnection::Sqlite(sqlite) => diesel::sql_query(format!(
            "UPDATE newsletter_recipients SET next_attempt_at = ?, attempts = attempts + 1 \
             WHERE (post_id, user_id) IN (SELECT post_id, user_id FROM newsletter_recipients \
                          WHERE state = 'pending' AND next_attempt_at <= ? \
                          ORDER BY next_attempt_at, post_id, user_id LIMIT {limit}) \
             RETURNING post_id, user_id, attempts"
        ))
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .load(sqlite),
    }
}

/// A recipient's row while its message is still pending.
type Pending = diesel::dsl::Filter<
    diesel::dsl::Find<newsletter_recipients::table, (i64, i64)>,
    diesel::dsl::Eq<newsletter_recipients::state, &'static str>,
>;

fn still_pending(post_id: i64, user_id: i64) -> Pending {
    newsletter_recipients::table
        .find((post_id, user_id))
        .filter(newsletter_recipients::state.eq("pending"))
}

/// The account a claimed message is for, read just before the message is
/// made: `None` when the message is no longer pending (unpublishing or
/// deleting the post stopped it) or the account is gone. Whether it still
/// takes the newsletter is [`Subscriber::address`]'s question.
pub fn recipient(conn: &mut Conn, post_id: i64, user_id: i64) -> QueryResult<Option<Subscriber>> {
    still_pending(post_id, user_id)
        .inner_join(users::table)
        .select(Subscriber::as_select())
        .unique(conn)
}

/// Records the hash of the unsubscribe token a claimed message carries,
/// before it is delivered (a delivery that fails is made anew, with a new
/// token).
pub fn set_token(conn: &mut Conn, post_id: i64, user_id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(newsletter_recipients::table.find((post_id, user_id)))
        .set(newsletter_recipients::token_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}

/// How a claimed message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Delivered: counted in the newsletter's `sent`.
    Sent,
    /// Not sent: the account no longer takes the newsletter at a verified
    /// address, or is disabled.
    Skipped,
    /// Given up: refused for good by the mail server, or undeliverable
    /// for a day.
    Failed,
}

/// Records how the claimed message to `user_id` ended, unless unpublishing
/// the post removed it meanwhile.
pub fn finish(conn: &mut Conn, post_id: i64, user_id: i64, done: Done) -> QueryResult<()> {
    let state = match done {
        Done::Sent => "sent",
        Done::Skipped => "skipped",
        Done::Failed => "failed",
    };
    let changed = diesel::update(still_pending(post_id, user_id))
        .set(newsletter_recipients::state.eq(state))
        .execute(conn)?;
    if changed > 0 && done == Done::Sent {
        diesel::update(newsletters::table.find(post_id))
            .set(newsletters::sent.eq(newsletters::sent + 1))
            .execute(conn)?;
    }
    Ok(())
}

/// A failed attempt: try again at `at`.
pub fn retry_at(conn: &mut Conn, post_id: i64, user_id: i64, at: i64) -> QueryResult<()> {
    diesel::update(still_pending(post_id, user_id))
        .set(newsletter_recipients::next_attempt_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// Marks `sent` every newsletter under way with no message left pending;
/// each one's post and number of recipients. The `UPDATE`'s condition
/// makes the one transaction that marks it (of any instance) the one that
/// answers it.
pub fn finish_done(conn: &mut Conn) -> QueryResult<Vec<(i64, i64)>> {
    let waiting = newsletter_recipients::table
        .filter(newsletter_recipients::post_id.eq(newsletters::post_id))
        .filter(newsletter_recipients::state.eq("pending"));
    let finished = diesel::update(
        newsletters::table
            .filter(newsletters::status.eq("sending"))
            .filter(diesel::dsl::not(diesel::dsl::exists(waiting))),
    )
    .set(newsletters::status.eq("sent"))
    .returning((newsletters::post_id, newsletters::recipients));
    super::direct!(conn, |c| finished.get_results(c))
}

/// When the earliest pending message is due, if any is pending.
pub fn next_due(conn: &mut Conn) -> QueryResult<Option<i64>> {
    newsletter_recipients::table
        .filter(newsletter_recipients::state.eq("pending"))
        .select(diesel::dsl::min(newsletter_recipients::next_attempt_at))
        .get_result(conn)
}

/// How many newsletter messages wait to be sent (every instance's).
pub fn pending(conn: &mut Conn) -> QueryResult<i64> {
    newsletter_recipients::table
        .filter(newsletter_recipients::state.eq("pending"))
        .count()
        .get_result(conn)
}

/// The account a message's unsubscribe token (its hash) names.
pub fn token_owner(conn: &mut Conn, hash: &str) -> QueryResult<Option<i64>> {
    newsletter_recipients::table
        .filter(newsletter_recipients::token_hash.eq(hash))
        .select(newsletter_recipients::user_id)
        .unique(conn)
}

/// The posts whose newsletter was sent to `user_id`, by post id: for the
/// account's export.
pub fn received_by(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<i64>> {
    newsletter_recipients::table
        .filter(newsletter_recipients::user_id.eq(user_id))
        .filter(newsletter_recipients::state.eq("sent"))
        .order(newsletter_recipients::post_id)
        .select(newsletter_recipients::post_id)
        .load(conn)
}
