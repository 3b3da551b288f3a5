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
//! customer already someone's) leaves nothing of them.

use diesel::Connection;
use serde_json::json;

use super::members::{self, PlanChange, Source};
use super::sign_in::new_passwordless;
use crate::db::{self, billing, events, users};
use crate::domain::member_csv::{Grant, Incoming, NO_END};
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
        if let Some(customer) = &incoming.stripe_customer_id {
            if !billing::link_imported_customer(conn, user.id, customer, now)? {
                return Err(Failed::Refused(format!(
                    "stripe_customer_id: {customer} is already another member's"
                )));
            }
        }
        if incoming.stored_premium {
            let change = PlanChange::Stored(Plan::Premium);
            members::change_plan(conn, now, user.id, change, Source::Cli)?;
        }
        if let Some(grant) = incoming.grant {
            let until = match grant {
                Grant::Always => NO_END,
                Grant::Until(until) => until,
            };
            let change = PlanChange::Grant(Some(until));
            members::change_plan(conn, now, user.id, change, Source::Cli)?;
        }
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
