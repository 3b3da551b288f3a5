//! The guard: in front of every route's handler, with that route's rule
//! from the route table (its [`Endpoint`]). It looks up the request's
//! session (if its cookie carries a token) and puts the typed
//! [`SessionState`] in the request's extensions — and, for a route whose
//! lookup reads a meter ahead ([`ReadsAhead::Meter`]), what the meter says
//! of the post its path names, read in the same job ([`Metering`]) — then
//! lets the request pass only with a live session, or to a public route
//! (and to the listing when PUBLIC_LISTING opens it, and to a post's
//! `GET`/`HEAD` when ANONYMOUS_READS does).
//! Everything else gets `401 not_logged_in` (or `503` when the database
//! cannot be asked, since the session cannot be checked then), and so do
//! paths no route matches ([`unknown_path`]): an anonymous caller learns
//! nothing about which routes exist.
//!
//! CORS preflights never get here: the CORS layer in front answers those
//! from allowed origins, and the cross-site layer refuses the rest. An
//! `OPTIONS` that reaches the guard is not a preflight the CORS layer
//! recognised, so it is treated like any other request (exempting it would
//! let a malformed "preflight" probe for routes through their `405`s).
//!
//! [`Metering`]: crate::reading::Metering

use std::future::{ready, Ready};
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_session::SessionExt;
use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;

use crate::client_ip;
use crate::db;
use crate::error::{ApiError, NoSession};
use crate::reading::{self, MeterAsk};
use crate::routes::is_public;
use crate::routes::table::{is_post_path, Access, Endpoint, ReadsAhead, LISTING_PATH};
use crate::session::{self, store, SessionState, COOKIE_NAME};
use crate::state::AppState;

/// The guard of one route (see the module's doc), with that route's rule,
/// as the middleware of its resource. Written out rather than made with
/// `from_fn`, whose every call boxes the inner service's future once more
/// behind a dynamic call and looks the app's state up again: this layer
/// runs on every routed request.
pub struct Guard {
    endpoint: &'static Endpoint,
    state: web::Data<AppState>,
}

impl Guard {
    pub fn new(endpoint: &'static Endpoint, state: web::Data<AppState>) -> Guard {
        Guard { endpoint, state }
    }
}

impl<S> Transform<S, ServiceRequest> for Guard
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>
        + 'static,
{
    type Response = ServiceResponse<EitherBody<BoxBody>>;
    type Error = actix_web::Error;
    type Transform = GuardService<S>;
    type InitError = ();
    type Future = Ready<Result<GuardService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(GuardService(Rc::new(Guarded {
            endpoint: self.endpoint,
            state: self.state.clone(),
            service,
        }))))
    }
}

/// A route's handler behind its [`Guard`].
pub struct GuardService<S>(Rc<Guarded<S>>);

struct Guarded<S> {
    endpoint: &'static Endpoint,
    state: web::Data<AppState>,
    service: S,
}

impl<S> Service<ServiceRequest> for GuardService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>
        + 'static,
{
    type Response = ServiceResponse<EitherBody<BoxBody>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.service.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        Box::pin(require_session(Rc::clone(&self.0), req))
    }
}

/// The guard's work for one request, then the route's handler.
async fn require_session<S>(
    guarded: Rc<Guarded<S>>,
    req: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<BoxBody>, Error = actix_web::Error>,
{
    let (endpoint, state) = (guarded.endpoint, &guarded.state);
    let meter = match endpoint.reads_ahead {
        ReadsAhead::Meter if req.method() == Method::GET => req
            .match_info()
            .get("id")
            .and_then(reading::post_named)
            .map(|post| MeterAsk {
                post,
                free_reads: state.settings.free_reads,
            }),
        _ => None,
    };
    let session = look_up(state, req.request(), meter).await?;
    // Only a post's GET and HEAD are what anonymous reads open (a path
    // whose route has no other method answers `405` to a session alone).
    let open = endpoint.access.is_open(&state.settings)
        && (endpoint.access != Access::Reading || is_read(req.method()));
    if !open {
        if let Some(refusal) = session.refusal() {
            let response = refusal.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    req.extensions_mut().insert(session);
    Ok(guarded.service.call(req).await?.map_into_left_body())
}

/// The answer to a path no route matches: `401` (or `503`) to a caller
/// without a live session, as every guarded path answers it, and `404` to
/// one with it. A path under a public prefix (a provider's name that names
/// none) is `404` to anyone.
pub async fn unknown_path(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !is_public(req.match_info().as_str()) {
        let session = look_up(&state, &req, None).await?;
        if let Some(refusal) = session.refusal() {
            return Err(refusal);
        }
        req.extensions_mut().insert(session);
    }
    Err(ApiError::NotFound)
}

/// The session the request's cookie names, with what the route's lookup
/// reads ahead (`meter`) left in the request's extensions for the handler.
async fn look_up(
    state: &AppState,
    req: &HttpRequest,
    meter: Option<MeterAsk>,
) -> Result<SessionState, ApiError> {
    Ok(match store::token_hash(&req.get_session()) {
        Some(token_hash) => {
            let ip = client_ip::of(req);
            let pool = &state.pool;
            match session::lookup(pool, &state.clock, state.lifetimes, token_hash, ip, meter).await
            {
                Ok(Some((record, metering))) => {
                    if let Some(metering) = metering {
                        req.extensions_mut().insert(metering);
                    }
                    SessionState::Active(record)
                }
                Ok(None) => SessionState::Anonymous(NoSession::Invalid),
                Err(db::Error::Unavailable) => SessionState::Unavailable,
                Err(e) => return Err(ApiError::from(e)),
            }
        }
        // A cookie that failed its signature check reaches here without a
        // token (actix caches the parsed cookies, so this is no second parse).
        None if req.cookie(COOKIE_NAME).is_some() => SessionState::Anonymous(NoSession::Invalid),
        None => SessionState::Anonymous(NoSession::Missing),
    })
}

/// The guard's answer, decided without the session layer, for a request
/// that cannot have a session: a guarded path and no session cookie at all.
/// The cheapest refusal there is, so it is given before CORS and the
/// session middleware run (see `middleware::cross_site`); `None` leaves the
/// request to the full path.
pub fn refuse_without_cookie(req: &ServiceRequest) -> Option<ApiError> {
    let path = req.match_info().as_str();
    // Without a Cookie header there is nothing to parse (parsing none
    // still allocates, and files an empty list in the request).
    let has_cookie = || {
        req.headers().contains_key(actix_web::http::header::COOKIE)
            && req.cookie(COOKIE_NAME).is_some()
    };
    if is_public(path) || has_cookie() || is_open_listing(req, path) || is_open_post(req, path) {
        return None;
    }
    Some(ApiError::NotLoggedIn(NoSession::Missing))
}

/// Whether a request's method reads (`GET`, `HEAD`).
fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// Whether `path` is a post's, read, and ANONYMOUS_READS opens it to
/// anyone.
fn is_open_post(req: &ServiceRequest, path: &str) -> bool {
    is_read(req.method())
        && is_post_path(path)
        && req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| Access::Reading.is_open(&state.settings))
}

/// Whether `path` is the listing and PUBLIC_LISTING opens it to anyone.
fn is_open_listing(req: &ServiceRequest, path: &str) -> bool {
    path == LISTING_PATH
        && req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| Access::Listing.is_open(&state.settings))
}
