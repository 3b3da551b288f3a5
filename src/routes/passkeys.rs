//! Passkeys: adding, listing and removing them (`/account/passkeys…`), and
//! signing in with one (`POST /login/passkey/options`, `POST /login/passkey`):
//! alone, as both factors, or as the second step of a pending sign-in.
//! The WebAuthn checks are `auth::passkeys`; this file keeps the ceremony's
//! challenge in the database between the two requests of each.

use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::body::{Fields, JsonObject, OptionalObject};
use super::extract::{anonymous_reads_join, browser_of, Confirmed, PathId, SignedIn};
use crate::accounts::notices::notify;
use crate::accounts::sign_in::{self, Held, Method, SignIn, Step};
use crate::accounts::ways_in::remove_keeping_one;
use crate::auth::passkeys::{new_handle, RelyingParty, Stored};
use crate::auth::{ip_limits, Account};
use crate::db::passkeys::{self as keys, Kind, NewPasskey};
use crate::db::{self, events, two_factor, users};
use crate::domain::username::username_key;
use crate::domain::{EventKind, Requester};
use crate::error::ApiError;
use crate::mail::message::Notice;
use crate::session::{store, SessionState};
use crate::state::AppState;
use crate::time::rfc3339;

/// How long a ceremony's challenge lives, in seconds.
pub const CHALLENGE_SECONDS: i64 = 300;
/// The longest name a passkey may be given, in characters.
const MAX_NAME: usize = 64;

/// A passkey as its owner sees it.
#[derive(Serialize)]
struct PasskeyView {
    id: i64,
    name: String,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    last_used_at: Option<i64>,
}

impl From<keys::PasskeyRow> for PasskeyView {
    fn from(row: keys::PasskeyRow) -> Self {
        PasskeyView {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        }
    }
}

/// `POST /account/passkeys/options` `{"password"}`: creation options for
/// a discoverable passkey, excluding the account's own.
pub async fn registration_options(
    state: web::Data<AppState>,
    Confirmed(caller): Confirmed,
) -> Result<HttpResponse, ApiError> {
    let user_id = caller.session.user.id;
    let fresh = new_handle();
    let (handle, existing) = db::once(&state.pool, state.clock.now(), move |conn, _| {
        let handle = keys::handle_of(conn, user_id, &fresh)?;
        Ok::<_, ApiError>((handle, keys::credential_ids_of(conn, user_id)?))
    })
    .await?;
    let begun = state
        .passkeys
        .creation(&handle, &caller.session.user.username, &existing)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("passkey options: {}", e.0)))?;
    let (challenge, kept) = (begun.challenge, begun.state);
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        let expires_at = now + CHALLENGE_SECONDS;
        keys::put_challenge(
            conn,
            &challenge,
            Kind::Register,
            Some(user_id),
            &kept,
            expires_at,
        )?;
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(begun.options))
}

/// The `credential` object of a body (`422` when absent or not one).
fn credential_of(fields: &mut Fields<'_>, body: &Map<String, Value>) -> Option<Value> {
    let credential = fields.parse(
        "credential",
        Ok(body.get("credential")),
        |value| match value {
            Some(value @ Value::Object(_)) => Ok(value.clone()),
            Some(_) => Err("must be the object credential.toJSON() gives"),
            None => Err("is required"),
        },
    );
    credential.ok()
}

fn unverified() -> ApiError {
    ApiError::field(
        "credential",
        "failed verification: it does not answer a live challenge of this account, or comes from another site",
    )
}

/// `POST /account/passkeys` `{"credential", "name"?}`: the new passkey.
pub async fn register(
    state: web::Data<AppState>,
    caller: SignedIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let credential = credential_of(&mut fields, &body.0);
    let name = fields.optional_text("name");
    let name = fields.parse("name", name, |name| {
        let name = name.as_deref().map_or("Passkey", str::trim).to_owned();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            Err(format!("must be 1–{MAX_NAME} characters"))
        } else {
            Ok(name)
        }
    });
    let (Some(credential), Ok(name)) = (credential, name) else {
        return Err(fields.into_error());
    };
    let (registration, challenge) = RelyingParty::registration_challenge(&credential)
        .map_err(|e| refused("registration", e.0))?;
    let user_id = caller.session.user.id;
    // Taken out whatever follows: a challenge is answered once.
    let kept = db::once(
        &state.pool,
        state.clock.now(),
        move |conn, now| match keys::take_challenge(conn, &challenge, Kind::Register, now)? {
            Some((Some(owner), kept)) if owner == user_id => Ok(kept),
            _ => Err(unverified()),
        },
    )
    .await?;
    let new = state
        .passkeys
        .register(&registration, &kept)
        .map_err(|e| refused("registration", e.0))?;
    let app = state.clone();
    let (row, noticed) = db::once(&state.pool, state.clock.now(), move |conn, now| {
        let stored = NewPasskey {
            user_id,
            credential_id: &new.credential_id,
            public_key: &new.key,
            counter: &new.counter,
            name: &name,
            now,
        };
        let row = keys::insert(conn, &stored)?.ok_or_else(unverified)?;
        let detail = json!({ "id": row.id, "name": row.name });
        events::record(
            conn,
            now,
            user_id,
            EventKind::PasskeyAdded,
            &caller.by,
            detail,
        )?;
        // A new way in that needs no password: its owner hears of it.
        let noticed = notify(&app.mail, conn, now, user_id, Notice::PasskeyAdded)?;
        Ok::<_, ApiError>((row, noticed))
    })
    .await?;
    if noticed {
        state.mail.wake();
    }
    Ok(HttpResponse::Created().json(PasskeyView::from(row)))
}

/// A ceremony's answer that failed: logged (never the credential), and
/// answered `422` naming the field.
fn refused(ceremony: &str, why: String) -> ApiError {
    tracing::info!(ceremony, why, "passkey refused");
    unverified()
}

/// `GET /account/passkeys`.
pub async fn list(state: web::Data<AppState>, caller: SignedIn) -> Result<HttpResponse, ApiError> {
    let user_id = caller.session.user.id;
    let rows = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(keys::list(conn, user_id)?)
    })
    .await?;
    let passkeys: Vec<PasskeyView> = rows.into_iter().map(PasskeyView::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "passkeys": passkeys })))
}

/// `DELETE /account/passkeys/{id}` `{"password"}`: `409
/// last_login_method` when it is the account's only way in.
pub async fn remove(
    state: web::Data<AppState>,
    PathId(id): PathId,
    Confirmed(caller): Confirmed,
) -> Result<HttpResponse, ApiError> {
    let user_id = caller.session.user.id;
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        remove_keeping_one(conn, user_id, |conn| {
            keys::remove(conn, user_id, id)?
                .then_some(())
                .ok_or(ApiError::NotFound)
        })?;
        let detail = json!({ "id": id });
        let kind = EventKind::PasskeyRemoved;
        Ok::<_, ApiError>(events::record(
            conn, now, user_id, kind, &caller.by, detail,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /login/passkey/options` `{}`: request options. During a pending
/// sign-in they list that account's passkeys; otherwise the browser offers
/// whichever discoverable passkeys it holds for this site.
pub async fn login_options(
    state: web::Data<AppState>,
    req: HttpRequest,
    by: Requester,
    _: OptionalObject,
) -> Result<HttpResponse, ApiError> {
    let (limit, network) = (
        state.ip_limits.sign_in_starts,
        state.ip_limits.network(by.ip),
    );
    // A network refused already is refused before any database work.
    state
        .ip_limits
        .spent
        .check(&limit, &network, state.clock.now())
        .await?;
    let pending = store::token_hash(&req.get_session());
    let allowed = db::idempotent(&state.pool, state.clock.now(), move |conn, now| {
        let Some(pending) = pending
            .as_deref()
            .map(|hash| two_factor::find_pending(conn, hash, now))
            .transpose()?
            .flatten()
        else {
            return Ok::<_, ApiError>(None);
        };
        Ok(Some((
            pending.user_id,
            keys::credential_ids_of(conn, pending.user_id)?,
        )))
    })
    .await?;
    let begun = state
        .passkeys
        .request(allowed.as_ref().map(|(_, ids)| ids.as_slice()))
        .map_err(|e| ApiError::internal(anyhow::anyhow!("passkey options: {}", e.0)))?;
    let (challenge, kept) = (begun.challenge, begun.state);
    let user_id = allowed.map(|(user_id, _)| user_id);
    let now = state.clock.now();
    let counted = network.clone();
    let stored = db::once(&state.pool, now, move |conn, now| {
        // Each stores a challenge for a caller nobody knows yet:
        // SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR, with provider sign-ins
        // started; over it rolls back, nothing stored.
        ip_limits::spend(conn, &limit, &counted, now)?;
        let expires_at = now + CHALLENGE_SECONDS;
        keys::put_challenge(conn, &challenge, Kind::Login, user_id, &kept, expires_at)?;
        Ok::<_, ApiError>(())
    })
    .await;
    state.ip_limits.spent.note(&limit, &network, now, stored)?;
    Ok(HttpResponse::Ok().json(begun.options))
}

/// `POST /login/passkey` `{"credential", "stay_signed_in"?}`: a whole
/// sign-in, or the second step of a pending one (then with that account's
/// passkey). Any failure is `401 invalid_credentials`, counted as a failed
/// login for the passkey's account when there is one.
#[tracing::instrument(name = "login_passkey", skip_all)]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let answered = sign_in_with(&state, &req, by, body).await;
    sign_in::counted(&state.metrics, answered)
}

/// What a sign-in's answer found before it is verified.
struct Found {
    /// The ceremony's state; `None` when its challenge is unknown, expired
    /// or answered already.
    kept: Option<String>,
    passkey: keys::CredentialRow,
    handle: Option<String>,
    pending: Option<two_factor::PendingRow>,
}

async fn sign_in_with(
    state: &AppState,
    req: &HttpRequest,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let credential = credential_of(&mut fields, &body.0);
    let stay = fields.flag("stay_signed_in");
    let (Some(credential), Ok(stay)) = (credential, stay) else {
        return Err(fields.into_error());
    };
    let assertion = RelyingParty::assertion(&credential).map_err(|e| {
        tracing::info!(why = e.0, "passkey sign-in refused");
        ApiError::PasskeyRefused
    })?;
    let cookie = req.get_session();
    let pending_hash = store::token_hash(&cookie);
    // A session the cookie named ends with this sign-in, as at /login.
    let earlier_session = SessionState::peek(req, |state| state.id().map(str::to_owned));
    let (challenge, credential_id) = (assertion.challenge.clone(), assertion.credential_id.clone());
    let asserted_handle = assertion.handle.clone();
    let looked_up = pending_hash.clone();
    let found = db::once(&state.pool, state.clock.now(), move |conn, now| {
        // Taken out first: a challenge is answered once, right or wrong.
        let taken = keys::take_challenge(conn, &challenge, Kind::Login, now)?;
        let Some(passkey) = keys::by_credential_id(conn, &credential_id)? else {
            return Ok(None);
        };
        let (meant_for, kept) = match taken {
            Some((meant_for, kept)) => (meant_for, Some(kept)),
            None => (None, None),
        };
        let pending = match &looked_up {
            Some(hash) => two_factor::find_pending(conn, hash, now)?,
            None => None,
        };
        // Options made for a pending sign-in answer only for its account,
        // and a pending sign-in is finished only by its account's passkey.
        let owner = passkey.user_id;
        if meant_for.is_some_and(|user| user != owner)
            || pending.as_ref().is_some_and(|p| p.user_id != owner)
        {
            return Ok(Some(Err(owner)));
        }
        let handle = keys::user_by_handle(conn, &asserted_handle)?
            .filter(|user| *user == owner)
            .map(|_| asserted_handle.clone());
        Ok::<_, ApiError>(Some(Ok(Found {
            kept,
            passkey,
            handle,
            pending,
        })))
    })
    .await?;
    let found = match found {
        // A credential no account has: no account's failure, but the
        // client network's, as a login with an unknown name is.
        None => {
            state
                .logins
                .judge(
                    "",
                    Account::Unnamable,
                    &by,
                    |_: Option<users::UserRow>| async { Ok(None::<()>) },
                )
                .await?;
            return Err(ApiError::PasskeyRefused);
        }
        Some(found) => found,
    };
    let owner = match &found {
        Ok(found) => found.passkey.user_id,
        Err(owner) => *owner,
    };
    let user = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(users::find(conn, owner)?)
    })
    .await?
    .ok_or(ApiError::PasskeyRefused)?;
    let key = username_key(&user.username);
    let (pool, clock, rp, lifetimes) = (
        &state.pool,
        state.clock.clone(),
        &state.passkeys,
        state.lifetimes,
    );
    let event_by = by.clone();
    let judged = state
        .logins
        .judge(
            &key,
            Account::SecondStep(owner),
            &by,
            |account: Option<users::UserRow>| async move {
                let (Some(account), Ok(found)) = (account, found) else {
                    return Ok(None);
                };
                let (Some(handle), Some(kept)) = (&found.handle, &found.kept) else {
                    return Ok(None);
                };
                let stored = Stored {
                    credential_id: &found.passkey.credential_id,
                    handle,
                    key: &found.passkey.public_key,
                    counter: &found.passkey.counter,
                };
                let counter = match rp.authenticate(&assertion, kept, stored) {
                    Ok(counter) => counter,
                    Err(e) => {
                        tracing::info!(why = e.0, "passkey sign-in refused");
                        return Ok(None);
                    }
                };
                // Told only to whoever proved the passkey.
                if account.disabled {
                    return Err(ApiError::AccountDisabled);
                }
                let stay = found.pending.as_ref().map_or(stay, |p| p.stay_signed_in);
                let (passkey_id, previous) = (found.passkey.id, found.passkey.counter.clone());
                let held = Held {
                    session: earlier_session,
                    pending: pending_hash.filter(|_| found.pending.is_some()),
                    reader: browser_of(req),
                    free_reads: anonymous_reads_join(req),
                };
                db::once(pool, clock.now(), move |conn, now| {
                    if !keys::used(conn, passkey_id, &previous, &counter, now)? {
                        return Ok(None);
                    }
                    let sign_in = SignIn {
                        user_id: account.id,
                        username: &account.username,
                        method: Method::Passkey,
                        step: Step::BothFactors,
                        stay,
                        by: &event_by,
                        held: &held,
                    };
                    let entered = sign_in::enter(conn, now, &lifetimes, sign_in)?;
                    Ok(Some((account.to_user(now), entered)))
                })
                .await
            },
        )
        .await?;
    let Some(((user, entered), turn)) = judged else {
        return Err(ApiError::PasskeyRefused);
    };
    drop(turn);
    entered.answer_user(state, &cookie, &user)
}
