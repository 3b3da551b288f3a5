//! `Access`: who may read a post. `free` posts are open to every reader,
//! `metered` ones count against a free user's monthly reads, `premium` ones
//! are for premium users only.

use serde::Serialize;

/// A post's access level, `metered` unless the author says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Free,
    #[default]
    Metered,
    Premium,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Free => "free",
            Access::Metered => "metered",
            Access::Premium => "premium",
        }
    }

    /// Parses the contract's spelling (lower case only), or says what the
    /// field may be.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "free" => Ok(Access::Free),
            "metered" => Ok(Access::Metered),
            "premium" => Ok(Access::Premium),
            _ => Err("must be one of free, metered, premium".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Access; 3] = [Access::Free, Access::Metered, Access::Premium];

    #[test]
    fn parses_what_it_writes() {
        for access in ALL {
            assert_eq!(Access::parse(access.as_str()), Ok(access));
            assert_eq!(
                serde_json::to_value(access).unwrap(),
                serde_json::Value::from(access.as_str())
            );
        }
    }

    #[test]
    fn defaults_to_metered() {
        assert_eq!(Access::default(), Access::Metered);
    }

    #[test]
    fn refuses_other_spellings() {
        for bad in ["", "Free", "PREMIUM", " metered", "paid", "public"] {
            assert!(Access::parse(bad).is_err(), "{bad:?}");
        }
    }
}
