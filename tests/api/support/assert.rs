//! The contract's shared checks: an error is JSON with a status, a `code`
//! and a sentence; every answer carries the contract's headers.
//!
//! The `_in` forms name a case (a row of a table-driven test) in every
//! failure message, so that a failing row says which it is.

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

use super::TestApp;

/// Reads a JSON error body and checks its shape and code.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_error_in("", response, status, code).await
}

/// [`assert_error`] for the case `case`.
pub async fn assert_error_in(
    case: &str,
    response: Response,
    status: StatusCode,
    code: &str,
) -> Value {
    let case = in_case(case);
    assert_eq!(response.status(), status, "status{case}");
    check_json(&response, &case);
    let body: Value = response
        .json()
        .await
        .unwrap_or_else(|e| panic!("a JSON body{case}: {e}"));
    assert_eq!(body["code"], code, "code in {body}{case}");
    assert!(
        body["error"].as_str().is_some_and(|s| !s.is_empty()),
        "a sentence in {body}{case}"
    );
    body
}

/// Checks a `422` names `field` in its `fields` object; returns the body.
pub async fn assert_invalid_field(response: Response, field: &str) -> Value {
    assert_invalid_field_in("", response, field).await
}

/// [`assert_invalid_field`] for the case `case`.
pub async fn assert_invalid_field_in(case: &str, response: Response, field: &str) -> Value {
    let body = assert_fields_in(case, response).await;
    assert!(
        body["fields"][field]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "fields names {field:?} in {body}{}",
        in_case(case)
    );
    body
}

/// Checks a `422` has a `fields` object naming at least one field, for
/// the case `case`; returns the body.
pub async fn assert_fields_in(case: &str, response: Response) -> Value {
    let body = assert_error_in(
        case,
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(
        body["fields"].as_object().is_some_and(|f| !f.is_empty()),
        "a fields object in {body}{}",
        in_case(case)
    );
    body
}

/// How many of `statuses` are `a` and how many `b`: the outcome of
/// parallel requests that race for a limit.
pub fn tally(statuses: &[StatusCode], a: StatusCode, b: StatusCode) -> (usize, usize) {
    let of = |status| statuses.iter().filter(|s| **s == status).count();
    (of(a), of(b))
}

/// Checks `client` has a live session: `GET /check_session` is `200`.
pub async fn assert_logged_in(app: &TestApp, client: &Client) {
    let status = app.check_session(client).await.status();
    assert_eq!(status, StatusCode::OK, "logged in");
}

/// Checks `client` has no live session: `GET /check_session` is `401`.
pub async fn assert_logged_out(app: &TestApp, client: &Client) {
    let status = app.check_session(client).await.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "logged out");
}

/// Checks a response is JSON with the contract's headers.
pub fn assert_json(response: &Response) {
    check_json(response, "");
}

/// A response's headers as sorted name and value pairs, without `Date`
/// (which moves from one answer to the next): for comparing two answers'
/// headers whole.
pub fn headers_but_date(response: &Response) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != "date")
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    pairs.sort();
    pairs
}

pub fn assert_contract_headers(response: &Response) {
    check_contract_headers(response, "");
}

fn check_json(response: &Response, case: &str) {
    let headers = response.headers();
    assert!(
        headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json")),
        "JSON content type: {headers:?}{case}"
    );
    check_contract_headers(response, case);
}

fn check_contract_headers(response: &Response, case: &str) {
    let headers = response.headers();
    assert_eq!(headers["cache-control"], "no-store", "cache-control{case}");
    assert_eq!(
        headers["x-content-type-options"], "nosniff",
        "x-content-type-options{case}"
    );
    assert_eq!(
        headers["content-security-policy"], "default-src 'none'; frame-ancestors 'none'",
        "content-security-policy{case}"
    );
}

/// ` (case: …)` after a failure message, or nothing outside a table.
fn in_case(case: &str) -> String {
    if case.is_empty() {
        String::new()
    } else {
        format!(" (case: {case})")
    }
}
