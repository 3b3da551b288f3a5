//! The one way to run blocking work (Diesel calls, bcrypt) from a handler: on
//! actix's blocking thread pool, inside the caller's tracing span, so that an
//! async worker is never stalled and log lines keep their request context.

use crate::error::ApiError;

/// Runs `f` on the blocking pool and waits for it without blocking the worker.
pub async fn run<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    actix_web::web::block(move || span.in_scope(f))
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
}
