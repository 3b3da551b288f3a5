//! One known history, every number of both routes.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{admin, date, day, ok, to_next_month, DAY};
use crate::providers::{spawn, Kind, Person};
use crate::support::db::count;
use crate::support::fakes::stripe_stand_in::StandIn;
use crate::support::mail::mailed_token;
use crate::support::stripe::{deliver_ok, stripe_settings, subscription_event, Customer};
use crate::support::TestApp;

/// A free reader's `GET /blog/{id}`, answered `status`.
pub(super) async fn read(app: &TestApp, client: &Client, post: i64, status: StatusCode) {
    let response = app.get(client, &format!("/blog/{post}")).await;
    let got = response.status();
    assert_eq!(
        got,
        status,
        "/blog/{post}: {}",
        response.text().await.unwrap()
    );
}

/// `id` of the account `client` is signed in to.
pub(super) async fn id_of(app: &TestApp, client: &Client) -> i64 {
    let me: Value = app.check_session(client).await.json().await.unwrap();
    me["id"].as_i64().unwrap()
}

/// `client`'s checkout, and the Stripe customer it made.
pub(super) async fn checkout(app: &TestApp, stripe: &StandIn, client: &Client) -> Customer {
    assert_eq!(app.checkout(client).await.status(), StatusCode::OK);
    let made = stripe.requests_to("POST", "/v1/customers");
    Customer {
        id: format!("cus_test_{}", made.len().max(1)),
        user_id: id_of(app, client).await,
    }
}

/// A `customer.subscription.*` event at the app's clock, at `price` per
/// `interval`.
pub(super) fn subscription(
    app: &TestApp,
    id: &str,
    kind: &str,
    sub: &str,
    customer: &Customer,
    status: &str,
    (price, interval): (i64, &str),
) -> Value {
    let mut event = subscription_event(id, kind, app.now(), sub, customer, status);
    let item = &mut event["data"]["object"]["items"]["data"][0]["price"];
    item["unit_amount"] = json!(price);
    item["recurring"]["interval"] = json!(interval);
    event
}

backend_test! {
async fn every_number_follows_a_known_history() {
    let stripe = StandIn::start().await;
    let mut vars = stripe_settings(&stripe.base).to_vec();
    // Sessions that outlive the history's days.
    vars.extend([
        ("FREE_READS", "2"),
        ("APP_URL", "http://localhost:5173"),
        ("SESSION_TTL_SECONDS", "2592000"),
        ("SESSION_ABSOLUTE_TTL_SECONDS", "2592000"),
    ]);
    let (github, app) = spawn(Kind::Github, &vars).await.expect("the GitHub stand-in");
    to_next_month(&app);
    let start = app.now();
    let d = |n| date(start, n);

    // Day 0. Six accounts: by password, by a provider, by email, and one
    // registered in a browser that opened a gift.
    let ada = admin(&app, "Ada").await;
    let bob = app.logged_in_client("Bob").await;
    let cal = app.logged_in_client("Cal").await;
    let gil = app.logged_in_client("Gil").await;
    let dee = app.client();
    let signed_in = github.sign_in(&app, &dee, &Person::new("4242", "dee", "dee@example.com")).await;
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    let dee_id = id_of(&app, &dee).await;
    let eve = app.client();
    let asked = app.post_json(&eve, "/login/email", &json!({"email": "eve@example.com"})).await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let token = mailed_token(&app, "/login/email", 1).await;
    let made = app.post_json(&eve, "/login/email/verify", &json!({"token": token})).await;
    assert_eq!(made.status(), StatusCode::CREATED);

    // Gil made premium by the admin (a conversion, through no billing).
    let gil_id = id_of(&app, &gil).await;
    let premium = app.patch_json(&ada, &format!("/admin/users/{gil_id}"), &json!({"plan": "premium"})).await;
    assert_eq!(premium.status(), StatusCode::OK);

    // Reads: Bob unlocks 1 and 2, reads 1 again, is refused 3 twice and 4;
    // Cal reads 1; the admin reads 5; Gil (premium) reads 6. HEADs count
    // for nothing.
    read(&app, &bob, 1, StatusCode::OK).await;
    read(&app, &bob, 2, StatusCode::OK).await;
    read(&app, &bob, 1, StatusCode::OK).await;
    read(&app, &bob, 3, StatusCode::PAYMENT_REQUIRED).await;
    read(&app, &bob, 3, StatusCode::PAYMENT_REQUIRED).await;
    read(&app, &bob, 4, StatusCode::PAYMENT_REQUIRED).await;
    let head = bob.head(app.url("/blog/5")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::PAYMENT_REQUIRED);
    read(&app, &cal, 1, StatusCode::OK).await;
    read(&app, &ada, 5, StatusCode::OK).await;
    read(&app, &gil, 6, StatusCode::OK).await;
    read(&app, &gil, 6, StatusCode::OK).await;

    // Gil gifts post 7; a browser opens it twice and registers (credited).
    let gift: Value = app.post_json(&gil, "/blog/7/gift", &json!({})).await.json().await.unwrap();
    let link = gift["gift"]["url"].as_str().unwrap().strip_prefix("http://localhost:5173").unwrap().to_owned();
    let nia = app.client();
    assert_eq!(app.get(&nia, &link).await.status(), StatusCode::OK);
    assert_eq!(app.get(&nia, &link).await.status(), StatusCode::OK);
    app.user("Nia").register_in(&nia).await;

    // Day 1. Bob reads 1 again and is refused 3; Nia (now signed in) and
    // Cal open the gift; Bob subscribes monthly (500), Cal yearly (6001:
    // 500 a month, rounded down).
    app.advance_clock(DAY as u64);
    read(&app, &bob, 1, StatusCode::OK).await;
    read(&app, &bob, 3, StatusCode::PAYMENT_REQUIRED).await;
    assert_eq!(app.get(&nia, &link).await.status(), StatusCode::OK);
    assert_eq!(app.get(&cal, &link).await.status(), StatusCode::OK);
    let bob_customer = checkout(&app, &stripe, &bob).await;
    deliver_ok(&app, &subscription(&app, "evt_1", "customer.subscription.created", "sub_bob", &bob_customer, "active", (500, "month"))).await;
    let cal_customer = checkout(&app, &stripe, &cal).await;
    deliver_ok(&app, &subscription(&app, "evt_2", "customer.subscription.created", "sub_cal", &cal_customer, "active", (6001, "year"))).await;
    // The same event again, and a later one that changes nothing: nothing
    // counts twice.
    deliver_ok(&app, &subscription(&app, "evt_2", "customer.subscription.created", "sub_cal", &cal_customer, "active", (6001, "year"))).await;
    deliver_ok(&app, &subscription(&app, "evt_3", "customer.subscription.updated", "sub_cal", &cal_customer, "active", (6001, "year"))).await;

    // Day 2. Bob cancels; Dee is given premium until day 4, noon, and
    // reads 8; Nia deletes her account.
    app.advance_clock(DAY as u64);
    deliver_ok(&app, &subscription(&app, "evt_4", "customer.subscription.deleted", "sub_bob", &bob_customer, "canceled", (500, "month"))).await;
    let until = chrono::DateTime::from_timestamp(start + 4 * DAY + 10 * 3_600, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let granted = app.patch_json(&ada, &format!("/admin/users/{dee_id}"), &json!({"premium_until": until})).await;
    assert_eq!(granted.status(), StatusCode::OK);
    read(&app, &dee, 8, StatusCode::OK).await;
    assert_eq!(app.delete_account(&nia, crate::support::PASSWORD).await.status(), StatusCode::NO_CONTENT);

    // Day 4, after the grant lapsed (nothing ran then).
    app.advance_clock(2 * DAY as u64 + 12 * 3_600);
    assert_eq!(crate::support::stripe::plan(&app, &dee).await, "free");

    let range = format!("/insights?from={}&to={}", d(0), d(4));
    let site = ok(&app, &ada, &range).await;
    // registrations, conversions, cancellations, members, premium members,
    // readers, paywall hits, gift readers
    let days = json!([
        day(&d(0), [7, 1, 0, 7, 1, 4, 2, 1]),
        day(&d(1), [0, 2, 0, 7, 3, 1, 1, 2]),
        day(&d(2), [0, 1, 1, 6, 3, 1, 0, 0]),
        day(&d(3), [0, 0, 0, 6, 3, 0, 0, 0]),
        day(&d(4), [0, 0, 1, 6, 2, 0, 0, 0]),
    ]);
    assert_eq!(site["days"], days, "{site:#}");
    assert_eq!(site["from"], d(0));
    assert_eq!(site["to"], d(4));
    assert_eq!(
        site["totals"],
        json!({"registrations": 7, "conversions": 4, "cancellations": 2, "members": 6,
               "premium_members": 2, "readers": 6, "paywall_hits": 3, "gift_readers": 3,
               "anonymous_readers": 0, "registration_walls": 0}),
    );
    // Cal's yearly price, a twelfth of it.
    assert_eq!(site["mrr"], json!({"amount": 500, "currency": "eur"}));
    // At the end of day 1, both subscriptions.
    let then = ok(&app, &ada, &format!("/insights?from={}&to={}", d(1), d(1))).await;
    assert_eq!(then["mrr"], json!({"amount": 1000, "currency": "eur"}));
    assert_eq!(then["days"], json!([day(&d(1), [0, 2, 0, 7, 3, 1, 1, 2])]));
    // The default: the 30 days ending today (day 4).
    let default = ok(&app, &ada, "/insights").await;
    assert_eq!(default["to"], d(4));
    assert_eq!(default["from"], d(4 - 29));
    assert_eq!(default["days"].as_array().unwrap().len(), 30);
    assert_eq!(default["days"].as_array().unwrap()[25..], days.as_array().unwrap()[..]);
    assert_eq!(default["days"][0]["members"], 0);

    // Per post over the five days, by readers (ties by id).
    let posts = ok(&app, &ada, &format!("/insights/posts?from={}&to={}&per_page=9", d(0), d(4))).await;
    let live = count(&app, "SELECT COUNT(*) AS n FROM posts WHERE deleted_at IS NULL");
    assert_eq!((posts["total"].as_i64(), &posts["page"], &posts["per_page"]), (Some(live), &json!(1), &json!(9)));
    let figures = |row: &Value| {
        let f = |k: &str| row[k].as_i64().unwrap();
        (row["post"]["id"].as_i64().unwrap(), [f("readers"), f("paywall_hits"), f("conversions"), f("registrations"), f("gift_readers")])
    };
    let rows: Vec<_> = posts["posts"].as_array().unwrap().iter().map(figures).collect();
    assert_eq!(
        rows,
        [
            (1, [2, 0, 0, 0, 0]),
            (2, [1, 0, 0, 0, 0]),
            (5, [1, 0, 0, 0, 0]),
            (6, [1, 0, 0, 0, 0]),
            (8, [1, 0, 0, 0, 0]),
            // Bob's conversion: his last refusal (post 3, on day 1).
            (3, [0, 2, 1, 0, 0]),
            (4, [0, 1, 0, 0, 0]),
            // Nia's registration, and Cal's conversion (no refusal: the
            // last gift Cal opened).
            (7, [0, 0, 1, 1, 3]),
            (9, [0, 0, 0, 0, 0]),
        ]
    );
    let post = &posts["posts"][0]["post"];
    assert_eq!(post["title"], "Session Cookies Done Right: HttpOnly, Secure, and Opaque Tokens");
    assert!(post["slug"].is_string() && post.get("body").is_none(), "{post}");
    // Sorted by each other figure, largest first.
    let firsts = |body: &Value| -> Vec<i64> { body["posts"].as_array().unwrap().iter().take(2).map(|r| figures(r).0).collect() };
    for (sort, expected) in [
        ("paywall_hits", vec![3, 4]),
        ("conversions", vec![3, 7]),
        ("registrations", vec![7, 1]),
        ("gift_readers", vec![7, 1]),
    ] {
        let sorted = ok(&app, &ada, &format!("/insights/posts?from={}&to={}&sort={sort}", d(0), d(4))).await;
        assert_eq!(firsts(&sorted), expected, "{sort}");
    }
    // A reader on two days counts once over both, and once on each.
    let one_day = ok(&app, &ada, &format!("/insights/posts?from={}&to={}&per_page=1", d(1), d(1))).await;
    assert_eq!(figures(&one_day["posts"][0]), (1, [1, 0, 0, 0, 0]));
    let page_two = ok(&app, &ada, &format!("/insights/posts?from={}&to={}&per_page=2&page=2&sort=paywall_hits", d(0), d(4))).await;
    assert_eq!(firsts(&page_two), [1, 2]);
}
}
