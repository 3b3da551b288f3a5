//! Queries on `email_tokens`: the tokens of emailed links, kept only as
//! their SHA-256, with the purpose and the address they were issued for.

use diesel::prelude::*;

use super::schema::email_tokens;
use super::Conn;
use crate::db::engine::Unique;

/// What a token may be used for; a verification token cannot reset a
/// password, nor the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
        }
    }
}

/// A token row to insert.
pub struct NewToken<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub purpose: Purpose,
    pub email_key: &'a str,
    pub now: i64,
    pub expires_at: i64,
}

pub fn insert(conn: &mut Conn, new: &NewToken<'_>) -> QueryResult<()> {
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::token_hash.eq(new.token_hash),
            email_tokens::user_id.eq(new.user_id),
            email_tokens::purpose.eq(new.purpose.as_str()),
            email_tokens::email_key.eq(new.email_key),
            email_tokens::created_at.eq(new.now),
            email_tokens::expires_at.eq(new.expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The live token with this hash and purpose: (user id, address key).
/// A read, for the checks made before a token is spent.
pub fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> QueryResult<Option<(i64, String)>> {
    email_tokens::table
        .filter(email_tokens::token_hash.eq(token_hash))
        .filter(email_tokens::purpose.eq(purpose.as_str()))
        .filter(email_tokens::expires_at.gt(now))
        .select((email_tokens::user_id, email_tokens::email_key))
        .unique(conn)
}

/// Spends the live token with this hash and purpose: deletes it and says
/// whose it was, (user id, address key). One statement, so of two requests
/// spending one token (on any instances) exactly one gets the row.
pub fn spend(
    conn: &mut Conn,
    token_hash: &str,
    purpose: Purpose,
    now: i64,
) -> QueryResult<Option<(i64, String)>> {
    diesel::delete(
        email_tokens::table
            .filter(email_tokens::token_hash.eq(token_hash))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::expires_at.gt(now)),
    )
    .returning((email_tokens::user_id, email_tokens::email_key))
    .get_result(conn)
    .optional()
}

/// Kills every token of `purpose` the user holds (every reset link dies
/// on a password change; old verification links die with their address).
pub fn delete_for_user(conn: &mut Conn, user_id: i64, purpose: Purpose) -> QueryResult<usize> {
    diesel::delete(
        email_tokens::table
            .filter(email_tokens::user_id.eq(user_id))
            .filter(email_tokens::purpose.eq(purpose.as_str())),
    )
    .execute(conn)
}

/// Deletes expired tokens; returns how many.
pub fn purge_expired(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(email_tokens::table.filter(email_tokens::expires_at.le(now))).execute(conn)
}
