//! What the outbox stores of a message: sealed with a key derived from the
//! server's secret (`SESSION_SECRET`), AES-256-GCM with a random nonce per
//! text. A waiting message carries a live link or code; sealed, a copy of
//! the database alone opens no account, and the sender opens it just
//! before delivering (then blanks it). Text stored before sealing existed
//! (no prefix) opens as it is.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// Marks a sealed text, and its version.
const PREFIX: &str = "sealed:v1:";
const NONCE_BYTES: usize = 12;

/// Seals and opens the outbox's texts.
#[derive(Clone)]
pub struct Sealer(Aes256Gcm);

/// A sealed text that this key cannot open: the server's secret changed
/// since it was queued, or the row was altered.
#[derive(Debug, thiserror::Error)]
#[error("a sealed message cannot be opened with this server's secret")]
pub struct Unopenable;

impl Sealer {
    /// A sealer with `key` (32 bytes, derived for the outbox alone).
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer(Aes256Gcm::new(key.into()))
    }

    /// `text`, sealed under a fresh random nonce.
    pub fn seal(&self, text: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(Nonce::from_slice(&nonce), text.as_bytes())
            .expect("AES-GCM seals any text shorter than 64 GiB");
        let mut out = Vec::with_capacity(NONCE_BYTES + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// The text `stored` holds: opened if sealed, as it is if not.
    pub fn open(&self, stored: &str) -> Result<String, Unopenable> {
        let Some(sealed) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| Unopenable)?;
        if bytes.len() < NONCE_BYTES {
            return Err(Unopenable);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let opened = self
            .0
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| Unopenable)?;
        String::from_utf8(opened).map_err(|_| Unopenable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_text_opens_with_its_key_only_and_shows_nothing() {
        let sealer = Sealer::new(&[7; 32]);
        let text = "Your sign-in code is 042917\nhttps://app.example/login/email?token=abc";
        let sealed = sealer.seal(text);
        assert!(sealed.starts_with(PREFIX));
        assert!(!sealed.contains("042917") && !sealed.contains("token"));
        assert_ne!(sealed, sealer.seal(text), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).unwrap(), text);
        assert!(Sealer::new(&[8; 32]).open(&sealed).is_err());
        let mut altered = sealed.clone();
        altered.pop();
        assert!(sealer.open(&altered).is_err());
        // Stored before sealing: as it is.
        assert_eq!(
            sealer.open("Reset your password").unwrap(),
            "Reset your password"
        );
    }
}
