//! Scale-out on PostgreSQL: TLS to the database (`sslmode` as libpq reads
//! it), instances that stay within their pools, and a real restart of the
//! database under load. The TLS and restart tests run a server of their own
//! (`support/fakes/private_pg.rs`); the pool test uses the machine's (TOLLGATE_TEST_POSTGRES).

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures_util::future::join_all;
use reqwest::StatusCode;

use crate::support::db::{count, count_in, execute};
use crate::support::fakes::private_pg::{make_ca, PrivatePg};
use crate::support::{
    eventually, on_postgres, on_postgres_at, spawn_app_with, spawn_app_with_user, TestApp,
};

fn database_name(app: &TestApp) -> String {
    let url = url::Url::parse(&app.database_url).unwrap();
    url.path().trim_start_matches('/').to_owned()
}

/// `tollgate migrate` against `database_url`.
fn migrate(database_url: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("migrate")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", database_url)
        .env("DATABASE_TIMEOUT_SECONDS", "2")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_talks_to_postgres_over_tls_with_sslmode_require() {
    let Some(server) = PrivatePg::start(true) else {
        return;
    };
    on_postgres_at(&server.url("?sslmode=require"), async {
        let (app, client) = spawn_app_with_user(&[], "Alice").await;
        assert_eq!(app.blog_post(&client, 1).await.status(), StatusCode::OK);

        // The server takes TLS connections only (`hostssl`), and says the
        // app's are encrypted.
        let mut db = app.db();
        let rows = count_in(
            &mut db,
            &format!(
                "SELECT COUNT(*) AS n FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE datname = '{}' AND ssl AND pid <> pg_backend_pid()",
                database_name(&app)
            ),
        );
        assert!(rows >= 1, "the app's connections use TLS");
    })
    .await;
}

#[test]
fn sslmode_verify_full_checks_the_servers_certificate() {
    let Some(server) = PrivatePg::start(true) else {
        return;
    };
    let cert = server.cert.as_ref().unwrap();

    for host in ["127.0.0.1", "localhost"] {
        let url = format!(
            "postgres://postgres@{host}:{}/postgres?sslmode=verify-full&sslrootcert={}",
            server.port,
            cert.display()
        );
        let output = migrate(&url);
        assert!(output.status.success(), "{host}: {}", stderr(&output));
    }

    // A root that did not sign the server's certificate: refused, as with
    // verify-ca, while `require` (encryption, no check) still connects.
    let other = tempfile::tempdir().unwrap();
    let (other_cert, other_key) = (other.path().join("a.crt"), other.path().join("a.key"));
    assert!(make_ca(&other_cert, &other_key));
    for mode in ["verify-full", "verify-ca"] {
        let url = format!(
            "{}?sslmode={mode}&sslrootcert={}",
            server.url(""),
            other_cert.display()
        );
        let output = migrate(&url);
        assert!(!output.status.success(), "{mode} with a foreign root");
        let message = stderr(&output);
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert!(message.contains("certificate"), "{message}");
    }
    let output = migrate(&server.url("?sslmode=require"));
    assert!(output.status.success(), "{}", stderr(&output));
}

#[test]
fn sslmode_require_refuses_a_server_without_tls() {
    let Some(server) = PrivatePg::start(false) else {
        return;
    };

    let output = migrate(&server.url("?sslmode=require"));
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("DATABASE_URL"), "{message}");
    assert!(message.to_lowercase().contains("tls"), "{message}");

    // `prefer` (the default, as with libpq) falls back to a plain
    // connection; `disable` never tries TLS.
    for query in ["", "?sslmode=prefer", "?sslmode=disable"] {
        let output = migrate(&server.url(query));
        assert!(output.status.success(), "{query}: {}", stderr(&output));
    }
}

/// Sends GETs of `paths` from every client, round after round, until
/// `stop`; returns every status seen.
fn load(
    app: &TestApp,
    clients: &[reqwest::Client],
    paths: &'static [&'static str],
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<StatusCode>>> {
    clients
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, client)| {
            let stop = stop.clone();
            let base = app.address.clone();
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut n = i;
                while !stop.load(Ordering::Relaxed) {
                    let path = paths[n % paths.len()];
                    n += 1;
                    match client.get(format!("{base}{path}")).send().await {
                        Ok(response) => seen.push(response.status()),
                        Err(e) => panic!("{path}: no answer: {e}"),
                    }
                }
                seen
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_under_load_costs_503s_for_the_outage_only() {
    let Some(server) = PrivatePg::start(false) else {
        return;
    };
    let server = Arc::new(server);
    on_postgres_at(&server.url(""), async {
        let pool_size = 4;
        let app = spawn_app_with(&[
            ("DATABASE_POOL_SIZE", "4"),
            ("DATABASE_TIMEOUT_SECONDS", "2"),
        ])
        .await;
        let mut clients = Vec::new();
        for i in 0..8 {
            clients.push(app.logged_in_client(&format!("reader{i}")).await);
        }
        const PATHS: &[&str] = &["/check_session", "/blog/1", "/blog"];

        // Load, and a real restart (every connection ended) in its middle.
        let stop = Arc::new(AtomicBool::new(false));
        let during = load(&app, &clients, PATHS, stop.clone());
        let restarting = server.clone();
        tokio::task::spawn_blocking(move || restarting.restart())
            .await
            .unwrap();
        stop.store(true, Ordering::Relaxed);
        let mut seen = Vec::new();
        for task in join_all(during).await {
            seen.extend(task.unwrap());
        }
        assert!(!seen.is_empty());
        assert!(
            seen.iter()
                .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
            "only 200s and 503s while the database restarts: {seen:?}"
        );

        // With the database back, no request fails: the connections it
        // ended are not handed out again.
        let app = &app;
        for _ in 0..10 {
            let round = clients.iter().enumerate().map(|(i, client)| {
                let path = PATHS[i % PATHS.len()];
                async move { (path, app.get(client, path).await.status()) }
            });
            for (path, status) in join_all(round).await {
                assert_eq!(status, StatusCode::OK, "{path}, after the restart");
            }
        }
        // And none of the connections is stuck: the pool holds at most its
        // size.
        let name = database_name(app);
        let connections = server.connections_to(&name);
        assert!(
            (1..=pool_size).contains(&connections),
            "{connections} connections for a pool of {pool_size}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_instances_stay_within_four_pools_of_connections() {
    on_postgres(async {
        let pool = ("DATABASE_POOL_SIZE", "3");
        let first = spawn_app_with(&[pool]).await;
        let mut apps = vec![first.sibling_with(&[pool]).await];
        apps.push(first.sibling_with(&[pool]).await);
        apps.push(first.sibling_with(&[pool]).await);
        apps.push(first);
        let name = database_name(&apps[0]);
        let mut clients = Vec::new();
        for (i, app) in apps.iter().enumerate() {
            for j in 0..6 {
                clients.push((app, app.logged_in_client(&format!("r{i}x{j}")).await));
            }
        }

        // Count the connections to the database while every instance is
        // under load.
        let stop = Arc::new(AtomicBool::new(false));
        let mut db = apps[0].db();
        let (counting, sampler_stop) = (name.clone(), stop.clone());
        let sampler = tokio::task::spawn_blocking(move || {
            let mut most = 0;
            while !sampler_stop.load(Ordering::Relaxed) {
                let rows = count_in(
                    &mut db,
                    &format!(
                        "SELECT COUNT(*) AS n FROM pg_stat_activity \
                     WHERE datname = '{counting}' AND pid <> pg_backend_pid()"
                    ),
                );
                most = most.max(rows);
                std::thread::yield_now();
            }
            most
        });
        for _ in 0..10 {
            let round = clients.iter().enumerate().map(|(i, (app, client))| {
                let path = ["/check_session", "/blog/1", "/blog", "/account"][i % 4];
                app.get(client, path)
            });
            for response in join_all(round).await {
                assert_eq!(response.status(), StatusCode::OK);
            }
        }
        stop.store(true, Ordering::Relaxed);
        let most = sampler.await.unwrap();
        assert!(
            (4..=12).contains(&most),
            "{most} connections from 4 instances with pools of 3"
        );
    })
    .await;
}

/// How many rows PostgreSQL's statistics of `posts` counted (-1: never
/// analyzed), rounded: `ANALYZE` sets it in the same transaction.
fn counted_posts(app: &TestApp) -> i64 {
    count(
        app,
        "SELECT reltuples::bigint AS n FROM pg_class WHERE oid = 'posts'::regclass",
    )
}

/// Posts added in bulk, with autovacuum off for the table as some servers
/// run it: the purge (woken by moving the clock) finds the published posts
/// have outgrown twice what the statistics counted plus a thousand, and
/// analyzes the table, so that the plans the app's connections made on
/// thirteen posts are made again; short of that it leaves them alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_purge_analyzes_posts_once_they_outgrow_their_statistics() {
    on_postgres(async {
        let app = spawn_app_with(&[("PURGE_INTERVAL_SECONDS", "3600")]).await;
        // A session for the purge to delete, the sign of a purge done.
        let _alice = app.logged_in_client("Alice").await;
        execute(&app, "ALTER TABLE posts SET (autovacuum_enabled = false)");
        execute(&app, "ANALYZE posts");
        let demo = counted_posts(&app);
        assert!((12..20).contains(&demo), "{demo}");
        let add = |from: i64, to: i64| {
            execute(
                &app,
                &format!(
                    "INSERT INTO posts (title, body, html, excerpt, slug, status, access,
                                        published_at, created_at, updated_at)
                     SELECT 'Bulk ' || i, 'body', '<p>body</p>', 'body', 'bulk-' || i,
                            'published', 'metered', 1, 1, 1
                     FROM generate_series({from}, {to}) AS i"
                ),
            )
        };

        // Within the slack: left as counted, after a purge that did run
        // (its expired session is gone, and the check comes before it).
        add(1, 900);
        execute(&app, "UPDATE sessions SET expires_at = 0");
        app.advance_clock(1);
        eventually(|| count(&app, "SELECT COUNT(*) AS n FROM sessions") == 0).await;
        assert_eq!(counted_posts(&app), demo);

        // Past it: analyzed by the next purge.
        add(901, 1_100);
        app.advance_clock(1);
        let total = count(&app, "SELECT COUNT(*) AS n FROM posts");
        eventually(|| counted_posts(&app) == total).await;

        // And the readers' paths answer as before.
        let client = app.logged_in_client("Bob").await;
        assert_eq!(app.get(&client, "/blog/3").await.status(), StatusCode::OK);
        assert_eq!(
            app.get(&client, "/blog/bulk-1000").await.status(),
            StatusCode::OK
        );
    })
    .await;
}
