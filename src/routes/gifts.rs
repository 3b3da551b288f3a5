//! `POST /blog/{id}/gift`, `GET /gifts`, `DELETE /gifts/{id}` and the
//! public `GET /gift/{token}`: a premium reader shares a post, and whoever
//! opens the link reads it without paying, without an account and without
//! spending a read.
//!
//! A gift's token is derived, never stored (`domain::gift`); a reader is a
//! signed-in user, or else a browser known by the `tollgate_reader` cookie
//! (random, carrying nothing else; `domain::gift`), counted once per gift within
//! GIFT_MAX_READERS (`db::gifts`). A browser that opened a gift and then
//! registers credits the gift (`accounts::sign_in`).

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use serde::Serialize;
use serde_json::json;

use super::extract::PathId;
use super::reading::{new_reader_cookie, only_for_script, reader_cookie, Parts};
use crate::db::gifts::{self, GiftRow, Made, NewGift, Opened};
use crate::db::{self, events, insights, posts, unlocks, users};
use crate::domain::gift::{browser_reader, is_token_shaped, user_reader, GiftKey};
use crate::domain::paywall::Reading;
use crate::domain::post::reader_json;
use crate::domain::post::{Author, Slug};
use crate::domain::{parse_id, EventKind, Meter, Month, Plan, Requester, Role};
use crate::error::ApiError;
use crate::reading::made;
use crate::session::{token, CurrentSession, SessionState};
use crate::state::AppState;
use crate::time::rfc3339;

/// A gift as its giver sees it.
#[derive(Serialize)]
struct GiftView {
    id: i64,
    post_id: i64,
    url: String,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    expires_at: i64,
    readers: i32,
    revoked: bool,
}

impl GiftView {
    fn of(state: &AppState, gift: GiftRow) -> GiftView {
        let token = state.gift_key.token(&gift.nonce);
        GiftView {
            id: gift.id,
            post_id: gift.post_id,
            url: format!("{}/gift/{token}", state.settings.app_url),
            created_at: gift.created_at,
            expires_at: gift.expires_at,
            readers: gift.readers,
            revoked: gift.revoked_at.is_some(),
        }
    }
}

/// The month's gifts as a meter.
fn gift_meter(state: &AppState, used: i64, month: Month) -> Meter {
    Meter::new(
        state.settings.gifts_per_month,
        u32::try_from(used).unwrap_or(u32::MAX),
        month,
    )
}

/// `POST /blog/{id}/gift` (`{id}`: an id or a slug).
#[tracing::instrument(name = "gift", skip_all, fields(user_id = current.0.user.id))]
pub async fn gift(
    state: web::Data<AppState>,
    current: CurrentSession,
    by: Requester,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = current.0.user;
    let now = state.clock.now();
    let month = Month::at(now);
    // What cannot name a post is no post, whoever asks.
    let named = id.into_inner();
    let (by_id, by_slug) = match parse_id(&named) {
        Some(id) => (Some(id), None),
        None => (
            None,
            Some(Slug::parse(&named).map_err(|_| ApiError::NotFound)?),
        ),
    };
    if user.plan != Plan::Premium {
        // Told with the free plan's meter, as a premium post's refusal is
        // (staff on it are not metered, but gifting is a subscriber's).
        let reading = Reading::at(now, user.plan, Role::Reader, state.settings.free_reads);
        let used = db::idempotent(&state.pool, now, move |conn, _| {
            Ok::<_, ApiError>(unlocks::unlocked_ids(conn, user.id, reading.month)?.len())
        })
        .await?;
        let limit = reading.limit.unwrap_or_default();
        let meter = Meter::new(limit, used as u32, reading.month);
        return Err(ApiError::GiftingNeedsPremium(meter));
    }
    let nonce = GiftKey::nonce();
    let token_hash = token::hash(&state.gift_key.token(&nonce));
    let limit = i64::from(state.settings.gifts_per_month);
    let expires_at = now + i64::from(state.settings.gift_link_days) * 86_400;
    let made = db::once(&state.pool, now, move |conn, now| {
        // The giver's gifts are decided one at a time (see `db::gifts`).
        users::lock(conn, user.id)?;
        let post_id = match (by_id, &by_slug) {
            (Some(id), _) => Some(id),
            (None, Some(slug)) => posts::id_by_slug(conn, slug.as_str())?,
            (None, None) => None,
        };
        let Some(post) = post_id
            .map(|id| posts::find_visible(conn, id, now))
            .transpose()?
            .flatten()
        else {
            return Err(ApiError::NotFound);
        };
        let new = NewGift {
            giver_id: user.id,
            post_id: post.id,
            month,
            token_hash: &token_hash,
            nonce: &nonce,
            now,
            expires_at,
        };
        let made = gifts::make(conn, &new, limit)?;
        if let Made::New { gift, .. } = &made {
            let detail = json!({ "gift_id": gift.id, "post_id": gift.post_id });
            events::record(conn, now, user.id, EventKind::GiftCreated, &by, detail)?;
        }
        Ok(made)
    })
    .await?;
    let (mut answer, gift, used) = match made {
        Made::New { gift, used } => {
            tracing::info!(gift_id = gift.id, post_id = gift.post_id, "gift link made");
            (HttpResponse::Created(), gift, used)
        }
        Made::Again { gift, used } => (HttpResponse::Ok(), gift, used),
        Made::LimitReached { used } => {
            return Err(ApiError::GiftLimit(gift_meter(&state, used, month)));
        }
    };
    Ok(answer.json(json!({
        "gift": GiftView::of(&state, gift),
        "gifts": gift_meter(&state, used, month),
    })))
}

/// `GET /gifts`: the caller's gifts of this month, newest first.
pub async fn list(
    state: web::Data<AppState>,
    current: CurrentSession,
) -> Result<HttpResponse, ApiError> {
    let user_id = current.0.user.id;
    let month = Month::at(state.clock.now());
    let made = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(gifts::of_month(conn, user_id, month)?)
    })
    .await?;
    let used = made.len() as i64;
    let views: Vec<GiftView> = made
        .into_iter()
        .map(|gift| GiftView::of(&state, gift))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "gifts": views,
        "meter": gift_meter(&state, used, month),
    })))
}

/// `DELETE /gifts/{id}`: the link stops working at once; the gift stays
/// used.
pub async fn revoke(
    state: web::Data<AppState>,
    current: CurrentSession,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let user_id = current.0.user.id;
    let revoked = db::once(&state.pool, state.clock.now(), move |conn, now| {
        Ok::<_, ApiError>(gifts::revoke(conn, user_id, id, now)?)
    })
    .await?;
    if !revoked {
        return Err(ApiError::NotFound);
    }
    tracing::info!(user_id, gift_id = id, "gift link revoked");
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /gift/{token}` (public): the post, whoever opens it, without
/// spending a read. A `HEAD` gets the answer a `GET` would get, and what a
/// page loads without script is refused: neither delivers the post to a
/// script, so neither counts a reader or sets a reader cookie (a link
/// checker, a chat's preview or a mail scanner would otherwise use up a
/// gift's readers).
pub async fn open(
    state: web::Data<AppState>,
    req: HttpRequest,
    sent: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    only_for_script(&req)?;
    let delivered = req.method() != Method::HEAD;
    let sent = sent.into_inner();
    // A token as sent is only ever hashed, never stored or logged; one
    // that cannot be a token is nobody's.
    if !is_token_shaped(&sent) {
        return Err(ApiError::NotFound);
    }
    let token_hash = token::hash(&sent);
    let signed_in = SessionState::peek(&req, |s| s.active().ok().map(|r| r.user.id));
    // The browser's reader cookie, or a new one to set with the answer.
    let (browser, fresh) = match reader_cookie(&req) {
        Some(cookie) => (cookie, false),
        None => (token::generate(), true),
    };
    let reader = signed_in.map_or_else(|| browser_reader(&browser), user_reader);
    let cap = i32::try_from(state.settings.gift_max_readers).unwrap_or(i32::MAX);
    let asked = gifts::read_ahead::Asked { token_hash, reader };
    // Read ahead with the other gift opens of its chunk: a re-open is
    // then no round trip of its own (see `db::read_ahead`).
    let lookup = db::Lookup::gift(asked.clone());
    let opened = db::idempotent_reading_ahead(
        &state.pool,
        state.clock.now(),
        lookup,
        move |conn, ahead, now| {
            let counted = |conn: &mut db::Conn, post_id| insights::gift_read(conn, post_id, now);
            let when = (now, cap, delivered);
            Ok::<_, ApiError>(gifts::open(conn, &asked, ahead.gift, when, counted)?)
        },
    )
    .await?;
    let found = match opened {
        Opened::Read(found) => found,
        Opened::Expired => return Err(ApiError::GiftExpired),
        Opened::Exhausted => return Err(ApiError::GiftExhausted),
        Opened::NotFound => return Err(ApiError::NotFound),
    };
    // Saved or deleted since it was found: the reader asks again.
    let made = made(&state, &found.post)
        .await?
        .ok_or(ApiError::Unavailable)?;
    let post = reader_json::answer(&made, found.post.author.as_deref(), None);
    // `{"post": {…}, "gift": {"from": Author, "expires_at"}}`, the post as
    // readers get it (its meter `null`).
    let gift = json!({
        "from": Author::of(Some(found.giver)),
        "expires_at": crate::time::format(crate::time::from_unix(found.expires_at)),
    });
    let mut rest = post.rest;
    rest.extend_from_slice(b",\"gift\":");
    serde_json::to_writer(&mut rest, &gift).map_err(ApiError::internal)?;
    rest.push(b'}');
    let body = Parts::new([Bytes::from_static(b"{\"post\":"), post.made, rest.into()]);
    let mut answer = HttpResponse::Ok();
    answer.content_type(actix_web::http::header::ContentType::json());
    if fresh && delivered {
        answer.cookie(new_reader_cookie(browser, state.settings.cookie_secure));
    }
    Ok(answer.body(body))
}
