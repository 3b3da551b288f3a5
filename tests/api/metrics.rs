//! `/metrics` on METRICS_ADDR: Prometheus text format, counters that move
//! with the requests, route labels that are patterns.

use reqwest::StatusCode;

use crate::support::{spawn_app_with, spawn_app_with_user, TestApp, PASSWORD};

pub async fn scrape(app: &TestApp) -> String {
    let address = app.metrics_address.as_ref().expect("METRICS_ADDR is set");
    let response = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    response.text().await.unwrap()
}

/// The value of one series (`name{labels}` exactly as exposed), 0 if absent.
pub fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

backend_test! {
async fn counters_move_with_logins_reads_and_refusals() {
    let (app, client) = spawn_app_with_user(&[("METRICS_ADDR", "127.0.0.1:0"), ("FREE_READS", "1")], "Alice").await;
    let before = scrape(&app).await;

    assert_eq!(app.login(&client, "Alice", PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(app.login(&client, "Alice", "wrong password").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login(&client, "Alice", PASSWORD).await.status(), StatusCode::OK);
    for (path, status) in [
        ("/blog/1", StatusCode::OK),
        ("/blog/1", StatusCode::OK),
        ("/blog/2", StatusCode::PAYMENT_REQUIRED),
        ("/no/such/path/42", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(app.get(&client, path).await.status(), status);
    }
    // Refused before routing, without a cookie: still counted under the
    // route, and a parameterised one too.
    let anonymous = app.client();
    for path in ["/blog", "/blog/1"] {
        assert_eq!(app.get(&anonymous, path).await.status(), StatusCode::UNAUTHORIZED);
    }
    // A CORS preflight, answered by the CORS layer without routing: still
    // counted under its route.
    let preflight = app.preflight("/blog/1", "http://localhost:5173", "GET").await;
    assert_eq!(preflight.status(), StatusCode::OK);
    let after = scrape(&app).await;

    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        moved(r#"tollgate_http_requests_total{method="OPTIONS",route="/blog/{id}",status="200"}"#),
        1.0
    );
    assert_eq!(moved(r#"tollgate_logins_total{outcome="success"}"#), 2.0);
    assert_eq!(moved(r#"tollgate_logins_total{outcome="failure"}"#), 1.0);
    assert_eq!(moved(r#"tollgate_paywall_reads_total{outcome="granted"}"#), 1.0);
    assert_eq!(moved(r#"tollgate_paywall_reads_total{outcome="reread"}"#), 1.0);
    assert_eq!(moved(r#"tollgate_paywall_reads_total{outcome="refused"}"#), 1.0);
    assert_eq!(
        moved(r#"tollgate_http_requests_total{method="GET",route="/blog/{id}",status="402"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"tollgate_http_requests_total{method="GET",route="/blog/{id}",status="200"}"#),
        2.0
    );
    assert_eq!(
        moved(r#"tollgate_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0
    );
    assert_eq!(moved(r#"tollgate_http_requests_total{method="GET",route="/blog",status="401"}"#), 1.0);
    assert_eq!(
        moved(r#"tollgate_http_requests_total{method="GET",route="/blog/{id}",status="401"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"tollgate_http_requests_total{method="POST",route="/login",status="200"}"#),
        2.0
    );
    // No raw path ever becomes a label.
    assert!(!after.contains("/blog/1\"") && !after.contains("/no/such"));
    assert_eq!(moved(r#"tollgate_http_request_duration_seconds_count{route="/login"}"#), 3.0);
    assert!(after.contains("# TYPE tollgate_http_request_duration_seconds histogram"));
    assert_eq!(value(&after, r#"tollgate_build_info{version="0.1.0"}"#), 1.0);
    assert_eq!(value(&after, "tollgate_mail_outbox_pending"), 0.0);
    assert_eq!(value(&after, "tollgate_newsletter_messages_pending"), 0.0);
    assert!(after.contains(r#"tollgate_db_pool_connections{state="idle"}"#));
    assert!(after.contains(r#"tollgate_db_pool_connections{state="in_use"}"#));
}
}

backend_test! {
async fn metrics_are_never_served_on_the_api_address() {
    let (app, client) = spawn_app_with_user(&[("METRICS_ADDR", "127.0.0.1:0")], "Alice").await;
    assert_eq!(app.get(&client, "/metrics").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.get(&app.client(), "/metrics").await.status(), StatusCode::UNAUTHORIZED);
}
}

backend_test! {
async fn without_metrics_addr_there_is_no_listener() {
    let app = spawn_app_with(&[]).await;
    assert!(app.metrics_address.is_none());
}
}

backend_test! {
async fn a_two_step_sign_in_counts_once_when_its_second_step_answers() {
    let app = spawn_app_with(&[("METRICS_ADDR", "127.0.0.1:0")]).await;
    let alice = crate::two_factor::enrolled(&app, "Alice").await;
    let before = scrape(&app).await;
    let browser = crate::two_factor::pending(&app, "Alice").await;
    let wrong = crate::two_factor::second_step(&app, &browser, serde_json::json!({"code": "000000"})).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let code = crate::two_factor::code(&app, &alice.secret, 0);
    let right = crate::two_factor::second_step(&app, &browser, serde_json::json!({"code": code})).await;
    assert_eq!(right.status(), StatusCode::OK);
    let after = scrape(&app).await;
    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(moved(r#"tollgate_logins_total{outcome="success"}"#), 1.0);
    assert_eq!(moved(r#"tollgate_logins_total{outcome="failure"}"#), 1.0);
    assert_eq!(
        moved(r#"tollgate_http_requests_total{method="POST",route="/login/two-factor",status="200"}"#),
        1.0
    );
}
}
