//! Nothing gives a post away to a reader who may not read it: what shows
//! a `metered` or `premium` post to such a reader — the listing (public or
//! not), a `402` answer — holds no more of it than its title and its
//! excerpt, and a derived excerpt holds at most the first half of the
//! post's text. Posts stored under the earlier rule are derived again
//! when the server starts.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::authors::{body_of, create, id_of, logged_in_as, publish};
use crate::support::db::{count, execute};
use crate::support::{spawn_app_with, TestApp};

/// A whole premium post in 105 characters (a canary a reader who may not
/// read it must never see whole).
const SHORT: &str = "A short premium note that tells everything it has to say in \
                     one paragraph: a hundred and five characters.";

/// The half of [`SHORT`] a derived excerpt may show, cut at a word.
const SHORT_EXCERPT: &str = "A short premium note that tells everything it has…";

/// Publishes a post of `body` with `access` and no excerpt by `author`;
/// its id.
async fn published(app: &TestApp, author: &Client, access: &str, body: &str) -> i64 {
    let post = create(
        app,
        author,
        json!({"title": "Short", "body": body, "access": access}),
    )
    .await;
    let id = id_of(&post);
    publish(app, author, id, &json!({})).await;
    id
}

/// Every string in `value`, wherever it is.
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Object(fields) => fields.values().flat_map(texts).collect(),
        _ => Vec::new(),
    }
}

/// Checks no text of `value` holds more of [`SHORT`] than its excerpt.
fn assert_not_given_away(what: &str, value: &Value) {
    for text in texts(value) {
        assert!(
            !text.contains("one paragraph") && !text.contains("hundred and five"),
            "{what} gives the post away: {text:?}"
        );
    }
}

backend_test! {
async fn a_short_gated_post_is_not_given_away_by_its_excerpt() {
    let app = spawn_app_with(&[("PUBLIC_LISTING", "true"), ("FREE_READS", "1")]).await;
    let author = logged_in_as(&app, "Writer", "author").await;
    let premium = published(&app, &author, "premium", SHORT).await;
    let metered = published(&app, &author, "metered", SHORT).await;
    let free = published(&app, &author, "free", SHORT).await;

    // A free member's listing, an anonymous one, and the 402s.
    let reader = app.logged_in_client("Reader").await;
    let listing = body_of(app.blog(&reader, "?per_page=100").await, StatusCode::OK).await;
    let anonymous = body_of(app.blog(&app.client(), "?per_page=100").await, StatusCode::OK).await;
    for list in [&listing, &anonymous] {
        for post in list["posts"].as_array().unwrap() {
            let excerpt = post["excerpt"].as_str().unwrap();
            if post["id"] == premium || post["id"] == metered {
                assert_eq!(excerpt, SHORT_EXCERPT);
            }
            if post["id"] == free {
                assert_eq!(excerpt, SHORT, "a free post is read whole anyway");
            }
        }
    }
    let premium_answer = app.get(&reader, &format!("/blog/{premium}")).await;
    assert_eq!(premium_answer.status(), StatusCode::PAYMENT_REQUIRED);
    assert_not_given_away("a 402 premium_required", &premium_answer.json().await.unwrap());
    app.get(&reader, "/blog/1").await;
    let walled = app.get(&reader, &format!("/blog/{metered}")).await;
    assert_eq!(walled.status(), StatusCode::PAYMENT_REQUIRED);
    let walled: Value = walled.json().await.unwrap();
    assert_eq!(walled["code"], "paywall");
    assert_not_given_away("a 402 paywall", &walled);
    let strip = |list: &Value| {
        let mut list = list.clone();
        list["posts"].as_array_mut().unwrap().retain(|p| p["id"] != free);
        list
    };
    assert_not_given_away("the listing", &strip(&listing));
    assert_not_given_away("the public listing", &strip(&anonymous));
}
}

backend_test! {
async fn a_post_made_gated_or_free_has_its_excerpt_derived_again() {
    let app = spawn_app_with(&[]).await;
    let author = logged_in_as(&app, "Writer", "author").await;
    let id = id_of(&create(&app, &author, json!({"title": "Short", "body": SHORT, "access": "free"})).await);
    let edited = body_of(app.edit_post(&author, id, &json!({"access": "premium"})).await, StatusCode::OK).await;
    assert_eq!(edited["excerpt"], SHORT_EXCERPT);
    let edited = body_of(app.edit_post(&author, id, &json!({"access": "free"})).await, StatusCode::OK).await;
    assert_eq!(edited["excerpt"], SHORT);
    // An author's own excerpt is shown as written, whatever the access.
    let edited = body_of(app.edit_post(&author, id, &json!({"access": "premium", "excerpt": SHORT})).await, StatusCode::OK).await;
    assert_eq!(edited["excerpt"], SHORT);
}
}

backend_test! {
async fn excerpts_derived_by_the_earlier_rule_are_derived_again_at_start() {
    let app = spawn_app_with(&[]).await;
    let author = logged_in_as(&app, "Writer", "author").await;
    let gated = published(&app, &author, "premium", SHORT).await;
    let given = published(&app, &author, "metered", SHORT).await;
    // As a release before the rule left them: the whole post as excerpt,
    // marked by the migration that brought the rule; one an author wrote.
    execute(&app, &format!("UPDATE posts SET excerpt = body, excerpt_pending = TRUE WHERE id = {gated}"));
    execute(&app, &format!("UPDATE posts SET excerpt = 'Mine', excerpt_given = TRUE, excerpt_pending = TRUE WHERE id = {given}"));

    let app = app.restart().await;

    let excerpt_of = |id: i64| format!("SELECT COUNT(*) AS n FROM posts WHERE id = {id} AND excerpt = ");
    assert_eq!(count(&app, &format!("{}'{SHORT_EXCERPT}'", excerpt_of(gated))), 1);
    assert_eq!(count(&app, &format!("{}'Mine'", excerpt_of(given))), 1);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM posts WHERE excerpt_pending"), 0);
}
}
