//! The JSON API under `/api/v1`, plus health, readiness and metrics.
//!
//! Handlers parse, call one function of the service layer, and map the result; view
//! types (what the API returns) are separate from domain types.

mod admin;
mod articles;
mod authoring;
mod caller;
mod events;
mod health;
mod json;
pub mod openapi;
mod schemas;
pub mod search;
mod search_json;
pub mod session;
mod snippets;
mod webhooks;

use axum::Router;
use axum::routing::{delete, get, post, put};

pub use articles::LocaleQuery;
pub use caller::Caller;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/schemas", get(schemas::list))
        .route("/api/v1/search", get(search::search))
        .route("/api/v1/search/clicks", post(search::click))
        .route("/api/v1/suggest", get(search::suggest))
        .route("/api/v1/answer", post(search::answer))
        .route("/api/v1/analytics/searches", get(search::analytics))
        .route(
            "/api/v1/synonyms",
            get(search::synonyms).put(search::put_synonyms),
        )
        .route("/api/v1/events", get(events::stream))
        .route(
            "/api/v1/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/api/v1/webhooks/{id}", delete(webhooks::delete))
        .route(
            "/api/v1/webhooks/{id}/deliveries",
            get(webhooks::deliveries),
        )
        .route(
            "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(webhooks::redeliver),
        )
        .route(
            "/api/v1/users",
            get(admin::list_users).post(admin::create_user),
        )
        .route(
            "/api/v1/apikeys",
            get(admin::list_keys).post(admin::create_key),
        )
        .route("/api/v1/apikeys/{id}", delete(admin::revoke_key))
        .route("/api/v1/review-due", get(admin::review_due))
        .route("/api/v1/translations/{key}", get(admin::translations))
        .route(
            "/api/v1/session",
            post(session::login).merge(delete(session::logout)),
        )
        .route(
            "/api/v1/snippets",
            get(snippets::list).post(snippets::create),
        )
        .route("/api/v1/snippets/{key}", get(snippets::get))
        .route("/api/v1/snippets/{key}/draft", put(snippets::save_draft))
        .route(
            "/api/v1/snippets/{key}/transitions",
            post(snippets::transition),
        )
        .route("/api/v1/snippets/{key}/impact", get(snippets::impact))
        .route("/api/v1/articles", post(authoring::create))
        .route("/api/v1/articles/{reference}", get(articles::get_article))
        .route(
            "/api/v1/articles/{reference}/draft",
            put(authoring::save_draft),
        )
        .route(
            "/api/v1/articles/{reference}/transitions",
            post(authoring::transition),
        )
        .route(
            "/api/v1/articles/{reference}/revisions",
            get(authoring::revisions),
        )
        .route(
            "/api/v1/articles/{reference}/revisions/{n}",
            get(authoring::revision),
        )
        .route(
            "/api/v1/articles/{reference}/revisions/{n}/preview",
            get(authoring::preview),
        )
        .route("/api/v1/articles/{reference}/diff", get(authoring::diff))
        .route(
            "/api/v1/articles/{reference}/rollback",
            post(authoring::rollback),
        )
        .route(
            "/api/v1/articles/{reference}/confidence",
            put(authoring::confidence),
        )
        .route(
            "/api/v1/articles/{reference}/feedback",
            post(authoring::feedback),
        )
        .route(
            "/api/v1/articles/{reference}/render/{channel}",
            get(articles::get_render),
        )
}
