//! `Username`: 3–32 ASCII characters from `A-Z a-z 0-9 _ . -`, kept as typed
//! but compared case-insensitively through its `key`.

/// A username that satisfies the contract's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 32;

    /// Parses a username, or says in a sentence fragment what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let len = raw.len();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(format!(
                "must be {} to {} characters long",
                Self::MIN_LEN,
                Self::MAX_LEN
            ));
        }
        // An allowlist rather than a denylist: no look-alike Unicode, no
        // spaces, nothing that needs escaping in a URL or a log line.
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err("may contain only letters A-Z, digits, '_', '.' and '-'".to_owned());
        }
        Ok(Username(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-insensitive identity of this name: `ALICE` and `alice` are one.
    pub fn key(&self) -> String {
        username_key(&self.0)
    }
}

/// Usernames to try, in order, for an account made by signing in with a
/// provider, from the name it gave (`preferred_username`, GitHub's
/// `login`) or else the local part of the address: the characters the
/// rule allows (transliterated to ASCII first, so `José` is `Jose`), cut
/// to fit, `user` when nothing is left; then the same with `-2` … `-9`,
/// then with random digits, for when those are taken too.
pub fn candidates(wanted: &str) -> impl Iterator<Item = Username> {
    let ascii = deunicode::deunicode(wanted);
    let mut base: String = ascii
        .chars()
        .map(|c| if c == ' ' { '_' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        .collect();
    let trimmed = base
        .trim_matches(|c| matches!(c, '_' | '.' | '-'))
        .to_owned();
    base = if trimmed.len() < Username::MIN_LEN {
        format!("user{trimmed}")
    } else {
        trimmed
    };
    base.truncate(Username::MAX_LEN);
    let numbered = (2..=9).map(|n| n.to_string());
    let random = std::iter::repeat_with(|| {
        use rand::Rng;
        rand::thread_rng().gen_range(100_000..1_000_000).to_string()
    });
    std::iter::once(None)
        .chain(numbered.chain(random).map(Some))
        .map(move |suffix| {
            let name = match suffix {
                None => base.clone(),
                // The base is cut to leave room for the suffix.
                Some(suffix) => {
                    let room = Username::MAX_LEN - suffix.len() - 1;
                    let cut = base.get(..room.min(base.len())).unwrap_or(&base);
                    format!("{cut}-{suffix}")
                }
            };
            Username::parse(&name).expect("built from the allowed alphabet, 3 to 32 long")
        })
}

/// The lookup key for any typed username (valid or not), used by login and
/// the lockout so that `ALICE` finds `Alice`.
pub fn username_key(raw: &str) -> String {
    raw.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_providers_name_is_made_valid() {
        let first = |raw: &str| candidates(raw).next().unwrap().as_str().to_owned();
        assert_eq!(first("alice"), "alice");
        assert_eq!(first("José Núñez"), "Jose_Nunez");
        assert_eq!(first("a"), "usera");
        assert_eq!(first("@@"), "user");
        assert_eq!(first("_-x"), "userx");
        assert_eq!(first(&"long".repeat(20)).len(), Username::MAX_LEN);
        assert_eq!(first(&"x".repeat(32)), "x".repeat(32));
        let next: Vec<String> = candidates("bob")
            .take(11)
            .map(|u| u.as_str().to_owned())
            .collect();
        assert_eq!(&next[..3], ["bob", "bob-2", "bob-3"]);
        assert!(next[9].starts_with("bob-") && next[9].len() == 10);
        assert!(candidates(&"x".repeat(40))
            .take(20)
            .all(|u| u.as_str().len() <= 32));
    }

    #[test]
    fn accepts_the_allowed_alphabet_and_keeps_case() {
        let name = Username::parse("Alice_B.c-9").unwrap();
        assert_eq!(name.as_str(), "Alice_B.c-9");
        assert_eq!(name.key(), "alice_b.c-9");
    }

    #[test]
    fn enforces_length_bounds() {
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"a".repeat(32)).is_ok());
        assert!(Username::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn rejects_other_characters() {
        for bad in ["al ice", "alice!", "élise", "ali\0ce", "al/ice", "аlice"] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn accepts_exactly_the_rules(raw in "\\PC{0,40}|[A-Za-z0-9_.-]{0,40}") {
            let allowed = (3..=32).contains(&raw.len())
                && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            proptest::prop_assert_eq!(Username::parse(&raw).is_ok(), allowed);
        }

        #[test]
        fn the_key_ignores_case(raw in "[A-Za-z0-9_.-]{3,32}") {
            let upper = Username::parse(&raw.to_ascii_uppercase()).unwrap();
            proptest::prop_assert_eq!(Username::parse(&raw).unwrap().key(), upper.key());
        }
    }
}
