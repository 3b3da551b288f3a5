//! What insights count of browsers without a session: the distinct
//! browsers that opened a post each day, the distinct browsers walled, and
//! a registration credited to the post whose wall it followed (or to a
//! gift opened after it); and how long anything about a browser is kept.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{app_reading, open, opened};

/// Sessions that outlive the weeks these tests move the clock through.
const LONG_SESSIONS: [(&str, &str); 2] = [
    ("SESSION_TTL_SECONDS", "8000000"),
    ("SESSION_ABSOLUTE_TTL_SECONDS", "8000000"),
];
use crate::insights::{admin, date, ok, to_next_month, DAY};
use crate::support::db::count;
use crate::support::TestApp;

/// The site's figures `field` on each of days `0..days` after `start`.
async fn per_day(app: &TestApp, ada: &Client, start: i64, days: i64, field: &str) -> Vec<i64> {
    let path = format!(
        "/insights?from={}&to={}",
        date(start, 0),
        date(start, days - 1)
    );
    let site = ok(app, ada, &path).await;
    site["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|day| day[field].as_i64().unwrap())
        .collect()
}

/// Registrations credited to each post over days `0..days` after `start`,
/// as `(post id, registrations)` for the posts that have any.
async fn registrations(app: &TestApp, ada: &Client, start: i64, days: i64) -> Vec<(i64, i64)> {
    let path = format!(
        "/insights/posts?from={}&to={}&sort=registrations&per_page=100",
        date(start, 0),
        date(start, days - 1)
    );
    let posts = ok(app, ada, &path).await;
    posts["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["post"]["id"].as_i64().unwrap(),
                row["registrations"].as_i64().unwrap(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

backend_test! {
async fn browsers_and_walls_are_counted_once_a_day_and_a_registration_credits_its_wall() {
    let app = app_reading("1", &LONG_SESSIONS).await;
    to_next_month(&app);
    let start = app.now();
    let ada = admin(&app, "Ada").await;

    // Day 0: two browsers read; one of them is walled twice.
    let first = app.client();
    assert_eq!(opened(&app, &first, 1).await, 1);
    assert_eq!(opened(&app, &first, 1).await, 1);
    assert_eq!(open(&app, &first, 2).await.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(open(&app, &first, 3).await.status(), StatusCode::PAYMENT_REQUIRED);
    let second = app.client();
    assert_eq!(opened(&app, &second, 5).await, 1);
    // Day 1: the first browser re-reads, and is walled again.
    app.advance_clock(DAY as u64);
    assert_eq!(opened(&app, &first, 1).await, 1);
    assert_eq!(open(&app, &first, 4).await.status(), StatusCode::PAYMENT_REQUIRED);
    // Day 2: it registers; its last wall was post 4's.
    app.advance_clock(DAY as u64);
    assert_eq!(app.user("walled").register_in(&first).await.status(), StatusCode::CREATED);
    // The second browser is walled by post 6, then opens a gift of post 9,
    // then registers: the later gift is credited.
    assert_eq!(open(&app, &second, 6).await.status(), StatusCode::PAYMENT_REQUIRED);
    app.advance_clock(60);
    let giver = app.logged_in_client("Gil").await;
    crate::support::db::execute(&app, "UPDATE users SET plan = 'premium' WHERE username = 'Gil'");
    let gift: Value = app.post_json(&giver, "/blog/9/gift", &json!({})).await.json().await.unwrap();
    let link = gift["gift"]["url"].as_str().unwrap();
    let path = &link[link.find("/gift/").unwrap()..];
    assert_eq!(app.get(&second, path).await.status(), StatusCode::OK);
    app.advance_clock(60);
    assert_eq!(app.user("gifted").register_in(&second).await.status(), StatusCode::CREATED);

    assert_eq!(per_day(&app, &ada, start, 3, "anonymous_readers").await, [2, 1, 0]);
    assert_eq!(per_day(&app, &ada, start, 3, "registration_walls").await, [1, 1, 1]);
    assert_eq!(registrations(&app, &ada, start, 3).await, [(4, 1), (9, 1)]);
    let site = ok(&app, &ada, &format!("/insights?from={}&to={}", date(start, 0), date(start, 2))).await;
    assert_eq!(site["totals"]["anonymous_readers"], 3);
    assert_eq!(site["totals"]["registration_walls"], 3);
}
}

backend_test! {
async fn nothing_about_a_browser_outlives_its_month_but_counts() {
    let app = app_reading("1", &LONG_SESSIONS).await;
    to_next_month(&app);
    let start = app.now();
    let ada = admin(&app, "Ada").await;
    // Late in the month, a browser reads and is walled.
    app.advance_clock(20 * DAY as u64);
    let browser = app.client();
    assert_eq!(opened(&app, &browser, 1).await, 1);
    assert_eq!(open(&app, &browser, 2).await.status(), StatusCode::PAYMENT_REQUIRED);

    // Into the next month: the meter is gone (a new month's allowance),
    // the wall stays for its 30 days of credit, then goes too.
    to_next_month(&app);
    crate::support::eventually(|| count(&app, "SELECT COUNT(*) AS n FROM anonymous_unlocks") == 0).await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM anonymous_readers"), 0);
    assert_eq!(opened(&app, &browser, 2).await, 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM registration_walls"), 1);
    app.advance_clock(30 * DAY as u64);
    crate::support::eventually(|| count(&app, "SELECT COUNT(*) AS n FROM registration_walls") == 0).await;

    let walled_day = start + 20 * DAY;
    assert_eq!(per_day(&app, &ada, walled_day, 1, "anonymous_readers").await, [1]);
    assert_eq!(per_day(&app, &ada, walled_day, 1, "registration_walls").await, [1]);
}
}
