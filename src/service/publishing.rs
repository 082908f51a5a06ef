//! From a published revision to stored renders for every channel.

use std::collections::BTreeMap;

use super::{Kb, ServiceError, ServiceResult};
use crate::content::{Inline, parse_body, parse_inline_text};
use crate::domain::{Article, ArticleId, Revision, SnippetKey};
use crate::render::{
    ArticleView, RelatedLink, RenderInput, Rendition, SnippetValue, TranslationLink,
};

impl Kb {
    /// The published snippets of a locale, as renderers want them.
    pub async fn snippet_values(
        &self,
        locale: &str,
    ) -> ServiceResult<BTreeMap<SnippetKey, SnippetValue>> {
        let mut out = BTreeMap::new();
        for (s, rev) in self.store.published_snippets(locale).await? {
            let Ok(key) = s.key.parse::<SnippetKey>() else {
                continue;
            };
            out.insert(
                key.clone(),
                SnippetValue {
                    key,
                    title: rev.title,
                    body: rev.body,
                    say_as: rev.say_as,
                    variants: rev.variants,
                },
            );
        }
        Ok(out)
    }

    /// Builds the renderer's view of a revision: translations and related articles
    /// resolved to what is published now.
    pub async fn article_view(
        &self,
        article: &Article,
        rev: &Revision,
    ) -> ServiceResult<ArticleView> {
        let mut translations = Vec::new();
        for t in self.store.translations(&article.translation_key).await? {
            if t.id == article.id {
                continue;
            }
            if let Some(n) = t.published_revision
                && let Some(tr) = self.store.revision(t.id, n).await?
            {
                translations.push(TranslationLink {
                    locale: t.locale.clone(),
                    slug: t.slug.to_string(),
                    title: tr.meta.title,
                });
            }
        }
        let mut related = Vec::new();
        if let Some(list) = rev.meta.fields.get("related").and_then(|v| v.as_array()) {
            for slug in list.iter().filter_map(|v| v.as_str()) {
                let Some(r) = self
                    .store
                    .article_by_slug(slug, article.locale.as_str())
                    .await?
                else {
                    continue;
                };
                let Some(n) = r.published_revision else {
                    continue;
                };
                if let Some(rr) = self.store.revision(r.id, n).await? {
                    related.push(RelatedLink {
                        id: r.id,
                        slug: r.slug.to_string(),
                        title: rr.meta.title,
                        audience: rr.meta.audience,
                    });
                }
            }
        }
        Ok(ArticleView {
            id: article.id,
            revision: rev.number,
            slug: article.slug.to_string(),
            locale: article.locale.clone(),
            article_type: article.article_type.clone(),
            title: rev.meta.title.clone(),
            category: rev.meta.category.clone(),
            tags: rev.meta.tags.clone(),
            audience: rev.meta.audience,
            validity: rev.meta.validity.clone(),
            fields: rev.meta.fields.clone(),
            published_at: rev.published_at,
            updated_at: rev.published_at.unwrap_or(rev.created_at),
            confidence: article.confidence.as_str().to_string(),
            translations,
            related,
        })
    }

    /// Renders a revision for every channel (publish and preview use this).
    pub async fn render_revision(
        &self,
        article: &Article,
        rev: &Revision,
    ) -> ServiceResult<(Vec<Rendition>, Vec<String>)> {
        let snippets = self.snippet_values(article.locale.as_str()).await?;
        let (mut renders, keys) = self
            .render_revision_with(article, rev, vec![snippets])
            .await?;
        Ok((renders.pop().unwrap_or_default(), keys))
    }

    /// Renders a revision once per set of snippet values, looking the article up and
    /// parsing it only once (the impact preview renders with the published snippet and
    /// with the candidate revision side by side).
    pub async fn render_revision_with(
        &self,
        article: &Article,
        rev: &Revision,
        snippet_sets: Vec<BTreeMap<SnippetKey, SnippetValue>>,
    ) -> ServiceResult<(Vec<Vec<Rendition>>, Vec<String>)> {
        let view = self.article_view(article, rev).await?;
        let schemas = self.schemas();
        let schema = schemas
            .get(&article.article_type)
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .clone();
        let parsed = parse_body(&rev.body, 1).map_err(|errs| {
            ServiceError::Internal(format!(
                "stored body of {} does not parse: {}",
                article.id,
                errs.iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        })?;
        let mut keys: Vec<String> = parsed
            .snippet_refs
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        for value in rev.meta.fields.values() {
            let texts: Vec<&str> = match value {
                serde_json::Value::String(s) => vec![s],
                serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
                _ => vec![],
            };
            for t in texts {
                for i in parse_inline_text(t).unwrap_or_default() {
                    if let Inline::Snippet { key } = i {
                        keys.push(key.to_string());
                    }
                }
            }
        }
        keys.sort();
        keys.dedup();
        let registry = self.renderers();
        let site = self.site.clone();
        let now = self.now();
        // Rendering is CPU work: keep it off the async runtime.
        let renders = tokio::task::spawn_blocking(move || {
            snippet_sets
                .iter()
                .map(|snippets| {
                    registry.render_all(&RenderInput {
                        article: &view,
                        schema: &schema,
                        doc: &parsed.doc,
                        snippets,
                        site: &site,
                        now,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("render task failed: {e}")))?
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        Ok((renders, keys))
    }

    /// Renders the published revision of an article and stores the result (or clears the
    /// stored renders when nothing is published).
    pub async fn refresh_renders(&self, id: ArticleId) -> ServiceResult<()> {
        let article = self
            .store
            .article(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("article {id}")))?;
        let Some(n) = article.published_revision else {
            self.store
                .store_renders(id, 0, &[], &[], self.now())
                .await?;
            return Ok(());
        };
        let rev = self
            .store
            .revision(id, n)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("revision {n} of {id}")))?;
        let (renders, keys) = self.render_revision(&article, &rev).await?;
        self.store
            .store_renders(id, n, &renders, &keys, self.now())
            .await?;
        Ok(())
    }
}
