//! Messages about an account, queued in the caller's transaction: a link
//! to verify an address, and notices of changes to the account.

use crate::db::{self, users};
use crate::domain::Email;
use crate::mail::message::Notice;
use crate::mail::{Outbox, Recipient};

/// Queues a verification link to `email` for the account; `false` when the
/// address's hourly limit is spent.
pub fn send_verification(
    outbox: &Outbox,
    conn: &mut db::Conn,
    now: i64,
    user_id: i64,
    username: &str,
    email: &Email,
) -> diesel::QueryResult<bool> {
    outbox.send_verification(
        conn,
        now,
        &Recipient {
            user_id,
            username,
            email: email.as_str(),
            email_key: &email.key(),
        },
    )
}

/// Queues a notice of `kind` to the account's address as `held` before
/// the change, if that address is verified (a notice to an address nobody
/// proved would tell a stranger of the account); `false` when there is
/// none to send or the address's hourly limit is spent.
pub fn send_notice(
    outbox: &Outbox,
    conn: &mut db::Conn,
    now: i64,
    held: &users::EmailRow,
    kind: Notice,
) -> diesel::QueryResult<bool> {
    let (Some(email), Some(email_key), true) = (&held.email, &held.email_key, held.email_verified)
    else {
        return Ok(false);
    };
    outbox.send_notice(
        conn,
        now,
        &Recipient {
            user_id: held.id,
            username: &held.username,
            email,
            email_key,
        },
        kind,
    )
}

/// Queues a notice of `kind` to the account's verified address as it
/// stands now, if it has one; whether one was queued.
pub fn notify(
    outbox: &Outbox,
    conn: &mut db::Conn,
    now: i64,
    user_id: i64,
    kind: Notice,
) -> diesel::QueryResult<bool> {
    Ok(match users::email_of(conn, user_id)? {
        Some(held) => send_notice(outbox, conn, now, &held, kind)?,
        None => false,
    })
}
