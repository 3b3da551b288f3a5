//! Publishing: what authors write and readers see of posts, roles, what a
//! body may cost to render, and posts moved in from Markdown files.

mod admin;
mod authors;
mod editing;
mod giving_away;
mod import;
mod large_answers;
mod lifecycle;
mod reading;
mod rendering;
