//! Database round trips per request, counted with Diesel's instrumentation
//! (every statement sent is one round trip; connections are opened and
//! their statements prepared before counting starts). Its own test binary,
//! so that no other test's queries are counted.
//!
//! On PostgreSQL: `check_session` costs one round trip, a metered re-read or
//! refusal two (the session, then the batch's read-ahead of the meter), and
//! a new unlock three (the read-ahead, then the statement that claims a
//! slot: unlocks are at most FREE_READS a month, re-reads are most reads).
//! Under load the session and meter reads are shared by a whole batch.
//! `cargo test --test round_trips -- --nocapture` prints the figures.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use reqwest::StatusCode;

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::{on_postgres, on_sqlite, spawn_app_with, TestApp};

static QUERIES: AtomicUsize = AtomicUsize::new(0);

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { .. } = event {
            QUERIES.fetch_add(1, Ordering::SeqCst);
        }
    }))
}

/// The statements one request sends.
async fn count(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, usize) {
    QUERIES.store(0, Ordering::SeqCst);
    let status = app.get(client, path).await.status();
    (status, QUERIES.load(Ordering::SeqCst))
}

struct Figures {
    check_session: usize,
    re_read: usize,
    new_unlock: usize,
    paywalled: usize,
    first_refusal: usize,
}

async fn measure() -> Figures {
    let app = spawn_app_with(&[("FREE_READS", "6"), ("DATABASE_POOL_SIZE", "1")]).await;
    let client = app.logged_in_client("Alice").await;
    // Let the pool's connection and the first purge settle, and send every
    // statement once so that none is counted while being prepared.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for path in ["/check_session", "/blog/1", "/blog/1", "/blog/2"] {
        app.get(&client, path).await;
    }

    let (status, check_session) = count(&app, &client, "/check_session").await;
    assert_eq!(status, StatusCode::OK);
    let (status, re_read) = count(&app, &client, "/blog/1").await;
    assert_eq!(status, StatusCode::OK);
    let (status, new_unlock) = count(&app, &client, "/blog/3").await;
    assert_eq!(status, StatusCode::OK);
    for id in 4..=6 {
        app.get(&client, &format!("/blog/{id}")).await;
    }
    // The month's first refusal also writes its `paywall` event (once per
    // user and month); the refusals after it are the steady state.
    let (status, first_refusal) = count(&app, &client, "/blog/7").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let (status, paywalled) = count(&app, &client, "/blog/8").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    Figures {
        check_session,
        re_read,
        new_unlock,
        paywalled,
        first_refusal,
    }
}

fn report(backend: &str, f: &Figures) {
    println!(
        "{backend}: check_session {} | metered re-read {} | new unlock {} | paywalled {} (the month's first: {})",
        f.check_session, f.re_read, f.new_unlock, f.paywalled, f.first_refusal
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_per_request() {
    set_default_instrumentation(counting).expect("instrumentation");

    on_sqlite(async {
        let figures = measure().await;
        report("sqlite", &figures);
        assert_eq!(figures.check_session, 1);
        assert!(figures.re_read <= 2);
    })
    .await;

    on_postgres(async {
        let figures = measure().await;
        report("postgres", &figures);
        assert_eq!(figures.check_session, 1, "check_session");
        assert!(figures.re_read <= 2, "re-read: {}", figures.re_read);
        assert!(
            figures.new_unlock <= 3,
            "new unlock: {}",
            figures.new_unlock
        );
        assert!(figures.paywalled <= 2, "paywalled: {}", figures.paywalled);
        // The read, then BEGIN, the notice, the event, COMMIT.
        assert!(
            figures.first_refusal <= 6,
            "first refusal: {}",
            figures.first_refusal
        );
    })
    .await;
}
