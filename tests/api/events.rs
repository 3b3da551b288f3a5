//! `GET /account/events`: exactly one event per state change, for its own
//! account only, newest first, paginated like `/blog`, purged after
//! EVENT_RETENTION_DAYS and gone with the account.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::db::count;
use crate::support::{
    assert_error, eventually, spawn_app_with, spawn_app_with_user, TestApp, PASSWORD,
};

const AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// A browser with a user agent (reqwest sends none by default).
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .user_agent(AGENT)
        .build()
        .unwrap()
}

async fn events(app: &TestApp, client: &Client) -> Vec<Value> {
    let response = app.get(client, "/account/events?per_page=100").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

async fn session_ids(app: &TestApp, client: &Client) -> Vec<(String, bool)> {
    let body: Value = app.sessions(client).await.json().await.unwrap();
    body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["current"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn other_session(app: &TestApp, client: &Client) -> String {
    session_ids(app, client)
        .await
        .into_iter()
        .find(|(_, current)| !current)
        .expect("another session")
        .0
}

backend_test! {
async fn each_action_records_exactly_its_one_event() {
    let app = spawn_app_with(&[]).await;
    let alice = browser();
    let register = json!({"username": "Alice", "password": PASSWORD});
    assert_eq!(app.post_json(&alice, "/register", &register).await.status(), StatusCode::CREATED);
    let bob = browser();
    let register = json!({"username": "Bob", "password": PASSWORD});
    assert_eq!(app.post_json(&bob, "/register", &register).await.status(), StatusCode::CREATED);

    assert_eq!(app.logout(&alice).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&alice, "alice", "wrong password").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&alice, "alice", PASSWORD).await.status(), StatusCode::OK);
    // A failure for a name with no account records nothing anywhere.
    assert_eq!(app.login(&bob, "nobody", "wrong password").await.status(), StatusCode::UNAUTHORIZED);

    let second = browser();
    assert_eq!(app.login(&second, "Alice", PASSWORD).await.status(), StatusCode::OK);
    let second_id = other_session(&app, &alice).await;
    let path = format!("/sessions/{second_id}");
    assert_eq!(app.delete(&alice, &path).await.status(), StatusCode::NO_CONTENT);

    let third = browser();
    assert_eq!(app.login(&third, "Alice", PASSWORD).await.status(), StatusCode::OK);
    let third_id = other_session(&app, &alice).await;
    assert_eq!(app.end_other_sessions(&alice).await.status(), StatusCode::NO_CONTENT);

    let wrong = json!({"current_password": "not my password", "new_password": "another good passphrase"});
    assert_eq!(app.post_json(&alice, "/password", &wrong).await.status(), StatusCode::UNAUTHORIZED);
    let right = json!({"current_password": PASSWORD, "new_password": "another good passphrase"});
    assert_eq!(app.post_json(&alice, "/password", &right).await.status(), StatusCode::NO_CONTENT);

    let list = events(&app, &alice).await;
    assert_eq!(
        kinds(&list),
        vec![
            "password_changed",
            "login_failed",
            "session_revoked",
            "login",
            "session_revoked",
            "login",
            "login",
            "login_failed",
            "logout",
            "registered",
        ]
    );
    assert_eq!(list[2]["detail"], json!({"session_id": third_id}));
    assert_eq!(list[4]["detail"], json!({"session_id": second_id}));
    for event in &list {
        assert_eq!(event["ip"], "127.0.0.1", "{event}");
        assert_eq!(event["user_agent"], AGENT, "{event}");
        assert!(event["at"].as_str().unwrap().ends_with('Z'));
        assert!(event["id"].as_i64().unwrap() > 0);
    }
    // Bob sees his own registration and nothing of Alice's.
    assert_eq!(kinds(&events(&app, &bob).await), vec!["registered"]);
}
}

backend_test! {
async fn a_wrong_password_on_delete_account_is_a_failed_login() {
    let (app, alice) = spawn_app_with_user(&[], "Alice").await;
    let response = app.delete_account(&alice, "not it at all").await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(kinds(&events(&app, &alice).await), vec!["login_failed", "registered"]);
}
}

backend_test! {
async fn the_failure_that_locks_a_name_is_recorded_once() {
    let (app, alice) = spawn_app_with_user(&[("LOGIN_MAX_FAILURES", "3")], "Alice").await;
    let attacker = app.client();
    for _ in 0..3 {
        let response = app.login(&attacker, "alice", "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Locked: refused before any password is checked, so nothing more.
    let response = app.login(&attacker, "alice", "wrong password").await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;

    assert_eq!(
        kinds(&events(&app, &alice).await),
        vec!["login_locked", "login_failed", "login_failed", "login_failed", "registered"]
    );
}
}

backend_test! {
async fn the_first_paywall_of_each_month_is_recorded_once() {
    let (app, alice) = spawn_app_with_user(&[
        ("FREE_READS", "1"),
        ("SESSION_TTL_SECONDS", "8640000"),
        ("SESSION_ABSOLUTE_TTL_SECONDS", "8640000"),
    ], "Alice").await;
    let bob = app.logged_in_client("Bob").await;
    assert_eq!(app.blog_post(&alice, 1).await.status(), StatusCode::OK);
    for id in [2, 3, 2] {
        let status = app.blog_post(&alice, id).await.status();
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    }
    // A HEAD asks; it is not a refusal that reached the reader.
    let head = alice.head(app.url("/blog/4")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::PAYMENT_REQUIRED);
    let list = events(&app, &alice).await;
    assert_eq!(kinds(&list), vec!["paywall", "registered"]);
    assert_eq!(list[0]["detail"], json!({"used": 1, "limit": 1}));

    // Next month, the meter resets, and its first refusal is recorded again.
    app.advance_clock(32 * 86_400);
    assert_eq!(app.blog_post(&alice, 5).await.status(), StatusCode::OK);
    for id in [6, 7] {
        let status = app.blog_post(&alice, id).await.status();
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    }
    assert_eq!(kinds(&events(&app, &alice).await), vec!["paywall", "paywall", "registered"]);
    assert_eq!(kinds(&events(&app, &bob).await), vec!["registered"]);
}
}

backend_test! {
async fn set_plan_records_a_plan_change_from_the_cli() {
    let (app, alice) = spawn_app_with_user(&[], "Alice").await;
    for _ in 0..2 {
        let status = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(["set-plan", "ALICE", "premium"])
            .env("DATABASE_URL", &app.database_url)
            .env("RUST_LOG", "warn")
            .status()
            .unwrap();
        assert!(status.success());
    }
    let list = events(&app, &alice).await;
    // The second run changed nothing, so recorded nothing.
    assert_eq!(kinds(&list), vec!["plan_changed", "registered"]);
    assert_eq!(list[0]["detail"], json!({"from": "free", "to": "premium", "source": "cli"}));
    assert_eq!(list[0]["ip"], Value::Null);
    assert_eq!(list[0]["user_agent"], Value::Null);
}
}

backend_test! {
async fn events_are_paginated_like_the_blog() {
    let (app, alice) = spawn_app_with_user(&[], "Alice").await;
    for _ in 0..2 {
        assert_eq!(app.logout(&alice).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.login(&alice, "Alice", PASSWORD).await.status(), StatusCode::OK);
    }
    // registered, logout, login, logout, login: five, newest first.
    let mut seen = Vec::new();
    for page in 1..=3 {
        let response = app.get(&alice, &format!("/account/events?page={page}&per_page=2")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!((body["page"].as_i64(), body["per_page"].as_i64()), (Some(page), Some(2)));
        assert_eq!(body["total"], 5);
        seen.extend(kinds(body["events"].as_array().unwrap()).into_iter().map(str::to_owned));
    }
    assert_eq!(seen, vec!["login", "logout", "login", "logout", "registered"]);
    let body: Value = app.get(&alice, "/account/events").await.json().await.unwrap();
    assert_eq!((body["page"].as_i64(), body["per_page"].as_i64()), (Some(1), Some(20)));
    for bad in ["per_page=0", "per_page=101", "page=0", "page=x"] {
        let response = app.get(&alice, &format!("/account/events?{bad}")).await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let anonymous = app.get(&app.client(), "/account/events").await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn events_older_than_the_retention_are_purged() {
    let (app, alice) = spawn_app_with_user(&[
        ("EVENT_RETENTION_DAYS", "1"),
        ("SESSION_TTL_SECONDS", "8640000"),
        ("SESSION_ABSOLUTE_TTL_SECONDS", "8640000"),
    ], "Alice").await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events"), 1);

    app.advance_clock(86_400 + 60);
    eventually(|| count(&app, "SELECT COUNT(*) AS n FROM events") == 0).await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events"), 0);

    assert_eq!(app.logout(&alice).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&alice, "Alice", PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(kinds(&events(&app, &alice).await), vec!["login", "logout"]);
}
}

backend_test! {
async fn a_deleted_accounts_events_go_with_it() {
    let (app, alice) = spawn_app_with_user(&[], "Alice").await;
    let _bob = app.logged_in_client("Bob").await;
    assert_eq!(app.logout(&alice).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.login(&alice, "Alice", PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events"), 4);

    let response = app.delete_account(&alice, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    // Bob's registration is all that is left.
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events"), 1);
    let register = app.register(&app.client(), "Alice").await;
    assert_eq!(register.status(), StatusCode::CREATED);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM events"), 2);
}
}

backend_test! {
async fn parallel_refusals_on_two_instances_record_one_paywall_event() {
    let a = spawn_app_with(&[("FREE_READS", "0")]).await;
    let b = a.sibling().await;
    let alice = a.logged_in_client("Alice").await;
    let requests = (1..=12).map(|id| {
        let (app, client) = (if id % 2 == 0 { &a } else { &b }, alice.clone());
        async move { app.blog_post(&client, id).await.status() }
    });
    for status in futures_util::future::join_all(requests).await {
        assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    }
    assert_eq!(kinds(&events(&a, &alice).await), vec!["paywall", "registered"]);
}
}
