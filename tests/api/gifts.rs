//! Gift links (`POST /blog/{id}/gift`, `GET /gifts`, `DELETE /gifts/{id}`,
//! `GET /gift/{token}`): a premium reader shares a post; whoever opens the
//! link reads it without paying, without an account and without spending
//! a read — within the month's quota, the link's days and its readers,
//! on any number of instances.

use futures_util::future::join_all;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::db::{count, execute};
use crate::support::{assert_error, spawn_app_with, tally, TestApp, PASSWORD};

/// Makes `username` premium, as `tollgate set-plan` would.
fn make_premium(app: &TestApp, username: &str) {
    let key = username.to_ascii_lowercase();
    execute(
        app,
        &format!("UPDATE users SET plan = 'premium' WHERE username_key = '{key}'"),
    );
}

/// A premium user's browser, signed in.
async fn premium(app: &TestApp, username: &str) -> Client {
    let client = app.logged_in_client(username).await;
    make_premium(app, username);
    client
}

async fn gift(app: &TestApp, client: &Client, post: impl std::fmt::Display) -> Response {
    app.post_json(client, &format!("/blog/{post}/gift"), &json!({}))
        .await
}

async fn json_of(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

/// The path of a gift's link (`/gift/<token>`), from its `url`.
fn path_of(gift: &Value) -> String {
    let url = gift["url"].as_str().unwrap();
    let path = url
        .strip_prefix("http://localhost:5173")
        .expect("a link into the SPA");
    assert!(path.starts_with("/gift/"), "{url}");
    path.to_owned()
}

/// A browser with no cookie at all (no session, no reader cookie yet).
fn stranger(app: &TestApp) -> Client {
    app.client()
}

backend_test! {
async fn a_premium_reader_gifts_a_post_and_anyone_reads_it_without_spending() {
    let app = spawn_app_with(&[("FREE_READS", "1")]).await;
    let gina = premium(&app, "Gina").await;
    let made = json_of(gift(&app, &gina, "3").await, StatusCode::CREATED).await;
    let link = path_of(&made["gift"]);
    assert_eq!(made["gift"]["post_id"], 3);
    assert_eq!(made["gift"]["readers"], 0);
    assert_eq!(made["gift"]["revoked"], false);
    assert_eq!(made["gifts"]["limit"], 10);
    assert_eq!(made["gifts"]["used"], 1);
    assert_eq!(made["gifts"]["remaining"], 9);
    let created = chrono::DateTime::parse_from_rfc3339(made["gift"]["created_at"].as_str().unwrap()).unwrap();
    let expires = chrono::DateTime::parse_from_rfc3339(made["gift"]["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!((expires - created).num_days(), 14);

    // The same post again, by id or by slug: the same link, nothing used.
    let again = json_of(gift(&app, &gina, "3").await, StatusCode::OK).await;
    assert_eq!(again["gift"]["url"], made["gift"]["url"]);
    assert_eq!(again["gifts"]["used"], 1);
    let slug = execute_slug(&app, 3);
    let by_slug = json_of(gift(&app, &gina, &slug).await, StatusCode::OK).await;
    assert_eq!(by_slug["gift"]["url"], made["gift"]["url"]);

    // Anyone: a browser with no account gets the post and a reader cookie.
    let anonymous = stranger(&app);
    let opened = app.get(&anonymous, &link).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let cookie = opened
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tollgate_reader="))
        .expect("a reader cookie")
        .to_owned();
    let lower = cookie.to_ascii_lowercase();
    for part in ["httponly", "samesite=lax", "path=/", "max-age=31536000"] {
        assert!(lower.contains(part), "{cookie}");
    }
    let body: Value = opened.json().await.unwrap();
    assert_eq!(body["post"]["id"], 3);
    assert_eq!(body["post"]["meter"], Value::Null);
    assert!(body["post"]["body"].as_str().is_some_and(|b| !b.is_empty()));
    assert_eq!(body["gift"]["from"], json!({"username": "Gina"}));
    assert_eq!(body["gift"]["expires_at"], made["gift"]["expires_at"]);

    // A signed-in free reader whose free read is spent: read, nothing spent.
    let fiona = app.logged_in_client("Fiona").await;
    assert_eq!(app.blog_post(&fiona, 1).await.status(), StatusCode::OK);
    assert_eq!(app.blog_post(&fiona, 2).await.status(), StatusCode::PAYMENT_REQUIRED);
    let read = json_of(app.get(&fiona, &link).await, StatusCode::OK).await;
    assert_eq!(read["post"]["id"], 3);
    let list: Value = app.get(&fiona, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"]["used"], 1);

    // A premium post, gifted: readable by the free and the anonymous.
    execute(&app, "UPDATE posts SET access = 'premium' WHERE id = 4");
    let premium_gift = json_of(gift(&app, &gina, "4").await, StatusCode::CREATED).await;
    let premium_link = path_of(&premium_gift["gift"]);
    assert_eq!(app.get(&fiona, &premium_link).await.status(), StatusCode::OK);
    assert_eq!(app.get(&stranger(&app), &premium_link).await.status(), StatusCode::OK);

    // The giver's list: newest first, with the readers so far.
    let mine = json_of(app.get(&gina, "/gifts").await, StatusCode::OK).await;
    let gifts = mine["gifts"].as_array().unwrap();
    assert_eq!(gifts.len(), 2);
    assert_eq!(gifts[0]["post_id"], 4);
    assert_eq!(gifts[1]["post_id"], 3);
    assert_eq!(gifts[1]["readers"], 2);
    assert_eq!(gifts[1]["url"], made["gift"]["url"]);
    assert_eq!(mine["meter"]["used"], 2);
    let events: Value = app.events(&gina, "").await.json().await.unwrap();
    let created: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "gift_created")
        .collect();
    assert_eq!(created.len(), 2);
    assert_eq!(created[1]["detail"], json!({"gift_id": made["gift"]["id"], "post_id": 3}));

    // Only a hash of the token is stored, and nothing that is the token.
    let token = link.trim_start_matches("/gift/");
    let stored = count(&app, &format!(
        "SELECT COUNT(*) AS n FROM gifts WHERE token_hash = '{token}' OR nonce = '{token}'"
    ));
    assert_eq!(stored, 0);
}
}

/// Post `id`'s slug, as stored.
fn execute_slug(app: &TestApp, id: i64) -> String {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Slug {
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
    }
    let rows: Vec<Slug> = diesel::sql_query(format!("SELECT slug FROM posts WHERE id = {id}"))
        .load(&mut app.db())
        .unwrap();
    rows.into_iter().next().unwrap().slug
}

backend_test! {
async fn the_monthly_quota_never_over_grants_on_two_instances() {
    let app = spawn_app_with(&[("GIFTS_PER_MONTH", "3")]).await;
    let sibling = app.sibling().await;
    let free = app.logged_in_client("Frank").await;
    let refused = gift(&app, &free, "1").await;
    let body = assert_error(refused, StatusCode::PAYMENT_REQUIRED, "premium_required").await;
    assert!(body["meter"].is_object(), "{body}");

    let gina = premium(&app, "Gina").await;
    json_of(gift(&app, &gina, "1").await, StatusCode::CREATED).await;
    let answers = join_all((2..=7).map(|post| {
        let instance = if post % 2 == 0 { &app } else { &sibling };
        gift(instance, &gina, post)
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(Response::status).collect();
    assert_eq!(tally(&statuses, StatusCode::CREATED, StatusCode::CONFLICT), (2, 4), "{statuses:?}");
    let over = gift(&app, &gina, "8").await;
    let body = assert_error(over, StatusCode::CONFLICT, "gift_limit").await;
    assert_eq!(body["gifts"]["used"], 3);
    assert_eq!(body["gifts"]["remaining"], 0);

    // One post gifted at once, six times, on two instances: one link.
    let hana = premium(&app, "Hana").await;
    let answers = join_all((0..6).map(|i| gift(if i % 2 == 0 { &app } else { &sibling }, &hana, "9"))).await;
    let mut urls = Vec::new();
    let mut created = 0;
    for answer in answers {
        if answer.status() == StatusCode::CREATED {
            created += 1;
        }
        let body: Value = answer.json().await.unwrap();
        urls.push(body["gift"]["url"].clone());
    }
    assert_eq!(created, 1);
    assert!(urls.iter().all(|url| url == &urls[0] && url.is_string()), "{urls:?}");
    let mine = json_of(app.get(&hana, "/gifts").await, StatusCode::OK).await;
    assert_eq!(mine["meter"]["used"], 1);
}
}

backend_test! {
async fn a_link_serves_its_readers_cap_across_instances_and_each_reader_again() {
    let app = spawn_app_with(&[("GIFT_MAX_READERS", "3")]).await;
    let sibling = app.sibling().await;
    let gina = premium(&app, "Gina").await;
    let made = json_of(gift(&app, &gina, "2").await, StatusCode::CREATED).await;
    let link = path_of(&made["gift"]);
    let browsers: Vec<Client> = (0..8).map(|_| stranger(&app)).collect();
    let answers = join_all(browsers.iter().enumerate().map(|(i, browser)| {
        let instance = if i % 2 == 0 { &app } else { &sibling };
        instance.get(browser, &link)
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(Response::status).collect();
    assert_eq!(tally(&statuses, StatusCode::OK, StatusCode::GONE), (3, 5), "{statuses:?}");
    let refused = answers.into_iter().find(|a| a.status() == StatusCode::GONE).unwrap();
    assert_error(refused, StatusCode::GONE, "gift_exhausted").await;
    // An admitted reader opens it again, on the other instance.
    let admitted = statuses.iter().position(|s| *s == StatusCode::OK).unwrap();
    assert_eq!(sibling.get(&browsers[admitted], &link).await.status(), StatusCode::OK);
    let mine = json_of(app.get(&gina, "/gifts").await, StatusCode::OK).await;
    assert_eq!(mine["gifts"][0]["readers"], 3);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM gift_readers"), 3);
}
}

backend_test! {
async fn expiry_revocation_and_unpublishing_close_a_link() {
    let app = spawn_app_with(&[]).await;
    let sibling = app.sibling().await;
    let gina = premium(&app, "Gina").await;
    let reader = stranger(&app);

    // Past its 14 days, on the app's clock.
    let first = json_of(gift(&app, &gina, "1").await, StatusCode::CREATED).await;
    let first_link = path_of(&first["gift"]);
    assert_eq!(app.get(&reader, &first_link).await.status(), StatusCode::OK);
    app.advance_clock(14 * 86_400 + 1);
    assert_error(app.get(&reader, &first_link).await, StatusCode::GONE, "gift_expired").await;
    // (The giver's session has lapsed meanwhile.)
    assert_eq!(app.login(&gina, "Gina", PASSWORD).await.status(), StatusCode::OK);

    // Revoked: 404 at once, on every instance; it stays used.
    let second = json_of(gift(&app, &gina, "2").await, StatusCode::CREATED).await;
    let second_link = path_of(&second["gift"]);
    assert_eq!(sibling.get(&reader, &second_link).await.status(), StatusCode::OK);
    let id = second["gift"]["id"].as_i64().unwrap();
    let revoked = app.delete(&gina, &format!("/gifts/{id}")).await;
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    for instance in [&app, &sibling] {
        assert_error(instance.get(&reader, &second_link).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    let mine = json_of(app.get(&gina, "/gifts").await, StatusCode::OK).await;
    let listed = mine["gifts"].as_array().unwrap().iter().find(|g| g["id"] == id).unwrap();
    assert_eq!(listed["revoked"], true);
    // Another user's gift is nobody's to revoke.
    let hana = premium(&app, "Hana").await;
    assert_error(app.delete(&hana, &format!("/gifts/{}", first["gift"]["id"])).await, StatusCode::NOT_FOUND, "not_found").await;

    // Unpublished or deleted after gifting: 404 through the link.
    let third = path_of(&json_of(gift(&app, &gina, "3").await, StatusCode::CREATED).await["gift"]);
    let fourth = path_of(&json_of(gift(&app, &gina, "4").await, StatusCode::CREATED).await["gift"]);
    execute(&app, "UPDATE posts SET status = 'draft' WHERE id = 3");
    execute(&app, &format!("UPDATE posts SET deleted_at = {} WHERE id = 4", app.now()));
    for link in [third, fourth] {
        assert_error(app.get(&reader, &link).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    // And gifting a draft, a scheduled or a deleted post is 404.
    execute(&app, &format!("UPDATE posts SET published_at = {} WHERE id = 5", app.now() + 86_400));
    for post in ["3", "4", "5"] {
        assert_error(gift(&app, &gina, post).await, StatusCode::NOT_FOUND, "not_found").await;
    }
}
}

backend_test! {
async fn malformed_tokens_ids_and_slugs_are_404() {
    let app = spawn_app_with(&[]).await;
    let gina = premium(&app, "Gina").await;
    let anyone = stranger(&app);
    let shaped = "A".repeat(43);
    for path in ["/gift/abc", &format!("/gift/{shaped}"), "/gift/%00", "/gift/%E2%80%AE", &format!("/gift/{}", "x".repeat(5_000))] {
        let answer = app.get(&anyone, path).await;
        assert_error(answer, StatusCode::NOT_FOUND, "not_found").await;
    }
    for post in ["0", "99999", "no-such-slug", "-1", "1e3", "%00"] {
        assert_error(gift(&app, &gina, post).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    for id in ["abc", "999", "0"] {
        assert_error(app.delete(&gina, &format!("/gifts/{id}")).await, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Signed out, the giver's routes are the guard's.
    assert_error(gift(&app, &anyone, "1").await, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert_error(app.get(&anyone, "/gifts").await, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn a_registration_from_a_browser_that_opened_a_gift_credits_it() {
    let app = spawn_app_with(&[]).await;
    let gina = premium(&app, "Gina").await;
    let made = json_of(gift(&app, &gina, "6").await, StatusCode::CREATED).await;
    let link = path_of(&made["gift"]);
    let gift_id = made["gift"]["id"].as_i64().unwrap();

    // Opened, then registered in the same browser: credited.
    let newcomer = stranger(&app);
    assert_eq!(app.get(&newcomer, &link).await.status(), StatusCode::OK);
    app.user("Nina").register_in(&newcomer).await;
    let credited = count(&app, &format!(
        "SELECT COUNT(*) AS n FROM gift_credits c JOIN users u ON u.id = c.user_id \
         WHERE u.username_key = 'nina' AND c.gift_id = {gift_id} AND c.post_id = 6"
    ));
    assert_eq!(credited, 1);

    // Opened more than 30 days before registering: not credited.
    let late = stranger(&app);
    let fresh = json_of(gift(&app, &gina, "7").await, StatusCode::CREATED).await;
    assert_eq!(app.get(&late, &path_of(&fresh["gift"])).await.status(), StatusCode::OK);
    app.advance_clock(31 * 86_400);
    app.user("Omar").register_in(&late).await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM gift_credits"), 1);
}
}

backend_test! {
async fn what_delivers_nothing_to_a_script_counts_no_reader_and_sets_no_cookie() {
    let app = spawn_app_with(&[("GIFT_MAX_READERS", "1")]).await;
    let gina = premium(&app, "Gina").await;
    let made = json_of(gift(&app, &gina, "3").await, StatusCode::CREATED).await;
    let link = path_of(&made["gift"]);

    // Link checkers, chats' previews and mail scanners: HEADs, and what a
    // page loads without script.
    for _ in 0..3 {
        let head = stranger(&app).head(app.url(&link)).send().await.unwrap();
        assert_eq!(head.status(), StatusCode::OK);
        assert!(head.headers().get("set-cookie").is_none());
    }
    for dest in ["document", "image", "iframe"] {
        let loaded = app.get_with(&stranger(&app), &link, &[("Sec-Fetch-Dest", dest)]).await;
        assert!(loaded.headers().get("set-cookie").is_none(), "{dest}");
        assert_error(loaded, StatusCode::FORBIDDEN, "forbidden_origin").await;
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM gift_readers"), 0);

    // The one reader the link serves is still there for a person.
    let reader = stranger(&app);
    let opened = app.get_with(&reader, &link, &[("Sec-Fetch-Dest", "empty")]).await;
    assert_eq!(opened.status(), StatusCode::OK);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM gifts WHERE readers = 1"), 1);
    // A HEAD by another browser now answers as its GET would: exhausted.
    let head = stranger(&app).head(app.url(&link)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::GONE);
    let other = app.get(&stranger(&app), &link).await;
    assert_error(other, StatusCode::GONE, "gift_exhausted").await;
    // The reader who opened it may HEAD and re-open.
    assert_eq!(reader.head(app.url(&link)).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.get(&reader, &link).await.status(), StatusCode::OK);
}
}

backend_test! {
async fn only_a_gift_link_itself_is_public_under_gift() {
    let app = spawn_app_with(&[]).await;
    let gina = premium(&app, "Gina").await;
    let made = json_of(gift(&app, &gina, "3").await, StatusCode::CREATED).await;
    let link = path_of(&made["gift"]);
    for path in [format!("{link}/more"), "/gift/a/b".to_owned(), "/gift/".to_owned(), format!("{link}/")] {
        let anonymous = app.get(&stranger(&app), &path).await;
        assert_error(anonymous, StatusCode::UNAUTHORIZED, "not_logged_in").await;
        let member = app.get(&gina, &path).await;
        assert_error(member, StatusCode::NOT_FOUND, "not_found").await;
    }
}
}
