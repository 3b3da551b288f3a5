//! `GET /blog` and `GET /blog/{id}`, the metered paywall.

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;

use super::extract::requester;
use super::pagination::{listing, Listing};
use super::reading::{new_reader_cookie, only_for_script, reader_cookie, Parts};
use crate::client_ip;
use crate::db::posts::Start;
use crate::db::{self, anonymous};
use crate::domain::gift::browser_reader;
use crate::domain::network_of;
use crate::domain::paywall::Reading;
use crate::domain::post::reader_json;
use crate::domain::post::{Access, Author, Cursor};
use crate::domain::{Meter, Month};
use crate::error::ApiError;
use crate::reading::anonymous::Browser;
use crate::reading::{self, AheadMeter, Answered, Reader, Spend};
use crate::session::token;
use crate::session::SessionState;
use crate::state::AppState;
use crate::time::rfc3339;

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
    /// `null` for a page after a cursor.
    page: Option<i64>,
    per_page: i64,
    total: i64,
    /// The cursor of the page after this one (`null` on the last).
    next: Option<String>,
    meter: Option<Meter>,
}

/// What a listing's caller may open of its posts.
enum Unlocked {
    /// Nothing: an anonymous caller of a public listing.
    Nothing,
    /// Everything: a reader who is not metered.
    Everything,
    /// Free posts, and these metered ones (unlocked this month).
    These(Vec<i64>),
}

/// Listing is never metered, but it shows the meter, and which posts the
/// caller may open for free. For a free user both come from one query, the
/// month's unlocked post ids (at most FREE_READS rows): the meter's `used`
/// is their count. A page starts at a page number or after a cursor
/// (`?after=`, the `next` of the page before it).
///
/// With PUBLIC_LISTING on, an anonymous caller (the guard let it through)
/// gets the same page with no meter and nothing unlocked: it can open
/// nothing before it signs in — unless ANONYMOUS_READS lets browsers
/// read, when the meter is its browser's, and `unlocked` what it may
/// open without spending (its opens this month, and free posts).
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Listing { start, per_page } = listing(req.query_string())?;
    let caller = SessionState::peek(&req, |s| s.active().ok().map(|r| r.user.clone()));
    let now = state.clock.now();
    // The caller's reading, if any: `None` for an anonymous caller.
    let reading = caller.as_ref().map(|user| {
        let reading = Reading::at(now, user.plan, user.role, state.settings.free_reads);
        (user.id, reading)
    });
    let not_yet = state.not_yet_due.clone();
    // A metered reader's unlocks this month; an unmetered one opens all.
    let unlocked_by = match reading {
        Some((
            user_id,
            Reading {
                limit: Some(_),
                month,
                ..
            },
        )) => Some((user_id, month)),
        _ => None,
    };
    // An anonymous caller's meter is its browser's when anonymous reads
    // are on (`Some(None)`: a browser without a reader cookie has opened
    // nothing).
    let month = Month::at(now);
    let browser = match (&caller, state.settings.anonymous_reads) {
        (None, 1..) => Some(reader_cookie(&req).map(|cookie| browser_reader(&cookie))),
        _ => None,
    };
    let asked_browser = browser.clone().flatten();
    let (listed, unlocked_ids, opened) = db::idempotent(&state.pool, now, move |conn, now| {
        let page = (start, per_page);
        let (listed, unlocked) = db::listing::page(conn, now, page, &not_yet, unlocked_by)?;
        let opened = match &asked_browser {
            Some(reader) => anonymous::opened(conn, reader, month)?,
            None => Vec::new(),
        };
        Ok::<_, ApiError>((listed, unlocked, opened))
    })
    .await?;
    let unlocked = match (&reading, unlocked_ids, &browser) {
        (None, _, Some(_)) => Unlocked::These(opened),
        (None, _, None) => Unlocked::Nothing,
        (Some(_), Some(ids), _) => Unlocked::These(ids),
        (Some(_), None, _) => Unlocked::Everything,
    };
    let meter = match (&reading, &unlocked) {
        (Some((_, reading)), Unlocked::These(ids)) => reading.meter(ids.len() as u32),
        (None, Unlocked::These(ids)) => Some(Meter::new(
            state.settings.anonymous_reads,
            ids.len() as u32,
            month,
        )),
        _ => None,
    };
    let posts = listed
        .rows
        .into_iter()
        .map(|row| Summary {
            // Unmetered readers open everything; metered ones a free
            // post, or a metered one they unlocked this month; anonymous
            // callers nothing.
            unlocked: match (Access::parse(&row.access).unwrap_or_default(), &unlocked) {
                (_, Unlocked::Nothing) => false,
                (_, Unlocked::Everything) | (Access::Free, _) => true,
                (Access::Premium, Unlocked::These(_)) => false,
                (Access::Metered, Unlocked::These(ids)) => ids.contains(&row.id),
            },
            id: row.id,
            slug: row.slug,
            title: row.title,
            excerpt: row.excerpt,
            access: row.access,
            author: Author::of(row.author),
            published_at: row.published_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PostList {
        posts,
        page: match start {
            Start::Page(page) => Some(page),
            Start::After(_) => None,
        },
        per_page,
        total: listed.total,
        next: listed.next.map(Cursor::encode),
        meter,
    }))
}

/// Opens a post through the paywall (`crate::reading`, which decides
/// what the reader gets). `HEAD` gets the answer `GET` would get without
/// spending a read: it delivers nothing. `ahead`: what the guard read of
/// the meter along with the session, for this very path, when it did.
pub async fn read(
    state: web::Data<AppState>,
    ahead: AheadMeter,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    only_for_script(&req)?;
    // Who asked, only read for what records it (the month's first refusal).
    let by = || requester(&req);
    let spend = match req.method() == Method::HEAD {
        true => Spend::Look,
        false => Spend::Get(&by),
    };
    // What a read needs of its reader, copied out of the guard's record
    // rather than the record cloned whole.
    let reader = SessionState::peek(&req, |state| match state {
        // The guard let a browser without a session through: anonymous
        // reads are on.
        SessionState::Anonymous(_) if state_allows_anonymous(&req) => Ok(None),
        state => state.active().map(|record| {
            Some(Reader {
                id: record.user.id,
                plan: record.user.plan,
                role: record.user.role,
            })
        }),
    })?;
    let Some(reader) = reader else {
        return read_anonymously(&state, &req, &id, &spend).await;
    };
    let read = reading::read(&state, reader, &id, ahead.0, spend).await?;
    Ok(post_answer(&read))
}

/// Whether the app reads posts to browsers without a session.
fn state_allows_anonymous(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.settings.anonymous_reads > 0)
}

/// `GET /blog/{id}` for a browser without a session (ANONYMOUS_READS):
/// metered by its `tollgate_reader` cookie, which a browser without one is
/// given with the answer to its first `GET` (a `200`, or the wall, which
/// a registration that follows is credited to); a `HEAD` sets nothing.
async fn read_anonymously(
    state: &AppState,
    req: &HttpRequest,
    named: &str,
    spend: &Spend<'_>,
) -> Result<HttpResponse, ApiError> {
    let (cookie, fresh) = match reader_cookie(req) {
        Some(cookie) => (cookie, false),
        None => (token::generate(), true),
    };
    let browser = Browser {
        reader: browser_reader(&cookie),
        network: network_of(client_ip::of(req), state.settings.ipv6_limit_prefix),
    };
    let mut answer = match reading::anonymous::read(state, &browser, named, spend).await {
        Ok(read) => post_answer(&read),
        Err(wall @ ApiError::RegistrationRequired(_)) => wall.error_response(),
        Err(refusal) => return Err(refusal),
    };
    if fresh && matches!(spend, Spend::Get(_)) {
        let cookie = new_reader_cookie(cookie, state.settings.cookie_secure);
        answer.add_cookie(&cookie).map_err(ApiError::internal)?;
    }
    Ok(answer)
}

/// The answer of a read: the post as kept for its version, with the meter.
fn post_answer(read: &Answered) -> HttpResponse {
    let answer = reader_json::answer(&read.made, read.post.author.as_deref(), read.meter.as_ref());
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(Parts::new([answer.made, answer.rest.into()]))
}
