//! The app's clock: every "now" the server acts on comes from here, never
//! from the system clock directly, so that tests can move time instead of
//! sleeping through it (a session's idle expiry, a lockout window, a token's
//! lifetime, the monthly rollover).
//!
//! In production it is the system clock. A test moves it forward with
//! [`Clock::advance`]; every instance built with the same clock (a restart,
//! a sibling behind the same load balancer) sees the same time, and the
//! background loops that act on time (the purge) are woken to look again.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;

/// A handle to the clock; clones share one offset.
#[derive(Clone, Debug)]
pub struct Clock {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Seconds added to the system clock: zero except in tests.
    offset: AtomicI64,
    /// Ticks each time the clock is moved, for loops that wait on time.
    moved: watch::Sender<u64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock {
            shared: Arc::new(Shared {
                offset: AtomicI64::new(0),
                moved: watch::Sender::new(0),
            }),
        }
    }

    /// The current instant, in Unix seconds.
    #[allow(clippy::disallowed_methods)] // the one place that reads the system clock
    pub fn now(&self) -> i64 {
        Utc::now().timestamp() + self.shared.offset.load(Ordering::Relaxed)
    }

    /// The current instant, in Unix microseconds (a post's `updated_at`).
    #[allow(clippy::disallowed_methods)] // the system clock, as in `now`
    pub fn now_micros(&self) -> i64 {
        Utc::now().timestamp_micros() + self.shared.offset.load(Ordering::Relaxed) * 1_000_000
    }

    /// Moves this clock (and every clone of it) forward by `by`, and wakes
    /// whatever waits in [`Clock::moved`]. For tests: time only ever moves
    /// forward, as it does on a real server.
    pub fn advance(&self, by: Duration) {
        self.shared
            .offset
            .fetch_add(by.as_secs() as i64, Ordering::Relaxed);
        self.shared.moved.send_modify(|n| *n += 1);
    }

    /// A receiver that changes whenever the clock is moved by hand, so a
    /// loop sleeping on a real-time interval can also wake when a test
    /// moves time past its work.
    pub fn moved(&self) -> watch::Receiver<u64> {
        self.shared.moved.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_move_together() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now();
        clock.advance(Duration::from_secs(3_600));
        let after = other.now();
        assert!(
            (3_600..3_602).contains(&(after - before)),
            "{after} - {before}"
        );
    }

    #[test]
    fn moving_the_clock_wakes_its_watchers() {
        let clock = Clock::system();
        let moved = clock.moved();
        assert!(!moved.has_changed().unwrap());
        clock.advance(Duration::from_secs(1));
        assert!(moved.has_changed().unwrap());
    }
}
