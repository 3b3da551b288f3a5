//! `newsletter`: off unless asked for at `POST /register`, switched by
//! `PATCH /account`, each change one event.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::support::{assert_error, assert_invalid_field, spawn_app, TestApp, PASSWORD};

async fn set(app: &TestApp, client: &Client, body: Value) -> reqwest::Response {
    app.patch_json(client, "/account", &body).await
}

/// The caller's event kinds, oldest first.
async fn kinds(app: &TestApp, client: &Client) -> Vec<String> {
    let events: Value = app.events(client, "").await.json().await.unwrap();
    let mut kinds: Vec<String> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.reverse();
    kinds
}

backend_test! {
async fn the_newsletter_is_off_unless_asked_for_at_registration() {
    let app = spawn_app().await;
    let quiet = app.client();
    assert_eq!(app.register(&quiet, "Quiet").await.status(), StatusCode::CREATED);
    assert_eq!(app.account_json(&quiet).await["newsletter"], false);

    let keen = app.client();
    let body = json!({"username": "Keen", "password": PASSWORD, "newsletter": true});
    assert_eq!(app.post_json(&keen, "/register", &body).await.status(), StatusCode::CREATED);
    assert_eq!(app.account_json(&keen).await["newsletter"], true);
    // Part of the registration: no event of its own.
    assert_eq!(kinds(&app, &keen).await, ["registered"]);

    for wrong in [json!("yes"), json!(1), json!(null)] {
        let body = json!({"username": "Wrong", "password": PASSWORD, "newsletter": wrong});
        let refused = app.post_json(&app.client(), "/register", &body).await;
        assert_invalid_field(refused, "newsletter").await;
    }
}
}

backend_test! {
async fn patch_account_switches_it_with_one_event_per_change() {
    let app = spawn_app().await;
    let client = app.logged_in_client("Alice").await;

    let on = set(&app, &client, json!({"newsletter": true})).await;
    assert_eq!(on.status(), StatusCode::OK);
    let account: Value = on.json().await.unwrap();
    assert_eq!((&account["username"], &account["newsletter"]), (&json!("Alice"), &json!(true)));
    assert_eq!(app.account_json(&client).await["newsletter"], true);
    // The same again changes nothing and records nothing.
    assert_eq!(set(&app, &client, json!({"newsletter": true})).await.status(), StatusCode::OK);
    let off: Value = set(&app, &client, json!({"newsletter": false})).await.json().await.unwrap();
    assert_eq!(off["newsletter"], false);

    let events: Value = app.events(&client, "").await.json().await.unwrap();
    let events = events["events"].as_array().unwrap();
    assert_eq!(events[0]["kind"], "newsletter_unsubscribed");
    assert_eq!(events[1]["kind"], "newsletter_subscribed");
    assert_eq!(events[2]["kind"], "registered");
    for event in &events[..2] {
        assert_eq!(event["detail"], json!({"via": "account"}));
        assert!(event["ip"].is_string(), "the request's address: {event}");
    }

    // Only `newsletter`, and only a boolean.
    for wrong in [json!({}), json!({"newsletter": "on"}), json!({"newsletter": null})] {
        let refused = set(&app, &client, wrong).await;
        assert_invalid_field(refused, "newsletter").await;
    }
    assert_eq!(app.account_json(&client).await["newsletter"], false);
}
}

backend_test! {
async fn only_the_signed_in_owner_switches_it_and_never_from_another_site() {
    let app = spawn_app().await;
    let anonymous = set(&app, &app.client(), json!({"newsletter": true})).await;
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_logged_in").await;

    let client = app.logged_in_client("Alice").await;
    let forged = client
        .patch(app.url("/account"))
        .header("Origin", "https://evil.example")
        .json(&json!({"newsletter": true}))
        .send()
        .await
        .unwrap();
    assert_error(forged, StatusCode::FORBIDDEN, "forbidden_origin").await;
    assert_eq!(app.account_json(&client).await["newsletter"], false);
}
}
