//! The second step of a sign-in: the pending sign-in a right password
//! opens, the codes that finish it (each once, in a window of three steps,
//! on any instance), and the limits and refusals around it.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{code, enrol, enrolled, pending, pending_with, second_step};
use crate::support::mail::{app_with_smtp, event_kinds, first_reset_token};
use crate::support::{
    assert_error, assert_logged_in, session_set_cookie, spawn_app, spawn_app_with, tally, PASSWORD,
};

backend_test! {
async fn a_right_password_opens_a_pending_sign_in_that_is_no_session_elsewhere() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let browser = app.client();
    let response = app.login(&browser, "Alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let set_cookie = session_set_cookie(&response).expect("a cookie for the pending sign-in");
    assert!(!set_cookie.to_ascii_lowercase().contains("max-age"), "{set_cookie}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "two_factor_required", "methods": ["totp", "recovery_code"]}));

    for path in ["/check_session", "/account", "/blog", "/sessions"] {
        let response = app.get(&browser, path).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    }
    let response = app.logout(&browser).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;

    let response = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "Alice");
    assert_logged_in(&app, &browser).await;
    // The pending token is spent: the same cookie cannot finish twice.
    let response = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 1)})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;

    let events: Value = app.events(&alice.client, "").await.json().await.unwrap();
    let methods: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "login")
        .map(|e| &e["detail"]["method"])
        .collect();
    assert_eq!(methods, [&json!("totp")], "the password step alone is no login event");
}
}

backend_test! {
async fn without_a_pending_sign_in_the_second_step_is_401() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let current = code(&app, &alice.secret, 0);
    let response = second_step(&app, &app.client(), json!({"code": current})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    // A full session is not a pending sign-in either.
    let response = second_step(&app, &alice.client, json!({"code": current})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    // Nor one that waited more than 300 s.
    let browser = pending(&app, "Alice").await;
    app.advance_clock(301);
    let response = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn codes_of_the_neighbouring_steps_pass_and_none_passes_twice() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let finish = |offset: i64| {
        let app = &app;
        let secret = alice.secret.clone();
        async move {
            let browser = pending(app, "Alice").await;
            second_step(app, &browser, json!({"code": code(app, &secret, offset)})).await.status()
        }
    };
    // Two steps away is too far either way.
    assert_eq!(finish(-2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(finish(2).await, StatusCode::UNAUTHORIZED);
    assert_eq!(finish(-1).await, StatusCode::OK, "the step before");
    assert_eq!(finish(-1).await, StatusCode::UNAUTHORIZED, "the same code again");
    assert_eq!(finish(0).await, StatusCode::OK, "the current step");
    assert_eq!(finish(1).await, StatusCode::OK, "the step after");
    // Spent up to the step after: the current code is no longer taken.
    assert_eq!(finish(0).await, StatusCode::UNAUTHORIZED);
    app.advance_clock(60);
    assert_eq!(finish(0).await, StatusCode::OK);
}
}

backend_test! {
async fn one_code_sent_at_once_to_two_instances_signs_in_once() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let sibling = app.sibling().await;
    let mut browsers = Vec::new();
    for _ in 0..6 {
        browsers.push(pending(&app, "Alice").await);
    }
    let code = code(&app, &alice.secret, 0);
    let answers = join_all(browsers.iter().enumerate().map(|(i, browser)| {
        let instance = if i % 2 == 0 { &app } else { &sibling };
        second_step(instance, browser, json!({"code": code}))
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert_eq!(tally(&statuses, StatusCode::OK, StatusCode::UNAUTHORIZED), (1, 5), "{statuses:?}");
}
}

backend_test! {
async fn a_recovery_code_finishes_a_sign_in_once_however_it_is_typed() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let typed = alice.recovery_codes[0].to_uppercase().replace('-', " ");
    let browser = pending_with(&app, "Alice", json!({"stay_signed_in": true})).await;
    let response = second_step(&app, &browser, json!({"recovery_code": typed})).await;
    assert_eq!(response.status(), StatusCode::OK);
    // The kind of session asked for at /login.
    let set_cookie = session_set_cookie(&response).expect("a session cookie");
    assert!(set_cookie.contains("Max-Age=2592000"), "{set_cookie}");

    let again = pending(&app, "Alice").await;
    let response = second_step(&app, &again, json!({"recovery_code": alice.recovery_codes[0]})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    for body in [json!({}), json!({"code": "1", "recovery_code": "2"}), json!({"code": 5})] {
        let response = second_step(&app, &again, body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(app.account_json(&alice.client).await["two_factor"]["recovery_codes_left"], 9);
    let events: Value = app.events(&alice.client, "").await.json().await.unwrap();
    let events = events["events"].as_array().unwrap();
    let used = events.iter().find(|e| e["kind"] == "recovery_code_used").expect("an event");
    assert_eq!(used["detail"]["left"], 9);
    let login = events.iter().find(|e| e["kind"] == "login").expect("a login");
    assert_eq!(login["detail"]["method"], "recovery_code");
}
}

backend_test! {
async fn wrong_codes_count_towards_the_username_lockout() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "3")]).await;
    let alice = enrolled(&app, "Alice").await;
    let browser = pending(&app, "Alice").await;
    for wrong in ["000000", "111111", "222222"] {
        let response = second_step(&app, &browser, json!({"code": wrong})).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let right = code(&app, &alice.secret, 0);
    let response = second_step(&app, &browser, json!({"code": right})).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    let response = app.login(&app.client(), "Alice", PASSWORD).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    let kinds = event_kinds(&app, &alice.client).await;
    assert_eq!(kinds.iter().filter(|k| *k == "login_failed").count(), 3, "{kinds:?}");
    assert!(kinds.contains(&"login_locked".to_owned()), "{kinds:?}");

    // Once the window has passed, the right code signs in.
    app.advance_clock(901);
    let browser = pending(&app, "Alice").await;
    let response = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_eq!(response.status(), StatusCode::OK);
}
}

backend_test! {
async fn wrong_codes_count_towards_the_client_networks_limit() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_IP", "2")]).await;
    let alice = enrolled(&app, "Alice").await;
    let browser = pending(&app, "Alice").await;
    for _ in 0..2 {
        let response = second_step(&app, &browser, json!({"code": "000000"})).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let response = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}
}

backend_test! {
async fn a_disabled_account_is_refused_at_the_second_step() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let browser = pending(&app, "Alice").await;
    crate::support::db::execute(&app, "UPDATE users SET disabled = TRUE WHERE username = 'Alice'");
    let response = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_error(response, StatusCode::FORBIDDEN, "account_disabled").await;
}
}

backend_test! {
async fn a_password_reset_leaves_the_second_factor_on() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    let alice = enrol(&app, client).await;

    assert_eq!(app.forgot_password("alice@example.com").await.status(), StatusCode::ACCEPTED);
    let token = first_reset_token(&smtp).await;
    let new_password = "a brand new passphrase";
    assert_eq!(app.reset_password(&token, new_password).await.status(), StatusCode::NO_CONTENT);

    let browser = app.client();
    let response = app.login(&browser, "alice", new_password).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "still two steps");
    let response = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_eq!(response.status(), StatusCode::OK);
}
}
