//! What happens to a post, one function each, whoever asks (an editor, an
//! imported file): a save ([`save`]: a change, a publish, an unpublish),
//! an import ([`import`]) and a delete ([`delete`]), each committed with
//! what it starts or stops besides. A publish with `email` asks for its
//! newsletter; a post that becomes a draft again or is deleted stops what
//! its newsletter has not sent. `db::posts` and `db::newsletters` each know
//! their own table only; a change that spans both is written here.

use diesel::QueryResult;

use crate::db::posts::{self, Change, Imported, Refused, Whole};
use crate::db::{self, newsletters};
use crate::domain::post::Slug;
use crate::webhooks::{self, Event, PostKind};

/// Saves `change` to the live post `id` if it was last saved at `expected`
/// (microseconds), at `now_micros`: a compare-and-set (`db::posts::update`),
/// so that of two editors who started from the same version only one saves
/// (the other gets `Refused::Conflict`).
pub fn save(
    conn: &mut db::Conn,
    id: i64,
    expected: i64,
    now_micros: i64,
    change: &Change<'_>,
) -> Result<Result<(), Refused>, db::Error> {
    let result = db::write_transaction(conn, |conn| {
        let saved = posts::update(conn, id, expected, now_micros, change)?;
        if saved == 1 {
            follow(conn, id, change, now_micros)?;
        }
        Ok(saved)
    });
    posts::saved(result)
}

/// Stores `post` as read from a file, found by `slug`
/// (`db::posts::import`), in the caller's transaction.
pub fn import(
    conn: &mut db::Conn,
    post: &Whole<'_>,
    slug: &Slug,
    now_micros: i64,
) -> Result<Result<Imported, Refused>, db::Error> {
    let imported = posts::import(conn, post, slug, now_micros)?;
    if let Ok(Imported::Updated(id)) = imported {
        follow(conn, id, &Change::Replace(*post), now_micros)?;
    }
    Ok(imported)
}

/// Deletes post `id` at `at` (`db::posts::delete`); what its newsletter
/// has not sent yet is never sent.
pub fn delete(conn: &mut db::Conn, id: i64, at: i64) -> QueryResult<()> {
    db::write_transaction(conn, |conn| {
        posts::delete(conn, id, at)?;
        let deleted = Event::Post {
            kind: PostKind::Deleted,
            id,
        };
        webhooks::record(conn, at, deleted)?;
        newsletters::stop(conn, id)
    })
}

/// What a save of post `id` starts or stops besides, in its transaction:
/// a publish or an unpublish tells the webhooks; a publish with `email` asks for the newsletter (once ever:
/// `db::newsletters::ask`); a draft again, by an unpublish or an imported
/// file, stops it.
fn follow(conn: &mut db::Conn, id: i64, change: &Change<'_>, now_micros: i64) -> QueryResult<()> {
    let now = now_micros.div_euclid(1_000_000);
    let told = match change {
        Change::Publish { .. } => Some(PostKind::Published),
        Change::Unpublish => Some(PostKind::Unpublished),
        Change::Content(..) | Change::Replace(_) => None,
    };
    if let Some(kind) = told {
        webhooks::record(conn, now, Event::Post { kind, id })?;
    }
    match change {
        Change::Publish { email: true, .. } => {
            newsletters::ask(conn, id, now_micros.div_euclid(1_000_000))
        }
        Change::Unpublish => newsletters::stop(conn, id),
        Change::Replace(post) if post.published_at.is_none() => newsletters::stop(conn, id),
        Change::Publish { .. } | Change::Content(..) | Change::Replace(_) => Ok(()),
    }
}
