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
//!
//! One file per concern, each with the tests of what it holds:
//!
//! - `format.rs`: the plain line, [`PlainLine`], and the time it starts
//!   with, [`Timestamp`]. Both are on every request's path, so both are
//!   written by hand rather than through tracing-subscriber's machinery.
//! - `one_line.rs`: [`OneLine`] and [`OneLineFields`], the escaping that
//!   keeps one event on one line, whatever a request put in its fields.
//!   Every format writes its fields through it, the terminal's included.
//! - `writer.rs`: [`LogWriter`], the thread that writes the lines to stdout,
//!   and [`LogFlusher`], which writes what is left when `main` ends. An
//!   output that cannot keep up costs lines, dropped and counted, never a
//!   request's time.
//! - `access.rs`: [`access`], the one line written for every request. In
//!   plain-text logs it is put together by hand, byte for byte what
//!   [`PlainLine`] would write, and handed to the writer `main` gives
//!   [`write_access_lines_to`]; it is the hottest line, and the event
//!   machinery cost as much as the rest of a `401`.
//! - `filter.rs`: [`filter`], `RUST_LOG`'s filter with the crates that see
//!   secrets (statements, SMTP conversations, HTTP headers) held to their
//!   warnings whatever it asks.
//!
//! The files are private and everything public is re-exported here: the
//! rest of the crate (and `main`) names `logging::X`, and need not know
//! which file holds it.

mod access;
mod filter;
mod format;
mod one_line;
mod writer;

pub use access::{access, write_access_lines_to, Access};
pub use filter::filter;
pub use format::{PlainLine, Timestamp};
pub use one_line::{OneLine, OneLineFields};
pub use writer::{LogFlusher, LogWriter};
