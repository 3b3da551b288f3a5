//! Two-step sign-in with an authenticator app and recovery codes:
//! `POST /account/totp` (enrol), `POST /account/totp/confirm`,
//! `DELETE /account/totp`, `POST /account/recovery-codes`, and the second
//! step of a sign-in, `POST /login/two-factor`.
//!
//! A first factor proved for an account with an authenticator opens a
//! *pending* sign-in (`accounts::sign_in`): a row in `pending_logins`
//! named by the cookie's token, which the guard does not know as a
//! session, so every other route answers `401` to it. Only [`second_step`]
//! and the passkey sign-in (`routes::passkeys`) read it, and each turns it
//! into a session in the same transaction that spends the second factor.

use actix_session::SessionExt;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use super::body::{Fields, JsonObject};
use super::extract::{anonymous_reads_join, browser_of, Confirmed, SignedIn};
use crate::accounts::notices::notify;
use crate::accounts::sign_in::{self, Held, Method, SignIn, Step};
use crate::auth::Account;
use crate::db::{self, events, two_factor, users};
use crate::domain::recovery_code::{self, digest};
use crate::domain::totp::{qr_svg, TotpSecret};
use crate::domain::username::username_key;
use crate::domain::{EventKind, Requester};
use crate::error::{ApiError, NoSession};
use crate::mail::message::Notice;
use crate::session::store;
use crate::state::AppState;

/// A fresh set of recovery codes, and the digests that are all the
/// database keeps of them.
fn new_codes() -> (Vec<String>, Vec<String>) {
    let codes = recovery_code::generate_set();
    let digests = codes.iter().filter_map(|code| digest(code)).collect();
    (codes, digests)
}

/// `POST /account/totp` `{"password"}`: a new secret, waiting for its
/// first code. Sign-in is unchanged until it is confirmed.
pub async fn start(
    state: web::Data<AppState>,
    Confirmed(caller): Confirmed,
) -> Result<HttpResponse, ApiError> {
    let secret = TotpSecret::generate();
    let (user_id, stored) = (caller.session.user.id, secret.as_base32().to_owned());
    let started = db::once(&state.pool, state.clock.now(), move |conn, now| {
        Ok::<_, ApiError>(two_factor::start_enrolment(conn, user_id, &stored, now)?)
    })
    .await?;
    if !started {
        return Err(ApiError::TwoFactorEnabled);
    }
    let url = secret.otpauth_url(&state.settings.totp_issuer, &caller.session.user.username);
    Ok(HttpResponse::Ok().json(json!({
        "secret": secret.as_base32(),
        "qr_svg": qr_svg(&url),
        "otpauth_url": url,
    })))
}

/// `POST /account/totp/confirm` `{"code"}`: the enrolment's first code
/// turns it on, and the recovery codes are shown, this once.
pub async fn confirm(
    state: web::Data<AppState>,
    caller: SignedIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let code = body.one_text("code")?;
    let (codes, digests) = new_codes();
    let user_id = caller.session.user.id;
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        let row = two_factor::totp_of(conn, user_id)?;
        let row = match row {
            Some(row) if !row.enabled => row,
            Some(_) => return Err(ApiError::TwoFactorEnabled),
            None => return Err(ApiError::TwoFactorNotEnabled),
        };
        let step = TotpSecret::from_base32(row.secret.clone())
            .matching_step(&code, now)
            .ok_or_else(|| {
                ApiError::field("code", "is not the current code of the authenticator app")
            })?;
        // Restarted meanwhile: this code was for the secret it replaced.
        if !two_factor::confirm(conn, user_id, &row.secret, step)? {
            return Err(ApiError::field(
                "code",
                "is for an enrolment that was restarted or confirmed meanwhile",
            ));
        }
        two_factor::replace_codes(conn, user_id, &digests, now)?;
        events::record_plain(conn, now, user_id, EventKind::TwoFactorEnabled, &caller.by)?;
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "recovery_codes": codes })))
}

/// `DELETE /account/totp` `{"password", "code"}` (a current code or a
/// recovery code): the authenticator and the recovery codes are gone.
pub async fn turn_off(
    state: web::Data<AppState>,
    caller: SignedIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let password = caller.password_in(&mut fields, "password");
    let (Ok(password), Ok(code)) = (password, fields.text("code")) else {
        return Err(fields.into_error());
    };
    caller.confirm(&state, password).await?;
    let user_id = caller.session.user.id;
    let app = state.clone();
    let (pool, clock, by) = (&state.pool, state.clock.clone(), caller.by.clone());
    // A wrong code counts towards the username's lockout, as at sign-in:
    // a stolen session must not be a way to try codes without end.
    let key = username_key(&caller.session.user.username);
    let judged = state
        .logins
        .judge(
            &key,
            Account::Id(user_id),
            &caller.by,
            |_: Option<users::UserRow>| async move {
                db::once(pool, clock.now(), move |conn, now| {
                    match spend(conn, user_id, &Proof::either(code), now)? {
                        Spent::Yes => {}
                        Spent::No => return Ok(None),
                        Spent::NotOn => return Err(ApiError::TwoFactorNotEnabled),
                    }
                    two_factor::remove(conn, user_id)?;
                    two_factor::end_pending_of(conn, user_id)?;
                    events::record_plain(conn, now, user_id, EventKind::TwoFactorDisabled, &by)?;
                    Ok(Some(notify(
                        &app.mail,
                        conn,
                        now,
                        user_id,
                        Notice::SecondFactorOff,
                    )?))
                })
                .await
            },
        )
        .await?;
    let Some((noticed, _turn)) = judged else {
        return Err(ApiError::field(
            "code",
            "is neither the current code of the authenticator app nor an unused recovery code",
        ));
    };
    if noticed {
        state.mail.wake();
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /account/recovery-codes` `{"password"}`: ten new codes; the old
/// ones stop working.
pub async fn regenerate_codes(
    state: web::Data<AppState>,
    Confirmed(caller): Confirmed,
) -> Result<HttpResponse, ApiError> {
    let (codes, digests) = new_codes();
    let user_id = caller.session.user.id;
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        if !two_factor::totp_of(conn, user_id)?.is_some_and(|row| row.enabled) {
            return Err(ApiError::TwoFactorNotEnabled);
        }
        two_factor::replace_codes(conn, user_id, &digests, now)?;
        let kind = EventKind::RecoveryCodesRegenerated;
        events::record_plain(conn, now, user_id, kind, &caller.by)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "recovery_codes": codes })))
}

/// A second factor as sent.
enum Proof {
    /// An authenticator code.
    Code(String),
    /// A recovery code (its digest, or `None` for text that cannot be one).
    Recovery(Option<String>),
    /// Either (`DELETE /account/totp`): six digits are an authenticator
    /// code, anything else a recovery code.
    Either(String),
}

impl Proof {
    fn either(code: String) -> Proof {
        Proof::Either(code)
    }

    /// The method a sign-in with it is recorded as.
    fn method(&self) -> Method {
        match self {
            Proof::Code(_) => Method::Totp,
            Proof::Recovery(_) | Proof::Either(_) => Method::RecoveryCode,
        }
    }
}

enum Spent {
    Yes,
    No,
    /// The account has no authenticator on.
    NotOn,
}

/// Spends `proof` for the account, once only: an authenticator code's step
/// ([`two_factor::spend_step`]) or an unused recovery code.
fn spend(conn: &mut db::Conn, user_id: i64, proof: &Proof, now: i64) -> diesel::QueryResult<Spent> {
    let Some(totp) = two_factor::totp_of(conn, user_id)?.filter(|row| row.enabled) else {
        return Ok(Spent::NotOn);
    };
    let code_step =
        |code: &str| TotpSecret::from_base32(totp.secret.clone()).matching_step(code, now);
    let spent = match proof {
        Proof::Code(code) => match code_step(code) {
            Some(step) => two_factor::spend_step(conn, user_id, step)?,
            None => false,
        },
        Proof::Recovery(Some(digest)) => two_factor::spend_code(conn, user_id, digest, now)?,
        Proof::Recovery(None) => false,
        Proof::Either(code) => match (code_step(code), digest(code)) {
            (Some(step), _) => two_factor::spend_step(conn, user_id, step)?,
            (None, Some(digest)) => two_factor::spend_code(conn, user_id, &digest, now)?,
            (None, None) => false,
        },
    };
    Ok(if spent { Spent::Yes } else { Spent::No })
}

/// `{"code"}` or `{"recovery_code"}`, exactly one.
fn proof(body: &JsonObject) -> Result<Proof, ApiError> {
    let mut fields = Fields::new(&body.0);
    let code = fields.optional_text("code");
    let recovery = fields.optional_text("recovery_code");
    let (Ok(code), Ok(recovery)) = (code, recovery) else {
        return Err(fields.into_error());
    };
    match (code, recovery) {
        (Some(code), None) => Ok(Proof::Code(code)),
        (None, Some(typed)) => Ok(Proof::Recovery(digest(&typed))),
        _ => Err(ApiError::field(
            "code",
            "send either code (from the authenticator app) or recovery_code",
        )),
    }
}

/// `POST /login/two-factor` `{"code"}` or `{"recovery_code"}`: finishes a
/// pending sign-in with a session of the kind asked for at `/login`.
#[tracing::instrument(name = "login_two_factor", skip_all)]
pub async fn second_step(
    state: web::Data<AppState>,
    req: HttpRequest,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let answered = finish(&state, &req, by, body).await;
    sign_in::counted(&state.metrics, answered)
}

async fn finish(
    state: &AppState,
    req: &HttpRequest,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let cookie = req.get_session();
    let token_hash = store::token_hash(&cookie).ok_or(ApiError::NotLoggedIn(NoSession::Missing))?;
    let pending = {
        let token_hash = token_hash.clone();
        db::idempotent(&state.pool, state.clock.now(), move |conn, now| {
            let Some(pending) = two_factor::find_pending(conn, &token_hash, now)? else {
                return Ok(None);
            };
            Ok::<_, ApiError>(users::find(conn, pending.user_id)?.map(|user| (pending, user)))
        })
        .await?
    };
    let Some((pending, user)) = pending else {
        return Err(ApiError::NotLoggedIn(NoSession::Invalid));
    };
    if user.disabled {
        return Err(ApiError::AccountDisabled);
    }
    let proof = proof(&body)?;
    let method = proof.method();
    let key = username_key(&user.username);
    let (lifetimes, stay) = (state.lifetimes, pending.stay_signed_in);
    let pool = &state.pool;
    let event_by = by.clone();
    let clock = state.clock.clone();
    // The browser's anonymous reads join the account here, when the
    // sign-in finishes (the first step opened no session).
    let held = Held {
        reader: browser_of(req),
        free_reads: anonymous_reads_join(req),
        ..Held::default()
    };
    let judged = state
        .logins
        .judge(
            &key,
            Account::SecondStep(user.id),
            &by,
            |found: Option<users::UserRow>| async move {
                let Some(found) = found else {
                    return Ok(None);
                };
                if found.disabled {
                    return Err(ApiError::AccountDisabled);
                }
                let user_id = found.id;
                // The code is spent, the pending sign-in ended and the
                // session started in one transaction: none of it happens
                // without the rest.
                db::once(pool, clock.now(), move |conn, now| {
                    if !matches!(spend(conn, user_id, &proof, now)?, Spent::Yes) {
                        return Ok(None);
                    }
                    if !two_factor::end_pending(conn, &token_hash)? {
                        // Another request finished this sign-in first.
                        return Err(ApiError::NotLoggedIn(NoSession::Invalid));
                    }
                    let sign_in = SignIn {
                        user_id,
                        username: &found.username,
                        method,
                        step: Step::BothFactors,
                        stay,
                        by: &event_by,
                        held: &held,
                    };
                    let entered = sign_in::enter(conn, now, &lifetimes, sign_in)?;
                    if let Proof::Recovery(_) = proof {
                        let left = two_factor::codes_left(conn, user_id)?;
                        let detail = json!({ "left": left });
                        let kind = EventKind::RecoveryCodeUsed;
                        events::record(conn, now, user_id, kind, &event_by, detail)?;
                    }
                    Ok(Some((found.to_user(now), entered)))
                })
                .await
            },
        )
        .await?;
    let Some(((user, entered), turn)) = judged else {
        return Err(ApiError::InvalidCode);
    };
    drop(turn);
    entered.answer_user(state, &cookie, &user)
}
