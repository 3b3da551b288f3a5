//! Database work, gathered into batches before it goes to the blocking pool.
//!
//! Every Diesel call runs off the async workers. Handing each one to the
//! blocking pool by itself costs a thread wake-up and two context switches
//! per query, and on a busy server that was most of a `check_session`'s CPU
//! (bench/README.md has the figures). So the first request of an event-loop
//! turn to need the database becomes the batch's leader: it yields to the
//! event loop until no more requests queue work behind it, then sends the
//! whole batch to the blocking pool in at most `parallel` chunks. Each
//! chunk runs its jobs one after another on one pooled connection and wakes
//! their callers at the end. A lone request waits two yields (a few
//! microseconds), not a timer.
//!
//! Jobs are independent: each one's result (or panic) is its own, and a job
//! that leaves a transaction open cannot exist (`write_transaction` rolls
//! back on every exit path).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use diesel::r2d2;

use super::{Conn, Manager};

/// What a finished job does on the caller's behalf: hand over its result.
pub type Done = Box<dyn FnOnce() + Send>;
/// One caller's database work. `None` when no connection could be had.
pub type Job = Box<dyn FnOnce(Option<&mut Conn>) -> Done + Send>;

/// A bound on how long a leader gathers, so a steady stream of arrivals
/// cannot hold a batch back.
const MAX_YIELDS: usize = 8;

#[derive(Default)]
pub struct Batcher {
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// A leader is waiting for its turn to end and will take `jobs`.
    leader: bool,
}

impl Batcher {
    /// Queues `job`; if no batch is being gathered, leads one: waits while
    /// this event loop keeps finding more work, then dispatches everything
    /// queued.
    pub async fn submit(&self, pool: &r2d2::Pool<Manager>, parallel: usize, job: Job) {
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
            parallel,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic cannot happen while the lock is held (push, take, swap).
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

struct Dispatch<'a> {
    batcher: &'a Batcher,
    pool: &'a r2d2::Pool<Manager>,
    parallel: usize,
}

impl Drop for Dispatch<'_> {
    fn drop(&mut self) {
        let mut jobs = {
            let mut queue = self.batcher.lock();
            queue.leader = false;
            std::mem::take(&mut queue.jobs)
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // The runtime is going away; dropping the jobs tells their
            // callers (who are going away too) that nothing ran.
            return;
        };
        let chunks = self.parallel.clamp(1, jobs.len().max(1));
        let size = jobs.len().div_ceil(chunks);
        while !jobs.is_empty() {
            let chunk: Vec<Job> = jobs.drain(..size.min(jobs.len())).collect();
            let pool = self.pool.clone();
            runtime.spawn_blocking(move || run_chunk(&pool, chunk));
        }
    }
}

fn run_chunk(pool: &r2d2::Pool<Manager>, jobs: Vec<Job>) {
    let mut conn = match pool.get() {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::warn!(error = %e, "no database connection available");
            None
        }
    };
    let mut finished = Vec::with_capacity(jobs.len());
    for job in jobs {
        let conn = conn.as_deref_mut();
        // A panicking job drops its own result sender (its caller sees the
        // failure); the rest of the chunk goes on.
        if let Ok(done) = catch_unwind(AssertUnwindSafe(move || job(conn))) {
            finished.push(done);
        }
    }
    // The connection goes back before the callers wake and ask for more.
    drop(conn);
    for done in finished {
        done();
    }
}
