//! Publishing: what authors write and readers see of posts, roles, and
//! posts moved in from Markdown files.

mod admin;
mod authors;
mod editing;
mod import;
mod lifecycle;
mod reading;
