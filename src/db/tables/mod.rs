//! One module per table: that table's queries and nothing else. Each
//! answers in database terms (rows, `Option`s, `QueryResult`,
//! [`Error`]) and knows nothing of HTTP. Each is a leaf: it may join
//! other tables in SQL, reading them through `db::rows`, but never names
//! another table's module; a job that spans tables is a service's, above
//! `db` (`accounts`, `publishing`, `reading`). `tests/architecture.rs`
//! holds every file here to that. A table whose rows the hot paths
//! read ahead keeps that part in a `read_ahead` module of its own
//! (`sessions`, `unlocks`); `crate::db::read_ahead` hands them to the
//! engine.
//!
//! A new table gets a file here, its migrations in both
//! `migrations/sqlite/` and `migrations/postgres/` (same version name), and
//! its `table!` in `db/schema.rs`.

pub mod anonymous;
pub mod billing;
pub mod email_sign_ins;
pub mod email_tokens;
pub mod events;
pub mod forgot_requests;
pub mod gifts;
pub mod identities;
pub mod insights;
pub mod ip_limits;
pub mod newsletters;
pub mod outbox;
pub mod passkeys;
pub mod paywall_notices;
pub mod posts;
pub mod sessions;
pub mod throttle;
pub mod two_factor;
pub mod unlocks;
pub mod users;
pub mod webhooks;

// What every table's queries use, in reach of each as `super::…`.
use super::engine::{
    direct, is_unique_violation, pg, write_transaction, Conn, DbConnection, Error,
};
use super::schema;

#[cfg(test)]
mod compiled_once;
