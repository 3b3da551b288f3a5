//! `POST /register`, `POST /login`, `GET /check_session`, `DELETE /logout`.

use std::future::{ready, Ready};

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};

use super::body::{Fields, JsonObject};
use super::common::{clear_lockout, count_login, record_event, send_verification, SignedIn};
use crate::auth::{ip_limits, Account, Attempt};
use crate::db::{events, passkeys, sessions, two_factor, users};
use crate::domain::username::username_key;
use crate::domain::{Email, EventKind, Password, Requester, Username};
use crate::error::ApiError;
use crate::session::{self, SessionState};
use crate::state::AppState;

/// The caller of a route that signs them in (`/register`, `/login`).
pub struct SigningIn {
    /// Where the request comes from, for the new session and its event.
    pub(super) by: Requester,
    /// The session the cookie named until now, which signing in ends: a
    /// token that existed before authentication must not survive it
    /// (session fixation).
    pub(super) previous: Option<String>,
    /// The cookie the new session's token is handed to.
    pub(super) cookie: Session,
}

impl FromRequest for SigningIn {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(SigningIn {
            by: super::requester(req),
            previous: SessionState::peek(req, |state| state.id().map(str::to_owned)),
            cookie: req.get_session(),
        }))
    }
}

/// What a right password at `/login` opened.
enum Entry {
    Session(session::Issued),
    /// A sign-in waiting for its second step: the cookie's new token, and
    /// whether the account has a passkey to finish it with.
    Pending(String, bool),
}

/// Username, password and the stay-signed-in choice, as sent.
struct Credentials {
    username: String,
    password: String,
    stay_signed_in: bool,
}

fn credentials(body: &JsonObject) -> Result<Credentials, ApiError> {
    let mut fields = Fields::new(&body.0);
    let username = fields.text("username");
    let password = fields.text("password");
    let stay_signed_in = fields.flag("stay_signed_in");
    let (Ok(username), Ok(password), Ok(stay_signed_in)) = (username, password, stay_signed_in)
    else {
        return Err(fields.into_error());
    };
    Ok(Credentials {
        username,
        password,
        stay_signed_in,
    })
}

/// Answers a login or registration: the user, and the new session cookie.
fn logged_in(
    state: &AppState,
    cookie: &Session,
    mut response: actix_web::HttpResponseBuilder,
    user: crate::domain::User,
    token: String,
    stay_signed_in: bool,
) -> Result<HttpResponse, ApiError> {
    let remember_for = stay_signed_in.then_some(state.lifetimes.remember);
    session::begin(cookie, token, remember_for, response.json(user))
}

#[tracing::instrument(name = "register", skip_all)]
pub async fn register(
    state: web::Data<AppState>,
    caller: SigningIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let sent = credentials(&body)?;
    let mut fields = Fields::new(&body.0);
    let username = fields.parse("username", Ok(sent.username.as_str()), Username::parse);
    let password = fields.parse("password", Ok(sent.password), |p| {
        Password::parse(p, &sent.username)
    });
    // Optional: absent or `null` is an account without an address.
    let email = fields.text_or_null("email", false);
    let email = fields.parse("email", email, |raw| {
        raw.as_deref().map(Email::parse).transpose()
    });
    let (Ok(username), Ok(password), Ok(email)) = (username, password, email) else {
        return Err(fields.into_error());
    };

    // The attempt is counted against the client network's registrations
    // before anything costs: every attempt answered `201` or `409` counts,
    // so that probing for taken names (to harvest them, then lock them
    // out) is limited like creating accounts, and the count is one atomic
    // upsert, so parallel attempts cannot all slip past it before a bcrypt
    // each. A taken name is answered then, without a hash; the transaction
    // below still decides a race for a name (the UNIQUE constraint).
    let key = username.key();
    let network = state.ip_limits.network(caller.by.ip);
    let limit = state.ip_limits.register;
    let reserved_at = state.clock.now();
    let reserved = network.clone();
    if super::write(&state.pool, move |conn| {
        ip_limits::spend(conn, &limit, &reserved, reserved_at)?;
        Ok(users::exists(conn, &key)?)
    })
    .await?
    {
        return Err(ApiError::UsernameTaken);
    }
    let hash = match state.logins.hash(&password).await {
        Ok(hash) => hash,
        // Not answered (the hashing queue is full): it does not count.
        Err(e) => {
            super::write(&state.pool, move |conn| {
                ip_limits::give_back(conn, &limit, &network, reserved_at)
            })
            .await?;
            return Err(e);
        }
    };

    let lifetimes = state.lifetimes;
    let stay = sent.stay_signed_in;
    let app = state.clone();
    let (user, issued, queued) = super::write_now(&state, move |conn, now| {
        let user = users::insert(conn, &username, &hash, now)?.ok_or(ApiError::UsernameTaken)?;
        // The address and its verification link commit with the
        // account, or not at all. Any number of accounts may hold an
        // address unverified, so this never reveals another's.
        let mut queued = false;
        if let Some(email) = &email {
            users::set_email(conn, user.id, Some(email))?;
            queued = send_verification(&app, conn, now, user.id, &user.username, email)?;
        }
        if let Some(id) = &caller.previous {
            sessions::end(conn, id)?;
        }
        let issued = session::start(conn, user.id, stay, &caller.by, now, &lifetimes)?;
        // The session it opens is part of the registration: one event.
        record_event(conn, now, user.id, EventKind::Registered, &caller.by)?;
        Ok((user, issued, queued))
    })
    .await?;
    if queued {
        state.mail.wake();
    }
    tracing::info!(user_id = user.id, "registered");
    logged_in(
        &state,
        &caller.cookie,
        HttpResponse::Created(),
        user,
        issued.token,
        stay,
    )
}

#[tracing::instrument(name = "login", skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    caller: SigningIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let result = log_in(&state, caller, body).await;
    count_login(&state, &result);
    result
}

async fn log_in(
    state: &AppState,
    caller: SigningIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let sent = credentials(&body)?;
    let key = username_key(&sent.username);
    // No account can have an invalid name, so such a login only needs to
    // cost what a real one does; it is not counted towards any lockout.
    let account = match Username::parse(&sent.username) {
        Ok(_) => Account::Named,
        Err(_) => Account::Unnamable,
    };
    let attempt = Attempt {
        key: &key,
        account,
        password: sent.password,
        by: &caller.by,
    };
    let Some(passed) = state
        .logins
        .check_password(&state.pool, &state.clock, attempt)
        .await?
    else {
        return Err(ApiError::InvalidCredentials);
    };

    // Told only to whoever proved the password: to anyone else a disabled
    // account answers as any other would.
    if passed.user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    let lifetimes = state.lifetimes;
    let (stay, username) = (sent.stay_signed_in, sent.username);
    let user = passed.user.to_user();
    let (user_id, rehashed) = (user.id, passed.rehashed);
    let by = caller.by.clone();
    // A pending sign-in the cookie held (a password given again) ends too.
    let earlier_pending = session::store::token_hash(&caller.cookie);
    let entry = super::write_now(state, move |conn, now| {
        // The stored hash was made at another BCRYPT_COST: upgrade it
        // now, while the plaintext is at hand.
        if let Some(new_hash) = &rehashed {
            users::update_password_hash(conn, user_id, new_hash)?;
        }
        if let Some(id) = &caller.previous {
            sessions::end(conn, id)?;
        }
        if let Some(token_hash) = &earlier_pending {
            two_factor::end_pending(conn, token_hash)?;
        }
        // An authenticator on: the password opens a pending sign-in, not
        // a session. The username's failures are not cleared yet, or a
        // thief of the password could guess codes without end, clearing
        // the count with the password between guesses.
        if two_factor::totp_of(conn, user_id)?.is_some_and(|totp| totp.enabled) {
            let with_passkey = passkeys::count_of(conn, user_id)? > 0;
            let token = session::token::generate();
            let expires_at = now + super::common::PENDING_SECONDS;
            let token_hash = session::token::hash(&token);
            two_factor::insert_pending(conn, &token_hash, user_id, stay, now, expires_at)?;
            return Ok(Entry::Pending(token, with_passkey));
        }
        clear_lockout(conn, &username)?;
        let issued = session::start(conn, user_id, stay, &by, now, &lifetimes)?;
        users::mark_login(conn, user_id, now)?;
        let detail = serde_json::json!({ "method": "password" });
        events::record(conn, now, user_id, EventKind::Login, &by, detail)?;
        Ok(Entry::Session(issued))
    })
    .await?;
    drop(passed.turn);
    let issued = match entry {
        Entry::Session(issued) => issued,
        Entry::Pending(token, with_passkey) => {
            tracing::info!(user_id, "password right; second step pending");
            let mut methods = vec!["totp", "recovery_code"];
            if with_passkey {
                methods.push("passkey");
            }
            let answer = HttpResponse::Accepted().json(serde_json::json!({
                "status": "two_factor_required",
                "methods": methods,
            }));
            // A browser-session cookie: the pending sign-in is short-lived.
            return session::begin(&caller.cookie, token, None, answer);
        }
    };
    tracing::info!(user_id, "logged in");
    logged_in(
        state,
        &caller.cookie,
        HttpResponse::Ok(),
        user,
        issued.token,
        stay,
    )
}

/// Public, so that an SPA can ask "who am I?" on load. The user is
/// serialized from the guard's record, not from a copy of it.
pub async fn check_session(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    SessionState::peek(&req, |state| {
        Ok(HttpResponse::Ok().json(&state.active()?.user))
    })
}

pub async fn logout(
    state: web::Data<AppState>,
    caller: SignedIn,
) -> Result<HttpResponse, ApiError> {
    // Revoke here, so a database outage answers 503 rather than 204 with
    // the session still alive.
    let (user_id, id) = (caller.session.user.id, caller.session.id);
    super::write_now(&state, move |conn, now| {
        // Two logouts racing with one cookie end one session: one event.
        if sessions::revoke(conn, user_id, &id)? {
            record_event(conn, now, user_id, EventKind::Logout, &caller.by)?;
        }
        Ok(())
    })
    .await?;
    session::end(&caller.cookie);
    Ok(HttpResponse::NoContent().finish())
}
