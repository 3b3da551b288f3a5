//! One message per subscriber per post, whatever happens while it is
//! sent: two instances sending one newsletter, a `kill -9` in the middle
//! of a send, and promised mail (a reset link) leaving at once while a
//! newsletter is under way.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::support::db::count;
use crate::support::fakes::smtp::SmtpServer;
use crate::support::mail::first_reset_token;
use crate::support::{spawn_app_with, spawn_binary, wait_for};

backend_test! {
async fn two_instances_send_each_subscriber_one_message() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let url = smtp.url();
    let app = spawn_app_with(&[("SMTP_URL", &url)]).await;
    let sibling = app.sibling().await;
    let alice = author(&app).await;
    // More than one claim's worth, so that both instances take some.
    seed_subscribers(&app, "sub", 150);
    let id = draft(&app, &alice, "To everyone", "free").await;
    publish(&app, &alice, id, json!({"email": true})).await;
    sibling.advance_clock(1); // wakes the sibling's sender too

    let got = wait_for_letters(&smtp, "To everyone", 150).await;
    once_each(&got, "sub", 150);
    eventually_email(&app, &alice, id, json!({"status": "sent", "recipients": 150, "sent": 150})).await;
}
}

backend_test! {
async fn a_kill_9_in_the_middle_of_a_send_repeats_and_loses_nothing() {
    let Some(smtp) = SmtpServer::start_holding("Killed midway", 4).await else { return };
    let url = smtp.url();
    // The harness makes the data (and stops); the real binary sends, so
    // that it can be killed.
    let app = spawn_app_with(&[]).await;
    let alice = author(&app).await;
    seed_subscribers(&app, "k", 12);
    let id = draft(&app, &alice, "Killed midway", "free").await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "newsletter-test-secret-".repeat(4);
    let env = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SMTP_URL", url.as_str()),
        ("SESSION_SECRET", secret.as_str()),
    ];
    let (mut child, port, output) = spawn_binary(dir.path(), &env);
    let api = format!("http://127.0.0.1:{port}");
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = browser.post(format!("{api}/login"))
        .json(&json!({"username": "Alice", "password": PASSWORD})).send().await.unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let published = browser.post(format!("{api}/posts/{id}/publish"))
        .json(&json!({"email": true})).send().await.unwrap();
    assert_eq!(published.status(), StatusCode::OK);

    // Four accepted; the fifth is in the server's hands, unanswered.
    let held = wait_for(30, || smtp.holding()).await;
    assert!(held, "the send did not reach the fifth message:\n{}", output.lock().unwrap());
    // Killed once the eleven others, sent beside it, are taken and
    // recorded, so that the held one is the only delivery under way. (A
    // message the server took just before the kill, not yet recorded,
    // would be sent again: the one duplicate no sender can rule out.)
    let sent = format!("SELECT sent AS n FROM newsletters WHERE post_id = {id}");
    let recorded = wait_for(30, || {
        count(&app, &sent) == 11 && letters(&smtp, "Killed midway").len() == 11
    })
    .await;
    assert!(recorded, "the others are taken and recorded");
    child.0.kill().unwrap(); // SIGKILL: no chance to record anything
    child.0.wait().unwrap();
    smtp.release();

    // Started again (on the harness's clock, which the test moves past the
    // dead sender's lease): the rest, and nothing twice.
    let app = app.restart_with(&[("SMTP_URL", &url)]).await;
    app.advance_clock(10 * 60);
    let got = wait_for_letters(&smtp, "Killed midway", 12).await;
    once_each(&got, "k", 12);
    let alice = app.client();
    assert_eq!(app.login(&alice, "Alice", PASSWORD).await.status(), StatusCode::OK);
    eventually_email(&app, &alice, id, json!({"status": "sent", "recipients": 12, "sent": 12})).await;
}
}

backend_test! {
async fn a_reset_link_leaves_at_once_while_a_newsletter_is_held() {
    let Some(smtp) = SmtpServer::start_holding("Big issue", 0).await else { return };
    let url = smtp.url();
    let app = spawn_app_with(&[("SMTP_URL", &url)]).await;
    let alice = author(&app).await;
    reader(&app, &smtp, "Fred", "fred@example.com", true).await;
    seed_subscribers(&app, "big", 20);
    let id = draft(&app, &alice, "Big issue", "free").await;
    publish(&app, &alice, id, json!({"email": true})).await;
    assert!(wait_for(30, || smtp.holding()).await, "the newsletter's first message is held");

    // The newsletter's sender is stuck in the SMTP server; promised mail
    // has its own sender and its own connections.
    assert_eq!(app.forgot_password("fred@example.com").await.status(), StatusCode::ACCEPTED);
    first_reset_token(&smtp).await;
    assert!(smtp.holding());
    assert!(letters(&smtp, "Big issue").len() < 21, "the held message has not left");

    // Let go (answered "try again later"): the retry, on the app's clock.
    smtp.release();
    app.advance_clock(60);
    let got = wait_for_letters(&smtp, "Big issue", 21).await;
    assert_eq!(got.iter().filter(|m| m.is_to("fred@example.com")).count(), 1);
    eventually_email(&app, &alice, id, json!({"status": "sent", "recipients": 21, "sent": 21})).await;
}
}

backend_test! {
async fn who_leaves_before_their_message_leaves_gets_none_and_deleting_the_post_stops_the_rest() {
    // The first attempt to each `later-…` address is answered "try again
    // later": their messages have not left when they change their minds.
    let Some(smtp) = SmtpServer::start_deferring_once("Held back", "later-").await else { return };
    let url = smtp.url();
    let app = spawn_app_with(&[("SMTP_URL", &url)]).await;
    let alice = author(&app).await;
    let quitter = reader(&app, &smtp, "Quitter", "later-quitter@example.com", true).await;
    let leaver = reader(&app, &smtp, "Leaver", "later-leaver@example.com", true).await;
    reader(&app, &smtp, "Barred", "later-barred@example.com", true).await;
    reader(&app, &smtp, "Stays", "later-stays@example.com", true).await;
    reader(&app, &smtp, "Early", "early@example.com", true).await;
    let id = draft(&app, &alice, "Held back", "free").await;
    publish(&app, &alice, id, json!({"email": true})).await;
    let later = ["quitter", "leaver", "barred", "stays"].map(|n| format!("later-{n}@example.com"));
    assert!(wait_for(30, || later.iter().all(|a| smtp.deferred(a))).await, "each deferred once");
    wait_for_letters(&smtp, "Held back", 1).await;

    let off = app.patch_json(&quitter, "/account", &json!({"newsletter": false})).await;
    assert_eq!(off.status(), StatusCode::OK);
    assert_eq!(app.delete_account(&leaver, PASSWORD).await.status(), StatusCode::NO_CONTENT);
    execute(&app, "UPDATE users SET disabled = TRUE WHERE username = 'Barred'");
    app.advance_clock(60); // the retry's time
    let got = wait_for_letters(&smtp, "Held back", 2).await;
    assert!(got.iter().any(|m| m.is_to("early@")) && got.iter().any(|m| m.is_to("later-stays@")), "{got:#?}");
    eventually_email(&app, &alice, id, json!({"status": "sent", "recipients": 5, "sent": 2})).await;

    // A post deleted while its messages wait to be tried again sends
    // nothing more.
    seed_subscribers(&app, "later-gone", 3);
    let doomed = draft(&app, &alice, "Doomed", "free").await;
    let deferring = SmtpServer::start_deferring_once("Doomed", "later-").await.unwrap();
    let app = app.restart_with(&[("SMTP_URL", &deferring.url())]).await;
    let alice = app.client();
    assert_eq!(app.login(&alice, "Alice", PASSWORD).await.status(), StatusCode::OK);
    publish(&app, &alice, doomed, json!({"email": true})).await;
    let gone = ["later-gone0@example.com", "later-gone1@example.com", "later-gone2@example.com"];
    assert!(wait_for(30, || gone.iter().all(|a| deferring.deferred(a))).await, "each deferred once");
    assert_eq!(app.delete_post(&alice, doomed).await.status(), StatusCode::NO_CONTENT);
    app.advance_clock(60);
    // A later newsletter is the witness: its messages come after any retry
    // of the deleted post's.
    let after = draft(&app, &alice, "After the deletion", "free").await;
    publish(&app, &alice, after, json!({"email": true})).await;
    wait_for_letters(&deferring, "After the deletion", 5).await;
    let doomed_sent: Vec<_> = letters(&deferring, "Doomed").into_iter().filter(|m| m.raw.contains("later-gone")).collect();
    assert!(doomed_sent.is_empty(), "{doomed_sent:#?}");
}
}
