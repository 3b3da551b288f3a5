//! Session tokens: 256 random bits in the cookie, only their SHA-256 in the
//! database, and a separate random public id for `GET /sessions`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new unguessable token (32 bytes from the OS CSPRNG, base64url).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A public handle for a session: random, so it reveals nothing about the
/// token or how many sessions exist.
pub fn public_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps instead of the token. A fast hash is enough:
/// the token has 256 bits of entropy, so it cannot be guessed from its hash.
/// Lowercase hex, written into a buffer: every authenticated request hashes
/// its cookie's token, and `hex::encode`'s character-by-character `String`
/// was about 1.3 % of a `check_session`'s CPU (bench/README.md).
pub fn hash(token: &str) -> String {
    let mut hex = [0u8; 64];
    // 32 bytes always fit 64 hex digits, always ASCII: neither fails (and
    // an empty hash would match no session if one did).
    let _ = hex::encode_to_slice(Sha256::digest(token.as_bytes()), &mut hex);
    std::str::from_utf8(&hex).unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hashes_are_stable() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash(&a), hash(&a));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(public_id().len(), 32);
    }

    /// The hashes already stored must still match: lowercase hex of the
    /// SHA-256 (FIPS 180-2's test vector).
    #[test]
    fn the_hash_is_lowercase_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
