//! What a browser read without a session joins the account it signs in
//! to: every way in (registration, password, the second step, an emailed
//! link), once, each post counted once, earliest first, never past
//! FREE_READS; signing out gives the browser nothing new, and premium
//! readers take nothing. (A passkey and each kind of provider too.)

use futures_util::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{app_reading, listed_used, open, opened};
use crate::each_provider;
use crate::providers::{lands_at, spawn, Person};
use crate::support::authenticator::Authenticator;
use crate::support::db::{count, execute};
use crate::support::mail::mailed_token;
use crate::support::{assert_error, TestApp, PASSWORD};
use crate::two_factor::{code, enrolled, second_step};

/// The posts the caller's listing shows unlocked among the metered ones.
async fn unlocked_ids(app: &TestApp, client: &Client) -> Vec<i64> {
    let list: Value = app.get(client, "/blog").await.json().await.unwrap();
    let mut ids: Vec<i64> = list["posts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["unlocked"] == true && p["access"] == "metered")
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

/// A browser that opened `ids` without a session, in that order, a minute
/// apart on the app's clock.
async fn browser_that_read(app: &TestApp, ids: &[i64]) -> Client {
    let browser = app.client();
    for id in ids {
        opened(app, &browser, *id).await;
        app.advance_clock(60);
    }
    browser
}

backend_test! {
async fn registering_brings_the_browsers_reads_and_signing_out_gives_none_back() {
    let app = app_reading("3", &[]).await;
    let browser = browser_that_read(&app, &[1, 2, 3]).await;
    assert_error(open(&app, &browser, 4).await, StatusCode::PAYMENT_REQUIRED, "registration_required").await;

    assert_eq!(app.user("alice").register_in(&browser).await.status(), StatusCode::CREATED);

    assert_eq!(listed_used(&app, &browser).await, 3);
    assert_eq!(unlocked_ids(&app, &browser).await, vec![1, 2, 3]);
    // A re-read of what it brought spends nothing; a new post spends one.
    assert_eq!(opened(&app, &browser, 2).await, 3);
    assert_eq!(opened(&app, &browser, 4).await, 4);

    // Signed out, the browser's own meter stays spent.
    assert_eq!(app.logout(&browser).await.status(), StatusCode::NO_CONTENT);
    assert_error(open(&app, &browser, 5).await, StatusCode::PAYMENT_REQUIRED, "registration_required").await;
    assert_eq!(opened(&app, &browser, 1).await, 3);
    // Another account signing in on it receives nothing.
    let bob = app.client();
    assert_eq!(app.user("bob").register_in(&bob).await.status(), StatusCode::CREATED);
    assert_eq!(app.logout(&bob).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.user("bob").log_in(&browser).await.status(), StatusCode::OK);
    assert_eq!(listed_used(&app, &browser).await, 0);
    // And alice, signing in on it again, takes nothing twice.
    let alice = app.client();
    assert_eq!(app.user("alice").log_in(&alice).await.status(), StatusCode::OK);
    assert_eq!(listed_used(&app, &alice).await, 4);
}
}

backend_test! {
async fn a_post_read_both_ways_counts_once_and_the_merge_stops_at_free_reads() {
    let app = app_reading("3", &[("FREE_READS", "3")]).await;
    let alice = app.logged_in_client("alice").await;
    assert_eq!(opened(&app, &alice, 5).await, 1);
    assert_eq!(opened(&app, &alice, 1).await, 2);
    // Opened without a session in this order: 2 first, then 1, then 3.
    let browser = browser_that_read(&app, &[2, 1, 3]).await;

    assert_eq!(app.user("alice").log_in(&browser).await.status(), StatusCode::OK);

    // 5 and 1 were hers; 2 came first of the browser's and fits; 1 counts
    // once; 3 is past FREE_READS and stays closed.
    assert_eq!(unlocked_ids(&app, &browser).await, vec![1, 2, 5]);
    assert_error(open(&app, &browser, 3).await, StatusCode::PAYMENT_REQUIRED, "paywall").await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM unlocks"), 3);
}
}

backend_test! {
async fn the_second_step_brings_the_reads_when_it_finishes_not_before() {
    let app = app_reading("2", &[]).await;
    let alice = enrolled(&app, "alice").await;
    let browser = browser_that_read(&app, &[7, 8]).await;

    let first = app.user("alice").log_in(&browser).await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM unlocks"), 0);
    let finished = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    assert_eq!(finished.status(), StatusCode::OK);

    assert_eq!(unlocked_ids(&app, &browser).await, vec![7, 8]);
}
}

backend_test! {
async fn an_emailed_sign_in_that_makes_an_account_brings_the_reads() {
    let app = app_reading("2", &[]).await;
    let browser = browser_that_read(&app, &[4]).await;

    let asked = app.post_json(&browser, "/login/email", &json!({"email": "carol@example.com"})).await;
    assert_eq!(asked.status(), StatusCode::ACCEPTED);
    let token = mailed_token(&app, "/login/email", 1).await;
    let signed_in = app.post_json(&browser, "/login/email/verify", &json!({"token": token})).await;
    assert!(signed_in.status().is_success(), "{}", signed_in.status());

    assert_eq!(unlocked_ids(&app, &browser).await, vec![4]);
}
}

backend_test! {
async fn two_sign_ins_racing_in_one_browser_merge_once() {
    let app = app_reading("3", &[]).await;
    for name in ["alice", "bob"] {
        let client = app.logged_in_client(name).await;
        assert_eq!(app.logout(&client).await.status(), StatusCode::NO_CONTENT);
    }
    let browser = browser_that_read(&app, &[1, 2, 3]).await;

    let answers = join_all([
        app.user("alice").log_in(&browser),
        app.user("bob").log_in(&browser),
    ])
    .await;
    assert!(answers.iter().all(|r| r.status() == StatusCode::OK));

    // One of them took the three reads, the other none.
    let taken = count(&app, "SELECT COUNT(*) AS n FROM unlocks");
    let takers = count(&app, "SELECT COUNT(DISTINCT user_id) AS n FROM unlocks");
    assert_eq!((taken, takers), (3, 1));
}
}

backend_test! {
async fn premium_readers_and_staff_take_nothing() {
    let app = app_reading("3", &[]).await;
    for (name, sql) in [
        ("paula", "UPDATE users SET plan = 'premium' WHERE username = 'paula'"),
        ("adam", "UPDATE users SET role = 'admin' WHERE username = 'adam'"),
    ] {
        let client = app.logged_in_client(name).await;
        assert_eq!(app.logout(&client).await.status(), StatusCode::NO_CONTENT);
        execute(&app, sql);
        let browser = browser_that_read(&app, &[1, 2]).await;
        let response = app
            .post_json(&browser, "/login", &json!({"username": name, "password": PASSWORD}))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let post: Value = open(&app, &browser, 3).await.json().await.unwrap();
        assert_eq!(post["meter"], Value::Null);
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM unlocks"), 0);
}
}

backend_test! {
async fn a_passkey_sign_in_brings_the_reads() {
    let app = app_reading("3", &[]).await;
    let alice = app.logged_in_client("alice").await;
    let options: Value = app
        .post_json(&alice, "/account/passkeys/options", &json!({"password": PASSWORD}))
        .await
        .json()
        .await
        .unwrap();
    let mut laptop = Authenticator::local();
    let credential = laptop.create(&options);
    let added = app
        .post_json(&alice, "/account/passkeys", &json!({"credential": credential, "name": "Laptop"}))
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    let browser = browser_that_read(&app, &[6, 9]).await;

    let asked: Value = app
        .post_json(&browser, "/login/passkey/options", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let signed_in = app
        .post_json(&browser, "/login/passkey", &json!({"credential": laptop.get(&asked)}))
        .await;
    assert_eq!(signed_in.status(), StatusCode::OK);

    assert_eq!(unlocked_ids(&app, &browser).await, vec![6, 9]);
}
}

backend_test! {
async fn a_providers_sign_in_brings_the_reads() {
    each_provider!(kind, {
        let Some((idp, app)) = spawn(kind, &[("ANONYMOUS_READS", "3")]).await else { continue };
        let browser = browser_that_read(&app, &[3, 11]).await;

        let person = Person::new("2002", "reader.two", "Two@Example.com");
        lands_at(&idp.sign_in(&app, &browser, &person).await, "/");

        assert_eq!(unlocked_ids(&app, &browser).await, vec![3, 11], "{kind:?}");
    });
}
}
