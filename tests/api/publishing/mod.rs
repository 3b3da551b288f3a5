//! Publishing: what authors write and readers see of posts, and roles.

mod admin;
mod editing;
mod reading;
