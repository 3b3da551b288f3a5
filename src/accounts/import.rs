//! A member brought in from another list (`tollgate import-members`): made
//! the way every account is — a registration (`members::register`, counted
//! in insights, with its `registered` event), a name made valid and unique
//! as for a provider's sign-in, no password (they sign in by email) — and
//! given what the list says of them: the address, newsletter consent,
//! complimentary premium or premium as `set-plan` gives it (through
//! `members::change_plan`, so insights and events count it as they count
//! any), and their Stripe customer.
//!
//! A member is whole or absent: [`member`] runs in a savepoint of the
//! caller's transaction, so a refusal after the account was made (a
//! customer already someone's) leaves nothing of them. [`at_once`] brings
//! a whole batch in with a statement per kind of row rather than several
//! per member (ten thousand members are then seconds, not minutes, over
//! a network), all or nothing in its own savepoint: the caller brings the
//! batch in one by one when it cannot.

use std::collections::HashSet;

use diesel::Connection;
use serde_json::json;

use super::members::{self, PlanChange, Source};
use super::sign_in::new_passwordless;
use crate::db::{self, billing, events, users};
use crate::domain::member_csv::{Grant, Incoming, NO_END};
use crate::domain::username::candidates;
use crate::domain::{EventKind, Plan, Requester, Username};

/// Why a member was not brought in.
#[derive(Debug)]
pub enum Failed {
    /// A rule of the list's row or of the accounts here: said to the
    /// operator with the row's line, and the row skipped.
    Refused(String),
    Database(diesel::result::Error),
}

impl From<diesel::result::Error> for Failed {
    fn from(e: diesel::result::Error) -> Self {
        Failed::Database(e)
    }
}

/// Makes `incoming` a member at `now` (the address verified when `verify`
/// and the row says it was confirmed); the new member's id. The caller has
/// checked that no account holds the address.
pub fn member(
    conn: &mut db::Conn,
    now: i64,
    incoming: &Incoming,
    verify: bool,
) -> Result<i64, Failed> {
    let made = conn.transaction(|conn| {
        // The name as it was, if it is valid and free here (an export of
        // tollgate reads back as the same members); else one made from it.
        let kept = match Username::parse(&incoming.wanted_name) {
            Ok(name) if !users::exists(conn, &name.key())? => {
                members::register_in_savepoint(conn, now, &name, "")?
            }
            _ => None,
        };
        let user = match kept {
            Some(user) => user,
            None => new_passwordless(conn, &incoming.wanted_name, now)?
                .ok_or_else(|| Failed::Refused("no free username could be made".to_owned()))?,
        };
        let verified = verify && incoming.email_verified;
        let joined = incoming.created_at.unwrap_or(now);
        users::set_imported(
            conn,
            user.id,
            &incoming.email,
            verified,
            incoming.newsletter,
            joined,
        )?;
        let detail = json!({ "method": "import" });
        let kind = EventKind::Registered;
        events::record(conn, now, user.id, kind, &Requester::NOBODY, detail)?;
        given(conn, now, incoming, user.id)?;
        members::announce_joined(conn, now, user.id)?;
        Ok(user.id)
    });
    match made {
        // Another account verified the address meanwhile (the partial
        // unique index on verified addresses): its holder keeps it.
        Err(Failed::Database(e)) if db::is_unique_violation(&e) => Err(Failed::Refused(
            "email: another account holds this address verified".to_owned(),
        )),
        other => other,
    }
}

/// Names tried for each member of a batch at once (the name wanted, as it
/// is and made valid, then numbered): a member whose every one is taken
/// is left to [`member`], which tries more.
const NAMES_AT_ONCE: usize = 10;

/// Makes every member of `batch` at `now` at once, as [`member`] makes
/// each (the caller has checked that no account holds any of their
/// addresses or customers): their ids, in order, or `None` when they
/// cannot all be brought in so (a name not found free, a name, address or
/// customer taken meanwhile), and nothing was written. Runs in a
/// savepoint of the caller's transaction.
pub fn at_once(
    conn: &mut db::Conn,
    now: i64,
    batch: &[&Incoming],
    verify: bool,
) -> Result<Option<Vec<i64>>, diesel::result::Error> {
    let wanted: Vec<Vec<Username>> = batch
        .iter()
        .map(|m| {
            let kept = Username::parse(&m.wanted_name).ok();
            let made = candidates(&m.wanted_name).take(NAMES_AT_ONCE);
            kept.into_iter().chain(made).collect()
        })
        .collect();
    let keys: Vec<String> = wanted.iter().flatten().map(Username::key).collect();
    let mut taken: HashSet<String> = users::keys_taken(conn, &keys)?.into_iter().collect();
    let mut names = Vec::with_capacity(batch.len());
    for tried in &wanted {
        let Some(name) = tried.iter().find(|n| !taken.contains(&n.key())) else {
            return Ok(None);
        };
        taken.insert(name.key());
        names.push(name);
    }
    let made = conn.transaction(|conn| {
        let rows: Vec<users::Imported<'_>> = batch
            .iter()
            .zip(&names)
            .map(|(m, name)| users::Imported {
                username: name,
                email: &m.email,
                verified: verify && m.email_verified,
                newsletter: m.newsletter,
                created_at: m.created_at.unwrap_or(now),
            })
            .collect();
        let ids = members::register_imported(conn, now, &rows)?;
        let detail = json!({ "method": "import" });
        let (kind, by) = (EventKind::Registered, &Requester::NOBODY);
        events::record_each(conn, now, &ids, kind, by, &detail)?;
        for (m, id) in batch.iter().zip(&ids) {
            given(conn, now, m, *id)?;
        }
        Ok::<_, Failed>(ids)
    });
    match made {
        Ok(ids) => Ok(Some(ids)),
        // Taken meanwhile: one by one, each such member is refused alone.
        Err(Failed::Refused(_)) => Ok(None),
        Err(Failed::Database(e)) if db::is_unique_violation(&e) => Ok(None),
        Err(Failed::Database(e)) => Err(e),
    }
}

/// What the list gives member `id` besides the account: their Stripe
/// customer, and premium as `set-plan` gives it.
fn given(conn: &mut db::Conn, now: i64, incoming: &Incoming, id: i64) -> Result<(), Failed> {
    if let Some(customer) = &incoming.stripe_customer_id {
        if !billing::link_imported_customer(conn, id, customer, now)? {
            return Err(Failed::Refused(format!(
                "stripe_customer_id: {customer} is already another member's"
            )));
        }
    }
    if incoming.stored_premium {
        let change = PlanChange::Stored(Plan::Premium);
        members::change_plan(conn, now, id, change, Source::Cli)?;
    }
    if let Some(grant) = incoming.grant {
        let until = match grant {
            Grant::Always => NO_END,
            Grant::Until(until) => until,
        };
        let change = PlanChange::Grant(Some(until));
        members::change_plan(conn, now, id, change, Source::Cli)?;
    }
    Ok(())
}
