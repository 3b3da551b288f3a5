//! Anonymous readers (`ANONYMOUS_READS`): a browser without a session
//! reads on a meter of its own, kept on the server against its
//! `tollgate_reader` cookie, meets a registration wall past it, and
//! brings what it read into the account it signs in to — every way in,
//! once. The failures other paywalls' users reported are each a test
//! here: a fresh allowance after signing in or out (Newspack), a meter
//! reset by clearing cookies (the Times' 2013 meter), counts merged twice
//! or never, a wall crossed by parallel requests.

mod insights;
mod merge;
mod reading;

use reqwest::header::SET_COOKIE;
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

use crate::support::{spawn_app_with, TestApp};

/// An app that lets a browser read `reads` posts a month without a
/// session, with `extra` settings.
pub async fn app_reading(reads: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("ANONYMOUS_READS", reads)];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// `GET /blog/{id}` from `client`.
pub async fn open(app: &TestApp, client: &Client, id: i64) -> Response {
    app.get(client, &format!("/blog/{id}")).await
}

/// `GET /blog/{id}` answered `200`: the meter's `used`.
pub async fn opened(app: &TestApp, client: &Client, id: i64) -> i64 {
    let response = open(app, client, id).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "post {id}: {body}");
    assert_eq!(body["id"], id);
    body["meter"]["used"].as_i64().expect("a meter")
}

/// The value of the `tollgate_reader` cookie `response` sets, if any.
pub fn reader_cookie_set(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tollgate_reader="))
        .map(str::to_owned)
}

/// The caller's listing's meter `used` (`GET /blog`).
pub async fn listed_used(app: &TestApp, client: &Client) -> i64 {
    let list: Value = app.get(client, "/blog").await.json().await.unwrap();
    list["meter"]["used"].as_i64().expect("a meter")
}
