//! A real webhook receiver on loopback for the tests: a small Python HTTP
//! server (`webhook_receiver.py`) that verifies every message with
//! Standard Webhooks' own library (PyPI `standardwebhooks`) and records
//! what it got, answering the status a test asks for. Killed when dropped.
//! Where Python has no `standardwebhooks`, the tests that need it report
//! themselves skipped, like the mail tests without `aiosmtpd`.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::super::free_port;

/// Whether `python3` can import `standardwebhooks`; if not, says the test
/// is skipped.
pub fn available() -> bool {
    super::python_has(
        "standardwebhooks",
        "Standard Webhooks' library",
        "standardwebhooks",
    )
}

pub struct Receiver {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
}

impl Receiver {
    /// Starts a receiver on a free port, or `None` (reported skipped).
    pub async fn start() -> Option<Receiver> {
        if !available() {
            return None;
        }
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/support/fakes");
        // A free port may be taken by another test's server before Python
        // binds it: then Python exits, and the receiver starts again on
        // another. It is ours once it answers its own `/_received`.
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new("python3")
                .arg(here.join("webhook_receiver.py"))
                .arg(port.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 starts");
            let http = reqwest::Client::new();
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut exited = false;
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if child.try_wait().ok().flatten().is_some() {
                    exited = true;
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the webhook receiver did not start"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let ours = !exited
                && http
                    .get(format!("http://127.0.0.1:{port}/_received"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
                && child.try_wait().ok().flatten().is_none();
            if ours {
                return Some(Receiver { child, port, http });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the webhook receiver did not start on any of five ports");
    }

    /// The URL a webhook points at (`/hook` + `path`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/hook{path}", self.port)
    }

    /// Verify with `secrets` (each alone), answer `status`, and judge
    /// timestamps against a clock `offset` seconds ahead (the app's).
    pub async fn configure(&self, secrets: &[&str], status: u16, offset: i64) {
        let config =
            json!({ "secrets": secrets, "status": status, "offset": offset, "location": null });
        self.http
            .post(format!("http://127.0.0.1:{}/_config", self.port))
            .json(&config)
            .send()
            .await
            .expect("the receiver answers");
    }

    /// Answers every verified message `status` with `Location: location`.
    pub async fn redirect(&self, secrets: &[&str], status: u16, location: &str) {
        let config =
            json!({ "secrets": secrets, "status": status, "offset": 0, "location": location });
        self.http
            .post(format!("http://127.0.0.1:{}/_config", self.port))
            .json(&config)
            .send()
            .await
            .expect("the receiver answers");
    }

    /// Records each message from now on at once but answers it only after
    /// `seconds` (0: at once again).
    pub async fn hold(&self, seconds: u64) {
        self.http
            .post(format!("http://127.0.0.1:{}/_hold", self.port))
            .json(&json!({ "seconds": seconds }))
            .send()
            .await
            .expect("the receiver answers");
    }

    /// Every message so far.
    pub async fn received(&self) -> Vec<Value> {
        self.http
            .get(format!("http://127.0.0.1:{}/_received", self.port))
            .send()
            .await
            .expect("the receiver answers")
            .json()
            .await
            .expect("JSON")
    }

    /// Waits up to 20 s for at least `n` messages; all that came.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let got = self.received().await;
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
