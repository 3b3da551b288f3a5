//! Session lifetimes on the server: idle, absolute and stay-signed-in
//! expiry, the background purge, and sessions surviving a restart.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::db::count;
use crate::support::{
    assert_error, session_cookie, spawn_app, spawn_app_and_user, spawn_app_with, TestApp,
};

async fn check_with_cookie(app: &TestApp, cookie: &str) -> reqwest::Response {
    app.get_with_cookie("/check_session", cookie).await
}

backend_test! {
async fn an_idle_browser_session_expires_on_the_server() {
    let app = spawn_app_with(&[("SESSION_TTL_SECONDS", "2")]).await;
    let cookie = session_cookie(&app.register(&app.client(), "Alice").await);
    assert_eq!(
        check_with_cookie(&app, &cookie).await.status(),
        StatusCode::OK
    );

    app.advance_clock(3);

    let body = assert_error(
        check_with_cookie(&app, &cookie).await,
        StatusCode::UNAUTHORIZED,
        "not_logged_in",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("expired"));
}
}

backend_test! {
async fn use_keeps_a_browser_session_alive() {
    let app = spawn_app_with(&[("SESSION_TTL_SECONDS", "3")]).await;
    let cookie = session_cookie(&app.register(&app.client(), "Alice").await);

    // Four seconds in all, each step well inside the idle lifetime.
    for _ in 0..4 {
        app.advance_clock(1);
        assert_eq!(
            check_with_cookie(&app, &cookie).await.status(),
            StatusCode::OK
        );
    }
}
}

backend_test! {
async fn a_browser_session_ends_at_its_absolute_lifetime_however_active() {
    let app = spawn_app_with(&[
        ("SESSION_TTL_SECONDS", "100"),
        ("SESSION_ABSOLUTE_TTL_SECONDS", "2"),
    ])
    .await;
    let cookie = session_cookie(&app.register(&app.client(), "Alice").await);

    for _ in 0..3 {
        app.advance_clock(1);
        check_with_cookie(&app, &cookie).await;
    }

    assert_eq!(
        check_with_cookie(&app, &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
}

backend_test! {
async fn a_stay_signed_in_session_expires_on_the_server_after_the_remember_lifetime() {
    // Stored times are whole seconds, so every step below leaves seconds
    // of slack on each side.
    let app = spawn_app_with(&[
        ("REMEMBER_TTL_SECONDS", "30"),
        ("SESSION_TTL_SECONDS", "10"),
    ])
    .await;
    app.register(&app.client(), "Alice").await;
    let response = app.user("Alice").stay_signed_in(true).log_in(&app.client()).await;
    let cookie = session_cookie(&response);

    // Outlives the idle lifetime of a browser session...
    app.advance_clock(15);
    assert_eq!(
        check_with_cookie(&app, &cookie).await.status(),
        StatusCode::OK
    );
    // ...but not its own, even though the cookie is replayed by hand.
    app.advance_clock(20);
    assert_eq!(
        check_with_cookie(&app, &cookie).await.status(),
        StatusCode::UNAUTHORIZED
    );
}
}

backend_test! {
async fn expired_sessions_are_purged_in_the_background() {
    // An hour between purges: the purge below is the one that moving the
    // clock wakes.
    let app = spawn_app_with(&[
        ("SESSION_TTL_SECONDS", "1"),
        ("PURGE_INTERVAL_SECONDS", "3600"),
    ])
    .await;
    for name in ["Alice", "Bob", "Carol"] {
        app.register(&app.client(), name).await;
    }
    assert_eq!(session_rows(&app), 3);

    app.advance_clock(3);
    crate::support::eventually(|| session_rows(&app) == 0).await;

    assert_eq!(session_rows(&app), 0);
}
}

backend_test! {
async fn sessions_and_meters_survive_a_restart() {
    let (app, client) = spawn_app_and_user("Alice").await;
    app.blog_post(&client, 1).await;
    app.blog_post(&client, 2).await;

    let app = app.restart().await;

    let me = app.get(&client_for(&app, &client), "/check_session").await;
    assert_eq!(me.status(), StatusCode::OK);
    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"]["used"], 2);
}
}

/// The client keeps its cookies across the restart (same host, new port:
/// cookies are per host, not per port, exactly as in a browser).
fn client_for(_app: &TestApp, client: &reqwest::Client) -> reqwest::Client {
    client.clone()
}

fn session_rows(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) AS n FROM sessions")
}

#[tokio::test]
async fn a_restart_keeps_the_generated_session_secret() {
    let app = spawn_app().await;
    let secret_file = app.db_path.with_extension("db.session-secret");
    let cookie = session_cookie(&app.register(&app.client(), "Alice").await);
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert!(secret.len() >= 64);

    let app = app.restart().await;

    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), secret);
    assert_eq!(
        check_with_cookie(&app, &cookie).await.status(),
        StatusCode::OK
    );
}
