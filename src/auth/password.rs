//! bcrypt hashing and verification, always on threads of its own: one hash
//! takes a quarter of a second at cost 12, which would stall every request
//! queued on an async worker.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::domain::password::prepare;
use crate::error::ApiError;

/// The hashing threads' nice value: the lowest priority there is (the
/// rest of the process keeps the default, 0). A hash is pure CPU
/// for tens of milliseconds, and at the same priority Linux lets it run on
/// while a request that needs a tenth of a millisecond waits: a login
/// storm made everyone else's answers milliseconds slower (a
/// `check_session` probe during `bench/run.sh`'s S4 storm, one core: p99
/// 5.2-5.3 ms with the hashes at the default priority, 2.3-3.6 ms at nice
/// 10, 0.2-0.9 ms at nice 19; the storm's logins per second the same in
/// all three). With nothing else to run, a hash still gets the whole core,
/// so logins are as fast as before; only a core kept busy by other requests
/// slows them, and then the requests come first.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const NICENESS: libc::c_int = 19;

type Job = Box<dyn FnOnce() + Send>;

/// One thread per CPU core, each running one hash at a time; the jobs
/// queue in order. More threads would not finish any sooner (bcrypt is
/// pure CPU), but a flood of logins would then hold every core.
struct Hashers {
    jobs: Sender<Job>,
    threads: usize,
}

/// What the hashing threads have in hand, and how long a hash has taken
/// lately: enough to tell, when a job is offered, when its turn would come.
/// A flood of password checks (wrong passwords from many addresses) would
/// otherwise queue without bound, and every honest login behind it would
/// wait as long as the flood lasts; a job whose turn would come later than
/// its caller can wait is refused at once (`503`), and the queue stays
/// short enough for the logins that are let in.
struct Backlog {
    /// Jobs offered and not yet finished (or dropped).
    queued: AtomicUsize,
    /// A hash's recent duration in nanoseconds, averaged (0: none yet).
    nanos: AtomicU64,
}

static BACKLOG: Backlog = Backlog {
    queued: AtomicUsize::new(0),
    nanos: AtomicU64::new(0),
};

impl Backlog {
    /// How long a job offered now would wait for a thread, with `ahead`
    /// jobs before it on `threads` threads.
    fn wait(&self, ahead: usize, threads: usize) -> Duration {
        let rounds = (ahead / threads.max(1)) as u64;
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed).saturating_mul(rounds))
    }

    /// Folds one hash's duration into the average (an eighth of it: a
    /// change of cost shows within a few dozen hashes).
    fn record(&self, took: Duration) {
        let took = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        let _ = self
            .nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 {
                    took
                } else {
                    old - old / 8 + took / 8
                })
            });
    }
}

/// A job's place in [`BACKLOG`], given up however the job ends: run,
/// skipped (its caller gone), panicked, or never sent.
struct Place;

impl Drop for Place {
    fn drop(&mut self) {
        BACKLOG.queued.fetch_sub(1, Ordering::Relaxed);
    }
}

static HASHERS: LazyLock<Hashers> = LazyLock::new(|| {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    for n in 0..threads {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("bcrypt-{n}"))
            .spawn(move || hash_jobs(&queue));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a hashing thread");
        }
    }
    Hashers { jobs, threads }
});

fn hash_jobs(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while waiting for the next job.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        // A panic loses that one job (its caller sees an error), not the
        // thread.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

/// Sets the calling thread's nice value to [`NICENESS`]. On Linux a nice
/// value belongs to a thread, so the async workers and the database's
/// threads keep theirs; elsewhere it would lower the whole process, so
/// nothing is changed. Raising one's own nice value needs no privilege.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its arguments; `who` 0 is the caller.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICENESS) } != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "hashing runs at normal priority"
        );
    }
}

/// Runs one bcrypt computation on a hashing thread, inside the caller's
/// tracing span, so that an async worker is never stalled and log lines
/// keep their request context. (Database work has its own way off the
/// workers: `db::run`.) `503 unavailable` at once, with nothing queued,
/// when its turn would come later than `max_wait` (see [`Backlog`]).
async fn run_hashing<T: Send + 'static>(
    max_wait: Duration,
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let hashers = &*HASHERS;
    let ahead = BACKLOG.queued.fetch_add(1, Ordering::Relaxed);
    let place = Place;
    if BACKLOG.wait(ahead, hashers.threads) > max_wait {
        tracing::warn!(
            queued = ahead,
            "turned a password check away: the hashing queue is full"
        );
        return Err(ApiError::Unavailable);
    }
    let (answer, result) = oneshot::channel();
    let span = tracing::Span::current();
    let job: Job = Box::new(move || {
        let _place = place;
        // A caller that has gone (its client hung up) no longer needs it.
        if !answer.is_closed() {
            let started = Instant::now();
            let done = span.in_scope(f);
            BACKLOG.record(started.elapsed());
            let _ = answer.send(done);
        }
    });
    hashers
        .jobs
        .send(job)
        .map_err(|_| ApiError::internal(anyhow::anyhow!("no hashing thread is running")))?;
    result
        .await
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a hashing job was lost")))?
}

/// bcrypt reads at most this many bytes of a password.
const BCRYPT_MAX_BYTES: usize = 72;

/// Hashes without ever truncating. bcrypt hashes the password plus a NUL
/// terminator and keeps 72 bytes, so the crate's `non_truncating_hash`
/// refuses a 72-byte password (73 with the NUL) although the contract allows
/// it and dropping the terminator loses nothing of the password. So the
/// check is ours: over 72 bytes is an error, and 72 or fewer are hashed
/// whole.
fn hash_whole(password: &[u8], cost: u32) -> Result<String, bcrypt::BcryptError> {
    if password.len() > BCRYPT_MAX_BYTES {
        return Err(bcrypt::BcryptError::Truncation(password.len()));
    }
    bcrypt::hash(password, cost)
}

/// Verifies without truncating: a password longer than bcrypt reads never
/// matches (it would otherwise match any password it starts with).
fn verify_whole(password: &[u8], hash: &str) -> Result<bool, bcrypt::BcryptError> {
    if password.len() > BCRYPT_MAX_BYTES {
        return Err(bcrypt::BcryptError::Truncation(password.len()));
    }
    bcrypt::verify(password, hash)
}

/// Hashes a new password at `cost`; `503` if the hashing queue could not
/// get to it within `max_wait`.
#[tracing::instrument(name = "hash_password", skip_all, fields(cost))]
pub async fn hash(password: String, cost: u32, max_wait: Duration) -> Result<String, ApiError> {
    run_hashing(max_wait, move || {
        hash_whole(password.as_bytes(), cost).map_err(ApiError::internal)
    })
    .await
}

/// Hashes on the calling thread: for the dummy hash at start-up (and tests).
fn hash_now(password: &str, cost: u32) -> anyhow::Result<String> {
    Ok(hash_whole(password.as_bytes(), cost)?)
}

/// A hash to verify against when the username is unknown, made at start-up
/// with the configured cost, so an unknown user costs what a wrong password
/// costs and response times do not reveal which usernames exist.
#[derive(Clone)]
pub struct DummyHash(Arc<str>);

impl DummyHash {
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        let started = Instant::now();
        let dummy = DummyHash(hash_now("tollgate dummy password", cost)?.into());
        // The first measure of a hash at this cost, so that a flood at
        // start-up is already weighed (see `Backlog`).
        BACKLOG.record(started.elapsed());
        Ok(dummy)
    }
}

/// Checks `password` against `stored` (or against the dummy hash when
/// `stored` is `None`) and, on a match made at a cost other than
/// `current_cost` or from a password stored before passwords were prepared
/// (`domain::password::prepare`), returns a new hash at the current cost,
/// of the prepared form, to store. `503` if the hashing queue could not get
/// to it within `max_wait`.
///
/// The prepared form is checked first. A password stored before that rule
/// was hashed as typed: when the typed text differs from its prepared form
/// and the prepared one does not match, the text as typed is checked too,
/// and the dummy hash is checked twice for such a text, so that an unknown
/// account still costs what a known one does.
#[tracing::instrument(name = "verify_password", skip_all)]
pub async fn verify(
    password: String,
    stored: Option<String>,
    dummy: &DummyHash,
    current_cost: u32,
    max_wait: Duration,
) -> Result<Verified, ApiError> {
    let dummy = dummy.0.clone();
    run_hashing(max_wait, move || {
        let prepared = prepare(&password);
        let typed_differs = prepared != password.as_str();
        let Some(stored) = stored else {
            // Spend the same time, then fail whatever the result.
            let _ = bcrypt::verify(prepared.as_bytes(), &dummy);
            if typed_differs {
                let _ = bcrypt::verify(password.as_bytes(), &dummy);
            }
            return Ok(Verified::No);
        };
        // A password over 72 bytes can never match (it could not have been
        // registered), but it still costs a verification.
        let matches = |candidate: &str| {
            verify_whole(candidate.as_bytes(), &stored).unwrap_or_else(|_| {
                let _ = bcrypt::verify(b"x", &dummy);
                false
            })
        };
        let stored_prepared = if matches(&prepared) {
            true
        } else if typed_differs && matches(&password) {
            false
        } else {
            return Ok(Verified::No);
        };
        if stored_prepared && cost_of(&stored) == Some(current_cost) {
            return Ok(Verified::Yes { rehashed: None });
        }
        let rehashed = hash_whole(prepared.as_bytes(), current_cost).map_err(ApiError::internal)?;
        Ok(Verified::Yes {
            rehashed: Some(rehashed),
        })
    })
    .await
}

pub enum Verified {
    No,
    /// The password matched; `rehashed` is set when the cost changed.
    Yes {
        rehashed: Option<String>,
    },
}

/// The cost a bcrypt hash (`$2b$12$...`) was made with.
fn cost_of(hash: &str) -> Option<u32> {
    hash.split('$').nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long enough that these tests never meet a full queue.
    const WAIT: Duration = Duration::from_secs(3_600);

    #[test]
    fn a_job_s_wait_is_the_hashes_ahead_of_it_per_thread() {
        let backlog = Backlog {
            queued: AtomicUsize::new(0),
            nanos: AtomicU64::new(0),
        };
        // No hash measured yet: nothing to refuse on.
        assert_eq!(backlog.wait(1_000, 2), Duration::ZERO);
        backlog.record(Duration::from_millis(80));
        assert_eq!(backlog.wait(1, 2), Duration::ZERO, "a free thread");
        assert_eq!(backlog.wait(2, 2), Duration::from_millis(80));
        assert_eq!(backlog.wait(25, 2), Duration::from_millis(12 * 80));
        // The average follows a change of cost, an eighth at a time.
        backlog.record(Duration::from_millis(160));
        assert_eq!(backlog.wait(2, 2), Duration::from_millis(90));
    }

    #[test]
    fn a_72_byte_password_is_hashed_whole_and_a_73_byte_one_refused() {
        let p72 = "a".repeat(71) + "b";
        let h = hash_now(&p72, 4).unwrap();
        assert!(verify_whole(p72.as_bytes(), &h).unwrap());
        assert!(!verify_whole(("a".repeat(71) + "c").as_bytes(), &h).unwrap());
        assert!(hash_now(&"a".repeat(73), 4).is_err());
        assert!(verify_whole(format!("{p72}x").as_bytes(), &h).is_err());
    }

    #[test]
    fn reads_the_cost_from_a_hash() {
        let h = hash_now("some password", 4).unwrap();
        assert_eq!(cost_of(&h), Some(4));
        assert_eq!(cost_of("garbage"), None);
    }

    /// The hashes run on the `bcrypt-*` threads, one per core, each at nice
    /// 19 (read back from `/proc`, field 19 of a thread's `stat`).
    #[cfg(target_os = "linux")]
    #[actix_web::test]
    async fn hashes_run_on_their_own_threads_at_the_lowest_priority() {
        // One job per thread, each held until all are running: then every
        // thread has started and lowered itself (it does so before taking
        // a job), whichever came up first.
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let all_running = Arc::new(std::sync::Barrier::new(cores));
        let jobs = (0..cores).map(|_| {
            let all_running = all_running.clone();
            run_hashing(WAIT, move || {
                all_running.wait();
                Ok(std::thread::current().name().map(str::to_owned))
            })
        });
        let mut ran_on: Vec<String> = futures_util::future::join_all(jobs)
            .await
            .into_iter()
            .map(|name| name.unwrap().unwrap())
            .collect();
        ran_on.sort();
        ran_on.dedup();
        assert_eq!(ran_on.len(), cores, "one job per thread: {ran_on:?}");
        assert!(ran_on.iter().all(|name| name.starts_with("bcrypt-")));
        hash("a password".into(), 4, WAIT).await.unwrap();

        let niceness: Vec<i64> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|task| {
                let path = task.ok()?.path();
                let name = std::fs::read_to_string(path.join("comm")).ok()?;
                if !name.starts_with("bcrypt-") {
                    return None;
                }
                let stat = std::fs::read_to_string(path.join("stat")).ok()?;
                // Field 3 is the first after the name's closing parenthesis.
                let fields = stat.rsplit_once(')')?.1;
                fields.split_whitespace().nth(19 - 3)?.parse().ok()
            })
            .collect();
        assert_eq!(niceness, vec![19; cores]);
    }

    #[actix_web::test]
    async fn verifies_and_rehashes_on_a_cost_change() {
        let dummy = DummyHash::new(4).unwrap();
        let stored = hash_now("right password", 4).unwrap();
        let same = verify(
            "right password".into(),
            Some(stored.clone()),
            &dummy,
            4,
            WAIT,
        )
        .await
        .unwrap();
        assert!(matches!(same, Verified::Yes { rehashed: None }));
        let wrong = verify(
            "wrong password".into(),
            Some(stored.clone()),
            &dummy,
            4,
            WAIT,
        )
        .await
        .unwrap();
        assert!(matches!(wrong, Verified::No));
        let unknown = verify("right password".into(), None, &dummy, 4, WAIT)
            .await
            .unwrap();
        assert!(matches!(unknown, Verified::No));
        match verify("right password".into(), Some(stored), &dummy, 5, WAIT)
            .await
            .unwrap()
        {
            Verified::Yes {
                rehashed: Some(new),
            } => assert_eq!(cost_of(&new), Some(5)),
            _ => panic!("expected a rehash"),
        }
    }
}
