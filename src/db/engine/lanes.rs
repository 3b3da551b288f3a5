//! The lanes that jobs which read ahead go through, shared by every worker.
//!
//! A chunk of jobs that read ahead costs PostgreSQL about the same whatever
//! the number of jobs in it (a statement per kind of read-ahead, each
//! executed once for all its keys), and each chunk costs this process a
//! hop to another thread and a wake-up of each worker it answers. Sent
//! as each worker's batch came, with two workers a chunk served half as
//! many requests as with one, and PostgreSQL's CPU per request doubled
//! (docs/performance.md). So their chunks go through lanes: while
//! every lane is busy, the jobs of every worker's batches wait together,
//! and the lane that finishes first takes them all as its next chunk.
//! Nothing waits that a lane could take: a free lane starts at once. (S2
//! with two workers, builds alternated: PostgreSQL's CPU per request 16–19
//! µs without lanes, 10–11 µs with one; the server's 43–49 and 35–36 µs;
//! docs/performance.md.)
//!
//! On PostgreSQL there is one lane, on SQLite one per core (its read-aheads
//! are CPU work in this process, which one lane would keep to one core).
//! A job can wait on a lock, so a lane whose chunk has run for longer than
//! [`PATIENCE`] no longer counts as one: the next batch opens another (and
//! if none comes, a timer does), so a statement stuck on a lock holds up
//! the jobs of its own chunk, and the others for no longer than that (and
//! a timer's tick).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::r2d2;

use super::ahead::ReadAhead;
use super::batch::{run_chunk, Job};
use super::connection::Manager;
use super::sync::lock;

/// How long a chunk may run before its lane is taken for stuck. Under load
/// a chunk of read-aheads takes well under a millisecond: S2 with two
/// workers keeps one lane busy with about 1,600 chunks a second, some 600
/// µs each (docs/performance.md). Shorter (0.25 to 1 ms) measured
/// no better.
pub const PATIENCE: Duration = Duration::from_millis(2);

/// The lanes, and the jobs waiting for one.
pub struct Lanes<A: ReadAhead> {
    pending: Mutex<Waiting<A>>,
    /// How many lanes there are.
    count: usize,
    patience: Duration,
    threads: Threads,
}

/// Threads of the lanes' own. On the runtime's blocking pool a lane's
/// runner queued behind every chunk sent there before it, and a flood of
/// work that reads nothing ahead fills that pool with chunks waiting for a
/// connection: the runner of `check_session`'s lane then started tens of
/// milliseconds late (docs/performance.md). These threads run nothing
/// else; like the blocking pool's, they are made when needed and end
/// after ten idle seconds.
struct Threads(Option<tokio::runtime::Runtime>);

impl Threads {
    /// At most `max` threads: there are never more runners with work to do
    /// than connections for them.
    fn new(max: usize) -> std::io::Result<Threads> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(max.max(1))
            .thread_name("tollgate-lane")
            .build()?;
        Ok(Threads(Some(runtime)))
    }

    fn spawn(&self, runner: impl FnOnce() + Send + 'static) {
        if let Some(runtime) = &self.0 {
            runtime.spawn_blocking(runner);
        }
    }
}

impl Drop for Threads {
    /// Without waiting for a runner still at work: the pool may go away
    /// on an event loop, where a runtime's drop must not block.
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

struct Waiting<A: ReadAhead> {
    /// Jobs waiting for a lane.
    jobs: Vec<Job<A>>,
    /// A runner has been sent to the lanes' threads and will take `jobs`
    /// when it starts.
    starting: bool,
    /// The runners started, each with when its current chunk began.
    running: Vec<(u64, Instant)>,
    next_id: u64,
    /// A timer will look for a stuck lane (see [`StuckLaneTimer`]).
    watched: bool,
}

impl<A: ReadAhead> Waiting<A> {
    /// Lanes whose chunk began less than `patience` ago.
    fn busy(&self, patience: Duration) -> usize {
        let now = Instant::now();
        self.running
            .iter()
            .filter(|(_, began)| now.duration_since(*began) < patience)
            .count()
    }
}

/// What [`Lanes::dispatch`] (or a timer) does next for the waiting jobs.
enum Step {
    Nothing,
    /// Send a runner (its id).
    Run(u64),
    /// Start a timer that will see whether the busy lanes are stuck.
    ArmTimer,
}

impl<A: ReadAhead> Lanes<A> {
    /// `lanes` lanes, on at most `threads` threads.
    pub fn new(lanes: usize, patience: Duration, threads: usize) -> std::io::Result<Lanes<A>> {
        Ok(Lanes {
            pending: Mutex::new(Waiting {
                jobs: Vec::new(),
                starting: false,
                running: Vec::new(),
                next_id: 0,
                watched: false,
            }),
            count: lanes.max(1),
            patience,
            threads: Threads::new(threads)?,
        })
    }

    /// Sends `jobs` on: into a free lane at once, or to wait for one.
    pub fn dispatch(
        self: &Arc<Self>,
        jobs: Vec<Job<A>>,
        connections: &r2d2::Pool<Manager>,
        runtime: &tokio::runtime::Handle,
    ) {
        if jobs.is_empty() {
            return;
        }
        let next = {
            let mut pending = self.lock();
            pending.jobs.extend(jobs);
            self.next(&mut pending)
        };
        self.act(next, connections, runtime);
    }

    /// What to do for the jobs now waiting, if they are not on their way.
    fn next(&self, pending: &mut Waiting<A>) -> Step {
        if pending.jobs.is_empty() || pending.starting {
            return Step::Nothing;
        }
        if pending.busy(self.patience) < self.count {
            pending.starting = true;
            pending.next_id += 1;
            return Step::Run(pending.next_id);
        }
        if std::mem::replace(&mut pending.watched, true) {
            Step::Nothing
        } else {
            Step::ArmTimer
        }
    }

    fn act(
        self: &Arc<Self>,
        next: Step,
        connections: &r2d2::Pool<Manager>,
        runtime: &tokio::runtime::Handle,
    ) {
        match next {
            Step::Nothing => {}
            Step::Run(id) => {
                let (connections, mut runner) = (
                    connections.clone(),
                    Lane {
                        lanes: self.clone(),
                        id,
                        state: LaneState::Sent,
                    },
                );
                self.threads.spawn(move || {
                    while let Some(jobs) = runner.next_chunk() {
                        run_chunk(&connections, jobs);
                    }
                });
            }
            Step::ArmTimer => {
                let watch = StuckLaneTimer {
                    lanes: self.clone(),
                    armed: true,
                };
                runtime.spawn(watch.run(connections.clone()));
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiting<A>> {
        // A panic cannot happen while the lock is held (extend, take, push).
        lock(&self.pending)
    }
}

/// The timer that looks for a stuck lane: it waits for the busy lanes to
/// run out of patience, then opens a lane for the jobs still waiting, if
/// they still are (a lane that finished meanwhile took them). Only needed
/// when no batch comes after them: under load, the next dispatch does the
/// same. At most one is armed at a time (`watched`).
struct StuckLaneTimer<A: ReadAhead> {
    lanes: Arc<Lanes<A>>,
    /// `watched` is this timer's: it will look again.
    armed: bool,
}

impl<A: ReadAhead> StuckLaneTimer<A> {
    async fn run(mut self, connections: r2d2::Pool<Manager>) {
        loop {
            tokio::time::sleep(self.lanes.patience).await;
            let next = {
                let mut pending = self.lanes.lock();
                pending.watched = false;
                let next = self.lanes.next(&mut pending);
                // Armed again: the lanes are busy and none is stuck yet.
                self.armed = matches!(next, Step::ArmTimer);
                next
            };
            if self.armed {
                continue;
            }
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                self.lanes.act(next, &connections, &runtime);
            }
            return;
        }
    }
}

impl<A: ReadAhead> Drop for StuckLaneTimer<A> {
    /// A timer dropped while armed (its worker's runtime went away, at
    /// shutdown or with a worker actix replaced) disarms, so that the next
    /// dispatch can arm another: otherwise no timer would ever rescue jobs
    /// behind a stuck lane again.
    fn drop(&mut self) {
        if self.armed {
            self.lanes.lock().watched = false;
        }
    }
}

/// A lane, on one of the lanes' threads ([`Threads`]): takes the waiting jobs as a
/// chunk for as long as there are some.
struct Lane<A: ReadAhead> {
    lanes: Arc<Lanes<A>>,
    id: u64,
    state: LaneState,
}

enum LaneState {
    /// On its way to a thread; `starting` in [`Waiting`] is its.
    Sent,
    /// In `running`.
    Running,
    Closed,
}

impl<A: ReadAhead> Lane<A> {
    /// The jobs waiting, as this lane's next chunk; `None` when there are
    /// none (or another runner is about to take them): the lane closes.
    fn next_chunk(&mut self) -> Option<Vec<Job<A>>> {
        let mut pending = self.lanes.lock();
        if let LaneState::Sent = self.state {
            // Sent for these jobs: nobody else took them meanwhile.
            self.state = LaneState::Running;
            pending.starting = false;
            pending.running.push((self.id, Instant::now()));
        } else if pending.jobs.is_empty() || pending.starting {
            pending.running.retain(|(id, _)| *id != self.id);
            self.state = LaneState::Closed;
            return None;
        } else if let Some(lane) = pending.running.iter_mut().find(|(id, _)| *id == self.id) {
            lane.1 = Instant::now();
        }
        Some(std::mem::take(&mut pending.jobs))
    }
}

impl<A: ReadAhead> Drop for Lane<A> {
    /// A runner dropped unstarted (the runtime is shutting down) takes its
    /// jobs with it: their callers see that nothing ran. One that ends in a
    /// panic gives up its lane.
    fn drop(&mut self) {
        let jobs = {
            let mut pending = self.lanes.lock();
            match self.state {
                LaneState::Closed => return,
                LaneState::Running => {
                    pending.running.retain(|(id, _)| *id != self.id);
                    return;
                }
                LaneState::Sent => {
                    pending.starting = false;
                    std::mem::take(&mut pending.jobs)
                }
            }
        };
        drop(jobs);
    }
}

#[cfg(test)]
mod tests {
    use std::thread::ThreadId;

    use super::*;
    use crate::db::engine::testing::{answers, on_one_worker, sqlite_pool, TestPool};
    use crate::db::engine::{run_noting_loss, Error};

    fn pool(dir: &tempfile::TempDir, lanes: usize, patience: Duration) -> TestPool {
        let path = dir.path().join("lanes.db").to_string_lossy().into_owned();
        sqlite_pool(&path, 1, Lanes::new(lanes, patience, 4).unwrap())
    }

    /// A job that reads ahead and answers with the thread it ran on.
    async fn reading_ahead<F>(pool: &TestPool, f: F) -> Result<ThreadId, Error>
    where
        F: FnOnce() + Send + 'static,
    {
        let key = "no such session".to_owned();
        run_noting_loss(pool, Some(key), move |_conn, ()| {
            f();
            Ok(std::thread::current().id())
        })
        .await
        .0
    }

    /// A job that says it has started and then holds its lane until told.
    fn holding(
        pool: &TestPool,
    ) -> (
        tokio::sync::oneshot::Receiver<()>,
        std::sync::mpsc::Sender<()>,
        impl std::future::Future<Output = Result<ThreadId, Error>>,
    ) {
        let (started, on_start) = tokio::sync::oneshot::channel();
        let (release, on_release) = std::sync::mpsc::channel::<()>();
        let pool = pool.clone();
        let job = async move {
            reading_ahead(&pool, move || {
                let _ = started.send(());
                let _ = on_release.recv();
            })
            .await
        };
        (on_start, release, job)
    }

    #[test]
    fn jobs_waiting_for_the_busy_lane_go_together_in_its_next_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 1, Duration::from_secs(3600));
        on_one_worker(async {
            let (on_start, release, first) = holding(&pool);
            let first = tokio::task::spawn_local(first);
            on_start.await.unwrap();
            // Ten requests, over several turns of the event loop.
            let mut waiting = Vec::new();
            for _ in 0..10 {
                let pool = pool.clone();
                waiting.push(tokio::task::spawn_local(async move {
                    reading_ahead(&pool, || ()).await
                }));
                tokio::task::yield_now().await;
            }
            // They wait together for the lane (none opens another).
            for _ in 0..100 {
                if pool.lanes.lock().jobs.len() == 10 {
                    break;
                }
                tokio::task::yield_now().await;
            }
            assert_eq!(pool.lanes.lock().jobs.len(), 10);
            assert_eq!(pool.lanes.lock().running.len(), 1);
            release.send(()).unwrap();
            let lane = first.await.unwrap().unwrap();
            // The lane that freed took them all, as one chunk.
            for job in waiting {
                assert_eq!(job.await.unwrap().unwrap(), lane);
            }
            assert!(pool.lanes.lock().jobs.is_empty());
        });
    }

    #[test]
    fn a_stuck_lane_holds_nobody_for_longer_than_its_patience() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 1, Duration::from_millis(50));
        on_one_worker(async {
            let (on_start, release, stuck) = holding(&pool);
            let stuck = tokio::task::spawn_local(stuck);
            on_start.await.unwrap();
            // Comes right after, and nothing else comes: within the stuck
            // lane's patience, so it waits, until the timer opens a lane.
            let answered = || async {
                tokio::time::timeout(Duration::from_secs(30), reading_ahead(&pool, || ()))
                    .await
                    .expect("a job waited on a stuck lane")
                    .unwrap()
            };
            let next = answered().await;
            // Later ones, after its patience: a lane opens as they come.
            let later = answered().await;
            release.send(()).unwrap();
            let stuck = stuck.await.unwrap().unwrap();
            assert_ne!(next, stuck);
            assert_ne!(later, stuck);
        });
    }

    /// A flood of other work holds every thread of the blocking pool,
    /// with more of it queued there: a job that reads ahead still answers
    /// at once, on a lane's own thread. (On the blocking pool it waited
    /// behind the flood.)
    #[test]
    fn a_lane_waits_for_no_thread_of_other_work() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 1, PATIENCE);
        // One blocking thread, as if the flood had taken all the others.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(1)
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&runtime, async {
            // The flood: one job holding the blocking thread, another
            // queued behind it.
            let (started, on_start) = tokio::sync::oneshot::channel();
            let (release, on_release) = std::sync::mpsc::channel::<()>();
            let holding = tokio::task::spawn_local({
                let pool = pool.clone();
                async move {
                    run_noting_loss(&pool, None, move |_conn, ()| {
                        let _ = started.send(());
                        let _ = on_release.recv();
                        Ok::<_, Error>(())
                    })
                    .await
                    .0
                }
            });
            on_start.await.unwrap();
            let queued = tokio::task::spawn_local({
                let pool = pool.clone();
                async move {
                    run_noting_loss(&pool, None, |_, ()| Ok::<_, Error>(()))
                        .await
                        .0
                }
            });
            tokio::task::yield_now().await;
            let lane = tokio::time::timeout(Duration::from_secs(30), reading_ahead(&pool, || ()))
                .await
                .expect("a job that reads ahead waited for the flood");
            assert!(lane.is_ok(), "{lane:?}");
            release.send(()).unwrap();
            holding.await.unwrap().unwrap();
            queued.await.unwrap().unwrap();
        });
    }

    /// A timer dropped before it fired (its worker's runtime gone) leaves
    /// the next dispatch free to arm another.
    #[test]
    fn a_timer_that_never_fired_is_disarmed() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 1, Duration::from_secs(3600));
        // The one lane busy (as if with a chunk), so a waiting job arms one.
        pool.lanes.lock().running.push((0, Instant::now()));
        let job = || Job::<crate::db::engine::testing::ReadsNothing> {
            work: Box::new(|_, _| Box::new(|| ())),
            key: None,
            queued: Instant::now(),
        };
        for _ in 0..2 {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            pool.lanes
                .dispatch(vec![job()], &pool.connections, runtime.handle());
            assert!(pool.lanes.lock().watched, "a timer armed");
            drop(runtime);
            assert!(!pool.lanes.lock().watched, "the dropped timer disarmed");
        }
    }

    /// Two workers' read-aheads through one lane: every job gets its own
    /// answer, however their batches meet.
    #[test]
    fn every_worker_gets_its_own_answers_through_one_lane() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(&dir, 1, PATIENCE);
        let workers: Vec<_> = (0..2_i64)
            .map(|worker| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    on_one_worker(async move {
                        let tasks: Vec<_> = (0..300_i64)
                            .map(|i| {
                                let pool = pool.clone();
                                tokio::task::spawn_local(async move {
                                    let key = format!("hash {worker} {i}");
                                    run_noting_loss(&pool, Some(key), move |_, ()| {
                                        Ok::<_, Error>((worker, i))
                                    })
                                    .await
                                    .0
                                })
                            })
                            .collect();
                        answers(tasks).await
                    })
                })
            })
            .collect();
        for (worker, answers) in workers.into_iter().enumerate() {
            let expected: Vec<_> = (0..300).map(|i| (worker as i64, i)).collect();
            assert_eq!(answers.join().unwrap(), expected);
        }
        let pending = pool.lanes.lock();
        assert!(pending.jobs.is_empty() && !pending.starting);
    }
}
