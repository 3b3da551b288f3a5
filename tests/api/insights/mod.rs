//! Insights (`GET /insights`, `GET /insights/posts`): a known history
//! played through the API on the app's clock — registrations three ways,
//! reads, refusals, gift opens, conversions and a cancellation through
//! signed webhooks from the Stripe stand-in, a complimentary grant that
//! lapses, an account deleted — and every number of both routes checked;
//! readers counted once on two instances; who may see what.

mod access;
mod credit;
mod history;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::db::execute;
use crate::support::TestApp;

pub const DAY: i64 = 86_400;

/// Moves the app's clock to 01:00 UTC on the first day of the next month,
/// so that a history of a few days stays in one month of the meter.
pub fn to_next_month(app: &TestApp) {
    let now = chrono::DateTime::from_timestamp(app.now(), 0).unwrap();
    let first = now.date_naive().with_day(1).unwrap();
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap()
        .and_hms_opt(1, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    app.advance_clock((next - app.now()) as u64);
}

use chrono::Datelike;

/// The app's day `n` days after `start` (Unix seconds), as `YYYY-MM-DD`.
pub fn date(start: i64, n: i64) -> String {
    chrono::DateTime::from_timestamp(start + n * DAY, 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string()
}

/// `username`, registered and made an admin, signed in.
pub async fn admin(app: &TestApp, username: &str) -> Client {
    let admin = app.logged_in_client(username).await;
    execute(
        app,
        &format!("UPDATE users SET role = 'admin' WHERE username = '{username}'"),
    );
    admin
}

/// `GET path` answered `200`: its JSON.
pub async fn ok(app: &TestApp, client: &Client, path: &str) -> Value {
    let response = app.get(client, path).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.unwrap()
}

/// The figures of one Day, in the contract's order.
pub fn day(
    date: &str,
    [registrations, conversions, cancellations, members, premium_members, readers, paywall_hits, gift_readers]: [i64; 8],
) -> Value {
    json!({
        "date": date, "registrations": registrations, "conversions": conversions,
        "cancellations": cancellations, "members": members,
        "premium_members": premium_members, "readers": readers,
        "paywall_hits": paywall_hits, "gift_readers": gift_readers,
        // Members' histories: no browser reads without a session here
        // (anonymous/insights.rs counts those).
        "anonymous_readers": 0, "registration_walls": 0,
    })
}
