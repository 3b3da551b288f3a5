//! Publishing: what authors write and readers see of posts, and roles.

mod editing;
mod reading;
