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

use super::extract::{PathId, SignedIn, SigningIn};
use crate::accounts::notices::send_verification;
use crate::accounts::sign_in::{self, Entered, Held, Method, SignIn, Step};
use crate::accounts::ways_in::remove_keeping_one;
use crate::auth::providers::{random_token, FlowSecrets, Profile, Provider, ProviderError};
use crate::db::identities::{self, FlowRow, NewFlow};
use crate::db::{self, events, users};
use crate::domain::username::candidates;
use crate::domain::{Email, EventKind, Lifetimes, Requester};
use crate::error::ApiError;
use crate::metrics::LoginOutcome;
use crate::session::{store, token, SessionState};
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

/// `return_to` as sent, if it is a path of the SPA: it must start with one
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
        && path.len() <= 2048
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

/// `GET /auth/{provider}/start?return_to=/path&stay_signed_in=true`.
pub async fn start(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let provider = state.providers.get(&name).ok_or(ApiError::NotFound)?;
    let query = query(&req);
    let return_to = safe_return_to(param(&query, "return_to"));
    let stay_signed_in = param(&query, "stay_signed_in") == Some("true");
    // Started signed in: the identity is to be linked to this account.
    let linking = SessionState::peek(&req, |s| s.active().ok().map(|r| r.user.id));
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

    let secrets = FlowSecrets::generate();
    let callback = state.providers.callback_url(provider.name());
    let url = match provider
        .authorization_url(&state.providers.http, &callback, &secrets)
        .await
    {
        Ok(url) => url,
        Err(e) => {
            tracing::warn!(provider = provider.name(), error = %e, "could not start a sign-in");
            return Ok(refused(&state, e.code()));
        }
    };
    let (state_hash, browser_hash) = (token::hash(&secrets.state), token::hash(&browser));
    let provider_name = provider.name().to_owned();
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        let row = FlowRow {
            browser_hash,
            provider: provider_name,
            nonce: secrets.nonce,
            pkce_verifier: secrets.pkce_verifier,
            return_to,
            user_id: linking,
            stay_signed_in,
            expires_at: now + FLOW_SECONDS,
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
    .await?;
    let cookie = Cookie::build(FLOW_COOKIE, browser)
        .path(state.providers.cookie_path())
        .http_only(true)
        // Sent with the provider's top-level redirect back, not with
        // requests other sites make.
        .same_site(SameSite::Lax)
        .secure(state.settings.cookie_secure)
        .max_age(CookieDuration::seconds(FLOW_SECONDS))
        .finish();
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .cookie(cookie)
        .finish())
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
    /// The account is disabled.
    Disabled,
}

/// `GET /auth/{provider}/callback?code&state` (or `?error&state`).
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    name: web::Path<String>,
    caller: SigningIn,
) -> Result<HttpResponse, ApiError> {
    let provider = state.providers.get(&name).ok_or(ApiError::NotFound)?;
    match sign_in(&state, &req, provider, caller).await {
        Ok(answer) => Ok(answer),
        Err(Refusal(code)) => Ok(refused(&state, code)),
    }
}

/// A callback that ends at the SPA's login page with this error code.
struct Refusal(&'static str);

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unavailable => Refusal("unavailable"),
            // The account went away while its sign-in was being decided.
            ApiError::NotFound => Refusal("invalid_state"),
            e => {
                tracing::error!(error = %e, "a provider sign-in failed");
                Refusal("internal")
            }
        }
    }
}

async fn sign_in(
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

    let current = SessionState::peek(req, |s| s.active().ok().map(|r| r.user.id));
    let ask = Decide {
        provider: name.to_owned(),
        profile,
        flow_user: flow.user_id,
        current,
        stay: flow.stay_signed_in,
        by: caller.by.clone(),
        held: Held {
            session: caller.previous.clone(),
            pending: store::token_hash(&caller.cookie),
        },
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
            Err(ApiError::UsernameTaken) if !tried => tried = true,
            other => break other?,
        }
    };
    if queued {
        state.mail.wake();
    }
    match outcome {
        Outcome::Disabled => Err(Refusal("account_disabled")),
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
    /// The account that started the flow signed in (linking).
    flow_user: Option<i64>,
    /// The account of the session the callback came with.
    current: Option<i64>,
    stay: bool,
    by: Requester,
    /// What the browser held, which signing in ends.
    held: Held,
}

/// Which account the profile signs in, in the contract's order: the one
/// already linked to this identity; the account that started the flow
/// signed in; the account holding the provider's address verified, when
/// the provider vouches for it too; else a new account. Then the sign-in
/// itself, the way every sign-in finishes. One transaction, so a link, an
/// account and its session commit together or not at all.
fn decide(
    conn: &mut db::Conn,
    now: i64,
    lifetimes: &Lifetimes,
    app: &AppState,
    ask: Decide,
) -> Result<(Outcome, bool), ApiError> {
    let profile = &ask.profile;
    let provider = ask.provider.as_str();
    // An address the provider gives that the contract's rule accepts.
    let email = profile.email.as_deref().and_then(|e| Email::parse(e).ok());
    let linked = |conn: &mut db::Conn, user_id: i64| -> Result<Option<i64>, ApiError> {
        let email = email.as_ref().map(Email::as_str);
        let Some(id) = identities::link(conn, user_id, provider, &profile.subject, email, now)?
        else {
            return Ok(None);
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
        Ok(Some(user_id))
    };

    let mut queued = false;
    let mut user_id = identities::owner(conn, provider, &profile.subject)?;
    // Linked by this very sign-in, to the account that started it signed in.
    let mut linked_now = false;
    if user_id.is_none() {
        if let Some(caller) = ask.flow_user {
            user_id = linked(conn, caller)?;
            linked_now = user_id.is_some();
        } else if let (Some(email), true) = (&email, profile.email_verified) {
            // Only an address both sides have verified joins two
            // accounts: an unverified one proves nobody owns it.
            if let Some(holder) = users::verified_holder(conn, &email.key())? {
                user_id = linked(conn, holder)?;
            }
        }
    }
    // A parallel callback for this identity linked it first.
    if user_id.is_none() && ask.flow_user.is_some() {
        user_id = identities::owner(conn, provider, &profile.subject)?;
    }
    let made = user_id.is_none();
    let user_id = match user_id {
        Some(id) => id,
        None => {
            let (id, sent) = new_account(conn, now, app, &ask, email.as_ref())?;
            queued = sent;
            id
        }
    };

    let Some(user) = users::find(conn, user_id)? else {
        // Deleted in between: nothing to sign in to.
        return Err(ApiError::NotFound);
    };
    if user.disabled {
        return Ok((Outcome::Disabled, queued));
    }
    // Linking from a signed-in session: that session goes on. Signing in
    // again with an identity linked before is a sign-in like any other
    // (it renews the session, and the window for sensitive changes).
    if linked_now && ask.current == Some(user_id) {
        return Ok((Outcome::Linked, queued));
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
    let mut user = None;
    for name in candidates(&wanted).take(20) {
        if users::exists(conn, &name.key())? {
            continue;
        }
        user = users::insert_in_savepoint(conn, &name, "", now)?;
        if user.is_some() {
            break;
        }
    }
    let user = user.ok_or(ApiError::UsernameTaken)?;
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
        for good in ["/", "/blog/3", "/account?tab=security", "/a/b#c"] {
            assert_eq!(safe_return_to(Some(good)), good);
        }
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
