//! The contract's error answers: malformed bodies, validation, the guard's
//! `401`s, unknown paths and methods, the contract headers on every kind of
//! response, `/health` and `/openapi.yaml`, tampered cookies, and a locked
//! database (`503`).

use crate::helpers::{
    assert_contract_headers, assert_error, assert_json, session_cookie, session_set_cookie,
    spawn_app, spawn_app_with, TestApp, PASSWORD,
};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use tollgate::db::schema::{sessions, unlocks, users};

/// Sends `body` to `path` with the given `Content-Type` (or none at all).
async fn post_raw(
    app: &TestApp,
    client: &Client,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let mut request = client.post(app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("request sent")
}

/// Sends a request with an arbitrary method.
async fn send(app: &TestApp, client: &Client, method: &str, path: &str) -> Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    client
        .request(method, app.url(path))
        .send()
        .await
        .expect("request sent")
}

/// Checks a `422` names `field` in its `fields` object; returns the body.
async fn assert_invalid_field(response: Response, field: &str) -> Value {
    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        body["fields"][field]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "fields names {field:?} in {body}"
    );
    body
}

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
fn users_named(conn: &mut tollgate::db::DbConnection, username: &str) -> i64 {
    users::table
        .filter(users::username_key.eq(username.to_ascii_lowercase()))
        .count()
        .get_result(conn)
        .expect("count users")
}

// ---------------------------------------------------------------- bodies

backend_test! {
async fn invalid_json_on_register_is_400_invalid_json() {
    let app = spawn_app().await;

    let response = post_raw(
        &app,
        &app.client(),
        "/register",
        Some("application/json"),
        r#"{"username": "alice", "password": "#,
    )
    .await;

    assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
}
}

backend_test! {
async fn an_empty_json_body_is_400() {
    let app = spawn_app().await;

    let response = post_raw(
        &app,
        &app.client(),
        "/register",
        Some("application/json"),
        "",
    )
    .await;

    assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
}
}

backend_test! {
async fn a_json_array_body_is_422_with_fields() {
    let app = spawn_app().await;

    let response = app
        .post_json(&app.client(), "/register", &json!(["alice", PASSWORD]))
        .await;

    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        body["fields"].as_object().is_some_and(|f| !f.is_empty()),
        "a fields object in {body}"
    );
}
}

backend_test! {
async fn a_json_string_body_is_422_with_fields() {
    let app = spawn_app().await;

    let response = app
        .post_json(&app.client(), "/register", &json!("alice"))
        .await;

    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        body["fields"].as_object().is_some_and(|f| !f.is_empty()),
        "a fields object in {body}"
    );
}
}

backend_test! {
async fn missing_fields_are_each_named_in_a_422() {
    let app = spawn_app().await;

    let response = app.post_json(&app.client(), "/register", &json!({})).await;

    let body = assert_invalid_field(response, "username").await;
    assert!(body["fields"]["password"].is_string(), "password in {body}");
}
}

backend_test! {
async fn fields_of_the_wrong_type_are_each_named_in_a_422() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            &app.client(),
            "/register",
            &json!({"username": 42, "password": true, "stay_signed_in": "yes"}),
        )
        .await;

    let body = assert_invalid_field(response, "username").await;
    assert!(body["fields"]["password"].is_string(), "password in {body}");
    assert!(
        body["fields"]["stay_signed_in"].is_string(),
        "stay_signed_in in {body}"
    );
}
}

backend_test! {
async fn a_non_boolean_stay_signed_in_on_login_is_422() {
    let app = spawn_app().await;
    app.logged_in_client("alice").await;

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
async fn a_text_plain_body_is_415() {
    let app = spawn_app().await;
    let body = json!({"username": "alice", "password": PASSWORD}).to_string();

    let response = post_raw(&app, &app.client(), "/register", Some("text/plain"), body).await;

    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}
}

backend_test! {
async fn a_form_encoded_body_is_415() {
    let app = spawn_app().await;

    let response = post_raw(
        &app,
        &app.client(),
        "/login",
        Some("application/x-www-form-urlencoded"),
        "username=alice&password=correct+horse+battery",
    )
    .await;

    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}
}

backend_test! {
async fn a_body_without_a_content_type_is_415() {
    let app = spawn_app().await;
    let body = json!({"username": "alice", "password": PASSWORD}).to_string();

    let response = post_raw(&app, &app.client(), "/register", None, body).await;

    assert_error(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}
}

backend_test! {
async fn a_body_over_16_kib_is_413() {
    let app = spawn_app().await;

    let response = post_raw(
        &app,
        &app.client(),
        "/register",
        Some("application/json"),
        register_body_of_len(17_000),
    )
    .await;

    assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}
}

backend_test! {
async fn a_body_just_under_16_kib_is_not_too_large() {
    let app = spawn_app().await;

    let response = post_raw(
        &app,
        &app.client(),
        "/register",
        Some("application/json"),
        register_body_of_len(16 * 1024 - 1),
    )
    .await;

    // Read in full: the password is simply too long for the register rules.
    assert_ne!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_invalid_field(response, "password").await;
}
}

backend_test! {
async fn a_body_of_exactly_16_kib_is_not_too_large() {
    let app = spawn_app().await;

    let response = post_raw(
        &app,
        &app.client(),
        "/register",
        Some("application/json"),
        register_body_of_len(16 * 1024),
    )
    .await;

    assert_ne!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_invalid_field(response, "password").await;
}
}

// ---------------------------------------------------------- register rules

async fn register_with(app: &TestApp, username: &str, password: &str) -> Response {
    app.post_json(
        &app.client(),
        "/register",
        &json!({"username": username, "password": password}),
    )
    .await
}

backend_test! {
async fn a_username_shorter_than_3_characters_is_422() {
    let app = spawn_app().await;

    let response = register_with(&app, "ab", PASSWORD).await;

    assert_invalid_field(response, "username").await;
}
}

backend_test! {
async fn a_username_longer_than_32_characters_is_422() {
    let app = spawn_app().await;

    let response = register_with(&app, &"a".repeat(33), PASSWORD).await;

    assert_invalid_field(response, "username").await;
}
}

backend_test! {
async fn a_username_with_characters_outside_the_allowed_set_is_422() {
    let app = spawn_app().await;

    for bad in ["al ice", "alice!", "élise", "al/ice", "<b>bob"] {
        let response = register_with(&app, bad, PASSWORD).await;

        let body = assert_invalid_field(response, "username").await;
        assert!(body["fields"].get("password").is_none(), "{bad:?}: {body}");
    }
}
}

backend_test! {
async fn a_password_shorter_than_8_bytes_is_422() {
    let app = spawn_app().await;

    let response = register_with(&app, "alice", "Zq7!xW2").await;

    assert_invalid_field(response, "password").await;
}
}

backend_test! {
async fn a_password_over_72_bytes_is_422_even_if_under_72_characters() {
    let app = spawn_app().await;
    // 25 characters, 75 bytes: bcrypt would silently drop the tail.
    let password = "€".repeat(25);

    let response = register_with(&app, "alice", &password).await;

    assert_invalid_field(response, "password").await;
}
}

backend_test! {
async fn a_password_of_73_ascii_bytes_is_422() {
    let app = spawn_app().await;
    let password = format!("{}{}", "Zq7!xW2p".repeat(9), "k");
    assert_eq!(password.len(), 73);

    let response = register_with(&app, "alice", &password).await;

    assert_invalid_field(response, "password").await;
}
}

backend_test! {
async fn a_password_containing_nul_is_422() {
    let app = spawn_app().await;

    let response = register_with(&app, "alice", "correct\0horse battery").await;

    assert_invalid_field(response, "password").await;
}
}

backend_test! {
async fn a_common_password_is_422() {
    let app = spawn_app().await;

    for common in ["password", "12345678", "qwertyuiop", "PassWord"] {
        let response = register_with(&app, "alice", common).await;

        let body = assert_invalid_field(response, "password").await;
        assert!(body["fields"].get("username").is_none(), "{common}: {body}");
    }
}
}

backend_test! {
async fn a_password_containing_the_username_in_any_case_is_422() {
    let app = spawn_app().await;

    let response = register_with(&app, "Walrus", "my-wALRUS-is-great").await;

    assert_invalid_field(response, "password").await;
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
async fn an_unknown_path_is_404_for_a_logged_in_caller() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

    let response = app.get(&client, "/admin/secret").await;

    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
}
}

backend_test! {
async fn near_miss_paths_are_404_for_a_logged_in_caller() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

    for path in ["/blog/1/", "//blog/1", "/BLOG/1"] {
        let response = app.get(&client, path).await;

        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
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
async fn get_on_login_is_405_with_allow_post() {
    let app = spawn_app().await;

    let response = app.get(&app.client(), "/login").await;

    assert_eq!(response.headers()["allow"], "POST");
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
}

backend_test! {
async fn put_on_blog_is_405_with_allow_get_and_head_for_a_logged_in_caller() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

    let response = send(&app, &client, "PUT", "/blog").await;

    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
}

backend_test! {
async fn put_on_blog_is_401_for_an_anonymous_caller() {
    let app = spawn_app().await;

    let response = send(&app, &app.client(), "PUT", "/blog").await;

    assert!(response.headers().get("allow").is_none());
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn patch_on_sessions_is_405_allowing_get_and_delete() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

    let response = send(&app, &client, "PATCH", "/sessions").await;

    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    assert!(methods.contains(&"GET"), "GET in {allow:?}");
    assert!(methods.contains(&"DELETE"), "DELETE in {allow:?}");
    assert_error(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}
}

backend_test! {
async fn post_ids_that_are_not_positive_integers_or_unknown_are_404() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

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
async fn page_zero_is_422_naming_page() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

    let response = app.get(&client, "/blog?page=0").await;

    assert_invalid_field(response, "page").await;
}
}

backend_test! {
async fn per_page_over_100_is_422_naming_per_page() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

    let response = app.get(&client, "/blog?per_page=101").await;

    assert_invalid_field(response, "per_page").await;
}
}

backend_test! {
async fn a_non_numeric_page_is_422_naming_page() {
    let app = spawn_app().await;
    let client = app.logged_in_client("alice").await;

    let response = app.get(&client, "/blog?page=abc").await;

    assert_invalid_field(response, "page").await;
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
    let response = post_raw(
        &app,
        &client,
        "/login",
        Some("application/json"),
        register_body_of_len(17_000),
    )
    .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_json(&response);
    // 204
    let response = app.delete(&client, "/logout").await;
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
    let genuine = bare
        .get(app.url("/check_session"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(genuine.status(), StatusCode::OK, "the real cookie works");
    // Change one character of the value, keeping it a plausible cookie.
    let mut chars: Vec<char> = cookie.chars().collect();
    let at = chars.len() - 5;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    assert_ne!(tampered, cookie);
    let no_cookie = assert_error(
        app.get(&bare, "/check_session").await,
        StatusCode::UNAUTHORIZED,
        "not_logged_in",
    )
    .await;

    let response = bare
        .get(app.url("/check_session"))
        .header("cookie", &tampered)
        .send()
        .await
        .unwrap();

    let body = assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert_ne!(
        body["error"], no_cookie["error"],
        "a cookie that arrived is told apart from no cookie"
    );
}
}

backend_test! {
async fn a_garbage_session_cookie_is_401() {
    let app = spawn_app().await;

    let response = app
        .bare_client()
        .get(app.url("/check_session"))
        .header("cookie", "session=abc")
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn a_garbage_session_cookie_on_a_guarded_route_is_401() {
    let app = spawn_app().await;

    let response = app
        .bare_client()
        .get(app.url("/blog"))
        .header("cookie", "session=abc")
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
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
    let app = spawn_app_with(&[("DATABASE_TIMEOUT_SECONDS", "1")]).await;
    let client = app.logged_in_client("alice").await;
    let mut lock = app.db();
    lock.batch_execute("BEGIN EXCLUSIVE;")
        .expect("the write lock");

    let response = app.get(&client, "/blog/1").await;

    assert_error(response, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    lock.batch_execute("COMMIT;").expect("the lock released");
    let mut conn = app.db();
    let unlocked: i64 = unlocks::table.count().get_result(&mut conn).unwrap();
    assert_eq!(unlocked, 0, "no unlock row");
    // Service resumes at once, and the meter counts only the real read.
    let response = app.get(&client, "/blog/1").await;
    assert_eq!(response.status(), StatusCode::OK);
    let post: Value = response.json().await.unwrap();
    assert_eq!(post["meter"]["used"], 1, "{post}");
}

backend_test! {
async fn the_early_401_is_the_guards_401() {
    // A cookie-less request to a guarded path is answered before the CORS
    // and session layers; an OPTIONS without a preflight header goes the
    // whole way to the guard. Their answers must not differ.
    let app = spawn_app().await;
    let client = app.client();
    let early = send(&app, &client, "GET", "/blog/1").await;
    let full = send(&app, &client, "OPTIONS", "/blog/1").await;

    let headers = |response: &Response| {
        let mut pairs: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| *name != "date")
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
            .collect();
        pairs.sort();
        pairs
    };
    assert_eq!(early.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(full.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(headers(&early), headers(&full));
    assert!(headers(&early).iter().any(|(name, _)| name == "vary"));
    assert_contract_headers(&early);
    assert_eq!(early.text().await.unwrap(), full.text().await.unwrap());
}
}
