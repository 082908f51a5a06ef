//! The agent panel: search as you type, the agent view of an article, the customer
//! script, feedback, and a banner when the open article is re-published.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::Ctx;
use super::content;
use super::search_seam::{Facets, Filter, Hit, search_faceted};
use crate::domain::ArticleId;
use crate::state::AppState;

pub async fn page(ctx: Ctx) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    let mut c = tera::Context::new();
    c.insert("q", ctx.query("q").unwrap_or_default());
    ctx.render(StatusCode::OK, "ui/agent.html", c)
}

#[derive(Serialize)]
struct SearchResult {
    hits: Vec<Hit>,
    facets: Facets,
    /// Set when the search was recorded for analytics (`record=1`); the panel sends it
    /// back with `POST /api/v1/search/clicks` when the agent opens a hit.
    search_id: Option<i64>,
}

fn json_private<T: Serialize>(ctx: &Ctx, status: StatusCode, body: T) -> Response {
    let mut res = (status, Json(body)).into_response();
    ctx.secure(&mut res);
    res
}

/// `GET /agent/search?q=&locale=&type=&category=&record=1`: hits for the panel (internal
/// content included) and the facet counts of the search, for the panel's filters.
///
/// The panel searches on every pause in typing, so most of its searches are prefixes of
/// what the agent means; only searches it marks `record=1` (submitted, settled for a
/// moment, or about to have a hit opened) go to the search analytics.
pub async fn search(State(state): State<AppState>, ctx: Ctx) -> Response {
    if ctx.viewer.is_none() {
        return json_private(
            &ctx,
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "login required"}),
        );
    }
    let q = ctx.query("q").unwrap_or_default();
    let filter = Filter {
        locale: ctx.query("locale"),
        article_type: ctx.query("type"),
        category: ctx.query("category"),
    };
    let started = std::time::Instant::now();
    let (hits, facets) = search_faceted(&state.kb, q, &filter, true, 20);
    let search_id = (ctx.query("record") == Some("1") && !q.trim().is_empty()).then(|| {
        let id = state.search_log.next_id();
        state.search_log.record(crate::store::SearchRecord {
            id,
            at: state.kb.now(),
            q: q.trim().to_string(),
            locale: filter.locale.map(str::to_string),
            channel: Some("agent".into()),
            scope: "internal",
            filters: serde_json::json!({"type": filter.article_type, "category": filter.category})
                .to_string(),
            hits: i64::try_from(hits.len()).unwrap_or(i64::MAX),
            latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
        });
        id
    });
    json_private(
        &ctx,
        StatusCode::OK,
        SearchResult {
            hits,
            facets,
            search_id,
        },
    )
}

#[derive(Serialize)]
struct AgentArticle {
    id: String,
    title: String,
    locale: String,
    revision: i32,
    html: String,
    script: String,
    from_renderer: bool,
}

/// `GET /agent/article/{id}`: the agent view and the customer script of a published article.
pub async fn article(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    if ctx.viewer.is_none() {
        return json_private(
            &ctx,
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "login required"}),
        );
    }
    let not_found = || {
        json_private(
            &ctx,
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "not found"}),
        )
    };
    let Some(aid) = ArticleId::parse(&id) else {
        return not_found();
    };
    let Ok(Some(article)) = state.kb.store.article(aid).await else {
        return not_found();
    };
    let Some(n) = article.published_revision else {
        return not_found();
    };
    let Ok(rev) = state.kb.revision_of(aid, n).await else {
        return not_found();
    };
    let snippets = state
        .kb
        .snippet_values(article.locale.as_str())
        .await
        .unwrap_or_default();
    let stored = state
        .kb
        .store
        .stored_render(aid, "agent", "html")
        .await
        .ok()
        .flatten()
        .filter(|r| r.revision == i64::from(n));
    let schemas = state.kb.schemas();
    let (html, from_renderer) = match (&stored, schemas.get(&article.article_type)) {
        (Some(r), _) => (content::body_of(&r.body).to_string(), true),
        (None, Ok(schema)) => (
            content::agent_fragment(schema, &rev, &snippets, ctx.lang),
            false,
        ),
        (None, Err(_)) => (content::esc(&rev.meta.title), false),
    };
    json_private(
        &ctx,
        StatusCode::OK,
        AgentArticle {
            id: article.id.display(),
            title: rev.meta.title.clone(),
            locale: article.locale.to_string(),
            revision: n,
            html,
            script: content::customer_script(&rev, &snippets),
            from_renderer,
        },
    )
}
