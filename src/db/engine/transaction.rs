//! Transactions that write: one at a time per SQLite file in this process,
//! ordinary READ COMMITTED ones on PostgreSQL.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use super::connection::{Conn, DbConnection};

/// SQLite lets one writer in at a time. This process's writers queue here
/// first, each woken the moment the one before it finishes, instead of in
/// SQLite's busy handler, which polls with sleeps of up to 100 ms while
/// every `check_session` batched behind the waiting writer waits too (the
/// likely cause of an 89 ms S5 p99 seen once; docs/performance.md). Every write
/// goes through [`write_transaction`], so every writer of this process
/// queues here. Writers in other processes on the same file still meet
/// `busy_timeout`. One queue for the process, whatever the file: several
/// SQLite databases in one process (the tests) queue their short
/// transactions together, and a writer held up by another process's lock
/// on one file holds up the writers of the others too, each for its own
/// `busy_timeout` at most.
static SQLITE_WRITERS: Turnstile = Turnstile::new();

/// A turn that is waited for at most a given time: SQLite's writers wait
/// here no longer than they would in its busy handler (the connection's
/// `busy_timeout`, DATABASE_TIMEOUT_SECONDS; a connection without one, as
/// SQLite opens it, waits without a bound). An unbounded wait would let a
/// lock held by another process (a backup, a `sqlite3` shell left in a
/// transaction) make the n-th writer queued behind it wait n timeouts.
///
/// It is not first come, first served (no more than a std mutex is): a
/// writer that finds the turn free takes it even if others wait. Its
/// transactions are short, so a waiter that keeps losing it for a whole
/// timeout is a database that is not keeping up, which `503` reports.
struct Turnstile {
    state: Mutex<Gate>,
    freed: Condvar,
}

struct Gate {
    taken: bool,
    /// Writers waiting for the turn: one is woken when it is given back,
    /// and only then (a wake-up is a system call, and most turns are
    /// taken and given back with nobody waiting).
    waiting: usize,
}

/// The turn, given back when dropped. Made only once the turn is taken
/// (`then`, not `then_some`: a `Turn` made and dropped when the turn is
/// not free would lock the gate it is already under, and wait for ever).
struct Turn(&'static Turnstile);

impl Turnstile {
    const fn new() -> Turnstile {
        Turnstile {
            state: Mutex::new(Gate {
                taken: false,
                waiting: 0,
            }),
            freed: Condvar::new(),
        }
    }

    fn gate(&self) -> std::sync::MutexGuard<'_, Gate> {
        // Nothing can panic while it is held.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The turn if it is free, taken under the gate's lock.
    fn take(&'static self, gate: &mut Gate) -> Option<Turn> {
        (!std::mem::replace(&mut gate.taken, true)).then(|| Turn(self))
    }

    fn try_enter(&'static self) -> Option<Turn> {
        self.take(&mut self.gate())
    }

    /// Waits for the turn, for at most `patience` if there is one.
    fn enter(&'static self, patience: Option<Duration>) -> Option<Turn> {
        let mut gate = self.gate();
        gate.waiting += 1;
        let mut gate = match patience {
            Some(patience) => {
                self.freed
                    .wait_timeout_while(gate, patience, |gate| gate.taken)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
            None => self
                .freed
                .wait_while(gate, |gate| gate.taken)
                .unwrap_or_else(|e| e.into_inner()),
        };
        gate.waiting -= 1;
        self.take(&mut gate)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut gate = self.0.gate();
        gate.taken = false;
        if gate.waiting > 0 {
            self.0.freed.notify_one();
        }
    }
}

/// The connection's `busy_timeout`: how long its writer may wait for the
/// lock; `None` when it has none (0, SQLite's default: it would refuse at
/// once, where this process's writers have always queued for their turn).
fn busy_timeout(sqlite: &mut SqliteConnection) -> QueryResult<Option<Duration>> {
    #[derive(QueryableByName)]
    struct Timeout {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        timeout: i64,
    }
    let millis = diesel::sql_query("PRAGMA busy_timeout")
        .get_result::<Timeout>(sqlite)?
        .timeout;
    Ok(u64::try_from(millis)
        .ok()
        .filter(|millis| *millis > 0)
        .map(Duration::from_millis))
}

/// What a writer that waited its whole `busy_timeout` for its turn gets:
/// the error SQLite gives one that waited as long for the lock itself, so
/// that it is answered the same way (`503 unavailable`).
fn locked() -> diesel::result::Error {
    diesel::result::Error::DatabaseError(
        diesel::result::DatabaseErrorKind::Unknown,
        Box::new("database is locked (this process's writers' turn)".to_owned()),
    )
}

/// Runs `f` in a transaction that will write; every statement that writes
/// runs inside one. On SQLite it begins IMMEDIATE: the write lock is taken
/// before the first read, so a read-then-write can never fail half-way on
/// lock upgrade, and all such transactions run one at a time (which is what
/// keeps the invariants there). On PostgreSQL it is an ordinary READ
/// COMMITTED transaction; the functions that need more take row or advisory
/// locks inside it.
///
/// Both go through Diesel's transaction manager, so a transaction opened
/// inside `f` — a `write_transaction` too — is a savepoint, and an error
/// (or a panic, which leaves the connection marked broken and out of the
/// pool) rolls everything back.
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
    // Already inside one (this writer's turn is held): a savepoint. Taking
    // the turn again would wait on this very transaction: until its
    // busy_timeout, or for ever on a connection without one.
    let depth = AnsiTransactionManager::transaction_manager_status_mut(sqlite)
        .transaction_depth()
        .map_err(E::from)?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    // A free turn is taken without asking the connection its busy_timeout,
    // a statement only a writer that has to wait needs. A panic while
    // holding it leaves nothing to repair (the turn is given back as the
    // stack unwinds).
    let _turn = match SQLITE_WRITERS.try_enter() {
        Some(turn) => turn,
        None => SQLITE_WRITERS
            .enter(busy_timeout(sqlite)?)
            .ok_or_else(|| E::from(locked()))?,
    };
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

#[cfg(test)]
mod tests {
    use diesel::result::Error as Diesel;
    use diesel::sql_types::BigInt;

    use diesel::connection::SimpleConnection;

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
    fn a_writers_turn_is_waited_for_at_most_the_patience_given() {
        static TURNSTILE: Turnstile = Turnstile::new();
        let first = TURNSTILE.try_enter().expect("a free turn");
        // Taken: asking again neither gets it nor frees it.
        assert!(TURNSTILE.try_enter().is_none());
        assert!(TURNSTILE.enter(Some(Duration::from_millis(20))).is_none());
        assert!(TURNSTILE.try_enter().is_none());
        // Given back while another waits (or before it asks): it gets it.
        let waiter = std::thread::spawn(|| TURNSTILE.enter(None).is_some());
        drop(first);
        assert!(waiter.join().unwrap());
        assert!(TURNSTILE.try_enter().is_some());
    }

    #[test]
    fn a_writer_waits_for_the_turn_no_longer_than_its_busy_timeout() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("turn.db").to_string_lossy().into_owned();
        let open = |millis: u32| {
            let mut conn = DbConnection::Sqlite(crate::db::engine::open_sqlite(&path).unwrap());
            conn.batch_execute(&format!("PRAGMA busy_timeout = {millis}"))
                .unwrap();
            conn
        };
        let mut holder = open(5000);
        holder.batch_execute("CREATE TABLE t (n INTEGER)").unwrap();
        let (held, on_held) = std::sync::mpsc::channel();
        let (finish, on_finish) = std::sync::mpsc::channel::<()>();
        // This process's turn held by a writer that is not done yet (for
        // 10 s at most, so that a waiter without a bound gets the turn and
        // fails the test rather than hanging it).
        let holding = std::thread::spawn(move || {
            write_transaction(&mut holder, |conn| {
                held.send(()).unwrap();
                let _ = on_finish.recv_timeout(std::time::Duration::from_secs(10));
                insert(conn, 1)
            })
        });
        on_held.recv().unwrap();

        let mut waiter = open(50);
        let refused = write_transaction(&mut waiter, |conn| insert(conn, 2));

        finish.send(()).unwrap();
        holding.join().unwrap().unwrap();
        let refused = refused.expect_err("the turn was held past the waiter's busy_timeout");
        assert!(
            refused.to_string().contains("database is locked"),
            "{refused}: answered as a locked database is (503)"
        );
        assert_eq!(rows(&mut waiter), 1);
    }

    #[test]
    fn a_transaction_inside_a_write_transaction_is_a_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.db").to_string_lossy().into_owned();
        let mut conn = DbConnection::Sqlite(crate::db::engine::open_sqlite(&path).unwrap());
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

        // A write transaction inside another is a savepoint of it, not a
        // wait for the writer's turn its caller holds.
        write_transaction(&mut conn, |conn| {
            insert(conn, 5)?;
            let inner = write_transaction(conn, |conn| {
                insert(conn, 6)?;
                Err::<(), _>(Diesel::RollbackTransaction)
            });
            assert!(inner.is_err());
            write_transaction(conn, |conn| insert(conn, 7))
        })
        .unwrap();
        assert_eq!(rows(&mut conn), 4);
    }
}
