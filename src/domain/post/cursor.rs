//! A position in `/blog`'s list, for deep pages by cursor (`?after=`).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The place of a post in `/blog`'s order (newest first: `published_at`,
/// then `id`, both descending): the page after it starts with the next
/// post in that order. A position, not an offset, so that posts published
/// or removed meanwhile never make one listed twice or skipped, and a page
/// a thousand pages deep costs what page 1 does.
///
/// Clients see it as an opaque string ([`Cursor::encode`]): what is in it
/// may change without the contract changing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub published_at: i64,
    pub id: i64,
}

impl Cursor {
    /// The opaque text a client is handed as `next`.
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}.{}", self.published_at, self.id))
    }

    /// The cursor `text` is, if it is one tollgate could have handed out.
    pub fn parse(text: &str) -> Option<Cursor> {
        if text.len() > 64 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let (published_at, id) = std::str::from_utf8(&bytes).ok()?.split_once('.')?;
        let plain = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        if !plain(published_at) || !plain(id) {
            return None;
        }
        let cursor = Cursor {
            published_at: published_at.parse().ok()?,
            id: id.parse().ok()?,
        };
        (cursor.id >= 1).then_some(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_it_was_written() {
        for cursor in [
            Cursor {
                published_at: 1_764_100_000,
                id: 12,
            },
            Cursor {
                published_at: -5,
                id: 1,
            },
            Cursor {
                published_at: i64::MAX,
                id: i64::MAX,
            },
        ] {
            assert_eq!(Cursor::parse(&cursor.encode()), Some(cursor));
        }
    }

    #[test]
    fn anything_else_is_no_cursor() {
        let made = |s: &str| URL_SAFE_NO_PAD.encode(s);
        for bad in [
            String::new(),
            "!!".to_owned(),
            "MTIz".to_owned(),
            made("1.0"),
            made("1.-3"),
            made("1.2.3"),
            made("x.2"),
            made(" 1.2"),
            made("1.+2"),
            made("99999999999999999999.1"),
            "A".repeat(65),
        ] {
            assert_eq!(Cursor::parse(&bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(text in "\\PC{0,80}") {
            let _ = Cursor::parse(&text);
        }
    }
}
