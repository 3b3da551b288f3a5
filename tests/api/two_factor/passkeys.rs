//! Passkeys, driven by a software authenticator (`support::authenticator`):
//! adding, listing and removing them, signing in with one alone or as the
//! second step, and every check the server makes on what it is sent.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use super::{enrolled, ok, pending};
use crate::support::authenticator::Authenticator;
use crate::support::mail::event_kinds;
use crate::support::{
    assert_error, assert_invalid_field, assert_logged_in, spawn_app, TestApp, PASSWORD,
};

async fn creation_options(app: &TestApp, client: &Client) -> Value {
    ok(app
        .post_json(
            client,
            "/account/passkeys/options",
            &json!({"password": PASSWORD}),
        )
        .await)
    .await
}

/// Adds a passkey made by `authenticator` to the account `client` is
/// signed in to; its id.
async fn add(app: &TestApp, client: &Client, authenticator: &mut Authenticator) -> i64 {
    let options = creation_options(app, client).await;
    let credential = authenticator.create(&options);
    let response = app
        .post_json(
            client,
            "/account/passkeys",
            &json!({"credential": credential, "name": "Laptop"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let passkey: Value = response.json().await.unwrap();
    passkey["id"].as_i64().unwrap()
}

async fn request_options(app: &TestApp, client: &Client) -> Value {
    ok(app
        .post_json(client, "/login/passkey/options", &json!({}))
        .await)
    .await
}

async fn sign_in(app: &TestApp, client: &Client, credential: Value) -> reqwest::Response {
    app.post_json(client, "/login/passkey", &json!({"credential": credential}))
        .await
}

backend_test! {
async fn a_passkey_is_added_listed_used_alone_and_removed() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    let response = app
        .post_json(&alice, "/account/passkeys/options", &json!({"password": "wrong password"}))
        .await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let options = creation_options(&app, &alice).await;
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], "Alice");
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(public_key["excludeCredentials"], json!([]));
    assert_eq!(public_key["timeout"], 300000);
    let mut laptop = Authenticator::local();
    let credential = laptop.create(&options);
    let response = app
        .post_json(&alice, "/account/passkeys", &json!({"credential": credential, "name": " Laptop "}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let passkey: Value = response.json().await.unwrap();
    assert_eq!(passkey["name"], "Laptop");
    assert_eq!(passkey["last_used_at"], Value::Null);
    let id = passkey["id"].as_i64().unwrap();

    let listed = ok(app.get(&alice, "/account/passkeys").await).await;
    assert_eq!(listed["passkeys"].as_array().unwrap().len(), 1);
    assert_eq!(app.account_json(&alice).await["two_factor"]["passkeys"], 1);
    // The next options exclude it, so the same authenticator is not
    // registered twice.
    let again = creation_options(&app, &alice).await;
    assert_eq!(again["publicKey"]["excludeCredentials"][0]["id"], passkey_credential_id(&laptop));

    // Alone, a passkey signs in (both factors): no username, no password.
    let browser = app.client();
    let options = request_options(&app, &browser).await;
    assert!(options["publicKey"].get("allowCredentials").is_none(), "{options}");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let response = sign_in(&app, &browser, laptop.get(&options)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "Alice");
    assert_logged_in(&app, &browser).await;
    let listed = ok(app.get(&alice, "/account/passkeys").await).await;
    assert!(listed["passkeys"][0]["last_used_at"].is_string());
    let kinds = event_kinds(&app, &alice).await;
    assert!(kinds.contains(&"passkey_added".to_owned()), "{kinds:?}");
    let events: Value = app.events(&alice, "").await.json().await.unwrap();
    let login = events["events"].as_array().unwrap().iter().find(|e| e["kind"] == "login").unwrap();
    assert_eq!(login["detail"]["method"], "passkey");

    let path = format!("/account/passkeys/{id}");
    let response = app.delete_json(&alice, &path, &json!({"password": "wrong password"})).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let response = app.delete_json(&alice, &path, &json!({"password": PASSWORD})).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = app.delete_json(&alice, &path, &json!({"password": PASSWORD})).await;
    assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    let options = request_options(&app, &app.client()).await;
    let response = sign_in(&app, &app.client(), laptop.get(&options)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert!(event_kinds(&app, &alice).await.contains(&"passkey_removed".to_owned()));
}
}

fn passkey_credential_id(authenticator: &Authenticator) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&authenticator.credential_id)
}

backend_test! {
async fn a_registration_from_another_origin_or_for_another_rp_is_refused() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    for mut liar in [
        Authenticator::new("https://evil.example", "localhost"),
        Authenticator::new("http://localhost:5173", "evil.example"),
    ] {
        let options = creation_options(&app, &alice).await;
        let credential = liar.create(&options);
        let response = app.post_json(&alice, "/account/passkeys", &json!({"credential": credential})).await;
        assert_invalid_field(response, "credential").await;
    }
    // A challenge is answered once: the same answer again is refused.
    let options = creation_options(&app, &alice).await;
    let credential = Authenticator::local().create(&options);
    let body = json!({"credential": credential});
    assert_eq!(app.post_json(&alice, "/account/passkeys", &body).await.status(), StatusCode::CREATED);
    let response = app.post_json(&alice, "/account/passkeys", &body).await;
    assert_invalid_field(response, "credential").await;
    // Another account's challenge does not register a passkey here.
    let bob = app.logged_in_client("Bob").await;
    let options = creation_options(&app, &bob).await;
    let credential = Authenticator::local().create(&options);
    let response = app.post_json(&alice, "/account/passkeys", &json!({"credential": credential})).await;
    assert_invalid_field(response, "credential").await;
    for bad in [json!({}), json!({"credential": "x"}), json!({"credential": {}, "name": ""})] {
        let response = app.post_json(&alice, "/account/passkeys", &bad).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(ok(app.get(&alice, "/account/passkeys").await).await["passkeys"].as_array().unwrap().len(), 1);
}
}

backend_test! {
async fn a_sign_in_is_refused_for_a_wrong_origin_rp_challenge_or_counter() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    let mut laptop = Authenticator::local();
    add(&app, &alice, &mut laptop).await;
    let browser = app.client();
    let refused = |response: reqwest::Response| assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials");

    laptop.origin = "https://evil.example".to_owned();
    let options = request_options(&app, &browser).await;
    refused(sign_in(&app, &browser, laptop.get(&options)).await).await;
    laptop.origin = "http://localhost:5173".to_owned();
    laptop.rp_id = "evil.example".to_owned();
    let options = request_options(&app, &browser).await;
    refused(sign_in(&app, &browser, laptop.get(&options)).await).await;
    laptop.rp_id = "localhost".to_owned();

    // No user present, or present but not verified.
    for flags in [0x04, 0x01] {
        laptop.flags = flags;
        let options = request_options(&app, &browser).await;
        refused(sign_in(&app, &browser, laptop.get(&options)).await).await;
    }
    laptop.flags = 0x01 | 0x04;

    // A replayed answer: its challenge was taken by the first.
    laptop.counter = 10;
    let options = request_options(&app, &browser).await;
    let answer = laptop.get(&options);
    assert_eq!(sign_in(&app, &browser, answer.clone()).await.status(), StatusCode::OK);
    refused(sign_in(&app, &app.client(), answer).await).await;
    // A counter that goes backwards: a cloned authenticator.
    laptop.counter = 5;
    let options = request_options(&app, &browser).await;
    refused(sign_in(&app, &browser, laptop.get(&options)).await).await;
    // An unknown credential, for a user handle that is Alice's.
    let mut stranger = Authenticator::local();
    stranger.user_handle = laptop.user_handle.clone();
    let options = request_options(&app, &browser).await;
    refused(sign_in(&app, &browser, stranger.get(&options)).await).await;
    // A challenge older than 300 s.
    laptop.counter = 20;
    let options = request_options(&app, &browser).await;
    app.advance_clock(301);
    refused(sign_in(&app, &browser, laptop.get(&options)).await).await;
    let options = request_options(&app, &browser).await;
    assert_eq!(sign_in(&app, &browser, laptop.get(&options)).await.status(), StatusCode::OK);
    // Failures count as failed logins of the passkey's account.
    let kinds = event_kinds(&app, &alice).await;
    assert!(kinds.iter().filter(|k| *k == "login_failed").count() >= 4, "{kinds:?}");
}
}

backend_test! {
async fn a_passkey_finishes_a_pending_sign_in_of_its_own_account_only() {
    let app = spawn_app().await;
    let alice = enrolled(&app, "Alice").await;
    let mut alices_key = Authenticator::local();
    add(&app, &alice.client, &mut alices_key).await;
    let bob = app.logged_in_client("Bob").await;
    let mut bobs_key = Authenticator::local();
    add(&app, &bob, &mut bobs_key).await;

    let browser = app.client();
    let response = app
        .post_json(&browser, "/login", &json!({"username": "Alice", "password": PASSWORD, "stay_signed_in": true}))
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["methods"], json!(["totp", "recovery_code", "passkey"]));
    let options = request_options(&app, &browser).await;
    assert_eq!(
        options["publicKey"]["allowCredentials"],
        json!([{"type": "public-key", "id": passkey_credential_id(&alices_key)}])
    );
    // Bob's passkey does not finish Alice's sign-in.
    let response = sign_in(&app, &browser, bobs_key.get(&options)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let options = request_options(&app, &browser).await;
    let response = sign_in(&app, &browser, alices_key.get(&options)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let set_cookie = crate::support::session_set_cookie(&response).unwrap();
    assert!(set_cookie.contains("Max-Age=2592000"), "the kind asked at /login: {set_cookie}");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "Alice");
    assert_logged_in(&app, &browser).await;
}
}

backend_test! {
async fn a_disabled_account_is_refused_and_an_admin_reset_removes_passkeys() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    let mut laptop = Authenticator::local();
    add(&app, &alice, &mut laptop).await;
    crate::support::db::execute(&app, "UPDATE users SET disabled = TRUE WHERE username = 'Alice'");
    let browser = app.client();
    let options = request_options(&app, &browser).await;
    let response = sign_in(&app, &browser, laptop.get(&options)).await;
    assert_error(response, StatusCode::FORBIDDEN, "account_disabled").await;
    crate::support::db::execute(&app, "UPDATE users SET disabled = FALSE WHERE username = 'Alice'");

    let admin = app.logged_in_client("Ada").await;
    crate::support::db::execute(&app, "UPDATE users SET role = 'admin' WHERE username = 'Ada'");
    let alice = app.client();
    assert_eq!(app.login(&alice, "Alice", PASSWORD).await.status(), StatusCode::OK);
    let id = app.account_json(&alice).await["id"].as_i64().unwrap();
    let response = app.delete(&admin, &format!("/admin/users/{id}/two-factor")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.account_json(&alice).await["two_factor"]["passkeys"], 0);
    let options = request_options(&app, &browser).await;
    let response = sign_in(&app, &browser, laptop.get(&options)).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let _ = pending;
}
}

backend_test! {
async fn an_admin_reset_never_takes_an_accounts_last_way_in() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    let mut laptop = Authenticator::local();
    add(&app, &alice, &mut laptop).await;
    // Her passkey is all Alice has: no password (as an account a provider
    // made, whose identity was then unlinked) and no identity.
    crate::support::db::execute(&app, "UPDATE users SET password_hash = '' WHERE username = 'Alice'");
    let admin = app.logged_in_client("Ada").await;
    crate::support::db::execute(&app, "UPDATE users SET role = 'admin' WHERE username = 'Ada'");
    let id = app.account_json(&alice).await["id"].as_i64().unwrap();

    let response = app.delete(&admin, &format!("/admin/users/{id}/two-factor")).await;
    assert_error(response, StatusCode::CONFLICT, "last_login_method").await;
    // Nothing was removed: the passkey still signs in, and nothing says
    // the second factor went.
    assert_eq!(app.account_json(&alice).await["two_factor"]["passkeys"], 1);
    let browser = app.client();
    let options = request_options(&app, &browser).await;
    assert_eq!(sign_in(&app, &browser, laptop.get(&options)).await.status(), StatusCode::OK);
    let kinds = event_kinds(&app, &browser).await;
    assert!(!kinds.contains(&"two_factor_disabled".to_owned()), "{kinds:?}");
}
}

backend_test! {
async fn a_passkey_sign_in_ends_the_session_the_browser_held() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    let mut laptop = Authenticator::local();
    add(&app, &alice, &mut laptop).await;
    let sessions: Value = ok(app.get(&alice, "/sessions").await).await;
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
    let options = request_options(&app, &alice).await;
    assert_eq!(sign_in(&app, &alice, laptop.get(&options)).await.status(), StatusCode::OK);
    let sessions: Value = ok(app.get(&alice, "/sessions").await).await;
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1, "the earlier session ended: {sessions}");
}
}

backend_test! {
async fn an_assertion_without_a_user_handle_is_refused_not_a_crash() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    let mut laptop = Authenticator::local();
    add(&app, &alice, &mut laptop).await;
    let browser = app.client();
    for handle in [Value::Null, json!(""), json!(5)] {
        let options = request_options(&app, &browser).await;
        let mut credential = laptop.get(&options);
        credential["response"]["userHandle"] = handle;
        let response = sign_in(&app, &browser, credential).await;
        let body = assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
        assert!(body["error"].as_str().unwrap().contains("passkey"), "{body}");
    }
    let mut credential = laptop.get(&request_options(&app, &browser).await);
    credential["response"].as_object_mut().unwrap().remove("userHandle");
    let response = sign_in(&app, &browser, credential).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(app.check_session(&alice).await.status(), StatusCode::OK);
}
}

backend_test! {
async fn unknown_passkeys_count_towards_the_client_networks_failed_logins() {
    let app = crate::support::spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_IP", "2")]).await;
    let browser = app.client();
    let unknown = || {
        let mut stranger = Authenticator::local();
        stranger.user_handle = vec![7; 16];
        stranger
    };
    for _ in 0..2 {
        let options = request_options(&app, &browser).await;
        let response = sign_in(&app, &browser, unknown().get(&options)).await;
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    let options = request_options(&app, &browser).await;
    let response = sign_in(&app, &browser, unknown().get(&options)).await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}
}

backend_test! {
async fn a_passkey_name_holding_u0000_is_422_and_its_challenge_is_kept() {
    let app = spawn_app().await;
    let alice = app.logged_in_client("Alice").await;
    let options = creation_options(&app, &alice).await;
    let credential = Authenticator::local().create(&options);

    let response = app
        .post_json(&alice, "/account/passkeys", &json!({"credential": credential, "name": "Lap\0top"}))
        .await;

    let answer = assert_invalid_field(response, "name").await;
    assert_eq!(answer["fields"]["name"], "must not contain U+0000 (NUL)");
    assert_eq!(ok(app.get(&alice, "/account/passkeys").await).await["passkeys"], json!([]));
    // Refused before its challenge was looked at: the same answer, named
    // well, is still good.
    let response = app
        .post_json(&alice, "/account/passkeys", &json!({"credential": credential, "name": "Laptop"}))
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let passkeys = ok(app.get(&alice, "/account/passkeys").await).await;
    assert_eq!(passkeys["passkeys"][0]["name"], "Laptop", "{passkeys}");
}
}
