//! `POST /register`, `POST /login`, `GET /check_session`, `DELETE /logout`,
//! the login lockout and the cookie's attributes.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{
    assert_error, assert_json, assert_logged_in, assert_logged_out, session_cookie,
    session_set_cookie, spawn_app, spawn_app_and_user, spawn_app_with, spawn_app_with_user, tally,
    PASSWORD,
};

backend_test! {
async fn register_creates_a_free_user_and_logs_them_in() {
    let app = spawn_app().await;
    let client = app.client();

    let response = app.register(&client, "Alice").await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_json(&response);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "Alice");
    assert_eq!(user["plan"], "free");
    assert_eq!(user["role"], "reader", "everyone who registers");
    assert!(user["id"].as_i64().is_some());
    let created = user["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    assert_eq!(user.as_object().unwrap().len(), 5, "no secrets: {user}");

    let me: Value = app.check_session(&client).await.json().await.unwrap();
    assert_eq!(me, user);
}
}

backend_test! {
async fn usernames_are_unique_case_insensitively() {
    let (app, _) = spawn_app_and_user("Alice").await;

    let response = app.register(&app.client(), "aLICE").await;

    assert_error(response, StatusCode::CONFLICT, "username_taken").await;
}
}

backend_test! {
async fn login_matches_the_username_case_insensitively() {
    let (app, _) = spawn_app_and_user("Alice").await;
    let client = app.client();

    let response = app.login(&client, "ALICE", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "Alice");
    assert_logged_in(&app, &client).await;
}
}

backend_test! {
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let (app, _) = spawn_app_and_user("Alice").await;

    let wrong = app.login(&app.client(), "Alice", "not the password").await;
    let unknown = app.login(&app.client(), "Nobody", PASSWORD).await;

    let wrong = assert_error(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let unknown = assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong, unknown);
}
}

backend_test! {
async fn a_browser_session_cookie_has_no_max_age() {
    let (app, _) = spawn_app_and_user("Alice").await;
    let response = app.user("Alice").stay_signed_in(false).log_in(&app.client()).await;

    let cookie = session_set_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    assert!(!cookie.contains("Expires"), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");
}
}

backend_test! {
async fn stay_signed_in_gives_the_cookie_the_remember_lifetime() {
    let (app, _) = spawn_app_with_user(&[("REMEMBER_TTL_SECONDS", "1234")], "Alice").await;
    let response = app.user("Alice").stay_signed_in(true).log_in(&app.client()).await;

    let cookie = session_set_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("Max-Age=1234"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
}
}

backend_test! {
async fn cookie_flags_follow_the_settings() {
    let app = spawn_app_with(&[("COOKIE_SECURE", "true"), ("COOKIE_SAMESITE", "none")]).await;

    let response = app.register(&app.client(), "Alice").await;

    let cookie = session_set_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("SameSite=None"), "{cookie}");
}
}

backend_test! {
async fn the_cookie_carries_an_opaque_token_not_user_data() {
    let app = spawn_app().await;

    let response = app.register(&app.client(), "Alice").await;

    let cookie = session_cookie(&response);
    assert!(
        !cookie.contains("Alice") && !cookie.contains("user"),
        "{cookie}"
    );
    let mut db = app.db();
    let stored: Vec<TokenHash> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT token_hash FROM sessions"),
        &mut db,
    )
    .unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].token_hash.len(), 64, "a SHA-256, not the token");
    assert!(!cookie.contains(&stored[0].token_hash));
}
}

#[derive(diesel::QueryableByName)]
struct TokenHash {
    #[diesel(sql_type = diesel::sql_types::Text)]
    token_hash: String,
}

backend_test! {
async fn every_login_issues_a_new_token_and_ends_the_old_one() {
    let app = spawn_app().await;
    let client = app.client();
    let first = app.register(&client, "Alice").await;
    let old_cookie = session_cookie(&first);

    let second = app.login(&client, "Alice", PASSWORD).await;

    assert_eq!(second.status(), StatusCode::OK);
    let new_cookie = session_cookie(&second);
    assert_ne!(old_cookie, new_cookie);
    let replay = app.get_with_cookie("/check_session", &old_cookie).await;
    assert_error(replay, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert_logged_in(&app, &client).await;
}
}

backend_test! {
async fn check_session_without_a_cookie_says_so() {
    let app = spawn_app().await;

    let response = app.check_session(&app.client()).await;

    let body = assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert!(body["error"].as_str().unwrap().contains("credentials"));
}
}

backend_test! {
async fn logout_revokes_the_old_cookie_and_clears_it() {
    let app = spawn_app().await;
    let client = app.client();
    let cookie = session_cookie(&app.register(&client, "Alice").await);

    let response = app.logout(&client).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cleared = session_set_cookie(&response).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(response.text().await.unwrap(), "");
    let replay = app.get_with_cookie("/blog", &cookie).await;
    let body = assert_error(replay, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    assert!(body["error"].as_str().unwrap().contains("expired"));
    assert_logged_out(&app, &client).await;
}
}

backend_test! {
async fn logout_needs_a_session() {
    let app = spawn_app().await;

    let response = app.logout(&app.client()).await;

    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}

backend_test! {
async fn repeated_failures_lock_the_username_even_for_the_right_password() {
    let settings = [("LOGIN_MAX_FAILURES", "3"), ("LOGIN_LOCKOUT_SECONDS", "60")];
    let (app, _) = spawn_app_with_user(&settings, "Alice").await;
    app.register(&app.client(), "Bob").await;
    for _ in 0..3 {
        let response = app.login(&app.client(), "alice", "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    let locked = app.login(&app.client(), "Alice", PASSWORD).await;

    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(locked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
    let other = app.login(&app.client(), "Bob", PASSWORD).await;
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "other usernames are unaffected"
    );
}
}

backend_test! {
async fn the_lockout_ends_when_its_window_passes() {
    let settings = [("LOGIN_MAX_FAILURES", "2"), ("LOGIN_LOCKOUT_SECONDS", "2")];
    let (app, _) = spawn_app_with_user(&settings, "Alice").await;
    for _ in 0..2 {
        app.login(&app.client(), "Alice", "wrong password").await;
    }
    assert_eq!(
        app.login(&app.client(), "Alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );

    app.advance_clock(3);

    assert_eq!(
        app.login(&app.client(), "Alice", PASSWORD).await.status(),
        StatusCode::OK
    );
}
}

backend_test! {
async fn a_successful_login_resets_the_failure_count() {
    let (app, _) = spawn_app_with_user(&[("LOGIN_MAX_FAILURES", "3")], "Alice").await;
    for _ in 0..2 {
        app.login(&app.client(), "Alice", "wrong password").await;
    }
    assert_eq!(
        app.login(&app.client(), "Alice", PASSWORD).await.status(),
        StatusCode::OK
    );

    for _ in 0..2 {
        app.login(&app.client(), "Alice", "wrong password").await;
    }
    let response = app.login(&app.client(), "Alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
}
}

backend_test! {
async fn unknown_usernames_are_locked_out_too() {
    let app = spawn_app_with(&[("LOGIN_MAX_FAILURES", "2")]).await;
    for _ in 0..2 {
        app.login(&app.client(), "Ghost", "wrong password").await;
    }

    let response = app.login(&app.client(), "ghost", "wrong password").await;

    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts").await;
}
}

backend_test! {
async fn login_validates_the_body_shape() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            &app.client(),
            "/login",
            &json!({"username": "Alice", "password": 5}),
        )
        .await;

    let body = assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["fields"]["password"], "must be a string");
}
}

backend_test! {
async fn a_login_rehashes_a_password_made_at_another_cost() {
    let (app, _) = spawn_app_with_user(&[("BCRYPT_COST", "4")], "Alice").await;
    let app = app.restart_with(&[("BCRYPT_COST", "5")]).await;

    let response = app.login(&app.client(), "Alice", PASSWORD).await;

    assert_eq!(response.status(), StatusCode::OK);
    let mut db = app.db();
    let hashes: Vec<Hash> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT password_hash FROM users"),
        &mut db,
    )
    .unwrap();
    assert!(
        hashes[0].password_hash.starts_with("$2b$05$"),
        "rehashed at cost 5"
    );
    assert_eq!(
        app.login(&app.client(), "Alice", PASSWORD).await.status(),
        StatusCode::OK
    );
}
}

#[derive(diesel::QueryableByName)]
struct Hash {
    #[diesel(sql_type = diesel::sql_types::Text)]
    password_hash: String,
}

backend_test! {
async fn parallel_wrong_guesses_get_no_more_tries_than_the_limit() {
    let (app, _) = spawn_app_with_user(&[("LOGIN_MAX_FAILURES", "3")], "Alice").await;

    let app = &app;
    let guesses = (0..10).map(|i| async move {
        let guess = format!("guess number {i}");
        app.login(&app.client(), "alice", &guess).await.status()
    });
    let statuses = futures_util::future::join_all(guesses).await;

    assert_eq!(
        tally(&statuses, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS),
        (3, 7),
        "{statuses:?}"
    );
    assert_eq!(
        app.login(&app.client(), "Alice", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}
}

backend_test! {
async fn a_path_that_decodes_to_a_public_one_is_treated_as_public() {
    let app = spawn_app().await;

    let response = app
        .post_json(
            &app.client(),
            "/logi%6E",
            &json!({"username": "Alice", "password": PASSWORD}),
        )
        .await;

    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}
}

backend_test! {
async fn head_works_wherever_get_does() {
    let app = spawn_app().await;

    let response = app.client().head(app.url("/health")).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "");
}
}

/// `Mañana-Çafé-92!` as a keyboard that composes its accents sends it
/// (NFC), and as one that sends each accent after its letter (NFD).
const COMPOSED: &str = "Ma\u{f1}ana-\u{c7}af\u{e9}-92!";
const DECOMPOSED: &str = "Man\u{303}ana-C\u{327}afe\u{301}-92!";

backend_test! {
async fn a_password_typed_on_another_system_is_the_same_password() {
    let app = spawn_app().await;
    assert_eq!(app.register_with_password(&app.client(), "Zed", COMPOSED).await.status(), StatusCode::CREATED);
    assert_eq!(app.register_with_password(&app.client(), "Kim", DECOMPOSED).await.status(), StatusCode::CREATED);
    for (user, typed) in [("Zed", DECOMPOSED), ("Zed", COMPOSED), ("Kim", COMPOSED), ("Kim", DECOMPOSED)] {
        assert_eq!(app.login(&app.client(), user, typed).await.status(), StatusCode::OK, "{user}");
    }
    // A phone's no-break space is a space; case and full-width letters are
    // not folded, so nothing else signs in.
    let spaced = "horse battery staple 92";
    assert_eq!(app.register_with_password(&app.client(), "Cyd", spaced).await.status(), StatusCode::CREATED);
    let nbsp = spaced.replace(' ', "\u{a0}");
    assert_eq!(app.login(&app.client(), "Cyd", &nbsp).await.status(), StatusCode::OK);
    for wrong in ["HORSE BATTERY STAPLE 92", "horse battery staple \u{ff19}\u{ff12}"] {
        let refused = app.login(&app.client(), "Cyd", wrong).await;
        assert_error(refused, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // No failure was counted for the logins that matched.
    assert_eq!(crate::support::db::count(&app, "SELECT COUNT(*) AS n FROM login_throttle WHERE username_key IN ('zed', 'kim')"), 0);
}
}

backend_test! {
async fn a_password_stored_as_typed_signs_in_and_is_stored_again_prepared() {
    let app = spawn_app().await;
    assert_eq!(app.register_with_password(&app.client(), "Zed", COMPOSED).await.status(), StatusCode::CREATED);
    // As a release before the rule stored it: the decomposed text, hashed as typed.
    let legacy = bcrypt::hash(DECOMPOSED.as_bytes(), 4).unwrap();
    crate::support::db::execute(&app, &format!("UPDATE users SET password_hash = '{legacy}'"));

    assert_eq!(app.login(&app.client(), "Zed", DECOMPOSED).await.status(), StatusCode::OK);

    let stored: Vec<Hash> = diesel::RunQueryDsl::load(
        diesel::sql_query("SELECT password_hash FROM users"),
        &mut app.db(),
    )
    .unwrap();
    assert_ne!(stored[0].password_hash, legacy, "stored again");
    assert!(bcrypt::verify(COMPOSED.as_bytes(), &stored[0].password_hash).unwrap());
    assert_eq!(app.login(&app.client(), "Zed", COMPOSED).await.status(), StatusCode::OK);
}
}

/// A `session` cookie of another app on a parent domain: its own value,
/// and one signed with another key.
fn foreign_session_cookies() -> [String; 2] {
    [
        "session=eyJhbGciOiJIUzI1NiJ9.c2libGluZw.abc".to_owned(),
        format!("session={}{}", "A".repeat(44), "a-token-of-another-app"),
    ]
}

backend_test! {
async fn the_session_cookie_that_names_a_session_counts_wherever_it_is() {
    let app = spawn_app().await;
    let ours = session_cookie(&app.register(&app.client(), "Alice").await);
    for foreign in foreign_session_cookies() {
        for cookie in [format!("{foreign}; {ours}"), format!("{ours}; {foreign}"), format!("theme=dark; {foreign}; lang=en; {ours}")] {
            let response = app.get_with_cookie("/check_session", &cookie).await;
            assert_eq!(response.status(), StatusCode::OK, "{cookie}");
            let user: Value = response.json().await.unwrap();
            assert_eq!(user["username"], "Alice");
            let read = app.get_with_cookie("/blog/1", &cookie).await;
            assert_eq!(read.status(), StatusCode::OK, "{cookie}");
        }
        // Sent as two header lines, as HTTP/2 splits cookies.
        let both = app
            .bare_client()
            .get(app.url("/check_session"))
            .header("Cookie", foreign.as_str())
            .header("Cookie", ours.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(both.status(), StatusCode::OK);
    }
    // Only foreign ones: no session, said as for any unknown cookie.
    let [one, other] = foreign_session_cookies();
    let response = app.get_with_cookie("/check_session", &format!("{one}; {other}")).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    // Logging out with both ends ours.
    let out = app
        .bare_client()
        .delete(app.url("/logout"))
        .header("Cookie", format!("{one}; {ours}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let after = app.get_with_cookie("/check_session", &format!("{one}; {ours}")).await;
    assert_error(after, StatusCode::UNAUTHORIZED, "not_logged_in").await;
}
}
