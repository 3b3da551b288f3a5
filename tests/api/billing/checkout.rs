//! `POST /billing/checkout` and `POST /billing/portal`: what is asked of
//! Stripe, once, and the answers when Stripe fails, hangs or is not
//! configured; no Stripe secret in the log.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fakes::stripe_stand_in::StandIn;
use crate::support::stripe::{
    billing_app, customer, deliver_ok, post_webhook, signature, stripe_settings,
    subscription_event, Customer, PRICE, SECRET_KEY, WEBHOOK_SECRET,
};
use crate::support::{assert_error, free_port, spawn_app_and_user, spawn_app_with_user, PASSWORD};

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
async fn stripe_down_is_a_quick_502() {
    // A port nothing listens on.
    let base = format!("http://127.0.0.1:{}", free_port());
    let (app, client) = spawn_app_with_user(&stripe_settings(&base), "Alice").await;

    let started = Instant::now();
    let response = app.checkout(&client).await;

    let body = assert_error(response, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(!body.to_string().contains("127.0.0.1"), "{body}");
}
}

backend_test! {
async fn a_stripe_that_never_answers_is_a_502_within_the_timeout() {
    // Accepts connections, reads nothing, answers nothing; says when the
    // first one is in.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (connected, mut in_flight) = tokio::sync::mpsc::unbounded_channel();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
            let _ = connected.send(());
        }
    });
    let mut settings = stripe_settings(&base).to_vec();
    settings.push(("STRIPE_TIMEOUT_SECONDS", "1"));
    let (app, client) = spawn_app_with_user(&settings, "Alice").await;

    let started = Instant::now();
    let checkout = async {
        let response = app.checkout(&client).await;
        (response, started.elapsed())
    };
    // While it waits on Stripe, the server answers everyone else: the wait
    // holds no worker and no database connection.
    let meanwhile = async {
        tokio::time::timeout(Duration::from_secs(10), in_flight.recv())
            .await
            .ok()
            .flatten()
            .expect("the checkout calls Stripe");
        let status = app.check_session(&client).await.status();
        (status, started.elapsed())
    };
    let ((response, waited), (status, answered)) = tokio::join!(checkout, meanwhile);

    assert_error(response, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(5),
        "{waited:?}: STRIPE_TIMEOUT_SECONDS, then an answer"
    );
    assert_eq!(status, StatusCode::OK);
    assert!(
        answered < waited,
        "check_session answered after {answered:?}, the checkout after {waited:?}"
    );
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
    let deleted = app.delete_account(&client, PASSWORD).await;
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
    let client = crate::support::registered_on(&base, "Logan").await;
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
        // The fresh database's first account.
        &Customer {
            id: "cus_test_1".into(),
            user_id: 1,
        },
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

    let log = crate::support::whole_output(&output).await;
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
