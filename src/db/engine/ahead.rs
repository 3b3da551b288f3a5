//! What a chunk of batched work reads ahead for its jobs: the one thing
//! the engine asks of the tables above it, as a trait they implement
//! (`db::read_ahead`), so that the engine names no table.

use super::connection::Conn;

/// What a chunk of batched work reads ahead for its jobs, given to the
/// engine by the tables (see `db::read_ahead`).
///
/// On PostgreSQL every statement is a round trip to another process, and
/// the round trip costs more than the query; on SQLite each statement is
/// its own read transaction, whose file locks cost more than the lookup.
/// So a job may announce what it starts by reading (a [`ReadAhead::Key`]),
/// and the chunk it runs in reads that for all its jobs before they run,
/// handing each job what was found for its key (a [`ReadAhead::Found`]) as
/// an argument: nothing is kept anywhere else, so a query's answer depends
/// on its arguments alone.
pub trait ReadAhead: 'static {
    /// What one job announces it starts by reading.
    type Key: Send + 'static;
    /// What the chunk's read-ahead found for one job's key. The default is
    /// "nothing read ahead": what a job without a key, or one run again
    /// after a lost connection, is handed.
    type Found: Default;

    /// Reads ahead, on `conn`, what `keys` announce, for the chunk about to
    /// run there: what was found for each key, in their order. A failure
    /// reads as nothing found ahead (the default), left for the jobs to
    /// meet (and report) themselves.
    fn read(conn: &mut Conn, keys: &[&Self::Key]) -> Vec<Self::Found>;
}

/// Each of the keys a chunk's jobs `asked` for once, in the order first
/// asked (one reader's parallel requests often share a key); `None` when
/// none asked, so that nothing is read ahead.
pub fn each_once<K: Clone + Eq + std::hash::Hash>(asked: &[&K]) -> Option<Vec<K>> {
    if asked.is_empty() {
        return None;
    }
    let mut seen = std::collections::HashSet::with_capacity(asked.len());
    Some(
        asked
            .iter()
            .filter(|a| seen.insert(**a))
            .map(|a| (*a).clone())
            .collect(),
    )
}
