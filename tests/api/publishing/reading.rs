//! What readers see of published posts: slugs beside ids, rendered html,
//! access levels, and nothing of drafts, scheduled or deleted posts.
//!
//! The posts' states are arranged in the database here, as an author's
//! saves would leave them; the authors' routes have tests of their own.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::db::{count, execute};
use crate::support::stripe::set_plan;
use crate::support::{
    assert_error, spawn_app, spawn_app_and_user, spawn_app_with, spawn_app_with_user, TestApp,
};

async fn json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn listing(app: &TestApp, client: &reqwest::Client) -> Value {
    json(app.blog(client, "?per_page=100").await).await
}

/// The ids `/blog` lists, in its order.
fn ids(list: &Value) -> Vec<i64> {
    list["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect()
}

fn summary(list: &Value, id: i64) -> Value {
    list["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("post {id} listed in {list}"))
}

backend_test! {
async fn demo_posts_are_published_metered_by_nobody_with_slugs_and_html() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let post = json(app.blog_post(&client, 1).await).await;

    assert_eq!(
        post["slug"],
        "session-cookies-done-right-httponly-secure-and-opaque-tokens"
    );
    assert_eq!(post["access"], "metered");
    assert_eq!(post["author"], Value::Null);
    let html = post["html"].as_str().unwrap();
    assert!(html.starts_with("<p>A session cookie"), "{html}");
    assert_eq!(html.matches("<p>").count(), 4, "one paragraph each");
    assert!(post["excerpt"].as_str().unwrap().starts_with("A session cookie"));
    assert_eq!(post["updated_at"], post["published_at"]);
    let list = listing(&app, &client).await;
    let listed = summary(&list, 1);
    for field in ["slug", "title", "excerpt", "access", "author", "published_at"] {
        assert_eq!(listed[field], post[field], "{field}");
    }
    assert_eq!(listed["unlocked"], true, "just read");
    assert!(listed.get("html").is_none() && listed.get("body").is_none());
    let slugs: std::collections::HashSet<_> = list["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs.len(), 12, "every slug its own");
}
}

backend_test! {
async fn a_slug_and_an_id_name_the_same_post_and_the_same_unlock() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let slug = json(app.blog_post(&client, 2).await).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();

    let by_slug = json(app.get(&client, &format!("/blog/{slug}")).await).await;

    assert_eq!(by_slug["id"], 2);
    assert_eq!(by_slug["meter"]["used"], 1, "the read by id unlocked it");
    let other = json(app.blog_post(&client, 3).await).await["slug"]
        .as_str()
        .unwrap()
        .to_owned();
    let first_by_slug = json(app.get(&client, &format!("/blog/{other}")).await).await;
    assert_eq!(first_by_slug["meter"]["used"], 2);
    let again = json(app.get(&client, &format!("/blog/{other}")).await).await;
    assert_eq!(again["meter"]["used"], 2, "re-reading by slug is free");
    for unknown in ["no-such-post", "Not-A-Slug", "a--b", "0", "-1"] {
        let response = app.get(&client, &format!("/blog/{unknown}")).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(listing(&app, &client).await["meter"]["used"], 2);
}
}

backend_test! {
async fn a_free_post_spends_no_read_and_a_premium_one_is_for_premium_readers() {
    let (app, client) = spawn_app_and_user("Alice").await;
    execute(&app, "UPDATE posts SET access = 'free' WHERE id = 1");
    execute(&app, "UPDATE posts SET access = 'premium' WHERE id = 2");
    let list = listing(&app, &client).await;
    assert_eq!(summary(&list, 1)["unlocked"], true);
    assert_eq!(summary(&list, 2)["unlocked"], false);
    assert_eq!(summary(&list, 3)["unlocked"], false);

    let free = json(app.blog_post(&client, 1).await).await;
    assert_eq!(free["access"], "free");
    assert_eq!(free["meter"]["used"], 0, "nothing spent");
    let refused = app.blog_post(&client, 2).await;
    let body = assert_error(refused, StatusCode::PAYMENT_REQUIRED, "premium_required").await;
    assert_eq!(body["meter"]["used"], 0, "nothing spent");
    assert_eq!(body["meter"]["limit"], 5);
    // The meter used up changes neither answer.
    for id in 3..=7 {
        json(app.blog_post(&client, id).await).await;
    }
    assert_eq!(json(app.blog_post(&client, 1).await).await["meter"]["used"], 5);
    let refused = app.blog_post(&client, 2).await;
    assert_error(refused, StatusCode::PAYMENT_REQUIRED, "premium_required").await;
    let refused = app.blog_post(&client, 8).await;
    assert_error(refused, StatusCode::PAYMENT_REQUIRED, "paywall").await;

    let me: Value = app.check_session(&client).await.json().await.unwrap();
    set_plan(&app, me["id"].as_i64().unwrap(), "premium");
    let premium = json(app.blog_post(&client, 2).await).await;
    assert_eq!(premium["access"], "premium");
    assert_eq!(premium["meter"], Value::Null);
    let list = listing(&app, &client).await;
    assert!(list["posts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["unlocked"] == true));
}
}

backend_test! {
async fn readers_never_see_drafts_deleted_or_scheduled_posts() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let slug_of = |post: &Value| post["slug"].as_str().unwrap().to_owned();
    let draft = slug_of(&summary(&listing(&app, &client).await, 3));
    let deleted = slug_of(&summary(&listing(&app, &client).await, 4));
    let scheduled = slug_of(&summary(&listing(&app, &client).await, 5));
    execute(&app, "UPDATE posts SET status = 'draft' WHERE id = 3");
    execute(&app, &format!("UPDATE posts SET deleted_at = {} WHERE id = 4", app.now()));
    let in_an_hour = app.now() + 3600;
    execute(&app, &format!("UPDATE posts SET published_at = {in_an_hour} WHERE id = 5"));

    let list = listing(&app, &client).await;
    assert_eq!(list["total"], 9);
    assert!(!ids(&list).iter().any(|id| [3, 4, 5].contains(id)));
    for (id, slug) in [(3, &draft), (4, &deleted), (5, &scheduled)] {
        let response = app.blog_post(&client, id).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
        let response = app.get(&client, &format!("/blog/{slug}")).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Even past the paywall: 404, never 402.
    for id in [1, 2, 6, 7, 8] {
        json(app.blog_post(&client, id).await).await;
    }
    let response = app.blog_post(&client, 3).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(listing(&app, &client).await["meter"]["used"], 5);

    // The scheduled post appears at its time, with nothing run meanwhile,
    // newest first by its own published_at.
    app.advance_clock(3600);
    let list = listing(&app, &client).await;
    assert_eq!(list["total"], 10);
    assert_eq!(ids(&list)[0], 5);
    // (402 with the meter used up; a month's turn in that hour would
    // make it 200: either way, not 404.)
    let status = app.blog_post(&client, 5).await.status();
    assert_ne!(status, StatusCode::NOT_FOUND);
}
}

backend_test! {
async fn reads_spent_on_a_post_stay_spent_when_it_goes() {
    let (app, client) = spawn_app_and_user("Alice").await;
    json(app.blog_post(&client, 1).await).await;
    json(app.blog_post(&client, 2).await).await;

    execute(&app, "UPDATE posts SET status = 'draft' WHERE id = 1");
    execute(&app, &format!("UPDATE posts SET deleted_at = {} WHERE id = 2", app.now()));

    let list = listing(&app, &client).await;
    assert_eq!(list["meter"]["used"], 2);
    let next = json(app.blog_post(&client, 3).await).await;
    assert_eq!(next["meter"]["used"], 3);
}
}

backend_test! {
async fn staff_read_every_post_unmetered_whatever_their_plan() {
    let (app, client) = spawn_app_with_user(&[("FREE_READS", "1")], "Sam").await;
    execute(&app, "UPDATE posts SET access = 'premium' WHERE id = 2");
    // A role change holds on the session already open.
    for role in ["author", "admin"] {
        execute(&app, &format!("UPDATE users SET role = '{role}' WHERE username = 'Sam'"));
        for id in [1, 2, 3, 4] {
            let post = json(app.blog_post(&client, id).await).await;
            assert_eq!(post["meter"], Value::Null, "{role} reading {id}");
        }
        let list = listing(&app, &client).await;
        assert_eq!(list["meter"], Value::Null, "{role}");
        assert!(
            list["posts"].as_array().unwrap().iter().all(|p| p["unlocked"] == true),
            "{role}: {list}"
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM unlocks"), 0, "nothing spent");
    // A reader again: metered from an untouched meter.
    execute(&app, "UPDATE users SET role = 'reader' WHERE username = 'Sam'");
    assert_eq!(json(app.blog_post(&client, 3).await).await["meter"]["used"], 1);
    let refused = app.blog_post(&client, 4).await;
    assert_error(refused, StatusCode::PAYMENT_REQUIRED, "paywall").await;
    let refused = app.blog_post(&client, 2).await;
    assert_error(refused, StatusCode::PAYMENT_REQUIRED, "premium_required").await;
}
}

backend_test! {
async fn the_listing_is_public_only_when_public_listing_is_on() {
    // Off (the default): the listing needs a session, as every route does.
    let app = spawn_app().await;
    let anonymous = app.client();
    assert_error(app.blog(&anonymous, "").await, StatusCode::UNAUTHORIZED, "not_logged_in").await;

    let app = spawn_app_with(&[("PUBLIC_LISTING", "true")]).await;
    execute(&app, "UPDATE posts SET access = 'free' WHERE id = 1");
    let anonymous = app.client();
    let list = json(app.blog(&anonymous, "?per_page=100").await).await;
    assert_eq!(list["meter"], Value::Null);
    assert_eq!(list["total"], 12);
    assert!(
        list["posts"].as_array().unwrap().iter().all(|p| p["unlocked"] == false),
        "an anonymous caller can open nothing, a free post neither: {list}"
    );
    assert!(summary(&list, 3)["excerpt"].as_str().is_some_and(|e| !e.is_empty()));
    // From an SPA's origin (through CORS, not the early refusal), by
    // cursor, and with a cookie that names no session: the same.
    let from_spa = anonymous
        .get(app.url("/blog"))
        .header("Origin", "http://localhost:5173")
        .send()
        .await
        .unwrap();
    assert_eq!(json(from_spa).await["total"], 12);
    let next = list["next"].clone();
    assert_eq!(next, Value::Null, "one page of 100");
    let page = json(app.blog(&anonymous, "?per_page=5").await).await;
    let cursor = page["next"].as_str().unwrap().to_owned();
    let after = json(app.blog(&anonymous, &format!("?per_page=5&after={cursor}")).await).await;
    assert_eq!(after["posts"].as_array().unwrap().len(), 5);
    let stale = app
        .bare_client()
        .get(app.url("/blog"))
        .header("Cookie", "session=not-a-session")
        .send()
        .await
        .unwrap();
    assert_eq!(json(stale).await["meter"], Value::Null);
    // Bad query values are still 422; reading a post still needs a session.
    let bad = app.blog(&anonymous, "?page=0").await;
    assert_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let read = app.blog_post(&anonymous, 1).await;
    assert_error(read, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    // A signed-in reader gets the listing as before: the meter, the unlocks.
    let reader = app.logged_in_client("Rita").await;
    json(app.blog_post(&reader, 3).await).await;
    let list = listing(&app, &reader).await;
    assert_eq!(list["meter"]["used"], 1);
    assert_eq!(summary(&list, 1)["unlocked"], true);
    assert_eq!(summary(&list, 3)["unlocked"], true);
    assert_eq!(summary(&list, 4)["unlocked"], false);
}
}
