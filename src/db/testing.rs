//! A PostgreSQL database of its own for a unit test. The black-box tests
//! have theirs (`tests/api/helpers.rs`, `PgDatabase`), which the library's
//! own tests cannot reach.

use diesel::connection::SimpleConnection;
use diesel::Connection;

use super::pg::PgConn;

/// Runs `test` with the URL of a new, empty database on the server
/// `TOLLGATE_TEST_POSTGRES` names, and drops the database afterwards, also
/// when the test fails. Without that variable the test says so and passes:
/// `cargo test` needs no PostgreSQL; `.ci/run` sets it.
///
/// The database is `tollgate_unit_{name}_{pid}`: one per test and process,
/// so tests running in parallel never share one; a leftover of an earlier
/// process with the same pid is dropped first.
pub fn on_postgres(name: &str, test: impl FnOnce(&str) + std::panic::UnwindSafe) {
    let Some(server) = std::env::var("TOLLGATE_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    else {
        eprintln!("skipped: set TOLLGATE_TEST_POSTGRES to a PostgreSQL server URL to run");
        return;
    };
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
    let mut url = url::Url::parse(&server).expect("TOLLGATE_TEST_POSTGRES is a URL");
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
