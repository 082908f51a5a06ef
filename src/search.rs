//! The search index (tantivy): Chinese-first analysis, field boosts, query-time synonyms,
//! typo tolerance, audience/validity filtering, facets, highlights and pinyin autocomplete.
//!
//! The index is derived data: [`SearchIndex::open`] wipes and recreates it when
//! [`SCHEMA_VERSION`] changes, and the caller replays the event log from [`SearchIndex::cursor`]
//! (0 after a rebuild). This module is storage-agnostic and synchronous: `commit` (and, on a
//! large index, `search`) block, so async callers must use `tokio::task::spawn_blocking`.

pub mod analysis;
pub mod synonyms;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::doc_predicate_query::{DocPredicateQuery, FunctionPredicate};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery,
    FuzzyTermQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TantivyDocument,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher,
    SegmentReader, Term,
};

use crate::domain::{ArticleId, Audience, Locale};

pub use synonyms::Synonyms;

/// Bump when the schema or the analysis changes: an index with another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 2;

const WRITER_HEAP: usize = 64_000_000;
const MAX_QUERY_TOKENS: usize = 32;
const MAX_LIMIT: usize = 200;
/// Index terms a misspelt query term may expand to, per field.
const MAX_FUZZY_TERMS: usize = 64;

const B_TITLE: f32 = 5.0;
const B_QUESTIONS: f32 = 4.0;
const B_SUMMARY: f32 = 2.0;
const B_FIELDS: f32 = 1.5;
const B_TAGS: f32 = 3.0;
const B_BODY: f32 = 1.0;
const B_GRAMS: f32 = 0.6;
const B_PHRASE: f32 = 2.0;
const B_SYNONYM: f32 = 0.7;
const B_FUZZY: f32 = 0.4;
const TIE_BREAKER: f32 = 0.3;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index: {0}")]
    Other(String),
}

/// One article revision as the index sees it.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    pub id: ArticleId,
    pub revision: i32,
    pub slug: String,
    pub locale: Locale,
    pub article_type: String,
    pub title: String,
    /// FAQ question + alternate questions.
    pub questions: Vec<String>,
    pub summary: String,
    /// Other visible structured fields (never internal-only ones for public articles).
    pub fields_text: String,
    pub body_text: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub audience: Audience,
    pub effective_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Feedback signal in [0, 1]; 0.5 when unknown.
    pub helpful: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AudienceScope {
    /// web, bot, ivr, anonymous: public and currently valid articles only.
    Public,
    /// agent, editor, admin: everything, with expired / not-yet-effective marked.
    Internal,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub q: String,
    pub locale: Option<Locale>,
    pub article_type: Option<String>,
    /// Category path prefix (`宽带` or `宽带/故障`).
    pub category: Option<String>,
    /// All of these tags.
    pub tags: Vec<String>,
    pub scope: AudienceScope,
    pub now: DateTime<Utc>,
    pub limit: usize,
    pub offset: usize,
}

impl SearchRequest {
    pub fn new(q: impl Into<String>, scope: AudienceScope, now: DateTime<Utc>) -> Self {
        Self {
            q: q.into(),
            locale: None,
            article_type: None,
            category: None,
            tags: Vec::new(),
            scope,
            now,
            limit: 10,
            offset: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub total: usize,
    pub hits: Vec<Hit>,
    pub facets: Facets,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// `KB-n`.
    pub id: String,
    pub article_id: ArticleId,
    pub slug: String,
    pub locale: Locale,
    pub title: String,
    #[serde(rename = "type")]
    pub article_type: String,
    pub score: f32,
    /// HTML-safe fragments: text escaped, matches wrapped in `<mark>`.
    pub highlights: Vec<String>,
    pub category: Option<String>,
    pub audience: Audience,
    pub expired: bool,
    pub not_yet_effective: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Facets {
    #[serde(rename = "type")]
    pub article_type: Vec<FacetCount>,
    /// Hierarchical: one entry per path prefix (`宽带` and `宽带/故障`).
    pub category: Vec<FacetCount>,
    pub tags: Vec<FacetCount>,
    pub locale: Vec<FacetCount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Suggestion {
    pub id: String,
    pub article_id: ArticleId,
    pub slug: String,
    pub locale: Locale,
    pub title: String,
    #[serde(rename = "type")]
    pub article_type: String,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    revision: Field,
    slug: Field,
    locale: Field,
    article_type: Field,
    category: Field,
    category_path: Field,
    tags: Field,
    audience: Field,
    /// 0 public, 1 internal: read per candidate by the visibility predicate.
    audience_code: Field,
    effective_from: Field,
    expires_at: Field,
    updated_at: Field,
    helpful: Field,
    title: Field,
    questions: Field,
    summary: Field,
    fields_text: Field,
    tags_text: Field,
    body: Field,
    grams: Field,
    suggest: Field,
}

fn build_schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analysis::OMNI)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored { o.set_stored() } else { o }
    };
    let grams = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(analysis::GRAMS)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let suggest = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_index_option(IndexRecordOption::Basic),
    );
    let f = Fields {
        id: b.add_i64_field("id", INDEXED | STORED | FAST),
        revision: b.add_i64_field("revision", STORED),
        slug: b.add_text_field("slug", STRING | STORED),
        locale: b.add_text_field("locale", STRING | STORED | FAST),
        article_type: b.add_text_field("type", STRING | STORED | FAST),
        category: b.add_text_field("category", STORED),
        category_path: b.add_text_field("category_path", STRING | FAST),
        tags: b.add_text_field("tags", STRING | STORED | FAST),
        audience: b.add_text_field("audience", STRING | STORED),
        audience_code: b.add_u64_field("audience_code", FAST),
        effective_from: b.add_i64_field("effective_from", INDEXED | STORED | FAST),
        expires_at: b.add_i64_field("expires_at", INDEXED | STORED | FAST),
        updated_at: b.add_i64_field("updated_at", STORED | FAST),
        helpful: b.add_f64_field("helpful", STORED | FAST),
        title: b.add_text_field("title", text(true)),
        questions: b.add_text_field("questions", text(false)),
        summary: b.add_text_field("summary", text(true)),
        fields_text: b.add_text_field("fields_text", text(false)),
        tags_text: b.add_text_field("tags_text", text(false)),
        body: b.add_text_field("body", text(true)),
        grams: b.add_text_field("grams", grams),
        suggest: b.add_text_field("suggest", suggest),
    };
    (b.build(), f)
}

/// Words that carry no topic in a query; dropped unless the query has nothing else.
static STOPWORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    const ZH: &[&str] = &[
        "怎么",
        "怎么办",
        "怎样",
        "如何",
        "吗",
        "呢",
        "了",
        "的",
        "我",
        "我的",
        "是",
        "什么",
        "为什么",
        "能",
        "可以",
        "要",
        "办",
        "一下",
        "啊",
        "吧",
        "呀",
        "还",
        "也",
        "都",
        "就",
        "在",
        "有",
        "没",
        "不",
        "哪",
        "哪儿",
        "哪里",
        "这个",
        "那个",
        "你们",
        "请问",
        "想",
        "会",
        "去",
        "给",
        "把",
        "被",
        "和",
        "或",
        "么",
        "个",
    ];
    const EN: &[&str] = &[
        "a", "an", "the", "is", "are", "was", "i", "i'm", "im", "my", "me", "do", "does", "did",
        "how", "what", "why", "to", "of", "in", "on", "for", "can", "it", "it's", "you", "your",
        "with", "be", "at", "and", "or", "there", "this", "that", "get", "have", "has", "will",
        "from", "so", "any", "please", "when", "where", "should",
    ];
    let mut a = analysis::omni_analyzer();
    let mut set: HashSet<String> = HashSet::new();
    for w in ZH.iter().chain(EN) {
        set.insert(w.to_string());
        for t in analysis::run(&mut a, w) {
            set.insert(t.text);
        }
    }
    set
});

struct Inner {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    cursor: AtomicI64,
}

/// A clonable handle on one index: one reader (reloaded after each commit), one writer.
#[derive(Clone)]
pub struct SearchIndex {
    inner: Arc<Inner>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    schema_version: u32,
    cursor: i64,
}

fn read_payload(index: &Index) -> Option<Payload> {
    let metas = index.load_metas().ok()?;
    serde_json::from_str(metas.payload.as_deref()?).ok()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if missing. An index written with another
    /// [`SCHEMA_VERSION`] (or an unreadable one) is wiped and recreated empty; its cursor is 0
    /// and the caller reindexes.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = build_schema();
        let existing = if dir.join("meta.json").exists() {
            match Index::open_in_dir(dir) {
                Ok(ix)
                    if read_payload(&ix).is_some_and(|p| p.schema_version == SCHEMA_VERSION)
                        && same_schema(&ix.schema(), &schema) =>
                {
                    Some(ix)
                }
                _ => {
                    tracing::warn!(dir = %dir.display(), "search index schema changed: rebuilding");
                    for entry in std::fs::read_dir(dir)? {
                        let path = entry?.path();
                        if path.is_dir() {
                            std::fs::remove_dir_all(&path)?;
                        } else {
                            std::fs::remove_file(&path)?;
                        }
                    }
                    None
                }
            }
        } else {
            None
        };
        let index = match existing {
            Some(ix) => ix,
            None => Index::create_in_dir(dir, schema)?,
        };
        Self::from_index(index, fields)
    }

    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = build_schema();
        Self::from_index(Index::create_in_ram(schema), fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<Self, SearchError> {
        analysis::warm_up();
        index
            .tokenizers()
            .register(analysis::OMNI, analysis::omni_analyzer());
        index
            .tokenizers()
            .register(analysis::GRAMS, analysis::gram_analyzer());
        let writer: IndexWriter = index.writer(WRITER_HEAP)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let payload = read_payload(&index);
        let this = Self {
            inner: Arc::new(Inner {
                index,
                reader,
                writer: Mutex::new(writer),
                fields,
                cursor: AtomicI64::new(payload.as_ref().map_or(0, |p| p.cursor)),
            }),
        };
        if payload.is_none() {
            // Stamp a fresh index with its schema version.
            this.commit(0)?;
        }
        Ok(this)
    }

    /// Replaces the documents of these articles (delete by id, then add). Visible after
    /// [`commit`](Self::commit).
    pub fn upsert(&self, docs: &[SearchDoc]) -> Result<(), SearchError> {
        let f = self.inner.fields;
        let writer = lock(&self.inner.writer);
        for d in docs {
            writer.delete_term(Term::from_field_i64(f.id, d.id.0));
            writer.add_document(self.to_document(d))?;
        }
        Ok(())
    }

    pub fn delete(&self, id: ArticleId) -> Result<(), SearchError> {
        let f = self.inner.fields;
        lock(&self.inner.writer).delete_term(Term::from_field_i64(f.id, id.0));
        Ok(())
    }

    /// Deletes every document (before a full reindex). Visible after `commit`.
    pub fn clear(&self) -> Result<(), SearchError> {
        lock(&self.inner.writer).delete_all_documents()?;
        Ok(())
    }

    /// Commits pending changes, recording `cursor` (the last applied event seq) in the commit
    /// payload, then reloads the reader. Blocking: call it from `spawn_blocking`.
    pub fn commit(&self, cursor: i64) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&Payload {
            schema_version: SCHEMA_VERSION,
            cursor,
        })
        .map_err(|e| SearchError::Other(e.to_string()))?;
        {
            let mut writer = lock(&self.inner.writer);
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
        }
        self.inner.cursor.store(cursor, Ordering::SeqCst);
        self.inner.reader.reload()?;
        Ok(())
    }

    /// Merges every committed segment into one and waits for it (blocking), then reloads the
    /// reader. After a bulk load (reindex) this leaves one term dictionary and one set of
    /// posting lists per field, which queries walk once instead of once per segment. A merge
    /// the background merge policy already runs makes this a no-op; failures are logged only
    /// (merging changes no search result).
    pub fn merge_segments(&self) -> Result<(), SearchError> {
        let ids = self.inner.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            let merge = lock(&self.inner.writer).merge(&ids);
            if let Err(e) = merge.wait() {
                tracing::info!(error = %e, "search index: segment merge skipped");
            }
            self.inner.reader.reload()?;
        }
        Ok(())
    }

    /// Segments the reader sees (diagnostics, benchmarks).
    pub fn segment_count(&self) -> usize {
        self.inner.reader.searcher().segment_readers().len()
    }

    /// The cursor of the last commit (0 for a new or rebuilt index).
    pub fn cursor(&self) -> i64 {
        self.inner.cursor.load(Ordering::SeqCst)
    }

    pub fn num_docs(&self) -> u64 {
        self.inner.reader.searcher().num_docs()
    }

    fn to_document(&self, d: &SearchDoc) -> TantivyDocument {
        let f = self.inner.fields;
        let mut doc = TantivyDocument::default();
        doc.add_i64(f.id, d.id.0);
        doc.add_i64(f.revision, i64::from(d.revision));
        doc.add_text(f.slug, &d.slug);
        doc.add_text(f.locale, d.locale.as_str());
        doc.add_text(f.article_type, &d.article_type);
        if let Some(cat) = d
            .category
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            doc.add_text(f.category, cat);
            for p in category_prefixes(cat) {
                doc.add_text(f.category_path, &p);
            }
        }
        for t in &d.tags {
            doc.add_text(f.tags, t);
        }
        doc.add_text(f.audience, d.audience.as_str());
        doc.add_u64(f.audience_code, u64::from(d.audience != Audience::Public));
        doc.add_i64(
            f.effective_from,
            d.effective_from.map_or(i64::MIN, |t| t.timestamp_millis()),
        );
        doc.add_i64(
            f.expires_at,
            d.expires_at.map_or(i64::MAX, |t| t.timestamp_millis()),
        );
        doc.add_i64(f.updated_at, d.updated_at.timestamp_millis());
        let helpful = if d.helpful.is_finite() {
            d.helpful.clamp(0.0, 1.0)
        } else {
            0.5
        };
        doc.add_f64(f.helpful, f64::from(helpful));
        doc.add_text(f.title, &d.title);
        for q in &d.questions {
            doc.add_text(f.questions, q);
        }
        doc.add_text(f.summary, &d.summary);
        doc.add_text(f.fields_text, &d.fields_text);
        for t in &d.tags {
            doc.add_text(f.tags_text, t);
        }
        doc.add_text(f.body, &d.body_text);
        doc.add_text(f.grams, &d.title);
        for q in &d.questions {
            doc.add_text(f.grams, q);
        }
        doc.add_text(f.grams, &d.summary);
        for key in suggest_keys(&d.title) {
            doc.add_text(f.suggest, &key);
        }
        doc
    }

    // ----- queries -----

    fn analyze(&self, analyzer: &str, text: &str) -> Vec<tantivy::tokenizer::Token> {
        let mut a: TextAnalyzer = self
            .inner
            .index
            .tokenizers()
            .get(analyzer)
            .unwrap_or_else(analysis::omni_analyzer);
        analysis::run(&mut a, text)
    }

    fn text_fields(&self) -> [(Field, f32); 6] {
        let f = self.inner.fields;
        [
            (f.title, B_TITLE),
            (f.questions, B_QUESTIONS),
            (f.summary, B_SUMMARY),
            (f.fields_text, B_FIELDS),
            (f.tags_text, B_TAGS),
            (f.body, B_BODY),
        ]
    }

    /// Term or phrase over the text fields, for a token sequence (already analysed).
    /// Best field wins (plus a tie-breaker share of the others), so a word repeated in every
    /// field of one article cannot outweigh a rarer query word matched elsewhere.
    fn seq_query(&self, toks: &[(usize, String)], boost: f32) -> Box<dyn Query> {
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        for (field, b) in self.text_fields() {
            let q: Box<dyn Query> = if toks.len() == 1 {
                Box::new(TermQuery::new(
                    Term::from_field_text(field, &toks[0].1),
                    IndexRecordOption::WithFreqs,
                ))
            } else {
                Box::new(PhraseQuery::new_with_offset(
                    toks.iter()
                        .map(|(o, t)| (*o, Term::from_field_text(field, t)))
                        .collect(),
                ))
            };
            clauses.push(Box::new(BoostQuery::new(q, b * boost)));
        }
        Box::new(DisjunctionMaxQuery::with_tie_breaker(clauses, TIE_BREAKER))
    }

    /// The scoring part of a search, or `None` when the text has no searchable token.
    fn text_query(
        &self,
        searcher: &Searcher,
        q: &str,
        locale: Option<&Locale>,
        synonyms: &Synonyms,
    ) -> Option<Box<dyn Query>> {
        let f = self.inner.fields;
        let toks = self.analyze(analysis::OMNI, q);
        if toks.is_empty() {
            return None;
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut seen = HashSet::new();
        let content: Vec<&tantivy::tokenizer::Token> = toks
            .iter()
            .filter(|t| !STOPWORDS.contains(&t.text))
            .collect();
        let content = if content.is_empty() {
            toks.iter().collect()
        } else {
            content
        };
        for t in content.into_iter().take(MAX_QUERY_TOKENS) {
            if !seen.insert(t.text.clone()) {
                continue;
            }
            let mut alts: Vec<(Occur, Box<dyn Query>)> =
                vec![(Occur::Should, self.seq_query(&[(0, t.text.clone())], 1.0))];
            let n = t.text.chars().count();
            if n >= 5 && t.text.chars().all(|c| c.is_ascii_alphabetic()) {
                let dist = if n >= 9 { 2 } else { 1 };
                // One automaton per query term, run over each field's term dictionary: only
                // terms that exist become clauses. Scored like a fuzzy query: a constant
                // b * B_FUZZY per field where any of them occurs.
                let fq = FuzzyTermQuery::new(Term::from_field_text(f.body, &t.text), dist, true);
                if let Ok(dfa) = fq.automaton() {
                    for (field, b) in self.text_fields() {
                        let terms = existing_terms(searcher, field, &dfa);
                        if terms.is_empty() {
                            continue;
                        }
                        let any: Vec<(Occur, Box<dyn Query>)> = terms
                            .iter()
                            .map(|term| {
                                let q: Box<dyn Query> = Box::new(TermQuery::new(
                                    Term::from_field_text(field, term),
                                    IndexRecordOption::Basic,
                                ));
                                (Occur::Should, q)
                            })
                            .collect();
                        alts.push((
                            Occur::Should,
                            Box::new(ConstScoreQuery::new(
                                Box::new(BooleanQuery::new(any)),
                                b * B_FUZZY,
                            )),
                        ));
                    }
                }
            }
            clauses.push((Occur::Should, Box::new(BooleanQuery::new(alts))));
        }
        // Synonyms: one OR-group per matching set.
        let norm_q = analysis::normalize_str(q);
        for set in synonyms.matching(&norm_q, locale) {
            let mut alts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            // Each term was analysed once, when the set was loaded.
            for seq in set.chains() {
                if !seq.is_empty() {
                    alts.push((Occur::Should, self.seq_query(seq, B_SYNONYM)));
                }
            }
            if !alts.is_empty() {
                clauses.push((Occur::Should, Box::new(BooleanQuery::new(alts))));
            }
        }
        // The whole query as a phrase in title / questions ranks above scattered terms.
        let seq = analysis::chain(&toks);
        if seq.len() >= 2 {
            for (field, b) in [(f.title, B_TITLE), (f.questions, B_QUESTIONS)] {
                let pq = PhraseQuery::new_with_offset(
                    seq.iter()
                        .map(|(o, t)| (*o, Term::from_field_text(field, t)))
                        .collect(),
                );
                clauses.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(Box::new(pq), b * B_PHRASE)),
                ));
            }
        }
        // CJK bigrams: robust to segmentation differences in colloquial queries.
        let mut seen_grams = HashSet::new();
        for g in self
            .analyze(analysis::GRAMS, q)
            .into_iter()
            .take(MAX_QUERY_TOKENS)
        {
            if STOPWORDS.contains(&g.text) || !seen_grams.insert(g.text.clone()) {
                continue;
            }
            let tq = TermQuery::new(
                Term::from_field_text(f.grams, &g.text),
                IndexRecordOption::WithFreqs,
            );
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(Box::new(tq), B_GRAMS)),
            ));
        }
        if clauses.is_empty() {
            return None;
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    fn filters(
        &self,
        locale: Option<&Locale>,
        article_type: Option<&str>,
        category: Option<&str>,
        tags: &[String],
        scope: AudienceScope,
        now: DateTime<Utc>,
    ) -> Vec<Box<dyn Query>> {
        let f = self.inner.fields;
        let term = |field: Field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        let mut out = Vec::new();
        if let Some(l) = locale {
            out.push(term(f.locale, l.as_str()));
        }
        if let Some(t) = article_type {
            out.push(term(f.article_type, t));
        }
        if let Some(c) = category
            .map(|c| c.trim().trim_matches('/'))
            .filter(|c| !c.is_empty())
        {
            out.push(term(f.category_path, c));
        }
        for t in tags {
            out.push(term(f.tags, t));
        }
        if scope == AudienceScope::Public {
            out.push(visible_to_public(now.timestamp_millis()));
        }
        out
    }

    fn combine(text: Option<Box<dyn Query>>, filters: Vec<Box<dyn Query>>) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let has_text = text.is_some();
        if let Some(t) = text {
            clauses.push((Occur::Must, t));
        }
        for q in filters {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))));
        }
        if !has_text {
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(AllQuery), 1.0)),
            ));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// Searches. Never fails on user input: any text is searched as plain text; a query with
    /// no searchable token (only punctuation) returns nothing, an empty one lists by filters.
    pub fn search(
        &self,
        req: &SearchRequest,
        synonyms: &Synonyms,
    ) -> Result<SearchResponse, SearchError> {
        let f = self.inner.fields;
        let searcher = self.inner.reader.searcher();
        let q = req.q.trim();
        let text = if q.is_empty() {
            None
        } else {
            match self.text_query(&searcher, q, req.locale.as_ref(), synonyms) {
                Some(t) => Some(t),
                None => {
                    return Ok(SearchResponse {
                        total: 0,
                        hits: Vec::new(),
                        facets: Facets::default(),
                    });
                }
            }
        };
        let filters = self.filters(
            req.locale.as_ref(),
            req.article_type.as_deref(),
            req.category.as_deref(),
            &req.tags,
            req.scope,
            req.now,
        );
        let scoring_query: Box<dyn Query> = match &text {
            Some(t) => t.box_clone(),
            None => Box::new(EmptyQuery),
        };
        let query = Self::combine(text, filters);
        let limit = req.limit.min(MAX_LIMIT);
        let offset = req.offset.min(100_000);
        let top = TopDocs::with_limit(limit.max(1))
            .and_offset(offset)
            .tweak_score(move |seg: &SegmentReader| {
                let helpful = seg
                    .fast_fields()
                    .f64("helpful")
                    .ok()
                    .map(|c| c.first_or_default_col(0.5));
                move |doc: DocId, score: Score| {
                    let h = helpful.as_ref().map_or(0.5, |c| c.get_val(doc)) as f32;
                    // A tie-break: at most ±2.5 %.
                    score * (1.0 + 0.05 * (h - 0.5))
                }
            });
        let facet_collector = FacetCollector {
            fields: ["type", "category_path", "tags", "locale"],
        };
        let (total, top, facets) = searcher.search(&*query, &(Count, top, facet_collector))?;
        let top: Vec<(Score, DocAddress)> = if limit == 0 { Vec::new() } else { top };

        let mut gens = Vec::new();
        if !top.is_empty() && q.chars().any(char::is_alphanumeric) {
            for field in [f.title, f.summary, f.body] {
                if let Ok(mut g) = SnippetGenerator::create(&searcher, &*scoring_query, field) {
                    g.set_max_num_chars(160);
                    gens.push((field, g));
                }
            }
        }
        let now_ms = req.now.timestamp_millis();
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let s = |field: Field| -> String {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let i = |field: Field, default: i64| -> i64 {
                doc.get_first(field)
                    .and_then(|v| v.as_i64())
                    .unwrap_or(default)
            };
            let id = ArticleId(i(f.id, 0));
            let eff = i(f.effective_from, i64::MIN);
            let exp = i(f.expires_at, i64::MAX);
            let mut highlights = Vec::new();
            for (field, g) in &gens {
                let text = s(*field);
                if text.is_empty() {
                    continue;
                }
                let snip = g.snippet(&text);
                if !snip.highlighted().is_empty() {
                    highlights.push(render_snippet(snip.fragment(), snip.highlighted()));
                }
            }
            let category = Some(s(f.category)).filter(|c| !c.is_empty());
            hits.push(Hit {
                id: id.display(),
                article_id: id,
                slug: s(f.slug),
                locale: s(f.locale).parse().unwrap_or_else(|_| Locale::en()),
                title: s(f.title),
                article_type: s(f.article_type),
                score,
                highlights,
                category,
                audience: s(f.audience).parse().unwrap_or(Audience::Internal),
                expired: exp <= now_ms,
                not_yet_effective: eff > now_ms,
            });
        }
        Ok(SearchResponse {
            total,
            hits,
            facets: facets.into(),
        })
    }

    /// Title completions for a prefix: the title itself, any word start in it, or the pinyin
    /// (full or initials: `kuandai`, `kd` -> 宽带…) of those. Same audience / validity rules
    /// as [`search`](Self::search).
    pub fn suggest(
        &self,
        q: &str,
        locale: Option<&Locale>,
        audience: AudienceScope,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Suggestion>, SearchError> {
        let f = self.inner.fields;
        let key: String = analysis::normalize_str(q)
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(64)
            .collect();
        if key.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let pattern = format!("{}.*", regex::escape(&key));
        let rq = match RegexQuery::from_pattern(&pattern, f.suggest) {
            Ok(rq) => rq,
            Err(_) => return Ok(Vec::new()),
        };
        let filters = self.filters(locale, None, None, &[], audience, now);
        let query = Self::combine(
            Some(Box::new(ConstScoreQuery::new(Box::new(rq), 1.0))),
            filters,
        );
        let searcher = self.inner.reader.searcher();
        let want = limit.min(MAX_LIMIT);
        let top = TopDocs::with_limit(want * 4).tweak_score(move |seg: &SegmentReader| {
            let helpful = seg
                .fast_fields()
                .f64("helpful")
                .ok()
                .map(|c| c.first_or_default_col(0.5));
            move |doc: DocId, score: Score| {
                score + helpful.as_ref().map_or(0.5, |c| c.get_val(doc)) as f32
            }
        });
        let top = searcher.search(&*query, &top)?;
        let mut out = Vec::new();
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let s = |field: Field| -> String {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let id = ArticleId(doc.get_first(f.id).and_then(|v| v.as_i64()).unwrap_or(0));
            let title = s(f.title);
            // Titles that start with the key first, then shorter titles.
            let starts = analysis::normalize_str(&title)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .starts_with(&key)
                || suggest_keys(&title)
                    .iter()
                    .take(3)
                    .any(|k| k.starts_with(&key));
            out.push((
                !starts,
                title.chars().count(),
                Suggestion {
                    id: id.display(),
                    article_id: id,
                    slug: s(f.slug),
                    locale: s(f.locale).parse().unwrap_or_else(|_| Locale::en()),
                    title,
                    article_type: s(f.article_type),
                },
            ));
        }
        out.sort_by_key(|a| (a.0, a.1));
        Ok(out.into_iter().take(want).map(|(_, _, s)| s).collect())
    }
}

/// Terms of `field` (in any segment) the automaton accepts, at most [`MAX_FUZZY_TERMS`].
fn existing_terms(
    searcher: &Searcher,
    field: Field,
    dfa: &tantivy::query::DfaWrapper,
) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for seg in searcher.segment_readers() {
        let Ok(inv) = seg.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = inv.terms().search(dfa).into_stream() else {
            continue;
        };
        while stream.advance() {
            if out.len() >= MAX_FUZZY_TERMS {
                return out;
            }
            if let Ok(s) = std::str::from_utf8(stream.key()) {
                out.insert(s.to_string());
            }
        }
    }
    out
}

/// Public, already effective and not yet expired: checked per candidate document from fast
/// fields (the text query leads; this never walks the whole segment).
fn visible_to_public(now_ms: i64) -> Box<dyn Query> {
    let predicate = FunctionPredicate::from(move |seg: &SegmentReader| {
        let ff = seg.fast_fields();
        let audience = ff.u64("audience_code")?.first_or_default_col(1);
        let from = ff.i64("effective_from")?.first_or_default_col(i64::MIN);
        let until = ff.i64("expires_at")?.first_or_default_col(i64::MAX);
        Ok(move |doc: DocId| {
            audience.get_val(doc) == 0 && from.get_val(doc) <= now_ms && until.get_val(doc) > now_ms
        })
    });
    Box::new(DocPredicateQuery::from(predicate))
}

fn same_schema(a: &Schema, b: &Schema) -> bool {
    serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
}

/// `宽带/故障/光猫` -> `宽带`, `宽带/故障`, `宽带/故障/光猫`.
fn category_prefixes(cat: &str) -> Vec<String> {
    let parts: Vec<&str> = cat
        .split('/')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (1..=parts.len()).map(|n| parts[..n].join("/")).collect()
}

/// Suggest keys of a title: the whole title (normalised, alphanumerics only), its full pinyin
/// and initials first, then the same for each word-start suffix.
fn suggest_keys(title: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let push = |k: String, keys: &mut Vec<String>| {
        if !k.is_empty() && !keys.contains(&k) {
            keys.push(k);
        }
    };
    for (n, suffix) in analysis::word_suffixes(title, 12).into_iter().enumerate() {
        let (full, initials) = analysis::pinyin_keys(&suffix);
        if n == 0 {
            let whole: String = analysis::normalize_str(title)
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect();
            push(whole, &mut keys);
        }
        push(suffix, &mut keys);
        push(full, &mut keys);
        push(initials, &mut keys);
    }
    keys
}

/// Escapes the fragment and wraps the (merged) highlighted byte ranges in `<mark>`.
fn render_snippet(fragment: &str, ranges: &[std::ops::Range<usize>]) -> String {
    let mut rs: Vec<std::ops::Range<usize>> = ranges
        .iter()
        .filter(|r| r.start < r.end && r.end <= fragment.len())
        .filter(|r| fragment.is_char_boundary(r.start) && fragment.is_char_boundary(r.end))
        .cloned()
        .collect();
    rs.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<std::ops::Range<usize>> = Vec::new();
    for r in rs {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let mut out = String::with_capacity(fragment.len() + 16);
    let mut pos = 0;
    for r in merged {
        out.push_str(&escape_html(&fragment[pos..r.start]));
        out.push_str("<mark>");
        out.push_str(&escape_html(&fragment[r.start..r.end]));
        out.push_str("</mark>");
        pos = r.end;
    }
    out.push_str(&escape_html(&fragment[pos..]));
    out
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ----- facets -----

/// Counts the values of string fast fields over the matching documents.
struct FacetCollector {
    fields: [&'static str; 4],
}

/// Matching documents are buffered and each facet column is read for a whole block at once
/// (batched row-id translation and value decoding instead of one dynamic call per value).
const FACET_BLOCK: usize = 1024;

struct FacetSegment {
    columns: Vec<Option<tantivy::columnar::StrColumn>>,
    counts: Vec<Vec<u64>>,
    docs: Vec<DocId>,
    doc_scratch: Vec<DocId>,
    rows: Vec<u32>,
    ords: Vec<u64>,
}

impl FacetSegment {
    fn flush(&mut self) {
        if self.docs.is_empty() {
            return;
        }
        for (col, counts) in self.columns.iter().zip(self.counts.iter_mut()) {
            let Some(col) = col else { continue };
            let ords = col.ords();
            self.doc_scratch.clear();
            self.rows.clear();
            ords.row_ids_for_docs(&self.docs, &mut self.doc_scratch, &mut self.rows);
            self.ords.clear();
            self.ords.resize(self.rows.len(), 0);
            ords.values.get_vals(&self.rows, &mut self.ords);
            for &ord in &self.ords {
                if let Some(c) = counts.get_mut(ord as usize) {
                    *c += 1;
                }
            }
        }
        self.docs.clear();
    }
}

type FacetFruit = Vec<BTreeMap<String, u64>>;

impl Collector for FacetCollector {
    type Fruit = FacetsFruit;
    type Child = FacetSegment;

    fn for_segment(
        &self,
        _segment_local_id: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetSegment> {
        let mut columns = Vec::new();
        let mut counts = Vec::new();
        for name in self.fields {
            let col = segment.fast_fields().str(name)?;
            counts.push(vec![0; col.as_ref().map_or(0, |c| c.num_terms())]);
            columns.push(col);
        }
        Ok(FacetSegment {
            columns,
            counts,
            docs: Vec::with_capacity(FACET_BLOCK),
            doc_scratch: Vec::with_capacity(FACET_BLOCK * 2),
            rows: Vec::with_capacity(FACET_BLOCK * 2),
            ords: Vec::with_capacity(FACET_BLOCK * 2),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetsFruit>) -> tantivy::Result<FacetsFruit> {
        let mut acc: FacetFruit = vec![BTreeMap::new(); self.fields.len()];
        for fruit in fruits {
            for (a, m) in acc.iter_mut().zip(fruit.0) {
                for (k, v) in m {
                    *a.entry(k).or_default() += v;
                }
            }
        }
        Ok(FacetsFruit(acc))
    }
}

/// Per-field value counts (internal; turned into [`Facets`]).
pub struct FacetsFruit(FacetFruit);

impl SegmentCollector for FacetSegment {
    type Fruit = FacetsFruit;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.docs.push(doc);
        if self.docs.len() >= FACET_BLOCK {
            self.flush();
        }
    }

    fn harvest(mut self) -> FacetsFruit {
        self.flush();
        let mut out = Vec::new();
        for (col, counts) in self.columns.iter().zip(self.counts) {
            let mut m = BTreeMap::new();
            if let Some(col) = col {
                let mut s = String::new();
                for (ord, n) in counts.into_iter().enumerate() {
                    if n > 0 && col.ord_to_str(ord as u64, &mut s).unwrap_or(false) {
                        m.insert(s.clone(), n);
                    }
                }
            }
            out.push(m);
        }
        FacetsFruit(out)
    }
}

impl From<FacetsFruit> for Facets {
    fn from(f: FacetsFruit) -> Self {
        let mut lists = f.0.into_iter().map(|m| {
            let mut v: Vec<FacetCount> = m
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            v
        });
        Facets {
            article_type: lists.next().unwrap_or_default(),
            category: lists.next().unwrap_or_default(),
            tags: lists.next().unwrap_or_default(),
            locale: lists.next().unwrap_or_default(),
        }
    }
}
