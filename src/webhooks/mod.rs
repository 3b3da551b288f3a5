//! Webhooks: other systems told what changed, as signed HTTP `POST`s in the
//! form of Standard Webhooks.
//!
//! - [`record`]: a change's event, written by the service that makes the
//!   change (`accounts::members`, `publishing`), in its transaction: a
//!   change rolled back reports nothing, and one committed is never lost.
//! - [`address`]: which URLs a webhook may have, and the resolver that
//!   keeps every delivery away from addresses inside the server's network.
//! - [`deliverer`]: the background task that makes each event's
//!   deliveries, claims them, signs and sends them, and retries on the
//!   app's clock.

pub mod address;
pub mod deliverer;

use diesel::QueryResult;

use crate::db::webhooks::{self, Data};
use crate::db::Conn;
use crate::domain::webhook::new_event_id;

/// Something that happened, as a webhook reports it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// `member.created`: the member as they joined.
    MemberCreated { id: i64 },
    /// `member.updated`: the member as they are now.
    MemberUpdated { id: i64 },
    /// `member.deleted`: `{"id"}`.
    MemberDeleted { id: i64 },
    /// `member.plan_changed`: the member, the plan in force before and
    /// after, and what changed it (`cli`, `admin`, `billing`, or
    /// `grant_ended` for complimentary premium that ran out).
    PlanChanged {
        id: i64,
        from: &'a str,
        to: &'a str,
        source: &'a str,
    },
    /// `post.published`, `post.unpublished`, `post.deleted`.
    Post { kind: PostKind, id: i64 },
    /// `subscription.updated`: `{"member_id", "subscription"}`, the
    /// subscription as the Subscription object (JSON) shows it.
    SubscriptionUpdated {
        member_id: i64,
        subscription: &'a serde_json::Value,
    },
    /// `newsletter.sent`: `{"post_id", "recipients"}`.
    NewsletterSent { post_id: i64, recipients: i64 },
}

/// What happened to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    Published,
    Unpublished,
    Deleted,
}

/// Writes `event`, which happened at `now`, in the caller's transaction
/// (one statement: see `db::webhooks::record`).
pub fn record(conn: &mut Conn, now: i64, event: Event<'_>) -> QueryResult<()> {
    let (kind, data, json);
    match event {
        Event::MemberCreated { id } => {
            kind = "member.created";
            data = Data::Member { id, now };
        }
        Event::MemberUpdated { id } => {
            kind = "member.updated";
            data = Data::Member { id, now };
        }
        Event::MemberDeleted { id } => {
            kind = "member.deleted";
            json = serde_json::json!({ "id": id }).to_string();
            data = Data::Json(&json);
        }
        Event::PlanChanged {
            id,
            from,
            to,
            source,
        } => {
            kind = "member.plan_changed";
            data = Data::PlanChanged {
                id,
                now,
                from,
                to,
                source,
            };
        }
        Event::Post { kind: what, id } => {
            kind = match what {
                PostKind::Published => "post.published",
                PostKind::Unpublished => "post.unpublished",
                PostKind::Deleted => "post.deleted",
            };
            data = Data::Post { id };
        }
        Event::SubscriptionUpdated {
            member_id,
            subscription,
        } => {
            kind = "subscription.updated";
            json = serde_json::json!({ "member_id": member_id, "subscription": subscription })
                .to_string();
            data = Data::Json(&json);
        }
        Event::NewsletterSent {
            post_id,
            recipients,
        } => {
            kind = "newsletter.sent";
            json = serde_json::json!({ "post_id": post_id, "recipients": recipients }).to_string();
            data = Data::Json(&json);
        }
    }
    webhooks::record(conn, &new_event_id(), kind, data, now)
}
