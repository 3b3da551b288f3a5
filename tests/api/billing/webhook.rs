//! The Stripe webhook: signatures checked as Stripe documents them, each
//! event applied once and in order, across instances, and nothing from
//! events about someone else.

use futures_util::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::assert_error;
use crate::support::db::count;
use crate::support::stripe::{
    billing_app, customer, deliver, deliver_ok, event, plan, post_webhook, set_plan, signature,
    subscription_event, Customer, WEBHOOK_SECRET,
};

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
    assert_eq!(app.account_json(&client).await["subscription"]["status"], "canceled");
}
}

backend_test! {
async fn events_for_unknown_customers_and_other_types_change_nothing() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, _) = customer(&app, &stripe, "Alice").await;

    deliver_ok(&app, &subscription_event(
        "evt_1", "customer.subscription.created", app.now(), "sub_9",
        &Customer::unknown("cus_someone_else"), "active",
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
    assert_eq!(app.account_json(&client).await["subscription"], Value::Null);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions"), 0);
}
}

backend_test! {
async fn a_tollgate_checkout_whose_customer_stripe_made_links_it_to_the_user() {
    let (app, _stripe) = billing_app(&[]).await;
    let client = app.client();
    let user: Value = app.register(&client, "Alice").await.json().await.unwrap();
    let user_id = user["id"].as_i64().unwrap();
    let t = app.now();

    deliver_ok(&app, &event("evt_1", "checkout.session.completed", t, json!({
        "id": "cs_1", "object": "checkout.session", "mode": "subscription",
        "status": "complete", "payment_status": "paid",
        "client_reference_id": user_id.to_string(),
        "metadata": {"tollgate_user_id": user_id.to_string()},
        "customer": "cus_made_by_stripe", "subscription": "sub_1",
    })))
    .await;
    let customer = Customer { id: "cus_made_by_stripe".into(), user_id };
    deliver_ok(&app, &subscription_event(
        "evt_2", "customer.subscription.created", t, "sub_1", &customer, "trialing",
    ))
    .await;

    assert_eq!(plan(&app, &client).await, "premium");
}
}

backend_test! {
async fn events_tollgate_did_not_start_change_nothing() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, user_id, customer) = customer(&app, &stripe, "Alice").await;
    let t = app.now();

    // Another product's checkout on the same Stripe account, for a user id
    // that happens to be Alice's: no tollgate mark, so not tollgate's.
    deliver_ok(&app, &event("evt_1", "checkout.session.completed", t, json!({
        "id": "cs_other", "object": "checkout.session", "mode": "subscription",
        "client_reference_id": user_id.to_string(),
        "customer": "cus_other", "subscription": "sub_other",
    })))
    .await;
    // And that product's subscription for Alice's own customer.
    let unmarked = Customer { id: customer.id.clone(), user_id: 0 };
    deliver_ok(&app, &subscription_event(
        "evt_2", "customer.subscription.created", t, "sub_other", &unmarked, "active",
    ))
    .await;

    assert_eq!(plan(&app, &client).await, "free");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions"), 0);
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM billing_customers WHERE customer_id = 'cus_other'"),
        0
    );
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
        assert_eq!(apply_event(conn, &event, None, &[], 0)?, Applied::Applied);
        Err::<(), _>(diesel::result::Error::RollbackTransaction)
    });

    assert!(failed.is_err());
    assert_eq!(plan(&app, &client).await, "free");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_events"), 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions"), 0);
    // Stripe delivers it again: now it applies, once.
    deliver_ok(&app, &body).await;
    assert_eq!(plan(&app, &client).await, "premium");
    let again = write_transaction(&mut conn, |conn| apply_event(conn, &event, None, &[], 0));
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
            // A second apart: events of one second are a tie, which only
            // Stripe can settle (billing/edges.rs).
            t + i,
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
async fn each_plan_change_by_billing_is_one_event_with_its_source() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    let bob = app.logged_in_client("Bob").await;
    let t = app.now();
    for (id, kind, status, created) in [
        ("evt_1", "customer.subscription.created", "active"),
        // Still premium: no change, no event.
        ("evt_2", "customer.subscription.updated", "past_due"),
        ("evt_3", "customer.subscription.deleted", "canceled"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (id, kind, status))| (id, kind, status, t + i as i64))
    {
        deliver_ok(&app, &subscription_event(id, kind, created, "sub_1", &customer, status)).await;
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
