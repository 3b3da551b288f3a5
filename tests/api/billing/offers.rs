//! `POST /billing/checkout` with `{"price", "promotion_code"}`: the named
//! price, a code looked up at Stripe and applied (or the code field
//! offered), and `TRIAL_DAYS`' one trial per account — not again after a
//! subscription, and one among parallel checkouts.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::db::count;
use crate::support::fakes::stripe_stand_in::{Recorded, StandIn};
use crate::support::stripe::{
    deliver_ok, subscription_event, Customer, SECRET_KEY, WEBHOOK_SECRET,
};
use crate::support::{assert_error, assert_invalid_field, spawn_app_with, TestApp};

const TRIAL: &str = "subscription_data[trial_period_days]";

/// An app selling a monthly and a yearly price, with `TRIAL_DAYS=trial`.
async fn selling(trial: &str) -> (TestApp, StandIn) {
    let stripe = StandIn::start().await;
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", SECRET_KEY),
        ("STRIPE_PRICES", "monthly=price_m,yearly=price_y"),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_API_BASE", &stripe.base),
        ("APP_URL", "https://app.example.com"),
        ("TRIAL_DAYS", trial),
    ])
    .await;
    (app, stripe)
}

/// A promotion code object as Stripe's API has it.
fn promotion_code(id: &str, code: &str, active: bool) -> Value {
    json!({
        "id": id, "object": "promotion_code", "code": code, "active": active,
        "coupon": {"id": "coupon_test", "object": "coupon", "percent_off": 20.0,
                   "duration": "once", "valid": true},
        "restrictions": {"first_time_transaction": false},
    })
}

async fn checkout(app: &TestApp, client: &Client, body: Value) -> Response {
    app.post_json(client, "/billing/checkout", &body).await
}

fn sessions(stripe: &StandIn) -> Vec<Recorded> {
    stripe.requests_to("POST", "/v1/checkout/sessions")
}

backend_test! {
async fn checkout_subscribes_to_the_named_price_and_offers_the_code_field() {
    let (app, stripe) = selling("0").await;
    let client = app.logged_in_client("Alice").await;

    // No body, an empty object, a null price: the first configured.
    let bare = client.post(app.url("/billing/checkout")).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::OK);
    assert_eq!(checkout(&app, &client, json!({"price": null})).await.status(), StatusCode::OK);
    let yearly = checkout(&app, &client, json!({"price": "yearly"})).await;
    assert_eq!(yearly.status(), StatusCode::OK);

    let made = sessions(&stripe);
    let prices: Vec<_> = made.iter().map(|s| s.field("line_items[0][price]")).collect();
    assert_eq!(prices, [Some("price_m"), Some("price_m"), Some("price_y")]);
    for session in &made {
        assert_eq!(session.field("allow_promotion_codes"), Some("true"));
        assert_eq!(session.field("discounts[0][promotion_code]"), None);
        assert_eq!(session.field(TRIAL), None, "TRIAL_DAYS=0 offers no trial");
    }
    // The first two asked for the same session (the same minute, price
    // and everything else): Stripe answers the first again.
    assert_eq!(made[0].idempotency_key, made[1].idempotency_key);
    assert_ne!(made[0].idempotency_key, made[2].idempotency_key);
    assert_eq!(stripe.made("checkout.session"), 2);

    for wrong in [json!({"price": "weekly"}), json!({"price": 12}), json!({"price": "price_m"})] {
        let refused = checkout(&app, &client, wrong).await;
        assert_invalid_field(refused, "price").await;
    }
    assert_eq!(sessions(&stripe).len(), 3, "nothing asked of Stripe for an unknown price");
}
}

backend_test! {
async fn a_promotion_code_is_looked_up_at_stripe_and_applied() {
    let (app, stripe) = selling("0").await;
    stripe.set_promotion_code(promotion_code("promo_spring", "SPRING26", true));
    stripe.set_promotion_code(promotion_code("promo_old", "WINTER25", false));
    let client = app.logged_in_client("Alice").await;

    // Codes are matched as Stripe matches them (case-insensitive); a blank
    // field is no code.
    let applied = checkout(&app, &client, json!({"price": "yearly", "promotion_code": "spring26"})).await;
    assert_eq!(applied.status(), StatusCode::OK);
    let blank = checkout(&app, &client, json!({"promotion_code": "  "})).await;
    assert_eq!(blank.status(), StatusCode::OK);

    let looked_up = stripe.requests_to("GET", "/v1/promotion_codes");
    assert_eq!(looked_up.len(), 1);
    assert_eq!(looked_up[0].param("code"), Some("spring26"));
    assert_eq!(looked_up[0].param("active"), Some("true"));
    let made = sessions(&stripe);
    assert_eq!(made[0].field("discounts[0][promotion_code]"), Some("promo_spring"));
    assert_eq!(made[0].field("allow_promotion_codes"), None, "Stripe takes one or the other");
    assert_eq!(made[0].field("line_items[0][price]"), Some("price_y"));
    assert_eq!(made[1].field("allow_promotion_codes"), Some("true"));

    // Unknown and inactive codes: 422, and neither a customer nor a
    // session is made for them.
    let customers = stripe.made("customer");
    let bob = app.logged_in_client("Bob").await;
    for code in ["NOPE", "WINTER25"] {
        let refused = checkout(&app, &bob, json!({"promotion_code": code})).await;
        assert_invalid_field(refused, "promotion_code").await;
    }
    // Not a code at all: refused without asking Stripe.
    for code in [json!("50% off"), json!("x".repeat(101)), json!(7)] {
        let refused = checkout(&app, &bob, json!({"promotion_code": code})).await;
        assert_invalid_field(refused, "promotion_code").await;
    }
    assert_eq!(stripe.requests_to("GET", "/v1/promotion_codes").len(), 3);
    assert_eq!(stripe.made("customer"), customers);
    assert_eq!(sessions(&stripe).len(), 2);

    // A code Stripe knows but will not apply to this checkout.
    stripe.refuse_discount("promo_spring");
    let refused = checkout(&app, &bob, json!({"promotion_code": "SPRING26"})).await;
    assert_invalid_field(refused, "promotion_code").await;

    // Stripe down: the code cannot be checked, so nothing is sold.
    stripe.set_down(true);
    let down = checkout(&app, &bob, json!({"promotion_code": "SPRING26"})).await;
    assert_error(down, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
}
}

backend_test! {
async fn one_trial_per_account_ever() {
    let (app, stripe) = selling("14").await;
    stripe.set_price(json!({
        "id": "price_m", "object": "price", "active": true, "type": "recurring",
        "currency": "eur", "unit_amount": 500,
        "recurring": {"interval": "month", "interval_count": 1},
    }));
    stripe.set_price(json!({
        "id": "price_y", "object": "price", "active": true, "type": "recurring",
        "currency": "eur", "unit_amount": 5000,
        "recurring": {"interval": "year", "interval_count": 1},
    }));
    let listed: Value = app
        .client()
        .get(app.url("/billing/prices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let trials: Vec<_> = listed["prices"].as_array().unwrap().iter().map(|p| p["trial_days"].clone()).collect();
    assert_eq!(trials, [json!(14), json!(14)]);

    let client = app.client();
    let user: Value = app.register(&client, "Alice").await.json().await.unwrap();
    let user_id = user["id"].as_i64().unwrap();

    let first = checkout(&app, &client, json!({"price": "monthly"})).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again = checkout(&app, &client, json!({"price": "monthly"})).await;
    let url = |r: Value| r["url"].as_str().unwrap().to_owned();
    let (first, again) = (url(first.json().await.unwrap()), url(again.json().await.unwrap()));
    assert_eq!(first, again, "the same checkout again is the same session, trial and all");
    let made = sessions(&stripe);
    assert_eq!(made[0].field(TRIAL), Some("14"));
    assert_eq!(made[0].idempotency_key, made[1].idempotency_key);

    // Another price: the trial moves to it, and the first session is
    // expired at Stripe first, so that only one trial can be paid for.
    let first_id = first.rsplit('/').next().unwrap().to_owned();
    let other = checkout(&app, &client, json!({"price": "yearly"})).await;
    assert_eq!(other.status(), StatusCode::OK);
    assert_eq!(sessions(&stripe)[2].field(TRIAL), Some("14"));
    let expired = format!("/v1/checkout/sessions/{first_id}/expire");
    assert_eq!(stripe.requests_to("POST", &expired).len(), 1);
    let open = stripe.open_sessions();
    assert_eq!(open.len(), 1, "one session can still be paid");
    assert_eq!(open[0].field("line_items[0][price]"), Some("price_y"));

    // Once that session's hour is over, unpaid, the trial is there again.
    app.advance_clock(3_600);
    assert_eq!(checkout(&app, &client, json!({"price": "yearly"})).await.status(), StatusCode::OK);
    assert_eq!(sessions(&stripe)[3].field(TRIAL), Some("14"));

    // A subscription recorded (here already cancelled): never again.
    let customer = Customer { id: "cus_test_1".into(), user_id };
    let now = app.now();
    deliver_ok(
        &app,
        &subscription_event("evt_1", "customer.subscription.deleted", now, "sub_1", &customer, "canceled"),
    )
    .await;
    app.advance_clock(3_600);
    for price in ["monthly", "yearly"] {
        assert_eq!(checkout(&app, &client, json!({"price": price})).await.status(), StatusCode::OK);
    }
    let made = sessions(&stripe);
    assert_eq!(made.len(), 6);
    assert!(made[4..].iter().all(|s| s.field(TRIAL).is_none()), "no trial after a subscription");
}
}

backend_test! {
async fn parallel_checkouts_offer_one_trial() {
    let (app, stripe) = selling("7").await;
    let client = app.logged_in_client("Alice").await;
    // Two instances on one database, both prices, all at once.
    let sibling = app.sibling().await;
    let asks = (0..8).map(|i| {
        let (app, client) = (if i % 4 < 2 { &app } else { &sibling }, &client);
        let price = if i % 2 == 0 { "monthly" } else { "yearly" };
        async move { checkout(app, client, json!({"price": price})).await.status() }
    });
    let statuses = futures_util::future::join_all(asks).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK), "{statuses:?}");

    // However the race went (the trial may have moved from one price to
    // the other, each move expiring the session it left), one session
    // with a trial can still be paid.
    let open_trials: Vec<Recorded> = stripe
        .open_sessions()
        .into_iter()
        .filter(|s| s.field(TRIAL).is_some())
        .collect();
    assert_eq!(open_trials.len(), 1, "{open_trials:?}");
    assert!(sessions(&stripe).iter().any(|s| s.field(TRIAL).is_some()));
}
}

/// RFC 3339 as the API writes it.
fn at(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

backend_test! {
async fn the_account_names_the_price_and_shows_the_trial() {
    let (app, _stripe) = selling("14").await;
    let client = app.client();
    let user: Value = app.register(&client, "Alice").await.json().await.unwrap();
    assert_eq!(checkout(&app, &client, json!({"price": "yearly"})).await.status(), StatusCode::OK);
    let customer = Customer { id: "cus_test_1".into(), user_id: user["id"].as_i64().unwrap() };

    // The subscription the trial checkout started, as Stripe's event has it.
    let t = app.now();
    let trial_end = t + 14 * 86_400;
    let mut created = subscription_event(
        "evt_1", "customer.subscription.created", t, "sub_1", &customer, "trialing",
    );
    let object = &mut created["data"]["object"];
    object["trial_start"] = json!(t);
    object["trial_end"] = json!(trial_end);
    object["items"]["data"][0]["current_period_end"] = json!(trial_end);
    object["items"]["data"][0]["price"] = json!({
        "id": "price_y", "object": "price", "currency": "eur", "unit_amount": 5000,
        "type": "recurring", "recurring": {"interval": "year", "interval_count": 1},
    });
    deliver_ok(&app, &created).await;

    let account = app.account_json(&client).await;
    assert_eq!(account["plan"], "premium", "a trial is premium");
    assert_eq!(
        account["subscription"],
        json!({"status": "trialing", "current_period_end": at(trial_end),
               "cancel_at_period_end": false, "cancel_at": null, "price": "yearly",
               "trial_end": at(trial_end)})
    );
    // What it was sold at is kept with it.
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM billing_subscriptions WHERE price_id = 'price_y' \
                     AND price_amount = 5000 AND price_currency = 'eur' \
                     AND price_interval = 'year' AND price_interval_count = 1"),
        1
    );

    // Moved (in the portal, say) to a price this server does not sell:
    // named by none, the trial over.
    let mut moved = subscription_event(
        "evt_2", "customer.subscription.updated", t + 60, "sub_1", &customer, "active",
    );
    moved["data"]["object"]["items"]["data"][0]["price"]["id"] = json!("price_legacy");
    deliver_ok(&app, &moved).await;
    let subscription = &app.account_json(&client).await["subscription"];
    assert_eq!(subscription["price"], Value::Null);
    assert_eq!(subscription["trial_end"], Value::Null);
    assert_eq!(subscription["status"], "active");
}
}

/// The Checkout Session id in a checkout's answer.
async fn session_id(response: Response) -> String {
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    let url = answer["url"].as_str().unwrap();
    url.rsplit('/').next().unwrap().to_owned()
}

backend_test! {
async fn a_lapsed_trial_comes_back_only_if_stripe_says_its_session_was_not_paid() {
    let (app, stripe) = selling("14").await;
    let alice = app.logged_in_client("Alice").await;
    let bob = app.logged_in_client("Bob").await;
    let paid = session_id(checkout(&app, &alice, json!({})).await).await;
    let abandoned = session_id(checkout(&app, &bob, json!({})).await).await;
    assert!(sessions(&stripe).iter().all(|s| s.field(TRIAL) == Some("14")));

    // Alice paid, but Stripe's events have not arrived when her claim
    // lapses (an endpoint down for a while); Bob never paid.
    stripe.complete_session(&paid);
    app.advance_clock(3_600);
    for client in [&alice, &bob] {
        assert_eq!(checkout(&app, client, json!({})).await.status(), StatusCode::OK);
    }
    let made = sessions(&stripe);
    assert_eq!(made[2].field(TRIAL), None, "Alice's trial was used: {:?}", made[2]);
    assert_eq!(made[3].field(TRIAL), Some("14"), "Bob's comes back");
    let asked = |id: &str| stripe.requests_to("GET", &format!("/v1/checkout/sessions/{id}"));
    assert_eq!(asked(&paid).len(), 1, "Stripe asked about the paid one once");
    // Still open by Stripe's clock: expired first, so it can no longer be
    // paid, then asked again.
    assert_eq!(asked(&abandoned).len(), 2);
    let expire = format!("/v1/checkout/sessions/{abandoned}/expire");
    assert_eq!(stripe.requests_to("POST", &expire).len(), 1);

    // Used for good: later checkouts offer Alice nothing and ask Stripe
    // nothing more.
    app.advance_clock(3_600);
    assert_eq!(checkout(&app, &alice, json!({"price": "yearly"})).await.status(), StatusCode::OK);
    assert_eq!(sessions(&stripe)[4].field(TRIAL), None);
    assert_eq!(stripe.requests_to("GET", &format!("/v1/checkout/sessions/{paid}")).len(), 1);

    // Stripe cannot be reached to say: nothing is sold blind.
    app.advance_clock(3_600);
    stripe.set_down(true);
    let down = checkout(&app, &bob, json!({})).await;
    assert_error(down, StatusCode::BAD_GATEWAY, "billing_unavailable").await;
}
}

backend_test! {
async fn a_code_stripe_refuses_gives_the_trial_back_at_once() {
    let (app, stripe) = selling("14").await;
    stripe.set_promotion_code(promotion_code("promo_first", "FIRST", true));
    stripe.refuse_discount("promo_first");
    let client = app.logged_in_client("Alice").await;

    let refused = checkout(&app, &client, json!({"promotion_code": "FIRST"})).await;
    assert_invalid_field(refused, "promotion_code").await;
    // The same checkout without the code, at once: with the trial.
    assert_eq!(checkout(&app, &client, json!({})).await.status(), StatusCode::OK);
    let made = sessions(&stripe);
    assert_eq!(made.len(), 2);
    assert_eq!(made[1].field(TRIAL), Some("14"));
    assert_eq!(stripe.open_sessions().len(), 1);
}
}
