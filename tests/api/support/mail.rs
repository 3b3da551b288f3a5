//! The app's mail as the recovery tests see it: an app wired to a real
//! SMTP server, the messages it received, the links in them, and the
//! outbox and forgot-password requests the sender works through.

use diesel::RunQueryDsl;
use reqwest::Client;
use serde_json::Value;

use super::db::count;
use super::fakes::smtp::{read_messages, Mail, SmtpServer};
use super::{eventually, spawn_app_with, TestApp};

/// A new SMTP server and an app (with `extra` settings) whose mail goes
/// to it; `None`, reported skipped, where `aiosmtpd` is missing.
pub async fn app_with_smtp(extra: &[(&str, &str)]) -> Option<(SmtpServer, TestApp)> {
    let smtp = SmtpServer::start().await?;
    let url = smtp.url();
    let mut vars = vec![("SMTP_URL", url.as_str())];
    vars.extend_from_slice(extra);
    let app = spawn_app_with(&vars).await;
    Some((smtp, app))
}

/// Waits until the server holds `n` messages, and returns them.
pub async fn wait_for_messages(smtp: &SmtpServer, n: usize) -> Vec<Mail> {
    eventually(|| smtp.messages().len() >= n).await;
    let messages = smtp.messages();
    assert!(
        messages.len() >= n,
        "expected {n} messages, got {}",
        messages.len()
    );
    messages
}

/// The last message to `address`.
pub async fn last_message_to(smtp: &SmtpServer, address: &str) -> Mail {
    eventually(|| smtp.messages().iter().any(|m| m.is_to(address))).await;
    smtp.messages()
        .into_iter()
        .rfind(|m| m.is_to(address))
        .unwrap_or_else(|| panic!("no message to {address}"))
}

/// The token of the first reset link the server received, once one came.
pub async fn first_reset_token(smtp: &SmtpServer) -> String {
    eventually(|| {
        smtp.messages()
            .iter()
            .any(|m| m.token("/reset-password").is_some())
    })
    .await;
    smtp.messages()
        .iter()
        .find_map(|m| m.token("/reset-password"))
        .unwrap()
}

/// Registers `username` with `email` and verifies the address through the
/// link mailed to it: a new browser, signed in.
pub async fn verified_user(app: &TestApp, username: &str, email: &str) -> reqwest::Client {
    let client = app.user(username).email(Some(email)).register().await;
    let dir = app.mail_dir();
    eventually(|| read_messages(&dir).iter().any(|m| m.is_to(email))).await;
    let token = read_messages(&dir)
        .iter()
        .rev()
        .filter(|m| m.is_to(email))
        .find_map(|m| m.token("/verify-email"))
        .expect("a verification link");
    let verified = app.verify_email(&token).await;
    assert_eq!(verified.status(), reqwest::StatusCode::NO_CONTENT);
    client
}

/// The `n`th message (from 1) the sender wrote into the app's MAIL_DIR,
/// once it has: its subject, a blank line, and its text.
pub async fn mailed_message(app: &TestApp, n: usize) -> String {
    let dir = app.mail_dir();
    eventually(|| read_messages(&dir).len() >= n).await;
    let message = &read_messages(&dir)[n - 1];
    format!("{}\n\n{}", message.subject(), message.text())
}

/// The token of the newest `.eml` message in the app's MAIL_DIR linking to
/// `path`, once the sender has written it.
pub async fn mailed_token(app: &TestApp, path: &str, messages: usize) -> String {
    let dir = app.mail_dir();
    eventually(|| read_messages(&dir).len() >= messages).await;
    read_messages(&dir)
        .iter()
        .rev()
        .find_map(|m| m.token(path))
        .unwrap_or_else(|| panic!("no message linking to {path}"))
}

/// The kinds of the caller's events, newest first.
pub async fn event_kinds(app: &TestApp, client: &Client) -> Vec<String> {
    let list: Value = app.events(client, "").await.json().await.unwrap();
    list["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// One message of the outbox.
#[derive(diesel::QueryableByName, Debug)]
pub struct OutboxRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub state: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub subject: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub body: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub created_at: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub next_attempt_at: i64,
    /// Why it was given up on.
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub failure: Option<String>,
}

/// The outbox, oldest message first.
pub fn outbox(app: &TestApp) -> Vec<OutboxRow> {
    diesel::sql_query(
        "SELECT state, attempts, subject, body, created_at, next_attempt_at, failure FROM outbox ORDER BY id",
    )
    .load(&mut app.db())
    .unwrap()
}

/// Waits until the sender has acted on every recorded forgot-password
/// request: what it queued for them is in the outbox from then on (it is
/// committed with the request's removal).
pub async fn forgot_settled(app: &TestApp) {
    eventually(|| count(app, "SELECT COUNT(*) AS n FROM forgot_requests") == 0).await;
    assert_eq!(count(app, "SELECT COUNT(*) AS n FROM forgot_requests"), 0);
}

pub fn reset_requested_events(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT COUNT(*) AS n FROM events WHERE kind = 'password_reset_requested'",
    )
}
