//! A chunk's sessions, looked up in one statement before its jobs run
//! (see `crate::db::engine::ReadAhead`): each job is handed what was found
//! for its token hash instead of asking [`super::find_live`] on its own.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::sqlite::Sqlite;

use super::{Conn, LiveSession};
use crate::db::engine::statement::prepared;
use crate::db::rows::UserRow;

/// A session found, with its user.
pub type Found = (LiveSession, UserRow);

/// What a chunk's read-ahead found: each hash asked for, and its session
/// if one has it (expired ones included: each job judges expiry at its
/// own `now`, see [`live`]).
///
/// Hashed with foldhash rather than SipHash, at a fraction of its cost on
/// a 64-character hash, since it is filled and searched once per job: the
/// keys are SHA-256 hashes of tokens whose cookie's signature was checked
/// (and, in the meters' set of the reads asked for, post ids and slugs
/// held to the slug's rule), and foldhash is seeded at random per process, so no client can
/// aim its keys at one bucket. actix builds foldhash already.
pub type Sheet = foldhash::HashMap<String, Option<Found>>;

/// The smallest batch whose sessions SQLite looks up in one statement (see
/// [`to_read_ahead`]). Under S1's load (64 connections) it took `check_session`
/// from 44k to 50k requests/s, the same from 2 or from 8; 8 kept a lone
/// pair of requests from preparing a statement for one lookup saved. (It
/// was measured when the statement was prepared per chunk; it is now
/// prepared once per connection, `READ_AHEAD_SQLITE`.)
const SQLITE_READ_AHEAD_FROM: usize = 8;

/// What a session read-ahead returns: each hash found, with its session
/// and user.
pub type AheadRow = (String, LiveSession, UserRow);

/// The hashes a chunk reads ahead (`READ_AHEAD` on PostgreSQL,
/// `READ_AHEAD_SQLITE` on SQLite), each once; `None` when there are too
/// few for it to pay. Expiry is still checked by each job against its own
/// `now` ([`live`]).
///
/// On PostgreSQL this saves a round trip per request, so it is worth it
/// from two hashes on, or from one when another read-ahead shares its
/// round trip (`shared`: the chunk reads metered reads or gift opens
/// ahead too; see `crate::db::read_ahead`). On SQLite it saves each lookup's read transaction (its file locks are most
/// of what a lookup costs); it reads ahead for a batch of
/// `SQLITE_READ_AHEAD_FROM` or more.
pub fn to_read_ahead<'a>(
    conn: &Conn,
    token_hashes: &[&'a str],
    shared: bool,
) -> Option<Vec<&'a str>> {
    let enough = match conn {
        Conn::Postgres(_) if shared => 1,
        Conn::Postgres(_) => 2,
        Conn::Sqlite(_) => SQLITE_READ_AHEAD_FROM,
    };
    if token_hashes.len() < enough {
        return None;
    }
    // One browser's requests share a token: each is asked for once.
    let mut distinct = token_hashes.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    Some(distinct)
}

/// SQLite's read-ahead of `distinct` (`READ_AHEAD_SQLITE`).
pub fn read_sqlite(c: &mut SqliteConnection, distinct: &[&str]) -> QueryResult<Vec<AheadRow>> {
    let hashes = serde_json::to_string(distinct)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    ReadAheadSqlite { hashes }.load(c)
}

/// PostgreSQL's read-ahead of `distinct` (`READ_AHEAD`), as a future on
/// the connection's driver, so that it can share a round trip with the
/// chunk's other read-aheads (see `crate::db::engine::pg::PgConn::pipelined`).
pub async fn read_pg(
    mut conn: &diesel_async::AsyncPgConnection,
    distinct: &[&str],
) -> QueryResult<Vec<AheadRow>> {
    diesel_async::RunQueryDsl::load(ReadAhead { hashes: distinct }, &mut conn).await
}

/// What a read-ahead of `distinct` found, as the chunk's jobs look it up;
/// `None` when it failed, which each job then meets (and reports) itself.
pub fn sheet(distinct: &[&str], found: QueryResult<Vec<AheadRow>>) -> Option<Sheet> {
    let found = found.ok()?;
    let mut answers: Sheet = distinct.iter().map(|h| ((*h).to_owned(), None)).collect();
    for (hash, session, user) in found {
        answers.insert(hash, Some((session, user)));
    }
    Some(answers)
}

/// The session read ahead, if it is still live at `now`: what
/// [`super::find_live`] would have answered.
pub fn live(found: Option<Found>, now: i64) -> Option<Found> {
    found.filter(|(session, _)| session.expires_at > now)
}

/// PostgreSQL's read-ahead of sessions: each hash looked up by the unique
/// index, then its user by the primary key, whatever the statistics say.
/// The plan is made once per connection (`force_generic_plan`), often on a
/// young database: there the join Diesel writes (`sessions INNER JOIN
/// users … WHERE token_hash = ANY($1)`) was planned as a hash join over a
/// sequential scan of `users`, building its hash table on every call
/// (docs/performance.md), and a lateral join per table added a
/// `Memoize` node that does the same. Per hash, the planner expects one
/// session, so it joins its user by index. SQLite's planner walks the
/// indexes anyway. The columns are `token_hash`, then [`LiveSession`]'s and
/// [`UserRow`]'s fields in their order (`OFFSET 0` keeps the subquery from
/// being flattened into a join that could be hashed again).
const READ_AHEAD: &str = "
    SELECT k.token_hash, f.*
    FROM unnest($1::text[]) AS k(token_hash)
    CROSS JOIN LATERAL (
        SELECT s.id, s.user_id, s.stay_signed_in, s.created_at, s.last_seen_at,
               s.expires_at, s.ip,
               u.id, u.username, u.password_hash <> '' AS has_password, u.plan, u.created_at,
               u.role, u.disabled, u.premium_until
        FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = k.token_hash
        OFFSET 0
    ) f";

/// `READ_AHEAD` with its parameter, prepared once per connection.
struct ReadAhead<'a> {
    hashes: &'a [&'a str],
}

prepared!(ReadAhead<'_>, id = ReadAhead<'static>, rows = AheadSqlType);

/// The SQL types of an [`AheadRow`], as both read-aheads return it.
type AheadSqlType = (
    Text,
    (Text, BigInt, Bool, BigInt, BigInt, BigInt, Nullable<Text>),
    (
        BigInt,
        Text,
        Bool,
        Text,
        BigInt,
        Text,
        Bool,
        Nullable<BigInt>,
    ),
);

impl QueryFragment<Pg> for ReadAhead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(READ_AHEAD);
        out.push_bind_param_value_only::<Array<Text>, _>(&self.hashes)
    }
}

/// SQLite's read-ahead: the hashes go in as one JSON array, so the
/// statement's text is the same for every chunk and each connection
/// prepares it once. Diesel's `eq_any` writes `IN (?, ?, …)` with one
/// parameter per hash, a statement Diesel does not cache: it was prepared
/// anew for every chunk, some 4 % of S1's CPU (docs/performance.md). SQLite's planner looks each value up by the unique index, then its
/// user by the primary key (`EXPLAIN QUERY PLAN`: `SEARCH s USING INDEX …
/// (token_hash=?)`, `LIST SUBQUERY`, `SEARCH u USING INTEGER PRIMARY
/// KEY`), with or without `ANALYZE`. The columns are as in `READ_AHEAD`;
/// the statement ends in its parameter and `))` ([`ReadAheadSqlite`]).
const READ_AHEAD_SQLITE: &str = "
    SELECT s.token_hash, s.id, s.user_id, s.stay_signed_in, s.created_at,
           s.last_seen_at, s.expires_at, s.ip,
           u.id, u.username, u.password_hash <> '' AS has_password, u.plan, u.created_at,
           u.role, u.disabled, u.premium_until
    FROM sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash IN (SELECT value FROM json_each(";

/// `READ_AHEAD_SQLITE` with its parameter (a JSON array of the hashes),
/// prepared once per connection.
struct ReadAheadSqlite {
    hashes: String,
}

prepared!(ReadAheadSqlite, id = ReadAheadSqlite, rows = AheadSqlType);

impl QueryFragment<Sqlite> for ReadAheadSqlite {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(READ_AHEAD_SQLITE);
        out.push_bind_param::<Text, _>(&self.hashes)?;
        out.push_sql("))");
        Ok(())
    }
}
