//! The 6-digit code of a sign-in by email: typed where the sign-in was
//! asked for, when opening the link there is awkward (the mail is on a
//! phone, the browser on a laptop).
//!
//! Six digits are a million values: what protects a code is that it lives
//! minutes, and that five wrong tries for an address end its sign-ins
//! (`db::email_sign_ins`). It is drawn uniformly (`gen_range`, no modulo
//! bias) from the operating system's generator. What is stored is the
//! SHA-256 of the address's key and the code, so a copy of the database
//! shows no code, and one address's code is no other's.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Digits in a code.
pub const DIGITS: usize = 6;

/// A new code, zero-padded: `"042917"`.
pub fn generate() -> String {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    format!("{n:06}")
}

/// What is stored of `code` sent to the address whose key is `email_key`:
/// hex SHA-256. Spaces a person may type between groups are dropped;
/// anything else that is not a digit keeps the text from ever matching.
pub fn digest(email_key: &str, typed: &str) -> String {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let mut hasher = Sha256::new();
    hasher.update(email_key.as_bytes());
    hasher.update([0]);
    hasher.update(code.as_bytes());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..1_000 {
            let code = generate();
            assert_eq!(code.len(), DIGITS);
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{code}");
        }
    }

    #[test]
    fn codes_cover_the_digits_evenly() {
        // 60,000 digits: each of the ten appears about 6,000 times; a
        // skew (a modulo bias, a fixed digit) shows far outside ±15 %.
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            for b in generate().bytes() {
                seen[usize::from(b - b'0')] += 1;
            }
        }
        for (digit, count) in seen.iter().enumerate() {
            assert!((5_100..=6_900).contains(count), "{digit}: {count}");
        }
    }

    #[test]
    fn a_digest_binds_the_code_to_its_address() {
        let key = "reader@example.com";
        assert_eq!(digest(key, "123456"), digest(key, "123 456"));
        assert_ne!(digest(key, "123456"), digest(key, "123457"));
        assert_ne!(digest(key, "123456"), digest("other@example.com", "123456"));
        assert_eq!(digest(key, "123456").len(), 64);
    }
}
