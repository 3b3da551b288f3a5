//! The rule every text a client or an imported file brings keeps, whatever
//! its field: no U+0000. PostgreSQL's `text` cannot hold it while SQLite
//! stores it, so a NUL that reached a query would be a database error on
//! one backend and a stored value on the other. It is refused where text
//! is read — a request's fields (`routes::body::Fields`), a file's front
//! matter and body (`import::front_matter`) — so that each field answers
//! the same on both, before any other rule or query sees it.

/// The rule's words, as a `422` and an import's report give them.
pub const NO_NUL: &str = "must not contain U+0000 (NUL)";

/// `text`, or the rule it breaks.
pub fn without_nul(text: &str) -> Result<&str, &'static str> {
    if text.contains('\0') {
        Err(NO_NUL)
    } else {
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_nul_anywhere_and_nothing_else() {
        for bad in ["\0", "a\0", "\0a", "a\0b", "\u{0}\u{0}"] {
            assert_eq!(without_nul(bad), Err(NO_NUL), "{bad:?}");
        }
        for good in ["", "a", "\u{1}\u{7f}\u{80}", "\\0", "\\u0000", "語\u{fffd}"] {
            assert_eq!(without_nul(good), Ok(good), "{good:?}");
        }
    }
}
