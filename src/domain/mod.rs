//! Pure rules: parsing usernames, passwords, email addresses and ids, roles, the
//! paywall, session lifetimes, account event kinds, per-IP limit windows,
//! what a subscription and a billing event mean, blog posts' fields and
//! their rendering, authenticator and recovery codes, and the one rule every
//! text keeps (no U+0000). No I/O, so every rule is unit-tested without a server.

pub mod billing;
pub mod email;
pub mod event;
pub mod gift;
pub mod id;
pub mod insights;
pub mod ip_limit;
pub mod lifetime;
pub mod member_csv;
pub mod password;
pub mod paywall;
pub mod plan;
pub mod post;
pub mod recovery_code;
pub mod role;
pub mod sign_in_code;
pub mod text;
pub mod totp;
pub mod user;
pub mod username;
pub mod webhook;

pub use email::Email;
pub use event::{EventKind, Requester};
pub use id::parse_id;
pub use ip_limit::{network_of, IpLimit};
pub use lifetime::Lifetimes;
pub use password::Password;
pub use paywall::{Meter, Month};
pub use plan::Plan;
pub use post::{Access, Author, Body, Excerpt, Slug, Title};
pub use role::Role;
pub use user::User;
pub use username::Username;
