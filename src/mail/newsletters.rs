//! Newsletters: a post emailed once to every account that takes the
//! newsletter at a verified address (`POST /posts/{id}/publish` with
//! `email: true`).
//!
//! How it is sent once, at any scale, across instances and crashes:
//! - The publish that asks commits a `newsletters` row with the post, once
//!   ever ([`db::newsletters::ask`]), so publishing again never re-sends.
//! - Every instance's [`NewsletterSender`] looks for newsletters whose post
//!   readers can see, on its own clock (a scheduled post is sent when it
//!   falls due, whether or not anything ran at that moment), and queues
//!   the recipients in one `INSERT … SELECT` ([`db::newsletters::queue`]):
//!   one statement for 100,000 recipients, and the first instance to flip
//!   the newsletter to `sending` is the only one to queue.
//! - Each recipient's message is then claimed with a lease and recorded as
//!   the outbox's messages are (`db::outbox`): one row per recipient and
//!   post, so one message each.
//!
//! It runs beside the outbox's sender, not inside it, on its own SMTP
//! connections: a newsletter to every subscriber never delays a reset link
//! or a sign-in code that a request promised.

use std::sync::Arc;

use anyhow::Context;
use futures_util::StreamExt;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use tokio::sync::{watch, Notify};

use super::message::{escape, html_of};
use super::sender::{
    backoff, body_of, is_permanent, mail_from, pause, Transport, GIVE_UP_AFTER, LEASE_SECS,
};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::newsletters::Subscriber;
use crate::db::newsletters::{self, Claimed, Done};
use crate::db::posts::PostContent;
use crate::db::{self, posts, Pool};
use crate::domain::post::Access;
use crate::domain::Plan;
use crate::session::token;
use crate::webhooks::{self, Event};

/// Messages claimed at once. A batch's messages are delivered
/// [`CONCURRENCY`] at a time within one lease; one that the lease would not
/// cover is left for the next claim (see [`NewsletterSender::deliver_batch`]).
const BATCH: i64 = 64;
/// Deliveries under way at once, each on an SMTP connection of its own
/// (kept open and reused). One connection delivers a message in about the
/// time its server takes to acknowledge the message's last packet — up to
/// 40 ms where the server delays its acknowledgements, as Linux does — so
/// a newsletter goes out over several at once; relays take far more
/// connections than this from one client.
const CONCURRENCY: usize = 16;
/// A batch stops this long before its lease ends: a delivery begun then
/// still finishes (each SMTP step times out well before).
const LEASE_MARGIN_SECS: i64 = 120;
/// The longest the sender sleeps without looking: a post that became
/// visible is queued within this (the contract says 60 s).
const POLL_SECS: i64 = 30;

/// A newsletter's message to one reader, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The one-click unsubscribe URL (RFC 8058), on the API.
    pub unsubscribe: String,
}

/// What of the post a reader gets: the whole post, or (a free member, a
/// `metered` or `premium` post) its title, its excerpt and a link to it —
/// never its body.
fn whole_for(access: Access, plan: Plan) -> bool {
    access == Access::Free || plan == Plan::Premium
}

/// The message of `post` to a reader on `plan`, carrying `token` (which
/// names the reader to `POST /newsletter/unsubscribe`).
pub fn letter(
    post: &PostContent,
    plan: Plan,
    app_url: &str,
    public_url: &str,
    token: &str,
) -> Letter {
    let access = Access::parse(&post.access).unwrap_or_default();
    let link = format!("{app_url}/blog/{}", post.slug);
    let leave = format!("{app_url}/unsubscribe?token={token}");
    let footer_text =
        format!("You get this because you take the newsletter. To stop, open:\n{leave}\n");
    let footer_html = format!(
        "<hr>\n<p style=\"font-size: small\">You get this because you take the newsletter. \
         <a href=\"{0}\">Unsubscribe</a>: {0}</p>\n",
        escape(&leave)
    );
    let (text, html) = if whole_for(access, plan) {
        (
            format!(
                "{}\n\n{}\n\nOn the site: {link}\n\n{footer_text}",
                post.title,
                post.body.trim_end()
            ),
            format!(
                "<!DOCTYPE html>\n<html><body style=\"font-family: sans-serif; line-height: 1.5\">\n\
                 <h1>{title}</h1>\n{html}\n<p><a href=\"{link}\">On the site</a></p>\n{footer_html}</body></html>\n",
                title = escape(&post.title),
                html = post.html,
                link = escape(&link),
            ),
        )
    } else {
        let premium = if access == Access::Premium {
            "This post is for premium members.\n\n"
        } else {
            ""
        };
        let teaser = format!(
            "{}\n\n{}\n\n{premium}Read the whole post:\n{link}\n\n{footer_text}",
            post.title, post.excerpt
        );
        let html = html_of(&teaser).replace(
            "</body></html>\n",
            &format!("{footer_html}</body></html>\n"),
        );
        (teaser, html)
    };
    Letter {
        subject: post.title.clone(),
        text,
        html,
        unsubscribe: format!("{public_url}/newsletter/unsubscribe?token={token}"),
    }
}

/// The newsletters' sender of one instance.
pub struct NewsletterSender {
    pub pool: Pool,
    pub clock: Clock,
    pub transport: Transport,
    pub from: Mailbox,
    pub wake: Arc<Notify>,
    /// APP_URL and the API's own public URL, for the links.
    pub app_url: String,
    pub public_url: String,
}

/// What one claimed batch brought: each message with its token, and the
/// posts they send. (Whom each is for is read again just before it is
/// made: an account may leave meanwhile.)
struct Batch {
    lease_until: i64,
    messages: Vec<(Claimed, String)>,
    posts: Vec<(i64, Option<PostContent>, Option<i64>)>,
}

/// What became of one message.
enum Outcome {
    Done(Done),
    Retry { at: i64 },
}

impl NewsletterSender {
    pub fn new(
        settings: &Settings,
        pool: Pool,
        clock: Clock,
        wake: Arc<Notify>,
        public_url: String,
    ) -> anyhow::Result<NewsletterSender> {
        Ok(NewsletterSender {
            pool,
            clock,
            transport: Transport::from_settings(settings, CONCURRENCY as u32)?,
            from: mail_from(settings)?,
            wake,
            app_url: settings.app_url.clone(),
            public_url,
        })
    }

    /// Queues and sends until `stop` turns true; a delivery under way then
    /// still finishes and is recorded.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut moved = self.clock.moved();
        loop {
            if *stop.borrow() {
                return;
            }
            let wait = match self.work(&stop).await {
                Ok(Some(due)) => (due - self.clock.now()).clamp(1, POLL_SECS),
                Ok(None) => POLL_SECS,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the newsletters");
                    5
                }
            };
            if !pause(&mut stop, &self.wake, &mut moved, wait).await {
                return;
            }
        }
    }

    /// Queues the newsletters now due and sends every message due now;
    /// answers when the next is due.
    pub async fn work(&self, stop: &watch::Receiver<bool>) -> Result<Option<i64>, db::Error> {
        self.queue_due().await?;
        loop {
            if *stop.borrow() {
                break;
            }
            let now = self.clock.now();
            let batch = db::once(&self.pool, now, claim).await?;
            let claimed = batch.messages.len() as i64;
            if claimed == 0 {
                break;
            }
            self.deliver_batch(batch, stop).await?;
            if claimed < BATCH {
                break;
            }
        }
        db::once(&self.pool, self.clock.now(), |conn, now| {
            for (post_id, recipients) in newsletters::finish_done(conn)? {
                let sent = Event::NewsletterSent {
                    post_id,
                    recipients,
                };
                webhooks::record(conn, now, sent)?;
            }
            Ok::<_, db::Error>(())
        })
        .await?;
        db::idempotent(&self.pool, self.clock.now(), |conn, _| {
            let messages = newsletters::next_due(conn)?;
            let posts = newsletters::next_visible(conn)?;
            Ok::<_, db::Error>(messages.into_iter().chain(posts).min())
        })
        .await
    }

    /// Queues the recipients of every newsletter whose post readers can see
    /// now, each in its own write transaction.
    async fn queue_due(&self) -> Result<(), db::Error> {
        let now = self.clock.now();
        let due = db::idempotent(&self.pool, now, |conn, now| {
            Ok::<_, db::Error>(newsletters::due(conn, now)?)
        })
        .await?;
        for post_id in due {
            let started = std::time::Instant::now();
            let queued = db::once(&self.pool, now, move |conn, now| {
                let queued = newsletters::queue(conn, post_id, now)?;
                // Nobody to send to: sent at once.
                if queued == Some(0) {
                    let sent = Event::NewsletterSent {
                        post_id,
                        recipients: 0,
                    };
                    webhooks::record(conn, now, sent)?;
                }
                Ok::<_, db::Error>(queued)
            })
            .await?;
            if let Some(recipients) = queued {
                let elapsed_ms = started.elapsed().as_millis() as u64;
                tracing::info!(post_id, recipients, elapsed_ms, "queued a newsletter");
            }
        }
        Ok(())
    }

    /// Delivers a claimed batch, [`CONCURRENCY`] messages at a time,
    /// recording each as it leaves; one not begun when asked to stop, or
    /// when the lease would not cover another delivery, is left to come
    /// back when its lease ends. Every delivery begun is recorded before
    /// this answers, even after a database error (the first is answered).
    async fn deliver_batch(
        &self,
        batch: Batch,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), db::Error> {
        // Made first (a future does nothing until polled), then run
        // CONCURRENCY at a time.
        let deliveries: Vec<_> = batch
            .messages
            .iter()
            .map(|(claimed, plain)| self.deliver_one(&batch, claimed, plain, stop))
            .collect();
        let mut deliveries = futures_util::stream::iter(deliveries).buffer_unordered(CONCURRENCY);
        let mut first_error = None;
        while let Some(done) = deliveries.next().await {
            if let Err(e) = done {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// One message of `batch`: the account read again (it may have left
    /// meanwhile), the message made, delivered and recorded.
    async fn deliver_one(
        &self,
        batch: &Batch,
        claimed: &Claimed,
        plain: &str,
        stop: &watch::Receiver<bool>,
    ) -> Result<(), db::Error> {
        if *stop.borrow() || self.clock.now() >= batch.lease_until - LEASE_MARGIN_SECS {
            return Ok(());
        }
        let (post_id, user_id) = (claimed.post_id, claimed.user_id);
        let subscriber = db::idempotent(&self.pool, self.clock.now(), move |conn, _| {
            Ok::<_, db::Error>(newsletters::recipient(conn, post_id, user_id)?)
        })
        .await?;
        let post = batch.posts.iter().find(|(id, _, _)| *id == post_id);
        let outcome = match (&subscriber, post) {
            // Stopped (the post unpublished or deleted), or the account
            // deleted, since the claim: nothing to record either.
            (None, _) | (_, None) => return Ok(()),
            (Some(subscriber), Some((_, Some(post), queued_at))) => match subscriber.address() {
                Some(address) => {
                    let queued_at = queued_at.unwrap_or(self.clock.now());
                    self.attempt(claimed, address, subscriber, post, plain, queued_at)
                        .await
                }
                // Unsubscribed, unverified or disabled since it was queued.
                None => Outcome::Done(Done::Skipped),
            },
            // Scheduled again for later since it was queued: try then.
            (Some(_), Some((_, None, _))) => Outcome::Retry {
                at: self.clock.now() + POLL_SECS,
            },
        };
        db::once(&self.pool, self.clock.now(), move |conn, _| {
            match outcome {
                Outcome::Done(done) => newsletters::finish(conn, post_id, user_id, done)?,
                Outcome::Retry { at } => newsletters::retry_at(conn, post_id, user_id, at)?,
            }
            Ok::<_, db::Error>(())
        })
        .await
    }

    async fn attempt(
        &self,
        claimed: &Claimed,
        address: &str,
        subscriber: &Subscriber,
        post: &PostContent,
        plain: &str,
        queued_at: i64,
    ) -> Outcome {
        let (post_id, user_id) = (claimed.post_id, claimed.user_id);
        let plan = subscriber.plan_at(self.clock.now());
        let letter = letter(post, plan, &self.app_url, &self.public_url, plain);
        let message = match self.compose(address, &letter) {
            Ok(message) => message,
            Err(e) => {
                tracing::warn!(post_id, user_id, error = %e, "gave up on a newsletter message that cannot be composed");
                return Outcome::Done(Done::Failed);
            }
        };
        let transport = self.transport.clone();
        let name = format!("n{post_id:06}-u{user_id:09}");
        let span = tracing::Span::current();
        let delivered = tokio::task::spawn_blocking(move || {
            span.in_scope(|| transport.deliver(&name, queued_at, &message))
        })
        .await
        .map_err(|e| anyhow::anyhow!("the delivery task failed: {e}"))
        .and_then(|result| result);
        let now = self.clock.now();
        match delivered {
            Ok(()) => Outcome::Done(Done::Sent),
            Err(e) if is_permanent(&e) => {
                tracing::warn!(post_id, user_id, error = %e, "gave up on a newsletter message the mail server refused for good");
                Outcome::Done(Done::Failed)
            }
            Err(e) if now - queued_at >= GIVE_UP_AFTER => {
                tracing::warn!(post_id, user_id, error = %e, "gave up on a newsletter message still undeliverable after 24 hours");
                Outcome::Done(Done::Failed)
            }
            Err(e) => {
                let at = now + backoff(claimed.attempts);
                tracing::warn!(post_id, user_id, retry_in_secs = at - now, error = %e, "could not deliver a newsletter message; will retry");
                Outcome::Retry { at }
            }
        }
    }

    fn compose(&self, address: &str, letter: &Letter) -> anyhow::Result<Message> {
        let to = address
            .parse::<Mailbox>()
            .context("the recipient is not an address the mail library accepts")?;
        let list_unsubscribe = HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{}>", letter.unsubscribe),
        );
        let one_click = HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
            "List-Unsubscribe=One-Click".to_owned(),
        );
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(letter.subject.clone())
            .raw_header(list_unsubscribe)
            .raw_header(one_click)
            .multipart(MultiPart::alternative_plain_html(
                body_of(letter.text.clone()),
                body_of(letter.html.clone()),
            ))?)
    }
}

/// Claims a batch (see [`Batch`]), in the caller's write transaction: each
/// message gets a new unsubscribe token, whose hash is stored before the
/// message can leave.
fn claim(conn: &mut db::Conn, now: i64) -> Result<Batch, db::Error> {
    let lease_until = now + LEASE_SECS;
    let claimed = newsletters::claim(conn, now, lease_until, BATCH)?;
    let mut messages = Vec::with_capacity(claimed.len());
    for message in claimed {
        let plain = token::generate();
        newsletters::set_token(conn, message.post_id, message.user_id, &token::hash(&plain))?;
        messages.push((message, plain));
    }
    let mut post_ids: Vec<i64> = messages.iter().map(|(m, _)| m.post_id).collect();
    post_ids.sort_unstable();
    post_ids.dedup();
    let mut posts = Vec::with_capacity(post_ids.len());
    for id in post_ids {
        let content = posts::visible_content(conn, id, now)?;
        let queued_at = newsletters::queued_at(conn, id)?;
        posts.push((id, content, queued_at));
    }
    Ok(Batch {
        lease_until,
        messages,
        posts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(access: &str) -> PostContent {
        PostContent {
            id: 7,
            slug: "the-post".to_owned(),
            title: "The <post>".to_owned(),
            body: "The secret sentence of the body.".to_owned(),
            html: "<p>The secret sentence of the body.</p>".to_owned(),
            excerpt: "What it is about.".to_owned(),
            access: access.to_owned(),
            published_at: 0,
            updated_at: 0,
        }
    }

    fn to(access: &str, plan: Plan) -> Letter {
        letter(
            &post(access),
            plan,
            "https://app.example",
            "https://api.example",
            "tok",
        )
    }

    #[test]
    fn free_members_never_get_the_body_of_a_metered_or_premium_post() {
        for access in ["metered", "premium"] {
            let m = to(access, Plan::Free);
            assert!(!m.text.contains("secret sentence"), "{m:?}");
            assert!(!m.html.contains("secret sentence"), "{m:?}");
            assert!(m.text.contains("What it is about."));
            assert!(m.text.contains("https://app.example/blog/the-post"));
            assert_eq!(
                m.text.contains("for premium members"),
                access == "premium",
                "{m:?}"
            );
            let whole = to(access, Plan::Premium);
            assert!(
                whole.text.contains("secret sentence") && whole.html.contains("secret sentence")
            );
        }
        for plan in [Plan::Free, Plan::Premium] {
            assert!(to("free", plan)
                .html
                .contains("<p>The secret sentence of the body.</p>"));
        }
    }

    #[test]
    fn every_part_carries_the_unsubscribe_link_and_the_title_is_escaped_in_html() {
        for (access, plan) in [
            ("free", Plan::Free),
            ("premium", Plan::Free),
            ("metered", Plan::Premium),
        ] {
            let m = to(access, plan);
            assert_eq!(m.subject, "The <post>");
            assert!(m.text.contains("https://app.example/unsubscribe?token=tok"));
            assert!(m.html.contains("https://app.example/unsubscribe?token=tok"));
            assert!(m.html.contains("The &lt;post&gt;") && !m.html.contains("The <post>"));
            assert_eq!(
                m.unsubscribe,
                "https://api.example/newsletter/unsubscribe?token=tok"
            );
        }
    }
}
