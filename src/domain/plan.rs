//! `Plan`: free users are metered, premium users are not.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    Free,
    Premium,
}

impl Plan {
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Premium => "premium",
        }
    }

    /// The plan in force at `now`: `stored` (what subscriptions, `set-plan`
    /// and admins set), or premium while a complimentary grant runs
    /// (`premium_until` after `now`). Nothing runs when a grant lapses:
    /// every read of a user decides it again.
    pub fn in_force(stored: Plan, premium_until: Option<i64>, now: i64) -> Plan {
        match Plan::running_grant(premium_until, now) {
            Some(_) => Plan::Premium,
            None => stored,
        }
    }

    /// The end of a complimentary grant still running at `now`: a lapsed
    /// grant is no grant.
    pub fn running_grant(premium_until: Option<i64>, now: i64) -> Option<i64> {
        premium_until.filter(|until| *until > now)
    }

    pub fn parse(raw: &str) -> Option<Plan> {
        match raw {
            "free" => Some(Plan::Free),
            "premium" => Some(Plan::Premium),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_premium_until_its_moment_and_never_less_than_the_plan() {
        assert_eq!(Plan::in_force(Plan::Free, Some(100), 99), Plan::Premium);
        assert_eq!(Plan::in_force(Plan::Free, Some(100), 100), Plan::Free);
        assert_eq!(Plan::in_force(Plan::Free, None, 0), Plan::Free);
        assert_eq!(Plan::in_force(Plan::Premium, Some(100), 200), Plan::Premium);
        assert_eq!(Plan::in_force(Plan::Premium, None, 0), Plan::Premium);
    }
}
