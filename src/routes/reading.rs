//! What the routes that hand readers a post share: the post's answer as
//! kept for its version (`domain::post::reader_json`), made from the
//! stored content when this instance has none.

use crate::db::posts::PostRow;
use crate::db::{self, posts};
use crate::domain::post::reader_json::Made;
use crate::error::ApiError;
use crate::state::AppState;

/// The answer kept for `post`'s version, made from the stored content
/// when this instance has none; `None` when the post was saved (or
/// deleted) since `post` was read, and is to be decided on again.
pub async fn made(state: &AppState, post: &PostRow) -> Result<Option<Made>, ApiError> {
    let (id, version) = (post.id, post.updated_at);
    if let Some(made) = state.reader_json.get(id, version) {
        return Ok(Some(made));
    }
    let content = db::idempotent(&state.pool, state.clock.now(), move |conn, _| {
        Ok::<_, ApiError>(posts::find_content(conn, id, version)?)
    })
    .await?;
    Ok(content.map(|content| {
        let made = Made::of(&content.fields());
        state.reader_json.keep(id, version, made.clone());
        made
    }))
}
