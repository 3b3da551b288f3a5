//! Black-box tests of the HTTP contract (`../shared/API.md`): one binary,
//! a file per route group.
//!
//! Each `backend_test!` runs twice, as `<name>::sqlite` and
//! `<name>::postgres`: the second against a fresh database on the server
//! named by `TOLLGATE_TEST_POSTGRES` (e.g. `postgres://postgres@127.0.0.1:5432/`),
//! and reported as skipped when that variable is unset.

macro_rules! backend_test {
    ($(#[$attr:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test]
            $(#[$attr])*
            async fn sqlite() {
                crate::helpers::on_sqlite(async $body).await
            }

            #[tokio::test]
            $(#[$attr])*
            async fn postgres() {
                crate::helpers::on_postgres(async $body).await
            }
        }
    };
}

mod account;
mod auth;
mod blog;
mod cli;
mod concurrency;
mod cors;
mod crash;
mod errors;
mod helpers;
mod hostile;
mod instances;
mod logs;
mod outage;
mod proxy;
mod recovery;
mod sessions;
mod shutdown;
mod smtp;
mod soak;
mod spec;
