//! The authoring routes: create, save drafts, transitions, history, diff, rollback.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::articles::resolve;
use super::json::ApiJson;
use super::{Caller, LocaleQuery};
use crate::domain::{Article, Confidence, Revision};
use crate::error::{AppError, AppResult};
use crate::service::authoring::{ArticleInput, RevisionDiff, TransitionOutcome};
use crate::state::AppState;
use crate::workflow::Action;

/// A revision as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevisionView {
    pub article_id: String,
    pub number: i32,
    pub state: String,
    pub author_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub base_revision: Option<i32>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    /// The content, with the same keys as an article file's front matter, plus `body`.
    pub article: ArticleInput,
}

impl RevisionView {
    pub fn new(article: &Article, rev: &Revision) -> Self {
        RevisionView {
            article_id: article.id.display(),
            number: rev.number,
            state: rev.state.as_str().into(),
            author_id: rev.author.map(|u| u.0),
            created_at: rev.created_at,
            base_revision: rev.base_revision,
            scheduled_at: rev.scheduled_at,
            published_at: rev.published_at,
            article: ArticleInput::from_revision(article, rev),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedArticle {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub revision: RevisionView,
}

/// `POST /api/v1/articles`
#[utoipa::path(post, path = "/api/v1/articles", request_body = ArticleInput, tag = "authoring",
    responses((status = 201, body = CreatedArticle), (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ArticleInput>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.actor()?;
    let (article, rev) = state.kb.create_article(&input, &actor).await?;
    let body = CreatedArticle {
        id: article.id.display(),
        slug: article.slug.to_string(),
        locale: article.locale.to_string(),
        revision: RevisionView::new(&article, &rev),
    };
    Ok((
        StatusCode::CREATED,
        [(header::ETAG, format!("\"{}\"", rev.number))],
        axum::Json(body),
    ))
}

#[derive(Debug, Deserialize)]
pub struct DraftQuery {
    pub locale: Option<String>,
    /// The revision the edit started from (alternative to `If-Match`).
    pub base_revision: Option<i32>,
}

/// `PUT /api/v1/articles/{ref}/draft` with `If-Match: "N"` (or `?base_revision=N`).
#[utoipa::path(put, path = "/api/v1/articles/{ref}/draft", request_body = ArticleInput, tag = "authoring",
    params(("ref" = String, Path, description = "article id (KB-12) or slug"), ("If-Match" = Option<String>, Header, description = "the revision number the edit is based on")),
    responses((status = 200, body = RevisionView), (status = 409, body = crate::error::Problem, description = "someone saved in between: latest_revision and base_revision say which"), (status = 422, body = crate::error::Problem)))]
pub async fn save_draft(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<DraftQuery>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ArticleInput>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.actor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let base = base_revision(&headers, q.base_revision.map(i64::from))?;
    let base =
        i32::try_from(base).map_err(|_| AppError::BadRequest(format!("no revision {base}")))?;
    let rev = state
        .kb
        .save_draft(article.id, base, &input, &actor)
        .await?;
    let article = state.kb.article(article.id).await?;
    Ok((
        [(header::ETAG, format!("\"{}\"", rev.number))],
        axum::Json(RevisionView::new(&article, &rev)),
    ))
}

/// The revision an edit is based on: `If-Match: "N"`, else `?base_revision=N`.
pub(super) fn base_revision(headers: &HeaderMap, query: Option<i64>) -> AppResult<i64> {
    let from_header = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .to_string()
        });
    match (from_header, query) {
        (Some(h), _) => h.parse::<i64>().map_err(|_| {
            AppError::BadRequest(format!("If-Match must be a revision number, got '{h}'"))
        }),
        (None, Some(b)) => Ok(b),
        (None, None) => Err(AppError::BadRequest(
            "say which revision you edited: If-Match: \"N\" or ?base_revision=N".into(),
        )),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    /// submit, approve, reject, publish, schedule, archive, retire, restore
    pub action: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// For `schedule`: when to publish (RFC 3339).
    #[serde(default)]
    pub at: Option<String>,
}

/// `POST /api/v1/articles/{ref}/transitions`
#[utoipa::path(post, path = "/api/v1/articles/{ref}/transitions", request_body = TransitionRequest, tag = "authoring",
    params(("ref" = String, Path, description = "article id or slug")),
    responses((status = 200, body = TransitionOutcome), (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem, description = "not your right, e.g. approving your own change"), (status = 409, body = crate::error::Problem, description = "wrong state"), (status = 422, body = crate::error::Problem, description = "pre-publish checks failed")))]
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<LocaleQuery>,
    ApiJson(req): ApiJson<TransitionRequest>,
) -> AppResult<axum::Json<TransitionOutcome>> {
    let actor = caller.actor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let action: Action = req
        .action
        .parse()
        .map_err(|e: crate::domain::DomainError| AppError::BadRequest(e.message))?;
    let at = match &req.at {
        Some(s) => Some(crate::content::dates::parse(s).map_err(AppError::BadRequest)?),
        None => None,
    };
    Ok(axum::Json(
        state
            .kb
            .transition(article.id, action, req.comment.as_deref(), at, &actor)
            .await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct History {
    pub revisions: Vec<RevisionSummary>,
    pub transitions: Vec<TransitionView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevisionSummary {
    pub number: i32,
    pub state: String,
    pub title: String,
    pub author_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub base_revision: Option<i32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransitionView {
    pub revision: i64,
    pub action: String,
    pub from: String,
    pub to: String,
    pub actor: Option<String>,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// `GET /api/v1/articles/{ref}/revisions`: every revision and every transition.
#[utoipa::path(get, path = "/api/v1/articles/{ref}/revisions", tag = "authoring", params(("ref" = String, Path, description = "article id or slug")), responses((status = 200, body = History)))]
pub async fn revisions(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<LocaleQuery>,
) -> AppResult<axum::Json<History>> {
    caller.require_editor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let revisions = state.kb.store.revisions(article.id).await?;
    let transitions = state.kb.store.transitions(article.id).await?;
    Ok(axum::Json(History {
        revisions: revisions
            .iter()
            .map(|r| RevisionSummary {
                number: r.number,
                state: r.state.as_str().into(),
                title: r.meta.title.clone(),
                author_id: r.author.map(|u| u.0),
                created_at: r.created_at,
                base_revision: r.base_revision,
            })
            .collect(),
        transitions: transitions
            .into_iter()
            .map(|t| TransitionView {
                revision: t.revision,
                action: t.action,
                from: t.from_state,
                to: t.to_state,
                actor: t.actor_name.or_else(|| Some("system".into())),
                comment: t.comment,
                at: t.at,
            })
            .collect(),
    }))
}

/// `GET /api/v1/articles/{ref}/revisions/{n}`
#[utoipa::path(get, path = "/api/v1/articles/{ref}/revisions/{n}", tag = "authoring", params(("ref" = String, Path), ("n" = i32, Path)), responses((status = 200, body = RevisionView), (status = 404, body = crate::error::Problem)))]
pub async fn revision(
    State(state): State<AppState>,
    caller: Caller,
    Path((reference, n)): Path<(String, i32)>,
    Query(q): Query<LocaleQuery>,
) -> AppResult<axum::Json<RevisionView>> {
    caller.require_editor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let rev = state.kb.revision_of(article.id, n).await?;
    Ok(axum::Json(RevisionView::new(&article, &rev)))
}

/// Every channel's render of one revision (a draft too), with the renderers' warnings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    pub article_id: String,
    pub revision: i32,
    pub state: String,
    /// One entry per channel and format: `channel`, `format`, `media_type`, `body`, `warnings`.
    #[schema(value_type = Vec<Object>)]
    pub renders: Vec<crate::render::Rendition>,
}

/// `GET /api/v1/articles/{ref}/revisions/{n}/preview`: renders a revision for every
/// channel without publishing or storing anything. Editor scope only, because a draft may
/// hold internal content that the agent render shows.
#[utoipa::path(get, path = "/api/v1/articles/{ref}/revisions/{n}/preview", tag = "authoring", params(("ref" = String, Path), ("n" = i32, Path)), responses((status = 200, body = PreviewView), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    Path((reference, n)): Path<(String, i32)>,
    Query(q): Query<LocaleQuery>,
) -> AppResult<axum::Json<PreviewView>> {
    caller.require_editor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let rev = state.kb.revision_of(article.id, n).await?;
    let (renders, _snippet_keys) = state.kb.render_revision(&article, &rev).await?;
    Ok(axum::Json(PreviewView {
        article_id: article.id.display(),
        revision: rev.number,
        state: rev.state.as_str().into(),
        renders,
    }))
}

#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    pub from: i32,
    pub to: i32,
    pub locale: Option<String>,
}

/// `GET /api/v1/articles/{ref}/diff?from=&to=`
#[utoipa::path(get, path = "/api/v1/articles/{ref}/diff", tag = "authoring", params(("ref" = String, Path), ("from" = i32, Query), ("to" = i32, Query)), responses((status = 200, body = RevisionDiff)))]
pub async fn diff(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<DiffQuery>,
) -> AppResult<axum::Json<RevisionDiff>> {
    caller.require_editor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    Ok(axum::Json(state.kb.diff(article.id, q.from, q.to).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The old revision whose content becomes a new draft.
    pub revision: i32,
}

/// `POST /api/v1/articles/{ref}/rollback`
#[utoipa::path(post, path = "/api/v1/articles/{ref}/rollback", request_body = RollbackRequest, tag = "authoring", params(("ref" = String, Path)), responses((status = 201, body = RevisionView)))]
pub async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<LocaleQuery>,
    ApiJson(req): ApiJson<RollbackRequest>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.actor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let rev = state.kb.rollback(article.id, req.revision, &actor).await?;
    let article = state.kb.article(article.id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(RevisionView::new(&article, &rev)),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfidenceRequest {
    /// wip, not_validated or validated
    pub confidence: String,
}

/// `PUT /api/v1/articles/{ref}/confidence` (reviewers)
#[utoipa::path(put, path = "/api/v1/articles/{ref}/confidence", request_body = ConfidenceRequest, tag = "authoring", params(("ref" = String, Path)), responses((status = 204)))]
pub async fn confidence(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<LocaleQuery>,
    ApiJson(req): ApiJson<ConfidenceRequest>,
) -> AppResult<StatusCode> {
    let actor = caller.actor()?;
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    let c: Confidence = req
        .confidence
        .parse()
        .map_err(|e: crate::domain::DomainError| AppError::BadRequest(e.message))?;
    state.kb.set_confidence(article.id, c, &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// helpful, not_helpful or outdated
    pub kind: String,
    /// The channel the reader was on (web, agent, bot, ivr, sms).
    pub channel: String,
    #[serde(default)]
    pub comment: Option<String>,
}

/// `POST /api/v1/articles/{ref}/feedback`: anyone may rate; comments are kept for editors.
#[utoipa::path(post, path = "/api/v1/articles/{ref}/feedback", request_body = FeedbackRequest, tag = "feedback", params(("ref" = String, Path)), responses((status = 201)))]
pub async fn feedback(
    State(state): State<AppState>,
    caller: Caller,
    Path(reference): Path<String>,
    Query(q): Query<LocaleQuery>,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> AppResult<StatusCode> {
    if !matches!(req.kind.as_str(), "helpful" | "not_helpful" | "outdated") {
        return Err(AppError::BadRequest(
            "kind must be helpful, not_helpful or outdated".into(),
        ));
    }
    let channel: crate::domain::Channel = req
        .channel
        .parse()
        .map_err(|e: crate::domain::DomainError| AppError::BadRequest(e.message))?;
    if req
        .comment
        .as_ref()
        .is_some_and(|c| c.chars().count() > 2000)
    {
        return Err(AppError::BadRequest(
            "comment must be at most 2000 characters".into(),
        ));
    }
    let article = resolve(&state, &reference, q.locale.as_deref()).await?;
    if article.published_revision.is_none() {
        return Err(AppError::NotFound(format!(
            "article '{reference}' is not published"
        )));
    }
    let f = crate::store::NewFeedback {
        article_id: article.id,
        revision: article.published_revision,
        kind: &req.kind,
        channel: channel.as_str(),
        comment: req.comment.as_deref(),
        user: caller.user().map(|u| u.id),
        at: state.kb.now(),
    };
    state.kb.store.add_feedback(&f).await?;
    Ok(StatusCode::CREATED)
}
