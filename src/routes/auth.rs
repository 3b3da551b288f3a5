//! `POST /register`, `POST /login`, `GET /check_session`, `DELETE /logout`.

use actix_web::{web, HttpRequest, HttpResponse};

use super::body::{Fields, JsonObject};
use super::extract::{SignedIn, SigningIn};
use crate::accounts::members;
use crate::accounts::notices::send_verification;
use crate::accounts::sign_in::{self, two_factor_required, Method, SignIn, Step};
use crate::auth::{ip_limits, Account, Attempt};
use crate::db::{self, events, sessions, users};
use crate::domain::username::username_key;
use crate::domain::{Email, EventKind, Password, Username};
use crate::error::ApiError;
use crate::session::{self, SessionState};
use crate::state::AppState;

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
    // The newsletter is asked for, never assumed.
    let newsletter = fields.flag("newsletter");
    let (Ok(username), Ok(password), Ok(email), Ok(newsletter)) =
        (username, password, email, newsletter)
    else {
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
    let taken = db::once(&state.pool, reserved_at, move |conn, now| {
        ip_limits::spend(conn, &limit, &reserved, now)?;
        Ok::<_, ApiError>(users::exists(conn, &key)?)
    })
    .await?;
    if taken {
        return Err(ApiError::UsernameTaken);
    }
    let hash = match state.logins.hash(&password).await {
        Ok(hash) => hash,
        // Not answered (the hashing queue is full): it does not count.
        Err(e) => {
            db::once(&state.pool, reserved_at, move |conn, reserved_at| {
                ip_limits::give_back(conn, &limit, &network, reserved_at)
            })
            .await?;
            return Err(e);
        }
    };

    let lifetimes = state.lifetimes;
    let app = state.clone();
    let held = caller.held();
    let (user, entered, queued) = db::once(&state.pool, state.clock.now(), move |conn, now| {
        let user =
            members::register(conn, now, &username, &hash)?.ok_or(ApiError::UsernameTaken)?;
        // Part of the registration: no event of its own.
        if newsletter {
            users::set_newsletter(conn, user.id, true)?;
        }
        // The address and its verification link commit with the
        // account, or not at all. Any number of accounts may hold an
        // address unverified, so this never reveals another's.
        let mut queued = false;
        if let Some(email) = &email {
            users::set_email(conn, user.id, Some(email))?;
            queued = send_verification(&app.mail, conn, now, user.id, &user.username, email)?;
        }
        let sign_in = SignIn {
            user_id: user.id,
            username: &user.username,
            method: Method::Password,
            step: Step::Registered,
            stay: sent.stay_signed_in,
            by: &caller.by,
            held: &held,
        };
        let entered = sign_in::enter(conn, now, &lifetimes, sign_in)?;
        Ok::<_, ApiError>((user, entered, queued))
    })
    .await?;
    if queued {
        state.mail.wake();
    }
    let created = || HttpResponse::Created().json(&user);
    entered.answer(&state, &caller.cookie, created, |_| created())
}

#[tracing::instrument(name = "login", skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    caller: SigningIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let answered = log_in(&state, caller, body).await;
    sign_in::counted(&state.metrics, answered)
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
    let Some(passed) = state.logins.check_password(attempt).await? else {
        return Err(ApiError::InvalidCredentials);
    };

    // Told only to whoever proved the password: to anyone else a disabled
    // account answers as any other would.
    if passed.user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    let lifetimes = state.lifetimes;
    let stay = sent.stay_signed_in;
    let user = passed.user.to_user(state.clock.now());
    let (user_id, rehashed) = (user.id, passed.rehashed);
    let by = caller.by.clone();
    let held = caller.held();
    let username = user.username.clone();
    let entered = db::once(&state.pool, state.clock.now(), move |conn, now| {
        // The stored hash was made at another BCRYPT_COST: upgrade it
        // now, while the plaintext is at hand.
        if let Some(new_hash) = &rehashed {
            users::update_password_hash(conn, user_id, new_hash)?;
        }
        let sign_in = SignIn {
            user_id,
            username: &username,
            method: Method::Password,
            step: Step::FirstFactor,
            stay,
            by: &by,
            held: &held,
        };
        Ok::<_, ApiError>(sign_in::enter(conn, now, &lifetimes, sign_in)?)
    })
    .await?;
    drop(passed.turn);
    entered.answer(
        state,
        &caller.cookie,
        || HttpResponse::Ok().json(&user),
        two_factor_required,
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
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        // Two logouts racing with one cookie end one session: one event.
        if sessions::revoke(conn, user_id, &id)? {
            events::record_plain(conn, now, user_id, EventKind::Logout, &caller.by)?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    session::end(&caller.cookie);
    Ok(HttpResponse::NoContent().finish())
}
