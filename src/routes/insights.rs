//! `GET /insights` (admins: the site day by day, with MRR) and `GET
//! /insights/posts` (admins every post, authors their own): what the
//! paywall does, read from the counts `db::insights` keeps as it happens.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use super::extract::{Admin, Editor};
use super::pagination::{pagination, single, Pagination};
use crate::db::insights::{self, DayRow, PostFigures, Sort};
use crate::db::{self};
use crate::domain::insights::{Day, Range, RangeError};
use crate::domain::{Author, Role};
use crate::error::ApiError;
use crate::state::AppState;

/// A day's figures, as the contract names them.
#[derive(Serialize, Default, Clone, Copy)]
struct Counts {
    registrations: i64,
    conversions: i64,
    cancellations: i64,
    members: i64,
    premium_members: i64,
    readers: i64,
    paywall_hits: i64,
    gift_readers: i64,
    anonymous_readers: i64,
    registration_walls: i64,
}

#[derive(Serialize)]
struct DayOut {
    date: String,
    #[serde(flatten)]
    counts: Counts,
}

#[derive(Serialize)]
struct Mrr {
    amount: i64,
    currency: String,
}

#[derive(Serialize)]
struct Report {
    from: String,
    to: String,
    days: Vec<DayOut>,
    totals: Counts,
    mrr: Option<Mrr>,
}

/// The range the query asks for (`422` naming what is wrong), on the
/// app's clock.
fn range(state: &AppState, query: &str) -> Result<Range, ApiError> {
    let given = |name| -> Result<Option<String>, ApiError> {
        single(query, name)?.map_err(|()| ApiError::field(name, "must be given once"))
    };
    let (from, to) = (given("from")?, given("to")?);
    let today = Day::of(state.clock.now());
    Range::parse(from.as_deref(), to.as_deref(), today).map_err(|e| match e {
        RangeError::From => ApiError::field("from", "must be a date, YYYY-MM-DD"),
        RangeError::To => ApiError::field("to", "must be a date, YYYY-MM-DD"),
        RangeError::Backwards => ApiError::field("to", "must not be before from"),
        RangeError::TooLong => ApiError::field("to", "must be at most 366 days after from"),
    })
}

/// The site's figures over the range, one day at a time (every day of it,
/// zeros where nothing was counted), with monthly recurring revenue at
/// its end (`null` with billing off).
pub async fn site(
    state: web::Data<AppState>,
    _admin: Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let range = range(&state, req.query_string())?;
    let billing = state.stripe.is_some();
    let ((members, premium), rows, revenue) =
        db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
            let (before, rows) = insights::days(conn, range)?;
            let revenue = match billing {
                true => Some(insights::revenue(conn, range.to)?),
                false => None,
            };
            Ok::<_, ApiError>((before, rows, revenue))
        })
        .await?;
    let (mut members, mut premium) = (members, premium);
    let mut rows = rows.into_iter().peekable();
    let mut days = Vec::with_capacity(range.days());
    let mut totals = Counts::default();
    let mut day = range.from;
    while day <= range.to {
        let row = match rows.peek() {
            Some(row) if row.day == day.0 => rows.next().unwrap_or_default(),
            _ => DayRow::default(),
        };
        members += i64::from(row.members_delta);
        premium += i64::from(row.premium_delta);
        let counts = Counts {
            registrations: row.registrations.into(),
            conversions: row.conversions.into(),
            cancellations: row.cancellations.into(),
            members,
            premium_members: premium,
            readers: row.readers.into(),
            paywall_hits: row.paywall_hits.into(),
            gift_readers: row.gift_readers.into(),
            anonymous_readers: row.anonymous_readers.into(),
            registration_walls: row.registration_walls.into(),
        };
        totals = Counts {
            registrations: totals.registrations + counts.registrations,
            conversions: totals.conversions + counts.conversions,
            cancellations: totals.cancellations + counts.cancellations,
            members,
            premium_members: premium,
            readers: totals.readers + counts.readers,
            paywall_hits: totals.paywall_hits + counts.paywall_hits,
            gift_readers: totals.gift_readers + counts.gift_readers,
            anonymous_readers: totals.anonymous_readers + counts.anonymous_readers,
            registration_walls: totals.registration_walls + counts.registration_walls,
        };
        days.push(DayOut {
            date: day.format(),
            counts,
        });
        day = day.next();
    }
    let mrr = match revenue {
        Some(sums) => Some(mrr_of(state.prices.currency().await, sums)),
        None => None,
    };
    Ok(HttpResponse::Ok().json(Report {
        from: range.from.format(),
        to: range.to.format(),
        days,
        totals,
        mrr,
    }))
}

/// One figure from the sums per currency: the currency the prices are
/// sold in (`sold`, as last read), or else the one with the most revenue.
fn mrr_of(sold: Option<String>, sums: Vec<(String, i64)>) -> Mrr {
    let chosen = sums
        .iter()
        .find(|(currency, _)| Some(currency.as_str()) == sold.as_deref())
        .or_else(|| sums.iter().max_by_key(|(_, amount)| *amount))
        .cloned();
    let (currency, amount) =
        chosen.unwrap_or_else(|| (sold.unwrap_or_else(|| "usd".to_owned()), 0));
    // Never below nothing, whatever was counted before insights began.
    Mrr {
        amount: amount.max(0),
        currency,
    }
}

#[derive(Serialize)]
struct PostRef {
    id: i64,
    slug: String,
    title: String,
    author: Option<Author>,
}

#[derive(Serialize)]
struct PostOut {
    post: PostRef,
    readers: i64,
    paywall_hits: i64,
    conversions: i64,
    registrations: i64,
    gift_readers: i64,
}

#[derive(Serialize)]
struct PostsReport {
    posts: Vec<PostOut>,
    page: i64,
    per_page: i64,
    total: i64,
}

/// Each post's figures over the range, sorted (`sort`), a page at a time:
/// an admin's every post, an author's their own.
pub async fn posts(
    state: web::Data<AppState>,
    editor: Editor,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = req.query_string();
    let range = range(&state, query)?;
    let Pagination { page, per_page } = pagination(query)?;
    let sort = match single(query, "sort")? {
        Ok(None) => Sort::Readers,
        Ok(Some(raw)) => Sort::parse(&raw).ok_or_else(|| {
            ApiError::field(
                "sort",
                "must be one of readers, paywall_hits, conversions, registrations, gift_readers",
            )
        })?,
        Err(()) => return Err(ApiError::field("sort", "must be given once")),
    };
    let author = (editor.role != Role::Admin).then_some(editor.user_id);
    let (total, rows) = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(insights::posts(conn, range, author, sort, page, per_page)?)
    })
    .await?;
    let posts = rows
        .into_iter()
        .map(|row: PostFigures| PostOut {
            post: PostRef {
                id: row.id,
                slug: row.slug,
                title: row.title,
                author: Author::of(row.author),
            },
            readers: row.readers,
            paywall_hits: row.paywall_hits,
            conversions: row.conversions,
            registrations: row.registrations,
            gift_readers: row.gift_readers,
        })
        .collect();
    Ok(HttpResponse::Ok().json(PostsReport {
        posts,
        page,
        per_page,
        total,
    }))
}
