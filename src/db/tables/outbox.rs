//! Queries on `outbox`: messages committed with the change that caused
//! them, claimed and delivered by the background sender (`crate::mail`).
//!
//! How a message is sent once, across any number of instances: a sender
//! claims due rows in one statement that moves their `next_attempt_at` a
//! lease into the future and counts the attempt. On PostgreSQL the rows
//! are picked `FOR UPDATE SKIP LOCKED`, so two instances claiming at the
//! same moment take disjoint rows (and a row another transaction has just
//! claimed is re-checked against its new, future due time); on SQLite the
//! claim runs in an IMMEDIATE write transaction, one writer at a time.
//! Until the lease runs out nobody else sees the row as due. A sender that
//! dies mid-delivery (a crash, `kill -9`) leaves the row pending, so it is
//! delivered after the lease by whichever instance claims it next: nothing
//! acknowledged is lost. (The one duplicate no outbox can rule out: a
//! process killed after the SMTP server took the message and before the row
//! was marked sent.)

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::schema::outbox;
use super::{Conn, DbConnection};

/// A message to queue.
pub struct NewMessage<'a> {
    pub recipient: &'a str,
    pub recipient_key: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub now: i64,
}

pub fn insert(conn: &mut Conn, new: &NewMessage<'_>) -> QueryResult<()> {
    diesel::insert_into(outbox::table)
        .values((
            outbox::recipient.eq(new.recipient),
            outbox::recipient_key.eq(new.recipient_key),
            outbox::subject.eq(new.subject),
            outbox::body.eq(new.body),
            outbox::state.eq("pending"),
            outbox::created_at.eq(new.now),
            outbox::next_attempt_at.eq(new.now),
            outbox::attempts.eq(0),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Serializes the quota check and insert for one address across instances:
/// a PostgreSQL advisory lock held to the end of the caller's transaction
/// (SQLite's IMMEDIATE transaction already runs one writer at a time).
pub fn lock_address(conn: &mut Conn, key: &str) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('outbox:' || $1))")
            .bind::<Text, _>(key)
            .execute(pg)?;
    }
    Ok(())
}

/// How many messages to `key` were queued after `since` (sent, failed or
/// pending alike: the limit is on what the address is sent).
pub fn queued_since(conn: &mut Conn, key: &str, since: i64) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::recipient_key.eq(key))
        .filter(outbox::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// A message claimed for delivery.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = BigInt)]
    pub created_at: i64,
    /// Attempts so far, this one included.
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
}

/// Claims up to `limit` due messages until `lease_until` (see the module
/// note). The caller runs this in a write transaction.
/// The `LIMIT` is written into the text, never bound (`db::engine::limit`).
pub fn claim(conn: &mut Conn, now: i64, lease_until: i64, limit: i64) -> QueryResult<Vec<Claimed>> {
    match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(format!(
            "UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
                          WHERE state = 'pending' AND next_attempt_at <= $2 \
                          ORDER BY next_attempt_at, id LIMIT {limit} \
                          FOR UPDATE SKIP LOCKED) \
             RETURNING id, recipient, subject, body, created_at, attempts"
        ))
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .load(pg),
        DbConnection::Sqlite(sqlite) => diesel::sql_query(format!(
            "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1 \
             WHERE id IN (SELECT id FROM outbox \
                          WHERE state = 'pending' AND next_attempt_at <= ? \
                          ORDER BY next_attempt_at, id LIMIT {limit}) \
             RETURNING id, recipient, subject, body, created_at, attempts"
        ))
        .bind::<BigInt, _>(lease_until)
        .bind::<BigInt, _>(now)
        .load(sqlite),
    }
}

/// Done: delivered (`failure` is `None`) or given up, and why. The subject
/// and body, which hold a link's token or a code (sealed), are blanked; the
/// row stays an hour for the per-address limit.
pub fn finish(conn: &mut Conn, id: i64, failure: Option<&str>) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::state.eq(if failure.is_none() { "sent" } else { "failed" }),
            outbox::subject.eq(""),
            outbox::body.eq(""),
            outbox::failure.eq(failure),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A failed attempt: try again at `at`.
pub fn retry_at(conn: &mut Conn, id: i64, at: i64) -> QueryResult<()> {
    diesel::update(outbox::table.find(id))
        .set(outbox::next_attempt_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

/// When the earliest pending message is due, if any is pending.
pub fn next_due(conn: &mut Conn) -> QueryResult<Option<i64>> {
    outbox::table
        .filter(outbox::state.eq("pending"))
        .select(diesel::dsl::min(outbox::next_attempt_at))
        .get_result(conn)
}

/// How many messages wait to be delivered.
pub fn pending(conn: &mut Conn) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::state.eq("pending"))
        .count()
        .get_result(conn)
}

/// Deletes done messages queued at or before `before`; returns how many.
pub fn purge_done(conn: &mut Conn, before: i64) -> QueryResult<usize> {
    diesel::delete(
        outbox::table
            .filter(outbox::state.ne("pending"))
            .filter(outbox::created_at.le(before)),
    )
    .execute(conn)
}
