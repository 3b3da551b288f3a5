//! Cross-cutting HTTP layers, in the order `startup` stacks them (outermost
//! first): the access log, the contract headers, JSON errors for anything
//! actix or a library answered itself, and the cross-site defences.

pub mod access_log;
pub mod cross_site;
pub mod json_errors;

use actix_web::middleware::DefaultHeaders;

/// The headers every response carries: nothing is cached (responses are
/// per-user), nothing is sniffed into HTML, and nothing here may be framed
/// or load sub-resources.
pub const CONTRACT_HEADERS: [(&str, &str); 3] = [
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    (
        "Content-Security-Policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
];

pub fn contract_headers() -> DefaultHeaders {
    CONTRACT_HEADERS
        .into_iter()
        .fold(DefaultHeaders::new(), |headers, pair| headers.add(pair))
}
