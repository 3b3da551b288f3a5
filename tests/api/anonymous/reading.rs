//! A browser's meter: what it may open without a session, the wall past
//! it, and the rules members' reads follow (free, premium, `HEAD`,
//! `Sec-Fetch-Dest`), under parallel requests on two instances, and per
//! network however many browsers it makes.

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::Value;

use super::{app_reading, open, opened, reader_cookie_set};
use crate::support::db::{count, execute};
use crate::support::{assert_error, spawn_app, tally, TestApp};

backend_test! {
async fn without_anonymous_reads_a_post_needs_a_session() {
    let app = spawn_app().await;

    let response = open(&app, &app.client(), 1).await;

    assert!(reader_cookie_set(&response).is_none());
    assert_error(response, StatusCode::UNAUTHORIZED, "not_logged_in").await;
    let head = app.send(&app.client(), "HEAD", "/blog/1").await;
    assert_eq!(head.status(), StatusCode::UNAUTHORIZED);
}
}

backend_test! {
async fn a_browser_reads_its_allowance_then_meets_the_registration_wall() {
    let app = app_reading("2", &[]).await;
    let browser = app.client();

    let first = open(&app, &browser, 1).await;
    let cookie = reader_cookie_set(&first).expect("the reader cookie is set on the first read");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["meter"]["limit"], 2);
    assert_eq!(body["meter"]["used"], 1);
    assert_eq!(body["meter"]["remaining"], 1);

    // A re-read spends nothing, and sets no cookie again.
    let again = open(&app, &browser, 1).await;
    assert!(reader_cookie_set(&again).is_none());
    assert_eq!(again.json::<Value>().await.unwrap()["meter"]["used"], 1);
    // By slug, the same post and the same open.
    let slug = body["slug"].as_str().unwrap().to_owned();
    let by_slug: Value = app.get(&browser, &format!("/blog/{slug}")).await.json().await.unwrap();
    assert_eq!((by_slug["id"].clone(), by_slug["meter"]["used"].clone()), (1.into(), 1.into()));

    assert_eq!(opened(&app, &browser, 2).await, 2);
    let walled = assert_error(
        open(&app, &browser, 3).await,
        StatusCode::PAYMENT_REQUIRED,
        "registration_required",
    )
    .await;
    assert_eq!(walled["meter"]["used"], 2);
    assert_eq!(walled["meter"]["remaining"], 0);
    // What it opened stays open to it.
    assert_eq!(opened(&app, &browser, 2).await, 2);
    assert_error(open(&app, &browser, 9999).await, StatusCode::NOT_FOUND, "not_found").await;

    // Only the cookie's hash is stored.
    let value = cookie.split(';').next().unwrap().trim_start_matches("tollgate_reader=");
    assert_eq!(count(&app, &format!("SELECT COUNT(*) AS n FROM anonymous_unlocks WHERE reader LIKE '%{value}%'")), 0);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM anonymous_unlocks WHERE reader LIKE 'b:%'"), 2);

    // Another browser has a meter of its own.
    assert_eq!(opened(&app, &app.client(), 3).await, 1);
}
}

backend_test! {
async fn free_posts_spend_nothing_premium_posts_are_for_premium_readers() {
    let app = app_reading("1", &[]).await;
    execute(&app, "UPDATE posts SET access = 'free' WHERE id = 1");
    execute(&app, "UPDATE posts SET access = 'premium' WHERE id = 2");
    let browser = app.client();

    assert_eq!(opened(&app, &browser, 1).await, 0);
    let refused = assert_error(open(&app, &browser, 2).await, StatusCode::PAYMENT_REQUIRED, "premium_required").await;
    assert_eq!(refused["meter"]["used"], 0);
    assert_eq!(opened(&app, &browser, 3).await, 1);
    // Past the meter, a free post still opens and a premium one is still
    // premium's, not the wall's.
    assert_eq!(opened(&app, &browser, 1).await, 1);
    assert_error(open(&app, &browser, 2).await, StatusCode::PAYMENT_REQUIRED, "premium_required").await;
    assert_error(open(&app, &browser, 4).await, StatusCode::PAYMENT_REQUIRED, "registration_required").await;
}
}

backend_test! {
async fn head_and_what_a_page_loads_without_script_spend_nothing_and_set_no_cookie() {
    let app = app_reading("1", &[]).await;
    let browser = app.client();

    let head = app.send(&browser, "HEAD", "/blog/1").await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(reader_cookie_set(&head).is_none());
    let image = app.get_with(&browser, "/blog/1", &[("Sec-Fetch-Dest", "image")]).await;
    assert!(reader_cookie_set(&image).is_none());
    assert_error(image, StatusCode::FORBIDDEN, "forbidden_origin").await;
    let cross_site = app
        .get_with(&browser, "/blog/1", &[("Sec-Fetch-Site", "cross-site"), ("Origin", "https://evil.example")])
        .await;
    assert_error(cross_site, StatusCode::FORBIDDEN, "forbidden_origin").await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM anonymous_unlocks"), 0);

    assert_eq!(opened(&app, &browser, 1).await, 1);
    // A HEAD past the meter is told what a GET would get, and walls nothing.
    let head = app.send(&browser, "HEAD", "/blog/2").await;
    assert_eq!(head.status(), StatusCode::PAYMENT_REQUIRED);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM registration_walls"), 0);
}
}

backend_test! {
async fn anonymous_reads_open_only_reading_posts() {
    let app = app_reading("3", &[]).await;
    let browser = app.client();

    for (method, path) in [
        ("POST", "/blog/1/gift"),
        ("GET", "/blog/1/gift"),
        ("POST", "/blog/1"),
        ("DELETE", "/blog/1"),
        ("GET", "/account"),
        ("GET", "/blog/1/2"),
    ] {
        let response = app.send(&browser, method, path).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
    assert_error(app.get(&browser, "/blog/0").await, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(app.get(&browser, "/blog/-1").await, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM anonymous_unlocks"), 0);
}
}

/// Opens posts `ids` at once from `browser`, half through `app` and half
/// through `other`: how many were answered `200` and how many walled.
async fn open_at_once(
    app: &TestApp,
    other: &TestApp,
    browser: &reqwest::Client,
    ids: &[i64],
) -> (usize, usize) {
    let answers = join_all(ids.iter().enumerate().map(|(i, id)| {
        let on = if i % 2 == 0 { app } else { other };
        open(on, browser, *id)
    }))
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    tally(&statuses, StatusCode::OK, StatusCode::PAYMENT_REQUIRED)
}

backend_test! {
async fn parallel_opens_on_two_instances_never_pass_the_browsers_limit() {
    let app = app_reading("3", &[]).await;
    let other = app.sibling().await;
    let browser = app.client();
    // The first read gives the browser its cookie.
    assert_eq!(opened(&app, &browser, 12).await, 1);

    let (ok, walled) = open_at_once(&app, &other, &browser, &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).await;

    assert_eq!((ok, walled), (2, 8));
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM anonymous_unlocks"), 3);
    // Parallel opens of one new post cost one read.
    let fresh = app.client();
    assert_eq!(opened(&app, &fresh, 12).await, 1);
    let (ok, _) = open_at_once(&app, &other, &fresh, &[5; 8]).await;
    assert_eq!(ok, 8);
    assert_eq!(opened(&app, &fresh, 5).await, 2);
}
}

/// Opens post `id` from a new browser, as a client of `ip` (through the
/// trusted proxy on loopback).
async fn from_network(app: &TestApp, ip: &str, id: i64) -> StatusCode {
    app.get_with(
        &app.client(),
        &format!("/blog/{id}"),
        &[("X-Forwarded-For", ip)],
    )
    .await
    .status()
}

backend_test! {
async fn clearing_cookies_buys_no_more_than_the_networks_day() {
    let app = app_reading(
        "1",
        &[("ANONYMOUS_READS_PER_IP_PER_DAY", "3"), ("TRUSTED_PROXIES", "127.0.0.1")],
    )
    .await;

    // Eight fresh browsers of one network at once: three posts a day.
    let statuses = join_all((1..=8).map(|id| from_network(&app, "203.0.113.7", id))).await;
    assert_eq!(tally(&statuses, StatusCode::OK, StatusCode::PAYMENT_REQUIRED), (3, 5));
    // IPv6 counts by its /64: two addresses of one prefix are one network.
    let v6 = join_all([
        from_network(&app, "2001:db8:1:2::1", 1),
        from_network(&app, "2001:db8:1:2::2", 2),
        from_network(&app, "2001:db8:1:2:ffff::3", 3),
        from_network(&app, "2001:db8:1:2::4", 4),
    ])
    .await;
    assert_eq!(tally(&v6, StatusCode::OK, StatusCode::PAYMENT_REQUIRED), (3, 1));
    // Another network is not affected, and a refused open spent nothing.
    assert_eq!(from_network(&app, "198.51.100.1", 1).await, StatusCode::OK);
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM anonymous_unlocks"), 7);

    // The next day, the network may open posts again.
    app.advance_clock(86_400);
    assert_eq!(from_network(&app, "203.0.113.7", 9).await, StatusCode::OK);
}
}
