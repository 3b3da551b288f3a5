//! What readers see of posts: a post by its id or slug, and `/blog`'s
//! pages with their `total`. Every query here repeats `visible_at!`'s
//! condition, the predicate of the partial index `posts_for_readers`: the
//! numbered page ([`PageByNumber`]) writes it out as text, and the page
//! after a cursor (`after_cursor!`) bounds `published_at` once, by the lower
//! of `now` and the cursor's.

use std::sync::{Mutex, PoisonError};

use diesel::prelude::*;

use super::super::schema::{post_readers, post_totals, posts, users};
use super::{Conn, PostContent};
use crate::db::engine::{Unique, WrittenLimit};
use crate::db::rows::{visible_at, PostRow, Published};
use crate::domain::insights::Day;
use crate::domain::post::Cursor;

/// A post as `GET /blog` lists it: no body, no html.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct SummaryRow {
    pub id: i64,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub access: String,
    pub published_at: i64,
    #[diesel(select_expression = users::username.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<users::username>)]
    pub author: Option<String>,
}

/// The post with this id, if readers may see it at `now`.
pub fn find_visible(conn: &mut Conn, id: i64, now: i64) -> QueryResult<Option<PostRow>> {
    super::super::direct!(conn, |c| posts::table
        .left_join(users::table)
        .filter(posts::id.eq(id))
        .filter(visible_at!(now))
        .select(PostRow::as_select())
        .unique(c))
}

/// [`find_visible`] for `user_id`, with whether insights counted them
/// among its readers on the day of `now` already (in the same statement,
/// so that a re-read stays one round trip and writes nothing).
pub fn find_visible_to(
    conn: &mut Conn,
    id: i64,
    user_id: i64,
    now: i64,
) -> QueryResult<Option<(PostRow, bool)>> {
    let read_today = post_readers::table
        .filter(post_readers::post_id.eq(posts::id))
        .filter(post_readers::day.eq(Day::of(now).0))
        .filter(post_readers::user_id.eq(user_id));
    super::super::direct!(conn, |c| posts::table
        .left_join(users::table)
        .filter(posts::id.eq(id))
        .filter(visible_at!(now))
        .select((PostRow::as_select(), diesel::dsl::exists(read_today)))
        .unique(c))
}

/// The content of the post with this id, if readers may see it at `now`
/// (what a newsletter sends of it).
pub fn visible_content(conn: &mut Conn, id: i64, now: i64) -> QueryResult<Option<PostContent>> {
    posts::table
        .filter(posts::id.eq(id))
        .filter(visible_at!(now))
        .select(PostContent::as_select())
        .unique(conn)
}

/// The id of the live post with this slug (visible to readers or not:
/// whether it is, is the caller's next question).
pub fn id_by_slug(conn: &mut Conn, slug: &str) -> QueryResult<Option<i64>> {
    super::super::direct!(conn, |c| posts::table
        .filter(posts::slug.eq(slug))
        .filter(posts::deleted_at.is_null())
        .select(posts::id)
        .get_result(c)
        .optional())
}

/// What [`page`] remembers of the published posts not yet due, so that
/// `total` costs one row's read however long the editorial queue is: their
/// count, for the `post_totals.changes` it was counted at and for the span
/// of time from the `now` it was counted at until the first of them is
/// due. Any change to a published post (on any instance: the triggers
/// count them in the database) or a `now` outside that span counts again.
#[derive(Default)]
pub struct NotYetDue(Mutex<Option<Counted>>);

#[derive(Clone, Copy)]
struct Counted {
    changes: i64,
    from: i64,
    /// When the first of them is due (`None`: there are none).
    until: Option<i64>,
    count: i64,
}

impl NotYetDue {
    fn get(&self, changes: i64, now: i64) -> Option<i64> {
        let counted = (*self.0.lock().unwrap_or_else(PoisonError::into_inner))?;
        let in_span = counted.from <= now && counted.until.is_none_or(|due| now < due);
        (counted.changes == changes && in_span).then_some(counted.count)
    }

    fn set(&self, counted: Counted) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(counted);
    }
}

/// Where a page of `/blog` starts: a page number, or the position after
/// the last post of the page before (a cursor).
#[derive(Debug, Clone, Copy)]
pub enum Start {
    Page(i64),
    After(Cursor),
}

/// One page of `/blog`.
pub struct Page {
    pub rows: Vec<SummaryRow>,
    /// How many posts readers may see.
    pub total: i64,
    /// The position after this page's last post, when more follow.
    pub next: Option<Cursor>,
}

/// What [`page`] reads of `post_totals`.
macro_rules! totals {
    () => {
        post_totals::table.select((post_totals::published, post_totals::changes))
    };
}

/// The rows of a page after a cursor, and one more: the readers' condition
/// with one upper bound on `published_at`, the lower of `now` and the
/// cursor's. Given two, SQLite walks the index from the one it picks
/// (`now`, the newest post) and filters the walk by the other, which made
/// a deep page cost every entry before it.
macro_rules! after_cursor {
    ($now:expr, $cursor:expr, $per_page:expr) => {{
        let (now, cursor, per_page): (i64, Cursor, i64) = ($now, $cursor, $per_page);
        posts::table
            .left_join(users::table)
            .filter(posts::status.eq(Published))
            .filter(posts::deleted_at.is_null())
            .filter(posts::published_at.le(now.min(cursor.published_at)))
            .filter(Before(cursor.published_at, cursor.id))
            .order((posts::published_at.desc(), posts::id.desc()))
            .select(SummaryRow::as_select())
            .limit_written(per_page + 1)
    }};
}

/// One page of the posts readers may see at `now`, newest first, how many
/// there are, and where the next page starts.
///
/// Neither part grows with the number of posts:
/// - `total` is the published posts' count that triggers keep in
///   `post_totals`, less the published posts whose time has not come yet,
///   which `not_yet` remembers until a post changes or the first of them
///   is due (counting them is a walk of the readers' index from `now` on,
///   as long as the editorial queue).
/// - A page after a cursor starts at its position in the readers' index
///   and reads its rows, wherever it is: page 1 and the thousandth cost
///   alike.
/// - A numbered page is found by its ids first, skipping `OFFSET` entries
///   of the readers' index alone (it holds `published_at` and the id, so
///   no row is read to be skipped), and only the page's rows are then read.
///   A deep page still walks the entries it skips, a few bytes each: page
///   numbers cannot jump into an index the way a cursor does.
///
/// One row more than the page is read, to know whether a next page exists.
pub fn page(
    conn: &mut Conn,
    now: i64,
    start: Start,
    per_page: i64,
    not_yet: &NotYetDue,
) -> QueryResult<Page> {
    let totals = super::super::direct!(conn, |c| totals!().get_result(c))?;
    let rows = match start {
        Start::Page(page) => {
            let page = PageByNumber::new(now, page, per_page);
            super::super::direct!(conn, |c| page.load(c))?
        }
        Start::After(cursor) => {
            super::super::direct!(conn, |c| after_cursor!(now, cursor, per_page).load(c))?
        }
    };
    page_of(conn, totals, rows, now, per_page, not_yet)
}

/// The published posts' count and the count of their changes
/// (`post_totals`), as [`page`] reads them.
pub type Totals = (i64, i64);

/// [`page`]'s two reads as futures on a PostgreSQL connection's driver,
/// so that they share one round trip with each other and with what the
/// caller reads beside them (see `crate::db::engine::pg::PgConn::pipelined`);
/// [`page_of`] makes the page of what they found.
pub async fn page_pg(
    mut conn: &diesel_async::AsyncPgConnection,
    now: i64,
    start: Start,
    per_page: i64,
) -> (QueryResult<Totals>, QueryResult<Vec<SummaryRow>>) {
    use diesel_async::RunQueryDsl as Async;

    let totals = async move { Async::get_result(totals!(), &mut conn).await };
    let rows = async move {
        match start {
            Start::Page(page) => {
                Async::load(PageByNumber::new(now, page, per_page), &mut conn).await
            }
            Start::After(cursor) => {
                Async::load(after_cursor!(now, cursor, per_page), &mut conn).await
            }
        }
    };
    tokio::join!(totals, rows)
}

/// The page of `rows` (one more than `per_page` when more follow) and
/// `totals`, read at `now`: the readers' `total`, and where the next page
/// starts.
pub fn page_of(
    conn: &mut Conn,
    (published, changes): Totals,
    mut rows: Vec<SummaryRow>,
    now: i64,
    per_page: i64,
    not_yet: &NotYetDue,
) -> QueryResult<Page> {
    let not_yet_due = match not_yet.get(changes, now) {
        Some(count) => count,
        None => {
            let counted = count_not_yet_due(conn, now, changes)?;
            not_yet.set(counted);
            counted.count
        }
    };
    let next = (rows.len() as i64 > per_page).then(|| {
        rows.truncate(per_page as usize);
        let last = &rows[rows.len() - 1];
        Cursor {
            published_at: last.published_at,
            id: last.id,
        }
    });
    Ok(Page {
        rows,
        total: published - not_yet_due,
        next,
    })
}

/// A numbered page: the page's ids first, from the readers' index alone,
/// then their rows. Written out because of its `LIMIT`, which is written
/// into the text, not bound (see `db::engine::limit`). Bound, SQLite
/// compiled the statement again on every execution, and PostgreSQL's
/// generic plan guessed a tenth of the rows: for 3,334 of 100,000 posts it
/// chose a sequential scan of every post (a hash semi-join, or a sort of
/// the page's ids) over the readers' index, 25–33 ms per page once the
/// statistics said the rows were narrow. Written, the index is walked,
/// 0.4 ms (`bench/results/2026-11-28-stale-plans.md`). The text then
/// changes with `per_page` (at most a hundred texts), so the statement is
/// cached by its text, not by a static id.
struct PageByNumber {
    now: i64,
    limit: i64,
    offset: i64,
}

impl PageByNumber {
    /// Page `page` of `per_page` posts, and one more.
    fn new(now: i64, page: i64, per_page: i64) -> PageByNumber {
        PageByNumber {
            now,
            limit: per_page + 1,
            offset: (page - 1).saturating_mul(per_page),
        }
    }
}

impl diesel::query_builder::QueryId for PageByNumber {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for PageByNumber {
    type SqlType = (
        diesel::sql_types::BigInt,
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::Text,
        diesel::sql_types::BigInt,
        diesel::sql_types::Nullable<diesel::sql_types::Text>,
    );
}

impl<C> diesel::RunQueryDsl<C> for PageByNumber {}

impl<DB> diesel::query_builder::QueryFragment<DB> for PageByNumber
where
    DB: diesel::backend::Backend,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        use diesel::sql_types::BigInt;
        out.push_sql(
            "SELECT p.id, p.slug, p.title, p.excerpt, p.access, p.published_at, a.username
             FROM posts p LEFT JOIN users a ON a.id = p.author_id
             WHERE p.id IN (
                 SELECT l.id FROM posts l
                 WHERE l.status = 'published' AND l.deleted_at IS NULL AND l.published_at <= ",
        );
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" ORDER BY l.published_at DESC, l.id DESC LIMIT ");
        // An integer of this process's own making, never text from a request.
        out.push_sql(itoa::Buffer::new().format(self.limit));
        out.push_sql(" OFFSET ");
        out.push_bind_param::<BigInt, _>(&self.offset)?;
        out.push_sql(") ORDER BY p.published_at DESC, p.id DESC");
        Ok(())
    }
}

/// `(posts.published_at, posts.id) < (?, ?)`: the posts after a position
/// in `/blog`'s order. A row-value comparison, which both planners answer
/// by starting the walk of the readers' index at the position; its text
/// is fixed, so the statement stays prepared.
#[derive(Debug, Clone, Copy, diesel::query_builder::QueryId, diesel::expression::ValidGrouping)]
struct Before(i64, i64);

impl diesel::expression::Expression for Before {
    type SqlType = diesel::sql_types::Bool;
}

impl<QS> diesel::expression::AppearsOnTable<QS> for Before {}

impl<DB> diesel::query_builder::QueryFragment<DB> for Before
where
    DB: diesel::backend::Backend,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        out.push_sql("(posts.published_at, posts.id) < (");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.0)?;
        out.push_sql(", ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.1)?;
        out.push_sql(")");
        Ok(())
    }
}

/// The published posts not yet due at `now`: how many, and when the first
/// is.
fn count_not_yet_due(conn: &mut Conn, now: i64, changes: i64) -> QueryResult<Counted> {
    // `<= i64::MAX` says nothing to the rows, everything to PostgreSQL's
    // plan: the plan is made once, for any `now` (force_generic_plan),
    // and an open range `> $1` is guessed at a third of the table (a
    // sequential scan of every post), a closed one at a sliver (a short
    // walk of the readers' index, which is what it is).
    macro_rules! not_yet_due {
        () => {
            posts::table
                .filter(posts::status.eq(Published))
                .filter(posts::deleted_at.is_null())
                .filter(posts::published_at.gt(now))
                .filter(posts::published_at.le(i64::MAX))
        };
    }
    let count: i64 = super::super::direct!(conn, |c| not_yet_due!().count().get_result(c))?;
    let until: Option<i64> = super::super::direct!(conn, |c| not_yet_due!()
        .select(diesel::dsl::min(posts::published_at))
        .get_result(c))?;
    Ok(Counted {
        changes,
        from: now,
        until,
        count,
    })
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::query_builder::{QueryFragment, QueryId};
    use diesel::sqlite::Sqlite;

    use super::*;

    /// The readers' condition must leave a statement cacheable, on both
    /// backends: otherwise every metered read is compiled anew.
    #[test]
    fn readers_queries_stay_prepared() {
        let query = posts::table
            .filter(posts::id.eq(1))
            .filter(visible_at!(0))
            .select(posts::id);
        fn check<Q: QueryId>(_: &Q) -> bool {
            Q::HAS_STATIC_QUERY_ID
        }
        assert!(check(&query));
        assert!(QueryFragment::<Sqlite>::is_safe_to_cache_prepared(&query, &Sqlite).unwrap());
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&query, &Pg).unwrap());
        let sql = diesel::debug_query::<Sqlite, _>(&query).to_string();
        assert!(sql.contains("= 'published'"), "{sql}");
    }

    /// Every statement of `/blog`'s pages, numbered and after a cursor,
    /// stays compiled on SQLite however its parameters are bound: with a
    /// bound `LIMIT`, SQLite parsed and planned each page's statement again
    /// on every call.
    #[test]
    fn pages_on_sqlite_are_never_compiled_again() {
        use crate::db::engine::testing::{sqlite_recompiles, sqlite_statements};

        let not_yet = NotYetDue::default();
        let (_dir, path, statements) = sqlite_statements(|conn| {
            super::super::seed_if_empty(conn).unwrap();
            let now = 1_800_000_000;
            let first = page(conn, now, Start::Page(1), 5, &not_yet).unwrap();
            page(conn, now, Start::Page(2), 5, &not_yet).unwrap();
            page(conn, now, Start::After(first.next.unwrap()), 5, &not_yet).unwrap();
        });
        let pages: Vec<_> = statements
            .iter()
            .filter(|sql| sql.contains("LIMIT"))
            .collect();
        assert_eq!(pages.len(), 3, "{statements:#?}");
        for sql in statements.iter().filter(|sql| sql.starts_with("SELECT")) {
            assert!(
                !sqlite_recompiles(&path, sql),
                "compiled on every call: {sql}"
            );
        }
        // What the check finds: a bound LIMIT.
        assert!(sqlite_recompiles(
            &path,
            "SELECT id FROM posts ORDER BY id LIMIT ?"
        ));
    }

    /// A numbered page's generic plan on 100,000 narrow posts with fresh
    /// statistics walks the readers' index for the page's ids, never every
    /// post. With its `LIMIT` bound, PostgreSQL guessed a tenth of the rows
    /// and planned a sequential scan of every post. Its text stays
    /// cacheable.
    #[test]
    fn a_numbered_page_on_postgres_walks_the_readers_index() {
        use diesel::connection::SimpleConnection;

        use crate::db::engine::pg::PgConn;
        use crate::db::engine::testing::on_postgres;
        use crate::db::engine::{migrate, DbConnection};

        let page = PageByNumber {
            now: 1_800_000_000,
            limit: 21,
            offset: 0,
        };
        assert!(QueryFragment::<Pg>::is_safe_to_cache_prepared(&page, &Pg).unwrap());
        on_postgres("numbered_page", |url| {
            let conn = &mut DbConnection::Postgres(PgConn::establish(url).unwrap());
            migrate(conn).unwrap();
            let DbConnection::Postgres(pg) = conn else {
                unreachable!()
            };
            pg.batch_execute(
                "INSERT INTO posts (title, body, html, excerpt, slug, status, access,
                                    published_at, created_at, updated_at)
                 SELECT 'Post ' || i, 'body', '<p>body</p>', 'body', 'post-' || i,
                        'published', 'metered', 1700000000 - i, 1, 1
                 FROM generate_series(1, 100000) AS i;
                 ANALYZE posts;",
            )
            .unwrap();
            let sql = diesel::debug_query::<Pg, _>(&page)
                .to_string()
                .split(" -- binds:")
                .next()
                .unwrap()
                .to_owned();
            pg.batch_execute(&format!(
                "SET plan_cache_mode = force_generic_plan;
                 PREPARE page(bigint, bigint) AS {sql};"
            ))
            .unwrap();
            #[derive(QueryableByName)]
            struct Line {
                #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
                line: String,
            }
            let plan: Vec<String> = diesel::sql_query("EXPLAIN EXECUTE page(1800000000, 0)")
                .load::<Line>(pg)
                .unwrap()
                .into_iter()
                .map(|l| l.line)
                .collect();
            let plan = plan.join("\n");
            assert!(plan.contains("posts_for_readers"), "{plan}");
            assert!(!plan.contains("Seq Scan on posts"), "{plan}");
        });
    }
}
