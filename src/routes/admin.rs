//! Admins manage people: `GET /admin/users` (search) and
//! `PATCH /admin/users/{id}` (role, plan, complimentary premium, disabled),
//! and
//! `DELETE /admin/users/{id}/two-factor` (a lost phone), and take every
//! member with them (`GET /admin/members.csv`). Anyone else gets
//! `403 forbidden`.
//!
//! A change is one transaction with the events it records on the changed
//! user's account (`detail.by`: the admin's username). Those events carry
//! no IP or user agent: they are the admin's, not the user's, and the user
//! reads them. No change may leave the site without an enabled admin
//! (`409 last_admin`, which `accounts::members` checks for every caller).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};

use super::body::{Fields, JsonObject};
use super::extract::{Admin, PathId};
use super::pagination::{pagination, single, Pagination};
use crate::accounts::members::{self, PlanChange, Source};
use crate::accounts::notices::notify;
use crate::accounts::ways_in::remove_keeping_one;
use crate::db::{self, events, passkeys, two_factor, users};
use crate::domain::member_csv::{self, ExportRow};
use crate::domain::{EventKind, Plan, Requester, Role};
use crate::error::ApiError;
use crate::mail::message::Notice;
use crate::state::AppState;
use crate::time::rfc3339;

/// `AdminUser`: what an admin sees of a user. Never a hash or a token.
#[derive(Serialize)]
struct AdminUser {
    id: i64,
    username: String,
    email: Option<String>,
    email_verified: bool,
    plan: String,
    role: String,
    disabled: bool,
    #[serde(serialize_with = "rfc3339::serialize_unix")]
    created_at: i64,
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    last_login_at: Option<i64>,
    /// Complimentary premium until then; `plan` is the plan in force.
    #[serde(serialize_with = "rfc3339::serialize_optional_unix")]
    premium_until: Option<i64>,
}

impl AdminUser {
    /// `row` as it stands at `now`.
    fn at(row: users::AdminRow, now: i64) -> Self {
        let stored = Plan::parse(&row.plan).unwrap_or(Plan::Free);
        let premium_until = Plan::running_grant(row.premium_until, now);
        AdminUser {
            id: row.id,
            username: row.username,
            email: row.email,
            email_verified: row.email_verified,
            plan: Plan::in_force(stored, premium_until, now)
                .as_str()
                .to_owned(),
            role: row.role,
            disabled: row.disabled,
            created_at: row.created_at,
            last_login_at: row.last_login_at,
            premium_until,
        }
    }
}

#[derive(Serialize)]
struct AdminUserList {
    users: Vec<AdminUser>,
    page: i64,
    per_page: i64,
    total: i64,
}

/// `GET /admin/users`: newest first, optionally only those whose username
/// or address contains `q` (any case).
pub async fn list(
    state: web::Data<AppState>,
    _: Admin,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let Pagination { page, per_page } = pagination(req.query_string())?;
    let part = search_query(req.query_string())?;
    let now = state.clock.now();
    let (rows, total) = db::idempotent(&state.pool, now, move |conn, _| {
        Ok::<_, ApiError>(users::search(conn, part.as_deref(), (page, per_page))?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(AdminUserList {
        users: rows
            .into_iter()
            .map(|row| AdminUser::at(row, now))
            .collect(),
        page,
        per_page,
        total,
    }))
}

/// Members read per query of the export: a page's rows and its CSV are
/// all the export holds at once (about 100 KiB), whatever the number of
/// members, and 10^5 members take 200 queries.
const EXPORT_PAGE: i64 = 500;

/// `GET /admin/members.csv`: every member as RFC 4180 CSV
/// (`domain::member_csv`), streamed. The body is made page by page as the
/// connection takes it: a page is read (by id, after the last one sent)
/// only once the one before has been handed to the connection, so memory
/// does not grow with the number of members, and a slow download holds no
/// database connection between pages. A database failure midway ends the
/// body without its last chunk, so the client sees a broken download, not
/// a short list.
pub async fn members_csv(state: web::Data<AppState>, _: Admin) -> HttpResponse {
    let pool = state.pool.clone();
    let clock = state.clock.clone();
    let pages = futures_util::stream::unfold(Some(0_i64), move |after| {
        let pool = pool.clone();
        let now = clock.now();
        async move {
            let after = after?;
            let rows = db::idempotent(&pool, now, move |conn, _| {
                Ok::<_, ApiError>(users::export_page(conn, after, EXPORT_PAGE)?)
            })
            .await;
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => return Some((Err(e), None)),
            };
            let full = rows.len() as i64 == EXPORT_PAGE;
            let next = rows.last().map(|row| row.id).filter(|_| full);
            let rows: Vec<ExportRow> = rows.into_iter().map(|row| exported(row, now)).collect();
            let text = member_csv::write_rows(&rows, after == 0);
            Some((Ok(bytes::Bytes::from(text)), next))
        }
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"members.csv\"",
        ))
        .streaming(pages)
}

/// A member's row as the export writes it at `now`: the plan in force and
/// a running grant, as `AdminUser` shows them.
fn exported(row: users::ExportRow, now: i64) -> ExportRow {
    let stored = Plan::parse(&row.plan).unwrap_or(Plan::Free);
    let premium_until = Plan::running_grant(row.premium_until, now);
    ExportRow {
        id: row.id,
        username: row.username,
        email: row.email,
        email_verified: row.email_verified,
        plan: Plan::in_force(stored, premium_until, now),
        premium_until,
        role: row.role,
        newsletter: row.newsletter,
        created_at: row.created_at,
        last_login_at: row.last_login_at,
        stripe_customer_id: row.stripe_customer_id,
        disabled: row.disabled,
    }
}

/// The longest `q` an admin's search takes: more than any username or
/// address.
const MAX_QUERY: usize = 254;

/// The `q` query parameter: `None` when absent or blank.
fn search_query(query: &str) -> Result<Option<String>, ApiError> {
    match single(query, "q")? {
        Ok(None) => Ok(None),
        Ok(Some(q)) if q.chars().count() <= MAX_QUERY => {
            let q = q.trim();
            Ok((!q.is_empty()).then(|| q.to_owned()))
        }
        _ => Err(ApiError::field(
            "q",
            "must be given once, at most 254 characters",
        )),
    }
}

/// What `PATCH /admin/users/{id}` asks to change; absent fields stay.
struct Change {
    role: Option<Role>,
    plan: Option<Plan>,
    /// `Some(None)`: remove the grant.
    premium_until: Option<Option<i64>>,
    disabled: Option<bool>,
}

/// The change asked for at `now` (a grant must end after it).
fn change(object: &serde_json::Map<String, Value>, now: i64) -> Result<Change, ApiError> {
    let mut fields = Fields::new(object);
    let role = fields.optional_text("role");
    let role = fields.parse("role", role, |role| match role {
        None => Ok(None),
        Some(raw) => Role::parse(&raw)
            .map(Some)
            .ok_or("must be reader, author or admin"),
    });
    let plan = fields.optional_text("plan");
    let plan = fields.parse("plan", plan, |plan| match plan {
        None => Ok(None),
        Some(raw) => Plan::parse(&raw).map(Some).ok_or("must be free or premium"),
    });
    let disabled = fields.parse(
        "disabled",
        Ok(object.get("disabled")),
        |value| match value {
            None => Ok(None),
            Some(Value::Bool(disabled)) => Ok(Some(*disabled)),
            Some(_) => Err("must be true or false"),
        },
    );
    let until = fields.time_or_null(
        "premium_until",
        crate::time::parse_seconds,
        "must be an RFC 3339 time, or null",
    );
    let premium_until = fields.parse("premium_until", until, |until| match until {
        Some(until) if until <= now => Err("must be in the future (null removes the grant)"),
        // Absent leaves the grant as it is; null removes it.
        until => Ok(object.contains_key("premium_until").then_some(until)),
    });
    let (Ok(role), Ok(plan), Ok(premium_until), Ok(disabled)) =
        (role, plan, premium_until, disabled)
    else {
        return Err(fields.into_error());
    };
    Ok(Change {
        role,
        plan,
        premium_until,
        disabled,
    })
}

/// `DELETE /admin/users/{id}/two-factor`: the user's authenticator app,
/// recovery codes and passkeys are removed (a lost phone), and any sign-in
/// waiting for them ends. The next sign-in asks for the password alone —
/// so an account with no password and no identity keeps its passkeys
/// (`409 last_login_method`): removing them would lock everyone out of it.
pub async fn reset_two_factor(
    state: web::Data<AppState>,
    Admin(by): Admin,
    PathId(id): PathId,
) -> Result<HttpResponse, ApiError> {
    let app = state.clone();
    let noticed = db::once(&state.pool, state.clock.now(), move |conn, now| {
        users::find(conn, id)?.ok_or(ApiError::NotFound)?;
        let (was_on, passkeys) = remove_keeping_one(conn, id, |conn| {
            let was_on = two_factor::remove(conn, id)?;
            Ok((was_on, passkeys::remove_all(conn, id)?))
        })?;
        two_factor::end_pending_of(conn, id)?;
        if !was_on && passkeys == 0 {
            return Ok(false);
        }
        let detail = json!({ "by": by });
        let kind = EventKind::TwoFactorDisabled;
        events::record(conn, now, id, kind, &Requester::NOBODY, detail)?;
        Ok::<_, ApiError>(notify(&app.mail, conn, now, id, Notice::SecondFactorOff)?)
    })
    .await?;
    if noticed {
        state.mail.wake();
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `PATCH /admin/users/{id}`: a role, a plan (until the next subscription
/// event, as with `tollgate set-plan`), complimentary premium until a time
/// (which no subscription event shortens), disabled or enabled. Disabling
/// ends every session of that user.
pub async fn edit(
    state: web::Data<AppState>,
    Admin(by): Admin,
    PathId(id): PathId,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let change = change(&body.0, state.clock.now())?;
    let (row, now) = db::once(&state.pool, state.clock.now(), move |conn, now| {
        // Each through the one function that makes that change for every
        // caller, in the order a reader of the events expects.
        let source = Source::Admin(&by);
        if let Some(role) = change.role {
            members::change_role(conn, now, id, role, source)?;
        }
        if let Some(plan) = change.plan {
            members::change_plan(conn, now, id, PlanChange::Stored(plan), source)?;
        }
        if let Some(until) = change.premium_until {
            members::change_plan(conn, now, id, PlanChange::Grant(until), source)?;
        }
        if let Some(disabled) = change.disabled {
            members::set_disabled(conn, now, id, disabled, &by)?;
        }
        let row = users::find_for_admin(conn, id)?.ok_or(ApiError::NotFound)?;
        Ok::<_, ApiError>((row, now))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AdminUser::at(row, now)))
}
