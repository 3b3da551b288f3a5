//! Who may see insights, what a range may be, and readers counted once
//! per user, post and day on two instances.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{admin, date, ok, to_next_month};
use crate::support::db::{count, execute};
use crate::support::{assert_error, assert_invalid_field, spawn_app, spawn_app_with};

backend_test! {
async fn readers_are_refused_authors_see_their_own_and_bad_ranges_are_422() {
    let app = spawn_app().await;
    let ada = admin(&app, "Ada").await;
    let reader = app.logged_in_client("Rita").await;
    let author = app.logged_in_client("Alan").await;
    execute(&app, "UPDATE users SET role = 'author' WHERE username = 'Alan'");

    let anonymous = app.client();
    assert_error(app.get(&anonymous, "/insights").await, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert_error(app.get(&anonymous, "/insights/posts").await, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert_error(app.get(&reader, "/insights").await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(app.get(&reader, "/insights/posts").await, StatusCode::FORBIDDEN, "forbidden").await;
    // An author sees their own posts, not the site.
    assert_error(app.get(&author, "/insights").await, StatusCode::FORBIDDEN, "forbidden").await;
    let made = app.create_post(&author, &json!({"title": "Alan's post", "body": "Mine."})).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let mine = ok(&app, &author, "/insights/posts").await;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["posts"][0]["post"]["title"], "Alan's post");
    assert_eq!(mine["posts"][0]["post"]["author"], json!({"username": "Alan"}));
    let all = ok(&app, &ada, "/insights/posts").await;
    let live = count(&app, "SELECT COUNT(*) AS n FROM posts WHERE deleted_at IS NULL");
    assert_eq!(all["total"].as_i64(), Some(live));
    assert!(live > 1);

    for (query, field) in [
        ("from=2026-02-30", "from"),
        ("from=yesterday", "from"),
        ("to=2026-1-01", "to"),
        ("from=2026-03-02&to=2026-03-01", "to"),
        ("from=2025-01-01&to=2026-01-02", "to"),
        ("from=2026-01-01&from=2026-01-02", "from"),
    ] {
        assert_invalid_field(app.get(&ada, &format!("/insights?{query}")).await, field).await;
        assert_invalid_field(app.get(&ada, &format!("/insights/posts?{query}")).await, field).await;
    }
    for (query, field) in [("sort=title", "sort"), ("per_page=0", "per_page"), ("page=x", "page")] {
        assert_invalid_field(app.get(&ada, &format!("/insights/posts?{query}")).await, field).await;
    }
    // 366 days, both ends counted, is the most.
    let year = ok(&app, &ada, "/insights?from=2025-01-01&to=2026-01-01").await;
    assert_eq!(year["days"].as_array().unwrap().len(), 366);
    // Billing off: no revenue to tell.
    assert_eq!(year["mrr"], Value::Null);
}
}

backend_test! {
async fn a_reader_counts_once_per_post_and_day_on_two_instances() {
    let app = spawn_app_with(&[("FREE_READS", "5")]).await;
    to_next_month(&app);
    let other = app.sibling().await;
    let ada = admin(&app, "Ada").await;
    let readers: Vec<_> = join_all(["Ann", "Ben", "Cid"].map(|name| app.logged_in_client(name))).await;
    // Each reads post 1 twenty times and post 2 once, half of it on each
    // instance, all at once.
    let reads = readers.iter().flat_map(|client| {
        (0..20).map(move |i| (client, 1, i % 2 == 0)).chain([(client, 2, false)])
    });
    let answers = join_all(reads.map(|(client, post, here)| {
        let base = if here { &app } else { &other };
        async move { base.get(client, &format!("/blog/{post}")).await.status() }
    }))
    .await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    let today = date(app.now(), 0);
    let site = ok(&app, &ada, &format!("/insights?from={today}&to={today}")).await;
    assert_eq!(site["days"][0]["readers"], 3, "{site}");
    let posts = ok(&other, &ada, &format!("/insights/posts?from={today}&to={today}&per_page=2")).await;
    let counted: Vec<(Value, Value)> = posts["posts"].as_array().unwrap().iter()
        .map(|row| (row["post"]["id"].clone(), row["readers"].clone()))
        .collect();
    assert_eq!(counted, [(json!(1), json!(3)), (json!(2), json!(3))]);
    // One row per reader, post and day: the re-reads wrote nothing.
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM post_readers"), 6);
}
}
