//! A chunk's anonymous reads, read in one statement before its jobs run
//! (see `crate::db::read_ahead`): each job is handed what was found for
//! its browser and post instead of asking [`super::post_and_meter`] on its
//! own. A browser re-reading a post it opened is then no statement of its
//! own: on PostgreSQL its read shares the chunk's one round trip with the
//! members' session checks and metered reads, on SQLite their read
//! transaction.

use std::collections::HashMap;

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Untyped};
use diesel::sqlite::Sqlite;

use super::Found;
use crate::db::engine::statement::prepared;
use crate::db::rows::{post_columns, post_named_pg, post_named_sqlite, PostRef, PostRow};
use crate::domain::Month;

/// An anonymous read a job announces: the browser (its reader hash), the
/// month it reads in, and the post it names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Asked {
    pub reader: String,
    pub month: Month,
    pub post: PostRef,
}

/// What a chunk read ahead: each read whose post is live and published,
/// with the browser's meter (whether the post's time has come is each
/// job's question, asked with its request's clock: see [`found_at`]).
pub type Sheet = HashMap<Asked, Found>;

/// The read found ahead, if its post is visible at `now`: what
/// [`super::post_and_meter`] would have answered.
pub fn found_at(found: Option<Found>, now: i64) -> Option<Found> {
    found.filter(|found| found.post.published_at <= now)
}

/// PostgreSQL's read-ahead: per key, the post by its id or its slug
/// (`post_named_pg`), then the browser's month of opens
/// and its row of marks by their primary keys. Every table is read per key
/// whatever the statistics say, as the members' read-ahead does (see
/// `unlocks::read_ahead`): the plan is made once per connection, often on
/// a young database, and `OFFSET 0` keeps each subquery from being
/// flattened into a join. Keys go in as arrays, so the text is the same
/// for any number of them.
const READ_AHEAD: &str = concat!(
    "
    SELECT q.reader, q.month, q.post_id AS asked_id, q.slug AS asked_slug,
           p.*, m.used, m.unlocked, r.read_day
    FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[])
         AS q(reader, month, post_id, slug)
    CROSS JOIN LATERAL ",
    post_named_pg!(),
    " p
    CROSS JOIN LATERAL (
        SELECT COUNT(*) AS used, COALESCE(bool_or(u.post_id = p.id), false) AS unlocked
        FROM anonymous_unlocks u
        WHERE u.reader = q.reader AND u.month = q.month
    ) m
    CROSS JOIN LATERAL (
        SELECT MAX(r.read_day) AS read_day FROM anonymous_readers r
        WHERE r.reader = q.reader AND r.month = q.month
    ) r"
);

/// SQLite's read-ahead: the keys as one JSON array of `[reader, month,
/// post_id, slug]` (one of the last two null), so the text is the same
/// for every chunk and each connection prepares it once; a row names its
/// key by its place in the array. The post is found by its primary key,
/// or by the live posts' unique index on its slug; the browser's opens
/// and marks by their primary keys. The parameter goes between this and
/// `READ_AHEAD_SQLITE_TAIL`.
const READ_AHEAD_SQLITE: &str = concat!(
    "
    SELECT q.key AS asked, ",
    post_columns!(),
    ",
           (SELECT COUNT(*) FROM anonymous_unlocks u
            WHERE u.reader = q.reader AND u.month = q.month) AS used,
           EXISTS (SELECT 1 FROM anonymous_unlocks u
                   WHERE u.reader = q.reader AND u.month = q.month
                     AND u.post_id = p.id) AS unlocked,
           (SELECT r.read_day FROM anonymous_readers r
            WHERE r.reader = q.reader AND r.month = q.month) AS read_day
    FROM (SELECT key, value ->> 0 AS reader, value ->> 1 AS month,
                 value ->> 2 AS post_id, value ->> 3 AS slug
          FROM json_each("
);

/// The rest of `READ_AHEAD_SQLITE`, after its parameter.
const READ_AHEAD_SQLITE_TAIL: &str = concat!(")) q JOIN ", post_named_sqlite!());

/// The columns both read-aheads return after their key.
#[derive(QueryableByName)]
struct Columns {
    #[diesel(embed)]
    post: PostRow,
    #[diesel(sql_type = BigInt)]
    used: i64,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    unlocked: bool,
    #[diesel(sql_type = Nullable<Integer>)]
    read_day: Option<i32>,
}

impl Columns {
    fn found(self) -> Found {
        Found {
            post: self.post,
            used: u32::try_from(self.used).unwrap_or(u32::MAX),
            unlocked: self.unlocked,
            read_day: self.read_day,
        }
    }
}

/// A row of `READ_AHEAD`.
#[derive(QueryableByName)]
pub struct AheadRow {
    #[diesel(sql_type = Text)]
    reader: String,
    #[diesel(sql_type = Integer)]
    month: i32,
    #[diesel(sql_type = Nullable<BigInt>)]
    asked_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    asked_slug: Option<String>,
    #[diesel(embed)]
    found: Columns,
}

/// A row of `READ_AHEAD_SQLITE`.
#[derive(QueryableByName)]
struct SqliteAheadRow {
    /// The key's place in the array of keys.
    #[diesel(sql_type = BigInt)]
    asked: i64,
    #[diesel(embed)]
    found: Columns,
}

/// What a read-ahead found, as the chunk's jobs look it up; `None` when it
/// failed, which each job then meets (and reports) itself.
pub fn sheet(rows: QueryResult<Vec<AheadRow>>) -> Option<Sheet> {
    let rows = rows.ok()?;
    let mut sheet = Sheet::with_capacity(rows.len());
    for row in rows {
        let post = match (row.asked_id, row.asked_slug) {
            (Some(id), _) => PostRef::Id(id),
            (None, Some(slug)) => PostRef::Slug(slug.into()),
            (None, None) => continue,
        };
        let asked = Asked {
            reader: row.reader,
            month: Month::from_index(row.month),
            post,
        };
        sheet.insert(asked, row.found.found());
    }
    Some(sheet)
}

/// PostgreSQL's read-ahead of `keys` (`READ_AHEAD`), as a future on the
/// connection's driver, so that it shares a round trip with the chunk's
/// other read-aheads (see `crate::db::engine::pg::PgConn::pipelined`).
pub async fn read_pg(
    mut conn: &diesel_async::AsyncPgConnection,
    keys: &[Asked],
) -> QueryResult<Vec<AheadRow>> {
    let read = ReadAhead {
        readers: keys.iter().map(|k| k.reader.as_str()).collect(),
        months: keys.iter().map(|k| k.month.index()).collect(),
        post_ids: keys
            .iter()
            .map(|k| match &k.post {
                PostRef::Id(id) => Some(*id),
                PostRef::Slug(_) => None,
            })
            .collect(),
        slugs: keys
            .iter()
            .map(|k| match &k.post {
                PostRef::Id(_) => None,
                PostRef::Slug(slug) => Some(&**slug),
            })
            .collect(),
    };
    diesel_async::RunQueryDsl::load(read, &mut conn).await
}

/// SQLite's read-ahead of `keys` (`READ_AHEAD_SQLITE`), as a sheet.
pub fn read_sqlite(c: &mut SqliteConnection, keys: &[Asked]) -> QueryResult<Sheet> {
    type Key<'a> = (&'a str, i32, Option<i64>, Option<&'a str>);
    let json: Vec<Key<'_>> = keys
        .iter()
        .map(|k| match &k.post {
            PostRef::Id(id) => (k.reader.as_str(), k.month.index(), Some(*id), None),
            PostRef::Slug(slug) => (k.reader.as_str(), k.month.index(), None, Some(&**slug)),
        })
        .collect();
    let json = serde_json::to_string(&json)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let rows: Vec<SqliteAheadRow> = ReadAheadSqlite { keys: json }.load(c)?;
    let mut sheet = Sheet::with_capacity(rows.len());
    for row in rows {
        // json_each's key: the row's place in `keys`.
        if let Some(asked) = usize::try_from(row.asked).ok().and_then(|i| keys.get(i)) {
            sheet.insert(asked.clone(), row.found.found());
        }
    }
    Ok(sheet)
}

/// `READ_AHEAD` with its parameters, prepared once per connection.
struct ReadAhead<'a> {
    readers: Vec<&'a str>,
    months: Vec<i32>,
    post_ids: Vec<Option<i64>>,
    slugs: Vec<Option<&'a str>>,
}

prepared!(ReadAhead<'_>, id = ReadAhead<'static>, rows = Untyped);

impl QueryFragment<Pg> for ReadAhead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(READ_AHEAD);
        out.push_bind_param_value_only::<Array<Text>, _>(&self.readers)?;
        out.push_bind_param_value_only::<Array<Integer>, _>(&self.months)?;
        out.push_bind_param_value_only::<Array<Nullable<BigInt>>, _>(&self.post_ids)?;
        out.push_bind_param_value_only::<Array<Nullable<Text>>, _>(&self.slugs)
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
