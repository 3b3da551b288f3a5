//! Queries on `gifts`, `gift_readers` and `gift_credits`: the links a
//! premium reader makes to share a post, who opened each, and the
//! registrations they brought.
//!
//! Under concurrency, on any number of instances: a giver's gifts are
//! decided one at a time (the giver's row is locked first, so parallel
//! gifts count each other), and one post has one live link per giver and
//! month (the partial unique index `gifts_one_live_link`). A gift's
//! readers are capped by one `UPDATE … WHERE readers < cap`, in the
//! transaction that records the new reader: a reader refused rolls back.

pub mod read_ahead;

use diesel::prelude::*;

use super::schema::{gift_credits, gift_readers, gifts};
use super::{write_transaction, Conn};
use crate::db::engine::{Unique, WrittenLimit};
use crate::db::rows::PostRow;
use crate::domain::insights::Day;
use crate::domain::Month;

/// A gift as its giver sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = gifts)]
pub struct GiftRow {
    pub id: i64,
    pub post_id: i64,
    pub nonce: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub readers: i32,
}

/// A gift to make.
pub struct NewGift<'a> {
    pub giver_id: i64,
    pub post_id: i64,
    pub month: Month,
    pub token_hash: &'a str,
    pub nonce: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

/// What asking for a gift came to.
#[derive(Debug)]
pub enum Made {
    /// A new link; the month's gifts used with it.
    New { gift: GiftRow, used: i64 },
    /// The post's live link of this month, made before; nothing more used.
    Again { gift: GiftRow, used: i64 },
    /// The month's gifts are used up.
    LimitReached { used: i64 },
}

/// The giver's gifts counted in `month`, revoked ones included.
pub fn used_in(conn: &mut Conn, giver_id: i64, month: Month) -> QueryResult<i64> {
    gifts::table
        .filter(gifts::giver_id.eq(giver_id))
        .filter(gifts::month.eq(month.index()))
        .count()
        .get_result(conn)
}

/// Makes `new` unless the giver has a live link to the post this month
/// (answered again) or has used `limit` gifts. Call it in a write
/// transaction whose first act locked the giver's row (`users::lock`): the
/// count is then the one the insert is decided on.
pub fn make(conn: &mut Conn, new: &NewGift<'_>, limit: i64) -> QueryResult<Made> {
    let month = new.month.index();
    let live: Option<GiftRow> = gifts::table
        .filter(gifts::giver_id.eq(new.giver_id))
        .filter(gifts::month.eq(month))
        .filter(gifts::post_id.eq(new.post_id))
        .filter(gifts::revoked_at.is_null())
        .select(GiftRow::as_select())
        .unique(conn)?;
    let used = used_in(conn, new.giver_id, new.month)?;
    match live {
        Some(gift) if gift.expires_at > new.now => return Ok(Made::Again { gift, used }),
        // Expired: it stays used, and leaves its place to a new link.
        Some(gift) => {
            diesel::update(gifts::table.find(gift.id))
                .set(gifts::revoked_at.eq(new.now))
                .execute(conn)?;
        }
        None => {}
    }
    if used >= limit {
        return Ok(Made::LimitReached { used });
    }
    let id: i64 = diesel::insert_into(gifts::table)
        .values((
            gifts::giver_id.eq(new.giver_id),
            gifts::post_id.eq(new.post_id),
            gifts::month.eq(month),
            gifts::token_hash.eq(new.token_hash),
            gifts::nonce.eq(new.nonce),
            gifts::created_at.eq(new.now),
            gifts::expires_at.eq(new.expires_at),
        ))
        .returning(gifts::id)
        .get_result(conn)?;
    let gift = GiftRow {
        id,
        post_id: new.post_id,
        nonce: new.nonce.to_owned(),
        created_at: new.now,
        expires_at: new.expires_at,
        revoked_at: None,
        readers: 0,
    };
    Ok(Made::New {
        gift,
        used: used + 1,
    })
}

/// The giver's gifts of `month`, newest first.
pub fn of_month(conn: &mut Conn, giver_id: i64, month: Month) -> QueryResult<Vec<GiftRow>> {
    gifts::table
        .filter(gifts::giver_id.eq(giver_id))
        .filter(gifts::month.eq(month.index()))
        .order((gifts::created_at.desc(), gifts::id.desc()))
        .select(GiftRow::as_select())
        .load(conn)
}

/// Every gift the giver has made, newest first: for the account's export.
pub fn of_giver(conn: &mut Conn, giver_id: i64) -> QueryResult<Vec<GiftRow>> {
    gifts::table
        .filter(gifts::giver_id.eq(giver_id))
        .order((gifts::created_at.desc(), gifts::id.desc()))
        .select(GiftRow::as_select())
        .load(conn)
}

/// Revokes the giver's gift `id` (again is nothing new); `false` when the
/// giver has no such gift.
pub fn revoke(conn: &mut Conn, giver_id: i64, id: i64, now: i64) -> QueryResult<bool> {
    let owned = gifts::table
        .filter(gifts::id.eq(id))
        .filter(gifts::giver_id.eq(giver_id));
    diesel::update(owned.filter(gifts::revoked_at.is_null()))
        .set(gifts::revoked_at.eq(now))
        .execute(conn)?;
    diesel::select(diesel::dsl::exists(owned)).get_result(conn)
}

/// A gift found by its token, as a reader opens it.
#[derive(Debug, Clone)]
pub struct Found {
    pub gift_id: i64,
    pub expires_at: i64,
    pub post: PostRow,
    pub giver: String,
    /// This reader opened it before.
    pub seen: bool,
    /// The last day this reader opened it (insights count a reader once a
    /// day), as days since 1970-01-01.
    pub last_day: Option<i32>,
}

/// What opening a gift came to.
#[derive(Debug)]
pub enum Opened {
    Read(Found),
    /// Past its days.
    Expired,
    /// A new reader past the cap.
    Exhausted,
    /// No such live link, or a post readers cannot see.
    NotFound,
}

/// The live gift with this token hash, with its post if readers may see
/// it at `now`, its giver, and whether `reader` opened it before: one
/// read, the statement a chunk reads gifts ahead with, for one key (see
/// [`read_ahead`] for why it is written so).
pub fn find(
    conn: &mut Conn,
    token_hash: &str,
    reader: &str,
    now: i64,
) -> QueryResult<Option<Found>> {
    let key = [read_ahead::Asked {
        token_hash: token_hash.to_owned(),
        reader: reader.to_owned(),
    }];
    let sheet = read_ahead::read(conn, &key)?;
    Ok(read_ahead::found_at(read_ahead::find(&sheet, &key[0]), now))
}

/// Opens the gift `asked` names at `now`: a reader who opened it before
/// reads on with nothing written; a new one is counted within `cap` (see
/// the module note). `ahead`: what the chunk read ahead for it (see
/// [`read_ahead`]), `None` when nothing was. Not `delivered` (a `HEAD`):
/// what a delivery would come to, with nothing counted or written.
///
/// `reader_day` writes what else a reader's first open of a day counts
/// (insights: `db::insights::gift_read`), given the post's id, in the same
/// transaction as the reader's row: both commit, or neither.
pub fn open(
    conn: &mut Conn,
    asked: &read_ahead::Asked,
    ahead: Option<Option<Found>>,
    (now, cap, delivered): (i64, i32, bool),
    reader_day: impl Fn(&mut Conn, i64) -> QueryResult<()>,
) -> QueryResult<Opened> {
    let reader = asked.reader.as_str();
    let found = match ahead {
        Some(found) => read_ahead::found_at(found, now),
        None => find(conn, &asked.token_hash, reader, now)?,
    };
    let Some(found) = found else {
        return Ok(Opened::NotFound);
    };
    if now >= found.expires_at {
        return Ok(Opened::Expired);
    }
    let today = Day::of(now);
    let (gift_id, post_id) = (found.gift_id, found.post.id);
    if !delivered {
        let room = found.seen
            || gifts::table
                .filter(gifts::id.eq(gift_id))
                .select(gifts::readers)
                .load::<i32>(conn)?
                .into_iter()
                .all(|readers| readers < cap);
        return Ok(if room {
            Opened::Read(found)
        } else {
            Opened::Exhausted
        });
    }
    if found.seen {
        if found.last_day != Some(today.0) {
            // The first open of the day: counted once (a reader opening
            // it on two instances at once is counted by one update).
            write_transaction(conn, |conn| {
                let opened = diesel::update(
                    gift_readers::table
                        .filter(gift_readers::gift_id.eq(gift_id))
                        .filter(gift_readers::reader.eq(reader))
                        .filter(
                            gift_readers::last_day
                                .is_null()
                                .or(gift_readers::last_day.lt(today.0)),
                        ),
                )
                .set((
                    gift_readers::last_day.eq(today.0),
                    gift_readers::last_opened_at.eq(now),
                ))
                .execute(conn)?;
                if opened == 1 {
                    reader_day(conn, post_id)?;
                }
                Ok::<_, diesel::result::Error>(())
            })?;
        }
        return Ok(Opened::Read(found));
    }
    let counted = write_transaction(conn, |conn| {
        let insert = diesel::insert_into(gift_readers::table)
            .values((
                gift_readers::gift_id.eq(gift_id),
                gift_readers::reader.eq(reader),
                gift_readers::opened_at.eq(now),
                gift_readers::last_day.eq(today.0),
                gift_readers::last_opened_at.eq(now),
            ))
            .on_conflict_do_nothing();
        let new = super::direct!(conn, |c| insert.execute(c))?;
        if new == 0 {
            // Opened meanwhile by this same reader, elsewhere.
            return Ok(true);
        }
        reader_day(conn, post_id)?;
        let room = diesel::update(
            gifts::table
                .filter(gifts::id.eq(gift_id))
                .filter(gifts::readers.lt(cap)),
        )
        .set(gifts::readers.eq(gifts::readers + 1))
        .execute(conn)?;
        if room == 0 {
            return Err(diesel::result::Error::RollbackTransaction);
        }
        Ok(true)
    });
    match counted {
        Ok(_) => Ok(Opened::Read(found)),
        Err(diesel::result::Error::RollbackTransaction) => Ok(Opened::Exhausted),
        Err(e) => Err(e),
    }
}

/// How long before a registration a gift opened in its browser is
/// credited with it.
pub const CREDIT_SECONDS: i64 = 30 * 86_400;

/// Credits the registration of `user_id` at `now` to the gift the browser
/// `reader` opened last within [`CREDIT_SECONDS`] (and after `after`, when
/// given: the registration wall the browser met, which a later gift
/// outranks), if any: the post it gave, when this call credited it (the
/// caller counts it in insights, in the same transaction).
pub fn credit(
    conn: &mut Conn,
    user_id: i64,
    reader: &str,
    now: i64,
    after: Option<i64>,
) -> QueryResult<Option<i64>> {
    let since = match after {
        Some(after) => (now - CREDIT_SECONDS).max(after + 1),
        None => now - CREDIT_SECONDS,
    };
    let opened: Option<(i64, i64)> = gift_readers::table
        .inner_join(gifts::table)
        .filter(gift_readers::reader.eq(reader))
        .filter(gift_readers::opened_at.ge(since))
        .order((gift_readers::opened_at.desc(), gifts::id.desc()))
        .select((gifts::id, gifts::post_id))
        .limit_written(1)
        .load(conn)?
        .into_iter()
        .next();
    if let Some((gift_id, post_id)) = opened {
        let insert = diesel::insert_into(gift_credits::table)
            .values((
                gift_credits::user_id.eq(user_id),
                gift_credits::gift_id.eq(gift_id),
                gift_credits::post_id.eq(post_id),
                gift_credits::registered_at.eq(now),
            ))
            .on_conflict_do_nothing();
        if super::direct!(conn, |c| insert.execute(c))? == 1 {
            return Ok(Some(post_id));
        }
    }
    Ok(None)
}
