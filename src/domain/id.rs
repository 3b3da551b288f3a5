//! A row's id as a path names it (`/blog/{id}`, `/account/passkeys/{id}`, …).

/// The id `raw` names: a positive integer in plain decimal. Anything else
/// (a sign, a leading space, `0`, too many digits) names nothing, and is
/// never sent to the database.
pub fn parse_id(raw: &str) -> Option<i64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<i64>().ok().filter(|id| *id >= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_positive_integers() {
        assert_eq!(parse_id("1"), Some(1));
        assert_eq!(parse_id("012"), Some(12));
        for bad in [
            "0",
            "-1",
            "+1",
            "1.0",
            "abc",
            "",
            " 1",
            "99999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ids_are_positive_whatever_the_text(raw in "\\PC{0,30}|[0-9+-]{0,30}") {
            if let Some(id) = parse_id(&raw) {
                proptest::prop_assert!(id >= 1);
                proptest::prop_assert!(raw.bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
