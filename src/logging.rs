//! How log lines look when they go to a file or a pipe: the same text as
//! tracing-subscriber's default format without colours, written with less
//! machinery. The access log writes a line per request, and on the
//! cheapest requests (the guard's 401) the default formatter was the
//! largest cost left in our own code (docs/performance.md). A terminal keeps
//! the default, coloured format.
//!
//! Whatever the format, one event is one line: the values of its fields
//! (and of its spans' fields) are written through [`OneLine`], which
//! escapes every character that could end a line. Some of what is logged
//! comes from a request (a provider's `error`, a path), and any field may
//! hold such text; a line break in it would otherwise start a line of the
//! sender's choosing, dated and levelled like a real one.
//!
//! Whatever the format, lines reach stdout through [`LogWriter`], whose
//! thread writes them so that no request waits on the output.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;
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

/// The log's output, written by a thread of its own so that a request
/// never waits on stdout. A line is appended to a buffer in memory, under
/// a lock held for that copy alone; the thread takes what has gathered,
/// writes it at once, then sleeps out `pause` before it looks again. So a
/// busy server hands over its lines without waking anyone (only a line
/// after a quiet spell wakes the thread), and a line waits about a pause
/// or two at most. A channel of lines (tracing-appender's) cost each line
/// an allocation, a send, a receive and a free on another thread, and the
/// log's thread took about 3 % of a metered re-read's CPU, against about
/// 1 % this way (docs/performance.md).
///
/// If the output cannot keep up (a stalled pipe), the buffer stops at
/// `cap` bytes and further lines are dropped, never waited for; a line
/// written after the lines kept says how many were.
#[derive(Clone)]
pub struct LogWriter {
    shared: Arc<Shared>,
}

struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    cap: usize,
}

#[derive(Default)]
struct Pending {
    text: Vec<u8>,
    /// Lines dropped since the last write, the buffer being full.
    dropped: u64,
    /// The thread waits on `wake` (rather than sleeping out a pause).
    waiting: bool,
    /// The process is ending: write what is left and stop.
    closing: bool,
}

/// Writes what is left when dropped (at the end of `main`), waiting a
/// second at most for the output to take it.
pub struct LogFlusher {
    shared: Arc<Shared>,
    done: std::sync::mpsc::Receiver<()>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves plain bytes: still usable.
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for something to write and swaps it into `batch` (empty):
    /// the lines dropped since the last call, and whether to stop.
    fn take(&self, batch: &mut Vec<u8>) -> (u64, bool) {
        let mut pending = self.lock();
        while pending.text.is_empty() && pending.dropped == 0 && !pending.closing {
            pending.waiting = true;
            pending = self
                .wake
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
            pending.waiting = false;
        }
        std::mem::swap(&mut pending.text, batch);
        (std::mem::take(&mut pending.dropped), pending.closing)
    }
}

impl LogWriter {
    /// A writer onto `out`, and what flushes it at the end.
    pub fn spawn(
        mut out: impl io::Write + Send + 'static,
        pause: Duration,
        cap: usize,
    ) -> io::Result<(LogWriter, LogFlusher)> {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            cap,
        });
        let (finished, done) = std::sync::mpsc::channel();
        let taken = shared.clone();
        std::thread::Builder::new()
            .name("tollgate-log".into())
            .spawn(move || {
                let mut batch = Vec::new();
                loop {
                    let (dropped, closing) = taken.take(&mut batch);
                    // Nowhere to say that the log's own output failed.
                    let _ = out.write_all(&batch);
                    // The lines dropped came after those kept.
                    if dropped > 0 {
                        let _ = out.write_all(dropped_line(dropped).as_bytes());
                    }
                    let _ = out.flush();
                    if closing {
                        let _ = finished.send(());
                        return;
                    }
                    // A burst's buffer is not kept for ever.
                    if batch.capacity() > 1 << 20 {
                        batch = Vec::new();
                    }
                    batch.clear();
                    std::thread::sleep(pause);
                }
            })?;
        Ok((
            LogWriter {
                shared: shared.clone(),
            },
            LogFlusher { shared, done },
        ))
    }

    /// Queues `line` (whole lines: a write never waits and is never split).
    pub fn append(&self, line: &[u8]) {
        let mut pending = self.shared.lock();
        if pending.text.len() + line.len() > self.shared.cap {
            pending.dropped += 1;
        } else {
            pending.text.extend_from_slice(line);
        }
        let waiting = std::mem::take(&mut pending.waiting);
        drop(pending);
        if waiting {
            self.shared.wake.notify_one();
        }
    }
}

/// The line that says lines were dropped, dated as any other.
fn dropped_line(dropped: u64) -> String {
    let mut line = String::new();
    let _ = Timestamp.format_time(&mut Writer::new(&mut line));
    let _ = writeln!(
        line,
        "  WARN tollgate::logging: {dropped} log lines were dropped: the log's output did not keep up"
    );
    line
}

impl io::Write for &LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = &'a LogWriter;

    fn make_writer(&'a self) -> &'a LogWriter {
        self
    }
}

impl Drop for LogFlusher {
    fn drop(&mut self) {
        self.shared.lock().closing = true;
        self.shared.wake.notify_one();
        let _ = self.done.recv_timeout(Duration::from_secs(1));
    }
}

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
/// [`PlainLine`] would write for the tracing event below (a test holds them
/// equal), without the event machinery — field visitors, dynamic
/// formatting — which cost as much as the rest of a `401` (docs/performance.md).
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

/// The crates below tollgate that see what must never be logged —
/// statements and their parameters (password and token hashes), SMTP
/// conversations (messages with their links), HTTP headers (cookies, the
/// Stripe key) — and so are held to [`QUIET_LEVEL`] whatever `RUST_LOG`
/// asks: none of them logs a secret today at any level, but that is each
/// crate's choice, which an upgrade could change. Matched as prefixes of
/// a target, as `RUST_LOG` matches them.
const QUIET: &[&str] = &[
    "tokio_postgres",
    "postgres_protocol",
    "diesel",
    "diesel_async",
    "diesel_migrations",
    "libsqlite3_sys",
    "lettre",
    "reqwest",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
    "actix_http",
    "actix_server",
    "actix_session",
];

/// How much the [`QUIET`] crates may say: their warnings and errors.
const QUIET_LEVEL: &str = "warn";

/// `RUST_LOG`'s filter, with the `QUIET` crates held to their warnings:
/// any directive of the caller's for one of them (or a module inside one)
/// is dropped, and a directive capping it is added.
pub fn filter(rust_log: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    let quiet = |target: &str| {
        QUIET.iter().any(|crate_name| {
            target == *crate_name || target.starts_with(&format!("{crate_name}::"))
        })
    };
    let mut directives: Vec<String> = rust_log
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .filter(|directive| {
            // `target[span{field=value}]=level`, or a bare level.
            let target = directive
                .split(['[', '='])
                .next()
                .unwrap_or_default()
                .trim();
            !quiet(target)
        })
        .map(str::to_owned)
        .collect();
    directives.extend(QUIET.iter().map(|name| format!("{name}={QUIET_LEVEL}")));
    tracing_subscriber::EnvFilter::try_new(directives.join(",")).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// Said when a stalled write has begun, and waited for to go on.
    type Stall = Arc<Mutex<Option<(mpsc::Sender<()>, mpsc::Receiver<()>)>>>;

    /// An output that keeps what it is given, and can hold up its first
    /// write until told to go on (an output that stalls).
    #[derive(Clone, Default)]
    struct Sink {
        written: Arc<Mutex<Vec<u8>>>,
        stall: Option<Stall>,
    }

    impl io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(stall) = &self.stall {
                if let Some((entered, go_on)) = stall.lock().unwrap().take() {
                    entered.send(()).unwrap();
                    go_on.recv().unwrap();
                }
            }
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_whole_and_in_its_writers_order() {
        let sink = Sink::default();
        let (writer, flusher) =
            LogWriter::spawn(sink.clone(), Duration::from_millis(1), 1 << 20).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..2000 {
                        writer.append(format!("thread {t} line {i}\n").as_bytes());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(flusher);
        let written = String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
        let mut next = [0; 4];
        for line in written.lines() {
            let words: Vec<&str> = line.split(' ').collect();
            let (t, i): (usize, usize) = (words[1].parse().unwrap(), words[3].parse().unwrap());
            assert_eq!(i, next[t], "thread {t}'s lines out of order: {line}");
            next[t] += 1;
        }
        assert_eq!(
            next, [2000; 4],
            "every line is written by the time the flusher is dropped"
        );
    }

    #[test]
    fn a_stalled_output_drops_what_does_not_fit_and_says_how_many() {
        let (entered, stalled) = mpsc::channel();
        let (go_on, waiting) = mpsc::channel();
        let sink = Sink {
            stall: Some(Arc::new(Mutex::new(Some((entered, waiting))))),
            ..Sink::default()
        };
        let (writer, flusher) =
            LogWriter::spawn(sink.clone(), Duration::from_millis(1), 25).unwrap();
        writer.append(b"first\n");
        // The thread has taken the first line and is held up writing it.
        stalled.recv().unwrap();
        for _ in 0..5 {
            writer.append(b"0123456789\n");
        }
        go_on.send(()).unwrap();
        drop(flusher);
        let written = String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 4, "{written}");
        assert_eq!(&lines[..3], ["first", "0123456789", "0123456789"]);
        assert!(
            lines[3].ends_with("  WARN tollgate::logging: 3 log lines were dropped: the log's output did not keep up"),
            "{}",
            lines[3]
        );
    }

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
    fn capture(plain: bool, emit: impl Fn()) -> String {
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

    #[test]
    fn plain_lines_read_exactly_like_the_default_format() {
        let plain = render(true);
        assert_eq!(plain, render(false));
        assert_eq!(
            plain,
            " WARN login{user_id=7}:verify_password: tollgate::access: request method=POST status=401\n"
        );
    }

    #[test]
    fn the_drivers_say_no_more_than_warnings_whatever_rust_log_asks() {
        use tracing::Level;
        use tracing_subscriber::layer::SubscriberExt;

        for rust_log in [
            "trace",
            "tokio_postgres=trace,trace",
            "tokio_postgres::query=trace,lettre::transport=trace,debug",
            "info,hyper[request]=trace",
        ] {
            let filter = filter(rust_log).unwrap();
            let subscriber = tracing_subscriber::registry().with(filter);
            tracing::subscriber::with_default(subscriber, || {
                for (enabled, level) in [
                    (
                        tracing::enabled!(target: "tokio_postgres::query", Level::DEBUG),
                        "debug",
                    ),
                    (
                        tracing::enabled!(target: "tokio_postgres", Level::TRACE),
                        "trace",
                    ),
                    (
                        tracing::enabled!(target: "lettre::transport::smtp", Level::TRACE),
                        "trace",
                    ),
                    (tracing::enabled!(target: "hyper", Level::INFO), "info"),
                ] {
                    assert!(!enabled, "{rust_log:?} let a driver log at {level}");
                }
                assert!(tracing::enabled!(target: "tokio_postgres", Level::WARN));
            });
        }
        // What RUST_LOG asks of tollgate itself is kept.
        let subscriber = tracing_subscriber::registry().with(filter("tollgate=trace").unwrap());
        tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(target: "tollgate::db", tracing::Level::TRACE));
        });
        assert!(filter("tollgate=loud").is_err());
    }
}
