//! Making, listing, changing and deleting webhooks; what is refused.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{admin, create, LOOPBACK_ALLOWED};
use crate::support::{spawn_app, spawn_app_with};

backend_test! {
async fn an_admin_makes_lists_changes_and_deletes_a_webhook() {
    let app = spawn_app_with(&LOOPBACK_ALLOWED).await;
    let admin = admin(&app).await;

    let made = create(&app, &admin, "https://hooks.example.com/a", &["member.created"]).await;
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(made["events"], json!(["member.created"]));
    assert_eq!(made["enabled"], true);
    let id = made["id"].as_i64().unwrap();

    let listed: Value = app.get(&admin, "/admin/webhooks").await.json().await.unwrap();
    assert_eq!(listed["webhooks"].as_array().unwrap().len(), 1);
    assert!(listed["webhooks"][0].get("secret").is_none(), "{listed}");

    let path = format!("/admin/webhooks/{id}");
    let changed = app
        .patch_json(&admin, &path, &json!({"enabled": false, "events": ["*"], "description": "CRM"}))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(changed["enabled"], false);
    assert_eq!(changed["events"], json!(["*"]));
    assert_eq!(changed["description"], "CRM");
    assert!(changed.get("secret").is_none());

    let rotated = app.post_json(&admin, &format!("{path}/rotate"), &json!({})).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);

    assert_eq!(app.delete(&admin, &path).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.delete(&admin, &path).await.status(), StatusCode::NOT_FOUND);
    let listed: Value = app.get(&admin, "/admin/webhooks").await.json().await.unwrap();
    assert_eq!(listed["webhooks"], json!([]));
}
}

backend_test! {
async fn bad_urls_and_event_types_are_refused_with_their_field() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    for (body, field) in [
        (json!({"url": "http://hooks.example.com/", "events": ["*"]}), "url"),
        (json!({"url": "not a url", "events": ["*"]}), "url"),
        (json!({"url": format!("https://example.com/{}", "a".repeat(2_000)), "events": ["*"]}), "url"),
        (json!({"url": "https://hooks.example.com/", "events": ["member.exploded"]}), "events"),
        (json!({"url": "https://hooks.example.com/", "events": []}), "events"),
        (json!({"url": "https://hooks.example.com/", "events": "*"}), "events"),
        (json!({"events": ["*"]}), "url"),
    ] {
        let response = app.post_json(&admin, "/admin/webhooks", &body).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let answer: Value = response.json().await.unwrap();
        assert!(answer["fields"][field].is_string(), "{body}: {answer}");
    }
}
}

backend_test! {
async fn addresses_inside_the_network_are_refused_without_the_private_flag() {
    let app = spawn_app_with(&[("WEBHOOK_ALLOW_HTTP", "true")]).await;
    let admin = admin(&app).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fc00::1]/hook",
        "http://0.0.0.0/hook",
        "http://localhost:9/hook",
    ] {
        let response = app
            .post_json(&admin, "/admin/webhooks", &json!({"url": url, "events": ["*"]}))
            .await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        let answer: Value = response.json().await.unwrap();
        assert!(answer["fields"]["url"].is_string(), "{url}: {answer}");
    }
    // Changing an accepted webhook's URL is held to the same rule.
    let made = create(&app, &admin, "https://hooks.example.com/", &["*"]).await;
    let path = format!("/admin/webhooks/{}", made["id"]);
    let response = app
        .patch_json(&admin, &path, &json!({"url": "http://127.0.0.1:9/"}))
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
}

backend_test! {
async fn at_most_twenty_webhooks() {
    let app = spawn_app().await;
    let admin = admin(&app).await;
    for n in 0..20 {
        create(&app, &admin, &format!("https://hooks.example.com/{n}"), &["*"]).await;
    }
    let response = app
        .post_json(
            &admin,
            "/admin/webhooks",
            &json!({"url": "https://hooks.example.com/21", "events": ["*"]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
}

backend_test! {
async fn only_admins_manage_webhooks() {
    let app = spawn_app().await;
    let reader = app.user("Reader").register().await;
    for (method, path) in [
        ("GET", "/admin/webhooks"),
        ("POST", "/admin/webhooks"),
        ("PATCH", "/admin/webhooks/1"),
        ("DELETE", "/admin/webhooks/1"),
        ("POST", "/admin/webhooks/1/rotate"),
        ("GET", "/admin/webhooks/1/deliveries"),
        ("POST", "/admin/webhooks/1/deliveries/1/retry"),
    ] {
        let body = json!({"url": "https://x.example/", "events": ["*"]});
        let body = (method != "GET" && method != "DELETE").then_some(&body);
        let response = app.send_json(&reader, method, path, body).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{method} {path}");
    }
}
}
