//! The access log: [`access`], the one line written for every request. In
//! plain-text logs the line is put together here by hand and handed
//! straight to the log's writer, given by `main` through
//! [`write_access_lines_to`]; otherwise (a terminal, the tests' app) it is
//! an ordinary tracing event.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::OnceLock;

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use super::format::Timestamp;
use super::one_line::OneLine;
use super::writer::LogWriter;

/// Where plain access lines go: the same writer as every other line (so
/// their order is kept), set once by `main` when the log is plain text.
/// Unset (a terminal, or the app started by the tests), the access line is
/// an ordinary tracing event.
static ACCESS_WRITER: OnceLock<LogWriter> = OnceLock::new();

pub fn write_access_lines_to(writer: LogWriter) {
    let _ = ACCESS_WRITER.set(writer);
}

/// One request, as the access log reports it.
pub struct Access<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub latency_us: u64,
    pub user_id: Option<i64>,
}

/// Logs one request at INFO under the `tollgate::access` target, when the
/// filter lets it through. This is the one line written for every request:
/// in plain-text logs it is put together here, byte for byte the line
/// [`PlainLine`](super::PlainLine) would write for the tracing event below
/// (a test holds them equal), without the event machinery — field
/// visitors, dynamic formatting — which cost as much as the rest of a
/// `401` (docs/performance.md).
pub fn access(line: &Access<'_>) {
    match ACCESS_WRITER.get() {
        Some(writer) => {
            if !access_lines_wanted() {
                return;
            }
            thread_local! {
                static LINE: RefCell<String> = const { RefCell::new(String::new()) };
            }
            LINE.with_borrow_mut(|text| {
                text.clear();
                access_line(text, line);
                writer.append(text.as_bytes());
            });
        }
        None => tracing::info!(
            target: "tollgate::access",
            method = %line.method,
            path = %line.path,
            status = line.status,
            latency_us = line.latency_us,
            user_id = line.user_id,
            "request"
        ),
    }
}

/// Whether the filter lets access lines through, asked once. With the
/// writer set, the subscriber is the process's global one, whose filter is
/// fixed when `main` sets it up, before the first request. Asking on every
/// line (`tracing::enabled!`) runs the filter's directives again, comparing
/// the target with each directive's: 2 % of the instructions of a `401`.
fn access_lines_wanted() -> bool {
    static WANTED: OnceLock<bool> = OnceLock::new();
    *WANTED.get_or_init(|| tracing::enabled!(target: "tollgate::access", tracing::Level::INFO))
}

fn access_line(text: &mut String, line: &Access<'_>) {
    let mut numbers = itoa::Buffer::new();
    let _ = Timestamp.format_time(&mut Writer::new(text));
    text.push_str("  INFO tollgate::access: request method=");
    // The request's own text, kept on this line as the event's fields are.
    let _ = OneLine(text).write_str(line.method);
    text.push_str(" path=");
    let _ = OneLine(text).write_str(line.path);
    text.push_str(" status=");
    text.push_str(numbers.format(line.status));
    text.push_str(" latency_us=");
    text.push_str(numbers.format(line.latency_us));
    if let Some(id) = line.user_id {
        text.push_str(" user_id=");
        text.push_str(numbers.format(id));
    }
    text.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::format::tests::capture;

    #[test]
    fn hand_written_access_lines_read_exactly_like_the_event() {
        for (user_id, path) in [
            (None, "/sessions/ab%20cd"),
            (Some(42), "/sessions/ab%20cd"),
            (
                None,
                "/a\r\n2026-01-01T00:00:00.000000Z  INFO forged\u{2028}b",
            ),
        ] {
            let line = Access {
                method: "DELETE",
                path,
                status: 204,
                latency_us: 1234,
                user_id,
            };
            let mut by_hand = String::new();
            access_line(&mut by_hand, &line);
            assert_eq!(by_hand.matches('\n').count(), 1, "{by_hand:?}");
            let by_hand = by_hand.split_once(' ').unwrap().1.to_owned();
            let event = capture(true, || access(&line));
            assert_eq!(by_hand, event);
        }
    }
}
