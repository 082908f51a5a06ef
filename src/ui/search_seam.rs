//! The one place the UI searches: the node's tantivy index when it has one, else (and
//! when the index has nothing yet, e.g. just after a publish) a simple match over
//! published articles' titles, summaries and customer-facing fields.

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

fn norm(s: &str) -> String {
    s.to_lowercase()
}

/// Overlapping character pairs of the CJK (or other non-space) runs of a text.
fn bigrams(s: &str) -> Vec<String> {
    let chars: Vec<char> = s
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation())
        .collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// How well `q` matches `text` (0 = not at all).
fn score(q: &str, title: &str, text: &str) -> f32 {
    let (title, text) = (norm(title), norm(text));
    let terms: Vec<&str> = q.split_whitespace().collect();
    if terms.is_empty() {
        return 0.0;
    }
    if terms.iter().all(|t| text.contains(t) || title.contains(t)) {
        let boost: f32 = terms.iter().filter(|t| title.contains(*t)).count() as f32;
        return 10.0 + boost;
    }
    // Colloquial Chinese queries rarely match word for word: count shared bigrams.
    let mut core = q.to_string();
    for filler in [
        "怎么办",
        "怎么",
        "如何",
        "为什么",
        "请问",
        "我的",
        "吗",
        "呢",
        "啊",
        "了吧",
    ] {
        core = core.replace(filler, "");
    }
    let grams = bigrams(&core);
    if grams.len() < 2 {
        return 0.0;
    }
    let found = grams
        .iter()
        .filter(|g| text.contains(g.as_str()) || title.contains(g.as_str()))
        .count();
    let ratio = found as f32 / grams.len() as f32;
    if ratio >= 0.5 { ratio * 5.0 } else { 0.0 }
}

/// Published, currently valid articles matching `q`, best first. `internal`: include
/// internal articles (logged-in agents and editors only).
pub async fn search_titles(
    kb: &Kb,
    q: &str,
    locale: Option<&str>,
    internal: bool,
    limit: usize,
) -> Vec<Hit> {
    if !q.trim().is_empty()
        && let Some(index) = kb.search()
    {
        let scope = if internal {
            crate::search::AudienceScope::Internal
        } else {
            crate::search::AudienceScope::Public
        };
        let mut req = crate::search::SearchRequest::new(q.trim(), scope, kb.now());
        req.locale = locale.and_then(|l| l.parse().ok());
        req.limit = limit;
        if let Ok(res) = index.search(&req, &kb.synonyms()) {
            let hits: Vec<Hit> = res
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
            if !hits.is_empty() {
                return hits;
            }
        }
    }
    scan(kb, q, locale, internal, limit).await
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

/// The fallback: a scan of the published articles.
async fn scan(kb: &Kb, q: &str, locale: Option<&str>, internal: bool, limit: usize) -> Vec<Hit> {
    let q = norm(q.trim());
    let filter = ArticleFilter {
        locale: locale.map(str::to_string),
        published_only: true,
        ..Default::default()
    };
    let Ok(list) = kb.store.list_articles(&filter).await else {
        return Vec::new();
    };
    let schemas = kb.schemas();
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
        let schema = schemas.get(&s.article.article_type).ok();
        let mut text = String::new();
        for (name, value) in &rev.meta.fields {
            let field_internal = schema
                .and_then(|sc| sc.field(name))
                .is_some_and(|r| r.internal);
            if field_internal || name == "internal_notes" {
                continue;
            }
            match value {
                serde_json::Value::String(v) => text.push_str(v),
                serde_json::Value::Array(a) => {
                    for v in a.iter().filter_map(|v| v.as_str()) {
                        text.push_str(v);
                        text.push('\n');
                    }
                }
                _ => {}
            }
            text.push('\n');
        }
        text.push_str(&rev.meta.tags.join(" "));
        text.push('\n');
        text.push_str(rev.meta.category.as_deref().unwrap_or_default());
        let sc = if q.is_empty() {
            1.0
        } else {
            score(&q, &rev.meta.title, &text)
        };
        if sc <= 0.0 {
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
            score: sc,
        });
    }
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits.truncate(limit);
    hits
}

#[cfg(test)]
mod tests {
    #[test]
    fn colloquial_chinese_matches_by_bigrams() {
        assert!(super::score("宽带", "宽带无法上网", "") > 0.0);
        assert!(super::score("上不了网怎么办", "宽带无法上网", "家里上不了网") > 0.0);
        assert_eq!(super::score("信用卡", "宽带无法上网", "光猫"), 0.0);
    }
}
