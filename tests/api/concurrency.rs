//! The invariants under parallel requests: the meter never over-grants,
//! parallel opens of one post cost one read, one name registers once, and
//! the counts insights keep are shared without a deadlock.

use futures_util::future::join_all;
use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::support::db::{add_posts, count};
use crate::support::{
    spawn_app, spawn_app_and_user, spawn_app_with, spawn_app_with_user, tally, TestApp, PASSWORD,
};

backend_test! {
async fn twenty_parallel_reads_of_distinct_posts_unlock_exactly_free_reads() {
    let app = spawn_app().await;
    add_posts(&app);
    let client = app.logged_in_client("Alice").await;

    let paths: Vec<String> = (1..=20).map(|id| format!("/blog/{id}")).collect();

    let responses = join_all(paths.iter().map(|path| app.get(&client, path))).await;

    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(
        tally(&statuses, StatusCode::OK, StatusCode::PAYMENT_REQUIRED),
        (5, 15),
        "{statuses:?}"
    );
    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"]["used"], 5);
    assert_eq!(unlock_count(&app), 5);
}
}

backend_test! {
async fn twenty_parallel_reads_of_one_new_post_use_one_read() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let responses = join_all((0..20).map(|_| app.blog_post(&client, 7))).await;

    assert!(responses.iter().all(|r| r.status() == StatusCode::OK));
    let list: Value = app.get(&client, "/blog").await.json().await.unwrap();
    assert_eq!(list["meter"]["used"], 1);
    assert_eq!(unlock_count(&app), 1);
}
}

backend_test! {
async fn ten_parallel_registrations_of_one_name_give_exactly_one_account() {
    let app = spawn_app().await;
    let names = [
        "carol", "CAROL", "Carol", "cArol", "caRol", "carOl", "caroL", "CArol", "caROL", "CaRoL",
    ];

    let app = &app;
    let responses = join_all(names.iter().map(|name| async move {
        app.register(&app.client(), name).await
    }))
    .await;

    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert_eq!(
        tally(&statuses, StatusCode::CREATED, StatusCode::CONFLICT),
        (1, 9),
        "{statuses:?}"
    );
    let users = count(app, "SELECT COUNT(*) AS n FROM users");
    assert_eq!(users, 1);
}
}

backend_test! {
async fn parallel_logins_and_reads_never_answer_5xx() {
    let (app, client) = spawn_app_and_user("Alice").await;

    let app = &app;
    let logins = (0..10).map(|_| async move {
        app.login(&app.client(), "alice", PASSWORD).await.status()
    });
    let reads = (1..=12).map(|id| {
        let client = client.clone();
        let url = app.url(&format!("/blog/{id}"));
        async move { client.get(url).send().await.unwrap().status() }
    });
    let (logins, reads) = tokio::join!(join_all(logins), join_all(reads));

    assert!(logins.iter().all(|s| *s == StatusCode::OK), "{logins:?}");
    assert!(reads.iter().all(|s| !s.is_server_error()), "{reads:?}");
}
}

/// `n` readers who each read posts 1 to `reads` (their month's free
/// reads), and `n` others who read nothing yet.
async fn spent_and_fresh(app: &TestApp, n: usize, reads: u32) -> (Vec<Client>, Vec<Client>) {
    let mut spent = Vec::new();
    let mut fresh = Vec::new();
    for i in 0..n {
        let client = app.logged_in_client(&format!("spent{i}")).await;
        for id in 1..=reads {
            assert_eq!(app.blog_post(&client, id).await.status(), 200);
        }
        spent.push(client);
        fresh.push(app.logged_in_client(&format!("fresh{i}")).await);
    }
    (spent, fresh)
}

fn unlock_count(app: &TestApp) -> i64 {
    count(app, "SELECT COUNT(*) AS n FROM unlocks")
}

// bcrypt runs on the blocking pool: while logins hash at a real cost,
// other requests keep being answered. Asserted by order of completion, not
// by a time limit: every session check finishes before any login does.
backend_test! {
async fn slow_logins_do_not_hold_up_other_requests() {
    let (app, client) = spawn_app_with_user(&[("BCRYPT_COST", "12")], "Alice").await;
    let started = std::time::Instant::now();

    let app = &app;
    let logins = (0..2).map(|_| {
        async move {
            app.login(&app.client(), "Alice", PASSWORD).await;
            started.elapsed()
        }
    });
    let checks = async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        for _ in 0..10 {
            let response = app.check_session(&client).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
        started.elapsed()
    };
    let (logins_done, checks_done) = tokio::join!(join_all(logins), checks);

    let first_login = logins_done.iter().min().unwrap();
    assert!(
        checks_done < *first_login,
        "checks took {checks_done:?}; the first login finished at {first_login:?}"
    );
}
}

// Many readers at once, so that their requests share batches (and on
// PostgreSQL, the batch's one read-ahead of sessions and meters): each
// still gets the answer of its own session and its own meter.
backend_test! {
async fn parallel_readers_each_get_their_own_session_and_meter() {
    let app = spawn_app().await;
    add_posts(&app);
    // Spent: all five reads used on posts 1-5. Fresh: none used.
    // Gone: logged out.
    let (spent, fresh) = spent_and_fresh(&app, 6, 5).await;
    let gone = app.logged_in_client("gone").await;
    assert_eq!(app.logout(&gone).await.status(), 204);

    let mut requests = Vec::new();
    for (i, client) in spent.iter().enumerate() {
        // Re-reads, and a new post twice (two refusals, one event).
        for id in 1..=4 {
            requests.push((client, format!("/blog/{}", (i + id) % 5 + 1), 200, 5));
        }
        requests.push((client, "/blog/13".to_owned(), 402, 5));
        requests.push((client, "/blog/14".to_owned(), 402, 5));
    }
    for (i, client) in fresh.iter().enumerate() {
        requests.push((client, format!("/blog/{}", 13 + i), 200, 1));
    }
    for _ in 0..12 {
        requests.push((&gone, "/blog/1".to_owned(), 401, 0));
    }
    let responses = join_all(requests.iter().map(|(client, path, ..)| app.get(client, path))).await;

    for ((_, path, status, used), response) in requests.iter().zip(responses) {
        assert_eq!(response.status().as_u16(), *status, "{path}");
        if *status == 401 {
            continue;
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["meter"]["used"], *used, "{path}: {body}");
    }
    assert_eq!(count(&app, "SELECT COUNT(*) AS n FROM unlocks"), 6 * 5 + 6);
    assert_eq!(
        count(&app, "SELECT COUNT(*) AS n FROM events WHERE kind = 'paywall'"),
        6,
        "one paywall event per spent reader"
    );
}
}

backend_test! {
async fn first_reads_and_refusals_of_one_post_in_parallel_are_all_answered_and_counted() {
    // A post's first readers and the readers it refuses both add to the
    // post's tallies and to the day's counts: rows every one of them
    // shares, which they must all take in one order.
    let app = spawn_app_with(&[("FREE_READS", "6")]).await;
    add_posts(&app);
    let (spent, fresh) = spent_and_fresh(&app, 12, 6).await;

    // The month's first refusal (with its notice), then refusals only
    // counted, each beside as many first reads of the same post.
    for id in 13..=18 {
        let reads = fresh.iter().map(|client| (client, 200));
        let refusals = spent.iter().map(|client| (client, 402));
        let requests: Vec<_> = reads.chain(refusals).collect();
        let path = format!("/blog/{id}");
        let responses =
            join_all(requests.iter().map(|(client, _)| app.get(client, &path))).await;
        for ((_, status), response) in requests.iter().zip(responses) {
            assert_eq!(response.status().as_u16(), *status, "{path}");
        }
        // Running totals: the latest row holds them, whatever the day.
        let tallies = |column: &str| {
            count(
                &app,
                &format!(
                    "SELECT CAST({column} AS BIGINT) AS n FROM post_tallies \
                     WHERE post_id = {id} ORDER BY day DESC LIMIT 1"
                ),
            )
        };
        assert_eq!(tallies("first_readers"), 12, "{path}");
        assert_eq!(tallies("paywall_hits"), 12, "{path}");
    }
}
}
