//! `POST /login/email`, `POST /login/email/verify`: signing in with a link
//! or a code sent to an address, for readers without a password — and,
//! with EMAIL_SIGN_UP, a new account for an address nobody holds.
//!
//! Asking says nothing about accounts: the request records one row,
//! whatever the address, and the mail sender decides what to send
//! (`mail::sender`), as for a forgotten password. Nothing is spent by
//! opening the link, since a mail scanner opens links too: there is no
//! `GET`, and the SPA's page sends the token when the person confirms.
//! Using a link or a code is one `DELETE … RETURNING` (`db::email_sign_ins`),
//! so of parallel uses on any number of instances one signs in; the
//! sign-in then finishes as every other does (`accounts::sign_in`).

use actix_web::{web, HttpResponse};

use super::body::{Fields, JsonObject};
use super::extract::SigningIn;
use crate::accounts::by_mail;
use crate::accounts::sign_in::{self, two_factor_required, Entered, Held, Method, SignIn, Step};
use crate::auth::Account;
use crate::db::email_sign_ins::{self, Spent};
use crate::db::forgot_requests::Asked;
use crate::db::{self, users};
use crate::domain::{Email, Lifetimes, Requester, User};
use crate::error::ApiError;
use crate::session::token;
use crate::state::AppState;

/// `POST /login/email` (public): records the request and answers `202`,
/// whoever holds the address. Like `POST /password/forgot`, the request
/// does the same work for every address — the per-IP limit and one insert,
/// no lookup — so neither the answer nor its timing tells whether an
/// account holds it, is disabled, or has verified it.
#[tracing::instrument(name = "email_sign_in_request", skip_all)]
pub async fn request(
    state: web::Data<AppState>,
    by: Requester,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let email = fields.text("email");
    let email = fields.parse("email", email, |raw| Email::parse(&raw));
    let stay_signed_in = fields.flag("stay_signed_in");
    let (Ok(email), Ok(stay_signed_in)) = (email, stay_signed_in) else {
        return Err(fields.into_error());
    };
    let limit = state.ip_limits.email_sign_in;
    by_mail::record(&state, by, Asked::SignIn, email, stay_signed_in, limit).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "status": "accepted" })))
}

/// What proves the caller: the link's token, or the address and its code.
enum Proof {
    Link { token_hash: String },
    Code { email: Email, code: String },
}

fn proof(body: &JsonObject) -> Result<Proof, ApiError> {
    let mut fields = Fields::new(&body.0);
    if body.0.contains_key("token") || !body.0.contains_key("email") {
        // A token as sent is only ever hashed, never stored or logged.
        let Ok(sent) = fields.text("token") else {
            return Err(fields.into_error());
        };
        return Ok(Proof::Link {
            token_hash: token::hash(&sent),
        });
    }
    let email = fields.text("email");
    let email = fields.parse("email", email, |raw| Email::parse(&raw));
    let code = fields.text("code");
    match (email, code) {
        (Ok(email), Ok(code)) => Ok(Proof::Code { email, code }),
        _ => Err(fields.into_error()),
    }
}

/// What finishing a sign-in by email needs besides the spent request.
#[derive(Clone)]
struct Finish {
    lifetimes: Lifetimes,
    /// EMAIL_SIGN_UP, as it stands now.
    sign_up: bool,
    by: Requester,
    held: Held,
}

/// What a used link or code signed in: the sign-in, the User, and whether
/// the account was made by it.
struct Finished {
    entered: Entered,
    user: User,
    made: bool,
}

/// `POST /login/email/verify` (public): signs in with an emailed link's
/// token, or the address and its code.
#[tracing::instrument(name = "email_sign_in", skip_all)]
pub async fn verify(
    state: web::Data<AppState>,
    caller: SigningIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let answered = verify_proof(&state, caller, body).await;
    sign_in::counted(&state.metrics, answered)
}

async fn verify_proof(
    state: &web::Data<AppState>,
    caller: SigningIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let proof = proof(&body)?;
    let finish = Finish {
        lifetimes: state.lifetimes,
        sign_up: state.mail.settings.sign_up,
        by: caller.by.clone(),
        held: caller.held(),
    };
    let finished = match proof {
        Proof::Link { token_hash } => {
            db::once(&state.pool, state.clock.now(), move |conn, now| {
                let spent = email_sign_ins::spend_by_token(conn, &token_hash, now)?
                    .ok_or(ApiError::InvalidToken)?;
                finish_sign_in(conn, now, &finish, &spent)
            })
            .await?
        }
        Proof::Code { email, code } => by_code(state, finish, email, code).await?,
    };
    let Finished {
        entered,
        user,
        made,
    } = finished;
    entered.answer(
        state,
        &caller.cookie,
        || {
            if made {
                HttpResponse::Created().json(&user)
            } else {
                HttpResponse::Ok().json(&user)
            }
        },
        two_factor_required,
    )
}

/// A code, judged under the client network's failure limit and the
/// address's own turn, alike whether or not an account holds the address:
/// a wrong code counts toward the network's failed logins and against the
/// address's live sign-ins (killed at the fifth), never toward an account's
/// username lockout. Guessing codes then neither tells whether an account
/// holds the address (its answers and their number are the same for any
/// address) nor locks its owner out of signing in with a password.
async fn by_code(
    state: &web::Data<AppState>,
    finish: Finish,
    email: Email,
    code: String,
) -> Result<Finished, ApiError> {
    let email_key = email.key();
    // No username to lock: the turns are taken by the address.
    let key = format!("@{email_key}");
    let digest = state.mail.code_digest(&email_key, &code);
    let by = finish.by.clone();
    let pool = state.pool.clone();
    let now = state.clock.now();
    let judged = state
        .logins
        .judge(
            &key,
            Account::AddressCode,
            &by,
            |_: Option<users::UserRow>| async move {
                db::once(
                    &pool,
                    now,
                    move |conn, now| match email_sign_ins::spend_by_code(
                        conn, &email_key, &digest, now,
                    )? {
                        Some(spent) => finish_sign_in(conn, now, &finish, &spent).map(Some),
                        None => {
                            email_sign_ins::count_wrong_code(conn, &email_key, now)?;
                            Ok(None)
                        }
                    },
                )
                .await
            },
        )
        .await?;
    let (finished, turn) = judged.ok_or(ApiError::InvalidEmailCode)?;
    drop(turn);
    Ok(finished)
}

/// Signs in with a spent link or code, in its transaction: to the account
/// holding the address verified now, or to a new one made for it (with
/// EMAIL_SIGN_UP). The address's other sign-ins by email end with it. A
/// refusal (a disabled account) rolls back, the spending with it.
fn finish_sign_in(
    conn: &mut db::Conn,
    now: i64,
    finish: &Finish,
    spent: &Spent,
) -> Result<Finished, ApiError> {
    email_sign_ins::end_for_address(conn, &spent.email_key)?;
    let (user, step) = match users::verified_holder(conn, &spent.email_key)? {
        Some(id) => {
            let row = users::find(conn, id)?.ok_or(ApiError::InvalidToken)?;
            // Told only to whoever proved the address.
            if row.disabled {
                return Err(ApiError::AccountDisabled);
            }
            (row.to_user(now), Step::FirstFactor)
        }
        // Asked for while the address was held, which it is no more.
        None if !finish.sign_up => return Err(ApiError::InvalidToken),
        None => (new_account(conn, now, spent)?, Step::Registered),
    };
    let sign_in = SignIn {
        user_id: user.id,
        username: &user.username,
        method: Method::Email,
        step,
        stay: spent.stay_signed_in,
        by: &finish.by,
        held: &finish.held,
    };
    let entered = sign_in::enter(conn, now, &finish.lifetimes, sign_in)?;
    Ok(Finished {
        entered,
        user,
        made: step == Step::Registered,
    })
}

/// A new account for the address the link or code proved: named from its
/// local part (made valid and unique as for a provider's sign-in), no
/// password, the address verified.
fn new_account(conn: &mut db::Conn, now: i64, spent: &Spent) -> Result<User, ApiError> {
    let email = Email::parse(&spent.email).map_err(|_| ApiError::InvalidToken)?;
    let local = email.as_str().split('@').next().unwrap_or_default();
    let user = sign_in::new_passwordless(conn, local, now)?.ok_or(ApiError::UsernameTaken)?;
    users::set_email(conn, user.id, Some(&email))?;
    match users::mark_verified(conn, user.id, &spent.email_key) {
        Ok(_) => Ok(user),
        // Another sign-in by email made an account for the address at
        // the same moment (on PostgreSQL; SQLite's writes take turns),
        // and ended this request with the others: this one rolls back.
        Err(e) if db::is_unique_violation(&e) => Err(ApiError::InvalidToken),
        Err(e) => Err(e.into()),
    }
}
