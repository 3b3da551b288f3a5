//! Gift links' tokens: derived, not stored.
//!
//! A gift's link must be shown to its giver again (`GET /gifts`), yet the
//! database must hold nothing that opens it. So each gift stores a random
//! nonce, and its token is the HMAC-SHA256 of that nonce under a key
//! derived from the server's cookie-signing key; the database keeps the
//! token's SHA-256 to find the gift by, and the nonce. A copy of the
//! database without the key opens no gift; every instance, sharing the
//! key, makes the same link.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The cookie that knows a browser as a gift's reader: random, and
/// carrying nothing else.
pub const READER_COOKIE: &str = "tollgate_reader";

/// Whether `value` is a reader cookie this server could have made (43
/// characters of base64url: 256 random bits), or a gift link's token
/// (the same shape).
pub fn is_token_shaped(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Who a browser is as a gift's reader: `b:` and the SHA-256 of its reader
/// cookie (the database never holds the cookie itself).
pub fn browser_reader(cookie: &str) -> String {
    format!("b:{}", hex::encode(Sha256::digest(cookie.as_bytes())))
}

/// Who a signed-in user is as a gift's reader.
pub fn user_reader(user_id: i64) -> String {
    format!("u:{user_id}")
}

/// The key gift tokens are derived with.
#[derive(Clone)]
pub struct GiftKey([u8; 32]);

impl std::fmt::Debug for GiftKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GiftKey(…)")
    }
}

impl GiftKey {
    /// The gift key of a server whose secret key is `secret`: an HMAC of a
    /// fixed label, so it is no other key the secret signs with.
    pub fn derive(secret: &[u8]) -> GiftKey {
        GiftKey(Self::mac(secret, b"tollgate gift links"))
    }

    /// A new nonce: 128 random bits, base64url.
    pub fn nonce() -> String {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The link's token of the gift whose nonce is `nonce`: 256 bits,
    /// base64url.
    pub fn token(&self, nonce: &str) -> String {
        URL_SAFE_NO_PAD.encode(Self::mac(&self.0, nonce.as_bytes()))
    }

    fn mac(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
        mac.update(message);
        mac.finalize().into_bytes().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_the_same_for_one_nonce_and_key_and_no_other() {
        let key = GiftKey::derive(b"a secret of the server");
        let nonce = GiftKey::nonce();
        assert_eq!(key.token(&nonce), key.token(&nonce));
        assert_eq!(key.token(&nonce).len(), 43);
        assert_ne!(key.token(&nonce), key.token(&GiftKey::nonce()));
        let other = GiftKey::derive(b"another server's secret");
        assert_ne!(key.token(&nonce), other.token(&nonce));
        assert_ne!(nonce, GiftKey::nonce());
    }
}
