//! Black-box tests of the HTTP contract (`../shared/API.md`): one binary,
//! a file per route group.

mod account;
mod auth;
mod blog;
mod cli;
mod concurrency;
mod cors;
mod errors;
mod helpers;
mod sessions;
