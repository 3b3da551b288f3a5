//! The guard: one middleware in front of every handler. It looks up the
//! request's session (if its cookie carries a token) and puts the typed
//! [`SessionState`] in the request's extensions (and, for a metered read of
//! a post, what the meter says, read in the same job: see
//! [`blog::metered_read`]), then lets a request pass
//! only with a live session, or to a path the route table marks public
//! ([`routes::ENDPOINTS`]). Everything else —
//! unknown paths included, so an anonymous caller learns nothing about
//! which routes exist — gets `401 not_logged_in` (or `503` when the
//! database cannot be asked, since the session cannot be checked then).
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
use actix_web::{web, HttpMessage, ResponseError};

use crate::client_ip;
use crate::db;
use crate::error::{ApiError, NoSession};
use crate::routes::{self, blog};
use crate::session::{self, store, SessionState, COOKIE_NAME};
use crate::state::AppState;

pub async fn require_session(
    state: web::Data<AppState>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // The path as the router will match it (percent-decoded), so that
    // `/logi%6E` is judged as the `/login` it will reach.
    let public = routes::is_public(req.match_info().as_str());
    let session = match store::token_hash(&req.get_session()) {
        Some(token_hash) => {
            let ip = client_ip::of(req.request());
            let meter =
                blog::metered_read(req.method(), req.match_info().as_str()).map(|post_id| {
                    session::MeterAsk {
                        post_id,
                        free_reads: state.settings.free_reads,
                    }
                });
            let pool = &state.pool;
            match session::lookup(pool, &state.clock, state.lifetimes, token_hash, ip, meter).await
            {
                Ok(Some((record, answer))) => {
                    if let Some(answer) = answer {
                        req.extensions_mut().insert(answer);
                    }
                    SessionState::Active(record)
                }
                Ok(None) => SessionState::Anonymous(NoSession::Invalid),
                Err(db::Error::Unavailable) => SessionState::Unavailable,
                Err(e) => return Err(ApiError::from(e).into()),
            }
        }
        // A cookie that failed its signature check reaches here without a
        // token (actix caches the parsed cookies, so this is no second parse).
        None if req.cookie(COOKIE_NAME).is_some() => SessionState::Anonymous(NoSession::Invalid),
        None => SessionState::Anonymous(NoSession::Missing),
    };
    if !public {
        if let Some(refusal) = session.refusal() {
            let response = refusal.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    req.extensions_mut().insert(session);
    Ok(next.call(req).await?.map_into_left_body())
}

/// The guard's answer, decided without the session layer, for a request
/// that cannot have a session: a guarded path and no session cookie at all.
/// The cheapest refusal there is, so it is given before CORS and the
/// session middleware run (see `middleware::cross_site`); `None` leaves the
/// request to the full path.
pub fn refuse_without_cookie(req: &ServiceRequest) -> Option<ApiError> {
    if routes::is_public(req.match_info().as_str()) || req.cookie(COOKIE_NAME).is_some() {
        return None;
    }
    Some(ApiError::NotLoggedIn(NoSession::Missing))
}
