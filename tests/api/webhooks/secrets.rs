//! A webhook's secrets, the signatures made with them and a token in its
//! URL never reach the log, at `RUST_LOG=trace`, through making, rotating,
//! a delivery that succeeds and one that fails.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::LOOPBACK_ALLOWED;
use crate::support::db::{count, execute};
use crate::support::fakes::webhook_receiver::Receiver;
use crate::support::{spawn_app_with, spawn_binary, wait_for, whole_output, PASSWORD};

backend_test! {
async fn no_webhook_secret_signature_or_url_token_reaches_the_log() {
    let Some(receiver) = Receiver::start().await else { return };
    let app = spawn_app_with(&[]).await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let session_secret = "webhook-log-secret-".repeat(5);
    let mut env = vec![
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", session_secret.as_str()),
        ("RUST_LOG", "trace"),
    ];
    env.extend_from_slice(&LOOPBACK_ALLOWED);
    let (mut child, port, output) = spawn_binary(dir.path(), &env);
    let base = format!("http://127.0.0.1:{port}");
    let admin = Client::builder().cookie_store(true).build().unwrap();
    let joined = admin
        .post(format!("{base}/register"))
        .json(&json!({"username": "Ada", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::CREATED);
    execute(&app, "UPDATE users SET role = 'admin' WHERE username = 'Ada'");

    let url_token = "url-token-hush-hush-4711";
    let url = receiver.url(&format!("?key={url_token}"));
    let made: Value = admin
        .post(format!("{base}/admin/webhooks"))
        .json(&json!({"url": url, "events": ["member.created"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let first = made["secret"].as_str().unwrap().to_owned();
    let rotated: Value = admin
        .post(format!("{base}/admin/webhooks/{}/rotate", made["id"]))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = rotated["secret"].as_str().unwrap().to_owned();
    receiver.configure(&[&first, &second], 200, 0).await;

    // One delivery answered, then one refused (and logged as failed).
    let join = |name: &'static str| {
        Client::new()
            .post(format!("{base}/register"))
            .json(&json!({"username": name, "password": PASSWORD}))
            .send()
    };
    assert_eq!(join("Ray").await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(receiver.wait_for(1).await.len(), 1);
    receiver.configure(&[&first, &second], 503, 0).await;
    assert_eq!(join("Sue").await.unwrap().status(), StatusCode::CREATED);
    let failed = wait_for(20, || {
        count(&app, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE last_status = 503") == 1
    })
    .await;
    assert!(failed, "the refused delivery was never recorded");
    child.kill().unwrap();
    child.wait().unwrap();
    let log = whole_output(&output).await;

    assert!(log.contains("a webhook delivery failed"), "the failure is logged");
    let got = receiver.received().await;
    let mut secrets = vec![first.clone(), second.clone(), url_token.to_owned()];
    // Each secret's key as base64, without the prefix.
    secrets.extend([&first, &second].map(|s| s.trim_start_matches("whsec_").to_owned()));
    for message in &got {
        let signatures = message["headers"]["webhook-signature"].as_str().unwrap();
        for signature in signatures.split(' ') {
            secrets.push(signature.trim_start_matches("v1,").to_owned());
        }
    }
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{secret} is in the log");
    }
}
}
