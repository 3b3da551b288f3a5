//! The route table: every path of the contract, who may call it, what
//! its session lookup reads ahead, and its handlers, written once
//! ([`ENDPOINTS`]). The router ([`resources`]), the guard's rule for each
//! route (its [`Endpoint`]), the public paths the edge refuses early
//! without ([`is_public`]), the metrics' route labels ([`patterns`]) and
//! [`ROUTES`] (held to `openapi.yaml` and to the server's `Allow` headers by
//! a test) are all read from here.

use actix_web::http::Method;
use actix_web::{guard, web, HttpResponse, Resource, Route};

use super::{
    account, admin, auth, billing, blog, email_sign_in, gifts, health, insights, newsletters,
    passkeys, posts, providers, recovery, two_factor, webhooks,
};
use crate::error::ApiError;

/// Who may call a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone; the guard lets the request through without a session.
    Public,
    /// Only a caller with a live session; the guard answers `401` to others.
    Session,
    /// The listing (`GET /blog`): anyone when PUBLIC_LISTING is on, else
    /// as [`Access::Session`].
    Listing,
    /// A post (`GET`/`HEAD /blog/{id}`): anyone when ANONYMOUS_READS is
    /// above 0 (a browser without a session is metered by its reader
    /// cookie), else as [`Access::Session`].
    Reading,
}

impl Access {
    /// Whether the guard lets a caller without a session through.
    #[inline]
    pub fn is_open(self, settings: &crate::config::Settings) -> bool {
        match self {
            Access::Public => true,
            Access::Session => false,
            Access::Listing => settings.public_listing,
            Access::Reading => settings.anonymous_reads > 0,
        }
    }
}

/// An HTTP method a route answers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// GET, and HEAD with it.
    Get,
    Post,
    Patch,
    Delete,
}

impl Verb {
    /// The method's name as HTTP writes it (HEAD is implied by GET).
    pub const fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
            Verb::Delete => "DELETE",
        }
    }

    /// The actix route for this method, before its handler is attached.
    fn route(self) -> Route {
        match self {
            // Monitors and HTTP clients expect HEAD wherever GET works;
            // actix sends the headers without the body.
            Verb::Get => methods([Method::GET, Method::HEAD]),
            Verb::Post => methods([Method::POST]),
            Verb::Patch => methods([Method::PATCH]),
            Verb::Delete => methods([Method::DELETE]),
        }
    }
}

/// One method of a path and the handler that answers it.
pub struct Handler {
    pub verb: Verb,
    /// Attaches the handler to the method's route (`|r| r.to(f)`): each
    /// handler is its own type, so the table holds this instead.
    attach: fn(Route) -> Route,
}

/// What a route's session lookup reads ahead, in the same job (see
/// `session::lookup`), so that the handler's own read is answered already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadsAhead {
    /// The session alone.
    Session,
    /// With a `GET`, the caller's meter for the post the path's `{id}`
    /// names (a post id; a slug is looked up by the handler).
    Meter,
}

/// A path of the contract: who may call it, what its session lookup reads
/// ahead, and its methods.
pub struct Endpoint {
    pub path: &'static str,
    pub access: Access,
    pub reads_ahead: ReadsAhead,
    pub handlers: &'static [Handler],
}

const fn get(attach: fn(Route) -> Route) -> Handler {
    Handler {
        verb: Verb::Get,
        attach,
    }
}

const fn post(attach: fn(Route) -> Route) -> Handler {
    Handler {
        verb: Verb::Post,
        attach,
    }
}

const fn patch(attach: fn(Route) -> Route) -> Handler {
    Handler {
        verb: Verb::Patch,
        attach,
    }
}

const fn delete(attach: fn(Route) -> Route) -> Handler {
    Handler {
        verb: Verb::Delete,
        attach,
    }
}

/// The contract's routes, written once (see the module's doc). A public
/// path is matched exactly: `/login/` is not `/login`. actix tries the
/// routes in this order, each pattern in turn until one matches, so the
/// paths a reader's SPA calls most come first, the static ones (a string
/// comparison each) ahead of the post's pattern (a regex): what comes
/// after them is never tried for them. (A static path must still come
/// before any pattern that would match it: a test holds that.)
pub const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        path: "/check_session",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(auth::check_session))],
    },
    Endpoint {
        path: LISTING_PATH,
        // Public when PUBLIC_LISTING is on: a front page's titles.
        access: Access::Listing,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(blog::list))],
    },
    Endpoint {
        path: POST_PATH,
        // Public when ANONYMOUS_READS is above 0: a browser's meter.
        access: Access::Reading,
        // A free reader's re-read goes to the database once.
        reads_ahead: ReadsAhead::Meter,
        handlers: &[get(|r| r.to(blog::read))],
    },
    Endpoint {
        path: "/register",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(auth::register))],
    },
    Endpoint {
        path: "/login",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(auth::login))],
    },
    Endpoint {
        path: "/login/two-factor",
        // The pending sign-in the cookie names is its authentication.
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(two_factor::second_step))],
    },
    Endpoint {
        path: "/login/email",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(email_sign_in::request))],
    },
    Endpoint {
        path: "/login/email/verify",
        // The emailed link or code is its authentication.
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(email_sign_in::verify))],
    },
    Endpoint {
        path: "/login/passkey/options",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(passkeys::login_options))],
    },
    Endpoint {
        path: "/login/passkey",
        // The passkey is its authentication.
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(passkeys::login))],
    },
    // Sign-in with other providers: browser navigations to and back from
    // the provider, public like `/login` (the guard lets every `/auth/…`
    // path through; see `is_public`).
    Endpoint {
        path: "/auth/providers",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(providers::list))],
    },
    Endpoint {
        path: "/auth/{provider}/start",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(providers::start))],
    },
    Endpoint {
        path: "/auth/{provider}/callback",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(providers::callback))],
    },
    Endpoint {
        path: "/logout",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[delete(|r| r.to(auth::logout))],
    },
    Endpoint {
        path: "/blog/{id}/gift",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(gifts::gift))],
    },
    Endpoint {
        path: "/gifts",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(gifts::list))],
    },
    Endpoint {
        path: "/gifts/{id}",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[delete(|r| r.to(gifts::revoke))],
    },
    Endpoint {
        path: "/gift/{token}",
        // The link is its authentication; a session, if any, says who reads.
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(gifts::open))],
    },
    Endpoint {
        path: "/posts",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(posts::list)), post(|r| r.to(posts::create))],
    },
    Endpoint {
        path: "/posts/{id}",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            get(|r| r.to(posts::read)),
            patch(|r| r.to(posts::edit)),
            delete(|r| r.to(posts::delete)),
        ],
    },
    Endpoint {
        path: "/posts/{id}/publish",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(posts::publish))],
    },
    Endpoint {
        path: "/posts/{id}/unpublish",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(posts::unpublish))],
    },
    Endpoint {
        path: "/insights",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(insights::site))],
    },
    Endpoint {
        path: "/insights/posts",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(insights::posts))],
    },
    Endpoint {
        path: "/admin/users",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(admin::list))],
    },
    Endpoint {
        path: "/admin/users/{id}",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[patch(|r| r.to(admin::edit))],
    },
    Endpoint {
        path: "/admin/members.csv",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(admin::members_csv))],
    },
    Endpoint {
        path: "/admin/users/{id}/two-factor",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[delete(|r| r.to(admin::reset_two_factor))],
    },
    Endpoint {
        path: "/admin/webhooks",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            get(|r| r.to(webhooks::list)),
            post(|r| r.to(webhooks::create)),
        ],
    },
    Endpoint {
        path: "/admin/webhooks/{id}",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            patch(|r| r.to(webhooks::edit)),
            delete(|r| r.to(webhooks::delete)),
        ],
    },
    Endpoint {
        path: "/admin/webhooks/{id}/rotate",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(webhooks::rotate))],
    },
    Endpoint {
        path: "/admin/webhooks/{id}/deliveries",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(webhooks::deliveries))],
    },
    Endpoint {
        path: "/admin/webhooks/{id}/deliveries/{delivery}/retry",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(webhooks::retry))],
    },
    Endpoint {
        path: "/sessions",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            get(|r| r.to(account::list_sessions)),
            delete(|r| r.to(account::end_other_sessions)),
        ],
    },
    Endpoint {
        path: "/sessions/{id}",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[delete(|r| r.to(account::end_session))],
    },
    Endpoint {
        path: "/password",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(account::change_password))],
    },
    Endpoint {
        path: "/account",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            get(|r| r.to(account::account)),
            patch(|r| r.to(account::edit_account)),
            delete(|r| r.to(account::delete_account)),
        ],
    },
    Endpoint {
        path: "/account/export",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(account::export))],
    },
    Endpoint {
        path: "/account/totp",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            post(|r| r.to(two_factor::start)),
            delete(|r| r.to(two_factor::turn_off)),
        ],
    },
    Endpoint {
        path: "/account/totp/confirm",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(two_factor::confirm))],
    },
    Endpoint {
        path: "/account/recovery-codes",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(two_factor::regenerate_codes))],
    },
    Endpoint {
        path: "/account/passkeys/options",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(passkeys::registration_options))],
    },
    Endpoint {
        path: "/account/passkeys",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            get(|r| r.to(passkeys::list)),
            post(|r| r.to(passkeys::register)),
        ],
    },
    Endpoint {
        path: "/account/passkeys/{id}",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[delete(|r| r.to(passkeys::remove))],
    },
    Endpoint {
        path: "/account/identities",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[
            get(|r| r.to(providers::identities)),
            post(|r| r.to(providers::link)),
        ],
    },
    Endpoint {
        path: "/account/identities/{id}",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[delete(|r| r.to(providers::unlink))],
    },
    Endpoint {
        path: "/account/events",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(account::list_events))],
    },
    Endpoint {
        path: "/billing/prices",
        // The offer, shown before sign-in (a front page, a paywall).
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(billing::prices))],
    },
    Endpoint {
        path: "/billing/checkout",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(billing::checkout))],
    },
    Endpoint {
        path: "/billing/portal",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(billing::portal))],
    },
    Endpoint {
        path: NEWSLETTER_UNSUBSCRIBE_PATH,
        // Mail providers post here from their servers (RFC 8058): the
        // emailed token is its authentication.
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(newsletters::unsubscribe))],
    },
    Endpoint {
        path: billing::WEBHOOK_PATH,
        // Stripe's servers call it; its signature is its authentication.
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(billing::stripe_webhook))],
    },
    Endpoint {
        path: "/email",
        access: Access::Session,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(recovery::set_email))],
    },
    // Emailed links are followed by someone who may not be logged in (a
    // forgotten password, another device): the three below are public.
    Endpoint {
        path: "/email/verify",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(recovery::verify_email))],
    },
    Endpoint {
        path: "/password/forgot",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(recovery::forgot_password))],
    },
    Endpoint {
        path: "/password/reset",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[post(|r| r.to(recovery::reset_password))],
    },
    Endpoint {
        path: "/health",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(health::health))],
    },
    Endpoint {
        path: "/openapi.yaml",
        access: Access::Public,
        reads_ahead: ReadsAhead::Session,
        handlers: &[get(|r| r.to(health::openapi))],
    },
];

/// Every (path, method) of [`ENDPOINTS`], in its order.
pub const ROUTES: &[(&str, &str)] = &route_pairs::<{ route_count(ENDPOINTS) }>(ENDPOINTS);

/// The paths of [`ENDPOINTS`] anyone may call. An array compared in place,
/// so the guard's check on every request allocates and locks nothing.
const PUBLIC_PATHS: [&str; path_count(ENDPOINTS, Paths::Public)] = paths(ENDPOINTS, Paths::Public);

/// The paths of [`ENDPOINTS`] that hold no parameter, compared in place
/// like [`PUBLIC_PATHS`] (see [`static_route`]).
const STATIC_PATHS: [&str; path_count(ENDPOINTS, Paths::Static)] = paths(ENDPOINTS, Paths::Static);

/// The route `path` is when it names one without parameters. An answer
/// given before routing (the guard's early `401`) is counted under its
/// route; asking actix's resource map would walk the patterns again, and
/// run the regex of each parameterised one ahead of it, on the most
/// frequent answer there is. No pattern ahead of a static path in the
/// table matches it (a test holds that), so this is the route the router
/// would have taken.
pub fn static_route(path: &str) -> Option<&'static str> {
    STATIC_PATHS.iter().copied().find(|known| *known == path)
}

const fn has_parameter(path: &str) -> bool {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'{' {
            return true;
        }
        i += 1;
    }
    false
}

/// Which of the table's paths an array holds.
#[derive(Clone, Copy)]
enum Paths {
    /// The endpoints anyone may call.
    Public,
    /// The paths without parameters.
    Static,
}

impl Paths {
    const fn holds(self, endpoint: &Endpoint) -> bool {
        match self {
            Paths::Public => matches!(endpoint.access, Access::Public),
            Paths::Static => !has_parameter(endpoint.path),
        }
    }
}

const fn path_count(table: &[Endpoint], which: Paths) -> usize {
    let (mut count, mut i) = (0, 0);
    while i < table.len() {
        if which.holds(&table[i]) {
            count += 1;
        }
        i += 1;
    }
    count
}

const fn paths<const N: usize>(table: &[Endpoint], which: Paths) -> [&'static str; N] {
    let mut paths = [""; N];
    let (mut k, mut i) = (0, 0);
    while i < table.len() {
        if which.holds(&table[i]) {
            paths[k] = table[i].path;
            k += 1;
        }
        i += 1;
    }
    paths
}

const fn route_count(table: &[Endpoint]) -> usize {
    let (mut count, mut i) = (0, 0);
    while i < table.len() {
        count += table[i].handlers.len();
        i += 1;
    }
    count
}

const fn route_pairs<const N: usize>(table: &[Endpoint]) -> [(&'static str, &'static str); N] {
    let mut pairs = [("", ""); N];
    let (mut k, mut i) = (0, 0);
    while i < table.len() {
        let mut j = 0;
        while j < table[i].handlers.len() {
            pairs[k] = (table[i].path, table[i].handlers[j].verb.name());
            k += 1;
            j += 1;
        }
        i += 1;
    }
    pairs
}

/// The prefix of the paths of signing in with other providers, all public
/// (the contract's `/auth/…`): their second segment is a provider's name,
/// so they cannot be matched exactly.
pub const PROVIDER_PATHS: &str = "/auth/";

/// The listing's path, public when PUBLIC_LISTING is on (see
/// [`Access::Listing`]).
pub const LISTING_PATH: &str = "/blog";

/// A post's path (see [`Access::Reading`]).
pub const POST_PATH: &str = "/blog/{id}";

/// Whether `path` (as requested) is a post's, which ANONYMOUS_READS may
/// open to a browser without a session.
pub fn is_post_path(path: &str) -> bool {
    path.strip_prefix("/blog/")
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// The one-click unsubscribe of newsletter messages, posted by mail
/// providers' servers: no cross-site rule applies to it.
pub const NEWSLETTER_UNSUBSCRIBE_PATH: &str = "/newsletter/unsubscribe";

/// The prefix of gift links (`/gift/{token}`), public: the token is its
/// authentication.
pub const GIFT_PATHS: &str = "/gift/";

/// Whether anyone may call `path` (as the router matches it). Of the
/// paths under `/gift/`, only a gift link itself (one segment) is public:
/// any other is an unknown path, answered as every guarded one is.
#[inline]
pub fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path)
        || path.starts_with(PROVIDER_PATHS)
        || path
            .strip_prefix(GIFT_PATHS)
            .is_some_and(|token| !token.is_empty() && !token.contains('/'))
}

/// Every route of [`ENDPOINTS`], with the endpoint it serves: the caller
/// wraps each in the guard for that endpoint before registering it. A
/// known path called with another method answers `405` with an `Allow`
/// header listing the methods it has.
pub fn resources() -> impl Iterator<Item = (&'static Endpoint, Resource)> {
    ENDPOINTS.iter().zip(ALLOW.iter()).map(|(endpoint, allow)| {
        let mut resource = resource(endpoint.path, allow.as_str());
        for handler in endpoint.handlers {
            resource = resource.route((handler.attach)(handler.verb.route()));
        }
        (endpoint, resource)
    })
}

/// Each endpoint's `Allow` header, in [`ENDPOINTS`]' order: its methods in
/// the order GET, HEAD, POST, PATCH, DELETE. Made once, for every worker.
static ALLOW: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
    ENDPOINTS
        .iter()
        .map(|endpoint| {
            let has = |verb| endpoint.handlers.iter().any(|h| h.verb == verb);
            let mut methods = Vec::new();
            if has(Verb::Get) {
                methods.extend(["GET", "HEAD"]);
            }
            for verb in [Verb::Post, Verb::Patch, Verb::Delete] {
                if has(verb) {
                    methods.push(verb.name());
                }
            }
            methods.join(", ")
        })
        .collect()
});

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

/// The route patterns of [`ENDPOINTS`], for the metrics' `route` label.
pub fn patterns() -> Vec<&'static str> {
    ENDPOINTS.iter().map(|endpoint| endpoint.path).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_paths_are_the_contracts() {
        let mut public = PUBLIC_PATHS.to_vec();
        public.sort_unstable();
        assert_eq!(
            public,
            [
                "/auth/providers",
                "/auth/{provider}/callback",
                "/auth/{provider}/start",
                "/billing/prices",
                "/check_session",
                "/email/verify",
                "/gift/{token}",
                "/health",
                "/login",
                "/login/email",
                "/login/email/verify",
                "/login/passkey",
                "/login/passkey/options",
                "/login/two-factor",
                "/newsletter/unsubscribe",
                "/openapi.yaml",
                "/password/forgot",
                "/password/reset",
                "/register",
                "/webhooks/stripe",
            ]
        );
        assert!(is_public("/login") && !is_public("/login/") && !is_public("/blog/1"));
        assert!(is_public("/auth/google/start") && !is_public("/authx") && !is_public("/auth"));
        assert!(is_public("/gift/abc") && !is_public("/gifts") && !is_public("/gifts/1"));
    }

    #[test]
    fn each_path_and_method_is_listed_once() {
        let mut paths: Vec<&str> = ENDPOINTS.iter().map(|e| e.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ENDPOINTS.len(), "a path is listed twice");
        for endpoint in ENDPOINTS {
            let mut verbs: Vec<&str> = endpoint.handlers.iter().map(|h| h.verb.name()).collect();
            verbs.sort_unstable();
            verbs.dedup();
            assert_eq!(verbs.len(), endpoint.handlers.len(), "{}", endpoint.path);
        }
        assert!(ALLOW.iter().all(|allow| !allow.is_empty()));
        assert_eq!(ROUTES.len(), 69);
    }

    #[test]
    fn a_static_path_is_the_route_the_router_takes() {
        let mut statics = 0;
        for (i, endpoint) in ENDPOINTS.iter().enumerate() {
            if has_parameter(endpoint.path) {
                continue;
            }
            statics += 1;
            assert_eq!(static_route(endpoint.path), Some(endpoint.path));
            // The router takes the first pattern that matches, in this order.
            for ahead in &ENDPOINTS[..i] {
                let pattern = actix_web::dev::ResourceDef::new(ahead.path);
                assert!(
                    !pattern.is_match(endpoint.path),
                    "{} before {}",
                    ahead.path,
                    endpoint.path
                );
            }
        }
        assert_eq!(statics, STATIC_PATHS.len());
        assert_eq!(static_route("/blog"), Some("/blog"));
        for path in ["/blog/1", "/blog/", "/auth/google/start", "", "/nowhere"] {
            assert_eq!(static_route(path), None, "{path}");
        }
    }

    #[test]
    fn a_route_that_reads_a_meter_ahead_names_the_post_in_its_id() {
        for endpoint in ENDPOINTS {
            if endpoint.reads_ahead == ReadsAhead::Meter {
                assert!(endpoint.path.ends_with("/{id}"), "{}", endpoint.path);
                assert!(endpoint.handlers.iter().any(|h| h.verb == Verb::Get));
            }
        }
    }
}
