//! Each kind of change, end to end through the real receiver: what a member
//! shows (`member.updated`), a grant that runs out by itself and Stripe's
//! subscription events (`member.plan_changed`, `subscription.updated`), a
//! post's life (`post.*`) and a newsletter sent (`newsletter.sent`); and a
//! change refused or rolled back, which sends nothing.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{admin, create, LOOPBACK_ALLOWED};
use crate::support::db::{count, execute};
use crate::support::fakes::webhook_receiver::Receiver;
use crate::support::mail::verified_user;
use crate::support::stripe::{billing_app, customer, deliver_ok, subscription_event};
use crate::support::{eventually, spawn_app_with, TestApp, PASSWORD};

const HOUR: i64 = 3_600;

/// RFC 3339 as the API writes it.
fn at(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Waits until every event written so far has been delivered: none waits
/// to be fanned out, and no delivery is pending. What the receiver holds
/// then is all it will ever get of them.
pub async fn settled(app: &TestApp) {
    eventually(|| {
        count(
            app,
            "SELECT COUNT(*) AS n FROM webhook_events WHERE NOT fanned_out",
        ) == 0
            && count(
                app,
                "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'succeeded'",
            ) == 0
    })
    .await;
}

/// The messages of type `kind` the receiver got, in order.
async fn of_type(receiver: &Receiver, kind: &str) -> Vec<Value> {
    receiver
        .received()
        .await
        .into_iter()
        .filter(|m| m["json"]["type"] == kind)
        .collect()
}

/// Waits until the receiver holds `n` messages of type `kind`; them.
async fn wait_for_type(receiver: &Receiver, kind: &str, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let got = of_type(receiver, kind).await;
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    of_type(receiver, kind).await
}

/// An app whose webhooks may reach loopback (plus `extra`), its admin, and
/// a receiver taking `events`, verifying with the webhook's secret.
async fn listening(extra: &[(&str, &str)], events: &[&str]) -> Option<(TestApp, Client, Receiver)> {
    let (app, admin, receiver, _) = listening_with_secret(extra, events).await?;
    Some((app, admin, receiver))
}

/// [`listening`], and the webhook's secret.
async fn listening_with_secret(
    extra: &[(&str, &str)],
    events: &[&str],
) -> Option<(TestApp, Client, Receiver, String)> {
    let receiver = Receiver::start().await?;
    let mut vars = LOOPBACK_ALLOWED.to_vec();
    vars.extend_from_slice(extra);
    let app = spawn_app_with(&vars).await;
    let admin = admin(&app).await;
    let made = create(&app, &admin, &receiver.url(""), events).await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    receiver.configure(&[&secret], 200, 0).await;
    Some((app, admin, receiver, secret))
}

backend_test! {
async fn each_change_to_what_a_member_shows_is_one_member_updated() {
    let Some((app, _admin, receiver)) = listening(&[], &["member.updated"]).await else { return };

    // Registering with an address is member.created; proving it is an update.
    let ned = verified_user(&app, "Ned", "ned@example.com").await;
    let got = wait_for_type(&receiver, "member.updated", 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let member = &got[0]["json"]["data"];
    assert_eq!((&member["username"], &member["email"]), (&json!("Ned"), &json!("ned@example.com")));
    assert_eq!(member["email_verified"], true);
    assert_eq!(member["newsletter"], false);
    assert_eq!(got[0]["verified_with"], json!([0]));

    // The newsletter taken: one update; asked again, no change and nothing sent.
    let on = app.patch_json(&ned, "/account", &json!({"newsletter": true})).await;
    assert_eq!(on.status(), StatusCode::OK);
    let got = wait_for_type(&receiver, "member.updated", 2).await;
    assert_eq!(got[1]["json"]["data"]["newsletter"], true);
    let again = app.patch_json(&ned, "/account", &json!({"newsletter": true})).await;
    assert_eq!(again.status(), StatusCode::OK);

    // Another address: unverified again, said once.
    let moved = app.set_email(&ned, Some("ned@elsewhere.example"), PASSWORD).await;
    assert_eq!(moved.status(), StatusCode::OK);
    let got = wait_for_type(&receiver, "member.updated", 3).await;
    let member = &got[2]["json"]["data"];
    assert_eq!((&member["email"], &member["email_verified"]), (&json!("ned@elsewhere.example"), &json!(false)));

    // Leaving the newsletter.
    let off = app.patch_json(&ned, "/account", &json!({"newsletter": false})).await;
    assert_eq!(off.status(), StatusCode::OK);
    let got = wait_for_type(&receiver, "member.updated", 4).await;
    assert_eq!(got[3]["json"]["data"]["newsletter"], false);

    settled(&app).await;
    let got = of_type(&receiver, "member.updated").await;
    assert_eq!(got.len(), 4, "one per change, none for a repeat: {got:?}");
    let ids: std::collections::BTreeSet<_> = got.iter().map(|m| m["headers"]["webhook-id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 4, "each change its own webhook-id");
}
}

backend_test! {
async fn refused_and_rolled_back_changes_send_nothing() {
    let Some((app, _admin, receiver)) = listening(&[], &["*"]).await else { return };
    let kim = verified_user(&app, "Kim", "kim@example.com").await;
    wait_for_type(&receiver, "member.updated", 1).await;

    // 422: the field is wrong, nothing changes.
    let refused = app.patch_json(&kim, "/account", &json!({"newsletter": "yes"})).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The password does not confirm the owner: the address stays.
    let refused = app.set_email(&kim, Some("kim@new.example"), "not the password").await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    // Rolled back: Lee proves an address Kim proved first. The verification
    // ran (the link is spent in the same transaction) and was undone whole.
    let lee = app.user("Lee").register().await;
    assert_eq!(app.set_email(&lee, Some("kim@example.com"), PASSWORD).await.status(), StatusCode::OK);
    let token = crate::support::mail::mailed_token(&app, "/verify-email", 2).await;
    let taken = app.verify_email(&token).await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM users WHERE username = 'Lee' AND email_verified"), 0);

    // Something that did happen afterwards comes through, and is all there is.
    let admin_now = admin_again(&app).await;
    let lee_id = count(&app, "SELECT id AS n FROM users WHERE username = 'Lee'");
    let disabled = app.patch_json(&admin_now, &format!("/admin/users/{lee_id}"), &json!({"disabled": true})).await;
    assert_eq!(disabled.status(), StatusCode::OK);
    settled(&app).await;
    let got = receiver.received().await;
    let told: Vec<(String, String)> = got
        .iter()
        .map(|m| (m["json"]["type"].as_str().unwrap().to_owned(), m["json"]["data"]["username"].as_str().unwrap_or("").to_owned()))
        .collect();
    let updates: Vec<&(String, String)> = told.iter().filter(|(t, _)| t == "member.updated").collect();
    // Kim's verification, Lee's new (unverified) address, Lee disabled.
    assert_eq!(updates.len(), 3, "{told:?}");
    assert_eq!(updates[0].1, "Kim");
    assert!(updates[1..].iter().all(|(_, name)| name == "Lee"), "{told:?}");
    let last = got.iter().rev().find(|m| m["json"]["type"] == "member.updated").unwrap();
    assert_eq!(last["json"]["data"]["email_verified"], false, "Lee's address was never verified");
}
}

/// A second admin, for a test whose first admin's session may have ended.
async fn admin_again(app: &TestApp) -> Client {
    super::admin_named(app, "Max").await
}

backend_test! {
async fn a_grant_that_runs_out_is_one_plan_changed_from_grant_ended() {
    let Some((app, admin, receiver, secret)) = listening_with_secret(&[], &["member.plan_changed"]).await else { return };
    let bea: Value = app.register(&app.client(), "Bea").await.json().await.unwrap();
    let bea = bea["id"].as_i64().unwrap();
    // Premium by a subscription as well: its grant running out changes nothing.
    let pat: Value = app.register(&app.client(), "Pat").await.json().await.unwrap();
    let pat = pat["id"].as_i64().unwrap();
    execute(&app, &format!("UPDATE users SET plan = 'premium' WHERE id = {pat}"));
    let until = app.now() + 2 * HOUR;
    for id in [bea, pat] {
        let granted = app
            .patch_json(&admin, &format!("/admin/users/{id}"), &json!({"premium_until": at(until)}))
            .await;
        assert_eq!(granted.status(), StatusCode::OK);
    }
    let got = wait_for_type(&receiver, "member.plan_changed", 2).await;
    let given = got.iter().find(|m| m["json"]["data"]["member"]["id"] == bea).expect("Bea's grant");
    assert_eq!(given["json"]["data"]["source"], "admin");
    assert_eq!((&given["json"]["data"]["from"], &given["json"]["data"]["to"]), (&json!("free"), &json!("premium")));

    // A minute before its end nothing is said; past it, once, by itself.
    receiver.configure(&[&secret], 200, 2 * HOUR + 1).await;
    app.advance_clock((2 * HOUR - 60) as u64);
    app.advance_clock(61);
    let got = receiver.wait_for(3).await;
    assert_eq!(got.len(), 3, "{got:?}");
    let lapsed = &got[2];
    let data = &lapsed["json"]["data"];
    assert_eq!(lapsed["json"]["type"], "member.plan_changed");
    assert_eq!(data["source"], "grant_ended");
    assert_eq!((&data["from"], &data["to"]), (&json!("premium"), &json!("free")));
    assert_eq!(data["member"]["id"], bea);
    assert_eq!(data["member"]["plan"], "free");
    assert_eq!(lapsed["json"]["timestamp"], at(until), "when it ran out");

    // Later rounds of the purge say nothing more: a second grant running
    // out afterwards is the witness that they ran.
    let cy: Value = app.register(&app.client(), "Cyd").await.json().await.unwrap();
    assert!(cy["id"].is_i64(), "{cy}");
    let cy = cy["id"].as_i64().unwrap();
    let admin = admin_again(&app).await;
    let soon = app.now() + 60;
    let granted = app.patch_json(&admin, &format!("/admin/users/{cy}"), &json!({"premium_until": at(soon)})).await;
    assert_eq!(granted.status(), StatusCode::OK);
    receiver.configure(&[&secret], 200, 2 * HOUR + 62).await;
    app.advance_clock(61);
    eventually(|| count(&app, &format!("SELECT COUNT(*) AS n FROM users WHERE id = {cy} AND premium_until IS NULL")) == 1).await;
    settled(&app).await;
    let all = of_type(&receiver, "member.plan_changed").await;
    let ended: Vec<i64> = all
        .iter()
        .filter(|m| m["json"]["data"]["source"] == "grant_ended")
        .map(|m| m["json"]["data"]["member"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ended, [bea, cy], "each lapse once, none for Pat: {all:?}");
}
}

backend_test! {
async fn stripe_subscription_changes_are_subscription_updated_and_move_the_plan_once() {
    // Stripe here is the tests' local stand-in, and its events are signed
    // as Stripe signs them.
    let Some(receiver) = Receiver::start().await else { return };
    let (app, stripe) = billing_app(&LOOPBACK_ALLOWED).await;
    let admin = admin(&app).await;
    let made = create(&app, &admin, &receiver.url(""), &["subscription.updated", "member.plan_changed"]).await;
    receiver.configure(&[made["secret"].as_str().unwrap()], 200, 0).await;
    let (_reader, id, customer) = customer(&app, &stripe, "Bea").await;
    let t = app.now();

    let created = subscription_event("evt_1", "customer.subscription.created", t, "sub_1", &customer, "active");
    deliver_ok(&app, &created).await;
    // Stripe delivers it again: applied once, told once.
    deliver_ok(&app, &created).await;
    let got = wait_for_type(&receiver, "subscription.updated", 1).await;
    let data = &got[0]["json"]["data"];
    assert_eq!(data["member_id"], id);
    let sub = &data["subscription"];
    assert_eq!((&sub["status"], &sub["price"], &sub["cancel_at_period_end"]), (&json!("active"), &json!("default"), &json!(false)));
    assert_eq!(sub["current_period_end"], at(t + 30 * 86_400));
    assert_eq!(sub["cancel_at"], Value::Null);
    let plan = wait_for_type(&receiver, "member.plan_changed", 1).await;
    assert_eq!(plan[0]["json"]["data"]["source"], "billing");
    assert_eq!((&plan[0]["json"]["data"]["from"], &plan[0]["json"]["data"]["to"]), (&json!("free"), &json!("premium")));

    // A cancellation scheduled: the subscription changed, the plan did not.
    let mut scheduled = subscription_event("evt_2", "customer.subscription.updated", t + 1, "sub_1", &customer, "active");
    scheduled["data"]["object"]["cancel_at_period_end"] = json!(true);
    scheduled["data"]["object"]["items"]["data"][0]["current_period_start"] = json!(t);
    scheduled["data"]["object"]["items"]["data"][0]["current_period_end"] = json!(t + 30 * 86_400);
    deliver_ok(&app, &scheduled).await;
    let got = wait_for_type(&receiver, "subscription.updated", 2).await;
    let sub = &got[1]["json"]["data"]["subscription"];
    assert_eq!(sub["cancel_at_period_end"], true);
    assert_eq!(sub["cancel_at"], at(t + 30 * 86_400));
    // An event that changes nothing shown says nothing.
    let mut same = subscription_event("evt_3", "customer.subscription.updated", t + 2, "sub_1", &customer, "active");
    same["data"]["object"]["cancel_at_period_end"] = json!(true);
    same["data"]["object"]["items"]["data"][0]["current_period_start"] = json!(t);
    same["data"]["object"]["items"]["data"][0]["current_period_end"] = json!(t + 30 * 86_400);
    deliver_ok(&app, &same).await;

    // The cancellation taken back, then another price: each is told.
    let mut resumed = subscription_event("evt_4", "customer.subscription.updated", t + 3, "sub_1", &customer, "active");
    resumed["data"]["object"]["items"]["data"][0]["current_period_start"] = json!(t);
    resumed["data"]["object"]["items"]["data"][0]["current_period_end"] = json!(t + 30 * 86_400);
    deliver_ok(&app, &resumed).await;
    let got = wait_for_type(&receiver, "subscription.updated", 3).await;
    let sub = &got[2]["json"]["data"]["subscription"];
    assert_eq!((&sub["cancel_at_period_end"], &sub["cancel_at"]), (&json!(false), &Value::Null));
    let mut repriced = resumed.clone();
    repriced["id"] = json!("evt_5");
    repriced["created"] = json!(t + 4);
    repriced["data"]["object"]["items"]["data"][0]["price"]["id"] = json!("price_elsewhere");
    deliver_ok(&app, &repriced).await;
    let got = wait_for_type(&receiver, "subscription.updated", 4).await;
    assert_eq!(got[3]["json"]["data"]["subscription"]["price"], Value::Null, "a price not sold here");

    // It ends: both.
    let ended = subscription_event("evt_6", "customer.subscription.deleted", t + 5, "sub_1", &customer, "canceled");
    deliver_ok(&app, &ended).await;
    let got = wait_for_type(&receiver, "subscription.updated", 5).await;
    assert_eq!(got[4]["json"]["data"]["subscription"]["status"], "canceled");
    let plan = wait_for_type(&receiver, "member.plan_changed", 2).await;
    assert_eq!((&plan[1]["json"]["data"]["from"], &plan[1]["json"]["data"]["to"]), (&json!("premium"), &json!("free")));

    settled(&app).await;
    assert_eq!(of_type(&receiver, "subscription.updated").await.len(), 5);
    assert_eq!(of_type(&receiver, "member.plan_changed").await.len(), 2);
    assert!(receiver.received().await.iter().all(|m| m["verified_with"] == json!([0])));
}
}

backend_test! {
async fn a_posts_life_is_published_unpublished_deleted_and_never_its_body() {
    let Some((app, _admin, receiver)) = listening(&[], &["post.published", "post.unpublished", "post.deleted"]).await else { return };
    let author = app.logged_in_client("Alice").await;
    execute(&app, "UPDATE users SET role = 'author' WHERE username = 'Alice'");
    let secret = "Only the body says the owl flies at noon.";
    let body = json!({"title": "Owls at noon", "body": secret, "access": "premium"});
    let made: Value = app.create_post(&author, &body).await.json().await.unwrap();
    let id = made["id"].as_i64().unwrap();

    assert_eq!(app.publish_post(&author, id, &json!({})).await.status(), StatusCode::OK);
    let got = wait_for_type(&receiver, "post.published", 1).await;
    let data = &got[0]["json"]["data"];
    assert_eq!(data["id"], id);
    assert_eq!((&data["slug"], &data["title"], &data["access"]), (&json!("owls-at-noon"), &json!("Owls at noon"), &json!("premium")));
    assert!(data["published_at"].as_str().unwrap().ends_with('Z'));
    let keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5, "{keys:?}");

    assert_eq!(app.unpublish_post(&author, id).await.status(), StatusCode::OK);
    let got = wait_for_type(&receiver, "post.unpublished", 1).await;
    assert_eq!(got[0]["json"]["data"]["id"], id);
    assert_eq!(got[0]["json"]["data"]["published_at"], Value::Null);

    assert!(app.delete_post(&author, id).await.status().is_success());
    let got = wait_for_type(&receiver, "post.deleted", 1).await;
    assert_eq!(got[0]["json"]["data"]["id"], id);

    settled(&app).await;
    let all = receiver.received().await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all.iter().all(|m| !m["body"].as_str().unwrap().contains("owl flies")));
}
}

backend_test! {
async fn a_newsletter_sent_is_one_newsletter_sent_with_its_recipients() {
    let Some((app, _admin, receiver)) = listening(&[], &["newsletter.sent"]).await else { return };
    let fred = verified_user(&app, "Fred", "fred@example.com").await;
    assert_eq!(app.patch_json(&fred, "/account", &json!({"newsletter": true})).await.status(), StatusCode::OK);
    verified_user(&app, "Nora", "nora@example.com").await;
    let author = app.logged_in_client("Alice").await;
    execute(&app, "UPDATE users SET role = 'author' WHERE username = 'Alice'");
    let made: Value = app.create_post(&author, &json!({"title": "News", "body": "Text.", "access": "free"})).await.json().await.unwrap();
    let id = made["id"].as_i64().unwrap();

    assert_eq!(app.publish_post(&author, id, &json!({"email": true})).await.status(), StatusCode::OK);

    let got = wait_for_type(&receiver, "newsletter.sent", 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["json"]["data"], json!({"post_id": id, "recipients": 1}));
    let progress: Value = app.editable_post(&author, id).await.json().await.unwrap();
    assert_eq!(progress["email"]["status"], "sent", "told once the newsletter is sent: {progress}");

    // One nobody takes is sent at once, to no one.
    execute(&app, "UPDATE users SET newsletter = FALSE");
    let made: Value = app.create_post(&author, &json!({"title": "Quiet", "body": "Text.", "access": "free"})).await.json().await.unwrap();
    let quiet = made["id"].as_i64().unwrap();
    assert_eq!(app.publish_post(&author, quiet, &json!({"email": true})).await.status(), StatusCode::OK);
    let got = wait_for_type(&receiver, "newsletter.sent", 2).await;
    assert_eq!(got[1]["json"]["data"], json!({"post_id": quiet, "recipients": 0}));
    settled(&app).await;
    assert_eq!(of_type(&receiver, "newsletter.sent").await.len(), 2);
}
}

backend_test! {
async fn the_command_line_changes_a_plan_once_each_way_with_source_cli() {
    let Some((app, _admin, receiver)) = listening(&[], &["member.plan_changed"]).await else { return };
    app.user("Bea").register().await;
    let dir = tempfile::tempdir().unwrap();
    let set_plan = |plan: &str| {
        let output = crate::support::cli::tollgate_on(dir.path(), &app.database_url, &["set-plan", "Bea", plan]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };

    set_plan("premium");
    // The same plan again changes nothing, and says nothing.
    set_plan("premium");
    set_plan("free");

    let got = wait_for_type(&receiver, "member.plan_changed", 2).await;
    settled(&app).await;
    let got = if got.len() == 2 { of_type(&receiver, "member.plan_changed").await } else { got };
    // Two messages may arrive in either order (docs/webhooks.md).
    let mut moves: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|m| {
            let data = &m["json"]["data"];
            (data["from"].as_str().unwrap(), data["to"].as_str().unwrap(), data["source"].as_str().unwrap())
        })
        .collect();
    moves.sort_unstable();
    assert_eq!(moves, [("free", "premium", "cli"), ("premium", "free", "cli")]);
}
}
