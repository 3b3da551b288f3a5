//! `Excerpt`: the short text a list of posts shows. An author's own is at
//! most 500 characters; without one it is derived from the body
//! ([`derive_excerpt`]).

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::{Access, Body};

/// A post's excerpt within the contract's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt(String);

impl Excerpt {
    pub const MAX_CHARS: usize = 500;
    /// The most a derived excerpt has, its ellipsis included.
    pub const DERIVED_MAX_CHARS: usize = 200;

    /// Parses an author's excerpt, or says in a sentence fragment what is
    /// wrong. In characters, like a title: it is read, not stored in bulk.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "must be at most {} characters long",
                Self::MAX_CHARS
            ));
        }
        Ok(Excerpt(raw.to_owned()))
    }

    /// The excerpt of a post whose author gave none: [`derive_excerpt`] of
    /// its body.
    pub fn from_body(body: &Body, access: Access) -> Excerpt {
        Excerpt(derive_excerpt(body.as_str(), access))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The start of a Markdown body's text, as a reader sees it: no Markdown
/// or HTML syntax, at most [`Excerpt::DERIVED_MAX_CHARS`] characters.
///
/// Only the text of the Markdown is kept (its text and inline code; the
/// contents of code blocks too). Raw HTML is dropped, tags and all: an
/// inline tag's own text stays (`<b>bold</b>` gives `bold`), while an HTML
/// block, whose lines are all markup to the parser, goes whole. An image's
/// alt text is left out, being a description of a picture rather than
/// prose. Blocks are joined by a space and every run of whitespace becomes
/// one space.
///
/// Longer text is cut at a word boundary, with `…` appended to show the
/// cut; the ellipsis counts towards the 200. Punctuation left dangling at
/// the cut (`,` `:` `.` `—` `(` and the like) is dropped before the `…`.
/// Text without a space in its first 199 characters (a long URL, or
/// Chinese or Japanese, written without spaces) is cut mid-word.
///
/// A `metered` or `premium` post's excerpt is shown to readers who may not
/// read the post (the listing, a `402`, a free member's newsletter), so it
/// never gives the post away: it holds at most the first half of the
/// text, ellipsis included, cut at a word and never inside one — a body
/// too short to halve at a word (one sentence, one long word) has none.
pub fn derive_excerpt(markdown: &str, access: Access) -> String {
    let gated = access != Access::Free;
    let max = Excerpt::DERIVED_MAX_CHARS;
    // Past twice the limit, half the text is more than the limit allows.
    let enough = if gated { 2 * (max + 1) } else { max };
    let mut text = Collapsed::default();
    let mut in_image = 0_usize;
    for event in Parser::new_ext(markdown, super::MARKDOWN) {
        match event {
            Event::Text(t) | Event::Code(t) if in_image == 0 => text.push_str(&t),
            Event::Start(Tag::Image { .. }) => in_image += 1,
            Event::End(TagEnd::Image) => in_image = in_image.saturating_sub(1),
            Event::Start(tag) if !is_inline(&tag.to_end()) => text.space(),
            Event::End(end) if !is_inline(&end) => text.space(),
            Event::SoftBreak | Event::HardBreak | Event::Rule => text.space(),
            _ => {}
        }
        // One character past the limit is enough to know a cut is needed
        // and whether it falls between words.
        if text.chars > enough {
            break;
        }
    }
    if gated {
        return cut_at_word(&text.out, max.min(text.chars / 2), Cut::BetweenWords);
    }
    cut_at_word(&text.out, max, Cut::InsideAWord)
}

/// Inline markup, which sits inside a word as often as around one
/// (`**bold**er`): its ends separate nothing.
fn is_inline(end: &TagEnd) -> bool {
    matches!(
        end,
        TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Superscript
            | TagEnd::Subscript
            | TagEnd::Link
            | TagEnd::Image
    )
}

/// Text with every run of whitespace made one space, none at the ends.
#[derive(Default)]
struct Collapsed {
    out: String,
    chars: usize,
    pending_space: bool,
}

impl Collapsed {
    fn push_str(&mut self, text: &str) {
        for c in text.chars() {
            if c.is_whitespace() {
                self.space();
                continue;
            }
            if self.pending_space && !self.out.is_empty() {
                self.out.push(' ');
                self.chars += 1;
            }
            self.pending_space = false;
            self.out.push(c);
            self.chars += 1;
        }
    }

    fn space(&mut self) {
        self.pending_space = true;
    }
}

/// `text` (whitespace already collapsed) if it has at most `max`
/// characters; otherwise its start up to the last word that fits with `…`
/// after it, without dangling punctuation. Text with no whole word that
/// fits is cut inside its first word when `Cut::InsideAWord` allows it,
/// and is otherwise no excerpt at all.
fn cut_at_word(text: &str, max: usize, cut: Cut) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let Some(room) = max.checked_sub(1) else {
        return String::new();
    };
    let end = text
        .char_indices()
        .nth(room)
        .map_or(text.len(), |(index, _)| index);
    let head = &text[..end];
    let inside_a_word = match cut {
        Cut::InsideAWord => head,
        Cut::BetweenWords => "",
    };
    let whole_words = if text[end..].starts_with(' ') {
        head
    } else {
        head.rfind(' ')
            .map_or(inside_a_word, |space| &head[..space])
    };
    let kept = whole_words.trim_end_matches(|c: char| c.is_whitespace() || dangles(c));
    // Punctuation all the way back: keep the characters as they came.
    let kept = if kept.is_empty() {
        inside_a_word.trim_end()
    } else {
        kept
    };
    if kept.is_empty() {
        return String::new();
    }
    format!("{kept}…")
}

/// Where a derived excerpt may be cut.
#[derive(Clone, Copy)]
enum Cut {
    /// Inside a word, when no whole word fits: text without spaces.
    InsideAWord,
    /// Only between words: less than a word is no excerpt.
    BetweenWords,
}

/// Punctuation that reads as unfinished before an ellipsis.
fn dangles(c: char) -> bool {
    matches!(
        c,
        ',' | ';'
            | ':'
            | '.'
            | '!'
            | '?'
            | '-'
            | '–'
            | '—'
            | '…'
            | '('
            | '['
            | '{'
            | '/'
            | '&'
            | '‘'
            | '“'
            | '«'
            | '¿'
            | '¡'
            | '、'
            | '。'
            | '，'
            | '：'
            | '；'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gated_posts_excerpt_holds_at_most_half_its_text() {
        // 105 characters: the whole of it would be the post.
        let body = "A short premium note that tells everything it has to say in \
                    one paragraph: a hundred and five characters.";
        assert_eq!(body.chars().count(), 105);
        assert_eq!(derive_excerpt(body, Access::Free), body);
        for access in [Access::Metered, Access::Premium] {
            let excerpt = derive_excerpt(body, access);
            assert_eq!(
                excerpt,
                "A short premium note that tells everything it has…"
            );
            assert!(excerpt.chars().count() <= 52, "{excerpt}");
        }
        // Long posts: the usual 200 characters, far below half.
        let long = "word ".repeat(400);
        assert_eq!(derive_excerpt(&long, Access::Premium).chars().count(), 200);
        // Too short to halve at a word: nothing.
        for short in [
            "Secret",
            "One two",
            "Supercalifragilistic expialidocious",
            "語語語語語語語語語語",
            "",
        ] {
            assert_eq!(derive_excerpt(short, Access::Metered), "", "{short}");
        }
        assert_eq!(
            derive_excerpt("One two three four five six", Access::Metered),
            "One two…"
        );
    }

    proptest::proptest! {
        #[test]
        fn a_gated_excerpt_never_holds_more_than_half_and_is_its_start(words in proptest::collection::vec("[a-z]{1,12}", 0..80)) {
            let body = words.join(" ");
            let excerpt = derive_excerpt(&body, Access::Premium);
            let total = body.chars().count();
            proptest::prop_assert!(excerpt.chars().count() <= total / 2, "{excerpt:?} of {body:?}");
            let kept = excerpt.trim_end_matches('…');
            proptest::prop_assert!(body.starts_with(kept));
            // Whole words only.
            proptest::prop_assert!(kept.is_empty() || body[kept.len()..].starts_with(' '));
        }
    }

    #[test]
    fn an_authors_excerpt_counts_characters() {
        assert!(Excerpt::parse("").is_ok());
        assert!(Excerpt::parse(&"a".repeat(500)).is_ok());
        assert!(Excerpt::parse(&"a".repeat(501)).is_err());
        assert!(Excerpt::parse(&"語".repeat(500)).is_ok());
        assert!(Excerpt::parse(&"語".repeat(501)).is_err());
    }

    /// Each markdown's derived excerpt, as a free post's, is its text.
    fn free_excerpts(cases: &[(&str, &str)]) {
        for (markdown, text) in cases {
            assert_eq!(
                derive_excerpt(markdown, Access::Free),
                *text,
                "{markdown:?}"
            );
        }
    }

    #[test]
    fn strips_markdown_syntax() {
        free_excerpts(&[
            ("Some **bold** and _em_ text", "Some bold and em text"),
            ("**bo**ld", "bold"),
            ("# Heading\n\nFirst paragraph.", "Heading First paragraph."),
            ("Setext\n======\nnext", "Setext next"),
            (
                "See [the docs](https://example.com/x) now",
                "See the docs now",
            ),
            ("<https://example.com>", "https://example.com"),
            ("a [ref][r]\n\n[r]: https://example.com", "a ref"),
            ("~~gone~~ here", "gone here"),
            ("> quoted\n\nafter", "quoted after"),
            (
                "- one\n- two\n  - nested\n\n1. three",
                "one two nested three",
            ),
            ("a\n\n---\n\nb", "a b"),
            ("escaped \\*stars\\*", "escaped *stars*"),
            ("AT&amp;T &lt;3", "AT&T <3"),
        ]);
    }

    #[test]
    fn keeps_code_text_without_its_fences() {
        free_excerpts(&[
            ("Call `run()` first", "Call run() first"),
            (
                "Intro\n\n```rust\nfn main() {\n    go();\n}\n```\n\nOutro",
                "Intro fn main() { go(); } Outro",
            ),
            ("~~~\ncode\n~~~", "code"),
            ("    indented code\n\ntext", "indented code text"),
        ]);
    }

    #[test]
    fn drops_raw_html_and_images() {
        free_excerpts(&[
            ("Some <b>bold</b> text", "Some bold text"),
            ("a <span class=\"x\">b</span> c", "a b c"),
            ("<div>\nhidden *block*\n</div>\n\nshown", "shown"),
            ("<script>alert(1)</script>\n\nafter", "after"),
            ("x <!-- note --> y", "x y"),
            ("![a diagram](d.png) Caption", "Caption"),
            ("[![logo](l.png) Home](/)", "Home"),
        ]);
    }

    #[test]
    fn joins_table_cells_with_spaces() {
        let table = "| a | b |\n|---|:-:|\n| 1 | 2 |\n\nafter";
        assert_eq!(derive_excerpt(table, Access::Free), "a b 1 2 after");
    }

    #[test]
    fn short_text_is_whole() {
        assert_eq!(derive_excerpt("", Access::Free), "");
        assert_eq!(derive_excerpt("  \n\n  ", Access::Free), "");
        let exact = "a".repeat(200);
        assert_eq!(derive_excerpt(&exact, Access::Free), exact);
    }

    #[test]
    fn long_text_is_cut_at_a_word_with_an_ellipsis() {
        // Words of eight letters and a space: the 23rd starts at the 199th
        // character, so the cut falls inside it.
        let text = ["abcdefgh"; 30].join(" ");
        let excerpt = derive_excerpt(&text, Access::Free);
        assert_eq!(excerpt, format!("{}…", ["abcdefgh"; 22].join(" ")));
        assert!(excerpt.chars().count() <= 200);
        // A word ending at the 199th character is kept.
        let text = format!("{} next", "a".repeat(199));
        assert_eq!(
            derive_excerpt(&text, Access::Free),
            format!("{}…", "a".repeat(199))
        );
    }

    #[test]
    fn drops_dangling_punctuation_at_the_cut() {
        let text = format!("{} wait, more words here", "a ".repeat(96));
        let excerpt = derive_excerpt(&text, Access::Free);
        assert!(excerpt.ends_with("a wait…"), "{excerpt}");
        let text = format!("{} end. More text here", "a ".repeat(97));
        assert!(derive_excerpt(&text, Access::Free).ends_with("a end…"));
        let text = format!("{} — more words follow here", "a ".repeat(98));
        assert!(derive_excerpt(&text, Access::Free).ends_with("a a…"));
    }

    #[test]
    fn text_without_spaces_is_cut_mid_word() {
        let cjk = "語".repeat(300);
        assert_eq!(
            derive_excerpt(&cjk, Access::Free),
            format!("{}…", "語".repeat(199))
        );
        let punct = "!".repeat(300);
        assert_eq!(
            derive_excerpt(&punct, Access::Free),
            format!("{}…", "!".repeat(199))
        );
    }

    #[test]
    fn from_body_derives() {
        let body = Body::parse("# Hi\n\n*there*").unwrap();
        assert_eq!(Excerpt::from_body(&body, Access::Free).as_str(), "Hi there");
    }

    proptest::proptest! {
        #[test]
        fn a_derived_excerpt_is_short_and_trimmed(markdown in "\\PC{0,400}|([a-z*_#`>\\[\\]()<!-] {0,2}){0,300}") {
            let excerpt = derive_excerpt(&markdown, Access::Free);
            proptest::prop_assert!(excerpt.chars().count() <= Excerpt::DERIVED_MAX_CHARS, "{:?}", excerpt);
            proptest::prop_assert_eq!(excerpt.trim(), excerpt.as_str());
            proptest::prop_assert!(!excerpt.contains("  "));
            proptest::prop_assert!(Excerpt::parse(&excerpt).is_ok());
        }
    }
}
