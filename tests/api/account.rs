//! `GET/DELETE /sessions`, `DELETE /sessions/{id}`, `POST /password` and
//! `DELETE /account`.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{
    assert_error, assert_logged_in, assert_logged_out, session_cookie, session_set_cookie,
    spawn_app, spawn_app_and_user, spawn_app_with_user, PASSWORD,
};

backend_test! {
async fn the_session_list_shows_each_login_newest_first() {
    let (app, laptop) = spawn_app_and_user("Alice").await;
    app.advance_clock(2);
    let phone = app.client();
    phone
        .post(app.url("/login"))
        .header("User-Agent", "PhoneBrowser/1.0")
        .json(&json!({"username": "Alice", "password": PASSWORD, "stay_signed_in": true}))
        .send()
        .await
        .unwrap();

    let list: Value = app.sessions(&phone).await.json().await.unwrap();

    let sessions = list["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[0]["stay_signed_in"], true);
    assert_eq!(sessions[0]["user_agent"], "PhoneBrowser/1.0");
    assert_eq!(sessions[1]["current"], false);
    assert_eq!(sessions[1]["stay_signed_in"], false);
    for session in sessions {
        for field in ["created_at", "last_seen_at", "expires_at"] {
            assert!(session[field].as_str().unwrap().ends_with('Z'));
        }
        assert_eq!(session["id"].as_str().unwrap().len(), 32);
    }
    let from_laptop: Value = app.sessions(&laptop).await.json().await.unwrap();
    assert_eq!(from_laptop["sessions"][1]["current"], true);
}
}

backend_test! {
async fn ending_one_session_logs_that_device_out() {
    let (app, laptop) = spawn_app_and_user("Alice").await;
    let phone = app.client();
    app.login(&phone, "Alice", PASSWORD).await;
    let list: Value = app.sessions(&laptop).await.json().await.unwrap();
    let phone_id = list["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = app.end_session(&laptop, &phone_id).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_logged_out(&app, &phone).await;
    assert_logged_in(&app, &laptop).await;
}
}

backend_test! {
async fn another_users_session_is_not_found() {
    let (app, alice) = spawn_app_and_user("Alice").await;
    let bob = app.logged_in_client("Bob").await;
    let list: Value = app.sessions(&bob).await.json().await.unwrap();
    let bobs_id = list["sessions"][0]["id"].as_str().unwrap().to_owned();

    let response = app.end_session(&alice, &bobs_id).await;

    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_logged_in(&app, &bob).await;
    let unknown = app.delete(&alice, "/sessions/nope").await;
    assert_error(unknown, StatusCode::NOT_FOUND, "not_found").await;
}
}

backend_test! {
async fn ending_the_current_session_by_id_clears_the_cookie() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let list: Value = app.sessions(&client).await.json().await.unwrap();
    let id = list["sessions"][0]["id"].as_str().unwrap().to_owned();

    let response = app.end_session(&client, &id).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(session_set_cookie(&response).unwrap().contains("Max-Age=0"));
    assert_logged_out(&app, &client).await;
}
}

backend_test! {
async fn log_out_everywhere_else_keeps_only_the_current_session() {
    let (app, laptop) = spawn_app_and_user("Alice").await;
    let phone = app.client();
    let tablet = app.client();
    app.login(&phone, "Alice", PASSWORD).await;
    app.login(&tablet, "Alice", PASSWORD).await;

    let response = app.end_other_sessions(&laptop).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_logged_in(&app, &laptop).await;
    assert_logged_out(&app, &phone).await;
    assert_logged_out(&app, &tablet).await;
    let list: Value = app.sessions(&laptop).await.json().await.unwrap();
    assert_eq!(list["sessions"].as_array().unwrap().len(), 1);
}
}

backend_test! {
async fn a_password_change_ends_other_sessions_and_renews_this_one() {
    let app = spawn_app().await;
    let client = app.client();
    let old_cookie = session_cookie(&app.register(&client, "Alice").await);
    let other = app.client();
    app.login(&other, "Alice", PASSWORD).await;

    let response = app.change_password(&client, PASSWORD, "a brand new secret").await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_ne!(session_cookie(&response), old_cookie);
    assert_logged_in(&app, &client).await;
    assert_logged_out(&app, &other).await;
    let replay = app.get_with_cookie("/check_session", &old_cookie).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login(&app.client(), "Alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&app.client(), "Alice", "a brand new secret")
            .await
            .status(),
        StatusCode::OK
    );
}
}

backend_test! {
async fn a_password_change_needs_the_current_password() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let response = app.change_password(&client, "not it at all", "a brand new secret").await;

    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_logged_in(&app, &client).await;
}
}

backend_test! {
async fn a_new_password_follows_the_register_rules() {
    let (app, client) = spawn_app_and_user("Alice").await;

    for (new_password, expected) in [
        ("short", "at least 8"),
        ("password", "commonly used"),
        ("my-alice-password", "username"),
    ] {
        let response = app.change_password(&client, PASSWORD, new_password).await;
        let body = assert_error(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert!(
            body["fields"]["new_password"]
                .as_str()
                .unwrap()
                .contains(expected),
            "{body}"
        );
    }
}
}

backend_test! {
async fn deleting_the_account_removes_everything_and_frees_the_name() {
    let (app, client) = spawn_app_and_user("Alice").await;
    app.blog_post(&client, 1).await;
    let other = app.client();
    app.login(&other, "Alice", PASSWORD).await;

    let response = app.delete_account(&client, PASSWORD).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(session_set_cookie(&response).unwrap().contains("Max-Age=0"));
    assert_logged_out(&app, &client).await;
    assert_logged_out(&app, &other).await;
    assert_eq!(
        app.login(&app.client(), "Alice", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let again = app.client();
    assert_eq!(
        app.register(&again, "alice").await.status(),
        StatusCode::CREATED
    );
    let list: Value = app.get(&again, "/blog").await.json().await.unwrap();
    assert_eq!(
        list["meter"]["used"], 0,
        "the old reads went with the account"
    );
}
}

backend_test! {
async fn deleting_the_account_needs_the_password() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let wrong = app.delete_account(&client, "not it at all").await;
    let missing = app.delete_json(&client, "/account", &json!({})).await;

    assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let body = assert_error(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["fields"]["password"], "is required");
    assert_logged_in(&app, &client).await;
}
}

backend_test! {
async fn a_password_change_keeps_the_same_login_with_a_new_token() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let before: Value = app.sessions(&client).await.json().await.unwrap();

    app.change_password(&client, PASSWORD, "a brand new secret").await;

    let after: Value = app.sessions(&client).await.json().await.unwrap();
    assert_eq!(after["sessions"][0]["id"], before["sessions"][0]["id"]);
    assert_eq!(
        after["sessions"][0]["created_at"],
        before["sessions"][0]["created_at"]
    );
}
}

backend_test! {
async fn wrong_password_confirmations_count_towards_the_lockout() {
    let (app, client) = spawn_app_with_user(&[("LOGIN_MAX_FAILURES", "2")], "Alice").await;
    for _ in 0..2 {
        app.delete_account(&client, "not it at all").await;
    }

    let response = app.login(&app.client(), "Alice", PASSWORD).await;

    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}
}

backend_test! {
async fn last_seen_advances_for_stay_signed_in_sessions_too() {
    let (app, _) = spawn_app_with_user(&[("SESSION_TTL_SECONDS", "20")], "Alice").await;
    let client = app.client();
    app.user("Alice").stay_signed_in(true).log_in(&client).await;

    app.advance_clock(2);
    app.check_session(&client).await;

    let list: Value = app.sessions(&client).await.json().await.unwrap();
    let sessions = list["sessions"].as_array().unwrap();
    let current = sessions.iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(current["stay_signed_in"], true);
    assert_ne!(current["last_seen_at"], current["created_at"]);
}
}

backend_test! {
async fn the_account_shows_the_user_without_an_address_or_a_subscription() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let response = app.account(&client).await;

    assert_eq!(response.status(), StatusCode::OK);
    crate::support::assert_json(&response);
    let account: Value = response.json().await.unwrap();
    assert_eq!(account["username"], "Alice");
    assert_eq!(account["plan"], "free");
    assert!(account["id"].as_i64().is_some_and(|id| id >= 1));
    assert!(account["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(account["email"], Value::Null);
    assert_eq!(account["email_verified"], false);
    assert_eq!(account["subscription"], Value::Null);
    assert!(account.get("password_hash").is_none());
}
}

backend_test! {
async fn the_account_is_for_logged_in_callers_only() {
    let app = spawn_app().await;
    assert_error(
        app.account(&app.client()).await,
        StatusCode::UNAUTHORIZED,
        "not_logged_in",
    )
    .await;
}
}
