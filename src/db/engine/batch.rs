//! Database work, gathered into batches before it goes to the blocking pool.
//!
//! Every Diesel call runs off the async workers. Handing each one to the
//! blocking pool by itself costs a thread wake-up and two context switches
//! per query, and on a busy server that was most of a `check_session`'s CPU
//! (docs/performance.md has the figures). So the first request of an event-loop
//! turn to need the database becomes the batch's leader: it yields to the
//! event loop until no more requests queue work behind it, then sends the
//! whole batch off the event loop: the jobs that read ahead through the
//! read-ahead lanes ([`super::lanes`], on threads of their own), the others
//! to the blocking pool in at most `parallel` chunks (see [`chunks`]). Each
//! chunk runs its jobs one after another on one pooled connection and
//! wakes their callers at the end. A lone request waits two yields (a few
//! microseconds), not a timer.
//!
//! There is one batcher per worker thread ([`super::Pool`] keeps them in a
//! `ThreadLocal`): a leader yields to its own event loop, so only that
//! loop's requests can join its batch. A batcher shared by every worker
//! would let one worker's leader carry another worker's jobs, which then
//! wait on yields of an event loop that is not theirs. (The read-ahead
//! lanes are shared, but they take batches already gathered: a job waits
//! there only for a lane, never on another worker's event loop.)
//!
//! Jobs are independent: each one's result (or panic) is its own, and a job
//! that leaves a transaction open cannot exist (`write_transaction` rolls
//! back on every exit path).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::Instant;

use diesel::r2d2;

use super::ahead::ReadAhead;
use super::connection::{Conn, Manager};
use super::sync::lock;

/// What a finished job does on the caller's behalf: hand over its result.
pub type Done = Box<dyn FnOnce() + Send>;
/// One caller's database work, handed its connection (`None` when none
/// could be had) and what its chunk read ahead for its key.
pub type Work<A> = Box<dyn FnOnce(Option<&mut Conn>, <A as ReadAhead>::Found) -> Done + Send>;

pub struct Job<A: ReadAhead> {
    pub work: Work<A>,
    /// What this work starts by reading, if it says: a chunk reads that
    /// ahead for all of its jobs at once (see [`ReadAhead`]).
    pub key: Option<A::Key>,
    /// When its caller queued it (see [`run_chunk`]).
    pub queued: Instant,
}

/// A bound on how long a leader gathers, so a steady stream of arrivals
/// cannot hold a batch back.
const MAX_YIELDS: usize = 8;

pub struct Batcher<A: ReadAhead> {
    queue: Mutex<Queue<A>>,
}

// Not derived: a derive would ask `A: Default` of a type that is only a name.
impl<A: ReadAhead> Default for Batcher<A> {
    fn default() -> Self {
        Batcher {
            queue: Mutex::new(Queue {
                jobs: Vec::new(),
                leader: false,
            }),
        }
    }
}

struct Queue<A: ReadAhead> {
    jobs: Vec<Job<A>>,
    /// A leader is waiting for its turn to end and will take `jobs`.
    leader: bool,
}

impl<A: ReadAhead> Batcher<A> {
    /// Queues `job`; if no batch is being gathered, leads one: waits while
    /// this event loop keeps finding more work, then dispatches everything
    /// queued.
    pub async fn submit(&self, pool: &super::Pool<A>, job: Job<A>) {
        let lead = {
            let mut queue = self.lock();
            queue.jobs.push(job);
            !std::mem::replace(&mut queue.leader, true)
        };
        if !lead {
            return;
        }
        // Dispatches when dropped, so a leader whose request is cancelled
        // while it yields still sends the batch on.
        let _dispatch = Dispatch {
            batcher: self,
            pool,
        };
        // Yield until a turn brings no new work. Measured under load: the
        // first yield comes back before the driver has been polled (nothing
        // new yet), the second brings the turn's other requests, and a
        // third rarely adds more — so at least two, at most MAX_YIELDS.
        let mut queued = 1;
        for round in 0..MAX_YIELDS {
            tokio::task::yield_now().await;
            let now = self.lock().jobs.len();
            if round > 0 && now == queued {
                break;
            }
            queued = now;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue<A>> {
        // A panic cannot happen while the lock is held (push, take, swap).
        lock(&self.queue)
    }
}

struct Dispatch<'a, A: ReadAhead> {
    batcher: &'a Batcher<A>,
    pool: &'a super::Pool<A>,
}

impl<A: ReadAhead> Drop for Dispatch<'_, A> {
    fn drop(&mut self) {
        let jobs = {
            let mut queue = self.batcher.lock();
            queue.leader = false;
            std::mem::take(&mut queue.jobs)
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // The runtime is going away; dropping the jobs tells their
            // callers (who are going away too) that nothing ran.
            return;
        };
        let pool = self.pool;
        let (ahead, rest) = chunks(jobs, pool.parallel, pool.min_chunk);
        pool.lanes.dispatch(ahead, &pool.connections, &runtime);
        for chunk in rest {
            let connections = pool.connections.clone();
            runtime.spawn_blocking(move || run_chunk(&connections, chunk));
        }
    }
}

/// How a batch goes out: the jobs that said what they start by reading,
/// and chunks of the rest. The first go together, through the read-ahead
/// lanes ([`super::lanes`]): a chunk of them reads that ahead for all of
/// them in one statement per kind, and most then answer from it without a
/// statement of their own, so splitting them would only multiply the
/// read-aheads and the hops to the blocking pool (PostgreSQL, S2 with two
/// workers: 18k -> 25k req/s, PostgreSQL's CPU per request 35 -> 17 µs;
/// docs/performance.md). The rest, which each run statements of their own,
/// are spread over connections by [`chunk_size`].
#[allow(clippy::type_complexity)]
fn chunks<A: ReadAhead>(
    jobs: Vec<Job<A>>,
    parallel: usize,
    min_chunk: usize,
) -> (Vec<Job<A>>, Vec<Vec<Job<A>>>) {
    let (ahead, mut rest): (Vec<Job<A>>, Vec<Job<A>>) =
        jobs.into_iter().partition(|job| job.key.is_some());
    let mut chunks = Vec::new();
    let size = chunk_size(rest.len(), parallel, min_chunk);
    while !rest.is_empty() {
        chunks.push(rest.drain(..size.min(rest.len())).collect());
    }
    (ahead, chunks)
}

/// How many jobs go in each chunk of a batch of `jobs`: as many chunks as
/// `parallel` allows, but none smaller than `min_chunk` (except the last).
fn chunk_size(jobs: usize, parallel: usize, min_chunk: usize) -> usize {
    let wanted = jobs.div_ceil(min_chunk.max(1));
    let chunks = parallel.clamp(1, wanted.max(1));
    jobs.div_ceil(chunks).max(1)
}

fn checkout(pool: &r2d2::Pool<Manager>) -> Option<r2d2::PooledConnection<Manager>> {
    match pool.get() {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::warn!(error = %e, "no database connection available");
            None
        }
    }
}

/// Runs `jobs` one after another on one pooled connection, then wakes
/// their callers.
///
/// A job whose caller has already waited DATABASE_TIMEOUT_SECONDS when its
/// turn comes is answered as if no connection could be had (`503
/// unavailable`) without running: the setting bounds how long a client
/// waits on the database, and the jobs ahead of it may each have waited
/// that long for a lock (another process holding SQLite's write lock, a
/// row lock on PostgreSQL). Without it, the last of n jobs queued behind
/// such a lock would wait n timeouts; with it, a job waits at most the
/// timeout for its turn in the chunk, then on SQLite at most the timeout
/// for this process's writers' turn and again for the lock. Work
/// that is only slow counts too: a statement that takes longer than the
/// timeout (a newsletter queued to 100,000 subscribers at once, with
/// `DATABASE_TIMEOUT_SECONDS=1`) leaves the jobs behind it in its chunk
/// answered `503`, as a pool with no connection free that long would.
pub(super) fn run_chunk<A: ReadAhead>(pool: &r2d2::Pool<Manager>, jobs: Vec<Job<A>>) {
    let patience = pool.connection_timeout();
    let mut overdue = 0;
    let mut conn = checkout(pool);
    let mut finished = Vec::with_capacity(jobs.len());
    let keys: Vec<&A::Key> = jobs.iter().filter_map(|j| j.key.as_ref()).collect();
    let mut found = match conn.as_deref_mut() {
        Some(pooled) if !keys.is_empty() => A::read(pooled, &keys),
        _ => Vec::new(),
    }
    .into_iter();
    for job in jobs {
        // Each key's answer, in the jobs' order; a job without a key, or
        // one whose chunk read nothing, finds nothing ahead.
        let ahead = match job.key {
            Some(_) => found.next().unwrap_or_default(),
            None => A::Found::default(),
        };
        let late = job.queued.elapsed() >= patience;
        overdue += usize::from(late && conn.is_some());
        let this = conn
            .as_deref_mut()
            .filter(|_| !late)
            .map(|pooled| &mut **pooled);
        let work = job.work;
        // A panicking job drops its own result sender (its caller sees the
        // failure); the rest of the chunk goes on.
        if let Ok(done) = catch_unwind(AssertUnwindSafe(move || work(this, ahead))) {
            finished.push(done);
        }
        if conn.as_ref().is_some_and(|pooled| pooled.lost()) {
            // The connection died in the pool: drop it (the pool counts the
            // loss and checks the others it holds before handing them out)
            // and carry on with another.
            tracing::warn!("a pooled database connection was dead; replacing it");
            drop(conn.take());
            conn = checkout(pool);
        }
    }
    if overdue > 0 {
        tracing::warn!(
            jobs = overdue,
            "database work waited longer than DATABASE_TIMEOUT_SECONDS for its turn; answered 503"
        );
    }
    // The connection goes back before the callers wake and ask for more.
    drop(conn);
    for done in finished {
        done();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::super::lanes::{Lanes, PATIENCE};
    use super::super::testing::{answers, on_one_worker, results, sqlite_pool, TestPool};
    use super::super::{idempotent, Error};

    fn pool(path: &str, parallel: usize) -> TestPool {
        sqlite_pool(path, parallel, Lanes::new(1, PATIENCE, 4).unwrap())
    }

    fn temp_db() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("batch.db").to_string_lossy().into_owned();
        (dir, path)
    }

    #[derive(QueryableByName)]
    struct Echo {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[test]
    fn batches_split_into_at_most_parallel_chunks_of_at_least_min_chunk() {
        use super::chunk_size;
        // SQLite: one chunk per core.
        assert_eq!(chunk_size(1, 2, 1), 1);
        assert_eq!(chunk_size(5, 2, 1), 3);
        // PostgreSQL, 10 connections, chunks of 8 or more.
        assert_eq!(chunk_size(3, 10, 8), 3);
        assert_eq!(chunk_size(9, 10, 8), 5);
        assert_eq!(chunk_size(64, 10, 8), 8);
        assert_eq!(chunk_size(200, 10, 8), 20);
        // Degenerate settings still make progress.
        assert_eq!(chunk_size(4, 0, 0), 4);
    }

    #[test]
    fn jobs_that_read_ahead_go_out_in_one_chunk() {
        use super::super::testing::ReadsNothing;
        use super::{chunks, Job};
        let job = |reads_ahead: bool, n: usize| Job::<ReadsNothing> {
            work: Box::new(|_, _| Box::new(|| ())),
            key: reads_ahead.then(|| format!("hash {n}")),
            queued: Instant::now(),
        };
        // Sixty lookups and ten other jobs, mixed, as a busy turn brings them.
        let jobs: Vec<Job<ReadsNothing>> = (0..70).map(|n| job(n % 7 != 3, n)).collect();
        let (ahead, rest) = chunks(jobs, 10, 8);
        let sizes: Vec<(usize, usize)> = rest
            .iter()
            .map(|chunk| {
                let reading = chunk.iter().filter(|j| j.key.is_some()).count();
                (reading, chunk.len() - reading)
            })
            .collect();
        // All the read-aheads for the lanes; the rest spread as before
        // (ten jobs, chunks of at least eight: two).
        assert_eq!(ahead.len(), 60);
        assert!(ahead.iter().all(|j| j.key.is_some()));
        assert_eq!(sizes, [(0, 5), (0, 5)]);
        // Without keys nothing changes.
        let plain: Vec<Job<ReadsNothing>> = (0..64).map(|n| job(false, n)).collect();
        let (ahead, rest) = chunks(plain, 10, 8);
        assert!(ahead.is_empty());
        assert_eq!(rest.len(), 8);
        assert!(chunks::<ReadsNothing>(Vec::new(), 10, 8).1.is_empty());
    }

    #[test]
    fn every_job_of_a_batch_gets_its_own_answer() {
        let (_dir, path) = temp_db();
        for parallel in [1, 2, 3] {
            let pool = pool(&path, parallel);
            let answers = on_one_worker(async {
                let tasks: Vec<_> = (0..50_i64)
                    .map(|i| {
                        let pool = pool.clone();
                        tokio::task::spawn_local(async move {
                            idempotent(&pool, 0, move |conn, _| {
                                let echo: Echo = diesel::sql_query("SELECT ? AS n")
                                    .bind::<BigInt, _>(i)
                                    .get_result(conn)
                                    .map_err(Error::from)?;
                                Ok::<_, Error>(echo.n)
                            })
                            .await
                        })
                    })
                    .collect();
                answers(tasks).await
            });
            assert_eq!(
                answers,
                (0..50).collect::<Vec<_>>(),
                "parallel = {parallel}"
            );
        }
    }

    #[test]
    fn a_job_that_waited_the_database_timeout_for_its_turn_runs_without_a_connection() {
        use super::super::testing::ReadsNothing;
        use super::{run_chunk, Job};
        let (_dir, path) = temp_db();
        let pool = sqlite_pool::<ReadsNothing>(&path, 1, Lanes::new(1, PATIENCE, 2).unwrap());
        let patience = pool.connections.connection_timeout();
        let got = Arc::new(std::sync::Mutex::new(Vec::new()));
        let job = |waited: std::time::Duration| {
            let got = got.clone();
            Job::<ReadsNothing> {
                work: Box::new(move |conn, _| {
                    got.lock().unwrap().push(conn.is_some());
                    Box::new(|| ())
                }),
                key: None,
                queued: Instant::now() - waited,
            }
        };
        run_chunk(
            &pool.connections,
            vec![
                job(std::time::Duration::ZERO),
                job(patience),
                job(std::time::Duration::ZERO),
            ],
        );
        assert_eq!(*got.lock().unwrap(), [true, false, true]);
    }

    #[test]
    fn a_panicking_job_fails_alone() {
        let (_dir, path) = temp_db();
        let pool = pool(&path, 1);
        let results = on_one_worker(async {
            let tasks: Vec<_> = (0..10)
                .map(|i| {
                    let pool = pool.clone();
                    tokio::task::spawn_local(async move {
                        idempotent(&pool, 0, move |_conn, _| {
                            if i == 4 {
                                panic!("a bug in one handler");
                            }
                            Ok::<_, Error>(i)
                        })
                        .await
                    })
                })
                .collect();
            results(tasks).await
        });
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(n) => assert_eq!(n, i),
                Err(Error::TaskFailed) => assert_eq!(i, 4),
                Err(e) => panic!("unexpected {e}"),
            }
        }
    }

    #[test]
    fn a_cancelled_leader_still_sends_the_batch() {
        let (_dir, path) = temp_db();
        let pool = pool(&path, 1);
        let leader_ran = Arc::new(AtomicBool::new(false));
        let follower = on_one_worker({
            let leader_ran = leader_ran.clone();
            async move {
                let leader = tokio::task::spawn_local({
                    let pool = pool.clone();
                    async move {
                        idempotent(&pool, 0, move |_conn, _| {
                            leader_ran.store(true, Ordering::SeqCst);
                            Ok::<_, Error>(())
                        })
                        .await
                    }
                });
                let follower = tokio::task::spawn_local({
                    let pool = pool.clone();
                    async move { idempotent(&pool, 0, |_conn, _| Ok::<_, Error>("answered")).await }
                });
                // Both start: the first leads and yields, the second queues.
                tokio::task::yield_now().await;
                // The leader's client goes away while it gathers.
                leader.abort();
                follower.await.unwrap()
            }
        });
        assert_eq!(follower.unwrap(), "answered");
        // The leader's own job was queued, so it went out with the batch.
        assert!(leader_ran.load(Ordering::SeqCst));
    }

    #[test]
    fn no_connection_is_an_outage_for_every_job() {
        let pool = pool("/nonexistent/directory/batch.db", 2);
        let results = on_one_worker(async {
            let tasks: Vec<_> = (0..5)
                .map(|_| {
                    let pool = pool.clone();
                    tokio::task::spawn_local(async move {
                        idempotent(&pool, 0, |_conn, _| Ok::<_, Error>(())).await
                    })
                })
                .collect();
            results(tasks).await
        });
        assert!(results.iter().all(|r| matches!(r, Err(Error::Unavailable))));
    }
}
