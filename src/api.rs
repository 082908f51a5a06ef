//! The JSON API under `/api/v1`, plus health, readiness and metrics.
//!
//! Handlers parse, call one function of the service layer, and map the result; view
//! types (what the API returns) are separate from domain types.

mod articles;
mod caller;
mod health;
mod schemas;

use axum::Router;
use axum::routing::get;

pub use caller::Caller;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/schemas", get(schemas::list))
        .route("/api/v1/articles/{reference}", get(articles::get_article))
        .route(
            "/api/v1/articles/{reference}/render/{channel}",
            get(articles::get_render),
        )
}
