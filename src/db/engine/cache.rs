//! What a chunk read ahead, kept on the thread that runs the chunk for as
//! long as it runs (see [`super::ReadAhead`]).

use std::cell::RefCell;

/// A per-chunk answer sheet; declare one per kind of read-ahead in a
/// `thread_local!`, with `const { ChunkCache::new() }`.
///
/// Per thread, because a chunk runs on one thread of the blocking pool and
/// its jobs run there one after another: nothing is shared, so nothing is
/// locked. [`ChunkCache::forget`] at the chunk's end keeps a later chunk on
/// the same thread from finding an answer that is no longer current.
pub struct ChunkCache<T>(RefCell<Option<T>>);

impl<T> ChunkCache<T> {
    pub const fn new() -> Self {
        ChunkCache(RefCell::new(None))
    }

    /// Keeps what this chunk read ahead.
    pub fn keep(&self, found: T) {
        *self.0.borrow_mut() = Some(found);
    }

    /// Drops it: the chunk has ended.
    pub fn forget(&self) {
        self.0.borrow_mut().take();
    }

    /// What `find` makes of the kept answers; `None` when nothing was read
    /// ahead for this chunk.
    pub fn find<R>(&self, find: impl FnOnce(&T) -> Option<R>) -> Option<R> {
        find(self.0.borrow().as_ref()?)
    }
}

impl<T> Default for ChunkCache<T> {
    fn default() -> Self {
        Self::new()
    }
}
