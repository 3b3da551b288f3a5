//! What a webhook is sent: each change once, signed as Standard Webhooks
//! (verified by the library itself), never a change that was refused;
//! retries on the app's clock, the deliveries log and the retry route;
//! both signatures during a rotation; no redirect followed.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{admin_named, create, with_receiver};
use crate::support::TestApp;

/// The user id of `username`, as the admins' search finds it.
async fn id_of(app: &TestApp, admin: &reqwest::Client, username: &str) -> i64 {
    let found: Value = app
        .get(admin, &format!("/admin/users?q={username}"))
        .await
        .json()
        .await
        .unwrap();
    found["users"][0]["id"].as_i64().unwrap()
}

/// The deliveries log of webhook `id`, with `query`.
async fn log(app: &TestApp, admin: &reqwest::Client, id: i64, query: &str) -> Value {
    let response = app
        .get(admin, &format!("/admin/webhooks/{id}/deliveries{query}"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

backend_test! {
async fn an_admins_plan_change_is_one_verified_plan_changed_message() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.plan_changed"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    app.user("Bea").register().await;
    let bea = id_of(&app, &admin, "Bea").await;

    let changed = app
        .patch_json(&admin, &format!("/admin/users/{bea}"), &json!({"plan": "premium"}))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);

    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let message = &got[0];
    assert_eq!(message["verified_with"], json!([0]), "{message}");
    assert_eq!(message["headers"]["content-type"], "application/json");
    assert!(message["headers"]["webhook-id"].as_str().unwrap().starts_with("msg_"));
    let body = &message["json"];
    assert_eq!(body["type"], "member.plan_changed");
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["data"]["from"], "free");
    assert_eq!(body["data"]["to"], "premium");
    assert_eq!(body["data"]["source"], "admin");
    let member = &body["data"]["member"];
    assert_eq!(member["id"], bea);
    assert_eq!(member["username"], "Bea");
    assert_eq!(member["plan"], "premium");
    assert_eq!(member["role"], "reader");
    assert_eq!(member["email_verified"], false);
    assert_eq!(member["newsletter"], false);
    assert!(member["created_at"].as_str().unwrap().ends_with('Z'));

    let logged = log(&app, &admin, made["id"].as_i64().unwrap(), "").await;
    assert_eq!(logged["deliveries"][0]["type"], "member.plan_changed");
    assert_eq!(logged["deliveries"][0]["event_id"], message["headers"]["webhook-id"]);
}
}

backend_test! {
async fn a_refused_change_sends_nothing() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["*"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    let ada = id_of(&app, &admin, "Ada").await;

    // The last admin cannot stop being one: 409, and nothing happened.
    let refused = app
        .patch_json(&admin, &format!("/admin/users/{ada}"), &json!({"role": "reader", "plan": "premium"}))
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    // Something that did happen afterwards comes through alone.
    app.user("Cyd").register().await;
    let got = receiver.wait_for(1).await;
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let got = if got.len() == 1 { receiver.received().await } else { got };
    let types: Vec<&str> = got.iter().map(|m| m["json"]["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["member.created"], "{got:?}");
    assert_eq!(got[0]["json"]["data"]["username"], "Cyd");
}
}

backend_test! {
async fn a_failing_receiver_is_retried_on_the_schedule_then_failed_then_retried_by_hand() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    let id = made["id"].as_i64().unwrap();
    receiver.configure(&[&secret], 503, 0).await;
    app.user("Dee").register().await;
    assert_eq!(receiver.wait_for(1).await.len(), 1);

    // Each wait of the schedule, moved on the app's clock.
    let mut offset = 0;
    for (n, wait) in [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000].into_iter().enumerate() {
        offset += wait;
        receiver.configure(&[&secret], 503, offset as i64).await;
        app.advance_clock(wait);
        let got = receiver.wait_for(n + 2).await;
        assert_eq!(got.len(), n + 2, "attempt {} after {wait} s", n + 2);
    }
    let got = receiver.received().await;
    let first = got[0]["headers"]["webhook-id"].clone();
    // The admin's session has long expired: another admin looks (and
    // joining makes a member.created of its own, another message).
    let admin = admin_named(&app, "Kit").await;
    let of_first = |got: &[Value]| got.iter().filter(|m| m["headers"]["webhook-id"] == first).count();
    // Every attempt verified, with the same id and the same body.
    assert!(got.iter().all(|m| m["verified_with"] == json!([0])), "{got:?}");
    assert!(got.iter().all(|m| m["headers"]["webhook-id"] == got[0]["headers"]["webhook-id"]));
    assert!(got.iter().all(|m| m["body"] == got[0]["body"]));

    let mut failed = log(&app, &admin, id, "?status=failed").await;
    for _ in 0..50 {
        if failed["deliveries"].as_array().unwrap().len() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        failed = log(&app, &admin, id, "?status=failed").await;
    }
    let delivery = &failed["deliveries"][0];
    assert_eq!(delivery["attempts"], 8, "{failed}");
    assert_eq!(delivery["last_status"], 503);
    assert_eq!(delivery["next_attempt_at"], Value::Null);
    // Nothing more comes by itself.
    app.advance_clock(100_000);
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(of_first(&receiver.received().await), 8);
    let admin = admin_named(&app, "Lou").await;

    // By hand: once more, now answered.
    receiver.configure(&[&secret], 200, offset as i64 + 100_000).await;
    let path = format!("/admin/webhooks/{id}/deliveries/{}/retry", delivery["id"]);
    let retried = app.post_json(&admin, &path, &json!({})).await;
    assert_eq!(retried.status(), StatusCode::ACCEPTED);
    for _ in 0..100 {
        if of_first(&receiver.received().await) == 9 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(of_first(&receiver.received().await), 9);
    let retried_one = |log: &Value| {
        log["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["id"] == delivery["id"])
            .cloned()
            .unwrap()
    };
    let mut done = retried_one(&log(&app, &admin, id, "").await);
    for _ in 0..50 {
        if done["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        done = retried_one(&log(&app, &admin, id, "").await);
    }
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["last_status"], 200);
    assert_eq!(done["attempts"], 9);
    // A delivery that has not failed is not tried again.
    let again = app.post_json(&admin, &path, &json!({})).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
}
}

backend_test! {
async fn during_a_rotation_both_secrets_verify_for_a_day() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    let old = made["secret"].as_str().unwrap().to_owned();
    let rotated: Value = app
        .post_json(&admin, &format!("/admin/webhooks/{}/rotate", made["id"]), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    receiver.configure(&[&old, &new], 200, 0).await;
    app.user("Eve").register().await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got[0]["verified_with"], json!([0, 1]), "{got:?}");
    let signatures = got[0]["headers"]["webhook-signature"].as_str().unwrap();
    assert_eq!(signatures.split(' ').count(), 2);

    // A day later, the new secret alone.
    app.advance_clock(24 * 3_600 + 1);
    receiver.configure(&[&old, &new], 200, 24 * 3_600 + 1).await;
    app.user("Fay").register().await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1]["verified_with"], json!([1]), "{got:?}");
}
}

backend_test! {
async fn the_deliveries_log_pages_newest_first_by_cursor() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    for name in ["Gus", "Hal", "Ivy"] {
        app.user(name).register().await;
    }
    receiver.wait_for(3).await;
    let id = made["id"].as_i64().unwrap();
    let first = log(&app, &admin, id, "?per_page=2").await;
    assert_eq!(first["deliveries"].as_array().unwrap().len(), 2);
    let next = first["next"].as_str().unwrap();
    let second = log(&app, &admin, id, &format!("?per_page=2&after={next}")).await;
    assert_eq!(second["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(second["next"], Value::Null);
    let ids: Vec<i64> = first["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["deliveries"].as_array().unwrap())
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, sorted, "newest first");
    let bad = app
        .get(&admin, &format!("/admin/webhooks/{id}/deliveries?after=nonsense"))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = app
        .get(&admin, &format!("/admin/webhooks/{id}/deliveries?status=lost"))
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}
}

backend_test! {
async fn members_brought_in_by_a_list_are_each_one_member_created_with_their_address() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("members.csv");
    std::fs::write(&file, "email,name\nann@example.com,Ann Lee\nbo@example.com,Bo\n").unwrap();

    let output = crate::support::cli::tollgate_on(
        dir.path(),
        &app.database_url,
        &["import-members", file.to_str().unwrap()],
    );
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let got = receiver.wait_for(2).await;
    let mut addresses: Vec<String> = got
        .iter()
        .map(|m| {
            assert_eq!(m["json"]["type"], "member.created");
            m["json"]["data"]["email"].as_str().unwrap().to_owned()
        })
        .collect();
    addresses.sort();
    assert_eq!(addresses, ["ann@example.com", "bo@example.com"]);
}
}

backend_test! {
async fn a_registration_with_an_address_is_one_member_created_that_has_it() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;

    app.user("Cleo").email(Some("cleo@example.com")).register().await;

    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let data = &got[0]["json"]["data"];
    assert_eq!(got[0]["json"]["type"], "member.created");
    assert_eq!(data["username"], "Cleo");
    assert_eq!(data["email"], "cleo@example.com");
    assert_eq!(data["email_verified"], false);
}
}

/// Polls `sql`'s `n` until it is `want` (the deliverer and the purge run
/// beside the request that caused their work); the last `n` read.
async fn settles(app: &TestApp, sql: &str, want: i64) -> i64 {
    let mut n = crate::support::db::count(app, sql);
    for _ in 0..100 {
        if n == want {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        n = crate::support::db::count(app, sql);
    }
    n
}

backend_test! {
async fn a_month_after_its_deliveries_ended_a_message_is_purged_and_one_still_pending_is_kept() {
    let Some((app, admin, receiver)) = with_receiver().await else { return };
    let made = create(&app, &admin, &receiver.url(""), &["member.created"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    app.user("Eve").register().await;
    assert_eq!(receiver.wait_for(1).await.len(), 1);
    let ended = "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'succeeded'";
    assert_eq!(settles(&app, ended, 1).await, 1);
    // A receiver nothing listens for: its deliveries stay pending, retried.
    create(&app, &admin, "http://127.0.0.1:9/", &["member.created"]).await;
    app.user("Fay").register().await;
    assert_eq!(receiver.wait_for(2).await.len(), 2);
    assert_eq!(settles(&app, ended, 2).await, 2);
    let pending = "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'";
    assert_eq!(settles(&app, pending, 1).await, 1);

    // A month and a day on: Eve's message, all of whose deliveries ended,
    // goes with its delivery; Fay's, one still being retried, stays whole.
    app.advance_clock(31 * 86_400);
    let messages = "SELECT COUNT(*) AS n FROM webhook_events";
    assert_eq!(settles(&app, messages, 1).await, 1);
    let kept = crate::support::db::count(
        &app,
        "SELECT COUNT(*) AS n FROM webhook_deliveries d JOIN webhook_events e ON e.seq = d.event_seq
         WHERE e.data LIKE '%\"Fay\"%'",
    );
    assert_eq!(kept, 2);
    assert_eq!(crate::support::db::count(&app, "SELECT COUNT(*) AS n FROM webhook_deliveries"), 2);
}
}
