//! `Body`: a post's Markdown source, at most 200,000 bytes, that renders
//! in time proportional to its size (its block quotes and lists nested at
//! most 100 levels deep: `cost`).

use super::cost;

/// A post's Markdown source within the contract's size, whose rendering
/// costs no more than its size allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    pub const MAX_BYTES: usize = 200_000;

    /// Parses a body, or says in a sentence fragment what is wrong.
    ///
    /// The bound is in bytes, unlike a title's: it limits what is stored
    /// and rendered, not what is read. Any text is valid Markdown, so the
    /// only other rules are what rendering it may cost (`cost::check`:
    /// nesting, above all), measured before anything is stored or
    /// sanitized, by one more pass of each parser. An empty body is
    /// allowed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > Self::MAX_BYTES {
            return Err(format!("must be at most {} bytes long", Self::MAX_BYTES));
        }
        cost::check(raw)?;
        Ok(Body(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::super::cost::MAX_NESTING;
    use super::*;

    #[test]
    fn counts_bytes_not_characters() {
        assert!(Body::parse("").is_ok());
        assert!(Body::parse(&"a".repeat(200_000)).is_ok());
        assert!(Body::parse(&"a".repeat(200_001)).is_err());
        // 66,667 characters of three bytes each: 200,001 bytes.
        assert!(Body::parse(&"語".repeat(66_666)).is_ok());
        assert!(Body::parse(&"語".repeat(66_667)).is_err());
    }

    #[test]
    fn keeps_the_source_as_sent() {
        let source = "# Title\n\nSome *text*.\n";
        assert_eq!(Body::parse(source).unwrap().as_str(), source);
    }

    /// `unit` repeated `levels` times, then a word: each unit one level.
    fn nested(unit: &str, levels: usize) -> String {
        format!("{}deep\n", unit.repeat(levels))
    }

    /// A list `levels` deep written as authors write one: each item
    /// indented under the one before.
    fn indented_list(levels: usize) -> String {
        (0..levels)
            .map(|level| format!("{}- level {level}\n", "  ".repeat(level)))
            .collect()
    }

    #[test]
    fn block_quotes_and_lists_nest_100_levels_and_no_more() {
        let refused = "must not nest block quotes and lists more than 100 levels deep";
        for unit in ["> ", "- ", "* ", "1. ", "> - ", "- > ", ">"] {
            let levels_per_unit = if unit.len() == 4 { 2 } else { 1 };
            let at_most = nested(unit, MAX_NESTING / levels_per_unit);
            assert!(Body::parse(&at_most).is_ok(), "{unit:?} × 100 levels");
            let beyond = nested(unit, MAX_NESTING / levels_per_unit + 1);
            assert_eq!(
                Body::parse(&beyond).unwrap_err(),
                refused,
                "{unit:?} beyond 100 levels"
            );
        }
        assert!(Body::parse(&indented_list(100)).is_ok());
        assert_eq!(Body::parse(&indented_list(101)).unwrap_err(), refused);
        // One level more inside a list item that is 100 deep.
        let quoted = format!("{}{}> a\n", indented_list(100), "  ".repeat(100));
        assert_eq!(Body::parse(&quoted).unwrap_err(), refused);
    }

    #[test]
    fn only_nesting_counts_not_how_many() {
        // Thousands of quotes and lists side by side, each one level.
        let side_by_side = "> a quote\n\n- an item\n- another\n\n1. one\n\n".repeat(2_000);
        assert!(side_by_side.len() < Body::MAX_BYTES);
        assert!(Body::parse(&side_by_side).is_ok());
        // Deep, and back out, and deep again: the depth, not the sum.
        let twice = format!("{}\n\nout\n\n{}", nested("> ", 100), nested("> ", 100));
        assert!(Body::parse(&twice).is_ok());
    }

    #[test]
    fn markers_that_are_not_markdown_nesting_do_not_count() {
        // In a code block, in a code span, escaped, or mid-line.
        let fenced = format!("```\n{}\n```\n", "> ".repeat(1_000));
        let span = format!("`{}`", "> ".repeat(1_000));
        let escaped = "\\> ".repeat(1_000);
        let inline = format!("a {}", "> ".repeat(1_000));
        for body in [fenced, span, escaped, inline] {
            assert!(Body::parse(&body).is_ok(), "{:?}…", &body[..20]);
        }
    }

    #[test]
    fn the_deepest_body_of_the_largest_size_is_refused() {
        // Nearly 100,000 levels in 200,000 bytes: refused, the count
        // stopping at the 101st. (`- - -` alone would be a thematic break:
        // the word at the end makes it lists.)
        for unit in ["> ", "- "] {
            let body = nested(unit, (Body::MAX_BYTES - "deep\n".len()) / 2);
            assert!(body.len() <= Body::MAX_BYTES);
            assert!(Body::parse(&body).is_err(), "{unit:?}");
        }
    }
}
