//! Reading articles and their published renders.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Caller;
use crate::domain::{Article, ArticleRef, Audience, Channel, ValidityStatus};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LocaleQuery {
    pub locale: Option<String>,
    pub format: Option<String>,
}

/// Resolves `{ref}`: an id (`KB-12`, `12`) or a slug with `?locale=`.
pub async fn resolve(
    state: &AppState,
    reference: &str,
    locale: Option<&str>,
) -> AppResult<Article> {
    let parsed: ArticleRef = reference
        .parse()
        .map_err(|_| AppError::NotFound(format!("article '{reference}' not found")))?;
    let found = match parsed {
        ArticleRef::Id(id) => state.kb.store.article(id).await?,
        ArticleRef::Slug(slug) => {
            let locale = locale.unwrap_or("zh-CN");
            let locale = locale
                .parse::<crate::domain::Locale>()
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            state
                .kb
                .store
                .article_by_slug(slug.as_str(), locale.as_str())
                .await?
        }
    };
    found.ok_or_else(|| AppError::NotFound(format!("article '{reference}' not found")))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ArticleView {
    pub id: String,
    pub slug: String,
    pub locale: String,
    #[serde(rename = "type")]
    pub article_type: String,
    pub translation_key: String,
    pub confidence: String,
    pub title: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = String)]
    pub audience: Audience,
    pub effective_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub review_by: Option<DateTime<Utc>>,
    #[schema(value_type = String)]
    pub validity: ValidityStatus,
    pub state: String,
    pub latest_revision: i32,
    pub published_revision: Option<i32>,
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub body: String,
    pub updated_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/articles/{ref}", tag = "articles",
    params(("ref" = String, Path, description = "article id (KB-12) or slug"), ("locale" = Option<String>, Query, description = "with a slug: which translation")),
    responses((status = 200, body = ArticleView), (status = 404, body = crate::error::Problem)))]
/// `GET /api/v1/articles/{ref}`: metadata and the published revision (editors and agents
/// also see the latest revision). Internal content only for agent, editor and admin keys.
pub async fn get_article(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<LocaleQuery>,
) -> AppResult<Json<ArticleView>> {
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let number = if caller.sees_internal() {
        article.latest_revision
    } else {
        article
            .published_revision
            .ok_or_else(|| AppError::NotFound(format!("article '{reference}' not found")))?
    };
    let rev = state
        .kb
        .store
        .revision(article.id, number)
        .await?
        .ok_or_else(|| AppError::NotFound("revision".into()))?;
    let now = state.kb.now();
    let validity = rev.meta.validity.status_at(now);
    if !caller.sees_internal()
        && (rev.meta.audience == Audience::Internal || validity != ValidityStatus::Valid)
    {
        return Err(AppError::NotFound(format!(
            "article '{reference}' not found"
        )));
    }
    let mut fields = rev.meta.fields.clone();
    if !caller.sees_internal() {
        let schemas = state.kb.schemas();
        if let Ok(schema) = schemas.get(&article.article_type) {
            fields.retain(|name, _| schema.field(name).is_none_or(|r| !r.internal));
        }
    }
    Ok(Json(ArticleView {
        id: article.id.display(),
        slug: article.slug.to_string(),
        locale: article.locale.to_string(),
        article_type: article.article_type.clone(),
        translation_key: article.translation_key.clone(),
        confidence: article.confidence.as_str().into(),
        title: rev.meta.title.clone(),
        category: rev.meta.category.clone(),
        tags: rev.meta.tags.clone(),
        audience: rev.meta.audience,
        effective_from: rev.meta.validity.effective_from,
        expires_at: rev.meta.validity.expires_at,
        review_by: rev.meta.validity.review_by,
        validity,
        state: rev.state.as_str().into(),
        latest_revision: article.latest_revision,
        published_revision: article.published_revision,
        fields,
        body: if caller.sees_internal() {
            rev.body.clone()
        } else {
            crate::content::lines::strip_internal_blocks(&rev.body)
        },
        updated_at: article.updated_at,
    }))
}

/// `GET /api/v1/articles/{ref}/render/{channel}`: the stored render, with ETag.
#[utoipa::path(get, path = "/api/v1/articles/{ref}/render/{channel}", tag = "articles",
    params(("ref" = String, Path), ("channel" = String, Path, description = "web, ivr, agent, bot or sms"), ("format" = Option<String>, Query, description = "ivr: ssml|vxml|text; bot: json|botframework|dialogflow|wechat; agent: json|html"), ("If-None-Match" = Option<String>, Header)),
    responses((status = 200, description = "the render, in the channel's media type"), (status = 304), (status = 404, body = crate::error::Problem)))]
pub async fn get_render(
    State(state): State<AppState>,
    caller: Caller,
    Path((reference, channel)): Path<(String, String)>,
    Query(q): Query<LocaleQuery>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let channel: Channel = channel
        .parse()
        .map_err(|e: crate::domain::DomainError| AppError::NotFound(e.message))?;
    if channel == Channel::Agent && !caller.sees_internal() {
        return Err(AppError::Forbidden(
            "the agent render needs an agent, editor or admin key".into(),
        ));
    }
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let n = article
        .published_revision
        .ok_or_else(|| AppError::NotFound(format!("article '{reference}' is not published")))?;
    let rev = state
        .kb
        .store
        .revision(article.id, n)
        .await?
        .ok_or_else(|| AppError::NotFound("revision".into()))?;
    if channel.is_customer_facing() {
        let hidden = rev.meta.audience == Audience::Internal
            || rev.meta.validity.status_at(state.kb.now()) != ValidityStatus::Valid;
        if hidden {
            return Err(AppError::NotFound(format!(
                "article '{reference}' is not available on {channel}"
            )));
        }
    }
    let renderers = state.kb.renderers();
    let default_format = renderers
        .get(channel)
        .and_then(|r| r.formats().first().copied())
        .unwrap_or("");
    let format = q.format.as_deref().unwrap_or(default_format);
    let stored = state
        .kb
        .store
        .stored_render(article.id, channel.as_str(), format)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "no '{format}' render of {} for {channel}",
                article.id
            ))
        })?;
    let etag =
        HeaderValue::from_str(&stored.etag).map_err(|e| AppError::Internal(e.to_string()))?;
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == stored.etag.as_bytes())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let media =
        HeaderValue::from_str(&stored.media_type).unwrap_or(HeaderValue::from_static("text/plain"));
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        stored.body,
    )
        .into_response())
}
