//! Cross-site request defences, before CORS and sessions see the request.
//!
//! The session cookie is `SameSite=Lax`, but Lax still sends it on top-level
//! GET navigations, and `SameSite=None` (for SPAs on another site) sends it
//! everywhere. So the server itself refuses, with `403 forbidden_origin`:
//! - a state-changing request (`POST`, `DELETE`) whose `Origin` is neither an
//!   allowed SPA origin nor the server's own — cross-site login, logout, or
//!   spending a user's free reads;
//! - any request the browser labels `Sec-Fetch-Site: cross-site` unless its
//!   `Origin` is allowed — a link or form on another site cannot act as the
//!   user, even with a GET;
//! - a CORS preflight from an origin that is not allowed (no CORS headers).
//!
//! Requests with neither header (curl, Postman, servers) are not affected:
//! they carry no ambient browser credentials to abuse. Nor are the Stripe
//! webhook and the newsletter's one-click unsubscribe, whatever they
//! carry: they are server to server, act on no cookie, and are
//! authenticated by a signature or an emailed token alone.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName};
use actix_web::http::Method;
use actix_web::{web, HttpResponse, ResponseError};

use crate::error::ApiError;
use crate::state::AppState;

/// `Sec-Fetch-Site`, which the `http` crate does not name. A header asked
/// for by a `&str` it does not know is copied into a new name first: on
/// every request, for this one.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The answer to a request refused here (above), if it is one.
///
/// It also gives the guard's `401` early to a request that can have no
/// session — no session cookie, a guarded path — when CORS has nothing to
/// add (no `Origin`, not an `OPTIONS`): the same answer the guard would
/// give, with the `Vary` actix-cors would have added, without the CORS and
/// session layers (the most frequent refusal, made about a fifth cheaper;
/// bench/README.md). `tests/api/errors.rs` holds the two paths' answers
/// equal.
///
/// On the way out, [`strip_stray_cors_headers`] tidies the answers to the
/// rest. Both run in [`super::Edge`]: every layer costs every request an
/// allocation and a dynamic call.
///
/// `needs_cors` is [`needs_cors`] of `req`, asked once by the edge, which
/// also routes by it.
pub fn early_answer(req: &ServiceRequest, needs_cors: bool) -> Option<HttpResponse> {
    if is_refused(req) {
        return Some(ApiError::ForbiddenOrigin.error_response());
    }
    if !needs_cors {
        if let Some(refusal) = super::guard::refuse_without_cookie(req) {
            let mut response = refusal.error_response();
            vary_as_cors_would(response.headers_mut());
            return Some(response);
        }
    }
    None
}

fn is_refused(req: &ServiceRequest) -> bool {
    // Server to server: Stripe's webhook, and a mail provider's one-click
    // unsubscribe (its token is its authentication).
    if req.path() == crate::billing::WEBHOOK_PATH
        || req.path() == crate::routes::table::NEWSLETTER_UNSUBSCRIBE_PATH
    {
        return false;
    }
    // A provider sign-in is two top-level navigations, from the SPA to
    // `start` and from the provider back to `callback`: cross-site by
    // nature, and carrying no `Origin`. The flow's own state, bound to the
    // browser by its cookie, is what stops a forged one.
    if req.method() == Method::GET && req.path().starts_with(crate::routes::table::PROVIDER_PATHS) {
        return false;
    }
    let headers = req.headers();
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    let allowed = origin.is_some_and(|o| is_allowed_origin(req, o));
    let cross_site = headers
        .get(&SEC_FETCH_SITE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site"));

    if cross_site && !allowed {
        return true;
    }
    let Some(origin) = origin else {
        return false;
    };
    let preflight = req.method() == Method::OPTIONS
        && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let state_changing = matches!(*req.method(), Method::POST | Method::PATCH | Method::DELETE);
    (preflight || state_changing) && !allowed && !is_same_origin(req, origin)
}

fn is_allowed_origin(req: &ServiceRequest, origin: &str) -> bool {
    req.app_data::<web::Data<AppState>>().is_some_and(|state| {
        state
            .settings
            .cors_allowed_origins
            .iter()
            .any(|allowed| allowed == origin)
    })
}

/// Same scheme, host and port as the request's `Host` header.
fn is_same_origin(req: &ServiceRequest, origin: &str) -> bool {
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let scheme = req.connection_info().scheme().to_owned();
    origin == format!("{scheme}://{host}")
        || (scheme == "http" && origin == format!("http://{host}:80"))
        || (scheme == "https" && origin == format!("https://{host}:443"))
}

/// The `Vary` actix-cors puts on every answer it passes.
const CORS_VARY: &str = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";

/// Whether actix-cors has anything to do for `req`: a preflight to answer
/// or an origin to allow, which only an `OPTIONS` or a request with an
/// `Origin` can be. For any other request it would only pass the answer
/// on with its `Vary` and two headers that [`strip_stray_cors_headers`]
/// takes off again (no origin was allowed), so [`super::Edge`] sends it
/// around actix-cors and adds the `Vary` itself
/// ([`vary_as_cors_would`]): a layer fewer for every request from a
/// same-origin page, a server or a command line.
pub fn needs_cors(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS || req.headers().contains_key(header::ORIGIN)
}

/// The `Vary` actix-cors adds to an answer it passes: its three names
/// after whatever the answer varies on already.
pub fn vary_as_cors_would(headers: &mut header::HeaderMap) {
    let value = match headers.get(header::VARY) {
        Some(own) => {
            let mut both = own.as_bytes().to_vec();
            both.extend_from_slice(b", ");
            both.extend_from_slice(CORS_VARY.as_bytes());
            header::HeaderValue::from_bytes(&both)
                .unwrap_or_else(|_| header::HeaderValue::from_static(CORS_VARY))
        }
        None => header::HeaderValue::from_static(CORS_VARY),
    };
    headers.insert(header::VARY, value);
}

/// actix-cors adds `Access-Control-Allow-Credentials` and
/// `Access-Control-Expose-Headers` to every response it passes, even one to
/// an origin it did not allow (or to no origin at all). The contract says
/// other origins get no CORS headers, so those two are removed wherever
/// actix-cors did not also allow the origin.
pub fn strip_stray_cors_headers<B>(res: &mut ServiceResponse<B>) {
    let headers = res.headers_mut();
    if !headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
        headers.remove(header::ACCESS_CONTROL_EXPOSE_HEADERS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderMap, HeaderValue, VARY};

    #[test]
    fn the_vary_is_actix_cors_own_after_what_the_answer_varies_on() {
        let mut none = HeaderMap::new();
        vary_as_cors_would(&mut none);
        assert_eq!(none.get(VARY).unwrap(), CORS_VARY);

        let mut own = HeaderMap::new();
        own.insert(VARY, HeaderValue::from_static("Accept-Encoding"));
        vary_as_cors_would(&mut own);
        assert_eq!(
            own.get(VARY).unwrap(),
            "Accept-Encoding, Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        );
        assert_eq!(own.get_all(VARY).count(), 1);
    }
}
