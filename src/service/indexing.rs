//! Keeping the search index in step with what is published.
//!
//! Index documents hold only what customer channels may show (no internal fields, no
//! `::: internal` blocks), because highlights are shown to everyone; internal articles
//! are indexed too and filtered by audience at query time.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::{Kb, ServiceResult};
use crate::content::{Block, Doc, Inline, parse_body};
use crate::domain::{Article, ArticleId, Channel, Revision, SnippetKey};
use crate::publish::EventSink;
use crate::render::SnippetValue;
use crate::search::{SearchDoc, SearchIndex};
use crate::store::Event;

/// Plain text of a document with snippets resolved (what a customer would read).
fn doc_text(doc: &Doc, snippets: &BTreeMap<SnippetKey, SnippetValue>) -> String {
    let mut out = String::new();
    fn inlines(v: &[Inline], s: &BTreeMap<SnippetKey, SnippetValue>, out: &mut String) {
        for i in v {
            match i {
                Inline::Text { text } | Inline::Code { text } => out.push_str(text),
                Inline::Snippet { key } => {
                    if let Some(v) = s.get(key) {
                        out.push_str(&v.body);
                    }
                }
                Inline::Emphasis { content }
                | Inline::Strong { content }
                | Inline::Strikethrough { content }
                | Inline::Link { content, .. } => inlines(content, s, out),
                Inline::Image { alt, .. } => out.push_str(alt),
                Inline::SoftBreak | Inline::HardBreak => out.push(' '),
                Inline::Html { .. } => {}
            }
        }
    }
    fn blocks(v: &[Block], s: &BTreeMap<SnippetKey, SnippetValue>, out: &mut String) {
        for b in v {
            match b {
                Block::Heading { content, .. } | Block::Paragraph { content } => {
                    inlines(content, s, out);
                    out.push('\n');
                }
                Block::List(l) => {
                    for it in &l.items {
                        blocks(&it.blocks, s, out);
                    }
                }
                Block::Table(t) => {
                    for cell in t.header.iter().chain(t.rows.iter().flatten()) {
                        inlines(cell, s, out);
                        out.push(' ');
                    }
                    out.push('\n');
                }
                Block::Quote { blocks: b }
                | Block::Callout { blocks: b, .. }
                | Block::Scoped { blocks: b, .. } => blocks(b, s, out),
                Block::Code { text, .. } => {
                    out.push_str(text);
                    out.push('\n');
                }
                Block::Rule | Block::Html { .. } => {}
            }
        }
    }
    blocks(&doc.blocks, snippets, &mut out);
    out
}

fn field_text(v: &serde_json::Value, snippets: &BTreeMap<SnippetKey, SnippetValue>) -> String {
    let one = |s: &str| {
        crate::content::parse_inline_text(s)
            .map(|inl| {
                inl.iter()
                    .map(|i| match i {
                        Inline::Text { text } => text.clone(),
                        Inline::Snippet { key } => snippets
                            .get(key)
                            .map(|v| v.body.clone())
                            .unwrap_or_default(),
                        _ => String::new(),
                    })
                    .collect::<String>()
            })
            .unwrap_or_else(|_| s.to_string())
    };
    match v {
        serde_json::Value::String(s) => one(s),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str())
            .map(one)
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

impl Kb {
    /// The index document of a published revision.
    pub async fn search_doc(&self, article: &Article, rev: &Revision) -> ServiceResult<SearchDoc> {
        let snippets = self.snippet_values(article.locale.as_str()).await?;
        let votes = self.store.feedback_counts(article.id.0).await?;
        self.search_doc_with(article, rev, &snippets, votes)
    }

    /// [`search_doc`](Self::search_doc) with the locale's published snippets already read
    /// (a reindex reads them once per locale, not once per article).
    /// `votes`: the article's (helpful, not helpful) feedback counts.
    fn search_doc_with(
        &self,
        article: &Article,
        rev: &Revision,
        snippets: &BTreeMap<SnippetKey, SnippetValue>,
        votes: (i64, i64),
    ) -> ServiceResult<SearchDoc> {
        let schemas = self.schemas();
        let schema = schemas.get(&article.article_type).ok();
        let visible = |name: &str| schema.is_none_or(|s| s.field_visible(name, Channel::Web));
        let f = &rev.meta.fields;
        let mut questions = Vec::new();
        if article.article_type == "faq" {
            questions.push(
                f.get("question")
                    .map(|v| field_text(v, snippets))
                    .unwrap_or_else(|| rev.meta.title.clone()),
            );
        }
        if let Some(v) = f.get("alternate_questions") {
            questions.extend(field_text(v, snippets).lines().map(String::from));
        }
        let summary = ["summary", "issue"]
            .iter()
            .filter_map(|k| f.get(*k))
            .map(|v| field_text(v, snippets))
            .collect::<Vec<_>>()
            .join("\n");
        let skip = [
            "summary",
            "issue",
            "question",
            "alternate_questions",
            "related",
            "summary_voice",
            "body_voice",
            "sms_text",
        ];
        let fields_text = f
            .iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()) && visible(k))
            .map(|(_, v)| field_text(v, snippets))
            .collect::<Vec<_>>()
            .join("\n");
        let body_text = match parse_body(&rev.body, 1) {
            Ok(p) => doc_text(&p.doc.for_channel(Channel::Web), snippets),
            Err(_) => String::new(),
        };
        let (up, down) = votes;
        // Laplace-smoothed share of "helpful": 0.5 with no votes.
        let helpful = (up as f32 + 1.0) / ((up + down) as f32 + 2.0);
        Ok(SearchDoc {
            id: article.id,
            revision: rev.number,
            slug: article.slug.to_string(),
            locale: article.locale.clone(),
            article_type: article.article_type.clone(),
            title: rev.meta.title.clone(),
            questions,
            summary,
            fields_text,
            body_text,
            category: rev.meta.category.clone(),
            tags: rev.meta.tags.clone(),
            audience: rev.meta.audience,
            effective_from: rev.meta.validity.effective_from,
            expires_at: rev.meta.validity.expires_at,
            updated_at: rev.published_at.unwrap_or(rev.created_at),
            helpful,
        })
    }

    /// The index document of an article's published revision, or `None` when nothing is live.
    pub async fn live_search_doc(&self, id: ArticleId) -> ServiceResult<Option<SearchDoc>> {
        let Some(article) = self.store.article(id).await? else {
            return Ok(None);
        };
        let Some(n) = article.published_revision else {
            return Ok(None);
        };
        let Some(rev) = self.store.revision(id, n).await? else {
            return Ok(None);
        };
        Ok(Some(self.search_doc(&article, &rev).await?))
    }

    /// Rebuilds the index from the database; `progress(done, total)` after each page of
    /// articles.
    ///
    /// The database is read on the runtime while the previous batch is turned into index
    /// documents (Markdown parsing, text extraction) and analysed on a blocking thread (one
    /// batch in flight); each locale's snippets and all feedback counts are read once.
    pub async fn reindex(
        &self,
        index: &SearchIndex,
        progress: &(dyn Fn(u64, u64) + Sync),
    ) -> anyhow::Result<usize> {
        const BATCH: usize = 512;
        type Snippets = Arc<BTreeMap<SnippetKey, SnippetValue>>;
        let started = std::time::Instant::now();
        let cursor = self.store.last_event_seq().await?;
        let mut list = self
            .store
            .list_all_articles(&crate::store::ArticleFilter {
                published_only: true,
                ..Default::default()
            })
            .await?;
        // One locale's and one category's documents next to each other in the index: facet
        // counting then passes over the parts of it a query's matches don't reach
        // (`search::docsets::MatchedChunks`), e.g. the other locale for a query in one.
        list.sort_by(|a, b| {
            let (x, y) = (&a.article, &b.article);
            (x.locale.as_str(), &a.category, x.id.0).cmp(&(y.locale.as_str(), &b.category, y.id.0))
        });
        let total = list.len() as u64;
        let votes = self.store.all_feedback_counts().await?;
        let idx = index.clone();
        // Merging resumes when this is dropped: after the final merge, or on an error.
        let _bulk = tokio::task::spawn_blocking(move || idx.clear()).await??;
        let mut snippets: HashMap<String, Snippets> = HashMap::new();
        let mut in_flight: Option<tokio::task::JoinHandle<anyhow::Result<()>>> = None;
        let mut batch: Vec<(Article, Revision, Snippets, (i64, i64))> = Vec::with_capacity(BATCH);
        let index_batch = |kb: Kb, idx: SearchIndex, batch: Vec<_>| {
            move || -> anyhow::Result<()> {
                let docs = batch
                    .iter()
                    .map(
                        |(article, rev, snippets, votes): &(Article, Revision, Snippets, _)| {
                            kb.search_doc_with(article, rev, snippets, *votes)
                        },
                    )
                    .collect::<ServiceResult<Vec<_>>>()?;
                idx.upsert(&docs)?;
                Ok(())
            }
        };
        let mut done = 0;
        for page in list.chunks(BATCH) {
            let keys: Vec<(ArticleId, i32)> = page
                .iter()
                .filter_map(|s| Some((s.article.id, s.article.published_revision?)))
                .collect();
            let mut revisions: HashMap<ArticleId, Revision> = self
                .store
                .revisions_by_key(&keys)
                .await?
                .into_iter()
                .map(|r| (r.article_id, r))
                .collect();
            for s in page {
                let article = &s.article;
                // In the list's order; an article whose revision vanished is left out, as
                // when it was read one by one (the keys asked for its published number).
                if let Some(rev) = revisions.remove(&article.id) {
                    let locale = article.locale.as_str();
                    if !snippets.contains_key(locale) {
                        let values = Arc::new(self.snippet_values(locale).await?);
                        snippets.insert(locale.to_string(), values);
                    }
                    let votes = votes.get(&article.id.0).copied().unwrap_or((0, 0));
                    batch.push((article.clone(), rev, snippets[locale].clone(), votes));
                }
                if batch.len() == BATCH {
                    if let Some(previous) = in_flight.take() {
                        previous.await??;
                    }
                    let work = index_batch(self.clone(), index.clone(), std::mem::take(&mut batch));
                    in_flight = Some(tokio::task::spawn_blocking(work));
                }
            }
            done += page.len() as u64;
            progress(done, total);
        }
        if let Some(previous) = in_flight.take() {
            previous.await??;
        }
        tokio::task::spawn_blocking(index_batch(self.clone(), index.clone(), batch)).await??;
        let idx = index.clone();
        let (merge_started, segments) = tokio::task::spawn_blocking(move || {
            idx.commit(cursor)?;
            let merge_started = std::time::Instant::now();
            let segments = idx.segment_count();
            idx.merge_segments().map(|()| (merge_started, segments))
        })
        .await??;
        tracing::info!(
            articles = list.len(),
            load_s = (merge_started - started).as_secs_f64(),
            segments,
            merge_s = merge_started.elapsed().as_secs_f64(),
            "search index rebuilt"
        );
        Ok(list.len())
    }
}

/// The search index as an event sink of the publisher.
pub struct IndexSink {
    pub index: SearchIndex,
}

impl EventSink for IndexSink {
    fn cursor(&self) -> i64 {
        self.index.cursor()
    }

    fn apply<'a>(&'a self, kb: &'a Kb, events: &'a [Event]) -> BoxFuture<'a, anyhow::Result<()>> {
        async move {
            let Some(last) = events.last().map(|e| e.seq) else {
                return Ok(());
            };
            let mut ids: Vec<ArticleId> = events
                .iter()
                .filter(|e| e.kind.changes_channels())
                .filter_map(|e| e.article_id)
                .collect();
            ids.sort();
            ids.dedup();
            let mut upserts = Vec::new();
            let mut deletes = Vec::new();
            for id in ids {
                match kb.live_search_doc(id).await? {
                    Some(doc) => upserts.push(doc),
                    None => deletes.push(id),
                }
            }
            let index = self.index.clone();
            tokio::task::spawn_blocking(move || {
                for id in deletes {
                    index.delete(id)?;
                }
                index.upsert(&upserts)?;
                index.commit(last)
            })
            .await??;
            Ok(())
        }
        .boxed()
    }
}

/// Opens (or creates) the index of a data folder.
pub fn open_index(dir: &std::path::Path) -> anyhow::Result<SearchIndex> {
    std::fs::create_dir_all(dir)?;
    Ok(SearchIndex::open(dir)?)
}

/// Shared handle type for the sink list.
pub fn sink(index: SearchIndex) -> Arc<dyn EventSink> {
    Arc::new(IndexSink { index })
}
