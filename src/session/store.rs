//! `TokenStore`: actix-session's storage backend, which stores nothing.
//!
//! actix-session is kept for what it does well: it signs and verifies the
//! cookie, renews it on login, clears it on logout, and calls its store at
//! the right moments. But a tollgate session is not a bag of key-value
//! state. It is a row in `sessions` (user, lifetimes, user agent) that
//! must be written in the same transaction as whatever the login or
//! registration changes (the user row, the lockout reset, the old session
//! ended), with a failure answered as the contract says (`503`) —
//! whereas actix-session turns any store error into a bare `500` after
//! the handler's work is done. So the responsibilities are split here, in
//! one place:
//!
//! - `load` recovers the token from the verified cookie and puts it in the
//!   state as the one entry `TOKEN`; the guard looks the session up
//!   (`session::lookup`), typed, with no JSON round trip.
//! - `save` is called after a login renewed the session: it hands
//!   actix-session the token that the handler minted and stored
//!   ([`hand_over`]), to put in the new cookie.
//! - `update` and `update_ttl` have nothing to write: handlers store
//!   nothing in the state, and expiry is kept in the database (sliding, in
//!   `session::lookup`), not by actix-session's TTL.
//! - `delete` has nothing to do: every handler that ends a session (logout,
//!   a login's renewal, a password change, account deletion) has already
//!   deleted or re-keyed its row in its own transaction.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionInsertError};
use actix_web::cookie::time::Duration;

type State = HashMap<String, String>;

/// The state entry holding the verified cookie's token (raw, not JSON).
const TOKEN: &str = "token";
/// The state entry holding a token minted by a login, for the new cookie.
const NEW_TOKEN: &str = "new_token";

#[derive(Clone, Copy, Default)]
pub struct TokenStore;

/// The hash of this request's verified session cookie's token, if one
/// arrived: what `session::lookup` looks for (the token itself is read in
/// place, never copied).
pub fn token_hash(session: &Session) -> Option<String> {
    session
        .entries()
        .get(TOKEN)
        .map(|token| super::token::hash(token))
}

/// Gives actix-session a freshly minted token to put in the new cookie.
pub fn hand_over(session: &Session, token: String) -> Result<(), SessionInsertError> {
    session.remove(TOKEN);
    session.insert(NEW_TOKEN, token)
}

impl SessionStore for TokenStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        Ok(Some(HashMap::from([(
            TOKEN.to_owned(),
            session_key.as_ref().to_owned(),
        )])))
    }

    async fn save(&self, state: State, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        let minted = state
            .get(NEW_TOKEN)
            .and_then(|raw| serde_json::from_str::<String>(raw).ok())
            .ok_or_else(|| {
                SaveError::Other(anyhow::anyhow!(
                    "a session was saved without a token minted by a login"
                ))
            })?;
        SessionKey::try_from(minted).map_err(|e| SaveError::Other(e.into()))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        _state: State,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        Ok(session_key)
    }

    async fn update_ttl(&self, _session_key: &SessionKey, _ttl: &Duration) -> anyhow::Result<()> {
        Ok(())
    }

    async fn delete(&self, _session_key: &SessionKey) -> anyhow::Result<()> {
        Ok(())
    }
}
