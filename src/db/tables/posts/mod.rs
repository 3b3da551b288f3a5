//! Queries on `posts`.
//!
//! A post is never removed: unlocks spent on it stay spent, so a deleted
//! one keeps its row with `deleted_at` set (and its slug becomes free).
//! Readers see a post when it is *live* (not deleted), `published`, and its
//! `published_at` has come: that last part is asked at read time, with the
//! app's clock, so a scheduled post appears by itself on every instance.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::schema::{newsletters, posts, users};
use super::{Conn, DbConnection};
use crate::db::engine::WrittenLimit;
use crate::domain::post::demo::DEMO_POSTS;
use crate::domain::post::reader_json::Fields;
use crate::domain::post::{derive_excerpt, render, Access, Slug};

mod readers;

pub use crate::db::rows::{Draft, PostRow, Published};
pub use readers::{
    find_visible, find_visible_to, id_by_slug, page, page_of, page_pg, visible_content, NotYetDue,
    Page, Start, SummaryRow, Totals,
};

/// A post's content and times: what readers get of it besides its author.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct PostContent {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub body: String,
    /// NULL only before start-up has rendered the posts stored before
    /// rendering existed ([`render_pending`]), which it does before serving.
    #[diesel(select_expression = posts::html.assume_not_null())]
    #[diesel(select_expression_type = diesel::dsl::AssumeNotNull<posts::html>)]
    pub html: String,
    pub excerpt: String,
    pub access: String,
    pub published_at: i64,
    /// Microseconds.
    pub updated_at: i64,
}

impl PostContent {
    /// What readers get of it, as `domain::post::reader_json` writes it.
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            id: self.id,
            slug: &self.slug,
            title: &self.title,
            body: &self.body,
            html: &self.html,
            excerpt: &self.excerpt,
            access: &self.access,
            published_at: self.published_at,
            updated_at: self.updated_at,
        }
    }
}

/// Post `id`'s content as of `updated_at`, if it is still at that version
/// (`None` once it was saved again, or deleted).
pub fn find_content(conn: &mut Conn, id: i64, updated_at: i64) -> QueryResult<Option<PostContent>> {
    super::direct!(conn, |c| posts::table
        .filter(posts::id.eq(id))
        .filter(posts::updated_at.eq(updated_at))
        .filter(posts::deleted_at.is_null())
        .select(PostContent::as_select())
        .get_result(c)
        .optional())
}

/// Renders the posts stored before rendering existed (their `html` is
/// NULL): their html and excerpt from the body, their slug from the title
/// (the migration that added slugs gave them `post-<id>` to start with).
/// Runs at start-up, after the migrations and before serving; a database
/// with nothing to render costs one indexed read.
pub fn render_pending(conn: &mut Conn) -> QueryResult<()> {
    super::write_transaction(conn, |conn| {
        let pending: Vec<(i64, String, String, String)> = posts::table
            .filter(posts::html.is_null())
            .select((posts::id, posts::title, posts::body, posts::access))
            .order(posts::id)
            .load(conn)?;
        for (id, title, body, access) in pending {
            let slug = free_slug(conn, &Slug::from_text(&title))?;
            let access = Access::parse(&access).unwrap_or_default();
            diesel::update(posts::table.find(id))
                .set((
                    posts::slug.eq(slug.as_str()),
                    posts::html.eq(render(&body)),
                    posts::excerpt.eq(derive_excerpt(&body, access)),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

/// Derives again the excerpts of the posts a migration marked
/// (`excerpt_pending`: metered or premium, their excerpt derived by a rule
/// that could show the whole of a short post), a few hundred to a write
/// transaction. Runs at start-up, after the migrations and before serving;
/// with none marked it costs one read.
pub fn derive_pending_excerpts(conn: &mut Conn) -> QueryResult<()> {
    loop {
        let done = super::write_transaction(conn, |conn| {
            let pending: Vec<(i64, String, String, bool)> = posts::table
                .filter(posts::excerpt_pending)
                .select((posts::id, posts::body, posts::access, posts::excerpt_given))
                .order(posts::id)
                .limit_written(500)
                .load(conn)?;
            for (id, body, access, given) in &pending {
                let access = Access::parse(access).unwrap_or_default();
                let derived = (!given).then(|| derive_excerpt(body, access));
                let target = diesel::update(posts::table.find(id));
                match derived {
                    Some(excerpt) => target
                        .set((posts::excerpt.eq(excerpt), posts::excerpt_pending.eq(false)))
                        .execute(conn)?,
                    // Given by its author since it was marked: kept.
                    None => target.set(posts::excerpt_pending.eq(false)).execute(conn)?,
                };
            }
            Ok::<_, diesel::result::Error>(pending.len() < 500)
        })?;
        if done {
            return Ok(());
        }
    }
}

/// `wanted`, or the first of `wanted-2`, `wanted-3`, … that no live post
/// has. Inside a write transaction (SQLite's is the database's one write
/// lock; on PostgreSQL the unique index is the arbiter, and the caller
/// tries again when it loses a race).
///
/// The candidates are asked for by name, a batch at a time, rather than by
/// a `wanted-%` pattern: a slug at the 80-character limit is numbered on a
/// shortened base (`post-000…` becomes `post-2`), which such a pattern would
/// miss and another post may already hold.
pub fn free_slug(conn: &mut Conn, wanted: &Slug) -> QueryResult<Slug> {
    const BATCH: u32 = 32;
    let mut first: u32 = 1;
    loop {
        let candidates: Vec<Slug> = (first..first.saturating_add(BATCH))
            .map(|n| {
                if n == 1 {
                    wanted.clone()
                } else {
                    wanted.numbered(n)
                }
            })
            .collect();
        let taken: Vec<String> = posts::table
            .filter(posts::deleted_at.is_null())
            .filter(posts::slug.eq_any(candidates.iter().map(Slug::as_str)))
            .select(posts::slug)
            .load(conn)?;
        if let Some(free) = candidates
            .into_iter()
            .find(|slug| !taken.iter().any(|s| s == slug.as_str()))
        {
            return Ok(free);
        }
        first = first.saturating_add(BATCH);
    }
}

/// How many published posts PostgreSQL's statistics of `posts` may fall
/// behind before [`keep_statistics`] refreshes them: twice as many as they
/// counted, and this many more.
pub const STATISTICS_SLACK: i64 = 1_000;

/// On PostgreSQL, `ANALYZE posts` when the published posts (`post_totals`,
/// kept by triggers) number more than twice what its statistics last
/// counted, plus [`STATISTICS_SLACK`]; whether it did. Every connection
/// keeps each statement's generic plan (`force_generic_plan`) until a table
/// it reads is analyzed, and a plan made while the posts were few can walk
/// all of them once they are many: a metered re-read went from 25,000 to
/// 340 a second when 100,000 posts were added with autovacuum off, and
/// back after `ANALYZE` (`bench/stale_plans.sh`,
/// `bench/results/2026-11-28-stale-plans.md`). Autovacuum analyzes a table
/// long before it doubles, so where it runs this finds nothing to do. SQLite
/// keeps no plan across statistics this way: nothing to do there.
pub fn keep_statistics(conn: &mut Conn) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Due {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        due: bool,
    }
    let DbConnection::Postgres(pg) = conn else {
        return Ok(false);
    };
    let due = diesel::sql_query(
        "SELECT t.published > 2 * GREATEST(c.reltuples, 0)::bigint + $1 AS due
         FROM post_totals t, pg_class c
         WHERE t.id = 1 AND c.oid = 'posts'::regclass",
    )
    .bind::<diesel::sql_types::BigInt, _>(STATISTICS_SLACK)
    .get_result::<Due>(pg)
    .optional()?
    .is_some_and(|row| row.due);
    if due {
        analyze(conn)?;
    }
    Ok(due)
}

/// On PostgreSQL, `ANALYZE posts`: fresh statistics, and every
/// connection's plans that read posts made again (see [`keep_statistics`]).
pub fn analyze(conn: &mut Conn) -> QueryResult<()> {
    match conn {
        DbConnection::Postgres(pg) => pg.batch_execute("ANALYZE posts"),
        DbConnection::Sqlite(_) => Ok(()),
    }
}

/// Inserts the demo posts with ids 1–12 when the table is empty: published,
/// metered, by nobody, with slugs from their titles.
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
            let slug = free_slug(conn, &Slug::from_text(post.title))?;
            diesel::insert_into(posts::table)
                .values((
                    posts::id.eq(index as i64 + 1),
                    posts::slug.eq(slug.as_str()),
                    posts::title.eq(post.title),
                    posts::body.eq(post.body),
                    posts::html.eq(render(post.body)),
                    posts::excerpt.eq(derive_excerpt(post.body, Access::Metered)),
                    posts::published_at.eq(published_at),
                    posts::created_at.eq(published_at),
                    posts::updated_at.eq(published_at * 1_000_000),
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

/// A post as its author or an admin edits it (`EditablePost`), wherever it
/// stands: what readers get of it, and what only its editors see.
/// Deleted posts are not found.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct EditableRow {
    #[diesel(embed)]
    pub post: PostContent,
    #[diesel(select_expression = users::username.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<users::username>)]
    pub author: Option<String>,
    pub excerpt_given: bool,
    pub status: String,
    pub created_at: i64,
    pub author_id: Option<i64>,
    /// Its newsletter's progress, when it was asked to be emailed
    /// (`crate::db::newsletters`).
    #[diesel(select_expression = newsletters::status.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<newsletters::status>)]
    pub email_status: Option<String>,
    #[diesel(select_expression = newsletters::recipients.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<newsletters::recipients>)]
    pub email_recipients: Option<i64>,
    #[diesel(select_expression = newsletters::sent.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<newsletters::sent>)]
    pub email_sent: Option<i64>,
}

/// The live post with this id, as its editors see it.
pub fn find_editable(conn: &mut Conn, id: i64) -> QueryResult<Option<EditableRow>> {
    super::direct!(conn, |c| posts::table
        .left_join(users::table)
        .left_join(newsletters::table)
        .filter(posts::id.eq(id))
        .filter(posts::deleted_at.is_null())
        .select(EditableRow::as_select())
        .get_result(c)
        .optional())
}

/// Which of an editor's posts `GET /posts` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Draft,
    /// Published, its time still to come.
    Scheduled,
    /// Published, and readers see it.
    Published,
}

/// One page of the live posts by `author` (every author's: `None`) at
/// `stage` (any: `None`) at `now`, most recently updated first, and how
/// many there are.
pub fn page_for_editor(
    conn: &mut Conn,
    author: Option<i64>,
    stage: Option<Stage>,
    now: i64,
    (page, per_page): (i64, i64),
) -> QueryResult<(Vec<EditableRow>, i64)> {
    // The same filter for the count and the page, built per backend (a
    // boxed query is typed by its backend).
    macro_rules! filtered {
        () => {{
            let mut query = posts::table
                .left_join(users::table)
                .left_join(newsletters::table)
                .filter(posts::deleted_at.is_null())
                .into_boxed();
            if let Some(author) = author {
                query = query.filter(posts::author_id.eq(author));
            }
            match stage {
                None => query,
                Some(Stage::Draft) => query.filter(posts::status.eq(Draft)),
                Some(Stage::Scheduled) => query
                    .filter(posts::status.eq(Published))
                    .filter(posts::published_at.gt(now)),
                Some(Stage::Published) => query
                    .filter(posts::status.eq(Published))
                    .filter(posts::published_at.le(now)),
            }
        }};
    }
    let (total, rows) = super::direct!(conn, |c| (
        filtered!().count().get_result(c)?,
        filtered!()
            .order((posts::updated_at.desc(), posts::id.desc()))
            .select(EditableRow::as_select())
            .limit_written(per_page)
            .offset((page - 1).saturating_mul(per_page))
            .load(c)?,
    ));
    Ok((rows, total))
}

/// What a save writes: every field an editor can change, already checked,
/// with the html rendered and the excerpt derived where none was given.
/// A creation inserts these columns and an edit sets them.
#[derive(Clone, Copy, Insertable, AsChangeset)]
#[diesel(table_name = posts)]
pub struct Content<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub html: &'a str,
    pub excerpt: &'a str,
    pub excerpt_given: bool,
    pub access: &'a str,
}

/// Everything stored of a post but its slug and its times: its content,
/// its author (none: `None`), and published from `published_at` (seconds)
/// or, when that is `None`, a draft.
#[derive(Clone, Copy)]
pub struct Whole<'a> {
    pub content: Content<'a>,
    pub author_id: Option<i64>,
    pub published_at: Option<i64>,
}

/// A save that could not be made.
#[derive(Debug)]
pub enum Refused {
    /// The slug given is another live post's.
    SlugTaken,
    /// The post was saved by someone else (or deleted) since the version
    /// the editor started from.
    Conflict,
}

/// Inserts a draft by `author_id` at `now_micros` and returns its id.
/// With `slug` given, `Err(SlugTaken)` when a live post has it; without,
/// one is made from `wanted` (`wanted-2`, … when taken): on SQLite inside
/// the write lock, on PostgreSQL with the unique index as the arbiter,
/// trying the next free one when a parallel creation took it first.
pub fn insert(
    conn: &mut Conn,
    content: &Content<'_>,
    slug: Result<&Slug, &Slug>,
    author_id: i64,
    now_micros: i64,
) -> Result<Result<(i64, Slug), Refused>, super::Error> {
    let draft = Whole {
        content: *content,
        author_id: Some(author_id),
        published_at: None,
    };
    for _ in 0..16 {
        let result = super::write_transaction(conn, |conn| {
            let slug = match slug {
                Ok(given) => given.clone(),
                Err(wanted) => free_slug(conn, wanted)?,
            };
            let id = insert_row(conn, &draft, &slug, now_micros)?;
            Ok::<_, diesel::result::Error>((id, slug))
        });
        match result {
            Ok(saved) => return Ok(Ok(saved)),
            Err(e) if super::is_unique_violation(&e) => {
                if slug.is_ok() {
                    return Ok(Err(Refused::SlugTaken));
                }
                // A parallel creation took the slug between our look and
                // our insert (PostgreSQL): look again.
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(super::Error::Unavailable)
}

/// Inserts `post` with `slug` at `now_micros`. Its id.
fn insert_row(conn: &mut Conn, post: &Whole<'_>, slug: &Slug, now_micros: i64) -> QueryResult<i64> {
    let now = now_micros.div_euclid(1_000_000);
    diesel::insert_into(posts::table)
        .values((
            post.content,
            posts::slug.eq(slug.as_str()),
            posts::status.eq(status_of(post.published_at)),
            posts::author_id.eq(post.author_id),
            // A draft's `published_at` means nothing until it is published.
            posts::published_at.eq(post.published_at.unwrap_or(now)),
            posts::created_at.eq(now),
            posts::updated_at.eq(now_micros),
        ))
        .returning(posts::id)
        .get_result(conn)
}

/// The `status` of a post published from `published_at`, or of a draft.
fn status_of(published_at: Option<i64>) -> &'static str {
    match published_at {
        Some(_) => "published",
        None => "draft",
    }
}

/// What a save of an existing post changes, besides `updated_at`.
#[derive(Clone, Copy)]
pub enum Change<'a> {
    /// The editable fields (a `PATCH`), and the slug when one was sent.
    Content(Content<'a>, Option<&'a Slug>),
    /// Published from `at` (seconds): now, back-dated or scheduled; and
    /// with `email`, emailed to the newsletter's subscribers when readers
    /// can see it (once ever: `db::newsletters::ask`).
    Publish { at: i64, email: bool },
    /// A draft again.
    Unpublish,
    /// Everything an imported file says of a post. The slug stays: it is
    /// how the file found the post.
    Replace(Whole<'a>),
}

/// Saves `change` to the live post `id` if it was last saved at
/// `expected` (microseconds), moving `updated_at` forward to `now_micros`
/// (or one microsecond past the last save, should the clock not have
/// moved): a compare-and-set, so that of two editors who started from the
/// same version only one saves (the other gets `Refused::Conflict`, see
/// [`saved`]). In the caller's transaction: the number of rows it changed
/// (0 or 1). What a save starts or stops besides (a newsletter) is
/// `publishing`'s.
pub fn update(
    conn: &mut Conn,
    id: i64,
    expected: i64,
    now_micros: i64,
    change: &Change<'_>,
) -> QueryResult<usize> {
    let updated_at = now_micros.max(expected.saturating_add(1));
    let target = posts::table
        .filter(posts::id.eq(id))
        .filter(posts::deleted_at.is_null())
        .filter(posts::updated_at.eq(expected));
    match change {
        Change::Content(content, slug) => diesel::update(target)
            .set((
                content,
                // The slug changes only when one is sent.
                slug.map(|slug| posts::slug.eq(slug.as_str())),
                posts::updated_at.eq(updated_at),
            ))
            .execute(conn),
        Change::Publish { at, .. } => diesel::update(target)
            .set((
                posts::status.eq("published"),
                posts::published_at.eq(at),
                posts::updated_at.eq(updated_at),
            ))
            .execute(conn),
        Change::Unpublish => diesel::update(target)
            .set((posts::status.eq("draft"), posts::updated_at.eq(updated_at)))
            .execute(conn),
        Change::Replace(post) => diesel::update(target)
            .set((
                post.content,
                posts::author_id.eq(post.author_id),
                posts::status.eq(status_of(post.published_at)),
                // A draft keeps the time it had, as an unpublished one does.
                post.published_at.map(|at| posts::published_at.eq(at)),
                posts::updated_at.eq(updated_at),
            ))
            .execute(conn),
    }
}

/// What a compare-and-set `UPDATE` that changed `result` rows means.
pub fn saved(result: QueryResult<usize>) -> Result<Result<(), Refused>, super::Error> {
    match result {
        Ok(1) => Ok(Ok(())),
        Ok(_) => Ok(Err(Refused::Conflict)),
        Err(e) if super::is_unique_violation(&e) => Ok(Err(Refused::SlugTaken)),
        Err(e) => Err(e.into()),
    }
}

/// What [`import`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// A new post, with this id.
    Created(i64),
    /// The live post with the slug, with this id.
    Updated(i64),
}

/// Stores `post` as read from a file, found by `slug`: the live post that
/// has it gets everything the file says ([`Change::Replace`]) in a save
/// like an editor's, a compare-and-set that moves `updated_at` forward, so
/// that an editor still holding the older version gets `409
/// edit_conflict`; with none (a deleted post's slug is free, as the
/// partial unique index `posts_slug` says), a new post is inserted with
/// it.
///
/// Runs in the caller's [`super::write_transaction`] and opens none of its
/// own, so that what the caller read for it (the author) and this write
/// commit together or not at all.
/// On PostgreSQL another writer can come between the look and the write: a
/// post created with the slug meanwhile makes the insert
/// `Refused::SlugTaken` (and leaves the transaction failed), an editor's
/// save makes the update `Refused::Conflict` (nothing changed). Either
/// way the caller rolls the transaction back. On SQLite the caller's
/// transaction holds the write lock from its start, so neither happens.
pub fn import(
    conn: &mut Conn,
    post: &Whole<'_>,
    slug: &Slug,
    now_micros: i64,
) -> Result<Result<Imported, Refused>, super::Error> {
    let live: Option<(i64, i64)> = posts::table
        .filter(posts::slug.eq(slug.as_str()))
        .filter(posts::deleted_at.is_null())
        .select((posts::id, posts::updated_at))
        .get_result(conn)
        .optional()?;
    let Some((id, expected)) = live else {
        return match insert_row(conn, post, slug, now_micros) {
            Ok(id) => Ok(Ok(Imported::Created(id))),
            Err(e) if super::is_unique_violation(&e) => Ok(Err(Refused::SlugTaken)),
            Err(e) => Err(e.into()),
        };
    };
    let result = update(conn, id, expected, now_micros, &Change::Replace(*post));
    Ok(saved(result)?.map(|()| Imported::Updated(id)))
}

/// Deletes post `id` at `at`, in the caller's transaction: gone for
/// readers and editors, its slug free for another post; the row stays, so
/// reads spent on it stay spent. Whatever was saved meanwhile, deleting is
/// what was asked.
pub fn delete(conn: &mut Conn, id: i64, at: i64) -> QueryResult<()> {
    diesel::update(
        posts::table
            .filter(posts::id.eq(id))
            .filter(posts::deleted_at.is_null()),
    )
    .set(posts::deleted_at.eq(at))
    .execute(conn)
    .map(|_| ())
}
