//! The log's output: [`LogWriter`], whose thread writes the lines to
//! stdout so that no request waits on the output, and [`LogFlusher`],
//! which writes what is left when the process ends. If the output cannot
//! keep up, lines are dropped and counted, never waited for.

use std::fmt::Write as _;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;

use super::format::Timestamp;

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
}
