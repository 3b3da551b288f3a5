//! Webhooks: an admin's webhooks (`/admin/webhooks`), the events they are
//! sent, verified by a real receiver with Standard Webhooks' own library,
//! retries on the app's clock, rotation, and the addresses a webhook may
//! not reach.

mod crash;
mod delivery;
mod edges;
mod events;
mod manage;
mod secrets;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::db::execute;
use crate::support::fakes::webhook_receiver::Receiver;
use crate::support::{spawn_app_with, TestApp};

/// Receivers in these tests are on loopback, over http.
pub const LOOPBACK_ALLOWED: [(&str, &str); 2] = [
    ("WEBHOOK_ALLOW_HTTP", "true"),
    ("WEBHOOK_ALLOW_PRIVATE", "true"),
];

/// The admin `Ada`, logged in.
pub async fn admin(app: &TestApp) -> Client {
    admin_named(app, "Ada").await
}

/// A new admin called `name`, logged in.
pub async fn admin_named(app: &TestApp, name: &str) -> Client {
    let admin = app.user(name).register().await;
    execute(
        app,
        &format!("UPDATE users SET role = 'admin' WHERE username = '{name}'"),
    );
    admin
}

/// An app that lets webhooks reach loopback, its admin, and a receiver
/// (`None` where the receiver's library is missing: skipped).
pub async fn with_receiver() -> Option<(TestApp, Client, Receiver)> {
    let receiver = Receiver::start().await?;
    let app = spawn_app_with(&LOOPBACK_ALLOWED).await;
    let admin = admin(&app).await;
    Some((app, admin, receiver))
}

/// Makes a webhook for `events` to `url`; its answer (`201`).
pub async fn create(app: &TestApp, admin: &Client, url: &str, events: &[&str]) -> Value {
    let response = app
        .post_json(
            admin,
            "/admin/webhooks",
            &json!({ "url": url, "events": events }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}
