//! Stand-ins for what the app talks to, each on loopback at a free port and
//! stopped when dropped: a mail server, Stripe's API, GitHub's sign-in and
//! user API, a TCP proxy in front of PostgreSQL, and a PostgreSQL server of
//! a test's own. The two HTTP stand-ins share one server (`stand_in`).

pub mod github_stand_in;
pub mod private_pg;
pub mod proxy;
pub mod smtp;
pub mod stand_in;
pub mod stripe_stand_in;
pub mod webhook_receiver;
