//! Authentication: password hashing off the async workers, the login
//! lockout around every password check ([`LoginThrottle`]), and the
//! per-client-IP limits ([`IpLimits`]). The guard in front of every route
//! is HTTP middleware: `middleware::guard`.
//!
//! [`LoginThrottle`]: crate::auth::LoginThrottle
//! [`IpLimits`]: crate::auth::IpLimits

pub mod ip_limits;
pub mod passkeys;
pub mod password;
pub mod providers;
pub mod throttle;

pub use ip_limits::IpLimits;
pub use throttle::{Account, Attempt, LoginThrottle, Passed};
