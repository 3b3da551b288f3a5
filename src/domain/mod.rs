//! Pure rules: parsing usernames and passwords, the paywall, session
//! lifetimes, what a subscription and a billing event mean. No I/O, so
//! every rule is unit-tested without a server.

pub mod billing;
pub mod lifetime;
pub mod password;
pub mod paywall;
pub mod plan;
pub mod user;
pub mod username;

pub use lifetime::Lifetimes;
pub use password::Password;
pub use paywall::{Meter, Month};
pub use plan::Plan;
pub use user::User;
pub use username::Username;
