//! The harness of `support/` as one module, for test binaries other than
//! this one: `tests/round_trips.rs` includes this file by its path. The
//! `api` binary itself declares `support` in `main.rs` and never reads it.

#[allow(dead_code, unused_imports)]
#[path = "support/mod.rs"]
mod support;

pub use support::*;
