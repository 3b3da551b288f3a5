//! Confirming that the caller owns the account, before a sensitive change.

use crate::auth::{Account, Attempt};
use crate::domain::username::username_key;
use crate::domain::Requester;
use crate::error::ApiError;
use crate::session::SessionRecord;
use crate::state::AppState;

/// How long after signing in an account without a password may make a
/// sensitive change, in seconds.
pub const REAUTH_SECONDS: i64 = 300;

/// Confirms that the caller of `session` is the account's owner. With a
/// password: checks it, or answers `401 invalid_credentials`; a stolen
/// cookie must not become a way around the login lockout, so these checks
/// count towards it too. Without one (an account made by signing in with
/// a provider): the sign-in that opened this session must be at most
/// [`REAUTH_SECONDS`] old, or `403 reauth_required` — a cookie left in a
/// browser for a day proves less than a provider's sign-in a minute ago.
pub async fn confirm_owner(
    state: &AppState,
    session: &SessionRecord,
    by: &Requester,
    password: Option<String>,
) -> Result<(), ApiError> {
    let Some(password) = password else {
        if session.has_password {
            return Err(ApiError::InvalidCredentials);
        }
        let age = state.clock.now() - session.signed_in_at;
        return if age <= REAUTH_SECONDS {
            Ok(())
        } else {
            Err(ApiError::ReauthRequired)
        };
    };
    let user = &session.user;
    let key = username_key(&user.username);
    let attempt = Attempt {
        key: &key,
        account: Account::Id(user.id),
        password,
        by,
    };
    let checked = state.logins.check_password(attempt).await?;
    match checked {
        Some(_) => Ok(()),
        None => Err(ApiError::InvalidCredentials),
    }
}
