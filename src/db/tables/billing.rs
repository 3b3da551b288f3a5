//! Queries on `billing_customers`, `billing_subscriptions`,
//! `billing_checkouts`, `billing_trials` and `billing_events`, and
//! [`apply_event`]: what a Stripe webhook event changes in these tables,
//! with the record that the event was applied. What it changes for the
//! member (their plan, its event, insights) is `accounts::subscriptions`',
//! in the same transaction.

use diesel::prelude::*;

use super::schema::{
    billing_checkouts, billing_customers, billing_events, billing_subscriptions, billing_trials,
    users,
};
use super::{Conn, DbConnection};
use crate::db::engine::Unique;
use crate::domain::billing::{plan_for_status, Change, Event, Subscription, PREMIUM_STATUSES};
use crate::domain::Plan;

/// A subscription as stored (what `GET /account` shows).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = billing_subscriptions)]
pub struct SubscriptionRow {
    pub id: String,
    pub status: String,
    pub current_period_end: Option<i64>,
    pub cancel_at_period_end: bool,
    pub updated_at: i64,
    pub price_id: Option<String>,
    pub trial_end: Option<i64>,
    /// When a scheduled cancellation ends it, whichever way Stripe
    /// scheduled it; `None` while it renews.
    pub cancel_at: Option<i64>,
}

/// The Stripe customer made for `user_id`, if one was and Stripe still
/// has it.
pub fn customer_of(conn: &mut Conn, user_id: i64) -> QueryResult<Option<String>> {
    billing_customers::table
        .find(user_id)
        .filter(billing_customers::forgotten.eq(false))
        .select(billing_customers::customer_id)
        .unique(conn)
}

/// The generation of the customer a checkout would make for `user_id`
/// now: 0 for the first, one more than a forgotten one's. It names the
/// customer's creation at Stripe, whose answer to a key it has seen is
/// the object it made then: a deleted customer, for a key reused.
pub fn next_customer_generation(conn: &mut Conn, user_id: i64) -> QueryResult<i32> {
    let row: Option<(bool, i32)> = billing_customers::table
        .find(user_id)
        .select((billing_customers::forgotten, billing_customers::generation))
        .unique(conn)?;
    Ok(row.map_or(0, |(forgotten, generation)| {
        generation + i32::from(forgotten)
    }))
}

/// Remembers `customer_id` (of `generation`) as `user_id`'s customer,
/// unless they already have one Stripe still has; answers the one they
/// have now. Two checkouts racing to make the customer both reach here
/// with the same id (the Stripe request's idempotency key is the user's
/// and the generation's): the primary key lets one insert, and of a
/// forgotten customer's replacements one update takes its place.
pub fn remember_customer(
    conn: &mut Conn,
    user_id: i64,
    customer_id: &str,
    generation: i32,
    now: i64,
) -> QueryResult<String> {
    diesel::update(
        billing_customers::table
            .find(user_id)
            .filter(billing_customers::forgotten),
    )
    .set((
        billing_customers::customer_id.eq(customer_id),
        billing_customers::created_at.eq(now),
        billing_customers::forgotten.eq(false),
        billing_customers::generation.eq(generation),
    ))
    .execute(conn)?;
    let insert = diesel::insert_into(billing_customers::table)
        .values((
            billing_customers::user_id.eq(user_id),
            billing_customers::customer_id.eq(customer_id),
            billing_customers::created_at.eq(now),
            billing_customers::generation.eq(generation),
        ))
        .on_conflict_do_nothing();
    super::direct!(conn, |c| insert.execute(c))?;
    billing_customers::table
        .find(user_id)
        .select(billing_customers::customer_id)
        .get_result(conn)
}

/// Links `customer_id`, a customer another platform made, to `user_id`,
/// an imported member, so that the customer's subscription events reach
/// them (unmarked ones too: see `apply_subscription`); `false`, changing
/// nothing, when the customer is already someone's or the user already has
/// one (both are unique, and the insert yields to either).
pub fn link_imported_customer(
    conn: &mut Conn,
    user_id: i64,
    customer_id: &str,
    now: i64,
) -> QueryResult<bool> {
    let insert = diesel::insert_into(billing_customers::table)
        .values((
            billing_customers::user_id.eq(user_id),
            billing_customers::customer_id.eq(customer_id),
            billing_customers::created_at.eq(now),
            billing_customers::imported.eq(true),
        ))
        .on_conflict_do_nothing();
    Ok(super::direct!(conn, |c| insert.execute(c))? > 0)
}

/// Of the customer ids `ids`, those already linked to a member.
pub fn customers_known(conn: &mut Conn, ids: &[String]) -> QueryResult<Vec<String>> {
    billing_customers::table
        .filter(billing_customers::customer_id.eq_any(ids))
        .select(billing_customers::customer_id)
        .load(conn)
}

/// Forgets `customer_id`: Stripe no longer has it (deleted in its
/// dashboard). Its user's next checkout makes a new one, and the billing
/// portal has nothing to show until then; `false` if it was not known.
pub fn forget_customer(conn: &mut Conn, customer_id: &str) -> QueryResult<bool> {
    let forgotten = diesel::update(
        billing_customers::table
            .filter(billing_customers::customer_id.eq(customer_id))
            .filter(billing_customers::forgotten.eq(false)),
    )
    .set(billing_customers::forgotten.eq(true))
    .execute(conn)?;
    Ok(forgotten > 0)
}

/// `user_id`'s subscriptions, the one to show first: one that gives
/// premium, else the most recently changed.
pub fn subscriptions_of(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<SubscriptionRow>> {
    let mut rows: Vec<SubscriptionRow> = billing_subscriptions::table
        .filter(billing_subscriptions::user_id.eq(user_id))
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    rows.sort_by_key(|row| {
        (
            std::cmp::Reverse(plan_for_status(&row.status) == Plan::Premium),
            std::cmp::Reverse(row.updated_at),
        )
    });
    Ok(rows)
}

/// Remembers a Checkout Session opened for `user_id` until it expires (a
/// retry that got the same session back changes nothing).
pub fn remember_checkout(
    conn: &mut Conn,
    user_id: i64,
    session_id: &str,
    expires_at: i64,
) -> QueryResult<()> {
    let insert = diesel::insert_into(billing_checkouts::table)
        .values((
            billing_checkouts::id.eq(session_id),
            billing_checkouts::user_id.eq(user_id),
            billing_checkouts::expires_at.eq(expires_at),
        ))
        .on_conflict_do_nothing();
    super::direct!(conn, |c| insert.execute(c)).map(|_| ())
}

/// The Checkout Sessions opened for `user_id` that have not expired yet
/// (some may have completed: expiring those is refused, and harmless).
pub fn open_checkouts(conn: &mut Conn, user_id: i64, now: i64) -> QueryResult<Vec<String>> {
    billing_checkouts::table
        .filter(billing_checkouts::user_id.eq(user_id))
        .filter(billing_checkouts::expires_at.gt(now))
        .select(billing_checkouts::id)
        .load(conn)
}

/// How long a claimed trial may be offered again by a checkout asking for
/// the same price and code: the Checkout Session made for it is then asked
/// for again with the same parameters, which Stripe answers with the same
/// session. Stripe takes a session's `expires_at` only 30 minutes or more
/// ahead, and it is fixed by the claim, so a claim older than this (with a
/// margin for the request's own time) is settled instead (see [`Trial`]).
pub const TRIAL_REOFFER_SECONDS: i64 = 1_500;

/// A claim's `expires_at` once its session is known to have been completed:
/// it never lapses.
const TRIAL_USED: i64 = i64::MAX;

/// A claim of the trial: when it was made, which fixes its Checkout
/// Session's expiry, and its generation, which with that names the session
/// (its idempotency key) and the claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Claim {
    pub at: i64,
    pub generation: i64,
}

/// What [`claim_trial`] came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trial {
    /// Offered by the claim [`Claim`].
    Offered(Claim),
    /// No trial: the user has subscribed before, a session that held the
    /// trial was paid (it stays used for good), or another checkout is
    /// making its session right now.
    Refused,
    /// The trial is held by another of the user's Checkout Sessions, one
    /// for another price or code, an old one, or one whose hour is over
    /// though no subscription was recorded (Stripe may have been paid and
    /// not told tollgate yet: a webhook endpoint down for a while). The
    /// caller settles `session` at Stripe — expired if still open, so it
    /// can no longer be paid — and claims again with it as `unpaid`, or
    /// [`keep_trial_used`] if it was completed.
    Settle { session: String },
}

/// Claims `user_id`'s one trial for a checkout of `price` with
/// `promotion_code` (`""`: none), its session to expire at `now +
/// lifetime`. `unpaid` is a session Stripe said is expired and was never
/// completed. Call it in a write transaction.
///
/// The user's row in `billing_trials` decides parallel checkouts: on
/// PostgreSQL the second insert waits for the first transaction and then
/// finds its claim (SQLite's write lock runs them one after the other).
/// The same price and code then share the claim, and so one session; a
/// claim whose session is not made yet refuses anything else; one whose
/// session is made is settled first ([`Trial::Settle`]), and a take-over
/// is one conditional UPDATE, so of two checkouts one takes it.
pub fn claim_trial(
    conn: &mut Conn,
    user_id: i64,
    (price, promotion_code): (&str, &str),
    now: i64,
    lifetime: i64,
    unpaid: Option<&str>,
) -> QueryResult<Trial> {
    if has_subscribed(conn, user_id)? {
        return Ok(Trial::Refused);
    }
    let claim = || {
        (
            billing_trials::price.eq(price),
            billing_trials::promotion_code.eq(promotion_code),
            billing_trials::claimed_at.eq(now),
            billing_trials::expires_at.eq(now + lifetime),
            billing_trials::session_id.eq(None::<String>),
        )
    };
    let insert = diesel::insert_into(billing_trials::table)
        .values((billing_trials::user_id.eq(user_id), claim()))
        .on_conflict_do_nothing();
    if super::direct!(conn, |c| insert.execute(c))? > 0 {
        return Ok(Trial::Offered(Claim {
            at: now,
            generation: 0,
        }));
    }
    type Held = (String, String, i64, i64, Option<String>, i64);
    let held: Option<Held> = billing_trials::table
        .find(user_id)
        .select((
            billing_trials::price,
            billing_trials::promotion_code,
            billing_trials::claimed_at,
            billing_trials::expires_at,
            billing_trials::session_id,
            billing_trials::generation,
        ))
        .get_result(conn)
        .optional()?;
    let Some((held_price, held_code, claimed_at, expires_at, session, generation)) = held else {
        return Ok(Trial::Refused);
    };
    if expires_at == TRIAL_USED {
        return Ok(Trial::Refused);
    }
    let lapsed = expires_at <= now;
    let shared = !lapsed
        && held_price == price
        && held_code == promotion_code
        && now - claimed_at < TRIAL_REOFFER_SECONDS;
    let free = match session.as_deref() {
        _ if shared => {
            return Ok(Trial::Offered(Claim {
                at: claimed_at,
                generation,
            }))
        }
        // Its session was never made (Stripe refused it) and its hour is
        // over; or Stripe said it is over unpaid.
        None => lapsed,
        Some(session) => unpaid == Some(session),
    };
    match session {
        _ if free => {
            // The condition is part of the UPDATE: of two checkouts one
            // takes it, and the other finds its claim on the next pass.
            let taken = diesel::update(
                billing_trials::table
                    .find(user_id)
                    .filter(billing_trials::generation.eq(generation)),
            )
            .set((claim(), billing_trials::generation.eq(generation + 1)))
            .execute(conn)?;
            if taken > 0 {
                Ok(Trial::Offered(Claim {
                    at: now,
                    generation: generation + 1,
                }))
            } else {
                claim_trial(conn, user_id, (price, promotion_code), now, lifetime, None)
            }
        }
        // Its session is being made by a parallel checkout.
        None => Ok(Trial::Refused),
        Some(session) => Ok(Trial::Settle { session }),
    }
}

/// Notes the Checkout Session made for the trial's claim `claim`.
pub fn note_trial_session(
    conn: &mut Conn,
    user_id: i64,
    claim: Claim,
    session_id: &str,
) -> QueryResult<()> {
    diesel::update(
        billing_trials::table
            .find(user_id)
            .filter(billing_trials::generation.eq(claim.generation)),
    )
    .set(billing_trials::session_id.eq(session_id))
    .execute(conn)
    .map(|_| ())
}

/// Gives back the trial's claim `claim`, whose session Stripe refused to
/// make (a promotion code it will not apply, say): the next checkout,
/// whatever it asks, may offer it at once. (The row stays, lapsed, so
/// that the next claim is a new generation.)
pub fn release_trial(conn: &mut Conn, user_id: i64, claim: Claim) -> QueryResult<()> {
    diesel::update(
        billing_trials::table
            .find(user_id)
            .filter(billing_trials::generation.eq(claim.generation))
            .filter(billing_trials::session_id.is_null()),
    )
    .set(billing_trials::expires_at.eq(claim.at))
    .execute(conn)
    .map(|_| ())
}

/// Keeps `user_id`'s trial used for good: Stripe says `session`, which
/// holds it, was completed (its subscription's events have yet to arrive).
pub fn keep_trial_used(conn: &mut Conn, user_id: i64, session: &str) -> QueryResult<()> {
    diesel::update(
        billing_trials::table
            .find(user_id)
            .filter(billing_trials::session_id.eq(session)),
    )
    .set(billing_trials::expires_at.eq(TRIAL_USED))
    .execute(conn)
    .map(|_| ())
}

/// Forgets Checkout Sessions that expired before `now`.
pub fn purge_checkouts(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(billing_checkouts::table.filter(billing_checkouts::expires_at.le(now)))
        .execute(conn)
}

/// What applying an event came to (for the log; the answer is `200`
/// whatever it is, but for the two that need Stripe first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Its effects are committed.
    Applied,
    /// Already applied before (a replay, or a duplicate delivered to
    /// another instance at the same time): nothing changed.
    Replay,
    /// Older than the last event applied to the same subscription.
    Stale,
    /// For a customer or user tollgate does not know.
    Unknown,
    /// A type or object tollgate does not act on, or one it did not start.
    Ignored,
    /// Nothing recorded: the event has the same `created` second as the
    /// last one applied to this subscription and says something else, so
    /// which is newer cannot be told. The caller reads the subscription
    /// from Stripe and applies the event with what Stripe says
    /// ([`apply_event_as_fetched`]).
    Tie { subscription: String },
    /// Nothing recorded: one of tollgate's checkouts completed for a user
    /// who has since been deleted. The caller cancels its subscription at
    /// Stripe, then records the event ([`record_event`]).
    Orphaned { subscription: Option<String> },
    /// Nothing recorded: a second live subscription of tollgate's for
    /// `user_id`, who has one already (two checkouts completed moments
    /// apart). The caller cancels it at Stripe and refunds what it
    /// charged, then stores the event ([`store_duplicate`]).
    Duplicate { user_id: i64, subscription: String },
    /// The subscription is stored as the event shows it; what it makes of
    /// its member is still to be applied, in the same transaction
    /// (`accounts::subscriptions` does, and answers [`Applied::Applied`]).
    Stored(Stored),
}

/// A subscription's event stored: its member, whether their subscriptions
/// now make them premium, and how it moved monthly recurring revenue
/// (currency, monthly amount; negative where it fell), and the
/// subscription as now stored when the event changed what it shows (its
/// status, price, period, trial or scheduled end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub user_id: i64,
    pub premium: bool,
    pub revenue: Vec<(String, i64)>,
    pub changed: Option<SubscriptionRow>,
}

/// Subscription `id` as stored, if it is.
fn subscription(conn: &mut Conn, id: &str) -> QueryResult<Option<SubscriptionRow>> {
    billing_subscriptions::table
        .find(id)
        .select(SubscriptionRow::as_select())
        .unique(conn)
}

/// Whether `before` and `after` show a subscription alike (the time of the
/// last change apart).
fn shown_alike(before: &SubscriptionRow, after: &SubscriptionRow) -> bool {
    SubscriptionRow {
        updated_at: after.updated_at,
        ..before.clone()
    } == *after
}

/// Applies `event`. Call it inside [`super::write_transaction`]: its
/// effects and the row recording that it was applied then commit together,
/// or not at all (a crash half-way applies nothing).
///
/// The event's row is inserted first, and its primary key decides which of
/// two deliveries of one event applies it: on SQLite the write lock runs
/// them one after the other, and the second finds the row; on PostgreSQL
/// the second insert waits for the first transaction, then (the row
/// committed) does nothing, and this answers [`Applied::Replay`] without
/// touching anything else. Were the first to roll back, the second would
/// insert and apply it instead.
pub fn apply_event(conn: &mut Conn, event: &Event, now: i64) -> QueryResult<Applied> {
    match &event.change {
        Change::Ignored => return Ok(Applied::Ignored),
        Change::CheckoutCompleted {
            user_id,
            subscription,
            ..
        } if !user_exists(conn, *user_id)? && !recorded(conn, &event.id)? => {
            return Ok(Applied::Orphaned {
                subscription: subscription.clone(),
            });
        }
        Change::Subscription(sub) if is_tie(conn, sub, event.created)? => {
            return Ok(Applied::Tie {
                subscription: sub.id.clone(),
            });
        }
        Change::Subscription(sub) if !recorded(conn, &event.id)? => {
            if let Some(user_id) = duplicated(conn, sub)? {
                return Ok(Applied::Duplicate {
                    user_id,
                    subscription: sub.id.clone(),
                });
            }
        }
        _ => {}
    }
    if !record_event(conn, event, now)? {
        return Ok(Applied::Replay);
    }
    match &event.change {
        Change::Ignored => Ok(Applied::Ignored),
        Change::CheckoutCompleted {
            user_id, customer, ..
        } => link_customer(conn, *user_id, customer, now),
        Change::Subscription(sub) => apply_subscription(conn, sub, event.created, now),
        Change::CustomerDeleted { customer } => Ok(match forget_customer(conn, customer)? {
            true => Applied::Applied,
            false => Applied::Unknown,
        }),
    }
}

/// The user of whom `sub` would be a second live subscription: one of
/// tollgate's, giving premium, while the user has another that does and
/// is not itself a cancelled duplicate. `None` otherwise, and for a
/// subscription already cancelled as a duplicate (its later events never
/// make it live again: [`apply_subscription`] keeps it cancelled).
///
/// On PostgreSQL the user's row is locked first, so two such events
/// applied at once take turns and the second sees the first's
/// subscription (SQLite's write lock already runs them one at a time).
fn duplicated(conn: &mut Conn, sub: &Subscription) -> QueryResult<Option<i64>> {
    let Some(user_id) = sub.tollgate_user else {
        return Ok(None);
    };
    if plan_for_status(&sub.status) != Plan::Premium {
        return Ok(None);
    }
    let owner: Option<i64> = billing_customers::table
        .filter(billing_customers::customer_id.eq(&sub.customer))
        .select(billing_customers::user_id)
        .get_result(conn)
        .optional()?;
    if owner != Some(user_id) {
        return Ok(None);
    }
    if let DbConnection::Postgres(pg) = conn {
        users::table
            .find(user_id)
            .select(users::id)
            .for_update()
            .load::<i64>(pg)?;
    }
    let other: bool = diesel::select(diesel::dsl::exists(
        billing_subscriptions::table
            .filter(billing_subscriptions::user_id.eq(user_id))
            .filter(billing_subscriptions::id.ne(&sub.id))
            .filter(billing_subscriptions::duplicate.eq(false))
            .filter(billing_subscriptions::status.eq_any(PREMIUM_STATUSES)),
    ))
    .get_result(conn)?;
    let marked: bool = diesel::select(diesel::dsl::exists(
        billing_subscriptions::table
            .find(&sub.id)
            .filter(billing_subscriptions::duplicate),
    ))
    .get_result(conn)?;
    Ok((other && !marked).then_some(user_id))
}

/// Records `event`, whose subscription `sub` was a second live one of
/// `user_id`'s ([`Applied::Duplicate`]) and has been cancelled at Stripe,
/// and stores it as cancelled and marked a duplicate, so that
/// `Account.subscription` is the one kept. `false`: the event was applied
/// already, and nothing changed.
pub fn store_duplicate(
    conn: &mut Conn,
    event: &Event,
    sub: &Subscription,
    user_id: i64,
    now: i64,
) -> QueryResult<bool> {
    if !record_event(conn, event, now)? {
        return Ok(false);
    }
    let price = sub.price.as_ref();
    let fields = (
        billing_subscriptions::user_id.eq(user_id),
        billing_subscriptions::status.eq("canceled"),
        billing_subscriptions::current_period_end.eq(sub.current_period_end),
        billing_subscriptions::cancel_at_period_end.eq(false),
        billing_subscriptions::cancel_at.eq(None::<i64>),
        billing_subscriptions::last_event_created.eq(event.created),
        billing_subscriptions::updated_at.eq(now),
        billing_subscriptions::trial_end.eq(sub.trial_end),
        billing_subscriptions::price_id.eq(price.map(|p| &p.id)),
        billing_subscriptions::duplicate.eq(true),
    );
    let insert = diesel::insert_into(billing_subscriptions::table)
        .values((billing_subscriptions::id.eq(&sub.id), fields))
        .on_conflict_do_nothing();
    if super::direct!(conn, |c| insert.execute(c))? == 0 {
        diesel::update(billing_subscriptions::table.find(&sub.id))
            .set(fields)
            .execute(conn)?;
    }
    Ok(true)
}

/// Applies a subscription event whose `created` tied with the last one
/// applied ([`Applied::Tie`]), with the subscription as Stripe has it now
/// (`fetched`) in place of what the event says: Stripe's present state is
/// at least as new as either event.
pub fn apply_event_as_fetched(
    conn: &mut Conn,
    event: &Event,
    fetched: &Subscription,
    now: i64,
) -> QueryResult<Applied> {
    if !record_event(conn, event, now)? {
        return Ok(Applied::Replay);
    }
    apply_subscription(conn, fetched, event.created, now)
}

/// Records that `event` was applied; `false` if it was already (a replay,
/// or a duplicate another instance applied first).
pub fn record_event(conn: &mut Conn, event: &Event, now: i64) -> QueryResult<bool> {
    let record = diesel::insert_into(billing_events::table)
        .values((
            billing_events::id.eq(&event.id),
            billing_events::kind.eq(&event.kind),
            billing_events::created.eq(event.created),
            billing_events::received_at.eq(now),
        ))
        .on_conflict_do_nothing();
    Ok(super::direct!(conn, |c| record.execute(c))? > 0)
}

fn recorded(conn: &mut Conn, event_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(billing_events::table.find(event_id))).get_result(conn)
}

fn user_exists(conn: &mut Conn, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(users::table.find(user_id))).get_result(conn)
}

/// Whether `sub`, from an event created at `created`, ties with what is
/// stored: the last event applied to it has the same second and said
/// something else. (The same again is no tie: applying it changes
/// nothing.)
fn is_tie(conn: &mut Conn, sub: &Subscription, created: i64) -> QueryResult<bool> {
    type Stored = (
        i64,
        String,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<i64>,
    );
    // A cancelled duplicate's row says what tollgate did, not what an
    // event said: nothing to tie with.
    let stored: Option<Stored> = billing_subscriptions::table
        .find(&sub.id)
        .filter(billing_subscriptions::duplicate.eq(false))
        .select((
            billing_subscriptions::last_event_created,
            billing_subscriptions::status,
            billing_subscriptions::current_period_end,
            billing_subscriptions::cancel_at,
            billing_subscriptions::price_id,
            billing_subscriptions::trial_end,
        ))
        .get_result(conn)
        .optional()?;
    let price_id = sub.price.as_ref().map(|price| price.id.as_str());
    Ok(
        stored.is_some_and(|(last, status, end, cancel_at, price, trial_end)| {
            last == created
                && (status.as_str(), end, cancel_at, price.as_deref(), trial_end)
                    != (
                        sub.status.as_str(),
                        sub.current_period_end,
                        sub.scheduled_end(),
                        price_id,
                        sub.trial_end,
                    )
        }),
    )
}

/// `checkout.session.completed`: `customer` is `user_id`'s. Normally
/// tollgate made that customer and already remembers it; this also covers
/// a checkout whose customer Stripe made. A customer already linked to
/// another user stays theirs, and a user's customer is never replaced.
fn link_customer(conn: &mut Conn, user_id: i64, customer: &str, now: i64) -> QueryResult<Applied> {
    let user_exists = user_exists(conn, user_id)?;
    let owner: Option<i64> = billing_customers::table
        .filter(billing_customers::customer_id.eq(customer))
        .select(billing_customers::user_id)
        .get_result(conn)
        .optional()?;
    match owner {
        _ if !user_exists => Ok(Applied::Unknown),
        Some(owner) if owner == user_id => Ok(Applied::Applied),
        Some(_) => {
            tracing::warn!(
                user_id,
                "a checkout named a customer of another user; ignored"
            );
            Ok(Applied::Unknown)
        }
        None => {
            let generation = next_customer_generation(conn, user_id)?;
            if remember_customer(conn, user_id, customer, generation, now)? != customer {
                tracing::warn!(
                    user_id,
                    "a checkout named a second customer for a user; the first stays theirs"
                );
                return Ok(Applied::Unknown);
            }
            Ok(Applied::Applied)
        }
    }
}

/// `customer.subscription.*`: stores the subscription as the event shows
/// it, unless a newer event about it was applied already, and answers
/// what that makes of its user ([`Applied::Stored`]).
fn apply_subscription(
    conn: &mut Conn,
    sub: &Subscription,
    created: i64,
    now: i64,
) -> QueryResult<Applied> {
    let owner: Option<(i64, bool)> = billing_customers::table
        .filter(billing_customers::customer_id.eq(&sub.customer))
        .select((billing_customers::user_id, billing_customers::imported))
        .get_result(conn)
        .optional()?;
    let Some((user_id, imported)) = owner else {
        return Ok(Applied::Unknown);
    };
    // Only subscriptions tollgate's checkouts started (marked with the
    // user), or ones stored before they were marked: a customer may also
    // subscribe to another product sold through the same Stripe account.
    // An imported customer's are the member's too: another platform's
    // checkouts started them, unmarked, before the member moved here.
    match sub.tollgate_user {
        Some(marked) if marked != user_id => {
            tracing::warn!(user_id, "a subscription marked for another user; ignored");
            return Ok(Applied::Unknown);
        }
        Some(_) => {}
        None if imported => {}
        None => {
            let known: bool = diesel::select(diesel::dsl::exists(
                billing_subscriptions::table.find(&sub.id),
            ))
            .get_result(conn)?;
            if !known {
                return Ok(Applied::Ignored);
            }
        }
    }
    // Events about two subscriptions of one user, applied at once on
    // PostgreSQL, would each decide the plan without seeing the other's
    // change; the user's row lock makes them take turns (SQLite's write
    // lock already does).
    if let DbConnection::Postgres(pg) = conn {
        let locked: Option<i64> = users::table
            .find(user_id)
            .select(users::id)
            .for_update()
            .get_result(pg)
            .optional()?;
        // The account was deleted (with its customer) since the lookup.
        if locked.is_none() {
            return Ok(Applied::Unknown);
        }
    }
    // A second live subscription cancelled at Stripe stays cancelled,
    // whatever its later events say ([`store_duplicate`]).
    let duplicate: bool = diesel::select(diesel::dsl::exists(
        billing_subscriptions::table
            .find(&sub.id)
            .filter(billing_subscriptions::duplicate),
    ))
    .get_result(conn)?;
    if duplicate {
        return Ok(Applied::Ignored);
    }
    // What the event says of the subscription: inserted, or set on the
    // stored row. A cancellation scheduled either way Stripe has is one
    // scheduled end (`cancel_at`), and `cancel_at_period_end` says there is
    // one.
    let price = sub.price.as_ref();
    let fields = (
        billing_subscriptions::user_id.eq(user_id),
        billing_subscriptions::status.eq(&sub.status),
        billing_subscriptions::current_period_end.eq(sub.current_period_end),
        billing_subscriptions::cancel_at_period_end.eq(sub.ends_as_scheduled()),
        billing_subscriptions::cancel_at.eq(sub.scheduled_end()),
        billing_subscriptions::last_event_created.eq(created),
        billing_subscriptions::updated_at.eq(now),
        billing_subscriptions::trial_end.eq(sub.trial_end),
        (
            billing_subscriptions::price_id.eq(price.map(|p| &p.id)),
            billing_subscriptions::price_amount.eq(price.and_then(|p| p.amount)),
            billing_subscriptions::price_currency.eq(price.and_then(|p| p.currency.as_ref())),
            billing_subscriptions::price_interval.eq(price.and_then(|p| p.interval.as_ref())),
            billing_subscriptions::price_interval_count.eq(price.and_then(|p| p.interval_count)),
        ),
    );
    let earned_before = earning(conn, &sub.id)?;
    let shown_before = subscription(conn, &sub.id)?;
    let insert = diesel::insert_into(billing_subscriptions::table)
        .values((billing_subscriptions::id.eq(&sub.id), fields))
        .on_conflict_do_nothing();
    if super::direct!(conn, |c| insert.execute(c))? == 0 {
        // Known already: only an event at least as new as the last one
        // applied may change it. The condition is part of the UPDATE, so
        // it is checked on the row as it is when the update takes it.
        let updated = diesel::update(
            billing_subscriptions::table
                .filter(billing_subscriptions::id.eq(&sub.id))
                .filter(billing_subscriptions::last_event_created.le(created)),
        )
        .set(fields)
        .execute(conn)?;
        if updated == 0 {
            return Ok(Applied::Stale);
        }
    }
    // Its share of monthly revenue, counted as it changes.
    let earned_after = earning(conn, &sub.id)?;
    let mut revenue = Vec::new();
    if earned_before != earned_after {
        let taken = earned_before.into_iter().map(|(c, m)| (c, -m));
        revenue.extend(taken.chain(earned_after));
    }
    let premium: bool = diesel::select(diesel::dsl::exists(
        billing_subscriptions::table
            .filter(billing_subscriptions::user_id.eq(user_id))
            .filter(billing_subscriptions::status.eq_any(PREMIUM_STATUSES)),
    ))
    .get_result(conn)?;
    let shown = subscription(conn, &sub.id)?;
    let changed = match (&shown_before, shown) {
        (Some(before), Some(after)) if shown_alike(before, &after) => None,
        (_, after) => after,
    };
    Ok(Applied::Stored(Stored {
        user_id,
        premium,
        revenue,
        changed,
    }))
}

/// A subscription's share of monthly recurring revenue as stored: its
/// currency and monthly amount while it makes its user premium, `None`
/// otherwise (or when its price is not known).
fn earning(conn: &mut Conn, id: &str) -> QueryResult<Option<(String, i64)>> {
    type Row = (
        String,
        Option<i64>,
        Option<String>,
        Option<String>,
        Option<i64>,
    );
    let row: Option<Row> = billing_subscriptions::table
        .find(id)
        .select((
            billing_subscriptions::status,
            billing_subscriptions::price_amount,
            billing_subscriptions::price_currency,
            billing_subscriptions::price_interval,
            billing_subscriptions::price_interval_count,
        ))
        .get_result(conn)
        .optional()?;
    Ok(row.and_then(|(status, amount, currency, interval, count)| {
        if !PREMIUM_STATUSES.contains(&status.as_str()) {
            return None;
        }
        let monthly = crate::domain::insights::monthly(amount?, interval.as_deref()?, count)?;
        Some((currency?, monthly))
    }))
}

/// What `user_id`'s subscriptions bring in a month, one (currency,
/// monthly amount) each that makes them premium: taken out of revenue as
/// their account is deleted (cancelled at Stripe first).
pub fn revenue_of(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<(String, i64)>> {
    let ids: Vec<String> = billing_subscriptions::table
        .filter(billing_subscriptions::user_id.eq(user_id))
        .select(billing_subscriptions::id)
        .load(conn)?;
    let mut revenue = Vec::new();
    for id in ids {
        revenue.extend(earning(conn, &id)?);
    }
    Ok(revenue)
}

/// The ids of `user_id`'s subscriptions that Stripe may still charge for.
pub fn live_subscription_ids(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<String>> {
    let rows: Vec<(String, String)> = billing_subscriptions::table
        .filter(billing_subscriptions::user_id.eq(user_id))
        .select((billing_subscriptions::id, billing_subscriptions::status))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, status)| crate::domain::billing::is_live(status))
        .map(|(id, _)| id)
        .collect())
}

/// Whether `user_id` has ever had a subscription (the billing portal has
/// nothing to show otherwise).
pub fn has_subscribed(conn: &mut Conn, user_id: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        billing_subscriptions::table.filter(billing_subscriptions::user_id.eq(user_id)),
    ))
    .get_result(conn)
}

/// Forgets applied-event ids older than `before`. Stripe retries an event
/// for up to three days, so a month later its id cannot come back.
pub fn purge_events(conn: &mut Conn, before: i64) -> QueryResult<usize> {
    diesel::delete(billing_events::table.filter(billing_events::received_at.lt(before)))
        .execute(conn)
}
