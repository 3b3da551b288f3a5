//! Lookups by a unique key: at most one row, and no `LIMIT`.

use diesel::query_dsl::methods::LoadQuery;
use diesel::{OptionalExtension, QueryResult, RunQueryDsl};

/// `query.unique(conn)`: the one row a lookup by a unique key finds, or
/// `None`.
///
/// Never `.first()` for such a lookup: it adds `LIMIT ?`, and SQLite's
/// planner reads a bound LIMIT's value, so every re-bind expires the cached
/// statement and SQLite parses and plans the query again on each call (a
/// quarter of `check_session`'s CPU when measured; docs/performance.md).
/// clippy's `disallowed-methods` (`clippy.toml`) refuses `.first()`.
pub trait Unique<C>: RunQueryDsl<C> + Sized {
    fn unique<'query, U>(self, conn: &mut C) -> QueryResult<Option<U>>
    where
        Self: LoadQuery<'query, C, U>,
    {
        self.get_result(conn).optional()
    }
}

impl<C, Q: RunQueryDsl<C>> Unique<C> for Q {}
