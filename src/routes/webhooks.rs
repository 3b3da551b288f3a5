//! Admins manage the webhooks that tell other systems what changed:
//! `POST`/`GET /admin/webhooks`, `PATCH`/`DELETE /admin/webhooks/{id}`,
//! `POST /admin/webhooks/{id}/rotate`, the deliveries log
//! (`GET /admin/webhooks/{id}/deliveries`) and a failed delivery tried
//! again (`POST /admin/webhooks/{id}/deliveries/{delivery}/retry`).
//! Anyone else gets `403 forbidden`.
//!
//! A webhook's secret is in the answers that make it (create, rotate) and
//! nowhere else: never in a list, a log line or a span.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{Map, Value};

use super::body::JsonObject;
use super::extract::{Admin, PathId};
use super::pagination::{pagination, single, Pagination};
use crate::db::webhooks::{self as stored, Change, NewWebhook, Retry};
use crate::db::{self};
use crate::domain::parse_id;
use crate::domain::webhook::{new_secret, Types, MAX_WEBHOOKS, ROTATION_OVERLAP};
use crate::error::ApiError;
use crate::state::AppState;
use crate::time::rfc3339;
use crate::webhooks::address;

/// The longest description kept.
const MAX_DESCRIPTION: usize = 500;

/// `Webhook`: what an admin sees of a webhook; `secret` only when it was
/// just made.
#[derive(Serialize)]
struct Webhook {
    id: i64,
    url: String,
    events: Vec<String>,
    description: String,
    enabled: bool,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
}

impl Webhook {
    fn of(row: stored::Webhook, with_secret: bool) -> Webhook {
        Webhook {
            id: row.id,
            events: Types::listed(&row.events),
            url: row.url,
            description: row.description,
            enabled: row.enabled,
            created_at: row.created_at,
            secret: with_secret.then_some(row.secret),
        }
    }
}

/// What a create or a `PATCH` sent, each field checked (absent: `None`).
struct Sent {
    url: Option<String>,
    events: Option<Types>,
    description: Option<String>,
    enabled: Option<bool>,
}

/// Reads the body's fields, `422` naming each one that breaks its rule;
/// the URL's host is resolved and checked as the settings say.
async fn sent(object: &Map<String, Value>, state: &AppState) -> Result<Sent, ApiError> {
    let mut problems = std::collections::BTreeMap::new();
    let url = match object.get("url") {
        None => None,
        Some(Value::String(text)) => match address::check(text, &state.settings).await {
            Ok(url) => Some(url.as_str().to_owned()),
            Err(rule) => {
                problems.insert("url".to_owned(), rule.to_owned());
                None
            }
        },
        Some(_) => {
            problems.insert("url".to_owned(), "must be a string".to_owned());
            None
        }
    };
    let events = match object.get("events") {
        None => None,
        Some(Value::Array(items)) => {
            let names: Option<Vec<String>> = items
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect();
            match names.map(|names| Types::parse(&names)) {
                Some(Ok(types)) => Some(types),
                Some(Err(rule)) => {
                    problems.insert("events".to_owned(), rule.to_owned());
                    None
                }
                None => {
                    problems.insert("events".to_owned(), "must be strings".to_owned());
                    None
                }
            }
        }
        Some(_) => {
            problems.insert(
                "events".to_owned(),
                "must be a list of event types, or [\"*\"]".to_owned(),
            );
            None
        }
    };
    let description = match object.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(text))
            if text.chars().count() <= MAX_DESCRIPTION && !text.contains('\0') =>
        {
            Some(text.clone())
        }
        Some(_) => {
            problems.insert(
                "description".to_owned(),
                "must be a string of at most 500 characters".to_owned(),
            );
            None
        }
    };
    let enabled = match object.get("enabled") {
        None => None,
        Some(Value::Bool(on)) => Some(*on),
        Some(_) => {
            problems.insert("enabled".to_owned(), "must be true or false".to_owned());
            None
        }
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    Ok(Sent {
        url,
        events,
        description,
        enabled,
    })
}

/// `POST /admin/webhooks`: a new webhook, enabled, with its secret (shown
/// this once).
pub async fn create(
    state: web::Data<AppState>,
    _: Admin,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let mut sent = sent(&body.0, &state).await?;
    let mut missing = std::collections::BTreeMap::new();
    if sent.url.is_none() && !body.0.contains_key("url") {
        missing.insert("url".to_owned(), "is required".to_owned());
    }
    if sent.events.is_none() && !body.0.contains_key("events") {
        missing.insert("events".to_owned(), "is required".to_owned());
    }
    if !missing.is_empty() {
        return Err(ApiError::Validation(missing));
    }
    let (url, events) = (sent.url.take(), sent.events.take());
    let (Some(url), Some(events)) = (url, events) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "checked fields went missing"
        )));
    };
    let description = sent.description.unwrap_or_default();
    let made = db::once(&state.pool, state.clock.now(), move |conn, now| {
        if stored::count_for_insert(conn)? >= MAX_WEBHOOKS {
            return Err(ApiError::field(
                "webhooks",
                "at most 20 webhooks; delete one first",
            ));
        }
        let secret = new_secret();
        let new = NewWebhook {
            url: &url,
            events: events.stored(),
            description: &description,
            secret: &secret,
            now,
        };
        Ok::<_, ApiError>(stored::insert(conn, &new)?)
    })
    .await?;
    state.webhooks_wake.notify_one();
    Ok(HttpResponse::Created().json(Webhook::of(made, true)))
}

#[derive(Serialize)]
struct WebhookList {
    webhooks: Vec<Webhook>,
}

/// `GET /admin/webhooks`: every webhook, oldest first, without secrets.
pub async fn list(state: web::Data<AppState>, _: Admin) -> Result<HttpResponse, ApiError> {
    let rows = db::idempotent(&state.pool, state.clock.now(), |conn, _| {
        Ok::<_, ApiError>(stored::all(conn)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        webhooks: rows
            .into_iter()
            .map(|row| Webhook::of(row, false))
            .collect(),
    }))
}

/// `PATCH /admin/webhooks/{id}`: `url`, `events`, `description`, `enabled`.
pub async fn edit(
    state: web::Data<AppState>,
    _: Admin,
    PathId(id): PathId,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let sent = sent(&body.0, &state).await?;
    let change = Change {
        url: sent.url,
        events: sent.events.map(|types| types.stored().to_owned()),
        description: sent.description,
        enabled: sent.enabled,
    };
    let row = db::once(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(stored::update(conn, id, &change)?)
    })
    .await?
    .ok_or(ApiError::NotFound)?;
    state.webhooks_wake.notify_one();
    Ok(HttpResponse::Ok().json(Webhook::of(row, false)))
}

/// `DELETE /admin/webhooks/{id}`: nothing more goes to it.
pub async fn delete(
    state: web::Data<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let deleted = db::once(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(stored::delete(conn, id)?)
    })
    .await?;
    match deleted {
        true => Ok(HttpResponse::NoContent().finish()),
        false => Err(ApiError::NotFound),
    }
}

/// `POST /admin/webhooks/{id}/rotate`: a new secret, shown this once; for
/// 24 hours each message is signed with the one before as well, so a
/// receiver has a day to take the new one.
pub async fn rotate(
    state: web::Data<AppState>,
    _: Admin,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let row = db::once(&state.pool, state.clock.now(), move |conn, now| {
        let secret = new_secret();
        Ok::<_, ApiError>(stored::rotate(conn, id, &secret, now + ROTATION_OVERLAP)?)
    })
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(Webhook::of(row, true)))
}

/// A delivery as the log shows it.
#[derive(Serialize)]
struct Delivery {
    id: i64,
    event_id: String,
    #[serde(rename = "type")]
    kind: String,
    status: String,
    attempts: i32,
    last_status: Option<i32>,
    last_error: Option<String>,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    next_attempt_at: Option<i64>,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
}

#[derive(Serialize)]
struct DeliveryList {
    deliveries: Vec<Delivery>,
    next: Option<String>,
}

/// `GET /admin/webhooks/{id}/deliveries`: newest first, `?status=` one of
/// `pending`, `succeeded`, `failed`; `per_page` as `/blog`, and `after` a
/// cursor a `next` handed out (a position, so deliveries made meanwhile
/// never shift a page).
pub async fn deliveries(
    state: web::Data<AppState>,
    _: Admin,
    PathId(id): PathId,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = req.query_string();
    let Pagination { per_page, .. } = pagination(query)?;
    let status = match single(query, "status")? {
        Ok(None) => None,
        Ok(Some(status)) if ["pending", "succeeded", "failed"].contains(&status.as_str()) => {
            Some(status)
        }
        _ => {
            return Err(ApiError::field(
                "status",
                "must be given once: pending, succeeded or failed",
            ))
        }
    };
    let after = match single(query, "after")? {
        Ok(None) => None,
        Ok(Some(cursor)) => Some(cursor_position(&cursor).ok_or_else(|| {
            ApiError::field("after", "is not a cursor this server handed out (`next`)")
        })?),
        Err(()) => return Err(ApiError::field("after", "must be given once")),
    };
    let (known, rows) = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        let known = stored::find(conn, id)?.is_some();
        // One more than the page, to know whether another follows.
        let rows = stored::deliveries(conn, id, status.as_deref(), after, per_page + 1)?;
        Ok::<_, ApiError>((known, rows))
    })
    .await?;
    if !known {
        return Err(ApiError::NotFound);
    }
    let more = rows.len() as i64 > per_page;
    let rows: Vec<_> = rows.into_iter().take(per_page as usize).collect();
    let next = rows.last().filter(|_| more).map(|last| cursor_of(last.id));
    Ok(HttpResponse::Ok().json(DeliveryList {
        deliveries: rows
            .into_iter()
            .map(|row| Delivery {
                id: row.id,
                event_id: row.event_id,
                kind: row.kind,
                status: row.status,
                attempts: row.attempts,
                last_status: row.last_status,
                last_error: row.last_error,
                next_attempt_at: row.next_attempt_at,
                created_at: row.created_at,
            })
            .collect(),
        next,
    }))
}

/// The cursor after delivery `id`: opaque to clients.
fn cursor_of(id: i64) -> String {
    format!("d{id}")
}

fn cursor_position(cursor: &str) -> Option<i64> {
    cursor.strip_prefix('d').and_then(parse_id)
}

/// `POST /admin/webhooks/{id}/deliveries/{delivery}/retry`: a `failed`
/// delivery is tried again at once (`409 not_failed` otherwise). It is one
/// more attempt: if it fails too, the delivery is `failed` again.
pub async fn retry(
    state: web::Data<AppState>,
    _: Admin,
    PathId(id): PathId,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let delivery = req
        .match_info()
        .get("delivery")
        .and_then(parse_id)
        .ok_or(ApiError::NotFound)?;
    let retried = db::once(&state.pool, state.clock.now(), move |conn, now| {
        Ok::<_, ApiError>(stored::retry(conn, id, delivery, now)?)
    })
    .await?;
    match retried {
        Retry::Queued => {
            state.webhooks_wake.notify_one();
            Ok(HttpResponse::Accepted().json(serde_json::json!({"status": "pending"})))
        }
        Retry::NotFailed => Err(ApiError::NotFailed),
        Retry::Unknown => Err(ApiError::NotFound),
    }
}
