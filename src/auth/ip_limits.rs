//! The contract's per-client-IP abuse limits, shared by every instance
//! through the database (`db::ip_limits`): a handler calls [`spend`] in a
//! write transaction before the costly part (a bcrypt, a message), so that
//! parallel requests on any instance cannot all slip past the count, and
//! [`give_back`] if the attempt turns out not to count. A refusal is
//! `429 too_many_requests` with `Retry-After`; a
//! limit counts only its own client network ([`IpLimits::network`]: an
//! IPv4 address, or an IPv6 prefix), so it never blocks another.
//!
//! Adding a limit to a route is one line in its transaction, e.g. for
//! `POST /password/forgot`:
//! `ip_limits::spend(conn, &state.ip_limits.forgot, &ip, now)?;`

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use crate::config::Settings;
use crate::db::{ip_limits, Conn};
use crate::domain::{network_of, IpLimit};
use crate::error::ApiError;

/// One hour, the window of the hourly limits.
const HOUR: i64 = 3_600;

/// The per-IP limits other than failed logins (those are counted with the
/// username's lockout, in `auth::throttle`).
#[derive(Debug, Clone)]
pub struct IpLimits {
    /// REGISTER_MAX_PER_IP_PER_HOUR accounts created.
    pub register: IpLimit,
    /// FORGOT_MAX_PER_IP_PER_HOUR forgot-password requests.
    pub forgot: IpLimit,
    /// EMAIL_SIGN_IN_MAX_PER_IP_PER_HOUR sign-ins by email asked for.
    pub email_sign_in: IpLimit,
    /// SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR provider sign-ins started and
    /// passkey sign-in options: each stores a row for a caller nobody
    /// knows yet, and takes the write lock logins need.
    pub sign_in_starts: IpLimit,
    /// PROMOTION_CODE_TRIES_PER_HOUR promotion codes looked up at Stripe
    /// per client network, and the same per user (`promotion_codes_of_user`,
    /// counted by user id): a guess is a call to Stripe, whoever pays for
    /// it.
    pub promotion_codes: IpLimit,
    pub promotion_codes_of_user: IpLimit,
    /// IPV6_LIMIT_PREFIX.
    pub v6_prefix: u8,
    /// The networks this instance has seen refused, until their windows end.
    pub spent: Arc<Spent>,
}

impl IpLimits {
    pub fn new(settings: &Settings) -> Self {
        IpLimits {
            register: IpLimit::new("register", settings.register_max_per_ip_per_hour, HOUR),
            forgot: IpLimit::new("forgot", settings.forgot_max_per_ip_per_hour, HOUR),
            email_sign_in: IpLimit::new(
                "email_sign_in",
                settings.email_sign_in_max_per_ip_per_hour,
                HOUR,
            ),
            sign_in_starts: IpLimit::new(
                "sign_in_start",
                settings.sign_in_starts_max_per_ip_per_hour,
                HOUR,
            ),
            promotion_codes: IpLimit::new(
                "promotion_code",
                settings.promotion_code_tries_per_hour,
                HOUR,
            ),
            promotion_codes_of_user: IpLimit::new(
                "promotion_code_user",
                settings.promotion_code_tries_per_hour,
                HOUR,
            ),
            v6_prefix: settings.ipv6_limit_prefix,
            spent: Arc::default(),
        }
    }

    /// The client network the limits count `ip` under; an unknown client
    /// (no peer address) counts as one network of its own.
    pub fn network(&self, ip: Option<IpAddr>) -> String {
        ip.map(|ip| network_of(ip, self.v6_prefix))
            .unwrap_or_default()
    }
}

/// Counts one action of `ip` under `limit`, inside the caller's write
/// transaction; `429` when it is one too many, which rolls the caller's
/// transaction back, this count with it (so refused attempts do not extend
/// the refusal, and parallel requests on any instance cannot all slip in:
/// each sees the total the atomic upsert returns).
pub fn spend(conn: &mut Conn, limit: &IpLimit, ip: &str, now: i64) -> Result<(), ApiError> {
    let hits = ip_limits::hit(conn, limit, ip, now)?;
    match limit.refusal(hits.saturating_sub(1), now) {
        Some(retry_after_secs) => Err(ApiError::TooManyRequests { retry_after_secs }),
        None => Ok(()),
    }
}

/// Takes back an action [`spend`] counted at `at` that turned out not to
/// count (the server could not answer it).
pub fn give_back(conn: &mut Conn, limit: &IpLimit, network: &str, at: i64) -> Result<(), ApiError> {
    Ok(ip_limits::give_back(conn, limit, network, at)?)
}

/// The client networks this instance has seen use up a limit, each until
/// the end of the window it used up: a flood refused once is refused again
/// from memory, without a write per request (each refusal otherwise takes
/// the database's write lock, or a row lock and a transaction on
/// PostgreSQL, which slowed every other request on the server). A window's
/// count only grows, so what one instance saw spent stays spent; another
/// instance learns it at its own first refusal. Failed logins
/// (`auth::throttle`) are remembered too, though an attempt can be given
/// back ([`give_back`]): see `LoginThrottle::judge` for why that is sound.
///
/// A refusal from memory is answered after [`Spent::PAUSE`]: a flood's
/// connections each wait for their answer, so past its limit a flood
/// costs this instance a timer per request instead of its worker's time,
/// and every other client is served as before. (Answered at once, 128
/// connections of refusals kept the worker so busy that a `check_session`
/// beside them took twenty times as long.)
#[derive(Debug, Default)]
pub struct Spent(Mutex<HashMap<(&'static str, String), i64>>);

impl Spent {
    /// How many networks are remembered at most: past it, the windows that
    /// have ended are forgotten, and if that is not enough, all (each is
    /// then refused by the database again, once).
    const MAX: usize = 10_000;

    /// How long a refusal from memory waits before it is answered.
    pub const PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

    /// `429`, after [`Spent::PAUSE`], when `network` is known to have used
    /// up `limit` in the window that holds `now`.
    pub async fn check(&self, limit: &IpLimit, network: &str, now: i64) -> Result<(), ApiError> {
        let known = self.known(limit, network, now);
        if known.is_err() {
            tokio::time::sleep(Self::PAUSE).await;
        }
        known
    }

    /// `429` when `network` is known to have used up `limit` in the window
    /// that holds `now`, at once.
    fn known(&self, limit: &IpLimit, network: &str, now: i64) -> Result<(), ApiError> {
        let spent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match spent.get(&(limit.kind, network.to_owned())) {
            Some(&until) if now < until => Err(ApiError::TooManyRequests {
                retry_after_secs: (until - now).max(1) as u64,
            }),
            _ => Ok(()),
        }
    }

    /// Remembers that `network` used up `limit` in the window that holds
    /// `now`, when `answer` is its refusal; gives `answer` back.
    pub fn note<T>(
        &self,
        limit: &IpLimit,
        network: &str,
        now: i64,
        answer: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        if let Err(ApiError::TooManyRequests { .. }) = &answer {
            let mut spent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if spent.len() >= Self::MAX {
                spent.retain(|_, until| now < *until);
                if spent.len() >= Self::MAX {
                    spent.clear();
                }
            }
            spent.insert((limit.kind, network.to_owned()), limit.window_end(now));
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_network_is_refused_until_its_window_ends() {
        let limit = IpLimit::new("starts", 2, 3_600);
        let spent = Spent::default();
        assert!(spent.known(&limit, "10.0.0.1", 100).is_ok());
        let refused = Err::<(), _>(ApiError::TooManyRequests {
            retry_after_secs: 1,
        });
        assert!(spent.note(&limit, "10.0.0.1", 100, refused).is_err());
        match spent.known(&limit, "10.0.0.1", 3_000) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 600)
            }
            other => panic!("{other:?}"),
        }
        // Another network, another limit, the next window: not refused.
        assert!(spent.known(&limit, "10.0.0.2", 3_000).is_ok());
        let other = IpLimit::new("forgot", 2, 3_600);
        assert!(spent.known(&other, "10.0.0.1", 3_000).is_ok());
        assert!(spent.known(&limit, "10.0.0.1", 3_600).is_ok());
        // An answer that is not a refusal is remembered as nothing.
        assert!(spent.note(&limit, "10.0.0.3", 100, Ok(())).is_ok());
        assert!(spent.known(&limit, "10.0.0.3", 100).is_ok());
    }
}
