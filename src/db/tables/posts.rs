//! Queries on `posts`.

use diesel::prelude::*;

use super::demo_posts::DEMO_POSTS;
use diesel::connection::SimpleConnection;

use super::schema::posts;
use super::{Conn, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct PostRow {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub published_at: i64,
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<PostRow>> {
    super::direct!(conn, |c| posts::table
        .find(id)
        .select(PostRow::as_select())
        .get_result(c) // no LIMIT: see the note in db/engine/mod.rs
        .optional())
}

/// One page of posts, newest first, and the total count.
pub fn page(conn: &mut Conn, page: i64, per_page: i64) -> QueryResult<(Vec<PostRow>, i64)> {
    let total = super::direct!(conn, |c| posts::table.count().get_result(c))?;
    let rows = super::direct!(conn, |c| posts::table
        .order((posts::published_at.desc(), posts::id.desc()))
        .limit(per_page)
        .offset((page - 1).saturating_mul(per_page))
        .select(PostRow::as_select())
        .load(c))?;
    Ok((rows, total))
}

/// Inserts the demo posts with ids 1–12 when the table is empty.
pub fn seed_if_empty(conn: &mut Conn) -> QueryResult<()> {
    super::write_transaction(conn, |conn| {
        if let DbConnection::Postgres(pg) = conn {
            // Instances starting together: one seeds, the others wait and
            // then find the posts there.
            pg.batch_execute("LOCK TABLE posts IN SHARE ROW EXCLUSIVE MODE")?;
        }
        let count: i64 = posts::table.count().get_result(conn)?;
        if count > 0 {
            return Ok(());
        }
        for (index, post) in DEMO_POSTS.iter().enumerate() {
            let published_at = chrono::DateTime::parse_from_rfc3339(post.published_at)
                .map(|t| t.timestamp())
                .unwrap_or_default();
            diesel::insert_into(posts::table)
                .values((
                    posts::id.eq(index as i64 + 1),
                    posts::title.eq(post.title),
                    posts::body.eq(post.body),
                    posts::published_at.eq(published_at),
                ))
                .execute(conn)?;
        }
        if let DbConnection::Postgres(pg) = conn {
            // Explicit ids do not advance the id sequence; move it past them.
            pg.batch_execute("SELECT setval('posts_id_seq', (SELECT MAX(id) FROM posts))")?;
        }
        Ok(())
    })
}
