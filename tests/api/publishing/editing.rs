//! The authors' side of the blog, writing: who may use `/posts` and
//! `/posts/{id}` (by role), what a save keeps and changes, slugs, versions
//! and edit conflicts.

use std::collections::{HashMap, HashSet};

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::authors::*;
use crate::support::{assert_error, assert_error_in, assert_invalid_field_in};

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
    // Metered: the derived excerpt holds at most half the text.
    assert_eq!(post["excerpt"], "A strong…");
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
async fn a_title_at_the_slug_limit_is_numbered_past_slugs_its_shortened_base_meets() {
    let (app, author) = spawn_app_and_author().await;
    // "post" and "post-2" are held; a title of 200 digits wants the
    // 80-character `post-000…`, whose numbered forms shorten to `post-N`.
    let long = "0".repeat(200);
    let mut slugs = Vec::new();
    for title in ["Post", "Post", long.as_str(), long.as_str(), long.as_str()] {
        let post = create(&app, &author, json!({"title": title, "body": "Text."})).await;
        slugs.push(post["slug"].as_str().unwrap().to_owned());
    }
    let at_limit = format!("post-{}", "0".repeat(75));
    assert_eq!(slugs, ["post", "post-2", at_limit.as_str(), "post-3", "post-4"]);
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
    // `"excerpt": null` goes back to the derived one, which follows the
    // body and the access: a premium post's holds at most half its text,
    // so two words have none.
    let edited = edit(&app, &author, id, &json!({"excerpt": null})).await;
    assert_eq!(edited["excerpt"], "");
    let edited = edit(&app, &author, id, &json!({"access": "free"})).await;
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
async fn a_save_is_read_at_once_on_every_instance_and_no_read_mixes_two_versions() {
    let (a, author) = spawn_app_and_author().await;
    let b = a.sibling().await;
    let reader = a.logged_in_client("Rita").await;
    let id = new_post(&a, &author, "Versions", "version 0").await;
    let published = publish(&a, &author, id, &json!({})).await;
    let path = format!("/blog/{id}");
    // Both instances have made the answer of the first version.
    for app in [&a, &b] {
        assert_eq!(read(app, &reader, &path).await["body"], "version 0");
    }

    // Saved on one, read on both at once.
    let saved = edit(&a, &author, id, &json!({"body": "version 1"})).await;
    for app in [&b, &a] {
        let post = read(app, &reader, &path).await;
        assert_eq!(post["body"], "version 1");
        assert_eq!(post["updated_at"], saved["updated_at"]);
    }

    // Saves on one instance while both serve reads: every answer is one
    // version whole, its body with its own `updated_at`.
    let mut versions = HashMap::new();
    versions.insert(published["updated_at"].to_string(), "version 0".to_owned());
    versions.insert(saved["updated_at"].to_string(), "version 1".to_owned());
    let saves = async {
        let mut saved = Vec::new();
        for n in 2..12 {
            let body = format!("version {n}");
            let post = edit(&a, &author, id, &json!({"body": body})).await;
            saved.push((post["updated_at"].to_string(), body));
        }
        saved
    };
    let reads = join_all((0..40).map(|n| {
        let (app, reader, path) = (if n % 2 == 0 { &a } else { &b }, &reader, &path);
        async move { read(app, reader, path).await }
    }));
    let (saved, answers) = tokio::join!(saves, reads);
    versions.extend(saved);
    for post in answers {
        let body = versions.get(&post["updated_at"].to_string());
        assert_eq!(body.map(String::as_str), post["body"].as_str(), "{post}");
        assert_eq!(post["html"], format!("<p>{}</p>\n", post["body"].as_str().unwrap()));
    }
    assert_eq!(read(&b, &reader, &path).await["body"], "version 11");
}
}
