//! Blog posts' rules: what a title, body, excerpt, access level and slug
//! may be, how a slug and an excerpt are made when the author gives none,
//! and how a body becomes the HTML readers get.
//!
//! The contract's fields, and where each rule lives:
//!
//! - `title`: 1–200 characters, not only whitespace ([`Title`]).
//! - `body`: Markdown, at most 200,000 bytes, nested at most 100 levels
//!   and costing no more to render than its size ([`Body`], `cost`),
//!   rendered to sanitized HTML when the post is saved ([`render`]).
//! - `excerpt`: at most 500 characters ([`Excerpt`]), or the start of the
//!   body's text ([`derive_excerpt`]).
//! - `access`: `free`, `metered` (the default) or `premium` ([`Access`]).
//! - `slug`: words of `a-z 0-9` joined by `-`, never only digits ([`Slug`]),
//!   or one made from the title ([`Slug::from_title`]).

mod access;
mod author;
mod body;
mod cost;
mod cursor;
pub mod demo;
mod excerpt;
#[cfg(test)]
mod html_tree;
pub mod reader_json;
mod render;
mod slug;
mod title;

pub use access::Access;
pub use author::Author;
pub use body::Body;
pub use cursor::Cursor;
pub use excerpt::{derive_excerpt, Excerpt};
pub use render::render;
pub use slug::Slug;
pub use title::Title;

/// The Markdown a body may use: CommonMark with tables and strikethrough,
/// the same for rendering and for deriving an excerpt.
const MARKDOWN: pulldown_cmark::Options =
    pulldown_cmark::Options::ENABLE_TABLES.union(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
