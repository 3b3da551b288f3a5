//! Everything the tests share, apart from the tests themselves: the app on
//! a free port with a fresh database ([`app`]), one method per endpoint
//! ([`client`]), a logged-in test user ([`user`]), the binary's commands
//! ([`cli`]), the contract's checks ([`assert`]), the database's side door
//! ([`db`]), the app's mail as a reader sees it ([`mail`]), Stripe's side
//! of billing ([`stripe`]), the services the app talks to, faked on
//! loopback ([`fakes`]), and a real OpenID Connect provider to sign in
//! with ([`oidc`]).

pub mod app;
pub mod assert;
pub mod authenticator;
pub mod cli;
pub mod client;
pub mod db;
pub mod fakes;
pub mod mail;
pub mod oidc;
pub mod stripe;
pub mod user;

pub use app::*;
pub use assert::*;
pub use client::*;
pub use user::*;

/// The app's own items the tests name besides its database (those are in
/// [`db`]), in one place, so that a path that moves in `src/` moves here.
pub mod internals {
    pub use tollgate::domain::billing::parse_event;
    pub use tollgate::routes::ROUTES;
    pub use tollgate::session::token;
}
