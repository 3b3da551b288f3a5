//! The HTTP routes, one file per resource, and the table that wires them.

pub mod account;
pub mod auth;
pub mod billing;
pub mod blog;
pub mod body;
pub mod health;
pub mod pagination;
pub mod recovery;

use actix_web::http::Method;
use actix_web::{guard, web, HttpRequest, HttpResponse, Resource, Route};

use crate::client_ip;
use crate::domain::Requester;
use crate::error::ApiError;

/// The contract's routes, as (path, method). `configure` below registers
/// exactly these; a test holds this table to `configure` (through each
/// path's `Allow` header) and to `openapi.yaml`.
pub const ROUTES: &[(&str, &str)] = &[
    ("/register", "POST"),
    ("/login", "POST"),
    ("/check_session", "GET"),
    ("/logout", "DELETE"),
    ("/blog", "GET"),
    ("/blog/{id}", "GET"),
    ("/sessions", "GET"),
    ("/sessions", "DELETE"),
    ("/sessions/{id}", "DELETE"),
    ("/password", "POST"),
    ("/account", "GET"),
    ("/account", "DELETE"),
    ("/account/events", "GET"),
    ("/billing/checkout", "POST"),
    ("/billing/portal", "POST"),
    ("/webhooks/stripe", "POST"),
    ("/email", "POST"),
    ("/email/verify", "POST"),
    ("/password/forgot", "POST"),
    ("/password/reset", "POST"),
    ("/health", "GET"),
    ("/openapi.yaml", "GET"),
];

/// Every route of the contract. A known path called with another method
/// answers `405` with an `Allow` header listing the methods it has.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/register", "POST").route(post().to(auth::register)))
        .service(resource("/login", "POST").route(post().to(auth::login)))
        .service(resource("/check_session", "GET, HEAD").route(get().to(auth::check_session)))
        .service(resource("/logout", "DELETE").route(delete().to(auth::logout)))
        .service(resource("/blog", "GET, HEAD").route(get().to(blog::list)))
        .service(resource("/blog/{id}", "GET, HEAD").route(get().to(blog::read)))
        .service(
            resource("/sessions", "GET, HEAD, DELETE")
                .route(get().to(account::list_sessions))
                .route(delete().to(account::end_other_sessions)),
        )
        .service(resource("/sessions/{id}", "DELETE").route(delete().to(account::end_session)))
        .service(resource("/password", "POST").route(post().to(account::change_password)))
        .service(
            resource("/account", "GET, HEAD, DELETE")
                .route(get().to(account::account))
                .route(delete().to(account::delete_account)),
        )
        .service(resource("/account/events", "GET, HEAD").route(get().to(account::list_events)))
        .service(resource("/billing/checkout", "POST").route(post().to(billing::checkout)))
        .service(resource("/billing/portal", "POST").route(post().to(billing::portal)))
        .service(resource(billing::WEBHOOK_PATH, "POST").route(post().to(billing::stripe_webhook)))
        .service(resource("/email", "POST").route(post().to(recovery::set_email)))
        .service(resource("/email/verify", "POST").route(post().to(recovery::verify_email)))
        .service(resource("/password/forgot", "POST").route(post().to(recovery::forgot_password)))
        .service(resource("/password/reset", "POST").route(post().to(recovery::reset_password)))
        .service(resource("/health", "GET, HEAD").route(get().to(health::health)))
        .service(resource("/openapi.yaml", "GET, HEAD").route(get().to(health::openapi)));
}

/// GET, and HEAD with it (monitors and HTTP clients expect HEAD wherever GET
/// works; actix sends the headers without the body).
fn get() -> Route {
    methods([Method::GET, Method::HEAD])
}

fn post() -> Route {
    methods([Method::POST])
}

fn delete() -> Route {
    methods([Method::DELETE])
}

/// A route for these methods. Not actix's method guards (`web::get()` and
/// the rest): on every request they record the methods they were checked
/// against in the request's data — a map entry and a `Vec` — for actix's
/// own `405`, which [`resource`]'s default answer replaces.
fn methods<const N: usize>(allowed: [Method; N]) -> Route {
    web::route().guard(guard::fn_guard(move |ctx| {
        allowed.contains(&ctx.head().method)
    }))
}

/// A resource named after its own pattern: the metrics' `route` label is
/// the matched resource's name, which actix finds without allocating (its
/// pattern would be rebuilt as a new `String` on every request).
fn resource(path: &str, allow: &'static str) -> Resource {
    web::resource(path)
        .name(path)
        .default_service(web::to(move || async move {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed(allow))
        }))
}

/// For paths no route matches (the guard has already turned anonymous
/// callers away with `401`).
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The caller's `User-Agent`, shortened, for the session list.
pub fn user_agent(req: &HttpRequest) -> Option<String> {
    let ua = req.headers().get("user-agent")?.to_str().ok()?;
    Some(ua.chars().take(256).collect())
}

/// Who is making this request, for the account events it causes.
pub fn requester(req: &HttpRequest) -> Requester {
    Requester::new(client_ip::of(req), user_agent(req))
}

/// The distinct route patterns of [`ROUTES`], for the metrics' `route` label.
pub fn patterns() -> Vec<&'static str> {
    let mut patterns: Vec<&'static str> = Vec::new();
    for (path, _) in ROUTES {
        if !patterns.contains(path) {
            patterns.push(path);
        }
    }
    patterns
}
