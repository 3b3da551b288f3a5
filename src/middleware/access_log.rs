//! One structured log line per request: method, path, status, latency and,
//! once known, the user id. Never the query string's values, a body, a
//! header or a cookie — nothing secret can reach the log from here; a gift
//! link's path, whose last segment is its token, is logged as
//! `/gift/{token}`. The method and path are the request's own text;
//! `logging` writes them escaped, so they cannot break the line.
//!
//! The same measurement feeds the request metrics (`crate::metrics`), here
//! rather than in a layer of their own: every layer costs every request.
//! [`super::Edge`] starts the measurement before anything else runs and
//! finishes it with the answer that leaves.

use std::time::Instant;

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, Uri};
use actix_web::{web, HttpMessage};

use crate::routes::table::static_route;
use crate::session::SessionState;
use crate::state::AppState;

/// A request on its way through, as the access log will report it. The
/// method and URI are kept now, since the request is gone with an error:
/// the URI's text is shared with the request, not copied.
pub struct Started {
    at: Instant,
    method: Method,
    uri: Uri,
    state: Option<web::Data<AppState>>,
    /// Answered before routing (see [`Started::answered_before_routing`]).
    unrouted: bool,
}

/// `path` as the log may hold it: a gift link's token (its path is the
/// secret) is left out.
fn loggable(path: &str) -> &str {
    if path.starts_with(crate::routes::table::GIFT_PATHS) {
        "/gift/{token}"
    } else {
        path
    }
}

impl Started {
    pub fn now(req: &ServiceRequest) -> Started {
        Started {
            at: Instant::now(),
            method: req.method().clone(),
            uri: req.uri().clone(),
            state: req.app_data::<web::Data<AppState>>().cloned(),
            unrouted: false,
        }
    }

    /// The answer was given before the router ran (the early `401`, a
    /// cross-site refusal): its route, for the metrics, is then looked up
    /// in the route table when the path has no parameters
    /// ([`crate::routes::table::static_route`]).
    pub fn answered_before_routing(&mut self) {
        self.unrouted = true;
    }

    /// Counts the answer in the metrics and writes its line.
    pub fn finish<B>(self, res: &Result<ServiceResponse<B>, actix_web::Error>) {
        let elapsed = self.at.elapsed();
        let (status, user_id) = match res {
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
        if let Some(state) = &self.state {
            // The route pattern by the resource's name (see
            // `routes::resource`): found without allocating, and bounded
            // whatever the path. actix names a routed answer's route by the
            // resource its router chose; an answer given before routing
            // (the early `401`) is named from the route table when it can
            // be, since actix would match the path against its patterns.
            let route = res.as_ref().ok().and_then(|res| {
                let req = res.request();
                let known = self.unrouted.then(|| static_route(req.path())).flatten();
                known.or_else(|| req.match_name())
            });
            state.metrics.observe_request(
                self.method.as_str(),
                route,
                status.as_u16(),
                elapsed.as_secs_f64(),
            );
        }
        crate::logging::access(&crate::logging::Access {
            method: self.method.as_str(),
            path: loggable(self.uri.path()),
            status: status.as_u16(),
            // Whole microseconds: an integer formats several times faster
            // than an f64.
            latency_us: elapsed.as_micros() as u64,
            user_id,
        });
    }
}
