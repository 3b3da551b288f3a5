//! Transactions that write: one at a time per SQLite file in this process,
//! ordinary READ COMMITTED ones on PostgreSQL.

use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;

use super::{Conn, DbConnection};

/// SQLite lets one writer in at a time. This process's writers queue here
/// first, each woken the moment the one before it finishes, instead of in
/// SQLite's busy handler, which polls with sleeps of up to 100 ms while
/// every `check_session` batched behind the waiting writer waits too (the
/// likely cause of an 89 ms S5 p99 seen once; docs/performance.md). Every write
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
    // the turn again would wait for ever on this very transaction.
    let depth = AnsiTransactionManager::transaction_manager_status_mut(sqlite)
        .transaction_depth()
        .map_err(E::from)?;
    if depth.is_some() {
        return conn.transaction(f);
    }
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
