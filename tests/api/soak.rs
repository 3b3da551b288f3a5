//! Soak: a bounded mixed workload (`TOLLGATE_SOAK_SECONDS`, 15 s by default;
//! `.ci/run` uses 60; run 600 by hand) with zero 5xx and zero socket errors,
//! memory flat after warm-up, and the sessions table bounded because
//! expired sessions are purged.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::db::count;
use crate::support::{spawn_app, spawn_binary, PASSWORD};

#[derive(Default)]
struct Tally {
    requests: AtomicUsize,
    server_errors: AtomicUsize,
    socket_errors: AtomicUsize,
}

impl Tally {
    fn record(
        &self,
        result: Result<reqwest::Response, reqwest::Error>,
    ) -> Option<reqwest::Response> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(response) => {
                if response.status().is_server_error() {
                    self.server_errors.fetch_add(1, Ordering::Relaxed);
                }
                Some(response)
            }
            Err(_) => {
                self.socket_errors.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

async fn user_journeys(base: String, worker: usize, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let name = format!("soak{worker}x{i}");
        let Some(r) = tally.record(
            client
                .post(format!("{base}/register"))
                .json(&json!({"username": name, "password": PASSWORD}))
                .send()
                .await,
        ) else {
            continue;
        };
        if r.status() != StatusCode::CREATED {
            continue;
        }
        for post in 1..=8 {
            tally.record(client.get(format!("{base}/blog/{post}")).send().await);
            tally.record(client.get(format!("{base}/check_session")).send().await);
        }
        tally.record(client.get(format!("{base}/blog?per_page=5")).send().await);
        tally.record(
            client
                .post(format!("{base}/login"))
                .json(&json!({"username": name, "password": "wrong password"}))
                .send()
                .await,
        );
        tally.record(
            client
                .post(format!("{base}/login"))
                .json(&json!({"username": name, "password": PASSWORD}))
                .send()
                .await,
        );
        tally.record(client.get(format!("{base}/sessions")).send().await);
        if i % 2 == 0 {
            tally.record(client.delete(format!("{base}/logout")).send().await);
        }
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

backend_test! {
async fn a_mixed_workload_stays_clean_flat_and_bounded() {
    let seconds: u64 = std::env::var("TOLLGATE_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let secret = "soak-test-secret-".repeat(5);
    let env = [
        ("DATABASE_URL", app.database_url.as_str()),
        ("SESSION_SECRET", secret.as_str()),
        ("SESSION_TTL_SECONDS", "2"),
        ("PURGE_INTERVAL_SECONDS", "1"),
        ("LOGIN_LOCKOUT_SECONDS", "2"),
        ("RUST_LOG", "warn,tollgate=info,tollgate::access=warn"),
    ];
    let (mut child, port, output) = spawn_binary(dir.path(), &env);
    let base = format!("http://127.0.0.1:{port}");
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let workers: Vec<_> = (0..4)
        .map(|w| tokio::spawn(user_journeys(base.clone(), w, stop.clone(), tally.clone())))
        .collect();

    let started = Instant::now();
    let total = Duration::from_secs(seconds);
    tokio::time::sleep(total / 4).await;
    let warm = rss_kib(child.id());
    let mut peak = warm;
    while started.elapsed() < total {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(rss_kib(child.id()));
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    // Every session has been idle for longer than its lifetime after this,
    // and the purge has run since.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let sessions = count(&app, "SELECT COUNT(*) AS n FROM sessions");
    let users = count(&app, "SELECT COUNT(*) AS n FROM users");
    let _ = child.kill();
    let _ = child.wait();

    let requests = tally.requests.load(Ordering::Relaxed);
    eprintln!(
        "soak: {seconds} s, {requests} requests, {users} users; RSS {warm} KiB after warm-up, peak {peak} KiB"
    );
    assert!(requests > 100, "the load ran");
    assert_eq!(tally.server_errors.load(Ordering::Relaxed), 0, "5xx answers: {}", output.lock().unwrap());
    assert_eq!(tally.socket_errors.load(Ordering::Relaxed), 0, "socket errors");
    assert!(peak <= warm + warm / 2 + 4_096, "RSS grew from {warm} KiB to {peak} KiB");
    assert_eq!(sessions, 0, "expired sessions were purged");
}
}
