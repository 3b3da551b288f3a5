//! Queries on `users`.

use diesel::prelude::*;

use super::schema::users;
use super::{Conn, DbConnection};
use crate::db::engine::{Unique, WrittenLimit};
pub use crate::db::rows::UserRow;
use crate::domain::{Email, Plan, Role, User, Username};

/// A user row with the password's hash, read only to check a password:
/// never leaves the server.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Credentials {
    #[diesel(embed)]
    pub user: UserRow,
    pub password_hash: String,
}

pub fn find_by_key(conn: &mut Conn, key: &str) -> QueryResult<Option<UserRow>> {
    super::direct!(conn, |c| users::table
        .filter(users::username_key.eq(key))
        .select(UserRow::as_select())
        .unique(c))
}

pub fn find(conn: &mut Conn, id: i64) -> QueryResult<Option<UserRow>> {
    super::direct!(conn, |c| users::table
        .find(id)
        .select(UserRow::as_select())
        .unique(c))
}

/// A user row read by its lower-cased username or by its id: [`UserRow`],
/// or [`Credentials`] where the password's hash is checked. A caller that
/// reads either way (the login throttle's `judge`) says which by the type
/// it asks for, so only a password check holds the hash.
pub trait Lookup: Sized {
    fn by_key(conn: &mut Conn, key: &str) -> QueryResult<Option<Self>>;
    fn by_id(conn: &mut Conn, id: i64) -> QueryResult<Option<Self>>;
    fn user_id(&self) -> i64;
}

impl Lookup for UserRow {
    fn by_key(conn: &mut Conn, key: &str) -> QueryResult<Option<Self>> {
        find_by_key(conn, key)
    }

    fn by_id(conn: &mut Conn, id: i64) -> QueryResult<Option<Self>> {
        find(conn, id)
    }

    fn user_id(&self) -> i64 {
        self.id
    }
}

impl Lookup for Credentials {
    fn by_key(conn: &mut Conn, key: &str) -> QueryResult<Option<Self>> {
        super::direct!(conn, |c| users::table
            .filter(users::username_key.eq(key))
            .select(Credentials::as_select())
            .unique(c))
    }

    fn by_id(conn: &mut Conn, id: i64) -> QueryResult<Option<Self>> {
        super::direct!(conn, |c| users::table
            .find(id)
            .select(Credentials::as_select())
            .unique(c))
    }

    fn user_id(&self) -> i64 {
        self.user.id
    }
}

pub fn exists(conn: &mut Conn, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(users::username_key.eq(key)),
    ))
    .get_result(conn)
}

/// Inserts a new free user; `None` when the name (in any case) is taken.
/// The UNIQUE constraint on `username_key` is the arbiter between parallel
/// registrations of one name: exactly one insert wins, and the others get
/// `None` here, however close together they ran.
pub fn insert(
    conn: &mut Conn,
    username: &Username,
    password_hash: &str,
    now: i64,
) -> QueryResult<Option<User>> {
    let result = diesel::insert_into(users::table)
        .values((
            users::username.eq(username.as_str()),
            users::username_key.eq(username.key()),
            users::password_hash.eq(password_hash),
            users::plan.eq(Plan::Free.as_str()),
            users::role.eq(Role::Reader.as_str()),
            users::created_at.eq(now),
        ))
        // Only the id comes back: `RETURNING` with `UserRow::as_returning()`
        // is what Diesel's multi-backend connection cannot forward to each
        // backend, and the rest is what was just written.
        .returning(users::id)
        .get_result::<i64>(conn);
    let user = match result {
        Ok(id) => Some(User {
            id,
            username: username.as_str().to_owned(),
            plan: Plan::Free,
            role: Role::Reader,
            created_at: now,
        }),
        Err(e) if super::is_unique_violation(&e) => None,
        Err(e) => return Err(e),
    };
    Ok(user)
}

/// [`insert`] in a savepoint, for a caller that tries names in one
/// transaction: on PostgreSQL a name taken in the meantime would otherwise
/// abort the whole transaction, not only this insert.
pub fn insert_in_savepoint(
    conn: &mut Conn,
    username: &Username,
    password_hash: &str,
    now: i64,
) -> QueryResult<Option<User>> {
    let inserted = conn.transaction(|conn| match insert(conn, username, password_hash, now)? {
        Some(user) => Ok(Some(user)),
        None => Err(diesel::result::Error::RollbackTransaction),
    });
    match inserted {
        Err(diesel::result::Error::RollbackTransaction) => Ok(None),
        other => other,
    }
}

pub fn update_password_hash(conn: &mut Conn, id: i64, hash: &str) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::password_hash.eq(hash))
        .execute(conn)
        .map(|_| ())
}

/// `id`'s stored plan and complimentary grant (`None`: no such user), the row
/// locked until the transaction ends (on PostgreSQL, by a write that
/// changes nothing; SQLite's one writer already holds it), so that a
/// change made after it counts from what it read.
pub fn standing_locked(conn: &mut Conn, id: i64) -> QueryResult<Option<(Plan, Option<i64>)>> {
    diesel::update(users::table.find(id))
        .set(users::plan.eq(users::plan))
        .execute(conn)?;
    let row: Option<(String, Option<i64>)> = users::table
        .find(id)
        .select((users::plan, users::premium_until))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(plan, until)| (Plan::parse(&plan).unwrap_or(Plan::Free), until)))
}

/// Sets a user's stored plan (until the next subscription event says
/// otherwise). What the change means to the member (insights, events) is
/// `accounts::members`'.
pub fn set_plan(conn: &mut Conn, id: i64, plan: Plan) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::plan.eq(plan.as_str()))
        .execute(conn)
        .map(|_| ())
}

/// Sets whether a user takes the newsletter; `true` if that changed it.
pub fn set_newsletter(conn: &mut Conn, id: i64, newsletter: bool) -> QueryResult<bool> {
    let changed = diesel::update(
        users::table
            .find(id)
            .filter(users::newsletter.ne(newsletter)),
    )
    .set(users::newsletter.eq(newsletter))
    .execute(conn)?;
    Ok(changed > 0)
}

/// Up to `limit` users whose complimentary premium ended by `now` and is
/// still stored, the earliest ended first (by the partial index
/// `users_grants`, which holds only users with a grant).
pub fn lapsed_grants(conn: &mut Conn, now: i64, limit: i64) -> QueryResult<Vec<i64>> {
    users::table
        .filter(users::premium_until.is_not_null())
        .filter(users::premium_until.le(now))
        .order(users::premium_until)
        .select(users::id)
        .limit_written(limit)
        .load(conn)
}

/// Sets or (`None`) removes a user's complimentary premium.
pub fn set_premium_until(conn: &mut Conn, id: i64, until: Option<i64>) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::premium_until.eq(until))
        .execute(conn)
        .map(|_| ())
}

/// Sets a user's role. Sessions read the role with the user on every
/// request, so it holds at once on every session.
pub fn set_role(conn: &mut Conn, id: i64, role: Role) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::role.eq(role.as_str()))
        .execute(conn)
        .map(|_| ())
}

/// Notes a login's time (for admins' user lists).
pub fn mark_login(conn: &mut Conn, id: i64, now: i64) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(now))
        .execute(conn)
        .map(|_| ())
}

/// A user as an admin sees them (`AdminUser`): no hash, no token.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct AdminRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub plan: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub premium_until: Option<i64>,
}

/// One page of users, newest first, and how many there are: all of them,
/// or those whose username or address contains `part` in any case.
pub fn search(
    conn: &mut Conn,
    part: Option<&str>,
    (page, per_page): (i64, i64),
) -> QueryResult<(Vec<AdminRow>, i64)> {
    // Both keys are stored with their ASCII letters lower-cased, so a
    // pattern folded the same way matches in any case on both backends
    // (PostgreSQL's LIKE minds case); other letters match as typed, as
    // they are compared. `%`, `_` and the escape itself are literal in
    // what an admin types.
    let pattern = part.map(|part| {
        let escaped = part
            .to_ascii_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let matching = || {
        let mut query = users::table.into_boxed();
        if let Some(pattern) = &pattern {
            query = query.filter(
                users::username_key
                    .like(pattern.clone())
                    .escape('\\')
                    .or(users::email_key.like(pattern.clone()).escape('\\')),
            );
        }
        query
    };
    let total = matching().count().get_result(conn)?;
    let rows = matching()
        .order((users::created_at.desc(), users::id.desc()))
        .select(AdminRow::as_select())
        .limit_written(per_page)
        .offset((page - 1) * per_page)
        .load(conn)?;
    Ok((rows, total))
}

pub fn find_for_admin(conn: &mut Conn, id: i64) -> QueryResult<Option<AdminRow>> {
    users::table
        .find(id)
        .select(AdminRow::as_select())
        .unique(conn)
}

/// Whether any enabled admin other than `id` is left. Admins' changes
/// take turns on this (the SQLite write lock; a PostgreSQL advisory lock
/// held to the end of the caller's transaction), so two admins demoting
/// each other at once cannot both see the other one left.
pub fn another_admin_than(conn: &mut Conn, id: i64) -> QueryResult<bool> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('tollgate:admins'))")
            .execute(pg)?;
    }
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::role.eq(Role::Admin.as_str()))
            .filter(users::disabled.eq(false))
            .filter(users::id.ne(id)),
    ))
    .get_result(conn)
}

/// Disables or enables a user.
pub fn set_disabled(conn: &mut Conn, id: i64, disabled: bool) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::disabled.eq(disabled))
        .execute(conn)
        .map(|_| ())
}

/// Deletes a user; their sessions and unlocks go with them (ON DELETE
/// CASCADE).
pub fn delete(conn: &mut Conn, id: i64) -> QueryResult<()> {
    diesel::delete(users::table.find(id))
        .execute(conn)
        .map(|_| ())
}

/// A member as the members' export reads them: the user's row and the
/// Stripe customer linked to them (joined in SQL; no hash, no token).
#[derive(Debug, Clone, Queryable)]
pub struct ExportRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub plan: String,
    pub premium_until: Option<i64>,
    pub role: String,
    pub newsletter: bool,
    pub created_at: i64,
    pub last_login_at: Option<i64>,
    pub stripe_customer_id: Option<String>,
    pub disabled: bool,
}

/// Up to `limit` members with an id above `after`, by id: one page of the
/// members' export, which walks the table by its primary key (each page
/// an index range, however far in) instead of holding every member.
pub fn export_page(conn: &mut Conn, after: i64, limit: i64) -> QueryResult<Vec<ExportRow>> {
    use super::schema::billing_customers as customers;
    users::table
        .left_join(
            customers::table.on(customers::user_id
                .eq(users::id)
                .and(customers::forgotten.eq(false))),
        )
        .filter(users::id.gt(after))
        .order(users::id)
        .select((
            users::id,
            users::username,
            users::email,
            users::email_verified,
            users::plan,
            users::premium_until,
            users::role,
            users::newsletter,
            users::created_at,
            users::last_login_at,
            customers::customer_id.nullable(),
            users::disabled,
        ))
        .limit_written(limit)
        .load(conn)
}

/// Of the address keys `keys`, those some account holds, verified or not.
pub fn holding_any(conn: &mut Conn, keys: &[String]) -> QueryResult<Vec<String>> {
    if let DbConnection::Postgres(pg) = conn {
        return found_each(pg, ADDRESSES_FOUND, keys);
    }
    let held: Vec<Option<String>> = users::table
        .filter(users::email_key.eq_any(keys))
        .select(users::email_key)
        .distinct()
        .load(conn)?;
    Ok(held.into_iter().flatten().collect())
}

/// Of the username keys `keys`, those some account holds.
pub fn keys_taken(conn: &mut Conn, keys: &[String]) -> QueryResult<Vec<String>> {
    match conn {
        DbConnection::Postgres(pg) => found_each(pg, NAMES_FOUND, keys),
        DbConnection::Sqlite(c) => users::table
            .filter(users::username_key.eq_any(keys))
            .select(users::username_key)
            .load(c),
    }
}

/// [`keys_taken`] on PostgreSQL: each key looked up by the index on its
/// own. `username_key = ANY($1)` is planned as a scan of the whole table
/// that compares each row with every key — while a list is imported the
/// table grows faster than its statistics, and a batch's thousands of
/// keys made each lookup cost as much as the rows before it.
const NAMES_FOUND: &str = "SELECT u.username_key AS key
    FROM unnest($1::text[]) AS k(key)
    CROSS JOIN LATERAL (SELECT username_key FROM users WHERE username_key = k.key OFFSET 0) u";

/// [`holding_any`] on PostgreSQL, as [`NAMES_FOUND`] (`DISTINCT`: several
/// accounts may hold one address unverified).
const ADDRESSES_FOUND: &str = "SELECT DISTINCT u.email_key AS key
    FROM unnest($1::text[]) AS k(key)
    CROSS JOIN LATERAL (SELECT email_key FROM users WHERE email_key = k.key OFFSET 0) u";

/// A key [`NAMES_FOUND`] or [`ADDRESSES_FOUND`] found.
#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
}

/// The keys of `keys` that `sql` (one of the above) finds.
fn found_each(
    pg: &mut super::pg::PgConn,
    sql: &'static str,
    keys: &[String],
) -> QueryResult<Vec<String>> {
    use diesel::sql_types::{Array, Text};
    let found: Vec<Found> = diesel::sql_query(sql)
        .bind::<Array<Text>, _>(keys)
        .load(pg)?;
    Ok(found.into_iter().map(|f| f.key).collect())
}

/// A member brought in whole by [`insert_imported`]: a name free when it
/// was looked up, and what the list says of them.
pub struct Imported<'a> {
    pub username: &'a Username,
    pub email: &'a Email,
    pub verified: bool,
    pub newsletter: bool,
    pub created_at: i64,
}

/// Inserts `members`, free users without a password, in one statement;
/// their ids, in order. A name or a verified address taken meanwhile fails
/// the statement (the caller's transaction then brings them in one by
/// one, where each such member is refused alone).
pub fn insert_imported(conn: &mut Conn, members: &[Imported<'_>]) -> QueryResult<Vec<i64>> {
    let rows: Vec<_> = members
        .iter()
        .map(|m| {
            (
                users::username.eq(m.username.as_str()),
                users::username_key.eq(m.username.key()),
                users::password_hash.eq(""),
                users::plan.eq(Plan::Free.as_str()),
                users::role.eq(Role::Reader.as_str()),
                users::created_at.eq(m.created_at),
                users::email.eq(m.email.as_str()),
                users::email_key.eq(m.email.key()),
                users::email_verified.eq(m.verified),
                users::newsletter.eq(m.newsletter),
            )
        })
        .collect();
    let keys: Vec<(i64, String)> = super::direct!(conn, |c| diesel::insert_into(users::table)
        .values(&rows)
        .returning((users::id, users::username_key))
        .get_results(c))?;
    // RETURNING promises no order: each id is matched to its row by name.
    let ids: std::collections::HashMap<String, i64> =
        keys.into_iter().map(|(id, key)| (key, id)).collect();
    members
        .iter()
        .map(|m| {
            ids.get(&m.username.key())
                .copied()
                .ok_or(diesel::result::Error::NotFound)
        })
        .collect()
}

/// What an imported member brings besides their name: the address
/// (verified or not), newsletter consent, and when they joined.
pub fn set_imported(
    conn: &mut Conn,
    id: i64,
    email: &Email,
    verified: bool,
    newsletter: bool,
    created_at: i64,
) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email.as_str()),
            users::email_key.eq(email.key()),
            users::email_verified.eq(verified),
            users::newsletter.eq(newsletter),
            users::created_at.eq(created_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// An account's address as stored, for `GET /account` and the recovery
/// routes (kept out of [`UserRow`], which every session lookup loads).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct EmailRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub email_key: Option<String>,
    pub email_verified: bool,
    /// Takes the newsletter (sent only to a verified address).
    pub newsletter: bool,
}

pub fn email_of(conn: &mut Conn, id: i64) -> QueryResult<Option<EmailRow>> {
    users::table
        .find(id)
        .select(EmailRow::as_select())
        .unique(conn)
}

/// Every account holding the address `key`, verified or not, that is not
/// disabled: a disabled account gets no reset link (it could not log in
/// with the new password anyway, and the mail would tell whoever reads it
/// that the account exists).
pub fn holding_email(conn: &mut Conn, key: &str) -> QueryResult<Vec<EmailRow>> {
    users::table
        .filter(users::email_key.eq(key))
        .filter(users::disabled.eq(false))
        .order(users::id)
        .select(EmailRow::as_select())
        .load(conn)
}

/// Takes the write lock on the account's row until the transaction ends,
/// so that two requests removing its ways in one each (an identity, a
/// passkey) are decided one after the other: each then counts what the
/// other left, and the last way in is never removed. SQLite's write
/// transactions are one at a time already; PostgreSQL locks the row.
pub fn lock(conn: &mut Conn, user_id: i64) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set(users::id.eq(user_id))
        .execute(conn)
        .map(|_| ())
}

/// The account holding the address `key` *verified*, if any (at most one
/// can: the partial unique index `users_verified_email`).
pub fn verified_holder(conn: &mut Conn, key: &str) -> QueryResult<Option<i64>> {
    users::table
        .filter(users::email_key.eq(key))
        .filter(users::email_verified.eq(true))
        .select(users::id)
        .unique(conn)
}

/// Gives the account an unverified address (or none).
pub fn set_email(conn: &mut Conn, id: i64, email: Option<&Email>) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::email.eq(email.map(Email::as_str)),
            users::email_key.eq(email.map(Email::key)),
            users::email_verified.eq(false),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Keeps the same address (same key) as newly typed, say with other case.
pub fn retype_email(conn: &mut Conn, id: i64, email: &Email) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set(users::email.eq(email.as_str()))
        .execute(conn)
        .map(|_| ())
}

/// Marks the account's address verified if it is still `key`; `Ok(false)`
/// if the account holds another address now. The partial unique index
/// `users_verified_email` is the arbiter between accounts: a second account
/// verifying the same address fails here with a unique violation, however
/// close together the two ran, on any number of instances.
pub fn mark_verified(conn: &mut Conn, id: i64, key: &str) -> QueryResult<bool> {
    diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::email_key.eq(key)),
    )
    .set(users::email_verified.eq(true))
    .execute(conn)
    .map(|n| n > 0)
}

/// Like [`mark_verified`], but leaves the address unverified (`Ok(false)`)
/// when another account has verified it, instead of failing the caller's
/// transaction: it runs in a savepoint, which alone rolls back (on
/// PostgreSQL a failed statement would otherwise abort the whole
/// transaction).
pub fn mark_verified_unless_taken(conn: &mut Conn, id: i64, key: &str) -> QueryResult<bool> {
    match conn.transaction(|conn| mark_verified(conn, id, key)) {
        Err(e) if super::is_unique_violation(&e) => Ok(false),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::db::engine::testing::on_each_backend;
    use crate::db::engine::{migrate, redo_from};

    /// Addresses stored before the bare-address rule, as a raw insert would
    /// have kept them, and what the bare-address migration leaves of them.
    fn display_names_are_removed_and_bare_addresses_kept(conn: &mut Conn) {
        migrate(conn).unwrap();
        let rows = [
            ("bare", "alice@example.com", true),
            ("named", "Victim<attacker@evil.example>", true),
            ("quoted", "\"Victim\"<attacker@evil.example>", false),
            ("listed", "a@evil.example,b@evil.example", true),
            ("commented", "a@evil.example(note)", false),
        ];
        for (name, email, verified) in rows {
            conn.batch_execute(&format!(
                "INSERT INTO users (username, username_key, password_hash, plan, created_at, \
                 email, email_key, email_verified) VALUES ('{name}', '{name}', 'h', 'free', 1, \
                 '{}', '{}', {verified})",
                email.replace('\'', "''"),
                email.to_lowercase().replace('\'', "''"),
            ))
            .unwrap();
        }
        redo_from(conn, "2026-11-25-000001").unwrap();
        for (name, email, verified) in rows {
            let row = stored_address(conn, name);
            let expected = if name == "bare" {
                (Some(email.to_owned()), Some(email.to_owned()), verified)
            } else {
                (None, None, false)
            };
            assert_eq!(row, expected, "{name}");
        }
    }

    /// Addresses and what holds their keys, stored as they were when keys
    /// were lower-cased by Unicode's rules, and what the ASCII-keys
    /// migration makes of them: the look-alikes' keys split off, nothing
    /// else moves, every account keeps its address and whether it is
    /// verified, and the split frees the ASCII address for its own owner.
    fn keys_are_made_again_by_the_ascii_rule(conn: &mut Conn) {
        use super::super::schema::{email_tokens, forgot_requests, outbox};

        migrate(conn).unwrap();
        const KELVIN_KATE: &str = "\u{212A}ate@example.com";
        const KELVIN_KIM: &str = "\u{212A}im@Example.com";
        // (username, address, verified): at most one verified per old key.
        let rows = [
            ("kate", "kate@example.com", true),
            ("kelvin", KELVIN_KATE, false),
            ("shouty", "KATE@Example.com", false),
            ("elise", "\u{c9}lise@Example.com", true),
            ("kelvinkim", KELVIN_KIM, true),
            ("kim", "Kim@example.com", false),
        ];
        let mut ids = std::collections::HashMap::new();
        for (name, email, verified) in rows {
            conn.batch_execute(&format!(
                "INSERT INTO users (username, username_key, password_hash, plan, created_at, \
                 email, email_key, email_verified) VALUES ('{name}', '{name}', 'h', 'free', 1, \
                 '{email}', '{}', {verified})",
                email.to_lowercase(),
            ))
            .unwrap();
            let id: i64 = users::table
                .filter(users::username_key.eq(name))
                .select(users::id)
                .get_result(conn)
                .unwrap();
            ids.insert(name, id);
        }
        // Links: Kelvin's and Kate's for the address each holds, and one of
        // Kate's for an address she no longer holds.
        for (hash, name, key) in [
            ("t-kelvin", "kelvin", "kate@example.com"),
            ("t-kate", "kate", "kate@example.com"),
            ("t-old", "kate", "old@example.com"),
        ] {
            conn.batch_execute(&format!(
                "INSERT INTO email_tokens (token_hash, user_id, purpose, email_key, created_at, \
                 expires_at) VALUES ('{hash}', {}, 'verify', '{key}', 1, 2)",
                ids[name]
            ))
            .unwrap();
        }
        conn.batch_execute(&format!(
            "INSERT INTO forgot_requests (email, email_key, requested_at) \
             VALUES ('{KELVIN_KATE}', 'kate@example.com', 1), ('KATE@example.com', 'kate@example.com', 1); \
             INSERT INTO outbox (recipient, recipient_key, subject, body, created_at, next_attempt_at) \
             VALUES ('{KELVIN_KATE}', 'kate@example.com', 's', 'b', 1, 1), \
             ('Kate@Example.com', 'kate@example.com', 's', 'b', 1, 1)"
        ))
        .unwrap();

        redo_from(conn, "2026-11-29-000001").unwrap();

        for (name, email, verified) in rows {
            let row = stored_address(conn, name);
            let key = Email::parse(email).unwrap().key();
            assert_eq!(row, (Some(email.to_owned()), Some(key), verified), "{name}");
        }
        assert_eq!(
            verified_holder(conn, "kate@example.com").unwrap(),
            Some(ids["kate"])
        );
        assert_eq!(verified_holder(conn, KELVIN_KATE).unwrap(), None);
        assert_eq!(
            verified_holder(conn, "\u{212A}im@example.com").unwrap(),
            Some(ids["kelvinkim"])
        );
        // Kim's address was taken, by its look-alike; it is Kim's to verify.
        assert_eq!(verified_holder(conn, "kim@example.com").unwrap(), None);
        assert!(mark_verified(conn, ids["kim"], "kim@example.com").unwrap());

        let tokens: Vec<(String, String)> = email_tokens::table
            .order(email_tokens::token_hash)
            .select((email_tokens::token_hash, email_tokens::email_key))
            .load(conn)
            .unwrap();
        assert_eq!(
            tokens,
            [
                ("t-kate".to_owned(), "kate@example.com".to_owned()),
                ("t-kelvin".to_owned(), KELVIN_KATE.to_owned()),
                ("t-old".to_owned(), "old@example.com".to_owned()),
            ]
        );
        let requests: Vec<String> = forgot_requests::table
            .order(forgot_requests::id)
            .select(forgot_requests::email_key)
            .load(conn)
            .unwrap();
        assert_eq!(requests, [KELVIN_KATE, "kate@example.com"]);
        let counted: Vec<String> = outbox::table
            .order(outbox::id)
            .select(outbox::recipient_key)
            .load(conn)
            .unwrap();
        assert_eq!(counted, [KELVIN_KATE, "kate@example.com"]);
    }

    /// The address `name`'s row holds: as typed, its key, verified or not.
    fn stored_address(conn: &mut Conn, name: &str) -> (Option<String>, Option<String>, bool) {
        users::table
            .filter(users::username_key.eq(name))
            .select((users::email, users::email_key, users::email_verified))
            .get_result(conn)
            .unwrap()
    }

    #[test]
    fn keys_are_made_again_by_the_ascii_rule_on_each_backend() {
        on_each_backend("ascii_email_keys", keys_are_made_again_by_the_ascii_rule);
    }

    /// What the migration's comment relies on: two addresses with one key by
    /// the ASCII rule had one key by Unicode's rules too (keys only split),
    /// and lower-casing by Unicode's rules twice is lower-casing once (so no
    /// row's new key is, midway through the migration, the old key of
    /// another verified row).
    #[test]
    fn the_ascii_keys_only_split_the_unicode_ones() {
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let once = c.to_lowercase().collect::<String>();
            assert_eq!(once.to_lowercase(), once, "{c:?}");
            let ascii = c.to_ascii_lowercase();
            assert_eq!(ascii.to_lowercase().collect::<String>(), once, "{c:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn one_ascii_key_is_one_unicode_key(
            a in "[aAkK\u{212A}\u{130}iI\u{c9}\u{e9}\u{3a3}\u{3c3}\u{3c2} .@]{0,12}",
            flips in proptest::collection::vec(proptest::bool::ANY, 12),
        ) {
            // `b`: `a` with some of its ASCII letters in the other case.
            let b: String = a
                .chars()
                .zip(flips.iter().chain(std::iter::repeat(&false)))
                .map(|(c, flip)| match (flip, c.is_ascii_lowercase()) {
                    (true, true) => c.to_ascii_uppercase(),
                    (true, false) => c.to_ascii_lowercase(),
                    _ => c,
                })
                .collect();
            proptest::prop_assert_eq!(a.to_ascii_lowercase(), b.to_ascii_lowercase());
            proptest::prop_assert_eq!(a.to_lowercase(), b.to_lowercase());
        }
    }

    #[test]
    fn only_bare_addresses_are_kept_on_each_backend() {
        on_each_backend(
            "bare_addresses",
            display_names_are_removed_and_bare_addresses_kept,
        );
    }
}
