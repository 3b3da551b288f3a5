//! The rows and SQL that several tables' queries share: a table module
//! that joins another table in SQL names what it reads of it here, never
//! that table's module. So every module of `db::tables` stays a leaf,
//! which knows its own table and these, and can be read, changed and
//! tested alone.
//!
//! - [`UserRow`]: a user as everything but a password check reads it (the
//!   session check joins it on every request).
//! - [`PostRow`] and `post_columns!`: what a reader's path needs of a post,
//!   joined by the metered read, gifts and the read-ahead.
//! - `visible_at!`, [`Published`] and [`Draft`]: which posts readers see,
//!   as every reader's query writes it.
//! - [`PostRef`]: a post as a reader's path names it, which members' and
//!   anonymous meters both look up (`visible_post!`).

use diesel::prelude::*;

use std::sync::Arc;

use crate::db::schema::{posts, users};
use crate::domain::{Plan, Role, User};

/// A user row as everything but a password check reads it: what the API
/// shows of them, whether they have a password and whether they are
/// disabled. Not the password's hash, which only a password check reads
/// ([`Credentials`](crate::db::users::Credentials)): the session check on
/// every request, the account page and an admin's change never hold it in
/// memory.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    /// Whether the account has a password: one made by signing in with a
    /// provider is stored with an empty hash until it sets one.
    #[diesel(select_expression = users::password_hash.ne(""))]
    #[diesel(select_expression_type = diesel::dsl::NotEq<users::password_hash, &'static str>)]
    pub has_password: bool,
    pub plan: String,
    pub created_at: i64,
    pub role: String,
    /// Disabled by an admin: every session was ended then, and a login
    /// with the right password is refused.
    pub disabled: bool,
    /// Complimentary premium until then ([`Plan::in_force`]).
    pub premium_until: Option<i64>,
}

impl UserRow {
    /// The user as the API shows them at `now`: the plan in force then.
    pub fn to_user(&self, now: i64) -> User {
        shown(
            self.id,
            self.username.clone(),
            (&self.plan, self.premium_until, now),
            &self.role,
            self.created_at,
        )
    }

    /// [`UserRow::to_user`], moving the name instead of copying it.
    pub fn into_user(self, now: i64) -> User {
        shown(
            self.id,
            self.username,
            (&self.plan, self.premium_until, now),
            &self.role,
            self.created_at,
        )
    }

    pub fn role(&self) -> Role {
        stored_role(&self.role)
    }

    /// The plan as stored, without a grant.
    pub fn stored_plan(&self) -> Plan {
        stored_plan(&self.plan)
    }
}

/// A user row as the API shows it; `plan` is the stored plan, the end of
/// a complimentary premium and the time to judge it at.
fn shown(
    id: i64,
    username: String,
    (plan, premium_until, now): (&str, Option<i64>, i64),
    role: &str,
    created_at: i64,
) -> User {
    User {
        id,
        username,
        plan: Plan::in_force(stored_plan(plan), premium_until, now),
        role: stored_role(role),
        created_at,
    }
}

fn stored_role(role: &str) -> Role {
    // The CHECK constraint allows only the three roles.
    Role::parse(role).unwrap_or_default()
}

fn stored_plan(plan: &str) -> Plan {
    // The CHECK constraint allows only these two values.
    Plan::parse(plan).unwrap_or(Plan::Free)
}

/// What a reader's path needs of a post to decide on it and to find its
/// answer: its access level, its version, and its author's name joined.
/// Not its content: a read copies the answer this instance made of the
/// post's version (`domain::post::reader_json`), and fetches the content
/// (`db::posts::find_content`) only to make it. PostgreSQL's metered statements
/// return it by name: their columns are `post_columns!`.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = posts)]
pub struct PostRow {
    pub id: i64,
    pub access: String,
    pub published_at: i64,
    /// Microseconds; every save moves it forward.
    pub updated_at: i64,
    #[diesel(select_expression = users::username.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<users::username>)]
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub author: Option<String>,
}

/// [`PostRow`]'s columns in SQL, from `posts p LEFT JOIN users a ON a.id =
/// p.author_id`, for the statements written out by hand.
macro_rules! post_columns {
    () => {
        "p.id, p.access, p.published_at, p.updated_at, a.username AS author"
    };
}
pub(crate) use post_columns;

/// For a read-ahead on PostgreSQL, whose keys `q` name a post by its id
/// (`q.post_id`) or else by its slug (`q.slug`): a lateral subquery (to
/// join as `p`) of that post with [`PostRow`]'s columns, if it is live and
/// published (whether its time has come is the reader's question, asked
/// with the request's clock). By the primary key, or by the live posts'
/// unique index on the slug, whose predicate is repeated so that the
/// generic plan, made once per connection, may use it; one branch finds
/// nothing for each key, its one-time filter on `q.post_id` skipping it.
/// `OFFSET 0` keeps it from being flattened into a join, whose plan a
/// young database's statistics would make a scan.
macro_rules! post_named_pg {
    () => {
        concat!(
            "(
        SELECT * FROM (
            SELECT ",
            $crate::db::rows::post_columns!(),
            "
            FROM posts p LEFT JOIN users a ON a.id = p.author_id
            WHERE q.post_id IS NOT NULL AND p.id = q.post_id
              AND p.status = 'published' AND p.deleted_at IS NULL
            UNION ALL
            SELECT ",
            $crate::db::rows::post_columns!(),
            "
            FROM posts p LEFT JOIN users a ON a.id = p.author_id
            WHERE q.post_id IS NULL AND p.slug = q.slug
              AND p.status = 'published' AND p.deleted_at IS NULL
        ) found
        OFFSET 0
    )"
        )
    };
}
pub(crate) use post_named_pg;

/// [`post_named_pg`] for SQLite, as a join (`JOIN` or `LEFT JOIN` goes
/// before it): the post `p` (with its author `a`) that `q.post_id` names,
/// or else `q.slug` by the live posts' unique index, then read as one
/// named by id, if it is live and published.
macro_rules! post_named_sqlite {
    () => {
        "posts p
      ON p.id = COALESCE(q.post_id, (SELECT l.id FROM posts l
                                     WHERE l.slug = q.slug AND l.deleted_at IS NULL))
     AND p.status = 'published' AND p.deleted_at IS NULL
    LEFT JOIN users a ON a.id = p.author_id"
    };
}
pub(crate) use post_named_sqlite;

/// The posts readers may see at `now` (see the module's doc). Written out
/// the same in every reader's query: it is also the predicate of the
/// partial index `posts_for_readers`, which the planners use only when a
/// query repeats it.
macro_rules! visible_at {
    ($now:expr) => {
        posts::status
            .eq($crate::db::rows::Published)
            .and(posts::deleted_at.is_null())
            .and(posts::published_at.le($now))
    };
}
pub(crate) use visible_at;

/// `$columns` of the post `$post` (a [`PostRef`]) names, joined to its
/// author, if readers may see it at `$now`: at most one row, found by the
/// primary key or by the live posts' unique index on the slug. A macro, so
/// that each backend's query is compiled as written (`direct!`) with the
/// caller's columns.
macro_rules! visible_post {
    ($conn:expr, $post:expr, $now:expr, $columns:expr) => {
        match $post {
            $crate::db::rows::PostRef::Id(id) => {
                $crate::db::engine::direct!($conn, |c| posts::table
                    .left_join(users::table)
                    .filter(posts::id.eq(id))
                    .filter($crate::db::rows::visible_at!($now))
                    .select($columns)
                    .unique(c))
            }
            $crate::db::rows::PostRef::Slug(slug) => {
                $crate::db::engine::direct!($conn, |c| posts::table
                    .left_join(users::table)
                    .filter(posts::slug.eq(&**slug))
                    .filter($crate::db::rows::visible_at!($now))
                    .select($columns)
                    .unique(c))
            }
        }
    };
}
pub(crate) use visible_post;

/// A post's status as an SQL literal (`'published'`, `'draft'`), for
/// `visible_at!` and every filter on the status. Written into the SQL, not
/// bound: SQLite decides whether a partial index applies from a bound
/// value compared with its predicate (`posts_for_readers`' `status =
/// 'published'`), and then recompiles the statement whenever that
/// parameter is bound again, which would be on every execution. Not
/// `diesel::dsl::sql` either: diesel never caches a statement holding one
/// (its text could be anything), so every read would be compiled anew.
/// These fragments' text is fixed, so the statement stays prepared.
macro_rules! status_literal {
    ($name:ident, $sql:literal) => {
        #[derive(
            Debug, Clone, Copy, diesel::query_builder::QueryId, diesel::expression::ValidGrouping,
        )]
        pub struct $name;

        impl diesel::expression::Expression for $name {
            type SqlType = diesel::sql_types::Text;
        }

        impl<QS> diesel::expression::AppearsOnTable<QS> for $name {}

        impl<QS> diesel::expression::SelectableExpression<QS> for $name {}

        impl<DB: diesel::backend::Backend> diesel::query_builder::QueryFragment<DB> for $name {
            fn walk_ast<'b>(
                &'b self,
                mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> QueryResult<()> {
                out.push_sql($sql);
                Ok(())
            }
        }
    };
}

status_literal!(Published, "'published'");
status_literal!(Draft, "'draft'");

/// A post as a reader's path names it: by id or by slug (shared: the
/// guard hands one copy to the read's lookup and its chunk's key; what a
/// PostgreSQL read-ahead found carries the row's own).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum PostRef {
    Id(i64),
    Slug(Arc<str>),
}
