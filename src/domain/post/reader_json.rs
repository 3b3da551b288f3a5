//! A post as readers get it (`GET /blog/{id}`), in JSON, made once per
//! version of the post and kept, so that a read copies its bytes rather
//! than escaping its body and its html again.
//!
//! A post's answer is its own fields, which change only when the post is
//! saved, then its author's name and the reader's meter, which are
//! written on every read. The first part is serialized when a version of
//! the post is first read on this instance and kept in a [`Kept`] by the
//! post's id and `updated_at`: every save moves `updated_at` forward
//! (a compare-and-set, `db::posts::save`), so a kept answer is never
//! served for a version it was not made from, on any instance.
//!
//! A read's answer goes out as its parts ([`Answer`]): the kept bytes,
//! shared, then the little a read writes. Joining them into one buffer
//! would copy the whole post once more on every read, only for the
//! server to copy it again into the connection's buffer.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use serde::Serialize;

use crate::domain::Meter;
use crate::time::rfc3339;

/// A post's own fields, as readers get them.
#[derive(Serialize)]
pub struct Fields<'a> {
    pub id: i64,
    pub slug: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub html: &'a str,
    pub excerpt: &'a str,
    pub access: &'a str,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    pub published_at: i64,
    /// Microseconds.
    #[serde(serialize_with = "rfc3339::serialize_micros")]
    pub updated_at: i64,
}

/// A post's own fields in JSON: an object left open after its last
/// field, for [`answer`] to close with the author and the meter. Shared:
/// a clone counts a reference.
#[derive(Clone, Debug)]
pub struct Made(Bytes);

impl Made {
    pub fn of(fields: &Fields<'_>) -> Made {
        // Escaping makes the html a little longer; the rest is headroom.
        let size = fields.body.len() + fields.html.len() * 9 / 8 + fields.excerpt.len() + 256;
        let mut json = Vec::with_capacity(size);
        // Writing plain strings and numbers into a Vec cannot fail.
        serde_json::to_writer(&mut json, fields).expect("a post serializes");
        json.pop(); // the closing brace
        Made(json.into())
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A read's answer, in the order it is sent: the post's kept fields, then
/// the rest of the object (the author and the meter).
pub struct Answer {
    pub made: Bytes,
    /// Ends the object; a caller wrapping the post in more JSON appends
    /// to it.
    pub rest: Vec<u8>,
}

impl Answer {
    /// The answer in one buffer, for a test to read.
    #[cfg(test)]
    pub fn joined(&self) -> Vec<u8> {
        [&self.made[..], &self.rest[..]].concat()
    }
}

/// The whole answer: `made`, then the author and the meter.
pub fn answer(made: &Made, author: Option<&str>, meter: Option<&Meter>) -> Answer {
    /// `Author`, borrowed.
    #[derive(Serialize)]
    struct Author<'a> {
        username: &'a str,
    }
    let mut rest = Vec::with_capacity(192);
    rest.extend_from_slice(b",\"author\":");
    // Writing plain strings and numbers into a Vec cannot fail.
    let author = author.map(|username| Author { username });
    serde_json::to_writer(&mut rest, &author).expect("an author serializes");
    rest.extend_from_slice(b",\"meter\":");
    serde_json::to_writer(&mut rest, &meter).expect("a meter serializes");
    rest.push(b'}');
    Answer {
        made: made.0.clone(),
        rest,
    }
}

/// The [`Made`] answers of the posts read lately, by id and version, up to
/// [`Kept::BUDGET`] bytes in all. Past it, entries are dropped in no
/// particular order (a map's): a post read often is made again at its
/// next read and kept again, one rendering of JSON, not of Markdown.
#[derive(Default)]
pub struct Kept(Mutex<Entries>);

#[derive(Default)]
struct Entries {
    /// Hashed with foldhash, not SipHash: every read looks here, and the
    /// keys are post ids the database gave.
    by_id: foldhash::HashMap<i64, (i64, Made)>,
    bytes: usize,
}

impl Kept {
    /// What all kept answers may hold: the front page's posts and the ones
    /// being shared many times over, not a copy of the archive.
    pub const BUDGET: usize = 8 * 1024 * 1024;

    /// The answer kept for post `id` as of `updated_at`.
    pub fn get(&self, id: i64, updated_at: i64) -> Option<Made> {
        let entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.by_id.get(&id) {
            Some((version, made)) if *version == updated_at => Some(made.clone()),
            _ => None,
        }
    }

    /// Keeps `made` as post `id`'s answer as of `updated_at`, in place of
    /// an older version's; a newer version already kept stays.
    pub fn keep(&self, id: i64, updated_at: i64, made: Made) {
        let mut entries = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if made.len() > Self::BUDGET {
            return;
        }
        if let Some((version, _)) = entries.by_id.get(&id) {
            if *version > updated_at {
                return;
            }
        }
        let added = made.len();
        if let Some((_, old)) = entries.by_id.insert(id, (updated_at, made)) {
            entries.bytes -= old.len();
        }
        entries.bytes += added;
        while entries.bytes > Self::BUDGET {
            let Some(&victim) = entries.by_id.keys().find(|&&other| other != id) else {
                break;
            };
            if let Some((_, gone)) = entries.by_id.remove(&victim) {
                entries.bytes -= gone.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(body: &'a str, updated_at: i64) -> Fields<'a> {
        Fields {
            id: 7,
            slug: "a-post",
            title: "A \"post\"",
            body,
            html: "<p>x</p>",
            excerpt: "x",
            access: "metered",
            published_at: 0,
            updated_at,
        }
    }

    #[test]
    fn the_answer_is_the_fields_then_the_author_and_the_meter() {
        let made = Made::of(&fields("x\n", 1_000_000));
        let json = answer(&made, Some("Al\"ice"), None);
        let value: serde_json::Value = serde_json::from_slice(&json.joined()).unwrap();
        assert_eq!(value["title"], "A \"post\"");
        assert_eq!(value["body"], "x\n");
        assert_eq!(value["author"]["username"], "Al\"ice");
        assert_eq!(value["meter"], serde_json::Value::Null);
        assert_eq!(value["updated_at"], "1970-01-01T00:00:01Z");
        let anonymous = answer(&made, None, None);
        let value: serde_json::Value = serde_json::from_slice(&anonymous.joined()).unwrap();
        assert_eq!(value["author"], serde_json::Value::Null);
    }

    #[test]
    fn a_kept_answer_serves_only_its_version() {
        let kept = Kept::default();
        kept.keep(7, 2, Made::of(&fields("new", 2)));
        assert!(kept.get(7, 2).is_some());
        assert!(kept.get(7, 1).is_none());
        assert!(kept.get(8, 2).is_none());
        // An older version read late does not replace a newer one.
        kept.keep(7, 1, Made::of(&fields("old", 1)));
        assert!(kept.get(7, 2).is_some());
        assert!(kept.get(7, 1).is_none());
    }

    #[test]
    fn kept_answers_stay_within_the_budget() {
        let kept = Kept::default();
        let body = "a".repeat(100_000);
        for id in 0..200 {
            kept.keep(id, 1, Made::of(&fields(&body, 1)));
            assert!(kept.0.lock().unwrap().bytes <= Kept::BUDGET);
            // The one just kept is there.
            assert!(kept.get(id, 1).is_some());
        }
        let entries = kept.0.lock().unwrap();
        let counted: usize = entries.by_id.values().map(|(_, made)| made.len()).sum();
        assert_eq!(counted, entries.bytes);
    }
}
