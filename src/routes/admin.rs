//! Admins manage people: `GET /admin/users` (search) and
//! `PATCH /admin/users/{id}` (role, plan, complimentary premium, disabled),
//! and
//! `DELETE /admin/users/{id}/two-factor` (a lost phone). Anyone else gets
//! `403 forbidden`.
//!
//! A change is one transaction with the events it records on the changed
//! user's account (`detail.by`: the admin's username). Those events carry
//! no IP or user agent: they are the admin's, not the user's, and the user
//! reads them. No change may leave the site without an enabled admin
//! (`409 last_admin`; `db::users::another_admin_than` makes admins' changes
//! take turns on that question).

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::{json, Value};

use super::body::{Fields, JsonObject};
use super::extract::{Admin, PathId};
use super::pagination::{pagination, single, Pagination};
use crate::accounts::grants::{self, Giver};
use crate::accounts::notices::notify;
use crate::accounts::ways_in::remove_keeping_one;
use crate::db::{self, events, passkeys, sessions, two_factor, users};
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
        let row = users::find_for_admin(conn, id)?.ok_or(ApiError::NotFound)?;
        let role = Role::parse(&row.role).unwrap_or_default();
        let plan = Plan::parse(&row.plan).unwrap_or(Plan::Free);
        let new_role = change.role.unwrap_or(role);
        let disabled = change.disabled.unwrap_or(row.disabled);
        let was_admin = role == Role::Admin && !row.disabled;
        let stays_admin = new_role == Role::Admin && !disabled;
        if was_admin && !stays_admin && !users::another_admin_than(conn, id)? {
            return Err(ApiError::LastAdmin);
        }
        let record = |conn: &mut db::Conn, kind, detail| {
            events::record(conn, now, id, kind, &Requester::NOBODY, detail)
        };
        if new_role != role {
            users::set_role(conn, id, new_role)?;
            let detail = json!({"from": role.as_str(), "to": new_role.as_str(), "by": by});
            record(conn, EventKind::RoleChanged, detail)?;
        }
        if let Some(new_plan) = change.plan.filter(|new_plan| *new_plan != plan) {
            users::set_plan(conn, id, new_plan, now)?;
            let detail = json!({
                "from": plan.as_str(),
                "to": new_plan.as_str(),
                "source": "admin",
                "by": by,
            });
            record(conn, EventKind::PlanChanged, detail)?;
        }
        if let Some(until) = change.premium_until {
            let user = users::find(conn, id)?.ok_or(ApiError::NotFound)?;
            grants::set(conn, now, &user, until, Giver::Admin(&by))?;
        }
        if disabled != row.disabled {
            users::set_disabled(conn, id, disabled)?;
            let kind = if disabled {
                sessions::end_all(conn, id)?;
                two_factor::end_pending_of(conn, id)?;
                EventKind::AccountDisabled
            } else {
                EventKind::AccountEnabled
            };
            record(conn, kind, json!({"by": by}))?;
        }
        let row = users::find_for_admin(conn, id)?.ok_or(ApiError::NotFound)?;
        Ok::<_, ApiError>((row, now))
    })
    .await?;
    Ok(HttpResponse::Ok().json(AdminUser::at(row, now)))
}
