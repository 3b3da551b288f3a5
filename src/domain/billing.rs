//! Billing's rules, without I/O: which subscription statuses make a user
//! premium, which still need cancelling when the account goes, and what a
//! (signature-checked) Stripe webhook event asks tollgate to change.
//!
//! Events are read as Stripe documents them
//! (<https://docs.stripe.com/api/events/object>): `id`, `type`, `created`
//! and `data.object`. The shapes read are those of API version
//! `2025-03-31.basil` (the period on the subscription's items, the price
//! expanded on each item), and the older ones where they differ (the period
//! on the subscription). Only the fields tollgate acts on are read, so a
//! newer API version that adds fields changes nothing here.

use serde_json::Value;

use crate::domain::Plan;

/// The plan a subscription status gives: premium while Stripe still
/// expects the subscription to be paid for (`past_due` is a grace period
/// while Stripe retries the card), free once it is over or never started.
pub fn plan_for_status(status: &str) -> Plan {
    match status {
        "active" | "trialing" | "past_due" => Plan::Premium,
        _ => Plan::Free,
    }
}

/// The statuses that give premium, for queries.
pub const PREMIUM_STATUSES: [&str; 3] = ["active", "trialing", "past_due"];

/// Whether Stripe may still charge for a subscription in this status, so
/// that deleting the account must cancel it first. `canceled` and
/// `incomplete_expired` are final; everything else (`incomplete`,
/// `unpaid`, `paused`, the premium ones) can still turn into a charge.
pub fn is_live(status: &str) -> bool {
    !matches!(status, "canceled" | "incomplete_expired")
}

/// A webhook event, as far as tollgate cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Stripe's event id (`evt_…`): each is applied at most once.
    pub id: String,
    /// Its `type`, e.g. `customer.subscription.updated`.
    pub kind: String,
    /// When Stripe created it (Unix seconds): orders events of one
    /// subscription, which Stripe does not deliver in order.
    pub created: i64,
    pub change: Change,
}

/// What an event asks to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `checkout.session.completed` in subscription mode, for a session
    /// tollgate opened: the customer (and subscription) now belong to the
    /// user named by `client_reference_id` and `metadata[tollgate_user_id]`.
    CheckoutCompleted {
        /// The Checkout Session (`cs_…`): the user's others are expired.
        session: String,
        user_id: i64,
        customer: String,
        subscription: Option<String>,
    },
    /// `customer.subscription.created`, `.updated` or `.deleted`: the
    /// subscription as it now is.
    Subscription(Subscription),
    /// `customer.deleted`: Stripe no longer has this customer; the user it
    /// was made for gets a new one at their next checkout.
    CustomerDeleted { customer: String },
    /// Any other type, or a checkout that is not ours to act on: answered
    /// `200` and ignored.
    Ignored,
}

/// A subscription as an event shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: String,
    pub customer: String,
    pub status: String,
    pub current_period_end: Option<i64>,
    /// Stripe's `cancel_at_period_end`: a cancellation scheduled at the
    /// period's end the older way.
    pub cancel_at_period_end: bool,
    /// Stripe's `cancel_at`: when a scheduled cancellation ends it, the
    /// way the billing portal and newer API versions schedule one (with
    /// `cancel_at_period_end` false, even at the period's end).
    pub cancel_at: Option<i64>,
    /// Its `latest_invoice` (`in_…`): what it charged last.
    pub latest_invoice: Option<String>,
    /// The price of its first item: what it was sold at.
    pub price: Option<ItemPrice>,
    /// When its free trial ends (`trial_end`), if it has one.
    pub trial_end: Option<i64>,
    /// `metadata[tollgate_user_id]`, which tollgate's checkouts give the
    /// subscriptions they start: one without it was started elsewhere
    /// (one Stripe account may serve several products).
    pub tollgate_user: Option<i64>,
}

impl Subscription {
    /// When the subscription ends as scheduled, whichever way Stripe
    /// scheduled it (`cancel_at`, or `cancel_at_period_end` with the period
    /// end); `None` while it renews.
    pub fn scheduled_end(&self) -> Option<i64> {
        match (self.cancel_at, self.cancel_at_period_end) {
            (Some(at), _) => Some(at),
            (None, true) => self.current_period_end,
            (None, false) => None,
        }
    }

    /// Whether an end is scheduled, either way.
    pub fn ends_as_scheduled(&self) -> bool {
        self.cancel_at_period_end || self.cancel_at.is_some()
    }
}

/// A subscription item's price, as the subscription carries it (Stripe
/// expands it on every item): its id, and the amount and interval it bills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemPrice {
    /// `price_…`: `GET /account` names it by `STRIPE_PRICES`.
    pub id: String,
    /// `unit_amount`, in the currency's smallest unit.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// `recurring.interval`: `day`, `week`, `month` or `year`.
    pub interval: Option<String>,
    pub interval_count: Option<i64>,
}

/// Why an event's body could not be read (the signature was good, so this
/// is Stripe's shape changing, not an attacker): the field at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// Reads an event from its JSON body.
pub fn parse_event(body: &Value) -> Result<Event, Unreadable> {
    let id = text(body, "id").ok_or(Unreadable("id"))?;
    let kind = text(body, "type").ok_or(Unreadable("type"))?;
    let created = body["created"].as_i64().ok_or(Unreadable("created"))?;
    let object = &body["data"]["object"];
    let change = match kind.as_str() {
        "checkout.session.completed" => checkout(object),
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            Change::Subscription(subscription(object).ok_or(Unreadable("data.object"))?)
        }
        "customer.deleted" => Change::CustomerDeleted {
            customer: text(object, "id").ok_or(Unreadable("data.object.id"))?,
        },
        _ => Change::Ignored,
    };
    Ok(Event {
        id,
        kind,
        created,
        change,
    })
}

/// A completed Checkout Session that tollgate started: subscription mode,
/// a customer, and our user id as both `client_reference_id` and
/// `metadata[tollgate_user_id]`. Anything else (a one-off payment, a
/// session another product of the same Stripe account made) is not ours to
/// act on.
fn checkout(object: &Value) -> Change {
    let user_id = text(object, "client_reference_id").and_then(|id| id.parse::<i64>().ok());
    let ours = tollgate_user(object).is_some_and(|marked| Some(marked) == user_id);
    let customer = id_of(&object["customer"]);
    let session = text(object, "id");
    match (text(object, "mode").as_deref(), user_id, customer, session) {
        (Some("subscription"), Some(user_id), Some(customer), Some(session))
            if user_id > 0 && ours =>
        {
            Change::CheckoutCompleted {
                session,
                user_id,
                customer,
                subscription: id_of(&object["subscription"]),
            }
        }
        _ => Change::Ignored,
    }
}

fn subscription(object: &Value) -> Option<Subscription> {
    Some(Subscription {
        id: text(object, "id")?,
        customer: id_of(&object["customer"])?,
        status: text(object, "status")?,
        // Newer API versions (2025-03-31 "basil" on) moved the period from
        // the subscription to each of its items.
        current_period_end: object["current_period_end"]
            .as_i64()
            .or_else(|| object["items"]["data"][0]["current_period_end"].as_i64()),
        cancel_at_period_end: object["cancel_at_period_end"].as_bool().unwrap_or(false),
        cancel_at: object["cancel_at"].as_i64(),
        latest_invoice: id_of(&object["latest_invoice"]),
        price: item_price(&object["items"]["data"][0]["price"]),
        trial_end: object["trial_end"].as_i64(),
        tollgate_user: tollgate_user(object),
    })
}

/// A subscription item's `price` (tollgate's checkouts make subscriptions
/// of one item).
fn item_price(price: &Value) -> Option<ItemPrice> {
    let recurring = &price["recurring"];
    Some(ItemPrice {
        id: id_of(price)?,
        amount: price["unit_amount"].as_i64(),
        currency: text(price, "currency"),
        interval: text(recurring, "interval"),
        interval_count: recurring["interval_count"].as_i64(),
    })
}

/// A Stripe object's subscription, read from `GET /v1/subscriptions/{id}`.
pub fn parse_subscription(object: &Value) -> Result<Subscription, Unreadable> {
    subscription(object).ok_or(Unreadable("subscription"))
}

/// The tollgate user an object's `metadata[tollgate_user_id]` names.
fn tollgate_user(object: &Value) -> Option<i64> {
    text(&object["metadata"], "tollgate_user_id")
        .and_then(|id| id.parse::<i64>().ok())
        .filter(|id| *id > 0)
}

fn text(object: &Value, field: &str) -> Option<String> {
    object[field]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// An id field, whether Stripe sent the id or (expanded) the object.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Object(_) => text(value, "id"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_plan_follows_the_status() {
        for status in ["active", "trialing", "past_due"] {
            assert_eq!(plan_for_status(status), Plan::Premium, "{status}");
            assert!(PREMIUM_STATUSES.contains(&status));
        }
        for status in [
            "canceled",
            "unpaid",
            "incomplete",
            "incomplete_expired",
            "paused",
            "new",
        ] {
            assert_eq!(plan_for_status(status), Plan::Free, "{status}");
        }
        assert!(is_live("unpaid") && is_live("active") && is_live("incomplete"));
        assert!(!is_live("canceled") && !is_live("incomplete_expired"));
    }

    fn event(kind: &str, object: Value) -> Value {
        json!({"id": "evt_1", "object": "event", "type": kind, "created": 1_700_000_000,
               "data": {"object": object}})
    }

    #[test]
    fn a_subscription_event_gives_the_subscription() {
        let body = event(
            "customer.subscription.updated",
            json!({"id": "sub_1", "object": "subscription", "customer": "cus_1",
                   "status": "active", "cancel_at_period_end": true,
                   "current_period_end": 1_700_100_000}),
        );
        let parsed = parse_event(&body).unwrap();
        assert_eq!(parsed.created, 1_700_000_000);
        assert_eq!(
            parsed.change,
            Change::Subscription(Subscription {
                id: "sub_1".into(),
                customer: "cus_1".into(),
                status: "active".into(),
                current_period_end: Some(1_700_100_000),
                cancel_at_period_end: true,
                cancel_at: None,
                latest_invoice: None,
                price: None,
                trial_end: None,
                tollgate_user: None,
            })
        );
    }

    #[test]
    fn the_price_and_the_trial_come_with_the_subscription() {
        // As API version 2025-03-31.basil sends it: the price expanded on
        // each item, the period on the item.
        let body = event(
            "customer.subscription.created",
            json!({"id": "sub_1", "object": "subscription", "customer": "cus_1",
            "status": "trialing", "trial_start": 1_700_000_000,
            "trial_end": 1_701_209_600,
            "items": {"object": "list", "data": [{
                "id": "si_1", "object": "subscription_item",
                "current_period_end": 1_701_209_600,
                "price": {"id": "price_y", "object": "price", "currency": "eur",
                          "unit_amount": 5000, "type": "recurring",
                          "recurring": {"interval": "year", "interval_count": 1}},
            }]}}),
        );
        let Change::Subscription(sub) = parse_event(&body).unwrap().change else {
            panic!("a subscription change");
        };
        assert_eq!(sub.trial_end, Some(1_701_209_600));
        assert_eq!(
            sub.price,
            Some(ItemPrice {
                id: "price_y".into(),
                amount: Some(5000),
                currency: Some("eur".into()),
                interval: Some("year".into()),
                interval_count: Some(1),
            })
        );
        // A price named only by its id still names it.
        let mut bare = body.clone();
        bare["data"]["object"]["items"]["data"][0]["price"] = json!("price_m");
        let Change::Subscription(sub) = parse_event(&bare).unwrap().change else {
            panic!("a subscription change");
        };
        assert_eq!(
            sub.price.map(|p| (p.id, p.amount)),
            Some(("price_m".into(), None))
        );
    }

    #[test]
    fn the_period_end_may_be_on_the_first_item() {
        let body = event(
            "customer.subscription.created",
            json!({"id": "sub_1", "customer": {"id": "cus_1", "object": "customer"},
                   "status": "trialing",
                   "items": {"object": "list", "data": [{"id": "si_1", "current_period_end": 42}]}}),
        );
        let Change::Subscription(sub) = parse_event(&body).unwrap().change else {
            panic!("a subscription change");
        };
        assert_eq!(sub.current_period_end, Some(42));
        assert_eq!(sub.customer, "cus_1");
        assert!(!sub.cancel_at_period_end);
    }

    #[test]
    fn only_our_subscription_checkouts_link_a_customer() {
        let ours = json!({"id": "cs_1", "mode": "subscription", "client_reference_id": "7",
                          "metadata": {"tollgate_user_id": "7"},
                          "customer": "cus_1", "subscription": "sub_1"});
        assert_eq!(
            parse_event(&event("checkout.session.completed", ours))
                .unwrap()
                .change,
            Change::CheckoutCompleted {
                session: "cs_1".into(),
                user_id: 7,
                customer: "cus_1".into(),
                subscription: Some("sub_1".into())
            }
        );
        for other in [
            json!({"mode": "payment", "client_reference_id": "7", "customer": "cus_1",
                   "metadata": {"tollgate_user_id": "7"}}),
            json!({"mode": "subscription", "client_reference_id": "x", "customer": "cus_1",
                   "metadata": {"tollgate_user_id": "7"}}),
            json!({"mode": "subscription", "client_reference_id": "7", "customer": null,
                   "metadata": {"tollgate_user_id": "7"}}),
            // Another product's checkout: no mark, or a mark not ours.
            json!({"mode": "subscription", "client_reference_id": "7", "customer": "cus_1"}),
            json!({"mode": "subscription", "client_reference_id": "7", "customer": "cus_1",
                   "metadata": {"tollgate_user_id": "8"}}),
        ] {
            let change = parse_event(&event("checkout.session.completed", other))
                .unwrap()
                .change;
            assert_eq!(change, Change::Ignored);
        }
    }

    #[test]
    fn a_cancellation_is_scheduled_either_way_stripe_has() {
        let at = |cancel_at: Value, at_period_end: bool| {
            let body = event(
                "customer.subscription.updated",
                json!({"id": "sub_1", "customer": "cus_1", "status": "active",
                       "current_period_end": 100, "cancel_at": cancel_at,
                       "cancel_at_period_end": at_period_end}),
            );
            let Change::Subscription(sub) = parse_event(&body).unwrap().change else {
                panic!("a subscription change");
            };
            (sub.scheduled_end(), sub.ends_as_scheduled())
        };
        // The portal's way (API 2025-09-30.clover): `cancel_at`, the flag false.
        assert_eq!(at(json!(100), false), (Some(100), true));
        // Before the period's end.
        assert_eq!(at(json!(50), false), (Some(50), true));
        // The older way, and both at once.
        assert_eq!(at(Value::Null, true), (Some(100), true));
        assert_eq!(at(json!(100), true), (Some(100), true));
        // Taken back.
        assert_eq!(at(Value::Null, false), (None, false));
    }

    #[test]
    fn a_deleted_customer_is_named() {
        let body = event(
            "customer.deleted",
            json!({"id": "cus_1", "object": "customer", "deleted": true}),
        );
        assert_eq!(
            parse_event(&body).unwrap().change,
            Change::CustomerDeleted {
                customer: "cus_1".into()
            }
        );
    }

    #[test]
    fn other_types_are_ignored_and_broken_events_name_the_field() {
        let other = parse_event(&event("invoice.paid", json!({}))).unwrap();
        assert_eq!(other.change, Change::Ignored);
        assert_eq!(
            parse_event(&json!({"type": "x", "created": 1})),
            Err(Unreadable("id"))
        );
        assert_eq!(
            parse_event(&event(
                "customer.subscription.deleted",
                json!({"id": "sub_1"})
            )),
            Err(Unreadable("data.object"))
        );
    }
}
