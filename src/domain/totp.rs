//! Authenticator-app codes (RFC 6238 with the parameters every app
//! assumes: HMAC-SHA-1, 6 digits, 30-second steps), computed by `totp-rs`.
//!
//! A code is judged by its *step* (`unix time / 30`): one of the step
//! before, the step of now and the step after is accepted, so a phone a
//! little off the server's time still signs in. Which step matched is
//! returned, because a code once accepted must never be accepted again for
//! the account: the caller records the step and accepts only later ones
//! (`db::two_factor::spend_step`, one conditional update, so parallel
//! requests and other instances cannot both spend it).

use rand::RngCore;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
const DIGITS: usize = 6;
/// Bytes of a new secret: 160 bits, as RFC 4226 recommends for HMAC-SHA-1.
const SECRET_BYTES: usize = 20;

/// An account's shared secret, in the base32 form apps are given and the
/// database keeps.
#[derive(Clone)]
pub struct TotpSecret(String);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> TotpSecret {
        let mut bytes = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        TotpSecret(Secret::Raw(bytes.to_vec()).to_encoded().to_string())
    }

    /// A secret as stored (base32, as [`TotpSecret::as_base32`] gave it).
    pub fn from_base32(stored: String) -> TotpSecret {
        TotpSecret(stored)
    }

    pub fn as_base32(&self) -> &str {
        &self.0
    }

    /// The generator for this secret. `None` only for a stored secret
    /// that is not base32 (never written by tollgate).
    fn totp(&self) -> Option<TOTP> {
        let bytes = Secret::Encoded(self.0.clone()).to_bytes().ok()?;
        Some(TOTP::new_unchecked(
            Algorithm::SHA1,
            DIGITS,
            1,
            STEP_SECONDS as u64,
            bytes,
        ))
    }

    /// The code of `step`.
    fn code_at(totp: &TOTP, step: i64) -> String {
        totp.generate((step.max(0) * STEP_SECONDS) as u64)
    }

    /// The step whose code `code` is, among the step before `now`'s, its
    /// own and the one after; `None` for any other code, or one that is
    /// not six digits (spaces, as apps show them, are ignored).
    pub fn matching_step(&self, code: &str, now: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let totp = self.totp()?;
        let current = now.div_euclid(STEP_SECONDS);
        // Every candidate is compared, in constant time, so the answer's
        // timing says nothing about which step was near.
        let mut found = None;
        for step in [current - 1, current, current + 1] {
            if bool::from(Self::code_at(&totp, step).as_bytes().ct_eq(code.as_bytes())) {
                found = found.or(Some(step));
            }
        }
        found
    }

    /// The `otpauth://totp/…` URL an app scans, labelled `issuer:username`.
    pub fn otpauth_url(&self, issuer: &str, username: &str) -> String {
        let mut url = url::Url::parse("otpauth://totp/").expect("a constant URL");
        url.set_path(&format!("{issuer}:{username}"));
        url.query_pairs_mut()
            .append_pair("secret", &self.0)
            .append_pair("issuer", issuer)
            .append_pair("algorithm", "SHA1")
            .append_pair("digits", "6")
            .append_pair("period", "30");
        url.into()
    }
}

/// The QR code of `text` as an SVG document, for the SPA to show inline.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        // An otpauth URL is far below a QR code's capacity.
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret `12345678901234567890`, whose
    /// 8-digit codes end in these 6 digits.
    #[test]
    fn codes_follow_the_rfc_test_vectors() {
        let secret = TotpSecret(
            Secret::Raw(b"12345678901234567890".to_vec())
                .to_encoded()
                .to_string(),
        );
        for (time, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            let step = time / STEP_SECONDS;
            assert_eq!(secret.matching_step(code, time), Some(step), "at {time}");
            // The step after still takes it; two steps later does not.
            assert_eq!(secret.matching_step(code, time + 30), Some(step));
            assert_eq!(secret.matching_step(code, time + 60), None);
        }
        assert_eq!(secret.matching_step("287 082", 59), Some(1));
        for bad in ["", "28708", "2870822", "28708a", "٢٨٧٠٨٢"] {
            assert_eq!(secret.matching_step(bad, 59), None, "{bad:?}");
        }
    }

    #[test]
    fn a_new_secret_is_160_random_bits_and_its_url_names_issuer_and_user() {
        let (a, b) = (TotpSecret::generate(), TotpSecret::generate());
        assert_ne!(a.as_base32(), b.as_base32());
        assert_eq!(a.as_base32().len(), 32);
        let url = a.otpauth_url("tollgate", "Alice");
        assert!(
            url.starts_with("otpauth://totp/tollgate:Alice?secret="),
            "{url}"
        );
        assert!(url.contains("&issuer=tollgate"), "{url}");
        assert!(qr_svg(&url).contains("<svg"));
    }
}
