//! A local stand-in for GitHub's side of "sign in with GitHub": tests run
//! without the internet, and GitHub has no offline server, so this answers
//! exactly the endpoints tollgate calls, on 127.0.0.1 at a random port
//! (tollgate reaches it through both `GITHUB_OAUTH_BASE` and
//! `GITHUB_API_BASE`):
//!
//! - `GET /login/oauth/authorize`: plays a signed-in user who clicks
//!   "Authorize" — a `302` to `redirect_uri` with a new `code` and the
//!   `state` as sent — or, after [`GithubStandIn::deny_next`], one who
//!   clicks "Cancel" (`error=access_denied`). A `redirect_uri` outside the
//!   registered callback ([`GithubStandIn::set_callback`]) gets a `400`
//!   page and no redirect, as GitHub shows a page instead of sending the
//!   browser somewhere unregistered; an unknown `client_id` gets a `404`
//!   page. Only `S256` is accepted as `code_challenge_method`, as on GitHub.
//! - `POST /login/oauth/access_token`: the code for a `gho_…` token. The
//!   client's credentials may come in the form or in HTTP Basic auth. Like
//!   GitHub, it answers errors with `200` and an `error` field
//!   (`incorrect_client_credentials`, `bad_verification_code`,
//!   `redirect_uri_mismatch`), in JSON when asked with
//!   `Accept: application/json` and form-encoded otherwise.
//! - `GET /user` and `GET /user/emails`, with `Authorization: Bearer …` (or
//!   GitHub's older `token …`): the user who authorized the token, as GitHub
//!   shapes them; `401 Bad credentials` for an unknown token, `403` without a
//!   `User-Agent` header, and for `/user/emails` a `404` when the token lacks
//!   the `user:email` (or `user`) scope, all as GitHub answers.
//!
//! Codes are single use: the first exchange that presents the right client
//! credentials spends the code, whether or not it succeeds, so a retry with
//! another verifier fails as it would against a strict server. A code or
//! token belongs to the user set when it was made ([`GithubStandIn::set_user`]),
//! so changing the user later does not change who an earlier sign-in was.
//!
//! It records what tollgate sent (method, path, query, form fields, the
//! `Authorization`, `User-Agent` and `Accept` headers; see `stand_in`) for
//! assertions.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The PKCE `code_challenge` for `verifier` by the `S256` method: the
/// SHA-256 of its ASCII, base64url-encoded without padding (RFC 7636 §4.2).
pub fn code_challenge_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A GitHub account as the stand-in answers for it.
#[derive(Debug, Clone)]
pub struct GithubUser {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    /// The address shown on the profile, which `GET /user` answers as
    /// `email`; `None` (GitHub's default) makes it `null`.
    pub public_email: Option<String>,
    /// `GET /user/emails`: `(email, primary, verified)`, in this order.
    pub emails: Vec<(String, bool, bool)>,
}

pub use super::stand_in::Recorded;
use super::stand_in::StandInServer;

/// A code handed out by the authorize endpoint and not yet spent.
struct Grant {
    user: GithubUser,
    scopes: Vec<String>,
    /// The `redirect_uri` the authorize request named, if it named one.
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
}

/// What an access token stands for.
struct Token {
    user: GithubUser,
    scopes: Vec<String>,
}

struct Inner {
    client_id: String,
    client_secret: String,
    /// The OAuth app's registered callback URL; `None` until the test
    /// knows the app's address.
    callback: Option<String>,
    user: Option<GithubUser>,
    deny_next: bool,
    grants: HashMap<String, Grant>,
    tokens: HashMap<String, Token>,
}

pub struct GithubStandIn {
    server: StandInServer<Inner>,
}

impl GithubStandIn {
    /// The stand-in for an OAuth app with these credentials. Its callback
    /// is registered afterwards with [`set_callback`](Self::set_callback):
    /// the app needs this URL in its settings before it starts, and its own
    /// address (hence its callback) is known only once it has.
    pub async fn start(client_id: &str, client_secret: &str) -> GithubStandIn {
        let inner = Inner {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            callback: None,
            user: None,
            deny_next: false,
            grants: HashMap::new(),
            tokens: HashMap::new(),
        };
        GithubStandIn {
            server: StandInServer::start(inner, answer).await,
        }
    }

    /// `GITHUB_OAUTH_BASE` and `GITHUB_API_BASE` for tollgate.
    pub fn url(&self) -> String {
        self.server.base.clone()
    }

    /// The OAuth app's callback URL, e.g.
    /// `http://127.0.0.1:{port}/auth/github/callback`. As on GitHub, a
    /// `redirect_uri` must be this URL or below it (same scheme, host and
    /// port, a path under it); an authorize request without one is sent here.
    pub fn set_callback(&self, callback: &str) {
        self.server.state().callback = Some(callback.to_owned());
    }

    /// Who is signed in to GitHub when the authorize page is visited, for
    /// the codes handed out from now on.
    pub fn set_user(&self, user: GithubUser) {
        self.server.state().user = Some(user);
    }

    /// The next authorize request is answered as by a user who declines.
    pub fn deny_next(&self) {
        self.server.state().deny_next = true;
    }

    /// Everything received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// The requests to `path`.
    pub fn requests_to(&self, method: &str, path: &str) -> Vec<Recorded> {
        self.server.requests_to(method, path)
    }
}

fn answer(inner: &mut Inner, recorded: &Recorded) -> HttpResponse {
    match (recorded.method.as_str(), recorded.path.as_str()) {
        ("GET", "/login/oauth/authorize") => authorize(inner, recorded),
        ("POST", "/login/oauth/access_token") => access_token(inner, recorded),
        ("GET", "/user" | "/user/emails") => api(inner, recorded),
        _ => HttpResponse::NotFound().json(json!({"message": "Not Found"})),
    }
}

fn authorize(inner: &mut Inner, recorded: &Recorded) -> HttpResponse {
    if recorded.param("client_id") != Some(inner.client_id.as_str()) {
        return page(
            404,
            "Not Found: no OAuth app has this client_id (stand-in).",
        );
    }
    let Some(callback) = inner.callback.clone() else {
        return page(
            400,
            "No callback URL is registered: the test calls set_callback (stand-in).",
        );
    };
    let redirect_uri = recorded.param("redirect_uri").map(str::to_owned);
    let target = redirect_uri.clone().unwrap_or(callback.clone());
    if !under(&callback, &target) {
        return page(
            400,
            "The redirect_uri is not associated with this application (stand-in).",
        );
    }
    let code_challenge = recorded.param("code_challenge").map(str::to_owned);
    if code_challenge.is_some() && recorded.param("code_challenge_method") != Some("S256") {
        return page(
            400,
            "code_challenge_method must be S256; plain is not supported (stand-in).",
        );
    }
    let Ok(mut location) = url::Url::parse(&target) else {
        return page(400, "The redirect_uri is not a URL (stand-in).");
    };
    let state = recorded.param("state");
    if std::mem::take(&mut inner.deny_next) {
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("error", "access_denied").append_pair(
            "error_description",
            "The user has denied your application access.",
        );
        pairs.append_pair(
            "error_uri",
            "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied",
        );
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
    } else {
        let Some(user) = inner.user.clone() else {
            return page(
                500,
                "No one is signed in: the test calls set_user (stand-in).",
            );
        };
        // GitHub's codes are 20 hex digits.
        let code = hex::encode(rand::random::<[u8; 10]>());
        let scopes = recorded
            .param("scope")
            .unwrap_or("")
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        inner.grants.insert(
            code.clone(),
            Grant {
                user,
                scopes,
                redirect_uri,
                code_challenge,
            },
        );
        let mut pairs = location.query_pairs_mut();
        pairs.append_pair("code", &code);
        if let Some(state) = state {
            pairs.append_pair("state", state);
        }
    }
    HttpResponse::Found()
        .insert_header(("Location", location.as_str()))
        .finish()
}

/// Whether `redirect` is the registered `callback` or a path below it,
/// GitHub's rule for a `redirect_uri` (its query aside).
fn under(callback: &str, redirect: &str) -> bool {
    let path = redirect.split(['?', '#']).next().unwrap_or_default();
    path == callback || path.starts_with(&format!("{}/", callback.trim_end_matches('/')))
}

fn access_token(inner: &mut Inner, recorded: &Recorded) -> HttpResponse {
    let json = recorded
        .accept
        .as_deref()
        .is_some_and(|a| a.contains("application/json"));
    let (client_id, client_secret) = match recorded.authorization.as_deref().and_then(basic) {
        Some(credentials) => credentials,
        None => (
            recorded.field("client_id").unwrap_or_default().to_owned(),
            recorded
                .field("client_secret")
                .unwrap_or_default()
                .to_owned(),
        ),
    };
    if client_id != inner.client_id || client_secret != inner.client_secret {
        return token_error(
            json,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let Some(grant) = recorded
        .field("code")
        .and_then(|code| inner.grants.remove(code))
    else {
        return token_error(
            json,
            "bad_verification_code",
            "The code passed is incorrect or expired.",
        );
    };
    if let Some(sent) = recorded.field("redirect_uri") {
        let fits = match (&grant.redirect_uri, &inner.callback) {
            (Some(named), _) => sent == named,
            (None, Some(callback)) => under(callback, sent),
            (None, None) => false,
        };
        if !fits {
            return token_error(
                json,
                "redirect_uri_mismatch",
                "The redirect_uri MUST match the registered callback URL for this application.",
            );
        }
    }
    // A verifier without a challenge is ignored: GitHub does not require
    // PKCE of an app that did not start it.
    if let Some(challenge) = &grant.code_challenge {
        let verified = recorded
            .field("code_verifier")
            .is_some_and(|verifier| code_challenge_s256(verifier) == *challenge);
        if !verified {
            return token_error(
                json,
                "bad_verification_code",
                "The code passed is incorrect or expired.",
            );
        }
    }
    let token = format!(
        "gho_{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 36)
    );
    let scope = grant.scopes.join(",");
    inner.tokens.insert(
        token.clone(),
        Token {
            user: grant.user,
            scopes: grant.scopes,
        },
    );
    let fields = [
        ("access_token", token.as_str()),
        ("token_type", "bearer"),
        ("scope", scope.as_str()),
    ];
    token_answer(json, &fields)
}

/// `(client_id, client_secret)` from HTTP Basic credentials, which RFC 6749
/// §2.3.1 has form-encoded before base64.
fn basic(authorization: &str) -> Option<(String, String)> {
    let encoded = authorization.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unform = |s: &str| {
        url::form_urlencoded::parse(s.as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default()
    };
    Some((unform(id), unform(secret)))
}

fn token_error(json: bool, error: &str, description: &str) -> HttpResponse {
    let uri = format!(
        "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{}",
        error.replace('_', "-")
    );
    token_answer(
        json,
        &[
            ("error", error),
            ("error_description", description),
            ("error_uri", &uri),
        ],
    )
}

/// A token endpoint answer: always `200`, in the format the `Accept`
/// header asked for.
fn token_answer(json: bool, fields: &[(&str, &str)]) -> HttpResponse {
    if json {
        let object: serde_json::Map<String, Value> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        HttpResponse::Ok().json(object)
    } else {
        HttpResponse::Ok()
            .content_type("application/x-www-form-urlencoded; charset=utf-8")
            .body(serde_urlencoded::to_string(fields).unwrap())
    }
}

fn api(inner: &Inner, recorded: &Recorded) -> HttpResponse {
    if recorded.user_agent.as_deref().is_none_or(str::is_empty) {
        return HttpResponse::Forbidden().content_type("text/plain").body(
            "Request forbidden by administrative rules. Please make sure your request \
             has a User-Agent header (stand-in).",
        );
    }
    let Some(presented) = recorded.authorization.as_deref().and_then(|value| {
        let (scheme, token) = value.split_once(' ')?;
        let known = scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token");
        known.then(|| token.trim())
    }) else {
        return api_error(401, "Requires authentication");
    };
    let Some(token) = inner.tokens.get(presented) else {
        return api_error(401, "Bad credentials");
    };
    let user = &token.user;
    let granted = token.scopes.join(", ");
    if recorded.path == "/user" {
        return HttpResponse::Ok()
            .insert_header(("X-OAuth-Scopes", granted))
            .json(json!({
                "login": user.login,
                "id": user.id,
                "node_id": format!("U_stand_in_{}", user.id),
                "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", user.id),
                "html_url": format!("https://github.com/{}", user.login),
                "type": "User",
                "site_admin": false,
                "name": user.name,
                "email": user.public_email,
            }));
    }
    // Without one of these scopes GitHub answers as if the endpoint did
    // not exist.
    if !token
        .scopes
        .iter()
        .any(|s| s == "user" || s == "user:email")
    {
        return HttpResponse::NotFound()
            .insert_header(("X-OAuth-Scopes", granted))
            .insert_header(("X-Accepted-OAuth-Scopes", "user, user:email"))
            .json(json!({"message": "Not Found"}));
    }
    let emails: Vec<Value> = user
        .emails
        .iter()
        .map(|(email, primary, verified)| {
            // GitHub gives a visibility to the primary address only.
            let visibility = match (*primary, user.public_email.as_deref() == Some(email)) {
                (true, true) => json!("public"),
                (true, false) => json!("private"),
                (false, _) => Value::Null,
            };
            json!({
                "email": email, "primary": primary,
                "verified": verified, "visibility": visibility,
            })
        })
        .collect();
    HttpResponse::Ok()
        .insert_header(("X-OAuth-Scopes", granted))
        .json(emails)
}

/// An error in the REST API's shape.
fn api_error(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap()).json(json!({
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
    }))
}

/// An HTML page, as github.com shows a person in a browser.
fn page(status: u16, message: &str) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap())
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!DOCTYPE html><title>GitHub</title><p>{message}</p>"
        ))
}
