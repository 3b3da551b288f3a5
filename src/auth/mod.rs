//! Authentication: password hashing off the async workers, and the guard in
//! front of every route.

pub mod guard;
pub mod password;
pub mod throttle;
