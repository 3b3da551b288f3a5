//! Where webhooks meet the world: a receiver's redirect is never followed,
//! a name that resolves inside the network at delivery time is never
//! reached, the metrics count what happened, the cap holds under parallel
//! creates, and two instances on one database deliver each message once.

use std::collections::BTreeMap;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::events::settled;
use super::{admin, create, with_receiver, LOOPBACK_ALLOWED};
use crate::metrics::{scrape, value};
use crate::support::db::count;
use crate::support::fakes::webhook_receiver::Receiver;
use crate::support::{spawn_app_with, TestApp};

/// Webhook `id`'s deliveries once `done` holds for them (the deliverer
/// records an attempt after the receiver has answered).
async fn deliveries_when(
    app: &TestApp,
    admin: &Client,
    id: i64,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    for _ in 0..200 {
        let log: Value = app
            .get(admin, &format!("/admin/webhooks/{id}/deliveries"))
            .await
            .json()
            .await
            .unwrap();
        let deliveries = log["deliveries"].as_array().unwrap().clone();
        if done(&deliveries) {
            return deliveries;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the deliveries of webhook {id} never came to what the test waited for");
}

backend_test! {
async fn a_redirect_is_a_failure_and_never_followed() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    let id = made["id"].as_i64().unwrap();
    // The receiver sends the message on to another of its paths, as a
    // receiver that wanted to steer it inside the network would.
    receiver.redirect(&[made["secret"].as_str().unwrap()], 307, &receiver.url("/elsewhere")).await;

    app.user("Ray").register().await;
    let first = deliveries_when(&app, &admin, id, |d| d.len() == 1 && d[0]["attempts"] == 1 && d[0]["last_status"] == 307).await;
    assert_eq!(first[0]["status"], "pending", "tried again later: {first:?}");
    assert!(first[0]["next_attempt_at"].is_string());
    // Its retry is redirected too, and is not followed either.
    app.advance_clock(5);
    receiver.wait_for(2).await;
    let due = first[0]["next_attempt_at"].clone();
    let second = deliveries_when(&app, &admin, id, |d| d[0]["next_attempt_at"] != due).await;
    assert_eq!((&second[0]["attempts"], &second[0]["last_status"]), (&json!(2), &json!(307)));

    let got = receiver.received().await;
    let paths: Vec<&str> = got.iter().map(|m| m["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["/hook", "/hook"], "the Location was never asked for");
}
}

backend_test! {
async fn a_name_that_resolves_inside_the_network_at_delivery_is_never_reached() {
    let Some(receiver) = Receiver::start().await else { return };
    // Accepted while private addresses were allowed; then they are not.
    let app = spawn_app_with(&LOOPBACK_ALLOWED).await;
    let admin = admin(&app).await;
    let url = format!("http://localhost:{}/hook", receiver.port);
    let made = create(&app, &admin, &url, &["member.created"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    let id = made["id"].as_i64().unwrap();
    let app = app.restart_with(&[("WEBHOOK_ALLOW_PRIVATE", "false")]).await;

    app.user("Ray").register().await;

    // `localhost` resolves to loopback when the message is sent: the
    // attempt fails without a connection, and is tried again later.
    let tried = deliveries_when(&app, &admin, id, |d| d.len() == 1 && d[0]["attempts"] == 1 && d[0]["last_error"].is_string()).await;
    assert_eq!(tried[0]["status"], "pending");
    assert_eq!(tried[0]["last_status"], Value::Null, "{tried:?}");
    assert!(tried[0]["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{tried:?}");
    assert!(receiver.received().await.is_empty());
    // A new one is refused outright.
    let refused = app
        .post_json(&admin, "/admin/webhooks", &json!({"url": url, "events": ["*"]}))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = refused.json().await.unwrap();
    assert!(body["fields"]["url"].is_string(), "{body}");
}
}

backend_test! {
async fn the_metrics_count_each_outcome_and_what_waits() {
    let (Some(fine), Some(failing)) = (Receiver::start().await, Receiver::start().await) else { return };
    let mut vars = LOOPBACK_ALLOWED.to_vec();
    vars.push(("METRICS_ADDR", "127.0.0.1:0"));
    let app = spawn_app_with(&vars).await;
    let admin = admin(&app).await;
    let good = create(&app, &admin, &fine.url(""), &["member.created"]).await;
    fine.configure(&[good["secret"].as_str().unwrap()], 200, 0).await;
    let bad = create(&app, &admin, &failing.url(""), &["member.created"]).await;
    failing.configure(&[bad["secret"].as_str().unwrap()], 503, 0).await;
    let series = |outcome: &str| format!("tollgate_webhook_deliveries_total{{outcome=\"{outcome}\"}}");

    app.user("Ray").register().await;
    fine.wait_for(1).await;
    let bad_id = bad["id"].as_i64().unwrap();
    let first = deliveries_when(&app, &admin, bad_id, |d| d.len() == 1 && d[0]["attempts"] == 1 && d[0]["last_status"] == 503).await;
    let text = scrape(&app).await;
    assert_eq!(value(&text, &series("succeeded")), 1.0, "{text}");
    assert_eq!(value(&text, &series("retried")), 1.0);
    assert_eq!(value(&text, &series("failed")), 0.0);
    assert_eq!(value(&text, "tollgate_webhook_pending"), 1.0);

    // The schedule runs out on the app's clock: seven retries, then failed.
    // Each attempt is recorded when its delivery's next time moves.
    let mut due = first[0]["next_attempt_at"].clone();
    for (n, wait) in [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000].into_iter().enumerate() {
        app.advance_clock(wait);
        failing.wait_for(n + 2).await;
        let recorded = deliveries_when(&app, &admin, bad_id, |d| d[0]["next_attempt_at"] != due).await;
        due = recorded[0]["next_attempt_at"].clone();
    }
    let done = deliveries_when(&app, &admin, bad_id, |d| d[0]["status"] == "failed").await;
    assert_eq!(done[0]["attempts"], 8);
    let text = scrape(&app).await;
    assert_eq!(value(&text, &series("succeeded")), 1.0, "{text}");
    assert_eq!(value(&text, &series("retried")), 7.0);
    assert_eq!(value(&text, &series("failed")), 1.0);
    assert_eq!(value(&text, "tollgate_webhook_pending"), 0.0);
    assert_eq!(failing.received().await.len(), 8);
}
}

backend_test! {
async fn parallel_creates_never_make_a_twenty_first_webhook() {
    let app = spawn_app_with(&LOOPBACK_ALLOWED).await;
    let admin = admin(&app).await;
    let creates = (0..30).map(|n| {
        let (app, admin) = (&app, admin.clone());
        async move {
            let body = json!({"url": format!("http://127.0.0.1:9/hook/{n}"), "events": ["*"]});
            let answer = app.post_json(&admin, "/admin/webhooks", &body).await;
            let status = answer.status();
            let body: Value = answer.json().await.unwrap();
            (status, body)
        }
    });
    let answers = futures_util::future::join_all(creates).await;
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (status, body) in &answers {
        *by_status.entry(status.as_u16()).or_default() += 1;
        if *status == StatusCode::UNPROCESSABLE_ENTITY {
            assert!(body["fields"]["webhooks"].is_string(), "{body}");
        }
    }
    assert_eq!(by_status, BTreeMap::from([(201, 20), (422, 10)]));
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM webhooks"), 20);
}
}

backend_test! {
async fn two_instances_on_one_database_deliver_each_message_once() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created", "member.deleted"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    let other = app.sibling().await;

    // Changes made on both, while both deliverers look for work.
    let joins = (0..12).map(|n| {
        let on = if n % 2 == 0 { &app } else { &other };
        async move {
            on.user(&format!("member{n}")).register().await;
        }
    });
    futures_util::future::join_all(joins).await;
    receiver.wait_for(12).await;
    settled(&app).await;

    let got = receiver.received().await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for message in &got {
        assert_eq!(message["verified_with"], json!([0]), "{message}");
        *seen.entry(message["headers"]["webhook-id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(seen.len(), 12, "{got:?}");
    assert!(seen.values().all(|n| *n == 1), "each once: {seen:?}");
    let attempts = count(&app, "SELECT SUM(attempts) AS n FROM webhook_deliveries");
    assert_eq!(attempts, 12, "no attempt made twice");
}
}
