//! The app under test: each test starts the real application on a random
//! port with a fresh database — SQLite in its own temporary folder, or a
//! new PostgreSQL database created for the test and dropped after it — and
//! talks to it over HTTP with a cookie-keeping client, as a browser or SPA
//! would. A test that must kill or signal a process starts the real binary
//! instead ([`spawn_binary`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use actix_web::dev::ServerHandle;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use reqwest::Client;
use tempfile::TempDir;
use tollgate::clock::Clock;
use tollgate::config::Settings;
use tollgate::startup::Application;

use super::db::PgConnection;

/// Which database the current test runs on.
#[derive(Clone)]
pub enum TestBackend {
    Sqlite,
    /// The server URL from `TOLLGATE_TEST_POSTGRES`, and where a test run
    /// by [`run_on_postgres`] keeps its databases until its runtime stops.
    Postgres(String, Option<Kept>),
}

/// A test's PostgreSQL databases, dropped with the last of these.
type Kept = Arc<Mutex<Vec<Arc<PgDatabase>>>>;

tokio::task_local! {
    static BACKEND: TestBackend;
}

/// Runs a test body on SQLite.
pub async fn on_sqlite(body: impl std::future::Future<Output = ()>) {
    BACKEND.scope(TestBackend::Sqlite, body).await
}

/// Runs a test body on PostgreSQL.
pub async fn on_postgres(body: impl std::future::Future<Output = ()>) {
    BACKEND
        .scope(TestBackend::Postgres(postgres_server(), None), body)
        .await
}

/// Runs a test body on PostgreSQL on a runtime of its own (as
/// `#[tokio::test]` would make it). The databases
/// the test made are dropped once that runtime has stopped, not when the
/// test lets go of its apps: an app's work still winding down as the
/// runtime stops (a batch whose leading request was dropped goes out from
/// its `Drop`) then finds its database, instead of waiting
/// DATABASE_TIMEOUT_SECONDS for a connection to one that is gone.
pub fn run_on_postgres(body: impl std::future::Future<Output = ()>) {
    let server = postgres_server();
    // Declared before the runtime, so dropped after it, panic or not.
    let kept = Kept::default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(BACKEND.scope(TestBackend::Postgres(server, Some(kept.clone())), body));
}

/// The server the PostgreSQL halves run on: `TOLLGATE_TEST_POSTGRES`, or
/// else the machine's own on its usual port, checked once. A PostgreSQL
/// test never passes without running: with no server there, each fails
/// and says how to leave them out (then counted as filtered out).
pub fn postgres_server() -> String {
    static SERVER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    const LOCAL: &str = "postgres://postgres@127.0.0.1:5432/";
    let server = SERVER.get_or_init(|| match std::env::var("TOLLGATE_TEST_POSTGRES") {
        Ok(server) if !server.is_empty() => Some(server),
        _ => {
            let address = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
            let timeout = std::time::Duration::from_secs(2);
            std::net::TcpStream::connect_timeout(&address, timeout)
                .ok()
                .map(|_| LOCAL.to_owned())
        }
    });
    server.clone().unwrap_or_else(|| {
        panic!(
            "no PostgreSQL server at {LOCAL}: start one, name another in \
             TOLLGATE_TEST_POSTGRES, or leave these tests out with \
             `cargo test -- --skip postgres`"
        )
    })
}

/// Runs a test body on PostgreSQL at `server` (a server URL, as
/// TOLLGATE_TEST_POSTGRES would be): a private server (`private_pg`).
pub async fn on_postgres_at(server: &str, body: impl std::future::Future<Output = ()>) {
    BACKEND
        .scope(TestBackend::Postgres(server.to_owned(), None), body)
        .await
}

fn current_backend() -> TestBackend {
    BACKEND
        .try_with(TestBackend::clone)
        .unwrap_or(TestBackend::Sqlite)
}

/// A PostgreSQL database made for one test, dropped when the test ends
/// (with the last of its handles: see [`run_on_postgres`]).
pub struct PgDatabase {
    server: String,
    name: String,
}

impl PgDatabase {
    fn create(server: &str) -> PgDatabase {
        let name = format!("tollgate_test_{}", tollgate::session::token::public_id());
        let mut admin = PgConnection::establish(server).expect("the PostgreSQL test server");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("a test database");
        PgDatabase {
            server: server.to_owned(),
            name,
        }
    }

    fn url(&self) -> String {
        let mut url = url::Url::parse(&self.server).expect("a PostgreSQL URL");
        url.set_path(&self.name);
        url.to_string()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.server) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Where a test's data lives, and the clock its instances share; kept
/// alive across restarts.
struct Storage {
    dir: TempDir,
    postgres: Option<Arc<PgDatabase>>,
    clock: Clock,
}

/// A password that passes every register rule.
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// `http://127.0.0.1:<port>` of `/metrics`, when the test set
    /// METRICS_ADDR (`127.0.0.1:0` picks a free port).
    pub metrics_address: Option<String>,
    /// The SQLite file (on SQLite runs).
    pub db_path: PathBuf,
    /// What `DATABASE_URL` is set to, for running the CLI on the same data.
    pub database_url: String,
    vars: Vec<(String, String)>,
    storage: Arc<Storage>,
    handle: ServerHandle,
}

/// Starts the app with the contract's defaults, except a cheap bcrypt cost.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with some settings overridden (`("FREE_READS", "3")`).
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    let postgres = match current_backend() {
        TestBackend::Sqlite => None,
        TestBackend::Postgres(server, kept) => {
            let database = Arc::new(PgDatabase::create(&server));
            if let Some(kept) = kept {
                kept.lock().unwrap().push(database.clone());
            }
            Some(database)
        }
    };
    let storage = Arc::new(Storage {
        dir: tempfile::tempdir().expect("a temporary folder"),
        postgres,
        clock: Clock::system(),
    });
    let vars = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    start(storage, vars).await
}

async fn start(storage: Arc<Storage>, vars: Vec<(String, String)>) -> TestApp {
    let db_path = storage.dir.path().join("tollgate.db");
    let database_url = match &storage.postgres {
        None => db_path.display().to_string(),
        Some(pg) => pg.url(),
    };
    let mut map: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), database_url.clone()),
        ("PORT".into(), "0".into()),
        ("BCRYPT_COST".into(), "4".into()),
        ("WORKERS".into(), "2".into()),
        ("DATABASE_POOL_SIZE".into(), "4".into()),
        // Every test client is 127.0.0.1: the per-IP limits are out of the
        // way unless a test sets them (tests/api/limits.rs).
        ("REGISTER_MAX_PER_IP_PER_HOUR".into(), "1000000000".into()),
        ("FORGOT_MAX_PER_IP_PER_HOUR".into(), "1000000000".into()),
        (
            "SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR".into(),
            "1000000000".into(),
        ),
        ("LOGIN_MAX_FAILURES_PER_IP".into(), "1000000000".into()),
        // Messages (when no SMTP_URL is set) go into the test's own folder.
        (
            "MAIL_DIR".into(),
            storage.dir.path().join("mail").display().to_string(),
        ),
    ]);
    if storage.postgres.is_some() {
        // Instances on PostgreSQL share a key; there is no file beside it.
        map.insert("SESSION_SECRET".into(), "test-secret-".repeat(8));
    }
    map.extend(vars.iter().cloned());
    let settings = Settings::from_lookup(|k| map.get(k).cloned()).expect("valid test settings");
    let app = Application::build_with_clock(settings, storage.clock.clone())
        .await
        .expect("the app starts");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        metrics_address: metrics_port.map(|p| format!("http://127.0.0.1:{p}")),
        db_path,
        database_url,
        vars,
        storage,
        handle,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Moves the clock of this app (and of its restarts and siblings)
    /// forward, instead of sleeping: the server acts as if `secs` seconds
    /// had passed.
    pub fn advance_clock(&self, secs: u64) {
        self.storage
            .clock
            .advance(std::time::Duration::from_secs(secs));
    }

    /// The app's clock now, in Unix seconds (for signing a webhook event
    /// as Stripe would at this moment).
    pub fn now(&self) -> i64 {
        self.storage.clock.now()
    }

    /// A new browser: its own cookie jar.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client")
    }

    /// A client that keeps no cookies (curl-like), for replaying raw ones.
    pub fn bare_client(&self) -> Client {
        Client::builder().build().expect("a client")
    }

    /// A CORS preflight for a JSON `method` request to `path` from
    /// `origin`, as a browser sends it (no cookie).
    pub async fn preflight(&self, path: &str, origin: &str, method: &str) -> reqwest::Response {
        self.bare_client()
            .request(reqwest::Method::OPTIONS, self.url(path))
            .header("origin", origin)
            .header("access-control-request-method", method)
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .expect("request sent")
    }

    /// Stops this server and starts a new one on the same database (and
    /// the same kept session secret), with `extra` settings on top.
    pub async fn restart_with(self, extra: &[(&str, &str)]) -> TestApp {
        self.handle.stop(true).await;
        let mut vars = self.vars.clone();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        start(self.storage.clone(), vars).await
    }

    /// A second instance on the same database, with the same settings, as
    /// behind a load balancer. Cookies are per host, not per port, so one
    /// client's jar serves both instances, as a browser's would.
    pub async fn sibling(&self) -> TestApp {
        start(self.storage.clone(), self.vars.clone()).await
    }

    /// A second instance on the same data with some settings changed (a
    /// `DATABASE_URL` through a [`super::fakes::proxy::Proxy`], say).
    pub async fn sibling_with(&self, extra: &[(&str, &str)]) -> TestApp {
        let mut vars = self.vars.clone();
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        start(self.storage.clone(), vars).await
    }

    /// Where this app writes messages when no SMTP_URL is set.
    pub fn mail_dir(&self) -> PathBuf {
        self.storage.dir.path().join("mail")
    }

    /// Stops this instance's server (and its background work) but keeps
    /// its data, for a test that goes on with other processes on it.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    pub async fn restart(self) -> TestApp {
        self.restart_with(&[]).await
    }

    /// The URL of this test's own PostgreSQL database, on PostgreSQL runs.
    pub(super) fn postgres_url(&self) -> Option<String> {
        self.storage.postgres.as_deref().map(PgDatabase::url)
    }
}

/// A cookie-keeping client for the binary serving at `base`, registered
/// there as `username` (with [`PASSWORD`]) and so logged in.
pub async fn registered_on(base: &str, username: &str) -> reqwest::Client {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let registered = client
        .post(format!("{base}/register"))
        .json(&serde_json::json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), reqwest::StatusCode::CREATED);
    client
}

/// Starts the real `tollgate` binary in `dir` (SQLite there, port 0, cheap
/// bcrypt, plus `env`) and returns it with its port and a buffer that
/// collects everything it prints.
pub fn spawn_binary(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (KillOnDrop, u16, Arc<std::sync::Mutex<String>>) {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    let mut command = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    command
        .current_dir(dir)
        .env("PORT", "0")
        .env("BCRYPT_COST", "4")
        .env("NO_COLOR", "1")
        .env("REGISTER_MAX_PER_IP_PER_HOUR", "1000000000")
        .env("LOGIN_MAX_FAILURES_PER_IP", "1000000000")
        .env("FORGOT_MAX_PER_IP_PER_HOUR", "1000000000")
        .env("SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR", "1000000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = KillOnDrop(command.spawn().expect("the binary starts"));
    let output = Arc::new(std::sync::Mutex::new(String::new()));
    let mut stderr = child.stderr.take().expect("stderr");
    let errors = output.clone();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        errors.lock().unwrap().push_str(&text);
    });
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
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
            let mut all = lines.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    let port = port_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the server says where it listens");
    (child, port, output)
}

/// Everything a binary started by [`spawn_binary`] printed, once it has
/// been killed and waited for. Its pipes' readers end with the process and
/// let go of the buffer as they end, so the text is whole when nobody else
/// holds it; a fixed pause would be a guess at how long they take.
pub async fn whole_output(output: &Arc<std::sync::Mutex<String>>) -> String {
    eventually(|| Arc::strong_count(output) == 1).await;
    output.lock().unwrap().clone()
}

/// A port nothing listens on right now (bound, then let go).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A process of the real binary, killed however the test ends (a failed
/// assertion must not leave a server running).
pub struct KillOnDrop(pub std::process::Child);

impl std::ops::Deref for KillOnDrop {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `done` holds, for work the app does in the background, such
/// as the purge a moved clock wakes; fails the test, naming the caller's
/// line, when it still does not hold after ten seconds. Not a way to let
/// time pass; tests move the clock for that.
#[track_caller]
pub fn eventually(mut done: impl FnMut() -> bool) -> impl std::future::Future<Output = ()> {
    let caller = std::panic::Location::caller();
    async move {
        for _ in 0..1_000 {
            if done() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(
            done(),
            "{caller}: what the test waited for never came (10 s)"
        );
    }
}

/// Waits up to `secs` seconds for `done`, for deliveries that depend on
/// real time (a killed process's lease, a real binary's back-off).
pub async fn wait_for(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    done()
}
