//! `GET /blog` and `GET /blog/{id}`, the metered paywall.

use actix_web::http::Method;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;

use super::common::{author, Author};
use super::pagination::{pagination, Pagination};
use crate::db::posts::PostRow;
use crate::db::unlocks::{self, MeterKey, Opened};
use crate::db::{self, paywall_notices, posts};
use crate::domain::paywall::limit_for;
use crate::domain::post::{Access, Slug};
use crate::domain::{Meter, Month, Requester};
use crate::error::ApiError;
use crate::metrics::PaywallOutcome;
use crate::session::{CurrentSession, MeterAnswer};
use crate::state::AppState;
use crate::time::rfc3339;

#[derive(Serialize)]
struct PostView {
    id: i64,
    slug: String,
    title: String,
    body: String,
    html: String,
    excerpt: String,
    access: String,
    author: Option<Author>,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    published_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_micros")]
    updated_at: i64,
    meter: Option<Meter>,
}

#[derive(Serialize)]
struct Summary {
    id: i64,
    slug: String,
    title: String,
    excerpt: String,
    access: String,
    author: Option<Author>,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    published_at: i64,
    /// The caller may open it without spending a read.
    unlocked: bool,
}

#[derive(Serialize)]
struct PostList {
    posts: Vec<Summary>,
    page: i64,
    per_page: i64,
    total: i64,
    meter: Option<Meter>,
}

/// Listing is never metered, but it shows the meter, and which posts the
/// caller may open for free. For a free user both come from one query, the
/// month's unlocked post ids (at most FREE_READS rows): the meter's `used`
/// is their count.
pub async fn list(
    state: web::Data<AppState>,
    current: CurrentSession,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Pagination { page, per_page } = pagination(req.query_string())?;
    let user = current.0.user;
    let limit = limit_for(user.plan, state.settings.free_reads);
    let now = state.clock.now();
    let month = Month::containing(crate::time::from_unix(now));
    let not_yet = state.not_yet_due.clone();
    let (rows, total, unlocked) = db::read(&state.pool, move |conn| {
        let (rows, total) = posts::page(conn, now, page, per_page, &not_yet)?;
        let unlocked = match limit {
            None => None,
            Some(_) => Some(unlocks::unlocked_ids(conn, user.id, month)?),
        };
        Ok::<_, ApiError>((rows, total, unlocked))
    })
    .await?;
    let meter = limit.map(|limit| {
        let used = unlocked.as_ref().map_or(0, Vec::len) as u32;
        Meter::new(limit, used, month)
    });
    let posts = rows
        .into_iter()
        .map(|row| Summary {
            // Premium readers (no list) open everything; others a free
            // post, or a metered one they unlocked this month.
            unlocked: match (Access::parse(&row.access).unwrap_or_default(), &unlocked) {
                (_, None) | (Access::Free, _) => true,
                (Access::Premium, Some(_)) => false,
                (Access::Metered, Some(ids)) => ids.contains(&row.id),
            },
            id: row.id,
            slug: row.slug,
            title: row.title,
            excerpt: row.excerpt,
            access: row.access,
            author: author(row.author),
            published_at: row.published_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PostList {
        posts,
        page,
        per_page,
        total,
        meter,
    }))
}

/// A post id is a positive integer in plain decimal; anything else names
/// no post (`404`) and never uses a read.
fn post_id(raw: &str) -> Option<i64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<i64>().ok().filter(|id| *id >= 1)
}

/// The post `raw` names: an id, or a slug (one lookup, to the id the
/// meter counts by); `None` when it names none.
async fn named_post(state: &AppState, raw: &str) -> Result<Option<i64>, ApiError> {
    if let Some(id) = post_id(raw) {
        return Ok(Some(id));
    }
    // All digits but not a post id (`0`, too long): never a slug.
    let Ok(slug) = Slug::parse(raw) else {
        return Ok(None);
    };
    let id = db::read(&state.pool, move |conn| {
        Ok::<_, ApiError>(posts::id_by_slug(conn, slug.as_str())?)
    })
    .await?;
    Ok(id)
}

/// `200` with the post as JSON, written into a buffer sized for it up
/// front: a post is a few KiB (its Markdown and its html), and growing
/// the buffer by doubling from empty copied it over and over.
fn answer(post: PostView) -> Result<HttpResponse, ApiError> {
    // Escaping makes html a little longer; what is left over is headroom
    // for the other fields and the meter.
    let size = post.body.len() + post.html.len() * 9 / 8 + post.excerpt.len() + 512;
    let mut json = Vec::with_capacity(size);
    serde_json::to_writer(&mut json, &post).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(json))
}

fn view(row: PostRow, meter: Option<Meter>) -> PostView {
    PostView {
        id: row.id,
        slug: row.slug,
        title: row.title,
        body: row.body,
        html: row.html,
        excerpt: row.excerpt,
        access: row.access,
        author: author(row.author),
        published_at: row.published_at,
        updated_at: row.updated_at,
        meter,
    }
}

/// The post a request opens through the meter, if it is one: a `GET` of
/// `/blog/{id}` (`path` as the router matches it) for a post id that could
/// exist. The guard asks for its meter along with the session, so that a
/// re-read or a refusal goes to the database once (see [`read`]).
pub fn metered_read(method: &Method, path: &str) -> Option<i64> {
    if method != Method::GET {
        return None;
    }
    post_id(path.strip_prefix("/blog/")?)
}

/// Opens a post through the paywall (`domain::paywall`). `HEAD` gets the
/// answer `GET` would get without spending a read: it delivers nothing.
///
/// A `GET` from a free reader usually finds its answer already: the guard
/// read the meter along with the session ([`metered_read`]), and left what
/// it says unless it is an unlock (a re-read, a refusal, no such post).
/// Only an unlock comes to the database again, where
/// [`unlocks::open_metered`] decides under its own guarantees, and the
/// month's first refusal, to be recorded.
pub async fn read(
    state: web::Data<AppState>,
    current: CurrentSession,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    // Only script (`fetch`, whose destination is `empty`) may spend a read:
    // an `<img src=…/blog/7>` on a same-site page, a frame or a navigation
    // would otherwise spend one of the reader's without their asking.
    // Browsers say what loads a resource in `Sec-Fetch-Dest`; clients
    // without it (curl, Postman, servers) are not browsers loading a page.
    if req
        .headers()
        .get("sec-fetch-dest")
        .is_some_and(|dest| dest.as_bytes() != b"empty")
    {
        return Err(ApiError::ForbiddenOrigin);
    }
    let post_id = named_post(&state, &id).await?.ok_or(ApiError::NotFound)?;
    let user = current.0.user;
    let now = state.clock.now();
    let month = Month::containing(crate::time::from_unix(now));
    let spend = req.method() != Method::HEAD;

    let Some(limit) = limit_for(user.plan, state.settings.free_reads) else {
        let row = db::read(&state.pool, move |conn| {
            Ok::<_, ApiError>(posts::find_visible(conn, post_id, now)?)
        })
        .await?
        .ok_or(ApiError::NotFound)?;
        if spend {
            state.metrics.paywall(PaywallOutcome::Granted);
        }
        return answer(view(row, None));
    };

    // Read for this post in this month (not across a month's turn).
    let key = MeterKey { month, post_id };
    let answered = req
        .extensions_mut()
        .remove::<MeterAnswer>()
        .filter(|answer| answer.key == key);
    let opened = match answered.map(|answer| answer.opened) {
        Some(Opened::Paywalled {
            used,
            first_of_month: true,
        }) => {
            let by = super::requester(&req);
            // Safe to run twice: the notice's primary key keeps it to one.
            db::read(&state.pool, move |conn| {
                record_refusal(conn, user.id, key, now, &by, used, limit)
            })
            .await?;
            Opened::Paywalled {
                used,
                first_of_month: false,
            }
        }
        Some(opened) => opened,
        None => open(&state, &req, user.id, key, limit, now).await?,
    };
    match opened {
        Opened::Granted { post, used, reread } => {
            if spend {
                state.metrics.paywall(if reread {
                    PaywallOutcome::Reread
                } else {
                    PaywallOutcome::Granted
                });
            }
            answer(view(post, Some(Meter::new(limit, used, month))))
        }
        Opened::Paywalled { used, .. } => {
            if spend {
                state.metrics.paywall(PaywallOutcome::Refused);
            }
            Err(ApiError::Paywall(Meter::new(limit, used, month)))
        }
        Opened::PremiumRequired { used } => {
            if spend {
                state.metrics.paywall(PaywallOutcome::Refused);
            }
            Err(ApiError::PremiumRequired(Meter::new(limit, used, month)))
        }
        Opened::NotFound => Err(ApiError::NotFound),
    }
}

/// What opening the post comes to, asked of the database: spending a read
/// for a `GET`, only looking for a `HEAD`.
async fn open(
    state: &AppState,
    req: &HttpRequest,
    user_id: i64,
    MeterKey { month, post_id }: MeterKey,
    limit: u32,
    now: i64,
) -> Result<Opened, ApiError> {
    // Only a GET's refusal is recorded as the month's `paywall` event: a
    // HEAD asks what a GET would get, and delivers nothing either way.
    let by = (req.method() != Method::HEAD).then(|| super::requester(req));
    // Safe to run twice: opening a post again changes nothing, and the
    // month's notice is kept to one by its primary key.
    let read = unlocks::MeteredRead {
        user_id,
        key: MeterKey { month, post_id },
        limit,
        now,
    };
    let opened = db::read(&state.pool, move |conn: &mut db::Conn| {
        let Some(by) = &by else {
            return Ok(unlocks::peek_metered(conn, read)?);
        };
        let opened = unlocks::open_metered(conn, read)?;
        if let Opened::Paywalled {
            used,
            first_of_month: true,
        } = opened
        {
            let key = MeterKey { month, post_id };
            record_refusal(conn, user_id, key, now, by, used, limit)?;
        }
        Ok::<_, db::Error>(opened)
    })
    .await?;
    Ok(opened)
}

/// Records the month's first refusal as its one `paywall` event (the
/// notice's primary key keeps it to one under races); every later refusal
/// learns from the metered read itself that it is not the first, and
/// writes nothing.
fn record_refusal(
    conn: &mut db::Conn,
    user_id: i64,
    MeterKey { month, .. }: MeterKey,
    now: i64,
    by: &Requester,
    used: u32,
    limit: u32,
) -> Result<(), db::Error> {
    db::write_transaction(conn, |conn| {
        paywall_notices::notice(conn, user_id, month, now, by, used, limit)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_ids_are_plain_positive_integers() {
        assert_eq!(post_id("1"), Some(1));
        assert_eq!(post_id("012"), Some(12));
        for bad in [
            "0",
            "-1",
            "+1",
            "1.0",
            "abc",
            "",
            " 1",
            "99999999999999999999",
        ] {
            assert_eq!(post_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_a_get_of_a_post_is_a_metered_read() {
        assert_eq!(metered_read(&Method::GET, "/blog/3"), Some(3));
        for (method, path) in [
            (Method::HEAD, "/blog/3"),
            (Method::POST, "/blog/3"),
            (Method::GET, "/blog"),
            (Method::GET, "/blog/"),
            (Method::GET, "/blog/3/x"),
            (Method::GET, "/blog/0"),
            (Method::GET, "/blogs/3"),
            (Method::GET, "/check_session"),
        ] {
            assert_eq!(metered_read(&method, path), None, "{method} {path}");
        }
    }

    proptest::proptest! {
        #[test]
        fn post_ids_are_positive_whatever_the_text(raw in "\\PC{0,30}|[0-9+-]{0,30}") {
            if let Some(id) = post_id(&raw) {
                proptest::prop_assert!(id >= 1);
                proptest::prop_assert!(raw.bytes().all(|b| b.is_ascii_digit()));
            }
        }

    }
}
