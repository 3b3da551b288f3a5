//! The database engine: connections and the pool, the backend chosen from
//! `DATABASE_URL`, migrations, transactions, and how work reaches the
//! database — batched per event-loop turn on the blocking pool, with what
//! the work starts by reading read ahead for a whole chunk at once. It
//! names no table: what is read ahead, and how, is the tables' business,
//! handed in as a [`ReadAhead`] (the pool's type parameter).
//!
//! Work reaches the database through two entry points, named by what they
//! promise: [`idempotent`] (safe to run twice, and run again after a lost
//! connection; [`idempotent_reading_ahead`] is its form for work that says
//! what it starts by reading) and [`once`] (one write transaction, never
//! repeated). Both run on the blocking pool, so no database call ever
//! blocks an async worker, and both hand the work the request's time.
//!
//! Lookups by a unique key use [`Unique::unique`], never `.first()`, and a
//! `LIMIT` is written into the statement's text ([`WrittenLimit`]), never
//! bound (see there why).

mod ahead;
mod batch;
mod connection;
mod error;
mod lanes;
mod limit;
mod migrations;
pub mod pg;
pub mod statement;
mod sync;
#[cfg(test)]
pub mod testing;
mod transaction;
mod unique;

use std::sync::Arc;

use diesel::r2d2;
use thread_local::ThreadLocal;

pub use ahead::{each_once, ReadAhead};
pub(crate) use connection::direct;
use connection::manager;
pub use connection::{
    connect_one, open_sqlite, ping, Backend, Conn, DbConnection, Manager, Pooled,
};
pub use error::{is_unique_violation, Error};
pub use limit::{Limited, WrittenLimit};
pub use migrations::migrate;
#[cfg(test)]
pub use migrations::redo_from;
pub use transaction::write_transaction;
pub use unique::Unique;

use crate::config::Settings;

/// The connection pool, and the batches of work waiting for it; `A` says
/// what a chunk reads ahead.
pub struct Pool<A: ReadAhead> {
    connections: r2d2::Pool<Manager>,
    /// One batcher per worker thread (see `batch`): a batch gathers the
    /// work of one event loop's turn, so each event loop has its own.
    batchers: Arc<ThreadLocal<batch::Batcher<A>>>,
    /// The lanes of every worker's jobs that read ahead (see `lanes`).
    lanes: Arc<lanes::Lanes<A>>,
    /// How many chunks the jobs of one worker's batch that do not read
    /// ahead are split into (those that do go through the read-ahead
    /// lanes): SQLite work is CPU-bound, so one chunk per core; PostgreSQL
    /// work mostly waits on the network, so one per pooled connection —
    /// each shared out among the workers.
    parallel: usize,
    /// The fewest of those jobs worth a chunk of their own: on PostgreSQL
    /// each chunk costs a checkout and a hop to the blocking pool; on
    /// SQLite, 1.
    min_chunk: usize,
}

// Not derived: a derive would ask `A: Clone` of a type that is only a name.
impl<A: ReadAhead> Clone for Pool<A> {
    fn clone(&self) -> Self {
        Pool {
            connections: self.connections.clone(),
            batchers: self.batchers.clone(),
            lanes: self.lanes.clone(),
            parallel: self.parallel,
            min_chunk: self.min_chunk,
        }
    }
}

impl<A: ReadAhead> Pool<A> {
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

/// [`Pool`]'s `min_chunk` on PostgreSQL: larger chunks cost a job that
/// writes the wait for the writes ahead of it in its chunk, smaller ones a
/// checkout and a hop each. Chosen with bench/run.sh's S1 and S2; it
/// applies to the jobs that do not read ahead (those go through the
/// read-ahead lanes).
const PG_MIN_CHUNK: usize = 8;

/// Opens the pool for `settings.database_url`. Connections are made in the
/// background; a database that is down at start-up is waited for, and a
/// request that finds none answers `503` (see [`once`]).
pub fn connect<A: ReadAhead>(settings: &Settings) -> anyhow::Result<Pool<A>> {
    let manager = manager(settings)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Read-ahead lanes (see `lanes`): one on PostgreSQL, where a chunk's
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
        lanes: Arc::new(lanes::Lanes::new(
            lanes,
            lanes::PATIENCE,
            settings.database_pool_size as usize,
        )?),
        parallel: parallel
            .min(settings.database_pool_size as usize)
            .div_ceil(workers),
        min_chunk,
    })
}

/// Database work that is safe to run twice — a read, or a write that
/// changes nothing the second time (re-opening an unlocked post, sliding
/// a session's expiry, a notice kept to one by its primary key) — run on
/// the blocking pool, batched with the other database work of this
/// event-loop turn (see `batch`), inside the caller's tracing span, and
/// handed `now`, the request's time. If it met a connection that had died
/// in the pool, it runs once more on a good one, so a database restart
/// that no request saw stays unseen (see `connection::lost`). A write in
/// it goes through [`write_transaction`] itself.
///
/// A pool that cannot hand out a connection within
/// DATABASE_TIMEOUT_SECONDS means the database is unreachable:
/// [`Error::Unavailable`]. `f` answers in the caller's error type, so a
/// handler's closure can end with its own refusal; database failures
/// convert into it.
pub async fn idempotent<A, T, E, F>(pool: &Pool<A>, now: i64, f: F) -> Result<T, E>
where
    A: ReadAhead,
    F: Fn(&mut Conn, i64) -> Result<T, E> + Send + Sync + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    retried(pool, None, move |conn, _: A::Found| f(conn, now)).await
}

/// Database work that runs once, as one [`write_transaction`]: it commits
/// as a whole or not at all, and is never repeated (a lost connection is
/// the caller's error). Batched and handed `now` as [`idempotent`] is.
pub async fn once<A, T, E, F>(pool: &Pool<A>, now: i64, f: F) -> Result<T, E>
where
    A: ReadAhead,
    F: FnOnce(&mut Conn, i64) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + From<diesel::result::Error> + Send + 'static,
{
    let work = move |conn: &mut Conn, _: A::Found| write_transaction(conn, |conn| f(conn, now));
    run_noting_loss(pool, None, work).await.0
}

/// [`idempotent`] work that starts by reading what `key` says: the chunk
/// it runs in reads that for all such work at once (see [`ReadAhead`]),
/// and hands `f` what it found for `key` — or nothing found (the default)
/// when it runs again after a lost connection.
pub async fn idempotent_reading_ahead<A, T, E, F>(
    pool: &Pool<A>,
    now: i64,
    key: A::Key,
    f: F,
) -> Result<T, E>
where
    A: ReadAhead,
    F: Fn(&mut Conn, A::Found, i64) -> Result<T, E> + Send + Sync + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    retried(pool, Some(key), move |conn, found| f(conn, found, now)).await
}

/// Runs `f`, and once more, without reading ahead, if it met a dead
/// connection.
async fn retried<A, T, E, F>(pool: &Pool<A>, key: Option<A::Key>, f: F) -> Result<T, E>
where
    A: ReadAhead,
    F: Fn(&mut Conn, A::Found) -> Result<T, E> + Send + Sync + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let f = Arc::new(f);
    let first = f.clone();
    match run_noting_loss(pool, key, move |conn, found| first(conn, found)).await {
        (Err(_), true) => {
            run_noting_loss(pool, None, move |conn, found| f(conn, found))
                .await
                .0
        }
        (result, _) => result,
    }
}

/// Runs `f` on a pooled connection, batched, and says whether it met a
/// dead connection. `key`: see [`idempotent_reading_ahead`].
async fn run_noting_loss<A, T, E, F>(
    pool: &Pool<A>,
    key: Option<A::Key>,
    f: F,
) -> (Result<T, E>, bool)
where
    A: ReadAhead,
    F: FnOnce(&mut Conn, A::Found) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<Error> + Send + 'static,
{
    let (send, receive) = tokio::sync::oneshot::channel();
    let span = tracing::Span::current();
    let work: batch::Work<A> = Box::new(move |conn, found| {
        let (result, lost) = span.in_scope(|| match conn {
            Some(conn) => {
                let result = f(conn, found);
                (result, conn.lost())
            }
            None => (Err(Error::Unavailable.into()), false),
        });
        Box::new(move || {
            // The caller may have gone (a closed connection); nothing to do.
            let _ = send.send((result, lost));
        })
    });
    let job = batch::Job {
        work,
        key,
        queued: std::time::Instant::now(),
    };
    pool.batchers.get_or_default().submit(pool, job).await;
    // A job that panicked dropped its sender without answering.
    receive
        .await
        .unwrap_or_else(|_| (Err(Error::TaskFailed.into()), false))
}
