//! `GET /billing/prices`: the configured prices as Stripe has them, in the
//! configured order, public, kept up to an hour on the app's clock.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fakes::stripe_stand_in::StandIn;
use crate::support::stripe::{billing_app, PRICE, SECRET_KEY, WEBHOOK_SECRET};
use crate::support::{assert_error, spawn_app, spawn_app_with, TestApp};

/// A recurring price object as Stripe's API answers it.
fn stripe_price(id: &str, amount: i64, currency: &str, interval: &str, count: i64) -> Value {
    json!({
        "id": id, "object": "price", "active": true, "type": "recurring",
        "currency": currency, "unit_amount": amount, "product": "prod_test_1",
        "recurring": {
            "interval": interval, "interval_count": count,
            "trial_period_days": null, "usage_type": "licensed",
        },
    })
}

/// An app selling `STRIPE_PRICES=prices`, its Stripe the stand-in.
async fn selling(prices: &str) -> (TestApp, StandIn) {
    let stripe = StandIn::start().await;
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_PRICES", prices),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", &stripe.base),
    ])
    .await;
    (app, stripe)
}

async fn prices(app: &TestApp) -> reqwest::Response {
    // Anonymous: the offer is shown before sign-in.
    app.client()
        .get(app.url("/billing/prices"))
        .send()
        .await
        .unwrap()
}

async fn listed(app: &TestApp) -> Value {
    let response = prices(app).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

backend_test! {
async fn prices_are_stripes_in_the_configured_order_to_anyone() {
    let (app, stripe) = selling("yearly=price_y,monthly=price_m").await;
    stripe.set_price(stripe_price("price_m", 500, "eur", "month", 1));
    stripe.set_price(stripe_price("price_y", 5000, "eur", "year", 1));

    let answer = listed(&app).await;
    assert_eq!(
        answer,
        json!({"prices": [
            {"name": "yearly", "amount": 5000, "currency": "eur", "interval": "year",
             "interval_count": 1, "trial_days": 0},
            {"name": "monthly", "amount": 500, "currency": "eur", "interval": "month",
             "interval_count": 1, "trial_days": 0},
        ]})
    );
    // Asked with the secret key, by id.
    let asked = stripe.requests_to("GET", "/v1/prices/price_m");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].authorization.as_deref(), Some(&*format!("Bearer {SECRET_KEY}")));
}
}

backend_test! {
async fn prices_are_kept_an_hour_through_an_outage_then_asked_again() {
    let (app, stripe) = selling("monthly=price_m").await;
    stripe.set_price(stripe_price("price_m", 500, "usd", "month", 1));
    let first = listed(&app).await;

    // Within the hour: from what was kept, Stripe not asked, down or not.
    // (Ten seconds short of it: the app's clock is the real one moved, and
    // a second may tick between these requests.)
    stripe.set_down(true);
    app.advance_clock(3_590);
    for _ in 0..3 {
        assert_eq!(listed(&app).await, first);
    }
    assert_eq!(stripe.requests_to("GET", "/v1/prices/price_m").len(), 1);

    // Past it, with Stripe still down: nothing kept, 502.
    app.advance_clock(10);
    let refused = prices(&app).await;
    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;

    // Stripe back, the price changed meanwhile: the new one, once the
    // failure's 30 s are over (until then it is answered at once).
    stripe.set_down(false);
    stripe.set_price(stripe_price("price_m", 700, "usd", "month", 1));
    let refused = prices(&app).await;
    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    app.advance_clock(30);
    assert_eq!(listed(&app).await["prices"][0]["amount"], 700);
    assert_eq!(stripe.requests_to("GET", "/v1/prices/price_m").len(), 3);
}
}

backend_test! {
async fn one_price_id_alone_is_the_price_named_default_and_an_unknown_one_is_502() {
    let (app, stripe) = billing_app(&[]).await;
    let refused = prices(&app).await;
    assert_error(refused, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
    stripe.set_price(stripe_price(PRICE, 900, "gbp", "week", 2));
    app.advance_clock(30);
    let answer = listed(&app).await;
    assert_eq!(answer["prices"].as_array().unwrap().len(), 1);
    assert_eq!(answer["prices"][0]["name"], "default");
    assert_eq!(answer["prices"][0]["interval_count"], 2);
}
}

backend_test! {
async fn without_billing_prices_are_501() {
    let app = spawn_app().await;
    let refused = prices(&app).await;
    assert_error(refused, StatusCode::NOT_IMPLEMENTED, "billing_not_configured").await;
}
}
