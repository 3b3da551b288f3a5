//! The test's own way into the app's database: a direct connection, for
//! arranging data and checking what was stored, and counting rows.
//!
//! The app's database items the tests name are re-exported here, so that a
//! path that moves in `src/db/` moves in this file only.

use diesel::connection::SimpleConnection;
use diesel::query_builder::SqlQuery;
use diesel::query_dsl::LoadQuery;
use diesel::{Connection, RunQueryDsl};

// A Stripe event applied as the webhook applies it: its rows and its
// effect on the member, in the caller's transaction.
pub use tollgate::accounts::subscriptions::apply as apply_event;
pub use tollgate::db::billing::Applied;
pub use tollgate::db::pg::PgConn as PgConnection;
pub use tollgate::db::{schema, write_transaction, DbConnection};

use super::TestApp;

/// The one column of a `SELECT COUNT(*) AS n …`.
#[derive(diesel::QueryableByName)]
pub struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// The `n` of `sql` (a `SELECT COUNT(*) AS n …`) on the app's database.
pub fn count(app: &TestApp, sql: &str) -> i64 {
    count_in(&mut app.db(), sql)
}

/// The `n` of `sql` on any connection (a private server's, say).
pub fn count_in<C>(conn: &mut C, sql: &str) -> i64
where
    C: Connection,
    SqlQuery: for<'a> LoadQuery<'a, C, Count>,
{
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .n
}

/// Runs `sql` (an `INSERT`, an `UPDATE`) on the app's database.
pub fn execute(app: &TestApp, sql: &str) {
    diesel::sql_query(sql)
        .execute(&mut app.db())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Adds posts 13–20, so that twenty distinct posts exist.
pub fn add_posts(app: &TestApp) {
    let mut db = app.db();
    for id in 13..=20 {
        diesel::sql_query(format!(
            "INSERT INTO posts (id, slug, title, body, html, excerpt, published_at) \
             VALUES ({id}, 'post-{id}', 'Post {id}', 'Body {id}', '<p>Body {id}</p>', 'Body {id}', 1700000000)"
        ))
        .execute(&mut db)
        .unwrap();
    }
}

impl TestApp {
    /// A direct connection to the app's database, for arranging data and
    /// checking what was stored.
    pub fn db(&self) -> DbConnection {
        match self.postgres_url() {
            Some(url) => {
                DbConnection::Postgres(PgConnection::establish(&url).expect("the test db"))
            }
            None => {
                let mut conn =
                    tollgate::db::engine::open_sqlite(&self.database_url).expect("the test db");
                conn.batch_execute("PRAGMA busy_timeout = 5000;")
                    .expect("busy timeout");
                DbConnection::Sqlite(conn)
            }
        }
    }
}
