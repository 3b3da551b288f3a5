//! A Markdown file with YAML front matter, read into a post whose every
//! field is checked by the rules the API checks it by (`domain::post`).
//! Pure: the text in, a post or what is wrong with it out.
//!
//! ```text
//! ---
//! title: Café au lait
//! date: 2024-05-01
//! access: free
//! ---
//! Hello *world*.
//! ```
//!
//! The front matter runs from a first line `---` to the next `---` line;
//! the rest is the body (blank lines right after the closing `---` are
//! left out). Its keys are `title`, `slug`, `date` or `published_at`,
//! `draft` (Hugo's) or `published` (Jekyll's), `access`, `excerpt` and
//! `author`; others are ignored, so a file
//! written for Hugo or Jekyll (`tags`, `layout`, …) reads as it is.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::domain::post::{Access, Body, Excerpt, Slug, Title};
use crate::domain::text::without_nul;
use crate::time;

/// A post as a file describes it, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilePost {
    pub title: Title,
    pub body: Body,
    /// The file's, or made from the title as `POST /posts` makes it.
    pub slug: Slug,
    /// The file's; `None` to derive it from the body, as the API does.
    pub excerpt: Option<Excerpt>,
    /// The file's, or the API's default.
    pub access: Access,
    /// Published from this time (Unix seconds), past or future; `None`: a
    /// draft.
    pub published_at: Option<i64>,
    /// The username the file names as the author, if any.
    pub author: Option<String>,
}

/// Why a file's text is not a post.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("no front matter; title is required (start the file with a line `---`, then `title: …`, then `---`)")]
    NoFrontMatter,
    #[error("the front matter has no closing `---` line")]
    Unclosed,
    /// The YAML parser's message, which names the key and the line (the
    /// file's line: the parser reads from the file's first line) where it
    /// can.
    #[error("front matter: {0}")]
    Yaml(String),
    /// Every field that breaks its rule, in the file's order of keys.
    #[error("{}", describe(.0))]
    Fields(Vec<FieldError>),
}

/// A field of the front matter that breaks its rule, and the rule's own
/// words for what is wrong (the ones the API's `422` gives).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

/// `title: is required; access: must be one of free, metered, premium`.
fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The keys a front matter may have. Each is read as text (a YAML number
/// or date is text here: `title: 1984` is the title "1984"), except
/// `draft` and `published`, booleans.
#[derive(Debug, Default, Deserialize)]
#[serde(expecting = "keys and values, such as `title: Hello`")]
struct Keys {
    title: Option<String>,
    slug: Option<String>,
    date: Option<String>,
    published_at: Option<String>,
    draft: Option<bool>,
    published: Option<bool>,
    access: Option<String>,
    excerpt: Option<String>,
    author: Option<String>,
}

/// Reads a file's text as a post.
pub fn parse(text: &str) -> Result<FilePost, Invalid> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (front_matter, body) = split(text)?;
    // An empty front matter is YAML's null, which is no keys at all.
    let keys: Option<Keys> =
        yaml_serde::from_str(front_matter).map_err(|e| Invalid::Yaml(e.to_string()))?;
    keys.unwrap_or_default().check(body)
}

/// The front matter and the body. The front matter is returned from the
/// opening `---` on, which YAML reads as the start of a document, so that
/// the parser's line numbers are the file's.
fn split(text: &str) -> Result<(&str, &str), Invalid> {
    let mut lines = text.split_inclusive('\n');
    let opening = lines.next().unwrap_or_default();
    if !is_fence(opening) {
        return Err(Invalid::NoFrontMatter);
    }
    let mut end = opening.len();
    for line in lines {
        if is_fence(line) {
            let body = &text[end + line.len()..];
            return Ok((&text[..end], body.trim_start_matches(['\r', '\n'])));
        }
        end += line.len();
    }
    Err(Invalid::Unclosed)
}

/// A line `---` (spaces after it, and a `\r\n` ending, allowed).
fn is_fence(line: &str) -> bool {
    line.trim_end() == "---"
}

impl Keys {
    /// Every field checked by its rule, each problem named. A text holding
    /// U+0000 breaks the rule every text keeps (`domain::text`) before its
    /// own rule reads it, the author's name included, which is looked up.
    fn check(self, body: &str) -> Result<FilePost, Invalid> {
        let mut errors = Vec::new();
        let title = match self.title {
            Some(title) => checked(&mut errors, "title", text(&title).and_then(Title::parse)),
            None => checked(&mut errors, "title", Err("is required".to_owned())),
        };
        let slug = self
            .slug
            .map(|slug| checked(&mut errors, "slug", text(&slug).and_then(Slug::parse)));
        let published_at = match (self.date, self.published_at) {
            (Some(date), None) => {
                checked(&mut errors, "date", text(&date).and_then(publication_time))
            }
            (None, Some(at)) => checked(
                &mut errors,
                "published_at",
                text(&at).and_then(publication_time),
            ),
            (Some(_), Some(_)) => checked(
                &mut errors,
                "published_at",
                Err("give either date or published_at, not both".to_owned()),
            ),
            (None, None) => None,
        };
        let access = checked(
            &mut errors,
            "access",
            self.access.map_or(Ok(Access::default()), |access| {
                text(&access).and_then(Access::parse)
            }),
        );
        let excerpt = self.excerpt.map(|excerpt| {
            checked(
                &mut errors,
                "excerpt",
                text(&excerpt).and_then(Excerpt::parse),
            )
        });
        let author = self
            .author
            .map(|author| checked(&mut errors, "author", text(&author).map(str::to_owned)));
        let body = checked(&mut errors, "body", text(body).and_then(Body::parse));
        let (Some(title), Some(access), Some(body), true) =
            (title, access, body, errors.is_empty())
        else {
            return Err(Invalid::Fields(errors));
        };
        Ok(FilePost {
            slug: slug.flatten().unwrap_or_else(|| Slug::from_title(&title)),
            title,
            body,
            excerpt: excerpt.flatten(),
            access,
            // A draft stays one, whatever date it carries: that is what
            // Hugo's `draft: true` and Jekyll's `published: false` mean.
            published_at: published_at
                .filter(|_| self.draft != Some(true) && self.published != Some(false)),
            author: author.flatten(),
        })
    }
}

/// A text of the file, unless it holds U+0000 (`domain::text`).
fn text(value: &str) -> Result<&str, String> {
    without_nul(value).map_err(str::to_owned)
}

/// `result`'s value, or `None` with its problem noted under `field`.
fn checked<T>(
    errors: &mut Vec<FieldError>,
    field: &'static str,
    result: Result<T, String>,
) -> Option<T> {
    result
        .map_err(|message| errors.push(FieldError { field, message }))
        .ok()
}

/// Unix seconds of an RFC 3339 time (the form `POST /posts/{id}/publish`
/// takes), or of midnight UTC on a `YYYY-MM-DD` date.
fn publication_time(text: &str) -> Result<i64, String> {
    time::parse_seconds(text)
        .or_else(|| midnight_utc(text))
        .ok_or_else(|| {
            "must be an RFC 3339 time (2026-12-01T09:00:00Z) or a date (2026-12-01)".to_owned()
        })
}

fn midnight_utc(text: &str) -> Option<i64> {
    // chrono would also take `2026-1-5`; a date here has its ten characters.
    if text.len() != "2026-12-01".len() {
        return None;
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(date.and_hms_opt(0, 0, 0)?.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `front_matter` and `body`.
    fn file(front_matter: &str, body: &str) -> String {
        format!("---\n{front_matter}---\n{body}")
    }

    fn post(front_matter: &str) -> FilePost {
        parse(&file(front_matter, "Hello *world*.\n")).unwrap()
    }

    /// The field errors `front_matter` gives, as `field: message` lines.
    fn errors(front_matter: &str) -> Vec<String> {
        match parse(&file(front_matter, "body")) {
            Err(Invalid::Fields(errors)) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect(),
            other => panic!("field errors expected, got {other:?}"),
        }
    }

    const NOV_21_2026: i64 = 1_795_219_200;

    #[test]
    fn reads_the_keys_and_the_body() {
        let text = "---\ntitle: Café au lait\nslug: coffee\ndate: 2026-11-21T10:00:00Z\n\
                    access: free\nexcerpt: Milk.\nauthor: Alice\n---\n\nHello *world*.\n";

        let post = parse(text).unwrap();

        assert_eq!(post.title.as_str(), "Café au lait");
        assert_eq!(post.slug.as_str(), "coffee");
        assert_eq!(post.published_at, Some(NOV_21_2026 + 10 * 3_600));
        assert_eq!(post.access, Access::Free);
        assert_eq!(post.excerpt.unwrap().as_str(), "Milk.");
        assert_eq!(post.author.as_deref(), Some("Alice"));
        assert_eq!(
            post.body.as_str(),
            "Hello *world*.\n",
            "the blank line after the front matter is not the body's"
        );
    }

    #[test]
    fn what_is_not_given_is_what_the_api_would_make() {
        let post = post("title: Café au lait!\n");

        assert_eq!(post.slug.as_str(), "cafe-au-lait", "from the title");
        assert_eq!(post.access, Access::default());
        assert_eq!(post.excerpt, None, "derived when stored");
        assert_eq!(post.published_at, None, "a draft");
        assert_eq!(post.author, None);
    }

    #[test]
    fn a_date_is_midnight_utc_and_published_at_is_its_other_name() {
        assert_eq!(
            post("title: A\ndate: 2026-11-21\n").published_at,
            Some(NOV_21_2026)
        );
        assert_eq!(
            post("title: A\npublished_at: '2026-11-21T01:00:00+01:00'\n").published_at,
            Some(NOV_21_2026),
            "any offset"
        );
        assert_eq!(
            post("title: A\ndate: 1999-12-31T23:59:59.5Z\n").published_at,
            Some(946_684_799),
            "back-dated, the fraction dropped"
        );
    }

    #[test]
    fn a_draft_stays_a_draft_whatever_its_date() {
        assert_eq!(
            post("title: A\ndate: 2026-11-21\ndraft: true\n").published_at,
            None
        );
        assert_eq!(
            post("title: A\ndate: 2026-11-21\npublished: false\n").published_at,
            None
        );
        assert_eq!(
            post("title: A\ndate: 2026-11-21\npublished: true\n").published_at,
            Some(NOV_21_2026)
        );
        assert_eq!(
            post("title: A\ndate: 2026-11-21\ndraft: false\n").published_at,
            Some(NOV_21_2026)
        );
    }

    #[test]
    fn yaml_scalars_are_read_as_text() {
        assert_eq!(post("title: 1984\n").title.as_str(), "1984");
        assert_eq!(post("title: 1984\n").slug.as_str(), "post-1984");
        assert_eq!(post("title: 'yes'\n").title.as_str(), "yes");
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let post = post("title: A\nlayout: post\ntags: [a, b]\nparams:\n  x: 1\n");
        assert_eq!(post.title.as_str(), "A");
    }

    #[test]
    fn each_field_is_held_to_the_apis_rule_in_its_words() {
        assert_eq!(errors("slug: x\n"), ["title: is required"]);
        assert_eq!(
            errors("title: ''\n"),
            ["title: must be 1 to 200 characters long"]
        );
        assert_eq!(
            errors("title: A\naccess: paid\n"),
            ["access: must be one of free, metered, premium"]
        );
        assert_eq!(
            errors("title: A\nslug: Hello World\n"),
            ["slug: may contain only a-z and 0-9, in words joined by single '-'"]
        );
        assert_eq!(
            errors("title: A\nslug: 2026\n"),
            ["slug: must not be only digits (an all-digit path is a post's id)"]
        );
        assert_eq!(
            errors(&format!("title: A\nexcerpt: {}\n", "x".repeat(501))),
            ["excerpt: must be at most 500 characters long"]
        );
        assert_eq!(
            errors("title: A\ndate: 21/11/2026\n"),
            ["date: must be an RFC 3339 time (2026-12-01T09:00:00Z) or a date (2026-12-01)"]
        );
        assert_eq!(
            errors("title: A\npublished_at: 2026-1-5\n"),
            ["published_at: must be an RFC 3339 time (2026-12-01T09:00:00Z) or a date (2026-12-01)"]
        );
        assert_eq!(
            errors("title: A\ndate: 2026-11-21\npublished_at: 2026-11-21\n"),
            ["published_at: give either date or published_at, not both"]
        );
    }

    #[test]
    fn every_problem_is_named_at_once() {
        assert_eq!(
            errors("access: paid\ndate: soon\n"),
            [
                "title: is required",
                "date: must be an RFC 3339 time (2026-12-01T09:00:00Z) or a date (2026-12-01)",
                "access: must be one of free, metered, premium",
            ]
        );
        let invalid = parse(&file("access: paid\n", "")).unwrap_err();
        assert_eq!(
            invalid.to_string(),
            "title: is required; access: must be one of free, metered, premium"
        );
    }

    #[test]
    fn no_text_of_the_file_may_hold_nul() {
        // YAML's `\0` escape, in a double-quoted scalar, is U+0000.
        for key in [
            "title",
            "slug",
            "date",
            "published_at",
            "access",
            "excerpt",
            "author",
        ] {
            let front_matter = match key {
                "title" => "title: \"A\\0B\"\n".to_owned(),
                _ => format!("title: A\n{key}: \"a\\0\"\n"),
            };
            assert_eq!(
                errors(&front_matter),
                [format!("{key}: must not contain U+0000 (NUL)")],
                "{front_matter:?}"
            );
        }
        assert_eq!(
            parse(&file("title: A\n", "Hello\0world.\n"))
                .unwrap_err()
                .to_string(),
            "body: must not contain U+0000 (NUL)"
        );
        // Written as it is, U+0000 is no YAML at all.
        assert!(matches!(
            parse(&file("title: A\0B\n", "Hello.\n")),
            Err(Invalid::Yaml(_) | Invalid::Fields(_))
        ));
    }

    #[test]
    fn the_body_is_held_to_its_size() {
        let text = file("title: A\n", &"a".repeat(Body::MAX_BYTES + 1));
        assert_eq!(
            parse(&text).unwrap_err().to_string(),
            "body: must be at most 200000 bytes long"
        );
    }

    #[test]
    fn a_file_without_front_matter_needs_one_for_its_title() {
        for text in [
            "Just *Markdown*.\n",
            "",
            "title: A\n---\n",
            "\n---\ntitle: A\n---\n",
        ] {
            assert_eq!(parse(text), Err(Invalid::NoFrontMatter), "{text:?}");
        }
        assert!(Invalid::NoFrontMatter
            .to_string()
            .starts_with("no front matter; title is required"));
    }

    #[test]
    fn front_matter_needs_its_closing_line() {
        assert_eq!(parse("---\ntitle: A\n"), Err(Invalid::Unclosed));
        assert_eq!(parse("---\ntitle: A\n----\nbody"), Err(Invalid::Unclosed));
    }

    #[test]
    fn bad_yaml_is_named_with_the_files_line() {
        // Line 3 of the file, whose opening `---` is line 1.
        let Err(Invalid::Yaml(message)) = parse("---\ntitle: A\n- b\naccess: free\n---\n") else {
            panic!("a YAML error");
        };
        assert!(message.contains("line 3"), "{message}");
        let Err(Invalid::Yaml(message)) = parse("---\ntitle: A\ndraft: maybe\n---\n") else {
            panic!("a YAML error");
        };
        assert!(message.starts_with("draft: "), "{message}");
        assert!(message.contains("line 3"), "{message}");
        let Err(Invalid::Yaml(message)) = parse("---\n- a list\n---\n") else {
            panic!("a YAML error");
        };
        assert!(message.contains("keys and values"), "{message}");
        assert!(matches!(
            parse("---\ntitle: A\ntitle: B\n---\n"),
            Err(Invalid::Yaml(message)) if message.contains("duplicate field `title`")
        ));
    }

    #[test]
    fn an_empty_front_matter_has_no_title() {
        assert_eq!(errors(""), ["title: is required"]);
        assert_eq!(errors("# a comment\n"), ["title: is required"]);
    }

    #[test]
    fn windows_line_endings_and_a_byte_order_mark_are_read() {
        let post =
            parse("\u{feff}---\r\ntitle: A\r\naccess: free\r\n---  \r\n\r\nBody\r\n").unwrap();
        assert_eq!(post.title.as_str(), "A");
        assert_eq!(post.access, Access::Free);
        assert_eq!(post.body.as_str(), "Body\r\n");
    }

    #[test]
    fn the_body_may_hold_rules_of_its_own() {
        let post = parse("---\ntitle: A\n---\nabove\n\n---\n\nbelow\n").unwrap();
        assert_eq!(post.body.as_str(), "above\n\n---\n\nbelow\n");
    }
}
