//! The per-client-network abuse limits, shared by every instance through
//! the database: registration attempts per hour, failed logins per lockout
//! window; an IPv6 client counted by its /64. Each test trusts 127.0.0.1 as
//! a proxy, so that X-Forwarded-For gives each request the client IP the
//! test means.

use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::support::db::{count, execute};
use crate::support::{assert_error, eventually, spawn_app_with, tally, TestApp, PASSWORD};

async fn register_as(app: &TestApp, ip: &str, username: &str) -> Response {
    app.user(username)
        .forwarded_for(ip)
        .register_in(&app.bare_client())
        .await
}

async fn login_as(app: &TestApp, ip: &str, username: &str, password: &str) -> Response {
    app.bare_client()
        .post(app.url("/login"))
        .header("X-Forwarded-For", ip)
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap()
}

fn retry_after(response: &Response) -> u64 {
    response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

backend_test! {
async fn registrations_per_ip_are_limited_across_instances() {
    let a = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REGISTER_MAX_PER_IP_PER_HOUR", "3"),
    ])
    .await;
    let b = a.sibling().await;
    const IP: &str = "203.0.113.9";
    assert_eq!(register_as(&a, IP, "first").await.status(), StatusCode::CREATED);
    // A taken name counts too: probing for names is limited like signing up.
    assert_eq!(register_as(&b, IP, "FIRST").await.status(), StatusCode::CONFLICT);
    assert_eq!(register_as(&b, IP, "second").await.status(), StatusCode::CREATED);

    for app in [&a, &b] {
        let response = register_as(app, IP, "third").await;
        let wait = retry_after(&response);
        assert!((1..=3600).contains(&wait), "Retry-After {wait}");
        assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    }
    // Never another IP's problem.
    assert_eq!(register_as(&b, "203.0.113.10", "third").await.status(), StatusCode::CREATED);

    // The next hour, the IP may register again.
    a.advance_clock(3600);
    assert_eq!(register_as(&a, IP, "fourth").await.status(), StatusCode::CREATED);
}
}

backend_test! {
async fn failed_logins_per_ip_are_limited_across_instances_and_usernames() {
    let a = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_MAX_FAILURES_PER_IP", "3"),
        ("LOGIN_LOCKOUT_SECONDS", "600"),
    ])
    .await;
    let b = a.sibling().await;
    assert_eq!(register_as(&a, "198.51.100.1", "Alice").await.status(), StatusCode::CREATED);
    const STUFFER: &str = "203.0.113.9";

    // Three failures, three usernames (one of them no valid name at all),
    // two instances.
    for (app, name) in [(&a, "alice"), (&b, "bob"), (&a, "x")] {
        let response = login_as(app, STUFFER, name, "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Now every login from that IP is refused, even the right password.
    for app in [&a, &b] {
        let response = login_as(app, STUFFER, "Alice", PASSWORD).await;
        let wait = retry_after(&response);
        assert!((1..=600).contains(&wait), "Retry-After {wait}");
        assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    }
    // Alice, from her own address, is not affected.
    let response = login_as(&b, "198.51.100.1", "Alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);

    // After the window, the IP may try again.
    a.advance_clock(600);
    let response = login_as(&a, STUFFER, "Alice", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
}
}

backend_test! {
async fn a_network_refused_once_is_refused_from_memory_until_its_window_ends() {
    let a = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_MAX_FAILURES_PER_IP", "2"),
        ("LOGIN_LOCKOUT_SECONDS", "600"),
    ])
    .await;
    let b = a.sibling().await;
    assert_eq!(register_as(&a, "198.51.100.1", "Alice").await.status(), StatusCode::CREATED);
    const FLOOD: &str = "203.0.113.9";
    for name in ["alice", "bob"] {
        let response = login_as(&a, FLOOD, name, "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    // Instance a hears the database refuse the network once.
    let refused = login_as(&a, FLOOD, "Alice", PASSWORD).await;
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;

    // The stored count goes (an operator's hand): instance b, which never
    // saw the refusal, asks the database and checks the password again;
    // instance a refuses from memory, with the time left in the window.
    execute(&a, "DELETE FROM ip_limits");
    let checked = login_as(&b, FLOOD, "alice", "wrong password").await;
    assert_eq!(checked.status(), StatusCode::UNAUTHORIZED);
    let remembered = login_as(&a, FLOOD, "Alice", PASSWORD).await;
    let wait = retry_after(&remembered);
    assert!((1..=600).contains(&wait), "Retry-After {wait}");
    assert_error(remembered, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(count(&a, "SELECT COUNT(*) AS n FROM ip_limits"), 1, "a's refusal wrote nothing");

    // Only that network, and only until its window ends.
    let other = login_as(&a, "203.0.113.10", "Alice", PASSWORD).await;
    assert_eq!(other.status(), StatusCode::OK);
    a.advance_clock(600);
    let later = login_as(&a, FLOOD, "Alice", PASSWORD).await;
    assert_eq!(later.status(), StatusCode::OK);
}
}

backend_test! {
async fn ended_windows_are_purged() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    for i in 0..5 {
        let ip = format!("203.0.113.{i}");
        let response = login_as(&app, &ip, "nobody", "wrong password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let rows = || count(&app, "SELECT COUNT(*) AS n FROM ip_limits");
    assert_eq!(rows(), 5);
    app.advance_clock(900);
    eventually(|| rows() == 0).await;
    assert_eq!(rows(), 0);
}
}

backend_test! {
async fn parallel_registrations_from_one_ip_never_exceed_the_limit() {
    let a = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REGISTER_MAX_PER_IP_PER_HOUR", "3"),
    ])
    .await;
    let b = a.sibling().await;
    let attempts = (0..10).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move { register_as(app, "203.0.113.9", &format!("user{i}")).await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        tally(&statuses, StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS),
        (3, 7),
        "{statuses:?}"
    );
}
}

backend_test! {
async fn probing_for_taken_names_is_limited_like_signing_up() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REGISTER_MAX_PER_IP_PER_HOUR", "3"),
    ])
    .await;
    assert_eq!(register_as(&app, "198.51.100.1", "Alice").await.status(), StatusCode::CREATED);
    const PROBER: &str = "203.0.113.9";
    for name in ["alice", "ALICE", "Alice"] {
        assert_eq!(register_as(&app, PROBER, name).await.status(), StatusCode::CONFLICT);
    }
    // The fourth probe learns nothing: taken or not, it is refused.
    for name in ["alice", "free_name"] {
        let response = register_as(&app, PROBER, name).await;
        assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    }
}
}

backend_test! {
async fn parallel_wrong_logins_from_one_network_get_no_more_checks_than_the_limit() {
    let a = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_MAX_FAILURES_PER_IP", "5"),
        ("LOGIN_LOCKOUT_SECONDS", "600"),
    ])
    .await;
    let b = a.sibling().await;
    // Forty wrong passwords for forty names at once, on two instances.
    let attempts = (0..40).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        async move { login_as(app, "203.0.113.9", &format!("user{i}"), "wrong").await.status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        tally(&statuses, StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS),
        (5, 35),
        "only five got a password check: {statuses:?}"
    );
    assert_eq!(
        count(&a, "SELECT COALESCE(SUM(hits), 0) AS n FROM ip_limits WHERE kind = 'login_failure'"),
        5
    );
}
}

backend_test! {
async fn a_right_password_gives_its_reservation_back() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("LOGIN_MAX_FAILURES_PER_IP", "2"),
    ])
    .await;
    const IP: &str = "203.0.113.9";
    assert_eq!(register_as(&app, "198.51.100.1", "Alice").await.status(), StatusCode::CREATED);
    // Any number of right passwords: none counts as a failure.
    for _ in 0..4 {
        assert_eq!(login_as(&app, IP, "Alice", PASSWORD).await.status(), StatusCode::OK);
    }
    assert_eq!(login_as(&app, IP, "Alice", "wrong").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(login_as(&app, IP, "Alice", PASSWORD).await.status(), StatusCode::OK);
}
}

backend_test! {
async fn an_ipv6_client_is_counted_by_its_network_and_recorded_by_its_address() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REGISTER_MAX_PER_IP_PER_HOUR", "2"),
    ])
    .await;
    // One customer's /64: rotating addresses inside it buys nothing.
    let first = app.user("first").forwarded_for("2001:db8:1:2::1").register().await;
    assert_eq!(register_as(&app, "2001:db8:1:2:ffff:ffff:ffff:ffff", "second").await.status(), StatusCode::CREATED);
    let response = register_as(&app, "2001:db8:1:2:abcd::9", "third").await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    // The next /64 is another client.
    assert_eq!(register_as(&app, "2001:db8:1:3::1", "third").await.status(), StatusCode::CREATED);
    // Events (and sessions) keep the whole address.
    let events: serde_json::Value = app.events(&first, "").await.json().await.unwrap();
    let registered = &events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(registered["kind"], "registered", "{events}");
    assert_eq!(registered["ip"], "2001:db8:1:2::1", "{events}");
}
}

backend_test! {
async fn a_shorter_ipv6_prefix_counts_a_wider_network() {
    let app = spawn_app_with(&[
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("REGISTER_MAX_PER_IP_PER_HOUR", "1"),
        ("IPV6_LIMIT_PREFIX", "48"),
    ])
    .await;
    assert_eq!(register_as(&app, "2001:db8:1:2::1", "first").await.status(), StatusCode::CREATED);
    let response = register_as(&app, "2001:db8:1:ffff::1", "second").await;
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert_eq!(register_as(&app, "2001:db8:2::1", "second").await.status(), StatusCode::CREATED);
}
}

/// A flood of password checks (wrong passwords for many names, as from a
/// botnet that no per-network limit stops) is turned away at once with
/// `503` once the hashing queue holds more than DATABASE_TIMEOUT_SECONDS of
/// work, instead of queuing without bound in front of every honest login.
/// In a process of its own: the hashing threads are the process's.
#[tokio::test]
async fn a_flood_of_password_checks_is_turned_away_not_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (_child, port, _output) = crate::support::spawn_binary(
        dir.path(),
        &[("BCRYPT_COST", "10"), ("DATABASE_TIMEOUT_SECONDS", "1")],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = crate::support::registered_on(&base, "honest").await;

    let flood = (0..150).map(|i| {
        let (client, base) = (reqwest::Client::new(), base.clone());
        async move {
            client
                .post(format!("{base}/login"))
                .json(&json!({"username": format!("bot{i}"), "password": "wrong"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    });
    let probe = async {
        // A session check needs no hash: it is answered during the flood.
        client
            .get(format!("{base}/check_session"))
            .send()
            .await
            .unwrap()
            .status()
    };
    let (statuses, probed) = tokio::join!(futures_util::future::join_all(flood), probe);

    assert_eq!(probed, StatusCode::OK);
    let (checked, refused) = tally(
        &statuses,
        StatusCode::UNAUTHORIZED,
        StatusCode::SERVICE_UNAVAILABLE,
    );
    assert_eq!(checked + refused, 150, "only 401 or 503: {statuses:?}");
    assert!(
        checked >= 2 && refused >= 10,
        "checked {checked}, refused {refused}"
    );
    // The queue drains: an honest login gets through afterwards.
    let login = client
        .post(format!("{base}/login"))
        .json(&json!({"username": "honest", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
}

backend_test! {
async fn sign_in_starts_per_ip_are_limited_across_instances_and_store_nothing_past_it() {
    use crate::providers::{location, spawn, Kind, APP};

    let limit = [
        ("TRUSTED_PROXIES", "127.0.0.1"),
        ("SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR", "3"),
    ];
    let Some((_github, a)) = spawn(Kind::Github, &limit).await else { return };
    let b = a.sibling().await;
    const IP: &str = "203.0.113.9";
    // Browsers that follow no redirect: the start's answer is the test's.
    let start = |app: &TestApp, ip: &str, return_to: &str| {
        app.client()
            .get(app.url(&format!("/auth/github/start?return_to={return_to}")))
            .header("X-Forwarded-For", ip)
            .send()
    };
    let options = |app: &TestApp, ip: &str| {
        app.client()
            .post(app.url("/login/passkey/options"))
            .header("X-Forwarded-For", ip)
            .json(&json!({}))
            .send()
    };
    let flows = || count(&a, "SELECT COUNT(*) AS n FROM provider_flows");
    let challenges = || count(&a, "SELECT COUNT(*) AS n FROM webauthn_challenges");

    // Three, from either instance, of either kind: a start, options, a
    // start whose return_to is too long to keep.
    let too_long = format!("/{}", "a".repeat(600));
    assert!(location(&start(&a, IP, "/blog").await.unwrap()).starts_with("http://127.0.0.1:"));
    assert_eq!(options(&b, IP).await.unwrap().status(), StatusCode::OK);
    assert!(location(&start(&b, IP, &too_long).await.unwrap()).starts_with("http://127.0.0.1:"));
    assert_eq!((flows(), challenges()), (2, 1));
    let kept = count(&a, "SELECT COUNT(*) AS n FROM provider_flows WHERE return_to = '/'");
    assert_eq!(kept, 1, "a return_to over 512 bytes counts as absent");

    // The fourth of either kind, on either instance: refused, nothing stored.
    for app in [&a, &b] {
        let refused = start(app, IP, "/blog").await.unwrap();
        assert_eq!(refused.status(), StatusCode::FOUND);
        assert_eq!(location(&refused), format!("{APP}/login?error=too_many_requests"));
        let refused = options(app, IP).await.unwrap();
        let wait = retry_after(&refused);
        assert!((1..=3600).contains(&wait), "Retry-After {wait}");
        assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    }
    assert_eq!((flows(), challenges()), (2, 1), "a refused start stored something");
    // Never another network's problem, and a new hour starts anew.
    assert_eq!(options(&a, "203.0.113.10").await.unwrap().status(), StatusCode::OK);
    a.advance_clock(3_600);
    b.advance_clock(3_600);
    assert_eq!(options(&b, IP).await.unwrap().status(), StatusCode::OK);
}
}
