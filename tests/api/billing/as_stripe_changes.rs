//! Billing as Stripe's objects really change, from other projects' bug
//! reports: a user who pays twice (two tabs, two checkouts completed), a
//! customer deleted in Stripe's dashboard, a cancellation scheduled the
//! newer way (`cancel_at`), promotion codes guessed at Stripe's expense,
//! and a price list read by every caller at once during a slowdown. The
//! Stripe stand-in answers as Stripe documents it.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::db::count;
use crate::support::fakes::stripe_stand_in::StandIn;
use crate::support::stripe::{
    billing_app, deliver, deliver_ok, event, plan, subscription_event, Customer, SECRET_KEY,
    WEBHOOK_SECRET,
};
use crate::support::{assert_error, spawn_app_with, TestApp};

/// An app selling a monthly and a yearly price, with `extra` settings.
async fn selling(extra: &[(&str, &str)]) -> (TestApp, StandIn) {
    let stripe = StandIn::start().await;
    let mut vars = vec![
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_PRICES", "monthly=price_m,yearly=price_y"),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", &stripe.base),
        ("APP_URL", "https://app.example.com"),
    ];
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, stripe)
}

/// `POST /billing/checkout` with `body`; the session's id, from its URL.
async fn checkout(app: &TestApp, client: &Client, body: Value) -> String {
    let response = app.post_json(client, "/billing/checkout", &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let url: Value = response.json().await.unwrap();
    let url = url["url"].as_str().unwrap();
    url.rsplit('/').next().unwrap().to_owned()
}

/// `checkout.session.completed` for session `id`, as Stripe sends it.
fn completed(event_id: &str, at: i64, id: &str, customer: &Customer, sub: &str) -> Value {
    let user = customer.user_id.to_string();
    event(
        event_id,
        "checkout.session.completed",
        at,
        json!({
            "id": id, "object": "checkout.session", "mode": "subscription",
            "status": "complete", "payment_status": "paid",
            "client_reference_id": user, "metadata": {"tollgate_user_id": user},
            "customer": customer.id, "subscription": sub,
        }),
    )
}

/// A subscription event whose subscription's latest invoice is `invoice`.
fn with_invoice(mut event: Value, invoice: &str) -> Value {
    event["data"]["object"]["latest_invoice"] = json!(invoice);
    event
}

/// A paid invoice as `GET /v1/invoices/{id}` answers it.
fn paid_invoice(id: &str, intent: &str) -> Value {
    json!({"id": id, "object": "invoice", "status": "paid", "amount_paid": 500,
           "currency": "eur", "payment_intent": intent})
}

/// Registers `name`, the first customer of the stand-in, and opens a
/// checkout for the default price: the browser, the customer (as the
/// stand-in named it) and the session.
async fn subscriber(app: &TestApp, name: &str) -> (Client, Customer, String) {
    let client = app.client();
    let user: Value = app.register(&client, name).await.json().await.unwrap();
    let session = checkout(app, &client, json!({})).await;
    let customer = Customer {
        id: "cus_test_1".to_owned(),
        user_id: user["id"].as_i64().unwrap(),
    };
    (client, customer, session)
}

backend_test! {
async fn a_completed_checkout_expires_the_users_other_open_ones() {
    let (app, stripe) = selling(&[]).await;
    let (client, customer, monthly) = subscriber(&app, "Alice").await;
    // A second tab, a second price: a second session.
    let yearly = checkout(&app, &client, json!({"price": "yearly"})).await;
    assert_ne!(monthly, yearly);
    assert_eq!(stripe.open_sessions().len(), 2);

    stripe.complete_session(&monthly);
    deliver_ok(&app, &completed("evt_1", app.now(), &monthly, &customer, "sub_1")).await;

    assert!(stripe.open_sessions().is_empty(), "the yearly tab can no longer be paid");
    assert_eq!(stripe.requests_to("POST", &format!("/v1/checkout/sessions/{yearly}/expire")).len(), 1);
    assert!(stripe.requests_to("POST", &format!("/v1/checkout/sessions/{monthly}/expire")).is_empty());
    // A replay expires nothing more.
    deliver_ok(&app, &completed("evt_1", app.now(), &monthly, &customer, "sub_1")).await;
    assert_eq!(stripe.requests().iter().filter(|r| r.path.ends_with("/expire")).count(), 1);
}
}

backend_test! {
async fn a_second_live_subscription_is_cancelled_and_refunded_and_the_first_kept() {
    let (app, stripe) = selling(&[]).await;
    let (client, customer, _) = subscriber(&app, "Alice").await;
    let t = app.now();
    deliver_ok(&app, &with_invoice(subscription_event("evt_1", "customer.subscription.created", t, "sub_1", &customer, "active"), "in_1")).await;
    assert_eq!(plan(&app, &client).await, "premium");

    // The second tab had been paid too, moments apart.
    stripe.set_invoice(paid_invoice("in_2", "pi_2"));
    let second = with_invoice(subscription_event("evt_2", "customer.subscription.created", t + 1, "sub_2", &customer, "active"), "in_2");
    deliver_ok(&app, &second).await;

    assert_eq!(stripe.requests_to("DELETE", "/v1/subscriptions/sub_2").len(), 1);
    assert!(stripe.requests_to("DELETE", "/v1/subscriptions/sub_1").is_empty());
    let refunds = stripe.requests_to("POST", "/v1/refunds");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].field("payment_intent"), Some("pi_2"));
    assert_eq!(refunds[0].idempotency_key.as_deref(), Some("tollgate-refund-in_2"));
    let account = app.account_json(&client).await;
    assert_eq!(account["plan"], "premium");
    assert_eq!(account["subscription"]["status"], "active");
    let events: Value = app.events(&client, "").await.json().await.unwrap();
    let duplicate = events["events"].as_array().unwrap().iter()
        .find(|e| e["kind"] == "subscription_duplicate_cancelled")
        .unwrap_or_else(|| panic!("{events}"));
    assert_eq!(duplicate["detail"], json!({"subscription": "sub_2", "refunded": true}));

    // Its replay, and its later events while Stripe still said it was
    // active, change nothing and refund nothing more.
    deliver_ok(&app, &second).await;
    deliver_ok(&app, &with_invoice(subscription_event("evt_3", "customer.subscription.updated", t + 2, "sub_2", &customer, "active"), "in_2")).await;
    assert_eq!(stripe.requests_to("POST", "/v1/refunds").len(), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions WHERE id = 'sub_2' AND status = 'canceled' AND duplicate"), 1);
    // Stripe's own word of the cancellation is taken as it is.
    deliver_ok(&app, &subscription_event("evt_4", "customer.subscription.deleted", t + 3, "sub_2", &customer, "canceled")).await;
    assert_eq!(app.account_json(&client).await["subscription"]["status"], "active");
    assert_eq!(plan(&app, &client).await, "premium");
}
}

backend_test! {
async fn two_subscriptions_arriving_at_once_leave_one() {
    let (app, stripe) = selling(&[]).await;
    let (client, customer, _) = subscriber(&app, "Alice").await;
    let t = app.now();
    for invoice in ["in_1", "in_2"] {
        stripe.set_invoice(paid_invoice(invoice, &invoice.replace("in_", "pi_")));
    }
    let events: Vec<Value> = (1..=2)
        .map(|n| with_invoice(subscription_event(&format!("evt_{n}"), "customer.subscription.created", t, &format!("sub_{n}"), &customer, "active"), &format!("in_{n}")))
        .collect();
    let answers = join_all(events.iter().map(|e| deliver(&app, e))).await;
    assert!(answers.iter().all(|a| a.status() == StatusCode::OK));

    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions WHERE status = 'active' AND NOT duplicate"), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions WHERE status = 'canceled' AND duplicate"), 1);
    let cancelled: Vec<_> = stripe.requests().into_iter().filter(|r| r.method == "DELETE").collect();
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(stripe.requests_to("POST", "/v1/refunds").len(), 1);
    assert_eq!(plan(&app, &client).await, "premium");
}
}

backend_test! {
async fn a_customer_deleted_at_stripe_is_forgotten_and_replaced() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, customer, _) = subscriber(&app, "Alice").await;
    let t = app.now();
    deliver_ok(&app, &subscription_event("evt_1", "customer.subscription.created", t, "sub_1", &customer, "active")).await;

    // Deleted in the dashboard: Stripe cancels its subscription and says so.
    stripe.delete_customer(&customer.id);
    deliver_ok(&app, &subscription_event("evt_2", "customer.subscription.deleted", t + 1, "sub_1", &customer, "canceled")).await;
    deliver_ok(&app, &event("evt_3", "customer.deleted", t + 2, json!({"id": customer.id, "object": "customer", "deleted": true}))).await;
    assert_eq!(plan(&app, &client).await, "free");

    // Nothing to manage: 409, and Stripe is not asked.
    let portals = stripe.requests_to("POST", "/v1/billing_portal/sessions").len();
    assert_error(app.portal(&client).await, StatusCode::CONFLICT, "no_billing_account").await;
    assert_eq!(stripe.requests_to("POST", "/v1/billing_portal/sessions").len(), portals);
    // The next checkout makes a new customer, asked for under a new key.
    let response = app.checkout(&client).await;
    assert_eq!(response.status(), StatusCode::OK);
    let made = stripe.requests_to("POST", "/v1/customers");
    assert_eq!(made.len(), 2);
    assert_ne!(made[0].idempotency_key, made[1].idempotency_key);
    let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!(sessions.last().unwrap().field("customer"), Some("cus_test_2"));
}
}

backend_test! {
async fn a_customer_stripe_no_longer_has_is_not_an_outage() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, customer, _) = subscriber(&app, "Bob").await;
    deliver_ok(&app, &subscription_event("evt_1", "customer.subscription.created", app.now(), "sub_1", &customer, "canceled")).await;
    // Deleted in the dashboard; its `customer.deleted` not here yet.
    stripe.delete_customer(&customer.id);

    // The portal: nothing to manage, never "try again".
    assert_error(app.portal(&client).await, StatusCode::CONFLICT, "no_billing_account").await;
    assert_error(app.portal(&client).await, StatusCode::CONFLICT, "no_billing_account").await;
    // A checkout: made for a new customer at once.
    let response = app.checkout(&client).await;
    assert_eq!(response.status(), StatusCode::OK);
    let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!(sessions.last().unwrap().field("customer"), Some("cus_test_2"));
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_customers WHERE customer_id = 'cus_test_2' AND NOT forgotten"), 1);
}
}

backend_test! {
async fn a_cancellation_is_shown_whichever_way_stripe_scheduled_it() {
    let (app, _stripe) = billing_app(&[]).await;
    let (client, customer, _) = subscriber(&app, "Alice").await;
    let t = app.now();
    let period_end = t + 30 * 86_400;
    let scheduled = |n: i64, cancel_at: Value, at_period_end: bool| {
        let mut e = subscription_event(&format!("evt_{n}"), "customer.subscription.updated", t + n, "sub_1", &customer, "active");
        e["data"]["object"]["cancel_at"] = cancel_at;
        e["data"]["object"]["cancel_at_period_end"] = json!(at_period_end);
        e["data"]["object"]["current_period_end"] = json!(period_end);
        e
    };
    let shown = |account: &Value| (account["subscription"]["cancel_at_period_end"].clone(), account["subscription"]["cancel_at"].clone());
    let rfc = |unix: i64| json!(chrono::DateTime::from_timestamp(unix, 0).unwrap().format("%Y-%m-%dT%H:%M:%SZ").to_string());

    // The billing portal's way (API 2025-09-30.clover): `cancel_at` at the
    // period's end, `cancel_at_period_end` false.
    deliver_ok(&app, &scheduled(1, json!(period_end), false)).await;
    assert_eq!(shown(&app.account_json(&client).await), (json!(true), rfc(period_end)));
    // Taken back.
    deliver_ok(&app, &scheduled(2, Value::Null, false)).await;
    assert_eq!(shown(&app.account_json(&client).await), (json!(false), Value::Null));
    // Before the period's end.
    deliver_ok(&app, &scheduled(3, json!(t + 86_400), false)).await;
    assert_eq!(shown(&app.account_json(&client).await), (json!(true), rfc(t + 86_400)));
    // The older way.
    deliver_ok(&app, &scheduled(4, Value::Null, true)).await;
    assert_eq!(shown(&app.account_json(&client).await), (json!(true), rfc(period_end)));
    assert_eq!(plan(&app, &client).await, "premium");
}
}

backend_test! {
async fn promotion_codes_cannot_be_guessed_at_stripes_expense() {
    let (app, stripe) = selling(&[("PROMOTION_CODE_TRIES_PER_HOUR", "3"), ("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let guess = |client: Client, from: &'static str, code: String| {
        let app = &app;
        async move {
            client
                .post(app.url("/billing/checkout"))
                .header("X-Forwarded-For", from)
                .json(&json!({"promotion_code": code}))
                .send()
                .await
                .unwrap()
        }
    };
    let alice = app.logged_in_client("Alice").await;
    for n in 0..3 {
        let answer = guess(alice.clone(), "198.51.100.1", format!("GUESS{n}")).await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let lookups = || stripe.requests_to("GET", "/v1/promotion_codes").len();
    assert_eq!(lookups(), 3);
    // The fourth: refused, and Stripe not asked; from another network too
    // (per user), and for another user on the first network (per network).
    let refused = guess(alice.clone(), "198.51.100.1", "GUESS3".into()).await;
    assert!(refused.headers().get("retry-after").is_some());
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    let elsewhere = guess(alice.clone(), "203.0.113.7", "GUESS4".into()).await;
    assert_error(elsewhere, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    let bob = app.logged_in_client("Bob").await;
    let same_network = guess(bob.clone(), "198.51.100.1", "GUESS5".into()).await;
    assert_error(same_network, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(lookups(), 3);
    // A checkout without a code is not held back.
    assert_eq!(app.post_json(&alice, "/billing/checkout", &json!({})).await.status(), StatusCode::OK);
    // An hour later, a code may be looked up again.
    app.advance_clock(3_600);
    let later = guess(alice, "198.51.100.1", "GUESS6".into()).await;
    assert_eq!(later.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(lookups(), 4);
}
}

backend_test! {
async fn every_caller_waiting_for_the_prices_gets_the_one_read() {
    let (app, stripe) = selling(&[("STRIPE_TIMEOUT_SECONDS", "1")]).await;
    for (id, amount) in [("price_m", 500), ("price_y", 5000)] {
        stripe.set_price(json!({"id": id, "object": "price", "currency": "eur", "unit_amount": amount,
                                "recurring": {"interval": "month", "interval_count": 1}}));
    }
    let reads = || stripe.requests().iter().filter(|r| r.path.starts_with("/v1/prices/")).count();
    let browsers: Vec<Client> = (0..6).map(|_| app.client()).collect();
    let six = || join_all(browsers.iter().map(|b| app.get(b, "/billing/prices")));

    // Slower than the timeout: the one read fails, and every caller that
    // waited for it is answered with it; then at once, for 30 s.
    stripe.slow_down("/v1/prices/", Duration::from_millis(1_500));
    for answer in six().await {
        assert_error(answer, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    }
    assert_eq!(reads(), 1, "one call for six callers");
    assert_error(app.get(&app.client(), "/billing/prices").await, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert_eq!(reads(), 1);

    // Slow but within the timeout, 30 s later: one read for everyone.
    stripe.slow_down("/v1/prices/", Duration::from_millis(300));
    app.advance_clock(30);
    for answer in six().await {
        assert_eq!(answer.status(), StatusCode::OK);
    }
    assert_eq!(reads(), 1 + 2, "one round of the two prices");
}
}
