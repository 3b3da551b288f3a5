//! tollgate: accounts, server-side cookie sessions, an authentication guard
//! and a metered paywall, as a JSON API for single-page apps.
//!
//! Modules from the top of the dependency tree to the bottom; each may use
//! the ones below it, never one above (`tests/architecture.rs` checks it).
//! `ARCHITECTURE.md` walks a request through them.
//!
//! | module | what it owns |
//! |---|---|
//! | [`startup`] | `Application`: builds the server, binds its port, runs until stopped. |
//! | [`middleware`] | Access log, contract headers, JSON errors, cross-site defences, the guard. |
//! | [`routes`] | The HTTP handlers, one file per resource, and the route table. |
//! | [`import`] | `tollgate import`: posts moved in from Markdown files with YAML front matter. |
//! | [`accounts`] | What happens to a member, one function each for every caller (join, plan, role, disable, leave, a Stripe event), and what several routes do to an account alike: finish a sign-in, keep a way in, confirm the owner, notices, the Account object. |
//! | [`publishing`] | What happens to a post, one function each (save, import, delete), with the newsletter it starts or stops. |
//! | [`reading`] | The metered read: from a reader, the post a path names and the time to the post's answer with the meter, or a refusal, recorded and counted once. |
//! | [`state`] | `AppState`: what handlers and middleware reach through `web::Data`. |
//! | [`webhooks`] | Webhooks: each change's event written in its transaction, the URLs a webhook may reach, and the background deliverer that signs, sends and retries. |
//! | [`mail`] | Email: messages queued in the outbox with their tokens, and the background sender that delivers them. |
//! | [`auth`] | Password hashing off the async workers, and the login lockout. |
//! | [`session`] | Session tokens, the session lookup, and actix-session's cookie store. |
//! | [`billing`] | Stripe: the webhook signature check and the API client. |
//! | [`error`] | `ApiError`, the only place statuses and codes are chosen. |
//! | [`db`] | Storage: the engine (pool, backend choice, batching, read-ahead, migrations) one module of queries per table (each a leaf: it names no other table's module), and the rows their joins share; database results only, nothing of HTTP. |
//! | [`domain`] | Pure rules: usernames, passwords, the paywall, session lifetimes. |
//! | [`client_ip`] | The client IP behind TRUSTED_PROXIES, and its extractor. |
//! | [`clock`] | The app's clock, which tests move instead of sleeping. |
//! | [`config`] | Settings from the environment, one error per bad variable. |
//! | [`logging`] | How log lines are stamped. |
//! | [`metrics`] | The Prometheus series served at METRICS_ADDR. |
//! | [`time`] | RFC 3339 times and Unix seconds. |

pub mod accounts;
pub mod auth;
pub mod billing;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod import;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod publishing;
pub mod reading;
pub mod routes;
pub mod session;
pub mod startup;
pub mod state;
pub mod time;
pub mod webhooks;
