//! Sign-in by email (`POST /login/email`, `POST /login/email/verify`): a
//! link and a code delivered through the outbox to a real SMTP server on
//! loopback, read out of the message and used as a reader would — in
//! another browser, in parallel, on two instances, after the clock moved.

use std::time::Instant;

use futures_util::future::join_all;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::support::db::{count, execute};
use crate::support::fakes::smtp::{Mail, SmtpServer};
use crate::support::mail::{app_with_smtp, event_kinds, forgot_settled, verified_user};
use crate::support::{
    assert_error, assert_invalid_field, assert_logged_in, assert_logged_out, eventually,
    session_set_cookie, spawn_app, spawn_app_with, tally, TestApp, PASSWORD,
};

/// Asks for a sign-in by email from `client`.
async fn ask(app: &TestApp, client: &Client, email: &str) -> Response {
    app.post_json(client, "/login/email", &json!({ "email": email }))
        .await
}

/// Sends `body` to `POST /login/email/verify` from `client`.
async fn verify(app: &TestApp, client: &Client, body: Value) -> Response {
    app.post_json(client, "/login/email/verify", &body).await
}

/// The sign-in messages the server holds for `address`, oldest first.
fn sign_ins_to(smtp: &SmtpServer, address: &str) -> Vec<Mail> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.is_to(address) && m.token("/login/email").is_some())
        .collect()
}

/// The newest sign-in message to `address`, once `n` have come.
async fn nth_sign_in(smtp: &SmtpServer, address: &str, n: usize) -> Mail {
    eventually(|| sign_ins_to(smtp, address).len() >= n).await;
    let mut messages = sign_ins_to(smtp, address);
    assert!(
        messages.len() >= n,
        "expected {n} sign-in messages to {address}"
    );
    messages.swap_remove(n - 1)
}

/// A message's link token and code (the code ends the subject line).
fn link_and_code(message: &Mail) -> (String, String) {
    let token = message.token("/login/email").expect("a sign-in link");
    let subject = message.subject();
    let code = subject.rsplit(' ').next().unwrap().to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{subject}"
    );
    (token, code)
}

/// Registers `username` with `email` and verifies the address through the
/// link the SMTP server received; the account's browser, signed in.
async fn verified_by_smtp(app: &TestApp, smtp: &SmtpServer, username: &str, email: &str) -> Client {
    let client = app.user(username).email(Some(email)).register().await;
    eventually(|| {
        smtp.messages()
            .iter()
            .any(|m| m.is_to(email) && m.token("/verify-email").is_some())
    })
    .await;
    let token = smtp
        .messages()
        .iter()
        .rev()
        .find_map(|m| m.token("/verify-email").filter(|_| m.is_to(email)))
        .expect("a verification link");
    assert_eq!(
        app.verify_email(&token).await.status(),
        StatusCode::NO_CONTENT
    );
    client
}

/// Every `login` event's method of the account `client` is signed in to.
async fn login_methods(app: &TestApp, client: &Client) -> Vec<Value> {
    let events: Value = app.events(client, "").await.json().await.unwrap();
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "login")
        .map(|e| e["detail"]["method"].clone())
        .collect()
}

backend_test! {
async fn a_link_asked_for_in_one_browser_signs_in_another_once() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    verified_by_smtp(&app, &smtp, "alice", "alice@example.com").await;

    let asking = app.client();
    let body = json!({"email": "ALICE@example.com", "stay_signed_in": true});
    let answer = app.post_json(&asking, "/login/email", &body).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({"status": "accepted"}));
    let message = nth_sign_in(&smtp, "alice@example.com", 1).await;
    let (token, code) = link_and_code(&message);
    // What it is for, the code first, no password named.
    // (The plain part's first line.)
    assert!(message.text().contains(&format!("\n\nYour sign-in code is {code}\n")), "{}", message.text());
    assert!(message.text().contains("\"alice\""));
    assert!(!message.text().to_lowercase().contains("password"));
    assert!(message.text().contains("15 minutes"));
    // Asking signs nobody in.
    assert_logged_out(&app, &asking).await;

    // Opened on the phone: another browser.
    let phone = app.client();
    let answer = verify(&app, &phone, json!({"token": token})).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let set_cookie = session_set_cookie(&answer).expect("a session cookie");
    assert!(set_cookie.to_ascii_lowercase().contains("max-age"), "stay signed in, as asked: {set_cookie}");
    let user: Value = answer.json().await.unwrap();
    assert_eq!(user["username"], "alice");
    assert_logged_in(&app, &phone).await;
    assert_eq!(login_methods(&app, &phone).await, [json!("email")]);

    // Used: neither the link nor the code of that request works again.
    let again = verify(&app, &app.client(), json!({"token": token})).await;
    assert_error(again, StatusCode::BAD_REQUEST, "invalid_token").await;
    let code_after = verify(&app, &app.client(), json!({"email": "alice@example.com", "code": code})).await;
    assert_error(code_after, StatusCode::UNAUTHORIZED, "invalid_code").await;
}
}

backend_test! {
async fn a_code_signs_in_where_it_is_typed_once_among_parallel_tries_on_two_instances() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    verified_by_smtp(&app, &smtp, "bob", "bob@example.com").await;
    let sibling = app.sibling().await;

    let typing = app.client();
    assert_eq!(ask(&app, &typing, "bob@example.com").await.status(), StatusCode::ACCEPTED);
    let (token, code) = link_and_code(&nth_sign_in(&smtp, "bob@example.com", 1).await);
    let browsers: Vec<Client> = (0..6).map(|_| app.client()).collect();
    let answers = join_all(browsers.iter().enumerate().map(|(i, browser)| {
        let instance = if i % 2 == 0 { &app } else { &sibling };
        verify(instance, browser, json!({"email": "Bob@Example.com", "code": code.as_str()}))
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(Response::status).collect();
    assert_eq!(tally(&statuses, StatusCode::OK, StatusCode::UNAUTHORIZED), (1, 5), "{statuses:?}");
    // The code ended its request, the link with it.
    let link = verify(&app, &app.client(), json!({"token": token})).await;
    assert_error(link, StatusCode::BAD_REQUEST, "invalid_token").await;

    // One link, used at once in six browsers on two instances.
    assert_eq!(ask(&app, &typing, "bob@example.com").await.status(), StatusCode::ACCEPTED);
    let (token, _) = link_and_code(&nth_sign_in(&smtp, "bob@example.com", 2).await);
    let answers = join_all(browsers.iter().enumerate().map(|(i, browser)| {
        let instance = if i % 2 == 0 { &app } else { &sibling };
        verify(instance, browser, json!({"token": token.as_str()}))
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(Response::status).collect();
    assert_eq!(tally(&statuses, StatusCode::OK, StatusCode::BAD_REQUEST), (1, 5), "{statuses:?}");
}
}

backend_test! {
async fn every_address_gets_the_same_answer_in_the_same_time() {
    let Some((smtp, app)) = app_with_smtp(&[("EMAIL_SIGN_IN_MAX_PER_IP_PER_HOUR", "1000")]).await
    else {
        return;
    };
    verified_by_smtp(&app, &smtp, "vera", "vera@example.com").await;
    verified_by_smtp(&app, &smtp, "dora", "dora@example.com").await;
    execute(&app, "UPDATE users SET disabled = TRUE WHERE username_key = 'dora'");
    app.user("uma").email(Some("uma@example.com")).register().await;

    let addresses = ["nobody@example.com", "uma@example.com", "dora@example.com", "vera@example.com"];
    let browser = app.client();
    let mut first = Vec::new();
    for address in addresses {
        let answer = ask(&app, &browser, address).await;
        let mut headers: Vec<String> = answer.headers().keys().map(|k| k.to_string()).collect();
        headers.sort();
        first.push((answer.status(), headers, answer.json::<Value>().await.unwrap()));
    }
    assert!(first.iter().all(|answer| answer == &first[0]), "{first:?}");
    assert_eq!(first[0].0, StatusCode::ACCEPTED);

    // Timing: the two ends of the range, interleaved, many times each;
    // the medians' ratio stays near one (no absolute time is asserted).
    let (mut unknown, mut verified) = (Vec::new(), Vec::new());
    for _ in 0..40 {
        for (address, times) in [("nobody@example.com", &mut unknown), ("vera@example.com", &mut verified)] {
            let started = Instant::now();
            let answer = ask(&app, &browser, address).await;
            times.push(started.elapsed());
            assert_eq!(answer.status(), StatusCode::ACCEPTED);
        }
    }
    let median = |times: &mut Vec<std::time::Duration>| {
        times.sort();
        times[times.len() / 2].as_secs_f64()
    };
    let ratio = median(&mut verified) / median(&mut unknown);
    assert!((0.67..1.5).contains(&ratio), "verified / unknown medians: {ratio:.2}");

    // What was sent: a sign-in to the verified account, an offer of a new
    // account to the addresses nobody holds verified, nothing to the
    // disabled account.
    forgot_settled(&app).await;
    let vera = nth_sign_in(&smtp, "vera@example.com", 1).await;
    assert!(vera.subject().starts_with("Your sign-in code"));
    for address in ["nobody@example.com", "uma@example.com"] {
        let offer = nth_sign_in(&smtp, address, 1).await;
        assert!(offer.subject().starts_with("Your sign-up code"), "{}", offer.subject());
        assert!(offer.text().contains("create an account"));
    }
    assert!(sign_ins_to(&smtp, "dora@example.com").is_empty());
}
}

backend_test! {
async fn five_wrong_codes_end_the_request_and_lock_no_one_out() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    let carol = verified_by_smtp(&app, &smtp, "carol", "carol@example.com").await;
    assert_eq!(ask(&app, &app.client(), "carol@example.com").await.status(), StatusCode::ACCEPTED);
    let (token, code) = link_and_code(&nth_sign_in(&smtp, "carol@example.com", 1).await);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..6 {
        let answer = verify(&app, &app.client(), json!({"email": "carol@example.com", "code": wrong})).await;
        assert_error(answer, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    // Dead, its link too.
    let right = verify(&app, &app.client(), json!({"email": "carol@example.com", "code": code})).await;
    assert_error(right, StatusCode::UNAUTHORIZED, "invalid_code").await;
    let link = verify(&app, &app.client(), json!({"token": token})).await;
    assert_error(link, StatusCode::BAD_REQUEST, "invalid_token").await;
    // Whoever guessed locked nobody out: the password still signs in, and
    // the account records no failed login it did not make.
    let login = app.login(&app.client(), "carol", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let kinds = event_kinds(&app, &carol).await;
    assert!(!kinds.iter().any(|k| k == "login_failed" || k == "login_locked"), "{kinds:?}");
    // A new request works at once.
    assert_eq!(ask(&app, &app.client(), "carol@example.com").await.status(), StatusCode::ACCEPTED);
    let (_, code) = link_and_code(&nth_sign_in(&smtp, "carol@example.com", 2).await);
    let signed_in = verify(&app, &app.client(), json!({"email": "carol@example.com", "code": code})).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
}
}

backend_test! {
async fn wrong_codes_answer_alike_whether_or_not_an_account_holds_the_address() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    verified_by_smtp(&app, &smtp, "dana", "dana@example.com").await;
    for address in ["dana@example.com", "nobody@example.com"] {
        assert_eq!(ask(&app, &app.client(), address).await.status(), StatusCode::ACCEPTED);
    }
    let mut answers = Vec::new();
    for address in ["dana@example.com", "nobody@example.com", "never-asked@example.com"] {
        let mut these = Vec::new();
        for _ in 0..7 {
            let answer = verify(&app, &app.client(), json!({"email": address, "code": "0000 00"})).await;
            let status = answer.status();
            let body: Value = answer.json().await.unwrap();
            these.push((status, body));
        }
        answers.push(these);
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    assert!(answers[0].iter().all(|(status, body)| *status == StatusCode::UNAUTHORIZED && body["code"] == "invalid_code"));
}
}

backend_test! {
async fn wrong_codes_for_any_address_count_toward_the_network_limit() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES_PER_IP", "3")]).await;
    for _ in 0..3 {
        let answer = verify(&app, &app.client(), json!({"email": "nobody@example.com", "code": "123456"})).await;
        assert_error(answer, StatusCode::UNAUTHORIZED, "invalid_code").await;
    }
    let answer = verify(&app, &app.client(), json!({"email": "other@example.com", "code": "123456"})).await;
    assert_error(answer, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    let login = app.login(&app.client(), "somebody", PASSWORD).await;
    assert_error(login, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}
}

backend_test! {
async fn requests_live_their_time_and_end_with_a_new_password_address_or_sign_in() {
    let Some((smtp, app)) = app_with_smtp(&[("MAIL_MAX_PER_ADDRESS_PER_HOUR", "100")]).await else { return };
    let dave = verified_by_smtp(&app, &smtp, "dave", "dave@example.com").await;
    let mut sent = 0;
    let mut request = || {
        sent += 1;
        let n = sent;
        let (app, smtp) = (&app, &smtp);
        async move {
            assert_eq!(ask(app, &app.client(), "dave@example.com").await.status(), StatusCode::ACCEPTED);
            link_and_code(&nth_sign_in(smtp, "dave@example.com", n).await)
        }
    };
    let dead = |token: String| {
        let app = &app;
        async move {
            let answer = verify(app, &app.client(), json!({"token": token})).await;
            assert_error(answer, StatusCode::BAD_REQUEST, "invalid_token").await;
        }
    };

    // 900 s on the app's clock, then neither link nor code.
    let (token, code) = request().await;
    app.advance_clock(901);
    dead(token).await;
    let late = verify(&app, &app.client(), json!({"email": "dave@example.com", "code": code})).await;
    assert_error(late, StatusCode::UNAUTHORIZED, "invalid_code").await;

    // Signing in by email ends the address's other requests.
    let (older, _) = request().await;
    let (_, newer_code) = request().await;
    let signed_in = verify(&app, &app.client(), json!({"email": "dave@example.com", "code": newer_code})).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    dead(older).await;

    // A password change ends them.
    let (token, _) = request().await;
    let changed = app.change_password(&dave, PASSWORD, "another long secret").await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    dead(token).await;

    // A new address ends them (the old one's).
    let (token, _) = request().await;
    let moved = app.set_email(&dave, Some("dave@elsewhere.example"), "another long secret").await;
    assert_eq!(moved.status(), StatusCode::OK);
    dead(token).await;
}
}

backend_test! {
async fn a_password_reset_ends_outstanding_requests() {
    let Some((smtp, app)) = app_with_smtp(&[("MAIL_MAX_PER_ADDRESS_PER_HOUR", "100")]).await else { return };
    verified_by_smtp(&app, &smtp, "erin", "erin@example.com").await;
    assert_eq!(ask(&app, &app.client(), "erin@example.com").await.status(), StatusCode::ACCEPTED);
    let (token, _) = link_and_code(&nth_sign_in(&smtp, "erin@example.com", 1).await);
    assert_eq!(app.forgot_password("erin@example.com").await.status(), StatusCode::ACCEPTED);
    eventually(|| smtp.messages().iter().any(|m| m.token("/reset-password").is_some())).await;
    let reset = smtp.messages().iter().find_map(|m| m.token("/reset-password")).unwrap();
    assert_eq!(app.reset_password(&reset, "a brand new secret").await.status(), StatusCode::NO_CONTENT);
    let answer = verify(&app, &app.client(), json!({"token": token})).await;
    assert_error(answer, StatusCode::BAD_REQUEST, "invalid_token").await;
}
}

backend_test! {
async fn an_address_nobody_holds_becomes_a_passwordless_account() {
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    // The name the address makes is taken (in another case): numbered.
    app.user("new.readernews").register().await;
    let browser = app.client();
    assert_eq!(ask(&app, &browser, "New.Reader+news@example.com").await.status(), StatusCode::ACCEPTED);
    let (token, _) = link_and_code(&nth_sign_in(&smtp, "New.Reader+news@example.com", 1).await);
    let made = verify(&app, &browser, json!({"token": token})).await;
    assert_eq!(made.status(), StatusCode::CREATED);
    let user: Value = made.json().await.unwrap();
    // From the local part, made valid (no `+`), and unique.
    assert_eq!(user["username"], "New.Readernews-2");
    let account = app.account_json(&browser).await;
    assert_eq!(account["email"], "New.Reader+news@example.com");
    assert_eq!(account["email_verified"], true);
    assert_eq!(account["has_password"], false);
    let events: Value = app.events(&browser, "").await.json().await.unwrap();
    let registered: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "registered")
        .collect();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0]["detail"]["method"], "email");

    // No password: a sensitive change needs a recent sign-in.
    app.advance_clock(301);
    let change = app.post_json(&browser, "/email", &json!({"email": "elsewhere@example.com"})).await;
    assert_error(change, StatusCode::FORBIDDEN, "reauth_required").await;

    // Signing in by email again finds the account (no second one).
    assert_eq!(ask(&app, &browser, "new.reader+news@example.com").await.status(), StatusCode::ACCEPTED);
    let (_, code) = link_and_code(&nth_sign_in(&smtp, "New.Reader+news@example.com", 2).await);
    let again = verify(&app, &browser, json!({"email": "new.reader+news@example.com", "code": code})).await;
    assert_eq!(again.status(), StatusCode::OK);
    // Within the window again; its address is its only way in.
    let remove = app.post_json(&browser, "/email", &json!({"email": null})).await;
    assert_error(remove, StatusCode::CONFLICT, "last_login_method").await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM users WHERE email_key = 'new.reader+news@example.com'"), 1);
}
}

backend_test! {
async fn without_sign_up_an_address_nobody_holds_gets_nothing() {
    let Some((smtp, app)) = app_with_smtp(&[("EMAIL_SIGN_UP", "false")]).await else { return };
    verified_by_smtp(&app, &smtp, "fay", "fay@example.com").await;
    for address in ["stranger@example.com", "fay@example.com"] {
        assert_eq!(ask(&app, &app.client(), address).await.status(), StatusCode::ACCEPTED);
    }
    nth_sign_in(&smtp, "fay@example.com", 1).await;
    forgot_settled(&app).await;
    assert!(sign_ins_to(&smtp, "stranger@example.com").is_empty());
}
}

backend_test! {
async fn an_account_with_an_authenticator_gets_the_second_step() {
    let app = spawn_app().await;
    let client = verified_user(&app, "gail", "gail@example.com").await;
    let gail = crate::two_factor::enrol(&app, client).await;
    let browser = app.client();
    assert_eq!(ask(&app, &browser, "gail@example.com").await.status(), StatusCode::ACCEPTED);
    let token = crate::support::mail::mailed_token(&app, "/login/email", 2).await;
    let pending = verify(&app, &browser, json!({"token": token})).await;
    assert_eq!(pending.status(), StatusCode::ACCEPTED);
    let body: Value = pending.json().await.unwrap();
    assert_eq!(body["status"], "two_factor_required");
    assert_logged_out(&app, &browser).await;
    let code = crate::two_factor::code(&app, &gail.secret, 0);
    let finished = crate::two_factor::second_step(&app, &browser, json!({"code": code})).await;
    assert_eq!(finished.status(), StatusCode::OK);
    assert_logged_in(&app, &browser).await;
}
}

backend_test! {
async fn opening_the_link_spends_nothing_and_bad_input_is_a_clear_4xx() {
    let app = spawn_app_with(&[("EMAIL_SIGN_IN_MAX_PER_IP_PER_HOUR", "3")]).await;
    verified_user(&app, "hana", "hana@example.com").await;
    let browser = app.client();
    assert_eq!(ask(&app, &browser, "hana@example.com").await.status(), StatusCode::ACCEPTED);
    let token = crate::support::mail::mailed_token(&app, "/login/email", 2).await;
    // A mail scanner's GET, on the API's path and the link's.
    let scanned = app.get(&app.client(), &format!("/login/email?token={token}")).await;
    assert_error(scanned, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let scanned = app.get(&app.client(), &format!("/login/email/verify?token={token}")).await;
    assert_error(scanned, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    for body in [json!({}), json!({"token": 5}), json!({"token": null}), json!({"token": "a\u{0}b"})] {
        let answer = verify(&app, &app.client(), body.clone()).await;
        assert_invalid_field(answer, "token").await;
    }
    let answer = verify(&app, &app.client(), json!({"email": "hana@example.com"})).await;
    assert_invalid_field(answer, "code").await;
    let answer = verify(&app, &app.client(), json!({"email": "not an address", "code": "123456"})).await;
    assert_invalid_field(answer, "email").await;
    let answer = app.post_json(&app.client(), "/login/email", &json!({"email": "Hana <hana@example.com>"})).await;
    assert_invalid_field(answer, "email").await;
    let answer = app.post_json(&app.client(), "/login/email", &json!({"email": "hana@example.com", "stay_signed_in": "yes"})).await;
    assert_invalid_field(answer, "stay_signed_in").await;
    let unknown = verify(&app, &app.client(), json!({"token": "no-such-token"})).await;
    assert_error(unknown, StatusCode::BAD_REQUEST, "invalid_token").await;

    // Still usable after all that; a disabled account is told so.
    execute(&app, "UPDATE users SET disabled = TRUE WHERE username_key = 'hana'");
    let disabled = verify(&app, &browser, json!({"token": token.as_str()})).await;
    assert_error(disabled, StatusCode::FORBIDDEN, "account_disabled").await;
    execute(&app, "UPDATE users SET disabled = FALSE WHERE username_key = 'hana'");
    let signed_in = verify(&app, &browser, json!({"token": token})).await;
    assert_eq!(signed_in.status(), StatusCode::OK);

    // The client network's hourly requests: 3 here.
    for _ in 0..2 {
        assert_eq!(ask(&app, &app.client(), "x@example.com").await.status(), StatusCode::ACCEPTED);
    }
    let refused = ask(&app, &app.client(), "y@example.com").await;
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}
}

#[derive(diesel::QueryableByName)]
struct CodeHash {
    #[diesel(sql_type = diesel::sql_types::Text)]
    code_hash: String,
}

backend_test! {
async fn a_stored_code_is_keyed_with_the_servers_secret() {
    use sha2::{Digest, Sha256};
    let Some((smtp, app)) = app_with_smtp(&[]).await else { return };
    assert_eq!(ask(&app, &app.client(), "dana@example.com").await.status(), StatusCode::ACCEPTED);
    let (_, code) = link_and_code(&nth_sign_in(&smtp, "dana@example.com", 1).await);

    let stored: Vec<CodeHash> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT code_hash FROM email_sign_ins"),
        &mut app.db(),
    )
    .unwrap();
    assert_eq!(stored.len(), 1);
    // What a copy of the database would let anyone try a million codes
    // against: no unkeyed hash of the code, with or without its address.
    let unkeyed = |parts: &[&[u8]]| {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hex::encode(hasher.finalize())
    };
    let key = b"dana@example.com";
    for guess in [
        unkeyed(&[code.as_bytes()]),
        unkeyed(&[key, b"\0", code.as_bytes()]),
        unkeyed(&[key, code.as_bytes()]),
    ] {
        assert_ne!(stored[0].code_hash, guess);
    }
    assert!(!stored[0].code_hash.contains(&code));
    // And the code still signs in where it is typed.
    let signed_in = verify(&app, &app.client(), json!({"email": "dana@example.com", "code": code})).await;
    assert_eq!(signed_in.status(), StatusCode::CREATED);
}
}
