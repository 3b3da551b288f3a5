//! `Body`: a post's Markdown source, at most 200,000 bytes.

/// A post's Markdown source within the contract's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body(String);

impl Body {
    pub const MAX_BYTES: usize = 200_000;

    /// Parses a body, or says in a sentence fragment what is wrong.
    ///
    /// The bound is in bytes, unlike a title's: it limits what is stored
    /// and rendered, not what is read. Any text is valid Markdown, so the
    /// size is the only rule; an empty body is allowed.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.len() > Self::MAX_BYTES {
            return Err(format!("must be at most {} bytes long", Self::MAX_BYTES));
        }
        Ok(Body(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
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
}
