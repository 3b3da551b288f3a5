//! The client IP: the TCP peer, or behind a trusted proxy the right-most
//! X-Forwarded-For address that is not one; a spoofed header from anyone
//! else is ignored. Shown as `ip` on sessions and events.

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::support::{spawn_app_with, TestApp};

async fn session_ip(app: &TestApp, client: &Client, forwarded_for: &str) -> Value {
    let body: Value = app
        .get_with(client, "/sessions", &[("X-Forwarded-For", forwarded_for)])
        .await
        .json()
        .await
        .unwrap();
    body["sessions"][0]["ip"].clone()
}

async fn first_event_ip(app: &TestApp, client: &Client) -> Value {
    let body: Value = app.events(client, "").await.json().await.unwrap();
    body["events"][0]["ip"].clone()
}

backend_test! {
async fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(&[]).await;
    let client = app.client();
    let registered = app.user("Alice").forwarded_for("203.0.113.9").register_in(&client).await;
    assert_eq!(registered.status(), StatusCode::CREATED);

    assert_eq!(session_ip(&app, &client, "203.0.113.9").await, "127.0.0.1");
    assert_eq!(first_event_ip(&app, &client).await, "127.0.0.1");
}
}

backend_test! {
async fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_address() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).await;
    let client = app.client();
    // The client claimed 198.51.100.1; the edge proxy saw 203.0.113.9; an
    // inner proxy (10.0.0.2) forwarded to us.
    let registered = app.user("Alice").forwarded_for("198.51.100.1, 203.0.113.9, 10.0.0.2").register_in(&client).await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    assert_eq!(first_event_ip(&app, &client).await, "203.0.113.9");
    assert_eq!(session_ip(&app, &client, "203.0.113.9").await, "203.0.113.9");

    // The session notes the address that last used it.
    assert_eq!(session_ip(&app, &client, "198.51.100.77").await, "198.51.100.77");
    assert_eq!(session_ip(&app, &client, "198.51.100.77").await, "198.51.100.77");
    // No header: the proxy itself is the client.
    let body: Value = app.sessions(&client).await.json().await.unwrap();
    assert_eq!(body["sessions"][0]["ip"], "127.0.0.1");
}
}
