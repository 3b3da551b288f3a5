//! The guard: one middleware in front of every handler. A request passes
//! only with a valid session, or to a public path, or as a CORS preflight.
//! Everything else — unknown paths included, so an anonymous caller learns
//! nothing about which routes exist — gets `401 not_logged_in`.

use actix_session::SessionExt;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};

use crate::session::{CurrentSession, SessionState, COOKIE_NAME};

/// The routes anyone may call. Matched exactly: `/login/` is not `/login`.
pub const PUBLIC_PATHS: [&str; 5] = [
    "/register",
    "/login",
    "/check_session",
    "/health",
    "/openapi.yaml",
];

fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

pub async fn require_session(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if PUBLIC_PATHS.contains(&req.path()) || is_preflight(&req) {
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
