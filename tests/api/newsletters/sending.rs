//! Posts by email: `POST /posts/{id}/publish` with `email: true` sends the
//! post once to every enabled account taking the newsletter at a verified
//! address, through the real SMTP server the test starts — what each gets
//! by the post's access and their plan, when (at once, or when a scheduled
//! post falls due on the app's clock), never twice, the one-click
//! unsubscribe, and two instances sharing the work.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;
use crate::support::db::{count, execute};
use crate::support::mail::app_with_smtp;
use crate::support::{assert_error, TestApp, PASSWORD};

backend_test! {
async fn a_post_goes_once_to_each_subscriber_with_what_their_plan_may_read() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let alice = author(&app).await;
    reader(&app, &smtp, "Fred", "fred@example.com", true).await;
    reader(&app, &smtp, "Pam", "pam@example.com", true).await;
    execute(&app, "UPDATE users SET plan = 'premium' WHERE username = 'Pam'");
    reader(&app, &smtp, "Nora", "nora@example.com", false).await;
    reader(&app, &smtp, "Dora", "dora@example.com", true).await;
    execute(&app, "UPDATE users SET disabled = TRUE WHERE username = 'Dora'");
    // Unverified: no message, though the newsletter is on.
    let body = json!({"username": "Ulla", "password": PASSWORD, "email": "ulla@example.com", "newsletter": true});
    assert_eq!(app.post_json(&app.client(), "/register", &body).await.status(), StatusCode::CREATED);

    let id = draft(&app, &alice, "Owls at noon", "metered").await;
    assert_eq!(email_of(&app, &alice, id).await, Value::Null);
    publish(&app, &alice, id, json!({"email": true})).await;

    let got = wait_for_letters(&smtp, "Owls at noon", 2).await;
    let fred = got.iter().find(|m| m.is_to("fred@example.com")).expect("Fred's");
    let pam = got.iter().find(|m| m.is_to("pam@example.com")).expect("Pam's");
    // A free member: the title, the excerpt and the link, never the body.
    assert!(!fred.raw.contains("owl flies"), "{}", fred.raw);
    assert!(fred.raw.contains("What it is about."));
    assert!(fred.raw.contains("http://localhost:5173/blog/owls-at-noon"));
    // A premium member: the whole post, in both parts.
    assert!(pam.raw.contains(SECRET) && pam.raw.contains(&format!("<p>{SECRET}</p>")), "{}", pam.raw);
    for mail in [fred, pam] {
        assert!(mail.raw.contains("multipart/alternative") && mail.raw.contains("text/html"));
        let list = header(mail, "List-Unsubscribe").expect("List-Unsubscribe");
        let token = unsubscribe_token(mail);
        assert_eq!(list, format!("<{}>", app.url(&format!("/newsletter/unsubscribe?token={token}"))));
        assert_eq!(header(mail, "List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
        // Only the hash is stored.
        let stored = format!("SELECT COUNT(*) AS n FROM newsletter_recipients WHERE token_hash = '{token}'");
        assert_eq!(count(&app, &stored), 0);
    }
    eventually_email(&app, &alice, id, json!({"status": "sent", "recipients": 2, "sent": 2})).await;

    // A premium post: the same, and a line saying whom it is for.
    let members = draft(&app, &alice, "Members only", "premium").await;
    publish(&app, &alice, members, json!({"email": true})).await;
    let got = wait_for_letters(&smtp, "Members only", 2).await;
    let fred = got.iter().find(|m| m.is_to("fred@example.com")).expect("Fred's");
    let pam = got.iter().find(|m| m.is_to("pam@example.com")).expect("Pam's");
    assert!(!fred.raw.contains("owl flies") && fred.raw.contains("for premium members"), "{}", fred.raw);
    assert!(pam.raw.contains(SECRET) && !pam.raw.contains("for premium members"), "{}", pam.raw);

    // Published again, with email: never emailed again. A later post's
    // newsletter is the witness (its messages come after any of this one).
    assert_eq!(app.unpublish_post(&alice, id).await.status(), StatusCode::OK);
    publish(&app, &alice, id, json!({"email": true})).await;
    let later = draft(&app, &alice, "Later news", "free").await;
    publish(&app, &alice, later, json!({"email": true})).await;
    let free = wait_for_letters(&smtp, "Later news", 2).await;
    // A free post goes whole to everyone.
    assert!(free.iter().all(|m| m.raw.contains(SECRET)));
    assert_eq!(letters(&smtp, "Owls at noon").len(), 2);
    for nobody in ["nora@", "dora@", "ulla@"] {
        assert!(!smtp.messages().iter().any(|m| m.is_to(nobody) && m.subject() != "Confirm your email address"), "{nobody}");
    }
    // Newsletters do not count toward the address's hourly limit.
    let queued = count(&app, "SELECT COUNT(*) AS n FROM outbox WHERE recipient_key = 'fred@example.com'");
    assert_eq!(queued, 1, "the verification link alone");
}
}

/// `POST /newsletter/unsubscribe?token=…` as a mail provider sends it:
/// form-encoded, no cookie, no `Origin`.
async fn one_click(app: &TestApp, token: &str) -> reqwest::Response {
    app.bare_client()
        .post(app.url(&format!("/newsletter/unsubscribe?token={token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap()
}

backend_test! {
async fn one_click_unsubscribes_for_good_and_is_idempotent() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let alice = author(&app).await;
    let fred = reader(&app, &smtp, "Fred", "fred@example.com", true).await;
    reader(&app, &smtp, "Gus", "gus@example.com", true).await;
    let id = draft(&app, &alice, "First issue", "free").await;
    publish(&app, &alice, id, json!({"email": true})).await;
    let got = wait_for_letters(&smtp, "First issue", 2).await;
    let token = unsubscribe_token(got.iter().find(|m| m.is_to("fred@")).unwrap());

    for _ in 0..2 {
        let left = one_click(&app, &token).await;
        assert_eq!(left.status(), StatusCode::OK);
        assert_eq!(left.json::<Value>().await.unwrap(), json!({"status": "unsubscribed"}));
    }
    assert_eq!(app.account_json(&fred).await["newsletter"], false);
    let events: Value = app.events(&fred, "").await.json().await.unwrap();
    let left: Vec<&Value> = events["events"].as_array().unwrap().iter()
        .filter(|e| e["kind"] == "newsletter_unsubscribed").collect();
    assert_eq!(left.len(), 1, "{events}");
    assert_eq!(left[0]["detail"], json!({"via": "link"}));
    // The SPA's page posts JSON from another origin than the API's: also fine.
    let spa = app.bare_client()
        .post(app.url(&format!("/newsletter/unsubscribe?token={token}")))
        .header("origin", "https://mail.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({}))
        .send().await.unwrap();
    assert_eq!(spa.status(), StatusCode::OK);
    let empty = app.bare_client().post(app.url(&format!("/newsletter/unsubscribe?token={token}"))).send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    // A token no message carried, or none.
    let unknown = "A".repeat(43);
    assert_error(one_click(&app, &unknown).await, StatusCode::BAD_REQUEST, "invalid_token").await;
    assert_error(one_click(&app, "").await, StatusCode::BAD_REQUEST, "invalid_token").await;
    let bare = app.bare_client().post(app.url("/newsletter/unsubscribe")).send().await.unwrap();
    assert_error(bare, StatusCode::BAD_REQUEST, "invalid_token").await;

    // The next post goes to Gus alone.
    let next = draft(&app, &alice, "Second issue", "free").await;
    publish(&app, &alice, next, json!({"email": true})).await;
    let second = wait_for_letters(&smtp, "Second issue", 1).await;
    assert!(second[0].is_to("gus@example.com"));
    eventually_email(&app, &alice, next, json!({"status": "sent", "recipients": 1, "sent": 1})).await;
}
}

backend_test! {
async fn a_scheduled_post_is_sent_when_it_falls_due_and_unpublishing_first_sends_nothing() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let alice = author(&app).await;
    reader(&app, &smtp, "Fred", "fred@example.com", true).await;
    let in_two_hours = |app: &TestApp| {
        chrono::DateTime::from_timestamp(app.now() + 2 * 3_600, 0)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let id = draft(&app, &alice, "Tomorrow's post", "free").await;
    let at = in_two_hours(&app);
    let published = publish(&app, &alice, id, json!({"email": true, "at": at})).await;
    assert_eq!(published["status"], "scheduled");
    assert_eq!(published["email"], json!({"status": "pending", "recipients": 0, "sent": 0}));
    // Scheduled then unpublished: nothing goes.
    let dropped = draft(&app, &alice, "Dropped post", "free").await;
    publish(&app, &alice, dropped, json!({"email": true, "at": in_two_hours(&app)})).await;
    let unpublished = app.unpublish_post(&alice, dropped).await.json::<Value>().await.unwrap();
    assert_eq!(unpublished["email"], Value::Null);

    // A subscriber who joins before it falls due gets it too.
    reader(&app, &smtp, "Gus", "gus@example.com", true).await;
    app.advance_clock(2 * 3_600 + 60);
    let got = wait_for_letters(&smtp, "Tomorrow's post", 2).await;
    assert!(got.iter().any(|m| m.is_to("gus@example.com")));
    eventually_email(&app, &alice, id, json!({"status": "sent", "recipients": 2, "sent": 2})).await;
    assert!(letters(&smtp, "Dropped post").is_empty());
}
}
