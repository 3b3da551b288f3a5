//! The deliverer of one instance: makes each event's deliveries, claims
//! the due ones with a lease (`db::webhooks::claim`), sends each as a
//! Standard Webhooks message and records how it ended — a `2xx` within
//! [`TIMEOUT`] succeeds; anything else is tried again on the schedule of
//! `domain::webhook::retry_after`, then marked `failed`.
//!
//! It runs as a task of its own beside the mail senders, woken by a timer,
//! by its `Notify` (a webhook made or enabled, a delivery to try again, an
//! attempt that ended) and by the app's clock being moved. Each attempt runs as a task
//! of its own: the loop never waits on a receiver, at most
//! [`PER_WEBHOOK`] attempts are under way for one webhook (held by the
//! claim, across instances), so a slow or dead receiver delays no request,
//! no mail and no other webhook.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

use super::address::Guarded;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::webhooks::{self, Attempt, Outcome};
use crate::db::{self, Pool};
use crate::domain::webhook::{retry_after, signature, WebhookUrl};
use crate::metrics::{Metrics, WebhookOutcome};
use crate::time::{format, from_unix};

/// An attempt that has not answered within this fails.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts under way at once for one webhook.
pub const PER_WEBHOOK: i64 = 4;
/// Attempts under way at once in this instance, all webhooks together.
const IN_FLIGHT: usize = 32;
/// A claim holds its delivery this long: well past [`TIMEOUT`], so that
/// only a deliverer that died lets it come back.
const LEASE_SECS: i64 = 120;
/// Events fanned out per transaction.
const FAN_OUT_BATCH: i64 = 200;
/// The longest the deliverer sleeps without looking while a webhook is
/// enabled: an event committed by any instance goes out within it. (A
/// look is one read; the write transactions that fan out and claim are
/// taken only when it finds work.)
const POLL_SECS: i64 = 1;
/// The same while no webhook is enabled.
const IDLE_POLL_SECS: i64 = 30;

/// The deliverer of one instance.
pub struct Deliverer {
    shared: Arc<Shared>,
}

struct Shared {
    pool: Pool,
    clock: Clock,
    client: reqwest::Client,
    allow_http: bool,
    allow_private: bool,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    slots: Arc<Semaphore>,
}

impl Deliverer {
    pub fn new(
        settings: &Settings,
        pool: Pool,
        clock: Clock,
        metrics: Arc<Metrics>,
        wake: Arc<Notify>,
    ) -> anyhow::Result<Deliverer> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A redirect would send the message where no check was made.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Guarded {
                allow_private: settings.webhook_allow_private,
            }))
            .user_agent(concat!("tollgate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Deliverer {
            shared: Arc::new(Shared {
                pool,
                clock,
                client,
                allow_http: settings.webhook_allow_http,
                allow_private: settings.webhook_allow_private,
                metrics,
                wake,
                slots: Arc::new(Semaphore::new(IN_FLIGHT)),
            }),
        })
    }

    /// Delivers until `stop` turns true; attempts under way then are
    /// given a moment to finish and be recorded (one cut off comes back
    /// when its lease ends).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let shared = self.shared;
        let mut moved = shared.clock.moved();
        let mut attempts = JoinSet::new();
        loop {
            if *stop.borrow() {
                break;
            }
            while attempts.try_join_next().is_some() {}
            let wait = match work(&shared, &mut attempts).await {
                Ok((Some(due), _)) => (due - shared.clock.now()).clamp(1, POLL_SECS),
                Ok((None, true)) => POLL_SECS,
                Ok((None, false)) => IDLE_POLL_SECS,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the webhook deliveries");
                    5
                }
            };
            tokio::select! {
                _ = stop.changed() => {}
                _ = shared.wake.notified() => {}
                changed = moved.changed() => if changed.is_err() { break },
                _ = tokio::time::sleep(Duration::from_secs(wait as u64)) => {}
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while attempts.join_next().await.is_some() {}
        })
        .await;
    }
}

/// When the deliverer next has work, and whether any webhook is enabled.
async fn look(shared: &Shared) -> Result<(Option<i64>, bool), db::Error> {
    db::idempotent(&shared.pool, shared.clock.now(), |conn, now| {
        let due = webhooks::next_due(conn, now)?;
        Ok::<_, db::Error>((due, webhooks::any_enabled(conn)?))
    })
    .await
}

/// Fans out the events waiting, then claims and starts every due delivery
/// there is a slot for; answers when to look again, and whether any
/// webhook is enabled.
async fn work(
    shared: &Arc<Shared>,
    attempts: &mut JoinSet<()>,
) -> Result<(Option<i64>, bool), db::Error> {
    let (due, enabled) = look(shared).await?;
    if due.is_none_or(|due| due > shared.clock.now()) {
        return Ok((due, enabled));
    }
    loop {
        let made = db::once(&shared.pool, shared.clock.now(), |conn, now| {
            Ok::<_, db::Error>(webhooks::fan_out(conn, now, FAN_OUT_BATCH)?)
        })
        .await?;
        if made < FAN_OUT_BATCH as usize {
            break;
        }
    }
    loop {
        let free = shared.slots.available_permits() as i64;
        if free == 0 {
            break;
        }
        let now = shared.clock.now();
        let claimed = db::once(&shared.pool, now, move |conn, now| {
            let ids = webhooks::claim(conn, now, now + LEASE_SECS, free, PER_WEBHOOK)?;
            Ok::<_, db::Error>(webhooks::attempts(conn, &ids)?)
        })
        .await?;
        let count = claimed.len() as i64;
        for attempt in claimed {
            let Ok(slot) = shared.slots.clone().try_acquire_owned() else {
                break;
            };
            let shared = shared.clone();
            attempts.spawn(async move {
                deliver(&shared, attempt).await;
                drop(slot);
                shared.wake.notify_one();
            });
        }
        if count < free {
            break;
        }
    }
    look(shared).await
}

/// The message's body: the same bytes on every attempt, since they are
/// made of what was stored with the event.
pub fn body_of(kind: &str, at: i64, data: &str) -> String {
    format!(
        "{{\"type\":{},\"timestamp\":{},\"data\":{data}}}",
        serde_json::Value::from(kind),
        serde_json::Value::from(format(from_unix(at))),
    )
}

/// One attempt of a claimed delivery, recorded.
async fn deliver(shared: &Shared, attempt: Attempt) {
    let now = shared.clock.now();
    let body = body_of(&attempt.kind, attempt.at, &attempt.data);
    let mut secrets = vec![attempt.secret.as_str()];
    if let (Some(previous), Some(until)) = (&attempt.previous_secret, attempt.previous_until) {
        if until > now {
            secrets.push(previous);
        }
    }
    let signed = signature(&secrets, &attempt.event_id, now, &body);
    let sent = match WebhookUrl::parse(&attempt.url, shared.allow_http, shared.allow_private) {
        // The settings changed since the URL was accepted.
        Err(rule) => Err(format!("url {rule}")),
        Ok(url) => shared
            .client
            .post(url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &attempt.event_id)
            .header("webhook-timestamp", now.to_string())
            .header("webhook-signature", signed)
            .body(body)
            .send()
            .await
            .map_err(|e| describe(&e)),
    };
    let outcome = match sent {
        Ok(answer) if answer.status().is_success() => Outcome::Succeeded {
            status: i32::from(answer.status().as_u16()),
        },
        Ok(answer) => Outcome::Failed {
            status: Some(i32::from(answer.status().as_u16())),
            error: format!("answered {}", answer.status()),
            retry_at: retry_after(attempt.attempts).map(|wait| now + wait),
        },
        Err(error) => Outcome::Failed {
            status: None,
            error,
            retry_at: retry_after(attempt.attempts).map(|wait| now + wait),
        },
    };
    shared.metrics.webhook_delivery(match &outcome {
        Outcome::Succeeded { .. } => WebhookOutcome::Succeeded,
        Outcome::Failed {
            retry_at: Some(_), ..
        } => WebhookOutcome::Retried,
        Outcome::Failed { retry_at: None, .. } => WebhookOutcome::Failed,
    });
    let (id, webhook_id) = (attempt.id, attempt.webhook_id);
    if let Outcome::Failed { error, .. } = &outcome {
        // The webhook and the delivery, never the URL's secrets or the body.
        tracing::info!(webhook_id, delivery_id = id, error = %error, "a webhook delivery failed");
    }
    let recorded = db::once(&shared.pool, shared.clock.now(), move |conn, _| {
        Ok::<_, db::Error>(webhooks::finish(conn, id, &outcome)?)
    })
    .await;
    if let Err(e) = recorded {
        // The lease brings it back.
        tracing::warn!(error = %e, webhook_id, delivery_id = id, "could not record a webhook delivery");
    }
}

/// What went wrong with a request, without its URL (which may carry a
/// receiver's token).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(e) = cause {
        detail = e.to_string();
        cause = e.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_type_timestamp_and_data() {
        let body = body_of("member.deleted", 1_800_000_000, r#"{"id":7}"#);
        assert_eq!(
            body,
            r#"{"type":"member.deleted","timestamp":"2027-01-15T08:00:00Z","data":{"id":7}}"#
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["data"]["id"], 7);
    }
}
