//! A `LIMIT` written into the statement's text, never bound.
//!
//! SQLite reads the value bound to a `LIMIT` while it plans, so it marks
//! the statement to be compiled again whenever that parameter is bound
//! again: diesel binds every parameter on every execution, so a cached
//! statement with `LIMIT ?` is parsed and planned anew each time (about
//! 40 % of a `GET /blog` page's CPU on SQLite when measured,
//! `bench/results/2026-11-28-sqlite-recompiles.md`). PostgreSQL's generic
//! plan guesses a bound `LIMIT` at a tenth of the rows, which can choose a
//! walk of every row (see `posts::readers`). Written as an integer, both
//! planners take it at its word and the statement stays prepared: it is
//! then cached by its text, one per distinct limit (the callers' limits
//! are constants or `per_page`, at most a hundred values). An `OFFSET`
//! stays bound: neither planner reads it.
//!
//! clippy's `disallowed-methods` (`clippy.toml`) refuses diesel's
//! `.limit()`; `.first()` too (see [`super::Unique`]).

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::BigInt;
use diesel::{QueryResult, RunQueryDsl};

/// `query.limit_written(n)`: `query` with `LIMIT n` written into its text.
pub trait WrittenLimit: Sized {
    fn limit_written(self, limit: i64) -> Limited<Self> {
        Limited {
            query: self,
            limit,
            offset: None,
        }
    }
}

impl<Q: Query> WrittenLimit for Q {}

/// A query with its `LIMIT` written out, and an `OFFSET` bound if any.
#[derive(Debug, Clone)]
pub struct Limited<Q> {
    query: Q,
    limit: i64,
    offset: Option<i64>,
}

impl<Q> Limited<Q> {
    /// Skips the first `offset` rows (bound: no planner reads it).
    pub fn offset(self, offset: i64) -> Limited<Q> {
        Limited {
            offset: Some(offset),
            ..self
        }
    }
}

/// Cached by its text, which changes with the limit.
impl<Q> QueryId for Limited<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Limited<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, C> RunQueryDsl<C> for Limited<Q> {}

impl<Q, DB> QueryFragment<DB> for Limited<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
    i64: diesel::serialize::ToSql<BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        // An integer of this process's own making, never text from a request.
        out.push_sql(itoa::Buffer::new().format(self.limit));
        if let Some(offset) = &self.offset {
            out.push_sql(" OFFSET ");
            out.push_bind_param::<BigInt, _>(offset)?;
        }
        Ok(())
    }
}
