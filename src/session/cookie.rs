//! Per-login cookie lifetimes, and which of several `session` cookies a
//! request's is ([`keep_ours`]).
//!
//! actix-session configures one lifecycle for every cookie it sets, but the
//! contract has two kinds of login: a browser-session cookie (no `Max-Age`)
//! and a stay-signed-in cookie (`Max-Age = REMEMBER_TTL_SECONDS`). The session
//! middleware is therefore configured for browser-session cookies, and
//! [`apply_lifetime`], on the way out around it, adds `Max-Age` to the new
//! cookie of a response that a login marked with [`RememberFor`].

use actix_web::cookie::{time::Duration, Cookie, CookieJar, Key};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderValue, COOKIE, SET_COOKIE};

/// The session cookie's name.
pub const COOKIE_NAME: &str = "session";

/// Response marker: give the new session cookie this `Max-Age` (seconds).
#[derive(Debug, Clone, Copy)]
pub struct RememberFor(pub i64);

/// Gives the new session cookie of a response marked with [`RememberFor`]
/// its `Max-Age`. Called on the way out by `middleware::Edge`, outside
/// actix-session, which has set the cookie by then.
pub fn apply_lifetime<B>(res: &mut ServiceResponse<B>) {
    let Some(RememberFor(secs)) = res.response().extensions().get::<RememberFor>().copied() else {
        return;
    };
    let headers = res.headers_mut();
    let cookies: Vec<HeaderValue> = headers.get_all(SET_COOKIE).cloned().collect();
    headers.remove(SET_COOKIE);
    for value in cookies {
        let rewritten = value
            .to_str()
            .ok()
            .and_then(|raw| Cookie::parse(raw.to_owned()).ok())
            .filter(|c| c.name() == COOKIE_NAME && c.max_age() != Some(Duration::ZERO))
            .and_then(|mut c| {
                c.set_max_age(Duration::seconds(secs));
                HeaderValue::from_str(&c.to_string()).ok()
            });
        headers.append(SET_COOKIE, rewritten.unwrap_or(value));
    }
}

/// Leaves the request only the `session` cookies this server signed, when
/// it carries several: another app on a parent domain may use the name
/// too, and browsers send the more specific path (not always ours) first,
/// while actix-session reads only the first — one that is not ours would
/// answer every request `401`, a login loop nothing the app does can end
/// (it cannot clear a parent domain's cookie). A cookie whose signature
/// fails with this server's key names no session of ours, so only the
/// signed ones are kept, in their order; when none is, the first stays (so
/// the answer says a cookie came and named no session). Called before
/// anything parses the cookies (actix keeps the first parse). A request
/// with at most one `session` cookie, every browser's usual one, is only
/// scanned.
pub fn keep_ours(req: &mut ServiceRequest, key: &Key) {
    let headers = req.headers();
    let pairs = || {
        headers
            .get_all(COOKIE)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|line| line.split(';'))
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
    };
    let is_session = |pair: &&str| {
        pair.split_once('=')
            .is_some_and(|(name, _)| name.trim() == COOKIE_NAME)
    };
    if pairs().filter(is_session).nth(1).is_none() {
        return;
    }
    // Read as actix reads a request's cookies: percent-decoded.
    let signed_by_us = |pair: &str| {
        let Ok(cookie) = Cookie::parse_encoded(pair.to_owned()) else {
            return false;
        };
        let mut jar = CookieJar::new();
        jar.add_original(cookie);
        jar.signed(key).get(COOKIE_NAME).is_some()
    };
    let ours: Vec<&str> = pairs()
        .filter(is_session)
        .filter(|pair| signed_by_us(pair))
        .collect();
    let first = pairs().find(is_session);
    let kept: Vec<&str> = pairs()
        .filter(|pair| !is_session(pair))
        .chain(if ours.is_empty() {
            first.into_iter().collect()
        } else {
            ours
        })
        .collect();
    let Ok(line) = HeaderValue::from_str(&kept.join("; ")) else {
        return;
    };
    let headers = req.head_mut().headers_mut();
    headers.remove(COOKIE);
    headers.insert(COOKIE, line);
}
