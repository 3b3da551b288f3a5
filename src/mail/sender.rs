//! The background sender: claims due messages from the outbox, delivers
//! them off the async workers (SMTP to SMTP_URL, or `.eml` files in
//! MAIL_DIR), and records the outcome. A failed delivery is retried with
//! exponential back-off by the app's clock; a message still failing
//! [`GIVE_UP_AFTER`] seconds after it was queued is given up with a
//! warning, never retried forever.
//!
//! Before delivering, it acts on the recorded `POST /password/forgot` and
//! `POST /login/email` requests ([`Sender::act_on_forgot_requests`]): the
//! request itself only records one row, the same whoever holds the
//! address, and the sender does the rest, out of the request's time.
//!
//! It wakes when this instance queues mail ([`super::Outbox::wake`]), when
//! a test moves the clock, when the earliest retry is due, and every
//! `POLL_SECS` in any case (for messages queued by other instances whose
//! sender has stopped).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::cookie::Key;
use anyhow::Context;
use lettre::message::header::ContentTransferEncoding;
use lettre::message::{Body, Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{Message, SmtpTransport, Transport as _};
use tokio::sync::{watch, Notify};

use super::{message, Outbox, Recipient, SignInTo};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::forgot_requests::Asked;
use crate::db::{self, events, forgot_requests, outbox, users, Pool};
use crate::domain::{EventKind, Requester};

/// How long a claim keeps other senders off a message: longer than one
/// delivery can take (a handful of SMTP steps, each at most
/// `SMTP_TIMEOUT`), so a slow delivery is never claimed twice, and short
/// enough that a crashed sender's message goes out minutes later.
pub const LEASE_SECS: i64 = 300;
/// The SMTP client's timeout for each step of a delivery.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Messages claimed at once: one, so that the lease covers exactly one
/// delivery (a batch's last message would wait for all the others inside
/// its lease). Instances still deliver in parallel, each its own message.
const BATCH: i64 = 1;
/// The first retry's delay; each further failure doubles it, up to
/// [`MAX_BACKOFF_SECS`].
const FIRST_BACKOFF_SECS: i64 = 2;
const MAX_BACKOFF_SECS: i64 = 15 * 60;
/// A message still undeliverable this long after it was queued is given up
/// (a link in it would have expired, or be about to).
pub const GIVE_UP_AFTER: i64 = 24 * 3_600;
/// The longest the sender sleeps without looking.
const POLL_SECS: i64 = 30;
/// Forgot-password requests acted on per transaction.
const FORGOT_BATCH: i64 = 16;

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    Smtp(Arc<SmtpTransport>),
    /// `.eml` files in this folder (no SMTP_URL).
    Folder(PathBuf),
}

impl Transport {
    /// SMTP when SMTP_URL is set (plain `smtp://`, STARTTLS with
    /// `?tls=required`, TLS with `smtps://`; credentials from the URL),
    /// otherwise the MAIL_DIR folder, created now.
    /// `connections`: how many SMTP connections it keeps open and reuses
    /// (one per delivery under way).
    pub fn from_settings(settings: &Settings, connections: u32) -> anyhow::Result<Transport> {
        match &settings.smtp_url {
            Some(url) => {
                let transport = SmtpTransport::from_url(&url.0)
                    .context("SMTP_URL is not a usable SMTP URL")?
                    .timeout(Some(SMTP_TIMEOUT))
                    .pool_config(PoolConfig::new().max_size(connections))
                    .build();
                Ok(Transport::Smtp(Arc::new(transport)))
            }
            None => {
                private_dir(&settings.mail_dir).with_context(|| {
                    format!(
                        "cannot create the mail folder {} (MAIL_DIR)",
                        settings.mail_dir.display()
                    )
                })?;
                Ok(Transport::Folder(settings.mail_dir.clone()))
            }
        }
    }

    /// Delivers one message; blocking (network or disk), so it runs on the
    /// blocking pool.
    pub(crate) fn deliver(
        &self,
        tag: &str,
        created_at: i64,
        message: &Message,
    ) -> anyhow::Result<()> {
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message)?;
            }
            Transport::Folder(dir) => {
                private_dir(dir)?;
                // Named by the row: a redelivery after a crash rewrites the
                // same file rather than adding a copy. Written aside, then
                // renamed, so a reader never sees half a message.
                let name = eml_name(tag, created_at, message);
                let part = dir.join(format!(".{name}.part"));
                write_private(&part, &message.formatted())?;
                std::fs::rename(&part, dir.join(name))?;
            }
        }
        Ok(())
    }
}

/// Whether a delivery failed for good: the SMTP server answered with a
/// permanent (5xx) refusal. A connection that failed, a timeout or a 4xx
/// may pass, and is retried.
pub(crate) fn is_permanent(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<lettre::transport::smtp::Error>()
        .is_some_and(lettre::transport::smtp::Error::is_permanent)
}

/// A `.eml` file's name: when the message was queued (UTC, to the second),
/// its tag (its outbox id, zero-padded; a newsletter's post and
/// recipient), and whom it is for, so that a listing sorts by time and
/// says who each message went to — and nothing secret (the links are inside
/// only): `20261125T101500Z-000000000042-alice@example.com.eml`. The id is
/// zero-padded, so names sort as they were queued. Characters a file system
/// might refuse or a shell might read become `_`.
fn eml_name(tag: &str, created_at: i64, message: &Message) -> String {
    let at = crate::time::from_unix(created_at).format("%Y%m%dT%H%M%SZ");
    let to = message.envelope().to().first().map_or_else(
        || "nobody".to_owned(),
        |address| {
            let address: &str = address.as_ref();
            address
                .chars()
                .map(|c| match c {
                    'a'..='z' | 'A'..='Z' | '0'..='9' | '@' | '.' | '+' | '-' | '_' => c,
                    _ => '_',
                })
                .collect()
        },
    );
    format!("{at}-{tag}-{to}.eml")
}

/// Creates `dir` readable by this user alone (`0700` on Unix): the files
/// in it hold live reset and verification links.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to a new file at `path` readable by this user alone
/// (`0600` on Unix), whatever the umask.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

/// MAIL_FROM, as a mailbox.
pub(crate) fn mail_from(settings: &Settings) -> anyhow::Result<Mailbox> {
    settings
        .mail_from
        .parse::<Mailbox>()
        .context("MAIL_FROM is not a mailbox such as `tollgate <no-reply@example.com>`")
}

/// A sender's wait between rounds: until `stop` changes, `wake` is
/// notified, the clock is moved, or `secs` seconds pass. `false` when the
/// clock is gone (the app is shutting down).
pub(crate) async fn pause(
    stop: &mut watch::Receiver<bool>,
    wake: &Notify,
    moved: &mut watch::Receiver<u64>,
    secs: i64,
) -> bool {
    tokio::select! {
        _ = stop.changed() => true,
        _ = wake.notified() => true,
        changed = moved.changed() => changed.is_ok(),
        _ = tokio::time::sleep(Duration::from_secs(secs as u64)) => true,
    }
}

/// The sender of one instance.
pub struct Sender {
    pub pool: Pool,
    pub clock: Clock,
    pub transport: Transport,
    /// MAIL_FROM.
    pub from: Mailbox,
    pub wake: Arc<Notify>,
    /// Queues the links of forgot-password and sign-in requests.
    pub queue: Arc<Outbox>,
}

/// What became of one delivery attempt.
enum Outcome {
    Sent,
    Retry {
        at: i64,
    },
    /// Retrying cannot help, for this reason.
    GiveUp(String),
}

impl Sender {
    pub fn new(
        settings: &Settings,
        key: &Key,
        pool: Pool,
        clock: Clock,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Sender> {
        Ok(Sender {
            pool,
            clock,
            transport: Transport::from_settings(settings, 1)?,
            from: mail_from(settings)?,
            wake,
            queue: Arc::new(Outbox::new(settings, key)),
        })
    }

    /// Delivers until `stop` turns true; a delivery under way then still
    /// finishes and is recorded, so a restart does not send it again.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut moved = self.clock.moved();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.deliver_due(&stop).await {
                Ok(Some(due)) => (due - self.clock.now()).clamp(1, POLL_SECS),
                Ok(None) => POLL_SECS,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the mail outbox");
                    POLL_SECS.min(5)
                }
            };
            if !pause(&mut stop, &self.wake, &mut moved, wait).await {
                return;
            }
        }
    }

    /// Delivers every message due now (until `stop`); answers when the
    /// next one is due.
    pub async fn deliver_due(
        &self,
        stop: &watch::Receiver<bool>,
    ) -> Result<Option<i64>, db::Error> {
        loop {
            if *stop.borrow() {
                break;
            }
            // Each time round, so a request made while a slow delivery
            // was under way is not kept waiting behind all the others.
            self.act_on_forgot_requests().await?;
            let now = self.clock.now();
            let claimed = db::once(&self.pool, now, move |conn, now| {
                Ok::<_, db::Error>(outbox::claim(conn, now, now + LEASE_SECS, BATCH)?)
            })
            .await?;
            if claimed.is_empty() {
                break;
            }
            for message in claimed {
                let outcome = self.attempt(&message).await;
                let id = message.id;
                db::once(&self.pool, self.clock.now(), move |conn, _| {
                    match outcome {
                        Outcome::Sent => outbox::finish(conn, id, None)?,
                        Outcome::GiveUp(why) => outbox::finish(conn, id, Some(&why))?,
                        Outcome::Retry { at } => outbox::retry_at(conn, id, at)?,
                    }
                    Ok::<_, db::Error>(())
                })
                .await?;
            }
        }
        db::idempotent(&self.pool, self.clock.now(), |conn, _| {
            Ok::<_, db::Error>(outbox::next_due(conn)?)
        })
        .await
    }

    /// Acts on every recorded `POST /password/forgot` and
    /// `POST /login/email` request, each in one write transaction with
    /// taking (deleting) its row. A forgot-password request: a
    /// `password_reset_requested` event and a reset link (within the
    /// address's hourly limit) for every account holding the address, as
    /// of when it was asked; nothing for an address nobody holds. A
    /// sign-in: see `offer_sign_in`. Nothing for a request older than
    /// its link's lifetime (one left that long, by a database outage,
    /// would be a surprise to get).
    pub async fn act_on_forgot_requests(&self) -> Result<(), db::Error> {
        loop {
            let now = self.clock.now();
            let queue = self.queue.clone();
            let (taken, queued, held_back, stale) = db::once(&self.pool, now, move |conn, now| {
                let requests = forgot_requests::take(conn, FORGOT_BATCH)?;
                let (mut queued, mut held_back, mut stale) = (0, 0, 0);
                for request in &requests {
                    // Asked by a newer build sharing the database: that
                    // build's sender acts on it, or nobody should.
                    let Some(asked) = request.asked() else {
                        stale += 1;
                        continue;
                    };
                    let ttl = match asked {
                        Asked::Reset => queue.settings.reset_ttl,
                        Asked::SignIn => queue.settings.sign_in_ttl,
                    };
                    if request.requested_at < now - ttl {
                        stale += 1;
                        continue;
                    }
                    let (sent, not_sent) = match asked {
                        Asked::Reset => act_on(conn, &queue, request)?,
                        Asked::SignIn => offer_sign_in(conn, &queue, request)?,
                    };
                    queued += sent;
                    held_back += not_sent;
                }
                Ok::<_, db::Error>((requests.len() as i64, queued, held_back, stale))
            })
            .await?;
            if stale > 0 {
                tracing::warn!(
                    requests = stale,
                    "dropped requests for a link older than the link's lifetime"
                );
            }
            if queued > 0 {
                tracing::info!(messages = queued, "queued password-reset and sign-in links");
            }
            if held_back > 0 {
                tracing::info!(
                    messages = held_back,
                    "not sending password-reset or sign-in links: their addresses' hourly limit is spent"
                );
            }
            if taken < FORGOT_BATCH {
                return Ok(());
            }
        }
    }

    async fn attempt(&self, claimed: &outbox::Claimed) -> Outcome {
        let id = claimed.id;
        let message = match self.compose(claimed) {
            Ok(message) => message,
            Err(e) => {
                // Not a passing failure: retrying cannot help.
                tracing::warn!(message_id = id, error = %e, "gave up on a message that cannot be composed");
                return Outcome::GiveUp(format!("cannot be composed: {e}"));
            }
        };
        let transport = self.transport.clone();
        let created_at = claimed.created_at;
        let span = tracing::Span::current();
        let delivered = tokio::task::spawn_blocking(move || {
            span.in_scope(|| transport.deliver(&format!("{id:012}"), created_at, &message))
        })
        .await
        .map_err(|e| anyhow::anyhow!("the delivery task failed: {e}"))
        .and_then(|result| result);
        let now = self.clock.now();
        match delivered {
            Ok(()) => {
                tracing::info!(
                    message_id = id,
                    attempts = claimed.attempts,
                    "message delivered"
                );
                Outcome::Sent
            }
            // The mail server refused the message for good (a 5xx: no such
            // mailbox, say): asking again, for a day, would only repeat it.
            Err(e) if is_permanent(&e) => {
                tracing::warn!(
                    message_id = id,
                    attempts = claimed.attempts,
                    error = %e,
                    "gave up on a message the mail server refused for good"
                );
                Outcome::GiveUp(format!("refused by the mail server: {e}"))
            }
            Err(e) if now - claimed.created_at >= GIVE_UP_AFTER => {
                tracing::warn!(
                    message_id = id,
                    attempts = claimed.attempts,
                    error = %e,
                    "gave up on a message still undeliverable after 24 hours"
                );
                Outcome::GiveUp(format!("still undeliverable after 24 hours: {e}"))
            }
            Err(e) => {
                let at = now + backoff(claimed.attempts);
                tracing::warn!(
                    message_id = id,
                    attempts = claimed.attempts,
                    retry_in_secs = at - now,
                    error = %e,
                    "could not deliver a message; will retry"
                );
                Outcome::Retry { at }
            }
        }
    }

    fn compose(&self, claimed: &outbox::Claimed) -> anyhow::Result<Message> {
        let to = claimed
            .recipient
            .parse::<Mailbox>()
            .context("the recipient is not an address the mail library accepts")?;
        // Sealed while it waited (`mail::sealed`); a key that cannot open
        // it (the server's secret changed meanwhile) never will.
        let subject = self.queue.open(&claimed.subject)?;
        let body = self.queue.open(&claimed.body)?;
        // Plain text, and an HTML alternative made from it.
        let html = message::html_of(&body);
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(MultiPart::alternative_plain_html(
                body_of(body),
                body_of(html),
            ))?)
    }
}

/// One forgot-password request (see [`Sender::act_on_forgot_requests`]);
/// answers how many links it queued, and how many the address's hourly
/// limit held back.
fn act_on(
    conn: &mut db::Conn,
    queue: &Outbox,
    request: &forgot_requests::Taken,
) -> diesel::QueryResult<(u32, u32)> {
    let at = request.requested_at;
    let by = Requester {
        ip: request.ip.as_deref().and_then(|ip| ip.parse().ok()),
        user_agent: request.user_agent.clone(),
    };
    let (mut queued, mut held_back) = (0, 0);
    for holder in users::holding_email(conn, &request.email_key)? {
        let requested = EventKind::PasswordResetRequested;
        events::record(conn, at, holder.id, requested, &by, Default::default())?;
        let to = Recipient {
            user_id: holder.id,
            username: &holder.username,
            // As that account typed it.
            email: holder.email.as_deref().unwrap_or(&request.email),
            email_key: &request.email_key,
        };
        if queue.send_reset(conn, at, &to)? {
            queued += 1;
        } else {
            held_back += 1;
        }
    }
    Ok((queued, held_back))
}

/// One `POST /login/email` request (see [`Sender::act_on_forgot_requests`]):
/// a sign-in link and code to the address, for the enabled account holding
/// it verified, or — no account holding it verified, and EMAIL_SIGN_UP on
/// — offering a new account. Nothing for a disabled account, nor without
/// EMAIL_SIGN_UP for an address nobody holds verified. Answers as
/// [`act_on`] does.
fn offer_sign_in(
    conn: &mut db::Conn,
    queue: &Outbox,
    request: &forgot_requests::Taken,
) -> diesel::QueryResult<(u32, u32)> {
    let holder = match users::verified_holder(conn, &request.email_key)? {
        Some(id) => users::find(conn, id)?,
        None => None,
    };
    let held = match &holder {
        Some(user) if user.disabled => return Ok((0, 0)),
        Some(user) => Some((user.id, user.username.as_str())),
        None if !queue.settings.sign_up => return Ok((0, 0)),
        None => None,
    };
    // To the account's address as it typed it, or as the request did.
    let typed = match held {
        Some((id, _)) => users::email_of(conn, id)?.and_then(|row| row.email),
        None => None,
    };
    let to = SignInTo {
        email: typed.as_deref().unwrap_or(&request.email),
        email_key: &request.email_key,
        username: held.map(|(_, username)| username),
        stay_signed_in: request.stay_signed_in,
    };
    Ok(if queue.send_sign_in(conn, request.requested_at, &to)? {
        (1, 0)
    } else {
        (0, 1)
    })
}

/// 7-bit when the text allows (ASCII, lines under SMTP's 998-byte limit;
/// lettre's own choice re-encodes lines over 76, which would break the
/// link in a raw `.eml` file), otherwise lettre's choice.
pub(crate) fn body_of(text: String) -> Body {
    if text.is_ascii() && !text.contains('\0') && text.lines().all(|l| l.len() < 998) {
        let crlf = text.replace("\r\n", "\n").replace('\n', "\r\n");
        Body::dangerous_pre_encoded(crlf.into_bytes(), ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    }
}

/// The delay before the next attempt after `attempts` failed ones.
pub(crate) fn backoff(attempts: i32) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    (FIRST_BACKOFF_SECS << doublings).min(MAX_BACKOFF_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_ceiling() {
        assert_eq!(backoff(1), 2);
        assert_eq!(backoff(2), 4);
        assert_eq!(backoff(5), 32);
        assert_eq!(backoff(12), MAX_BACKOFF_SECS);
        assert_eq!(backoff(i32::MAX), MAX_BACKOFF_SECS);
    }

    fn message_to(to: &str) -> Message {
        Message::builder()
            .from("tollgate <noreply@example.com>".parse().unwrap())
            .to(to.parse().unwrap())
            .subject("Reset your password")
            .body("https://app.example/reset-password?token=secret-token".to_owned())
            .unwrap()
    }

    #[test]
    fn eml_names_sort_by_time_and_say_whom_but_no_secret() {
        let name = eml_name(
            "000000000042",
            1_795_000_000,
            &message_to("Alice <alice+news@example.com>"),
        );
        assert_eq!(
            name,
            "20261118T110640Z-000000000042-alice+news@example.com.eml"
        );
        assert!(!name.contains("secret"));
        // Queued later, or later the same second: sorts after, as text.
        let later = eml_name(
            "000000000043",
            1_795_000_000,
            &message_to("bob@example.com"),
        );
        let next_day = eml_name(
            "000000000009",
            1_795_086_400,
            &message_to("bob@example.com"),
        );
        let mut names = vec![next_day.clone(), later.clone(), name.clone()];
        names.sort();
        assert_eq!(names, [name, later, next_day]);
    }

    #[cfg(unix)]
    #[test]
    fn mail_files_and_their_folder_are_the_owner_s_alone() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("mail");
        let transport = Transport::Folder(dir.clone());
        transport
            .deliver(
                "000000000001",
                1_795_000_000,
                &message_to("alice@example.com"),
            )
            .unwrap();
        let mode =
            |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(mode(&files[0]), 0o600);
    }
}
