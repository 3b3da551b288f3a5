//! The last line of the "every error is contract JSON" promise. Our own
//! handlers and extractors already answer with `ApiError`; this turns any
//! error response that is *not* JSON — actix's defaults, a library's
//! plain-text refusal, a failed session save — into the contract's body,
//! keeping its status and headers.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::HttpResponse;

use super::CONTRACT_HEADERS;
use serde_json::json;

pub async fn ensure_json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let res = match next.call(req).await {
        Ok(res) => res,
        // An error that escaped every layer (actix-session reports store
        // failures this way). The request is gone with it, so the JSON answer
        // travels inside the error, with the contract headers already on.
        Err(err) => {
            let (status, code, sentence) =
                describe(err.as_response_error().status_code(), preflight);
            let mut response = HttpResponse::build(status);
            for (name, value) in CONTRACT_HEADERS {
                response.insert_header((name, value));
            }
            let response = response.json(json!({ "error": sentence, "code": code }));
            return Err(InternalError::from_response(err.to_string(), response).into());
        }
    };
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if res.status().as_u16() < 400 || is_json {
        return Ok(res.map_into_left_body());
    }
    Ok(to_json(res, preflight).map_into_right_body())
}

/// Rebuilds an error response with the contract body, same status (but see
/// `describe`) and same headers.
fn to_json<B>(res: ServiceResponse<B>, preflight: bool) -> ServiceResponse<BoxBody> {
    let (status, code, sentence) = describe(res.status(), preflight);
    if status.is_server_error() {
        tracing::error!(
            status = status.as_u16(),
            "a layer answered with a non-JSON error"
        );
    }
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    ServiceResponse::new(req, new.json(json!({ "error": sentence, "code": code })))
}

/// The contract code and a sentence for a status that reached us without one.
fn describe(status: StatusCode, preflight: bool) -> (StatusCode, &'static str, &'static str) {
    let (code, sentence) = match status.as_u16() {
        // actix-cors refuses a preflight for a method or header it does not
        // allow with a plain 400; to the contract that is a refused origin.
        400 if preflight => {
            return (
                StatusCode::FORBIDDEN,
                "forbidden_origin",
                "This cross-origin request is not allowed.",
            )
        }
        401 => ("not_logged_in", "You are not logged in."),
        403 => (
            "forbidden_origin",
            "This cross-origin request is not allowed.",
        ),
        404 => ("not_found", "There is nothing here."),
        405 => (
            "method_not_allowed",
            "This path does not accept that method.",
        ),
        413 => ("payload_too_large", "The request body is too large."),
        415 => (
            "unsupported_media_type",
            "Send the request body as JSON with Content-Type: application/json.",
        ),
        422 => ("validation_failed", "Some fields are missing or invalid."),
        429 => ("too_many_attempts", "Too many attempts. Try again later."),
        503 => (
            "unavailable",
            "The service is temporarily unavailable. Try again shortly.",
        ),
        500..=599 => ("internal", "Something went wrong on our side."),
        _ => ("invalid_json", "The request could not be read."),
    };
    (status, code, sentence)
}
