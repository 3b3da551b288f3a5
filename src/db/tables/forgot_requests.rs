//! Queries on `forgot_requests`: `POST /password/forgot` and
//! `POST /login/email` as recorded by the request (one insert, whoever
//! holds the address), waiting for the background sender
//! (`crate::mail::sender`) to act on it.
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
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::schema::forgot_requests;
use super::{Conn, DbConnection};

/// What a request asks the sender for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// A password-reset link for every account holding the address.
    Reset,
    /// A sign-in link and code for the address (`POST /login/email`).
    SignIn,
}

impl Asked {
    pub fn as_str(self) -> &'static str {
        match self {
            Asked::Reset => "reset",
            Asked::SignIn => "sign_in",
        }
    }
}

/// A request to record.
pub struct NewRequest<'a> {
    pub asked: Asked,
    /// A sign-in's stay-signed-in choice.
    pub stay_signed_in: bool,
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
            forgot_requests::purpose.eq(new.asked.as_str()),
            forgot_requests::stay_signed_in.eq(new.stay_signed_in),
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
    #[diesel(sql_type = Text)]
    purpose: String,
    #[diesel(sql_type = Bool)]
    pub stay_signed_in: bool,
}

impl Taken {
    /// What it asks for; `None` for a purpose this build does not know
    /// (written by a newer one sharing the database).
    pub fn asked(&self) -> Option<Asked> {
        match self.purpose.as_str() {
            "reset" => Some(Asked::Reset),
            "sign_in" => Some(Asked::SignIn),
            _ => None,
        }
    }
}

/// Deletes and returns up to `limit` of the oldest requests (see the module
/// note). The caller runs this in the write transaction that acts on them.
/// The `LIMIT` is written into the text, never bound (`db::engine::limit`).
pub fn take(conn: &mut Conn, limit: i64) -> QueryResult<Vec<Taken>> {
    let mut taken: Vec<Taken> = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(format!(
            "DELETE FROM forgot_requests \
             WHERE id IN (SELECT id FROM forgot_requests ORDER BY id LIMIT {limit} \
                          FOR UPDATE SKIP LOCKED) \
             RETURNING id, email, email_key, ip, user_agent, requested_at, purpose, stay_signed_in"
        ))
        .load(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(format!(
            "DELETE FROM forgot_requests \
             WHERE id IN (SELECT id FROM forgot_requests ORDER BY id LIMIT {limit}) \
             RETURNING id, email, email_key, ip, user_agent, requested_at, purpose, stay_signed_in"
        ))
        .load(sqlite)?,
    };
    // RETURNING promises no order; act on them as they came.
    taken.sort_by_key(|t| t.id);
    Ok(taken)
}
