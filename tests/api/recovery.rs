//! Email and account recovery (`POST /email`, `/email/verify`,
//! `/password/forgot`, `/password/reset`, the `email` of `/register` and
//! `GET /account`), with messages delivered to a real SMTP server on
//! loopback and links followed as a user would.

use std::time::Duration;

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::db::count;
use crate::support::fakes::smtp::{self, read_messages, SmtpServer};
use crate::support::internals::token;
use crate::support::mail::{
    account, app_with_smtp, event_kinds, first_reset_token, forgot_settled, last_message_to,
    mailed_token, outbox, reset_requested_events, wait_for_messages, OutboxRow,
};
use crate::support::{
    assert_error, eventually, free_port, spawn_app_with, spawn_binary, wait_for, PASSWORD,
};

const NEW_PASSWORD: &str = "a brand new secret";

backend_test! {
async fn registering_with_an_email_sends_a_link_that_verifies_it() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let client = app.user("alice").email(Some("Alice@Example.com")).register().await;

    let before = account(&app, &client).await;
    assert_eq!(before["email"], "Alice@Example.com", "kept as typed");
    assert_eq!(before["email_verified"], false);
    assert_eq!(before["username"], "alice");
    assert!(before["subscription"].is_null());

    let mail = last_message_to(&smtp, "Alice@Example.com").await;
    assert!(!mail.raw.contains(PASSWORD), "no message contains a password");
    let token = mail.token("/verify-email").expect("a verification link");
    assert!(token.len() >= 22, "at least 128 bits: {token}");

    // Followed from another browser, not logged in: the route is public.
    let response = app.verify_email(&token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let after = account(&app, &client).await;
    assert_eq!(after["email_verified"], true);
    // Only the hash was stored; the delivered message's body is gone too.
    eventually(|| outbox(&app).iter().all(|m| m.state == "sent")).await;
    let stored: Vec<OutboxRow> = outbox(&app);
    assert!(stored.iter().all(|m| m.state == "sent" && !m.body.contains(&token)));
}
}

backend_test! {
async fn a_verification_link_works_once() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    app.user("alice").email(Some("alice@example.com")).register().await;
    let token = last_message_to(&smtp, "alice@example.com").await.token("/verify-email").unwrap();

    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.verify_email(&token).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_error(app.verify_email("made-up-token").await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn a_verification_link_expires() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[("VERIFY_TOKEN_TTL_SECONDS", "600")]).await;
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    let token = last_message_to(&smtp, "alice@example.com").await.token("/verify-email").unwrap();

    app.advance_clock(601);
    assert_error(app.verify_email(&token).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_eq!(account(&app, &client).await["email_verified"], false);
}
}

backend_test! {
async fn an_account_without_an_address_is_as_before() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let with_null = app.user("alice").email(None).register().await;
    let without = app.logged_in_client("bob").await;
    for client in [&with_null, &without] {
        let account = account(&app, client).await;
        assert!(account["email"].is_null());
        assert_eq!(account["email_verified"], false);
    }
    // A forgotten password for nobody's address sends nothing.
    assert_eq!(app.forgot_password("nobody@example.com").await.status(), StatusCode::ACCEPTED);
    forgot_settled(&app).await;
    assert!(outbox(&app).is_empty());
    assert_eq!(reset_requested_events(&app), 0);
}
}

backend_test! {
async fn malformed_addresses_are_refused_with_the_field_named() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let client = app.client();
    let response = app
        .post_json(&client, "/register", &json!({"username": "alice", "password": PASSWORD, "email": "not-an-address"}))
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["email"].is_string(), "{body}");

    let response = app
        .post_json(&client, "/register", &json!({"username": "alice", "password": PASSWORD, "email": 5}))
        .await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let client = app.logged_in_client("bob").await;
    let response = app.set_email(&client, Some("two@@example.com"), PASSWORD)
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["email"].is_string(), "{body}");
    // `email` is required on POST /email (null to remove).
    let response = app.post_json(&client, "/email", &json!({"password": PASSWORD})).await;
    assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;

    let response = app
        .post_json(&app.client(), "/password/forgot", &json!({"email": "nobody at example.com"}))
        .await;
    let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert!(body["fields"]["email"].is_string(), "{body}");
}
}

backend_test! {
async fn setting_an_address_needs_the_password_and_counts_failures() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[("LOGIN_MAX_FAILURES", "2")]).await;
    let client = app.logged_in_client("alice").await;
    for _ in 0..2 {
        let response = app.set_email(&client, Some("a@example.com"), "wrong password")
            .await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Two failures locked the username, as two failed logins would.
    let response = app.login(&app.client(), "alice", PASSWORD).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    assert!(account(&app, &client).await["email"].is_null());
}
}

backend_test! {
async fn changing_the_address_kills_the_old_link_and_null_removes_it() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let client = app.user("alice").email(Some("old@example.com")).register().await;
    let old = last_message_to(&smtp, "old@example.com").await.token("/verify-email").unwrap();

    let response = app.set_email(&client, Some("new@example.com"), PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "new@example.com");
    assert_eq!(body["email_verified"], false);
    assert_eq!(body["username"], "alice");

    assert_error(app.verify_email(&old).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    let new = last_message_to(&smtp, "new@example.com").await.token("/verify-email").unwrap();
    assert_eq!(app.verify_email(&new).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(account(&app, &client).await["email_verified"], true);

    let response = app.set_email(&client, None, PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["email"].is_null());
    assert_eq!(body["email_verified"], false);
}
}

backend_test! {
async fn the_same_unverified_address_again_sends_a_new_link() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    wait_for_messages(&smtp, 1).await;
    let response = app.set_email(&client, Some("ALICE@example.com"), PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let messages = wait_for_messages(&smtp, 2).await;
    let token = messages[1].token("/verify-email").unwrap();
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    let account = account(&app, &client).await;
    assert_eq!(account["email"], "ALICE@example.com");
    assert_eq!(account["email_verified"], true);
}
}

backend_test! {
async fn several_accounts_may_hold_an_address_but_one_verifies_it() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let alice = app.user("alice").email(Some("shared@example.com")).register().await;
    // Registering with an address another account holds reveals nothing.
    let bob = app.user("bob").email(Some("Shared@Example.com")).register().await;
    let messages = wait_for_messages(&smtp, 2).await;
    let alice_token = messages.iter().find(|m| m.is_to("shared@example.com")).unwrap().token("/verify-email").unwrap();
    let bob_token = messages.iter().find(|m| m.is_to("Shared@Example.com")).unwrap().token("/verify-email").unwrap();

    assert_eq!(app.verify_email(&alice_token).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.verify_email(&bob_token).await, StatusCode::CONFLICT, "email_taken").await;
    assert_eq!(account(&app, &alice).await["email_verified"], true);
    assert_eq!(account(&app, &bob).await["email_verified"], false);

    // Setting it again after it is verified elsewhere still answers 200.
    let response = app.set_email(&bob, Some("shared@example.com"), PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}
}

backend_test! {
async fn forgot_answers_alike_for_known_and_unknown_addresses() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
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
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
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
    assert_eq!(account(&app, &fresh).await["email_verified"], true);
    // And it works once.
    assert_error(app.reset_password(&token, "yet another secret").await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn a_refused_new_password_keeps_the_link_usable() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    app.user("alice").email(None).register().await;
    let client = app.client();
    app.login(&client, "alice", PASSWORD).await;
    let response = app.set_email(&client, Some("alice@example.com"), PASSWORD)
        .await;
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
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[("RESET_TOKEN_TTL_SECONDS", "900")]).await;
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
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    app.forgot_password("alice@example.com").await;
    let token = first_reset_token(&smtp).await;

    let response = app.change_password(&client, PASSWORD, NEW_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_error(app.reset_password(&token, "yet another secret").await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn a_reset_kills_the_other_reset_links_and_clears_the_lockout() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[("LOGIN_MAX_FAILURES", "2")]).await;
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
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    app.forgot_password("alice@example.com").await;
    let token = first_reset_token(&smtp).await;
    let response = app.set_email(&client, Some("elsewhere@example.com"), PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_error(app.reset_password(&token, NEW_PASSWORD).await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn the_per_address_limit_holds_across_instances_and_the_hour() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[("MAIL_MAX_PER_ADDRESS_PER_HOUR", "2")]).await;
    let sibling = app.sibling().await;
    app.user("alice").email(Some("alice@example.com")).register().await; // 1
    for instance in [&app, &sibling, &app, &sibling] {
        // Answered as usual past the limit.
        let response = instance.forgot_password("alice@example.com").await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"status": "accepted"}));
    }
    wait_for_messages(&smtp, 2).await;
    forgot_settled(&app).await;
    assert_eq!(outbox(&app).len(), 2, "two messages an hour to one address");
    // Every request is still an event on the account.
    assert_eq!(reset_requested_events(&app), 4);

    app.advance_clock(3_601);
    assert_eq!(sibling.forgot_password("alice@example.com").await.status(), StatusCode::ACCEPTED);
    wait_for_messages(&smtp, 3).await;
}
}

backend_test! {
async fn mail_queued_while_smtp_is_down_is_delivered_once_when_it_is_back() {
    if !smtp::available() {
        return;
    }
    let port = free_port();
    let url = smtp::smtp_url(port);
    let app = spawn_app_with(&[("SMTP_URL", url.as_str())]).await;
    // Answered at once, although no SMTP server is there.
    let started = std::time::Instant::now();
    app.user("alice").email(Some("alice@example.com")).register().await;
    assert!(started.elapsed() < Duration::from_secs(5));
    eventually(|| outbox(&app).first().is_some_and(|m| m.attempts >= 1)).await;
    assert_eq!(outbox(&app)[0].state, "pending");

    let smtp = SmtpServer::start_on(port).await;
    app.advance_clock(60); // past the back-off; wakes the sender
    let messages = wait_for_messages(&smtp, 1).await;
    assert!(messages[0].token("/verify-email").is_some());
    eventually(|| outbox(&app)[0].state == "sent").await;
    app.advance_clock(3_000);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 1, "delivered once");
}
}

backend_test! {
async fn a_message_that_keeps_failing_is_given_up_after_a_day() {
    let port = free_port();
    let url = smtp::smtp_url(port);
    let app = spawn_app_with(&[("SMTP_URL", url.as_str())]).await;
    app.user("alice").email(Some("alice@example.com")).register().await;
    eventually(|| outbox(&app).first().is_some_and(|m| m.attempts >= 1)).await;
    app.advance_clock(12 * 3_600);
    eventually(|| outbox(&app)[0].attempts >= 2).await;
    assert_eq!(outbox(&app)[0].state, "pending", "still retried within the day");
    app.advance_clock(13 * 3_600);
    // Given up (and, being done and over an hour old, soon purged).
    eventually(|| outbox(&app).iter().all(|m| m.state == "failed")).await;
    let rows = outbox(&app);
    assert!(rows.iter().all(|m| m.state == "failed" && m.body.is_empty()), "{rows:?}");
}
}

backend_test! {
async fn two_instances_send_each_message_once() {
    if !smtp::available() {
        return;
    }
    let port = free_port();
    let url = smtp::smtp_url(port);
    let app = spawn_app_with(&[("SMTP_URL", url.as_str())]).await;
    let sibling = app.sibling().await;
    // Queued while SMTP is down, on both instances...
    for i in 0..12 {
        let instance = if i % 2 == 0 { &app } else { &sibling };
        instance.user(&format!("user{i}")).email(Some(&format!("user{i}@example.com"))).register().await;
    }
    eventually(|| outbox(&app).iter().all(|m| m.attempts >= 1)).await;
    // ...then both senders wake at the same moment and race for them.
    let smtp = SmtpServer::start_on(port).await;
    app.advance_clock(3_600);
    wait_for_messages(&smtp, 12).await;
    eventually(|| outbox(&app).iter().all(|m| m.state == "sent")).await;
    app.advance_clock(3_600);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let messages = smtp.messages();
    assert_eq!(messages.len(), 12, "each message exactly once");
    for i in 0..12 {
        let to = format!("user{i}@example.com");
        assert_eq!(messages.iter().filter(|m| m.is_to(&to)).count(), 1, "{to}");
    }
}
}

backend_test! {
async fn a_message_acknowledged_before_a_kill_9_is_delivered_after_restart() {
    if !smtp::available() {
        return;
    }
    // The harness makes the database; the real binary serves it, so that
    // it can be killed.
    let app = spawn_app_with(&[]).await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "recovery-test-secret-".repeat(5);
    let port = free_port();
    let url = smtp::smtp_url(port);
    let env = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", secret.as_str()),
        ("SMTP_URL", url.as_str()),
        ("RUST_LOG", "warn,tollgate=info,tollgate::access=warn"),
    ];
    // Nothing listens on the SMTP port yet: this instance cannot deliver.
    let (mut child, api_port, _output) = spawn_binary(dir.path(), &env);
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{api_port}/register"))
        .json(&json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // Killed once its first delivery attempt has failed and been recorded
    // (a kill in the middle of an attempt is covered too, but its claim's
    // lease would make this test wait two minutes of real time).
    let failed_once = wait_for(30, || {
        outbox(&app).first().is_some_and(|m| {
            m.attempts >= 1 && m.next_attempt_at < m.created_at + 60
        })
    })
    .await;
    assert!(failed_once, "the first attempt was recorded");
    child.0.kill().unwrap(); // SIGKILL: no chance to clean up
    child.0.wait().unwrap();

    let smtp = SmtpServer::start_on(port).await;
    let (child, _, output) = spawn_binary(dir.path(), &env);
    let delivered = wait_for(60, || !smtp.messages().is_empty()).await;
    drop(child);
    assert!(delivered, "not delivered after restart:\n{}", output.lock().unwrap());
    assert!(smtp.messages()[0].is_to("alice@example.com"));
    assert_eq!(smtp.messages().len(), 1);
}
}

backend_test! {
async fn without_smtp_messages_are_written_to_the_mail_folder() {
    let app = spawn_app_with(&[]).await;
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    let dir = app.mail_dir();
    eventually(|| !read_messages(&dir).is_empty()).await;
    let messages = read_messages(&dir);
    assert_eq!(messages.len(), 1);
    let token = messages[0].token("/verify-email").expect("a link in the .eml file");
    assert!(messages[0].is_to("alice@example.com"));
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(account(&app, &client).await["email_verified"], true);
}
}

/// Emailed links are secrets like session tokens: neither a token nor the
/// hash kept of it reaches the log, even at the debug level.
#[tokio::test]
async fn no_link_token_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, output) = spawn_binary(dir.path(), &[("RUST_LOG", "debug")]);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).json(&body).send();
    let registered = post(
        "/register",
        json!({"username": "logan", "password": PASSWORD, "email": "logan@example.com"}),
    )
    .await
    .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let mail = dir.path().join("mail");
    eventually(|| !read_messages(&mail).is_empty()).await;
    let verify_token = read_messages(&mail)[0].token("/verify-email").unwrap();
    let verified = post("/email/verify", json!({"token": verify_token}))
        .await
        .unwrap();
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    post("/password/forgot", json!({"email": "logan@example.com"}))
        .await
        .unwrap();
    eventually(|| read_messages(&mail).len() == 2).await;
    let reset_token = read_messages(&mail)
        .iter()
        .find_map(|m| m.token("/reset-password"))
        .unwrap();
    let reset = post(
        "/password/reset",
        json!({"token": reset_token, "new_password": NEW_PASSWORD}),
    )
    .await
    .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let _ = child.0.kill();
    let _ = child.0.wait();
    std::thread::sleep(Duration::from_millis(200));

    let log = output.lock().unwrap().clone();
    assert!(
        log.contains("message delivered"),
        "the sender's log was captured: {log}"
    );
    for token in [&verify_token, &reset_token] {
        assert!(
            !log.contains(token.as_str()),
            "a link's token is in the log"
        );
        assert!(
            !log.contains(&token::hash(token)),
            "a token's hash is in the log"
        );
    }
    assert!(!log.contains(NEW_PASSWORD) && !log.contains(PASSWORD));
}

backend_test! {
async fn one_reset_link_used_twice_at_once_resets_once() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
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
async fn two_accounts_verifying_one_address_at_once_one_wins() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let app = app_with_smtp(&smtp, &[]).await;
    let sibling = app.sibling().await;
    app.user("alice").email(Some("shared@example.com")).register().await;
    app.user("bob").email(Some("SHARED@example.com")).register().await;
    let messages = wait_for_messages(&smtp, 2).await;
    let tokens: Vec<String> = messages.iter().filter_map(|m| m.token("/verify-email")).collect();
    assert_eq!(tokens.len(), 2);

    let (a, b) = tokio::join!(app.verify_email(&tokens[0]), sibling.verify_email(&tokens[1]));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::CONFLICT]);

    let verified = count(&app, "SELECT COUNT(*) AS n FROM users WHERE email_verified");
    assert_eq!(verified, 1);
}
}

backend_test! {
async fn each_recovery_action_records_exactly_its_one_event() {
    let app = spawn_app_with(&[]).await;
    let alice = app.user("alice").email(Some("alice@example.com")).register().await;
    let bob = app.user("bob").email(None).register().await;
    // Registering with an address is only `registered`.
    assert_eq!(event_kinds(&app, &alice).await, ["registered"]);

    let changed = app.set_email(&alice, Some("alice@example.org"), PASSWORD)
        .await;
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

backend_test! {
async fn a_forgot_request_acknowledged_before_a_kill_9_is_acted_on_after_restart() {
    if !smtp::available() {
        return;
    }
    let app = spawn_app_with(&[]).await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "recovery-test-secret-".repeat(5);
    // An SMTP server that takes the connection and never answers: the
    // sender waits in it (SMTP's greeting timeout), so it cannot act on
    // the forgot request before the kill.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = smtp::smtp_url(silent.local_addr().unwrap().port());
    let (accepted, held) = (std::sync::mpsc::channel(), std::sync::Arc::new(std::sync::Mutex::new(Vec::new())));
    let (tell, keep) = (accepted.0, held.clone());
    std::thread::spawn(move || {
        for stream in silent.incoming().flatten() {
            keep.lock().unwrap().push(stream);
            let _ = tell.send(());
        }
    });
    let env = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", secret.as_str()),
        ("SMTP_URL", silent_url.as_str()),
        ("RUST_LOG", "warn,tollgate=info,tollgate::access=warn"),
    ];
    let (mut child, api_port, _output) = spawn_binary(dir.path(), &env);
    let api = format!("http://127.0.0.1:{api_port}");
    let response = reqwest::Client::new()
        .post(format!("{api}/register"))
        .json(&json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    // The sender is now inside the verification message's delivery.
    accepted
        .1
        .recv_timeout(Duration::from_secs(30))
        .expect("the sender connects to SMTP");
    let response = reqwest::Client::new()
        .post(format!("{api}/password/forgot"))
        .json(&json!({"email": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    child.0.kill().unwrap(); // SIGKILL: no chance to clean up
    child.0.wait().unwrap();
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM forgot_requests"),
        1,
        "acknowledged, and not yet acted on"
    );
    assert_eq!(reset_requested_events(&app), 0);

    let smtp = SmtpServer::start().await.expect("aiosmtpd");
    let url = smtp.url();
    let env = [env[0], env[1], ("SMTP_URL", url.as_str()), env[3]];
    let (child, _, output) = spawn_binary(dir.path(), &env);
    let delivered = wait_for(60, || {
        smtp.messages().iter().any(|m| m.token("/reset-password").is_some())
    })
    .await;
    drop(child);
    assert!(delivered, "not delivered after restart:\n{}", output.lock().unwrap());
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM forgot_requests"), 0);
    assert_eq!(reset_requested_events(&app), 1);
    let resets = smtp.messages().iter().filter(|m| m.token("/reset-password").is_some()).count();
    assert_eq!(resets, 1);
    drop(held);
}
}
