//! Connections: the one type both backends' connections share, the
//! backend chosen from `DATABASE_URL`, the pool's connection manager, and
//! how a connection that died in the pool is found without a ping on every
//! checkout.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;

use super::pg;
use crate::config::Settings;

/// One connection type for both backends: Diesel dispatches every query to
/// the backend this connection was opened for, so the queries in this
/// module's files are written once.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(pg::PgConn),
}

pub type Conn = DbConnection;

/// Runs a query on the concrete connection inside a [`DbConnection`], for
/// the queries every request makes. Through the `MultiConnection` itself,
/// Diesel renders the whole SQL text again on every execution (its
/// `SerializedQuery` does so in each pass over the query, even when the
/// prepared statement is cached): that was a sixth of `check_session`'s CPU
/// when measured (docs/performance.md). The body is the same generic Diesel
/// query, compiled once per backend.
macro_rules! direct {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::engine::DbConnection::Sqlite($c) => $body,
            $crate::db::engine::DbConnection::Postgres($c) => $body,
        }
    };
}
pub(crate) use direct;

/// Connections that died while they sat in the pool (a database restart,
/// a proxy or firewall dropping idle links) are found without a health
/// ping on every checkout, which would cost every request the round trip
/// the batching saves:
///
/// - a statement that meets a dead connection marks the connection itself
///   ([`pg::PgConn::lost`]; a SQLite file does not die); the batch that ran
///   it drops the connection and takes another for the rest of its jobs,
///   and counts a loss in the pool;
/// - a connection is pinged on checkout only when a loss has been counted
///   since it was last known good: after a restart, every idle connection
///   is checked once, and a dead one is replaced;
/// - [`super::idempotent`] runs a job that met a dead connection once more,
///   on a good one, so the request that found the loss does not fail for it.
impl DbConnection {
    /// Whether a statement found this connection dead.
    pub fn lost(&self) -> bool {
        match self {
            DbConnection::Sqlite(_) => false,
            DbConnection::Postgres(pg) => pg.lost(),
        }
    }
}

/// A pooled connection and what the pool knows of its health (see
/// [`DbConnection::lost`]). Dereferences to the connection itself.
pub struct Pooled {
    pub(super) conn: DbConnection,
    /// The pool's loss count when this connection was last known good.
    pub(super) good_at: u64,
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Which database `DATABASE_URL` names. Chosen from the URL's scheme alone —
/// never by trying one connection type after another, which would turn a
/// typo'd PostgreSQL URL into a silently created SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite { path: String },
    Postgres { url: String },
}

impl Backend {
    pub fn from_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres {
                url: url.to_owned(),
            }
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Backend::Sqlite {
                path: path.to_owned(),
            }
        }
    }

    /// Where a generated `SESSION_SECRET` is kept: beside the database file.
    /// A PostgreSQL deployment sets it explicitly (every instance needs the
    /// same one).
    pub fn secret_path(&self) -> Option<PathBuf> {
        match self {
            Backend::Sqlite { path } => Some(PathBuf::from(format!("{path}.session-secret"))),
            Backend::Postgres { .. } => None,
        }
    }
}

/// Opens a connection to the SQLite file at `path`. Every SQLite
/// connection of the process is opened here, so that the first one puts
/// SQLite in multi-thread mode before SQLite initializes itself.
///
/// SQLite's default (serialized) mode locks a connection's mutex on every
/// call into it: each column read, bind, step and reset, about fifty lock
/// and unlock pairs for a metered re-read. Tollgate never shares a
/// connection between threads at once (the pool hands each to one job at
/// a time), which is all multi-thread mode asks.
pub fn open_sqlite(path: &str) -> ConnectionResult<SqliteConnection> {
    static MULTI_THREAD: std::sync::Once = std::sync::Once::new();
    MULTI_THREAD.call_once(|| {
        // SAFETY: `sqlite3_config` must not run beside any other SQLite
        // call, nor after SQLite has initialized itself (then it only
        // answers SQLITE_MISUSE). It runs once, before this process's
        // first SQLite connection: every one is opened through here.
        let answer =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MULTITHREAD) };
        if answer != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(answer, "SQLite stays in serialized mode");
        }
    });
    SqliteConnection::establish(path)
}

/// Opens connections for the pool, of the kind the backend names.
#[derive(Debug)]
pub struct Manager {
    pub(super) backend: Backend,
    timeout: Duration,
    /// How many dead connections queries have met (see `lost`).
    losses: AtomicU64,
}

impl Manager {
    pub(super) fn new(backend: Backend, timeout: Duration) -> Manager {
        Manager {
            backend,
            timeout,
            losses: AtomicU64::new(0),
        }
    }

    pub(super) fn open(&self) -> Result<DbConnection, r2d2::Error> {
        let millis = self.timeout.as_millis();
        match &self.backend {
            Backend::Sqlite { path } => {
                let mut conn = open_sqlite(path).map_err(r2d2::Error::ConnectionError)?;
                // (WAL, set in `connect`, lets readers proceed while one
                // writer commits.) busy_timeout makes a writer wait for the
                // lock, up to DATABASE_TIMEOUT_SECONDS, instead of failing at
                // once; foreign keys are off by default in SQLite and the
                // cascades on account deletion need them; synchronous=NORMAL
                // is durable against a process crash in WAL mode.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {millis}; \
                     PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL;"
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres { url } => {
                let mut conn = pg::PgConn::open(url).map_err(r2d2::Error::ConnectionError)?;
                // A lock held longer than DATABASE_TIMEOUT_SECONDS is an
                // outage to the client (503), not an endless wait.
                // Generic plans only: every statement of the hot paths is
                // prepared once per connection and looks rows up by key, so
                // its plan does not depend on the values; but PostgreSQL
                // would plan an array-parameter statement (the batch's
                // read-ahead) again on every execution, its custom plan
                // looking cheaper than the generic one.
                conn.batch_execute(&format!(
                    "SET lock_timeout = {millis}; SET plan_cache_mode = force_generic_plan;"
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Postgres(conn))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        let good_at = self.losses.load(Ordering::Relaxed);
        Ok(Pooled {
            conn: self.open()?,
            good_at,
        })
    }

    /// On checkout: free unless a dead connection has been met since this
    /// one was last known good (see [`DbConnection::lost`]); then one ping.
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        let losses = self.losses.load(Ordering::Relaxed);
        if pooled.good_at == losses {
            return Ok(());
        }
        pooled.conn.ping().map_err(r2d2::Error::QueryError)?;
        pooled.good_at = losses;
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        if pooled.conn.lost() {
            // Counted before the batch that met it asks for another, so
            // that every older idle connection is checked first.
            self.losses.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        std::thread::panicking() || pooled.conn.is_broken()
    }
}

/// One connection, for the command line. Not a pool: a pool opens its
/// connections on threads of its own, which a one-shot command does not
/// need, and a process that exits while one of them is still inside the
/// driver when it exits is a race with the driver's own exit handlers, a
/// crash risk for no gain.
pub fn connect_one(settings: &Settings) -> anyhow::Result<DbConnection> {
    manager(settings)?
        .open()
        .context("cannot connect to the database (DATABASE_URL)")
}

/// The connection manager for `settings.database_url`. A SQLite file is
/// switched to WAL first: WAL is a property of the file, set once, on one
/// connection, before several are opened at once (switching the journal
/// mode needs the database to itself).
pub(super) fn manager(settings: &Settings) -> anyhow::Result<Manager> {
    let backend = Backend::from_url(&settings.database_url);
    if let Backend::Sqlite { path } = &backend {
        owner_only(path).with_context(|| {
            format!("cannot make the SQLite database {path:?} private (DATABASE_URL)")
        })?;
        let mut conn = open_sqlite(path)
            .with_context(|| format!("cannot open the SQLite database {path:?} (DATABASE_URL)"))?;
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
            settings.database_timeout.as_millis()
        ))
        .context("cannot switch the SQLite database to WAL mode")?;
    }
    Ok(Manager::new(backend, settings.database_timeout))
}

/// Makes a SQLite database readable and writable by its owner alone
/// (`0600`), creating it so if it is new: it holds password hashes and the
/// hashes of live session and emailed-link tokens. SQLite gives the files
/// it makes beside it (`-wal`, `-shm`, `-journal`) the database's mode;
/// ones left with a wider mode are narrowed too. An in-memory database or
/// a `file:` URI is left to SQLite.
fn owner_only(path: &str) -> std::io::Result<()> {
    if path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let narrow = |file: &std::fs::File| -> std::io::Result<()> {
            let mode = file.metadata()?.permissions().mode();
            if mode & 0o077 != 0 {
                file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
            }
            Ok(())
        };
        let database = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        narrow(&database)?;
        for suffix in ["-wal", "-shm", "-journal"] {
            match std::fs::File::open(format!("{path}{suffix}")) {
                Ok(file) => narrow(&file)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Checks that the database answers (for `/health`).
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &str) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_sqlite_database_is_its_owner_s_alone() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.db").to_string_lossy().into_owned();
        owner_only(&new).unwrap();
        assert_eq!(mode(&new), 0o600, "created private");

        // One made world-readable before, with its WAL beside it.
        let old = dir.path().join("old.db").to_string_lossy().into_owned();
        for file in [old.clone(), format!("{old}-wal")] {
            std::fs::write(&file, b"").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        owner_only(&old).unwrap();
        assert_eq!(mode(&old), 0o600);
        assert_eq!(mode(&format!("{old}-wal")), 0o600);
        // SQLite opens what was made, and makes its WAL files alike.
        let mut conn = open_sqlite(&new).unwrap();
        conn.batch_execute("PRAGMA journal_mode = WAL; CREATE TABLE t (n INTEGER);")
            .unwrap();
        assert_eq!(mode(&format!("{new}-wal")), 0o600);
    }
}
