//! The server's own log output, through a whole session at `RUST_LOG=trace`
//! on each backend — register with an address, a wrong and a right login,
//! reads, a password change, a forgotten password and its reset link, a
//! sign-in by email's code and link, a gift link and its reader cookie, a
//! checkout and a Stripe webhook — never contains a password, a password
//! hash, a cookie, a session token, an emailed link's token or its hash,
//! or a Stripe secret. And a line break a request brings (a provider's
//! `error`, a username, a `User-Agent`) never starts a line of the log.

use reqwest::{Client, StatusCode};
use serde_json::json;

use crate::support::fakes::smtp::read_messages;
use crate::support::fakes::stripe_stand_in::StandIn;
use crate::support::internals::token;
use crate::support::stripe::{signature, stripe_settings, SECRET_KEY, WEBHOOK_SECRET};
use crate::support::{eventually, spawn_app_with, spawn_binary};

const SESSION_SECRET: &str =
    "log-test-secret-log-test-secret-log-test-secret-log-test-secret-log-test-secret-";

/// The `session=` values of a response's cookies.
fn cookies_of(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("session="))
        .map(str::to_owned)
        .collect()
}

backend_test! {
async fn no_secret_reaches_the_log_at_any_level() {
    // The harness makes the database; the real binary serves it, so that
    // its whole output is the log to read.
    let app = spawn_app_with(&[]).await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let stripe = StandIn::start().await;
    let mut env = vec![
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", SESSION_SECRET),
        ("RUST_LOG", "trace"),
        // The sign-ins by email below come after four messages.
        ("MAIL_MAX_PER_ADDRESS_PER_HOUR", "100"),
    ];
    env.extend(stripe_settings(&stripe.base));
    let (mut child, port, output) = spawn_binary(dir.path(), &env);
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder().cookie_store(true).build().unwrap();
    let post = |path: &str, body: serde_json::Value| {
        client.post(format!("{base}{path}")).json(&body).send()
    };
    let password = "Sup3r-secret-passphrase!";
    let new_password = "An0ther-secret-passphrase!";
    let reset_password = "Th1rd-secret-passphrase!";
    let mut cookies = Vec::new();

    let registered = post(
        "/register",
        json!({"username": "Logan", "password": password, "email": "logan@example.com"}),
    )
    .await
    .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    cookies.extend(cookies_of(&registered));
    post("/login", json!({"username": "logan", "password": "a wrong one, also secret"}))
        .await
        .unwrap();
    let login = post("/login", json!({"username": "logan", "password": password, "stay_signed_in": true}))
        .await
        .unwrap();
    cookies.extend(cookies_of(&login));
    client.get(format!("{base}/check_session")).send().await.unwrap();
    client.get(format!("{base}/blog/1")).send().await.unwrap();
    let changed = post("/password", json!({"current_password": password, "new_password": new_password}))
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    cookies.extend(cookies_of(&changed));

    // A forgotten password, and its link followed.
    let forgot = post("/password/forgot", json!({"email": "logan@example.com"})).await.unwrap();
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let mail = dir.path().join("mail");
    eventually(|| read_messages(&mail).iter().any(|m| m.token("/reset-password").is_some())).await;
    let messages = read_messages(&mail);
    let links: Vec<String> = messages
        .iter()
        .filter_map(|m| m.token("/verify-email").or_else(|| m.token("/reset-password")))
        .collect();
    let reset_token = messages
        .iter()
        .find_map(|m| m.token("/reset-password"))
        .unwrap();
    let reset = post("/password/reset", json!({"token": reset_token, "new_password": reset_password}))
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let login = post("/login", json!({"username": "logan", "password": reset_password}))
        .await
        .unwrap();
    cookies.extend(cookies_of(&login));

    // Sign-in by email: a code, then a link (the address was verified by
    // the reset link).
    let mut sign_in_secrets = Vec::new();
    for n in 1..=2 {
        let asked = post("/login/email", json!({"email": "logan@example.com"})).await.unwrap();
        assert_eq!(asked.status(), StatusCode::ACCEPTED);
        eventually(|| read_messages(&mail).iter().filter(|m| m.token("/login/email").is_some()).count() >= n).await;
        let message = read_messages(&mail)
            .into_iter()
            .filter(|m| m.token("/login/email").is_some())
            .nth(n - 1)
            .unwrap();
        let token = message.token("/login/email").unwrap();
        let code = message.subject().rsplit(' ').next().unwrap().to_owned();
        let body = if n == 1 {
            json!({"email": "logan@example.com", "code": code})
        } else {
            json!({"token": token})
        };
        let signed_in = post("/login/email/verify", body).await.unwrap();
        assert_eq!(signed_in.status(), StatusCode::OK);
        cookies.extend(cookies_of(&signed_in));
        // (Not the code: six digits turn up in any log, in timings.)
        sign_in_secrets.push(token);
    }

    // Billing: a checkout (the Stripe key goes out) and a signed webhook.
    let checkout = client.post(format!("{base}/billing/checkout")).send().await.unwrap();
    assert_eq!(checkout.status(), StatusCode::OK);
    // A separate process: its clock is the system's, not one a test moves.
    #[allow(clippy::disallowed_methods)]
    let now = chrono::Utc::now().timestamp();
    let event = serde_json::to_vec(&json!({
        "id": "evt_log", "object": "event", "type": "invoice.paid", "created": now,
        "data": {"object": {"id": "in_1"}},
    }))
    .unwrap();
    let signed = signature(WEBHOOK_SECRET, now, &event);
    let hooked = client
        .post(format!("{base}/webhooks/stripe"))
        .header("Stripe-Signature", &signed)
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(hooked.status(), StatusCode::OK);
    // A gift link, opened by a browser that gets its reader cookie.
    crate::support::db::execute(&app, "UPDATE users SET plan = 'premium' WHERE username_key = 'logan'");
    let gifted = client.post(format!("{base}/blog/1/gift")).send().await.unwrap();
    assert_eq!(gifted.status(), StatusCode::CREATED);
    let gifted: serde_json::Value = gifted.json().await.unwrap();
    let gift_url = gifted["gift"]["url"].as_str().unwrap().to_owned();
    let gift_token = gift_url.rsplit('/').next().unwrap().to_owned();
    let opened = Client::new().get(format!("{base}/gift/{gift_token}")).send().await.unwrap();
    assert_eq!(opened.status(), StatusCode::OK);
    let reader_cookie = opened
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("tollgate_reader="))
        .map(str::to_owned)
        .next()
        .expect("a reader cookie");

    client.delete(format!("{base}/logout")).send().await.unwrap();
    let _ = child.kill();
    let _ = child.wait();

    let log = crate::support::whole_output(&output).await;
    assert!(log.contains("TRACE") || log.contains("trace"), "a trace-level log: {}", &log[..log.len().min(2000)]);
    assert!(log.contains("request"), "the access log was captured");
    for secret in [password, new_password, reset_password, "a wrong one, also secret"] {
        assert!(!log.contains(secret), "a password is in the log");
    }
    assert!(!log.contains("$2b$"), "a bcrypt hash is in the log");
    assert!(cookies.len() >= 4, "{cookies:?}");
    for cookie in &cookies {
        assert!(!log.contains(cookie.as_str()), "a cookie value is in the log");
        let decoded = cookie.replace("%2F", "/").replace("%3D", "=").replace("%2B", "+");
        // The token is the part after the 44-character signature.
        let token = decoded.get(44..).unwrap_or(&decoded);
        assert!(!log.contains(token), "a session token is in the log");
        assert!(!log.contains(&token::hash(token)), "a session token's hash is in the log");
    }
    assert!(links.len() >= 2, "a verification and a reset link: {links:?}");
    for link in &links {
        assert!(!log.contains(link.as_str()), "an emailed link's token is in the log");
        assert!(!log.contains(&token::hash(link)), "a link token's hash is in the log");
    }
    for secret in &sign_in_secrets {
        assert!(!log.contains(secret.as_str()), "an emailed sign-in's token is in the log");
        assert!(!log.contains(&token::hash(secret)), "an emailed sign-in's token hash is in the log");
    }
    for secret in [&gift_token, &reader_cookie] {
        assert!(!log.contains(secret.as_str()), "a gift token or a reader cookie is in the log");
        assert!(!log.contains(&token::hash(secret)), "its hash is in the log");
    }
    for secret in [SECRET_KEY, WEBHOOK_SECRET, SESSION_SECRET, signed.as_str()] {
        assert!(!log.contains(secret), "a Stripe or session secret is in the log");
    }
    let v1 = signed.split("v1=").nth(1).unwrap();
    assert!(!log.contains(v1), "the webhook's signature is in the log");
}
}

backend_test! {
async fn no_secret_of_a_provider_sign_in_reaches_the_log() {
    use crate::support::free_port;
    use crate::support::oidc::OidcProvider;

    let Some(provider) = OidcProvider::start().await else { return };
    let app = spawn_app_with(&[]).await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let callback = format!("http://127.0.0.1:{port}/auth/corp/callback");
    let (client_id, client_secret) = provider.register_client(&callback, None).await;
    provider
        .set_account("logan-sub", json!({"email": "logan@example.com", "email_verified": true}))
        .await;
    let issuer = provider.issuer();
    let env = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", SESSION_SECRET),
        ("RUST_LOG", "trace"),
        ("PORT", port.as_str()),
        ("OIDC_PROVIDERS", "corp"),
        ("OIDC_CORP_ISSUER", issuer.as_str()),
        ("OIDC_CORP_CLIENT_ID", client_id.as_str()),
        ("OIDC_CORP_CLIENT_SECRET", client_secret.as_str()),
    ];
    let (mut child, port, output) = spawn_binary(dir.path(), &env);
    let base = format!("http://127.0.0.1:{port}");
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = browser.get(format!("{base}/auth/corp/start")).send().await.unwrap();
    assert_eq!(start.status(), StatusCode::FOUND);
    let flow_cookie = start
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("tollgate_flow="))
        .expect("the flow's cookie")
        .to_owned();
    let to = start.headers()["location"].to_str().unwrap().to_owned();
    let back = provider.authorize(&browser, &to, "logan-sub", &callback).await;
    let back_url = reqwest::Url::parse(&back).unwrap();
    let param = |name: &str| {
        back_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .expect("a parameter of the callback")
    };
    let (code, state) = (param("code"), param("state"));
    let signed_in = browser.get(&back).send().await.unwrap();
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    let cookies = cookies_of(&signed_in);
    assert_eq!(cookies.len(), 1, "a session cookie");
    // The log is written off the request's thread: wait for its line.
    let logged = crate::support::wait_for(10, || {
        output.lock().unwrap().contains("oidc:corp")
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();

    let log = crate::support::whole_output(&output).await;
    assert!(logged, "the sign-in was logged");
    for secret in [&code, &state, &flow_cookie, &client_secret, &cookies[0]] {
        assert!(!log.contains(secret.as_str()), "a secret of the sign-in is in the log");
    }
    assert!(!log.contains(&token::hash(&state)), "the state's hash is in the log");
    assert!(!log.contains("eyJ"), "a JSON Web Token is in the log");
}
}

/// A line forged after an injected line break, dressed as a real one.
const FORGED: &str = "2026-01-01T00:00:00.000000Z  INFO tollgate::access: forged";
/// Text after an injected line break that would start a line of its own.
const LOOSE: &str = "LOOSE-TEXT";

/// Every line of `log`, cut at any CR or LF: a log reader may take either
/// for the end of a line.
fn log_lines(log: &str) -> Vec<&str> {
    log.split(['\r', '\n'])
        .filter(|line| !line.is_empty())
        .collect()
}

/// One request written by hand, so that its `User-Agent` may hold what
/// an HTTP client refuses to send; whatever the server answers.
async fn raw_request(port: u16, user_agent: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: ".to_vec();
    request.extend_from_slice(user_agent);
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
}

backend_test! {
async fn line_breaks_a_request_brings_never_start_a_log_line() {
    use crate::support::fakes::github_stand_in::GithubStandIn;
    use crate::support::free_port;

    let app = spawn_app_with(&[]).await;
    app.stop().await;
    let dir = tempfile::tempdir().unwrap();
    let github = GithubStandIn::start("gh-client", "gh-secret").await;
    let port = free_port().to_string();
    github.set_callback(&format!("http://127.0.0.1:{port}/auth/github/callback"));
    let base = github.url();
    let env = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", SESSION_SECRET),
        ("RUST_LOG", "trace"),
        ("PORT", port.as_str()),
        ("GITHUB_CLIENT_ID", "gh-client"),
        ("GITHUB_CLIENT_SECRET", "gh-secret"),
        ("GITHUB_OAUTH_BASE", base.as_str()),
        ("GITHUB_API_BASE", base.as_str()),
    ];
    let (mut child, port, output) = spawn_binary(dir.path(), &env);
    let server = format!("http://127.0.0.1:{port}");
    let browser = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // A provider's `error`: the flow is the browser's own, so the callback
    // reads the error and logs it.
    for breaks in ["\n", "\r", "\r\n"] {
        let start = browser.get(format!("{server}/auth/github/start")).send().await.unwrap();
        assert_eq!(start.status(), StatusCode::FOUND);
        let to = reqwest::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
        let state = to.query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
        let error = format!("server_error{breaks}{FORGED}{breaks}{LOOSE}");
        let callback = reqwest::Url::parse_with_params(
            &format!("{server}/auth/github/callback"),
            [("error", error.as_str()), ("state", state.as_str())],
        )
        .unwrap();
        let back = browser.get(callback).send().await.unwrap();
        assert_eq!(back.status(), StatusCode::FOUND);
        assert!(back.headers()["location"].to_str().unwrap().ends_with("?error=provider_error"));
    }
    // A username at /login, and a User-Agent.
    for breaks in ["\n", "\r", "\r\n"] {
        let username = format!("logan{breaks}{FORGED}{breaks}{LOOSE}");
        let login = browser
            .post(format!("{server}/login"))
            .json(&json!({"username": username, "password": "whatever it is"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
        let agent = format!("agent{breaks}{FORGED}{breaks}{LOOSE}");
        raw_request(port, agent.as_bytes()).await;
    }
    // The log is written off the requests' threads: wait for the last
    // callback's line.
    let logged = crate::support::wait_for(10, || {
        output.lock().unwrap().matches("the provider sent no code").count() == 3
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();

    let log = crate::support::whole_output(&output).await;
    assert!(logged, "each provider error was logged: {log}");
    assert!(log.contains("forged"), "the provider's error is in the log, escaped");
    for line in log_lines(&log) {
        assert!(!line.starts_with(FORGED), "a forged line: {line:?}");
        assert!(!line.starts_with(LOOSE), "a line of loose text: {line:?}");
        let stamp = line.split(' ').next().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "a line that does not start with a timestamp: {line:?}"
        );
    }
}
}
