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

use std::net::IpAddr;

use crate::config::Settings;
use crate::db::{ip_limits, Conn};
use crate::domain::{network_of, IpLimit};
use crate::error::ApiError;

/// One hour, the window of the hourly limits.
const HOUR: i64 = 3_600;

/// The per-IP limits other than failed logins (those are counted with the
/// username's lockout, in `auth::throttle`).
#[derive(Debug, Clone, Copy)]
pub struct IpLimits {
    /// REGISTER_MAX_PER_IP_PER_HOUR accounts created.
    pub register: IpLimit,
    /// FORGOT_MAX_PER_IP_PER_HOUR forgot-password requests.
    pub forgot: IpLimit,
    /// SIGN_IN_STARTS_MAX_PER_IP_PER_HOUR provider sign-ins started and
    /// passkey sign-in options: each stores a row for a caller nobody
    /// knows yet, and takes the write lock logins need.
    pub sign_in_starts: IpLimit,
    /// IPV6_LIMIT_PREFIX.
    pub v6_prefix: u8,
}

impl IpLimits {
    pub fn new(settings: &Settings) -> Self {
        IpLimits {
            register: IpLimit::new("register", settings.register_max_per_ip_per_hour, HOUR),
            forgot: IpLimit::new("forgot", settings.forgot_max_per_ip_per_hour, HOUR),
            sign_in_starts: IpLimit::new(
                "sign_in_start",
                settings.sign_in_starts_max_per_ip_per_hour,
                HOUR,
            ),
            v6_prefix: settings.ipv6_limit_prefix,
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
