//! A chunk's metered reads, read in one statement before its jobs run (see
//! `crate::db::read_ahead`): each job is handed what was found for its
//! read, for [`super::answer_read_only`] to decide with.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment};
use diesel::sqlite::Sqlite;

use super::{Asked, MeterState, PostRef};
use crate::db::engine::statement::prepared;
use crate::db::rows::{post_columns, post_named_pg, post_named_sqlite, PostRow};

/// What the read-ahead found for one session's metered read (the columns
/// both read-aheads return after their key).
#[derive(Clone, QueryableByName)]
pub struct Metered {
    /// The session's user, as this statement saw it.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub user_id: i64,
    /// `None`: no live, published post has that id.
    #[diesel(embed)]
    pub post: Option<PostRow>,
    #[diesel(embed)]
    pub meter: MeterState,
}

/// What a chunk read ahead, by token hash, then what was asked (a token's
/// few reads in a chunk are searched in a list, so that a lookup by `&str`
/// allocates no key).
///
/// Hashed with foldhash, as the sessions' sheet is (see there why), and so
/// is [`to_read_ahead`]'s set of the reads asked for.
pub type Sheet = foldhash::HashMap<String, Vec<(Asked, Metered)>>;

/// The read half of [`OPEN`], for every session's metered read at once, in
/// one statement (the keys as four arrays, so its text is the same for
/// any number of them and it stays prepared). The user is found by the
/// session's token hash (expiry is the session check's business); a
/// session that is not there has no row. A post is asked for by its id or
/// by its slug (the other is NULL), so that a read by slug costs what a
/// read by id does.
const READ_AHEAD: &str = concat!(
    "
    SELECT q.token_hash, q.month, q.day, q.post_id AS asked_id, q.slug AS asked_slug, s.user_id,
           p.*, m.used_before, m.was_unlocked, n.noticed, r.read_today, h.refusal_counted
    FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::int[])
         AS q(token_hash, month, post_id, slug, day)
    -- Every table is read per key, by index, whatever the statistics say:
    -- the plan is made once per connection (force_generic_plan), often on
    -- a young database whose tiny tables make hash joins and a hashed
    -- EXISTS look cheaper, and building their hash tables on every call
    -- was a third of PostgreSQL's CPU for this statement (docs/performance.md).
    -- OFFSET 0 keeps each subquery from being flattened into a join.
    CROSS JOIN LATERAL (
        SELECT s.user_id FROM sessions s WHERE s.token_hash = q.token_hash OFFSET 0
    ) s
    -- The post if it is live and published, by its id or its slug.
    LEFT JOIN LATERAL ",
    post_named_pg!(),
    " p ON true
    -- The month's unlocks (at most FREE_READS rows) read once.
    CROSS JOIN LATERAL (
        SELECT COUNT(*) AS used_before,
               COALESCE(bool_or(u.post_id = p.id), false) AS was_unlocked
        FROM unlocks u
        WHERE u.user_id = s.user_id AND u.month = q.month
    ) m
    CROSS JOIN LATERAL (
        SELECT COUNT(*) > 0 AS noticed FROM paywall_notices n
        WHERE n.user_id = s.user_id AND n.month = q.month
    ) n
    -- What insights hold of today already (a reader counted; this post as
    -- the user's latest refusal today), so that a re-read writes nothing.
    CROSS JOIN LATERAL (
        SELECT COUNT(*) > 0 AS read_today FROM post_readers r
        WHERE r.post_id = p.id AND r.day = q.day AND r.user_id = s.user_id
    ) r
    CROSS JOIN LATERAL (
        SELECT COALESCE(bool_or(h.post_id = p.id AND h.day = q.day), false) AS refusal_counted
        FROM (SELECT h.post_id, h.day FROM paywall_hits h WHERE h.user_id = s.user_id
              ORDER BY h.at DESC, h.post_id DESC LIMIT 1) h
    ) h"
);

/// SQLite's read-ahead: what `READ_AHEAD` reads, with the keys as one JSON
/// array of `[token_hash, month, day, post_id, slug]` (one of the last two
/// null), so that the text is the same for any number of them and each
/// connection prepares it once. A row names its key by its place in the
/// array, not by echoing it: the key is at hand already, and its token
/// hash and slug need not be read back and copied again. Each statement
/// on SQLite is a read transaction of its own, whose file locks (two
/// `fcntl` calls) and Diesel's rendering of the query cost more than its
/// lookups: read one by one, a re-read's meter is a fifth of its CPU.
/// SQLite's planner walks the indexes per key (`EXPLAIN QUERY PLAN`: the
/// session by its unique token hash, the post by its primary key, a slug
/// by the live posts' unique index, each count by its table's key, the
/// latest refusal by `paywall_hits_latest`). The parameter goes between this and
/// `READ_AHEAD_SQLITE_TAIL`.
const READ_AHEAD_SQLITE: &str = concat!(
    "
    SELECT q.key AS asked, s.user_id, ",
    post_columns!(),
    ",
           (SELECT COUNT(*) FROM unlocks u
            WHERE u.user_id = s.user_id AND u.month = q.month) AS used_before,
           EXISTS (SELECT 1 FROM unlocks u
                   WHERE u.user_id = s.user_id AND u.month = q.month
                     AND u.post_id = p.id) AS was_unlocked,
           EXISTS (SELECT 1 FROM paywall_notices n
                   WHERE n.user_id = s.user_id AND n.month = q.month) AS noticed,
           EXISTS (SELECT 1 FROM post_readers r
                   WHERE r.post_id = p.id AND r.user_id = s.user_id
                     AND r.day = q.day) AS read_today,
           COALESCE((SELECT h.post_id = p.id AND h.day = q.day FROM paywall_hits h
                     WHERE h.user_id = s.user_id
                     ORDER BY h.at DESC, h.post_id DESC LIMIT 1), 0) AS refusal_counted
    FROM (SELECT key, value ->> 0 AS token_hash, value ->> 1 AS month, value ->> 2 AS day,
                 value ->> 3 AS post_id, value ->> 4 AS slug
          FROM json_each("
);

/// The rest of `READ_AHEAD_SQLITE`, after its parameter. A post asked for
/// by slug is found by the live posts' unique index, then read as one
/// asked for by id.
const READ_AHEAD_SQLITE_TAIL: &str = concat!(
    ")) q
    JOIN sessions s ON s.token_hash = q.token_hash
    LEFT JOIN ",
    post_named_sqlite!()
);

/// The metered reads a chunk reads ahead, each once, by token hash;
/// `None` when there are none.
pub fn to_read_ahead<'a>(keys: &[(&'a str, &'a Asked)]) -> Option<Vec<(&'a str, &'a Asked)>> {
    if keys.is_empty() {
        return None;
    }
    // One reader's requests often share a key: each is asked for once.
    let mut seen = foldhash::HashSet::with_capacity_and_hasher(keys.len(), Default::default());
    Some(keys.iter().copied().filter(|k| seen.insert(*k)).collect())
}

/// The read-ahead of `keys` (`READ_AHEAD`), as a future on the
/// connection's driver, so that it shares a round trip with the chunk's
/// session read-ahead (see `crate::db::engine::pg::PgConn::pipelined`).
pub async fn read_pg(
    mut conn: &diesel_async::AsyncPgConnection,
    keys: &[(&str, &Asked)],
) -> QueryResult<Vec<ReadAheadRow>> {
    let read = ReadAhead {
        token_hashes: keys.iter().map(|(hash, _)| *hash).collect(),
        months: keys.iter().map(|(_, k)| k.month.index()).collect(),
        days: keys.iter().map(|(_, k)| k.day).collect(),
        post_ids: keys
            .iter()
            .map(|(_, k)| match &k.post {
                PostRef::Id(id) => Some(*id),
                PostRef::Slug(_) => None,
            })
            .collect(),
        slugs: keys
            .iter()
            .map(|(_, k)| match &k.post {
                PostRef::Id(_) => None,
                PostRef::Slug(slug) => Some(&**slug),
            })
            .collect(),
    };
    diesel_async::RunQueryDsl::load(read, &mut conn).await
}

/// SQLite's read-ahead of `keys` (`READ_AHEAD_SQLITE`), as the chunk's
/// jobs look it up.
pub fn read_sqlite(c: &mut SqliteConnection, keys: &[(&str, &Asked)]) -> QueryResult<Sheet> {
    type Key<'a> = (&'a str, i32, i32, Option<i64>, Option<&'a str>);
    let json: Vec<Key<'_>> = keys
        .iter()
        .map(|(hash, asked)| match &asked.post {
            PostRef::Id(id) => (*hash, asked.month.index(), asked.day, Some(*id), None),
            PostRef::Slug(slug) => (*hash, asked.month.index(), asked.day, None, Some(&**slug)),
        })
        .collect();
    let json = serde_json::to_string(&json)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    let rows: Vec<SqliteAheadRow> = ReadAheadSqlite { keys: json }.load(c)?;
    let mut found = Sheet::default();
    for row in rows {
        // json_each's key: the row's place in `keys`.
        let Some((hash, asked)) = usize::try_from(row.asked).ok().and_then(|i| keys.get(i)) else {
            continue;
        };
        found
            .entry((*hash).to_owned())
            .or_default()
            .push(((*asked).clone(), row.found));
    }
    Ok(found)
}

/// What a read-ahead found, as the chunk's jobs look it up; `None` when it
/// failed, which each job then meets (and reports) itself.
pub fn sheet(rows: QueryResult<Vec<ReadAheadRow>>) -> Option<Sheet> {
    let rows = rows.ok()?;
    let mut found = Sheet::default();
    for row in rows {
        let post = match (row.asked_id, row.asked_slug) {
            (Some(id), _) => PostRef::Id(id),
            (None, Some(slug)) => PostRef::Slug(slug.into()),
            (None, None) => continue,
        };
        let asked = Asked {
            month: crate::domain::Month::from_index(row.month),
            day: row.day,
            post,
        };
        found
            .entry(row.token_hash)
            .or_default()
            .push((asked, row.found));
    }
    Some(found)
}

/// What `sheet` holds for `token_hash`'s read of `asked`, if anything.
pub fn find(sheet: &Sheet, token_hash: &str, asked: &Asked) -> Option<Metered> {
    sheet
        .get(token_hash)?
        .iter()
        .find(|(found, _)| found == asked)
        .map(|(_, metered)| metered.clone())
}

/// `READ_AHEAD` with its parameters, prepared once per connection.
struct ReadAhead<'a> {
    token_hashes: Vec<&'a str>,
    months: Vec<i32>,
    days: Vec<i32>,
    post_ids: Vec<Option<i64>>,
    slugs: Vec<Option<&'a str>>,
}

prepared!(ReadAhead<'_>, id = ReadAhead<'static>, rows = diesel::sql_types::Untyped);

impl QueryFragment<Pg> for ReadAhead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};
        out.push_sql(READ_AHEAD);
        out.push_bind_param_value_only::<Array<Text>, _>(&self.token_hashes)?;
        out.push_bind_param_value_only::<Array<Integer>, _>(&self.months)?;
        out.push_bind_param_value_only::<Array<Nullable<BigInt>>, _>(&self.post_ids)?;
        out.push_bind_param_value_only::<Array<Nullable<Text>>, _>(&self.slugs)?;
        out.push_bind_param_value_only::<Array<Integer>, _>(&self.days)
    }
}

/// `READ_AHEAD_SQLITE` with its parameter, prepared once per connection.
struct ReadAheadSqlite {
    keys: String,
}

prepared!(
    ReadAheadSqlite,
    id = ReadAheadSqlite,
    rows = diesel::sql_types::Untyped
);

impl QueryFragment<Sqlite> for ReadAheadSqlite {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        out.push_sql(READ_AHEAD_SQLITE);
        out.push_bind_param::<diesel::sql_types::Text, _>(&self.keys)?;
        out.push_sql(READ_AHEAD_SQLITE_TAIL);
        Ok(())
    }
}

/// A row of `READ_AHEAD_SQLITE`.
#[derive(QueryableByName)]
struct SqliteAheadRow {
    /// The key's place in the array of keys.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    asked: i64,
    #[diesel(embed)]
    found: Metered,
}

/// A row of `READ_AHEAD`.
#[derive(QueryableByName)]
pub struct ReadAheadRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    token_hash: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    month: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    day: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    asked_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    asked_slug: Option<String>,
    #[diesel(embed)]
    found: Metered,
}
