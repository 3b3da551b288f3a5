//! Where billing meets time and leaving: two events of one second, a
//! checkout left open, a checkout completing for an account that is gone,
//! and a user's customer that stays theirs.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::assert_error;
use crate::support::db::count;
use crate::support::stripe::{
    billing_app, customer, deliver, deliver_ok, event, plan, subscription_event,
};
use crate::support::PASSWORD;

backend_test! {
async fn two_events_of_one_second_are_settled_by_what_stripe_says() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    let t = app.now();
    // Stripe sends `updated` (paid) and `created` (still incomplete) of the
    // same second, in that order; Stripe itself says the subscription is
    // active.
    let mut active = subscription_event(
        "evt_2", "customer.subscription.updated", t, "sub_1", &customer, "active",
    );
    stripe.set_subscription(active["data"]["object"].clone());
    deliver_ok(&app, &active).await;
    assert_eq!(plan(&app, &client).await, "premium");

    // Stripe cannot be reached: the tie is refused, nothing recorded, and
    // Stripe's retry settles it.
    let created = subscription_event(
        "evt_1", "customer.subscription.created", t, "sub_1", &customer, "incomplete",
    );
    stripe.set_down(true);
    let refused = deliver(&app, &created).await;
    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_events WHERE id = 'evt_1'"), 0);
    stripe.set_down(false);
    deliver_ok(&app, &created).await;

    assert_eq!(plan(&app, &client).await, "premium", "the upgrade is kept");
    let account = app.account_json(&client).await;
    assert_eq!(account["subscription"]["status"], "active");
    assert_eq!(stripe.requests_to("GET", "/v1/subscriptions/sub_1").len(), 2);
    // The same event again is no tie: what it says is stored already.
    active["id"] = json!("evt_3");
    deliver_ok(&app, &active).await;
    assert_eq!(stripe.requests_to("GET", "/v1/subscriptions/sub_1").len(), 2);
}
}

backend_test! {
async fn a_checkout_expires_in_an_hour_marked_as_tollgate_s() {
    let (app, stripe) = billing_app(&[]).await;
    let client = app.client();
    let user: Value = app.register(&client, "Alice").await.json().await.unwrap();
    let user_id = user["id"].as_i64().unwrap().to_string();
    let before = app.now();

    assert_eq!(app.checkout(&client).await.status(), StatusCode::OK);

    // The app's clock runs: the checkout's second may be the next one.
    let after = app.now();
    let sessions = stripe.requests_to("POST", "/v1/checkout/sessions");
    let session = &sessions[0];
    let expires_at: i64 = session.field("expires_at").unwrap().parse().unwrap();
    // An hour after the minute it was asked in: a double click asks
    // Stripe for the very same session.
    let minute = |t: i64| t - t.rem_euclid(60);
    assert!(
        (minute(before) + 3_600..=minute(after) + 3_600).contains(&expires_at),
        "expires_at {expires_at}, checkout between {before} and {after}"
    );
    assert_eq!(expires_at.rem_euclid(60), 0);
    assert_eq!(session.field("metadata[tollgate_user_id]"), Some(user_id.as_str()));
    assert_eq!(
        session.field("subscription_data[metadata][tollgate_user_id]"),
        Some(user_id.as_str())
    );
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_checkouts"), 1);
}
}

backend_test! {
async fn deleting_an_account_expires_its_open_checkouts() {
    let (app, stripe) = billing_app(&[]).await;
    let (alice, _, _) = customer(&app, &stripe, "Alice").await;
    let (bob, _, _) = customer(&app, &stripe, "Bob").await;

    assert_eq!(app.delete_account(&alice, PASSWORD).await.status(), StatusCode::NO_CONTENT);
    let expired = stripe.requests_to("POST", "/v1/checkout/sessions/cs_test_1/expire");
    assert_eq!(expired.len(), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_checkouts"), 1, "Bob's");

    // Stripe unreachable: the account still goes (a checkout paid later
    // is cancelled by its webhook, a_checkout_completing_for_a_deleted_…).
    stripe.set_down(true);
    assert_eq!(app.delete_account(&bob, PASSWORD).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(stripe.requests_to("POST", "/v1/checkout/sessions/cs_test_2/expire").len(), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_checkouts"), 0);
}
}

backend_test! {
async fn a_checkout_completing_for_a_deleted_account_cancels_what_it_started() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, user_id, _) = customer(&app, &stripe, "Alice").await;
    assert_eq!(app.delete_account(&client, PASSWORD).await.status(), StatusCode::NO_CONTENT);
    // The tab was paid all the same (Stripe had not yet expired it).
    let completed = event("evt_1", "checkout.session.completed", app.now(), json!({
        "id": "cs_test_1", "object": "checkout.session", "mode": "subscription",
        "status": "complete", "client_reference_id": user_id.to_string(),
        "metadata": {"tollgate_user_id": user_id.to_string()},
        "customer": "cus_test_1", "subscription": "sub_orphan",
    }));

    // Stripe cannot be reached: refused, so that Stripe's retry cancels.
    stripe.set_down(true);
    let refused = deliver(&app, &completed).await;
    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    stripe.set_down(false);
    deliver_ok(&app, &completed).await;
    deliver_ok(&app, &completed).await;

    let cancels = stripe.requests_to("DELETE", "/v1/subscriptions/sub_orphan");
    assert_eq!(cancels.len(), 2, "one refused, one done; the replay cancels nothing");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_customers"), 0);
}
}

backend_test! {
async fn a_checkout_never_replaces_a_user_s_customer() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, user_id, customer) = customer(&app, &stripe, "Alice").await;

    deliver_ok(&app, &event("evt_1", "checkout.session.completed", app.now(), json!({
        "id": "cs_2", "object": "checkout.session", "mode": "subscription",
        "client_reference_id": user_id.to_string(),
        "metadata": {"tollgate_user_id": user_id.to_string()},
        "customer": "cus_second", "subscription": "sub_2",
    })))
    .await;

    let kept = count(
        &app,
        &format!(
            "SELECT COUNT(*) AS n FROM billing_customers WHERE user_id = {user_id} \
             AND customer_id = '{}'",
            customer.id
        ),
    );
    assert_eq!(kept, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM billing_customers"), 1);
    assert_eq!(plan(&app, &client).await, "free");
}
}
