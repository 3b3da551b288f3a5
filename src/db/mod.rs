//! Storage: the backend chosen from `DATABASE_URL`, the connection pool, the
//! embedded migrations, and one file of queries per table. Every query runs
//! through [`run`], on the blocking pool.

pub mod demo_posts;
pub mod posts;
pub mod schema;
pub mod sessions;
pub mod throttle;
pub mod unlocks;
pub mod users;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ConnectionManager, CustomizeConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::config::Settings;
use crate::error::ApiError;

pub type Conn = SqliteConnection;
pub type Pool = r2d2::Pool<ConnectionManager<Conn>>;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Which database `DATABASE_URL` names. Chosen from the URL's scheme alone —
/// never by trying one connection type after another, which would turn a
/// typo into a silently created SQLite file.
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
    pub fn secret_path(&self) -> Option<PathBuf> {
        match self {
            Backend::Sqlite { path } => Some(PathBuf::from(format!("{path}.session-secret"))),
            Backend::Postgres { .. } => None,
        }
    }
}

/// Per-connection settings applied when the pool opens a connection.
#[derive(Debug)]
struct SqlitePragmas {
    busy_timeout: Duration,
}

impl CustomizeConnection<Conn, r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut Conn) -> Result<(), r2d2::Error> {
        // (WAL, set in `connect`, lets readers proceed while one writer
        // commits.) busy_timeout makes
        // a writer wait for the lock (up to DATABASE_TIMEOUT_SECONDS) instead
        // of failing at once; foreign keys are off by default in SQLite and
        // the cascades on account deletion need them; synchronous=NORMAL is
        // durable against a process crash in WAL mode.
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; \
             PRAGMA foreign_keys = ON; \
             PRAGMA synchronous = NORMAL;",
            self.busy_timeout.as_millis()
        ))
        .map_err(r2d2::Error::QueryError)
    }
}

/// Opens the pool for `settings.database_url`.
pub fn connect(settings: &Settings) -> anyhow::Result<Pool> {
    match Backend::from_url(&settings.database_url) {
        Backend::Sqlite { path } => {
            // WAL is a property of the file: set it once, on one connection,
            // before the pool opens several at once (switching the journal
            // mode needs the database to itself).
            let mut conn = Conn::establish(&path)
                .with_context(|| format!("cannot open the SQLite database {path:?} (DATABASE_URL)"))?;
            conn.batch_execute(&format!(
                "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL;",
                settings.database_timeout.as_millis()
            ))
            .context("cannot switch the SQLite database to WAL mode")?;
            drop(conn);
            let manager = ConnectionManager::<Conn>::new(path);
            r2d2::Pool::builder()
                .max_size(settings.database_pool_size)
                .connection_timeout(settings.database_timeout)
                // A checkout test is an extra query on every request; a broken
                // connection is detected by Diesel after a failed query instead.
                .test_on_check_out(false)
                .connection_customizer(Box::new(SqlitePragmas {
                    busy_timeout: settings.database_timeout,
                }))
                .build(manager)
                .context("cannot open the SQLite database named by DATABASE_URL")
        }
        Backend::Postgres { .. } => anyhow::bail!(
            "DATABASE_URL: this build of tollgate serves SQLite only; PostgreSQL support is not built in yet"
        ),
    }
}

/// Applies the migrations this binary embeds that the database lacks.
pub fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut conn = pool.get().context("cannot connect to the database")?;
    conn.run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("cannot apply migrations: {e}"))?;
    Ok(())
}

/// Gives a fresh database (one with no posts) the demo posts 1–12.
pub fn seed_demo_posts(pool: &Pool) -> anyhow::Result<()> {
    let mut conn = pool.get().context("cannot connect to the database")?;
    posts::seed_if_empty(&mut conn).context("cannot seed the demo posts")?;
    Ok(())
}

/// Runs `f` with a pooled connection on the blocking pool. A pool that
/// cannot hand out a connection within DATABASE_TIMEOUT_SECONDS means the
/// database is unreachable: `503 unavailable`.
pub async fn run<T, F>(pool: &Pool, f: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut Conn) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    crate::blocking::run(move || {
        let mut conn = pool.get().map_err(|e| {
            tracing::warn!(error = %e, "no database connection available");
            ApiError::Unavailable
        })?;
        f(&mut conn)
    })
    .await
}

/// Whether a Diesel error means "the database is busy or unreachable" (a
/// temporary condition, answered `503`) rather than a bug.
pub fn is_unavailable(err: &diesel::result::Error) -> bool {
    match err {
        diesel::result::Error::DatabaseError(_, info) => {
            let message = info.message();
            // SQLITE_BUSY and SQLITE_LOCKED after busy_timeout has expired.
            message.contains("database is locked")
                || message.contains("database table is locked")
                || message.contains("database is busy")
        }
        _ => false,
    }
}

/// Checks that the database answers (for `/health`).
pub fn ping(conn: &mut Conn) -> QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}
