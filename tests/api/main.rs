//! Black-box tests of the HTTP contract (`docs/api.md`, `openapi.yaml`):
//! one binary, a file (or a folder, split by subject) per route group,
//! holding tests only. What they share is in `support/`: the app on a free
//! port with a fresh database, one method per endpoint, a logged-in user,
//! the contract's assertions, the database's side door, and the fakes the
//! app talks to (SMTP, Stripe, a proxy before PostgreSQL, a private
//! PostgreSQL server).
//!
//! Each `backend_test!` runs twice, as `<name>::sqlite` and
//! `<name>::postgres`: the second against a fresh database on the server
//! named by `TOLLGATE_TEST_POSTGRES`, or else the machine's own at
//! `postgres://postgres@127.0.0.1:5432/`. With neither, the `postgres`
//! half fails and says so (see `support::postgres_server`): it never
//! passes without running. `cargo test -- --skip postgres` leaves those
//! halves out, and the runner counts them as filtered out.

macro_rules! backend_test {
    ($(#[$attr:meta])* async fn $name:ident() $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            $(#[$attr])*
            async fn sqlite() {
                crate::support::on_sqlite(async $body).await
            }

            #[test]
            $(#[$attr])*
            fn postgres() {
                crate::support::run_on_postgres(async $body)
            }
        }
    };
}

mod account;
mod anonymous;
mod auth;
mod billing;
mod blog;
mod cli;
mod client_ip;
mod concurrency;
mod cors;
mod crash;
mod email_sign_in;
mod errors;
mod events;
mod framing;
mod gifts;
mod hostile;
mod insights;
mod instances;
mod limits;
mod logs;
mod members;
mod metrics;
mod newsletters;
mod outage;
mod providers;
mod publishing;
mod recovery;
mod scale;
mod sessions;
mod shutdown;
mod sign_in;
mod soak;
mod spec;
mod support;
mod two_factor;
mod webhooks;
