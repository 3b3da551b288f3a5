//! Queries on `forgot_requests`: `POST /password/forgot` as recorded by the
//! request (one insert, whoever holds the address), waiting for the
//! background sender (`crate::mail::sender`) to act on it.
//!
//! How a request is acted on once, across any number of instances: the
//! sender deletes the rows it takes (`DELETE … RETURNING`) in the same
//! write transaction as everything it does for them (events, tokens,
//! outbox messages). On PostgreSQL the rows are picked `FOR UPDATE SKIP
//! LOCKED`, so two instances taking at the same moment take disjoint rows;
//! on SQLite the transaction is IMMEDIATE, one writer at a time. A sender
//! that dies before committing leaves its rows in place for the next one:
//! nothing acknowledged is lost, nothing is done twice.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::schema::forgot_requests;
use super::{Conn, DbConnection};

/// A request to record.
pub struct NewRequest<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub now: i64,
}

pub fn insert(conn: &mut Conn, new: &NewRequest<'_>) -> QueryResult<()> {
    diesel::insert_into(forgot_requests::table)
        .values((
            forgot_requests::email.eq(new.email),
            forgot_requests::email_key.eq(new.email_key),
            forgot_requests::ip.eq(new.ip),
            forgot_requests::user_agent.eq(new.user_agent),
            forgot_requests::requested_at.eq(new.now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A request taken by the sender.
#[derive(QueryableByName, Debug)]
pub struct Taken {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Text)]
    pub email_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub ip: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub user_agent: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub requested_at: i64,
}

/// Deletes and returns up to `limit` of the oldest requests (see the module
/// note). The caller runs this in the write transaction that acts on them.
pub fn take(conn: &mut Conn, limit: i64) -> QueryResult<Vec<Taken>> {
    let mut taken: Vec<Taken> = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(
            "DELETE FROM forgot_requests \
             WHERE id IN (SELECT id FROM forgot_requests ORDER BY id LIMIT $1 \
                          FOR UPDATE SKIP LOCKED) \
             RETURNING id, email, email_key, ip, user_agent, requested_at",
        )
        .bind::<BigInt, _>(limit)
        .load(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(
            "DELETE FROM forgot_requests \
             WHERE id IN (SELECT id FROM forgot_requests ORDER BY id LIMIT ?) \
             RETURNING id, email, email_key, ip, user_agent, requested_at",
        )
        .bind::<BigInt, _>(limit)
        .load(sqlite)?,
    };
    // RETURNING promises no order; act on them as they came.
    taken.sort_by_key(|t| t.id);
    Ok(taken)
}
