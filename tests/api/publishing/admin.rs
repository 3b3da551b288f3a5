//! Admins manage people: `GET /admin/users` and `PATCH /admin/users/{id}`
//! — search, roles, plans, disabling — and the site always keeps an
//! enabled admin.

use futures_util::future::join_all;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::db::{count, execute};
use crate::support::mail::{forgot_settled, outbox, reset_requested_events};
use crate::support::{
    assert_error, assert_invalid_field, assert_logged_out, spawn_app, TestApp, PASSWORD,
};

/// Gives `username` a role directly in the database, as `tollgate
/// set-role` would.
fn set_role(app: &TestApp, username: &str, role: &str) {
    execute(
        app,
        &format!("UPDATE users SET role = '{role}' WHERE username = '{username}'"),
    );
}

/// A fresh app with the admin `Ada` logged in.
async fn spawn_app_and_admin() -> (TestApp, Client) {
    let app = spawn_app().await;
    let admin = app.logged_in_client("Ada").await;
    set_role(&app, "Ada", "admin");
    (app, admin)
}

async fn ok(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK, "{}", response.url());
    response.json().await.expect("a JSON body")
}

async fn users_of(app: &TestApp, admin: &Client, query: &str) -> Value {
    ok(app.get(admin, &format!("/admin/users{query}")).await).await
}

fn usernames(list: &Value) -> Vec<&str> {
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect()
}

/// The id of the listed user `username`.
async fn id_of(app: &TestApp, admin: &Client, username: &str) -> i64 {
    let list = users_of(app, admin, &format!("?q={username}")).await;
    list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == username)
        .unwrap_or_else(|| panic!("{username} in {list}"))["id"]
        .as_i64()
        .unwrap()
}

async fn change(app: &TestApp, admin: &Client, id: i64, fields: Value) -> Response {
    app.patch_json(admin, &format!("/admin/users/{id}"), &fields)
        .await
}

/// The kinds and details of `client`'s own events, oldest first.
async fn events(app: &TestApp, client: &Client) -> Vec<(String, Value)> {
    let page = ok(app.events(client, "?per_page=100").await).await;
    let mut events: Vec<(String, Value)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["detail"].clone()))
        .collect();
    events.reverse();
    events
}

backend_test! {
async fn only_admins_may_manage_users() {
    let app = spawn_app().await;
    let reader = app.logged_in_client("Rita").await;
    let author = app.logged_in_client("Abe").await;
    set_role(&app, "Abe", "author");

    for client in [&reader, &author] {
        let list = app.get(client, "/admin/users").await;
        assert_error(list, StatusCode::FORBIDDEN, "forbidden").await;
        let patch = change(&app, client, 1, json!({"role": "admin"})).await;
        assert_error(patch, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let stranger = app.client();
    let list = app.get(&stranger, "/admin/users").await;
    assert_error(list, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    let me = ok(app.check_session(&reader).await).await;
    assert_eq!(me["role"], "reader", "nothing changed");
}
}

backend_test! {
async fn an_admin_searches_users_by_name_or_address_newest_first() {
    let (app, admin) = spawn_app_and_admin().await;
    app.user("bob").email(Some("Robert@Example.com")).register().await;
    app.advance_clock(1);
    app.user("carol").register().await;
    app.advance_clock(1);
    app.user("bobby_tables").register().await;

    let all = users_of(&app, &admin, "").await;
    assert_eq!(usernames(&all), ["bobby_tables", "carol", "bob", "Ada"]);
    assert_eq!(all["total"], 4);
    let bob = &all["users"][2];
    assert_eq!(bob["email"], "Robert@Example.com");
    assert_eq!(bob["email_verified"], false);
    assert_eq!((&bob["plan"], &bob["role"], &bob["disabled"]), (&json!("free"), &json!("reader"), &json!(false)));
    assert_eq!(bob["last_login_at"], Value::Null, "registered, never logged in");
    assert_eq!(bob["premium_until"], Value::Null, "no complimentary premium");
    let fields: Vec<&String> = bob.as_object().unwrap().keys().collect();
    assert_eq!(fields.len(), 10, "AdminUser's fields, no more: {fields:?}");

    assert_eq!(usernames(&users_of(&app, &admin, "?q=BOB").await), ["bobby_tables", "bob"]);
    assert_eq!(usernames(&users_of(&app, &admin, "?q=robert%40ex").await), ["bob"]);
    // `_` and `%` are what they are, not patterns.
    assert_eq!(usernames(&users_of(&app, &admin, "?q=_").await), ["bobby_tables"]);
    assert_eq!(users_of(&app, &admin, "?q=%25").await["total"], 0);
    let page = users_of(&app, &admin, "?per_page=2&page=2").await;
    assert_eq!((usernames(&page), &page["total"]), (vec!["bob", "Ada"], &json!(4)));
    let long = format!("?q={}", "x".repeat(255));
    assert_invalid_field(app.get(&admin, &format!("/admin/users{long}")).await, "q").await;

    // The app's clock runs on from the real one, so the login's second is
    // between the two readings around it.
    let before = app.now();
    app.advance_clock(3600);
    app.login(&app.client(), "carol", PASSWORD).await;
    let carol = &users_of(&app, &admin, "?q=carol").await["users"][0];
    let at: chrono::DateTime<chrono::Utc> = carol["last_login_at"].as_str().unwrap().parse().unwrap();
    assert!((before + 3600..=app.now()).contains(&at.timestamp()), "{carol}");
}
}

backend_test! {
async fn an_admin_search_ignores_the_case_of_ascii_letters_only() {
    let (app, admin) = spawn_app_and_admin().await;
    app.user("elise").email(Some("\u{c9}lise@Example.com")).register().await;
    app.user("kate").email(Some("\u{212A}ate@Example.com")).register().await;

    // As addresses are compared: `É` is not `é`, nor the Kelvin sign `k`.
    assert_eq!(usernames(&users_of(&app, &admin, "?q=%C3%89LISE%40EXAMPLE").await), ["elise"]);
    assert_eq!(users_of(&app, &admin, "?q=%C3%A9lise").await["total"], 0);
    assert_eq!(usernames(&users_of(&app, &admin, "?q=%E2%84%AAATE%40").await), ["kate"]);
    assert_eq!(users_of(&app, &admin, "?q=kate%40").await["total"], 0);
}
}

backend_test! {
async fn an_admin_changes_roles_and_plans_at_once_with_events_saying_who() {
    let (app, admin) = spawn_app_and_admin().await;
    let bob = app.logged_in_client("bob").await;
    let id = id_of(&app, &admin, "bob").await;

    let changed = ok(change(&app, &admin, id, json!({"role": "author", "plan": "premium"})).await).await;

    assert_eq!((&changed["role"], &changed["plan"]), (&json!("author"), &json!("premium")));
    let me = ok(app.check_session(&bob).await).await;
    assert_eq!((&me["role"], &me["plan"]), (&json!("author"), &json!("premium")), "on his live session");
    assert_eq!(app.posts(&bob, "").await.status(), StatusCode::OK, "an author now");
    let seen = events(&app, &bob).await;
    let tail: Vec<&(String, Value)> = seen.iter().rev().take(2).rev().collect();
    assert_eq!(tail[0], &("role_changed".to_owned(), json!({"from": "reader", "to": "author", "by": "Ada"})));
    assert_eq!(
        tail[1],
        &("plan_changed".to_owned(), json!({"from": "free", "to": "premium", "source": "admin", "by": "Ada"}))
    );

    // The same values again change and record nothing (Ghost #25735: an
    // edit that sends back what the member has must not act on it).
    let same = json!({"role": "author", "plan": "premium", "disabled": false, "premium_until": null});
    ok(change(&app, &admin, id, same).await).await;
    assert_eq!(events(&app, &bob).await.len(), seen.len());
    // Bad fields, unknown users.
    let bad = change(&app, &admin, id, json!({"role": "owner"})).await;
    assert_invalid_field(bad, "role").await;
    let bad = change(&app, &admin, id, json!({"plan": "gold"})).await;
    assert_invalid_field(bad, "plan").await;
    let bad = change(&app, &admin, id, json!({"disabled": "yes"})).await;
    assert_invalid_field(bad, "disabled").await;
    let bad = change(&app, &admin, id, json!({"disabled": null})).await;
    assert_invalid_field(bad, "disabled").await;
    let bad = change(&app, &admin, id, json!({"role": null})).await;
    assert_invalid_field(bad, "role").await;
    for unknown in ["9999", "0", "abc"] {
        for fields in [json!({}), json!({"plan": "free", "role": "reader"})] {
            let path = format!("/admin/users/{unknown}");
            let response = app.patch_json(&admin, &path, &fields).await;
            assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
        }
    }
    let me = ok(app.check_session(&bob).await).await;
    assert_eq!(me["role"], "author", "nothing changed by the refused requests");
}
}

backend_test! {
async fn a_disabled_account_loses_its_sessions_logins_and_reset_mail() {
    let (app, admin) = spawn_app_and_admin().await;
    let bob = app.user("bob").email(Some("bob@example.com")).register().await;
    let id = id_of(&app, &admin, "bob").await;
    let queued = outbox(&app).len();

    let disabled = ok(change(&app, &admin, id, json!({"disabled": true})).await).await;

    assert_eq!(disabled["disabled"], true);
    assert_logged_out(&app, &bob).await;
    let right = app.login(&app.client(), "bob", PASSWORD).await;
    assert_error(right, StatusCode::FORBIDDEN, "account_disabled").await;
    let wrong = app.login(&app.client(), "bob", "not the password at all").await;
    assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    app.forgot_password("bob@example.com").await;
    forgot_settled(&app).await;
    assert_eq!(outbox(&app).len(), queued, "no reset link for a disabled account");
    assert_eq!(reset_requested_events(&app), 0);

    let enabled = ok(change(&app, &admin, id, json!({"disabled": false})).await).await;

    assert_eq!(enabled["disabled"], false);
    let bob = app.client();
    assert_eq!(app.login(&bob, "bob", PASSWORD).await.status(), StatusCode::OK);
    let kinds: Vec<(String, Value)> = events(&app, &bob)
        .await
        .into_iter()
        .filter(|(kind, _)| kind.starts_with("account_"))
        .collect();
    assert_eq!(
        kinds,
        [
            ("account_disabled".to_owned(), json!({"by": "Ada"})),
            ("account_enabled".to_owned(), json!({"by": "Ada"})),
        ]
    );
}
}

backend_test! {
async fn the_last_enabled_admin_stays() {
    let (app, admin) = spawn_app_and_admin().await;
    let ada = id_of(&app, &admin, "Ada").await;

    for fields in [json!({"role": "author"}), json!({"disabled": true}), json!({"role": "reader", "disabled": true})] {
        let refused = change(&app, &admin, ada, fields).await;
        assert_error(refused, StatusCode::CONFLICT, "last_admin").await;
    }
    // A disabled admin does not count.
    let ben = app.logged_in_client("Ben").await;
    let ben_id = id_of(&app, &admin, "Ben").await;
    ok(change(&app, &admin, ben_id, json!({"disabled": true, "role": "admin"})).await).await;
    let refused = change(&app, &admin, ada, json!({"role": "reader"})).await;
    assert_error(refused, StatusCode::CONFLICT, "last_admin").await;
    assert_logged_out(&app, &ben).await;

    // With another enabled admin, either may step down; not both.
    ok(change(&app, &admin, ben_id, json!({"disabled": false})).await).await;
    let ben = app.client();
    assert_eq!(app.login(&ben, "Ben", PASSWORD).await.status(), StatusCode::OK);
    let answers = join_all([
        change(&app, &admin, ben_id, json!({"role": "reader"})),
        change(&app, &ben, ada, json!({"role": "reader"})),
    ])
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(Response::status).collect();
    assert!(statuses.contains(&StatusCode::OK), "{statuses:?}");
    // The loser met the winner's change: as a reader now (403), or, when
    // both were let in, at the question of who is left (409).
    let admins = count(
        &app,
        "SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND NOT disabled",
    );
    assert_eq!(admins, 1, "{statuses:?}");
}
}
