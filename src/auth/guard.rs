//! The guard: one middleware in front of every handler. A request passes
//! only with a valid session, or to a public path. Everything else — unknown
//! paths included, so an anonymous caller learns nothing about which routes
//! exist — gets `401 not_logged_in`.
//!
//! CORS preflights never get here: the CORS layer in front answers those
//! from allowed origins, and the cross-site layer refuses the rest. An
//! `OPTIONS` that reaches the guard is not a preflight the CORS layer
//! recognised, so it is treated like any other request (exempting it would
//! let a malformed "preflight" probe for routes through their `405`s).

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};

use crate::error::{ApiError, NoSession};
use crate::session::{CurrentSession, SessionState, COOKIE_NAME};

/// The routes anyone may call. Matched exactly: `/login/` is not `/login`.
pub const PUBLIC_PATHS: [&str; 5] = [
    "/register",
    "/login",
    "/check_session",
    "/health",
    "/openapi.yaml",
];

pub async fn require_session(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // The path as the router will match it (percent-decoded), so that
    // `/logi%6E` is judged as the `/login` it will reach.
    if PUBLIC_PATHS.contains(&req.match_info().as_str()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let cookie_sent = req.cookie(COOKIE_NAME).is_some();
    match SessionState::of(&req.get_session(), cookie_sent).require() {
        Ok(record) => {
            req.extensions_mut().insert(CurrentSession(record));
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(refusal) => {
            let response = refusal.error_response();
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// The guard's answer, decided without the session layer, for a request
/// that cannot have a session: a guarded path and no session cookie at all.
/// The cheapest refusal there is, so it is given before CORS and the
/// session middleware run (see `middleware::cross_site`); `None` leaves the
/// request to the full path.
pub fn refuse_without_cookie(req: &ServiceRequest) -> Option<ApiError> {
    if PUBLIC_PATHS.contains(&req.match_info().as_str()) || req.cookie(COOKIE_NAME).is_some() {
        return None;
    }
    Some(ApiError::NotLoggedIn(NoSession::Missing))
}
