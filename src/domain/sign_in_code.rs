//! The 6-digit code of a sign-in by email: typed where the sign-in was
//! asked for, when opening the link there is awkward (the mail is on a
//! phone, the browser on a laptop).
//!
//! Six digits are a million values: what protects a code is that it lives
//! minutes, and that five wrong tries for an address end its sign-ins
//! (`db::email_sign_ins`). It is drawn uniformly (`gen_range`, no modulo
//! bias) from the operating system's generator. What is stored is an
//! HMAC-SHA256 of the address's key and the code, keyed with a key derived
//! from the server's secret ([`CodeKey`]): an unkeyed hash of a million
//! values is undone in a fraction of a second from a copy of the
//! database; keyed, the copy alone yields no code. One address's code is
//! no other's.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

/// The key a code's digest is made with (derived from `SESSION_SECRET`
/// for this use alone); its `Debug` shows nothing.
#[derive(Clone)]
pub struct CodeKey(pub [u8; 32]);

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(<redacted>)")
    }
}

/// Digits in a code.
pub const DIGITS: usize = 6;

/// A new code, zero-padded: `"042917"`.
pub fn generate() -> String {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    format!("{n:06}")
}

/// What is stored of `code` sent to the address whose key is `email_key`:
/// hex HMAC-SHA256 under `key`. Spaces a person may type between groups
/// are dropped; anything else that is not a digit keeps the text from
/// ever matching.
pub fn digest(key: &CodeKey, email_key: &str, typed: &str) -> String {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(email_key.as_bytes());
    mac.update(&[0]);
    mac.update(code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
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
    fn a_digest_binds_the_code_to_its_address_and_the_servers_key() {
        let (key, other_key) = (CodeKey([1; 32]), CodeKey([2; 32]));
        let address = "reader@example.com";
        let of = |key: &CodeKey, address: &str, code: &str| digest(key, address, code);
        assert_eq!(of(&key, address, "123456"), of(&key, address, "123 456"));
        assert_ne!(of(&key, address, "123456"), of(&key, address, "123457"));
        assert_ne!(
            of(&key, address, "123456"),
            of(&key, "other@example.com", "123456")
        );
        assert_ne!(
            of(&key, address, "123456"),
            of(&other_key, address, "123456")
        );
        assert_eq!(of(&key, address, "123456").len(), 64);
        assert!(!format!("{key:?}").contains('1'));
    }
}
