//! One event, one line: [`OneLine`] escapes every character that could end
//! a line, and [`OneLineFields`] writes the value of every field of events
//! and spans through it, in the plain and the terminal format alike. Some
//! of what is logged comes from a request (a provider's `error`, a path),
//! and any field may hold such text; a line break in it would otherwise
//! start a line of the sender's choosing, dated and levelled like a real
//! one.

use std::fmt;

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::FormatFields;

/// Characters a reader of the log may take for the end of a line: CR and
/// LF, and the others Unicode counts as line breaks (VT, FF, NEL, LS, PS),
/// which some viewers and parsers split on too.
fn ends_a_line(c: char) -> bool {
    matches!(
        c,
        '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// A writer that passes text on with every character that could end a
/// line escaped: `\r` and `\n` as those two characters each, the rarer
/// ones as `\u{2028}`. Everything else, other control characters included,
/// is left to the formatter (tracing-subscriber escapes terminal escape
/// sequences in messages and errors).
pub struct OneLine<'a, W: fmt::Write + ?Sized>(pub &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for OneLine<'_, W> {
    fn write_str(&mut self, mut text: &str) -> fmt::Result {
        // Nearly every text (each request's path among them) holds no byte
        // that can start a line break: LF, VT, FF, CR, and the first bytes
        // of NEL (C2 85), LS and PS (E2 80 A8, E2 80 A9). Such a text is
        // checked a byte at a time and passed on whole.
        if !text
            .bytes()
            .any(|b| matches!(b, b'\n'..=b'\r' | 0xC2 | 0xE2))
        {
            return self.0.write_str(text);
        }
        while let Some((at, c)) = text.char_indices().find(|&(_, c)| ends_a_line(c)) {
            self.0.write_str(&text[..at])?;
            match c {
                '\r' => self.0.write_str("\\r")?,
                '\n' => self.0.write_str("\\n")?,
                c => write!(self.0, "\\u{{{:x}}}", u32::from(c))?,
            }
            text = &text[at + c.len_utf8()..];
        }
        self.0.write_str(text)
    }
}

/// The fields of events and spans as tracing-subscriber's default writes
/// them (`message name=value …`), through [`OneLine`]: no value, however it
/// is recorded (`%` Display, `?` Debug, an error and its sources, the
/// message), can break the line it is on. Used by the plain and the
/// terminal format alike; in a terminal the field names lose their italics,
/// since a `Writer` that may colour can only be made inside
/// tracing-subscriber.
pub struct OneLineFields;

impl<'writer> FormatFields<'writer> for OneLineFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut one_line = OneLine(&mut writer);
        DefaultFields::new().format_fields(Writer::new(&mut one_line), fields)
    }
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::logging::format::tests::capture;

    #[test]
    fn line_breaks_in_values_are_escaped() {
        let mut text = String::new();
        OneLine(&mut text)
            .write_str("a\rb\nc\r\nd\u{b}\u{c}\u{85}\u{2028}\u{2029}é\tz")
            .unwrap();
        assert_eq!(
            text,
            "a\\rb\\nc\\r\\nd\\u{b}\\u{c}\\u{85}\\u{2028}\\u{2029}é\tz"
        );
    }

    /// Text from a request, in every way a field can be recorded, in an
    /// event and in its spans (given when the span opens and recorded
    /// later), stays on the event's one line, plain or default.
    #[test]
    fn no_field_can_start_a_line() {
        #[derive(Debug)]
        struct Failure(&'static str);
        impl std::fmt::Display for Failure {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Failure {}

        const SENT: &str = "x\r\n2026-01-01T00:00:00.000000Z ERROR tollgate: forged\ry";
        for plain in [true, false] {
            let line = capture(plain, || {
                let span =
                    tracing::info_span!("callback", error = %SENT, later = tracing::field::Empty);
                let _span = span.enter();
                span.record("later", tracing::field::display(SENT));
                let failure = Failure(SENT);
                tracing::warn!(
                    shown = %SENT,
                    debugged = ?SENT,
                    text = SENT,
                    error = &failure as &(dyn std::error::Error + 'static),
                    "the provider answered `{SENT}`"
                );
            });
            assert!(line.ends_with('\n'), "{line:?}");
            assert_eq!(line.matches(['\r', '\n']).count(), 1, "{line:?}");
            assert_eq!(
                line.matches("forged").count(),
                7,
                "every value is kept: {line:?}"
            );
        }
    }
}
