//! The server's own log output, through a whole session, never contains a
//! password, a password hash, a cookie or a session token — even at the
//! debug level.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::spawn_binary;

#[tokio::test]
async fn no_secret_reaches_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, port, output) = spawn_binary(dir.path(), &[("RUST_LOG", "debug")]);
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
