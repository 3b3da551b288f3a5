//! The server's own log output, through a whole session, never contains a
//! password, a password hash, a cookie or a session token — even at the
//! debug level.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::json;

/// Starts the real binary and returns it with its port and its output so far.
fn start_binary(dir: &std::path::Path) -> (std::process::Child, u16, Arc<Mutex<String>>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .current_dir(dir)
        .env("PORT", "0")
        .env("BCRYPT_COST", "4")
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let output = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let errors = output.clone();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        errors.lock().unwrap().push_str(&text);
    });
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let lines = output.clone();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(port) = line
                .split("http://127.0.0.1:")
                .nth(1)
                .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|p| p.parse::<u16>().ok())
            {
                let _ = port_tx.send(port);
            }
            lines.lock().unwrap().push_str(&line);
            lines.lock().unwrap().push('\n');
        }
    });
    let port = port_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the server says where it listens");
    (child, port, output)
}

#[tokio::test]
async fn no_secret_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, output) = start_binary(dir.path());
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let password = "Sup3r-secret-passphrase!";
    let new_password = "An0ther-secret-passphrase!";

    let registered = client
        .post(format!("{base}/register"))
        .json(&json!({"username": "Logan", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
    let mut cookies: Vec<String> = registered
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    client
        .post(format!("{base}/login"))
        .json(&json!({"username": "logan", "password": "a wrong one, also secret"}))
        .send()
        .await
        .unwrap();
    let login = client
        .post(format!("{base}/login"))
        .json(&json!({"username": "logan", "password": password, "stay_signed_in": true}))
        .send()
        .await
        .unwrap();
    cookies.extend(
        login
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned()),
    );
    client
        .get(format!("{base}/check_session"))
        .send()
        .await
        .unwrap();
    client.get(format!("{base}/blog/1")).send().await.unwrap();
    let changed = client
        .post(format!("{base}/password"))
        .json(&json!({"current_password": password, "new_password": new_password}))
        .send()
        .await
        .unwrap();
    cookies.extend(
        changed
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned()),
    );
    client
        .delete(format!("{base}/logout"))
        .send()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(std::time::Duration::from_millis(200));

    let log = output.lock().unwrap().clone();
    assert!(
        log.contains("request"),
        "the access log was captured: {log}"
    );
    for secret in [password, new_password, "a wrong one, also secret"] {
        assert!(!log.contains(secret), "a password is in the log");
    }
    for cookie in &cookies {
        let value = cookie
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("session=");
        if value.len() > 8 {
            assert!(!log.contains(value), "a cookie value is in the log");
            let decoded = value
                .replace("%2F", "/")
                .replace("%3D", "=")
                .replace("%2B", "+");
            // The token is the part after the 44-character signature.
            let token = decoded.get(44..).unwrap_or(&decoded);
            assert!(!log.contains(token), "a session token is in the log");
        }
    }
    assert!(!log.contains("$2b$"), "a bcrypt hash is in the log");
}
