//! Webhook subscriptions (admins): create, list, delete, delivery log, redelivery.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::Caller;
use super::json::ApiJson;
use crate::error::AppResult;
use crate::service::admin::{WebhookInput, as_bad_request};
use crate::state::AppState;
use crate::store::{Delivery, Webhook};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    pub url: String,
    /// Shared secret for the HMAC-SHA256 signature; generated when omitted.
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub locales: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub types: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Shown once.
    pub secret: String,
}

#[utoipa::path(post, path = "/api/v1/webhooks", request_body = WebhookRequest, tag = "webhooks", responses((status = 201, body = CreatedWebhook), (status = 400, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.require_admin()?;
    let input = WebhookInput {
        url: req.url,
        secret: req.secret,
        events: req.events,
        locales: req.locales,
        categories: req.categories,
        types: req.types,
    };
    let (webhook, secret) = state
        .kb
        .admin_create_webhook(&actor, &input)
        .await
        .map_err(as_bad_request)?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhook { webhook, secret }),
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", responses((status = 200, body = [Webhook])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<axum::Json<Vec<Webhook>>> {
    caller.require_admin()?;
    Ok(axum::Json(state.kb.store.webhooks().await?))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)), responses((status = 204)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let actor = caller.require_admin()?;
    state.kb.admin_delete_webhook(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = i64, Path)), responses((status = 200, body = [Delivery])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<Delivery>>> {
    let actor = caller.require_admin()?;
    Ok(axum::Json(state.kb.admin_deliveries(&actor, id).await?.1))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks", params(("id" = i64, Path), ("delivery" = i64, Path)), responses((status = 202)))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    let actor = caller.require_admin()?;
    state.kb.admin_redeliver(&actor, id, delivery).await?;
    Ok(StatusCode::ACCEPTED)
}
