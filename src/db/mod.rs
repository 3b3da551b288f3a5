//! Storage: the backend chosen from `DATABASE_URL`, the connection pool, the
//! embedded migrations, and one file of queries per table. Every query runs
//! through [`run`], on the blocking pool, in batches (see [`batch`]).
//!
//! Lookups by a unique key use `.get_result()`, never `.first()`: `first`
//! adds `LIMIT ?`, and SQLite's planner reads a bound LIMIT's value, so
//! every re-bind expires the cached statement and SQLite parses and plans
//! the query again on each call (a quarter of `check_session`'s CPU when
//! measured; see bench/README.md).

mod batch;
pub mod demo_posts;
pub mod posts;
pub mod schema;
pub mod sessions;
pub mod throttle;
pub mod unlocks;
pub mod users;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::Settings;
use crate::error::ApiError;

/// One connection type for both backends: Diesel dispatches every query to
/// the backend this connection was opened for, so the queries in this
/// module's files are written once.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type Conn = DbConnection;

/// Runs a query on the concrete connection inside a [`DbConnection`], for
/// the queries every request makes. Through the `MultiConnection` itself,
/// Diesel renders the whole SQL text again on every execution (its
/// `SerializedQuery` does so in each pass over the query, even when the
/// prepared statement is cached): that was a sixth of `check_session`'s CPU
/// when measured (bench/README.md). The body is the same generic Diesel
/// query, compiled once per backend.
macro_rules! direct {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Postgres($c) => $body,
        }
    };
}
pub(crate) use direct;

/// The connection pool, and the batches of work waiting for it.
#[derive(Clone)]
pub struct Pool {
    connections: r2d2::Pool<Manager>,
    batcher: Arc<batch::Batcher>,
    /// How many chunks one batch is split into: SQLite work is CPU-bound,
    /// so one chunk per core; PostgreSQL work mostly waits on the network,
    /// so one per pooled connection.
    parallel: usize,
}

impl Pool {
    /// A connection for work outside a request (start-up, the CLI).
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, r2d2::PoolError> {
        self.connections.get()
    }
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

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

/// Opens connections for the pool, of the kind the backend names.
#[derive(Debug)]
pub struct Manager {
    backend: Backend,
    timeout: Duration,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        let millis = self.timeout.as_millis();
        match &self.backend {
            Backend::Sqlite { path } => {
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
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
                let mut conn =
                    PgConnection::establish(url).map_err(r2d2::Error::ConnectionError)?;
                // A lock held longer than DATABASE_TIMEOUT_SECONDS is an
                // outage to the client (503), not an endless wait.
                conn.batch_execute(&format!("SET lock_timeout = {millis};"))
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Postgres(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Opens the pool for `settings.database_url`. Connections are made in the
/// background; a database that is down at start-up is waited for, and a
/// request that finds none answers `503` (see [`run`]).
pub fn connect(settings: &Settings) -> anyhow::Result<Pool> {
    let backend = Backend::from_url(&settings.database_url);
    if let Backend::Sqlite { path } = &backend {
        // WAL is a property of the file: set it once, on one connection,
        // before the pool opens several at once (switching the journal
        // mode needs the database to itself).
        let mut conn = SqliteConnection::establish(path)
            .with_context(|| format!("cannot open the SQLite database {path:?} (DATABASE_URL)"))?;
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
            settings.database_timeout.as_millis()
        ))
        .context("cannot switch the SQLite database to WAL mode")?;
    }
    let parallel = match &backend {
        Backend::Sqlite { .. } => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Backend::Postgres { .. } => settings.database_pool_size as usize,
    };
    let manager = Manager {
        backend,
        timeout: settings.database_timeout,
    };
    let connections = r2d2::Pool::builder()
        .max_size(settings.database_pool_size)
        .connection_timeout(settings.database_timeout)
        // A checkout test is an extra round trip on every request; a broken
        // connection is detected by Diesel after a failed query instead.
        .test_on_check_out(false)
        .build_unchecked(manager);
    Ok(Pool {
        connections,
        batcher: Arc::default(),
        parallel: parallel.min(settings.database_pool_size as usize),
    })
}

/// Applies the migrations this binary embeds that the database lacks.
/// Instances starting together on one PostgreSQL database take turns
/// through an advisory lock, so only one of them migrates.
pub fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut conn = pool
        .get()
        .context("cannot connect to the database (DATABASE_URL)")?;
    let result = match &mut *conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))?;
            let result = c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))?;
            result
        }
    };
    result.map_err(|e| anyhow::anyhow!("cannot apply migrations: {e}"))
}

/// The advisory lock key instances hold while migrating ("tollgate" in hex).
const MIGRATION_LOCK: i64 = 0x746f_6c6c_6761_7465;

/// Gives a fresh database (one with no posts) the demo posts 1–12.
pub fn seed_demo_posts(pool: &Pool) -> anyhow::Result<()> {
    let mut conn = pool.get().context("cannot connect to the database")?;
    posts::seed_if_empty(&mut conn).map_err(|e| anyhow::anyhow!("cannot seed the demo posts: {e}"))
}

/// SQLite lets one writer in at a time. This process's writers queue here
/// first, each woken the moment the one before it finishes, instead of in
/// SQLite's busy handler, which polls with sleeps of up to 100 ms while
/// every `check_session` batched behind the waiting writer waits too (the
/// likely cause of an 89 ms S5 p99 seen once; bench/README.md). Writers in other
/// processes on the same file still meet `busy_timeout`. One lock for the
/// process, whatever the file: several SQLite databases in one process (the
/// tests) only queue their short transactions a little.
static SQLITE_WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` in a transaction that will write. On SQLite it begins
/// IMMEDIATE: the write lock is taken before the first read, so a
/// read-then-write can never fail half-way on lock upgrade, and all such
/// transactions run one at a time (which is what keeps the invariants
/// there). On PostgreSQL it is an ordinary READ COMMITTED transaction; the
/// functions that need more take row or advisory locks inside it.
pub fn write_transaction<T>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let (begin, _turn) = match conn {
        DbConnection::Sqlite(_) => (
            "BEGIN IMMEDIATE",
            // A panic while holding it leaves nothing to repair.
            Some(SQLITE_WRITERS.lock().unwrap_or_else(|e| e.into_inner())),
        ),
        DbConnection::Postgres(_) => ("BEGIN", None),
    };
    conn.batch_execute(begin)?;
    let mut open = OpenTransaction(Some(conn));
    let conn = open.0.as_deref_mut().expect("set above");
    let result = f(conn).and_then(|value| {
        conn.batch_execute("COMMIT")?;
        Ok(value)
    });
    match result {
        Ok(value) => {
            open.0 = None;
            Ok(value)
        }
        // Dropping `open` rolls back.
        Err(e) => Err(e),
    }
}

/// Rolls back a transaction that did not commit, even when the closure
/// panicked, so a pooled connection never goes back with one open.
struct OpenTransaction<'a>(Option<&'a mut Conn>);

impl Drop for OpenTransaction<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            if let Err(e) = conn.batch_execute("ROLLBACK") {
                tracing::warn!(error = %e, "could not roll back a transaction");
            }
        }
    }
}

/// Runs `f` with a pooled connection on the blocking pool, batched with
/// the other database work of this event-loop turn (see [`batch`]), inside
/// the caller's tracing span. A pool that cannot hand out a connection
/// within DATABASE_TIMEOUT_SECONDS means the database is unreachable:
/// `503 unavailable`.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut Conn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let (send, receive) = tokio::sync::oneshot::channel();
    let span = tracing::Span::current();
    let job: batch::Job = Box::new(move |conn| {
        let result = span.in_scope(|| match conn {
            Some(conn) => f(conn),
            None => Err(ApiError::Unavailable),
        });
        Box::new(move || {
            // The caller may have gone (a closed connection); nothing to do.
            let _ = send.send(result);
        })
    });
    pool.batcher
        .submit(&pool.connections, pool.parallel, job)
        .await;
    receive
        .await
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a database task failed")))?
}

/// Whether a Diesel error means "the database is busy or unreachable" (a
/// temporary condition, answered `503`) rather than a bug.
pub fn is_unavailable(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            // SQLite: SQLITE_BUSY / SQLITE_LOCKED after busy_timeout.
            // PostgreSQL: lock_timeout, a server shutting down, a lost link.
            [
                "database is locked",
                "database table is locked",
                "database is busy",
                "lock timeout",
                "terminating connection",
                "server closed the connection",
                "connection to server",
                "the database system is",
            ]
            .iter()
            .any(|m| message.contains(m))
        }
        _ => false,
    }
}

/// Checks that the database answers (for `/health`).
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}
