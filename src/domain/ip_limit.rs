//! Per-client-IP limits (the contract's "Abuse limits"): at most `max`
//! counted actions per client IP in each fixed window of `window` seconds.
//!
//! Fixed windows (aligned on multiples of the window's length) keep the
//! bookkeeping to one row per IP, kind and window, counted by one atomic
//! upsert that every instance shares (`db::ip_limits`). Their price is that
//! a client may spend up to `max` just before a window ends and `max` again
//! just after; for limits that stop floods (registrations, credential
//! stuffing) rather than meter a resource, that is an acceptable trade for
//! a bounded table with no per-hit rows.

/// One limit: its stored name, how many per window, and the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpLimit {
    /// Stored in `ip_limits.kind`: `"register"`, `"login_failure"`, ...
    pub kind: &'static str,
    pub max: u32,
    /// Seconds.
    pub window: i64,
}

impl IpLimit {
    pub const fn new(kind: &'static str, max: u32, window: i64) -> Self {
        IpLimit { kind, max, window }
    }

    /// The start of the window that contains `now`.
    pub fn window_start(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.window)
    }

    /// When the window that contains `now` ends.
    pub fn window_end(&self, now: i64) -> i64 {
        self.window_start(now) + self.window
    }

    /// `Some(seconds until the window ends)` when `hits` already used up
    /// the limit, so one more action must be refused.
    pub fn refusal(&self, hits: u32, now: i64) -> Option<u64> {
        (hits >= self.max).then(|| (self.window_end(now) - now).max(1) as u64)
    }
}

/// The client network a limit counts an address under: an IPv4 address
/// itself; an IPv6 address's first `v6_prefix` bits (`2001:db8:1:2::/64`),
/// since one customer usually holds a whole /64 and could rotate through
/// its 2^64 addresses to escape a per-address count. An IPv4 address
/// mapped into IPv6 (`::ffff:192.0.2.7`) counts as the IPv4 address.
pub fn network_of(ip: std::net::IpAddr, v6_prefix: u8) -> String {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let bits = u32::from(v6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                let network = std::net::Ipv6Addr::from(u128::from(v6) & mask);
                format!("{network}/{bits}")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_counted_by_its_network() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert_eq!(network_of(ip("192.0.2.7"), 64), "192.0.2.7");
        assert_eq!(network_of(ip("::ffff:192.0.2.7"), 64), "192.0.2.7");
        let a = network_of(ip("2001:db8:1:2:aaaa::1"), 64);
        let b = network_of(ip("2001:db8:1:2:ffff:1:2:3"), 64);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b, "one /64, one count");
        assert_ne!(a, network_of(ip("2001:db8:1:3::1"), 64));
        assert_eq!(network_of(ip("2001:db8:1:2::1"), 48), "2001:db8:1::/48");
        assert_eq!(network_of(ip("2001:db8::1"), 128), "2001:db8::1/128");
        assert_eq!(network_of(ip("2001:db8::1"), 0), "::/0");
    }

    #[test]
    fn windows_are_aligned_and_refusals_say_when_they_end() {
        let limit = IpLimit::new("register", 2, 3600);
        assert_eq!(limit.window_start(7_200), 7_200);
        assert_eq!(limit.window_start(7_299), 7_200);
        assert_eq!(limit.window_end(7_299), 10_800);
        assert_eq!(limit.refusal(1, 7_299), None);
        assert_eq!(limit.refusal(2, 7_299), Some(3_501));
    }

    proptest::proptest! {
        #[test]
        fn now_is_always_inside_its_window(now in 0i64..4_000_000_000, window in 1i64..100_000) {
            let limit = IpLimit::new("x", 1, window);
            let start = limit.window_start(now);
            proptest::prop_assert!(start <= now && now < limit.window_end(now));
            proptest::prop_assert_eq!(start % window, 0);
            let retry = limit.refusal(1, now).unwrap();
            proptest::prop_assert!(retry >= 1 && retry as i64 <= window);
        }
    }
}
