//! Queries on `totp`, `recovery_codes` and `pending_logins`: an account's
//! second factors, and the sign-ins waiting for one.
//!
//! Every "once only" rule is one conditional statement, decided by the
//! database whichever instance asks and however many ask at once: an
//! authenticator step is spent by moving `last_step` forward
//! ([`spend_step`]), a recovery code by setting its `used_at`
//! ([`spend_code`]), a pending sign-in by deleting it ([`end_pending`]).

use diesel::prelude::*;

use super::schema::{pending_logins, recovery_codes, totp};
use super::Conn;

/// An account's authenticator, enrolled (`enabled`) or waiting for its
/// first code.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = totp)]
pub struct TotpRow {
    pub secret: String,
    pub enabled: bool,
    pub last_step: Option<i64>,
}

pub fn totp_of(conn: &mut Conn, user_id: i64) -> QueryResult<Option<TotpRow>> {
    totp::table
        .find(user_id)
        .select(TotpRow::as_select())
        .get_result(conn)
        .optional()
}

/// Starts (or restarts) an enrolment with `secret`; `false` when the
/// account's authenticator is already on, which stays as it was. Two
/// statements that each decide on the row as it is when they run: a
/// confirmation committing in between is never undone.
pub fn start_enrolment(conn: &mut Conn, user_id: i64, secret: &str, now: i64) -> QueryResult<bool> {
    diesel::delete(
        totp::table
            .filter(totp::user_id.eq(user_id))
            .filter(totp::enabled.eq(false)),
    )
    .execute(conn)?;
    let inserted = super::direct!(conn, |c| diesel::insert_into(totp::table)
        .values((
            totp::user_id.eq(user_id),
            totp::secret.eq(secret),
            totp::enabled.eq(false),
            totp::created_at.eq(now),
        ))
        .on_conflict(totp::user_id)
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// Turns on the enrolment made with `secret`, its code of `step` spent;
/// `false` when there is none waiting (none started, already on, or
/// restarted with another secret meanwhile).
pub fn confirm(conn: &mut Conn, user_id: i64, secret: &str, step: i64) -> QueryResult<bool> {
    diesel::update(
        totp::table
            .filter(totp::user_id.eq(user_id))
            .filter(totp::enabled.eq(false))
            .filter(totp::secret.eq(secret)),
    )
    .set((totp::enabled.eq(true), totp::last_step.eq(step)))
    .execute(conn)
    .map(|n| n == 1)
}

/// Spends the account's code of `step`: `true` only for the first request
/// to spend it or a later step, so a code is never accepted twice.
pub fn spend_step(conn: &mut Conn, user_id: i64, step: i64) -> QueryResult<bool> {
    diesel::update(
        totp::table
            .filter(totp::user_id.eq(user_id))
            .filter(totp::enabled.eq(true))
            .filter(totp::last_step.is_null().or(totp::last_step.lt(step))),
    )
    .set(totp::last_step.eq(step))
    .execute(conn)
    .map(|n| n == 1)
}

/// Removes the account's authenticator (on or waiting) and its recovery
/// codes; `true` if it was on.
pub fn remove(conn: &mut Conn, user_id: i64) -> QueryResult<bool> {
    let was_on = diesel::delete(
        totp::table
            .filter(totp::user_id.eq(user_id))
            .filter(totp::enabled.eq(true)),
    )
    .execute(conn)?
        == 1;
    diesel::delete(totp::table.filter(totp::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(was_on)
}

/// Replaces the account's recovery codes with these digests.
pub fn replace_codes(
    conn: &mut Conn,
    user_id: i64,
    digests: &[String],
    now: i64,
) -> QueryResult<()> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user_id)))
        .execute(conn)?;
    let rows: Vec<_> = digests
        .iter()
        .map(|digest| {
            (
                recovery_codes::user_id.eq(user_id),
                recovery_codes::digest.eq(digest),
                recovery_codes::created_at.eq(now),
            )
        })
        .collect();
    // One statement for the set (a batch insert, which only the concrete
    // connections can write).
    super::direct!(conn, |c| diesel::insert_into(recovery_codes::table)
        .values(&rows)
        .execute(c))
    .map(|_| ())
}

/// Spends the account's unused code with this digest; `false` if it has
/// none (wrong, or already used).
pub fn spend_code(conn: &mut Conn, user_id: i64, digest: &str, now: i64) -> QueryResult<bool> {
    diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::digest.eq(digest))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(now))
    .execute(conn)
    .map(|n| n == 1)
}

/// How many of the account's recovery codes are left.
pub fn codes_left(conn: &mut Conn, user_id: i64) -> QueryResult<i64> {
    recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(conn)
}

/// A sign-in waiting for its second step.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pending_logins)]
pub struct PendingRow {
    pub user_id: i64,
    pub stay_signed_in: bool,
}

pub fn insert_pending(
    conn: &mut Conn,
    token_hash: &str,
    user_id: i64,
    stay_signed_in: bool,
    now: i64,
    expires_at: i64,
) -> QueryResult<()> {
    diesel::insert_into(pending_logins::table)
        .values((
            pending_logins::token_hash.eq(token_hash),
            pending_logins::user_id.eq(user_id),
            pending_logins::stay_signed_in.eq(stay_signed_in),
            pending_logins::created_at.eq(now),
            pending_logins::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The live pending sign-in whose token hashes to `token_hash`.
pub fn find_pending(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> QueryResult<Option<PendingRow>> {
    pending_logins::table
        .find(token_hash)
        .filter(pending_logins::expires_at.gt(now))
        .select(PendingRow::as_select())
        .get_result(conn)
        .optional()
}

/// Ends the pending sign-in; `false` if another request ended it first.
pub fn end_pending(conn: &mut Conn, token_hash: &str) -> QueryResult<bool> {
    diesel::delete(pending_logins::table.find(token_hash))
        .execute(conn)
        .map(|n| n == 1)
}

/// Ends every pending sign-in of the account (it was disabled, or its
/// second factors removed).
pub fn end_pending_of(conn: &mut Conn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(pending_logins::table.filter(pending_logins::user_id.eq(user_id))).execute(conn)
}

/// Deletes expired pending sign-ins; returns how many.
pub fn purge_expired_pending(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(pending_logins::table.filter(pending_logins::expires_at.le(now))).execute(conn)
}
