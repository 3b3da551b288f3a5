//! Reading ahead for a chunk of batched work.
//!
//! On PostgreSQL every statement is a round trip to another process, and
//! the round trip (both ends' system calls, PostgreSQL's per-statement
//! work) costs more than the query; on SQLite each statement is its own
//! read transaction, whose file locks cost more than the lookup. So when a
//! job announces what it starts by reading (a [`Hint`]), its chunk reads
//! that for all its jobs in one statement per kind before they run, and
//! each job finds its answer here instead of asking on its own. Sessions
//! are read ahead on both backends (on SQLite only for larger batches, see
//! [`sessions::prefetch`]); meters on PostgreSQL, where the alternative is
//! a statement that writes.
//!
//! What a job finds is what the statement saw at the start of its chunk,
//! before the jobs ahead of it in the chunk ran. That is an order the
//! requests could have come in anyway: no caller of the chunk has had an
//! answer yet, so none of them can have seen another's effect. Each kind
//! of answer is used only where that holds (see the readers).

use super::{sessions, unlocks, Conn};

/// What a job starts by reading.
pub enum Hint {
    /// The live session with this token hash ([`sessions::find_live`]).
    Session(String),
    /// The metered open of a post ([`unlocks::open_metered`]).
    Metered(unlocks::MeteredKey),
}

/// Reads ahead what `hints` announce, on `conn`, for the chunk about to
/// run there. A failure is left for the jobs to meet (and report)
/// themselves, on their own statements.
pub fn run<'a>(conn: &mut Conn, hints: impl Iterator<Item = &'a Hint>) {
    let mut sessions = Vec::new();
    let mut metered = Vec::new();
    for hint in hints {
        match hint {
            Hint::Session(hash) => sessions.push(hash.as_str()),
            Hint::Metered(key) => metered.push(*key),
        }
    }
    sessions::prefetch(conn, &sessions);
    if let Conn::Postgres(pg) = conn {
        unlocks::prefetch(pg, &metered);
    }
}

/// Ends what [`run`] read, when its chunk ends.
pub fn forget() {
    sessions::forget_prefetched();
    unlocks::forget_prefetched();
}
