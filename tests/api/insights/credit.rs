//! How far back a conversion looks for what to credit: a refusal in the 30
//! days before, or else a gift opened in them, or else nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::history::{checkout, id_of, read, subscription};
use super::{admin, date, ok, to_next_month, DAY};
use crate::support::stripe::{billing_app, deliver_ok};

backend_test! {
async fn a_conversion_credits_a_refusal_or_a_gift_of_the_30_days_before() {
    let (app, stripe) = billing_app(&[
        ("FREE_READS", "1"),
        ("SESSION_TTL_SECONDS", "5184000"),
        ("SESSION_ABSOLUTE_TTL_SECONDS", "5184000"),
    ])
    .await;
    to_next_month(&app);
    let start = app.now();
    let ada = admin(&app, "Ada").await;
    let ben = app.logged_in_client("Ben").await;
    let kim = app.logged_in_client("Kim").await;
    let gil = app.logged_in_client("Gil").await;
    let gil_id = id_of(&app, &gil).await;
    let premium = app.patch_json(&ada, &format!("/admin/users/{gil_id}"), &json!({"plan": "premium"})).await;
    assert_eq!(premium.status(), StatusCode::OK);

    // Day 0: Ben and Kim each spend their read and are refused a post.
    read(&app, &ben, 1, StatusCode::OK).await;
    read(&app, &ben, 3, StatusCode::PAYMENT_REQUIRED).await;
    read(&app, &kim, 1, StatusCode::OK).await;
    read(&app, &kim, 4, StatusCode::PAYMENT_REQUIRED).await;
    // Day 20: Kim opens Gil's gift of post 7.
    app.advance_clock(20 * DAY as u64);
    let gift: Value = app.post_json(&gil, "/blog/7/gift", &json!({})).await.json().await.unwrap();
    let link = gift["gift"]["url"].as_str().unwrap().strip_prefix("https://app.example.com").unwrap().to_owned();
    assert_eq!(app.get(&kim, &link).await.status(), StatusCode::OK);
    // Day 31: both subscribe. Their refusals are 31 days old: Ben's
    // conversion is credited to nothing, Kim's to the gift's post.
    app.advance_clock(11 * DAY as u64);
    for (client, sub, event) in [(&ben, "sub_ben", "evt_ben"), (&kim, "sub_kim", "evt_kim")] {
        let customer = checkout(&app, &stripe, client).await;
        let created = subscription(&app, event, "customer.subscription.created", sub, &customer, "active", (500, "month"));
        deliver_ok(&app, &created).await;
    }
    let posts = ok(&app, &ada, &format!("/insights/posts?from={}&to={}&sort=conversions&per_page=3", date(start, 0), date(start, 31))).await;
    let credited: Vec<(i64, i64)> = posts["posts"].as_array().unwrap().iter()
        .map(|row| (row["post"]["id"].as_i64().unwrap(), row["conversions"].as_i64().unwrap()))
        .collect();
    assert_eq!(credited, [(7, 1), (1, 0), (2, 0)]);
    let site = ok(&app, &ada, &format!("/insights?from={}&to={}", date(start, 31), date(start, 31))).await;
    assert_eq!(site["days"][0]["conversions"], 2);
    assert_eq!(site["mrr"], json!({"amount": 1000, "currency": "eur"}));
}
}
