//! The paywall rule, whole, in [`limit_for`] and [`decide`]:
//!
//! - a **premium** reader is not metered, and may open every post; nor is
//!   **staff** (authors and admins), whatever their plan;
//! - a **free** reader may open `FREE_READS` distinct `metered` posts per
//!   calendar month (UTC); opening one unlocks it for the rest of that month;
//! - **re-opening** a post unlocked this month is free and always allowed;
//! - a `free` post is open to every reader and spends nothing; a `premium`
//!   one is for premium readers only, and refusing it spends nothing.
//!
//! `db::unlocks` applies this rule to stored unlocks: on SQLite by calling
//! [`decide`], on PostgreSQL in one SQL statement that mirrors it (the
//! concurrency argument, "`used` never exceeds `limit`", is written beside
//! each). `Month` is the meter's period; `Meter` is what clients see.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::Serialize;

use crate::domain::post::Access;
use crate::domain::{Plan, Role};
use crate::time::rfc3339;

/// How many new posts a reader on `plan` with `role` may unlock per
/// month: `None` for an unmetered reader — premium, or staff (authors and
/// admins read every post as premium readers do: they write and check
/// what readers pay for).
pub fn limit_for(plan: Plan, role: Role, free_reads: u32) -> Option<u32> {
    match (plan, role) {
        (_, Role::Author | Role::Admin) | (Plan::Premium, Role::Reader) => None,
        (Plan::Free, Role::Reader) => Some(free_reads),
    }
}

/// What one read is judged by: the request's time, the month it falls in,
/// and the reader's limit (`None`: not metered). Worked out once per
/// request, by whoever first knows the reader (the guard, for a read it
/// asks about along with the session), and handed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub now: i64,
    pub month: Month,
    pub limit: Option<u32>,
}

impl Reading {
    /// A read at `now` (unix seconds) by a reader on `plan` with `role`.
    pub fn at(now: i64, plan: Plan, role: Role, free_reads: u32) -> Reading {
        Reading {
            now,
            month: Month::at(now),
            limit: limit_for(plan, role, free_reads),
        }
    }

    /// The meter after this read, for a metered reader who has used `used`.
    pub fn meter(&self, used: u32) -> Option<Meter> {
        self.limit.map(|limit| Meter::new(limit, used, self.month))
    }
}

/// What opening a post comes to for a metered reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Already unlocked this month: free, whatever the meter says.
    Reread,
    /// Not unlocked yet and the meter has room: unlock it (one read).
    Unlock,
    /// Not unlocked and the meter is used up: `402 paywall`.
    Refuse,
    /// A `free` post: open, and nothing spent.
    Open,
    /// A `premium` post: `402 premium_required`, and nothing spent.
    PremiumOnly,
}

/// The rule for a metered reader opening a post with `access`, who has used
/// `used` of `limit` reads this month and has (`unlocked`) or has not
/// opened this post before.
pub fn decide(access: Access, unlocked: bool, used: u32, limit: u32) -> Decision {
    match access {
        Access::Free => Decision::Open,
        Access::Premium => Decision::PremiumOnly,
        Access::Metered if unlocked => Decision::Reread,
        Access::Metered if used < limit => Decision::Unlock,
        Access::Metered => Decision::Refuse,
    }
}

/// A calendar month in UTC, stored as `year * 12 + (month - 1)` so that it is
/// one ordered integer in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(i32);

impl Month {
    /// The month that contains `now`. Taking the instant as an argument (an
    /// injected clock) is what lets the rollover be tested.
    /// The month of `now`, in unix seconds.
    pub fn at(now: i64) -> Month {
        Month::containing(crate::time::from_unix(now))
    }

    pub fn containing(now: DateTime<Utc>) -> Month {
        Month(now.year() * 12 + now.month0() as i32)
    }

    /// The month whose [`Month::index`] is `index`.
    pub fn from_index(index: i32) -> Month {
        Month(index)
    }

    pub fn index(self) -> i32 {
        self.0
    }

    /// The first instant of the next month: when this month's reads reset.
    pub fn resets_at(self) -> DateTime<Utc> {
        let next = self.0 + 1;
        let (year, month0) = (next.div_euclid(12), next.rem_euclid(12));
        Utc.with_ymd_and_hms(year, month0 as u32 + 1, 1, 0, 0, 0)
            .single()
            .expect("the first of a month at midnight UTC always exists")
    }
}

/// `{"limit", "used", "remaining", "resets_at"}` as the contract shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meter {
    pub limit: u32,
    pub used: u32,
    pub remaining: u32,
    #[serde(serialize_with = "rfc3339::serialize")]
    pub resets_at: DateTime<Utc>,
}

impl Meter {
    pub fn new(limit: u32, used: u32, month: Month) -> Meter {
        Meter {
            limit,
            used,
            remaining: limit.saturating_sub(used),
            resets_at: month.resets_at(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).unwrap()
    }

    #[test]
    fn a_month_resets_at_the_first_of_the_next() {
        let month = Month::containing(at(2026, 11, 21, 10, 0, 0));
        assert_eq!(month.resets_at(), at(2026, 12, 1, 0, 0, 0));
    }

    #[test]
    fn december_rolls_over_into_january() {
        let month = Month::containing(at(2026, 12, 31, 23, 59, 59));
        assert_eq!(month.resets_at(), at(2027, 1, 1, 0, 0, 0));
        assert_eq!(
            Month::containing(at(2027, 1, 1, 0, 0, 0)).index(),
            month.index() + 1
        );
    }

    #[test]
    fn the_last_second_and_the_first_second_are_different_months() {
        let before = Month::containing(at(2026, 2, 28, 23, 59, 59));
        let after = Month::containing(at(2026, 3, 1, 0, 0, 0));
        assert_ne!(before, after);
        assert_eq!(before.resets_at(), at(2026, 3, 1, 0, 0, 0));
    }

    #[test]
    fn remaining_never_goes_negative() {
        let month = Month::containing(at(2026, 5, 5, 5, 5, 5));
        let meter = Meter::new(5, 7, month);
        assert_eq!(meter.remaining, 0);
    }

    #[test]
    fn premium_and_staff_are_unmetered_and_free_readers_have_the_setting() {
        assert_eq!(limit_for(Plan::Free, Role::Reader, 5), Some(5));
        assert_eq!(limit_for(Plan::Premium, Role::Reader, 5), None);
        for role in [Role::Author, Role::Admin] {
            for plan in [Plan::Free, Plan::Premium] {
                assert_eq!(limit_for(plan, role, 5), None, "{plan:?} {role:?}");
            }
        }
    }

    #[test]
    fn rereads_are_free_and_new_posts_need_room() {
        let metered = Access::Metered;
        assert_eq!(decide(metered, true, 5, 5), Decision::Reread);
        assert_eq!(decide(metered, true, 0, 0), Decision::Reread);
        assert_eq!(decide(metered, false, 4, 5), Decision::Unlock);
        assert_eq!(decide(metered, false, 5, 5), Decision::Refuse);
        assert_eq!(decide(metered, false, 0, 0), Decision::Refuse);
        // Free and premium posts never touch the meter, whatever it says.
        for (unlocked, used) in [(false, 0), (true, 5), (false, 5)] {
            assert_eq!(decide(Access::Free, unlocked, used, 5), Decision::Open);
            assert_eq!(
                decide(Access::Premium, unlocked, used, 5),
                Decision::PremiumOnly
            );
        }
    }

    #[test]
    fn serializes_as_the_contract_shows() {
        let meter = Meter::new(5, 2, Month::containing(at(2026, 11, 21, 10, 0, 0)));
        assert_eq!(
            serde_json::to_value(&meter).unwrap(),
            serde_json::json!({"limit": 5, "used": 2, "remaining": 3, "resets_at": "2026-12-01T00:00:00Z"})
        );
    }

    proptest::proptest! {
        #[test]
        fn every_instant_resets_at_the_next_first_of_a_month(secs in -2_000_000_000i64..8_000_000_000i64) {
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            let month = Month::containing(now);
            let resets = month.resets_at();
            proptest::prop_assert!(resets > now);
            proptest::prop_assert_eq!((resets.day(), resets.timestamp() % 86_400), (1, 0));
            proptest::prop_assert_eq!(Month::containing(resets).index(), month.index() + 1);
            let meter = Meter::new(5, (secs.rem_euclid(10)) as u32, month);
            proptest::prop_assert_eq!(meter.used + meter.remaining >= meter.limit, true);
        }
    }
}
