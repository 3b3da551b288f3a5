//! The authors' side of the blog, publishing: `publish` (now, back-dated,
//! scheduled) and `unpublish`, deletion, whose posts an author and an
//! admin see, the authors' list, and what readers see of each at `/blog`.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::authors::*;
use crate::support::{
    assert_error, assert_error_in, assert_invalid_field, assert_invalid_field_in, PASSWORD,
};

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
