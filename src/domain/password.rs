//! `Password`: the register rules. bcrypt reads at most 72 bytes, so a longer
//! password is refused rather than silently truncated (two passwords sharing
//! their first 72 bytes would otherwise be the same password).
//!
//! Every password is first put in the form RFC 8265 gives it ([`prepare`]):
//! the same characters typed on another keyboard or system arrive as other
//! code points (`é` composed, or `e` and a combining accent; a no-break
//! space from a phone's keyboard), and bcrypt compares bytes.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use icu_normalizer::ComposingNormalizerBorrowed;

/// A password that satisfies the rules; its `Debug` never shows it.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// The most commonly used passwords (from zxcvbn's frequency list), lower-cased.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// `raw` in the form RFC 8265's OpaqueString profile prepares a password
/// for comparison: every non-ASCII space (Unicode's `Zs`) becomes U+0020,
/// then the text is put in Normalization Form C. Nothing is folded beyond
/// that: case and compatibility forms (a full-width `Ａ` is not `A`) stay
/// as typed, so no two passwords a person could tell apart become one.
/// Borrowed, at no cost, when `raw` is already in that form (any ASCII).
pub fn prepare(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() {
        return Cow::Borrowed(raw);
    }
    let spaced: Cow<'_, str> = if raw.chars().any(is_non_ascii_space) {
        Cow::Owned(
            raw.chars()
                .map(|c| if is_non_ascii_space(c) { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    match ComposingNormalizerBorrowed::new_nfc().normalize(&spaced) {
        Cow::Borrowed(_) => spaced,
        Cow::Owned(composed) => Cow::Owned(composed),
    }
}

/// Unicode's space separators (general category `Zs`) other than U+0020.
fn is_non_ascii_space(c: char) -> bool {
    matches!(
        c,
        '\u{00A0}' | '\u{1680}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

impl Password {
    pub const MIN_BYTES: usize = 8;
    pub const MAX_BYTES: usize = 72;

    /// Parses a new password for `username`, or says what is wrong: the
    /// rules are applied to its prepared form ([`prepare`]), which is
    /// what is kept and hashed.
    pub fn parse(raw: String, username: &str) -> Result<Self, String> {
        let raw = match prepare(&raw) {
            Cow::Borrowed(_) => raw,
            Cow::Owned(prepared) => prepared,
        };
        let len = raw.len();
        if len < Self::MIN_BYTES {
            return Err(format!("must be at least {} bytes long", Self::MIN_BYTES));
        }
        if len > Self::MAX_BYTES {
            return Err(format!(
                "must be at most {} bytes long (bcrypt's limit)",
                Self::MAX_BYTES
            ));
        }
        if raw.contains('\0') {
            return Err("must not contain a NUL character".to_owned());
        }
        let lower = raw.to_lowercase();
        if COMMON.contains(lower.as_str()) {
            return Err("is one of the most commonly used passwords; choose another".to_owned());
        }
        if !username.is_empty() && lower.contains(&username.to_lowercase()) {
            return Err("must not contain the username".to_owned());
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_reasonable_password() {
        assert!(Password::parse("correct horse battery".into(), "alice").is_ok());
    }

    #[test]
    fn length_is_counted_in_bytes() {
        assert!(Password::parse("Ab3$xyz".into(), "bob").is_err());
        assert!(Password::parse("Ab3$xyzq".into(), "bob").is_ok());
        // 24 three-byte characters are 72 bytes: allowed; one more byte is not.
        let euro72 = "€".repeat(24);
        assert!(Password::parse(euro72.clone(), "bob").is_ok());
        assert!(Password::parse(format!("{euro72}a"), "bob").is_err());
    }

    #[test]
    fn rejects_nul() {
        assert!(Password::parse("abcd\0efghijk".into(), "bob").is_err());
    }

    #[test]
    fn rejects_common_passwords_in_any_case() {
        for common in [
            "password",
            "12345678",
            "qwertyuiop",
            "PASSWORD",
            "iloveyou",
            "baseball",
        ] {
            assert!(Password::parse(common.into(), "zed").is_err(), "{common}");
        }
    }

    #[test]
    fn the_list_holds_thousands_of_entries() {
        assert!(COMMON.len() > 10_000);
    }

    #[test]
    fn rejects_passwords_containing_the_username() {
        assert!(Password::parse("myAlice-rocks".into(), "alice").is_err());
        assert!(Password::parse("my-bob-rocks!".into(), "alice").is_ok());
    }

    #[test]
    fn composed_and_decomposed_characters_are_one_password() {
        let composed = "Ma\u{f1}ana-\u{c7}af\u{e9}-92!";
        let decomposed = "Man\u{303}ana-C\u{327}afe\u{301}-92!";
        assert_ne!(composed, decomposed);
        assert_eq!(prepare(decomposed), composed);
        assert_eq!(prepare(composed), composed);
        let parsed = Password::parse(decomposed.to_owned(), "bob").unwrap();
        assert_eq!(parsed.expose(), composed);
    }

    #[test]
    fn non_ascii_spaces_become_spaces_and_nothing_else_is_folded() {
        assert_eq!(
            prepare("horse\u{a0}battery\u{3000}staple"),
            "horse battery staple"
        );
        // Case, full-width forms and the spaces at either end stay.
        assert_eq!(
            prepare("\u{ff21}\u{ff11}b Password "),
            "\u{ff21}\u{ff11}b Password "
        );
        assert!(matches!(prepare("plain ascii"), Cow::Borrowed(_)));
        assert!(matches!(prepare("d\u{e9}j\u{e0} vu"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_byte_limits_apply_to_the_prepared_form() {
        // 36 decomposed é are 108 bytes, composed 72: allowed.
        let decomposed = "e\u{301}".repeat(36);
        assert!(Password::parse(decomposed, "bob").is_ok());
        // Four decomposed é are 12 bytes, composed 8: allowed; three are not.
        assert!(Password::parse("e\u{301}".repeat(4), "bob").is_ok());
        assert!(Password::parse("e\u{301}".repeat(3), "bob").is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let p = Password::parse("s3cret-enough".into(), "bob").unwrap();
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    proptest::proptest! {
        #[test]
        fn an_accepted_password_keeps_every_rule(raw in "\\PC{0,80}|[\\x00-\\x7f]{0,80}", name in "[a-z]{3,8}") {
            if Password::parse(raw.clone(), &name).is_ok() {
                // The byte limits hold for the prepared form (NFC may
                // lengthen a character: U+0958 becomes two).
                proptest::prop_assert!((8..=72).contains(&prepare(&raw).len()));
                proptest::prop_assert!(!raw.contains('\0'));
                proptest::prop_assert!(!raw.to_lowercase().contains(&name));
                proptest::prop_assert!(!COMMON.contains(raw.to_lowercase().as_str()));
            }
        }
    }
}
