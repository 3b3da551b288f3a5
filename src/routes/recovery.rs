//! `POST /email`, `POST /email/verify`, `POST /password/forgot`,
//! `POST /password/reset`: an address per account, proved by an emailed
//! link, and a way back in for whoever forgot a password.
//!
//! Nothing here tells a caller whether another account uses an address:
//! several accounts may hold one unverified, `/password/forgot` answers
//! the same whoever holds it, and only verifying an address another
//! account has already verified says so (`409 email_taken`), to the owner
//! of a valid link for it.

use actix_web::{web, HttpResponse};

use super::body::{Fields, JsonObject};
use super::extract::SignedIn;
use crate::accounts::notices::{send_notice, send_verification};
use crate::accounts::view::AccountView;
use crate::accounts::{by_mail, members, sign_in, ways_in};
use crate::db::email_tokens::{self, Purpose};
use crate::db::forgot_requests::Asked;
use crate::db::{self, events, sessions, throttle, users};
use crate::domain::username::username_key;
use crate::domain::{Email, EventKind, Password, Requester};
use crate::error::{ApiError, NoSession};
use crate::mail::message::Notice;
use crate::session::token;
use crate::state::AppState;

/// `POST /email`: sets the caller's address (unverified) and sends it a
/// verification link; `null` removes it; the same unverified address again
/// sends a new link. Requires the password: whoever controls the address
/// can reset the password.
#[tracing::instrument(name = "set_email", skip_all, fields(user_id = caller.session.user.id))]
pub async fn set_email(
    state: web::Data<AppState>,
    caller: SignedIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let email = fields.text_or_null("email", true);
    let email = fields.parse("email", email, |raw| {
        raw.as_deref().map(Email::parse).transpose()
    });
    let password = caller.password_in(&mut fields, "password");
    let (Ok(email), Ok(password)) = (email, password) else {
        return Err(fields.into_error());
    };
    caller.confirm(&state, password).await?;

    let (user_id, username) = (caller.session.user.id, caller.session.user.username);
    let by = caller.by;
    let app = state.clone();
    let (view, queued) = db::once(&state.pool, state.clock.now(), move |conn, now| {
        let outbox = &app.mail;
        let changed = |conn: &mut db::Conn, to: Option<&Email>| {
            members::announce_updated(conn, now, user_id)?;
            let detail = serde_json::json!({ "email": to.map(Email::as_str) });
            events::record(conn, now, user_id, EventKind::EmailChanged, &by, detail)
        };
        let held =
            users::email_of(conn, user_id)?.ok_or(ApiError::NotLoggedIn(NoSession::Invalid))?;
        let mut queued = false;
        match &email {
            None => {
                if held.email_key.is_some() {
                    // An account made by signing in by email has no
                    // other way in: its address stays.
                    users::lock(conn, user_id)?;
                    if !ways_in::has_a_way_in(conn, user_id)? {
                        return Err(ApiError::LastLoginMethod);
                    }
                    sign_in::end_emailed(conn, user_id)?;
                    users::set_email(conn, user_id, None)?;
                    forget_links(conn, user_id)?;
                    changed(conn, None)?;
                    queued |= send_notice(outbox, conn, now, &held, Notice::EmailChanged)?;
                }
            }
            Some(email) if held.email_key.as_deref() == Some(email.key().as_str()) => {
                // The same address, perhaps typed differently: a new
                // link if it is still unverified, nothing otherwise.
                users::retype_email(conn, user_id, email)?;
                if held.email.as_deref() != Some(email.as_str()) {
                    members::announce_updated(conn, now, user_id)?;
                }
                if !held.email_verified {
                    queued = send_verification(outbox, conn, now, user_id, &username, email)?;
                }
            }
            Some(email) => {
                sign_in::end_emailed(conn, user_id)?;
                users::set_email(conn, user_id, Some(email))?;
                // Links for the old address die with it.
                forget_links(conn, user_id)?;
                changed(conn, Some(email))?;
                queued = send_verification(outbox, conn, now, user_id, &username, email)?;
                // The old address, if it was proved, hears of it.
                queued |= send_notice(outbox, conn, now, &held, Notice::EmailChanged)?;
            }
        }
        let view = AccountView::load(conn, user_id, app.settings.prices_sold(), now)?
            .ok_or(ApiError::NotLoggedIn(NoSession::Invalid))?;
        Ok::<_, ApiError>((view, queued))
    })
    .await?;
    if queued {
        state.mail.wake();
    }
    tracing::info!(user_id, "email address changed");
    Ok(HttpResponse::Ok().json(view))
}

/// Deletes the account's outstanding links (its address changed).
fn forget_links(conn: &mut db::Conn, user_id: i64) -> diesel::QueryResult<()> {
    email_tokens::delete_for_user(conn, user_id, Purpose::Verify)?;
    email_tokens::delete_for_user(conn, user_id, Purpose::Reset)?;
    Ok(())
}

/// `POST /email/verify` (public): spends a verification link.
#[tracing::instrument(name = "verify_email", skip_all)]
pub async fn verify_email(
    state: web::Data<AppState>,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    // A token as sent is only ever hashed, never stored or logged.
    let Ok(sent) = fields.text("token") else {
        return Err(fields.into_error());
    };
    let token_hash = token::hash(&sent);
    let user_id = db::once(&state.pool, state.clock.now(), move |conn, now| {
        // Spent in one statement: of two requests with one link, one
        // gets the row.
        let (user_id, key) = email_tokens::spend(conn, &token_hash, Purpose::Verify, now)?
            .ok_or(ApiError::InvalidToken)?;
        match users::mark_verified(conn, user_id, &key) {
            Ok(true) => {
                members::announce_updated(conn, now, user_id)?;
                events::record_plain(conn, now, user_id, EventKind::EmailVerified, &by)?;
                Ok(user_id)
            }
            // The account holds another address now: the link is dead.
            Ok(false) => Err(ApiError::InvalidToken),
            // Another account has verified this address (the partial
            // unique index decides, whatever the timing). The whole
            // transaction rolls back, so the link stays usable should
            // that account let the address go.
            Err(e) if db::is_unique_violation(&e) => Err(ApiError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    tracing::info!(user_id, "email address verified");
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /password/forgot` (public): records the request and answers
/// `202`, whoever holds the address. The request does the same work for
/// every address — the per-IP limit and one insert into `forgot_requests`,
/// no lookup of the address — so neither the answer nor its timing says
/// whether an account holds it. The mail sender then acts on the record
/// (`mail::sender`): a reset link to every account holding the address,
/// verified or not, within the address's hourly limit. No bcrypt either
/// way.
#[tracing::instrument(name = "forgot_password", skip_all)]
pub async fn forgot_password(
    state: web::Data<AppState>,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let email = fields.text("email");
    let Ok(email) = fields.parse("email", email, |raw| Email::parse(&raw)) else {
        return Err(fields.into_error());
    };
    let limit = state.ip_limits.forgot;
    by_mail::record(&state, by, Asked::Reset, email, false, limit).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "accepted" })))
}

/// `POST /password/reset` (public): spends a reset link to set a new
/// password. Every session of the account ends, every reset link of it
/// dies, its login lockout is cleared, and its address counts as verified
/// (the link proved it). The caller is not logged in by this.
#[tracing::instrument(name = "reset_password", skip_all)]
pub async fn reset_password(
    state: web::Data<AppState>,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let sent = fields.text("token");
    let new_password = fields.text("new_password");
    let (Ok(sent), Ok(new_password)) = (sent, new_password) else {
        return Err(fields.into_error());
    };
    let token_hash = token::hash(&sent);
    let now = state.clock.now();

    // Whose link is it? Read first, without spending it, so that a new
    // password the rules refuse (422) leaves the link usable.
    let lookup = token_hash.clone();
    let holder = db::idempotent(&state.pool, now, move |conn, now| {
        let Some((user_id, key)) = email_tokens::find_live(conn, &lookup, Purpose::Reset, now)?
        else {
            return Ok::<_, ApiError>(None);
        };
        Ok(users::email_of(conn, user_id)?
            .filter(|row| row.email_key.as_deref() == Some(key.as_str())))
    })
    .await?
    .ok_or(ApiError::InvalidToken)?;

    let mut fields = Fields::new(&body.0);
    let Ok(new_password) = fields.parse("new_password", Ok(new_password), |p| {
        Password::parse(p, &holder.username)
    }) else {
        return Err(fields.into_error());
    };
    let hash = state.logins.hash(&new_password).await?;

    let user_id = holder.id;
    let lockout = username_key(&holder.username);
    let app = state.clone();
    let noticed = db::once(&state.pool, now, move |conn, now| {
        // Spent now, in one statement: a link used twice at once
        // resets once; the second gets `400`.
        let (spent_by, key) = email_tokens::spend(conn, &token_hash, Purpose::Reset, now)?
            .ok_or(ApiError::InvalidToken)?;
        let held = users::email_of(conn, spent_by)?
            .filter(|row| row.email_key.as_deref() == Some(key.as_str()));
        let (still_held, was_verified) = (held.is_some(), held.is_some_and(|r| r.email_verified));
        if spent_by != user_id || !still_held {
            return Err(ApiError::InvalidToken);
        }
        users::update_password_hash(conn, user_id, &hash)?;
        email_tokens::delete_for_user(conn, user_id, Purpose::Reset)?;
        sessions::end_all(conn, user_id)?;
        throttle::clear(conn, &lockout)?;
        // The link proved the address, unless another account has
        // verified it meanwhile: then the reset still stands and the
        // address stays unverified.
        if users::mark_verified_unless_taken(conn, user_id, &key)? && !was_verified {
            members::announce_updated(conn, now, user_id)?;
        }
        sign_in::end_emailed(conn, user_id)?;
        // The sessions this ends are part of the reset: one event.
        events::record_plain(conn, now, user_id, EventKind::PasswordReset, &by)?;
        // To the address as it now stands (the link proved it).
        let held = users::email_of(conn, user_id)?;
        Ok::<_, ApiError>(match &held {
            Some(held) => send_notice(&app.mail, conn, now, held, Notice::PasswordReset)?,
            None => false,
        })
    })
    .await?;
    if noticed {
        state.mail.wake();
    }
    tracing::info!(user_id, "password reset by emailed link");
    Ok(HttpResponse::NoContent().finish())
}
