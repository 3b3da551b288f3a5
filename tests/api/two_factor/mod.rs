//! Two-step sign-in: an authenticator app (TOTP) and recovery codes —
//! enrolment and its changes (`enrolment.rs`), and the second step of a
//! sign-in (`sign_in.rs`). Codes are computed from the secret the API
//! hands out, at the app's clock, which the tests move instead of waiting.

mod enrolment;
mod passkeys;
mod sign_in;

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::{TestApp, PASSWORD};

/// The 6-digit code of `secret` (base32) for the 30-second step holding
/// `unix`, as an authenticator app computes it.
pub fn code_at(secret: &str, unix: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("a base32 secret");
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes).generate(unix as u64)
}

/// Moves the app's clock to one second into the next 30-second step, so a
/// test has the rest of the step before its codes change by themselves.
pub fn step_start(app: &TestApp) {
    let into = app.now().rem_euclid(30);
    app.advance_clock((30 - into + 1) as u64);
}

/// The code of the step `offset` steps from the app's current one.
pub fn code(app: &TestApp, secret: &str, offset: i64) -> String {
    code_at(secret, app.now() + offset * 30)
}

/// An account with an authenticator app on, as its owner's browser sees
/// it.
pub struct Enrolled {
    pub client: Client,
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

async fn ok(response: Response) -> Value {
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Registers `username` and turns the authenticator app on ([`enrol`]).
pub async fn enrolled(app: &TestApp, username: &str) -> Enrolled {
    enrol(app, app.logged_in_client(username).await).await
}

/// Turns the authenticator app on for the account `client` is logged in
/// to, its first code spent at the start of a fresh step; the clock is
/// then moved two steps on, so that no code of the window around it is
/// spent.
pub async fn enrol(app: &TestApp, client: Client) -> Enrolled {
    let started = ok(app
        .post_json(&client, "/account/totp", &json!({"password": PASSWORD}))
        .await)
    .await;
    let secret = started["secret"].as_str().expect("a secret").to_owned();
    step_start(app);
    let confirmed = ok(app
        .post_json(
            &client,
            "/account/totp/confirm",
            &json!({"code": code(app, &secret, 0)}),
        )
        .await)
    .await;
    let recovery_codes = confirmed["recovery_codes"]
        .as_array()
        .expect("recovery codes")
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    step_start(app);
    step_start(app);
    Enrolled {
        client,
        secret,
        recovery_codes,
    }
}

/// A new browser that gave `username`'s right password: its sign-in waits
/// for the second step.
pub async fn pending(app: &TestApp, username: &str) -> Client {
    pending_with(app, username, json!({})).await
}

/// [`pending`], with more fields in the login body (`stay_signed_in`).
pub async fn pending_with(app: &TestApp, username: &str, extra: Value) -> Client {
    let client = app.client();
    let mut body = json!({"username": username, "password": PASSWORD});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let response = app.post_json(&client, "/login", &body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    client
}

/// Sends the second step from `client`.
pub async fn second_step(app: &TestApp, client: &Client, body: Value) -> Response {
    app.post_json(client, "/login/two-factor", &body).await
}
