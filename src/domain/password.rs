//! `Password`: the register rules. bcrypt reads at most 72 bytes, so a longer
//! password is refused rather than silently truncated (two passwords sharing
//! their first 72 bytes would otherwise be the same password).

use std::collections::HashSet;
use std::sync::LazyLock;

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

impl Password {
    pub const MIN_BYTES: usize = 8;
    pub const MAX_BYTES: usize = 72;

    /// Parses a new password for `username`, or says what is wrong.
    pub fn parse(raw: String, username: &str) -> Result<Self, String> {
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
    fn debug_hides_the_password() {
        let p = Password::parse("s3cret-enough".into(), "bob").unwrap();
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    proptest::proptest! {
        #[test]
        fn an_accepted_password_keeps_every_rule(raw in "\\PC{0,80}|[\\x00-\\x7f]{0,80}", name in "[a-z]{3,8}") {
            if Password::parse(raw.clone(), &name).is_ok() {
                proptest::prop_assert!((8..=72).contains(&raw.len()));
                proptest::prop_assert!(!raw.contains('\0'));
                proptest::prop_assert!(!raw.to_lowercase().contains(&name));
                proptest::prop_assert!(!COMMON.contains(raw.to_lowercase().as_str()));
            }
        }
    }
}
