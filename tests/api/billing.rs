//! Billing: `POST /billing/checkout`, `POST /billing/portal`, the Stripe
//! webhook, the plan that follows the subscription, and leaving cleanly.
//!
//! Stripe is the local stand-in of `stripe_stand_in.rs` (there is no
//! internet here, and Stripe has no offline server). Webhook events are
//! shaped as Stripe's docs show them and signed as Stripe signs them, with
//! a test secret, at the app's clock.

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use futures_util::future::join_all;
use hmac::{Hmac, Mac};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::support::db::count;
use crate::support::fakes::stripe_stand_in::StandIn;
use crate::support::{
    assert_error, spawn_app_and_user, spawn_app_with, spawn_app_with_user, TestApp, PASSWORD,
};

const SECRET_KEY: &str = "sk_test_stand_in";
const PRICE: &str = "price_premium_monthly";
const WEBHOOK_SECRET: &str = "whsec_test_secret";

/// An app with billing on, its Stripe being the stand-in.
async fn billing_app(extra: &[(&str, &str)]) -> (TestApp, StandIn) {
    let stripe = StandIn::start().await;
    let mut vars = vec![
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_PRICE_ID", PRICE),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", stripe.base.as_str()),
        ("APP_URL", "https://app.example.com"),
    ];
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, stripe)
}

/// `Stripe-Signature` for `body` at `t`, computed here as Stripe's docs
/// describe it (independently of the server's code).
fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn post_webhook(app: &TestApp, body: &[u8], signature: Option<&str>) -> Response {
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
async fn deliver(app: &TestApp, event: &Value) -> Response {
    let body = serde_json::to_vec(event).unwrap();
    let signed = signature(WEBHOOK_SECRET, app.now(), &body);
    post_webhook(app, &body, Some(&signed)).await
}

async fn deliver_ok(app: &TestApp, event: &Value) {
    let response = deliver(app, event).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"received": true}));
}

/// An event as Stripe sends it (https://docs.stripe.com/api/events/object).
fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
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

/// A `customer.subscription.*` event for `sub` of `customer`.
fn subscription_event(
    id: &str,
    kind: &str,
    created: i64,
    sub: &str,
    customer: &str,
    status: &str,
) -> Value {
    event(
        id,
        kind,
        created,
        json!({
            "id": sub,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": false,
            "current_period_start": created,
            "current_period_end": created + 30 * 86_400,
            "items": {"object": "list", "data": [{
                "id": "si_test_1", "object": "subscription_item",
                "price": {"id": PRICE, "object": "price"}, "quantity": 1,
            }]},
            "metadata": {},
        }),
    )
}

/// A user registered with a Stripe customer made by a checkout: the
/// client, the user id and the customer id.
async fn customer(app: &TestApp, stripe: &StandIn, name: &str) -> (Client, i64, String) {
    let client = app.client();
    let user: Value = app.register(&client, name).await.json().await.unwrap();
    let response = app
        .post_json(&client, "/billing/checkout", &json!({}))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let made = stripe.requests_to("POST", "/v1/customers");
    let customer = format!("cus_test_{}", made.len().max(1));
    (client, user["id"].as_i64().unwrap(), customer)
}

async fn plan(app: &TestApp, client: &Client) -> String {
    let me: Value = app
        .get(client, "/check_session")
        .await
        .json()
        .await
        .unwrap();
    me["plan"].as_str().unwrap().to_owned()
}

async fn account(app: &TestApp, client: &Client) -> Value {
    app.account(client).await.json().await.unwrap()
}

/// As `tollgate set-plan` would.
fn set_plan(app: &TestApp, user_id: i64, plan: &str) {
    diesel::sql_query(format!(
        "UPDATE users SET plan = '{plan}' WHERE id = {user_id}"
    ))
    .execute(&mut app.db())
    .unwrap();
}

backend_test! {
async fn webhook_signatures_are_checked_as_stripe_documents() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    let now = app.now();
    let body = serde_json::to_vec(&subscription_event(
        "evt_1", "customer.subscription.created", now, "sub_1", &customer, "active",
    ))
    .unwrap();
    let tampered = String::from_utf8(body.clone()).unwrap().replace("active", "trialing");

    let refused = [
        (body.clone(), Some(signature("whsec_other", now, &body))),
        (tampered.into_bytes(), Some(signature(WEBHOOK_SECRET, now, &body))),
        (body.clone(), Some(signature(WEBHOOK_SECRET, now - 360, &body))),
        (body.clone(), Some(signature(WEBHOOK_SECRET, now + 360, &body))),
        (body.clone(), None),
        (body.clone(), Some("t=1,v1=".to_owned())),
        (body.clone(), Some("nonsense".to_owned())),
    ];
    for (body, signed) in refused {
        let response = post_webhook(&app, &body, signed.as_deref()).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_signature").await;
    }
    assert_eq!(plan(&app, &client).await, "free");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_events"), 0);

    // Several v1 values (a secret being rolled), one of them good, and a
    // timestamp within the tolerance. (The margins to 300 s leave room for
    // a slow machine's real seconds; the unit tests in billing::signature
    // hold the exact boundary.)
    let good = signature(WEBHOOK_SECRET, now - 240, &body);
    let good_v1 = good.split_once(",v1=").unwrap().1;
    let several = format!(
        "t={},v1={},v1={good_v1},v0={}",
        now - 240,
        "ab".repeat(32),
        "cd".repeat(32)
    );
    let response = post_webhook(&app, &body, Some(&several)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(plan(&app, &client).await, "premium");
}
}

backend_test! {
async fn a_replayed_event_changes_nothing() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, user_id, customer) = customer(&app, &stripe, "Alice").await;
    let created = subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_1", &customer, "active",
    );
    deliver_ok(&app, &created).await;
    assert_eq!(plan(&app, &client).await, "premium");
    // The operator sets the plan by hand; applying the same event again
    // would make it premium again.
    set_plan(&app, user_id, "free");

    app.advance_clock(60);
    deliver_ok(&app, &created).await;

    assert_eq!(plan(&app, &client).await, "free");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_events"), 1);
}
}

backend_test! {
async fn an_older_event_delivered_late_changes_nothing() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    let t = app.now();
    let deleted = subscription_event(
        "evt_2", "customer.subscription.deleted", t + 10, "sub_1", &customer, "canceled",
    );
    let created = subscription_event(
        "evt_1", "customer.subscription.created", t, "sub_1", &customer, "active",
    );

    app.advance_clock(10);
    deliver_ok(&app, &deleted).await;
    deliver_ok(&app, &created).await;

    assert_eq!(plan(&app, &client).await, "free");
    assert_eq!(account(&app, &client).await["subscription"]["status"], "canceled");
}
}

backend_test! {
async fn events_for_unknown_customers_and_other_types_change_nothing() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, _) = customer(&app, &stripe, "Alice").await;

    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_9", "cus_someone_else", "active",
    ))
    .await;
    deliver_ok(&app, &event("evt_2", "invoice.paid", app.now(), json!({"id": "in_1"}))).await;
    // A checkout for a user who does not exist.
    deliver_ok(&app, &event("evt_3", "checkout.session.completed", app.now(), json!({
        "id": "cs_1", "object": "checkout.session", "mode": "subscription",
        "client_reference_id": "999", "customer": "cus_x", "subscription": "sub_x",
    })))
    .await;

    assert_eq!(plan(&app, &client).await, "free");
    assert_eq!(account(&app, &client).await["subscription"], Value::Null);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions"), 0);
}
}

backend_test! {
async fn a_checkout_made_elsewhere_links_its_customer_to_the_user() {
    let (app, _stripe) = billing_app(&[]).await;
    let client = app.client();
    let user: Value = app.register(&client, "Alice").await.json().await.unwrap();
    let t = app.now();

    deliver_ok(&app, &event("evt_1", "checkout.session.completed", t, json!({
        "id": "cs_1", "object": "checkout.session", "mode": "subscription",
        "status": "complete", "payment_status": "paid",
        "client_reference_id": user["id"].as_i64().unwrap().to_string(),
        "customer": "cus_made_by_stripe", "subscription": "sub_1",
    })))
    .await;
    deliver_ok(&app, &subscription_event(
        "evt_2", "customer.subscription.created", t, "sub_1", "cus_made_by_stripe", "trialing",
    ))
    .await;

    assert_eq!(plan(&app, &client).await, "premium");
}
}

backend_test! {
async fn an_event_whose_transaction_fails_half_way_applies_nothing_and_applies_on_redelivery() {
    use crate::support::db::{apply_event, write_transaction, Applied};
    use crate::support::internals::parse_event;
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    let body = subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_1", &customer, "active",
    );
    let event = parse_event(&body).unwrap();
    let mut conn = app.db();

    // Everything the event changes, then a failure before the commit (as a
    // crash would leave it): the whole transaction rolls back.
    let failed = write_transaction(&mut conn, |conn| {
        assert_eq!(apply_event(conn, &event, 0)?, Applied::Applied);
        Err::<(), _>(diesel::result::Error::RollbackTransaction)
    });

    assert!(failed.is_err());
    assert_eq!(plan(&app, &client).await, "free");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_events"), 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions"), 0);
    // Stripe delivers it again: now it applies, once.
    deliver_ok(&app, &body).await;
    assert_eq!(plan(&app, &client).await, "premium");
    let again = write_transaction(&mut conn, |conn| apply_event(conn, &event, 0));
    assert_eq!(again.unwrap(), Applied::Replay);
}
}

backend_test! {
async fn two_instances_given_the_same_events_at_once_apply_each_once() {
    let (a, stripe) = billing_app(&[]).await;
    let b = a.sibling().await;
    let (client, user_id, customer) = customer(&a, &stripe, "Alice").await;
    let t = a.now();
    let events: Vec<Value> = (0..8)
        .map(|i| subscription_event(
            &format!("evt_{i}"),
            "customer.subscription.updated",
            t,
            "sub_1",
            &customer,
            if i % 2 == 0 { "active" } else { "past_due" },
        ))
        .collect();

    let deliveries = events
        .iter()
        .flat_map(|event| [deliver(&a, event), deliver(&b, event)]);
    let responses = join_all(deliveries).await;

    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(count(&a, "SELECT COUNT(*) AS n FROM billing_events"), 8);
    assert_eq!(plan(&b, &client).await, "premium");
    // Every one is applied now: none of them again, on either instance.
    set_plan(&a, user_id, "free");
    join_all(events.iter().map(|event| deliver(&b, event))).await;
    assert_eq!(plan(&a, &client).await, "free");
}
}

backend_test! {
async fn the_plan_follows_the_subscription_on_every_instance_at_once() {
    let (a, stripe) = billing_app(&[("FREE_READS", "1")]).await;
    let b = a.sibling().await;
    let (client, _, customer) = customer(&a, &stripe, "Alice").await;
    assert_eq!(a.get(&client, "/blog/1").await.status(), StatusCode::OK);
    assert_eq!(a.get(&client, "/blog/2").await.status(), StatusCode::PAYMENT_REQUIRED);

    let t = a.now();
    deliver_ok(&b, &subscription_event(
        "evt_1", "customer.subscription.created", t, "sub_1", &customer, "active",
    ))
    .await;
    let read = a.get(&client, "/blog/2").await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<Value>().await.unwrap()["meter"], Value::Null);

    a.advance_clock(5);
    deliver_ok(&b, &subscription_event(
        "evt_2", "customer.subscription.deleted", t + 5, "sub_1", &customer, "canceled",
    ))
    .await;
    assert_eq!(a.get(&client, "/blog/3").await.status(), StatusCode::PAYMENT_REQUIRED);
    // HEAD still spends nothing, metered again or not.
    let head = client.head(a.url("/blog/1")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(plan(&a, &client).await, "free");
}
}

backend_test! {
async fn the_account_shows_the_subscription() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    assert_eq!(account(&app, &client).await["subscription"], Value::Null);
    let t = app.now();
    let mut updated = subscription_event(
        "evt_1", "customer.subscription.updated", t, "sub_1", &customer, "active",
    );
    // A newer API version: the period end is on the item only.
    let object = &mut updated["data"]["object"];
    object["cancel_at_period_end"] = json!(true);
    object.as_object_mut().unwrap().remove("current_period_end");
    object["items"]["data"][0]["current_period_end"] = json!(1_798_761_600);

    deliver_ok(&app, &updated).await;

    let account = account(&app, &client).await;
    assert_eq!(account["plan"], "premium");
    assert_eq!(
        account["subscription"],
        json!({"status": "active", "current_period_end": "2027-01-01T00:00:00Z",
               "cancel_at_period_end": true})
    );
}
}

backend_test! {
async fn checkout_asks_stripe_for_a_subscription_session_once_per_customer() {
    let (app, stripe) = billing_app(&[]).await;
    let client = app.client();
    let user: Value = app.register(&client, "Alice").await.json().await.unwrap();
    let user_id = user["id"].as_i64().unwrap().to_string();

    let first = app.checkout(&client).await;
    let second = app.checkout(&client).await;

    assert_eq!(first.status(), StatusCode::OK);
    let url = first.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://checkout.stripe.com/c/pay/cs_test_"), "{url}");
    assert_eq!(second.status(), StatusCode::OK);

    let customers = stripe.requests_to("POST", "/v1/customers");
    assert_eq!(customers.len(), 1, "the customer is made once and remembered");
    assert_eq!(customers[0].field("metadata[tollgate_user_id]"), Some(user_id.as_str()));
    let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!(sessions.len(), 2);
    let session = &sessions[0];
    assert_eq!(session.authorization.as_deref(), Some("Bearer sk_test_stand_in"));
    assert!(session.idempotency_key.as_deref().is_some_and(|k| !k.is_empty()));
    assert_eq!(session.field("mode"), Some("subscription"));
    assert_eq!(session.field("customer"), Some("cus_test_1"));
    assert_eq!(session.field("client_reference_id"), Some(user_id.as_str()));
    assert_eq!(session.field("line_items[0][price]"), Some(PRICE));
    assert_eq!(session.field("line_items[0][quantity]"), Some("1"));
    assert_eq!(
        session.field("success_url"),
        Some("https://app.example.com/billing/success?session_id={CHECKOUT_SESSION_ID}")
    );
    assert_eq!(session.field("cancel_url"), Some("https://app.example.com/billing/cancel"));
    for request in stripe.requests() {
        assert_eq!(request.authorization.as_deref(), Some("Bearer sk_test_stand_in"));
        assert!(request.idempotency_key.is_some(), "{request:?}");
    }
}
}

backend_test! {
async fn a_retried_checkout_never_makes_a_second_customer() {
    let (app, stripe) = billing_app(&[]).await;
    let client = app.logged_in_client("Alice").await;
    // Stripe makes the customer, but its answer never arrives.
    stripe.lose_next_answer();

    let lost = app.checkout(&client).await;
    assert_error(lost, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    let retried = app.checkout(&client).await;

    assert_eq!(retried.status(), StatusCode::OK);
    let customers = stripe.requests_to("POST", "/v1/customers");
    assert_eq!(customers.len(), 2);
    assert_eq!(customers[0].idempotency_key, customers[1].idempotency_key);
    assert_eq!(stripe.made("customer"), 1);
    let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
    assert_eq!(sessions[0].field("customer"), Some("cus_test_1"));
}
}

backend_test! {
async fn stripe_down_is_a_quick_502() {
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let (app, client) = spawn_app_with_user(&[
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_PRICE_ID", PRICE),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", &base),
    ], "Alice").await;

    let started = Instant::now();
    let response = app.checkout(&client).await;

    let body = assert_error(response, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(!body.to_string().contains("127.0.0.1"), "{body}");
}
}

backend_test! {
async fn a_stripe_that_never_answers_is_a_502_within_the_timeout() {
    // Accepts connections, reads nothing, answers nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let (app, client) = spawn_app_with_user(&[
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_PRICE_ID", PRICE),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", &base),
    ], "Alice").await;

    let started = Instant::now();
    let empty = json!({});
    let checkout = app.post_json(&client, "/billing/checkout", &empty);
    // While it waits on Stripe, the server answers everyone else at once:
    // the wait holds no worker and no database connection.
    let meanwhile = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let asked = Instant::now();
        let status = app.check_session(&client).await.status();
        (status, asked.elapsed())
    };
    let (response, (status, took)) = tokio::join!(checkout, meanwhile);

    assert_error(response, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(7) && waited < Duration::from_secs(15),
        "{waited:?}: the request timeout, then an answer"
    );
    assert_eq!(status, StatusCode::OK);
    assert!(took < Duration::from_secs(5), "{took:?}, not the 8 s Stripe wait");
    held.abort();
}
}

backend_test! {
async fn stripe_failing_is_a_502_for_checkout_and_portal() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.updated", app.now(), "sub_1", &customer, "unpaid",
    ))
    .await;
    stripe.set_down(true);

    for path in ["/billing/checkout", "/billing/portal"] {
        let response = app.post_json(&client, path, &json!({})).await;
        assert_error(response, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    }
}
}

backend_test! {
async fn without_the_stripe_settings_billing_is_not_configured() {
    let (app, client) = spawn_app_with_user(&[("STRIPE_SECRET_KEY", SECRET_KEY)], "Alice").await;

    for path in ["/billing/checkout", "/billing/portal"] {
        let response = app.post_json(&client, path, &json!({})).await;
        assert_error(response, StatusCode::NOT_IMPLEMENTED, "billing_not_configured").await;
    }
    // No secret to check a signature against: none is good.
    let body = br#"{"id":"evt_1","type":"customer.subscription.created"}"#;
    let signed = signature(WEBHOOK_SECRET, app.now(), body);
    let response = post_webhook(&app, body, Some(&signed)).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_signature").await;
}
}

backend_test! {
async fn premium_users_cannot_check_out_and_others_have_no_portal() {
    let (app, stripe) = billing_app(&[]).await;
    let (alice, _, customer) = customer(&app, &stripe, "Alice").await;
    let bob = app.logged_in_client("Bob").await;

    // Bob never subscribed; Alice has a customer but no subscription yet.
    for client in [&bob, &alice] {
        let response = app.portal(client).await;
        assert_error(response, StatusCode::CONFLICT, "no_billing_account").await;
    }
    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_1", &customer, "active",
    ))
    .await;

    let checkout = app.checkout(&alice).await;
    assert_error(checkout, StatusCode::CONFLICT, "already_premium").await;
    let portal = app.portal(&alice).await;
    assert_eq!(portal.status(), StatusCode::OK);
    let url = portal.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://billing.stripe.com/p/session/"), "{url}");
    let sent = stripe.requests_to("POST", "/v1/billing_portal/sessions");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].field("customer"), Some(customer.as_str()));
    assert_eq!(sent[0].field("return_url"), Some("https://app.example.com/account"));
    assert!(sent[0].idempotency_key.is_some());
}
}

backend_test! {
async fn deleting_a_subscribed_account_cancels_at_stripe_first() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    let t = app.now();
    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.created", t, "sub_1", &customer, "active",
    ))
    .await;

    // Stripe cannot be reached: nothing is deleted.
    stripe.set_down(true);
    let refused = app.delete_account(&client, PASSWORD)
        .await;
    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert_eq!(plan(&app, &client).await, "premium");

    stripe.set_down(false);
    let deleted = app.delete_account(&client, PASSWORD)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let cancels = stripe.requests_to("DELETE", "/v1/subscriptions/sub_1");
    assert_eq!(cancels.len(), 2, "one refused, one done");
    assert_eq!(cancels[1].authorization.as_deref(), Some("Bearer sk_test_stand_in"));

    // The cancellation's own event finds nobody.
    app.advance_clock(1);
    deliver_ok(&app, &subscription_event(
        "evt_2", "customer.subscription.deleted", t + 1, "sub_1", &customer, "canceled",
    ))
    .await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions"), 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_customers"), 0);
    // And the name is free again.
    assert_eq!(app.register(&app.client(), "Alice").await.status(), StatusCode::CREATED);
}
}

backend_test! {
async fn deleting_an_account_without_a_live_subscription_calls_no_one() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.deleted", app.now(), "sub_1", &customer, "canceled",
    ))
    .await;
    stripe.set_down(true);

    let deleted = app.delete_account(&client, PASSWORD)
        .await;

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(stripe.requests_to("DELETE", "/v1/subscriptions/sub_1").is_empty());
}
}

backend_test! {
async fn summaries_say_which_posts_open_for_free() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    app.get(&client, "/blog/3").await;
    client.head(app.url("/blog/4")).send().await.unwrap();

    let list: Value = app.get(&client, "/blog?per_page=100").await.json().await.unwrap();
    for post in list["posts"].as_array().unwrap() {
        assert_eq!(post["unlocked"], post["id"] == 3, "{post}");
    }
    assert_eq!(list["meter"]["used"], 1);

    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_1", &customer, "active",
    ))
    .await;
    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert!(list["posts"].as_array().unwrap().iter().all(|p| p["unlocked"] == true));
    assert_eq!(list["meter"], Value::Null);
}
}

backend_test! {
async fn the_webhook_is_server_to_server() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    // A big event (Stripe's can be far over the 16 KiB of other routes),
    // sent with headers a browser on another site would send.
    let mut big = subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_1", &customer, "active",
    );
    big["data"]["object"]["metadata"]["padding"] = json!("x".repeat(100 * 1024));
    let body = serde_json::to_vec(&big).unwrap();

    let response = app
        .bare_client()
        .post(app.url("/webhooks/stripe"))
        .header("Content-Type", "application/json")
        .header("Origin", "https://evil.example")
        .header("Sec-Fetch-Site", "cross-site")
        .header("Stripe-Signature", signature(WEBHOOK_SECRET, app.now(), &body))
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(plan(&app, &client).await, "premium");
    let huge = vec![b' '; 257 * 1024];
    let response = post_webhook(&app, &huge, Some("t=1,v1=00")).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}
}

backend_test! {
async fn an_account_with_a_live_subscription_stays_while_billing_is_off() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_1", &customer, "past_due",
    ))
    .await;
    // The operator switches billing off: nothing could stop the charges.
    let app = app.restart_with(&[("STRIPE_SECRET_KEY", "")]).await;

    let refused = app.delete_account(&client, PASSWORD)
        .await;

    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert_eq!(plan(&app, &client).await, "premium");
}
}

#[test]
fn start_up_warns_when_only_some_stripe_settings_are_set() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, output) = crate::support::spawn_binary(
        dir.path(),
        &[
            ("STRIPE_SECRET_KEY", SECRET_KEY),
            ("STRIPE_PRICE_ID", PRICE),
        ],
    );
    let health = std::net::TcpStream::connect(("127.0.0.1", port));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(health.is_ok());
    let printed = output.lock().unwrap().clone();
    assert!(printed.contains("billing is off"), "{printed}");
    assert!(printed.contains("STRIPE_WEBHOOK_SECRET"), "{printed}");
    assert!(
        !printed.contains(SECRET_KEY),
        "the key is never printed: {printed}"
    );
}

backend_test! {
async fn billing_stays_off_and_everything_else_works_without_settings() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["posts"][0]["unlocked"], false);
    let deleted = app.delete_account(&client, PASSWORD)
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}
}

/// The Stripe secret key, the webhook secret and signatures never reach
/// the log, even at the debug level and when Stripe fails (the cause chain
/// of a 502 is logged).
#[tokio::test]
async fn no_stripe_secret_reaches_the_log() {
    let stripe = StandIn::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, output) = crate::support::spawn_binary(
        dir.path(),
        &[
            ("RUST_LOG", "debug"),
            ("STRIPE_SECRET_KEY", SECRET_KEY),
            ("STRIPE_PRICE_ID", PRICE),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
            ("STRIPE_API_BASE", &stripe.base),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let registered = client
        .post(format!("{base}/register"))
        .json(&json!({"username": "Logan", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let checkout = client
        .post(format!("{base}/billing/checkout"))
        .send()
        .await
        .unwrap();
    assert_eq!(checkout.status(), StatusCode::OK);
    stripe.set_down(true);
    let failed = client
        .post(format!("{base}/billing/portal"))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::CONFLICT);
    let failed = client
        .post(format!("{base}/billing/checkout"))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::BAD_GATEWAY);
    // A separate process: its clock is the system's, not one a test moves.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now().timestamp();
    let body = serde_json::to_vec(&subscription_event(
        "evt_1",
        "customer.subscription.created",
        now,
        "sub_1",
        "cus_test_1",
        "active",
    ))
    .unwrap();
    let signed = signature(WEBHOOK_SECRET, now, &body);
    let delivered = client
        .post(format!("{base}/webhooks/stripe"))
        .header("Stripe-Signature", &signed)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(delivered.status(), StatusCode::OK);
    let forged = signature("whsec_forged", now, &body);
    client
        .post(format!("{base}/webhooks/stripe"))
        .header("Stripe-Signature", &forged)
        .body(body)
        .send()
        .await
        .unwrap();
    // Premium now: deleting cancels at Stripe, which is down: a 502 whose
    // cause is logged.
    let refused = client
        .delete(format!("{base}/account"))
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_GATEWAY);
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(200));

    let log = output.lock().unwrap().clone();
    assert!(log.contains("billing event"), "the log was captured: {log}");
    assert!(
        log.contains("payment provider failed"),
        "the 502's cause is logged: {log}"
    );
    for secret in [SECRET_KEY, WEBHOOK_SECRET, "whsec_forged"] {
        assert!(!log.contains(secret), "{secret} is in the log");
    }
    for header in [&signed, &forged] {
        let v1 = header.split_once("v1=").unwrap().1;
        assert!(!log.contains(v1), "a signature is in the log");
    }
}

backend_test! {
async fn each_plan_change_by_billing_is_one_event_with_its_source() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    let bob = app.logged_in_client("Bob").await;
    let t = app.now();
    for (id, kind, status) in [
        ("evt_1", "customer.subscription.created", "active"),
        // Still premium: no change, no event.
        ("evt_2", "customer.subscription.updated", "past_due"),
        ("evt_3", "customer.subscription.deleted", "canceled"),
    ] {
        deliver_ok(&app, &subscription_event(id, kind, t, "sub_1", &customer, status)).await;
    }
    // A replay changes nothing and records nothing.
    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.created", t, "sub_1", &customer, "active",
    ))
    .await;

    let events = |client: Client| {
        let app = &app;
        async move {
            let list: Value = app.get(&client, "/account/events").await.json().await.unwrap();
            list["events"].as_array().unwrap().clone()
        }
    };
    let changes: Vec<Value> = events(client.clone())
        .await
        .into_iter()
        .filter(|e| e["kind"] == "plan_changed")
        .map(|e| json!([e["detail"], e["ip"], e["user_agent"]]))
        .collect();
    assert_eq!(
        changes,
        vec![
            json!([{"from": "premium", "to": "free", "source": "billing"}, null, null]),
            json!([{"from": "free", "to": "premium", "source": "billing"}, null, null]),
        ]
    );
    assert!(events(bob).await.iter().all(|e| e["kind"] != "plan_changed"));
}
}
