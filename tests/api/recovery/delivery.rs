//! Delivering the mail: per-address limits, retries while SMTP is down,
//! giving up after a day, each message once across instances and kills,
//! the MAIL_DIR fallback, and no link's token in the log.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::NEW_PASSWORD;
use crate::support::db::count;
use crate::support::fakes::smtp::{self, read_messages, SmtpServer};
use crate::support::internals::token;
use crate::support::mail::{
    app_with_smtp, forgot_settled, outbox, reset_requested_events, wait_for_messages,
};
use crate::support::{
    eventually, free_port, spawn_app_with, spawn_binary, wait_for, TestApp, PASSWORD,
};

/// The harness makes the database (and is stopped); the real binary
/// serves it from a folder of its own, so that it can be killed.
async fn database_for_the_binary() -> (TestApp, tempfile::TempDir) {
    let app = spawn_app_with(&[]).await;
    app.stop().await;
    (app, tempfile::tempdir().unwrap())
}

/// The real binary's settings on `app`'s database, mailing through
/// `smtp_url`: the same secret for every run, as a restart would have.
fn binary_env<'a>(app: &'a TestApp, smtp_url: &'a str) -> [(&'static str, &'a str); 4] {
    [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", SECRET),
        ("SMTP_URL", smtp_url),
        ("RUST_LOG", "warn,tollgate=info,tollgate::access=warn"),
    ]
}

const SECRET: &str = "recovery-test-secret-recovery-test-secret-recovery-test-secret-recovery-test-secret-recovery-test-secret-";

/// Registers alice, with her address, on the binary at `api`.
async fn register_alice(api: &str) {
    let response = reqwest::Client::new()
        .post(format!("{api}/register"))
        .json(&json!({"username": "alice", "password": PASSWORD, "email": "alice@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
}

backend_test! {
async fn the_per_address_limit_holds_across_instances_and_the_hour() {
    let settings = [("MAIL_MAX_PER_ADDRESS_PER_HOUR", "2")];
    let Some((smtp, app)) = app_with_smtp(&settings).await else { return };
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
async fn a_waiting_message_holds_no_link_or_code_in_clear() {
    if !smtp::available() {
        return;
    }
    let port = free_port();
    let url = smtp::smtp_url(port);
    let app = spawn_app_with(&[("SMTP_URL", url.as_str())]).await;
    // A verification link, a reset link and a sign-in link and code, all
    // waiting for a mail server that is not there yet.
    app.user("alice").email(Some("alice@example.com")).register().await;
    assert_eq!(app.forgot_password("alice@example.com").await.status(), StatusCode::ACCEPTED);
    let asked = app.post_json(&app.client(), "/login/email", &serde_json::json!({"email": "carol@example.com"})).await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    eventually(|| outbox(&app).len() >= 3 && outbox(&app).iter().all(|m| m.attempts >= 1)).await;
    let waiting = outbox(&app);
    assert_eq!(waiting.len(), 3, "{waiting:?}");
    for message in &waiting {
        assert_eq!(message.state, "pending");
        for text in [&message.subject, &message.body] {
            assert!(text.starts_with("sealed:v1:"), "{text}");
            assert!(!text.contains("token=") && !text.contains("http"), "{text}");
        }
    }

    // The server comes: each is opened, delivered whole, and blanked.
    let smtp = SmtpServer::start_on(port).await;
    app.advance_clock(60);
    let messages = wait_for_messages(&smtp, 3).await;
    let link = messages.iter().find_map(|m| m.token("/verify-email")).expect("a verification link");
    assert_eq!(app.verify_email(&link).await.status(), StatusCode::NO_CONTENT);
    assert!(messages.iter().any(|m| m.token("/reset-password").is_some()));
    assert!(messages.iter().any(|m| m.token("/login/email").is_some() && m.subject().chars().any(|c| c.is_ascii_digit())));
    eventually(|| outbox(&app).iter().all(|m| m.state == "sent")).await;
    assert!(outbox(&app).iter().all(|m| m.subject.is_empty() && m.body.is_empty()));
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
async fn a_message_the_mail_server_refuses_for_good_is_given_up_at_once() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    app.user("alice").email(Some("refused@example.com")).register().await;

    eventually(|| outbox(&app).iter().all(|m| m.state == "failed")).await;
    let rows = outbox(&app);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].attempts, 1, "not retried: {rows:?}");
    let why = rows[0].failure.as_deref().unwrap_or_default();
    assert!(why.contains("550"), "the server's refusal is kept: {why:?}");
    assert!(rows[0].body.is_empty(), "no link outlives the message");
    // Well past its first retry's back-off (seconds), with the sender busy
    // delivering another message, it has not been tried again. (Done rows
    // are kept an hour, so it is still there to see.)
    app.advance_clock(600);
    app.user("bob").email(Some("bob@example.com")).register().await;
    wait_for_messages(&smtp, 1).await;
    let rows = outbox(&app);
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("failed", 1), "{rows:?}");
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
    let (app, dir) = database_for_the_binary().await;
    let port = free_port();
    let url = smtp::smtp_url(port);
    let env = binary_env(&app, &url);
    // Nothing listens on the SMTP port yet: this instance cannot deliver.
    let (mut child, api_port, _output) = spawn_binary(dir.path(), &env);
    register_alice(&format!("http://127.0.0.1:{api_port}")).await;
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
async fn a_forgot_request_acknowledged_before_a_kill_9_is_acted_on_after_restart() {
    if !smtp::available() {
        return;
    }
    let (app, dir) = database_for_the_binary().await;
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
    let env = binary_env(&app, &silent_url);
    let (mut child, api_port, _output) = spawn_binary(dir.path(), &env);
    let api = format!("http://127.0.0.1:{api_port}");
    register_alice(&api).await;
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
    let env = binary_env(&app, &url);
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
    assert_eq!(app.account_json(&client).await["email_verified"], true);

    // Named by time, outbox id and recipient, never by anything secret;
    // readable by the server's user alone, in a folder of its own.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1);
    let name = &names[0];
    assert!(name.ends_with("-alice@example.com.eml"), "{name}");
    assert!(!name.contains(&token), "{name}");
    let at = chrono::DateTime::from_timestamp(app.now(), 0).unwrap();
    assert!(name.starts_with(&at.format("%Y%m%dT").to_string()), "{name}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.join(name)), 0o600);
        assert_eq!(mode(&dir), 0o700);
    }
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

    let log = crate::support::whole_output(&output).await;
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
