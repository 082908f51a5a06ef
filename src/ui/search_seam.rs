//! The one place the UI searches: a query goes to the node's tantivy index (the same one
//! `GET /api/v1/search` uses, synonyms included); the empty query — the portal's listing
//! of everything published — reads the store. There is deliberately no scan of the
//! published articles when the index finds nothing: it hid index lag and cost a full scan
//! per agent keystroke, and the index answers the colloquial queries (tests/e2e).

use serde::Serialize;

use crate::domain::{Audience, ValidityStatus};
use crate::service::Kb;
use crate::store::ArticleFilter;

/// One search hit as the UI shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub summary: String,
    #[serde(rename = "type")]
    pub article_type: String,
    pub category: Option<String>,
    pub internal: bool,
    pub score: f32,
}

/// Published, currently valid articles matching `q`, best first; all of them (up to
/// `limit`) when `q` is empty. `internal`: include internal articles (logged-in agents and
/// editors only). A node without an index (only the CLI's one-shot commands) finds nothing.
pub async fn search_titles(
    kb: &Kb,
    q: &str,
    locale: Option<&str>,
    internal: bool,
    limit: usize,
) -> Vec<Hit> {
    if q.trim().is_empty() {
        return list_published(kb, locale, internal, limit).await;
    }
    let filter = Filter {
        locale,
        ..Filter::default()
    };
    search_faceted(kb, q, &filter, internal, limit).0
}

/// What the agent panel's facets narrow a search to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    pub locale: Option<&'a str>,
    pub article_type: Option<&'a str>,
    /// A category path prefix (`宽带` matches `宽带/故障`).
    pub category: Option<&'a str>,
}

/// A search of the index with its facet counts (type, category, locale), as the search
/// response computes them for the filtered query.
pub fn search_faceted(
    kb: &Kb,
    q: &str,
    filter: &Filter<'_>,
    internal: bool,
    limit: usize,
) -> (Vec<Hit>, Facets) {
    let q = q.trim();
    let Some(index) = kb.search() else {
        return (Vec::new(), Facets::default());
    };
    if q.is_empty() {
        return (Vec::new(), Facets::default());
    }
    let scope = if internal {
        crate::search::AudienceScope::Internal
    } else {
        crate::search::AudienceScope::Public
    };
    let mut req = crate::search::SearchRequest::new(q, scope, kb.now());
    req.locale = filter.locale.and_then(|l| l.parse().ok());
    req.article_type = filter.article_type.map(str::to_string);
    req.category = filter.category.map(str::to_string);
    req.limit = limit;
    let res = match index.search(&req, &kb.synonyms()) {
        Ok(res) => res,
        Err(e) => {
            // The pages show "no results"; the log says why.
            tracing::warn!(error = %e, "UI search failed");
            return (Vec::new(), Facets::default());
        }
    };
    let facets = Facets {
        article_type: res.facets.article_type,
        category: res.facets.category,
        locale: res.facets.locale,
    };
    let hits = res
        .hits
        .into_iter()
        .filter(|h| !h.expired && !h.not_yet_effective)
        .filter(|h| internal || h.audience == Audience::Public)
        .map(|h| Hit {
            id: h.id,
            slug: h.slug,
            locale: h.locale.to_string(),
            summary: strip_tags(&h.highlights.join(" … ")),
            title: h.title,
            article_type: h.article_type,
            category: h.category,
            internal: h.audience == Audience::Internal,
            score: h.score,
        })
        .collect();
    (hits, facets)
}

/// Facet counts for the UI: value and number of matching articles.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Facets {
    #[serde(rename = "type")]
    pub article_type: Vec<crate::search::FacetCount>,
    pub category: Vec<crate::search::FacetCount>,
    pub locale: Vec<crate::search::FacetCount>,
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Every published, currently valid article (the portal's home page and categories).
async fn list_published(kb: &Kb, locale: Option<&str>, internal: bool, limit: usize) -> Vec<Hit> {
    let filter = ArticleFilter {
        locale: locale.map(str::to_string),
        published_only: true,
        ..Default::default()
    };
    let Ok(list) = kb.store.list_articles(&filter).await else {
        return Vec::new();
    };
    let now = kb.now();
    let mut hits = Vec::new();
    for s in list {
        let Some(n) = s.article.published_revision else {
            continue;
        };
        let Ok(Some(rev)) = kb.store.revision(s.article.id, n).await else {
            continue;
        };
        if rev.meta.validity.status_at(now) != ValidityStatus::Valid {
            continue;
        }
        let is_internal = rev.meta.audience == Audience::Internal;
        if is_internal && !internal {
            continue;
        }
        let summary = rev
            .meta
            .fields
            .get("summary")
            .or_else(|| rev.meta.fields.get("issue"))
            .or_else(|| rev.meta.fields.get("question"))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        hits.push(Hit {
            id: s.article.id.display(),
            slug: s.article.slug.to_string(),
            locale: s.article.locale.to_string(),
            title: rev.meta.title.clone(),
            summary,
            article_type: s.article.article_type.clone(),
            category: rev.meta.category.clone(),
            internal: is_internal,
            score: 1.0,
        });
        if hits.len() == limit {
            break;
        }
    }
    hits
}
