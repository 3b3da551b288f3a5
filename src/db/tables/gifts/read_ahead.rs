//! A chunk's gift opens, read in one statement before its jobs run (see
//! `crate::db::read_ahead`): each job is handed what was found for its
//! token and reader instead of asking [`super::find`] on its own. A reader
//! re-opening a gift is then no statement of its own: on PostgreSQL its
//! read shares the chunk's one round trip, on SQLite its read transaction.

use std::collections::HashMap;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Bool, Text, Untyped};
use diesel::sqlite::Sqlite;

use super::Found;
use crate::db::engine::statement::prepared;
use crate::db::rows::{post_columns, PostRow};

/// A gift open a job announces: the token's hash, and who opens it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asked {
    pub token_hash: String,
    pub reader: String,
}

/// What a chunk read ahead: each gift open that found a live gift of a
/// live, published post (whether its time has come is each job's question,
/// asked with its request's clock: see [`found_at`]).
pub type Sheet = HashMap<Asked, Found>;

/// What `sheet` holds for `asked`: `None` when its gift was not found.
pub fn find(sheet: &Sheet, asked: &Asked) -> Option<Found> {
    sheet.get(asked).cloned()
}

/// The gift read ahead, if its post is visible at `now`: what
/// [`super::find`] would have answered.
pub fn found_at(found: Option<Found>, now: i64) -> Option<Found> {
    found.filter(|found| found.post.published_at <= now)
}

/// PostgreSQL's read-ahead: per key, the gift by its unique token hash,
/// its post, the post's author and its giver by primary key, and the
/// reader's row by the readers' primary key, whatever the statistics say.
/// The plan is made once per connection (`force_generic_plan`), often on a
/// young database, where the natural statement was planned badly: the
/// post's conditions matched a partial index of posts, so every published
/// post was walked and each one's gifts looked up; and `EXISTS` on the
/// readers became a hashed subplan, a scan of every reader per call. So
/// the post's conditions are checked outside the lateral subquery (which
/// `OFFSET 0` keeps from being flattened), where no index can take them,
/// and the reader is counted per key (at most one row). Keys go in as two
/// arrays, so the text is the same for any number of them.
const READ_AHEAD: &str = "
    SELECT q.token_hash, q.reader, f.gift_id, f.expires_at, f.giver,
           f.id, f.access, f.published_at, f.updated_at, f.author, s.seen, s.last_day
    FROM unnest($1::text[], $2::text[]) AS q(token_hash, reader)
    CROSS JOIN LATERAL (
        SELECT g.id AS gift_id, g.expires_at, v.username AS giver,
               p.id, p.access, p.published_at, p.updated_at, a.username AS author,
               p.status, p.deleted_at
        FROM gifts g
        JOIN posts p ON p.id = g.post_id
        LEFT JOIN users a ON a.id = p.author_id
        JOIN users v ON v.id = g.giver_id
        WHERE g.token_hash = q.token_hash AND g.revoked_at IS NULL
        OFFSET 0
    ) f
    CROSS JOIN LATERAL (
        SELECT COUNT(*) > 0 AS seen, MAX(r.last_day) AS last_day FROM gift_readers r
        WHERE r.gift_id = f.gift_id AND r.reader = q.reader
    ) s
    WHERE f.status = 'published' AND f.deleted_at IS NULL";

/// SQLite's read-ahead: the keys go in as one JSON array of
/// `[token_hash, reader]` pairs, so the text is the same for every chunk
/// and each connection prepares it once. SQLite's planner looks each gift
/// up by its unique token hash (`SEARCH g USING INDEX … (token_hash=?)`),
/// the rest by primary key. The parameter goes between this and
/// `READ_AHEAD_SQLITE_TAIL`.
const READ_AHEAD_SQLITE: &str = concat!(
    "
    SELECT q.token_hash, q.reader, g.id AS gift_id, g.expires_at, v.username AS giver, ",
    post_columns!(),
    ",
           EXISTS (SELECT 1 FROM gift_readers r
                   WHERE r.gift_id = g.id AND r.reader = q.reader) AS seen,
           (SELECT r.last_day FROM gift_readers r
            WHERE r.gift_id = g.id AND r.reader = q.reader) AS last_day
    FROM (SELECT json_extract(value, '$[0]') AS token_hash,
                 json_extract(value, '$[1]') AS reader
          FROM json_each("
);

/// The rest of `READ_AHEAD_SQLITE`, after its parameter.
const READ_AHEAD_SQLITE_TAIL: &str = ")) q
    JOIN gifts g ON g.token_hash = q.token_hash
    JOIN posts p ON p.id = g.post_id
    LEFT JOIN users a ON a.id = p.author_id
    JOIN users v ON v.id = g.giver_id
    WHERE g.revoked_at IS NULL AND p.status = 'published' AND p.deleted_at IS NULL";

/// A row of either read-ahead.
#[derive(QueryableByName)]
pub struct AheadRow {
    #[diesel(sql_type = Text)]
    token_hash: String,
    #[diesel(sql_type = Text)]
    reader: String,
    #[diesel(sql_type = BigInt)]
    gift_id: i64,
    #[diesel(sql_type = BigInt)]
    expires_at: i64,
    #[diesel(sql_type = Text)]
    giver: String,
    #[diesel(embed)]
    post: PostRow,
    #[diesel(sql_type = Bool)]
    seen: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
    last_day: Option<i32>,
}

/// What a read-ahead found, as the chunk's jobs look it up; `None` when it
/// failed, which each job then meets (and reports) itself.
pub fn sheet(rows: QueryResult<Vec<AheadRow>>) -> Option<Sheet> {
    rows.ok().map(sheet_of)
}

/// The read-ahead of `keys` on `conn`, on its own (not pipelined), as a
/// sheet: [`super::find`]'s one statement.
pub fn read(conn: &mut super::Conn, keys: &[Asked]) -> QueryResult<Sheet> {
    let rows = match conn {
        super::Conn::Sqlite(c) => read_sqlite(c, keys)?,
        super::Conn::Postgres(pg) => ReadAhead::of(keys).load(pg)?,
    };
    Ok(sheet_of(rows))
}

fn sheet_of(rows: Vec<AheadRow>) -> Sheet {
    rows.into_iter()
        .map(|row| {
            let asked = Asked {
                token_hash: row.token_hash,
                reader: row.reader,
            };
            let found = Found {
                gift_id: row.gift_id,
                expires_at: row.expires_at,
                post: row.post,
                giver: row.giver,
                seen: row.seen,
                last_day: row.last_day,
            };
            (asked, found)
        })
        .collect()
}

/// PostgreSQL's read-ahead of `keys` (`READ_AHEAD`), as a future on the
/// connection's driver, so that it shares a round trip with the chunk's
/// other read-aheads (see `crate::db::engine::pg::PgConn::pipelined`).
pub async fn read_pg(
    mut conn: &diesel_async::AsyncPgConnection,
    keys: &[Asked],
) -> QueryResult<Vec<AheadRow>> {
    diesel_async::RunQueryDsl::load(ReadAhead::of(keys), &mut conn).await
}

/// SQLite's read-ahead of `keys` (`READ_AHEAD_SQLITE`).
pub fn read_sqlite(c: &mut SqliteConnection, keys: &[Asked]) -> QueryResult<Vec<AheadRow>> {
    let pairs: Vec<[&str; 2]> = keys
        .iter()
        .map(|k| [k.token_hash.as_str(), k.reader.as_str()])
        .collect();
    let keys = serde_json::to_string(&pairs)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    ReadAheadSqlite { keys }.load(c)
}

/// `READ_AHEAD` with its parameters, prepared once per connection.
struct ReadAhead<'a> {
    token_hashes: Vec<&'a str>,
    readers: Vec<&'a str>,
}

impl<'a> ReadAhead<'a> {
    fn of(keys: &'a [Asked]) -> ReadAhead<'a> {
        ReadAhead {
            token_hashes: keys.iter().map(|k| k.token_hash.as_str()).collect(),
            readers: keys.iter().map(|k| k.reader.as_str()).collect(),
        }
    }
}

prepared!(ReadAhead<'_>, id = ReadAhead<'static>, rows = Untyped);

impl QueryFragment<Pg> for ReadAhead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(READ_AHEAD);
        out.push_bind_param_value_only::<Array<Text>, _>(&self.token_hashes)?;
        out.push_bind_param_value_only::<Array<Text>, _>(&self.readers)
    }
}

/// `READ_AHEAD_SQLITE` with its parameter, prepared once per connection.
struct ReadAheadSqlite {
    keys: String,
}

prepared!(ReadAheadSqlite, id = ReadAheadSqlite, rows = Untyped);

impl QueryFragment<Sqlite> for ReadAheadSqlite {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(READ_AHEAD_SQLITE);
        out.push_bind_param::<Text, _>(&self.keys)?;
        out.push_sql(READ_AHEAD_SQLITE_TAIL);
        Ok(())
    }
}
