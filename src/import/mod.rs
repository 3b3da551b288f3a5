//! `tollgate import <file or folder>…`: a blog moved in from Markdown files
//! with YAML front matter, each file creating a post or, found by its
//! slug, updating one. (Its members come with `tollgate import-members`:
//! [`members`].)
//!
//! A file becomes a post by the API's own rules, never a copy of them: its
//! fields are parsed by `domain::post`'s types ([`front_matter`]), its body
//! rendered and sanitized by the same `render`, its excerpt derived by the
//! same `derive_excerpt`, and it is stored by `db::posts::import`, which
//! inserts as `POST /posts` does and saves as `PATCH /posts/{id}` does
//! (`updated_at` in microseconds, moved forward by every save).
//!
//! **Each file is one write transaction**: its author's lookup and its
//! post's write commit together or not at all, so a file that fails leaves
//! nothing of itself, and the files after it are imported all the same.
//! Times come from the [`Clock`] the caller passes, the server's kind.

pub mod front_matter;
pub mod members;
pub mod walk;

use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::db::posts::{Content, Imported, Refused, Whole};
use crate::db::{self, users, Conn};
use crate::domain::post::{derive_excerpt, render, Slug};
use crate::domain::username::username_key;
use crate::publishing;
use front_matter::{FilePost, Invalid};

/// What an import run did, file by file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub created: usize,
    pub updated: usize,
    pub failed: usize,
}

impl Report {
    /// `2 created, 1 updated, 0 failed`.
    pub fn summary(&self) -> String {
        format!(
            "{} created, {} updated, {} failed",
            self.created, self.updated, self.failed
        )
    }
}

/// Why a file was not imported; printed after the file's path.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{}", unreadable(.0))]
    Unreadable(io::Error),
    #[error("not UTF-8 text")]
    NotText,
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("author: no user named {0:?}")]
    UnknownAuthor(String),
    /// The API lets only authors and admins write; a reader named as the
    /// author is more likely a mistake than a wish to give them a post
    /// they could not edit.
    #[error("author: {0:?} is a reader; only authors and admins write posts (tollgate set-role {0} author)")]
    NotAWriter(String),
    /// Two files of one run that want one slug: the second would replace
    /// the post the first has just stored.
    #[error("slug: {slug} is also the slug of {earlier}, imported before it; give one of them a slug of its own")]
    SameSlug { slug: String, earlier: String },
    #[error(
        "slug: a post with the slug {0} was created while this file was imported; import it again"
    )]
    SlugTaken(String),
    #[error("the post was saved by someone else while this file was imported; import it again")]
    Conflict,
    #[error("{}", with_causes(.0))]
    Database(#[from] db::Error),
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Failure::Database(e.into())
    }
}

fn unreadable(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "no such file or folder".to_owned(),
        _ => format!("cannot read: {e}"),
    }
}

/// An error and what caused it, as one line: the operator running the
/// command is the one to see a database's own words.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(e) = cause {
        line.push_str(&format!(": {e}"));
        cause = e.source();
    }
    line
}

/// Imports every file `paths` name (a folder: the Markdown files below it,
/// see [`walk::files`]), each in a transaction of its own. Prints
/// `created <slug>` or `updated <slug>` to `out` for a file imported, and
/// `<path>: <what is wrong>` to `errors` for one that is not.
pub fn run(
    conn: &mut Conn,
    paths: &[PathBuf],
    clock: &Clock,
    out: &mut impl Write,
    errors: &mut impl Write,
) -> io::Result<Report> {
    let mut report = Report::default();
    // Which file of this run stored each slug.
    let mut stored: HashMap<String, PathBuf> = HashMap::new();
    for found in walk::files(paths) {
        let result = match found {
            Ok(path) => import_file(conn, &path, clock, &stored).map(|done| (path, done)),
            Err((path, e)) => Err((path, Failure::Unreadable(e))),
        };
        match result {
            Ok((path, (imported, slug))) => {
                let (verb, count) = match imported {
                    Imported::Created(_) => ("created", &mut report.created),
                    Imported::Updated(_) => ("updated", &mut report.updated),
                };
                *count += 1;
                writeln!(out, "{verb} {}", slug.as_str())?;
                stored.insert(slug.as_str().to_owned(), path);
            }
            Err((path, failure)) => {
                report.failed += 1;
                writeln!(errors, "{}: {failure}", path.display())?;
            }
        }
    }
    Ok(report)
}

/// Reads, checks and stores one file; what became of it and its slug.
fn import_file(
    conn: &mut Conn,
    path: &Path,
    clock: &Clock,
    stored: &HashMap<String, PathBuf>,
) -> Result<(Imported, Slug), (PathBuf, Failure)> {
    let failed = |failure: Failure| (path.to_owned(), failure);
    let bytes = std::fs::read(path).map_err(|e| failed(Failure::Unreadable(e)))?;
    let text = String::from_utf8(bytes).map_err(|_| failed(Failure::NotText))?;
    let post = front_matter::parse(&text).map_err(|e| failed(e.into()))?;
    if let Some(earlier) = stored.get(post.slug.as_str()) {
        return Err(failed(Failure::SameSlug {
            slug: post.slug.as_str().to_owned(),
            earlier: earlier.display().to_string(),
        }));
    }
    store(conn, &post, clock.now_micros())
        .map(|imported| (imported, post.slug))
        .map_err(failed)
}

/// Stores `post` at `now_micros`, in one write transaction.
fn store(conn: &mut Conn, post: &FilePost, now_micros: i64) -> Result<Imported, Failure> {
    let html = render(post.body.as_str());
    let excerpt = match &post.excerpt {
        Some(given) => given.as_str().to_owned(),
        None => derive_excerpt(post.body.as_str(), post.access),
    };
    let content = Content {
        title: post.title.as_str(),
        body: post.body.as_str(),
        html: &html,
        excerpt: &excerpt,
        excerpt_given: post.excerpt.is_some(),
        access: post.access.as_str(),
    };
    db::write_transaction(conn, |conn| {
        let author_id = match &post.author {
            Some(name) => Some(writer_named(conn, name)?),
            None => None,
        };
        let whole = Whole {
            content,
            author_id,
            published_at: post.published_at,
        };
        match publishing::import(conn, &whole, &post.slug, now_micros)? {
            Ok(imported) => Ok(imported),
            Err(Refused::SlugTaken) => Err(Failure::SlugTaken(post.slug.as_str().to_owned())),
            Err(Refused::Conflict) => Err(Failure::Conflict),
        }
    })
}

/// The id of the user `name` (in any case, as logins match it), who must
/// be an author or an admin.
fn writer_named(conn: &mut Conn, name: &str) -> Result<i64, Failure> {
    let user = users::find_by_key(conn, &username_key(name))?
        .ok_or_else(|| Failure::UnknownAuthor(name.to_owned()))?;
    if !user.role().writes() {
        return Err(Failure::NotAWriter(user.username));
    }
    Ok(user.id)
}
