//! Pure rules: parsing usernames and passwords, the monthly meter. No I/O,
//! so every rule is unit-tested without a server.

pub mod lifetime;
pub mod meter;
pub mod password;
pub mod plan;
pub mod user;
pub mod username;

pub use lifetime::Lifetimes;
pub use meter::{Meter, Month};
pub use password::Password;
pub use plan::Plan;
pub use user::User;
pub use username::Username;
