//! bcrypt hashing and verification, always on the blocking pool: one hash
//! takes a quarter of a second at cost 12, which would stall every request
//! queued on an async worker.

use std::sync::Arc;

use crate::error::ApiError;

/// Hashes with bcrypt's non-truncating API: the register rules cap passwords
/// at 72 bytes, and this makes a longer one an error rather than a silent
/// truncation.
#[tracing::instrument(name = "hash_password", skip_all, fields(cost))]
pub async fn hash(password: String, cost: u32) -> Result<String, ApiError> {
    crate::blocking::run(move || {
        bcrypt::non_truncating_hash(password.as_bytes(), cost).map_err(ApiError::internal)
    })
    .await
}

/// Hashes on the calling thread; for start-up and the CLI only.
pub fn hash_now(password: &str, cost: u32) -> anyhow::Result<String> {
    Ok(bcrypt::non_truncating_hash(password, cost)?)
}

/// A hash to verify against when the username is unknown, made at start-up
/// with the configured cost, so an unknown user costs what a wrong password
/// costs and response times do not reveal which usernames exist.
#[derive(Clone)]
pub struct DummyHash(Arc<str>);

impl DummyHash {
    pub fn new(cost: u32) -> anyhow::Result<Self> {
        Ok(DummyHash(hash_now("tollgate dummy password", cost)?.into()))
    }
}

/// Checks `password` against `stored` (or against the dummy hash when
/// `stored` is `None`) and, on a match made at a cost other than
/// `current_cost`, returns a new hash at the current cost to store.
#[tracing::instrument(name = "verify_password", skip_all)]
pub async fn verify(
    password: String,
    stored: Option<String>,
    dummy: &DummyHash,
    current_cost: u32,
) -> Result<Verified, ApiError> {
    let dummy = dummy.0.clone();
    crate::blocking::run(move || {
        let Some(stored) = stored else {
            // Spend the same time, then fail whatever the result.
            let _ = bcrypt::verify(password.as_bytes(), &dummy);
            return Ok(Verified::No);
        };
        // A password over 72 bytes can never match (it could not have been
        // registered), but it still costs a verification.
        let matched =
            bcrypt::non_truncating_verify(password.as_bytes(), &stored).unwrap_or_else(|_| {
                let _ = bcrypt::verify(b"x", &dummy);
                false
            });
        if !matched {
            return Ok(Verified::No);
        }
        if cost_of(&stored) == Some(current_cost) {
            return Ok(Verified::Yes { rehashed: None });
        }
        let rehashed = bcrypt::non_truncating_hash(password.as_bytes(), current_cost)
            .map_err(ApiError::internal)?;
        Ok(Verified::Yes {
            rehashed: Some(rehashed),
        })
    })
    .await
}

pub enum Verified {
    No,
    /// The password matched; `rehashed` is set when the cost changed.
    Yes {
        rehashed: Option<String>,
    },
}

/// The cost a bcrypt hash (`$2b$12$...`) was made with.
pub fn cost_of(hash: &str) -> Option<u32> {
    hash.split('$').nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cost_from_a_hash() {
        let h = hash_now("some password", 4).unwrap();
        assert_eq!(cost_of(&h), Some(4));
        assert_eq!(cost_of("garbage"), None);
    }

    #[actix_web::test]
    async fn verifies_and_rehashes_on_a_cost_change() {
        let dummy = DummyHash::new(4).unwrap();
        let stored = hash_now("right password", 4).unwrap();
        let same = verify("right password".into(), Some(stored.clone()), &dummy, 4)
            .await
            .unwrap();
        assert!(matches!(same, Verified::Yes { rehashed: None }));
        let wrong = verify("wrong password".into(), Some(stored.clone()), &dummy, 4)
            .await
            .unwrap();
        assert!(matches!(wrong, Verified::No));
        let unknown = verify("right password".into(), None, &dummy, 4)
            .await
            .unwrap();
        assert!(matches!(unknown, Verified::No));
        match verify("right password".into(), Some(stored), &dummy, 5)
            .await
            .unwrap()
        {
            Verified::Yes {
                rehashed: Some(new),
            } => assert_eq!(cost_of(&new), Some(5)),
            _ => panic!("expected a rehash"),
        }
    }
}
