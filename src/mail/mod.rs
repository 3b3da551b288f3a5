//! Email: the links emailed to prove an address, reset a password or sign
//! in, and the notices of changes to an account, queued
//! in the database's outbox in the caller's transaction, and the
//! background sender that delivers them ([`sender`]).
//!
//! Why an outbox: a message is a side effect that must not be lost. It is
//! committed in the same write transaction as the token it carries (and as
//! the change that caused it), so an answered request's message exists as
//! long as the database does — through a crash, a restart or an SMTP
//! outage — and a request never waits for SMTP. The sender claims and
//! delivers rows; `db::outbox` explains why each is sent once.

pub mod message;
pub mod newsletters;
pub mod sealed;
pub mod sender;

use std::sync::Arc;

use diesel::QueryResult;
use tokio::sync::Notify;

use actix_web::cookie::Key;

use crate::config::Settings;
use crate::db::email_tokens::{self, Purpose};
use crate::db::{email_sign_ins, outbox, Conn};
use crate::domain::sign_in_code::{self, CodeKey};
use crate::session::{secret, token};
use sealed::Sealer;

/// What queueing needs from the settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// APP_URL: links point into the SPA.
    pub app_url: String,
    /// MAIL_MAX_PER_ADDRESS_PER_HOUR.
    pub max_per_address_per_hour: u32,
    /// VERIFY_TOKEN_TTL_SECONDS, RESET_TOKEN_TTL_SECONDS.
    pub verify_ttl: i64,
    pub reset_ttl: i64,
    /// EMAIL_LOGIN_TTL_SECONDS.
    pub sign_in_ttl: i64,
    /// EMAIL_SIGN_UP.
    pub sign_up: bool,
}

/// Queues messages (in the caller's transaction) and wakes this instance's
/// sender once they are committed.
pub struct Outbox {
    pub settings: MailSettings,
    /// Seals what is queued (`sealed`): a waiting message's link or code
    /// is no one's to read in a copy of the database.
    sealer: Sealer,
    /// Keys what is stored of a sign-in code.
    codes: CodeKey,
    wake: Arc<Notify>,
    /// The newsletters' sender's ([`newsletters`]).
    newsletters: Arc<Notify>,
}

/// A sign-in by email to send: to the address as the request typed it (or
/// as its account holds it), for that account or for a new one.
pub struct SignInTo<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    /// `None`: no account holds the address verified; the message offers
    /// a new one.
    pub username: Option<&'a str>,
    pub stay_signed_in: bool,
}

/// Where a message goes, and whose account it concerns.
pub struct Recipient<'a> {
    pub user_id: i64,
    pub username: &'a str,
    /// The address as typed, and its comparison key.
    pub email: &'a str,
    pub email_key: &'a str,
}

impl Outbox {
    /// An outbox for `settings`, its keys derived from the server's
    /// secret `key`.
    pub fn new(settings: &Settings, key: &Key) -> Outbox {
        Outbox {
            sealer: Sealer::new(&secret::derived_key(key, "tollgate outbox v1")),
            codes: CodeKey(secret::derived_key(key, "tollgate sign-in codes v1")),
            settings: MailSettings {
                app_url: settings.app_url.clone(),
                max_per_address_per_hour: settings.mail_max_per_address_per_hour,
                verify_ttl: settings.verify_token_ttl.as_secs() as i64,
                reset_ttl: settings.reset_token_ttl.as_secs() as i64,
                sign_in_ttl: settings.email_login_ttl.as_secs() as i64,
                sign_up: settings.email_sign_up,
            },
            wake: Arc::default(),
            newsletters: Arc::default(),
        }
    }

    /// Tells the sender that messages were committed. Call it after the
    /// transaction that queued them, never inside it: the sender must find
    /// them. (A wake with nothing to send costs one query.)
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The handle the sender waits on.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// What is stored of sign-in `code` sent to the address whose key is
    /// `email_key`, and what a typed code is compared by.
    pub fn code_digest(&self, email_key: &str, code: &str) -> String {
        sign_in_code::digest(&self.codes, email_key, code)
    }

    /// The text a queued message's stored `subject` or `body` holds.
    pub fn open(&self, stored: &str) -> Result<String, sealed::Unopenable> {
        self.sealer.open(stored)
    }

    /// Tells the newsletters' sender that a newsletter may be due: after
    /// the publish that asked for it commits.
    pub fn wake_newsletters(&self) {
        self.newsletters.notify_one();
    }

    /// The handle the newsletters' sender waits on.
    pub fn newsletters_waker(&self) -> Arc<Notify> {
        self.newsletters.clone()
    }

    /// Whether one more message to `email_key` stays within
    /// MAIL_MAX_PER_ADDRESS_PER_HOUR. Taken under a per-address lock held to
    /// the end of the caller's transaction, so instances queueing for one
    /// address at once count each other's messages.
    pub fn within_limit(&self, conn: &mut Conn, email_key: &str, now: i64) -> QueryResult<bool> {
        outbox::lock_address(conn, email_key)?;
        let queued = outbox::queued_since(conn, email_key, now - 3_600)?;
        Ok(queued < i64::from(self.settings.max_per_address_per_hour))
    }

    /// Queues a verification link for the account's address; `false` when
    /// the address's hourly limit is spent (nothing is queued then, and
    /// the request is answered as usual).
    pub fn send_verification(
        &self,
        conn: &mut Conn,
        now: i64,
        to: &Recipient<'_>,
    ) -> QueryResult<bool> {
        self.queue(conn, now, to, Purpose::Verify)
    }

    /// Queues a password-reset link for the account.
    pub fn send_reset(&self, conn: &mut Conn, now: i64, to: &Recipient<'_>) -> QueryResult<bool> {
        self.queue(conn, now, to, Purpose::Reset)
    }

    /// Queues a notice of a change to the account (see [`message::Notice`]),
    /// within the address's hourly limit like every message; `false` when
    /// that is spent.
    pub fn send_notice(
        &self,
        conn: &mut Conn,
        now: i64,
        to: &Recipient<'_>,
        kind: message::Notice,
    ) -> QueryResult<bool> {
        if !self.within_limit(conn, to.email_key, now)? {
            tracing::info!(
                user_id = to.user_id,
                notice = ?kind,
                "not sending a notice: the address's hourly limit is spent"
            );
            return Ok(false);
        }
        let notice = message::notice(kind, to.username);
        self.enqueue(conn, now, to.email, to.email_key, &notice)?;
        Ok(true)
    }

    /// Queues a sign-in by email asked for at `at` (see [`SignInTo`]): a
    /// new link and code, stored as hashes, living EMAIL_LOGIN_TTL_SECONDS
    /// from `at`; `false` when the address's hourly limit is spent.
    pub fn send_sign_in(&self, conn: &mut Conn, at: i64, to: &SignInTo<'_>) -> QueryResult<bool> {
        if !self.within_limit(conn, to.email_key, at)? {
            return Ok(false);
        }
        // The link's token as the other links' (256 bits); the code is
        // for typing. Both exist in plain only in the recipient's mailbox
        // (the queued message is sealed).
        let plain = token::generate();
        let code = sign_in_code::generate();
        let ttl = self.settings.sign_in_ttl;
        email_sign_ins::insert(
            conn,
            &email_sign_ins::NewSignIn {
                token_hash: &token::hash(&plain),
                code_hash: &self.code_digest(to.email_key, &code),
                email: to.email,
                email_key: to.email_key,
                stay_signed_in: to.stay_signed_in,
                now: at,
                expires_at: at + ttl,
            },
        )?;
        let whom = match to.username {
            Some(username) => message::SignInFor::Account { username },
            None => message::SignInFor::NewAccount,
        };
        let rendered = message::sign_in(&self.settings.app_url, &plain, &code, whom, ttl);
        self.enqueue(conn, at, to.email, to.email_key, &rendered)?;
        Ok(true)
    }

    fn queue(
        &self,
        conn: &mut Conn,
        now: i64,
        to: &Recipient<'_>,
        purpose: Purpose,
    ) -> QueryResult<bool> {
        if !self.within_limit(conn, to.email_key, now)? {
            // Reset links are queued by the sender, which sums these up per
            // batch (a flood of forgot requests would flood the log).
            if purpose == Purpose::Verify {
                tracing::info!(
                    user_id = to.user_id,
                    purpose = purpose.as_str(),
                    "not sending: the address's hourly limit is spent"
                );
            }
            return Ok(false);
        }
        // 256 random bits, base64url; only the hash is stored with the
        // token. The plain token exists only in the queued message (sealed,
        // and blanked once it is delivered) and in the recipient's mailbox.
        let plain = token::generate();
        let settings = &self.settings;
        let (ttl, rendered) = match purpose {
            Purpose::Verify => (
                settings.verify_ttl,
                message::verification(&settings.app_url, &plain, to.username, settings.verify_ttl),
            ),
            Purpose::Reset => (
                settings.reset_ttl,
                message::reset(&settings.app_url, &plain, to.username, settings.reset_ttl),
            ),
        };
        email_tokens::insert(
            conn,
            &email_tokens::NewToken {
                token_hash: &token::hash(&plain),
                user_id: to.user_id,
                purpose,
                email_key: to.email_key,
                now,
                expires_at: now + ttl,
            },
        )?;
        self.enqueue(conn, now, to.email, to.email_key, &rendered)?;
        Ok(true)
    }

    /// Puts `rendered` in the outbox for `email` (whose key is
    /// `email_key`), sealed, in the caller's transaction.
    fn enqueue(
        &self,
        conn: &mut Conn,
        now: i64,
        email: &str,
        email_key: &str,
        rendered: &message::Rendered,
    ) -> QueryResult<()> {
        outbox::insert(
            conn,
            &outbox::NewMessage {
                recipient: email,
                recipient_key: email_key,
                subject: &self.sealer.seal(&rendered.subject),
                body: &self.sealer.seal(&rendered.body),
                now,
            },
        )
    }
}
