//! Signing in with other providers: `GET /auth/providers`,
//! `GET /auth/{provider}/start`, `GET /auth/{provider}/callback`, and the
//! account's identities, `GET /account/identities` and
//! `DELETE /account/identities/{id}`.
//!
//! A sign-in is two browser navigations. `start` makes the flow's
//! secrets (`state`, `nonce`, a PKCE verifier), keeps them in
//! `provider_flows` for [`FLOW_SECONDS`] under the hash of `state`, binds
//! them to this browser with a short `HttpOnly` cookie, and sends the
//! browser to the provider. `callback` takes the flow out (so it is used
//! once, on whichever instance), checks that the same browser came back,
//! trades the code for the person's profile, decides which account that
//! is, and sends the browser to the SPA with a session — or to its login
//! page with `?error=<code>`. A callback URL replayed in another browser
//! lacks the cookie and fails: nobody can sign a victim in to the
//! attacker's account (login CSRF).

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::body::{Fields, JsonObject};
use super::extract::{PathId, SignedIn, SigningIn};
use crate::accounts::notices::{notify, send_verification};
use crate::accounts::sign_in::{self, Entered, Held, Method, SignIn, Step};
use crate::accounts::ways_in::remove_keeping_one;
use crate::auth::ip_limits;
use crate::auth::providers::{random_token, FlowSecrets, Profile, Provider, ProviderError};
use crate::db::identities::{self, FlowRow, NewFlow};
use crate::db::{self, events, sessions, two_factor, users};
use crate::domain::{Email, EventKind, Lifetimes, Requester};
use crate::error::ApiError;
use crate::mail::message::Notice;
use crate::metrics::LoginOutcome;
use crate::session::{token, SessionState};
use crate::state::AppState;
use crate::time::rfc3339;

/// The cookie that binds a flow to the browser that started it.
pub const FLOW_COOKIE: &str = "tollgate_flow";

/// How long a flow waits for the provider to send the browser back.
pub const FLOW_SECONDS: i64 = 600;

/// `GET /auth/providers`: the names, for the SPA's "Continue with …"
/// buttons.
pub async fn list(state: web::Data<AppState>) -> HttpResponse {
    let providers: Vec<_> = state
        .providers
        .names()
        .map(|name| json!({ "name": name }))
        .collect();
    HttpResponse::Ok().json(json!({ "providers": providers }))
}

/// The longest `return_to` kept, in bytes: a path of the SPA, not a
/// payload (each start stores it until its flow expires).
const MAX_RETURN_TO: usize = 512;

/// `return_to` as sent, if it is a path of the SPA of at most
/// [`MAX_RETURN_TO`] bytes: it must start with one
/// `/`, and hold no backslash, no control character and nothing a browser
/// would read as another host. Anything else is dropped for `/`: the SPA's
/// address is prefixed to it, so `//evil.example` or `/\evil.example`
/// (which browsers read as a host), or `@evil.example` (which would make
/// the SPA's host a user name), never leave it.
fn safe_return_to(raw: Option<&str>) -> String {
    let Some(path) = raw else {
        return "/".to_owned();
    };
    let plain = path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= MAX_RETURN_TO
        && !path
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        // Percent-encoded slashes and backslashes could be decoded by the
        // SPA's router into the forms above.
        && !path.to_ascii_lowercase().contains("%2f")
        && !path.to_ascii_lowercase().contains("%5c");
    if plain {
        path.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `{APP_URL}{path}`, checked once more to be on the SPA's origin.
fn to_app(state: &AppState, path: &str) -> String {
    let app = &state.settings.app_url;
    let joined = format!("{app}{path}");
    let same_origin = match (url::Url::parse(app), url::Url::parse(&joined)) {
        (Ok(a), Ok(j)) => a.origin() == j.origin(),
        _ => false,
    };
    if same_origin {
        joined
    } else {
        format!("{app}/")
    }
}

fn redirect(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// To the SPA's login page, saying why (`/login?error=<code>`).
fn refused(state: &AppState, code: &str) -> HttpResponse {
    redirect(&to_app(state, &format!("/login?error={code}")))
}

/// The query string's parameters; a malformed one reads as empty.
fn query(req: &HttpRequest) -> Vec<(String, String)> {
    serde_urlencoded::from_str(req.query_string()).unwrap_or_default()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, v)| v.as_str())
}

/// `GET /auth/{provider}/start?return_to=/path&stay_signed_in=true`: a
/// sign-in, whoever calls it — reached with a session, the session it ends
/// in replaces that one; linking is `POST /account/identities`. At most
/// SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR per client network: each stores a
/// flow for a caller nobody knows yet.
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    by: Requester,
) -> Result<HttpResponse, ApiError> {
    let provider = state.providers.get(&name).ok_or(ApiError::NotFound)?;
    let query = query(&req);
    let flow = Flow {
        return_to: safe_return_to(param(&query, "return_to")),
        stay_signed_in: param(&query, "stay_signed_in") == Some("true"),
        link: None,
        network: Some(state.ip_limits.network(by.ip)),
    };
    Ok(match begin(&state, &req, provider, flow).await? {
        Begun::Sent { url, cookie } => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .cookie(cookie)
            .finish(),
        Begun::Refused(code) => refused(&state, code),
    })
}

/// `POST /account/identities` `{"provider", "password"?, "return_to"?}`:
/// `200 {"url"}`, where to send the browser to link the provider to the
/// caller's account. Linking is a sensitive change (a way in that outlives
/// the session and its password), so it takes the password — or, for an
/// account without one, a sign-in at most `REAUTH_SECONDS` old — as adding
/// a passkey does. The flow is bound to this browser and this session.
pub async fn link(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: SignedIn,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut fields = Fields::new(&body.0);
    let provider = fields.text("provider");
    let password = caller.password_in(&mut fields, "password");
    let return_to = fields.optional_text("return_to");
    let (Ok(provider), Ok(password), Ok(return_to)) = (provider, password, return_to) else {
        return Err(fields.into_error());
    };
    let provider = state.providers.get(&provider).ok_or(ApiError::NotFound)?;
    caller.confirm(&state, password).await?;
    let flow = Flow {
        return_to: safe_return_to(return_to.as_deref()),
        stay_signed_in: false,
        link: Some((caller.session.user.id, caller.session.id.clone())),
        network: None,
    };
    Ok(match begin(&state, &req, provider, flow).await? {
        Begun::Sent { url, cookie } => HttpResponse::Ok()
            .cookie(cookie)
            .json(json!({ "url": url })),
        // Where the browser would have landed had the provider been
        // reached: the SPA's login page, saying why.
        Begun::Refused(code) => HttpResponse::Ok().json(json!({
            "url": to_app(&state, &format!("/login?error={code}")),
        })),
    })
}

/// A flow about to start.
struct Flow {
    return_to: String,
    stay_signed_in: bool,
    /// For a link: the account, and the session that asked for it.
    link: Option<(i64, String)>,
    /// The client network a sign-in's start is counted against.
    network: Option<String>,
}

/// How starting a flow came out.
enum Begun {
    /// To the provider's `url`, with the cookie binding the flow to this
    /// browser.
    Sent {
        url: String,
        cookie: Cookie<'static>,
    },
    /// Not started: the error code the SPA's login page is given.
    Refused(&'static str),
}

/// Makes a flow's secrets, asks the provider where to send the browser,
/// and keeps the flow for [`FLOW_SECONDS`] under the hash of its `state`,
/// bound to this browser (see the module's doc). A start over its client
/// network's limit stores nothing.
async fn begin(
    state: &AppState,
    req: &HttpRequest,
    provider: &Provider,
    flow: Flow,
) -> Result<Begun, ApiError> {
    // One browser, one binding: a second sign-in started in another tab
    // keeps the first one's cookie, so both can finish.
    let browser = req
        .cookie(FLOW_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| {
            v.len() == 43
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .unwrap_or_else(random_token);

    let limit = state.ip_limits.sign_in_starts;
    if let Some(network) = &flow.network {
        if state
            .ip_limits
            .spent
            .check(&limit, network, state.clock.now())
            .await
            .is_err()
        {
            return Ok(Begun::Refused("too_many_requests"));
        }
    }
    let secrets = FlowSecrets::generate();
    let callback = state.providers.callback_url(provider.name());
    let url = match provider
        .authorization_url(&state.providers.http, &callback, &secrets)
        .await
    {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(provider = provider.name(), error = %e, "could not start a sign-in");
            return Ok(Begun::Refused(e.code()));
        }
    };
    let (state_hash, browser_hash) = (token::hash(&secrets.state), token::hash(&browser));
    let provider_name = provider.name().to_owned();
    let (user_id, session_id) = flow.link.unzip();
    let network = flow.network.clone();
    let now = state.clock.now();
    let stored = db::once(&state.pool, now, move |conn, now| {
        if let Some(network) = &flow.network {
            // Over the limit rolls this transaction back: nothing stored.
            ip_limits::spend(conn, &limit, network, now)?;
        }
        let row = FlowRow {
            browser_hash,
            provider: provider_name,
            nonce: secrets.nonce,
            pkce_verifier: secrets.pkce_verifier,
            return_to: flow.return_to,
            user_id,
            stay_signed_in: flow.stay_signed_in,
            expires_at: now + FLOW_SECONDS,
            session_id,
        };
        identities::put_flow(
            conn,
            NewFlow {
                state_hash: &state_hash,
                row: &row,
            },
        )?;
        Ok::<_, ApiError>(())
    })
    .await;
    let stored = match &network {
        Some(network) => state.ip_limits.spent.note(&limit, network, now, stored),
        None => stored,
    };
    match stored {
        Ok(()) => {}
        Err(ApiError::TooManyRequests { .. }) => return Ok(Begun::Refused("too_many_requests")),
        Err(e) => return Err(e),
    }
    let cookie = Cookie::build(FLOW_COOKIE, browser)
        .path(state.providers.cookie_path())
        .http_only(true)
        // Sent with the provider's top-level redirect back, not with
        // requests other sites make.
        .same_site(SameSite::Lax)
        .secure(state.settings.cookie_secure)
        .max_age(CookieDuration::seconds(FLOW_SECONDS))
        .finish();
    Ok(Begun::Sent { url, cookie })
}

/// What the callback's decision came to.
enum Outcome {
    /// A sign-in: a new session for the account, or (an account with an
    /// authenticator) a pending sign-in, finished at `/login/two-factor`
    /// in the SPA.
    SignedIn(Entered),
    /// The identity was linked to the caller's own account, whose session
    /// goes on.
    Linked,
}

/// `GET /auth/{provider}/callback?code&state` (or `?error&state`).
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    caller: SigningIn,
) -> Result<HttpResponse, ApiError> {
    let provider = state.providers.get(&name).ok_or(ApiError::NotFound)?;
    match come_back(&state, &req, provider, caller).await {
        Ok(answer) => Ok(answer),
        Err(Refusal(code)) => Ok(refused(&state, code)),
    }
}

/// A callback that ends at the SPA's login page with this error code, and
/// changes nothing: whatever its transaction did is rolled back.
struct Refusal(&'static str);

/// Why a callback's transaction rolled back.
enum Undone {
    Api(ApiError),
    /// The identity a link flow brought belongs to another account.
    IdentityTaken,
}

impl From<ApiError> for Undone {
    fn from(e: ApiError) -> Self {
        Undone::Api(e)
    }
}

impl From<db::Error> for Undone {
    fn from(e: db::Error) -> Self {
        Undone::Api(e.into())
    }
}

impl From<diesel::result::Error> for Undone {
    fn from(e: diesel::result::Error) -> Self {
        Undone::Api(e.into())
    }
}

impl From<Undone> for Refusal {
    fn from(undone: Undone) -> Self {
        match undone {
            Undone::Api(e) => e.into(),
            Undone::IdentityTaken => Refusal("identity_taken"),
        }
    }
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unavailable => Refusal("unavailable"),
            ApiError::AccountDisabled => Refusal("account_disabled"),
            // The flow's session or account went away while it was out.
            ApiError::NotFound | ApiError::NotLoggedIn(_) => Refusal("invalid_state"),
            e => {
                tracing::error!(error = %e, "a provider sign-in failed");
                Refusal("internal")
            }
        }
    }
}

async fn come_back(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    provider: &Provider,
    caller: SigningIn,
) -> Result<HttpResponse, Refusal> {
    let name = provider.name();
    let query = query(req);
    let state_param = param(&query, "state").ok_or(Refusal("invalid_state"))?;
    let state_hash = token::hash(state_param);
    let now = state.clock.now();
    let flow = db::once(&state.pool, now, move |conn, _| {
        Ok::<_, ApiError>(identities::take_flow(conn, &state_hash)?)
    })
    .await?
    .filter(|flow| flow.expires_at > now && flow.provider == name)
    .ok_or(Refusal("invalid_state"))?;
    let browser = req.cookie(FLOW_COOKIE).map(|c| token::hash(c.value()));
    let same_browser =
        browser.is_some_and(|hash| bool::from(hash.as_bytes().ct_eq(flow.browser_hash.as_bytes())));
    if !same_browser {
        tracing::info!(provider = name, "a sign-in came back in another browser");
        return Err(Refusal("invalid_state"));
    }
    // A link goes on only with the session that asked for it: one ended
    // meanwhile (a logout, a password change) asked for nothing any more.
    if let Some(asked_by) = &flow.session_id {
        let same_session = SessionState::peek(req, |s| s.id() == Some(asked_by.as_str()));
        if !same_session {
            tracing::info!(
                provider = name,
                "a link came back without the session that asked"
            );
            return Err(Refusal("invalid_state"));
        }
    }
    if let Some(error) = param(&query, "error") {
        let e = match error {
            "access_denied" => ProviderError::Denied,
            other => ProviderError::Failed(format!("the provider answered `{other}`")),
        };
        tracing::info!(provider = name, error = %e, "the provider sent no code");
        return Err(Refusal(e.code()));
    }
    let code = param(&query, "code").ok_or(Refusal("provider_error"))?;
    let callback = state.providers.callback_url(name);
    let profile = provider
        .finish(
            &state.providers.http,
            &state.clock,
            &callback,
            code,
            &flow.pkce_verifier,
            &flow.nonce,
        )
        .await
        .map_err(|e| {
            tracing::warn!(provider = name, error = %e, "a provider sign-in was refused");
            if matches!(e, ProviderError::BadToken(_)) {
                state.metrics.login(LoginOutcome::Failure);
            }
            Refusal(e.code())
        })?;

    let ask = Decide {
        provider: name.to_owned(),
        profile,
        linking: flow.user_id,
        stay: flow.stay_signed_in,
        by: caller.by.clone(),
        held: caller.held(),
    };
    let mut tried = false;
    let (outcome, queued) = loop {
        let (lifetimes, app, ask) = (state.lifetimes, state.clone(), ask.clone());
        let decided = db::once(&state.pool, state.clock.now(), move |conn, now| {
            decide(conn, now, &lifetimes, &app, ask)
        })
        .await;
        match decided {
            // A parallel callback for the same new person made their
            // account first (this one rolled back): the second try finds
            // it by the identity.
            Err(Undone::Api(ApiError::UsernameTaken)) if !tried => tried = true,
            other => break other?,
        }
    };
    if queued {
        state.mail.wake();
    }
    match outcome {
        Outcome::Linked => Ok(redirect(&to_app(state, &flow.return_to))),
        Outcome::SignedIn(entered) => entered
            .answer(
                state,
                &caller.cookie,
                || redirect(&to_app(state, &flow.return_to)),
                |_| redirect(&to_app(state, "/login/two-factor")),
            )
            .map_err(Refusal::from),
    }
}

/// What the decision's transaction needs.
#[derive(Clone)]
struct Decide {
    provider: String,
    profile: Profile,
    /// The account a link flow is for; `None` for a sign-in.
    linking: Option<i64>,
    stay: bool,
    by: Requester,
    /// What the browser held, which signing in ends.
    held: Held,
}

/// What the callback does, in one transaction, so that a link, an
/// account and its session commit together or not at all — and a refusal
/// (a disabled account, an identity another account holds) changes
/// nothing. A link flow links the identity to its account
/// ([`link_to`]). A sign-in signs in, in the contract's order: the
/// account already linked to this identity; the account holding the
/// provider's address verified, when the provider vouches for it too (a
/// join, which ends that account's other sessions and tells its address);
/// else a new account. Then the sign-in itself, the way every sign-in
/// finishes. Whether a message was queued comes with the outcome.
fn decide(
    conn: &mut db::Conn,
    now: i64,
    lifetimes: &Lifetimes,
    app: &AppState,
    ask: Decide,
) -> Result<(Outcome, bool), Undone> {
    if let Some(user_id) = ask.linking {
        return Ok((Outcome::Linked, link_to(conn, now, app, &ask, user_id)?));
    }
    let profile = &ask.profile;
    let provider = ask.provider.as_str();
    // An address the provider gives that the contract's rule accepts.
    let email = profile.email.as_deref().and_then(|e| Email::parse(e).ok());
    let mut queued = false;
    let mut user_id = identities::owner(conn, provider, &profile.subject)?;
    if let (None, Some(email), true) = (user_id, &email, profile.email_verified) {
        // Only an address both sides have verified joins two accounts: an
        // unverified one proves nobody owns it. Whoever registered it
        // first and verified it keeps the account, but not its sessions:
        // the provider's person signs in, and anyone else signed in to it
        // is signed out and told.
        if let Some(holder) = users::verified_holder(conn, &email.key())? {
            if linked(conn, now, &ask, holder)? {
                sessions::end_all(conn, holder)?;
                two_factor::end_pending_of(conn, holder)?;
                queued |= notify(&app.mail, conn, now, holder, Notice::IdentityJoined)?;
                user_id = Some(holder);
            }
        }
    }
    let made = user_id.is_none();
    let user_id = match user_id {
        Some(id) => id,
        None => {
            let (id, sent) = new_account(conn, now, app, &ask, email.as_ref())?;
            queued |= sent;
            id
        }
    };

    let Some(user) = users::find(conn, user_id)? else {
        // Deleted in between: nothing to sign in to.
        return Err(ApiError::NotFound.into());
    };
    if user.disabled {
        // Rolls back whatever this callback linked or made.
        return Err(ApiError::AccountDisabled.into());
    }
    let sign_in = SignIn {
        user_id,
        username: &user.username,
        method: Method::Provider(provider.to_owned()),
        step: if made {
            Step::Registered
        } else {
            Step::FirstFactor
        },
        stay: ask.stay,
        by: &ask.by,
        held: &ask.held,
    };
    let entered = sign_in::enter(conn, now, lifetimes, sign_in)?;
    Ok((Outcome::SignedIn(entered), queued))
}

/// Links the profile's identity to `user_id`, recording `identity_linked`:
/// `false` when another request linked it first.
fn linked(conn: &mut db::Conn, now: i64, ask: &Decide, user_id: i64) -> Result<bool, ApiError> {
    let provider = ask.provider.as_str();
    let email = ask
        .profile
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok());
    let address = email.as_ref().map(Email::as_str);
    let Some(id) = identities::link(conn, user_id, provider, &ask.profile.subject, address, now)?
    else {
        return Ok(false);
    };
    let detail = json!({ "id": id, "provider": provider });
    events::record(
        conn,
        now,
        user_id,
        EventKind::IdentityLinked,
        &ask.by,
        detail,
    )?;
    Ok(true)
}

/// A link flow's end: the identity linked to `user_id`, and its verified
/// address told; nothing to do if it is linked to it already; `409
/// `identity_taken` (the SPA's login page, with nothing changed) when
/// another account holds it. Whether a message was queued.
fn link_to(
    conn: &mut db::Conn,
    now: i64,
    app: &AppState,
    ask: &Decide,
    user_id: i64,
) -> Result<bool, Undone> {
    let subject = &ask.profile.subject;
    match identities::owner(conn, &ask.provider, subject)? {
        Some(owner) if owner == user_id => return Ok(false),
        Some(_) => return Err(Undone::IdentityTaken),
        None => {}
    }
    users::find(conn, user_id)?.ok_or(ApiError::NotFound)?;
    if !linked(conn, now, ask, user_id)? {
        // Another request linked it first, to this account or another.
        return match identities::owner(conn, &ask.provider, subject)? {
            Some(owner) if owner == user_id => Ok(false),
            _ => Err(Undone::IdentityTaken),
        };
    }
    Ok(notify(
        &app.mail,
        conn,
        now,
        user_id,
        Notice::IdentityLinked,
    )?)
}

/// A new account for the profile: a valid, free username made from the
/// name the provider gave (or the address), no password, the address
/// (verified when the provider vouches for it and no other account has
/// verified it meanwhile; otherwise a verification link is sent, as at
/// registration), and the identity. Whether a message was queued.
fn new_account(
    conn: &mut db::Conn,
    now: i64,
    app: &AppState,
    ask: &Decide,
    email: Option<&Email>,
) -> Result<(i64, bool), ApiError> {
    let wanted = ask
        .profile
        .username
        .clone()
        .or_else(|| email.map(|e| e.as_str().split('@').next().unwrap_or("").to_owned()))
        .unwrap_or_default();
    let user = sign_in::new_passwordless(conn, &wanted, now)?.ok_or(ApiError::UsernameTaken)?;
    let mut queued = false;
    if let Some(email) = email {
        users::set_email(conn, user.id, Some(email))?;
        let verified = ask.profile.email_verified
            && users::mark_verified_unless_taken(conn, user.id, &email.key())?;
        if !verified {
            queued = send_verification(&app.mail, conn, now, user.id, &user.username, email)?;
        }
    }
    let address = email.map(Email::as_str);
    let provider = ask.provider.as_str();
    // `None`: a parallel callback linked this identity first; everything
    // here rolls back, and the caller tries again (see `sign_in`).
    // The identity it is made with is part of the registration, whose
    // one event the sign-in records.
    identities::link(conn, user.id, provider, &ask.profile.subject, address, now)?
        .ok_or(ApiError::UsernameTaken)?;
    Ok((user.id, queued))
}

/// An identity as its owner sees it.
#[derive(Serialize)]
struct IdentityView {
    id: i64,
    provider: String,
    email: Option<String>,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
}

impl From<identities::IdentityRow> for IdentityView {
    fn from(row: identities::IdentityRow) -> Self {
        IdentityView {
            id: row.id,
            provider: row.provider,
            email: row.email,
            created_at: row.created_at,
        }
    }
}

/// `GET /account/identities`.
pub async fn identities(
    state: web::Data<AppState>,
    caller: SignedIn,
) -> Result<HttpResponse, ApiError> {
    let user_id = caller.session.user.id;
    let rows = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(identities::list(conn, user_id)?)
    })
    .await?;
    let identities: Vec<IdentityView> = rows.into_iter().map(IdentityView::from).collect();
    Ok(HttpResponse::Ok().json(json!({ "identities": identities })))
}

/// `DELETE /account/identities/{id}`: `409 last_login_method` when it is
/// the account's only way in.
pub async fn unlink(
    state: web::Data<AppState>,
    caller: SignedIn,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let user_id = caller.session.user.id;
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        let provider = remove_keeping_one(conn, user_id, |conn| {
            identities::unlink(conn, user_id, id)?.ok_or(ApiError::NotFound)
        })?;
        let detail = json!({ "id": id, "provider": provider });
        let kind = EventKind::IdentityUnlinked;
        Ok::<_, ApiError>(events::record(
            conn, now, user_id, kind, &caller.by, detail,
        )?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_stays_a_path_of_the_spa() {
        let longest = format!("/{}", "a".repeat(MAX_RETURN_TO - 1));
        for good in ["/", "/blog/3", "/account?tab=security", "/a/b#c", &longest] {
            assert_eq!(safe_return_to(Some(good)), good);
        }
        let too_long = format!("{longest}a");
        assert_eq!(safe_return_to(Some(&too_long)), "/");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "@evil.example",
            "evil.example",
            "/%2f%2fevil.example",
            "/%5cevil.example",
            "/ok\r\nSet-Cookie: x=1",
            "/\tx",
            "",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
