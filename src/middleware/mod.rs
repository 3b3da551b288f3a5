//! Cross-cutting HTTP layers. Everything that runs outside actix-session
//! is one layer, [`Edge`]: the access log, the contract headers, JSON
//! errors for anything actix or a library answered itself, the cross-site
//! defences, a stay-signed-in cookie's lifetime, and actix-cors for the
//! requests it concerns. Inside it come actix-session and the guard.
//!
//! [`Edge`]: crate::middleware::Edge

pub mod access_log;
pub mod cross_site;
pub mod guard;
pub mod json_errors;

use std::rc::Rc;
use std::task::{Context, Poll};

use actix_cors::{Cors, CorsMiddleware};
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::cookie::Key;
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

/// The outer layers, in one, with CORS inside: each layer costs every
/// request a boxed future and a dynamic call, so five concerns (the log,
/// the headers, JSON errors, cross-site, the cookie's lifetime) are steps
/// of this one layer rather than five, the layer is written out rather
/// than made with `from_fn` (which boxes the inner service's future a
/// second time), and a request CORS has nothing to do for goes around it
/// ([`cross_site::needs_cors`]). In request order:
///
/// 1. the access log notes the start ([`access_log::Started`]), and of
///    several `session` cookies only this server's stay
///    ([`cookie::keep_ours`]);
/// 2. a cross-site refusal, or the early `401`, is answered here
///    ([`cross_site::early_answer`]); anything else goes on inside,
///    through actix-cors if it has an `Origin` or is an `OPTIONS`, and
///    otherwise straight on, given the `Vary` actix-cors would have added
///    ([`cross_site::vary_as_cors_would`]);
/// 3. on the way out: stray CORS headers come off
///    ([`cross_site::strip_stray_cors_headers`]), a stay-signed-in login's
///    cookie gets its `Max-Age` ([`cookie::apply_lifetime`]), a non-JSON
///    error becomes contract JSON ([`json_errors`]);
/// 4. the contract headers go on, where the answer has not set its own;
/// 5. the access log writes its line with the status that leaves.
pub struct Edge {
    cors: Cors,
    /// The session cookie's signing key.
    key: Key,
}

impl Edge {
    /// The edge, with `cors` the CORS layer inside it; `key` signs the
    /// session cookie.
    pub fn new(cors: Cors, key: Key) -> Edge {
        Edge { cors, key }
    }
}

impl<S, B> Transform<S, ServiceRequest> for Edge
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<EitherBody<B>, BoxBody>>;
    type Error = actix_web::Error;
    type Transform = EdgeService<S>;
    type InitError = ();
    type Future = LocalBoxFuture<'static, Result<EdgeService<S>, ()>>;

    fn new_transform(&self, service: S) -> Self::Future {
        let app = Rc::new(service);
        let cors = self.cors.new_transform(Shared(Rc::clone(&app)));
        let key = self.key.clone();
        Box::pin(async move {
            Ok(EdgeService(Rc::new(Layers {
                cors: cors.await?,
                app,
                key,
            })))
        })
    }
}

/// The app behind its [`Edge`].
pub struct EdgeService<S>(Rc<Layers<S>>);

/// The app, and the same app behind actix-cors.
struct Layers<S> {
    cors: CorsMiddleware<Shared<S>>,
    app: Rc<S>,
    key: Key,
}

/// The app, shared by the CORS layer and the way around it.
struct Shared<S>(Rc<S>);

impl<S: Service<ServiceRequest>> Service<ServiceRequest> for Shared<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        self.0.call(req)
    }
}

impl<S, B> Service<ServiceRequest> for EdgeService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<EitherBody<EitherBody<B>, BoxBody>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.cors.poll_ready(cx)
    }

    fn call(&self, req: ServiceRequest) -> Self::Future {
        Box::pin(edge(Rc::clone(&self.0), req))
    }
}

/// One request through the [`Edge`]'s steps.
async fn edge<S, B>(
    layers: Rc<Layers<S>>,
    mut req: ServiceRequest,
) -> Result<ServiceResponse<EitherBody<EitherBody<B>, BoxBody>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    let mut started = access_log::Started::now(&req);
    cookie::keep_ours(&mut req, &layers.key);
    let preflight = json_errors::is_preflight(&req);
    let cors = cross_site::needs_cors(&req);
    let res = match cross_site::early_answer(&req, cors) {
        Some(answer) => {
            started.answered_before_routing();
            Ok(req.into_response(answer).map_into_right_body())
        }
        None => match inside(&layers, req, cors).await {
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

/// What the layers inside the edge answer: through actix-cors when it has
/// something to do (`needs_cors`), and otherwise around it with its `Vary`.
async fn inside<S, B>(
    layers: &Layers<S>,
    req: ServiceRequest,
    needs_cors: bool,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    if needs_cors {
        return layers.cors.call(req).await;
    }
    let mut res = layers.app.call(req).await?;
    cross_site::vary_as_cors_would(res.headers_mut());
    Ok(res.map_into_left_body())
}
