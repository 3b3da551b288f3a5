//! Server-side sessions: the Diesel store behind actix-session, the typed
//! view handlers use (`SessionState`, `CurrentSession`), and per-login cookie
//! lifetimes.

pub mod cookie;
pub mod secret;
pub mod store;
pub mod token;

use std::future::{ready, Ready};

use actix_session::Session;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::domain::User;
use crate::error::{ApiError, NoSession};

pub use cookie::COOKIE_NAME;
pub use store::DbSessionStore;

/// The keys of actix-session's state map. Only this module reads or writes
/// them; handlers go through the typed functions below.
pub mod keys {
    /// The loaded session and its user (a `SessionRecord`).
    pub const CURRENT: &str = "current";
    /// Set by the store when the database could not be asked.
    pub const UNAVAILABLE: &str = "unavailable";
    /// A token minted by a login, handed to actix-session to put in the cookie.
    pub const NEW_TOKEN: &str = "new_token";
}

/// A live session and the user it belongs to, as loaded for this request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The public id (never the token).
    pub id: String,
    pub stay_signed_in: bool,
    pub user: User,
}

/// What this request's session cookie came to.
pub enum SessionState {
    Active(SessionRecord),
    Anonymous(NoSession),
    /// The database could not be asked, so the session cannot be checked.
    Unavailable,
}

impl SessionState {
    pub fn of(session: &Session, cookie_sent: bool) -> SessionState {
        if let Ok(Some(true)) = session.get::<bool>(keys::UNAVAILABLE) {
            return SessionState::Unavailable;
        }
        match session.get::<SessionRecord>(keys::CURRENT) {
            Ok(Some(record)) => SessionState::Active(record),
            _ if cookie_sent => SessionState::Anonymous(NoSession::Invalid),
            _ => SessionState::Anonymous(NoSession::Missing),
        }
    }

    /// The session, or the error a guarded request gets without one.
    pub fn require(self) -> Result<SessionRecord, ApiError> {
        match self {
            SessionState::Active(record) => Ok(record),
            SessionState::Anonymous(why) => Err(ApiError::NotLoggedIn(why)),
            SessionState::Unavailable => Err(ApiError::Unavailable),
        }
    }
}

/// The logged-in caller of a guarded route, put in place by the guard.
#[derive(Debug, Clone)]
pub struct CurrentSession(pub SessionRecord);

impl FromRequest for CurrentSession {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<CurrentSession>()
                .cloned()
                .ok_or(ApiError::NotLoggedIn(NoSession::Missing)),
        )
    }
}

/// Answers with a freshly minted session token in the cookie. `renew` makes
/// actix-session delete whatever session the caller held before, so a login
/// always ends the old token (no session fixation). `remember_for` (seconds)
/// marks a stay-signed-in login, whose cookie [`cookie::apply_lifetime`]
/// then gives a `Max-Age`; without it the cookie lasts the browser session.
pub fn begin(
    session: &Session,
    token: String,
    remember_for: Option<i64>,
    mut response: HttpResponse,
) -> Result<HttpResponse, ApiError> {
    session.renew();
    session
        .insert(keys::NEW_TOKEN, token)
        .map_err(ApiError::internal)?;
    if let Some(secs) = remember_for {
        response.extensions_mut().insert(cookie::RememberFor(secs));
    }
    Ok(response)
}

/// Ends the current session: actix-session deletes it from the store and
/// answers with a cookie that has `Max-Age=0`.
pub fn end(session: &Session) {
    session.purge();
}
