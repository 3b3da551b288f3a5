//! `POST /register`, `POST /login`, `GET /check_session`, `DELETE /logout`.

use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};

use super::body::{Fields, JsonObject};
use super::user_agent;
use crate::auth::password;
use crate::auth::throttle::{self, Account};
use crate::db::{self, sessions, users};
use crate::domain::username::username_key;
use crate::domain::{Password, Username};
use crate::error::ApiError;
use crate::session::{self, CurrentSession, SessionState, COOKIE_NAME};
use crate::startup::AppState;
use crate::time::now_unix;

/// Username, password and the stay-signed-in choice, as sent.
struct Credentials {
    username: String,
    password: String,
    stay_signed_in: bool,
}

fn credentials(body: &JsonObject) -> Result<Credentials, ApiError> {
    let mut fields = Fields::new(&body.0);
    let credentials = Credentials {
        username: fields.text("username"),
        password: fields.text("password"),
        stay_signed_in: fields.flag("stay_signed_in"),
    };
    fields.finish()?;
    Ok(credentials)
}

/// Answers a login or registration: the user, and the new session cookie.
fn logged_in(
    state: &AppState,
    session: &Session,
    mut response: actix_web::HttpResponseBuilder,
    user: crate::domain::User,
    token: String,
    stay_signed_in: bool,
) -> Result<HttpResponse, ApiError> {
    let remember_for = stay_signed_in.then_some(state.lifetimes.remember);
    session::begin(session, token, remember_for, response.json(user))
}

#[tracing::instrument(name = "register", skip_all)]
pub async fn register(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let sent = credentials(&body)?;
    let mut fields = Fields::new(&body.0);
    let username = Username::parse(&sent.username)
        .map_err(|problem| fields.reject("username", problem))
        .ok();
    let password = Password::parse(sent.password, &sent.username)
        .map_err(|problem| fields.reject("password", problem))
        .ok();
    fields.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "parsed fields went missing"
        )));
    };

    // A cheap early answer for a taken name, before spending a bcrypt hash;
    // the UNIQUE constraint below still decides races.
    let key = username.key();
    if db::run(&state.pool, move |conn| Ok(users::exists(conn, &key)?)).await? {
        return Err(ApiError::UsernameTaken);
    }
    let hash = password::hash(password.expose().to_owned(), state.settings.bcrypt_cost).await?;

    let lifetimes = state.lifetimes;
    let agent = user_agent(&req);
    let stay = sent.stay_signed_in;
    let previous = previous_session(&session);
    let (user, issued) = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            let now = now_unix();
            let user = users::insert(conn, &username, &hash, now)?;
            if let Some(id) = &previous {
                sessions::end(conn, id)?;
            }
            let issued = sessions::create(conn, user.id, stay, agent.as_deref(), now, &lifetimes)?;
            Ok((user, issued))
        })
    })
    .await?;
    tracing::info!(user_id = user.id, "registered");
    logged_in(
        &state,
        &session,
        HttpResponse::Created(),
        user,
        issued.token,
        stay,
    )
}

#[tracing::instrument(name = "login", skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let sent = credentials(&body)?;
    let key = username_key(&sent.username);
    // No account can have an invalid name, so such a login only needs to
    // cost what a real one does; it is not counted towards any lockout.
    let counted = Username::parse(&sent.username).is_ok();
    let Some(passed) =
        throttle::check_password(&state, &key, counted, Account::Named, sent.password).await?
    else {
        return Err(ApiError::InvalidCredentials);
    };

    let lifetimes = state.lifetimes;
    let agent = user_agent(&req);
    let stay = sent.stay_signed_in;
    let previous = previous_session(&session);
    let user = passed.user.to_user();
    let (user_id, rehashed) = (user.id, passed.rehashed);
    let issued = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            db::throttle::clear(conn, &key)?;
            // The stored hash was made at another BCRYPT_COST: upgrade it
            // now, while the plaintext is at hand.
            if let Some(new_hash) = &rehashed {
                users::update_password_hash(conn, user_id, new_hash)?;
            }
            if let Some(id) = &previous {
                sessions::end(conn, id)?;
            }
            Ok(sessions::create(
                conn,
                user_id,
                stay,
                agent.as_deref(),
                now_unix(),
                &lifetimes,
            )?)
        })
    })
    .await?;
    drop(passed.turn);
    tracing::info!(user_id, "logged in");
    logged_in(
        &state,
        &session,
        HttpResponse::Ok(),
        user,
        issued.token,
        stay,
    )
}

/// The session this caller held before logging in, which the login ends: a
/// token that existed before authentication must not survive it (session
/// fixation).
fn previous_session(session: &Session) -> Option<String> {
    match SessionState::of(session, true) {
        SessionState::Active(record) => Some(record.id),
        _ => None,
    }
}

/// Public, so that an SPA can ask "who am I?" on load.
pub async fn check_session(session: Session, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let cookie_sent = req.cookie(COOKIE_NAME).is_some();
    let record = SessionState::of(&session, cookie_sent).require()?;
    Ok(HttpResponse::Ok().json(record.user))
}

pub async fn logout(
    state: web::Data<AppState>,
    session: Session,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    // Revoke here, so a database outage answers 503 rather than 204 with
    // the session still alive.
    let (user_id, id) = (current.0.user.id, current.0.id);
    db::run(&state.pool, move |conn| {
        Ok(sessions::revoke(conn, user_id, &id)?)
    })
    .await?;
    session::end(&session);
    Ok(HttpResponse::NoContent().finish())
}
