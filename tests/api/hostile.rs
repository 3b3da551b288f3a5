//! Hostile input everywhere: malformed bodies, headers, cookies, query
//! strings and paths, sent byte for byte over a raw socket, and U+0000 in
//! every kind of text field. Every answer is a contract 4xx (JSON, with the
//! contract headers), never a 5xx, and what was stored before is unchanged.

use std::time::Duration;

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::db::execute;
use crate::support::{
    assert_error, assert_invalid_field_in, assert_logged_in, session_cookie, spawn_app,
    spawn_app_and_user, TestApp, PASSWORD,
};

/// What came back for one raw request.
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

/// Sends `request` as is and reads the answer (the request asks to close).
async fn send_raw(app: &TestApp, request: &[u8]) -> Option<Raw> {
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.ok()?;
    stream.write_all(request).await.ok()?;
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes)).await;
    let split = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Raw {
        status,
        head,
        body: bytes[split + 4..].to_vec(),
    })
}

fn request(method: &str, target: &[u8], headers: &[&[u8]], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(target);
    out.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for header in headers {
        out.extend_from_slice(header);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// A 4xx with a contract body, or a legitimate success.
fn assert_contract_answer(what: &str, raw: &Raw) {
    assert!(raw.status < 500, "{what}: {} {}", raw.status, raw.head);
    let head = raw.head.to_ascii_lowercase();
    assert!(
        head.contains("cache-control: no-store"),
        "{what}: {}",
        raw.head
    );
    if raw.status >= 400 {
        assert!(
            head.contains("content-type: application/json"),
            "{what}: {}",
            raw.head
        );
        let body: Value = serde_json::from_slice(&raw.body).unwrap_or_else(|_| {
            panic!("{what}: not JSON: {:?}", String::from_utf8_lossy(&raw.body))
        });
        assert!(
            body["code"].is_string() && body["error"].is_string(),
            "{what}: {body}"
        );
    }
}

#[derive(diesel::QueryableByName, PartialEq, Debug)]
struct Snapshot {
    #[diesel(sql_type = diesel::sql_types::Text)]
    state: String,
}

/// Everything stored, as one string to compare before and after.
fn snapshot(app: &TestApp) -> String {
    let rows: Vec<Snapshot> = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM users) || '/' || \
                (SELECT COALESCE(MAX(password_hash), '') FROM users) || '/' || \
                (SELECT COUNT(*) FROM sessions) || '/' || \
                (SELECT COUNT(*) FROM unlocks) || '/' || \
                (SELECT COUNT(*) FROM posts) AS state",
    )
    .load(&mut app.db())
    .unwrap();
    rows[0].state.clone()
}

fn bodies() -> Vec<(&'static str, Vec<u8>)> {
    // Deep, yet under the 16 KiB a body may have, so that the parser meets
    // it (a longer one is refused for its size before anything reads it).
    let deep = format!("{}{}", "[".repeat(8_000), "]".repeat(8_000));
    vec![
        ("invalid UTF-8", b"{\"username\": \"\xff\xfe\", \"password\": \"x\"}".to_vec()),
        ("NUL", b"{\"username\": \"a\0b\", \"password\": \"\0\"}".to_vec()),
        ("escaped NUL", br#"{"username": "a\u0000b", "password": "\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}"#.to_vec()),
        ("deep nesting", deep.into_bytes()),
        ("deep object", format!("{}1{}", "{\"a\":".repeat(5000), "}".repeat(5000)).into_bytes()),
        ("huge number", br#"{"username": 1e999999, "password": 123456789012345678901234567890}"#.to_vec()),
        ("duplicate keys", br#"{"username": "x", "username": 5, "password": [1]}"#.to_vec()),
        ("lone surrogate", br#"{"username": "\ud800", "password": "\udfff\udfff"}"#.to_vec()),
        ("trailing garbage", br#"{"username": "a"} trailing"#.to_vec()),
        ("a bare string", br#""just a string""#.to_vec()),
        ("null", b"null".to_vec()),
        ("over 16 KiB", vec![b' '; 17 * 1024]),
        ("empty", Vec::new()),
        ("long username", format!(r#"{{"username": "{}", "password": "{}"}}"#, "a".repeat(10_000), "b".repeat(5_000)).into_bytes()),
        ("unicode username", r#"{"username": "ＡＬＩＣＥ", "password": "ＣＯＲＲＥＣＴ horse battery"}"#.as_bytes().to_vec()),
    ]
}

backend_test! {
async fn malformed_bodies_get_contract_errors_and_change_nothing() {
    let app = spawn_app().await;
    let cookie = session_cookie(&app.register(&app.client(), "Alice").await);
    let cookie_header = format!("Cookie: {cookie}");
    // The post is unlocked first, so that re-reading it changes nothing.
    let opened = app.get_with_cookie("/blog/1", &cookie).await;
    assert_eq!(opened.status(), StatusCode::OK);
    let before = snapshot(&app);

    // Routes that take no body must ignore one, whatever it is.
    for (route_method, route) in [
        ("GET", "/check_session"), ("GET", "/blog"), ("GET", "/blog/1"), ("GET", "/sessions"),
        ("DELETE", "/sessions"), ("DELETE", "/sessions/0123456789abcdef0123456789abcdef"),
        ("GET", "/health"), ("GET", "/nowhere"), ("PUT", "/login"),
    ] {
        for (name, body) in bodies() {
            let raw = request(route_method, route.as_bytes(), &[b"Content-Type: application/json", cookie_header.as_bytes()], &body);
            let what = format!("{route_method} {route} with {name}");
            let answer = send_raw(&app, &raw).await.unwrap_or_else(|| panic!("{what}: no answer"));
            assert_contract_answer(&what, &answer);
        }
    }

    for (route_method, route) in [("POST", "/register"), ("POST", "/login"), ("POST", "/password"), ("DELETE", "/account")] {
        for (name, body) in bodies() {
            for content_type in [&b"Content-Type: application/json"[..], b"Content-Type: text/plain", b"Content-Type: application/json; charset=\xff"] {
                let raw = request(
                    route_method,
                    route.as_bytes(),
                    &[content_type, cookie_header.as_bytes()],
                    &body,
                );
                let what = format!("{route_method} {route} with {name}");
                let answer = send_raw(&app, &raw).await.unwrap_or_else(|| panic!("{what}: no answer"));
                assert_contract_answer(&what, &answer);
                assert!(answer.status >= 400, "{what} was accepted: {}", answer.status);
            }
        }
    }

    assert_eq!(snapshot(&app), before);
    assert_eq!(app.login(&app.client(), "Alice", PASSWORD).await.status(), StatusCode::OK);
}
}

backend_test! {
async fn path_and_query_tricks_get_contract_answers() {
    let app = spawn_app().await;
    let cookie = session_cookie(&app.register(&app.client(), "Alice").await);
    let cookie_header = format!("Cookie: {cookie}");
    let long = format!("/blog/{}", "9".repeat(5_000));
    let targets: Vec<&[u8]> = vec![
        b"/blog/1/", b"//blog/1", b"/BLOG/1", b"/blog%2F1", b"/blog/%FF", b"/blog/1%00",
        b"/blog/%2e%2e/sessions", b"/blog/../sessions", b"/blog/1;x=y", b"/blog/\xff\xfe",
        b"/blog?page=%FF", b"/blog?page=1&page=2", b"/blog?per_page=99999999999999999999",
        b"/blog?page=-0", b"/blog?%zz", b"/sessions/%00", b"/sessions/..%2F..",
        long.as_bytes(), b"/check_session?x=\xff", b"*",
    ];

    for target in targets {
        for cookie in [cookie_header.as_bytes(), b"Cookie: session=\xff\xfe", b"Cookie: session=", b"Cookie: session=a; session=b"] {
            let raw = request("GET", target, &[cookie], b"");
            let what = format!("GET {}", String::from_utf8_lossy(target));
            if let Some(answer) = send_raw(&app, &raw).await {
                // actix-http itself refuses some request lines before any of
                // our code runs; those answers are checked for status only.
                if answer.head.to_ascii_lowercase().contains("cache-control") {
                    assert_contract_answer(&what, &answer);
                } else {
                    assert!((400..500).contains(&answer.status), "{what}: {}", answer.head);
                }
            }
        }
    }
    let list: Value = app.check_session(&app.client()).await.json().await.unwrap();
    assert_eq!(list["code"], "not_logged_in");
    assert_eq!(
        app.get_with_cookie("/check_session", &cookie).await.status(),
        StatusCode::OK
    );
}
}

backend_test! {
async fn hostile_headers_get_contract_answers() {
    let app = spawn_app().await;
    let cookie = session_cookie(&app.register(&app.client(), "Alice").await);
    let long_cookie = format!("Cookie: session={}", "a".repeat(6_000));
    let headers: Vec<Vec<u8>> = vec![
        b"Origin: null".to_vec(),
        b"Origin: \xff".to_vec(),
        b"Origin: http://localhost:5173\r\nOrigin: https://evil.example".to_vec(),
        b"Sec-Fetch-Site: \xff".to_vec(),
        b"Sec-Fetch-Site: CROSS-SITE".to_vec(),
        b"Content-Type: \xff/\xfe".to_vec(),
        b"Access-Control-Request-Method: \xff".to_vec(),
        long_cookie.into_bytes(),
        format!("Cookie: {cookie}; session=other").into_bytes(),
        b"User-Agent: \xff\xfe\x00".to_vec(),
    ];

    for header in &headers {
        for (method, target) in [("GET", "/blog"), ("POST", "/login"), ("OPTIONS", "/login"), ("DELETE", "/sessions")] {
            let raw = request(method, target.as_bytes(), &[header], b"{}");
            let what = format!("{method} {target} with {}", String::from_utf8_lossy(header));
            if let Some(answer) = send_raw(&app, &raw).await {
                assert!(answer.status < 500, "{what}: {}", answer.head);
                if answer.head.to_ascii_lowercase().contains("cache-control") {
                    assert_contract_answer(&what, &answer);
                }
            }
        }
    }
    assert_eq!(
        app.get_with_cookie("/check_session", &cookie).await.status(),
        StatusCode::OK
    );
}
}

backend_test! {
async fn odd_session_ids_are_not_found() {
    let (app, client) = spawn_app_and_user("Alice").await;

    for id in ["%00", "nope", "..%2F..", "%FF", &"a".repeat(32).replace('a', "A"), &"g".repeat(32)] {
        let response = app.end_session(&client, id).await;
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_logged_in(&app, &client).await;
}
}

// PostgreSQL's text cannot hold U+0000 and SQLite's can: a field is refused
// for it wherever text is read, so that both answer the same 422, and no
// query or stored row ever sees one.
backend_test! {
async fn u0000_in_any_text_field_is_422_naming_it_and_changes_nothing() {
    let (app, alice) = spawn_app_and_user("Alice").await;
    // An admin: she writes posts and searches users too.
    execute(&app, "UPDATE users SET role = 'admin' WHERE username = 'Alice'");
    let created = app
        .create_post(&alice, &json!({"title": "Title", "body": "Text", "excerpt": "Short."}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let post = format!("/posts/{id}");
    let stored = app.get(&alice, &post).await.json::<Value>().await.unwrap();
    let before = snapshot(&app);
    let cases = [
        ("POST", "/posts", json!({"title": "Ti\0tle", "body": "Text"}), "title"),
        ("POST", "/posts", json!({"title": "Title", "body": "Te\0xt"}), "body"),
        ("POST", "/posts", json!({"title": "Title", "body": "Text", "excerpt": "\0"}), "excerpt"),
        ("POST", "/posts", json!({"title": "Title", "body": "Text", "slug": "a\0b"}), "slug"),
        ("PATCH", post.as_str(), json!({"title": "Ti\0tle"}), "title"),
        ("PATCH", post.as_str(), json!({"body": "Te\0xt"}), "body"),
        ("PATCH", post.as_str(), json!({"excerpt": "Short\0"}), "excerpt"),
        ("PATCH", post.as_str(), json!({"access": "free\0"}), "access"),
        ("POST", "/register", json!({"username": "Bob\0", "password": PASSWORD}), "username"),
        (
            "POST",
            "/register",
            json!({"username": "Bob", "password": PASSWORD, "email": "bob\0@example.com"}),
            "email",
        ),
        ("POST", "/login", json!({"username": "Alice\0", "password": PASSWORD}), "username"),
        ("POST", "/login", json!({"username": "Alice", "password": format!("{PASSWORD}\0")}), "password"),
        ("POST", "/email", json!({"email": "alice\0@example.com", "password": PASSWORD}), "email"),
        ("POST", "/password/forgot", json!({"email": "alice\0@example.com"}), "email"),
    ];

    for (method, path, body, field) in &cases {
        let case = format!("{method} {path} with U+0000 in {field}");
        let response = app.send_json(&alice, method, path, Some(body)).await;
        let answer = assert_invalid_field_in(&case, response, field).await;
        assert_eq!(answer["fields"][field], "must not contain U+0000 (NUL)", "{case}");
    }
    // A query's text too: an admin's search, an author's list.
    for (path, field) in [("/admin/users?q=Al%00ice", "q"), ("/posts?status=draft%00", "status")] {
        let response = app.get(&alice, path).await;
        let answer = assert_invalid_field_in(path, response, field).await;
        assert_eq!(answer["fields"][field], "must not contain U+0000 (NUL)", "{path}");
    }

    assert_eq!(snapshot(&app), before);
    assert_eq!(app.get(&alice, &post).await.json::<Value>().await.unwrap(), stored);
    let account = app.account_json(&alice).await;
    assert_eq!(account["email"], Value::Null, "{account}");
    assert_logged_in(&app, &alice).await;
}
}
