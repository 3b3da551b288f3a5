//! Queries on `ip_limits`: the per-client-IP counters of the contract's
//! abuse limits (`domain::ip_limit`), shared by every instance.
//!
//! [`hit`] counts one action with a single upsert, atomic on both backends:
//! SQLite runs it under the write lock; PostgreSQL's `ON CONFLICT DO UPDATE`
//! locks the row and adds to the committed count, so parallel hits on two
//! instances both count and each sees its own total. A caller that finds the
//! total over the limit rolls its transaction back, the hit with it.
//!
//! The `ip` column holds the client's *network* as the limits count it (an
//! IPv4 address, or an IPv6 prefix: `domain::network_of`).

use diesel::prelude::*;

use super::schema::ip_limits;
use super::Conn;
use crate::domain::IpLimit;

/// Counts one action of `limit`'s kind for `ip` and returns the window's
/// total, this one included. Call it in a write transaction.
pub fn hit(conn: &mut Conn, limit: &IpLimit, ip: &str, now: i64) -> QueryResult<u32> {
    let window_start = limit.window_start(now);
    let hits: i32 = super::direct!(conn, |c| diesel::insert_into(ip_limits::table)
        .values((
            ip_limits::ip.eq(ip),
            ip_limits::kind.eq(limit.kind),
            ip_limits::window_start.eq(window_start),
            ip_limits::hits.eq(1),
            ip_limits::expires_at.eq(limit.window_end(now)),
        ))
        .on_conflict((ip_limits::ip, ip_limits::kind, ip_limits::window_start))
        .do_update()
        .set(ip_limits::hits.eq(ip_limits::hits + 1))
        .returning(ip_limits::hits)
        .get_result(c))?;
    Ok(hits.max(0) as u32)
}

/// Takes back one action counted by [`hit`] in the window that held `at`
/// (a reservation that turned out not to count: a right password). Never
/// below zero.
pub fn give_back(conn: &mut Conn, limit: &IpLimit, ip: &str, at: i64) -> QueryResult<()> {
    let window_start = limit.window_start(at);
    let update = diesel::update(
        ip_limits::table
            .find((ip, limit.kind, window_start))
            .filter(ip_limits::hits.gt(0)),
    )
    .set(ip_limits::hits.eq(ip_limits::hits - 1));
    super::direct!(conn, |c| update.execute(c)).map(|_| ())
}

/// Deletes the counters of windows that have ended: however many distinct
/// IPs a flood brings, the table holds only the current windows.
pub fn purge_expired(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(ip_limits::table.filter(ip_limits::expires_at.le(now))).execute(conn)
}
