//! A forgotten password: `POST /password/forgot` answers alike for any
//! address and is acted on once, and the mailed link
//! (`POST /password/reset`) sets a new password once, while it lives.

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::NEW_PASSWORD;
use crate::support::fakes::smtp::read_messages;
use crate::support::mail::{
    app_with_smtp, event_kinds, first_reset_token, forgot_settled, last_message_to, mailed_token,
    outbox, reset_requested_events, wait_for_messages,
};
use crate::support::{assert_error, eventually, spawn_app_with, PASSWORD};

backend_test! {
async fn forgot_answers_alike_for_known_and_unknown_addresses() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    app.user("alice").email(Some("alice@example.com")).register().await;
    wait_for_messages(&smtp, 1).await;

    let known = app.forgot_password("ALICE@example.com").await;
    let unknown = app.forgot_password("nobody@example.com").await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let names = |r: &reqwest::Response| {
        let mut names: Vec<String> = r.headers().keys().map(|k| k.to_string()).collect();
        names.sort();
        names
    };
    let (known_headers, unknown_headers) = (names(&known), names(&unknown));
    assert_eq!(known_headers, unknown_headers);
    let known: Value = known.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(known, json!({"status": "accepted"}));
    assert_eq!(known, unknown);

    let messages = wait_for_messages(&smtp, 2).await;
    forgot_settled(&app).await;
    assert_eq!(outbox(&app).len(), 2, "nothing for the unknown address");
    assert_eq!(reset_requested_events(&app), 1);
    let reset = &messages[1];
    assert!(reset.is_to("alice@example.com"));
    assert!(reset.subject().contains("alice") && reset.raw.contains("\"alice\""), "names the username");
    assert!(reset.token("/reset-password").is_some());
    assert!(!reset.raw.contains(PASSWORD));
}
}

backend_test! {
async fn a_reset_link_sets_a_new_password_and_ends_every_session() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    let other = app.client();
    assert_eq!(app.login(&other, "alice", PASSWORD).await.status(), StatusCode::OK);

    assert_eq!(app.forgot_password("alice@example.com").await.status(), StatusCode::ACCEPTED);
    last_message_to(&smtp, "alice@example.com").await;
    let token = first_reset_token(&smtp).await;
    let response = app.reset_password(&token, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Not logged in by this.
    assert!(crate::support::session_set_cookie(&response).is_none());

    for session in [&client, &other] {
        let response = app.check_session(session).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    }
    let response = app.login(&app.client(), "alice", PASSWORD).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let fresh = app.client();
    assert_eq!(app.login(&fresh, "alice", NEW_PASSWORD).await.status(), StatusCode::OK);
    // The link proved the address.
    assert_eq!(app.account_json(&fresh).await["email_verified"], true);
    // And it works once.
    assert_error(app.reset_password(&token, "yet another secret").await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn a_refused_new_password_keeps_the_link_usable() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    app.user("alice").email(None).register().await;
    let client = app.client();
    app.login(&client, "alice", PASSWORD).await;
    let response = app.set_email(&client, Some("alice@example.com"), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    app.forgot_password("alice@example.com").await;
    let token = first_reset_token(&smtp).await;

    for bad in ["short", "password", "my alice password"] {
        let body = assert_error(app.reset_password(&token, bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(body["fields"]["new_password"].is_string(), "{body}");
    }
    assert_eq!(app.reset_password(&token, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
}
}

backend_test! {
async fn a_reset_link_expires() {
    let settings = [("RESET_TOKEN_TTL_SECONDS", "900")];
    let Some((smtp, app)) = app_with_smtp(&settings).await else { return };
    app.user("alice").email(Some("alice@example.com")).register().await;
    app.forgot_password("alice@example.com").await;
    let token = first_reset_token(&smtp).await;
    app.advance_clock(901);
    assert_error(app.reset_password(&token, NEW_PASSWORD).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_eq!(app.login(&app.client(), "alice", PASSWORD).await.status(), StatusCode::OK);
}
}

backend_test! {
async fn a_password_change_kills_outstanding_reset_links() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    app.forgot_password("alice@example.com").await;
    let token = first_reset_token(&smtp).await;

    let response = app.change_password(&client, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_error(app.reset_password(&token, "yet another secret").await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn a_reset_kills_the_other_reset_links_and_clears_the_lockout() {
    let Some((smtp, app)) = app_with_smtp(&[("LOGIN_MAX_FAILURES", "2")]).await else { return };
    app.user("alice").email(Some("alice@example.com")).register().await;
    app.forgot_password("alice@example.com").await;
    app.forgot_password("alice@example.com").await;
    eventually(|| smtp.messages().iter().filter(|m| m.token("/reset-password").is_some()).count() == 2).await;
    let tokens: Vec<String> = smtp.messages().iter().filter_map(|m| m.token("/reset-password")).collect();
    assert_eq!(tokens.len(), 2);
    for _ in 0..2 {
        app.login(&app.client(), "alice", "wrong password").await;
    }
    let locked = app.login(&app.client(), "alice", PASSWORD).await;
    assert_error(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;

    assert_eq!(app.reset_password(&tokens[0], NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.reset_password(&tokens[1], "yet another secret").await, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_eq!(app.login(&app.client(), "alice", NEW_PASSWORD).await.status(), StatusCode::OK);
}
}

backend_test! {
async fn a_reset_link_dies_when_the_account_changes_its_address() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    app.forgot_password("alice@example.com").await;
    let token = first_reset_token(&smtp).await;
    let response = app.set_email(&client, Some("elsewhere@example.com"), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_error(app.reset_password(&token, NEW_PASSWORD).await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn one_reset_link_used_twice_at_once_resets_once() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let sibling = app.sibling().await;
    app.user("alice").email(Some("alice@example.com")).register().await;
    app.forgot_password("alice@example.com").await;
    let token = first_reset_token(&smtp).await;

    let (a, b) = tokio::join!(
        app.reset_password(&token, NEW_PASSWORD),
        sibling.reset_password(&token, "yet another secret")
    );
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::BAD_REQUEST]);
    let new = app.login(&app.client(), "alice", NEW_PASSWORD).await.status();
    let other = app.login(&app.client(), "alice", "yet another secret").await.status();
    assert!(
        (new == StatusCode::OK) != (other == StatusCode::OK),
        "exactly one new password took: {new} {other}"
    );
}
}

backend_test! {
async fn each_recovery_action_records_exactly_its_one_event() {
    let app = spawn_app_with(&[]).await;
    let alice = app.user("alice").email(Some("alice@example.com")).register().await;
    let bob = app.user("bob").email(None).register().await;
    // Registering with an address is only `registered`.
    assert_eq!(event_kinds(&app, &alice).await, ["registered"]);

    let changed = app.set_email(&alice, Some("alice@example.org"), PASSWORD).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let token = mailed_token(&app, "/verify-email", 2).await;
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.forgot_password("alice@example.org").await.status(), StatusCode::ACCEPTED);
    let token = mailed_token(&app, "/reset-password", 3).await;
    assert_eq!(app.reset_password(&token, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);

    let again = app.client();
    assert_eq!(app.login(&again, "alice", NEW_PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        event_kinds(&app, &again).await,
        [
            "login",
            "password_reset",
            "password_reset_requested",
            "email_verified",
            "email_changed",
            "registered"
        ]
    );
    assert_eq!(event_kinds(&app, &bob).await, ["registered"]);
}
}

backend_test! {
async fn forgot_password_requests_are_limited_per_ip_across_instances() {
    let app = spawn_app_with(&[("FORGOT_MAX_PER_IP_PER_HOUR", "2")]).await;
    let other = app.sibling().await;
    assert_eq!(app.forgot_password("a@example.com").await.status(), StatusCode::ACCEPTED);
    assert_eq!(other.forgot_password("b@example.com").await.status(), StatusCode::ACCEPTED);

    let refused = app.forgot_password("c@example.com").await;
    assert!(refused.headers().contains_key("retry-after"));
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    let refused = other.forgot_password("c@example.com").await;
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;

    app.advance_clock(3_600);
    assert_eq!(other.forgot_password("c@example.com").await.status(), StatusCode::ACCEPTED);
}
}

backend_test! {
async fn forgot_does_the_same_work_whoever_holds_the_address() {
    let app = spawn_app_with(&[]).await;
    app.user("alice").email(Some("alice@example.com")).register().await;
    eventually(|| outbox(&app).len() == 1).await;

    // The request records one row for either address, and nothing else:
    // the holders are looked up afterwards, by the sender.
    for address in ["alice@example.com", "nobody@example.com"] {
        assert_eq!(app.forgot_password(address).await.status(), StatusCode::ACCEPTED);
    }
    forgot_settled(&app).await;
    assert_eq!(outbox(&app).len(), 2, "one reset link, for alice");
    assert_eq!(reset_requested_events(&app), 1);
    let dir = app.mail_dir();
    eventually(|| read_messages(&dir).iter().any(|m| m.token("/reset-password").is_some())).await;
}
}

backend_test! {
async fn forgot_requests_on_two_instances_are_each_acted_on_once() {
    let app = spawn_app_with(&[("MAIL_MAX_PER_ADDRESS_PER_HOUR", "1000")]).await;
    let sibling = app.sibling_with(&[("MAIL_MAX_PER_ADDRESS_PER_HOUR", "1000")]).await;
    app.user("alice").email(Some("alice@example.com")).register().await;
    app.user("bob").email(Some("alice@example.com")).register().await;

    let requests = (0..20).map(|i| {
        let instance = if i % 2 == 0 { &app } else { &sibling };
        instance.forgot_password("alice@example.com")
    });
    for response in futures_util::future::join_all(requests).await {
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    forgot_settled(&app).await;
    // Both accounts hold the address: an event and a link each, per request.
    assert_eq!(reset_requested_events(&app), 40);
    let resets = outbox(&app).len() - 2;
    assert_eq!(resets, 40, "each request acted on exactly once");
}
}

backend_test! {
async fn a_forgot_request_older_than_a_reset_link_is_dropped() {
    let app = spawn_app_with(&[("RESET_TOKEN_TTL_SECONDS", "900")]).await;
    app.user("alice").email(Some("alice@example.com")).register().await;
    eventually(|| outbox(&app).len() == 1).await;
    // Left behind (a database outage, every instance down) for longer than
    // the link it asks for would live.
    let old = app.now() - 901;
    diesel::sql_query(format!(
        "INSERT INTO forgot_requests (email, email_key, requested_at) \
         VALUES ('alice@example.com', 'alice@example.com', {old})"
    ))
    .execute(&mut app.db())
    .unwrap();
    // Any request wakes the sender.
    assert_eq!(app.forgot_password("nobody@example.com").await.status(), StatusCode::ACCEPTED);
    forgot_settled(&app).await;
    assert_eq!(outbox(&app).len(), 1, "no link for the stale request");
    assert_eq!(reset_requested_events(&app), 0);
}
}
