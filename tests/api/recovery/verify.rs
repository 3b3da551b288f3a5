//! Addresses on an account: set at registration or by `POST /email`,
//! refused when malformed, and proved by the link mailed to them
//! (`POST /email/verify`).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::db::count;
use crate::support::fakes::smtp::read_messages;
use crate::support::mail::{
    app_with_smtp, forgot_settled, last_message_to, mailed_token, outbox, reset_requested_events,
    wait_for_messages, OutboxRow,
};
use crate::support::{assert_error, eventually, spawn_app_with, PASSWORD};

backend_test! {
async fn registering_with_an_email_sends_a_link_that_verifies_it() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("Alice@Example.com")).register().await;

    let before = app.account_json(&client).await;
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
    let after = app.account_json(&client).await;
    assert_eq!(after["email_verified"], true);
    // Only the hash was stored; the delivered message's body is gone too.
    eventually(|| outbox(&app).iter().all(|m| m.state == "sent")).await;
    let stored: Vec<OutboxRow> = outbox(&app);
    assert!(stored.iter().all(|m| m.state == "sent" && !m.body.contains(&token)));
}
}

backend_test! {
async fn a_verification_link_works_once() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    app.user("alice").email(Some("alice@example.com")).register().await;
    let token = last_message_to(&smtp, "alice@example.com").await.token("/verify-email").unwrap();

    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.verify_email(&token).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_error(app.verify_email("made-up-token").await, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn a_verification_link_expires() {
    let settings = [("VERIFY_TOKEN_TTL_SECONDS", "600")];
    let Some((smtp, app)) = app_with_smtp(&settings).await else { return };
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    let token = last_message_to(&smtp, "alice@example.com").await.token("/verify-email").unwrap();

    app.advance_clock(601);
    assert_error(app.verify_email(&token).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_eq!(app.account_json(&client).await["email_verified"], false);
}
}

backend_test! {
async fn an_account_without_an_address_is_as_before() {
    let Some((_smtp, app)) = app_with_smtp(&[]).await else { return };
    let with_null = app.user("alice").email(None).register().await;
    let without = app.logged_in_client("bob").await;
    for client in [&with_null, &without] {
        let account = app.account_json(client).await;
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
    let Some((_smtp, app)) = app_with_smtp(&[]).await else { return };
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
    let response = app.set_email(&client, Some("two@@example.com"), PASSWORD).await;
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
async fn an_address_is_the_bare_address_nothing_around_it() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.logged_in_client("victim").await;
    // Each would send the mail to the address inside while storing the
    // whole text: one attacker's mailbox could verify any account's.
    for wrapped in [
        "Victim<attacker@evil.example>",
        "\"Victim\"<attacker@evil.example>",
        "<attacker@evil.example>",
        "attacker@evil.example(victim@example.com)",
        "victim@example.com,attacker@evil.example",
    ] {
        let response = app.set_email(&client, Some(wrapped), PASSWORD).await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(body["fields"]["email"].is_string(), "{wrapped}: {body}");
        let response = app
            .post_json(&app.client(), "/register", &json!({"username": "eve", "password": PASSWORD, "email": wrapped}))
            .await;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    assert!(app.account_json(&client).await["email"].is_null());
    assert!(smtp.messages().is_empty(), "nothing was sent anywhere");
}
}

backend_test! {
async fn only_what_mail_can_reach_and_names_one_mailbox_is_an_address() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.logged_in_client("victim").await;
    // A quoted local part is one mailbox under many spellings (`"q"` is
    // `q` to the receiving server); an address literal names a host whose
    // mail is dropped.
    for odd in ["ip@[127.0.0.1]", "a@[IPv6:::1]", "a@127.0.0.1", "\"q\"@example.com", "\"a b\"@example.com", "a.\"b\".c@example.com"] {
        let response = app.set_email(&client, Some(odd), PASSWORD).await;
        let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert!(body["fields"]["email"].is_string(), "{odd}: {body}");
        for (path, body) in [
            ("/register", json!({"username": "eve", "password": PASSWORD, "email": odd})),
            ("/login/email", json!({"email": odd})),
            ("/password/forgot", json!({"email": odd})),
        ] {
            let response = app.post_json(&app.client(), path, &body).await;
            let body = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
            assert!(body["fields"]["email"].is_string(), "{path} {odd}: {body}");
        }
    }
    assert!(app.account_json(&client).await["email"].is_null());
    // The plain mailbox still is one.
    let response = app.set_email(&client, Some("q@example.com"), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    crate::support::eventually(|| smtp.messages().iter().any(|m| m.is_to("q@example.com"))).await;
}
}

backend_test! {
async fn setting_an_address_needs_the_password_and_counts_failures() {
    let Some((_smtp, app)) = app_with_smtp(&[("LOGIN_MAX_FAILURES", "2")]).await else { return };
    let client = app.logged_in_client("alice").await;
    for _ in 0..2 {
        let response = app.set_email(&client, Some("a@example.com"), "wrong password").await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // Two failures locked the username, as two failed logins would.
    let response = app.login(&app.client(), "alice", PASSWORD).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    assert!(app.account_json(&client).await["email"].is_null());
}
}

backend_test! {
async fn changing_the_address_kills_the_old_link_and_null_removes_it() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("old@example.com")).register().await;
    let old = last_message_to(&smtp, "old@example.com").await.token("/verify-email").unwrap();

    let response = app.set_email(&client, Some("new@example.com"), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], "new@example.com");
    assert_eq!(body["email_verified"], false);
    assert_eq!(body["username"], "alice");

    assert_error(app.verify_email(&old).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    let new = last_message_to(&smtp, "new@example.com").await.token("/verify-email").unwrap();
    assert_eq!(app.verify_email(&new).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.account_json(&client).await["email_verified"], true);

    let response = app.set_email(&client, None, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["email"].is_null());
    assert_eq!(body["email_verified"], false);
}
}

backend_test! {
async fn the_same_unverified_address_again_sends_a_new_link() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    wait_for_messages(&smtp, 1).await;
    let response = app.set_email(&client, Some("ALICE@example.com"), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let messages = wait_for_messages(&smtp, 2).await;
    let token = messages[1].token("/verify-email").unwrap();
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    let account = app.account_json(&client).await;
    assert_eq!(account["email"], "ALICE@example.com");
    assert_eq!(account["email_verified"], true);
}
}

backend_test! {
async fn several_accounts_may_hold_an_address_but_one_verifies_it() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let alice = app.user("alice").email(Some("shared@example.com")).register().await;
    // Registering with an address another account holds reveals nothing.
    let bob = app.user("bob").email(Some("Shared@Example.com")).register().await;
    let messages = wait_for_messages(&smtp, 2).await;
    let alice_token = messages.iter().find(|m| m.is_to("shared@example.com")).unwrap().token("/verify-email").unwrap();
    let bob_token = messages.iter().find(|m| m.is_to("Shared@Example.com")).unwrap().token("/verify-email").unwrap();

    assert_eq!(app.verify_email(&alice_token).await.status(), StatusCode::NO_CONTENT);
    assert_error(app.verify_email(&bob_token).await, StatusCode::CONFLICT, "email_taken").await;
    assert_eq!(app.account_json(&alice).await["email_verified"], true);
    assert_eq!(app.account_json(&bob).await["email_verified"], false);

    // Setting it again after it is verified elsewhere still answers 200.
    let response = app.set_email(&bob, Some("shared@example.com"), PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}
}

backend_test! {
async fn two_accounts_verifying_one_address_at_once_one_wins() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
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
async fn an_address_with_a_look_alike_letter_is_another_address() {
    // The Kelvin sign (U+212A), which Unicode's case rules lower-case to
    // `k`: only ASCII letters are compared without their case.
    const KELVIN: &str = "\u{212A}ate@example.com";
    let app = spawn_app_with(&[]).await;
    let kate = app.user("kate").email(Some("kate@example.com")).register().await;
    let token = mailed_token(&app, "/verify-email", 1).await;
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);

    // Another account verifies the look-alike: not the address Kate holds.
    let eve = app.user("eve").email(Some(KELVIN)).register().await;
    let token = mailed_token(&app, "/verify-email", 2).await;
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.account_json(&eve).await["email"], KELVIN);
    assert_eq!(app.account_json(&eve).await["email_verified"], true);
    assert_eq!(app.account_json(&kate).await["email_verified"], true);

    // A forgotten password for the look-alike reaches its holder only.
    assert_eq!(app.forgot_password(KELVIN).await.status(), StatusCode::ACCEPTED);
    forgot_settled(&app).await;
    assert_eq!(outbox(&app).len(), 3, "one reset message, after the two links");
    assert_eq!(reset_requested_events(&app), 1);
    let reset = || {
        read_messages(&app.mail_dir())
            .into_iter()
            .find(|m| m.token("/reset-password").is_some())
    };
    eventually(|| reset().is_some()).await;
    let subject = reset().unwrap().subject();
    assert!(subject.contains("eve"), "{subject}");
}
}
