//! `GET /health` and `GET /openapi.yaml`.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::db;
use crate::state::AppState;

/// Whether this instance can reach its database.
pub async fn health(state: web::Data<AppState>) -> HttpResponse {
    let pinged = db::idempotent(&state.pool, state.clock.now(), |conn, _| {
        Ok::<_, db::Error>(db::ping(conn)?)
    });
    match pinged.await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ok", "database": "ok"})),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}

/// The contract in OpenAPI form, compiled into the binary.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(include_str!("../../openapi.yaml"))
}
