//! tollgate: accounts, server-side cookie sessions, an authentication guard
//! and a metered paywall, as a JSON API for single-page apps.

/// Settings from the environment, one error per bad variable.
pub mod config;
/// `ApiError`, the only place statuses and codes are chosen.
pub mod error;
/// `Application`: builds the server, binds its port, runs until stopped.
pub mod startup;

/// Password hashing off the async workers, and the guard.
pub mod auth;
/// Running blocking work (Diesel, bcrypt) on the blocking pool.
pub mod blocking;
/// Backend choice, pool, migrations, and queries per table.
pub mod db;
/// Pure rules: usernames, passwords, the meter, session lifetimes.
pub mod domain;
/// How log lines are stamped.
pub mod logging;
/// Access log, contract headers, JSON errors, cross-site defences.
pub mod middleware;
/// The HTTP handlers, one file per resource.
pub mod routes;
/// The Diesel session store, typed session access, cookie lifetimes.
pub mod session;
/// RFC 3339 times and Unix seconds.
pub mod time;
