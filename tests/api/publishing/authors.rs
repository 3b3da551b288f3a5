//! What the authors' tests share: logging in with a role, one call per
//! authors' route that must succeed, and reading lists and times.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::db::execute;
use crate::support::{assert_error_in, spawn_app_and_user, TestApp};

/// Gives `username` a role, as `tollgate set-role` would: at once, on their
/// live sessions too.
pub(super) fn set_role(app: &TestApp, username: &str, role: &str) {
    execute(
        app,
        &format!("UPDATE users SET role = '{role}' WHERE username = '{username}'"),
    );
}

/// A fresh app with the author `Alice` logged in.
pub(super) async fn spawn_app_and_author() -> (TestApp, Client) {
    let (app, client) = spawn_app_and_user("Alice").await;
    set_role(&app, "Alice", "author");
    (app, client)
}

/// A new browser, registered as `username` and given `role`.
pub(super) async fn logged_in_as(app: &TestApp, username: &str, role: &str) -> Client {
    let client = app.logged_in_client(username).await;
    set_role(app, username, role);
    client
}

/// The JSON body of a response that must have `status`.
pub(super) async fn body_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{}", response.url());
    response.json().await.expect("a JSON body")
}

pub(super) async fn ok(response: Response) -> Value {
    body_of(response, StatusCode::OK).await
}

/// `POST /posts` with `fields`, which must create the post.
pub(super) async fn create(app: &TestApp, client: &Client, fields: Value) -> Value {
    body_of(app.create_post(client, &fields).await, StatusCode::CREATED).await
}

/// `PATCH /posts/{id}` with `fields`, which must save.
pub(super) async fn edit(app: &TestApp, client: &Client, id: i64, fields: &Value) -> Value {
    ok(app.edit_post(client, id, fields).await).await
}

/// `POST /posts/{id}/publish` with `fields`, which must publish.
pub(super) async fn publish(app: &TestApp, client: &Client, id: i64, fields: &Value) -> Value {
    ok(app.publish_post(client, id, fields).await).await
}

/// `GET /posts/{id}`, which must be there.
pub(super) async fn preview(app: &TestApp, client: &Client, id: i64) -> Value {
    ok(app.editable_post(client, id).await).await
}

/// `GET /posts` with `query`, which must answer.
pub(super) async fn posts_of(app: &TestApp, client: &Client, query: &str) -> Value {
    ok(app.posts(client, query).await).await
}

/// `GET path`, which must answer `200`.
pub(super) async fn read(app: &TestApp, client: &Client, path: &str) -> Value {
    ok(app.get(client, path).await).await
}

/// A new draft with just a title and a body; its id.
pub(super) async fn new_post(app: &TestApp, client: &Client, title: &str, body: &str) -> i64 {
    id_of(&create(app, client, json!({"title": title, "body": body})).await)
}

pub(super) fn id_of(post: &Value) -> i64 {
    post["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an id in {post}"))
}

/// A time of the contract's, parsed.
pub(super) fn time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("a time: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// Unix seconds as the contract writes them: `2026-11-21T10:00:00Z`.
pub(super) fn rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .expect("a time")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `GET /blog`'s first hundred posts, with `total` and `meter`.
pub(super) async fn listing(app: &TestApp, client: &Client) -> Value {
    ok(app.blog(client, "?per_page=100").await).await
}

/// The ids a list of posts (`/blog`'s or `/posts`'s) has, in its order.
pub(super) fn ids(list: &Value) -> Vec<i64> {
    list["posts"]
        .as_array()
        .unwrap_or_else(|| panic!("posts in {list}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Checks readers get `404` for each of `paths` (`/blog/…`).
pub(super) async fn assert_hidden(app: &TestApp, reader: &Client, paths: &[String]) {
    for path in paths {
        let response = app.get(reader, path).await;
        assert_error_in(path, response, StatusCode::NOT_FOUND, "not_found").await;
    }
}
