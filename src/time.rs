//! Time as the contract writes it: RFC 3339 in UTC with a `Z`, whole seconds.
//! The database keeps Unix seconds (`BIGINT`), which every backend orders and
//! compares the same way. (The current time comes from `clock::Clock`.)

use chrono::{DateTime, SecondsFormat, Utc};

/// Unix seconds to a UTC instant (out-of-range values clamp to the epoch,
/// which no row of ours ever holds).
pub fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// `2026-11-21T10:00:00Z`.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Serde helpers for fields that hold instants.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*at))
    }

    /// For fields kept as Unix seconds.
    pub fn serialize_unix<S: Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(super::from_unix(*secs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_a_z_and_whole_seconds() {
        assert_eq!(format(from_unix(1_795_255_200)), "2026-11-21T10:00:00Z");
    }
}
