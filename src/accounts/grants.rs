//! Complimentary premium: a grant of premium until a time, kept apart from
//! the stored plan, so that neither a subscription event nor `set-plan`
//! shortens it and it ends by itself ([`Plan::in_force`]). Given by an
//! admin (`PATCH /admin/users/{id}`) or from the command line (`tollgate
//! set-plan … premium --until`), each recorded as a `plan_changed` event.

use diesel::QueryResult;
use serde_json::json;

use crate::db::{self, events, users};
use crate::domain::{EventKind, Plan, Requester};
use crate::time::{format, from_unix};

/// Who gives a grant, as the `plan_changed` event names them.
pub enum Giver<'a> {
    /// An admin, by username.
    Admin(&'a str),
    /// The command line.
    Cli,
}

/// Sets `user`'s grant to `until` (`None`: removes it) at `now`, recording
/// a `plan_changed` event (`from` and `to` the plan in force before and
/// after, `premium_until` the grant) unless nothing changes. Answers
/// whether it changed. A grant that has lapsed counts as none.
pub fn set(
    conn: &mut db::Conn,
    now: i64,
    user: &users::UserRow,
    until: Option<i64>,
    giver: Giver<'_>,
) -> QueryResult<bool> {
    let held = Plan::running_grant(user.premium_until, now);
    if held == until {
        return Ok(false);
    }
    users::set_premium_until(conn, user.id, until, now)?;
    let stored = user.stored_plan();
    let from = Plan::in_force(stored, held, now);
    let to = Plan::in_force(stored, until, now);
    let mut detail = json!({
        "from": from.as_str(),
        "to": to.as_str(),
        "premium_until": until.map(|until| format(from_unix(until))),
    });
    match giver {
        Giver::Admin(by) => {
            detail["source"] = json!("admin");
            detail["by"] = json!(by);
        }
        Giver::Cli => detail["source"] = json!("cli"),
    }
    events::record(
        conn,
        now,
        user.id,
        EventKind::PlanChanged,
        &Requester::NOBODY,
        detail,
    )?;
    Ok(true)
}
