//! Webhook subscriptions (admins): create, list, delete, delivery log, redelivery.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};

use super::Caller;
use super::json::ApiJson;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{Delivery, NewWebhook, Webhook};

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
    let actor = caller.require_admin()?.name;
    let url = req.url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.len() > 2000
        || url.contains(char::is_whitespace)
    {
        return Err(AppError::BadRequest("url must be an http(s) URL".into()));
    }
    for e in &req.events {
        if crate::store::EventKind::parse(e).is_none() {
            return Err(AppError::BadRequest(format!("unknown event '{e}'")));
        }
    }
    let secret = req
        .secret
        .clone()
        .filter(|s| s.len() >= 16)
        .unwrap_or_else(|| crate::util::random_token(24));
    let w = NewWebhook {
        url: url.into(),
        secret: secret.clone(),
        events: req.events,
        locales: req.locales,
        categories: req.categories,
        article_types: req.types,
        created_by: actor.clone(),
    };
    let hook = state.kb.store.create_webhook(&w, state.kb.now()).await?;
    state
        .kb
        .store
        .audit(
            state.kb.now(),
            &actor,
            "webhook.create",
            &format!("webhook:{}", hook.id),
            serde_json::json!({"url": hook.url}),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CreatedWebhook {
            webhook: hook,
            secret,
        }),
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
    let actor = caller.require_admin()?.name;
    state
        .kb
        .store
        .deactivate_webhook(id, &format!("deleted by {actor}"))
        .await?;
    state
        .kb
        .store
        .audit(
            state.kb.now(),
            &actor,
            "webhook.delete",
            &format!("webhook:{id}"),
            serde_json::json!({}),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = i64, Path)), responses((status = 200, body = [Delivery])))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<axum::Json<Vec<Delivery>>> {
    caller.require_admin()?;
    if state.kb.store.webhook(id).await?.is_none() {
        return Err(AppError::NotFound(format!("webhook {id} not found")));
    }
    Ok(axum::Json(state.kb.store.deliveries(id, 200).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery}/redeliver", tag = "webhooks", params(("id" = i64, Path), ("delivery" = i64, Path)), responses((status = 202)))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery)): Path<(i64, i64)>,
) -> AppResult<StatusCode> {
    caller.require_admin()?;
    state
        .kb
        .store
        .redeliver(id, delivery, state.kb.now())
        .await?;
    state.kb.changed();
    Ok(StatusCode::ACCEPTED)
}
