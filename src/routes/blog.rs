//! `GET /blog` and `GET /blog/{id}`, the metered paywall.

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::extract::requester;
use super::pagination::{listing, Listing};
use super::reading::{made, only_for_script, Parts};
use crate::db::posts::{PostRow, Start};
use crate::db::unlocks::{self, MeterKey, Opened, Seen};
use crate::db::{self, events, insights, paywall_notices, posts};
use crate::domain::paywall::Reading;
use crate::domain::post::reader_json::{self, Made};
use crate::domain::post::{Access, Author, Cursor, Slug};
use crate::domain::{parse_id, EventKind, Meter, Month, Plan, Requester, Role};
use crate::error::ApiError;
use crate::metrics::PaywallOutcome;
use crate::session::{AheadMeter, SessionState};
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
/// nothing before it signs in.
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
    let (listed, unlocked_ids) = db::idempotent(&state.pool, now, move |conn, now| {
        let page = (start, per_page);
        Ok::<_, ApiError>(db::listing::page(conn, now, page, &not_yet, unlocked_by)?)
    })
    .await?;
    let unlocked = match (&reading, unlocked_ids) {
        (None, _) => Unlocked::Nothing,
        (Some(_), Some(ids)) => Unlocked::These(ids),
        (Some(_), None) => Unlocked::Everything,
    };
    let meter = match (&reading, &unlocked) {
        (Some((_, reading)), Unlocked::These(ids)) => reading.meter(ids.len() as u32),
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

/// The post `raw` names: an id (a positive integer in plain decimal), or
/// a slug (one lookup, to the id the meter counts by); `None` when it names
/// none, which never uses a read.
async fn named_post(state: &AppState, raw: &str) -> Result<Option<i64>, ApiError> {
    if let Some(id) = parse_id(raw) {
        return Ok(Some(id));
    }
    // All digits but not a post id (`0`, too long): never a slug.
    let Ok(slug) = Slug::parse(raw) else {
        return Ok(None);
    };
    let id = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(posts::id_by_slug(conn, slug.as_str())?)
    })
    .await?;
    Ok(id)
}

/// `200` with the post as JSON: its kept fields, then its author and the
/// meter.
fn answer(made: &Made, post: &PostRow, meter: Option<&Meter>) -> HttpResponse {
    let answer = reader_json::answer(made, post.author.as_deref(), meter);
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(Parts::new([answer.made, answer.rest.into()]))
}

/// What a metered read needs of its reader.
#[derive(Clone, Copy)]
struct Reader {
    id: i64,
    plan: Plan,
    role: Role,
}

/// How many times a read decides again when the post it decided on is
/// saved before its answer is made: one save between is rare, more is a
/// post being saved faster than it can be read.
const DECISIONS: usize = 3;

/// Opens a post through the paywall (`domain::paywall`). `HEAD` gets the
/// answer `GET` would get without spending a read: it delivers nothing.
///
/// A `GET` by id or by slug usually finds its answer already: the route
/// reads the meter ahead (`routes::table`), so the guard read it along
/// with the session and hands it here ([`AheadMeter`]) unless it is an unlock (a
/// re-read, a refusal, no such post), with the [`Reading`] it was judged
/// by. Only an unlock comes to the database again, where
/// [`unlocks::open_metered`] decides under its own guarantees, and the
/// month's first refusal, to be recorded.
pub async fn read(
    state: web::Data<AppState>,
    ahead: AheadMeter,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    only_for_script(&req)?;
    // What a read needs of its reader, copied out of the guard's record
    // rather than the record cloned whole.
    let user = SessionState::peek(&req, |state| {
        state.active().map(|record| Reader {
            id: record.user.id,
            plan: record.user.plan,
            role: record.user.role,
        })
    })?;
    let spend = req.method() != Method::HEAD;
    // What the guard read along with the session, for this very path (a
    // `GET` by id or by slug), when it did.
    let (reading, answered) = match ahead.0 {
        Some(metering) => (metering.reading, metering.answer),
        None => (
            Reading::at(
                state.clock.now(),
                user.plan,
                user.role,
                state.settings.free_reads,
            ),
            None,
        ),
    };

    let Some(limit) = reading.limit else {
        let post_id = named_post(&state, &id).await?.ok_or(ApiError::NotFound)?;
        let user_id = user.id;
        for _ in 0..DECISIONS {
            let (row, read_today) = db::idempotent(&state.pool, reading.now, move |conn, now| {
                Ok::<_, ApiError>(posts::find_visible_to(conn, post_id, user_id, now)?)
            })
            .await?
            .ok_or(ApiError::NotFound)?;
            if let Some(made) = made(&state, &row).await? {
                if spend {
                    state.metrics.paywall(PaywallOutcome::Granted);
                    if !read_today {
                        count(&state, Counted::Read, row.id, user_id, reading.now).await;
                    }
                }
                return Ok(answer(&made, &row, None));
            }
        }
        return Err(ApiError::Unavailable);
    };

    let month = reading.month;
    let opened = match answered {
        Some(Opened::Paywalled {
            post_id,
            used,
            first_of_month: true,
            seen,
        }) if spend => {
            let by = requester(&req);
            let refusal = Refusal {
                user_id: user.id,
                post_id,
                month,
                used,
                limit,
                counted: seen.refused,
            };
            // Safe to run twice: the notice's primary key keeps it to one,
            // and insights count a refusal once a day.
            db::idempotent(&state.pool, reading.now, move |conn, now| {
                record_refusal(conn, refusal, now, &by)
            })
            .await?;
            Opened::Paywalled {
                post_id,
                used,
                first_of_month: false,
                seen: Seen {
                    refused: true,
                    ..seen
                },
            }
        }
        Some(opened) => opened,
        // An unlock, which only the write that grants it may decide (or a
        // read the guard did not ask about: a `HEAD`).
        None => {
            let post_id = named_post(&state, &id).await?.ok_or(ApiError::NotFound)?;
            let key = MeterKey { month, post_id };
            open(&state, &req, user.id, key, limit, reading.now).await?
        }
    };
    let meter = |used| Meter::new(limit, used, reading.month);
    let mut opened = opened;
    for _ in 0..DECISIONS {
        let Opened::Granted {
            post,
            used,
            reread,
            seen,
        } = opened
        else {
            break;
        };
        let Some(made) = made(&state, &post).await? else {
            // Saved meanwhile: what the reader gets is decided on the
            // version stored now (an unlock already made stays made).
            let key = MeterKey {
                month,
                post_id: post.id,
            };
            opened = open(&state, &req, user.id, key, limit, reading.now).await?;
            continue;
        };
        if spend {
            state.metrics.paywall(if reread {
                PaywallOutcome::Reread
            } else {
                PaywallOutcome::Granted
            });
            if !seen.read {
                count(&state, Counted::Read, post.id, user.id, reading.now).await;
            }
        }
        return Ok(answer(&made, &post, Some(&meter(used))));
    }
    match opened {
        Opened::Granted { .. } => Err(ApiError::Unavailable),
        Opened::Paywalled {
            post_id,
            used,
            seen,
            ..
        } => {
            if spend {
                state.metrics.paywall(PaywallOutcome::Refused);
                if !seen.refused {
                    count(&state, Counted::Refused, post_id, user.id, reading.now).await;
                }
            }
            Err(ApiError::Paywall(meter(used)))
        }
        Opened::PremiumRequired {
            post_id,
            used,
            seen,
        } => {
            if spend {
                state.metrics.paywall(PaywallOutcome::Refused);
                if !seen.refused {
                    count(&state, Counted::Refused, post_id, user.id, reading.now).await;
                }
            }
            Err(ApiError::PremiumRequired(meter(used)))
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
    let by = (req.method() != Method::HEAD).then(|| requester(req));
    // Safe to run twice: opening a post again changes nothing, and the
    // month's notice is kept to one by its primary key.
    let read = unlocks::MeteredRead {
        user_id,
        key: MeterKey { month, post_id },
        limit,
        now,
    };
    let opened = db::idempotent(&state.pool, now, move |conn: &mut db::Conn, now| {
        let Some(by) = &by else {
            return Ok(unlocks::peek_metered(conn, read)?);
        };
        let opened = unlocks::open_metered(conn, read)?;
        if let Opened::Paywalled {
            post_id,
            used,
            first_of_month: true,
            seen,
        } = opened
        {
            let refusal = Refusal {
                user_id,
                post_id,
                month,
                used,
                limit,
                counted: seen.refused,
            };
            record_refusal(conn, refusal, now, by)?;
            // Counted with the notice.
            return Ok(Opened::Paywalled {
                post_id,
                used,
                first_of_month: true,
                seen: Seen {
                    refused: true,
                    ..seen
                },
            });
        }
        Ok::<_, db::Error>(opened)
    })
    .await?;
    Ok(opened)
}

/// The month's first refusal of a user, as recorded.
#[derive(Clone, Copy)]
struct Refusal {
    user_id: i64,
    post_id: i64,
    month: Month,
    used: u32,
    limit: u32,
    /// Insights hold it already.
    counted: bool,
}

/// Records the month's first refusal as its one `paywall` event (the
/// notice's primary key keeps it to one under races), and counts it in
/// insights in the same transaction; every later refusal learns from the
/// metered read itself that it is not the first, and writes nothing for
/// the notice.
fn record_refusal(
    conn: &mut db::Conn,
    refusal: Refusal,
    now: i64,
    by: &Requester,
) -> Result<(), db::Error> {
    let Refusal {
        user_id,
        post_id,
        month,
        used,
        limit,
        counted,
    } = refusal;
    db::write_transaction(conn, |conn| {
        if paywall_notices::notice(conn, user_id, month)? {
            let detail = serde_json::json!({ "used": used, "limit": limit });
            events::record(conn, now, user_id, EventKind::Paywall, by, detail)?;
        }
        if !counted {
            insights::refused(conn, post_id, user_id, now)?;
        }
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// What a read tells insights.
#[derive(Clone, Copy)]
enum Counted {
    /// The user was answered the post.
    Read,
    /// The user was refused it (`402`).
    Refused,
}

/// Counts a read or a refusal in insights (`db::insights`): only the
/// first of the day, and for a refusal the first since another post
/// refused the user, comes here, which the read itself found out. A
/// failure costs the count, never the reader's answer.
async fn count(state: &AppState, counted: Counted, post_id: i64, user_id: i64, now: i64) {
    let written = db::idempotent(&state.pool, now, move |conn, now| {
        match counted {
            Counted::Read => insights::read(conn, post_id, user_id, now)?,
            Counted::Refused => insights::refused(conn, post_id, user_id, now)?,
        }
        Ok::<_, db::Error>(())
    })
    .await;
    if let Err(e) = written {
        tracing::warn!(post_id, user_id, error = %e, "a read was not counted in insights");
    }
}
