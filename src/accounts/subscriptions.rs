//! What a Stripe event does to a member: `db::billing` stores what the
//! event says of customers and subscriptions; this moves monthly revenue
//! and the member's plan to match ([`members::change_plan`], the one place
//! a plan changes), and tells webhooks of a subscription that changed
//! (`subscription.updated`), in the same transaction as the record that the
//! event was applied.

use diesel::QueryResult;
use serde_json::json;

use super::members::{self, PlanChange, Source};
use super::view::SubscriptionView;
use crate::config::NamedPrice;
use crate::db::billing::{self, Applied};
use crate::db::{self, events, insights};
use crate::domain::billing::{Event, Subscription};
use crate::domain::{EventKind, Plan, Requester};
use crate::webhooks::{self, Event as Told};

/// Applies `event` (see `db::billing::apply_event`), or, with `fetched`,
/// an event that tied with the last one applied ([`Applied::Tie`]) with
/// the subscription as Stripe has it now; `prices` are the prices sold, by
/// which a subscription's is named. Call it inside a write transaction:
/// its effects and the row recording that it was applied commit together,
/// or not at all.
pub fn apply(
    conn: &mut db::Conn,
    event: &Event,
    fetched: Option<&Subscription>,
    prices: &[NamedPrice],
    now: i64,
) -> QueryResult<Applied> {
    let stored = match fetched {
        None => billing::apply_event(conn, event, now)?,
        Some(fetched) => billing::apply_event_as_fetched(conn, event, fetched, now)?,
    };
    follow(conn, stored, prices, now)
}

/// Applies `event`, whose subscription `sub` was a second live one of
/// `user_id`'s ([`Applied::Duplicate`]) and has been cancelled at Stripe:
/// stored as a cancelled duplicate, and the user's
/// `subscription_duplicate_cancelled` event says whether its charge was
/// refunded.
pub fn apply_duplicate(
    conn: &mut db::Conn,
    event: &Event,
    sub: &Subscription,
    user_id: i64,
    refunded: bool,
    now: i64,
) -> QueryResult<Applied> {
    if !billing::store_duplicate(conn, event, sub, user_id, now)? {
        return Ok(Applied::Replay);
    }
    let detail = json!({ "subscription": sub.id, "refunded": refunded });
    let kind = EventKind::SubscriptionDuplicateCancelled;
    events::record(conn, now, user_id, kind, &Requester::NOBODY, detail)?;
    Ok(Applied::Applied)
}

/// What a stored subscription makes of its member: its share of revenue
/// moved, and their plan set from all their subscriptions. Any other
/// outcome is answered as it is.
fn follow(
    conn: &mut db::Conn,
    applied: Applied,
    prices: &[NamedPrice],
    now: i64,
) -> QueryResult<Applied> {
    let Applied::Stored(stored) = applied else {
        return Ok(applied);
    };
    if let Some(row) = stored.changed {
        let shown = serde_json::to_value(SubscriptionView::of(row, prices))
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        let told = Told::SubscriptionUpdated {
            member_id: stored.user_id,
            subscription: &shown,
        };
        webhooks::record(conn, now, told)?;
    }
    for (currency, delta) in &stored.revenue {
        insights::revenue_moved(conn, currency, *delta, now)?;
    }
    let plan = match stored.premium {
        true => Plan::Premium,
        false => Plan::Free,
    };
    let change = PlanChange::Stored(plan);
    let user_id = stored.user_id;
    let Some(moved) = members::change_plan(conn, now, user_id, change, Source::Billing)? else {
        return Ok(Applied::Unknown);
    };
    if moved.before.is_premium() != moved.after.is_premium() {
        tracing::info!(user_id, plan = plan.as_str(), "plan changed by billing");
    }
    Ok(Applied::Applied)
}
