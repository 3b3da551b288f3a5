//! `GET/DELETE /sessions`, `DELETE /sessions/{id}`, `POST /password`,
//! `DELETE /account`.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::body::{Fields, JsonObject};
use crate::auth::{password, Account};
use crate::db::email_tokens::{self, Purpose};
use crate::db::{self, sessions, users};
use crate::domain::username::username_key;
use crate::domain::Password;
use crate::error::ApiError;
use crate::session::{self, CurrentSession};
use crate::state::AppState;
use crate::time::rfc3339;

/// A session as its owner sees it: a public id, never the token.
#[derive(Serialize)]
struct SessionView {
    id: String,
    current: bool,
    stay_signed_in: bool,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    last_seen_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    expires_at: i64,
    user_agent: Option<String>,
}

pub async fn list_sessions(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let (user_id, now) = (current.0.user.id, state.clock.now());
    let rows = db::run(&state.pool, move |conn| {
        Ok::<_, ApiError>(sessions::list(conn, user_id, now)?)
    })
    .await?;
    let views: Vec<SessionView> = rows
        .into_iter()
        .map(|row| SessionView {
            current: row.id == current.0.id,
            id: row.id,
            stay_signed_in: row.stay_signed_in,
            created_at: row.created_at,
            last_seen_at: row.last_seen_at,
            expires_at: row.expires_at,
            user_agent: row.user_agent,
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sessions": views })))
}

/// Ends one of the caller's sessions. Another user's session id is `404`,
/// exactly like an id that does not exist, so ids cannot be probed.
pub async fn end_session(
    state: web::Data<AppState>,
    session: Session,
    current: CurrentSession,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // Session ids are 32 lower-case hex digits; anything else names no
    // session, and is not sent to the database.
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ApiError::NotFound);
    }
    let is_current = id == current.0.id;
    let user_id = current.0.user.id;
    let ended = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            Ok::<_, ApiError>(sessions::revoke(conn, user_id, &id)?)
        })
    })
    .await?;
    if !ended {
        return Err(ApiError::NotFound);
    }
    if is_current {
        session::end(&session);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// "Log out everywhere else."
pub async fn end_other_sessions(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let (user_id, keep) = (current.0.user.id, current.0.id);
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            Ok::<_, ApiError>(sessions::revoke_others(conn, user_id, &keep)?)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The Account object: the User, its email address and its subscription.
#[derive(Serialize)]
pub(super) struct AccountView {
    #[serde(flatten)]
    user: crate::domain::User,
    email: Option<String>,
    email_verified: bool,
    subscription: Option<serde_json::Value>,
}

impl AccountView {
    /// The account as stored now, or `None` if it has just been deleted.
    pub(super) fn load(conn: &mut db::Conn, user_id: i64) -> diesel::QueryResult<Option<Self>> {
        let (Some(user), Some(email)) =
            (users::find(conn, user_id)?, users::email_of(conn, user_id)?)
        else {
            return Ok(None);
        };
        Ok(Some(AccountView {
            user: user.to_user(),
            email: email.email,
            email_verified: email.email_verified,
            // Subscriptions come with billing.
            subscription: None,
        }))
    }
}

/// `GET /account`.
pub async fn account(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let user_id = current.0.user.id;
    let view = db::run(&state.pool, move |conn| {
        Ok::<_, ApiError>(AccountView::load(conn, user_id)?)
    })
    .await?
    // Deleted since the session was loaded.
    .ok_or(ApiError::NotLoggedIn(crate::error::NoSession::Invalid))?;
    Ok(HttpResponse::Ok().json(view))
}

/// Checks the caller's password, or answers `401 invalid_credentials`. A
/// stolen cookie must not become a way around the login lockout, so these
/// checks count towards it too.
pub(super) async fn confirm_password(
    state: &AppState,
    current: &CurrentSession,
    password: String,
) -> Result<(), ApiError> {
    let key = username_key(&current.0.user.username);
    let account = Account::Id(current.0.user.id);
    let checked = state
        .logins
        .check_password(&state.pool, &state.clock, &key, true, account, password)
        .await?;
    match checked {
        Some(_) => Ok(()),
        None => Err(ApiError::InvalidCredentials),
    }
}

/// Changes the password. Every other session ends — whoever else held one
/// may be who the user is locking out — and this one gets a new token (the
/// same login otherwise: its lifetimes still count from the login).
#[tracing::instrument(name = "change_password", skip_all, fields(user_id = current.0.user.id))]
pub async fn change_password(
    state: web::Data<AppState>,
    session: Session,
    current: CurrentSession,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let current_password = fields.text("current_password");
    let new_password = fields.text("new_password");
    let new_password = fields.parse("new_password", new_password, |p| {
        Password::parse(p, &current.0.user.username)
    });
    let (Ok(current_password), Ok(new_password)) = (current_password, new_password) else {
        return Err(fields.into_error());
    };

    let user_id = current.0.user.id;
    confirm_password(&state, &current, current_password).await?;
    let hash = password::hash(new_password.expose().to_owned(), state.logins.bcrypt_cost).await?;

    let (session_id, stay) = (current.0.id.clone(), current.0.stay_signed_in);
    let token = db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            users::update_password_hash(conn, user_id, &hash)?;
            // Any password change kills outstanding reset links.
            email_tokens::delete_for_user(conn, user_id, Purpose::Reset)?;
            sessions::revoke_others(conn, user_id, &session_id)?;
            Ok::<_, ApiError>(session::rotate(conn, &session_id)?)
        })
    })
    .await?;
    let remember_for = stay.then_some(state.lifetimes.remember);
    session::begin(
        &session,
        token,
        remember_for,
        HttpResponse::NoContent().finish(),
    )
}

/// Deletes the account with its sessions and reads; the name becomes free.
#[tracing::instrument(name = "delete_account", skip_all, fields(user_id = current.0.user.id))]
pub async fn delete_account(
    state: web::Data<AppState>,
    session: Session,
    current: CurrentSession,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let Ok(password) = fields.text("password") else {
        return Err(fields.into_error());
    };

    let user_id = current.0.user.id;
    confirm_password(&state, &current, password).await?;
    let key = username_key(&current.0.user.username);
    db::run(&state.pool, move |conn| {
        db::write_transaction(conn, |conn| {
            users::delete(conn, user_id)?;
            db::throttle::clear(conn, &key)?;
            Ok::<_, ApiError>(())
        })
    })
    .await?;
    tracing::info!(user_id, "account deleted");
    session::end(&session);
    Ok(HttpResponse::NoContent().finish())
}
