//! `GET/DELETE /sessions`, `DELETE /sessions/{id}`, `POST /password`,
//! `DELETE /account`, `GET /account/events`, `GET /account/export`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::body::{Fields, JsonObject};
use super::extract::{Confirmed, SignedIn};
use super::pagination::{pagination, Pagination};
use crate::accounts::export::{self, Export};
use crate::accounts::members;
use crate::accounts::notices::send_notice;
use crate::accounts::sign_in;
use crate::accounts::view::AccountView;
use crate::db::email_tokens::{self, Purpose};
use crate::db::{self, billing, events, sessions, throttle, users};
use crate::domain::username::username_key;
use crate::domain::{EventKind, Password, Requester};
use crate::error::ApiError;
use crate::mail::message::Notice;
use crate::session::{self, CurrentSession};
use crate::state::AppState;

/// A session as its owner sees it, and whether it is the one asking.
#[derive(Serialize)]
struct SessionView {
    #[serde(flatten)]
    session: export::SessionView,
    current: bool,
}

pub async fn list_sessions(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let user_id = current.0.user.id;
    let rows = db::idempotent(&state.pool, state.clock.now(), move |conn, now| {
        Ok::<_, ApiError>(sessions::list(conn, user_id, now)?)
    })
    .await?;
    let views: Vec<SessionView> = rows
        .into_iter()
        .map(|row| {
            let session = export::SessionView::of(row);
            let current = session.id == current.0.id;
            SessionView { session, current }
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({ "sessions": views })))
}

/// Ends one of the caller's sessions. Another user's session id is `404`,
/// exactly like an id that does not exist, so ids cannot be probed.
pub async fn end_session(
    state: web::Data<AppState>,
    caller: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    // Session ids are 32 lower-case hex digits; anything else names no
    // session, and is not sent to the database.
    if id.len() != 32 || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ApiError::NotFound);
    }
    let is_current = id == caller.session.id;
    let user_id = caller.session.user.id;
    let ended = db::once(&state.pool, state.clock.now(), move |conn, now| {
        let ended = sessions::revoke(conn, user_id, &id)?;
        if ended {
            revoked(conn, now, user_id, &caller.by, &id)?;
        }
        Ok::<_, ApiError>(ended)
    })
    .await?;
    if !ended {
        return Err(ApiError::NotFound);
    }
    if is_current {
        session::end(&caller.cookie);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// "Log out everywhere else."
pub async fn end_other_sessions(
    state: web::Data<AppState>,
    caller: SignedIn,
) -> Result<HttpResponse, ApiError> {
    let (user_id, keep) = (caller.session.user.id, caller.session.id);
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        for id in sessions::revoke_others(conn, user_id, &keep)? {
            revoked(conn, now, user_id, &caller.by, &id)?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /account/export`: everything stored about the caller
/// (`accounts::export`), as a download.
pub async fn export(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let user_id = current.0.user.id;
    let held = state.clone();
    let export = db::idempotent(&state.pool, state.clock.now(), move |conn, now| {
        let prices = held.settings.prices_sold();
        Ok::<_, ApiError>(Export::load(conn, user_id, prices, now)?)
    })
    .await?
    // Deleted since the session was loaded.
    .ok_or(ApiError::NotLoggedIn(crate::error::NoSession::Invalid))?;
    Ok(HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            "attachment; filename=\"account.json\"",
        ))
        .json(export))
}

/// `GET /account`.
pub async fn account(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let user_id = current.0.user.id;
    let held = state.clone();
    let view = db::idempotent(&state.pool, state.clock.now(), move |conn, now| {
        let prices = held.settings.prices_sold();
        Ok::<_, ApiError>(AccountView::load(conn, user_id, prices, now)?)
    })
    .await?
    // Deleted since the session was loaded.
    .ok_or(ApiError::NotLoggedIn(crate::error::NoSession::Invalid))?;
    Ok(HttpResponse::Ok().json(view))
}

/// `PATCH /account` with `{"newsletter": bool}`: `200` + Account. A change
/// records `newsletter_subscribed` or `newsletter_unsubscribed` (`via:
/// account`); the same value again records nothing.
#[tracing::instrument(name = "edit_account", skip_all, fields(user_id = caller.session.user.id))]
pub async fn edit_account(
    state: web::Data<AppState>,
    caller: SignedIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let newsletter = fields.parse(
        "newsletter",
        Ok(body.0.get("newsletter")),
        |value| match value {
            Some(serde_json::Value::Bool(on)) => Ok(*on),
            _ => Err("is required: true or false"),
        },
    );
    let Ok(newsletter) = newsletter else {
        return Err(fields.into_error());
    };
    let (user_id, by) = (caller.session.user.id, caller.by);
    let held = state.clone();
    let view = db::once(&state.pool, state.clock.now(), move |conn, now| {
        if users::set_newsletter(conn, user_id, newsletter)? {
            members::announce_updated(conn, now, user_id)?;
            let kind = if newsletter {
                EventKind::NewsletterSubscribed
            } else {
                EventKind::NewsletterUnsubscribed
            };
            let detail = serde_json::json!({ "via": "account" });
            events::record(conn, now, user_id, kind, &by, detail)?;
        }
        let prices = held.settings.prices_sold();
        Ok::<_, ApiError>(AccountView::load(conn, user_id, prices, now)?)
    })
    .await?
    .ok_or(ApiError::NotLoggedIn(crate::error::NoSession::Invalid))?;
    Ok(HttpResponse::Ok().json(view))
}

/// The `session_revoked` event of one session a user ended.
fn revoked(
    conn: &mut db::Conn,
    now: i64,
    user_id: i64,
    by: &Requester,
    session_id: &str,
) -> diesel::QueryResult<()> {
    let detail = serde_json::json!({ "session_id": session_id });
    events::record(conn, now, user_id, EventKind::SessionRevoked, by, detail)
}

/// Changes the password. Every other session ends — whoever else held one
/// may be who the user is locking out — and this one gets a new token (the
/// same login otherwise: its lifetimes still count from the login).
#[tracing::instrument(name = "change_password", skip_all, fields(user_id = caller.session.user.id))]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: SignedIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let current_password = caller.password_in(&mut fields, "current_password");
    let new_password = fields.text("new_password");
    let new_password = fields.parse("new_password", new_password, |p| {
        Password::parse(p, &caller.session.user.username)
    });
    let (Ok(current_password), Ok(new_password)) = (current_password, new_password) else {
        return Err(fields.into_error());
    };

    let user_id = caller.session.user.id;
    caller.confirm(&state, current_password).await?;
    let hash = state.logins.hash(&new_password).await?;

    let (session_id, stay) = (caller.session.id, caller.session.stay_signed_in);
    let app = state.clone();
    let (token, noticed) = db::once(&state.pool, state.clock.now(), move |conn, now| {
        let held = users::email_of(conn, user_id)?;
        users::update_password_hash(conn, user_id, &hash)?;
        // Any password change kills outstanding reset links, and
        // sign-ins by email.
        email_tokens::delete_for_user(conn, user_id, Purpose::Reset)?;
        sign_in::end_emailed(conn, user_id)?;
        // The sessions this ends are part of the change: one event.
        sessions::revoke_others(conn, user_id, &session_id)?;
        events::record_plain(conn, now, user_id, EventKind::PasswordChanged, &caller.by)?;
        let noticed = match &held {
            Some(held) => send_notice(&app.mail, conn, now, held, Notice::PasswordChanged)?,
            None => false,
        };
        Ok::<_, ApiError>((session::rotate(conn, &session_id)?, noticed))
    })
    .await?;
    if noticed {
        state.mail.wake();
    }
    let remember_for = stay.then_some(state.lifetimes.remember);
    session::begin(
        &caller.cookie,
        token,
        remember_for,
        HttpResponse::NoContent().finish(),
    )
}

/// Deletes the account with its sessions, reads and events; the name
/// becomes free. A subscription Stripe may still charge for is cancelled
/// at Stripe first: if that fails (`502`), nothing is deleted, so nobody
/// keeps paying for an account that is gone. (The webhook events its
/// cancellation sends then find no customer and change nothing.)
#[tracing::instrument(name = "delete_account", skip_all, fields(user_id = caller.session.user.id))]
pub async fn delete_account(
    state: web::Data<AppState>,
    Confirmed(caller): Confirmed,
) -> Result<HttpResponse, ApiError> {
    let user_id = caller.session.user.id;
    let (live, checkouts) = db::idempotent(&state.pool, state.clock.now(), move |conn, now| {
        let live = billing::live_subscription_ids(conn, user_id)?;
        Ok::<_, ApiError>((live, billing::open_checkouts(conn, user_id, now)?))
    })
    .await?;
    if !live.is_empty() {
        // With billing switched off there is no way to stop the charges:
        // the account stays until there is.
        let stripe = state.stripe.as_ref().ok_or_else(|| {
            ApiError::BillingUnavailable(anyhow::anyhow!(
                "the user has a live subscription and billing is not configured"
            ))
        })?;
        for id in &live {
            stripe
                .cancel_subscription(id)
                .await
                .map_err(|e| ApiError::BillingUnavailable(e.into()))?;
        }
        tracing::info!(user_id, cancelled = live.len(), "subscriptions cancelled");
    }
    // A checkout left open in another tab could otherwise still start a
    // subscription for the account about to go. Expiring it is worth a
    // try, not a refusal: if Stripe cannot be reached now and the tab is
    // paid later, the webhook cancels what it started (it is marked as
    // this user's, who will be gone).
    if let Some(stripe) = state.stripe.as_ref() {
        for id in &checkouts {
            if let Err(e) = stripe.expire_checkout_session(id).await {
                tracing::warn!(user_id, error = %e, "could not expire an open checkout");
            }
        }
    }
    let key = username_key(&caller.session.user.username);
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        // A sign-in by email asked for before would otherwise make a
        // new account for the address.
        sign_in::end_emailed(conn, user_id)?;
        members::delete(conn, now, user_id)?;
        // The name is free: its failures do not carry over to whoever
        // takes it next.
        throttle::clear(conn, &key)?;
        Ok::<_, ApiError>(())
    })
    .await?;
    tracing::info!(user_id, "account deleted");
    session::end(&caller.cookie);
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's own events, newest first, paginated like `/blog`.
pub async fn list_events(
    state: web::Data<AppState>,
    current: CurrentSession,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Pagination { page, per_page } = pagination(req.query_string())?;
    let user_id = current.0.user.id;
    let (rows, total) = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(events::page(conn, user_id, page, per_page)?)
    })
    .await?;
    let events: Vec<export::EventView> = rows.into_iter().map(export::EventView::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "events": events,
        "page": page,
        "per_page": per_page,
        "total": total,
    })))
}
