//! Recovery codes: one-time look-up secrets for a lost phone.
//!
//! A code is 24 characters of Crockford's base32 (120 random bits), shown
//! in six groups of four (`k7pq-3xv9-m2tz-8hcw-5rnd-q4ja`). At 112 bits or
//! more, NIST SP 800-63B lets a look-up secret be stored as a plain
//! SHA-256 digest: a copy of the database cannot be searched back to the
//! codes, and checking one costs a lookup, not ten slow hashes. What a user
//! types is matched ignoring case, spaces and dashes, and the letters
//! Crockford's alphabet leaves out for looking like digits (`o`, `i`, `l`)
//! count as those digits.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Codes handed out at once.
pub const COUNT: usize = 10;
/// Characters per code: 24 × 5 bits = 120 bits.
const LENGTH: usize = 24;
const GROUP: usize = 4;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A code as shown to the user, once.
pub fn generate() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut code = String::with_capacity(LENGTH + LENGTH / GROUP);
    for i in 0..LENGTH {
        if i > 0 && i % GROUP == 0 {
            code.push('-');
        }
        code.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
    }
    code
}

/// A fresh set of [`COUNT`] codes.
pub fn generate_set() -> Vec<String> {
    (0..COUNT).map(|_| generate()).collect()
}

/// What is stored of a code: the hex SHA-256 of its canonical form. `None`
/// for text that cannot be a code (wrong length or characters), which is
/// then never looked up.
pub fn digest(typed: &str) -> Option<String> {
    let mut canonical = String::with_capacity(LENGTH);
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            ' ' | '-' => continue,
            'o' => '0',
            'i' | 'l' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        canonical.push(c);
    }
    (canonical.len() == LENGTH).then(|| hex::encode(Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_groups_of_four_and_match_however_typed() {
        let code = generate();
        assert_eq!(code.len(), 29);
        assert_eq!(code.split('-').count(), 6);
        let stored = digest(&code).unwrap();
        assert_eq!(digest(&code.to_uppercase()), Some(stored.clone()));
        assert_eq!(digest(&code.replace('-', " ")), Some(stored.clone()));
        assert_eq!(digest(&code.replace('-', "")), Some(stored.clone()));
        assert_eq!(
            digest("0000-1111-0000-1111-0000-1111"),
            digest("oooo-iiii-OOOO-LLLL-0000-1111")
        );
        assert_eq!(digest("abcd-efgh"), None);
        assert_eq!(digest("uuuu-uuuu-uuuu-uuuu-uuuu-uuuu"), None);
        let set = generate_set();
        assert_eq!(set.len(), COUNT);
        assert_ne!(set[0], set[1]);
    }
}
