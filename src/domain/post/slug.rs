//! `Slug`: a post's name in its URL, `/blog/{slug}`: 1–80 characters of
//! `a-z 0-9` in words joined by single `-`, never only digits, because an
//! all-digit path is always a post's id.
//!
//! A post saved without one gets one made from its title
//! ([`Slug::from_title`]); keeping slugs unique is the database's part,
//! which tries [`Slug::numbered`] (`-2`, `-3`, …) on a clash.

use std::sync::Arc;

use super::Title;

/// A slug that satisfies the contract's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 80;

    /// The slug of a title with nothing that transliterates to a letter or
    /// a digit (`!!!`, or only symbols that have no ASCII reading), and the
    /// word put before an all-digit one.
    const FALLBACK: &'static str = "post";

    /// Parses a slug, or says in a sentence fragment what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::check(raw).map(|()| Slug(raw.to_owned()))
    }

    /// A path's slug checked as [`Slug::parse`] checks it, in the one
    /// allocation a read's lookups then share (each clone of it is a
    /// count, not a copy).
    pub fn shared(raw: &str) -> Option<Arc<str>> {
        Self::check(raw).ok().map(|()| Arc::from(raw))
    }

    /// [`Slug::parse`]'s rule. A good slug is read in one pass over its
    /// bytes, as every read by slug asks; only a bad one is read again,
    /// to say what is wrong with it.
    fn check(raw: &str) -> Result<(), String> {
        let (mut after_dash, mut digits_only) = (true, true);
        let mut good = raw.len() <= Self::MAX_LEN;
        for &b in raw.as_bytes() {
            match b {
                b'a'..=b'z' => (after_dash, digits_only) = (false, false),
                b'0'..=b'9' => after_dash = false,
                b'-' if !after_dash => (after_dash, digits_only) = (true, false),
                _ => {
                    good = false;
                    break;
                }
            }
        }
        // `after_dash` still set: empty, or a trailing `-`.
        if good && !after_dash && !digits_only {
            return Ok(());
        }
        if raw.is_empty() || raw.chars().count() > Self::MAX_LEN {
            return Err(format!("must be 1 to {} characters long", Self::MAX_LEN));
        }
        let words_ok = raw.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !words_ok {
            return Err("may contain only a-z and 0-9, in words joined by single '-'".to_owned());
        }
        if raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must not be only digits (an all-digit path is a post's id)".to_owned());
        }
        Ok(())
    }

    /// The slug a title gives: transliterated to ASCII (`Café` → `cafe`,
    /// `北京` → `bei-jing`), lower-cased, apostrophes dropped (`don't` →
    /// `dont`), every other run of characters that are not `a-z 0-9` turned
    /// into one `-`, and cut to 80 characters at the last whole word that
    /// fits (mid-word only when the first word alone is longer).
    ///
    /// A title with nothing usable gives `post`. An all-digit result, which
    /// would be read as an id, gets the same word in front: `2026` gives
    /// `post-2026`, which keeps the number readable in the URL.
    pub fn from_title(title: &Title) -> Slug {
        Slug::from_text(title.as_str())
    }

    /// [`Slug::from_title`] for text already stored as a title.
    pub fn from_text(title: &str) -> Slug {
        // Characters deunicode has no reading for become a separator.
        let ascii = deunicode::deunicode_with_tofu(title, " ");
        let mut joined = String::with_capacity(ascii.len());
        let mut pending_dash = false;
        for c in ascii.chars() {
            if c.is_ascii_alphanumeric() {
                if pending_dash && !joined.is_empty() {
                    joined.push('-');
                }
                pending_dash = false;
                joined.push(c.to_ascii_lowercase());
            } else if c != '\'' {
                pending_dash = true;
            }
        }
        let cut = shorten(&joined, Self::MAX_LEN);
        if cut.is_empty() {
            Slug(Self::FALLBACK.to_owned())
        } else if cut.bytes().all(|b| b.is_ascii_digit()) {
            let room = Self::MAX_LEN - Self::FALLBACK.len() - 1;
            Slug(format!(
                "{}-{}",
                Self::FALLBACK,
                &cut[..cut.len().min(room)]
            ))
        } else {
            Slug(cut.to_owned())
        }
    }

    /// This slug with `-n` appended, for the `n`th post that wants it.
    /// When the whole would pass 80 characters the base is shortened first,
    /// at its last whole word that leaves room (mid-word only when its first
    /// word alone is too long), so the result is always a valid slug.
    pub fn numbered(&self, n: u32) -> Slug {
        let suffix = format!("-{n}");
        // At most 11 characters (`-4294967295`): the base keeps at least 69.
        let base = shorten(&self.0, Self::MAX_LEN - suffix.len());
        Slug(format!("{base}{suffix}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest start of `slug` (ASCII words joined by single `-`) of at
/// most `max` characters that ends at a word's end; if even the first word
/// is longer, its first `max` characters. Never ends with `-`.
fn shorten(slug: &str, max: usize) -> &str {
    if slug.len() <= max {
        return slug;
    }
    let head = &slug[..max];
    if slug.as_bytes()[max] == b'-' {
        return head;
    }
    match head.rfind('-') {
        Some(end) => &head[..end],
        None => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug_of(title: &str) -> String {
        Slug::from_title(&Title::parse(title).unwrap()).0
    }

    #[test]
    fn parses_words_of_the_alphabet() {
        for good in [
            "a",
            "hello-world",
            "10-tips",
            "x1",
            "a-1-b",
            &"a".repeat(80),
        ] {
            assert_eq!(Slug::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn refuses_what_the_rule_refuses() {
        for bad in [
            "",
            &"a".repeat(81),
            "Hello",
            "hello world",
            "hello--world",
            "-hello",
            "hello-",
            "-",
            "héllo",
            "hello_world",
            "hello.world",
            "a/b",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn refuses_only_digits() {
        assert_eq!(
            Slug::parse("2026"),
            Err("must not be only digits (an all-digit path is a post's id)".to_owned())
        );
        assert!(Slug::parse("0").is_err());
        assert!(Slug::parse("2026-1").is_ok());
    }

    #[test]
    fn derives_from_the_title() {
        assert_eq!(slug_of("Café au lait!"), "cafe-au-lait");
        assert_eq!(
            slug_of("Scaling Out Stateless Instances"),
            "scaling-out-stateless-instances"
        );
        assert_eq!(slug_of("  Rust 2024: what's new?  "), "rust-2024-whats-new");
        assert_eq!(slug_of("Don’t panic"), "dont-panic");
        assert_eq!(slug_of("C++ & Rust -- a/b"), "c-rust-a-b");
        assert_eq!(slug_of("Ærøskøbing straße"), "aeroskobing-strasse");
        assert_eq!(slug_of("10 tips"), "10-tips");
    }

    #[test]
    fn transliterates_other_scripts_and_emoji() {
        assert_eq!(slug_of("北京欢迎你"), "bei-jing-huan-ying-ni");
        assert_eq!(slug_of("Привет, мир"), "privet-mir");
        assert_eq!(slug_of("Ελληνικά"), "ellenika");
        // Emoji have names in deunicode's table.
        assert_eq!(slug_of("I ❤ 🦀"), "i-heart-crab");
        assert_eq!(slug_of("🎉"), "tada");
    }

    #[test]
    fn a_title_with_nothing_usable_gives_post() {
        for title in ["!!!", "—", "?", "\u{e000}", "' ' '"] {
            assert_eq!(slug_of(title), "post", "{title:?}");
        }
    }

    #[test]
    fn an_all_digit_title_gets_a_word_in_front() {
        assert_eq!(slug_of("2026"), "post-2026");
        assert_eq!(slug_of("2026!"), "post-2026");
        assert_eq!(slug_of("2,026"), "2-026");
        let long = slug_of(&"9".repeat(200));
        assert_eq!(long, format!("post-{}", "9".repeat(75)));
        assert!(Slug::parse(&long).is_ok());
    }

    #[test]
    fn cuts_at_80_characters_at_a_word_end() {
        // 19 words of "word" and their dashes: 94 characters.
        let title = ["word"; 19].join(" ");
        let slug = slug_of(&title);
        assert_eq!(slug.len(), 79);
        assert!(slug.ends_with("word"));
        // A word ending exactly at the 80th character is kept whole.
        let exact = format!("{} tail", "a".repeat(80));
        assert_eq!(slug_of(&exact), "a".repeat(80));
        // A first word longer than 80 is cut mid-word.
        assert_eq!(slug_of(&"b".repeat(120)), "b".repeat(80));
        assert_eq!(slug_of(&format!("{}-c", "b".repeat(120))), "b".repeat(80));
    }

    #[test]
    fn numbered_appends_the_number() {
        let slug = Slug::parse("hello-world").unwrap();
        assert_eq!(slug.numbered(2).as_str(), "hello-world-2");
        assert_eq!(slug.numbered(10).as_str(), "hello-world-10");
        assert_eq!(Slug::parse("post").unwrap().numbered(3).as_str(), "post-3");
    }

    #[test]
    fn numbered_shortens_the_base_to_stay_within_80() {
        // 16 words of "word": 79 characters; "-2" would make 81.
        let slug = Slug::parse(&["word"; 16].join("-")).unwrap();
        let two = slug.numbered(2);
        assert_eq!(two.as_str(), format!("{}-2", ["word"; 15].join("-")));
        let big = slug.numbered(u32::MAX);
        assert!(big.as_str().len() <= 80);
        assert!(big.as_str().ends_with("word-4294967295"));
        // One long word is cut mid-word.
        let long = Slug::parse(&"a".repeat(80)).unwrap();
        assert_eq!(long.numbered(2).as_str(), format!("{}-2", "a".repeat(78)));
    }

    proptest::proptest! {
        #[test]
        fn parse_accepts_exactly_the_rule(raw in "[a-z0-9-]{0,90}|[a-zA-Z0-9 _.-]{0,20}|\\PC{0,20}") {
            let allowed = !raw.is_empty()
                && raw.len() <= 80
                && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !raw.starts_with('-')
                && !raw.ends_with('-')
                && !raw.contains("--")
                && !raw.bytes().all(|b| b.is_ascii_digit());
            proptest::prop_assert_eq!(Slug::parse(&raw).is_ok(), allowed);
        }

        #[test]
        fn every_title_gives_a_valid_slug(raw in "\\PC{1,200}|[ -~]{1,200}|[0-9 ]{1,200}") {
            if let Ok(title) = Title::parse(&raw) {
                let slug = Slug::from_title(&title);
                proptest::prop_assert!(Slug::parse(slug.as_str()).is_ok(), "{:?} gave {:?}", raw, slug);
            }
        }

        #[test]
        fn every_numbered_slug_is_valid(raw in "[a-z0-9]{1,80}(-[a-z0-9]{1,30}){0,10}", n: u32) {
            let cut = shorten(&raw, 80);
            if let Ok(slug) = Slug::parse(cut) {
                let numbered = slug.numbered(n);
                proptest::prop_assert!(Slug::parse(numbered.as_str()).is_ok(), "{:?}", numbered);
                let suffix = format!("-{n}");
                proptest::prop_assert!(numbered.as_str().ends_with(&suffix));
            }
        }
    }
}
