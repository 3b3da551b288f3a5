//! Queries on `login_throttle`: the per-username login lockout.

use diesel::prelude::*;

use super::schema::login_throttle;
use super::{Conn, DbConnection};
use crate::db::engine::Unique;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_throttle)]
struct ThrottleRow {
    attempts: i32,
    window_started_at: i64,
    locked_until: Option<i64>,
}

/// Seconds left of `key`'s lockout, if it is locked out at `now`. Read
/// before the password is checked, so a locked-out login costs no bcrypt.
pub fn lockout_remaining(conn: &mut Conn, key: &str, now: i64) -> QueryResult<Option<u64>> {
    let locked_until: Option<Option<i64>> = super::direct!(conn, |c| login_throttle::table
        .find(key)
        .select(login_throttle::locked_until)
        .unique(c))?;
    Ok(locked_until
        .flatten()
        .filter(|until| *until > now)
        .map(|until| (until - now) as u64))
}

/// Counts a failed login for `key`; the `max_failures`-th failure within
/// `window` seconds of the first locks the username for `window` seconds.
/// Returns `true` when this failure is the one that locked it (once per
/// lockout: the `login_locked` event).
///
/// Only failures count, as the contract says: counting every attempt up
/// front would lock out a user whose tabs log in at the same moment. The
/// price is that attempts already in flight when the lock lands still get
/// their answer — bounded by bcrypt's cost per attempt. The caller runs this
/// in a write transaction; the read-and-update is serialized per username by
/// SQLite's IMMEDIATE lock, or on PostgreSQL by a transaction-scoped
/// advisory lock on the username (a row lock cannot guard a row that does
/// not exist yet), so failures recorded on two instances at once both count.
pub fn record_failure(
    conn: &mut Conn,
    key: &str,
    now: i64,
    max_failures: u32,
    window: i64,
) -> QueryResult<bool> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(key)
            .execute(pg)?;
    }
    let row: Option<ThrottleRow> = login_throttle::table
        .find(key)
        .select(ThrottleRow::as_select())
        .unique(conn)?;
    let (failures, window_started_at) = match row {
        // Still counting within the window, and not serving a lockout.
        Some(row) if row.window_started_at + window > now && row.locked_until.is_none() => {
            (row.attempts + 1, row.window_started_at)
        }
        // Failures that land during a lockout change nothing.
        Some(row) if row.locked_until.is_some_and(|until| until > now) => return Ok(false),
        // No row, a window that has passed, or a lockout that has ended.
        _ => (1, now),
    };
    let locked_until = (failures as u32 >= max_failures).then_some(now + window);

    // Update, or insert the first failure. Safe as two statements because
    // the caller's write transaction serializes them (see above).
    let updated = diesel::update(login_throttle::table.find(key))
        .set((
            login_throttle::attempts.eq(failures),
            login_throttle::window_started_at.eq(window_started_at),
            login_throttle::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(login_throttle::table)
            .values((
                login_throttle::username_key.eq(key),
                login_throttle::attempts.eq(failures),
                login_throttle::window_started_at.eq(window_started_at),
                login_throttle::locked_until.eq(locked_until),
            ))
            .execute(conn)?;
    }
    Ok(locked_until.is_some())
}

/// A successful login (or a deleted account) clears the username's count.
pub fn clear(conn: &mut Conn, key: &str) -> QueryResult<()> {
    diesel::delete(login_throttle::table.find(key))
        .execute(conn)
        .map(|_| ())
}

/// Deletes rows whose window and lockout have both passed.
pub fn purge_expired(conn: &mut Conn, now: i64, window: i64) -> QueryResult<usize> {
    diesel::delete(
        login_throttle::table.filter(
            login_throttle::window_started_at.le(now - window).and(
                login_throttle::locked_until
                    .is_null()
                    .or(login_throttle::locked_until.le(now)),
            ),
        ),
    )
    .execute(conn)
}
