//! bcrypt hashing and verification, always on the blocking pool: one hash
//! takes a quarter of a second at cost 12, which would stall every request
//! queued on an async worker.

use std::sync::{Arc, LazyLock};

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// At most one bcrypt computation per CPU core at a time. More would not
/// finish any sooner — bcrypt is pure CPU — but a flood of logins would
/// then take every core from the requests that need only a millisecond;
/// beyond this many, hashes wait their turn instead.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Runs one bcrypt computation on actix's blocking pool, within the limit
/// and inside the caller's tracing span, so that an async worker is never
/// stalled and log lines keep their request context. (Database work has
/// its own way off the workers: `db::run`.)
async fn run_hashing<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let _permit = HASHING.acquire().await.map_err(ApiError::internal)?;
    let span = tracing::Span::current();
    actix_web::web::block(move || span.in_scope(f))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// bcrypt reads at most this many bytes of a password.
const BCRYPT_MAX_BYTES: usize = 72;

/// Hashes without ever truncating. bcrypt hashes the password plus a NUL
/// terminator and keeps 72 bytes, so the crate's `non_truncating_hash`
/// refuses a 72-byte password (73 with the NUL) although the contract allows
/// it and dropping the terminator loses nothing of the password. So the
/// check is ours: over 72 bytes is an error, and 72 or fewer are hashed
/// whole.
fn hash_whole(password: &[u8], cost: u32) -> Result<String, bcrypt::BcryptError> {
    if password.len() > BCRYPT_MAX_BYTES {
        return Err(bcrypt::BcryptError::Truncation(password.len()));
    }
    bcrypt::hash(password, cost)
}

/// Verifies without truncating: a password longer than bcrypt reads never
/// matches (it would otherwise match any password it starts with).
fn verify_whole(password: &[u8], hash: &str) -> Result<bool, bcrypt::BcryptError> {
    if password.len() > BCRYPT_MAX_BYTES {
        return Err(bcrypt::BcryptError::Truncation(password.len()));
    }
    bcrypt::verify(password, hash)
}

#[tracing::instrument(name = "hash_password", skip_all, fields(cost))]
pub async fn hash(password: String, cost: u32) -> Result<String, ApiError> {
    run_hashing(move || hash_whole(password.as_bytes(), cost).map_err(ApiError::internal)).await
}

/// Hashes on the calling thread; for start-up and the CLI only.
pub fn hash_now(password: &str, cost: u32) -> anyhow::Result<String> {
    Ok(hash_whole(password.as_bytes(), cost)?)
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
    run_hashing(move || {
        let Some(stored) = stored else {
            // Spend the same time, then fail whatever the result.
            let _ = bcrypt::verify(password.as_bytes(), &dummy);
            return Ok(Verified::No);
        };
        // A password over 72 bytes can never match (it could not have been
        // registered), but it still costs a verification.
        let matched = verify_whole(password.as_bytes(), &stored).unwrap_or_else(|_| {
            let _ = bcrypt::verify(b"x", &dummy);
            false
        });
        if !matched {
            return Ok(Verified::No);
        }
        if cost_of(&stored) == Some(current_cost) {
            return Ok(Verified::Yes { rehashed: None });
        }
        let rehashed = hash_whole(password.as_bytes(), current_cost).map_err(ApiError::internal)?;
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
    fn a_72_byte_password_is_hashed_whole_and_a_73_byte_one_refused() {
        let p72 = "a".repeat(71) + "b";
        let h = hash_now(&p72, 4).unwrap();
        assert!(verify_whole(p72.as_bytes(), &h).unwrap());
        assert!(!verify_whole(("a".repeat(71) + "c").as_bytes(), &h).unwrap());
        assert!(hash_now(&"a".repeat(73), 4).is_err());
        assert!(verify_whole(format!("{p72}x").as_bytes(), &h).is_err());
    }

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
