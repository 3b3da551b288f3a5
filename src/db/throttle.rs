//! Queries on `login_throttle`: the per-username login lockout.

use diesel::prelude::*;

use super::schema::login_throttle;
use super::Conn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_throttle)]
struct ThrottleRow {
    attempts: i32,
    window_started_at: i64,
    locked_until: Option<i64>,
}

/// Reserves one login attempt for `key`, or says how many seconds remain of
/// its lockout.
///
/// Every attempt is counted *before* its password is checked and a success
/// clears the count afterwards. Counting only failures after the fact would
/// let an attacker fire a hundred guesses in parallel before the fifth
/// failure is recorded; reserving first means at most `max_failures`
/// passwords are ever checked per window, however many arrive at once.
/// The caller runs this inside an IMMEDIATE transaction, which serializes it.
pub fn reserve_attempt(
    conn: &mut Conn,
    key: &str,
    now: i64,
    max_failures: u32,
    window: i64,
) -> QueryResult<Result<(), u64>> {
    let row: Option<ThrottleRow> = login_throttle::table
        .find(key)
        .select(ThrottleRow::as_select())
        .first(conn)
        .optional()?;

    let (attempts, window_started_at) = match row {
        Some(row) if row.locked_until.is_some_and(|until| until > now) => {
            let until = row.locked_until.unwrap_or(now);
            return Ok(Err((until - now).max(1) as u64));
        }
        // A window that has passed (or a lockout that has ended) starts over.
        Some(row) if row.window_started_at + window > now && row.locked_until.is_none() => {
            (row.attempts + 1, row.window_started_at)
        }
        _ => (1, now),
    };
    let locked_until = (attempts as u32 >= max_failures).then_some(now + window);

    diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::username_key.eq(key),
            login_throttle::attempts.eq(attempts),
            login_throttle::window_started_at.eq(window_started_at),
            login_throttle::locked_until.eq(locked_until),
        ))
        .on_conflict(login_throttle::username_key)
        .do_update()
        .set((
            login_throttle::attempts.eq(attempts),
            login_throttle::window_started_at.eq(window_started_at),
            login_throttle::locked_until.eq(locked_until),
        ))
        .execute(conn)?;
    Ok(Ok(()))
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
