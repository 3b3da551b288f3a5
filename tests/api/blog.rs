//! `GET /blog` and `GET /blog/{id}`: listing and the metered paywall.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::db::execute;
use crate::support::{
    assert_error, assert_invalid_field, assert_json, spawn_app, spawn_app_and_user,
    spawn_app_with_user,
};

backend_test! {
async fn the_blog_lists_the_demo_posts_newest_first_with_the_meter() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let response = app.get(&client, "/blog").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_json(&response);
    let list: Value = response.json().await.unwrap();
    assert_eq!(list["total"], 12);
    assert_eq!(list["page"], 1);
    assert_eq!(list["per_page"], 20);
    let posts = list["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 12);
    assert_eq!(posts[0]["id"], 12);
    assert_eq!(posts[11]["id"], 1);
    for post in posts {
        assert!(!post["title"].as_str().unwrap().is_empty());
        assert!(!post["excerpt"].as_str().unwrap().is_empty());
        assert!(post["published_at"].as_str().unwrap().ends_with('Z'));
        assert!(post.get("body").is_none());
    }
    assert_eq!(list["meter"]["limit"], 5);
    assert_eq!(list["meter"]["used"], 0);
    assert_eq!(list["meter"]["remaining"], 5);
    assert!(list["meter"]["resets_at"]
        .as_str()
        .unwrap()
        .ends_with("T00:00:00Z"));
}
}

backend_test! {
async fn the_blog_pages() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let list: Value = app
        .get(&client, "/blog?page=2&per_page=5")
        .await
        .json()
        .await
        .unwrap();

    let ids: Vec<i64> = list["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![7, 6, 5, 4, 3]);
    assert_eq!(list["page"], 2);
    assert_eq!(list["per_page"], 5);
    assert_eq!(list["total"], 12);
    let past_the_end: Value = app.get(&client, "/blog?page=9").await.json().await.unwrap();
    assert_eq!(past_the_end["posts"].as_array().unwrap().len(), 0);
}
}

backend_test! {
async fn deep_pages_by_cursor_list_each_post_once_whatever_changes_meanwhile() {
    let (app, client) = spawn_app_and_user("Alice").await;
    let ids = |list: &Value| -> Vec<i64> {
        list["posts"].as_array().unwrap().iter().map(|p| p["id"].as_i64().unwrap()).collect()
    };
    let first: Value = app.get(&client, "/blog?per_page=5").await.json().await.unwrap();
    assert_eq!(ids(&first), [12, 11, 10, 9, 8]);
    let next = first["next"].as_str().expect("a cursor to the next page").to_owned();

    // Between two pages a post is published on top and one the reader has
    // not reached yet is removed: the next page starts where the last one
    // ended all the same, and lists the rest once.
    let now = app.now();
    execute(
        &app,
        &format!(
            "INSERT INTO posts (id, slug, title, body, html, excerpt, published_at) \
             VALUES (13, 'news', 'News', 'News', '<p>News</p>', 'News', {now})"
        ),
    );
    execute(&app, "UPDATE posts SET deleted_at = 1 WHERE id = 6");
    let second: Value = app
        .get(&client, &format!("/blog?after={next}&per_page=5"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&second), [7, 5, 4, 3, 2]);
    assert_eq!(second["page"], Value::Null);
    assert_eq!(second["per_page"], 5);
    assert_eq!(second["total"], 12);
    let next = second["next"].as_str().unwrap().to_owned();
    let last: Value = app.get(&client, &format!("/blog?after={next}&per_page=5")).await.json().await.unwrap();
    assert_eq!(ids(&last), [1]);
    assert_eq!(last["next"], Value::Null, "the last page has no next");
    // Numbered pages carry a cursor too, and the last one none.
    let numbered: Value = app.get(&client, "/blog?page=3&per_page=5").await.json().await.unwrap();
    assert_eq!(numbered["next"], Value::Null);

    let cursor = first["next"].as_str().unwrap();
    for bad in [
        format!("/blog?after={cursor}&page=2"),
        format!("/blog?after={cursor}&after={cursor}"),
        "/blog?after=not-a-cursor".to_owned(),
        "/blog?after=".to_owned(),
    ] {
        assert_invalid_field(app.get(&client, &bad).await, "after").await;
    }
}
}

backend_test! {
async fn listing_is_never_metered() {
    let (app, client) = spawn_app_and_user("Alice").await;

    for _ in 0..3 {
        app.get(&client, "/blog").await;
    }

    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"]["used"], 0);
}
}

backend_test! {
async fn a_free_user_reads_five_posts_then_hits_the_paywall() {
    let (app, client) = spawn_app_and_user("Alice").await;

    for id in 1..=5 {
        let response = app.blog_post(&client, id).await;
        assert_eq!(response.status(), StatusCode::OK);
        let post: Value = response.json().await.unwrap();
        assert_eq!(post["id"], id);
        assert!(
            post["body"].as_str().unwrap().contains("\n\n"),
            "multi-paragraph"
        );
        assert_eq!(post["meter"]["used"], id);
        assert_eq!(post["meter"]["remaining"], 5 - id);
    }
    let refused = app.blog_post(&client, 6).await;

    let body = assert_error(refused, StatusCode::PAYMENT_REQUIRED, "paywall").await;
    assert_eq!(body["meter"]["used"], 5);
    assert_eq!(body["meter"]["remaining"], 0);
    assert_eq!(body["meter"]["limit"], 5);
}
}

backend_test! {
async fn re_reading_an_unlocked_post_is_free_and_always_allowed() {
    let (app, client) = spawn_app_with_user(&[("FREE_READS", "2")], "Alice").await;
    app.blog_post(&client, 3).await;
    app.blog_post(&client, 4).await;

    let again = app.blog_post(&client, 3).await;

    assert_eq!(again.status(), StatusCode::OK);
    let post: Value = again.json().await.unwrap();
    assert_eq!(post["meter"]["used"], 2);
    assert_eq!(
        app.blog_post(&client, 5).await.status(),
        StatusCode::PAYMENT_REQUIRED
    );
}
}

backend_test! {
async fn unknown_posts_never_use_a_read() {
    let (app, client) = spawn_app_and_user("Alice").await;

    for path in ["/blog/999", "/blog/0", "/blog/-1", "/blog/abc", "/blog/1.5"] {
        let response = app.get(&client, path).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }

    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"]["used"], 0);
}
}

backend_test! {
async fn the_meter_survives_logout_and_other_devices() {
    let (app, phone) = spawn_app_with_user(&[("FREE_READS", "2")], "Alice").await;
    app.blog_post(&phone, 1).await;
    app.logout(&phone).await;

    let laptop = app.client();
    app.login(&laptop, "Alice", crate::support::PASSWORD).await;
    app.blog_post(&laptop, 2).await;

    assert_eq!(
        app.blog_post(&laptop, 3).await.status(),
        StatusCode::PAYMENT_REQUIRED
    );
}
}

backend_test! {
async fn each_user_has_their_own_meter() {
    let (app, alice) = spawn_app_with_user(&[("FREE_READS", "1")], "Alice").await;
    let bob = app.logged_in_client("Bob").await;
    app.blog_post(&alice, 1).await;

    let response = app.blog_post(&bob, 2).await;

    assert_eq!(response.status(), StatusCode::OK);
}
}

backend_test! {
async fn premium_users_are_not_metered() {
    let (app, client) = spawn_app_with_user(&[("FREE_READS", "1")], "Alice").await;
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["set-plan", "alice", "premium"])
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .status()
        .unwrap();
    assert!(status.success());

    for id in 1..=4 {
        let response = app.blog_post(&client, id).await;
        assert_eq!(response.status(), StatusCode::OK);
        let post: Value = response.json().await.unwrap();
        assert_eq!(post["meter"], Value::Null);
    }
    let me: Value = app.check_session(&client).await.json().await.unwrap();
    assert_eq!(me["plan"], "premium");
    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"], Value::Null);
}
}

backend_test! {
async fn set_plan_refuses_an_unknown_user() {
    let app = spawn_app().await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["set-plan", "nobody", "premium"])
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("nobody"));
}
}

backend_test! {
async fn a_zero_meter_paywalls_everything() {
    let (app, client) = spawn_app_with_user(&[("FREE_READS", "0")], "Alice").await;

    let response = app.blog_post(&client, 1).await;

    assert_error(response, StatusCode::PAYMENT_REQUIRED, "paywall").await;
}
}

backend_test! {
async fn head_answers_like_get_but_never_spends_a_read() {
    let (app, client) = spawn_app_with_user(&[("FREE_READS", "1")], "Alice").await;
    let head = |path: &'static str| {
        let request = client.head(app.url(path));
        async move { request.send().await.unwrap().status() }
    };
    let used = || async {
        let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
        list["meter"]["used"].clone()
    };

    // A post the meter has room for: 200, and the meter does not move.
    assert_eq!(head("/blog/1").await, StatusCode::OK);
    assert_eq!(head("/blog/1").await, StatusCode::OK);
    assert_eq!(used().await, 0);

    // Spend the one read; then HEAD shows the paywall GET would meet, and
    // a re-read as open, still spending nothing.
    assert_eq!(app.blog_post(&client, 1).await.status(), StatusCode::OK);
    assert_eq!(head("/blog/2").await, StatusCode::PAYMENT_REQUIRED);
    assert_eq!(head("/blog/1").await, StatusCode::OK);
    assert_eq!(head("/blog/999").await, StatusCode::NOT_FOUND);
    assert_eq!(used().await, 1);
}
}

backend_test! {
async fn only_script_spends_a_read_not_an_image_a_frame_or_a_navigation() {
    let (app, client) = spawn_app_and_user("Alice").await;

    for dest in ["image", "iframe", "document", "script", "style"] {
        let response = app.get_with(&client, "/blog/7", &[("Sec-Fetch-Dest", dest)]).await;
        assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
    }
    assert_eq!(used(&app, &client).await, 0, "no read spent");

    let fetched = app.get_with(&client, "/blog/7", &[("Sec-Fetch-Dest", "empty")]).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(used(&app, &client).await, 1);
    // A client that is no browser sends no such header.
    assert_eq!(app.get(&client, "/blog/8").await.status(), StatusCode::OK);
    assert_eq!(used(&app, &client).await, 2);
}
}

/// The reads spent this month, as the listing's meter shows them.
async fn used(app: &crate::support::TestApp, client: &reqwest::Client) -> i64 {
    let list: Value = app.get(client, "/blog").await.json().await.unwrap();
    list["meter"]["used"].as_i64().unwrap()
}
