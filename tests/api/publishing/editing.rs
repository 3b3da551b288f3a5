//! The authors' side of the blog: `/posts` and `/posts/{id}` with its
//! `publish` and `unpublish`. Who may use them (by role, and whose post),
//! what a save keeps and changes, slugs, versions and edit conflicts,
//! scheduling — and what readers see of each at `/blog`.

use std::collections::HashSet;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::future::join_all;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::db::execute;
use crate::support::{
    assert_error, assert_error_in, assert_invalid_field, assert_invalid_field_in,
    spawn_app_and_user, TestApp, PASSWORD,
};

/// Gives `username` a role, as `tollgate set-role` would: at once, on their
/// live sessions too.
fn set_role(app: &TestApp, username: &str, role: &str) {
    execute(
        app,
        &format!("UPDATE users SET role = '{role}' WHERE username = '{username}'"),
    );
}

/// A fresh app with the author `Alice` logged in.
async fn spawn_app_and_author() -> (TestApp, Client) {
    let (app, client) = spawn_app_and_user("Alice").await;
    set_role(&app, "Alice", "author");
    (app, client)
}

/// A new browser, registered as `username` and given `role`.
async fn logged_in_as(app: &TestApp, username: &str, role: &str) -> Client {
    let client = app.logged_in_client(username).await;
    set_role(app, username, role);
    client
}

/// The JSON body of a response that must have `status`.
async fn body_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{}", response.url());
    response.json().await.expect("a JSON body")
}

async fn ok(response: Response) -> Value {
    body_of(response, StatusCode::OK).await
}

/// `POST /posts` with `fields`, which must create the post.
async fn create(app: &TestApp, client: &Client, fields: Value) -> Value {
    body_of(app.create_post(client, &fields).await, StatusCode::CREATED).await
}

/// `PATCH /posts/{id}` with `fields`, which must save.
async fn edit(app: &TestApp, client: &Client, id: i64, fields: &Value) -> Value {
    ok(app.edit_post(client, id, fields).await).await
}

/// `POST /posts/{id}/publish` with `fields`, which must publish.
async fn publish(app: &TestApp, client: &Client, id: i64, fields: &Value) -> Value {
    ok(app.publish_post(client, id, fields).await).await
}

/// `GET /posts/{id}`, which must be there.
async fn preview(app: &TestApp, client: &Client, id: i64) -> Value {
    ok(app.editable_post(client, id).await).await
}

/// `GET /posts` with `query`, which must answer.
async fn posts_of(app: &TestApp, client: &Client, query: &str) -> Value {
    ok(app.posts(client, query).await).await
}

/// `GET path`, which must answer `200`.
async fn read(app: &TestApp, client: &Client, path: &str) -> Value {
    ok(app.get(client, path).await).await
}

/// A new draft with just a title and a body; its id.
async fn new_post(app: &TestApp, client: &Client, title: &str, body: &str) -> i64 {
    id_of(&create(app, client, json!({"title": title, "body": body})).await)
}

fn id_of(post: &Value) -> i64 {
    post["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an id in {post}"))
}

/// A time of the contract's, parsed.
fn time(value: &Value) -> DateTime<Utc> {
    let text = value.as_str().unwrap_or_else(|| panic!("a time: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// Unix seconds as the contract writes them: `2026-11-21T10:00:00Z`.
fn rfc3339(unix: i64) -> String {
    DateTime::from_timestamp(unix, 0)
        .expect("a time")
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `GET /blog`'s first hundred posts, with `total` and `meter`.
async fn listing(app: &TestApp, client: &Client) -> Value {
    ok(app.blog(client, "?per_page=100").await).await
}

/// The ids a list of posts (`/blog`'s or `/posts`'s) has, in its order.
fn ids(list: &Value) -> Vec<i64> {
    list["posts"]
        .as_array()
        .unwrap_or_else(|| panic!("posts in {list}"))
        .iter()
        .map(id_of)
        .collect()
}

/// Checks readers get `404` for each of `paths` (`/blog/…`).
async fn assert_hidden(app: &TestApp, reader: &Client, paths: &[String]) {
    for path in paths {
        let response = app.get(reader, path).await;
        assert_error_in(path, response, StatusCode::NOT_FOUND, "not_found").await;
    }
}

backend_test! {
async fn a_reader_is_forbidden_every_authors_route_and_a_stranger_is_not_logged_in() {
    let (app, author) = spawn_app_and_author().await;
    let id = new_post(&app, &author, "Mine", "Text").await;
    let reader = app.logged_in_client("Rita").await;
    let post = format!("/posts/{id}");
    let routes = [
        ("GET", "/posts".to_owned(), None),
        (
            "POST",
            "/posts".to_owned(),
            Some(json!({"title": "Theirs", "body": "Text"})),
        ),
        ("GET", post.clone(), None),
        ("PATCH", post.clone(), Some(json!({"title": "Theirs"}))),
        ("DELETE", post.clone(), None),
        ("POST", format!("{post}/publish"), Some(json!({}))),
        ("POST", format!("{post}/unpublish"), None),
        // The role is asked first: a reader learns nothing of which exist.
        ("GET", "/posts/999".to_owned(), None),
    ];

    for (method, path, body) in &routes {
        let response = app.send_json(&reader, method, path, body.as_ref()).await;
        let case = format!("{method} {path} by a reader");
        assert_error_in(&case, response, StatusCode::FORBIDDEN, "forbidden").await;
        let response = app
            .send_json(&app.client(), method, path, body.as_ref())
            .await;
        let case = format!("{method} {path} by a stranger");
        assert_error_in(&case, response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    }

    // Nothing was written.
    let mine = posts_of(&app, &author, "").await;
    assert_eq!(ids(&mine), [id]);
    let stored = preview(&app, &author, id).await;
    assert_eq!(stored["title"], "Mine");
    assert_eq!(stored["status"], "draft");
    assert_eq!(listing(&app, &reader).await["total"], 12);
    // A role change holds at once on a live session, both ways.
    set_role(&app, "Rita", "author");
    assert_eq!(posts_of(&app, &reader, "").await["total"], 0);
    set_role(&app, "Alice", "reader");
    let response = app.posts(&author, "").await;
    assert_error(response, StatusCode::FORBIDDEN, "forbidden").await;
}
}

backend_test! {
async fn an_author_creates_a_draft_that_readers_do_not_see() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let body = "A *strong* cup.\n\nWith [milk](https://example.com/milk).";
    let before = app.now();

    let post = create(
        &app,
        &author,
        json!({"title": "Café au lait", "body": body}),
    )
    .await;

    let id = id_of(&post);
    assert!(id > 12, "after the demo posts: {post}");
    assert_eq!(post["title"], "Café au lait");
    assert_eq!(post["slug"], "cafe-au-lait");
    assert_eq!(post["body"], body);
    let html = post["html"].as_str().unwrap();
    assert!(html.starts_with("<p>A <em>strong</em> cup.</p>"), "{html}");
    assert!(
        html.contains(r#"href="https://example.com/milk""#),
        "{html}"
    );
    assert!(
        html.contains(r#"rel="noopener noreferrer nofollow""#),
        "{html}"
    );
    assert_eq!(post["excerpt"], "A strong cup. With milk.");
    assert_eq!(post["access"], "metered");
    assert_eq!(post["status"], "draft");
    assert_eq!(post["published_at"], Value::Null);
    assert_eq!(post["author"], json!({"username": "Alice"}));
    let created = time(&post["created_at"]).timestamp();
    assert!((before..=app.now()).contains(&created), "{post}");
    assert!(time(&post["updated_at"]).timestamp() >= created, "{post}");
    // The author's preview is the same post.
    assert_eq!(preview(&app, &author, id).await, post);
    let mine = posts_of(&app, &author, "").await;
    assert_eq!(ids(&mine), [id]);
    assert_eq!(mine["posts"][0]["status"], "draft");
    // Readers (the author too, at /blog) see nothing, and spend nothing.
    let paths = [format!("/blog/{id}"), "/blog/cafe-au-lait".to_owned()];
    assert_hidden(&app, &reader, &paths).await;
    assert_hidden(&app, &author, &paths).await;
    let list = listing(&app, &reader).await;
    assert_eq!(list["total"], 12);
    assert!(!ids(&list).contains(&id));
    assert_eq!(list["meter"]["used"], 0);
}
}

backend_test! {
async fn fields_that_break_a_rule_are_422_naming_the_field() {
    let (app, author) = spawn_app_and_author().await;
    // Each a post of `{"title": "Title", "body": "Text"}` with one field
    // changed (or left out: None), which the answer must name.
    let creations = [
        ("no title", "title", None),
        ("no body", "body", None),
        ("an empty title", "title", Some(json!(""))),
        ("a title of whitespace", "title", Some(json!(" \t\n "))),
        (
            "a title of 201 characters",
            "title",
            Some(json!("é".repeat(201))),
        ),
        ("a title that is a number", "title", Some(json!(7))),
        (
            "a body of 200,001 bytes",
            "body",
            Some(json!("a".repeat(200_001))),
        ),
        (
            "an excerpt of 501 characters",
            "excerpt",
            Some(json!("é".repeat(501))),
        ),
        ("an unknown access", "access", Some(json!("public"))),
        ("a slug with capitals", "slug", Some(json!("My-Post"))),
        ("a slug with a double dash", "slug", Some(json!("my--post"))),
        ("a slug with a space", "slug", Some(json!("my post"))),
        (
            "a slug of 81 characters",
            "slug",
            Some(json!("a".repeat(81))),
        ),
        ("an all-digit slug", "slug", Some(json!("2026"))),
    ];
    for (case, field, value) in creations {
        let mut fields = json!({"title": "Title", "body": "Text"});
        match value {
            Some(value) => fields[field] = value,
            None => {
                fields.as_object_mut().unwrap().remove(field);
            }
        }
        let response = app.create_post(&author, &fields).await;
        assert_invalid_field_in(case, response, field).await;
    }
    let id = new_post(&app, &author, "Title", "Text").await;
    let edits = [
        ("an empty title", "title", json!("")),
        ("a null title", "title", Value::Null),
        ("a null body", "body", Value::Null),
        ("a null slug", "slug", Value::Null),
        ("a null access", "access", Value::Null),
        (
            "a body of 200,001 bytes",
            "body",
            json!("a".repeat(200_001)),
        ),
        (
            "an excerpt of 501 characters",
            "excerpt",
            json!("é".repeat(501)),
        ),
        ("an unknown access", "access", json!("public")),
        ("an all-digit slug", "slug", json!("2026")),
        ("a malformed updated_at", "updated_at", json!("yesterday")),
    ];
    for (case, field, value) in edits {
        let response = app.edit_post(&author, id, &json!({ field: value })).await;
        assert_invalid_field_in(case, response, field).await;
    }

    // Nothing was saved by any of them.
    let mine = posts_of(&app, &author, "").await;
    assert_eq!(ids(&mine), [id]);
    let stored = preview(&app, &author, id).await;
    assert_eq!(
        (&stored["title"], &stored["body"]),
        (&json!("Title"), &json!("Text"))
    );
    // The limits themselves are allowed.
    let most = json!({
        "title": "é".repeat(200),
        "body": "a".repeat(200_000),
        "excerpt": "é".repeat(500),
        "slug": "a".repeat(80),
    });
    let post = create(&app, &author, most).await;
    assert_eq!(post["body"].as_str().unwrap().len(), 200_000);
    assert_eq!(post["slug"], "a".repeat(80));
}
}

backend_test! {
async fn a_post_body_over_256_kib_is_413_json() {
    let (app, author) = spawn_app_and_author().await;
    let id = new_post(&app, &author, "Title", "Text").await;
    let huge = "a".repeat(270_000);

    let response = app
        .create_post(&author, &json!({"title": "Big", "body": huge}))
        .await;

    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let response = app.edit_post(&author, id, &json!({"body": huge})).await;
    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(ids(&posts_of(&app, &author, "").await), [id]);
    assert_eq!(preview(&app, &author, id).await["body"], "Text");
}
}

backend_test! {
async fn a_slug_given_and_taken_is_409_until_its_post_is_deleted() {
    let (app, author) = spawn_app_and_author().await;
    let first = create(
        &app,
        &author,
        json!({"title": "First", "body": "1", "slug": "my-post"}),
    )
    .await;
    assert_eq!(first["slug"], "my-post");

    let response = app
        .create_post(
            &author,
            &json!({"title": "Second", "body": "2", "slug": "my-post"}),
        )
        .await;

    assert_error(response, StatusCode::CONFLICT, "slug_taken").await;
    // A demo post's slug is taken too, and an edit to a taken slug is refused.
    let demo = "session-cookies-done-right-httponly-secure-and-opaque-tokens";
    let response = app
        .create_post(
            &author,
            &json!({"title": "Second", "body": "2", "slug": demo}),
        )
        .await;
    assert_error(response, StatusCode::CONFLICT, "slug_taken").await;
    let second = new_post(&app, &author, "Second", "2").await;
    let response = app
        .edit_post(&author, second, &json!({"slug": "my-post", "title": "Two"}))
        .await;
    assert_error(response, StatusCode::CONFLICT, "slug_taken").await;
    let stored = preview(&app, &author, second).await;
    assert_eq!(
        (&stored["slug"], &stored["title"]),
        (&json!("second"), &json!("Second"))
    );
    // Deleted, a post gives its slug up: given or derived.
    let status = app.delete_post(&author, id_of(&first)).await.status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let third = create(
        &app,
        &author,
        json!({"title": "Third", "body": "3", "slug": "my-post"}),
    )
    .await;
    assert_eq!(third["slug"], "my-post");
    assert_ne!(id_of(&third), id_of(&first));
    assert_eq!(
        app.delete_post(&author, second).await.status(),
        StatusCode::NO_CONTENT
    );
    let again = create(&app, &author, json!({"title": "Second", "body": "2"})).await;
    assert_eq!(again["slug"], "second");
}
}

backend_test! {
async fn parallel_posts_with_one_title_all_get_their_own_slug() {
    let (app, author) = spawn_app_and_author().await;

    let responses = join_all((0..8).map(|n| {
        let (app, author) = (&app, &author);
        async move {
            let fields = json!({"title": "Same Title", "body": format!("Body {n}")});
            app.create_post(author, &fields).await
        }
    }))
    .await;

    let mut slugs = HashSet::new();
    for response in responses {
        let post = body_of(response, StatusCode::CREATED).await;
        slugs.insert(post["slug"].as_str().unwrap().to_owned());
    }
    let mut expected: HashSet<String> = (2..=8).map(|n| format!("same-title-{n}")).collect();
    expected.insert("same-title".to_owned());
    assert_eq!(slugs, expected);
    assert_eq!(posts_of(&app, &author, "").await["total"], 8);
}
}

backend_test! {
async fn a_new_slug_renames_the_post_for_readers_and_a_new_title_does_not() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let id = new_post(&app, &author, "Old Name", "Text.").await;
    publish(&app, &author, id, &json!({})).await;
    assert_eq!(id_of(&read(&app, &reader, "/blog/old-name").await), id);

    let renamed = edit(&app, &author, id, &json!({"slug": "new-name"})).await;

    assert_eq!(renamed["slug"], "new-name");
    assert_hidden(&app, &reader, &["/blog/old-name".to_owned()]).await;
    assert_eq!(id_of(&read(&app, &reader, "/blog/new-name").await), id);
    // A new title leaves the slug alone.
    let fields = json!({"title": "A Brand New Title", "body": "Other text."});
    let retitled = edit(&app, &author, id, &fields).await;
    assert_eq!(retitled["slug"], "new-name");
    assert_hidden(&app, &reader, &["/blog/a-brand-new-title".to_owned()]).await;
    let opened = read(&app, &reader, "/blog/new-name").await;
    assert_eq!(
        (id_of(&opened), &opened["title"]),
        (id, &json!("A Brand New Title"))
    );
    assert_eq!(opened["meter"]["used"], 1, "one post, one read");
    // The old slug names nothing now: a new post may take it.
    let other = create(
        &app,
        &author,
        json!({"title": "Old Name", "body": "Again."}),
    )
    .await;
    assert_eq!(other["slug"], "old-name");
}
}

backend_test! {
async fn an_edit_changes_only_the_fields_sent() {
    let (app, author) = spawn_app_and_author().await;
    let fields =
        json!({"title": "Title", "body": "First *body*.", "excerpt": "Mine", "access": "free"});
    let created = create(&app, &author, fields).await;
    let id = id_of(&created);
    assert_eq!(
        (&created["excerpt"], &created["access"]),
        (&json!("Mine"), &json!("free"))
    );

    let edited = edit(&app, &author, id, &json!({"title": "New Title"})).await;

    assert_eq!(edited["title"], "New Title");
    let unchanged = [
        "id",
        "slug",
        "body",
        "html",
        "excerpt",
        "access",
        "status",
        "published_at",
        "created_at",
        "author",
    ];
    for field in unchanged {
        assert_eq!(edited[field], created[field], "{field}");
    }
    // A new body: html rendered again (and sanitized), the given excerpt kept.
    let body = "Second **body**.\n\n<script>alert(1)</script>\n";
    let edited = edit(&app, &author, id, &json!({"body": body})).await;
    assert_eq!(edited["body"], body);
    let html = edited["html"].as_str().unwrap();
    assert!(html.contains("<strong>body</strong>"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    assert_eq!(
        (&edited["excerpt"], &edited["title"]),
        (&json!("Mine"), &json!("New Title"))
    );
    let edited = edit(&app, &author, id, &json!({"access": "premium"})).await;
    assert_eq!(
        (&edited["access"], &edited["html"]),
        (&json!("premium"), &json!(html))
    );
    // `"excerpt": null` goes back to the derived one, which follows the body.
    let edited = edit(&app, &author, id, &json!({"excerpt": null})).await;
    assert_eq!(edited["excerpt"], "Second body.");
    let edited = edit(&app, &author, id, &json!({"body": "Third body."})).await;
    assert_eq!(edited["excerpt"], "Third body.");
    assert_eq!(edited["html"], "<p>Third body.</p>\n");
    // What the last save answered is what is stored.
    assert_eq!(preview(&app, &author, id).await, edited);
}
}

backend_test! {
async fn every_save_moves_updated_at_forward_even_within_a_second() {
    let (app, author) = spawn_app_and_author().await;
    let created = create(&app, &author, json!({"title": "Title", "body": "Text"})).await;
    let id = id_of(&created);
    let mut last = time(&created["updated_at"]);

    // The clock is not moved: the saves come within a second or two.
    for n in 0..3 {
        let title = format!("Title {n}");
        let saved = edit(&app, &author, id, &json!({"title": title})).await;
        let at = time(&saved["updated_at"]);
        assert!(at > last, "save {n}: {at} after {last}");
        last = at;
    }
    let saved = publish(&app, &author, id, &json!({})).await;
    assert!(time(&saved["updated_at"]) > last, "publishing is a save");
    last = time(&saved["updated_at"]);
    let saved = ok(app.unpublish_post(&author, id).await).await;
    assert!(time(&saved["updated_at"]) > last, "unpublishing is a save");
    let stored = preview(&app, &author, id).await;
    assert_eq!(stored["updated_at"], saved["updated_at"]);
    assert_eq!(stored["created_at"], created["created_at"]);
}
}

backend_test! {
async fn saves_that_send_no_version_all_land_even_in_parallel() {
    let (app, author) = spawn_app_and_author().await;
    let id = new_post(&app, &author, "Racing", "Start.").await;

    // Each changes one field and sends no updated_at: none asked for a
    // version check, so none may be refused for another's save, and none
    // may undo another's field.
    let changes = [
        json!({"title": "Raced"}),
        json!({"body": "Finished."}),
        json!({"access": "free"}),
    ];
    let responses = join_all(changes.iter().map(|fields| app.edit_post(&author, id, fields))).await;

    for response in responses {
        ok(response).await;
    }
    let post = preview(&app, &author, id).await;
    assert_eq!(
        (&post["title"], &post["body"], &post["access"]),
        (&json!("Raced"), &json!("Finished."), &json!("free"))
    );
}
}

backend_test! {
async fn a_save_from_an_older_version_is_an_edit_conflict_and_changes_nothing() {
    let (app, author) = spawn_app_and_author().await;
    let created = create(&app, &author, json!({"title": "Title", "body": "Text"})).await;
    let id = id_of(&created);
    let seen = created["updated_at"].clone();
    // Two editors start from the same version; the first one saves.
    let fields = json!({"title": "First editor", "updated_at": seen});
    let first = edit(&app, &author, id, &fields).await;

    let fields = json!({"title": "Second editor", "body": "Overwritten", "updated_at": seen});
    let response = app.edit_post(&author, id, &fields).await;

    assert_error(response, StatusCode::CONFLICT, "edit_conflict").await;
    let stored = preview(&app, &author, id).await;
    assert_eq!(stored, first, "nothing changed");
    assert_eq!(
        (&stored["title"], &stored["body"]),
        (&json!("First editor"), &json!("Text"))
    );
    // From the version now stored, the save goes through.
    let fields = json!({"title": "Second editor", "updated_at": first["updated_at"]});
    let second = edit(&app, &author, id, &fields).await;
    assert_eq!(second["title"], "Second editor");
    assert!(time(&second["updated_at"]) > time(&first["updated_at"]));
    // Without updated_at there is no check: the last save wins.
    let third = edit(&app, &author, id, &json!({"title": "Third"})).await;
    assert_eq!(third["title"], "Third");
}
}

backend_test! {
async fn publishing_without_a_time_shows_the_post_to_readers_at_once() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let id = new_post(&app, &author, "Fresh News", "Text.").await;
    let before = app.now();

    let published = publish(&app, &author, id, &json!({})).await;

    assert_eq!(published["status"], "published");
    let at = time(&published["published_at"]).timestamp();
    assert!((before..=app.now()).contains(&at), "{published}");
    let list = listing(&app, &reader).await;
    assert_eq!(list["total"], 13);
    assert_eq!(ids(&list)[0], id, "newest first");
    assert_eq!(list["posts"][0]["author"], json!({"username": "Alice"}));
    let opened = read(&app, &reader, "/blog/fresh-news").await;
    assert_eq!(
        (id_of(&opened), &opened["html"]),
        (id, &json!("<p>Text.</p>\n"))
    );
    assert_eq!(opened["published_at"], published["published_at"]);
    let mine = posts_of(&app, &author, "?status=published").await;
    assert_eq!(ids(&mine), [id]);
    // The body of a publish is optional.
    let other = new_post(&app, &author, "Other News", "More.").await;
    let response = app
        .send(&author, "POST", &format!("/posts/{other}/publish"))
        .await;
    assert_eq!(ok(response).await["status"], "published");
    assert_eq!(listing(&app, &reader).await["total"], 14);
}
}

backend_test! {
async fn publishing_at_a_past_time_back_dates_the_post() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let id = new_post(&app, &author, "From The Archive", "Old.").await;

    let fields = json!({"at": "2026-03-01T00:00:00Z"});
    let published = publish(&app, &author, id, &fields).await;

    assert_eq!(published["status"], "published");
    assert_eq!(published["published_at"], "2026-03-01T00:00:00Z");
    // Between the demo posts of 26 February (3) and 19 March (4).
    let list = listing(&app, &reader).await;
    assert_eq!(list["total"], 13);
    assert_eq!(ids(&list), [12, 11, 10, 9, 8, 7, 6, 5, 4, id, 3, 2, 1]);
    let opened = read(&app, &reader, &format!("/blog/{id}")).await;
    assert_eq!(opened["published_at"], "2026-03-01T00:00:00Z");
}
}

backend_test! {
async fn publishing_at_a_future_time_schedules_the_post_until_then() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let id = new_post(&app, &author, "Coming Soon", "Soon.").await;
    let at = rfc3339(app.now() + 3600);

    let scheduled = publish(&app, &author, id, &json!({"at": at})).await;

    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(scheduled["published_at"], at);
    let paths = [format!("/blog/{id}"), "/blog/coming-soon".to_owned()];
    assert_hidden(&app, &reader, &paths).await;
    let list = listing(&app, &reader).await;
    assert_eq!(
        (&list["total"], &list["meter"]["used"]),
        (&json!(12), &json!(0))
    );
    assert_eq!(
        ids(&posts_of(&app, &author, "?status=scheduled").await),
        [id]
    );
    assert_eq!(
        posts_of(&app, &author, "?status=published").await["total"],
        0
    );
    app.advance_clock(1800);
    assert_hidden(&app, &reader, &paths).await;

    app.advance_clock(1800);

    let list = listing(&app, &reader).await;
    assert_eq!(list["total"], 13);
    assert_eq!(ids(&list)[0], id);
    assert_eq!(id_of(&read(&app, &reader, "/blog/coming-soon").await), id);
    let stored = preview(&app, &author, id).await;
    assert_eq!(
        (&stored["status"], &stored["published_at"]),
        (&json!("published"), &json!(at))
    );
    assert_eq!(
        ids(&posts_of(&app, &author, "?status=published").await),
        [id]
    );
}
}

backend_test! {
async fn a_scheduled_post_appears_across_a_restart_with_nothing_run() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let id = new_post(&app, &author, "Coming Soon", "Soon.").await;
    let at = rfc3339(app.now() + 600);
    publish(&app, &author, id, &json!({"at": at})).await;

    let app = app.restart().await;

    assert_eq!(preview(&app, &author, id).await["status"], "scheduled");
    assert_hidden(&app, &reader, &[format!("/blog/{id}")]).await;
    app.advance_clock(600);
    assert_eq!(
        id_of(&read(&app, &reader, &format!("/blog/{id}")).await),
        id
    );
    assert_eq!(preview(&app, &author, id).await["status"], "published");
}
}

backend_test! {
async fn a_malformed_publish_time_is_422_and_changes_nothing() {
    let (app, author) = spawn_app_and_author().await;
    let created = create(&app, &author, json!({"title": "Title", "body": "Text"})).await;
    let id = id_of(&created);
    let cases = [
        ("words", json!({"at": "tomorrow"})),
        ("month 13", json!({"at": "2026-13-01T09:00:00Z"})),
        ("no zone", json!({"at": "2026-12-01T09:00:00"})),
        ("a number", json!({"at": 1_900_000_000})),
    ];

    for (case, fields) in &cases {
        let response = app.publish_post(&author, id, fields).await;
        assert_invalid_field_in(case, response, "at").await;
    }

    assert_eq!(preview(&app, &author, id).await, created);
}
}

backend_test! {
async fn unpublishing_hides_the_post_and_reads_spent_on_it_stay_spent() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let id = new_post(&app, &author, "Short Lived", "Text.").await;
    publish(&app, &author, id, &json!({})).await;
    let opened = read(&app, &reader, &format!("/blog/{id}")).await;
    assert_eq!(opened["meter"]["used"], 1);

    let draft = ok(app.unpublish_post(&author, id).await).await;

    assert_eq!(
        (&draft["status"], &draft["published_at"]),
        (&json!("draft"), &Value::Null)
    );
    assert_hidden(
        &app,
        &reader,
        &[format!("/blog/{id}"), "/blog/short-lived".to_owned()],
    )
    .await;
    let list = listing(&app, &reader).await;
    assert_eq!(list["total"], 12);
    assert!(!ids(&list).contains(&id));
    assert_eq!(list["meter"]["used"], 1, "spent, and no read for the 404s");
    assert_eq!(
        ok(app.blog_post(&reader, 1).await).await["meter"]["used"],
        2
    );
    // Published again, it is still unlocked for the month: no read spent.
    publish(&app, &author, id, &json!({})).await;
    let again = read(&app, &reader, "/blog/short-lived").await;
    assert_eq!((id_of(&again), &again["meter"]["used"]), (id, &json!(2)));
}
}

backend_test! {
async fn a_deleted_post_is_gone_for_its_author_and_for_readers() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let id = new_post(&app, &author, "Soon Gone", "Text.").await;
    let kept = new_post(&app, &author, "Kept", "Text.").await;
    publish(&app, &author, id, &json!({})).await;
    read(&app, &reader, &format!("/blog/{id}")).await;

    let response = app.delete_post(&author, id).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());
    let post = format!("/posts/{id}");
    let routes = [
        ("GET", post.clone(), None),
        ("PATCH", post.clone(), Some(json!({"title": "Back"}))),
        ("POST", format!("{post}/publish"), Some(json!({}))),
        ("POST", format!("{post}/unpublish"), None),
        ("DELETE", post.clone(), None),
    ];
    for (method, path, body) in &routes {
        let response = app.send_json(&author, method, path, body.as_ref()).await;
        let case = format!("{method} {path}");
        assert_error_in(&case, response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(ids(&posts_of(&app, &author, "").await), [kept]);
    assert_hidden(
        &app,
        &reader,
        &[format!("/blog/{id}"), "/blog/soon-gone".to_owned()],
    )
    .await;
    let list = listing(&app, &reader).await;
    assert_eq!(list["total"], 12);
    assert_eq!(list["meter"]["used"], 1, "the read spent on it stays spent");
}
}

backend_test! {
async fn an_author_cannot_see_or_touch_another_authors_posts() {
    let (app, alice) = spawn_app_and_author().await;
    let bob = logged_in_as(&app, "Bob", "author").await;
    let hers = new_post(&app, &alice, "Her Post", "Hers.").await;
    let his = new_post(&app, &bob, "His Post", "His.").await;
    let post = format!("/posts/{hers}");
    let routes = [
        ("GET", post.clone(), None),
        ("PATCH", post.clone(), Some(json!({"title": "His now"}))),
        ("POST", format!("{post}/publish"), Some(json!({}))),
        ("POST", format!("{post}/unpublish"), None),
        ("DELETE", post.clone(), None),
        // Nor a demo post, which is nobody's.
        ("GET", "/posts/1".to_owned(), None),
        (
            "PATCH",
            "/posts/1".to_owned(),
            Some(json!({"title": "His now"})),
        ),
    ];

    for (method, path, body) in &routes {
        let response = app.send_json(&bob, method, path, body.as_ref()).await;
        let case = format!("{method} {path}");
        assert_error_in(&case, response, StatusCode::NOT_FOUND, "not_found").await;
    }

    assert_eq!(ids(&posts_of(&app, &bob, "").await), [his]);
    assert_eq!(ids(&posts_of(&app, &alice, "").await), [hers]);
    let stored = preview(&app, &alice, hers).await;
    assert_eq!(
        (&stored["title"], &stored["status"]),
        (&json!("Her Post"), &json!("draft"))
    );
    assert_ne!(ok(app.blog_post(&alice, 1).await).await["title"], "His now");
    // Nor an id that is not a positive integer.
    for path in ["/posts/0", "/posts/-1", "/posts/abc", "/posts/1.5"] {
        let response = app.get(&bob, path).await;
        assert_error_in(path, response, StatusCode::NOT_FOUND, "not_found").await;
    }
}
}

backend_test! {
async fn an_admin_sees_and_edits_every_post() {
    let (app, alice) = spawn_app_and_author().await;
    let bob = logged_in_as(&app, "Bob", "author").await;
    let admin = logged_in_as(&app, "Ada", "admin").await;
    let hers = new_post(&app, &alice, "Her Post", "Hers.").await;
    let his = new_post(&app, &bob, "His Post", "His.").await;

    let all = posts_of(&app, &admin, "?per_page=100").await;

    assert_eq!(all["total"], 14, "the demo posts, nobody's, too");
    assert_eq!(ids(&all)[..2], [his, hers]);
    let fields = json!({"title": "Edited by Ada"});
    let edited = edit(&app, &admin, hers, &fields).await;
    assert_eq!(edited["author"], json!({"username": "Alice"}), "still hers");
    assert_eq!(preview(&app, &alice, hers).await["title"], "Edited by Ada");
    let published = publish(&app, &admin, his, &json!({})).await;
    assert_eq!(published["status"], "published");
    let demo = edit(&app, &admin, 1, &json!({"access": "free"})).await;
    assert_eq!(
        (&demo["access"], &demo["author"]),
        (&json!("free"), &Value::Null)
    );
    assert_eq!(ok(app.blog_post(&bob, 1).await).await["access"], "free");
    assert_eq!(
        app.delete_post(&admin, his).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(posts_of(&app, &bob, "").await["total"], 0);
    let own = create(&app, &admin, json!({"title": "By Ada", "body": "Mine."})).await;
    assert_eq!(own["author"], json!({"username": "Ada"}));
    assert_eq!(ids(&posts_of(&app, &alice, "").await), [hers]);
}
}

backend_test! {
async fn the_authors_list_filters_by_status_and_shows_the_latest_save_first() {
    let (app, author) = spawn_app_and_author().await;
    let draft = new_post(&app, &author, "Draft", "d").await;
    let scheduled = new_post(&app, &author, "Scheduled", "s").await;
    let published = new_post(&app, &author, "Published", "p").await;
    let at = rfc3339(app.now() + 3600);
    publish(&app, &author, scheduled, &json!({"at": at})).await;
    publish(&app, &author, published, &json!({})).await;

    for (status, id) in [
        ("draft", draft),
        ("scheduled", scheduled),
        ("published", published),
    ] {
        let list = posts_of(&app, &author, &format!("?status={status}")).await;
        assert_eq!(ids(&list), [id], "{status}");
        assert_eq!(list["total"], 1, "{status}");
        assert_eq!(list["posts"][0]["status"], status);
    }

    let all = posts_of(&app, &author, "").await;
    assert_eq!(ids(&all), [published, scheduled, draft]);
    assert_eq!(
        (&all["total"], &all["page"], &all["per_page"]),
        (&json!(3), &json!(1), &json!(20))
    );
    for item in all["posts"].as_array().unwrap() {
        assert!(
            item.get("body").is_none() && item.get("html").is_none(),
            "{item}"
        );
        for field in [
            "slug",
            "title",
            "excerpt",
            "access",
            "status",
            "published_at",
            "created_at",
            "updated_at",
            "author",
        ] {
            assert!(item.get(field).is_some(), "{field} in {item}");
        }
    }
    // A save puts a post first, and a new post comes before older saves.
    edit(&app, &author, draft, &json!({"title": "Draft 2"})).await;
    assert_eq!(
        ids(&posts_of(&app, &author, "").await),
        [draft, published, scheduled]
    );
    let newest = new_post(&app, &author, "Newest", "n").await;
    assert_eq!(
        ids(&posts_of(&app, &author, "").await),
        [newest, draft, published, scheduled]
    );
    let page = posts_of(&app, &author, "?per_page=2&page=2").await;
    assert_eq!(ids(&page), [published, scheduled]);
    assert_eq!(
        (&page["total"], &page["page"], &page["per_page"]),
        (&json!(4), &json!(2), &json!(2))
    );
    // Bad queries.
    for query in [
        "?status=live",
        "?status=Draft",
        "?status=",
        "?status=draft&status=published",
    ] {
        let response = app.posts(&author, query).await;
        assert_invalid_field_in(query, response, "status").await;
    }
    assert_invalid_field(app.posts(&author, "?per_page=0").await, "per_page").await;
}
}

backend_test! {
async fn an_authors_posts_stay_with_no_author_when_they_delete_their_account() {
    let (app, alice) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Rita").await;
    let published = new_post(&app, &alice, "Her Legacy", "Stays.").await;
    let draft = new_post(&app, &alice, "Unfinished", "Later.").await;
    publish(&app, &alice, published, &json!({})).await;

    let response = app.delete_account(&alice, PASSWORD).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let opened = read(&app, &reader, "/blog/her-legacy").await;
    assert_eq!(
        (id_of(&opened), &opened["author"]),
        (published, &Value::Null)
    );
    let list = listing(&app, &reader).await;
    assert_eq!(
        (ids(&list)[0], &list["posts"][0]["author"]),
        (published, &Value::Null)
    );
    let admin = logged_in_as(&app, "Ada", "admin").await;
    let all = posts_of(&app, &admin, "?per_page=100").await;
    for id in [published, draft] {
        let post = all["posts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| id_of(p) == id);
        assert_eq!(
            post.unwrap_or_else(|| panic!("{id} in {all}"))["author"],
            Value::Null
        );
    }
    // A new Alice, in the username now free, owns none of them.
    let new_alice = logged_in_as(&app, "Alice", "author").await;
    assert_eq!(posts_of(&app, &new_alice, "").await["total"], 0);
    let response = app.editable_post(&new_alice, draft).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}
}

backend_test! {
async fn readers_total_follows_parallel_publishing_unpublishing_and_deleting() {
    let (app, author) = spawn_app_and_author().await;
    let reader = app.logged_in_client("Reader").await;
    let readers_total = || async {
        let response = app.blog(&reader, "").await;
        body_of(response, StatusCode::OK).await["total"].as_i64().unwrap()
    };
    let demo = readers_total().await;
    let mut ids = Vec::new();
    for n in 0..8 {
        let fields = json!({"title": format!("Post {n}"), "body": "Body"});
        ids.push(body_of(app.create_post(&author, &fields).await, StatusCode::CREATED).await["id"]
            .as_i64()
            .unwrap());
    }
    assert_eq!(readers_total().await, demo, "drafts are not counted");

    let now = json!({});
    let published = join_all(ids.iter().map(|&id| app.publish_post(&author, id, &now))).await;
    for response in published {
        body_of(response, StatusCode::OK).await;
    }
    assert_eq!(readers_total().await, demo + 8);

    // Two unpublished, two deleted, one scheduled, one published twice,
    // all at once.
    let later = json!({"at": rfc3339(app.now() + 3600)});
    let (a, b, c, d, e, f) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]);
    let responses = tokio::join!(
        app.unpublish_post(&author, a),
        app.unpublish_post(&author, b),
        app.delete_post(&author, c),
        app.delete_post(&author, d),
        app.publish_post(&author, e, &later),
        app.publish_post(&author, f, &now),
    );
    for response in [responses.0, responses.1, responses.4, responses.5] {
        body_of(response, StatusCode::OK).await;
    }
    for response in [responses.2, responses.3] {
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(readers_total().await, demo + 3);
    let listed = app.blog(&reader, "?per_page=100").await;
    let listed = body_of(listed, StatusCode::OK).await["posts"].as_array().unwrap().len();
    assert_eq!(listed as i64, demo + 3, "total is what the pages hold");
    app.advance_clock(3600);
    assert_eq!(readers_total().await, demo + 4, "the scheduled post counts at its time");

    // Another instance's changes count here at once, scheduled ones too.
    let other = app.sibling().await;
    let in_an_hour = json!({"at": rfc3339(app.now() + 3600)});
    body_of(other.publish_post(&author, a, &in_an_hour).await, StatusCode::OK).await;
    assert_eq!(readers_total().await, demo + 4);
    body_of(other.publish_post(&author, b, &now).await, StatusCode::OK).await;
    assert_eq!(readers_total().await, demo + 5);
    app.advance_clock(3600);
    assert_eq!(readers_total().await, demo + 6);
}
}
