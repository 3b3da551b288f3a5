//! `kill -9` in the middle of a delivery: the real binary is killed while
//! the receiver holds its answer, and the one started after it sends the
//! message again, with the same `webhook-id` and body, and records it once.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{admin, create, LOOPBACK_ALLOWED};
use crate::support::db::{count, execute};
use crate::support::fakes::webhook_receiver::Receiver;
use crate::support::{spawn_app_with, spawn_binary, wait_for, PASSWORD};

backend_test! {
async fn a_delivery_cut_off_by_kill_9_is_sent_again_with_the_same_id() {
    let Some(receiver) = Receiver::start().await else { return };
    // The harness's app makes the database, the admin and the webhook, and
    // stops: the binary alone delivers from then on.
    let app = spawn_app_with(&LOOPBACK_ALLOWED).await;
    let admin = admin(&app).await;
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "webhook-crash-secret-".repeat(4);
    let mut env = vec![
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", secret.as_str()),
        ("RUST_LOG", "warn,tollgate=info,tollgate::access=warn"),
    ];
    env.extend_from_slice(&LOOPBACK_ALLOWED);

    receiver.hold(60).await;
    let (mut child, port, _output) = spawn_binary(dir.path(), &env);
    let joined = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/register"))
        .json(&json!({"username": "Ray", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), StatusCode::CREATED);
    // The message is at the receiver, its answer not yet sent: killed.
    let arrived = wait_for(20, || {
        count(&app, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE attempts = 1") == 1
    })
    .await;
    assert!(arrived, "the delivery was never claimed");
    assert_eq!(receiver.wait_for(1).await.len(), 1);
    child.kill().unwrap();
    child.wait().unwrap();
    let cut_off = "SELECT COUNT(*) AS n FROM webhook_deliveries \
                   WHERE status = 'pending' AND attempts = 1 AND lease_until IS NOT NULL";
    assert_eq!(count(&app, cut_off), 1, "the attempt was never recorded");

    // The claim's lease runs out (two minutes of real time, which a killed
    // process cannot be made to skip: its end is moved instead), and a
    // new process finds the delivery due again.
    execute(&app, "UPDATE webhook_deliveries SET lease_until = 0");
    receiver.hold(0).await;
    let (mut child, _port, _output) = spawn_binary(dir.path(), &env);
    let sent = wait_for(20, || {
        count(&app, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'succeeded'") == 1
    })
    .await;
    assert!(sent, "the delivery was never sent again");
    child.kill().unwrap();
    child.wait().unwrap();

    let got: Vec<Value> = receiver.received().await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0]["headers"]["webhook-id"], got[1]["headers"]["webhook-id"]);
    assert_eq!(got[0]["body"], got[1]["body"]);
    assert!(got.iter().all(|m| m["verified_with"] == json!([0])), "{got:?}");
    assert_eq!(count(&app, "SELECT CAST(attempts AS BIGINT) AS n FROM webhook_deliveries"), 2);
}
}
