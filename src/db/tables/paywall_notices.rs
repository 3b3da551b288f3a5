//! Queries on `paywall_notices`: one row per user and month whose first
//! paywall refusal has been recorded as a `paywall` event.

use diesel::prelude::*;

use super::schema::paywall_notices;
use super::Conn;
use crate::domain::Month;

/// Notes `user_id`'s first refusal in `month`, unless one is noted
/// already; `true` if this call noted it, and its caller then records the
/// `paywall` event in the same transaction. The primary key arbitrates
/// parallel refusals on any number of instances: exactly one insert wins
/// (`ON CONFLICT DO NOTHING` lets the others through with no row), and
/// only the winner records the event.
pub fn notice(conn: &mut Conn, user_id: i64, month: Month) -> QueryResult<bool> {
    let inserted = super::direct!(conn, |c| diesel::insert_into(paywall_notices::table)
        .values((
            paywall_notices::user_id.eq(user_id),
            paywall_notices::month.eq(month.index()),
        ))
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Deletes the notices of months before `month`: a past month can never
/// be refused again.
pub fn purge_before(conn: &mut Conn, month: Month) -> QueryResult<usize> {
    diesel::delete(paywall_notices::table.filter(paywall_notices::month.lt(month.index())))
        .execute(conn)
}
