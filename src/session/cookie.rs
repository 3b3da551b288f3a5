//! Per-login cookie lifetimes.
//!
//! actix-session configures one lifecycle for every cookie it sets, but the
//! contract has two kinds of login: a browser-session cookie (no `Max-Age`)
//! and a stay-signed-in cookie (`Max-Age = REMEMBER_TTL_SECONDS`). The session
//! middleware is therefore configured for browser-session cookies, and
//! [`apply_lifetime`], on the way out around it, adds `Max-Age` to the new
//! cookie of a response that a login marked with [`RememberFor`].

use actix_web::cookie::{time::Duration, Cookie};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderValue, SET_COOKIE};

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
