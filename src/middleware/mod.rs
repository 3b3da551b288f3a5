//! Cross-cutting HTTP layers. Everything that runs outside CORS is one
//! layer, [`Edge`]: the access log, the contract headers, JSON errors for
//! anything actix or a library answered itself, the cross-site defences,
//! and a stay-signed-in cookie's lifetime. Inside it come CORS,
//! actix-session and the guard.
//!
//! [`Edge`]: crate::middleware::Edge

pub mod access_log;
pub mod cross_site;
pub mod guard;
pub mod json_errors;

use std::future::{ready, Ready};
use std::rc::Rc;
use std::task::{Context, Poll};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;

use crate::session::cookie;

/// The headers every response carries: nothing is cached (responses are
/// per-user), nothing is sniffed into HTML, and nothing here may be framed
/// or load sub-resources.
pub const CONTRACT_HEADERS: [(HeaderName, &str); 3] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

/// The outer layers, in one: each layer costs every request a boxed
/// future and a dynamic call, so five concerns (the log, the headers, JSON
/// errors, cross-site, the cookie's lifetime) are steps of this one layer
/// rather than five, and the layer is written out rather than made with
/// `from_fn`, which boxes the inner service's future a second time. In
/// request order:
///
/// 1. the access log notes the start ([`access_log::Started`]);
/// 2. a cross-site refusal, or the early `401`, is answered here
///    ([`cross_site::early_answer`]); anything else goes on inside;
/// 3. on the way out: stray CORS headers come off
///    ([`cross_site::strip_stray_cors_headers`]), a stay-signed-in login's
///    cookie gets its `Max-Age` ([`cookie::apply_lifetime`]), a non-JSON
///    error becomes contract JSON ([`json_errors`]);
/// 4. the contract headers go on, where the answer has not set its own;
/// 5. the access log writes its line with the status that leaves.
pub struct Edge;

impl<S, B> Transform<S, ServiceRequest> for Edge
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = EdgeService<S>;
    type InitError = ();
    type Future = Ready<Result<EdgeService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(EdgeService(Rc::new(service))))
    }
}

/// The app behind its [`Edge`].
pub struct EdgeService<S>(Rc<S>);

impl<S, B> Service<ServiceRequest> for EdgeService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<B, BoxBody>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        Box::pin(edge(Rc::clone(&self.0), req))
    }
}

/// One request through the [`Edge`]'s steps.
async fn edge<S, B>(
    service: Rc<S>,
    req: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<B, BoxBody>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut started = access_log::Started::now(&req);
    let preflight = json_errors::is_preflight(&req);
    let res = match cross_site::early_answer(&req) {
        Some(answer) => {
            started.answered_before_routing();
            Ok(req.into_response(answer).map_into_right_body())
        }
        None => match service.call(req).await {
            Ok(mut res) => {
                cross_site::strip_stray_cors_headers(&mut res);
                cookie::apply_lifetime(&mut res);
                Ok(json_errors::ensure_json(res, preflight))
            }
            Err(err) => Err(json_errors::error_to_json(err, preflight)),
        },
    };
    let res = res.map(|mut res| {
        let headers = res.headers_mut();
        for (name, value) in CONTRACT_HEADERS {
            if !headers.contains_key(&name) {
                headers.insert(name, HeaderValue::from_static(value));
            }
        }
        res
    });
    started.finish(&res);
    res
}
