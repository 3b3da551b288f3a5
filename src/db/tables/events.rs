//! Queries on `events`: what happened to each account. [`record`] is called
//! inside the write transaction of the change it records, so an event
//! without its change (or a change without its event) cannot be committed.

use diesel::prelude::*;

use super::schema::events;
use super::Conn;
use crate::db::engine::WrittenLimit;
use crate::domain::{EventKind, Requester};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub kind: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// A JSON object, as text.
    pub detail: String,
}

/// Records that `kind` happened to `user_id` at `at`, caused by `by`, with
/// `detail` (a JSON object; `Value::Null` stores `{}`). Call it inside the
/// `write_transaction` of the change it records.
pub fn record(
    conn: &mut Conn,
    at: i64,
    user_id: i64,
    kind: EventKind,
    by: &Requester,
    detail: serde_json::Value,
) -> QueryResult<()> {
    let detail = match detail {
        serde_json::Value::Null => "{}".to_owned(),
        other => other.to_string(),
    };
    diesel::insert_into(events::table)
        .values((
            events::user_id.eq(user_id),
            events::at.eq(at),
            events::kind.eq(kind.as_str()),
            events::ip.eq(by.ip.map(|ip| ip.to_string())),
            events::user_agent.eq(by.user_agent.as_deref()),
            events::detail.eq(detail),
        ))
        .execute(conn)
        .map(|_| ())
}

/// [`record`] for many users at once, one statement: the same event of
/// each (members brought in by a list).
pub fn record_each(
    conn: &mut Conn,
    at: i64,
    user_ids: &[i64],
    kind: EventKind,
    by: &Requester,
    detail: &serde_json::Value,
) -> QueryResult<()> {
    let detail = detail.to_string();
    let ip = by.ip.map(|ip| ip.to_string());
    let rows: Vec<_> = user_ids
        .iter()
        .map(|user_id| {
            (
                events::user_id.eq(*user_id),
                events::at.eq(at),
                events::kind.eq(kind.as_str()),
                events::ip.eq(ip.clone()),
                events::user_agent.eq(by.user_agent.clone()),
                events::detail.eq(detail.clone()),
            )
        })
        .collect();
    super::direct!(conn, |c| diesel::insert_into(events::table)
        .values(&rows)
        .execute(c))
    .map(|_| ())
}

/// [`record`] for an event that carries no detail.
pub fn record_plain(
    conn: &mut Conn,
    at: i64,
    user_id: i64,
    kind: EventKind,
    by: &Requester,
) -> QueryResult<()> {
    record(conn, at, user_id, kind, by, serde_json::Value::Null)
}

/// One page of `user_id`'s events, newest first, and how many they have.
pub fn page(
    conn: &mut Conn,
    user_id: i64,
    page: i64,
    per_page: i64,
) -> QueryResult<(Vec<EventRow>, i64)> {
    let total = events::table
        .filter(events::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    let rows = events::table
        .filter(events::user_id.eq(user_id))
        .order((events::at.desc(), events::id.desc()))
        .select(EventRow::as_select())
        .limit_written(per_page)
        .offset((page - 1) * per_page)
        .load(conn)?;
    Ok((rows, total))
}

/// Every event `user_id` has (those EVENT_RETENTION_DAYS keep), newest
/// first: for the account's export.
pub fn all_of(conn: &mut Conn, user_id: i64) -> QueryResult<Vec<EventRow>> {
    events::table
        .filter(events::user_id.eq(user_id))
        .order((events::at.desc(), events::id.desc()))
        .select(EventRow::as_select())
        .load(conn)
}

/// Deletes events recorded before `cutoff` (EVENT_RETENTION_DAYS ago).
pub fn purge_older_than(conn: &mut Conn, cutoff: i64) -> QueryResult<usize> {
    diesel::delete(events::table.filter(events::at.lt(cutoff))).execute(conn)
}
