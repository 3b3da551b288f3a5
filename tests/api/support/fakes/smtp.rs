//! A real SMTP server on loopback for the tests: `aiosmtpd` (from PyPI),
//! saving each message it accepts into a maildir, started per test on a
//! free port and killed when dropped. It refuses mail to `refused@…` for
//! good (`550`, `smtp_handler.py`), as a server does for a mailbox that
//! does not exist. Where Python has no `aiosmtpd`, the
//! tests that need it report themselves skipped, like the PostgreSQL ones.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use super::super::free_port;

/// `smtp://127.0.0.1:{port}`.
pub fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}")
}

/// Whether `python3` can import `aiosmtpd`; if not, says the test is skipped.
pub fn available() -> bool {
    super::python_has("aiosmtpd", "a real SMTP server", "aiosmtpd")
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    dir: TempDir,
}

impl SmtpServer {
    /// Starts a server on a free port, or `None` (reported skipped) when
    /// `aiosmtpd` is missing.
    pub async fn start() -> Option<SmtpServer> {
        if !available() {
            return None;
        }
        Some(SmtpServer::start_on(free_port()).await)
    }

    /// Starts a server on `port` (for a test that has pointed the app at a
    /// port before anything listened there). Call [`available`] first.
    pub async fn start_on(port: u16) -> SmtpServer {
        SmtpServer::start_with(port, None, None).await
    }

    /// Starts a server that holds the message titled `subject` that comes
    /// after `after` others titled so: it keeps its sender waiting until
    /// [`SmtpServer::release`], then answers `451` (try again later)
    /// without keeping it (`smtp_handler.py`). `None` where `aiosmtpd` is
    /// missing.
    pub async fn start_holding(subject: &str, after: usize) -> Option<SmtpServer> {
        if !available() {
            return None;
        }
        Some(SmtpServer::start_with(free_port(), Some((subject, after)), None).await)
    }

    /// Starts a server that answers `451` (try again later) the first time
    /// a message titled `subject` comes for an address starting with
    /// `prefix`, and takes it after (`smtp_handler.py`). `None` where
    /// `aiosmtpd` is missing.
    pub async fn start_deferring_once(subject: &str, prefix: &str) -> Option<SmtpServer> {
        if !available() {
            return None;
        }
        Some(SmtpServer::start_with(free_port(), None, Some((subject, prefix))).await)
    }

    async fn start_with(
        port: u16,
        hold: Option<(&str, usize)>,
        defer: Option<(&str, &str)>,
    ) -> SmtpServer {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/support/fakes");
        let mut command = Command::new("python3");
        command.env("PYTHONPATH", here);
        if let Some((subject, after)) = hold {
            command
                .env("SMTP_HOLD_SUBJECT", subject)
                .env("SMTP_HOLD_AFTER", after.to_string())
                .env("SMTP_HOLD_DIR", dir.path());
        }
        if let Some((subject, prefix)) = defer {
            command
                .env("SMTP_DEFER_SUBJECT", subject)
                .env("SMTP_DEFER_PREFIX", prefix)
                .env("SMTP_HOLD_DIR", dir.path());
        }
        let child = command
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "smtp_handler.RefusingMailbox"])
            .arg(dir.path().join("maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let server = SmtpServer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the SMTP server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// Whether the server holds the message it was told to hold.
    pub fn holding(&self) -> bool {
        self.dir.path().join("held").exists()
    }

    /// Whether a message to `address` was deferred once.
    pub fn deferred(&self, address: &str) -> bool {
        self.dir.path().join(format!("deferred-{address}")).exists()
    }

    /// Lets the held message go (answered `451`, not kept).
    pub fn release(&self) {
        std::fs::write(self.dir.path().join("release"), b"").expect("the release file");
    }

    pub fn url(&self) -> String {
        smtp_url(self.port)
    }

    /// Every message the server has accepted, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        read_messages(&self.dir.path().join("maildir").join("new"))
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a message file sorts among its folder's, oldest first: a maildir
/// name is `{secs}.M{micros}P{pid}Q{count}.{host}` (Python's `mailbox`, one
/// process per test server, so `count` orders them; `micros` is not
/// zero-padded, so the name itself does not sort), read as numbers. A
/// MAIL_DIR name (`20261125T101500Z-000000000042-alice@example.com.eml`)
/// sorts by itself, as the app promises: it counts as `(0, 0)`, and the
/// name decides.
fn arrival(name: &str) -> (u64, u64) {
    let number = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(u64::MAX)
    };
    match name.find('Q') {
        Some(q) if name.contains(".M") => (number(name), number(&name[q + 1..])),
        _ => (0, 0),
    }
}

/// The messages in a folder (a maildir's `new/`, or MAIL_DIR's `.eml`
/// files), oldest first.
pub fn read_messages(dir: &Path) -> Vec<Mail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    paths.sort_by_cached_key(|p| {
        let name = p.file_name().unwrap_or_default().to_string_lossy();
        (arrival(&name), name.into_owned())
    });
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|raw| Mail { raw })
        .collect()
}

/// One delivered message, as the recipient's mailbox has it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
}

impl Mail {
    /// Whether the message was addressed to `address`.
    pub fn is_to(&self, address: &str) -> bool {
        self.raw
            .lines()
            .any(|l| l.starts_with("To:") && l.contains(address))
    }

    pub fn subject(&self) -> String {
        self.raw
            .lines()
            .find_map(|l| l.strip_prefix("Subject: "))
            .unwrap_or_default()
            .to_owned()
    }

    /// The text a mail client shows: the body, quoted-printable decoded
    /// when it is sent so.
    pub fn text(&self) -> String {
        let raw = self.raw.replace("\r\n", "\n");
        let (headers, body) = raw.split_once("\n\n").unwrap_or(("", &raw));
        let body = body.to_owned();
        if !headers.to_ascii_lowercase().contains("quoted-printable") {
            return body;
        }
        let joined = body.replace("=\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The token of the link `{APP_URL}{path}?token=…` in the message, as a
    /// user clicking it would send it.
    pub fn token(&self, path: &str) -> Option<String> {
        let text = self.text();
        let marker = format!("http://localhost:5173{path}?token=");
        let start = text.find(&marker)? + marker.len();
        let token: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .collect();
        (!token.is_empty()).then_some(token)
    }
}

#[test]
fn messages_sort_by_arrival_not_by_name() {
    // Two maildir messages in one second: the second's microseconds have
    // more digits, so by name it would come first.
    let first = "1790000000.M99999P7Q1.host";
    let second = "1790000000.M100000P7Q2.host";
    assert!(second < first);
    assert!(arrival(first) < arrival(second));
}
