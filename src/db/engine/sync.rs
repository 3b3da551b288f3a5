//! What the batcher and the read-ahead lanes share about their locks.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, ignoring poison: the batcher and the lanes hold their
/// locks only to push, take or swap a list, where no panic can leave the
/// list half-changed, so a panic elsewhere on a thread that held one
/// (a job's, say) is no reason to stop every later request.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
