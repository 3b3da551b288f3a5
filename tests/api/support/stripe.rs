//! Stripe as the billing tests play it: an app wired to the local stand-in
//! (`fakes::stripe_stand_in`), and webhook events shaped as Stripe's docs
//! show them and signed as Stripe signs them, with a test secret, at the
//! app's clock.

use hmac::{Hmac, Mac};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use super::db::execute;
use super::fakes::stripe_stand_in::StandIn;
use super::{spawn_app_with, TestApp};

pub const SECRET_KEY: &str = "sk_test_stand_in";
pub const PRICE: &str = "price_premium_monthly";
pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

/// Every Stripe setting, for a Stripe API at `base`.
pub fn stripe_settings(base: &str) -> [(&'static str, &str); 4] {
    [
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_PRICE_ID", PRICE),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", base),
    ]
}

/// An app with billing on, its Stripe being the stand-in.
pub async fn billing_app(extra: &[(&str, &str)]) -> (TestApp, StandIn) {
    let stripe = StandIn::start().await;
    let mut vars = stripe_settings(&stripe.base).to_vec();
    vars.push(("APP_URL", "https://app.example.com"));
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, stripe)
}

/// `Stripe-Signature` for `body` at `t`, computed here as Stripe's docs
/// describe it (independently of the server's code).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn post_webhook(app: &TestApp, body: &[u8], signature: Option<&str>) -> Response {
    let mut request = app
        .bare_client()
        .post(app.url("/webhooks/stripe"))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("Stripe-Signature", signature);
    }
    request.send().await.unwrap()
}

/// Delivers `event` signed now, as Stripe would.
pub async fn deliver(app: &TestApp, event: &Value) -> Response {
    let body = serde_json::to_vec(event).unwrap();
    let signed = signature(WEBHOOK_SECRET, app.now(), &body);
    post_webhook(app, &body, Some(&signed)).await
}

pub async fn deliver_ok(app: &TestApp, event: &Value) {
    let response = deliver(app, event).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"received": true}));
}

/// An event as Stripe sends it (https://docs.stripe.com/api/events/object).
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "data": {"object": object, "previous_attributes": {}},
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
    })
}

/// A Stripe customer, and the tollgate user whose checkouts marked what
/// they started with `metadata[tollgate_user_id]` (0: none of tollgate's).
#[derive(Debug, Clone)]
pub struct Customer {
    pub id: String,
    pub user_id: i64,
}

impl Customer {
    /// A customer tollgate never made, with nothing of tollgate's.
    pub fn unknown(id: &str) -> Customer {
        Customer {
            id: id.to_owned(),
            user_id: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.id
    }
}

/// A `customer.subscription.*` event for `sub` of `customer`, started by
/// one of tollgate's checkouts for the customer's user (so marked with
/// them) unless the customer has none.
pub fn subscription_event(
    id: &str,
    kind: &str,
    created: i64,
    sub: &str,
    customer: &Customer,
    status: &str,
) -> Value {
    let metadata = match customer.user_id {
        0 => json!({}),
        user_id => json!({"tollgate_user_id": user_id.to_string()}),
    };
    event(
        id,
        kind,
        created,
        // As API version 2025-03-31.basil sends it: the period on the
        // item, and the item's price expanded.
        json!({
            "id": sub,
            "object": "subscription",
            "customer": customer.id,
            "status": status,
            "cancel_at_period_end": false,
            "trial_start": null,
            "trial_end": null,
            "items": {"object": "list", "data": [{
                "id": "si_test_1", "object": "subscription_item",
                "current_period_start": created,
                "current_period_end": created + 30 * 86_400,
                "price": {
                    "id": PRICE, "object": "price", "active": true,
                    "currency": "eur", "unit_amount": 500, "type": "recurring",
                    "recurring": {"interval": "month", "interval_count": 1,
                                  "usage_type": "licensed"},
                },
                "quantity": 1,
            }]},
            "metadata": metadata,
        }),
    )
}

/// A user registered with a Stripe customer made by a checkout: the
/// client, the user id and the customer.
pub async fn customer(app: &TestApp, stripe: &StandIn, name: &str) -> (Client, i64, Customer) {
    let client = app.client();
    let user: Value = app.register(&client, name).await.json().await.unwrap();
    let response = app.checkout(&client).await;
    assert_eq!(response.status(), StatusCode::OK);
    let made = stripe.requests_to("POST", "/v1/customers");
    let user_id = user["id"].as_i64().unwrap();
    let customer = Customer {
        id: format!("cus_test_{}", made.len().max(1)),
        user_id,
    };
    (client, user_id, customer)
}

/// The caller's plan, as `/check_session` reports it.
pub async fn plan(app: &TestApp, client: &Client) -> String {
    let me: Value = app.check_session(client).await.json().await.unwrap();
    me["plan"]
        .as_str()
        .unwrap_or_else(|| panic!("{me}"))
        .to_owned()
}

/// As `tollgate set-plan` would.
pub fn set_plan(app: &TestApp, user_id: i64, plan: &str) {
    execute(
        app,
        &format!("UPDATE users SET plan = '{plan}' WHERE id = {user_id}"),
    );
}
