//! Reading ahead for a chunk of batched work, on PostgreSQL.
//!
//! There, every statement is a round trip to another process, and the
//! round trip (both ends' system calls, PostgreSQL's per-statement work)
//! costs more than the query. So when a job announces what it starts by
//! reading (a [`Hint`]), its chunk reads that for all its jobs in one
//! statement per kind before they run, and each job finds its answer here
//! instead of making a round trip of its own. On SQLite, where a query is
//! a function call, nothing is read ahead.
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
    let Conn::Postgres(pg) = conn else {
        return;
    };
    let mut sessions = Vec::new();
    let mut metered = Vec::new();
    for hint in hints {
        match hint {
            Hint::Session(hash) => sessions.push(hash.as_str()),
            Hint::Metered(key) => metered.push(*key),
        }
    }
    sessions::prefetch(pg, &sessions);
    unlocks::prefetch(pg, &metered);
}

/// Ends what [`run`] read, when its chunk ends.
pub fn forget() {
    sessions::forget_prefetched();
    unlocks::forget_prefetched();
}
