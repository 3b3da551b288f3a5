//! HTTP/1.1 framing that cannot desync: where one message ends is read
//! the one way RFC 9112 allows, so a proxy in front and tollgate never
//! disagree about it. A chunked body whose end is framed loosely (a bare
//! LF where CRLF belongs) is refused and the connection closed; it never
//! swallows the next request's head and serves a request hidden in that
//! request's body (request smuggling). Sent byte for byte, in one write.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{spawn_app, TestApp};

/// Writes `bytes` in one write and reads until the server closes (or 5 s
/// pass); the status of each answer, in order.
async fn answers_to(app: &TestApp, bytes: &[u8]) -> (Vec<u16>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut got)).await;
    let text = String::from_utf8_lossy(&got).into_owned();
    let statuses = text
        .match_indices("HTTP/1.1 ")
        .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
        .collect();
    (statuses, text)
}

/// A chunked `POST /login/email` whose body is `{"email": …}` in one
/// chunk, then the last chunk and `end` (what should be `\r\n`, or a
/// trailer section).
fn chunked_sign_in(end: &str) -> String {
    let body = r#"{"email":"reader@example.com"}"#;
    format!(
        "POST /login/email HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n{end}",
        body.len()
    )
}

/// A second request whose body is a whole `GET /health`: what a smuggler
/// hides from a proxy that reads the first message's end differently.
fn hidden_health_check() -> String {
    let hidden = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    format!(
        "POST /login/email HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{hidden}",
        hidden.len()
    )
}

/// Checks a loosely framed message is refused with `400` and nothing
/// after it is answered: not the request it swallowed, not the one that
/// request's body hid.
async fn assert_refused_and_nothing_smuggled(app: &TestApp, what: &str, bytes: String) {
    let (statuses, text) = answers_to(app, bytes.as_bytes()).await;
    assert_eq!(statuses, vec![400], "{what}: {text}");
    assert!(
        !text.contains(r#""database""#),
        "{what}: the hidden GET /health was answered: {text}"
    );
}

backend_test! {
async fn a_bare_lf_after_the_last_chunk_is_refused_and_smuggles_nothing() {
    let app = spawn_app().await;
    let smuggled = format!("{}{}", chunked_sign_in("\n"), hidden_health_check());
    assert_refused_and_nothing_smuggled(&app, "0\\r\\n\\n", smuggled).await;
}
}

backend_test! {
async fn a_bare_lf_inside_a_trailer_is_refused_and_smuggles_nothing() {
    let app = spawn_app().await;
    for (what, end) in [
        ("a trailer line ended by LF", "X-Trailer: v\n"),
        ("a trailer line with a bare LF inside", "X-Trailer: v\nX: y\r\n\r\n"),
        ("a control character where a trailer's name begins", "\u{1}X: y\r\n\r\n"),
        ("a space where a trailer's name begins", " X: y\r\n\r\n"),
    ] {
        let smuggled = format!("{}{}", chunked_sign_in(end), hidden_health_check());
        assert_refused_and_nothing_smuggled(&app, what, smuggled).await;
    }
}
}

backend_test! {
async fn well_framed_chunked_bodies_and_trailers_are_read_and_the_next_request_served() {
    let app = spawn_app().await;
    let health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    for (what, end) in [
        ("no trailer", "\r\n"),
        ("a trailer", "X-Checksum: a\r\n\r\n"),
        ("two trailers", "X-Checksum: a\r\nX-Other: b\r\n\r\n"),
    ] {
        let bytes = format!("{}{health}", chunked_sign_in(end));
        let (statuses, text) = answers_to(&app, bytes.as_bytes()).await;
        assert_eq!(statuses, vec![202, 200], "{what}: {text}");
    }
}
}

backend_test! {
async fn a_body_framed_both_by_length_and_by_chunks_is_refused() {
    let app = spawn_app().await;
    let body = r#"{"email":"reader@example.com"}"#;
    let bytes = format!(
        "POST /login/email HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n{}",
        body.len(),
        hidden_health_check()
    );
    assert_refused_and_nothing_smuggled(&app, "Content-Length with chunked", bytes).await;
}
}
