//! `Title`: 1–200 characters, not only whitespace, kept as typed.

/// A post's title that satisfies the contract's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MIN_CHARS: usize = 1;
    pub const MAX_CHARS: usize = 200;

    /// Parses a title, or says in a sentence fragment what is wrong.
    ///
    /// The bound is in characters, not bytes: a title is read by people,
    /// and 200 of them are as many in Greek or Chinese as in English.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let chars = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(format!(
                "must be {} to {} characters long",
                Self::MIN_CHARS,
                Self::MAX_CHARS
            ));
        }
        if raw.trim().is_empty() {
            return Err("must not be only whitespace".to_owned());
        }
        Ok(Title(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_title_as_typed() {
        let title = Title::parse("  Scaling Out: Stateless Instances ").unwrap();
        assert_eq!(title.as_str(), "  Scaling Out: Stateless Instances ");
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(Title::parse("a").is_ok());
        assert!(Title::parse("").is_err());
        assert!(Title::parse(&"a".repeat(200)).is_ok());
        assert!(Title::parse(&"a".repeat(201)).is_err());
        // 200 characters of three bytes each: 600 bytes, still a valid title.
        assert!(Title::parse(&"語".repeat(200)).is_ok());
        assert!(Title::parse(&"語".repeat(201)).is_err());
    }

    #[test]
    fn refuses_only_whitespace() {
        for blank in [" ", "\t\n", "\u{3000}", "\u{a0} \u{2003}"] {
            assert_eq!(
                Title::parse(blank),
                Err("must not be only whitespace".to_owned()),
                "{blank:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn accepts_exactly_the_rule(raw in "\\PC{0,210}|\\s{0,5}") {
            let allowed = (1..=200).contains(&raw.chars().count()) && !raw.trim().is_empty();
            proptest::prop_assert_eq!(Title::parse(&raw).is_ok(), allowed);
        }
    }
}
