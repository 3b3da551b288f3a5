//! Time as the contract writes it: RFC 3339 in UTC with a `Z`, whole seconds.
//! The database keeps Unix seconds (`BIGINT`), which every backend orders and
//! compares the same way. (The current time comes from `clock::Clock`.)

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};

/// Unix seconds to a UTC instant (out-of-range values clamp to the epoch,
/// which no row of ours ever holds).
pub fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// Unix microseconds as RFC 3339 with as many fraction digits as they need
/// (none, 3 or 6).
pub fn format_micros(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Microseconds from RFC 3339 text with any fraction (`None` when it is not
/// such text): what a client sends back of a `serialize_micros` field.
pub fn parse_micros(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc).timestamp_micros())
}

/// Unix seconds from RFC 3339 text with any offset and fraction (`None`
/// when it is not such text; the fraction is dropped): a time a publisher
/// gives for a post, as `POST /posts/{id}/publish`'s `at` or an imported
/// file's `date`.
pub fn parse_seconds(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.timestamp())
}

/// `2026-11-21T10:00:00Z`.
pub fn format(at: DateTime<Utc>) -> String {
    match Text::of(at) {
        Some(text) => text.as_str().to_owned(),
        None => at.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

/// An instant's RFC 3339 text, on the stack: every answer with a user, a
/// post or a meter in it writes one or more, and chrono's formatter (a
/// general one, into a new `String`) cost more than the digits.
struct Text([u8; 20]);

impl Text {
    /// `None` for a year outside 0–9999, which four digits cannot write
    /// (no row of ours holds one; [`format`] leaves those to chrono).
    fn of(at: DateTime<Utc>) -> Option<Text> {
        let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
        let mut text = *b"0000-00-00T00:00:00Z";
        for (start, width, value) in [
            (0, 4, year),
            (5, 2, at.month()),
            (8, 2, at.day()),
            (11, 2, at.hour()),
            (14, 2, at.minute()),
            (17, 2, at.second()),
        ] {
            write_digits(&mut text[start..start + width], value);
        }
        Some(Text(text))
    }

    fn as_str(&self) -> &str {
        // ASCII digits and separators only.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Writes `value`'s last `into.len()` decimal digits into `into`, zero
/// padded: by hand, for the few digits of a timestamp, where `{:02}` would
/// go through the formatting machinery.
pub(crate) fn write_digits(into: &mut [u8], mut value: u32) {
    for digit in into.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Serde helpers for fields that hold instants.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    use super::Text;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        match Text::of(*at) {
            Some(text) => s.serialize_str(text.as_str()),
            None => s.serialize_str(&super::format(*at)),
        }
    }

    /// For fields kept as Unix seconds.
    pub fn serialize_unix<S: Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
        serialize(&super::from_unix(*secs), s)
    }

    /// For optional fields kept as Unix seconds (`null` when absent).
    pub fn serialize_optional_unix<S: Serializer>(
        secs: &Option<i64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match secs {
            Some(secs) => serialize_unix(secs, s),
            None => s.serialize_none(),
        }
    }

    /// For fields kept as Unix microseconds (a post's `updated_at`, which
    /// two saves within one second must not share): the fraction as far as
    /// it goes (`…T10:00:00Z`, `…T10:00:00.250Z`, `…T10:00:00.000001Z`).
    pub fn serialize_micros<S: Serializer>(micros: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_micros(*micros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_a_z_and_whole_seconds() {
        assert_eq!(format(from_unix(1_795_255_200)), "2026-11-21T10:00:00Z");
        assert_eq!(format(from_unix(0)), "1970-01-01T00:00:00Z");
        assert_eq!(format(from_unix(951_827_696)), "2000-02-29T12:34:56Z");
    }

    #[test]
    fn parses_seconds_from_rfc3339_with_any_offset() {
        assert_eq!(parse_seconds("2026-11-21T10:00:00Z"), Some(1_795_255_200));
        assert_eq!(
            parse_seconds("2026-11-21T11:00:00+01:00"),
            Some(1_795_255_200)
        );
        assert_eq!(
            parse_seconds("2026-11-21T10:00:00.999Z"),
            Some(1_795_255_200)
        );
        for bad in ["", "2026-11-21", "2026-11-21T10:00:00", "tomorrow"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        /// The digits written by hand read exactly as chrono writes them,
        /// from year 0 to beyond 9999 (where chrono takes over).
        #[test]
        fn hand_written_text_matches_chrono(secs in -62_167_219_200_i64..=300_000_000_000) {
            let at = from_unix(secs);
            proptest::prop_assert_eq!(format(at), at.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
    }
}
