//! A reader's own data (`GET /account/export`): everything stored about
//! an account, gathered from every table that holds some of it, as one
//! JSON document they can keep or take elsewhere (GDPR articles 15 and
//! 20).
//!
//! What it never holds is as much a part of it as what it holds: no
//! password hash, no session token (a session shows by its public id), no
//! authenticator secret or recovery code, no passkey's key, no emailed
//! link or code, and no gift's link (whoever holds a link reads the post).
//! Each part is built from a view with named fields, never from a whole
//! row, so a column added to a table later does not leak into it.

use serde::Serialize;
use serde_json::Value;

use super::view::AccountView;
use crate::config::NamedPrice;
use crate::db::{self, events, gifts, identities, newsletters, passkeys, sessions, unlocks};
use crate::domain::Month;
use crate::time::rfc3339;

/// The account's export.
#[derive(Serialize)]
pub struct Export {
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    exported_at: i64,
    account: AccountView,
    sessions: Vec<SessionView>,
    events: Vec<EventView>,
    /// The posts unlocked this month (by id) and when the month resets.
    unlocks: UnlocksPart,
    gifts: Vec<GiftPart>,
    identities: Vec<IdentityPart>,
    passkeys: Vec<PasskeyPart>,
    two_factor: TwoFactorPart,
    /// The posts whose newsletter was sent to the account, by id.
    newsletters_received: Vec<i64>,
}

/// A session as its owner sees it, in the export and in `GET /sessions`:
/// a public id, never the token.
#[derive(Serialize)]
pub struct SessionView {
    pub id: String,
    stay_signed_in: bool,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    last_seen_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    expires_at: i64,
    user_agent: Option<String>,
    /// The client IP that last used it.
    ip: Option<String>,
}

impl SessionView {
    pub fn of(sessions::SessionRow { live, user_agent }: sessions::SessionRow) -> SessionView {
        SessionView {
            id: live.id,
            stay_signed_in: live.stay_signed_in,
            created_at: live.created_at,
            last_seen_at: live.last_seen_at,
            expires_at: live.expires_at,
            user_agent,
            ip: live.ip,
        }
    }
}

/// An account event as its owner sees it, in the export and in
/// `GET /account/events`.
#[derive(Serialize)]
pub struct EventView {
    id: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    at: i64,
    kind: String,
    ip: Option<String>,
    user_agent: Option<String>,
    detail: Value,
}

impl From<events::EventRow> for EventView {
    fn from(row: events::EventRow) -> Self {
        EventView {
            id: row.id,
            at: row.at,
            kind: row.kind,
            ip: row.ip,
            user_agent: row.user_agent,
            // Written by `events::record` from a JSON value; an unreadable
            // one (never expected) shows as an empty object, not a 500.
            detail: serde_json::from_str(&row.detail)
                .unwrap_or_else(|_| Value::Object(Default::default())),
        }
    }
}

#[derive(Serialize)]
struct UnlocksPart {
    post_ids: Vec<i64>,
    #[serde(serialize_with = "rfc3339::serialize")]
    resets_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize)]
struct GiftPart {
    id: i64,
    post_id: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    expires_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    revoked_at: Option<i64>,
    readers: i32,
}

#[derive(Serialize)]
struct IdentityPart {
    provider: String,
    subject: String,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    linked_at: i64,
}

#[derive(Serialize)]
struct PasskeyPart {
    name: String,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    last_used_at: Option<i64>,
}

#[derive(Serialize)]
struct TwoFactorPart {
    totp: bool,
    recovery_codes_left: i64,
    passkeys: usize,
}

impl Export {
    /// The export of account `user_id` at `now` (`prices`: the prices sold,
    /// which name its subscription's), or `None` if it has just been
    /// deleted. Read in one transaction by the caller, so its parts agree.
    pub fn load(
        conn: &mut db::Conn,
        user_id: i64,
        prices: &[NamedPrice],
        now: i64,
    ) -> diesel::QueryResult<Option<Export>> {
        let Some(account) = AccountView::load(conn, user_id, prices, now)? else {
            return Ok(None);
        };
        let sessions = sessions::list(conn, user_id, now)?
            .into_iter()
            .map(SessionView::of)
            .collect();
        let events = events::all_of(conn, user_id)?
            .into_iter()
            .map(EventView::from)
            .collect();
        let month = Month::at(now);
        let unlocks = UnlocksPart {
            post_ids: unlocks::unlocked_ids(conn, user_id, month)?,
            resets_at: month.resets_at(),
        };
        let gifts = gifts::of_giver(conn, user_id)?
            .into_iter()
            .map(|row| GiftPart {
                id: row.id,
                post_id: row.post_id,
                created_at: row.created_at,
                expires_at: row.expires_at,
                revoked_at: row.revoked_at,
                readers: row.readers,
            })
            .collect();
        let identities = identities::subjects_of(conn, user_id)?
            .into_iter()
            .map(|(provider, subject, linked_at)| IdentityPart {
                provider,
                subject,
                linked_at,
            })
            .collect();
        let passkeys: Vec<PasskeyPart> = passkeys::list(conn, user_id)?
            .into_iter()
            .map(|row| PasskeyPart {
                name: row.name,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
            })
            .collect();
        let totp = db::two_factor::totp_of(conn, user_id)?.is_some_and(|row| row.enabled);
        let two_factor = TwoFactorPart {
            totp,
            recovery_codes_left: if totp {
                db::two_factor::codes_left(conn, user_id)?
            } else {
                0
            },
            passkeys: passkeys.len(),
        };
        Ok(Some(Export {
            exported_at: now,
            account,
            sessions,
            events,
            unlocks,
            gifts,
            identities,
            passkeys,
            two_factor,
            newsletters_received: newsletters::received_by(conn, user_id)?,
        }))
    }
}
