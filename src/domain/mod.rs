//! Pure rules: parsing usernames, passwords and email addresses, the paywall, session
//! lifetimes. No I/O, so every rule is unit-tested without a server.

pub mod email;
pub mod lifetime;
pub mod password;
pub mod paywall;
pub mod plan;
pub mod user;
pub mod username;

pub use email::Email;
pub use lifetime::Lifetimes;
pub use password::Password;
pub use paywall::{Meter, Month};
pub use plan::Plan;
pub use user::User;
pub use username::Username;
