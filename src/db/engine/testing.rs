//! A PostgreSQL database of its own for a unit test, and a pool and an
//! event loop for the tests of batching. The black-box tests have theirs
//! (`tests/api/support/`), which the library's own tests cannot reach.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use super::pg::PgConn;
use super::{Conn, Pool, ReadAhead};

/// What the engine's own tests read ahead: nothing, for jobs keyed by any
/// string. Enough to send jobs through the read-ahead lanes.
pub struct ReadsNothing;

impl ReadAhead for ReadsNothing {
    type Key = String;
    type Found = ();
    fn read(_: &mut Conn, keys: &[&String]) -> Vec<()> {
        vec![(); keys.len()]
    }
}

pub type TestPool = Pool<ReadsNothing>;

/// The PostgreSQL server the tests' PostgreSQL halves run on:
/// `TOLLGATE_TEST_POSTGRES`, or else the machine's own on its usual port.
/// A PostgreSQL test never passes without running: with no server there,
/// it fails and says how to leave those tests out, so that the runner
/// counts them as filtered out rather than as passed.
pub fn postgres_server() -> String {
    const LOCAL: &str = "postgres://postgres@127.0.0.1:5432/";
    if let Some(server) = std::env::var("TOLLGATE_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return server;
    }
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    let timeout = std::time::Duration::from_secs(2);
    if std::net::TcpStream::connect_timeout(&address, timeout).is_err() {
        panic!(
            "no PostgreSQL server at {LOCAL}: start one, name another in \
             TOLLGATE_TEST_POSTGRES, or leave PostgreSQL's tests out with \
             `cargo test -- --skip postgres --skip each_backend`"
        );
    }
    LOCAL.to_owned()
}

/// Runs `test` with the URL of a new, empty database on the server
/// [`postgres_server`] names, and drops the database afterwards, also
/// when the test fails.
///
/// The database is `tollgate_unit_{name}_{pid}`: one per test and process,
/// so tests running in parallel never share one; a leftover of an earlier
/// process with the same pid is dropped first.
pub fn on_postgres(name: &str, test: impl FnOnce(&str) + std::panic::UnwindSafe) {
    let server = postgres_server();
    let database = format!("tollgate_unit_{name}_{}", std::process::id());
    let mut admin = PgConn::establish(&server).unwrap();
    // (Two calls: one simple query of two statements would be a
    // transaction, which CREATE DATABASE refuses.)
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .unwrap();
    // The server's URL with the database as its path (its query, say an
    // `sslmode`, kept).
    let mut url = url::Url::parse(&server).expect("the PostgreSQL server's URL");
    url.set_path(&database);
    let url = url.to_string();
    let result = std::panic::catch_unwind(|| test(&url));
    admin
        .batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)"))
        .unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `test` on a connection to a fresh SQLite file, then on one to a
/// fresh PostgreSQL database (see [`on_postgres`]; `name` names it): a
/// check of SQL that both backends must answer alike.
pub fn on_each_backend(name: &str, test: impl Fn(&mut Conn) + std::panic::RefUnwindSafe) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.db"));
    let sqlite = super::open_sqlite(&path.to_string_lossy()).unwrap();
    test(&mut super::DbConnection::Sqlite(sqlite));
    on_postgres(name, |url| {
        test(&mut super::DbConnection::Postgres(
            PgConn::establish(url).unwrap(),
        ));
    });
}

/// A pool of two connections to the SQLite file at `path`, its chunks of
/// jobs that do not read ahead split `parallel` ways, those that do going
/// through `lanes`.
pub fn sqlite_pool<A: ReadAhead>(
    path: &str,
    parallel: usize,
    lanes: super::lanes::Lanes<A>,
) -> Pool<A> {
    let manager = super::Manager::new(
        super::Backend::Sqlite {
            path: path.to_owned(),
        },
        std::time::Duration::from_secs(1),
    );
    Pool {
        connections: diesel::r2d2::Pool::builder()
            .max_size(2)
            // Also how long a job may wait for its turn in a chunk: long
            // enough for a slow machine's test to queue one behind another.
            .connection_timeout(std::time::Duration::from_secs(2))
            .build_unchecked(manager),
        batchers: std::sync::Arc::default(),
        lanes: std::sync::Arc::new(lanes),
        parallel,
        min_chunk: 1,
    }
}

/// Runs `f` as an actix worker runs requests: one thread, one `LocalSet`.
pub fn on_one_worker<F: std::future::Future>(f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tokio::task::LocalSet::new().block_on(&rt, f)
}

/// What each of `tasks` returned, in order (a task that panicked fails
/// the test).
pub async fn results<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// What each of `tasks` answered, in order; a task that panicked or
/// answered an error fails the test.
pub async fn answers<T, E: std::fmt::Debug>(
    tasks: Vec<tokio::task::JoinHandle<Result<T, E>>>,
) -> Vec<T> {
    results(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// The SQL of every statement `work` runs on a fresh, migrated SQLite
/// file, and the file's path (kept until the directory is dropped).
pub fn sqlite_statements(
    work: impl FnOnce(&mut Conn),
) -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
    use std::sync::{Arc, Mutex};

    use diesel::connection::InstrumentationEvent;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statements.db");
    let mut conn =
        super::DbConnection::Sqlite(super::open_sqlite(&path.to_string_lossy()).unwrap());
    super::migrate(&mut conn).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let record = move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            let sql = text
                .split(" -- binds:")
                .next()
                .unwrap_or_default()
                .to_owned();
            log.lock().unwrap().push(sql);
        }
    };
    if let super::DbConnection::Sqlite(c) = &mut conn {
        c.set_instrumentation(record);
    }
    work(&mut conn);
    let statements = std::mem::take(&mut *seen.lock().unwrap());
    (dir, path, statements)
}

/// Whether SQLite compiles `sql` again each time its parameters are bound
/// again, on the database at `path`: it does when a bound value steers its
/// plan (a bound `LIMIT`, a bound value matched against a partial index's
/// predicate, a bound `LIKE` pattern), and diesel binds every parameter on
/// every execution, so such a statement is parsed and planned on every
/// call however long it stays cached. Found through `EXPLAIN`, which
/// compiles the statement as its execution would and runs nothing.
pub fn sqlite_recompiles(path: &std::path::Path, sql: &str) -> bool {
    use libsqlite3_sys as ffi;
    use std::ffi::CString;

    let file = CString::new(path.to_string_lossy().as_bytes()).unwrap();
    let explain = CString::new(format!("EXPLAIN {sql}")).unwrap();
    // SAFETY: a connection and a statement of this function's own, each
    // checked before use and finalized or closed before it returns.
    unsafe {
        let mut db = std::ptr::null_mut();
        assert_eq!(
            ffi::sqlite3_open_v2(
                file.as_ptr(),
                &mut db,
                ffi::SQLITE_OPEN_READWRITE,
                std::ptr::null()
            ),
            ffi::SQLITE_OK
        );
        let mut stmt = std::ptr::null_mut();
        let prepared =
            ffi::sqlite3_prepare_v2(db, explain.as_ptr(), -1, &mut stmt, std::ptr::null_mut());
        assert_eq!(prepared, ffi::SQLITE_OK, "{sql}");
        for i in 1..=ffi::sqlite3_bind_parameter_count(stmt) {
            ffi::sqlite3_bind_null(stmt, i);
        }
        let stepped = ffi::sqlite3_step(stmt);
        assert!(
            matches!(stepped, ffi::SQLITE_ROW | ffi::SQLITE_DONE),
            "{sql}"
        );
        let recompiled = ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_REPREPARE, 0);
        ffi::sqlite3_finalize(stmt);
        ffi::sqlite3_close(db);
        recompiled > 0
    }
}
