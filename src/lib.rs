//! tollgate: accounts, server-side cookie sessions, an authentication guard
//! and a metered paywall, as a JSON API for single-page apps.
//!
//! Modules from the top of the dependency tree to the bottom; each may use
//! the ones below it, never one above (`tests/architecture.rs` checks it).
//! `ARCHITECTURE.md` walks a request through them.

/// `Application`: builds the server, binds its port, runs until stopped.
pub mod startup;

/// Access log, contract headers, JSON errors, cross-site defences, the guard.
pub mod middleware;
/// The HTTP handlers, one file per resource, and the route table.
pub mod routes;

/// `AppState`: what handlers and middleware reach through `web::Data`.
pub mod state;

/// Email: messages queued in the outbox with their tokens, and the
/// background sender that delivers them.
pub mod mail;

/// Password hashing off the async workers, and the login lockout.
pub mod auth;
/// Session tokens, the session lookup, and actix-session's cookie store.
pub mod session;

/// Stripe: the webhook signature check and the API client.
pub mod billing;

/// `ApiError`, the only place statuses and codes are chosen.
pub mod error;

/// Backend choice, pool, migrations, and queries per table; database
/// results only, nothing of HTTP.
pub mod db;

/// Pure rules: usernames, passwords, the paywall, session lifetimes.
pub mod domain;

/// The client IP behind TRUSTED_PROXIES, and its extractor.
pub mod client_ip;
/// The app's clock, which tests move instead of sleeping.
pub mod clock;
/// Settings from the environment, one error per bad variable.
pub mod config;
/// How log lines are stamped.
pub mod logging;
/// The Prometheus series served at METRICS_ADDR.
pub mod metrics;
/// RFC 3339 times and Unix seconds.
pub mod time;
