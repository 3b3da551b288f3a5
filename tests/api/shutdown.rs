//! Graceful shutdown: on SIGTERM the server stops accepting connections,
//! finishes the requests it has, and exits 0.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{spawn_binary, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_logins_in_flight_finish_and_refuses_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    // A real bcrypt cost, so that twenty logins take a while to hash, and
    // a wait for the hashing threads long enough that a loaded machine
    // does not turn them away (503): what is tested is the shutdown.
    let (mut child, port, output) = spawn_binary(
        dir.path(),
        &[
            ("BCRYPT_COST", "10"),
            ("DATABASE_TIMEOUT_SECONDS", "60"),
            ("RUST_LOG", "info"),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for i in 0..20 {
        let response = client
            .post(format!("{base}/register"))
            .json(&json!({"username": format!("user{i}"), "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
    }

    let logins = join_all((0..20).map(|i| {
        let url = format!("{base}/login");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"username": format!("user{i}"), "password": PASSWORD}))
                .send()
                .await
                .map(|r| r.status())
        }
    }));
    let terminate = async {
        // Let every login reach the server, then ask it to stop.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        tokio::time::sleep(Duration::from_millis(150)).await;
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    };
    let (statuses, new_connection_accepted) = tokio::join!(logins, terminate);

    for status in &statuses {
        assert_eq!(status.as_ref().ok(), Some(&StatusCode::OK), "{statuses:?}");
    }
    assert!(
        !new_connection_accepted,
        "a new connection was accepted during shutdown"
    );
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        exit.success(),
        "exit status {exit:?}: {}",
        output.lock().unwrap()
    );
}
