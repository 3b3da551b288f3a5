//! The last line of the "every error is contract JSON" promise. Our own
//! handlers and extractors already answer with `ApiError`; this turns any
//! error response that is *not* JSON — actix's defaults, a library's
//! plain-text refusal — into the contract's body, keeping its headers.
//! Which code and sentence a bare status gets is `ApiError::from_status`'s
//! choice, in `error.rs`, like every other.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::{header, Method};
use actix_web::ResponseError;

use super::CONTRACT_HEADERS;
use crate::error::ApiError;

/// Whether `req` is a CORS preflight (its errors get their own code).
pub fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// An error that escaped every layer below (actix-session reports a
/// failure to set the cookie this way), as contract JSON. The request is
/// gone with it, so the JSON answer travels inside the error, with the
/// contract headers already on.
pub fn error_to_json(err: actix_web::Error, preflight: bool) -> actix_web::Error {
    let status = err.as_response_error().status_code();
    let mut response = ApiError::from_status(status, preflight).error_response();
    for (name, value) in CONTRACT_HEADERS {
        response
            .headers_mut()
            .insert(name, header::HeaderValue::from_static(value));
    }
    InternalError::from_response(err.to_string(), response).into()
}

/// `res` if it is a success or already JSON; else the contract's answer
/// for its status.
pub fn ensure_json<B>(res: ServiceResponse<B>, preflight: bool) -> ServiceResponse<EitherBody<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if res.status().as_u16() < 400 || is_json {
        return res.map_into_left_body();
    }
    to_json(res, preflight).map_into_right_body()
}

/// Rebuilds an error response with the contract body and status, keeping
/// the layer's own headers (an `Allow`, a `Vary`).
fn to_json<B>(res: ServiceResponse<B>, preflight: bool) -> ServiceResponse<BoxBody> {
    let error = ApiError::from_status(res.status(), preflight);
    if res.status().is_server_error() {
        tracing::error!(
            status = res.status().as_u16(),
            "a layer answered with a non-JSON error"
        );
    }
    let (req, old) = res.into_parts();
    let mut new = error.error_response();
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE
            && name != header::CONTENT_LENGTH
            && !new.headers().contains_key(name)
        {
            new.headers_mut().append(name.clone(), value.clone());
        }
    }
    ServiceResponse::new(req, new)
}
