//! Queries on `identities` and `provider_flows`: the accounts' identities
//! at other providers, and the sign-ins sent to a provider and not back
//! yet.
//!
//! Both "once only" rules are decided by the database, whichever instance
//! asks: an identity belongs to one account by the unique index on
//! `(provider, subject)` ([`link`]), and a flow is used once because the
//! callback deletes it as it reads it ([`take_flow`]).

use diesel::prelude::*;

use super::schema::{identities, provider_flows};
use super::Conn;
use crate::db::engine::Unique;

/// An identity as its owner sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = identities)]
pub struct IdentityRow {
    pub id: i64,
    pub provider: String,
    pub email: Option<String>,
    pub created_at: i64,
}

/// The account linked to `subject` at `provider`, if any.
pub fn owner(conn: &mut Conn, provider: &str, subject: &str) -> QueryResult<Option<i64>> {
    identities::table
        .filter(identities::provider.eq(provider))
        .filter(identities::subject.eq(subject))
        .select(identities::user_id)
        .unique(conn)
}

/// Links `subject` at `provider` to the account: its id, or `None` when
/// the identity belongs to an account already (another request linked it
/// first). Runs in a savepoint, so that on PostgreSQL the refused insert
/// leaves the caller's transaction usable.
pub fn link(
    conn: &mut Conn,
    user_id: i64,
    provider: &str,
    subject: &str,
    email: Option<&str>,
    now: i64,
) -> QueryResult<Option<i64>> {
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(identities::table)
            .values((
                identities::user_id.eq(user_id),
                identities::provider.eq(provider),
                identities::subject.eq(subject),
                identities::email.eq(email),
                identities::created_at.eq(now),
            ))
            .returning(identities::id)
            .get_result::<i64>(conn)
    });
    match inserted {
        Ok(id) => Ok(Some(id)),
        Err(e) if super::is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The account's identities, oldest first.
pub fn list(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<IdentityRow>> {
    identities::table
        .filter(identities::user_id.eq(user_id))
        .order(identities::id)
        .select(IdentityRow::as_select())
        .load(conn)
}

/// The account's identities as the provider names them (provider,
/// subject, linked at), oldest first: for the account's export.
pub fn subjects_of(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<(String, String, i64)>> {
    identities::table
        .filter(identities::user_id.eq(user_id))
        .order(identities::id)
        .select((
            identities::provider,
            identities::subject,
            identities::created_at,
        ))
        .load(conn)
}

pub fn count_of(conn: &mut Conn, user_id: i64) -> QueryResult<i64> {
    identities::table
        .filter(identities::user_id.eq(user_id))
        .count()
        .get_result(conn)
}

/// Removes the account's identity `id`: its provider, or `None` when the
/// account has no such identity.
pub fn unlink(conn: &mut Conn, user_id: i64, id: i64) -> QueryResult<Option<String>> {
    diesel::delete(
        identities::table
            .filter(identities::id.eq(id))
            .filter(identities::user_id.eq(user_id)),
    )
    .returning(identities::provider)
    .get_result(conn)
    .optional()
}

/// A sign-in sent to a provider, as the callback needs it back.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = provider_flows)]
pub struct FlowRow {
    pub browser_hash: String,
    pub provider: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    /// The account a link is for (`None`: a sign-in).
    pub user_id: Option<i64>,
    pub stay_signed_in: bool,
    pub expires_at: i64,
    /// The session that asked for the link, which must still be the
    /// browser's when the provider sends it back.
    pub session_id: Option<String>,
}

/// A new flow, named by the hash of its `state`.
pub struct NewFlow<'a> {
    pub state_hash: &'a str,
    pub row: &'a FlowRow,
}

pub fn put_flow(conn: &mut Conn, new: NewFlow<'_>) -> QueryResult<()> {
    let row = new.row;
    diesel::insert_into(provider_flows::table)
        .values((
            provider_flows::state_hash.eq(new.state_hash),
            provider_flows::browser_hash.eq(&row.browser_hash),
            provider_flows::provider.eq(&row.provider),
            provider_flows::nonce.eq(&row.nonce),
            provider_flows::pkce_verifier.eq(&row.pkce_verifier),
            provider_flows::return_to.eq(&row.return_to),
            provider_flows::user_id.eq(row.user_id),
            provider_flows::stay_signed_in.eq(row.stay_signed_in),
            provider_flows::expires_at.eq(row.expires_at),
            provider_flows::session_id.eq(row.session_id.as_deref()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Takes out the flow named by `state_hash`, live or not (the caller
/// tells an expired one apart, and it is gone either way); `None` if it is
/// unknown or was taken already.
pub fn take_flow(conn: &mut Conn, state_hash: &str) -> QueryResult<Option<FlowRow>> {
    super::direct!(conn, |c| diesel::delete(
        provider_flows::table.filter(provider_flows::state_hash.eq(state_hash))
    )
    .returning(FlowRow::as_returning())
    .get_result(c)
    .optional())
}

/// Deletes flows that expired unused; returns how many.
pub fn purge_expired(conn: &mut Conn, now: i64) -> QueryResult<usize> {
    diesel::delete(provider_flows::table.filter(provider_flows::expires_at.le(now))).execute(conn)
}
