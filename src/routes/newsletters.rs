//! `POST /newsletter/unsubscribe?token=…`: the one-click unsubscribe of
//! every newsletter message (RFC 8058), public. Mail providers post here
//! from their servers — a form body `List-Unsubscribe=One-Click`, no
//! cookie, no `Origin` — and the SPA's `/unsubscribe` page posts here too,
//! so the body is not read at all: the token alone says who leaves.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

use crate::accounts::members;
use crate::db::{self, events, newsletters, users};
use crate::domain::gift::is_token_shaped;
use crate::domain::{EventKind, Requester};
use crate::error::ApiError;
use crate::session::token;
use crate::state::AppState;

/// The token in the query: the last `token` given.
fn token_in(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .filter(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .last()
}

/// The account leaves the newsletter: `200 {"status": "unsubscribed"}`,
/// the same when it already had (a mail provider may post twice);
/// `newsletter_unsubscribed` (`via: link`) is recorded only for a change.
/// A token no message carried: `400 invalid_token`.
pub async fn unsubscribe(
    state: web::Data<AppState>,
    req: HttpRequest,
    by: Requester,
) -> Result<HttpResponse, ApiError> {
    // Only ever hashed: never stored as sent, never logged.
    let token_hash = token_in(req.query_string())
        .filter(|sent| is_token_shaped(sent))
        .map(|sent| token::hash(&sent))
        .ok_or(ApiError::InvalidToken)?;
    db::once(&state.pool, state.clock.now(), move |conn, now| {
        let user_id = newsletters::token_owner(conn, &token_hash)?.ok_or(ApiError::InvalidToken)?;
        if users::set_newsletter(conn, user_id, false)? {
            members::announce_updated(conn, now, user_id)?;
            let detail = json!({ "via": "link" });
            let kind = EventKind::NewsletterUnsubscribed;
            events::record(conn, now, user_id, kind, &by, detail)?;
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "unsubscribed" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_the_query_decoded() {
        assert_eq!(token_in("token=abc"), Some("abc".to_owned()));
        assert_eq!(token_in("x=1&token=a%2Db"), Some("a-b".to_owned()));
        assert_eq!(token_in("tokens=abc"), None);
        assert_eq!(token_in(""), None);
    }
}
