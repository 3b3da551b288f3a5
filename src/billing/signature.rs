//! The `Stripe-Signature` check, as Stripe documents it
//! (<https://docs.stripe.com/webhooks#verify-manually>): the header is
//! `t=<unix seconds>,v1=<hex>[,v1=<hex>…]` (other schemes, such as `v0`,
//! are ignored); the expected `v1` is the HMAC-SHA256 of `"{t}.{raw body}"`
//! keyed with the endpoint's secret; any one `v1` may match (Stripe sends
//! two while a secret is being rolled); and `t` must be within
//! [`TOLERANCE_SECS`] of now, so a captured delivery cannot be replayed
//! later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far `t` may be from now, either way (Stripe's libraries' default).
pub const TOLERANCE_SECS: i64 = 300;

/// Why a signature was refused. Each is the same `400 invalid_signature`
/// to the caller; the reason goes to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Malformed,
    TooOld,
    Mismatch,
}

/// Checks `header` (the `Stripe-Signature` value) against `body` at `now`.
pub fn verify(header: Option<&[u8]>, body: &[u8], secret: &str, now: i64) -> Result<(), Refused> {
    let header = header.ok_or(Refused::Missing)?;
    let header = std::str::from_utf8(header).map_err(|_| Refused::Malformed)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            continue;
        };
        match key {
            // Two timestamps would leave it open which one was signed.
            "t" if timestamp.is_some() => return Err(Refused::Malformed),
            "t" => timestamp = Some(value),
            "v1" => signatures.push(value),
            _ => {}
        }
    }
    let t = timestamp.ok_or(Refused::Malformed)?;
    let at: i64 = t.parse().map_err(|_| Refused::Malformed)?;
    if signatures.is_empty() {
        return Err(Refused::Malformed);
    }
    if now.abs_diff(at) > TOLERANCE_SECS as u64 {
        return Err(Refused::TooOld);
    }
    let mut mac = keyed(secret);
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = signatures.iter().any(|signature| {
        hex::decode(signature).is_ok_and(|bytes| {
            // `verify_slice` compares in constant time, so the time an
            // answer takes says nothing about how much of a forged
            // signature was right.
            mac.clone().verify_slice(&bytes).is_ok()
        })
    });
    if matches {
        Ok(())
    } else {
        Err(Refused::Mismatch)
    }
}

fn keyed(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length")
}

/// A `Stripe-Signature` value for `body` at `t`, as Stripe would send it
/// (for the unit tests below, and for trying a local server by hand).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = keyed(secret);
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;

    fn check(header: &str, now: i64) -> Result<(), Refused> {
        verify(Some(header.as_bytes()), BODY, SECRET, now)
    }

    #[test]
    fn a_good_signature_passes_within_the_tolerance() {
        let header = sign(SECRET, 1_000, BODY);
        assert_eq!(check(&header, 1_000), Ok(()));
        assert_eq!(check(&header, 1_300), Ok(()));
        assert_eq!(check(&header, 700), Ok(()));
        assert_eq!(check(&header, 1_301), Err(Refused::TooOld));
        assert_eq!(check(&header, 699), Err(Refused::TooOld));
    }

    #[test]
    fn any_v1_may_match_and_other_schemes_are_ignored() {
        let good = sign(SECRET, 1_000, BODY);
        let good_v1 = good.split_once(",v1=").unwrap().1;
        let header = format!("t=1000,v1={},v0=abc,v1={good_v1}", "0".repeat(64));
        assert_eq!(check(&header, 1_000), Ok(()));
    }

    #[test]
    fn wrong_secrets_bodies_and_shapes_are_refused() {
        assert_eq!(
            check(&sign("whsec_other", 1_000, BODY), 1_000),
            Err(Refused::Mismatch)
        );
        let header = sign(SECRET, 1_000, BODY);
        assert_eq!(
            verify(
                Some(header.as_bytes()),
                b"{\"id\":\"evt_2\"}",
                SECRET,
                1_000
            ),
            Err(Refused::Mismatch)
        );
        assert_eq!(verify(None, BODY, SECRET, 1_000), Err(Refused::Missing));
        for bad in [
            "",
            "garbage",
            "t=abc,v1=00",
            "v1=00",
            "t=1000",
            "t=1000,t=1000,v1=00",
        ] {
            assert_eq!(check(bad, 1_000), Err(Refused::Malformed), "{bad}");
        }
        assert_eq!(check("t=1000,v1=zz", 1_000), Err(Refused::Mismatch));
    }

    proptest::proptest! {
        #[test]
        fn no_header_but_the_right_one_passes(header in "\\PC{0,120}") {
            proptest::prop_assert!(check(&header, 1_000).is_err());
        }
    }
}
