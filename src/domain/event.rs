//! Account events: what happened to an account, as `GET /account/events`
//! lists it. [`EventKind`] is the contract's list of kinds; [`Requester`]
//! is who caused one (the request's client IP and user agent, or nobody for
//! the CLI and webhooks). Recording one is `db::events::record`, inside the
//! transaction of the change it records.

use std::net::IpAddr;

/// The contract's event kinds: exactly one event per state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An account was created (the session it opens is part of it).
    Registered,
    Login,
    /// A wrong password for this account: at `/login`, or confirming on
    /// `/password`, `/email` or `DELETE /account`.
    LoginFailed,
    /// A failure just locked the username (once per lockout).
    LoginLocked,
    Logout,
    /// One session ended by `DELETE /sessions/{id}` or `DELETE /sessions`;
    /// `detail.session_id` names it.
    SessionRevoked,
    PasswordChanged,
    PasswordResetRequested,
    PasswordReset,
    EmailChanged,
    EmailVerified,
    /// `detail`: `from`, `to`, `source` (`cli` | `billing` | `admin`).
    PlanChanged,
    /// `detail`: `from`, `to`, `by` (the admin's username; `null` for the
    /// CLI).
    RoleChanged,
    /// An admin disabled the account (every session ended); `detail.by`.
    AccountDisabled,
    /// An admin enabled it again; `detail.by`.
    AccountEnabled,
    /// The first paywall refusal of a month.
    Paywall,
    /// An authenticator app was confirmed; `detail.by` when an admin acted.
    TwoFactorEnabled,
    /// The authenticator app and recovery codes were removed (by the user,
    /// or by an admin: `detail.by`).
    TwoFactorDisabled,
    RecoveryCodesRegenerated,
    /// A recovery code was spent at the second sign-in step;
    /// `detail.left` is how many remain.
    RecoveryCodeUsed,
    /// `detail`: the passkey's `id` and `name`.
    PasskeyAdded,
    /// `detail.id`: the passkey's id.
    PasskeyRemoved,
    /// `detail`: the identity's `id` and `provider`.
    IdentityLinked,
    /// `detail`: the identity's `id` and `provider`.
    IdentityUnlinked,
    /// `detail`: the gift's `gift_id` and `post_id`.
    GiftCreated,
    /// `detail.via`: `account` (`PATCH /account`).
    NewsletterSubscribed,
    /// `detail.via`: `account`, or `link` (a message's unsubscribe link).
    NewsletterUnsubscribed,
    /// A second live subscription of tollgate's arose for a user who had
    /// one: it was cancelled at Stripe and what it charged refunded.
    /// `detail`: `subscription` (its id), `refunded` (bool).
    SubscriptionDuplicateCancelled,
}

impl EventKind {
    pub const ALL: [EventKind; 28] = [
        EventKind::Registered,
        EventKind::Login,
        EventKind::LoginFailed,
        EventKind::LoginLocked,
        EventKind::Logout,
        EventKind::SessionRevoked,
        EventKind::PasswordChanged,
        EventKind::PasswordResetRequested,
        EventKind::PasswordReset,
        EventKind::EmailChanged,
        EventKind::EmailVerified,
        EventKind::PlanChanged,
        EventKind::RoleChanged,
        EventKind::AccountDisabled,
        EventKind::AccountEnabled,
        EventKind::Paywall,
        EventKind::TwoFactorEnabled,
        EventKind::TwoFactorDisabled,
        EventKind::RecoveryCodesRegenerated,
        EventKind::RecoveryCodeUsed,
        EventKind::PasskeyAdded,
        EventKind::PasskeyRemoved,
        EventKind::IdentityLinked,
        EventKind::IdentityUnlinked,
        EventKind::GiftCreated,
        EventKind::NewsletterSubscribed,
        EventKind::NewsletterUnsubscribed,
        EventKind::SubscriptionDuplicateCancelled,
    ];

    /// The name stored and shown (`"login_failed"`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Registered => "registered",
            EventKind::Login => "login",
            EventKind::LoginFailed => "login_failed",
            EventKind::LoginLocked => "login_locked",
            EventKind::Logout => "logout",
            EventKind::SessionRevoked => "session_revoked",
            EventKind::PasswordChanged => "password_changed",
            EventKind::PasswordResetRequested => "password_reset_requested",
            EventKind::PasswordReset => "password_reset",
            EventKind::EmailChanged => "email_changed",
            EventKind::EmailVerified => "email_verified",
            EventKind::PlanChanged => "plan_changed",
            EventKind::RoleChanged => "role_changed",
            EventKind::AccountDisabled => "account_disabled",
            EventKind::AccountEnabled => "account_enabled",
            EventKind::Paywall => "paywall",
            EventKind::TwoFactorEnabled => "two_factor_enabled",
            EventKind::TwoFactorDisabled => "two_factor_disabled",
            EventKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            EventKind::RecoveryCodeUsed => "recovery_code_used",
            EventKind::PasskeyAdded => "passkey_added",
            EventKind::PasskeyRemoved => "passkey_removed",
            EventKind::IdentityLinked => "identity_linked",
            EventKind::IdentityUnlinked => "identity_unlinked",
            EventKind::GiftCreated => "gift_created",
            EventKind::NewsletterSubscribed => "newsletter_subscribed",
            EventKind::NewsletterUnsubscribed => "newsletter_unsubscribed",
            EventKind::SubscriptionDuplicateCancelled => "subscription_duplicate_cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }
}

/// Who caused an event: the request's client IP and user agent, or
/// [`Requester::NOBODY`] for the CLI and webhooks (shown as `null`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl Requester {
    pub const NOBODY: Requester = Requester {
        ip: None,
        user_agent: None,
    };

    pub fn new(ip: IpAddr, user_agent: Option<String>) -> Self {
        Requester {
            ip: Some(ip),
            user_agent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("nonsense"), None);
    }
}
