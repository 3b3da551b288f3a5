//! An account keeps a way to sign in: removing a passkey or an identity
//! (by the account's owner) or the second factors (by an admin) never
//! leaves it with no password, no passkey and no identity; nor does
//! removing the address of an account that signs in by email alone.

use crate::db::{self, identities, passkeys, users};
use crate::error::ApiError;

/// Removes one or more of `user_id`'s ways in with `remove`, in the
/// caller's write transaction, keeping at least one. The account's row is
/// locked first, so that two removals are decided one after the other;
/// what would leave no way in at all is refused (`409 last_login_method`),
/// and the caller's transaction rolls back with the refusal. `remove`
/// answers what it removed (`None`: nothing of that kind, which the caller
/// answers as it sees fit).
pub fn remove_keeping_one<T>(
    conn: &mut db::Conn,
    user_id: i64,
    remove: impl FnOnce(&mut db::Conn) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    users::lock(conn, user_id)?;
    let removed = remove(conn)?;
    if has_a_way_in(conn, user_id)? {
        Ok(removed)
    } else {
        Err(ApiError::LastLoginMethod)
    }
}

/// Whether the account has a password, a passkey or a linked identity:
/// a way in besides its address.
pub fn has_a_way_in(conn: &mut db::Conn, user_id: i64) -> diesel::QueryResult<bool> {
    let has_password = users::find(conn, user_id)?.is_some_and(|u| u.has_password);
    Ok(has_password
        || passkeys::count_of(conn, user_id)? > 0
        || identities::count_of(conn, user_id)? > 0)
}
