//! Storage: the backend chosen from `DATABASE_URL`, the connection pool, the
//! embedded migrations, and one file of queries per table. Every query runs
//! through [`run`] (or [`read`], for work safe to repeat), on the blocking
//! pool, in batches (see [`batch`]).
//!
//! This module answers in database terms ([`Error`], Diesel's results, rows
//! and `Option`s); what a failure means to a client is decided in
//! `crate::error`, never here.
//!
//! Lookups by a unique key use `.get_result()`, never `.first()`: `first`
//! adds `LIMIT ?`, and SQLite's planner reads a bound LIMIT's value, so
//! every re-bind expires the cached statement and SQLite parses and plans
//! the query again on each call (a quarter of `check_session`'s CPU when
//! measured; see bench/README.md).

mod ahead;
mod batch;
pub mod billing;
pub mod demo_posts;
pub mod email_tokens;
pub mod events;
pub mod forgot_requests;
pub mod ip_limits;
pub mod outbox;
pub mod paywall_notices;
pub mod pg;
pub mod posts;
pub mod prefetch;
pub mod schema;
pub mod sessions;
#[cfg(test)]
pub mod testing;
pub mod throttle;
pub mod unlocks;
pub mod users;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use thread_local::ThreadLocal;

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

/// What a database call can come to, besides its result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database is unreachable, or locked or busy for longer than
    /// DATABASE_TIMEOUT_SECONDS: a temporary condition, not a bug.
    #[error("the database is unavailable")]
    Unavailable,
    /// A row refers to one that no longer exists (a foreign-key violation):
    /// the user a row was being written for was deleted meanwhile.
    #[error("a referenced row no longer exists")]
    Vanished,
    /// Any other failure of a query: a bug.
    #[error("a database query failed")]
    Query(#[source] diesel::result::Error),
    /// The work panicked or was dropped before it answered: a bug.
    #[error("a database task failed")]
    TaskFailed,
}

impl From<diesel::result::Error> for Error {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as Diesel};
        lost::note(&err);
        match err {
            _ if is_unavailable(&err) => Error::Unavailable,
            Diesel::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Error::Vanished,
            _ => Error::Query(err),
        }
    }
}

/// Whether a Diesel error is a unique-constraint violation (an insert that
/// lost a race, or a duplicate).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// The connection pool, and the batches of work waiting for it.
#[derive(Clone)]
pub struct Pool {
    connections: r2d2::Pool<Manager>,
    /// One batcher per worker thread (see [`batch`]): a batch gathers the
    /// work of one event loop's turn, so each event loop has its own.
    batchers: Arc<ThreadLocal<batch::Batcher>>,
    /// The lanes of every worker's jobs that read ahead (see [`ahead`]).
    ahead: Arc<ahead::Ahead>,
    /// How many chunks the jobs of one worker's batch that do not read
    /// ahead are split into (those that do go through the read-ahead
    /// lanes; see [`ahead`]): SQLite work is CPU-bound, so one chunk per
    /// core; PostgreSQL work mostly waits on the network, so one per
    /// pooled connection — each shared out among the workers.
    parallel: usize,
    /// The fewest of those jobs worth a chunk of their own: on PostgreSQL
    /// each chunk costs a checkout and a hop to the blocking pool; on
    /// SQLite, 1.
    min_chunk: usize,
}

impl Pool {
    /// A connection for work outside a request (start-up).
    pub fn get(&self) -> Result<r2d2::PooledConnection<Manager>, r2d2::PoolError> {
        self.connections.get()
    }

    /// Open connections `(idle, in use)`, for the metrics.
    pub fn connection_counts(&self) -> (u32, u32) {
        let state = self.connections.state();
        (
            state.idle_connections,
            state.connections - state.idle_connections,
        )
    }
}

/// Connections that died while they sat in the pool (a database restart,
/// a proxy or firewall dropping idle links) are found without a health
/// ping on every checkout, which would cost every request the round trip
/// the batching saves:
///
/// - a query that meets a dead connection is noted (on its thread, by the
///   conversion of its error into [`Error`]); the batch that ran it drops
///   the connection and takes another for the rest of its jobs, and counts
///   a loss in the pool;
/// - a connection is pinged on checkout only when a loss has been counted
///   since it was last known good: after a restart, every idle connection
///   is checked once, and a dead one is replaced;
/// - [`read`] runs a job that met a dead connection once more, on a good
///   one, so the request that found the loss does not fail for it.
mod lost {
    use std::cell::Cell;

    thread_local! {
        static NOTED: Cell<bool> = const { Cell::new(false) };
    }

    /// Notes `err` if it says the connection itself is gone.
    pub fn note(err: &diesel::result::Error) {
        if is_connection_lost(err) {
            NOTED.set(true);
        }
    }

    /// Whether a query on this thread met a dead connection since the last
    /// [`take`].
    pub fn noted() -> bool {
        NOTED.get()
    }

    pub fn take() -> bool {
        NOTED.replace(false)
    }

    fn is_connection_lost(err: &diesel::result::Error) -> bool {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => true,
            // The driver reports a lost link (no answer from the server at
            // all) as UnableToSendCommand, above; a server that ends the
            // session says so in an error of its own (57P01 and kin).
            Error::DatabaseError(_, info) => [
                "terminating connection",
                "the database system is shutting down",
            ]
            .iter()
            .any(|m| info.message().contains(m)),
            _ => false,
        }
    }
}

/// A pooled connection and what the pool knows of its health (see
/// [`lost`]). Dereferences to the connection itself.
pub struct Pooled {
    conn: DbConnection,
    /// The pool's loss count when this connection was last known good.
    good_at: u64,
    /// A query met this connection dead: the pool drops it on return.
    lost: bool,
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
    /// How many dead connections queries have met (see [`lost`]).
    losses: AtomicU64,
}

impl Manager {
    fn new(backend: Backend, timeout: Duration) -> Manager {
        Manager {
            backend,
            timeout,
            losses: AtomicU64::new(0),
        }
    }

    fn open(&self) -> Result<DbConnection, r2d2::Error> {
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
            lost: false,
        })
    }

    /// On checkout: free unless a dead connection has been met since this
    /// one was last known good (see [`lost`]); then one ping.
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
        if pooled.lost {
            // Counted before the batch that met it asks for another, so
            // that every older idle connection is checked first.
            self.losses.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        std::thread::panicking() || pooled.conn.is_broken()
    }
}

/// [`Pool::min_chunk`] on PostgreSQL: larger chunks cost a job that writes
/// the wait for the writes ahead of it in its chunk, smaller ones a checkout
/// and a hop each. Chosen with bench/run.sh's S1 and S2 when every job went
/// through it; their jobs now read ahead and go through the read-ahead
/// lanes, so it applies to the other jobs only, and has not been measured
/// again for them.
const PG_MIN_CHUNK: usize = 8;

/// Opens the pool for `settings.database_url`. Connections are made in the
/// background; a database that is down at start-up is waited for, and a
/// request that finds none answers `503` (see [`run`]).
pub fn connect(settings: &Settings) -> anyhow::Result<Pool> {
    let manager = manager(settings)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Read-ahead lanes (see `ahead`): one on PostgreSQL, where a chunk's
    // read-ahead costs the database about the same for any number of
    // jobs; one per core on SQLite, where it is this process's CPU.
    let (parallel, min_chunk, lanes) = match &manager.backend {
        Backend::Sqlite { .. } => (cores, 1, cores),
        Backend::Postgres { .. } => (settings.database_pool_size as usize, PG_MIN_CHUNK, 1),
    };
    let connections = r2d2::Pool::builder()
        .max_size(settings.database_pool_size)
        .connection_timeout(settings.database_timeout)
        // Costs an atomic load, not a round trip, unless a dead connection
        // has been met (see `lost`).
        .test_on_check_out(true)
        .build_unchecked(manager);
    // Each worker batches on its own, so each gets its share: with every
    // worker dispatching `parallel` chunks, twice as many blocking threads
    // as connections (or cores) would wait on each other.
    let workers = settings.workers.unwrap_or(cores).max(1);
    Ok(Pool {
        connections,
        batchers: Arc::default(),
        ahead: Arc::new(ahead::Ahead::new(lanes, ahead::PATIENCE)),
        parallel: parallel
            .min(settings.database_pool_size as usize)
            .div_ceil(workers),
        min_chunk,
    })
}

/// One connection, for the command line. Not a pool: a pool opens its
/// connections on threads of its own, which a one-shot command does not
/// need, and a process that exits while one of them is still inside the
/// driver is what made `set-plan` and `migrate` on PostgreSQL end with a
/// segmentation fault about one run in ten when the driver was libpq with
/// OpenSSL (their exit handlers raced those threads).
pub fn connect_one(settings: &Settings) -> anyhow::Result<DbConnection> {
    manager(settings)?
        .open()
        .context("cannot connect to the database (DATABASE_URL)")
}

/// The connection manager for `settings.database_url`. A SQLite file is
/// switched to WAL first: WAL is a property of the file, set once, on one
/// connection, before several are opened at once (switching the journal
/// mode needs the database to itself).
fn manager(settings: &Settings) -> anyhow::Result<Manager> {
    let backend = Backend::from_url(&settings.database_url);
    if let Backend::Sqlite { path } = &backend {
        let mut conn = SqliteConnection::establish(path)
            .with_context(|| format!("cannot open the SQLite database {path:?} (DATABASE_URL)"))?;
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
            settings.database_timeout.as_millis()
        ))
        .context("cannot switch the SQLite database to WAL mode")?;
    }
    Ok(Manager::new(backend, settings.database_timeout))
}

/// Applies the migrations this binary embeds that the database lacks.
/// Instances starting together on one PostgreSQL database take turns
/// through an advisory lock, so only one of them migrates.
pub fn migrate(conn: &mut Conn) -> anyhow::Result<()> {
    let result = match conn {
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
pub fn seed_demo_posts(conn: &mut Conn) -> anyhow::Result<()> {
    posts::seed_if_empty(conn).context("cannot seed the demo posts")
}

/// SQLite lets one writer in at a time. This process's writers queue here
/// first, each woken the moment the one before it finishes, instead of in
/// SQLite's busy handler, which polls with sleeps of up to 100 ms while
/// every `check_session` batched behind the waiting writer waits too (the
/// likely cause of an 89 ms S5 p99 seen once; bench/README.md). Every write
/// goes through [`write_transaction`], so every writer of this process
/// queues here. Writers in other processes on the same file still meet
/// `busy_timeout`. One lock for the process, whatever the file: several
/// SQLite databases in one process (the tests) only queue their short
/// transactions a little.
static SQLITE_WRITERS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` in a transaction that will write; every statement that writes
/// runs inside one. On SQLite it begins IMMEDIATE: the write lock is taken
/// before the first read, so a read-then-write can never fail half-way on
/// lock upgrade, and all such transactions run one at a time (which is what
/// keeps the invariants there). On PostgreSQL it is an ordinary READ
/// COMMITTED transaction; the functions that need more take row or advisory
/// locks inside it.
///
/// Both go through Diesel's transaction manager, so a transaction opened
/// inside `f` is a savepoint, and an error (or a panic, which leaves the
/// connection marked broken and out of the pool) rolls everything back.
pub fn write_transaction<T, E>(
    conn: &mut Conn,
    f: impl FnOnce(&mut Conn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(sqlite) = &mut *conn else {
        return conn.transaction(f);
    };
    // A panic while holding it leaves nothing to repair.
    let _turn = SQLITE_WRITERS.lock().unwrap_or_else(|e| e.into_inner());
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    // From here on the transaction is Diesel's like any other: commit and
    // rollback go through the connection's own manager (as in
    // `SqliteConnection::immediate_transaction`, which cannot be used here
    // because `f` takes the multi-backend connection).
    type Manager = <DbConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = Manager::rollback_transaction(conn) {
                tracing::warn!(error = %rollback, "could not roll back a transaction");
            }
            Err(e)
        }
    }
}

/// Runs `f` with a pooled connection on the blocking pool, batched with
/// the other database work of this event-loop turn (see [`batch`]), inside
/// the caller's tracing span. A pool that cannot hand out a connection
/// within DATABASE_TIMEOUT_SECONDS means the database is unreachable:
/// [`Error::Unavailable`].
///
/// `f` answers in the caller's error type, so a handler's closure can end
/// with its own refusal; database failures convert into it.
pub async fn run<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    run_noting_loss(pool, None, f).await.0
}

/// Like [`run`], for work that is safe to run twice — a read, or a write
/// that changes nothing the second time (re-opening an unlocked post,
/// sliding a session's expiry): if it met a connection that had died in
/// the pool, it runs once more on a good one, so a database restart that
/// no request saw stays unseen (see [`lost`]).
pub async fn read<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    F: Fn(&mut Conn) -> Result<T, E> + Send + Sync + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let f = Arc::new(f);
    let first = f.clone();
    match run_noting_loss(pool, None, move |conn| first(conn)).await {
        (Err(_), true) => run(pool, move |conn| f(conn)).await,
        (result, _) => result,
    }
}

/// [`read`], for work that starts by reading what `hint` says: on
/// PostgreSQL the batch reads that for all such work in one statement (a
/// round trip and a statement per batch chunk instead of one per request;
/// see [`prefetch`]).
pub async fn read_hinted<T, E, F>(pool: &Pool, hint: prefetch::Hint, f: F) -> Result<T, E>
where
    F: Fn(&mut Conn) -> Result<T, E> + Send + Sync + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let f = Arc::new(f);
    let first = f.clone();
    match run_noting_loss(pool, Some(hint), move |conn| first(conn)).await {
        (Err(_), true) => run(pool, move |conn| f(conn)).await,
        (result, _) => result,
    }
}

/// [`run`], and whether `f` met a dead connection. `hint`: see
/// [`read_hinted`].
async fn run_noting_loss<T, E, F>(
    pool: &Pool,
    hint: Option<prefetch::Hint>,
    f: F,
) -> (Result<T, E>, bool)
where
    F: FnOnce(&mut Conn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let (send, receive) = tokio::sync::oneshot::channel();
    let span = tracing::Span::current();
    let work: batch::Work = Box::new(move |conn| {
        let result = span.in_scope(|| match conn {
            Some(conn) => f(conn),
            None => Err(Error::Unavailable.into()),
        });
        let lost = lost::noted();
        Box::new(move || {
            // The caller may have gone (a closed connection); nothing to do.
            let _ = send.send((result, lost));
        })
    });
    let job = batch::Job { work, hint };
    pool.batchers.get_or_default().submit(pool, job).await;
    // A job that panicked dropped its sender without answering.
    receive
        .await
        .unwrap_or_else(|_| (Err(Error::TaskFailed.into()), false))
}

/// Whether a Diesel error means "the database is busy or unreachable" (a
/// temporary condition) rather than a bug.
fn is_unavailable(err: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            // SQLite: SQLITE_BUSY / SQLITE_LOCKED after busy_timeout.
            // PostgreSQL: lock_timeout, a server shutting down (a lost
            // link is UnableToSendCommand, above).
            [
                "database is locked",
                "database table is locked",
                "database is busy",
                "lock timeout",
                "terminating connection",
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

#[cfg(test)]
mod tests {
    use diesel::result::Error as Diesel;
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn rows(conn: &mut Conn) -> i64 {
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<Count>(conn)
            .unwrap()
            .n
    }

    fn insert(conn: &mut Conn, n: i64) -> QueryResult<usize> {
        diesel::sql_query("INSERT INTO t VALUES (?)")
            .bind::<BigInt, _>(n)
            .execute(conn)
    }

    #[test]
    fn a_transaction_inside_a_write_transaction_is_a_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.db").to_string_lossy().into_owned();
        let mut conn = DbConnection::Sqlite(SqliteConnection::establish(&path).unwrap());
        conn.batch_execute("CREATE TABLE t (n INTEGER)").unwrap();

        write_transaction(&mut conn, |conn| {
            insert(conn, 1)?;
            // The inner one fails and rolls back to its savepoint only.
            let inner = conn.transaction(|conn| {
                insert(conn, 2)?;
                Err::<(), _>(Diesel::RollbackTransaction)
            });
            assert!(inner.is_err());
            Ok::<_, Diesel>(())
        })
        .unwrap();
        assert_eq!(rows(&mut conn), 1);

        // A failing outer transaction takes everything with it.
        let outer = write_transaction(&mut conn, |conn| {
            insert(conn, 3)?;
            Err::<(), _>(Diesel::RollbackTransaction)
        });
        assert!(outer.is_err());
        assert_eq!(rows(&mut conn), 1);
        // And the connection is usable again, with no transaction open.
        write_transaction(&mut conn, |conn| insert(conn, 4)).unwrap();
        assert_eq!(rows(&mut conn), 2);
    }
}
