//! Notices: a password change or reset, and an address change, are told to
//! the account's verified address (for an address change, the old one), in
//! a message with no link in it.

use reqwest::StatusCode;

use super::NEW_PASSWORD;
use crate::support::fakes::smtp::{Mail, SmtpServer};
use crate::support::mail::{app_with_smtp, first_reset_token, outbox, wait_for_messages};
use crate::support::{eventually, TestApp, PASSWORD};

/// A user whose address `alice@example.com` is verified; the SMTP server
/// then holds the one verification message.
async fn verified_alice(app: &TestApp, smtp: &SmtpServer) -> reqwest::Client {
    let client = app
        .user("alice")
        .email(Some("alice@example.com"))
        .register()
        .await;
    let link = wait_for_messages(smtp, 1).await[0]
        .token("/verify-email")
        .expect("a verification link");
    assert_eq!(
        app.verify_email(&link).await.status(),
        StatusCode::NO_CONTENT
    );
    client
}

/// The `n`-th message (from 1) once it has come: a notice of `what`, to
/// `to`, with nothing in it that signs in or changes anything.
async fn notice(smtp: &SmtpServer, n: usize, to: &str, what: &str) -> Mail {
    let message = wait_for_messages(smtp, n).await.swap_remove(n - 1);
    assert!(message.is_to(to), "to {to}: {}", message.subject());
    assert!(message.subject().contains(what), "{}", message.subject());
    let text = message.text();
    assert!(text.contains("alice"), "names the account: {text}");
    assert!(
        !text.contains("http") && !text.contains("token"),
        "no link: {text}"
    );
    message
}

backend_test! {
async fn a_password_change_is_told_to_the_verified_address() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = verified_alice(&app, &smtp).await;

    let changed = app.change_password(&client, PASSWORD, NEW_PASSWORD).await;

    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    notice(&smtp, 2, "alice@example.com", "password was changed").await;
}
}

backend_test! {
async fn a_password_reset_is_told_to_the_address() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    verified_alice(&app, &smtp).await;
    assert_eq!(app.forgot_password("alice@example.com").await.status(), StatusCode::ACCEPTED);
    let token = first_reset_token(&smtp).await;

    let reset = app.reset_password(&token, NEW_PASSWORD).await;

    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    notice(&smtp, 3, "alice@example.com", "password was reset").await;
}
}

backend_test! {
async fn an_address_change_is_told_to_the_old_address() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = verified_alice(&app, &smtp).await;

    let moved = app.set_email(&client, Some("new@example.com"), PASSWORD).await;

    assert_eq!(moved.status(), StatusCode::OK);
    notice(&smtp, 3, "alice@example.com", "email address was changed").await;
    let to_new: Vec<Mail> = smtp.messages().into_iter().filter(|m| m.is_to("new@example.com")).collect();
    assert_eq!(to_new.len(), 1, "the new address gets its verification link only");
    assert!(to_new[0].token("/verify-email").is_some());
}
}

backend_test! {
async fn an_unverified_address_is_told_nothing() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let client = app.user("alice").email(Some("alice@example.com")).register().await;
    wait_for_messages(&smtp, 1).await;

    let changed = app.change_password(&client, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    let moved = app.set_email(&client, Some("new@example.com"), NEW_PASSWORD).await;
    assert_eq!(moved.status(), StatusCode::OK);

    // Once the outbox is done, its two links are all it held.
    wait_for_messages(&smtp, 2).await;
    eventually(|| outbox(&app).iter().all(|m| m.state == "sent")).await;
    assert_eq!(outbox(&app).len(), 2);
    let messages = smtp.messages();
    assert_eq!(messages.len(), 2, "{:?}", messages.iter().map(Mail::subject).collect::<Vec<_>>());
    assert!(messages[1].is_to("new@example.com"));
}
}
