//! CORS for the configured SPA origins, and the refusals of cross-site
//! requests (`403 forbidden_origin`) that keep another site from logging a
//! user in or out or spending their free reads.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::{
    assert_error, headers_but_date, session_cookie, spawn_app, spawn_app_and_user, spawn_app_with,
    spawn_app_with_user, TestApp, PASSWORD,
};

const SPA: &str = "http://localhost:5173";
const OTHER_SPA: &str = "http://localhost:3000";
const EVIL: &str = "https://evil.example";

/// `POST /login` with a JSON body, from `origin`.
async fn login_from(app: &TestApp, client: &Client, origin: &str, password: &str) -> Response {
    client
        .post(app.url("/login"))
        .header("origin", origin)
        .json(&json!({"username": "alice", "password": password}))
        .send()
        .await
        .expect("request sent")
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn assert_cors_headers_for(response: &Response, origin: &str) {
    assert_eq!(
        header(response, "access-control-allow-origin"),
        Some(origin),
        "{:?}",
        response.headers()
    );
    assert_eq!(
        header(response, "access-control-allow-credentials"),
        Some("true"),
        "{:?}",
        response.headers()
    );
}

/// No CORS header of any kind (`Access-Control-*`).
fn assert_no_cors_headers(response: &Response) {
    let cors: Vec<&str> = response
        .headers()
        .keys()
        .map(|name| name.as_str())
        .filter(|name| name.starts_with("access-control-"))
        .collect();
    assert!(
        cors.is_empty(),
        "no CORS headers, found {cors:?} in {:?}",
        response.headers()
    );
}

fn assert_no_allow_origin(response: &Response) {
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "no Access-Control-Allow-Origin: {:?}",
        response.headers()
    );
}

/// The meter's `used` for this client, from the (never metered) listing.
async fn reads_used(app: &TestApp, client: &Client) -> Value {
    let response = app.get(client, "/blog").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["meter"]["used"].clone()
}

backend_test! {
async fn a_preflight_from_an_allowed_origin_succeeds_with_credentials() {
    let app = spawn_app().await;

    let response = app.preflight("/login", SPA, "POST").await;

    assert!(response.status().is_success(), "{}", response.status());
    assert_cors_headers_for(&response, SPA);
    let methods = header(&response, "access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "POST in {methods:?}");
    let headers = header(&response, "access-control-allow-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        headers.contains("content-type"),
        "content-type in {headers:?}"
    );
}
}

backend_test! {
async fn a_preflight_from_the_second_default_origin_succeeds() {
    let app = spawn_app().await;

    let response = app.preflight("/logout", OTHER_SPA, "DELETE").await;

    assert!(response.status().is_success(), "{}", response.status());
    assert_cors_headers_for(&response, OTHER_SPA);
    let methods = header(&response, "access-control-allow-methods")
        .unwrap_or_default()
        .to_ascii_uppercase();
    assert!(methods.contains("DELETE"), "DELETE in {methods:?}");
}
}

backend_test! {
async fn a_preflight_from_another_origin_is_403_without_cors_headers() {
    let app = spawn_app().await;

    let response = app.preflight("/login", EVIL, "POST").await;

    assert_no_cors_headers(&response);
    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn a_login_from_another_origin_is_403() {
    let (app, _) = spawn_app_and_user("alice").await;

    let response = login_from(&app, &app.client(), EVIL, PASSWORD).await;

    assert!(response.headers().get("set-cookie").is_none(), "no login");
    assert_no_cors_headers(&response);
    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn a_logout_from_another_origin_is_403_and_the_session_survives() {
    let app = spawn_app().await;
    let registered = app.register(&app.client(), "alice").await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let cookie = session_cookie(&registered);
    let bare = app.bare_client();

    let response = bare
        .delete(app.url("/logout"))
        .header("origin", EVIL)
        .header("cookie", cookie.as_str())
        .send()
        .await
        .unwrap();

    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
    let check = app.get_with(&bare, "/check_session", &[("cookie", cookie.as_str())]).await;
    assert_eq!(check.status(), StatusCode::OK, "the session still works");
}
}

backend_test! {
async fn a_post_from_a_null_origin_is_403() {
    let (app, _) = spawn_app_and_user("alice").await;

    let response = login_from(&app, &app.client(), "null", PASSWORD).await;

    assert_no_cors_headers(&response);
    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn a_login_from_an_allowed_origin_gets_its_normal_answer_with_cors_headers() {
    let (app, _) = spawn_app_and_user("alice").await;

    let response = login_from(&app, &app.client(), SPA, "not the password").await;

    assert_cors_headers_for(&response, SPA);
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}
}

backend_test! {
async fn a_successful_login_from_an_allowed_origin_has_cors_headers() {
    let (app, _) = spawn_app_and_user("alice").await;

    let response = login_from(&app, &app.client(), SPA, PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_cors_headers_for(&response, SPA);
}
}

backend_test! {
async fn the_guards_401_for_an_allowed_origin_has_cors_headers() {
    let app = spawn_app().await;

    let response = app.get_with(&app.bare_client(), "/blog", &[("origin", SPA)]).await;

    assert_cors_headers_for(&response, SPA);
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn a_get_from_another_origin_without_fetch_metadata_is_not_refused() {
    let app = spawn_app().await;

    let response = app.get_with(&app.bare_client(), "/check_session", &[("origin", EVIL)]).await;

    assert_no_allow_origin(&response);
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

// actix-cors on its own adds `Access-Control-Allow-Credentials` and
// `Access-Control-Expose-Headers` to every response, whatever the origin.
backend_test! {
async fn an_answer_to_another_origin_carries_no_cors_headers_at_all() {
    let (app, client) = spawn_app_and_user("alice").await;

    let response = app.get_with(&client, "/check_session", &[("origin", EVIL)]).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_no_cors_headers(&response);
}
}

// A request without an `Origin` (a same-origin page, a server, curl) goes
// around actix-cors, which has nothing to allow it. Its answers must carry
// what actix-cors leaves on an answer to an origin it does not allow, its
// `Vary` included: for a success, a handler's error, the guard's `404` to a
// path no route matches, and actix's own `405`.
backend_test! {
async fn an_answer_without_an_origin_carries_what_cors_leaves_for_an_origin_it_does_not_allow() {
    let (app, client) = spawn_app_and_user("alice").await;
    let paths = [
        ("/check_session", StatusCode::OK),
        ("/blog/1", StatusCode::OK),
        ("/blog/999999", StatusCode::NOT_FOUND),
        ("/no/such/path", StatusCode::NOT_FOUND),
        ("/logout", StatusCode::METHOD_NOT_ALLOWED),
    ];
    // Both reads of the post below are re-reads, with answers alike.
    assert_eq!(app.blog_post(&client, 1).await.status(), StatusCode::OK);
    for (path, status) in paths {
        let plain = app.get(&client, path).await;
        let elsewhere = app.get_with(&client, path, &[("origin", EVIL)]).await;
        assert_eq!(plain.status(), status, "{path}");
        assert_eq!(elsewhere.status(), status, "{path}");
        assert_eq!(headers_but_date(&plain), headers_but_date(&elsewhere), "{path}");
        assert_eq!(
            header(&plain, "vary"),
            Some("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
            "{path}"
        );
        assert_no_cors_headers(&plain);
    }
}
}

backend_test! {
async fn a_cross_site_navigation_to_a_post_is_403_and_uses_no_read() {
    let (app, client) = spawn_app_and_user("alice").await;

    let response = app.get_with(&client, "/blog/1", &[("sec-fetch-site", "cross-site")]).await;

    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
    assert_eq!(reads_used(&app, &client).await, 0, "the meter is unchanged");
}
}

backend_test! {
async fn a_cross_site_get_from_an_allowed_origin_is_served() {
    let (app, client) = spawn_app_and_user("alice").await;

    let headers = [("sec-fetch-site", "cross-site"), ("origin", SPA)];
    let response = app.get_with(&client, "/blog/1", &headers).await;

    assert_eq!(response.status(), StatusCode::OK);
    assert_cors_headers_for(&response, SPA);
    assert_eq!(reads_used(&app, &client).await, 1);
}
}

backend_test! {
async fn a_cross_site_login_without_an_origin_is_403() {
    let (app, _) = spawn_app_and_user("alice").await;

    let response = app
        .client()
        .post(app.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();

    assert!(response.headers().get("set-cookie").is_none(), "no login");
    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn a_same_origin_post_is_not_refused() {
    let (app, _) = spawn_app_and_user("alice").await;
    let own_origin = format!("http://127.0.0.1:{}", app.port);

    let response = app
        .client()
        .post(app.url("/login"))
        .header("origin", &own_origin)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();

    assert_ne!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.status(), StatusCode::OK);
}
}

backend_test! {
async fn an_origin_on_the_same_host_but_another_port_is_refused() {
    let (app, _) = spawn_app_and_user("alice").await;
    let other_port = if app.port == 1 { 2 } else { app.port - 1 };
    let near_origin = format!("http://127.0.0.1:{other_port}");

    let response = login_from(&app, &app.client(), &near_origin, PASSWORD).await;

    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn requests_without_origin_or_fetch_metadata_are_unaffected() {
    let app = spawn_app().await;
    let client = app.client();

    let registered = app.register(&client, "alice").await;
    assert_eq!(registered.status(), StatusCode::CREATED);
    assert_no_allow_origin(&registered);
    let read = app.blog_post(&client, 1).await;
    assert_eq!(read.status(), StatusCode::OK);
    let logout = app.logout(&client).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let login = app.login(&client, "alice", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
}
}

backend_test! {
async fn configured_origins_replace_the_defaults() {
    let app = spawn_app_with(&[("CORS_ALLOWED_ORIGINS", "https://app.example.com")]).await;

    let allowed = app.preflight("/login", "https://app.example.com", "POST").await;
    let refused = app.preflight("/login", SPA, "POST").await;

    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_cors_headers_for(&allowed, "https://app.example.com");
    assert_no_cors_headers(&refused);
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn a_post_from_a_configured_origin_is_served_and_a_default_one_refused() {
    let origins = [("CORS_ALLOWED_ORIGINS", "https://app.example.com")];
    let (app, _) = spawn_app_with_user(&origins, "alice").await;

    let allowed = login_from(&app, &app.client(), "https://app.example.com", PASSWORD).await;
    let refused = login_from(&app, &app.client(), SPA, PASSWORD).await;

    assert_eq!(allowed.status(), StatusCode::OK);
    assert_cors_headers_for(&allowed, "https://app.example.com");
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn a_preflight_to_a_guarded_path_passes_the_guard_without_a_session() {
    let app = spawn_app().await;

    let response = app.preflight("/blog/1", SPA, "GET").await;

    assert!(response.status().is_success(), "{}", response.status());
    assert_cors_headers_for(&response, SPA);
}
}

backend_test! {
async fn a_preflight_for_a_method_outside_get_post_delete_is_refused_as_json() {
    let app = spawn_app().await;

    let response = app.preflight("/blog", SPA, "PUT").await;

    assert!(!response.status().is_success(), "{}", response.status());
    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn a_cross_site_request_to_a_public_path_is_403() {
    let (app, client) = spawn_app_and_user("alice").await;

    let headers = [("sec-fetch-site", "cross-site"), ("origin", EVIL)];
    let response = app.get_with(&client, "/check_session", &headers).await;

    assert_no_allow_origin(&response);
    assert_error(response, StatusCode::FORBIDDEN, "forbidden_origin").await;
}
}

backend_test! {
async fn same_site_and_direct_navigations_are_not_refused() {
    let (app, client) = spawn_app_and_user("alice").await;

    for site in ["same-origin", "same-site", "none"] {
        let response = app.get_with(&client, "/blog/1", &[("sec-fetch-site", site)]).await;

        assert_eq!(response.status(), StatusCode::OK, "Sec-Fetch-Site: {site}");
    }
}
}

backend_test! {
async fn a_malformed_preflight_cannot_probe_routes_anonymously() {
    let app = spawn_app().await;

    let response = app
        .bare_client()
        .request(reqwest::Method::OPTIONS, app.url("/sessions"))
        .header("Origin", "http://localhost:5173")
        .header("Access-Control-Request-Method", "x y")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
}
