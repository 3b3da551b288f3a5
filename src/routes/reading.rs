//! What the routes that hand readers a post share: the body that sends a
//! post's answer (as kept for its version, `crate::reading::made`) in its
//! parts ([`Parts`]), the refusal of what a page loads without script
//! ([`only_for_script`]), and the `tollgate_reader` cookie that knows a
//! browser without a session ([`reader_cookie`], [`new_reader_cookie`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use actix_web::http::header::HeaderName;
use actix_web::HttpRequest;
use bytes::Bytes;

use crate::domain::gift::{is_token_shaped, READER_COOKIE};
use crate::error::ApiError;

/// A browser's `tollgate_reader` value, if it is one this server could
/// have made.
pub fn reader_cookie(req: &HttpRequest) -> Option<String> {
    let value = req.cookie(READER_COOKIE)?.value().to_owned();
    is_token_shaped(&value).then_some(value)
}

/// The `tollgate_reader` cookie of a new value: one year, `HttpOnly`,
/// `SameSite=Lax`, the whole site.
pub fn new_reader_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(READER_COOKIE, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::days(365))
        .finish()
}

/// `Sec-Fetch-Dest`, named once: not copied into a new name on every read.
const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

/// `403 forbidden_origin` for a request a page makes without script. Only
/// script (`fetch`, whose destination is `empty`) may spend a read or
/// count as a gift's reader: an `<img src=…/blog/7>` on a same-site page,
/// a frame or a navigation would otherwise spend one of the reader's
/// without their asking, or use up a gift's readers. Browsers say what
/// loads a resource in `Sec-Fetch-Dest`; clients without it (curl,
/// Postman, servers) are not browsers loading a page.
pub fn only_for_script(req: &HttpRequest) -> Result<(), ApiError> {
    match req.headers().get(&SEC_FETCH_DEST) {
        Some(dest) if dest.as_bytes() != b"empty" => Err(ApiError::ForbiddenOrigin),
        _ => Ok(()),
    }
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
