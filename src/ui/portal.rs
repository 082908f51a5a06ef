//! The public portal: categories, search, article pages. Only published, public,
//! currently valid articles; never an internal field or `::: internal` block.

use std::collections::BTreeMap;

use axum::Form;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::search_seam::{Hit, search_titles};
use super::{Ctx, Lang, content};
use crate::domain::{Article, Audience, Revision, ValidityStatus};
use crate::state::AppState;

fn portal_locale(ctx: &Ctx) -> &'static str {
    if ctx.lang == Lang::Zh { "zh-CN" } else { "en" }
}

#[derive(Serialize, Default)]
struct CategoryNode {
    name: String,
    articles: Vec<Hit>,
    children: Vec<CategoryNode>,
}

fn insert(node: &mut CategoryNode, path: &[&str], hit: Hit) {
    match path.split_first() {
        None => node.articles.push(hit),
        Some((first, rest)) => {
            let idx = match node.children.iter().position(|c| c.name == *first) {
                Some(i) => i,
                None => {
                    node.children.push(CategoryNode {
                        name: (*first).to_string(),
                        ..Default::default()
                    });
                    node.children.len() - 1
                }
            };
            insert(&mut node.children[idx], rest, hit);
        }
    }
}

pub async fn home(State(state): State<AppState>, ctx: Ctx) -> Response {
    let hits = search_titles(&state.kb, "", Some(portal_locale(&ctx)), false, 1000).await;
    let mut root = CategoryNode::default();
    let mut hits = hits;
    hits.sort_by(|a, b| a.category.cmp(&b.category).then(a.title.cmp(&b.title)));
    for h in hits {
        let cat = h.category.clone().unwrap_or_default();
        let path: Vec<&str> = cat.split('/').filter(|s| !s.is_empty()).collect();
        insert(&mut root, &path, h);
    }
    let mut c = tera::Context::new();
    c.insert("tree", &root);
    c.insert("q", "");
    ctx.render(StatusCode::OK, "ui/portal_home.html", c)
}

pub async fn search(State(state): State<AppState>, ctx: Ctx) -> Response {
    let q = ctx.query("q").unwrap_or_default().to_string();
    let mut search_id = None;
    let hits = if q.trim().is_empty() {
        vec![]
    } else {
        let started = std::time::Instant::now();
        let hits = search_titles(&state.kb, &q, Some(portal_locale(&ctx)), false, 50).await;
        // A submitted portal search is what customers looked for: it goes to the editors'
        // analytics (top and zero-result queries) like an API search, off the request path.
        let id = state.search_log.next_id();
        search_id = Some(id);
        state.search_log.record(crate::store::SearchRecord {
            id,
            at: state.kb.now(),
            q: q.trim().to_string(),
            locale: Some(portal_locale(&ctx).to_string()),
            channel: Some("web".into()),
            scope: "public",
            filters: "{}".into(),
            hits: i64::try_from(hits.len()).unwrap_or(i64::MAX),
            latency_us: i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX),
        });
        hits
    };
    let mut c = tera::Context::new();
    c.insert("q", &q);
    c.insert("hits", &hits);
    // portal.js reports which hit was opened (click-through) with this id.
    c.insert("search_id", &search_id);
    ctx.render(StatusCode::OK, "ui/portal_search.html", c)
}

/// `GET /search/suggest?q=`: titles for the search box's suggestions.
pub async fn suggest(State(state): State<AppState>, ctx: Ctx) -> Response {
    let q = ctx.query("q").unwrap_or_default();
    let hits = if q.trim().is_empty() {
        vec![]
    } else {
        search_titles(&state.kb, q, Some(portal_locale(&ctx)), false, 8).await
    };
    let list: Vec<_> = hits
        .into_iter()
        .map(|h| serde_json::json!({"title": h.title, "url": format!("/kb/{}/{}", h.locale, h.slug)}))
        .collect();
    let mut res = Json(serde_json::json!({ "suggestions": list })).into_response();
    ctx.secure(&mut res);
    res
}

/// The article and its live revision, if the portal may show it.
async fn public_article(state: &AppState, locale: &str, slug: &str) -> Option<(Article, Revision)> {
    let article = state
        .kb
        .store
        .article_by_slug(slug, locale)
        .await
        .ok()
        .flatten()?;
    let n = article.published_revision?;
    let rev = state
        .kb
        .store
        .revision(article.id, n)
        .await
        .ok()
        .flatten()?;
    if rev.meta.audience != Audience::Public
        || rev.meta.validity.status_at(state.kb.now()) != ValidityStatus::Valid
    {
        return None;
    }
    Some((article, rev))
}

pub async fn article(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((locale, slug)): Path<(String, String)>,
) -> Response {
    let Some((article, rev)) = public_article(&state, &locale, &slug).await else {
        return ctx.not_found();
    };
    let n = rev.number;
    let stored = state
        .kb
        .store
        .stored_render(article.id, "web", "html")
        .await
        .ok()
        .flatten()
        .filter(|r| r.revision == i64::from(n));
    let from_renderer = stored.is_some();
    let html = match stored {
        Some(r) => content::body_of(&r.body).to_string(),
        None => {
            let snippets = state
                .kb
                .snippet_values(article.locale.as_str())
                .await
                .unwrap_or_default();
            let schemas = state.kb.schemas();
            match schemas.get(&article.article_type) {
                Ok(schema) => content::web_fragment(schema, &rev, &snippets, ctx.lang),
                Err(_) => content::esc(&rev.meta.title),
            }
        }
    };
    let crumbs: Vec<String> = rev
        .meta
        .category
        .as_deref()
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let mut c = tera::Context::new();
    c.insert("title", &rev.meta.title);
    c.insert("article_locale", article.locale.as_str());
    c.insert("slug", article.slug.as_str());
    c.insert("html", &html);
    // The web renderer draws its own breadcrumb; the fallback page needs ours.
    c.insert("crumbs", &crumbs);
    c.insert("from_renderer", &from_renderer);
    c.insert("thanks", &ctx.query("thanks").is_some());
    c.insert("q", "");
    ctx.render(StatusCode::OK, "ui/portal_article.html", c)
}

pub async fn feedback(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((locale, slug)): Path<(String, String)>,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    if !ctx.csrf_ok(form.get("_csrf").map(String::as_str)) {
        return ctx.error(StatusCode::FORBIDDEN, ctx.t("csrf_failed"));
    }
    let Some((article, rev)) = public_article(&state, &locale, &slug).await else {
        return ctx.not_found();
    };
    let kind = match form.get("kind").map(String::as_str) {
        Some("helpful") => "helpful",
        Some("not_helpful") => "not_helpful",
        _ => return ctx.error(StatusCode::BAD_REQUEST, "kind?"),
    };
    let comment = form
        .get("comment")
        .map(|c| c.trim().chars().take(2000).collect::<String>())
        .filter(|c| !c.is_empty());
    let f = crate::store::NewFeedback {
        article_id: article.id,
        revision: Some(rev.number),
        kind,
        channel: "web",
        comment: comment.as_deref(),
        user: ctx.viewer.as_ref().map(|v| v.user.id),
        at: state.kb.now(),
    };
    if let Err(e) = state.kb.store.add_feedback(&f).await {
        return ctx.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    }
    Redirect::to(&format!("/kb/{locale}/{slug}?thanks=1#feedback")).into_response()
}
