//! Queries on `sessions`: one row per login, found by the SHA-256 of the
//! cookie's token. How a chunk of batched work looks its sessions up in one
//! statement is in [`read_ahead`].

pub mod read_ahead;

use diesel::prelude::*;

use super::schema::{sessions, users};
use super::Conn;
use crate::db::rows::UserRow;

/// A session as the guard checks it: everything but the user agent, which
/// only the list of a user's sessions shows ([`SessionRow`]).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct LiveSession {
    pub id: String,
    pub user_id: i64,
    pub stay_signed_in: bool,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// The client IP that last used it.
    pub ip: Option<String>,
}

/// A session as the list of a user's sessions shows it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    #[diesel(embed)]
    pub live: LiveSession,
    pub user_agent: Option<String>,
}

/// A session row to insert; `token_hash` is all that is kept of the token.
pub struct NewSession<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub user_id: i64,
    pub stay_signed_in: bool,
    pub user_agent: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub now: i64,
    pub expires_at: i64,
}

pub fn insert(conn: &mut Conn, new: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(new.id),
            sessions::token_hash.eq(new.token_hash),
            sessions::user_id.eq(new.user_id),
            sessions::stay_signed_in.eq(new.stay_signed_in),
            sessions::created_at.eq(new.now),
            sessions::last_seen_at.eq(new.now),
            sessions::expires_at.eq(new.expires_at),
            sessions::user_agent.eq(new.user_agent),
            sessions::ip.eq(new.ip),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Gives session `id` a new token hash: the same login, but any copy of
/// the old token stops working.
pub fn set_token_hash(conn: &mut Conn, id: &str, token_hash: &str) -> QueryResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::token_hash.eq(token_hash))
        .execute(conn)
        .map(|_| ())
}

/// The live session with this token hash and its user, in one query: this
/// is the only database round trip an authenticated request needs — and
/// usually not even that: its chunk looked it up already, for every job at
/// once (see [`read_ahead`], and [`read_ahead::live`] for the answer).
pub fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now: i64,
) -> QueryResult<Option<(LiveSession, UserRow)>> {
    // No LIMIT (see the note in db/engine/mod.rs); straight to the backend.
    super::direct!(conn, |c| sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::expires_at.gt(now))
        .select((LiveSession::as_select(), UserRow::as_select()))
        .get_result(c)
        .optional())
}

/// Slides a browser-session login's idle expiry forward, and notes the
/// client IP that used it.
pub fn touch(conn: &mut Conn, id: &str, now: i64, expires_at: i64, ip: &str) -> QueryResult<()> {
    let update = diesel::update(sessions::table.find(id)).set((
        sessions::last_seen_at.eq(now),
        sessions::expires_at.eq(expires_at),
        sessions::ip.eq(ip),
    ));
    super::direct!(conn, |c| update.execute(c).map(|_| ()))
}

/// Ends the session with this id, whoever it belongs to.
pub fn end(conn: &mut Conn, id: &str) -> QueryResult<()> {
    diesel::delete(sessions::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// Ends one of `user_id`'s sessions; `false` if they have none with that id.
pub fn revoke(conn: &mut Conn, user_id: i64, id: &str) -> QueryResult<bool> {
    diesel::delete(
        sessions::table
            .filter(sessions::id.eq(id))
            .filter(sessions::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|n| n > 0)
}

/// Ends every session of `user_id` except `keep`; returns the ids ended.
pub fn revoke_others(conn: &mut Conn, user_id: i64, keep: &str) -> QueryResult<Vec<String>> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::id.ne(keep)),
    )
    .returning(sessions::id)
    .get_results(conn)
}

/// Ends every session of `user_id` (a password reset).
pub fn end_all(conn: &mut Conn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

/// `user_id`'s live sessions, newest first.
pub fn list(conn: &mut Conn, user_id: i64, now: i64) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::expires_at.gt(now))
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .select(SessionRow::as_select())
        .load(conn)
}

/// Deletes expired sessions; returns how many.
pub fn purge_expired(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(now))).execute(conn)
}
