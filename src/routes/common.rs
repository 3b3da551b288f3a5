//! What the route files share, so that none imports another: the
//! signed-in caller of a route that changes their account, the Account
//! object several of them answer with, the password re-check before a
//! sensitive change (or, without a password, a recent sign-in), removing
//! one of an account's ways to sign in, queueing a verification link,
//! recording an account event, clearing a username's login lockout, and
//! the id in a route's path.

use std::future::{ready, Ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::auth::{Account, Attempt};
use crate::db::{self, billing, events, identities, passkeys, two_factor, users};
use crate::domain::username::username_key;
use crate::domain::{Email, EventKind, Requester, Role, User};
use crate::error::ApiError;
use crate::mail::message::Notice;
use crate::mail::Recipient;
use crate::metrics::LoginOutcome;
use crate::session::{CurrentSession, SessionRecord};
use crate::state::AppState;
use crate::time::rfc3339;

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
    /// [`confirm_password`]).
    pub fn password_in(
        &self,
        fields: &mut super::body::Fields,
        name: &str,
    ) -> super::body::Field<Option<String>> {
        if self.session.has_password {
            fields.text(name).map(Some)
        } else {
            Ok(None)
        }
    }

    /// [`SignedIn::password_in`] for a body whose one field is the password.
    pub fn password_of(&self, body: &super::body::JsonObject) -> Result<Option<String>, ApiError> {
        let mut fields = super::body::Fields::new(&body.0);
        self.password_in(&mut fields, "password")
            .map_err(|_| fields.into_error())
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
                by: super::requester(req),
                cookie: req.get_session(),
            });
        ready(signed_in)
    }
}

/// The caller, if `allowed` lets their role through (`403 forbidden`
/// otherwise; `401` with no session): what the role extractors
/// (`posts::Editor`, `admin::Admin`) stand on.
pub fn caller_whose_role(
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

/// A post's author as readers and editors see it (`null` once their
/// account is gone, and for the demo posts).
#[derive(Serialize)]
pub struct Author {
    username: String,
}

pub fn author(username: Option<String>) -> Option<Author> {
    username.map(|username| Author { username })
}

/// The Account object: the User, its email address and its subscription.
#[derive(Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    user: crate::domain::User,
    email: Option<String>,
    email_verified: bool,
    subscription: Option<SubscriptionView>,
    /// False for an account made by signing in with a provider, until it
    /// sets a password.
    has_password: bool,
    two_factor: TwoFactorView,
}

/// What second factors the account has.
#[derive(Serialize)]
struct TwoFactorView {
    totp: bool,
    recovery_codes_left: i64,
    passkeys: i64,
}

/// A Stripe subscription as the webhook events last told it.
#[derive(Serialize)]
struct SubscriptionView {
    status: String,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    current_period_end: Option<i64>,
    cancel_at_period_end: bool,
}

impl AccountView {
    /// The account as stored now, or `None` if it has just been deleted.
    pub fn load(conn: &mut db::Conn, user_id: i64) -> diesel::QueryResult<Option<Self>> {
        let (Some(user), Some(email)) =
            (users::find(conn, user_id)?, users::email_of(conn, user_id)?)
        else {
            return Ok(None);
        };
        let totp = two_factor::totp_of(conn, user_id)?.is_some_and(|row| row.enabled);
        let two_factor = TwoFactorView {
            totp,
            recovery_codes_left: if totp {
                two_factor::codes_left(conn, user_id)?
            } else {
                0
            },
            passkeys: passkeys::count_of(conn, user_id)?,
        };
        Ok(Some(AccountView {
            has_password: user.has_password(),
            two_factor,
            user: user.to_user(),
            email: email.email,
            email_verified: email.email_verified,
            // One that gives premium if there is one, else the latest.
            subscription: billing::subscriptions_of(conn, user_id)?
                .into_iter()
                .next()
                .map(|sub| SubscriptionView {
                    status: sub.status,
                    current_period_end: sub.current_period_end,
                    cancel_at_period_end: sub.cancel_at_period_end,
                }),
        }))
    }
}

/// How long after signing in an account without a password may make a
/// sensitive change, in seconds.
pub const REAUTH_SECONDS: i64 = 300;

/// Confirms that the caller is the account's owner before a sensitive
/// change. With a password: checks it, or answers `401
/// invalid_credentials`; a stolen cookie must not become a way around the
/// login lockout, so these checks count towards it too. Without one (an
/// account made by signing in with a provider): the sign-in that opened
/// this session must be at most [`REAUTH_SECONDS`] old, or `403
/// reauth_required` — a cookie left in a browser for a day proves less
/// than a provider's sign-in a minute ago.
pub async fn confirm_password(
    state: &AppState,
    caller: &SignedIn,
    password: Option<String>,
) -> Result<(), ApiError> {
    let Some(password) = password else {
        if caller.session.has_password {
            return Err(ApiError::InvalidCredentials);
        }
        let age = state.clock.now() - caller.session.signed_in_at;
        return if age <= REAUTH_SECONDS {
            Ok(())
        } else {
            Err(ApiError::ReauthRequired)
        };
    };
    let user = &caller.session.user;
    let key = username_key(&user.username);
    let attempt = Attempt {
        key: &key,
        account: Account::Id(user.id),
        password,
        by: &caller.by,
    };
    let checked = state
        .logins
        .check_password(&state.pool, &state.clock, attempt)
        .await?;
    match checked {
        Some(_) => Ok(()),
        None => Err(ApiError::InvalidCredentials),
    }
}

/// Queues a verification link to `email` for the account, in the caller's
/// transaction; `false` when the address's hourly limit is spent.
pub fn send_verification(
    state: &AppState,
    conn: &mut db::Conn,
    now: i64,
    user_id: i64,
    username: &str,
    email: &Email,
) -> diesel::QueryResult<bool> {
    state.mail.send_verification(
        conn,
        now,
        &Recipient {
            user_id,
            username,
            email: email.as_str(),
            email_key: &email.key(),
        },
    )
}

/// Queues a notice of `kind` to the account's address as `held` before
/// the change, if that address is verified (a notice to an address nobody
/// proved would tell a stranger of the account); `false` when there is
/// none to send or the address's hourly limit is spent.
pub fn send_notice(
    state: &AppState,
    conn: &mut db::Conn,
    now: i64,
    held: &users::EmailRow,
    kind: Notice,
) -> diesel::QueryResult<bool> {
    let (Some(email), Some(email_key), true) = (&held.email, &held.email_key, held.email_verified)
    else {
        return Ok(false);
    };
    state.mail.send_notice(
        conn,
        now,
        &Recipient {
            user_id: held.id,
            username: &held.username,
            email,
            email_key,
        },
        kind,
    )
}

/// Counts a sign-in's answer in `tollgate_logins_total` (`/login`, its
/// second step, a passkey): a success, a wrong secret, a lockout or a
/// per-IP refusal. A malformed body or an outage is not an attempt, and a
/// right password waiting for its second step (`202`) is counted when that
/// step answers.
pub fn count_login(state: &AppState, result: &Result<HttpResponse, ApiError>) {
    let outcome = match result {
        Ok(answer) if answer.status() == StatusCode::ACCEPTED => None,
        Ok(_) => Some(LoginOutcome::Success),
        Err(ApiError::InvalidCredentials | ApiError::InvalidCode | ApiError::PasskeyRefused) => {
            Some(LoginOutcome::Failure)
        }
        Err(ApiError::TooManyAttempts { .. }) => Some(LoginOutcome::Locked),
        Err(ApiError::TooManyRequests { .. }) => Some(LoginOutcome::RateLimited),
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        state.metrics.login(outcome);
    }
}

/// The id in a route's path (`/account/passkeys/{id}`, `/admin/users/{id}`):
/// a positive integer, or `404` like an id that names nothing.
pub fn path_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id >= 1)
        .ok_or(ApiError::NotFound)
}

/// How long a pending sign-in (a right password, waiting for a second
/// factor) lives, in seconds.
pub const PENDING_SECONDS: i64 = 300;

/// The one required string field `name` of a body (`422` otherwise).
pub fn one_text(body: &super::body::JsonObject, name: &str) -> Result<String, ApiError> {
    let mut fields = super::body::Fields::new(&body.0);
    fields.text(name).map_err(|_| fields.into_error())
}

/// Queues the notice that the account's second factor was turned off, to
/// its verified address (if any), in the caller's transaction; whether one
/// was queued.
pub fn notice_second_factor_off(
    state: &AppState,
    conn: &mut db::Conn,
    now: i64,
    user_id: i64,
) -> diesel::QueryResult<bool> {
    Ok(match users::email_of(conn, user_id)? {
        Some(held) => send_notice(state, conn, now, &held, Notice::SecondFactorOff)?,
        None => false,
    })
}

/// Records an account event that carries no detail.
pub fn record_event(
    conn: &mut db::Conn,
    now: i64,
    user_id: i64,
    kind: EventKind,
    by: &Requester,
) -> diesel::QueryResult<()> {
    events::record(conn, now, user_id, kind, by, Default::default())
}

/// Ends the login lockout of `username` (a password was proved, or the
/// account is gone), so that its failures count from zero again.
pub fn clear_lockout(conn: &mut db::Conn, username: &str) -> diesel::QueryResult<()> {
    db::throttle::clear(conn, &username_key(username))
}

/// Removes one of the caller's ways to sign in (a passkey, an identity)
/// with `remove`, which answers the event's detail, or `None` when the
/// account has no such thing (`404`); records `kind`; answers `204`. The
/// account's row is locked first, so that two removals are decided one
/// after the other, and what would leave no way in at all is refused
/// (`409 last_login_method`, see [`still_a_way_in`]) and rolled back.
pub async fn remove_way_in<F>(
    state: &AppState,
    caller: SignedIn,
    kind: EventKind,
    remove: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&mut db::Conn, i64) -> diesel::QueryResult<Option<serde_json::Value>>
        + Send
        + 'static,
{
    let user_id = caller.session.user.id;
    super::write_now(state, move |conn, now| {
        users::lock(conn, user_id)?;
        let detail = remove(conn, user_id)?.ok_or(ApiError::NotFound)?;
        still_a_way_in(conn, user_id)?;
        events::record(conn, now, user_id, kind, &caller.by, detail)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// After a removal, in its transaction: `409 last_login_method` when the
/// account is left with no password, no passkey and no identity, so that
/// nobody could sign in to it again.
fn still_a_way_in(conn: &mut db::Conn, user_id: i64) -> Result<(), ApiError> {
    let has_password = users::find(conn, user_id)?.is_some_and(|u| u.has_password());
    if has_password
        || passkeys::count_of(conn, user_id)? > 0
        || identities::count_of(conn, user_id)? > 0
    {
        Ok(())
    } else {
        Err(ApiError::LastLoginMethod)
    }
}
