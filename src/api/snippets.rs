//! The snippet routes: list (with "used by N"), create, edit with `If-Match`, the review
//! workflow, and the impact preview. Editors only: snippets are shared facts under review.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Caller;
use super::authoring::{TransitionRequest, base_revision};
use super::json::ApiJson;
use crate::error::{AppError, AppResult};
use crate::service::snippets::{
    Impact, SnippetInput, SnippetSummary, SnippetTransitionOutcome, UsingArticle,
};
use crate::state::AppState;
use crate::store::{Snippet, SnippetRevision};
use crate::workflow::Action;

#[derive(Debug, Deserialize)]
pub struct SnippetQuery {
    pub locale: Option<String>,
    pub base_revision: Option<i64>,
    pub revision: Option<i64>,
}

/// A snippet revision as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SnippetRevisionView {
    pub number: i64,
    pub state: String,
    pub author_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub snippet: SnippetInput,
}

impl SnippetRevisionView {
    fn new(s: &Snippet, rev: &SnippetRevision) -> Self {
        SnippetRevisionView {
            number: rev.number,
            state: rev.state.as_str().into(),
            author_id: rev.author.map(|u| u.0),
            created_at: rev.created_at,
            snippet: SnippetInput::from_revision(s, rev),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `snippet.save`, `snippet.submit`, `snippet.approve`, `snippet.reject`, `snippet.publish`
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SnippetView {
    pub key: String,
    pub locale: String,
    pub latest_revision: i64,
    pub published_revision: Option<i64>,
    /// Newest first.
    pub revisions: Vec<SnippetRevisionView>,
    pub history: Vec<HistoryEntry>,
    /// Published articles whose renders use this snippet.
    pub used_by: Vec<UsingArticle>,
}

/// `GET /api/v1/snippets`
#[utoipa::path(get, path = "/api/v1/snippets", tag = "snippets",
    params(("locale" = Option<String>, Query)),
    responses((status = 200, body = Vec<SnippetSummary>), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SnippetQuery>,
) -> AppResult<axum::Json<Vec<SnippetSummary>>> {
    caller.require_editor()?;
    Ok(axum::Json(
        state
            .kb
            .list_snippets_with_usage(q.locale.as_deref())
            .await?,
    ))
}

/// `POST /api/v1/snippets`: a new snippet with its first draft.
#[utoipa::path(post, path = "/api/v1/snippets", request_body = SnippetInput, tag = "snippets",
    responses((status = 201, body = SnippetRevisionView), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<SnippetInput>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.actor()?;
    let (s, rev) = state.kb.create_snippet(&input, &actor).await?;
    Ok((
        StatusCode::CREATED,
        [(header::ETAG, format!("\"{}\"", rev.number))],
        axum::Json(SnippetRevisionView::new(&s, &rev)),
    ))
}

/// `GET /api/v1/snippets/{key}`: revisions, history and the articles using it.
#[utoipa::path(get, path = "/api/v1/snippets/{key}", tag = "snippets",
    params(("key" = String, Path), ("locale" = Option<String>, Query, description = "needed when the key exists in several locales")),
    responses((status = 200, body = SnippetView), (status = 404, body = crate::error::Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Query(q): Query<SnippetQuery>,
) -> AppResult<impl IntoResponse> {
    caller.require_editor()?;
    let s = state.kb.find_snippet(&key, q.locale.as_deref()).await?;
    let d = state.kb.snippet_detail(&s).await?;
    let view = SnippetView {
        key: s.key.clone(),
        locale: s.locale.clone(),
        latest_revision: s.latest_revision,
        published_revision: s.published_revision,
        revisions: d
            .revisions
            .iter()
            .map(|r| SnippetRevisionView::new(&s, r))
            .collect(),
        history: d
            .history
            .into_iter()
            .map(|e| HistoryEntry {
                at: e.at,
                actor: e.actor,
                action: e.action,
                detail: e.detail,
            })
            .collect(),
        used_by: d.used_by,
    };
    Ok((
        [(header::ETAG, format!("\"{}\"", s.latest_revision))],
        axum::Json(view),
    ))
}

/// `PUT /api/v1/snippets/{key}/draft` with `If-Match: "N"` (or `?base_revision=N`).
#[utoipa::path(put, path = "/api/v1/snippets/{key}/draft", request_body = SnippetInput, tag = "snippets",
    params(("key" = String, Path), ("locale" = Option<String>, Query), ("If-Match" = Option<String>, Header, description = "the revision number the edit is based on")),
    responses((status = 200, body = SnippetRevisionView), (status = 409, body = crate::error::Problem, description = "someone saved in between"), (status = 422, body = crate::error::Problem)))]
pub async fn save_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Query(q): Query<SnippetQuery>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<SnippetInput>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.actor()?;
    let base = base_revision(&headers, q.base_revision)?;
    let locale = q.locale.as_deref().or(Some(input.locale.as_str()));
    let s = state.kb.find_snippet(&key, locale).await?;
    let rev = state
        .kb
        .save_snippet_draft(&s, base, &input, &actor)
        .await?;
    Ok((
        [(header::ETAG, format!("\"{}\"", rev.number))],
        axum::Json(SnippetRevisionView::new(&s, &rev)),
    ))
}

/// `POST /api/v1/snippets/{key}/transitions`: submit, approve, reject (with a comment) or
/// publish the latest revision. Publishing re-renders every article that uses it.
#[utoipa::path(post, path = "/api/v1/snippets/{key}/transitions", request_body = TransitionRequest, tag = "snippets",
    params(("key" = String, Path), ("locale" = Option<String>, Query)),
    responses((status = 200, body = SnippetTransitionOutcome), (status = 403, body = crate::error::Problem, description = "role missing or four-eyes rule"), (status = 409, body = crate::error::Problem)))]
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Query(q): Query<SnippetQuery>,
    ApiJson(req): ApiJson<TransitionRequest>,
) -> AppResult<axum::Json<SnippetTransitionOutcome>> {
    let actor = caller.actor()?;
    let action: Action = req
        .action
        .parse()
        .map_err(|e: crate::domain::DomainError| AppError::BadRequest(e.message))?;
    let s = state.kb.find_snippet(&key, q.locale.as_deref()).await?;
    Ok(axum::Json(
        state
            .kb
            .snippet_transition(&s, action, req.comment.as_deref(), &actor)
            .await?,
    ))
}

/// `GET /api/v1/snippets/{key}/impact?revision=N`: every published article and channel
/// render the candidate revision (default: the latest) would change, with diffs.
#[utoipa::path(get, path = "/api/v1/snippets/{key}/impact", tag = "snippets",
    params(("key" = String, Path), ("locale" = Option<String>, Query), ("revision" = Option<i64>, Query, description = "candidate revision; default the latest")),
    responses((status = 200, body = Impact), (status = 404, body = crate::error::Problem)))]
pub async fn impact(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
    Query(q): Query<SnippetQuery>,
) -> AppResult<axum::Json<Impact>> {
    caller.require_editor()?;
    let s = state.kb.find_snippet(&key, q.locale.as_deref()).await?;
    Ok(axum::Json(state.kb.snippet_impact(&s, q.revision).await?))
}
