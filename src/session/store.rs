//! `DbSessionStore`: actix-session's storage backend, on our own `sessions`
//! table through Diesel.
//!
//! actix-session owns the cookie (signing it, setting and clearing it); this
//! store owns what the cookie's token means. Three departures from a plain
//! key-value store, each on purpose:
//!
//! - `load` returns the session *and its user* from one joined query, so a
//!   guarded request costs one database round trip, and it enforces expiry
//!   on the server whatever the cookie says.
//! - Sessions are created by the login and register handlers inside their own
//!   database transaction (with the user row, the lockout reset, ...); `save`
//!   only hands actix-session the token those handlers minted.
//! - Handlers delete ended sessions themselves, so `delete` is a best-effort
//!   repeat.
//! - A database outage during `load` is reported in the state as
//!   [`keys::UNAVAILABLE`] rather than as an error, because actix-session
//!   turns store errors into a bare `500`, and the contract wants `503`.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;

use super::{keys, token, SessionRecord};
use crate::db::{self, sessions, Pool};
use crate::domain::Lifetimes;
use crate::error::ApiError;
use crate::time::now_unix;

type State = HashMap<String, String>;

#[derive(Clone)]
pub struct DbSessionStore {
    pool: Pool,
    lifetimes: Lifetimes,
}

impl DbSessionStore {
    pub fn new(pool: Pool, lifetimes: Lifetimes) -> Self {
        DbSessionStore { pool, lifetimes }
    }
}

fn encode(value: &impl serde::Serialize) -> String {
    // Serializing our own plain structs cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let token_hash = token::hash(session_key.as_ref());
        let lifetimes = self.lifetimes;
        let found = db::run(&self.pool, move |conn| {
            let now = now_unix();
            let Some((session, user)) = sessions::find_live(conn, &token_hash, now)? else {
                return Ok(None);
            };
            if lifetimes.needs_refresh(session.last_seen_at, now) {
                let expires_at =
                    lifetimes.expires_at(session.stay_signed_in, session.created_at, now);
                sessions::touch(conn, &session.id, now, expires_at)?;
            }
            Ok(Some(SessionRecord {
                id: session.id,
                stay_signed_in: session.stay_signed_in,
                user: user.to_user(),
            }))
        })
        .await;

        match found {
            Ok(Some(record)) => Ok(Some(HashMap::from([(
                keys::CURRENT.to_owned(),
                encode(&record),
            )]))),
            Ok(None) => Ok(None),
            Err(ApiError::Unavailable) => Ok(Some(HashMap::from([(
                keys::UNAVAILABLE.to_owned(),
                encode(&true),
            )]))),
            Err(e) => Err(LoadError::Other(anyhow::anyhow!(
                "cannot load a session: {e}"
            ))),
        }
    }

    async fn save(&self, state: State, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        let minted = state
            .get(keys::NEW_TOKEN)
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
        // Session state is derived from the database on every load; handlers
        // never store anything else in it, so there is nothing to write.
        Ok(session_key)
    }

    async fn update_ttl(&self, _session_key: &SessionKey, _ttl: &Duration) -> anyhow::Result<()> {
        // Expiry is kept by `load` (sliding) and the lifetimes, not by actix.
        Ok(())
    }

    /// Best effort, on purpose: every handler that ends a session (logout,
    /// login's renewal, password change, account deletion) has already
    /// deleted it in its own transaction, where a failure is a proper `503`.
    /// actix-session calls this afterwards and would turn any error into a
    /// bare `500` after the work was done, so an error is only logged.
    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        let token_hash = token::hash(session_key.as_ref());
        let deleted = db::run(&self.pool, move |conn| {
            Ok(sessions::revoke_by_token_hash(conn, &token_hash)?)
        })
        .await;
        if let Err(e) = deleted {
            tracing::warn!(error = %e, "could not delete an ended session a second time");
        }
        Ok(())
    }
}
