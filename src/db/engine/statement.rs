//! Statements written as SQL text that each connection prepares once.
//!
//! A `diesel::sql_query` is never kept prepared (Diesel cannot know its
//! text is the same each time), so the database would parse and plan it on
//! every call. The few statements of the hot paths that Diesel's query
//! builder cannot write (arrays of keys, a claim in a CTE) are structs
//! holding their parameters, whose `walk_ast` writes the text and binds
//! them; `prepared!` gives such a struct a
//! static query id, so each connection prepares it once and then only
//! binds and executes it.

/// Implements `QueryId` (static), `Query` (with the given row type) and
/// `RunQueryDsl` for a struct holding a statement's parameters, whose
/// `QueryFragment` the caller writes:
/// `prepared!(ReadAhead<'_>, id = ReadAhead<'static>, rows = Untyped);`.
macro_rules! prepared {
    ($statement:ty, id = $id:ty, rows = $rows:ty) => {
        impl diesel::query_builder::QueryId for $statement {
            type QueryId = $id;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl diesel::query_builder::Query for $statement {
            type SqlType = $rows;
        }

        impl<C> diesel::RunQueryDsl<C> for $statement {}
    };
}
pub(crate) use prepared;
