//! Large answers arrive as fast as small ones. An answer written to the
//! socket in more than one piece (a post's kept bytes, then its meter)
//! meets Nagle's algorithm on the server and the client's delayed ACK:
//! the second piece waits for an acknowledgement the client holds back
//! for about 40 ms, with both sides idle. Twenty keep-alive re-reads of a
//! 50 KB answer then take most of a second; without the stall, a few
//! milliseconds each. This is a correctness test with a wide margin, not
//! a benchmark: each answer either waits for the delayed ACK or it does
//! not.

use std::time::{Duration, Instant};

use std::os::fd::AsRawFd;

use reqwest::{Client, StatusCode};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::authors::{id_of, logged_in_as, publish, read};
use diesel::RunQueryDsl;

use crate::support::db::execute;
use crate::support::{session_cookie, spawn_app, TestApp};

/// About as long as the delayed ACK Linux holds back (40 ms): an answer
/// that took this long waited for it.
const STALL: Duration = Duration::from_millis(35);

/// How many of twenty answers may take that long anyway (a loaded
/// machine's scheduler, a slow first answer): a stall delays nearly all.
const ALLOWED: usize = 10;

/// A Markdown body of about `bytes` bytes, in paragraphs.
fn long_body(bytes: usize) -> String {
    let paragraph = "A paragraph long enough to matter, about the cost of waiting \
                     for an acknowledgement that a client holds back on purpose.\n\n";
    paragraph.repeat(bytes / paragraph.len() + 1)
}

/// Asks `path` twenty times on one keep-alive connection of its own,
/// with `cookie`; how many of the answers (each `200`, of at least
/// `at_least` bytes) took a stall. Before each request the socket is put
/// in delayed-acknowledgement mode (`TCP_QUICKACK` off, as Linux leaves
/// a connection that both sides talk on), so that the client holds back
/// its ACK as a browser's kernel does, whatever the connection's history.
async fn stalled_answers(app: &TestApp, path: &str, cookie: &str, at_least: usize) -> usize {
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n");
    let mut stalled = 0;
    for _ in 0..20 {
        delay_acks(&stream);
        let started = Instant::now();
        stream.write_all(request.as_bytes()).await.unwrap();
        let body = read_answer(&mut stream).await;
        if started.elapsed() >= STALL {
            stalled += 1;
        }
        assert!(body >= at_least, "{path}: {body} bytes");
    }
    stalled
}

/// Reads one `200` answer with a `Content-Length`; its body's length.
async fn read_answer(stream: &mut TcpStream) -> usize {
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "the connection closed");
        got.extend_from_slice(&buf[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .expect("a Content-Length")
            .trim()
            .parse()
            .unwrap();
        if got.len() >= end + 4 + length {
            return length;
        }
    }
}

/// Turns `TCP_QUICKACK` off: Linux then delays this socket's ACKs.
fn delay_acks(stream: &TcpStream) {
    let off: libc::c_int = 0;
    // SAFETY: a valid socket and an option value of the size given.
    let set = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&off as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "TCP_QUICKACK");
}

/// A published `metered` post of about 25 KB of Markdown (its answer,
/// with the html, about 50 KB), by a new author; its id.
async fn long_post(app: &TestApp) -> (Client, i64) {
    let author = logged_in_as(app, "Writer", "author").await;
    let body = json!({"title": "A long read", "body": long_body(25_000)});
    let made = app.create_post(&author, &body).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let id = id_of(&made.json().await.unwrap());
    publish(app, &author, id, &json!({})).await;
    (author, id)
}

backend_test! {
async fn a_long_post_and_its_gift_arrive_without_waiting_for_a_delayed_ack() {
    let app = spawn_app().await;
    let (author, id) = long_post(&app).await;

    // A free reader's metered re-reads, by id and by slug.
    let reader = app.client();
    let cookie = session_cookie(&app.user("Reader").register_in(&reader).await);
    let post = read(&app, &reader, &format!("/blog/{id}")).await;
    let slug = post["slug"].as_str().unwrap().to_owned();
    for path in [format!("/blog/{id}"), format!("/blog/{slug}")] {
        let stalled = stalled_answers(&app, &path, &cookie, 50_000).await;
        assert!(stalled < ALLOWED, "{stalled} of 20 answers of {path} waited for a delayed ACK");
    }

    // The same post through a gift link, to a browser without an account.
    execute(&app, "UPDATE users SET plan = 'premium' WHERE username = 'Writer'");
    let gift = app.post_json(&author, &format!("/blog/{id}/gift"), &json!({})).await;
    assert_eq!(gift.status(), StatusCode::CREATED);
    let gift: serde_json::Value = gift.json().await.unwrap();
    let url = gift["gift"]["url"].as_str().unwrap();
    let link = &url[url.find("/gift/").unwrap()..];
    let opened = app.get(&app.client(), link).await;
    let browser = reader_cookie(&opened);
    let stalled = stalled_answers(&app, link, &browser, 50_000).await;
    assert!(stalled < ALLOWED, "{stalled} of 20 gift answers waited for a delayed ACK");
}
}

/// The `tollgate_reader=…` pair a first gift open set.
fn reader_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("tollgate_reader="))
        .and_then(|value| value.split(';').next())
        .expect("a reader cookie")
        .to_owned()
}

backend_test! {
async fn a_long_listing_arrives_without_waiting_for_a_delayed_ack() {
    let app = spawn_app().await;
    // A hundred posts more, each with as long an excerpt as an author may
    // write: a page of a hundred summaries of about 60 KB.
    let excerpt = "x".repeat(500);
    let mut db = app.db();
    for id in 13..=112 {
        diesel::sql_query(format!(
            "INSERT INTO posts (id, slug, title, body, html, excerpt, excerpt_given, published_at) \
             VALUES ({id}, 'post-{id}', 'Post {id}', 'Body', '<p>Body</p>', '{excerpt}', TRUE, 1700000000)"
        ))
        .execute(&mut db)
        .unwrap();
    }
    let reader = app.client();
    let cookie = session_cookie(&app.user("Reader").register_in(&reader).await);
    let stalled = stalled_answers(&app, "/blog?per_page=100", &cookie, 50_000).await;
    assert!(stalled < ALLOWED, "{stalled} of 20 listings waited for a delayed ACK");
}
}
