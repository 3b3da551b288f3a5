//! Authentication: password hashing off the async workers, and the login
//! lockout around every password check. (The guard in front of every
//! route is HTTP middleware: `middleware::guard`.)

pub mod password;
pub mod throttle;

pub use throttle::{Account, LoginThrottle, Passed};
