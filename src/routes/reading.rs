//! What the routes that hand readers a post share: the post's answer as
//! kept for its version (`domain::post::reader_json`), made from the
//! stored content when this instance has none, and the body that sends
//! an answer in its parts ([`Parts`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use bytes::Bytes;

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

/// A body sent as its parts, in order, each as it is: the server copies
/// each into the connection's buffer, as it would one joined buffer, so
/// a post's kept bytes are copied once on their way out, not twice.
pub struct Parts<const N: usize> {
    parts: [Bytes; N],
    next: usize,
}

impl<const N: usize> Parts<N> {
    pub fn new(parts: [Bytes; N]) -> Parts<N> {
        Parts { parts, next: 0 }
    }
}

impl<const N: usize> MessageBody for Parts<N> {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        let len: usize = self.parts[self.next..].iter().map(Bytes::len).sum();
        BodySize::Sized(len as u64)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        while let Some(part) = this.parts.get_mut(this.next) {
            this.next += 1;
            if !part.is_empty() {
                return Poll::Ready(Some(Ok(std::mem::take(part))));
            }
        }
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn parts_are_sent_in_order_with_their_length() {
        let body = Parts::new([
            Bytes::from_static(b"{\"a\":"),
            Bytes::new(),
            Bytes::from_static(b"1}"),
        ]);
        assert_eq!(body.size(), BodySize::Sized(7));
        let sent = actix_web::body::to_bytes(body).await.unwrap();
        assert_eq!(&sent[..], b"{\"a\":1}");
    }
}
