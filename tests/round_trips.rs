//! Database statements and round trips per request, counted with Diesel's
//! instrumentation (connections are opened and their statements prepared
//! before counting starts). A statement sent while another is still
//! waiting for its answer shares that one's round trip (pipelined, see
//! `db::read_ahead` and `db::listing`); every other statement is a round trip of its own. Its
//! own test binary, so that no other test's queries are counted.
//!
//! On PostgreSQL: `check_session` costs one round trip; a metered re-read
//! (by id or by slug) or refusal one too, of two statements: the guard reads the meter along
//! with the session, both read-aheads pipelined; a new unlock two (the
//! read-aheads, then the statement that claims a slot: unlocks are at most
//! FREE_READS a month, re-reads are most reads). Under load the session and
//! meter reads are shared by a whole batch. A page of `/blog` costs two:
//! the session, then its totals, rows and the reader's unlocks pipelined.
//! A browser without a session re-reads a post it opened in one round
//! trip (its read-ahead), and opens a new one in two (the read-ahead, then
//! the open's one statement). A change a webhook takes writes its message
//! in one statement of the change's own transaction.
//! `cargo test --test round_trips -- --nocapture` prints the figures.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};
use reqwest::StatusCode;

// The api suite's harness, shared by path: this binary uses a part of it.
#[path = "api/support/mod.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use support::{on_postgres, on_sqlite, spawn_app_with, TestApp};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);
static ROUND_TRIPS: AtomicUsize = AtomicUsize::new(0);
/// Statements sent and not yet answered.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
/// The text of every statement sent since counting last started.
static SENT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn counting() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(|event: InstrumentationEvent<'_>| match event {
        InstrumentationEvent::StartQuery { query, .. } => {
            SENT.lock().unwrap().push(query.to_string());
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
            if IN_FLIGHT.fetch_add(1, Ordering::SeqCst) == 0 {
                ROUND_TRIPS.fetch_add(1, Ordering::SeqCst);
            }
        }
        InstrumentationEvent::FinishQuery { .. } => {
            IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
        }
        _ => {}
    }))
}

/// What one request cost the database.
#[derive(Debug, Clone, Copy)]
struct Cost {
    statements: usize,
    round_trips: usize,
}

/// What one request sends.
async fn count(app: &TestApp, client: &reqwest::Client, path: &str) -> (StatusCode, Cost) {
    counted(app.get(client, path)).await
}

/// What the request `sent` sends.
async fn counted(sent: impl std::future::Future<Output = reqwest::Response>) -> (StatusCode, Cost) {
    STATEMENTS.store(0, Ordering::SeqCst);
    ROUND_TRIPS.store(0, Ordering::SeqCst);
    SENT.lock().unwrap().clear();
    let status = sent.await.status();
    let cost = Cost {
        statements: STATEMENTS.load(Ordering::SeqCst),
        round_trips: ROUND_TRIPS.load(Ordering::SeqCst),
    };
    (status, cost)
}

struct Figures {
    check_session: Cost,
    re_read: Cost,
    re_read_by_slug: Cost,
    new_unlock: Cost,
    paywalled: Cost,
    new_refusal: Cost,
    first_refusal: Cost,
    listing: Cost,
    listing_after: Cost,
    anonymous_open: Cost,
    anonymous_re_read: Cost,
    /// The anonymous re-read's one statement.
    anonymous_re_read_sent: String,
    /// The statements of a change a webhook takes that write its
    /// message, and the messages written.
    webhook_message: (usize, i64),
}

async fn measure() -> Figures {
    let app = spawn_app_with(&[
        ("FREE_READS", "6"),
        ("ANONYMOUS_READS", "3"),
        ("DATABASE_POOL_SIZE", "1"),
    ])
    .await;
    let client = app.logged_in_client("Alice").await;
    // Let the pool's connection and the first purge settle, and send every
    // statement once so that none is counted while being prepared.
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Post 1 by its slug, as a reader's link names it.
    let slug: serde_json::Value = app.get(&client, "/blog/1").await.json().await.unwrap();
    let by_slug = format!("/blog/{}", slug["slug"].as_str().unwrap());
    // Another reader has read post 3: this instance has made its answer,
    // as it has for any post being read (the first read of a version
    // fetches its content once more).
    let other = app.logged_in_client("Bob").await;
    app.get(&other, "/blog/3").await;
    let first: serde_json::Value = app
        .get(&client, "/blog?per_page=5")
        .await
        .json()
        .await
        .unwrap();
    let after = format!("/blog?per_page=5&after={}", first["next"].as_str().unwrap());
    for path in [
        "/check_session",
        "/blog/1",
        "/blog/1",
        "/blog/2",
        by_slug.as_str(),
        "/blog",
        after.as_str(),
    ] {
        app.get(&client, path).await;
    }

    let (status, check_session) = count(&app, &client, "/check_session").await;
    assert_eq!(status, StatusCode::OK);
    let (status, re_read) = count(&app, &client, "/blog/1").await;
    assert_eq!(status, StatusCode::OK);
    let (status, re_read_by_slug) = count(&app, &client, &by_slug).await;
    assert_eq!(status, StatusCode::OK);
    let (status, listing) = count(&app, &client, "/blog").await;
    assert_eq!(status, StatusCode::OK);
    let (status, listing_after) = count(&app, &client, &after).await;
    assert_eq!(status, StatusCode::OK);
    let (status, new_unlock) = count(&app, &client, "/blog/3").await;
    assert_eq!(status, StatusCode::OK);
    for id in 4..=6 {
        app.get(&client, &format!("/blog/{id}")).await;
    }
    // The month's first refusal also writes its `paywall` event (once per
    // user and month); a post's first refusal of the day is counted in
    // insights; the same refusal again is the steady state.
    let (status, first_refusal) = count(&app, &client, "/blog/7").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let (status, new_refusal) = count(&app, &client, "/blog/8").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    let (status, paywalled) = count(&app, &client, "/blog/8").await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED);
    // A browser without a session: its first read (its cookie set, its
    // day marked), a new open, and a re-read of what it opened.
    let browser = app.client();
    app.get(&browser, "/blog/1").await;
    let (status, anonymous_open) = count(&app, &browser, "/blog/2").await;
    assert_eq!(status, StatusCode::OK);
    let (status, anonymous_re_read) = count(&app, &browser, "/blog/2").await;
    assert_eq!(status, StatusCode::OK);
    let anonymous_re_read_sent = SENT.lock().unwrap().last().cloned().unwrap_or_default();
    // A change a webhook takes (the newsletter taken: `member.updated`):
    // its message is written in the change's transaction, in one
    // statement.
    support::db::execute(
        &app,
        "INSERT INTO webhooks (url, events, enabled, secret, created_at) \
         VALUES ('https://hooks.example/', '*', TRUE, 'whsec_AAAA', 0)",
    );
    let body = serde_json::json!({ "newsletter": true });
    let (status, _) = counted(app.patch_json(&client, "/account", &body)).await;
    assert_eq!(status, StatusCode::OK);
    let queued_by = SENT
        .lock()
        .unwrap()
        .iter()
        .filter(|q| q.contains("INSERT INTO webhook_events"))
        .count();
    let queued = support::db::count(&app, "SELECT COUNT(*) AS n FROM webhook_events");
    Figures {
        check_session,
        re_read,
        re_read_by_slug,
        new_unlock,
        paywalled,
        new_refusal,
        first_refusal,
        listing,
        listing_after,
        anonymous_open,
        anonymous_re_read,
        anonymous_re_read_sent,
        webhook_message: (queued_by, queued),
    }
}

fn report(backend: &str, f: &Figures) {
    let show = |c: Cost| format!("{} ({} statements)", c.round_trips, c.statements);
    println!(
        "{backend}, round trips: check_session {} | metered re-read {} (by slug {}) | new unlock {} | paywalled {} (a post's first of the day: {}; the month's first: {}) | /blog {} (after a cursor {}) | anonymous open {}, re-read {}",
        show(f.check_session),
        show(f.re_read),
        show(f.re_read_by_slug),
        show(f.new_unlock),
        show(f.paywalled),
        show(f.new_refusal),
        show(f.first_refusal),
        show(f.listing),
        show(f.listing_after),
        show(f.anonymous_open),
        show(f.anonymous_re_read)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trips_per_request() {
    set_default_instrumentation(counting).expect("instrumentation");

    on_sqlite(async {
        let figures = measure().await;
        report("sqlite", &figures);
        assert_eq!(figures.check_session.statements, 1);
        // The meters' read-ahead (the post with the month's unlocks, by id
        // or by slug alike), then the session: a lone request's is read
        // by itself.
        assert!(figures.re_read.statements <= 2);
        assert!(
            figures.re_read_by_slug.statements <= 2,
            "{:?}",
            figures.re_read_by_slug
        );
        // A refusal seen before: the read-ahead says so too.
        assert!(figures.paywalled.statements <= 2, "{:?}", figures.paywalled);
        // The session, then the totals, the page and the month's unlocks
        // in one read transaction (BEGIN, COMMIT).
        assert!(figures.listing.statements <= 6, "{:?}", figures.listing);
        // A browser's re-read: the read-ahead alone (the one that takes a
        // chunk's keys as a JSON array), no write.
        let f = &figures;
        assert_eq!(f.webhook_message, (1, 1), "a webhook's message");
        let sent = &f.anonymous_re_read_sent;
        assert!(
            sent.contains("json_each(") && sent.contains("anonymous_unlocks"),
            "{sent}"
        );
        assert_eq!(
            f.anonymous_re_read.statements, 1,
            "{:?}",
            f.anonymous_re_read
        );
        // Its new open: the read-ahead, then one write transaction
        // (BEGIN, the month counted, the network's day, the claim, COMMIT).
        assert!(f.anonymous_open.statements <= 8, "{:?}", f.anonymous_open);
    })
    .await;

    on_postgres(async {
        let f = measure().await;
        report("postgres", &f);
        let trips = |c: Cost| c.round_trips;
        assert_eq!(f.check_session.statements, 1, "check_session");
        assert_eq!(trips(f.re_read), 1, "re-read: {:?}", f.re_read);
        assert!(f.re_read.statements <= 2, "re-read: {:?}", f.re_read);
        assert_eq!(
            trips(f.re_read_by_slug),
            1,
            "by slug: {:?}",
            f.re_read_by_slug
        );
        assert!(
            f.re_read_by_slug.statements <= 2,
            "by slug: {:?}",
            f.re_read_by_slug
        );
        // The read-ahead, the unlock, and the day's reader counted (one
        // statement).
        assert!(trips(f.new_unlock) <= 3, "new unlock: {:?}", f.new_unlock);
        assert_eq!(trips(f.paywalled), 1, "paywalled: {:?}", f.paywalled);
        // The session (the guard's), then the totals, the page and the
        // month's unlocks pipelined: one round trip each, by number or
        // after a cursor.
        assert_eq!(trips(f.listing), 2, "/blog: {:?}", f.listing);
        assert_eq!(trips(f.listing_after), 2, "after: {:?}", f.listing_after);
        // The read-ahead, and the refusal counted (one statement).
        assert!(
            trips(f.new_refusal) <= 2,
            "new refusal: {:?}",
            f.new_refusal
        );
        // The read-aheads, then BEGIN, the notice, the event, the refusal
        // counted, COMMIT.
        assert!(
            trips(f.first_refusal) <= 6,
            "first refusal: {:?}",
            f.first_refusal
        );
        // A browser's re-read: one read-only round trip, the chunk's
        // read-ahead; its new open one more, the open's one statement.
        assert_eq!(f.webhook_message, (1, 1), "a webhook's message");
        let (open, re_read) = (f.anonymous_open, f.anonymous_re_read);
        assert_eq!(
            (re_read.round_trips, re_read.statements),
            (1, 1),
            "{re_read:?}"
        );
        assert_eq!((open.round_trips, open.statements), (2, 2), "{open:?}");
        // The read-ahead, whose keys go in as arrays, so that a chunk's
        // reads share it.
        let sent = &f.anonymous_re_read_sent;
        assert!(
            sent.contains("unnest(") && sent.contains("anonymous_unlocks"),
            "{sent}"
        );
    })
    .await;
}
