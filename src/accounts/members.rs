//! What happens to a member, one function each: joining ([`register`]), a
//! change of plan or of complimentary premium ([`change_plan`]), one that
//! ran out by itself ([`end_lapsed_grants`]), of role ([`change_role`]),
//! being disabled or enabled ([`set_disabled`]), and leaving ([`delete`]);
//! a change to what else a member shows (an address, the newsletter) is
//! announced by [`announce_updated`].
//!
//! Every caller goes through these: the command line, an admin, a Stripe
//! event, a way in that makes an account. So each change writes the same
//! rows, counts the same in insights and records the same event, however
//! it came, and a rule (the last admin stays one) holds for every caller.
//! Each runs in the caller's transaction, so the change and all it records
//! commit together or not at all.

use diesel::QueryResult;
use serde_json::{json, Value};

use crate::db::{self, billing, events, insights, sessions, two_factor, users};
use crate::domain::insights::Premium;
use crate::domain::{EventKind, Plan, Requester, Role, User, Username};
use crate::error::ApiError;
use crate::time::{format, from_unix};
use crate::webhooks::{self, Event};

/// Who made a change, as its event names them.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// The command line (`tollgate set-plan`, `set-role`).
    Cli,
    /// An admin, by username.
    Admin(&'a str),
    /// A Stripe event about the member's subscriptions.
    Billing,
}

impl Source<'_> {
    /// The source's name, as events and webhooks give it.
    fn name(self) -> &'static str {
        match self {
            Source::Cli => "cli",
            Source::Admin(_) => "admin",
            Source::Billing => "billing",
        }
    }

    /// Names the source in an event's `detail`: `source` on a plan's
    /// change, and `by` (the admin; `null` from the command line) on a
    /// role's.
    fn mark(self, detail: &mut Value, with_source: bool) {
        if with_source {
            detail["source"] = json!(self.name());
        }
        match self {
            Source::Admin(by) => detail["by"] = json!(by),
            Source::Cli if !with_source => detail["by"] = Value::Null,
            _ => {}
        }
    }
}

/// A change to what makes a member premium.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanChange {
    /// The stored plan (until the next subscription event says otherwise).
    Stored(Plan),
    /// Complimentary premium until a time (`None`: none), kept apart from
    /// the stored plan so that no subscription event shortens it; it ends
    /// by itself ([`Plan::in_force`]).
    Grant(Option<i64>),
}

/// What a member was and is after a [`change_plan`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub before: Premium,
    pub after: Premium,
    /// Whether anything was written: a change to what the member has
    /// already changes and records nothing.
    pub changed: bool,
}

impl Moved {
    fn nothing(standing: Premium) -> Moved {
        Moved {
            before: standing,
            after: standing,
            changed: false,
        }
    }
}

/// A new free member with `password_hash` (empty: none yet); `None` when
/// the name, in any case, is taken. Counted in insights.
pub fn register(
    conn: &mut db::Conn,
    now: i64,
    username: &Username,
    password_hash: &str,
) -> QueryResult<Option<User>> {
    let user = users::insert(conn, username, password_hash, now)?;
    registered(conn, now, user)
}

/// [`register`] in a savepoint, for a caller that tries names in one
/// transaction (`users::insert_in_savepoint`).
pub fn register_in_savepoint(
    conn: &mut db::Conn,
    now: i64,
    username: &Username,
    password_hash: &str,
) -> QueryResult<Option<User>> {
    let user = users::insert_in_savepoint(conn, username, password_hash, now)?;
    registered(conn, now, user)
}

/// Many accounts at once, brought in by a list (`accounts::import`):
/// inserted in one statement and counted in insights as registrations, as
/// [`register`] counts one; their ids, in order.
pub fn register_imported(
    conn: &mut db::Conn,
    now: i64,
    imported: &[users::Imported<'_>],
) -> QueryResult<Vec<i64>> {
    let ids = users::insert_imported(conn, imported)?;
    insights::registered_many(conn, now, ids.len() as i32)?;
    // Each member's `member.created`, as `announce_joined` writes one; asked
    // first whether any webhook listens, so that a list of 10^5 members
    // does not cost 10^5 statements that write nothing.
    if db::webhooks::any_enabled(conn)? {
        for id in &ids {
            webhooks::record(conn, now, Event::MemberCreated { id: *id })?;
        }
    }
    Ok(ids)
}

fn registered(conn: &mut db::Conn, now: i64, user: Option<User>) -> QueryResult<Option<User>> {
    if user.is_some() {
        insights::registered(conn, now)?;
    }
    Ok(user)
}

/// `member.created` for member `id`, written where the making of an
/// account ends — its address set (and verified) in the same transaction —
/// so that the webhook reports the member as they joined: every way in
/// ends in `sign_in::enter`, and a list's members in `accounts::import`.
pub fn announce_joined(conn: &mut db::Conn, now: i64, id: i64) -> QueryResult<()> {
    webhooks::record(conn, now, Event::MemberCreated { id })
}

/// `member.updated` for member `id`, written in the transaction of a change
/// to what a Member shows besides its plan and role (an address set,
/// removed or verified; the newsletter taken or left), by the route that
/// makes it. The webhook reads the member as that transaction leaves them.
pub fn announce_updated(conn: &mut db::Conn, now: i64, id: i64) -> QueryResult<()> {
    webhooks::record(conn, now, Event::MemberUpdated { id })
}

/// Grants ended per transaction by [`end_lapsed_grants`].
pub const LAPSES_PER_ROUND: i64 = 500;

/// Ends every complimentary grant that has run out by `now`, up to
/// `limit` of them; how many it ended.
///
/// A grant needs nothing to run out: the plan in force is decided from
/// `premium_until` at each read ([`Plan::in_force`]), and insights counted
/// its lapse ahead, on its day. What cannot be decided at a read is telling
/// other systems, so this (run by the purge, on every instance) clears
/// each lapsed grant's `premium_until`, under the member's row lock, and
/// records the `member.plan_changed` it made (`source` `grant_ended`, at
/// the moment it ran out) in the same transaction: the cleared column is
/// what makes the lapse reported once, however many instances look.
/// A member whose stored plan is premium lost nothing and is not reported.
pub fn end_lapsed_grants(conn: &mut db::Conn, now: i64, limit: i64) -> QueryResult<usize> {
    let mut ended = 0;
    for id in users::lapsed_grants(conn, now, limit)? {
        let Some((stored, Some(until))) = users::standing_locked(conn, id)? else {
            continue;
        };
        // Given again or removed since it was listed.
        if until > now {
            continue;
        }
        users::set_premium_until(conn, id, None)?;
        ended += 1;
        if stored == Plan::Premium {
            continue;
        }
        let lapsed = Event::PlanChanged {
            id,
            from: Plan::Premium.as_str(),
            to: Plan::Free.as_str(),
            source: "grant_ended",
        };
        // At `until`: when the member stopped being premium, which is also
        // the moment the member is shown at.
        webhooks::record(conn, until, lapsed)?;
    }
    Ok(ended)
}

/// Changes what makes member `id` premium at `now`, as `source` asks;
/// `None` when there is no such member. The member's row is locked first,
/// so that a change made at the same moment counts from this one's result.
///
/// Insights count every change of the plan in force. The `plan_changed`
/// event records a change of the stored plan by hand (`from` and `to` the
/// stored plans), a change of the plan in force by billing (a conversion,
/// too, when it is to premium), and every change of a grant (`from` and
/// `to` the plan in force, `premium_until` the grant).
pub fn change_plan(
    conn: &mut db::Conn,
    now: i64,
    id: i64,
    change: PlanChange,
    source: Source<'_>,
) -> QueryResult<Option<Moved>> {
    let Some((stored, until)) = users::standing_locked(conn, id)? else {
        return Ok(None);
    };
    let before = Premium::of(stored, until, now);
    let (new_stored, new_until) = match change {
        PlanChange::Stored(plan) if plan != stored => (plan, until),
        // A grant that has lapsed counts as none.
        PlanChange::Grant(grant) if grant != Plan::running_grant(until, now) => (stored, grant),
        _ => return Ok(Some(Moved::nothing(before))),
    };
    match change {
        PlanChange::Stored(plan) => users::set_plan(conn, id, plan)?,
        PlanChange::Grant(grant) => users::set_premium_until(conn, id, grant)?,
    }
    let after = Premium::of(new_stored, new_until, now);
    insights::plan_moved(conn, id, before, after, now)?;
    let in_force = |premium: Premium| match premium.is_premium() {
        true => Plan::Premium,
        false => Plan::Free,
    };
    let mut detail = match (change, source) {
        (PlanChange::Stored(_), Source::Billing) => {
            if before.is_premium() == after.is_premium() {
                return Ok(Some(Moved {
                    before,
                    after,
                    changed: true,
                }));
            }
            if after.is_premium() {
                insights::converted(conn, id, now)?;
            }
            json!({ "from": in_force(before).as_str(), "to": in_force(after).as_str() })
        }
        (PlanChange::Stored(plan), _) => json!({ "from": stored.as_str(), "to": plan.as_str() }),
        (PlanChange::Grant(grant), _) => json!({
            "from": in_force(before).as_str(),
            "to": in_force(after).as_str(),
            "premium_until": grant.map(|until| format(from_unix(until))),
        }),
    };
    source.mark(&mut detail, true);
    // Webhooks hear of the same changes as the member's events, by the
    // same rule and with the same `from` and `to`.
    let changed = Event::PlanChanged {
        id,
        from: detail["from"].as_str().unwrap_or_default(),
        to: detail["to"].as_str().unwrap_or_default(),
        source: source.name(),
    };
    webhooks::record(conn, now, changed)?;
    let kind = EventKind::PlanChanged;
    events::record(conn, now, id, kind, &Requester::NOBODY, detail)?;
    Ok(Some(Moved {
        before,
        after,
        changed: true,
    }))
}

/// Changes member `id`'s role at `now`; whether it changed.
/// `409 last_admin` when that would leave no enabled admin;
/// `404` when there is no such member.
pub fn change_role(
    conn: &mut db::Conn,
    now: i64,
    id: i64,
    role: Role,
    source: Source<'_>,
) -> Result<bool, ApiError> {
    let user = users::find(conn, id)?.ok_or(ApiError::NotFound)?;
    let from = user.role();
    if from == role {
        return Ok(false);
    }
    if from == Role::Admin && !user.disabled {
        keep_an_admin(conn, id)?;
    }
    users::set_role(conn, id, role)?;
    webhooks::record(conn, now, Event::MemberUpdated { id })?;
    let mut detail = json!({ "from": from.as_str(), "to": role.as_str() });
    source.mark(&mut detail, false);
    let kind = EventKind::RoleChanged;
    events::record(conn, now, id, kind, &Requester::NOBODY, detail)?;
    Ok(true)
}

/// Disables member `id` (every session ends, and so does any sign-in
/// waiting for its second step) or enables them, at `now`, as admin `by`
/// asks; whether it changed. `409 last_admin` when that would leave no
/// enabled admin; `404` when there is no such member.
pub fn set_disabled(
    conn: &mut db::Conn,
    now: i64,
    id: i64,
    disabled: bool,
    by: &str,
) -> Result<bool, ApiError> {
    let user = users::find(conn, id)?.ok_or(ApiError::NotFound)?;
    if user.disabled == disabled {
        return Ok(false);
    }
    if disabled && user.role() == Role::Admin {
        keep_an_admin(conn, id)?;
    }
    users::set_disabled(conn, id, disabled)?;
    webhooks::record(conn, now, Event::MemberUpdated { id })?;
    let kind = if disabled {
        sessions::end_all(conn, id)?;
        two_factor::end_pending_of(conn, id)?;
        EventKind::AccountDisabled
    } else {
        EventKind::AccountEnabled
    };
    events::record(conn, now, id, kind, &Requester::NOBODY, json!({ "by": by }))?;
    Ok(true)
}

/// `409 last_admin` unless an enabled admin other than `id` is left
/// (`users::another_admin_than` holds the admins still until the
/// transaction ends, so two admins demoting each other at once cannot both
/// see the other one left).
fn keep_an_admin(conn: &mut db::Conn, id: i64) -> Result<(), ApiError> {
    match users::another_admin_than(conn, id)? {
        true => Ok(()),
        false => Err(ApiError::LastAdmin),
    }
}

/// Deletes member `id` at `now`: their sessions, unlocks and the rest go
/// with the row (ON DELETE CASCADE); insights count one member fewer, and
/// their subscriptions (cancelled at Stripe first) leave monthly revenue.
pub fn delete(conn: &mut db::Conn, now: i64, id: i64) -> QueryResult<()> {
    let Some((stored, until)) = users::standing_locked(conn, id)? else {
        return Ok(());
    };
    let before = Premium::of(stored, until, now);
    for (currency, monthly) in billing::revenue_of(conn, id)? {
        insights::revenue_moved(conn, &currency, -monthly, now)?;
    }
    users::delete(conn, id)?;
    webhooks::record(conn, now, Event::MemberDeleted { id })?;
    insights::account_deleted(conn, id, before, now)
}
