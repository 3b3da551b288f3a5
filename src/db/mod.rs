//! Storage, in two rooms:
//!
//! - [`engine`]: connections and the pool, the backend chosen from
//!   `DATABASE_URL`, migrations, transactions, and how work reaches the
//!   database (batched per event-loop turn on the blocking pool, with what
//!   it starts by reading read ahead per chunk). It names no table.
//! - [`tables`]: one module per table, that table's queries and nothing
//!   else, each a leaf that names no other table's module. A new table's
//!   queries go there; the rows and SQL several tables' joins share go in
//!   [`rows`].
//!
//! [`mod@read_ahead`] joins them: what tollgate's hot paths read ahead (a
//! session, and a metered read's meter), handed to the engine as the pool's
//! type parameter. [`schema`] is Diesel's, generated from the migrations.
//!
//! The rest of the crate reaches both through this module: `db::once`,
//! `db::idempotent`, `db::users::find`, … Everything here answers in database terms
//! ([`Error`], Diesel's results, rows and `Option`s); what a failure means
//! to a client is decided in `crate::error`, never here.

pub mod engine;
pub mod listing;
pub mod read_ahead;
pub mod rows;
pub mod schema;
pub mod tables;

use anyhow::Context;

#[cfg(test)]
pub use engine::testing;
pub use engine::{
    connect_one, idempotent, idempotent_reading_ahead, is_unique_violation, once, pg, ping,
    write_transaction, Backend, Conn, DbConnection, Error,
};
pub use read_ahead::{Ahead, Lookup, SessionsAndMeters};
pub use tables::{
    anonymous, billing, email_sign_ins, email_tokens, events, forgot_requests, gifts, identities,
    insights, ip_limits, newsletters, outbox, passkeys, paywall_notices, posts, sessions, throttle,
    two_factor, unlocks, users, webhooks,
};

/// The pool tollgate runs on: the engine's, reading sessions and meters
/// ahead.
pub type Pool = engine::Pool<SessionsAndMeters>;

/// Opens the pool for `settings.database_url` (see [`engine::connect`]).
pub fn connect(settings: &crate::config::Settings) -> anyhow::Result<Pool> {
    engine::connect(settings)
}

/// Applies the migrations the database lacks (see [`engine::migrate`]),
/// then renders the posts stored before rendering existed and derives
/// again the excerpts an earlier rule derived: what a migration cannot do
/// in SQL.
pub fn migrate(conn: &mut Conn) -> anyhow::Result<()> {
    engine::migrate(conn)?;
    posts::render_pending(conn).context("cannot render the stored posts")?;
    posts::derive_pending_excerpts(conn).context("cannot derive the posts' excerpts")
}

/// Gives a fresh database (one with no posts) the demo posts 1–12.
pub fn seed_demo_posts(conn: &mut Conn) -> anyhow::Result<()> {
    posts::seed_if_empty(conn).context("cannot seed the demo posts")
}
