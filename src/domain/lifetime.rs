//! How long a login lasts. A browser-session login expires after `idle`
//! without use and in any case `absolute` after login; a stay-signed-in login
//! lasts `remember` from login. The server enforces these whatever the cookie
//! says, so a copied or replayed cookie dies on time too.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: i64,
    pub absolute: i64,
    pub remember: i64,
}

impl Lifetimes {
    pub fn new(idle: Duration, absolute: Duration, remember: Duration) -> Self {
        Lifetimes {
            idle: idle.as_secs() as i64,
            absolute: absolute.as_secs() as i64,
            remember: remember.as_secs() as i64,
        }
    }

    /// When a session made at `created_at`, last used at `last_seen_at`, ends.
    pub fn expires_at(&self, stay_signed_in: bool, created_at: i64, last_seen_at: i64) -> i64 {
        if stay_signed_in {
            created_at + self.remember
        } else {
            (last_seen_at + self.idle).min(created_at + self.absolute)
        }
    }

    /// How stale `last_seen_at` may get before a request refreshes it. Writing
    /// on every request would turn each read into a write; refreshing once
    /// per twentieth of the idle lifetime (at most a minute) keeps the idle
    /// expiry accurate to within 5% for one write per interval.
    pub fn refresh_after(&self) -> i64 {
        (self.idle / 20).min(60)
    }

    /// Whether a session seen at `last_seen_at` should be refreshed at `now`
    /// (its `last_seen_at`, and for a browser session its idle expiry).
    pub fn needs_refresh(&self, last_seen_at: i64, now: i64) -> bool {
        now - last_seen_at >= self.refresh_after()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Lifetimes = Lifetimes {
        idle: 100,
        absolute: 1_000,
        remember: 10_000,
    };

    #[test]
    fn a_remembered_login_lasts_from_login_whatever_the_use() {
        assert_eq!(L.expires_at(true, 0, 9_000), 10_000);
    }

    #[test]
    fn a_browser_login_slides_with_use_up_to_the_absolute_limit() {
        assert_eq!(L.expires_at(false, 0, 0), 100);
        assert_eq!(L.expires_at(false, 0, 500), 600);
        assert_eq!(L.expires_at(false, 0, 950), 1_000);
    }

    #[test]
    fn refreshes_are_rate_limited() {
        assert_eq!(L.refresh_after(), 5);
        assert!(!L.needs_refresh(100, 104));
        assert!(L.needs_refresh(100, 105));
        let daily = Lifetimes::new(
            Duration::from_secs(86_400),
            Duration::from_secs(1),
            Duration::from_secs(1),
        );
        assert_eq!(daily.refresh_after(), 60);
    }
}
