//! Queries on `webhooks`, `webhook_events` and `webhook_deliveries`: the
//! webhooks an admin made, what happened (an event, written in the
//! transaction of its change), and each (event, webhook)'s delivery.
//!
//! How an event reaches every webhook once, across instances and crashes:
//! - The change writes its event in one statement ([`record`]), and only
//!   when an enabled webhook takes its type: a change adds at most that
//!   statement to its transaction, whatever the number of webhooks.
//! - A deliverer makes the event's deliveries later ([`fan_out`]): the
//!   events it marks `fanned_out` in its transaction are the ones whose
//!   deliveries it inserts, and the unique (event, webhook) pair keeps a
//!   second instance from making them twice.
//! - A delivery is claimed with a lease ([`claim`]), as the outbox's
//!   messages are (`db::outbox`): no other instance takes it until the
//!   lease ends, and a deliverer that dies mid-attempt leaves it to come
//!   back after the lease, with the same event id.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::schema::{webhook_deliveries, webhook_events, webhooks};
use super::{Conn, DbConnection};
use crate::db::engine::{Unique, WrittenLimit};

/// A webhook as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: String,
    pub description: String,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
    pub created_at: i64,
}

/// A webhook to make.
pub struct NewWebhook<'a> {
    pub url: &'a str,
    pub events: &'a str,
    pub description: &'a str,
    pub secret: &'a str,
    pub now: i64,
}

/// How many webhooks there are, counted for a caller that adds one in the
/// same write transaction if they are fewer than the most allowed: no
/// other transaction adds one between this count and its commit. SQLite's
/// write lock already runs such transactions one at a time; PostgreSQL's
/// `READ COMMITTED` would let two of them each count 19 and both insert,
/// so they take turns on an advisory lock (a row lock cannot hold back a
/// row that does not exist yet).
pub fn count_for_insert(conn: &mut Conn) -> QueryResult<i64> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('tollgate:webhooks'))")
            .execute(pg)?;
    }
    webhooks::table.count().get_result(conn)
}

/// Makes a webhook, enabled.
pub fn insert(conn: &mut Conn, new: &NewWebhook<'_>) -> QueryResult<Webhook> {
    let insert = diesel::insert_into(webhooks::table)
        .values((
            webhooks::url.eq(new.url),
            webhooks::events.eq(new.events),
            webhooks::description.eq(new.description),
            webhooks::enabled.eq(true),
            webhooks::secret.eq(new.secret),
            webhooks::created_at.eq(new.now),
        ))
        .returning(webhooks::id);
    let id: i64 = super::direct!(conn, |c| insert.get_result(c))?;
    find(conn, id)?.ok_or(diesel::result::Error::NotFound)
}

/// Every webhook, oldest first.
pub fn all(conn: &mut Conn) -> QueryResult<Vec<Webhook>> {
    webhooks::table
        .order(webhooks::id)
        .select(Webhook::as_select())
        .load(conn)
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<Webhook>> {
    webhooks::table
        .find(id)
        .select(Webhook::as_select())
        .unique(conn)
}

/// What a `PATCH` changes; `None` leaves a field as it is.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = webhooks)]
pub struct Change {
    pub url: Option<String>,
    pub events: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// Changes webhook `id`; the webhook after, or `None` when there is none.
pub fn update(conn: &mut Conn, id: i64, change: &Change) -> QueryResult<Option<Webhook>> {
    let nothing = change.url.is_none()
        && change.events.is_none()
        && change.description.is_none()
        && change.enabled.is_none();
    if !nothing {
        diesel::update(webhooks::table.find(id))
            .set(change)
            .execute(conn)?;
    }
    find(conn, id)
}

/// Deletes webhook `id` and its deliveries; whether there was one.
pub fn delete(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    // Explicitly, not only by ON DELETE CASCADE: SQLite enforces foreign
    // keys only where the connection turned them on.
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::webhook_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(webhooks::table.find(id)).execute(conn)? > 0)
}

/// Gives webhook `id` the secret `secret`, keeping the one it had to sign
/// with as well until `previous_until`.
pub fn rotate(
    conn: &mut Conn,
    id: i64,
    secret: &str,
    previous_until: i64,
) -> QueryResult<Option<Webhook>> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::previous_secret.eq(webhooks::secret.nullable()),
            webhooks::previous_until.eq(previous_until),
            webhooks::secret.eq(secret),
        ))
        .execute(conn)?;
    find(conn, id)
}

/// An event's `data`.
#[derive(Debug, Clone, Copy)]
pub enum Data<'a> {
    /// As given (JSON).
    Json(&'a str),
    /// Member `id` as they are in the change's transaction, their plan the
    /// one in force at `now`: read by the same statement that writes the
    /// event.
    Member { id: i64, now: i64 },
    /// Post `id` as a webhook shows it: `{"id", "slug", "title", "access",
    /// "published_at"}`, never its body.
    Post { id: i64 },
    /// `{"member": Member, "from", "to", "source"}`.
    PlanChanged {
        id: i64,
        now: i64,
        from: &'a str,
        to: &'a str,
        source: &'a str,
    },
}

/// A member as events show them, as SQL over `users u` (`{id}` and `{now}`
/// the placeholders of the member's id and the time): the contract's Member.
fn member_json(postgres: bool, id: &str, now: &str) -> String {
    let plan = format!("CASE WHEN u.premium_until > {now} THEN 'premium' ELSE u.plan END");
    let fields = |flag: &dyn Fn(&str) -> String, time: &str| {
        format!(
            "'id', u.id, 'username', u.username, 'email', u.email, \
             'email_verified', {}, 'plan', {plan}, 'role', u.role, \
             'newsletter', {}, 'created_at', {time}",
            flag("u.email_verified"),
            flag("u.newsletter"),
        )
    };
    let (object, body) = if postgres {
        let flag = |column: &str| column.to_owned();
        let time = "to_char(to_timestamp(u.created_at) AT TIME ZONE 'UTC', \
                    'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";
        ("json_build_object", fields(&flag, time))
    } else {
        // SQLite keeps booleans as 0 and 1: made JSON's true and false.
        let flag = |column: &str| format!("json(CASE WHEN {column} THEN 'true' ELSE 'false' END)");
        let time = "strftime('%Y-%m-%dT%H:%M:%SZ', u.created_at, 'unixepoch')";
        ("json_object", fields(&flag, time))
    };
    format!("(SELECT {object}({body}) FROM users u WHERE u.id = {id})")
}

/// A post as events show it, as SQL over `posts p` (`{id}` the
/// placeholder of its id); `published_at` is `null` for a draft.
fn post_json(postgres: bool, id: &str) -> String {
    let (object, time) = if postgres {
        (
            "json_build_object",
            "to_char(to_timestamp(p.published_at) AT TIME ZONE 'UTC', \
             'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        )
    } else {
        (
            "json_object",
            "strftime('%Y-%m-%dT%H:%M:%SZ', p.published_at, 'unixepoch')",
        )
    };
    format!(
        "(SELECT {object}('id', p.id, 'slug', p.slug, 'title', p.title, 'access', p.access, \
         'published_at', CASE WHEN p.status = 'published' THEN {time} END) \
         FROM posts p WHERE p.id = {id})"
    )
}

/// Writes the event `kind` with `data` that happened at `at`, as message
/// `id`, in the caller's transaction (the change's) — one statement, which
/// writes nothing when no enabled webhook takes `kind`.
pub fn record(conn: &mut Conn, id: &str, kind: &str, data: Data<'_>, at: i64) -> QueryResult<()> {
    let postgres = matches!(conn, DbConnection::Postgres(_));
    // PostgreSQL's placeholders are `$n`, SQLite's `?n`: each is bound once
    // however often the text uses it.
    let p = |n: usize| {
        if postgres {
            format!("${n}")
        } else {
            format!("?{n}")
        }
    };
    let object = if postgres {
        "json_build_object"
    } else {
        "json_object"
    };
    let data_sql = match data {
        Data::Json(_) => p(5),
        Data::Member { .. } => member_json(postgres, &p(5), &p(6)),
        Data::Post { .. } => post_json(postgres, &p(5)),
        Data::PlanChanged { .. } => format!(
            "{object}('member', {}, 'from', {}, 'to', {}, 'source', {})",
            member_json(postgres, &p(5), &p(6)),
            p(7),
            p(8),
            p(9)
        ),
    };
    let data_sql = match (postgres, data) {
        (true, Data::Json(_)) => data_sql,
        (true, _) => format!("({data_sql})::text"),
        (false, _) => data_sql,
    };
    let sql = format!(
        "INSERT INTO webhook_events (id, type, data, at, fanned_out) \
         SELECT {id}, {kind}, {data_sql}, {at}, {no} WHERE EXISTS (SELECT 1 FROM webhooks \
         WHERE enabled AND (events = '*' OR events LIKE '%,' || {kind} || ',%'))",
        id = p(1),
        kind = p(2),
        at = p(3),
        no = p(4),
    );
    macro_rules! run {
        ($c:expr, $backend:ty) => {{
            let query = diesel::sql_query(sql)
                .into_boxed::<$backend>()
                .bind::<Text, _>(id)
                .bind::<Text, _>(kind)
                .bind::<BigInt, _>(at)
                .bind::<diesel::sql_types::Bool, _>(false);
            let query = match data {
                Data::Json(json) => query.bind::<Text, _>(json),
                Data::Member { id, now } => query.bind::<BigInt, _>(id).bind::<BigInt, _>(now),
                Data::Post { id } => query.bind::<BigInt, _>(id),
                Data::PlanChanged {
                    id,
                    now,
                    from,
                    to,
                    source,
                } => query
                    .bind::<BigInt, _>(id)
                    .bind::<BigInt, _>(now)
                    .bind::<Text, _>(from)
                    .bind::<Text, _>(to)
                    .bind::<Text, _>(source),
            };
            query.execute($c).map(|_| ())
        }};
    }
    match conn {
        DbConnection::Postgres(pg) => run!(pg, diesel::pg::Pg),
        DbConnection::Sqlite(sqlite) => run!(sqlite, diesel::sqlite::Sqlite),
    }
}

#[derive(QueryableByName)]
struct Seq {
    #[diesel(sql_type = BigInt)]
    seq: i64,
}

/// Makes the deliveries of up to `limit` events not yet fanned out, one
/// per enabled webhook that takes the event's type; how many events. The
/// caller runs it in a write transaction: the events are marked first
/// (on PostgreSQL skipping those another instance is marking), then the
/// deliveries of exactly those are inserted.
pub fn fan_out(conn: &mut Conn, now: i64, limit: i64) -> QueryResult<usize> {
    let marked: Vec<Seq> = match conn {
        DbConnection::Postgres(pg) => diesel::sql_query(format!(
            "UPDATE webhook_events SET fanned_out = TRUE WHERE seq IN \
             (SELECT seq FROM webhook_events WHERE NOT fanned_out ORDER BY seq \
              LIMIT {limit} FOR UPDATE SKIP LOCKED) RETURNING seq"
        ))
        .load(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::sql_query(format!(
            "UPDATE webhook_events SET fanned_out = TRUE WHERE seq IN \
             (SELECT seq FROM webhook_events WHERE NOT fanned_out ORDER BY seq \
              LIMIT {limit}) RETURNING seq"
        ))
        .load(sqlite)?,
    };
    if marked.is_empty() {
        return Ok(0);
    }
    let seqs: Vec<String> = marked.iter().map(|m| m.seq.to_string()).collect();
    // Integers the query above answered, written into the text.
    let insert = format!(
        "INSERT INTO webhook_deliveries \
           (event_seq, webhook_id, status, attempts, next_attempt_at, created_at) \
         SELECT e.seq, w.id, 'pending', 0, {now}, {now} FROM webhook_events e \
         JOIN webhooks w ON w.enabled AND (w.events = '*' OR w.events LIKE '%,' || e.type || ',%') \
         WHERE e.seq IN ({}) ON CONFLICT DO NOTHING",
        seqs.join(",")
    );
    super::direct!(conn, |c| diesel::sql_query(&insert).execute(c))?;
    Ok(seqs.len())
}

/// Claims up to `limit` due deliveries until `lease_until`, counting each
/// attempt, and never more than `per_webhook` under way for one webhook at
/// a time (those whose lease has not ended, this claim's included): a slow
/// receiver holds at most that many, and every other webhook's deliveries
/// are claimed beside them, each webhook's first before any one's second.
/// Only enabled webhooks' deliveries are claimed. The caller runs it in a
/// write transaction; on PostgreSQL claims take turns on an advisory lock
/// (SQLite's write lock already runs them one at a time), since the count
/// of what is under way cannot be held by locking rows.
///
/// Every read is an index range of the few rows it wants, however many
/// deliveries wait: what is under way by the leases' index, and each
/// webhook's next due ones (at most `per_webhook`, of at most 20
/// webhooks) by `webhook_deliveries_ready`. A claim runs whenever an
/// attempt ends, so one that read every waiting delivery (and counted each
/// one's webhook again) made ten thousand waiting deliveries cost the
/// server most of a core.
pub fn claim(
    conn: &mut Conn,
    now: i64,
    lease_until: i64,
    limit: i64,
    per_webhook: i64,
) -> QueryResult<Vec<i64>> {
    use webhook_deliveries as d;
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('tollgate:webhook-claims'))")
            .execute(pg)?;
    }
    let under_way: Vec<(i64, i64)> = d::table
        .filter(d::status.eq("pending"))
        .filter(d::lease_until.gt(now))
        .group_by(d::webhook_id)
        .select((d::webhook_id, diesel::dsl::count_star()))
        .load(conn)?;
    let enabled: Vec<i64> = webhooks::table
        .filter(webhooks::enabled.eq(true))
        .order(webhooks::id)
        .select(webhooks::id)
        .load(conn)?;
    // (its place in its webhook's queue, the delivery)
    let mut ready: Vec<(usize, i64)> = Vec::new();
    for webhook in enabled {
        let busy = under_way
            .iter()
            .find(|(id, _)| *id == webhook)
            .map_or(0, |(_, n)| *n);
        let free = per_webhook - busy;
        if free <= 0 {
            continue;
        }
        let due: Vec<i64> = d::table
            .filter(d::webhook_id.eq(webhook))
            .filter(d::status.eq("pending"))
            .filter(d::next_attempt_at.le(now))
            .filter(d::lease_until.is_null().or(d::lease_until.le(now)))
            .order((d::next_attempt_at, d::id))
            .select(d::id)
            .limit_written(free)
            .load(conn)?;
        ready.extend(due.into_iter().enumerate());
    }
    ready.sort_unstable();
    ready.truncate(usize::try_from(limit).unwrap_or(0));
    let ids: Vec<i64> = ready.into_iter().map(|(_, id)| id).collect();
    if !ids.is_empty() {
        diesel::update(d::table.filter(d::id.eq_any(&ids)))
            .set((
                d::lease_until.eq(lease_until),
                d::attempts.eq(d::attempts + 1),
            ))
            .execute(conn)?;
    }
    Ok(ids)
}

/// A claimed delivery with what its attempt sends.
#[derive(Debug, Clone, Queryable)]
pub struct Attempt {
    pub id: i64,
    pub webhook_id: i64,
    /// Attempts so far, this one included.
    pub attempts: i32,
    pub event_id: String,
    pub kind: String,
    pub data: String,
    pub at: i64,
    pub url: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_until: Option<i64>,
}

/// What the claimed deliveries `ids` send.
pub fn attempts(conn: &mut Conn, ids: &[i64]) -> QueryResult<Vec<Attempt>> {
    webhook_deliveries::table
        .inner_join(webhook_events::table)
        .inner_join(webhooks::table)
        .filter(webhook_deliveries::id.eq_any(ids))
        .order(webhook_deliveries::id)
        .select((
            webhook_deliveries::id,
            webhook_deliveries::webhook_id,
            webhook_deliveries::attempts,
            webhook_events::id,
            webhook_events::kind,
            webhook_events::data,
            webhook_events::at,
            webhooks::url,
            webhooks::secret,
            webhooks::previous_secret,
            webhooks::previous_until,
        ))
        .load(conn)
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A `2xx`.
    Succeeded { status: i32 },
    /// Anything else: try again at `retry_at`, or never (`failed`).
    Failed {
        status: Option<i32>,
        error: String,
        retry_at: Option<i64>,
    },
}

/// Records how delivery `id`'s attempt ended, ending its lease.
pub fn finish(conn: &mut Conn, id: i64, outcome: &Outcome) -> QueryResult<()> {
    let target = webhook_deliveries::table.find(id);
    match outcome {
        Outcome::Succeeded { status } => diesel::update(target)
            .set((
                webhook_deliveries::status.eq("succeeded"),
                webhook_deliveries::last_status.eq(Some(*status)),
                webhook_deliveries::last_error.eq(None::<String>),
                webhook_deliveries::next_attempt_at.eq(None::<i64>),
                webhook_deliveries::lease_until.eq(None::<i64>),
            ))
            .execute(conn),
        Outcome::Failed {
            status,
            error,
            retry_at,
        } => diesel::update(target)
            .set((
                webhook_deliveries::status.eq(if retry_at.is_some() {
                    "pending"
                } else {
                    "failed"
                }),
                webhook_deliveries::last_status.eq(*status),
                webhook_deliveries::last_error.eq(Some(error)),
                webhook_deliveries::next_attempt_at.eq(*retry_at),
                webhook_deliveries::lease_until.eq(None::<i64>),
            ))
            .execute(conn),
    }
    .map(|_| ())
}

/// A delivery as the deliveries log shows it.
#[derive(Debug, Clone, Queryable)]
pub struct Delivery {
    pub id: i64,
    pub event_id: String,
    pub kind: String,
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
}

/// Up to `limit` of webhook `webhook_id`'s deliveries, newest first,
/// before delivery `before` when given, only those in `status` when given.
pub fn deliveries(
    conn: &mut Conn,
    webhook_id: i64,
    status: Option<&str>,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = webhook_deliveries::table
        .inner_join(webhook_events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id))
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    query
        .select((
            webhook_deliveries::id,
            webhook_events::id,
            webhook_events::kind,
            webhook_deliveries::status,
            webhook_deliveries::attempts,
            webhook_deliveries::last_status,
            webhook_deliveries::last_error,
            webhook_deliveries::next_attempt_at,
            webhook_deliveries::created_at,
        ))
        .order(webhook_deliveries::id.desc())
        .limit_written(limit)
        .load(conn)
}

/// What asking to try a delivery again found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// It was `failed`: it is pending again, due at once.
    Queued,
    /// It is not `failed`.
    NotFailed,
    /// Webhook `webhook_id` has no such delivery.
    Unknown,
}

/// Makes webhook `webhook_id`'s `failed` delivery `id` due again at `now`.
pub fn retry(conn: &mut Conn, webhook_id: i64, id: i64, now: i64) -> QueryResult<Retry> {
    let mine = webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::webhook_id.eq(webhook_id));
    let changed = diesel::update(mine.filter(webhook_deliveries::status.eq("failed")))
        .set((
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::next_attempt_at.eq(Some(now)),
            webhook_deliveries::lease_until.eq(None::<i64>),
        ))
        .execute(conn)?;
    if changed > 0 {
        return Ok(Retry::Queued);
    }
    let known = mine
        .select(webhook_deliveries::id)
        .unique::<i64>(conn)?
        .is_some();
    Ok(if known {
        Retry::NotFailed
    } else {
        Retry::Unknown
    })
}

/// Whether any webhook is enabled.
pub fn any_enabled(conn: &mut Conn) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        webhooks::table.filter(webhooks::enabled.eq(true)),
    ))
    .get_result(conn)
}

/// How many deliveries wait (every instance's).
pub fn pending(conn: &mut Conn) -> QueryResult<i64> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .count()
        .get_result(conn)
}

/// When the deliverer has something to do next: an event to fan out now,
/// or the earliest time a pending delivery is due or its lease ends.
pub fn next_due(conn: &mut Conn, now: i64) -> QueryResult<Option<i64>> {
    let waiting: i64 = webhook_events::table
        .filter(webhook_events::fanned_out.eq(false))
        .count()
        .get_result(conn)?;
    if waiting > 0 {
        return Ok(Some(now));
    }
    // A delivery is ready when it is due and no lease holds it: the
    // earliest due of those no lease holds, by `webhook_deliveries_due`,
    // or the earliest lease to end, by the leases' index (each the first
    // row of an index range, however many deliveries wait).
    use webhook_deliveries as d;
    let due: Option<Option<i64>> = d::table
        .filter(d::status.eq("pending"))
        .filter(d::next_attempt_at.is_not_null())
        .filter(d::lease_until.is_null().or(d::lease_until.le(now)))
        .order(d::next_attempt_at)
        .select(d::next_attempt_at)
        .limit_written(1)
        .get_result(conn)
        .optional()?;
    let lease_ends: Option<Option<i64>> = d::table
        .filter(d::status.eq("pending"))
        .filter(d::lease_until.gt(now))
        .order(d::lease_until)
        .select(d::lease_until)
        .limit_written(1)
        .get_result(conn)
        .optional()?;
    Ok(match (due.flatten(), lease_ends.flatten()) {
        (Some(due), Some(ends)) => Some(due.min(ends)),
        (due, ends) => due.or(ends),
    })
}

/// Deletes the events of changes made before `before` whose deliveries
/// have all ended (succeeded or failed, none pending), and with them (by
/// the foreign key) those deliveries: the deliveries log keeps what is
/// still to be tried and what ended since. An event not yet fanned out is
/// kept for the deliverer, however old.
pub fn purge_ended(conn: &mut Conn, before: i64) -> QueryResult<usize> {
    let pending = webhook_deliveries::table
        .filter(webhook_deliveries::status.eq("pending"))
        .select(webhook_deliveries::event_seq);
    diesel::delete(
        webhook_events::table
            .filter(webhook_events::at.lt(before))
            .filter(webhook_events::fanned_out.eq(true))
            .filter(webhook_events::seq.ne_all(pending)),
    )
    .execute(conn)
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::engine::migrate;
    use crate::db::engine::testing::on_each_backend;

    /// A time after every row's.
    const NOW: i64 = 1_000;

    /// Claims as the deliverer does: leases of 120 s, four at most under
    /// way per webhook, at most `limit` in all.
    fn claimed(conn: &mut Conn, limit: i64) -> Vec<i64> {
        claim(conn, NOW, NOW + 120, limit, 4).unwrap()
    }

    /// Webhook 1 with deliveries 1..=10 due, webhook 2 with 11 and 12,
    /// webhook 3 (disabled) with 13, one of webhook 2's (14) due only
    /// later: each webhook's first are claimed before any one's second,
    /// never more than four under way for one, none of a disabled one's,
    /// none before its time; and when the next comes due.
    fn claims_are_fair_and_bounded(conn: &mut Conn) {
        migrate(conn).unwrap();
        let mut sql = String::from(
            "INSERT INTO webhooks (id, url, events, enabled, secret, created_at) VALUES
               (1, 'https://a.example/', '*', TRUE, 's', 0),
               (2, 'https://b.example/', '*', TRUE, 's', 0),
               (3, 'https://c.example/', '*', FALSE, 's', 0);",
        );
        for (id, webhook, due) in (1..=10).map(|id| (id, 1, id)).chain([
            (11, 2, 1),
            (12, 2, 2),
            (13, 3, 1),
            (14, 2, NOW + 50),
        ]) {
            // A message of its own each (a message is delivered once to
            // each webhook).
            sql.push_str(&format!(
                "INSERT INTO webhook_events (seq, id, type, data, at, fanned_out)
                   VALUES ({id}, 'msg_{id}', 'member.created', '{{}}', 0, TRUE);
                 INSERT INTO webhook_deliveries
                   (id, event_seq, webhook_id, status, attempts, next_attempt_at, created_at)
                 VALUES ({id}, {id}, {webhook}, 'pending', 0, {due}, 0);"
            ));
        }
        conn.batch_execute(&sql).unwrap();

        // At most three in all: each webhook's first, then webhook 1's second.
        assert_eq!(claimed(conn, 3), [1, 11, 2]);
        // Then webhook 1 to its four, and webhook 2's last one due.
        assert_eq!(claimed(conn, 32), [3, 12, 4]);
        // Four of webhook 1 under way, and nothing else due.
        assert_eq!(claimed(conn, 32), Vec::<i64>::new());
        // One of webhook 1's ends: its next takes the place.
        finish(conn, 2, &Outcome::Succeeded { status: 204 }).unwrap();
        assert_eq!(claimed(conn, 32), [5]);
        // Due already: what waits for a place (the deliverer looks again
        // within a second, or when an attempt ends).
        assert_eq!(next_due(conn, NOW).unwrap(), Some(1));
        // Once nothing is due before it, webhook 2's at NOW + 50 comes
        // before any lease ends.
        conn.batch_execute("DELETE FROM webhook_deliveries WHERE lease_until IS NULL AND id <> 14")
            .unwrap();
        assert_eq!(next_due(conn, NOW).unwrap(), Some(NOW + 50));
        let attempts: Vec<i32> = webhook_deliveries::table
            .order(webhook_deliveries::id)
            .select(webhook_deliveries::attempts)
            .load(conn)
            .unwrap();
        // Delivery 2 ended; 1, 3, 4, 5, 11 and 12 are under way.
        assert_eq!(attempts, [1, 1, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn claims_are_fair_and_bounded_on_each_backend() {
        on_each_backend("webhook_claims", claims_are_fair_and_bounded);
    }
}
