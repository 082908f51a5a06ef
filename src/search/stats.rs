//! BM25 statistics of the current searcher, remembered between queries.
//!
//! Building a query's weights asks every segment's term dictionary for each leaf's document
//! frequency and every field's token count — on a small or merged index that is a good part
//! of a search. The answers only change when the searcher does (a commit or a merge), so they
//! are kept per searcher generation and forgotten when it moves on.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tantivy::index::SegmentId;
use tantivy::query::{Bm25StatisticsProvider, Weight};
use tantivy::schema::Field;
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, Term};

/// Distinct terms remembered at most per generation (then the map starts over).
const MAX_TERMS: usize = 100_000;

/// Segments up to this many documents keep each weight's exact scores (see
/// [`CachedWeight::segment_scores`]); larger ones are scored by seeking posting lists.
pub(crate) const EXACT_SCORES_MAX_DOCS: u32 = 16_384;

/// Bytes of exact scores kept per generation at most (then scoring seeks, uncached).
const EXACT_SCORES_BUDGET: usize = 64 << 20;

pub(crate) struct StatsCache {
    inner: Mutex<Generation>,
    /// [`EXACT_SCORES_MAX_DOCS`], lowered by tests to cover the seeking path.
    exact_max_docs: std::sync::atomic::AtomicU32,
}

impl Default for StatsCache {
    fn default() -> Self {
        StatsCache {
            inner: Mutex::default(),
            exact_max_docs: EXACT_SCORES_MAX_DOCS.into(),
        }
    }
}

/// A posting source: a field and its positioned terms (one term, or a phrase).
type SourceKey = (Field, Vec<(usize, String)>);

#[derive(Default)]
struct Generation {
    id: Option<u64>,
    total_docs: Option<u64>,
    tokens: FxHashMap<Field, u64>,
    doc_freq: FxHashMap<Term, u64>,
    /// Scoring weights by posting source (field, positioned terms).
    weights: FxHashMap<SourceKey, Arc<CachedWeight>>,
    /// Bytes of [`CachedWeight::segment_scores`] this generation may still take.
    budget: Arc<AtomicUsize>,
}

/// A posting source's scoring weight, and its exact scores in small segments.
///
/// Scoring a few candidates by seeking opens the source's posting list in every segment:
/// a term dictionary lookup, a block read, the field norms. On small segments (a small
/// knowledge base, or the fresh segments of a large one) that was most of a query's
/// scoring, so the source's BM25 score of every document there is computed once per
/// generation — the same statistics, the same scorer, the same values.
/// A posting source's matches in one segment, ascending, with their scores (boost 1).
pub(crate) type SegmentScores = Arc<[(DocId, Score)]>;

pub(crate) struct CachedWeight {
    pub weight: Arc<dyn Weight>,
    segments: Mutex<FxHashMap<SegmentId, SegmentScores>>,
    budget: Arc<AtomicUsize>,
    max_docs: u32,
}

impl CachedWeight {
    /// Every document of `seg` the source matches, ascending, with its score (boost 1).
    /// `None` for a segment above [`EXACT_SCORES_MAX_DOCS`] or once the generation's budget
    /// has no room for it: the caller seeks instead. (Two searches may compute the same
    /// segment at once; the second insert wins and both are charged.)
    pub(crate) fn segment_scores(
        &self,
        seg: &SegmentReader,
    ) -> tantivy::Result<Option<SegmentScores>> {
        if seg.max_doc() > self.max_docs {
            return Ok(None);
        }
        if let Some(s) = self.segments.lock().get(&seg.segment_id()) {
            return Ok(Some(s.clone()));
        }
        // Scores that could not be kept would be computed again by every query, which costs
        // far more than seeking: without room for the worst case, seek.
        let worst = seg.max_doc() as usize * std::mem::size_of::<(DocId, Score)>();
        if self.budget.load(Ordering::Relaxed) < worst {
            return Ok(None);
        }
        let mut scorer = self.weight.scorer(seg, 1.0)?;
        let mut all = Vec::new();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            all.push((doc, scorer.score()));
            doc = scorer.advance();
        }
        let bytes = all.len() * std::mem::size_of::<(DocId, Score)>();
        let granted = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok();
        let all: SegmentScores = all.into();
        if granted {
            self.segments.lock().insert(seg.segment_id(), all.clone());
        }
        Ok(Some(all))
    }
}

impl StatsCache {
    /// Keeps exact scores for segments of at most `docs` documents from now on.
    #[cfg(test)]
    pub(crate) fn exact_scores_up_to(&self, docs: u32) {
        self.exact_max_docs.store(docs, Ordering::Relaxed);
        *self.inner.lock() = Generation::default();
    }

    /// A statistics provider for `searcher` that answers from this cache.
    pub(crate) fn for_searcher<'a>(&'a self, searcher: &'a Searcher) -> CachedStats<'a> {
        let id = searcher.generation().generation_id();
        let mut g = self.inner.lock();
        if g.id != Some(id) {
            *g = Generation {
                id: Some(id),
                budget: Arc::new(AtomicUsize::new(EXACT_SCORES_BUDGET)),
                ..Generation::default()
            };
        }
        CachedStats {
            searcher,
            cache: self,
            id,
        }
    }
}

pub(crate) struct CachedStats<'a> {
    searcher: &'a Searcher,
    cache: &'a StatsCache,
    id: u64,
}

impl CachedStats<'_> {
    /// The cached value, or `compute` (without holding the lock) remembered when the cache
    /// still belongs to this searcher's generation.
    fn get_or<T: Copy>(
        &self,
        read: impl Fn(&Generation) -> Option<T>,
        write: impl FnOnce(&mut Generation, T),
        compute: impl FnOnce() -> tantivy::Result<T>,
    ) -> tantivy::Result<T> {
        {
            let g = self.cache.inner.lock();
            if g.id == Some(self.id)
                && let Some(v) = read(&g)
            {
                return Ok(v);
            }
        }
        let v = compute()?;
        let mut g = self.cache.inner.lock();
        if g.id == Some(self.id) {
            write(&mut g, v);
        }
        Ok(v)
    }
}

impl CachedStats<'_> {
    /// The weight of a posting source (a term or phrase of `field`), built by `build` once
    /// per searcher generation: a weight holds only the source and BM25 statistics.
    pub(crate) fn weight(
        &self,
        field: Field,
        terms: &[(usize, String)],
        build: impl FnOnce() -> tantivy::Result<Arc<dyn Weight>>,
    ) -> tantivy::Result<Arc<CachedWeight>> {
        let key = (field, terms.to_vec());
        let budget = {
            let g = self.cache.inner.lock();
            if g.id == Some(self.id)
                && let Some(w) = g.weights.get(&key)
            {
                return Ok(w.clone());
            }
            g.budget.clone()
        };
        let w = Arc::new(CachedWeight {
            weight: build()?,
            segments: Mutex::default(),
            budget,
            max_docs: self.cache.exact_max_docs.load(Ordering::Relaxed),
        });
        let mut g = self.cache.inner.lock();
        if g.id == Some(self.id) {
            if g.weights.len() >= MAX_TERMS {
                g.weights.clear();
                // The scores of the weights dropped here are freed with them.
                g.budget.store(EXACT_SCORES_BUDGET, Ordering::Relaxed);
            }
            g.weights.insert(key, w.clone());
        }
        Ok(w)
    }
}

impl Bm25StatisticsProvider for CachedStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        self.get_or(
            |g| g.tokens.get(&field).copied(),
            |g, v| {
                g.tokens.insert(field, v);
            },
            || self.searcher.total_num_tokens(field),
        )
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.get_or(
            |g| g.total_docs,
            |g, v| g.total_docs = Some(v),
            || self.searcher.total_num_docs(),
        )
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.get_or(
            |g| g.doc_freq.get(term).copied(),
            |g, v| {
                if g.doc_freq.len() >= MAX_TERMS {
                    g.doc_freq.clear();
                }
                g.doc_freq.insert(term.clone(), v);
            },
            || self.searcher.doc_freq(term),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, doc};

    #[test]
    fn exact_segment_scores_match_the_scorer_and_respect_the_budget() {
        use tantivy::query::{EnableScoring, Query, TermQuery};
        use tantivy::schema::{IndexRecordOption, TEXT};
        let mut schema = Schema::builder();
        let f = schema.add_text_field("t", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut w: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        for text in ["a b", "b", "a a a", "c", "a"] {
            w.add_document(doc!(f => text)).unwrap();
        }
        w.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let seg = searcher.segment_reader(0);
        let query = TermQuery::new(Term::from_field_text(f, "a"), IndexRecordOption::WithFreqs);
        let weight: Arc<dyn Weight> = query
            .weight(EnableScoring::enabled_from_searcher(&searcher))
            .unwrap()
            .into();
        let cached = |budget: usize, max_docs: u32| CachedWeight {
            weight: weight.clone(),
            segments: Mutex::default(),
            budget: Arc::new(AtomicUsize::new(budget)),
            max_docs,
        };
        let roomy = cached(1 << 20, EXACT_SCORES_MAX_DOCS);
        let all = roomy.segment_scores(seg).unwrap().unwrap();
        let docs: Vec<DocId> = all.iter().map(|(d, _)| *d).collect();
        assert_eq!(docs, [0, 2, 4]);
        let mut scorer = weight.scorer(seg, 1.0).unwrap();
        for &(doc, score) in all.iter() {
            assert_eq!(scorer.seek(doc), doc);
            assert_eq!(scorer.score(), score);
        }
        // Kept: the second call returns the same scores without recomputing them.
        assert!(Arc::ptr_eq(
            &all,
            &roomy.segment_scores(seg).unwrap().unwrap()
        ));
        assert_eq!(
            roomy.budget.load(Ordering::Relaxed),
            (1 << 20) - 3 * std::mem::size_of::<(DocId, Score)>()
        );
        // No room for the segment's worst case, or a segment too large: seek instead.
        assert!(
            cached(8, EXACT_SCORES_MAX_DOCS)
                .segment_scores(seg)
                .unwrap()
                .is_none()
        );
        assert!(cached(1 << 20, 4).segment_scores(seg).unwrap().is_none());
    }

    #[test]
    fn answers_like_the_searcher_and_follows_commits() {
        let mut schema = Schema::builder();
        let f = schema.add_text_field("t", STRING);
        let index = Index::create_in_ram(schema.build());
        let mut w: tantivy::IndexWriter = index.writer(15_000_000).unwrap();
        w.add_document(doc!(f => "a")).unwrap();
        w.add_document(doc!(f => "b")).unwrap();
        w.commit().unwrap();
        let reader = index.reader().unwrap();
        let cache = StatsCache::default();
        let a = Term::from_field_text(f, "a");
        let s1 = reader.searcher();
        let stats = cache.for_searcher(&s1);
        assert_eq!(stats.doc_freq(&a).unwrap(), 1);
        assert_eq!(stats.doc_freq(&a).unwrap(), 1);
        assert_eq!(stats.total_num_docs().unwrap(), 2);
        assert_eq!(
            stats.total_num_tokens(f).unwrap(),
            s1.total_num_tokens(f).unwrap()
        );
        w.add_document(doc!(f => "a")).unwrap();
        w.commit().unwrap();
        reader.reload().unwrap();
        let s2 = reader.searcher();
        let stats = cache.for_searcher(&s2);
        assert_eq!(stats.doc_freq(&a).unwrap(), 2);
        assert_eq!(stats.total_num_docs().unwrap(), 3);
    }
}
