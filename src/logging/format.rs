//! The plain one-line format: [`PlainLine`], the same text as
//! tracing-subscriber's default format without colours, and [`Timestamp`],
//! the time every line starts with (the terminal's too). The access log
//! writes a line per request, and on the cheapest requests the default
//! formatter and its calendar arithmetic were measurable costs
//! (docs/performance.md): both are written here with less machinery.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// `2026-11-21T23:16:51.925359Z  INFO login{user_id=7}:verify_password:
/// tollgate::auth: ...`: time, level, the spans from the root (with their
/// fields), target, then the event's message and fields.
pub struct PlainLine;

impl<S, N> FormatEvent<S, N> for PlainLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        Timestamp.format_time(&mut w)?;
        write!(w, " {:>5} ", meta.level())?;
        if let Some(scope) = ctx.event_scope() {
            let mut spans = false;
            for span in scope.from_root() {
                spans = true;
                w.write_str(span.name())?;
                if let Some(fields) = span.extensions().get::<FormattedFields<N>>() {
                    if !fields.is_empty() {
                        write!(w, "{{{fields}}}")?;
                    }
                }
                w.write_char(':')?;
            }
            if spans {
                w.write_char(' ')?;
            }
        }
        w.write_str(meta.target())?;
        w.write_str(": ")?;
        ctx.format_fields(w.by_ref(), event)?;
        w.write_char('\n')
    }
}

/// RFC 3339 in UTC with microseconds (`2026-11-21T23:16:51.925359Z`), the
/// format tracing-subscriber writes by default, but with the calendar part
/// worked out once a second per thread instead of for every line: the
/// access log writes a line per request, and the calendar arithmetic was a
/// measurable part of the cheapest requests (docs/performance.md).
pub struct Timestamp;

impl FormatTime for Timestamp {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        thread_local! {
            static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        // A log line is stamped with the wall clock, not the app's clock.
        #[allow(clippy::disallowed_methods)]
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        SECOND.with_borrow_mut(|(second, prefix)| {
            if *second != now.as_secs() {
                *second = now.as_secs();
                prefix.clear();
                let at =
                    chrono::DateTime::from_timestamp(now.as_secs() as i64, 0).unwrap_or_default();
                write!(prefix, "{}", at.format("%Y-%m-%dT%H:%M:%S"))?;
            }
            w.write_str(prefix)?;
            let tail = micros_tail(now.subsec_micros());
            w.write_str(std::str::from_utf8(&tail).unwrap_or(".000000Z"))
        })
    }
}

/// `.000042Z` for 42 µs: by hand, as `{:06}` goes through the formatting
/// machinery for six digits.
fn micros_tail(micros: u32) -> [u8; 8] {
    let mut tail = *b".000000Z";
    crate::time::write_digits(&mut tail[1..7], micros);
    tail
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::logging::one_line::OneLineFields;

    #[test]
    fn stamps_like_rfc3339_with_microseconds() {
        let mut line = String::new();
        Timestamp.format_time(&mut Writer::new(&mut line)).unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(&line).expect("RFC 3339");
        assert!(line.ends_with('Z') && line.len() == "2026-11-21T23:16:51.925359Z".len());
        #[allow(clippy::disallowed_methods)]
        let age = chrono::Utc::now().signed_duration_since(parsed);
        assert!(age.num_seconds().abs() < 60, "{line} is not now");
    }

    #[test]
    fn microseconds_are_six_digits() {
        assert_eq!(&micros_tail(0), b".000000Z");
        assert_eq!(&micros_tail(42), b".000042Z");
        assert_eq!(&micros_tail(925_359), b".925359Z");
        assert_eq!(&micros_tail(999_999), b".999999Z");
    }

    /// What one event inside two spans looks like, plain or default.
    fn render(plain: bool) -> String {
        capture(plain, || {
            let outer = tracing::info_span!("login", user_id = 7);
            let _outer = outer.enter();
            let inner = tracing::info_span!("verify_password");
            let _inner = inner.enter();
            tracing::warn!(target: "tollgate::access", method = %"POST", status = 401_u16, "request");
        })
    }

    /// The line `emit` logs, after its timestamp, plain or default.
    /// The tests of the one-line escaping and of the access log use it too.
    pub(in crate::logging) fn capture(plain: bool, emit: impl Fn()) -> String {
        use std::sync::{Arc, Mutex};
        use tracing_subscriber::fmt::MakeWriter;

        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        impl<'a> MakeWriter<'a> for Buffer {
            type Writer = Buffer;
            fn make_writer(&'a self) -> Buffer {
                self.clone()
            }
        }

        let buffer = Buffer::default();
        let builder = tracing_subscriber::fmt()
            .with_writer(buffer.clone())
            .with_ansi(false)
            .with_timer(Timestamp)
            .fmt_fields(OneLineFields);
        if plain {
            tracing::subscriber::with_default(builder.event_format(PlainLine).finish(), emit);
        } else {
            tracing::subscriber::with_default(builder.finish(), emit);
        }
        let line = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        // Everything after the timestamp.
        line.split_once(' ').unwrap().1.to_owned()
    }

    #[test]
    fn plain_lines_read_exactly_like_the_default_format() {
        let plain = render(true);
        assert_eq!(plain, render(false));
        assert_eq!(
            plain,
            " WARN login{user_id=7}:verify_password: tollgate::access: request method=POST status=401\n"
        );
    }
}
