//! One structured log line per request: method, path, status, latency and,
//! once known, the user id. Never the query string's values, a body, a
//! header or a cookie — nothing secret can reach the log from here.
//!
//! The same measurement feeds the request metrics (`crate::metrics`), here
//! rather than in a layer of their own: every layer costs every request.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};

use crate::session::SessionState;
use crate::state::AppState;

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await;
    let elapsed = started.elapsed();
    let (status, user_id) = match &res {
        Ok(res) => (
            res.status(),
            res.request()
                .extensions()
                .get::<SessionState>()
                .and_then(|s| match s {
                    SessionState::Active(record) => Some(record.user.id),
                    _ => None,
                }),
        ),
        Err(err) => (err.as_response_error().status_code(), None),
    };
    if let Some(state) = state {
        // The route pattern by the resource's name (see `routes::resource`):
        // found without allocating, and bounded whatever the path.
        let route = res.as_ref().ok().and_then(|res| res.request().match_name());
        state.metrics.observe_request(
            method.as_str(),
            route,
            status.as_u16(),
            elapsed.as_secs_f64(),
        );
    }
    crate::logging::access(&crate::logging::Access {
        method: method.as_str(),
        path: &path,
        status: status.as_u16(),
        // Whole microseconds: an integer formats several times faster than
        // an f64.
        latency_us: elapsed.as_micros() as u64,
        user_id,
    });
    res
}
