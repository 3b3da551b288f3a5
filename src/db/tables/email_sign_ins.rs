//! Queries on `email_sign_ins`: the emailed sign-ins (a link and a code
//! each) waiting to be used, kept only as hashes, by the address they were
//! sent to.
//!
//! Each use is one `DELETE … RETURNING`, so of parallel uses of one link or
//! one code, on any number of instances, exactly one gets the row. A row
//! is live while it has not expired and fewer than [`MAX_WRONG_CODES`]
//! wrong codes were typed for its address.

use diesel::prelude::*;

use super::schema::email_sign_ins;
use super::Conn;

/// Wrong codes for an address that kill its live sign-ins, links included.
pub const MAX_WRONG_CODES: i32 = 5;

/// A sign-in to store, with the hashes of its link's token and its code.
pub struct NewSignIn<'a> {
    pub token_hash: &'a str,
    pub code_hash: &'a str,
    pub email: &'a str,
    pub email_key: &'a str,
    pub stay_signed_in: bool,
    pub now: i64,
    pub expires_at: i64,
}

pub fn insert(conn: &mut Conn, new: &NewSignIn<'_>) -> QueryResult<()> {
    diesel::insert_into(email_sign_ins::table)
        .values((
            email_sign_ins::token_hash.eq(new.token_hash),
            email_sign_ins::code_hash.eq(new.code_hash),
            email_sign_ins::email.eq(new.email),
            email_sign_ins::email_key.eq(new.email_key),
            email_sign_ins::stay_signed_in.eq(new.stay_signed_in),
            email_sign_ins::created_at.eq(new.now),
            email_sign_ins::expires_at.eq(new.expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A sign-in just used: the address it was for, as typed and as a key, and
/// the stay-signed-in choice of its request.
#[derive(Queryable, Debug, Clone)]
pub struct Spent {
    pub email: String,
    pub email_key: String,
    pub stay_signed_in: bool,
}

/// The columns a used sign-in answers, as [`Spent`] holds them.
type SpentColumns = (
    email_sign_ins::email,
    email_sign_ins::email_key,
    email_sign_ins::stay_signed_in,
);
const SPENT: SpentColumns = (
    email_sign_ins::email,
    email_sign_ins::email_key,
    email_sign_ins::stay_signed_in,
);

/// Uses the live sign-in whose link has this token hash (see the module
/// note): deleted, and answered.
pub fn spend_by_token(conn: &mut Conn, token_hash: &str, now: i64) -> QueryResult<Option<Spent>> {
    diesel::delete(
        email_sign_ins::table
            .filter(email_sign_ins::token_hash.eq(token_hash))
            .filter(email_sign_ins::expires_at.gt(now))
            .filter(email_sign_ins::wrong_codes.lt(MAX_WRONG_CODES)),
    )
    .returning(SPENT)
    .get_result(conn)
    .optional()
}

/// Uses the live sign-in for `email_key` whose code has this hash (see the
/// module note). (Two live requests with one code are one in a million:
/// both end, as the use of either would end the other.)
pub fn spend_by_code(
    conn: &mut Conn,
    email_key: &str,
    code_hash: &str,
    now: i64,
) -> QueryResult<Option<Spent>> {
    let spent: Vec<Spent> = diesel::delete(
        email_sign_ins::table
            .filter(email_sign_ins::email_key.eq(email_key))
            .filter(email_sign_ins::code_hash.eq(code_hash))
            .filter(email_sign_ins::expires_at.gt(now))
            .filter(email_sign_ins::wrong_codes.lt(MAX_WRONG_CODES)),
    )
    .returning(SPENT)
    .get_results(conn)?;
    Ok(spent.into_iter().next())
}

/// Counts a wrong code against every live sign-in of `email_key`; answers
/// how many were live.
pub fn count_wrong_code(conn: &mut Conn, email_key: &str, now: i64) -> QueryResult<usize> {
    diesel::update(
        email_sign_ins::table
            .filter(email_sign_ins::email_key.eq(email_key))
            .filter(email_sign_ins::expires_at.gt(now))
            .filter(email_sign_ins::wrong_codes.lt(MAX_WRONG_CODES)),
    )
    .set(email_sign_ins::wrong_codes.eq(email_sign_ins::wrong_codes + 1))
    .execute(conn)
}

/// Ends every outstanding sign-in of `email_key`: one was used, or the
/// password or the address of the account holding it changed.
pub fn end_for_address(conn: &mut Conn, email_key: &str) -> QueryResult<usize> {
    diesel::delete(email_sign_ins::table.filter(email_sign_ins::email_key.eq(email_key)))
        .execute(conn)
}

/// Deletes expired and dead sign-ins; returns how many.
pub fn purge_expired(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(
        email_sign_ins::table.filter(
            email_sign_ins::expires_at
                .le(now)
                .or(email_sign_ins::wrong_codes.ge(MAX_WRONG_CODES)),
        ),
    )
    .execute(conn)
}
