//! Insights' rules, without I/O: UTC days, the range a report covers, how
//! a change of plan moves the day counts (a complimentary grant's lapse
//! counted ahead, on its own day), and a subscription's share of monthly
//! recurring revenue.

use chrono::{Datelike, NaiveDate};

use crate::domain::Plan;

const DAY_SECONDS: i64 = 86_400;

/// The longest range a report covers, in days.
pub const MAX_DAYS: i32 = 366;

/// The range a report covers when none is asked for, in days.
pub const DEFAULT_DAYS: i32 = 30;

/// A UTC day, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i32);

impl Day {
    /// The day `at` (Unix seconds) falls on.
    pub fn of(at: i64) -> Day {
        Day(at.div_euclid(DAY_SECONDS) as i32)
    }

    /// `YYYY-MM-DD`, and nothing else (`None` for any other text or an
    /// impossible date).
    pub fn parse(raw: &str) -> Option<Day> {
        let bytes = raw.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let digits = |range: std::ops::Range<usize>| {
            bytes[range.clone()]
                .iter()
                .all(u8::is_ascii_digit)
                .then(|| raw[range].parse::<i32>().ok())
                .flatten()
        };
        let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let date =
            NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)?;
        Some(Day((date - NaiveDate::default()).num_days() as i32))
    }

    /// `YYYY-MM-DD`.
    pub fn format(self) -> String {
        let date = NaiveDate::default() + chrono::Days::new(0);
        let date = if self.0 >= 0 {
            date.checked_add_days(chrono::Days::new(self.0 as u64))
        } else {
            date.checked_sub_days(chrono::Days::new(u64::from(self.0.unsigned_abs())))
        };
        // Written out by hand: chrono's formatter interprets its pattern
        // on every call, and a year's report formats 366 dates.
        date.map_or_else(String::new, |date| {
            format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
        })
    }

    pub fn next(self) -> Day {
        Day(self.0 + 1)
    }
}

/// The days a report covers, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: Day,
    pub to: Day,
}

/// Why a range was refused, by the field to blame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// `from` is not a date.
    From,
    /// `to` is not a date.
    To,
    /// `to` comes before `from`.
    Backwards,
    /// More than [`MAX_DAYS`] days.
    TooLong,
}

impl Range {
    /// The range `from` and `to` ask for (each `YYYY-MM-DD`), by default
    /// the [`DEFAULT_DAYS`] days ending `today` (or ending `to`, or
    /// starting `from`).
    pub fn parse(from: Option<&str>, to: Option<&str>, today: Day) -> Result<Range, RangeError> {
        let from = from.map(|raw| Day::parse(raw).ok_or(RangeError::From));
        let to = to.map(|raw| Day::parse(raw).ok_or(RangeError::To));
        let span = DEFAULT_DAYS - 1;
        let (from, to) = match (from.transpose()?, to.transpose()?) {
            (Some(from), Some(to)) => (from, to),
            (Some(from), None) => (from, Day(from.0 + span).min(today).max(from)),
            (None, Some(to)) => (Day(to.0 - span), to),
            (None, None) => (Day(today.0 - span), today),
        };
        if to < from {
            return Err(RangeError::Backwards);
        }
        if to.0 - from.0 + 1 > MAX_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(Range { from, to })
    }

    /// How many days it covers.
    pub fn days(self) -> usize {
        (self.to.0 - self.from.0 + 1) as usize
    }
}

/// Whether a user is premium, and until when, as their stored plan and
/// complimentary grant say at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Premium {
    /// Free now.
    No,
    /// Premium until a moment (a grant that lapses then).
    Until(i64),
    /// Premium for as long as the stored plan says so.
    Plan,
}

impl Premium {
    /// What `stored` and the grant `premium_until` make of a user at `now`.
    pub fn of(stored: Plan, premium_until: Option<i64>, now: i64) -> Premium {
        match (stored, Plan::running_grant(premium_until, now)) {
            (Plan::Premium, _) => Premium::Plan,
            (Plan::Free, Some(until)) => Premium::Until(until),
            (Plan::Free, None) => Premium::No,
        }
    }

    pub fn is_premium(self) -> bool {
        self != Premium::No
    }
}

/// Which way a user's plan in force moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// To premium: a conversion.
    Up,
    /// Back to free: a cancellation.
    Down,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// The change to the day's premium members.
    pub fn premium_delta(self) -> i32 {
        match self {
            Direction::Up => 1,
            Direction::Down => -1,
        }
    }
}

/// One change to the counts: a move of a user's plan on a day, or (`undo`)
/// a move counted ahead that will not happen after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub day: Day,
    pub direction: Direction,
    pub undo: bool,
}

/// What a change from `before` to `after` at `now` does to the counts: a
/// conversion or cancellation today, and a grant's lapse counted on its
/// own day (taken back when the grant changes or a plan outlasts it).
pub fn moves(before: Premium, after: Premium, now: i64) -> Vec<Move> {
    let today = Day::of(now);
    let mut moves = Vec::new();
    let at = |day, direction, undo| Move {
        day,
        direction,
        undo,
    };
    if before == after {
        return moves;
    }
    if let Premium::Until(until) = before {
        moves.push(at(Day::of(until), Direction::Down, true));
    }
    match (before.is_premium(), after.is_premium()) {
        (false, true) => moves.push(at(today, Direction::Up, false)),
        (true, false) => moves.push(at(today, Direction::Down, false)),
        _ => {}
    }
    if let Premium::Until(until) = after {
        moves.push(at(Day::of(until), Direction::Down, false));
    }
    moves
}

/// A subscription's monthly share of revenue, in the smallest currency
/// unit, rounded down: its price per interval (a yearly price counts one
/// twelfth). `None` for a price Stripe sent no amount or interval for.
pub fn monthly(amount: i64, interval: &str, interval_count: Option<i64>) -> Option<i64> {
    let count = interval_count.unwrap_or(1).max(1);
    // The price over `months` months, per month.
    let (per, months) = match interval {
        "month" => (amount, count),
        "year" => (amount, 12 * count),
        "week" => (amount * 52, 12 * count),
        "day" => (amount * 365, 12 * count),
        _ => return None,
    };
    Some(per.div_euclid(months))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000;

    fn day(raw: &str) -> Day {
        Day::parse(raw).unwrap()
    }

    #[test]
    fn days_are_utc_dates_and_only_those() {
        assert_eq!(day("1970-01-01"), Day(0));
        assert_eq!(day("2024-02-29").format(), "2024-02-29");
        assert_eq!(Day::of(86_399), Day(0));
        assert_eq!(Day::of(86_400), Day(1));
        assert_eq!(Day::of(-1), Day(-1));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024-01-01T00:00",
            "+024-01-01",
            "２０24-01-01",
            "",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_range_is_at_most_366_days_and_never_backwards() {
        let today = day("2026-11-27");
        let range = Range::parse(None, None, today).unwrap();
        assert_eq!(
            (range.from.format(), range.to),
            ("2026-10-29".into(), today)
        );
        assert_eq!(range.days(), 30);
        let year = Range::parse(Some("2025-11-27"), Some("2026-11-27"), today).unwrap();
        assert_eq!(year.days(), 366);
        assert_eq!(
            Range::parse(Some("2025-11-26"), Some("2026-11-27"), today),
            Err(RangeError::TooLong)
        );
        assert_eq!(
            Range::parse(Some("2026-11-02"), Some("2026-11-01"), today),
            Err(RangeError::Backwards)
        );
        assert_eq!(
            Range::parse(Some("nope"), None, today),
            Err(RangeError::From)
        );
        assert_eq!(Range::parse(None, Some("1"), today), Err(RangeError::To));
        let one = Range::parse(Some("2026-11-27"), Some("2026-11-27"), today).unwrap();
        assert_eq!(one.days(), 1);
    }

    #[test]
    fn a_grant_counts_its_lapse_on_its_day_and_takes_it_back_if_it_changes() {
        let today = Day::of(NOW);
        let later = NOW + 10 * 86_400;
        let lapse = Day::of(later);
        let m = |day, direction, undo| Move {
            day,
            direction,
            undo,
        };
        // A grant to a free user: a conversion today, a cancellation ahead.
        assert_eq!(
            moves(Premium::No, Premium::Until(later), NOW),
            [
                m(today, Direction::Up, false),
                m(lapse, Direction::Down, false)
            ]
        );
        // Taken back before it lapses: the lapse is undone, and the user
        // goes back to free today.
        assert_eq!(
            moves(Premium::Until(later), Premium::No, NOW),
            [
                m(lapse, Direction::Down, true),
                m(today, Direction::Down, false)
            ]
        );
        // A subscription during the grant outlasts it: no lapse, no move.
        assert_eq!(
            moves(Premium::Until(later), Premium::Plan, NOW),
            [m(lapse, Direction::Down, true)]
        );
        // The grant moved: its lapse moves with it.
        let longer = later + 5 * 86_400;
        assert_eq!(
            moves(Premium::Until(later), Premium::Until(longer), NOW),
            [
                m(lapse, Direction::Down, true),
                m(Day::of(longer), Direction::Down, false)
            ]
        );
        // The plan ends during a grant: the grant's lapse is still ahead.
        assert_eq!(
            moves(Premium::Plan, Premium::Until(later), NOW),
            [m(lapse, Direction::Down, false)]
        );
        assert_eq!(
            moves(Premium::Plan, Premium::No, NOW),
            [m(today, Direction::Down, false)]
        );
        assert!(moves(Premium::Plan, Premium::Plan, NOW).is_empty());
        assert!(moves(Premium::No, Premium::No, NOW).is_empty());
    }

    #[test]
    fn premium_is_the_plan_or_a_running_grant() {
        assert_eq!(
            Premium::of(Plan::Premium, Some(NOW + 1), NOW),
            Premium::Plan
        );
        assert_eq!(
            Premium::of(Plan::Free, Some(NOW + 1), NOW),
            Premium::Until(NOW + 1)
        );
        assert_eq!(Premium::of(Plan::Free, Some(NOW), NOW), Premium::No);
        assert_eq!(Premium::of(Plan::Free, None, NOW), Premium::No);
    }

    #[test]
    fn a_yearly_price_is_a_twelfth_rounded_down() {
        assert_eq!(monthly(900, "month", Some(1)), Some(900));
        assert_eq!(monthly(9_000, "year", Some(1)), Some(750));
        assert_eq!(monthly(9_001, "year", None), Some(750));
        assert_eq!(monthly(1_000, "month", Some(3)), Some(333));
        assert_eq!(monthly(100, "week", Some(1)), Some(433));
        assert_eq!(monthly(100, "fortnight", Some(1)), None);
    }
}
