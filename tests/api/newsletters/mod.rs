//! Newsletters: who takes them (`Account.newsletter`, chosen at
//! registration or on the account page), and posts sent to them by email
//! — once each, across instances and crashes.

mod once;
mod preference;
mod sending;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::db::execute;
use crate::support::fakes::smtp::{Mail, SmtpServer};
use crate::support::mail::last_message_to;
use crate::support::{eventually, TestApp, PASSWORD};

/// The sentence only a post's body holds.
pub(super) const SECRET: &str = "Only the body says the owl flies at noon.";

/// An author, `Alice`.
pub(super) async fn author(app: &TestApp) -> Client {
    let client = app.logged_in_client("Alice").await;
    execute(
        app,
        "UPDATE users SET role = 'author' WHERE username = 'Alice'",
    );
    client
}

/// Registers `username` at `email` taking the newsletter (or not), and
/// verifies the address through the link mailed to it.
pub(super) async fn reader(
    app: &TestApp,
    smtp: &SmtpServer,
    username: &str,
    email: &str,
    newsletter: bool,
) -> Client {
    let client = app.client();
    let body = json!({"username": username, "password": PASSWORD, "email": email, "newsletter": newsletter});
    assert_eq!(
        app.post_json(&client, "/register", &body).await.status(),
        StatusCode::CREATED
    );
    let token = last_message_to(smtp, email)
        .await
        .token("/verify-email")
        .expect("a verification link");
    assert_eq!(
        app.verify_email(&token).await.status(),
        StatusCode::NO_CONTENT
    );
    client
}

/// A new post by `author`, `access` (free, metered or premium), not yet
/// published; its id.
pub(super) async fn draft(app: &TestApp, author: &Client, title: &str, access: &str) -> i64 {
    let body = json!({"title": title, "body": format!("{SECRET}\n\nMore of it."), "excerpt": "What it is about.", "access": access});
    let created = app.create_post(author, &body).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap()
}

pub(super) async fn publish(app: &TestApp, author: &Client, id: i64, body: Value) -> Value {
    let published = app.publish_post(author, id, &body).await;
    assert_eq!(published.status(), StatusCode::OK);
    published.json().await.unwrap()
}

/// The messages whose subject is `title`.
pub(super) fn letters(smtp: &SmtpServer, title: &str) -> Vec<Mail> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.subject() == title)
        .collect()
}

/// Waits until `n` messages titled `title` came, and returns them.
pub(super) async fn wait_for_letters(smtp: &SmtpServer, title: &str, n: usize) -> Vec<Mail> {
    eventually(|| letters(smtp, title).len() >= n).await;
    let got = letters(smtp, title);
    assert_eq!(got.len(), n, "{got:#?}");
    got
}

/// A header's value, as it was sent.
pub(super) fn header(mail: &Mail, name: &str) -> Option<String> {
    let prefix = format!("{name}: ");
    mail.raw
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::to_owned)
}

/// The unsubscribe token a message carries.
pub(super) fn unsubscribe_token(mail: &Mail) -> String {
    mail.token("/unsubscribe").expect("an unsubscribe link")
}

pub(super) async fn email_of(app: &TestApp, author: &Client, id: i64) -> Value {
    app.editable_post(author, id)
        .await
        .json::<Value>()
        .await
        .unwrap()["email"]
        .clone()
}

/// Waits until the post's `email` is `want`.
pub(super) async fn eventually_email(app: &TestApp, author: &Client, id: i64, want: Value) {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = email_of(app, author, id).await;
        if last == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("email is {last}, not {want}");
}

/// Adds `n` accounts taking the newsletter at verified addresses
/// `{prefix}{i}@example.com`, straight into the database: the tests of
/// scale need many, and registering and verifying are tested elsewhere.
pub(super) fn seed_subscribers(app: &TestApp, prefix: &str, n: usize) {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "('{prefix}{i}', '{prefix}{i}', '', 'free', 1700000000, '{prefix}{i}@example.com', \
                 '{prefix}{i}@example.com', TRUE, 'reader', FALSE, TRUE)"
            )
        })
        .collect();
    execute(
        app,
        &format!(
            "INSERT INTO users (username, username_key, password_hash, plan, created_at, email, \
             email_key, email_verified, role, disabled, newsletter) VALUES {}",
            rows.join(", ")
        ),
    );
}

/// Whether every one of `n` seeded subscribers got exactly one of `got`.
pub(super) fn once_each(got: &[Mail], prefix: &str, n: usize) {
    for i in 0..n {
        let to = format!("{prefix}{i}@example.com");
        let copies = got.iter().filter(|m| m.is_to(&to)).count();
        assert_eq!(copies, 1, "{to} got {copies}");
    }
    assert_eq!(got.len(), n);
}
