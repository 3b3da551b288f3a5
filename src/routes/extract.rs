//! What handlers take from a request besides its body: who is calling
//! ([`Requester`], [`SignedIn`], [`Confirmed`], [`SigningIn`], [`Editor`],
//! [`Admin`]) and the id in the path ([`PathId`]). Each is an extractor, so a handler
//! that needs an admin holds one or never runs.

use std::future::{ready, Ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::body::{Field, Fields, JsonObject};
use super::reading::reader_cookie;
use crate::accounts::owner::confirm_owner;
use crate::accounts::sign_in::Held;
use crate::client_ip;
use crate::domain::gift::browser_reader;
use crate::domain::{parse_id, Requester, Role, User};
use crate::error::{ApiError, BODY_LIMIT};
use crate::session::store;
use crate::session::{CurrentSession, SessionRecord, SessionState};
use crate::state::AppState;

/// The caller's `User-Agent`, shortened, for the session list.
fn user_agent(req: &HttpRequest) -> Option<String> {
    let ua = req.headers().get("user-agent")?.to_str().ok()?;
    Some(ua.chars().take(256).collect())
}

/// Who is making this request, for the account events it causes. Most
/// handlers take it as an argument (the extractor below); a metered read
/// builds it only when it writes an event, keeping the user agent's copy
/// off the hot path.
pub fn requester(req: &HttpRequest) -> Requester {
    Requester::new(client_ip::of(req), user_agent(req))
}

impl FromRequest for Requester {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(requester(req)))
    }
}

/// The signed-in caller of a route that acts on their own account (`401`
/// with no session): what such a route always needs together.
pub struct SignedIn {
    /// Their session and user, as the guard loaded them.
    pub session: SessionRecord,
    /// Where the request comes from, for the events the change records.
    pub by: Requester,
    /// The session cookie, for a change that ends or renews the session.
    pub cookie: Session,
}

impl SignedIn {
    /// The password field `name` of a sensitive change: required of an
    /// account that has a password (`422` without it), and not asked of
    /// one that has none, whose recent sign-in stands for it (see
    /// [`SignedIn::confirm`]).
    pub fn password_in(&self, fields: &mut Fields, name: &str) -> Field<Option<String>> {
        if self.session.has_password {
            fields.text(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Confirms that the caller owns the account, by `password`, as taken
    /// from the body with [`SignedIn::password_in`] (see [`confirm_owner`]).
    pub async fn confirm(
        &self,
        state: &AppState,
        password: Option<String>,
    ) -> Result<(), ApiError> {
        confirm_owner(state, &self.session, &self.by, password).await
    }
}

impl FromRequest for SignedIn {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let signed_in = CurrentSession::from_request(req, payload)
            .into_inner()
            .map(|current| SignedIn {
                session: current.0,
                by: requester(req),
                cookie: req.get_session(),
            });
        ready(signed_in)
    }
}

/// The signed-in caller of a sensitive change whose body is its password
/// (`{"password"}`, or nothing for an account without one), confirmed as
/// the account's owner ([`confirm_owner`]): a handler that takes it never
/// runs for anyone else.
pub struct Confirmed(pub SignedIn);

impl FromRequest for Confirmed {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = SignedIn::from_request(req, payload).into_inner();
        let body = JsonObject::<BODY_LIMIT>::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let caller = caller?;
            let body = body.await?;
            let mut fields = Fields::new(&body.0);
            let password = caller
                .password_in(&mut fields, "password")
                .map_err(|_| fields.into_error())?;
            let state = state.ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("the app's state is not registered"))
            })?;
            caller.confirm(&state, password).await?;
            Ok(Confirmed(caller))
        })
    }
}

/// The caller of a route that signs them in (`/register`, `/login`, the
/// second step, a passkey, a provider's callback).
pub struct SigningIn {
    /// Where the request comes from, for the new session and its event.
    pub by: Requester,
    /// The session the cookie named until now, which signing in ends: a
    /// token that existed before authentication must not survive it
    /// (session fixation).
    pub previous: Option<String>,
    /// The cookie the new session's token is handed to; it may hold a
    /// pending sign-in instead, which signing in ends too.
    pub cookie: Session,
    /// Who the browser is as a gift's reader, if it opened one.
    pub reader: Option<String>,
    /// The account's meter, when anonymous reads are on (see
    /// `accounts::sign_in::Held::free_reads`).
    pub free_reads: Option<u32>,
}

impl SigningIn {
    /// What the browser held, which signing in ends (its session, or a
    /// pending sign-in), and who it is as a gift's reader.
    pub fn held(&self) -> Held {
        Held {
            session: self.previous.clone(),
            pending: store::token_hash(&self.cookie),
            reader: self.reader.clone(),
            free_reads: self.free_reads,
        }
    }
}

impl FromRequest for SigningIn {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(SigningIn {
            by: requester(req),
            previous: SessionState::peek(req, |state| state.id().map(str::to_owned)),
            cookie: req.get_session(),
            reader: browser_of(req),
            free_reads: anonymous_reads_join(req),
        }))
    }
}

/// Who the browser is as a reader without a session (the hash of its
/// `tollgate_reader` cookie), if it has that cookie.
pub fn browser_of(req: &HttpRequest) -> Option<String> {
    reader_cookie(req).map(|cookie| browser_reader(&cookie))
}

/// FREE_READS when anonymous reads are on: the meter a browser's
/// anonymous reads join when it signs in.
pub fn anonymous_reads_join(req: &HttpRequest) -> Option<u32> {
    let state = req.app_data::<web::Data<AppState>>()?;
    (state.settings.anonymous_reads > 0).then_some(state.settings.free_reads)
}

/// The caller, if `allowed` lets their role through (`403 forbidden`
/// otherwise; `401` with no session).
fn caller_whose_role(
    req: &HttpRequest,
    payload: &mut Payload,
    allowed: impl FnOnce(Role) -> bool,
) -> Result<User, ApiError> {
    let user = CurrentSession::from_request(req, payload)
        .into_inner()?
        .0
        .user;
    if allowed(user.role) {
        Ok(user)
    } else {
        Err(ApiError::Forbidden)
    }
}

/// The caller, whose role writes posts (`403 forbidden` for a reader,
/// before the body is read; `401` with no session).
#[derive(Clone, Copy)]
pub struct Editor {
    pub user_id: i64,
    pub role: Role,
}

impl FromRequest for Editor {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            caller_whose_role(req, payload, Role::writes).map(|user| Editor {
                user_id: user.id,
                role: user.role,
            }),
        )
    }
}

/// The caller, an admin, by username (`403 forbidden` for anyone else,
/// before the body is read; `401` with no session).
pub struct Admin(pub String);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let admin = caller_whose_role(req, payload, |role| role == Role::Admin);
        ready(admin.map(|user| Admin(user.username)))
    }
}

/// The `{id}` of the route's path (`/posts/{id}`, `/account/passkeys/{id}`,
/// …): a positive integer in plain decimal, or `404`, like an id that names
/// nothing ([`parse_id`]).
#[derive(Clone, Copy)]
pub struct PathId(pub i64);

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.match_info().get("id").and_then(parse_id);
        ready(id.map(PathId).ok_or(ApiError::NotFound))
    }
}
