//! Finishing a sign-in: the one path every way in takes — a password (and
//! a registration), the second step, a passkey, another provider, an
//! emailed link or code — so that none of them can forget a step; and the
//! account a way in without a password makes ([`new_passwordless`]).
//!
//! A sign-in finishes in two halves. [`enter`] runs in the caller's write
//! transaction, with whatever proved the caller: it ends what the browser
//! held (a session, or a pending sign-in: no token that existed before
//! authentication survives it), then either opens the pending second step
//! — when the account has an authenticator and only a first factor was
//! proved — or starts the session, notes the login, clears the username's
//! lockout and records the event. [`Entered::answer`] runs after the
//! commit: the cookie, the log line and the login metric.

use actix_session::Session;
use actix_web::HttpResponse;
use serde_json::json;

use super::members;
use crate::db::insights::CREDIT_SECONDS;
use crate::db::unlocks::Granted;
use crate::db::{
    self, anonymous, email_sign_ins, events, gifts, insights, passkeys, sessions, throttle,
    two_factor, unlocks, users,
};
use crate::domain::paywall::Reading;
use crate::domain::username::{candidates, username_key};
use crate::domain::{EventKind, Lifetimes, Requester, User};
use crate::error::ApiError;
use crate::metrics::{LoginOutcome, Metrics};
use crate::session::{self, token, Issued};
use crate::state::AppState;

/// How long a pending sign-in (a first factor proved, waiting for the
/// second) lives, in seconds.
pub const PENDING_SECONDS: i64 = 300;

/// How the caller proved who they are: the `method` of the `login` (or
/// `registered`) event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Password,
    Totp,
    RecoveryCode,
    Passkey,
    /// Another provider, by its name (`oidc:<name>`).
    Provider(String),
    /// A link or a code sent to the account's address.
    Email,
}

impl Method {
    /// As the event's `detail.method` says it.
    pub fn name(&self) -> String {
        match self {
            Method::Password => "password".to_owned(),
            Method::Totp => "totp".to_owned(),
            Method::RecoveryCode => "recovery_code".to_owned(),
            Method::Passkey => "passkey".to_owned(),
            Method::Provider(name) => format!("oidc:{name}"),
            Method::Email => "email".to_owned(),
        }
    }
}

/// How far a sign-in has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A new account, made by this request: its session is part of its
    /// registration (one `registered` event, and no login noted).
    Registered,
    /// A first factor (a password, a provider): an account with an
    /// authenticator is asked for its second.
    FirstFactor,
    /// Both factors: the second step finished, or a passkey alone.
    BothFactors,
}

/// What the browser held when it signed in, which signing in ends.
#[derive(Debug, Clone, Default)]
pub struct Held {
    /// The id of the session its cookie named.
    pub session: Option<String>,
    /// The token hash of a pending sign-in its cookie held.
    pub pending: Option<String>,
    /// Who it is as a reader without a session (`domain::gift::browser_reader`),
    /// when it has the cookie: a registration from it is credited to the
    /// wall that last refused it or a gift it opened after, and its
    /// anonymous reads join the account (see `free_reads`).
    pub reader: Option<String>,
    /// The account's monthly meter (FREE_READS) when anonymous reads are
    /// on: what the browser opened this month without a session joins
    /// the account's month, once (when the session starts: see `enter`).
    pub free_reads: Option<u32>,
}

/// A sign-in to one account, as its route has proved it.
pub struct SignIn<'a> {
    pub user_id: i64,
    pub username: &'a str,
    pub method: Method,
    pub step: Step,
    /// The stay-signed-in choice.
    pub stay: bool,
    pub by: &'a Requester,
    pub held: &'a Held,
}

/// What a sign-in opened. (No `Debug`: it holds the new token.)
pub struct Entered {
    pub user_id: i64,
    method: Method,
    stay: bool,
    opened: Opened,
}

enum Opened {
    Session {
        issued: Issued,
        registered: bool,
    },
    /// A sign-in waiting for its second step: the cookie's new token, and
    /// whether the account has a passkey to finish it with.
    Pending {
        token: String,
        passkey: bool,
    },
}

/// Names tried for a new account before giving up (the contract's
/// candidates: the name wanted, then numbered, then random suffixes).
const NAMES_TRIED: usize = 20;

/// A new account without a password, for a way in that needs none (a
/// provider, an emailed link): the first free one of `wanted`'s valid
/// candidates (`domain::username::candidates`). `None` when every name
/// tried was taken.
pub fn new_passwordless(
    conn: &mut db::Conn,
    wanted: &str,
    now: i64,
) -> diesel::QueryResult<Option<User>> {
    for name in candidates(wanted).take(NAMES_TRIED) {
        if users::exists(conn, &name.key())? {
            continue;
        }
        // An empty hash is an account without a password.
        if let Some(user) = members::register_in_savepoint(conn, now, &name, "")? {
            return Ok(Some(user));
        }
    }
    Ok(None)
}

/// Ends the outstanding sign-ins by email of the account's verified
/// address, in the caller's transaction: its password changed or was
/// reset, its address is about to change, or it is about to go. (An
/// unverified address's sign-ins are not the account's to end: they offer
/// whoever proves it a new account.)
pub fn end_emailed(conn: &mut db::Conn, user_id: i64) -> diesel::QueryResult<()> {
    let held = users::email_of(conn, user_id)?.filter(|row| row.email_verified);
    if let Some(key) = held.and_then(|row| row.email_key) {
        email_sign_ins::end_for_address(conn, &key)?;
    }
    Ok(())
}

/// The first half of every sign-in, in the caller's write transaction
/// (see the module's doc).
pub fn enter(
    conn: &mut db::Conn,
    now: i64,
    lifetimes: &Lifetimes,
    sign_in: SignIn<'_>,
) -> diesel::QueryResult<Entered> {
    let SignIn {
        user_id,
        username,
        method,
        step,
        stay,
        by,
        held,
    } = sign_in;
    if let Some(id) = &held.session {
        sessions::end(conn, id)?;
    }
    if let Some(token_hash) = &held.pending {
        two_factor::end_pending(conn, token_hash)?;
    }
    // A second factor applies whoever vouched for the first. The
    // username's failures are not cleared yet, or a thief of the password
    // could guess codes without end, clearing the count with the password
    // between guesses.
    if step == Step::FirstFactor && two_factor::totp_of(conn, user_id)?.is_some_and(|t| t.enabled) {
        let passkey = passkeys::count_of(conn, user_id)? > 0;
        let token = token::generate();
        let token_hash = token::hash(&token);
        two_factor::insert_pending(conn, &token_hash, user_id, stay, now, now + PENDING_SECONDS)?;
        return Ok(Entered {
            user_id,
            method,
            stay,
            opened: Opened::Pending { token, passkey },
        });
    }
    throttle::clear(conn, &username_key(username))?;
    let issued = session::start(conn, user_id, stay, by, now, lifetimes)?;
    if let (Some(reader), Some(free_reads)) = (&held.reader, held.free_reads) {
        take_anonymous_reads(conn, user_id, reader, free_reads, now)?;
    }
    let detail = json!({ "method": method.name() });
    let registered = step == Step::Registered;
    if registered {
        events::record(conn, now, user_id, EventKind::Registered, by, detail)?;
        members::announce_joined(conn, now, user_id)?;
        if let Some(reader) = &held.reader {
            credit_registration(conn, user_id, reader, now)?;
        }
    } else {
        users::mark_login(conn, user_id, now)?;
        events::record(conn, now, user_id, EventKind::Login, by, detail)?;
    }
    Ok(Entered {
        user_id,
        method,
        stay,
        opened: Opened::Session { issued, registered },
    })
}

/// The posts the browser `reader` opened this month without a session,
/// joined to the month of `user_id`, who has just signed in on it: each
/// unlocked for the account and counted once on its meter (a post opened
/// both ways counts once), earliest first, never past `free_reads`. Once
/// per browser and month, whoever signs in on it after (and however many
/// sign-ins race: `anonymous::take` lets one through); the browser's own
/// meter stays spent. An account that is not metered (premium, an author
/// or an admin) takes nothing, and leaves them.
fn take_anonymous_reads(
    conn: &mut db::Conn,
    user_id: i64,
    reader: &str,
    free_reads: u32,
    now: i64,
) -> diesel::QueryResult<()> {
    let Some(user) = users::find(conn, user_id)? else {
        return Ok(());
    };
    let user = user.to_user(now);
    let reading = Reading::at(now, user.plan, user.role, free_reads);
    let Some(limit) = reading.limit else {
        return Ok(());
    };
    if !anonymous::take(conn, reader, reading.month, user_id)? {
        return Ok(());
    }
    for post_id in anonymous::opened(conn, reader, reading.month)? {
        if unlocks::grant(conn, user_id, reading.month, post_id, limit, now)? == Granted::Full {
            break;
        }
    }
    Ok(())
}

/// Credits the registration of `user_id` from the browser `reader` at
/// `now`: to the post whose registration wall it met last within
/// [`CREDIT_SECONDS`], or to the gift it opened after that (or without a
/// wall), if any.
fn credit_registration(
    conn: &mut db::Conn,
    user_id: i64,
    reader: &str,
    now: i64,
) -> diesel::QueryResult<()> {
    let wall = anonymous::last_wall(conn, reader, now - CREDIT_SECONDS)?;
    let after = wall.map(|(_, walled_at)| walled_at);
    let post_id = match gifts::credit(conn, user_id, reader, now, after)? {
        Some(post_id) => Some(post_id),
        None => wall.map(|(post_id, _)| post_id),
    };
    if let Some(post_id) = post_id {
        insights::registration_credited(conn, post_id, now)?;
    }
    Ok(())
}

impl Entered {
    /// The second half of every sign-in, after its transaction committed:
    /// `signed_in` is the answer with a session, `pending` the answer
    /// while the second step is due (given whether a passkey may finish
    /// it). The cookie gets the new token — a stay-signed-in session's with
    /// a `Max-Age`, a pending one the browser session's —, a sign-in is
    /// counted in the metrics, and logged.
    pub fn answer(
        self,
        state: &AppState,
        cookie: &Session,
        signed_in: impl FnOnce() -> HttpResponse,
        pending: impl FnOnce(bool) -> HttpResponse,
    ) -> Result<HttpResponse, ApiError> {
        let (user_id, method) = (self.user_id, self.method.name());
        match self.opened {
            Opened::Session { issued, registered } => {
                if registered {
                    tracing::info!(user_id, method, "registered");
                } else {
                    state.metrics.login(LoginOutcome::Success);
                    tracing::info!(user_id, method, "logged in");
                }
                let remember_for = self.stay.then_some(state.lifetimes.remember);
                session::begin(cookie, issued.token, remember_for, signed_in())
            }
            Opened::Pending { token, passkey } => {
                tracing::info!(user_id, method, "first factor right; second step pending");
                session::begin(cookie, token, None, pending(passkey))
            }
        }
    }

    /// [`Entered::answer`] for a sign-in that proved both factors, and so
    /// never waits for a second: `200` with the User.
    pub fn answer_user(
        self,
        state: &AppState,
        cookie: &Session,
        user: &User,
    ) -> Result<HttpResponse, ApiError> {
        let json = || HttpResponse::Ok().json(user);
        self.answer(state, cookie, json, |_| json())
    }
}

/// `202`: a first factor was right, and the account's second step is due
/// (`passkey`: a passkey may finish it too).
pub fn two_factor_required(passkey: bool) -> HttpResponse {
    let mut methods = vec!["totp", "recovery_code"];
    if passkey {
        methods.push("passkey");
    }
    HttpResponse::Accepted().json(json!({
        "status": "two_factor_required",
        "methods": methods,
    }))
}

/// `answered`, a sign-in route's answer, with a refusal counted in
/// `tollgate_logins_total` (see [`count_refusal`]; a success is counted by
/// [`Entered::answer`]).
pub fn counted(
    metrics: &Metrics,
    answered: Result<HttpResponse, ApiError>,
) -> Result<HttpResponse, ApiError> {
    if let Err(refusal) = &answered {
        count_refusal(metrics, refusal);
    }
    answered
}

/// Counts a refused sign-in in `tollgate_logins_total`: a wrong secret, a
/// lockout or a per-IP refusal. A malformed body or an outage is not an
/// attempt, and is not counted.
pub fn count_refusal(metrics: &Metrics, refusal: &ApiError) {
    let outcome = match refusal {
        ApiError::InvalidCredentials
        | ApiError::InvalidCode
        | ApiError::InvalidEmailCode
        | ApiError::PasskeyRefused => LoginOutcome::Failure,
        ApiError::TooManyAttempts { .. } => LoginOutcome::Locked,
        ApiError::TooManyRequests { .. } => LoginOutcome::RateLimited,
        _ => return,
    };
    metrics.login(outcome);
}
