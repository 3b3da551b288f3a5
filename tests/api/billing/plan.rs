//! The plan that follows the subscription, on every instance at once, as
//! the account and the blog show it, and leaving cleanly: deleting an
//! account cancels its subscription at Stripe first.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::db::count;
use crate::support::stripe::{billing_app, customer, deliver_ok, plan, subscription_event};
use crate::support::{assert_error, PASSWORD};

backend_test! {
async fn the_plan_follows_the_subscription_on_every_instance_at_once() {
    let (a, stripe) = billing_app(&[("FREE_READS", "1")]).await;
    let b = a.sibling().await;
    let (client, _, customer) = customer(&a, &stripe, "Alice").await;
    assert_eq!(a.blog_post(&client, 1).await.status(), StatusCode::OK);
    assert_eq!(a.blog_post(&client, 2).await.status(), StatusCode::PAYMENT_REQUIRED);

    let t = a.now();
    deliver_ok(&b, &subscription_event(
        "evt_1", "customer.subscription.created", t, "sub_1", &customer, "active",
    ))
    .await;
    let read = a.blog_post(&client, 2).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<Value>().await.unwrap()["meter"], Value::Null);

    a.advance_clock(5);
    deliver_ok(&b, &subscription_event(
        "evt_2", "customer.subscription.deleted", t + 5, "sub_1", &customer, "canceled",
    ))
    .await;
    assert_eq!(a.blog_post(&client, 3).await.status(), StatusCode::PAYMENT_REQUIRED);
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
    assert_eq!(app.account_json(&client).await["subscription"], Value::Null);
    let t = app.now();
    let mut updated = subscription_event(
        "evt_1", "customer.subscription.updated", t, "sub_1", &customer, "active",
    );
    // An API version before 2025-03-31: the period end on the
    // subscription, not on its item.
    let object = &mut updated["data"]["object"];
    object["cancel_at_period_end"] = json!(true);
    object["current_period_end"] = json!(1_798_761_600);
    object["items"]["data"][0].as_object_mut().unwrap().remove("current_period_end");

    deliver_ok(&app, &updated).await;

    let account = app.account_json(&client).await;
    assert_eq!(account["plan"], "premium");
    assert_eq!(
        account["subscription"],
        json!({"status": "active", "current_period_end": "2027-01-01T00:00:00Z",
               "cancel_at_period_end": true, "cancel_at": "2027-01-01T00:00:00Z",
               "price": "default", "trial_end": null})
    );
}
}

backend_test! {
async fn summaries_say_which_posts_open_for_free() {
    let (app, stripe) = billing_app(&[]).await;
    let (client, _, customer) = customer(&app, &stripe, "Alice").await;
    app.blog_post(&client, 3).await;
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
    let refused = app.delete_account(&client, PASSWORD).await;
    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert_eq!(plan(&app, &client).await, "premium");

    stripe.set_down(false);
    let deleted = app.delete_account(&client, PASSWORD).await;
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

    let deleted = app.delete_account(&client, PASSWORD).await;

    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(stripe.requests_to("DELETE", "/v1/subscriptions/sub_1").is_empty());
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

    let refused = app.delete_account(&client, PASSWORD).await;

    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    assert_eq!(plan(&app, &client).await, "premium");
}
}
