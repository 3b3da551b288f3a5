//! The HTTP routes: one file per resource, and what they stand on.
//!
//! - [`table`]: the route table, [`table::ENDPOINTS`], that the router,
//!   the guard's rule for each route and the spec test are derived from.
//! - [`extract`]: who is calling and the id in the path, as extractors.
//! - [`body`] and [`pagination`]: a request's JSON body and its `page`.
//! - [`reading`]: a post's answer to readers as kept for its version.
//! - the resources: [`auth`] (register, login, the session), [`account`],
//!   [`two_factor`] (the authenticator app, recovery codes and the second
//!   step), [`passkeys`], [`providers`] (signing in with other providers,
//!   and the account's identities), [`recovery`] (addresses and forgotten
//!   passwords), [`email_sign_in`] (signing in by an emailed link or code), [`blog`] for readers, [`gifts`] (a subscriber shares a post), [`posts`] for authors, [`admin`], [`webhooks`] (an admin's webhooks and their deliveries),
//!   [`billing`], [`health`].
//!
//! A resource's file calls the layers below it (`accounts`, `db`, …) and
//! the rooms listed above it here, never its parent.

pub mod account;
pub mod admin;
pub mod auth;
pub mod billing;
pub mod blog;
pub mod body;
pub mod email_sign_in;
pub mod extract;
pub mod gifts;
pub mod health;
pub mod insights;
pub mod newsletters;
pub mod pagination;
pub mod passkeys;
pub mod posts;
pub mod providers;
pub mod reading;
pub mod recovery;
pub mod table;
pub mod two_factor;
pub mod webhooks;

pub use table::{is_public, patterns, resources, Endpoint, ReadsAhead, ENDPOINTS, ROUTES};
