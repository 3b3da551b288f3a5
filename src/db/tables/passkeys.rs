//! Queries on `passkeys`, `webauthn_challenges` and `users.passkey_handle`.
//! A challenge is taken out of the table by the request that answers it
//! ([`take_challenge`]): one statement, so a replayed answer, on any
//! instance, finds nothing.

use diesel::prelude::*;

use super::schema::{passkeys, users, webauthn_challenges};
use super::Conn;

/// A passkey as its owner sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct PasskeyRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// A passkey with what verifying a sign-in needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passkeys)]
pub struct CredentialRow {
    pub id: i64,
    pub user_id: i64,
    pub credential_id: String,
    pub public_key: String,
    pub counter: String,
}

/// A passkey to store.
pub struct NewPasskey<'a> {
    pub user_id: i64,
    pub credential_id: &'a str,
    pub public_key: &'a str,
    pub counter: &'a str,
    pub name: &'a str,
    pub now: i64,
}

/// The account's user handle, made (once, whoever asks first) if it has
/// none yet.
pub fn handle_of(conn: &mut Conn, user_id: i64, fresh: &str) -> QueryResult<String> {
    diesel::update(
        users::table
            .filter(users::id.eq(user_id))
            .filter(users::passkey_handle.is_null()),
    )
    .set(users::passkey_handle.eq(fresh))
    .execute(conn)?;
    users::table
        .find(user_id)
        .select(users::passkey_handle.assume_not_null())
        .get_result(conn)
}

/// The account whose user handle this is.
pub fn user_by_handle(conn: &mut Conn, handle: &str) -> QueryResult<Option<i64>> {
    users::table
        .filter(users::passkey_handle.eq(handle))
        .select(users::id)
        .get_result(conn)
        .optional()
}

pub fn credential_ids_of(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<String>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .select(passkeys::credential_id)
        .load(conn)
}

/// Stores a passkey; `None` when its credential is already registered.
pub fn insert(conn: &mut Conn, new: &NewPasskey<'_>) -> QueryResult<Option<PasskeyRow>> {
    let inserted = diesel::insert_into(passkeys::table)
        .values((
            passkeys::user_id.eq(new.user_id),
            passkeys::credential_id.eq(new.credential_id),
            passkeys::public_key.eq(new.public_key),
            passkeys::counter.eq(new.counter),
            passkeys::name.eq(new.name),
            passkeys::created_at.eq(new.now),
        ))
        .returning(passkeys::id)
        .get_result(conn);
    match inserted {
        Ok(id) => Ok(Some(PasskeyRow {
            id,
            name: new.name.to_owned(),
            created_at: new.now,
            last_used_at: None,
        })),
        Err(e) if super::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The account's passkeys, oldest first.
pub fn list(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<PasskeyRow>> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .order(passkeys::id.asc())
        .select(PasskeyRow::as_select())
        .load(conn)
}

pub fn count_of(conn: &mut Conn, user_id: i64) -> QueryResult<i64> {
    passkeys::table
        .filter(passkeys::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

/// Removes one of the account's passkeys; `false` if it has none with
/// that id.
pub fn remove(conn: &mut Conn, user_id: i64, id: i64) -> QueryResult<bool> {
    diesel::delete(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::user_id.eq(user_id)),
    )
    .execute(conn)
    .map(|n| n == 1)
}

/// Removes all of the account's passkeys; how many there were.
pub fn remove_all(conn: &mut Conn, user_id: i64) -> QueryResult<usize> {
    diesel::delete(passkeys::table.filter(passkeys::user_id.eq(user_id))).execute(conn)
}

pub fn by_credential_id(
    conn: &mut Conn,
    credential_id: &str,
) -> QueryResult<Option<CredentialRow>> {
    passkeys::table
        .filter(passkeys::credential_id.eq(credential_id))
        .select(CredentialRow::as_select())
        .get_result(conn)
        .optional()
}

/// Records a sign-in with the passkey: its new counter, if the counter
/// stored is still `previous` (two sign-ins with one passkey at once: the
/// second finds it moved and fails, as a cloned authenticator would).
pub fn used(
    conn: &mut Conn,
    id: i64,
    previous: &str,
    counter: &str,
    now: i64,
) -> QueryResult<bool> {
    diesel::update(
        passkeys::table
            .filter(passkeys::id.eq(id))
            .filter(passkeys::counter.eq(previous)),
    )
    .set((
        passkeys::counter.eq(counter),
        passkeys::last_used_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// What a ceremony is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Register,
    Login,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::Login => "login",
        }
    }
}

pub fn put_challenge(
    conn: &mut Conn,
    challenge: &str,
    kind: Kind,
    user_id: Option<i64>,
    state: &str,
    expires_at: i64,
) -> QueryResult<()> {
    diesel::insert_into(webauthn_challenges::table)
        .values((
            webauthn_challenges::challenge.eq(challenge),
            webauthn_challenges::kind.eq(kind.as_str()),
            webauthn_challenges::user_id.eq(user_id),
            webauthn_challenges::state.eq(state),
            webauthn_challenges::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Takes out the live challenge of this kind: its account (if it was
/// begun for one) and state. `None` if it is unknown, expired, or was
/// taken already.
pub fn take_challenge(
    conn: &mut Conn,
    challenge: &str,
    kind: Kind,
    now: i64,
) -> QueryResult<Option<(Option<i64>, String)>> {
    diesel::delete(
        webauthn_challenges::table
            .filter(webauthn_challenges::challenge.eq(challenge))
            .filter(webauthn_challenges::kind.eq(kind.as_str()))
            .filter(webauthn_challenges::expires_at.gt(now)),
    )
    .returning((webauthn_challenges::user_id, webauthn_challenges::state))
    .get_result(conn)
    .optional()
}

/// Deletes expired challenges; returns how many.
pub fn purge_expired(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(webauthn_challenges::table.filter(webauthn_challenges::expires_at.le(now)))
        .execute(conn)
}
