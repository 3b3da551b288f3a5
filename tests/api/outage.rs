//! A database outage: requests answer `503 unavailable` (never `500`, never a
//! misleading `401`), `/health` says so, and service resumes by itself when
//! the database returns — no restart. SQLite's form of this (a lock held
//! past the busy timeout) is in `errors.rs`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::fakes::proxy::Proxy;
use crate::support::{assert_error, assert_logged_in, on_postgres, spawn_app};

/// A proxy in front of `app`'s PostgreSQL server, and the app's database URL
/// through it.
async fn through_a_proxy(app: &crate::support::TestApp) -> (Proxy, url::Url) {
    let server = url::Url::parse(&app.database_url).unwrap();
    let target = format!(
        "{}:{}",
        server.host_str().unwrap(),
        server.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(target.parse().unwrap()).await;
    let mut proxied = server;
    proxied.set_port(Some(proxy.port)).unwrap();
    (proxy, proxied)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_answers_503_and_service_resumes_by_itself() {
    on_postgres(async {
        let direct = spawn_app().await;
        let (mut proxy, proxied) = through_a_proxy(&direct).await;
        let app = direct
            .sibling_with(&[
                ("DATABASE_URL", proxied.as_str()),
                ("DATABASE_TIMEOUT_SECONDS", "1"),
            ])
            .await;
        let client = app.logged_in_client("Alice").await;

        proxy.cut();

        let guarded = app.get(&client, "/blog").await;
        assert_error(guarded, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        let check = app.check_session(&client).await;
        assert_error(check, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        let login = app
            .login(&app.client(), "Alice", crate::support::PASSWORD)
            .await;
        assert_error(login, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
        let health = app.get(&app.client(), "/health").await;
        assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
        let health: Value = health.json().await.unwrap();
        assert_eq!(
            health,
            serde_json::json!({"status": "unavailable", "database": "unreachable"})
        );

        proxy.restore().await;

        let mut healthy = false;
        for _ in 0..20 {
            if app.get(&app.client(), "/health").await.status() == StatusCode::OK {
                healthy = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert!(healthy, "service resumed without a restart");
        assert_eq!(
            app.check_session(&client).await.status(),
            StatusCode::OK,
            "the session survived the outage"
        );
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_while_postgres_is_down_waits_for_it() {
    on_postgres(async {
        let direct = spawn_app().await;
        let (mut proxy, proxied) = through_a_proxy(&direct).await;
        proxy.cut();

        // Start-up runs while the database is away; it must wait rather
        // than fail (a failure would panic inside `sibling_with`).
        let settings = [
            ("DATABASE_URL", proxied.as_str()),
            ("DATABASE_TIMEOUT_SECONDS", "1"),
        ];
        let starting = direct.sibling_with(&settings);
        let returning = async {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            proxy.restore().await;
        };
        let (app, ()) = tokio::join!(starting, returning);

        let health = app.get(&app.client(), "/health").await;
        assert_eq!(health.status(), StatusCode::OK);
        let client = app.logged_in_client("Alice").await;
        assert_logged_in(&direct, &client).await;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_nobody_saw_stays_unseen() {
    on_postgres(async {
        let direct = spawn_app().await;
        let (proxy, proxied) = through_a_proxy(&direct).await;
        let app = direct
            .sibling_with(&[
                ("DATABASE_URL", proxied.as_str()),
                ("DATABASE_POOL_SIZE", "4"),
            ])
            .await;
        let client = app.logged_in_client("Alice").await;
        assert_eq!(app.blog_post(&client, 1).await.status(), StatusCode::OK);
        // Warm the pool: parallel requests open every pooled connection.
        let warm: Vec<_> = (0..16).map(|_| app.blog_post(&client, 1)).collect();
        for response in futures_util::future::join_all(warm).await {
            assert_eq!(response.status(), StatusCode::OK);
        }

        // The database drops every connection while no request arrives.
        proxy.sever();

        // Every request afterwards succeeds: the first to meet a dead
        // connection is run again on a good one, and the other dead ones
        // are found before they are handed out.
        for path in [
            "/check_session",
            "/blog/1",
            "/blog",
            "/sessions",
            "/account",
        ] {
            let response = app.get(&client, path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
        }
        let parallel: Vec<_> = (0..16).map(|_| app.check_session(&client)).collect();
        for response in futures_util::future::join_all(parallel).await {
            assert_eq!(response.status(), StatusCode::OK);
        }
        assert_eq!(
            app.get(&app.client(), "/health").await.status(),
            StatusCode::OK
        );
    })
    .await
}
