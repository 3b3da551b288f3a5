//! Every way in finishes a sign-in the same way (`accounts::sign_in`):
//! whatever proved who the caller is — a password, an authenticator code,
//! a recovery code, a passkey alone or as the second step, another
//! provider — the same facts follow: a new session and nothing the
//! browser held before, the `login` event with its method and where it
//! came from, the login noted on the account, one success in the metrics,
//! and the username's failed attempts forgotten.

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::metrics::{scrape, value};
use crate::providers::{self, Kind, Person};
use crate::support::authenticator::Authenticator;
use crate::support::db::{count, execute};
use crate::support::{session_cookie, TestApp, PASSWORD};
use crate::two_factor::{code, enrolled, second_step};

const SUCCESSES: &str = r#"tollgate_logins_total{outcome="success"}"#;

/// What is true before a sign-in, to compare with after it.
struct Before {
    /// The app's time then.
    at: i64,
    successes: f64,
    /// The browser's cookie, naming what it held (a session or a pending
    /// sign-in).
    cookie: String,
}

/// Arranges what the sign-in must undo: one failed login for `username`
/// (so that its lockout count exists), and notes the metrics.
async fn arrange(app: &TestApp, username: &str, cookie: String) -> Before {
    let wrong = app.login(&app.client(), username, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(throttle_rows(app, username), 1);
    // Forgotten, so that the sign-in must note it again.
    execute(
        app,
        &format!("UPDATE users SET last_login_at = NULL WHERE username = '{username}'"),
    );
    Before {
        at: app.now(),
        successes: value(&scrape(app).await, SUCCESSES),
        cookie,
    }
}

fn throttle_rows(app: &TestApp, username: &str) -> i64 {
    let key = username.to_ascii_lowercase();
    count(
        app,
        &format!("SELECT COUNT(*) AS n FROM login_throttle WHERE username_key = '{key}'"),
    )
}

/// The facts every sign-in leaves, `answer` being the one that finished it.
async fn signed_in(
    app: &TestApp,
    browser: &Client,
    answer: Response,
    username: &str,
    method: &str,
    before: Before,
) {
    let answered = answer.status();
    assert!(
        answered == StatusCode::OK || answered == StatusCode::FOUND,
        "{method}: {answered}"
    );
    let new_cookie = session_cookie(&answer);
    assert_ne!(new_cookie, before.cookie, "{method}: a new token");

    // A session for the account, in the cookie.
    let user: Value = app.check_session(browser).await.json().await.unwrap();
    assert_eq!(user["username"], username, "{method}");
    // Nothing the browser held before works any more.
    let old = app.get_with_cookie("/check_session", &before.cookie).await;
    assert_eq!(
        old.status(),
        StatusCode::UNAUTHORIZED,
        "{method}: the earlier token still works"
    );

    // The event, with its method and where the sign-in came from.
    let events: Value = app.events(browser, "").await.json().await.unwrap();
    let login = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["kind"] == "login")
        .unwrap_or_else(|| panic!("{method}: no login event in {events}"));
    assert_eq!(login["detail"]["method"], method);
    assert_eq!(login["ip"], "127.0.0.1", "{method}");

    // The login noted, counted once, and the failures forgotten.
    let last_login = count(
        app,
        &format!("SELECT last_login_at AS n FROM users WHERE username = '{username}'"),
    );
    assert!((before.at..=app.now()).contains(&last_login), "{method}");
    let successes = value(&scrape(app).await, SUCCESSES);
    assert_eq!(successes - before.successes, 1.0, "{method}");
    assert_eq!(
        throttle_rows(app, username),
        0,
        "{method}: the lockout count stays"
    );
}

/// A browser holding a session of `username`'s (signed in with the
/// password), and its cookie.
async fn holding_a_session(app: &TestApp, username: &str) -> (Client, String) {
    let browser = app.client();
    let answer = app.login(&browser, username, PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let cookie = session_cookie(&answer);
    (browser, cookie)
}

/// A browser waiting for `username`'s second step, and its cookie.
async fn pending(app: &TestApp, username: &str) -> (Client, String) {
    let browser = app.client();
    let answer = app.login(&browser, username, PASSWORD).await;
    assert_eq!(answer.status(), StatusCode::ACCEPTED);
    let cookie = session_cookie(&answer);
    (browser, cookie)
}

/// Gives the account `client` is signed in to a passkey of `authenticator`.
async fn add_passkey(app: &TestApp, client: &Client, authenticator: &mut Authenticator) {
    let options = app
        .post_json(
            client,
            "/account/passkeys/options",
            &json!({"password": PASSWORD}),
        )
        .await;
    assert_eq!(options.status(), StatusCode::OK);
    let credential = authenticator.create(&options.json().await.unwrap());
    let added = app
        .post_json(
            client,
            "/account/passkeys",
            &json!({"credential": credential}),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
}

/// Signs `browser` in (or finishes its pending sign-in) with a passkey of
/// `authenticator`.
async fn with_passkey(
    app: &TestApp,
    browser: &Client,
    authenticator: &mut Authenticator,
) -> Response {
    let options = app
        .post_json(browser, "/login/passkey/options", &json!({}))
        .await;
    assert_eq!(options.status(), StatusCode::OK);
    let credential = authenticator.get(&options.json().await.unwrap());
    app.post_json(
        browser,
        "/login/passkey",
        &json!({"credential": credential}),
    )
    .await
}

backend_test! {
async fn every_way_in_leaves_the_same_facts() {
    let Some((github, app)) = providers::spawn(Kind::Github, &[("METRICS_ADDR", "127.0.0.1:0")]).await
    else {
        return;
    };
    // Bob: a password, a passkey, and a GitHub identity.
    let bob = app.logged_in_client("Bob").await;
    let mut bobs_key = Authenticator::local();
    add_passkey(&app, &bob, &mut bobs_key).await;
    let bob_id = count(&app, "SELECT id AS n FROM users WHERE username = 'Bob'");
    execute(
        &app,
        &format!(
            "INSERT INTO identities (user_id, provider, subject, email, created_at) \
             VALUES ({bob_id}, 'github', '4242', NULL, 1)"
        ),
    );
    // Alice: a password, an authenticator app with recovery codes, a passkey.
    let alice = enrolled(&app, "Alice").await;
    let mut alices_key = Authenticator::local();
    add_passkey(&app, &alice.client, &mut alices_key).await;

    // A password alone.
    let (browser, cookie) = holding_a_session(&app, "Bob").await;
    let before = arrange(&app, "Bob", cookie).await;
    let answer = app.login(&browser, "Bob", PASSWORD).await;
    signed_in(&app, &browser, answer, "Bob", "password", before).await;

    // A passkey alone.
    let (browser, cookie) = holding_a_session(&app, "Bob").await;
    let before = arrange(&app, "Bob", cookie).await;
    let answer = with_passkey(&app, &browser, &mut bobs_key).await;
    signed_in(&app, &browser, answer, "Bob", "passkey", before).await;

    // Another provider.
    let (browser, cookie) = holding_a_session(&app, "Bob").await;
    let before = arrange(&app, "Bob", cookie).await;
    let person = Person { id: "4242", username: Some("bob-at-github"), email: None, verified: false };
    let answer = github.sign_in(&app, &browser, &person).await;
    signed_in(&app, &browser, answer, "Bob", "oidc:github", before).await;

    // The second step, with an authenticator code, a recovery code, a passkey.
    let (browser, cookie) = pending(&app, "Alice").await;
    let before = arrange(&app, "Alice", cookie).await;
    let answer = second_step(&app, &browser, json!({"code": code(&app, &alice.secret, 0)})).await;
    signed_in(&app, &browser, answer, "Alice", "totp", before).await;

    let (browser, cookie) = pending(&app, "Alice").await;
    let before = arrange(&app, "Alice", cookie).await;
    let recovery = json!({"recovery_code": alice.recovery_codes[0]});
    let answer = second_step(&app, &browser, recovery).await;
    signed_in(&app, &browser, answer, "Alice", "recovery_code", before).await;

    let (browser, cookie) = pending(&app, "Alice").await;
    let before = arrange(&app, "Alice", cookie).await;
    let answer = with_passkey(&app, &browser, &mut alices_key).await;
    signed_in(&app, &browser, answer, "Alice", "passkey", before).await;
}
}
