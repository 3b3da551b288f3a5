//! `Email`: an account's address, by the contract's rule — at most 254
//! bytes, exactly one `@`, a non-empty local part, a domain with at least
//! one dot, no whitespace or control characters, and nothing but the
//! address itself. Kept as typed, compared through its canonical `key`,
//! which ignores the case of ASCII letters only.
//!
//! "Nothing but the address" is checked by the mail library's own parser
//! of a bare address (lettre's `Address`, RFC 5322's addr-spec): the
//! message goes wherever that parser says, so the stored address must be
//! exactly what it parses. A display name (`Victim<attacker@evil.example>`),
//! a comment or a list would otherwise be stored whole while the mail went
//! to the address inside — one mailbox could then verify any number of
//! accounts' addresses.
//!
//! Of what that parser takes, only what mail can be sent to and what names
//! one mailbox once: a dot-atom local part and a domain name. A quoted
//! local part (`"q"@example.com`) is one mailbox under many spellings
//! (`"q"` and `q` are the same to the receiving server), so one mailbox
//! could verify several accounts' addresses; an address literal
//! (`a@[127.0.0.1]`) names a host, not a domain, and mail to it is
//! dropped. Otherwise no stricter than that: the only real test of an
//! address is the verification message.

/// An address that satisfies the contract's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    /// Parses an address, or says in a sentence fragment what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("must not be empty".to_owned());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(format!("must be at most {} bytes long", Self::MAX_LEN));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("must not contain spaces or control characters".to_owned());
        }
        let mut parts = raw.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("must contain exactly one '@'".to_owned());
        };
        if local.is_empty() {
            return Err("must have something before the '@'".to_owned());
        }
        if !domain.contains('.') {
            return Err("must have a domain with a dot after the '@'".to_owned());
        }
        if !is_dot_atom(local) {
            return Err(
                "must have a plain name before the '@': letters, digits and \
                        !#$%&'*+-/=?^_`{|}~ between single dots, no quotes"
                    .to_owned(),
            );
        }
        if !is_domain_name(domain) {
            return Err("must have a domain name after the '@', like example.com \
                        (not an address in brackets)"
                .to_owned());
        }
        if raw.parse::<lettre::Address>().is_err() {
            return Err(
                "must be a plain address, like name@example.com (no name, comment or list)"
                    .to_owned(),
            );
        }
        Ok(Email(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The identity of this address: `A@X.org` and `a@x.org` are one.
    /// Only the case of ASCII letters is folded, and nothing else; the
    /// address is already the bare one the mail goes to.
    ///
    /// Unicode's case rules would join characters that are not one letter
    /// in two cases: the Kelvin sign `K` (U+212A) lower-cases to `k`, the
    /// dotted `İ` to `i` and a combining dot. The key decides which account
    /// a provider's vouched-for address signs in to, which account holds an
    /// address verified, and who gets a reset link; with those rules, a
    /// provider vouching for `Kate@…` written with the Kelvin sign would
    /// sign in to the account of `kate@…`.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// RFC 5322's `dot-atom-text`, with RFC 6531's non-ASCII characters:
/// atoms of `atext` joined by single dots.
fn is_dot_atom(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    local.split('.').all(|atom| {
        !atom.is_empty()
            && atom
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c) || !c.is_ascii())
    })
}

/// A domain name (international ones as typed): labels of letters, digits
/// and inner hyphens, at most 63 bytes each, joined by single dots, the
/// last not all digits (so no IPv4 address poses as one).
fn is_domain_name(domain: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
    };
    domain.split('.').all(label)
        && domain
            .rsplit('.')
            .next()
            .is_some_and(|last| !last.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_keeps_case() {
        let email = Email::parse("Alice.Smith+tag@Example.co.uk").unwrap();
        assert_eq!(email.as_str(), "Alice.Smith+tag@Example.co.uk");
        assert_eq!(email.key(), "alice.smith+tag@example.co.uk");
        assert!(Email::parse("a@b.c").is_ok());
        for good in [
            "o'brien@example.ie",
            "a+tag@sub.example.co.uk",
            "x!#$%&'*+-/=?^_`{|}~@example.com",
            "j\u{f6}rg@b\u{fc}cher.example",
            "a@xn--bcher-kva.example",
            "a@123.example",
        ] {
            assert!(Email::parse(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn only_ascii_letters_are_folded() {
        let key = |raw: &str| Email::parse(raw).unwrap().key();
        assert_eq!(key("KATE@Example.COM"), "kate@example.com");
        // Unicode's case rules would make each of these an ASCII address,
        // or one letter of another: the Kelvin sign `K` is not `k`, the
        // dotted `İ` not `i`, `É` not `é`.
        for (raw, ascii_twin) in [
            ("\u{212A}ate@example.com", "kate@example.com"),
            ("kate@\u{212A}ate.example", "kate@kate.example"),
            ("\u{130}van@example.com", "ivan@example.com"),
            ("\u{c9}lise@example.com", "\u{e9}lise@example.com"),
        ] {
            assert_eq!(key(raw), raw, "{raw:?} is kept as it is");
            assert_ne!(key(raw), key(ascii_twin), "{raw:?}");
        }
        assert_eq!(key("\u{212A}ATE@EXAMPLE.com"), "\u{212A}ate@example.com");
    }

    #[test]
    fn refuses_what_the_rule_refuses() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@example",
            "alice@@example.com",
            "a@b@example.com",
            "alice @example.com",
            "alice@example.com\n",
            "ali\u{0}ce@example.com",
            "alice@exa\tmple.com",
            // Nothing but the address: no display name, comment or list.
            "Victim<attacker@evil.example>",
            "\"Victim\"<attacker@evil.example>",
            "<attacker@evil.example>",
            "attacker@evil.example(comment)",
            "(comment)attacker@evil.example",
            "a@evil.example,b@evil.example",
            "group:attacker@evil.example;",
            "alice..smith@example.com",
            "alice@-example.com",
            // One mailbox under many spellings, or a host instead of a domain.
            "\"q\"@example.com",
            "\"a b\"@example.com",
            "\"a@b\"@example.com",
            "a.\"b\".c@example.com",
            ".alice@example.com",
            "alice.@example.com",
            "a@[127.0.0.1]",
            "ip@[127.0.0.1]",
            "a@[IPv6:::1]",
            "a@[127.0.0.1].example.com",
            "a@127.0.0.1",
            "a@example.com.",
            "a@example..com",
            "a@exa_mple.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn enforces_the_length_in_bytes() {
        // 254 bytes: a local part of 64 (RFC 5321's most) and a domain of
        // labels of at most 63.
        let domain = format!("@{}.{}.{}", "b".repeat(63), "c".repeat(63), "d".repeat(61));
        let fits = "a".repeat(64) + &domain;
        assert_eq!(fits.len(), Email::MAX_LEN);
        assert!(Email::parse(&fits).is_ok());
        assert!(Email::parse(&format!("{fits}d")).is_err());
        // 127 two-byte characters and the rest: over 254 bytes.
        let wide = "é".repeat(127) + &domain;
        assert!(Email::parse(&wide).is_err());
    }

    proptest::proptest! {
        #[test]
        fn accepts_nothing_the_rule_refuses(raw in "\\PC{0,30}|[a-zA-Z.@ <>(),;:]{0,30}|[a-z]{1,10}@[a-z]{1,10}(\\.[a-z]{1,5})?") {
            let ats = raw.matches('@').count();
            let allowed = !raw.is_empty()
                && raw.len() <= Email::MAX_LEN
                && !raw.chars().any(|c| c.is_whitespace() || c.is_control())
                && ats == 1
                && !raw.starts_with('@')
                && raw.split('@').nth(1).is_some_and(|d| d.contains('.'))
                && !raw.contains(['<', '>', '(', ')', ',', ';', ':']);
            if Email::parse(&raw).is_ok() {
                proptest::prop_assert!(allowed, "{raw:?} accepted");
            }
        }

        #[test]
        fn accepts_ordinary_addresses(local in "[a-zA-Z0-9_+-]{1,10}(\\.[a-zA-Z0-9_+-]{1,10})?", domain in "[a-z0-9]{1,10}(-[a-z0-9]{1,5})?\\.[a-z]{2,6}") {
            let raw = format!("{local}@{domain}");
            proptest::prop_assert!(Email::parse(&raw).is_ok(), "{raw:?} refused");
        }

        #[test]
        fn the_key_ignores_case(local in "[A-Za-z0-9]{1,20}", domain in "[A-Za-z]{1,10}\\.[A-Za-z]{2,5}") {
            let raw = format!("{local}@{domain}");
            let upper = Email::parse(&raw.to_uppercase()).unwrap();
            proptest::prop_assert_eq!(Email::parse(&raw).unwrap().key(), upper.key());
        }
    }
}
