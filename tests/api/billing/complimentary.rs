//! Complimentary premium: an admin's `premium_until` (and `tollgate
//! set-plan … premium --until`) makes a user premium until a time, read
//! with the session, lapsing on the app's clock with nothing run then;
//! subscription events never shorten it.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::cli::tollgate_on;
use crate::support::db::{count, execute};
use crate::support::stripe::{billing_app, customer, deliver_ok, plan, subscription_event};
use crate::support::{assert_invalid_field, spawn_app, TestApp};

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// RFC 3339 as the API writes it.
fn at(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The admin `Ada`, logged in.
async fn admin(app: &TestApp) -> Client {
    let admin = app.logged_in_client("Ada").await;
    execute(
        app,
        "UPDATE users SET role = 'admin' WHERE username = 'Ada'",
    );
    admin
}

async fn grant(app: &TestApp, admin: &Client, id: i64, until: Value) -> reqwest::Response {
    let body = json!({ "premium_until": until });
    app.patch_json(admin, &format!("/admin/users/{id}"), &body)
        .await
}

/// The reader's own events, newest first.
async fn events(app: &TestApp, reader: &Client) -> Value {
    app.events(reader, "").await.json().await.unwrap()
}

fn plan_changes(app: &TestApp, id: i64) -> i64 {
    count(
        app,
        &format!("SELECT COUNT(*) AS n FROM events WHERE user_id = {id} AND kind = 'plan_changed'"),
    )
}

backend_test! {
async fn a_grant_is_premium_until_it_lapses_by_itself() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let reader = app.client();
    let me: Value = app.register(&reader, "Bea").await.json().await.unwrap();
    let id = me["id"].as_i64().unwrap();
    // Hours, not days: the session must outlive the moved clock.
    let until = app.now() + 2 * HOUR;

    let answer = grant(&app, &admin, id, json!(at(until))).await;

    assert_eq!(answer.status(), StatusCode::OK);
    let shown: Value = answer.json().await.unwrap();
    assert_eq!((&shown["plan"], &shown["premium_until"]), (&json!("premium"), &json!(at(until))));
    assert_eq!(plan(&app, &reader).await, "premium", "the session reads the grant at once");
    let account = app.account_json(&reader).await;
    assert_eq!((&account["plan"], &account["premium_until"]), (&json!("premium"), &json!(at(until))));
    // Unmetered: more posts than FREE_READS, none refused.
    for post in 1..=7 {
        assert_eq!(app.blog_post(&reader, post).await.status(), StatusCode::OK, "post {post}");
    }
    assert_eq!(plan_changes(&app, id), 1);
    let event = &events(&app, &reader).await["events"][0];
    assert_eq!(event["kind"], "plan_changed");
    assert_eq!(event["detail"]["from"], "free");
    assert_eq!(event["detail"]["to"], "premium");
    assert_eq!(event["detail"]["source"], "admin");
    assert_eq!(event["detail"]["by"], "Ada");
    assert_eq!(event["detail"]["premium_until"], at(until));

    // A minute before its end: still premium (the app's clock runs on
    // between the steps); past its end: free, with no event and nothing run.
    app.advance_clock((2 * HOUR - 60) as u64);
    assert_eq!(plan(&app, &reader).await, "premium");
    app.advance_clock(60);
    assert_eq!(plan(&app, &reader).await, "free");
    let account = app.account_json(&reader).await;
    assert_eq!((&account["plan"], &account["premium_until"]), (&json!("free"), &Value::Null));
    let listed: Value = app.get(&admin, "/admin/users?q=bea").await.json().await.unwrap();
    assert_eq!(listed["users"][0]["plan"], "free");
    assert_eq!(listed["users"][0]["premium_until"], Value::Null);
    assert_eq!(plan_changes(&app, id), 1, "a lapse records nothing");
    // Metered again, and the reads of the grant spent nothing: five free
    // reads, then the paywall.
    for post in 1..=5 {
        assert_eq!(app.blog_post(&reader, post).await.status(), StatusCode::OK, "post {post}");
    }
    assert_eq!(app.blog_post(&reader, 6).await.status(), StatusCode::PAYMENT_REQUIRED);
}
}

backend_test! {
async fn subscription_events_never_shorten_a_grant() {
    let (app, stripe) = billing_app(&[]).await;
    let admin = admin(&app).await;
    let (reader, id, customer) = customer(&app, &stripe, "Bea").await;
    let t = app.now();
    deliver_ok(&app, &subscription_event("evt_1", "customer.subscription.created", t, "sub_1", &customer, "active")).await;
    assert_eq!(plan(&app, &reader).await, "premium");

    let until = t + 30 * DAY;
    assert_eq!(grant(&app, &admin, id, json!(at(until))).await.status(), StatusCode::OK);
    // Premium by both: the grant's event says the plan stayed premium.
    let event = &events(&app, &reader).await["events"][0];
    assert_eq!((&event["detail"]["from"], &event["detail"]["to"]), (&json!("premium"), &json!("premium")));

    // The subscription ends: the stored plan is free, the grant holds, and
    // as the plan in force did not change, no plan_changed says it did.
    let before = plan_changes(&app, id);
    deliver_ok(&app, &subscription_event("evt_2", "customer.subscription.deleted", t + 60, "sub_1", &customer, "canceled")).await;
    assert_eq!(plan(&app, &reader).await, "premium");
    assert_eq!(count(&app, &format!("SELECT COUNT(*) AS n FROM users WHERE id = {id} AND plan = 'free'")), 1);
    assert_eq!(plan_changes(&app, id), before);
    let account = app.account_json(&reader).await;
    assert_eq!(account["premium_until"], at(until));

    // Removing the grant (null): free at once.
    let removed: Value = grant(&app, &admin, id, Value::Null).await.json().await.unwrap();
    assert_eq!((&removed["plan"], &removed["premium_until"]), (&json!("free"), &Value::Null));
    assert_eq!(plan(&app, &reader).await, "free");
    // Absent: left as it is; the same again: no event.
    let before = plan_changes(&app, id);
    let patched = app.patch_json(&admin, &format!("/admin/users/{id}"), &json!({"role": "reader"})).await;
    assert_eq!(patched.status(), StatusCode::OK);
    assert_eq!(grant(&app, &admin, id, Value::Null).await.status(), StatusCode::OK);
    assert_eq!(plan_changes(&app, id), before);
}
}

backend_test! {
async fn a_grant_must_end_in_the_future_as_a_time() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    let reader = app.client();
    let me: Value = app.register(&reader, "Bea").await.json().await.unwrap();
    let id = me["id"].as_i64().unwrap();
    for wrong in [json!(at(app.now())), json!(at(app.now() - DAY)), json!("next week"), json!(20270101)] {
        let refused = grant(&app, &admin, id, wrong.clone()).await;
        assert_invalid_field(refused, "premium_until").await;
    }
    assert_eq!(plan(&app, &reader).await, "free");
    assert_eq!(plan_changes(&app, id), 0);
    // Readers cannot give themselves one.
    let own = grant(&app, &reader, id, json!(at(app.now() + DAY))).await;
    assert_eq!(own.status(), StatusCode::FORBIDDEN);
}
}

backend_test! {
async fn set_plan_until_gives_the_same_grant_from_the_command_line() {
    let app = spawn_app().await;
    let reader = app.logged_in_client("Bea").await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| tollgate_on(dir.path(), &app.database_url, args);
    // The command line runs on the real clock, where the app's starts.
    let until = app.now() + 2 * HOUR;

    let output = run(&["set-plan", "bea", "premium", "--until", &at(until)]);

    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("bea is premium until {}", at(until))
    );
    assert_eq!(plan(&app, &reader).await, "premium");
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM users WHERE username = 'Bea' AND plan = 'free'"), 1, "the stored plan stays");
    let event = &events(&app, &reader).await["events"][0];
    assert_eq!((&event["detail"]["source"], &event["detail"]["to"]), (&json!("cli"), &json!("premium")));
    // The stored plan set by hand meanwhile: the grant still rules, and
    // the command says so.
    let output = run(&["set-plan", "bea", "free"]);
    assert!(output.status.success(), "{output:?}");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("complimentary premium keeps bea premium until"), "{said}");
    assert_eq!(plan(&app, &reader).await, "premium");
    app.advance_clock((2 * HOUR + 60) as u64);
    assert_eq!(plan(&app, &reader).await, "free");

    for (args, why) in [
        (vec!["set-plan", "bea", "free", "--until", "2099-01-01T00:00:00Z"], "premium"),
        (vec!["set-plan", "bea", "premium", "--until", "2001-01-01T00:00:00Z"], "future"),
        (vec!["set-plan", "bea", "premium", "--until", "soon"], "RFC 3339"),
        (vec!["set-plan", "nobody", "premium", "--until", "2099-01-01T00:00:00Z"], "nobody"),
    ] {
        let output = run(&args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}
}
