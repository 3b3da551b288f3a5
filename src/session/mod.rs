//! Server-side sessions: the token in the cookie, the session row it names,
//! and the typed view handlers use ([`SessionState`], [`CurrentSession`]).
//!
//! Who does what, for one request:
//! - actix-session owns the cookie: it checks the signature, hands the
//!   token to our [`store::TokenStore`] (which keeps nothing; see there
//!   why), and sets or clears the cookie when a handler logs in or out.
//! - The guard (`middleware::guard`) takes the token from actix-session and
//!   calls [`lookup`], which finds the live session and its user in one
//!   query (and whatever the route decides along with it, [`AlongWith`]:
//!   for a metered read, what the meter says, in the same job) and puts
//!   the typed [`SessionState`] in the request's extensions, for the
//!   handler's extractors ([`CurrentSession`]).
//! - Handlers create and end sessions in their own database transactions
//!   ([`start`], [`rotate`], `db::sessions`), then tell actix-session what
//!   to do with the cookie ([`begin`], [`end`]).
//!
//! [`SessionState`]: crate::session::SessionState
//! [`CurrentSession`]: crate::session::CurrentSession
//! [`AlongWith`]: crate::session::AlongWith
//! [`store::TokenStore`]: crate::session::store::TokenStore
//! [`lookup`]: crate::session::lookup
//! [`start`]: crate::session::start
//! [`rotate`]: crate::session::rotate
//! [`begin`]: crate::session::begin
//! [`end`]: crate::session::end

pub mod cookie;
pub mod secret;
pub mod store;
pub mod token;

use std::future::{ready, Ready};
use std::net::IpAddr;

use actix_session::Session;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};

use crate::clock::Clock;
use crate::db::unlocks::read_ahead::Metered;
use crate::db::unlocks::Asked;
use crate::db::{self, sessions, Conn, Pool};
use crate::domain::{Lifetimes, Requester, User};
use crate::error::{ApiError, NoSession};

pub use cookie::COOKIE_NAME;
pub use store::TokenStore;

/// A live session and the user it belongs to, as loaded for this request.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    /// The public id (never the token).
    pub id: String,
    pub stay_signed_in: bool,
    /// When this login began (a password change keeps it): sensitive
    /// changes by an account without a password are judged by it.
    pub signed_in_at: i64,
    /// Whether the account has a password to confirm sensitive changes
    /// with (an account made by signing in with a provider may not).
    pub has_password: bool,
    pub user: User,
}

/// What this request's session cookie came to.
#[derive(Debug, Clone)]
pub enum SessionState {
    Active(SessionRecord),
    Anonymous(NoSession),
    /// The database could not be asked, so the session cannot be checked.
    Unavailable,
}

impl SessionState {
    /// The state the guard left for this request (anonymous if none), lent
    /// to `f` in place: for a handler that only reads it, no copy.
    pub fn peek<R>(req: &HttpRequest, f: impl FnOnce(&SessionState) -> R) -> R {
        let none = SessionState::Anonymous(NoSession::Missing);
        f(req.extensions().get::<SessionState>().unwrap_or(&none))
    }

    /// The session, or the error a guarded request gets without one.
    pub fn active(&self) -> Result<&SessionRecord, ApiError> {
        match self {
            SessionState::Active(record) => Ok(record),
            SessionState::Anonymous(why) => Err(ApiError::NotLoggedIn(*why)),
            SessionState::Unavailable => Err(ApiError::Unavailable),
        }
    }

    /// What a guarded request gets without a live session, if it has none.
    pub fn refusal(&self) -> Option<ApiError> {
        self.active().err()
    }

    /// The session's public id, if there is a live one.
    pub fn id(&self) -> Option<&str> {
        match self {
            SessionState::Active(record) => Some(&record.id),
            SessionState::Anonymous(_) | SessionState::Unavailable => None,
        }
    }
}

/// What a route reads and decides along with its session, in the
/// lookup's one job, so that it costs no round trip of its own: asked of
/// the chunk's read-ahead, then decided once the session's user is known.
/// The metered read's is `reading::MeterAsk`; the session knows nothing of
/// what is decided.
pub trait AlongWith: Send + Sync + 'static {
    type Found: Send + 'static;

    /// What the chunk reads ahead for it, for a request at `now`.
    fn asked(&self, now: i64) -> Asked;

    /// Decided in the lookup's job for the session's `user`, with what the
    /// chunk read ahead for `asked` (`None`: nothing was).
    fn decide(
        &self,
        conn: &mut Conn,
        user: &User,
        asked: &Asked,
        ahead: Option<Metered>,
        now: i64,
    ) -> Result<Self::Found, db::Error>;
}

/// The live session whose token hash is `token_hash` ([`token::hash`]),
/// with its user, in one query: the only database round trip an
/// authenticated request needs. Expiry is enforced here, on the server,
/// whatever the cookie says; a browser session's idle expiry slides
/// forward at most once per [`Lifetimes::refresh_after`].
///
/// `ip` is the request's client IP. It is written only when it differs from
/// the stored one, or together with the refresh of `last_seen_at` that
/// happens anyway: a session used from one address (nearly all of them)
/// costs no write for it, so `check_session` stays one round trip.
///
/// `along`: what the route decides in the same job ([`AlongWith`]: for a
/// metered read, what the meter says, so that a re-read goes to the
/// database once).
pub async fn lookup<A: AlongWith>(
    pool: &Pool,
    clock: &Clock,
    lifetimes: Lifetimes,
    token_hash: String,
    ip: IpAddr,
    along: Option<A>,
) -> Result<Option<(SessionRecord, Option<A::Found>)>, db::Error> {
    let now = clock.now();
    let asked = along.as_ref().map(|along| along.asked(now));
    let lookup = db::Lookup::metered(token_hash.clone(), asked.clone());
    // Safe to run twice: reads, and a touch that slides the same expiry.
    db::idempotent_reading_ahead(pool, now, lookup, move |conn, ahead, now| {
        let found = match ahead.session {
            Some(found) => sessions::read_ahead::live(found, now),
            None => sessions::find_live(conn, &token_hash, now)?,
        };
        let Some((session, user)) = found else {
            return Ok(None);
        };
        // Disabling an account ends its sessions; one a login was starting
        // at that very moment is no session either.
        if user.disabled {
            return Ok(None);
        }
        // Compared as addresses, so the hot path formats nothing.
        let moved = session.ip.as_deref().and_then(|s| s.parse::<IpAddr>().ok()) != Some(ip);
        if moved || lifetimes.needs_refresh(session.last_seen_at, now) {
            let expires_at = lifetimes.expires_at(session.stay_signed_in, session.created_at, now);
            let ip = ip.to_string();
            db::write_transaction(conn, |conn| {
                sessions::touch(conn, &session.id, now, expires_at, &ip)
            })?;
        }
        let has_password = user.has_password;
        let user = user.into_user(now);
        let found = match (&along, &asked) {
            (Some(along), Some(asked)) => {
                Some(along.decide(conn, &user, asked, ahead.meter.clone(), now)?)
            }
            _ => None,
        };
        let record = SessionRecord {
            id: session.id,
            stay_signed_in: session.stay_signed_in,
            signed_in_at: session.created_at,
            has_password,
            user,
        };
        Ok(Some((record, found)))
    })
    .await
}

/// A freshly started login: the token goes into the cookie and nowhere else.
pub struct Issued {
    pub token: String,
    pub id: String,
}

/// Starts a session for `user_id` (inside the caller's transaction), noting
/// the requester's user agent and client IP, and returns its new token.
pub fn start(
    conn: &mut Conn,
    user_id: i64,
    stay_signed_in: bool,
    by: &Requester,
    now: i64,
    lifetimes: &Lifetimes,
) -> diesel::QueryResult<Issued> {
    let token = token::generate();
    let id = token::public_id();
    sessions::insert(
        conn,
        &sessions::NewSession {
            id: &id,
            token_hash: &token::hash(&token),
            user_id,
            stay_signed_in,
            user_agent: by.user_agent.as_deref(),
            ip: by.ip.map(|ip| ip.to_string()).as_deref(),
            now,
            expires_at: lifetimes.expires_at(stay_signed_in, now, now),
        },
    )?;
    Ok(Issued { token, id })
}

/// Gives session `id` a new token (after a password change): the same
/// login, with its lifetimes counted from the original login, but any copy
/// of the old token stops working.
pub fn rotate(conn: &mut Conn, id: &str) -> diesel::QueryResult<String> {
    let token = token::generate();
    sessions::set_token_hash(conn, id, &token::hash(&token))?;
    Ok(token)
}

/// The logged-in caller of a guarded route, put in place by the guard.
#[derive(Debug, Clone)]
pub struct CurrentSession(pub SessionRecord);

impl FromRequest for CurrentSession {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(SessionState::peek(req, |state| {
            state.active().cloned().map(CurrentSession)
        }))
    }
}

/// Answers with a freshly minted session token in the cookie. `renew` makes
/// actix-session drop whatever token the caller held before (the handler
/// has already ended its session), so a login always ends the old token (no
/// session fixation). `remember_for` (seconds) marks a stay-signed-in
/// login, whose cookie [`cookie::apply_lifetime`] then gives a `Max-Age`;
/// without it the cookie lasts the browser session.
pub fn begin(
    session: &Session,
    token: String,
    remember_for: Option<i64>,
    mut response: HttpResponse,
) -> Result<HttpResponse, ApiError> {
    session.renew();
    store::hand_over(session, token).map_err(ApiError::internal)?;
    if let Some(secs) = remember_for {
        response.extensions_mut().insert(cookie::RememberFor(secs));
    }
    Ok(response)
}

/// Clears the cookie (`Max-Age=0`) of a session the handler has ended.
pub fn end(session: &Session) {
    session.purge();
}
