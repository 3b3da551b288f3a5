//! Cross-cutting HTTP layers, in the order `startup` stacks them (outermost
//! first): the access log, the contract headers, JSON errors for anything
//! actix or a library answered itself, the cross-site defences, and (after
//! CORS and actix-session) the guard.

pub mod access_log;
pub mod cross_site;
pub mod guard;
pub mod json_errors;

use actix_web::middleware::DefaultHeaders;

/// The headers every response carries: nothing is cached (responses are
/// per-user), nothing is sniffed into HTML, and nothing here may be framed
/// or load sub-resources.
pub const CONTRACT_HEADERS: [(&str, &str); 3] = [
    ("cache-control", "no-store"),
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

pub fn contract_headers() -> DefaultHeaders {
    CONTRACT_HEADERS
        .into_iter()
        .fold(DefaultHeaders::new(), |headers, pair| headers.add(pair))
}
