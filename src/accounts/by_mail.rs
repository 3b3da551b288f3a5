//! Requests answered by mail whatever the address — a forgotten password,
//! a sign-in by email — recorded alike, so that neither the answer nor its
//! timing says whether an account holds the address.

use crate::auth::ip_limits;
use crate::db::forgot_requests::Asked;
use crate::db::{self, forgot_requests};
use crate::domain::{Email, IpLimit, Requester};
use crate::error::ApiError;
use crate::state::AppState;

/// Records what `by` asked for `email` and wakes the mail sender, which
/// acts on it (`mail::sender`). The same work for every address: `limit`
/// spent for the client network — every request counts, whoever holds
/// the address, so a refusal (`429`) says nothing either — and one insert,
/// with no lookup and no bcrypt.
pub async fn record(
    state: &AppState,
    by: Requester,
    asked: Asked,
    email: Email,
    stay_signed_in: bool,
    limit: IpLimit,
) -> Result<(), ApiError> {
    let network = state.ip_limits.network(by.ip);
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        ip_limits::spend(conn, &limit, &network, now)?;
        let ip = by.ip.map(|ip| ip.to_string());
        forgot_requests::insert(
            conn,
            &forgot_requests::NewRequest {
                asked,
                stay_signed_in,
                email: email.as_str(),
                email_key: &email.key(),
                ip: ip.as_deref(),
                user_agent: by.user_agent.as_deref(),
                now,
            },
        )?;
        Ok::<_, ApiError>(())
    })
    .await?;
    state.mail.wake();
    Ok(())
}
