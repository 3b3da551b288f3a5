//! Authentication: password hashing off the async workers, the login
//! lockout around every password check, and the per-client-IP limits. (The guard in front of every
//! route is HTTP middleware: `middleware::guard`.)

pub mod ip_limits;
pub mod password;
pub mod throttle;

pub use ip_limits::IpLimits;
pub use throttle::{Account, Attempt, LoginThrottle, Passed};
