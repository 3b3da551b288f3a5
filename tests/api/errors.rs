//! The contract's error answers: malformed bodies, validation, the guard's
//! `401`s, unknown paths and methods, the contract headers on every kind of
//! response, `/health` and `/openapi.yaml`, tampered cookies, and a locked
//! database (`503`).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::support::db::schema::{sessions, unlocks, users};
use crate::support::db::DbConnection;
use crate::support::{
    assert_contract_headers, assert_error, assert_error_in, assert_fields_in, assert_invalid_field,
    assert_invalid_field_in, assert_json, headers_but_date, session_cookie, session_set_cookie,
    spawn_app, spawn_app_and_user, spawn_app_with, spawn_app_with_user, TestApp, PASSWORD,
};

/// A register body of exactly `len` bytes of valid JSON.
fn register_body_of_len(len: usize) -> String {
    let head = r#"{"username":"padder","password":""#;
    let tail = r#""}"#;
    let padding = len - head.len() - tail.len();
    let body = format!("{head}{}{tail}", "x".repeat(padding));
    assert_eq!(body.len(), len);
    serde_json::from_str::<Value>(&body).expect("valid JSON");
    body
}

/// How many users have this (case-insensitive) username.
fn users_named(conn: &mut DbConnection, username: &str) -> i64 {
    users::table
        .filter(users::username_key.eq(username.to_ascii_lowercase()))
        .count()
        .get_result(conn)
        .expect("count users")
}

// ---------------------------------------------------------------- bodies

backend_test! {
async fn malformed_bodies_are_refused_with_the_contracts_codes() {
    let app = spawn_app().await;
    let json = Some("application/json");
    let register = json!({"username": "alice", "password": PASSWORD}).to_string();
    // (case, path, Content-Type, body, the status and code it is refused with)
    let cases = [
        (
            "invalid JSON on register",
            "/register",
            json,
            r#"{"username": "alice", "password": "#.to_owned(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        ("an empty JSON body", "/register", json, String::new(), StatusCode::BAD_REQUEST, "invalid_json"),
        (
            "a text/plain body",
            "/register",
            Some("text/plain"),
            register.clone(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a form-encoded body",
            "/login",
            Some("application/x-www-form-urlencoded"),
            "username=alice&password=correct+horse+battery".to_owned(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a body without a content type",
            "/register",
            None,
            register,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "a body over 16 KiB",
            "/register",
            json,
            register_body_of_len(17_000),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];

    for (case, path, content_type, body, status, code) in cases {
        let response = app.post_raw(&app.client(), path, content_type, body).await;

        assert_error_in(case, response, status, code).await;
    }
}
}

backend_test! {
async fn json_bodies_that_are_not_objects_are_422_with_fields() {
    let app = spawn_app().await;

    for (case, body) in [("an array", json!(["alice", PASSWORD])), ("a string", json!("alice"))] {
        let response = app.post_json(&app.client(), "/register", &body).await;

        assert_fields_in(case, response).await;
    }
}
}

backend_test! {
async fn missing_fields_and_fields_of_the_wrong_type_are_each_named_in_a_422() {
    let app = spawn_app().await;
    let cases = [
        ("missing fields", json!({}), &["password"][..]),
        (
            "fields of the wrong type",
            json!({"username": 42, "password": true, "stay_signed_in": "yes"}),
            &["password", "stay_signed_in"][..],
        ),
    ];

    for (case, body, also_named) in cases {
        let response = app.post_json(&app.client(), "/register", &body).await;

        let body = assert_invalid_field_in(case, response, "username").await;
        for field in also_named {
            assert!(body["fields"][field].is_string(), "{field} in {body} (case: {case})");
        }
    }
}
}

backend_test! {
async fn a_non_boolean_stay_signed_in_on_login_is_422() {
    let (app, _) = spawn_app_and_user("alice").await;

    let response = app
        .post_json(
            &app.client(),
            "/login",
            &json!({"username": "alice", "password": PASSWORD, "stay_signed_in": 1}),
        )
        .await;

    assert_invalid_field(response, "stay_signed_in").await;
}
}

backend_test! {
async fn bodies_of_up_to_16_kib_are_read_in_full() {
    let app = spawn_app().await;

    for len in [16 * 1024 - 1, 16 * 1024] {
        let case = format!("{len} bytes");
        let response = app
            .post_raw(
                &app.client(),
                "/register",
                Some("application/json"),
                register_body_of_len(len),
            )
            .await;

        // Read in full: the password is simply too long for the register rules.
        assert_ne!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{case}");
        assert_invalid_field_in(&case, response, "password").await;
    }
}
}

// ---------------------------------------------------------- register rules

async fn register_with(app: &TestApp, username: &str, password: &str) -> Response {
    app.register_with_password(&app.client(), username, password)
        .await
}

backend_test! {
async fn registrations_breaking_a_rule_are_422_naming_the_field() {
    let app = spawn_app().await;
    let long_username = "a".repeat(33);
    // 25 characters, 75 bytes: bcrypt would silently drop the tail.
    let multibyte_75 = "€".repeat(25);
    let ascii_73 = format!("{}{}", "Zq7!xW2p".repeat(9), "k");
    assert_eq!(ascii_73.len(), 73);
    // (case, username, password, the field named, a field that must not be)
    let mut cases: Vec<(String, &str, &str, &str, Option<&str>)> = vec![
        ("a username shorter than 3 characters".into(), "ab", PASSWORD, "username", None),
        ("a username longer than 32 characters".into(), &long_username, PASSWORD, "username", None),
        ("a password shorter than 8 bytes".into(), "alice", "Zq7!xW2", "password", None),
        ("a password over 72 bytes in 25 characters".into(), "alice", &multibyte_75, "password", None),
        ("a password of 73 ASCII bytes".into(), "alice", &ascii_73, "password", None),
        ("a password containing NUL".into(), "alice", "correct\0horse battery", "password", None),
        (
            "a password containing the username in another case".into(),
            "Walrus",
            "my-wALRUS-is-great",
            "password",
            None,
        ),
    ];
    for bad in ["al ice", "alice!", "élise", "al/ice", "<b>bob"] {
        cases.push((format!("the username {bad:?}"), bad, PASSWORD, "username", Some("password")));
    }
    for common in ["password", "12345678", "qwertyuiop", "PassWord"] {
        cases.push((format!("the common password {common:?}"), "alice", common, "password", Some("username")));
    }

    for (case, username, password, field, not_named) in cases {
        let response = register_with(&app, username, password).await;

        let body = assert_invalid_field_in(&case, response, field).await;
        if let Some(other) = not_named {
            assert!(body["fields"].get(other).is_none(), "{case}: {body}");
        }
    }
}
}

backend_test! {
async fn a_rejected_registration_creates_no_user_and_no_session() {
    let app = spawn_app().await;

    let response = register_with(&app, "alice", "password").await;

    assert!(session_set_cookie(&response).is_none(), "no session cookie");
    assert_invalid_field(response, "password").await;
    assert_eq!(users_named(&mut app.db(), "alice"), 0);
}
}

// bcrypt's non_truncating_hash counts the NUL terminator it appends, so it
// would refuse every 72-byte password that the contract allows.
backend_test! {
async fn a_72_byte_password_of_multibyte_characters_is_accepted() {
    let app = spawn_app().await;
    let password = "€".repeat(24);
    assert_eq!(password.len(), 72);

    let response = register_with(&app, "alice", &password).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_json(&response);
    let login = app.login(&app.client(), "alice", &password).await;
    assert_eq!(login.status(), StatusCode::OK, "the same password logs in");
}
}

backend_test! {
async fn a_72_byte_ascii_password_is_accepted_and_logs_in() {
    let app = spawn_app().await;
    let password = "Zq7!xW2p".repeat(9);
    assert_eq!(password.len(), 72);

    let response = register_with(&app, "alice", &password).await;

    assert_eq!(response.status(), StatusCode::CREATED);
    let login = app.login(&app.client(), "alice", &password).await;
    assert_eq!(login.status(), StatusCode::OK, "the same password logs in");
}
}

backend_test! {
async fn a_71_byte_password_is_accepted() {
    let app = spawn_app().await;
    let password = format!("{}{}", "Zq7!xW2p".repeat(8), "Zq7!xW2");
    assert_eq!(password.len(), 71);

    let response = register_with(&app, "alice", &password).await;

    assert_eq!(response.status(), StatusCode::CREATED);
}
}

// ------------------------------------------------------- paths and methods

backend_test! {
async fn an_unknown_path_is_401_for_an_anonymous_caller_with_a_credentials_hint() {
    let app = spawn_app().await;

    let response = app.get(&app.client(), "/admin/secret").await;

    let body = assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    let sentence = body["error"].as_str().unwrap();
    assert!(
        sentence.contains("include"),
        "a hint about credentials: \"include\" in {sentence:?}"
    );
}
}

backend_test! {
async fn unknown_and_near_miss_paths_are_404_for_a_logged_in_caller() {
    let (app, client) = spawn_app_and_user("alice").await;

    for path in ["/admin/secret", "/blog/1/", "//blog/1", "/BLOG/1"] {
        let response = app.get(&client, path).await;

        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_error_in(path, response, StatusCode::NOT_FOUND, "not_found").await;
    }
}
}

backend_test! {
async fn a_trailing_slash_on_a_public_path_is_not_public() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            &app.client(),
            "/login/",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;

    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn a_method_a_path_does_not_take_is_405_naming_those_it_does() {
    let (app, alice) = spawn_app_and_user("alice").await;
    let anonymous = app.client();
    // (method, path, caller, the methods `Allow` names, whether only those)
    let cases = [
        ("GET", "/login", &anonymous, &["POST"][..], true),
        ("PUT", "/blog", &alice, &["GET", "HEAD"][..], true),
        ("PATCH", "/sessions", &alice, &["GET", "DELETE"][..], false),
    ];

    for (method, path, client, allowed, only) in cases {
        let case = format!("{method} {path}");
        let response = app.send(client, method, path).await;

        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        if only {
            assert_eq!(allow, allowed.join(", "), "{case}");
        }
        let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
        for method in allowed {
            assert!(methods.contains(method), "{method} in {allow:?} ({case})");
        }
        assert_error_in(
            &case,
            response,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        )
        .await;
    }
}
}

backend_test! {
async fn put_on_blog_is_401_for_an_anonymous_caller() {
    let app = spawn_app().await;

    let response = app.send(&app.client(), "PUT", "/blog").await;

    assert!(response.headers().get("allow").is_none());
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn post_ids_that_are_not_positive_integers_or_unknown_are_404() {
    let (app, client) = spawn_app_and_user("alice").await;

    for path in ["/blog/abc", "/blog/0", "/blog/-1", "/blog/99999"] {
        let response = app.get(&client, path).await;

        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"]["used"], 0, "a 404 never uses a read");
}
}

backend_test! {
async fn paging_out_of_range_or_not_a_number_is_422_naming_the_parameter() {
    let (app, client) = spawn_app_and_user("alice").await;

    for (query, field) in [("?page=0", "page"), ("?per_page=101", "per_page"), ("?page=abc", "page")] {
        let response = app.blog(&client, query).await;

        assert_invalid_field_in(query, response, field).await;
    }
}
}

// --------------------------------------------------------- contract headers

backend_test! {
async fn every_kind_of_response_carries_the_contract_headers() {
    let app = spawn_app().await;
    let client = app.client();

    // 200
    let response = app.get(&client, "/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_json(&response);
    // 401
    let response = app.get(&client, "/blog").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_json(&response);
    // 201
    let response = app.register(&client, "alice").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_json(&response);
    // 404
    let response = app.get(&client, "/nowhere").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_json(&response);
    // 405
    let response = app.get(&client, "/logout").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_json(&response);
    // 413
    let response = app.post_raw(
        &client,
        "/login",
        Some("application/json"),
        register_body_of_len(17_000),
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_json(&response);
    // 204
    let response = app.logout(&client).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_contract_headers(&response);
}
}

// ------------------------------------------------------- health and openapi

backend_test! {
async fn health_reports_ok_with_the_database() {
    let app = spawn_app().await;

    let response = app.get(&app.client(), "/health").await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_json(&response);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));
}
}

backend_test! {
async fn openapi_yaml_is_served_as_yaml_to_anyone() {
    let app = spawn_app().await;

    let response = app.get(&app.client(), "/openapi.yaml").await;

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/yaml"),
        "YAML content type: {content_type:?}"
    );
    let text = response.text().await.unwrap();
    assert!(text.starts_with("openapi:"), "starts with openapi:");
    assert!(text.contains("/check_session"), "documents /check_session");
}
}

// ------------------------------------------------------------------ cookies

backend_test! {
async fn a_tampered_session_cookie_is_401_with_its_own_sentence() {
    let app = spawn_app().await;
    let registered = app.register(&app.client(), "alice").await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let cookie = session_cookie(&registered);
    let bare = app.bare_client();
    let genuine = app.get_with(&bare, "/check_session", &[("cookie", cookie.as_str())]).await;
    assert_eq!(genuine.status(), StatusCode::OK, "the real cookie works");
    // Change one character of the value, keeping it a plausible cookie.
    let mut chars: Vec<char> = cookie.chars().collect();
    let at = chars.len() - 5;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert_ne!(tampered, cookie);
    let no_cookie = assert_error(
        app.check_session(&bare).await,
        StatusCode::UNAUTHORIZED,
        "not_logged_in",
    )
    .await;

    let response = app.get_with(&bare, "/check_session", &[("cookie", tampered.as_str())]).await;

    let body = assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert_ne!(
        body["error"], no_cookie["error"],
        "a cookie that arrived is told apart from no cookie"
    );
}
}

backend_test! {
async fn a_garbage_session_cookie_is_401_on_public_and_guarded_routes() {
    let app = spawn_app().await;

    for path in ["/check_session", "/blog"] {
        let response = app.get_with_cookie(path, "session=abc").await;

        assert_error_in(path, response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    }
}
}

// --------------------------------------------------------- a locked database

#[tokio::test]
async fn a_registration_while_the_database_stays_locked_is_503_and_leaves_nothing() {
    let app = spawn_app_with(&[("DATABASE_TIMEOUT_SECONDS", "1")]).await;
    let mut lock = app.db();
    lock.batch_execute("BEGIN EXCLUSIVE;")
        .expect("the write lock");

    let response = app.register(&app.client(), "bob").await;

    assert!(session_set_cookie(&response).is_none(), "no session cookie");
    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    lock.batch_execute("COMMIT;").expect("the lock released");
    let mut conn = app.db();
    assert_eq!(users_named(&mut conn, "bob"), 0, "no user row");
    let sessions: i64 = sessions::table.count().get_result(&mut conn).unwrap();
    assert_eq!(sessions, 0, "no session row");
    // Service resumes at once.
    let response = app.register(&app.client(), "bob").await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(users_named(&mut conn, "bob"), 1);
}

#[tokio::test]
async fn a_first_read_while_the_database_stays_locked_is_503_and_uses_no_read() {
    let (app, client) = spawn_app_with_user(&[("DATABASE_TIMEOUT_SECONDS", "1")], "alice").await;
    let mut lock = app.db();
    lock.batch_execute("BEGIN EXCLUSIVE;")
        .expect("the write lock");

    let response = app.blog_post(&client, 1).await;

    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    lock.batch_execute("COMMIT;").expect("the lock released");
    let mut conn = app.db();
    let unlocked: i64 = unlocks::table.count().get_result(&mut conn).unwrap();
    assert_eq!(unlocked, 0, "no unlock row");
    // Service resumes at once, and the meter counts only the real read.
    let response = app.blog_post(&client, 1).await;
    assert_eq!(response.status(), StatusCode::OK);
    let post: Value = response.json().await.unwrap();
    assert_eq!(post["meter"]["used"], 1, "{post}");
}

#[tokio::test]
async fn reads_queued_behind_a_locked_database_are_all_answered_within_about_the_timeout() {
    // Eight first reads at once, each of which must write, while another
    // process holds the write lock: each is answered 503 once it has
    // waited DATABASE_TIMEOUT_SECONDS (1 s), not after the waits of every
    // read queued ahead of it (one after another, the last would answer
    // after some 8 s).
    let (app, client) = spawn_app_with_user(
        &[("DATABASE_TIMEOUT_SECONDS", "1"), ("FREE_READS", "20")],
        "alice",
    )
    .await;
    let mut lock = app.db();
    lock.batch_execute("BEGIN EXCLUSIVE;")
        .expect("the write lock");

    let started = std::time::Instant::now();
    let reads = (1..=8).map(|id| app.blog_post(&client, id));
    let answers = futures_util::future::join_all(reads).await;
    let waited = started.elapsed();

    let statuses: Vec<StatusCode> = answers.iter().map(Response::status).collect();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(
        waited < std::time::Duration::from_secs(4),
        "{waited:?}: one timeout each, not one after another"
    );
    lock.batch_execute("COMMIT;").expect("the lock released");
    let unlocked: i64 = unlocks::table.count().get_result(&mut app.db()).unwrap();
    assert_eq!(unlocked, 0, "no unlock row");
    assert_eq!(app.blog_post(&client, 1).await.status(), StatusCode::OK);
}

backend_test! {
async fn the_early_401_is_the_guards_401() {
    // A cookie-less request to a guarded path is answered before the CORS
    // and session layers; an OPTIONS without a preflight header goes the
    // whole way to the guard. Their answers must not differ.
    let app = spawn_app().await;
    let client = app.client();
    let early = app.send(&client, "GET", "/blog/1").await;
    let full = app.send(&client, "OPTIONS", "/blog/1").await;

    assert_eq!(early.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(full.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(headers_but_date(&early), headers_but_date(&full));
    assert!(headers_but_date(&early).iter().any(|(name, _)| name == "vary"));
    assert_contract_headers(&early);
    assert_eq!(early.text().await.unwrap(), full.text().await.unwrap());
}
}
