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
use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::query::{Bm25StatisticsProvider, Bm25Weight, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentReader, TERMINATED, Term};

/// Distinct terms remembered at most per generation (then the map starts over).
const MAX_TERMS: usize = 100_000;

/// Segments up to this many documents keep each weight's exact scores (see
/// [`CachedWeight::segment_scores`]); larger ones are scored by seeking posting lists.
pub(crate) const EXACT_SCORES_MAX_DOCS: u32 = 16_384;

/// Bytes of exact scores and term frequencies kept per generation at most (then scoring
/// seeks, uncached).
const EXACT_SCORES_BUDGET: usize = 64 << 20;

/// A term keeps its frequencies in a large segment (see [`CachedWeight::segment_freqs`])
/// when it occurs in at least one document in this many; a rarer one's posting list is
/// short, and seeking it is cheap.
const FREQS_DENSE_ONE_IN: u64 = 16;

pub(crate) struct StatsCache {
    inner: Mutex<Generation>,
    /// [`EXACT_SCORES_MAX_DOCS`], lowered by tests to cover the other paths.
    exact_max_docs: std::sync::atomic::AtomicU32,
    /// Whether large segments score terms from cached data (a dense term's frequencies, a
    /// rare term's exact scores; turned off by tests to cover the seeking path).
    term_freqs: std::sync::atomic::AtomicBool,
}

impl Default for StatsCache {
    fn default() -> Self {
        StatsCache {
            inner: Mutex::default(),
            exact_max_docs: EXACT_SCORES_MAX_DOCS.into(),
            term_freqs: true.into(),
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
pub(crate) type SegmentScores = Arc<ScoreList>;

/// Documents per block of a [`ScoreList`]'s index.
const LIST_BLOCK: usize = 32;

/// A source's matches in one segment, ascending, with their scores, and where each block of
/// [`LIST_BLOCK`] documents starts among them: looking a candidate up reads its block's few
/// entries, where a binary search of a long list missed the cache at nearly every step.
pub(crate) struct ScoreList {
    entries: Vec<(DocId, Score)>,
    /// One more than the segment's blocks.
    starts: Vec<u32>,
}

impl ScoreList {
    fn new(entries: Vec<(DocId, Score)>, max_doc: u32) -> Self {
        let blocks = (max_doc as usize).div_ceil(LIST_BLOCK);
        let mut starts = Vec::with_capacity(blocks + 1);
        let mut at = 0;
        for b in 0..=blocks {
            while at < entries.len() && (entries[at].0 as usize) < b * LIST_BLOCK {
                at += 1;
            }
            starts.push(at as u32);
        }
        ScoreList { entries, starts }
    }

    /// The matches, ascending, with their scores.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[(DocId, Score)] {
        &self.entries
    }

    /// `doc`'s score, `None` when the source does not match it.
    #[inline]
    pub(crate) fn get(&self, doc: DocId) -> Option<Score> {
        let b = doc as usize / LIST_BLOCK;
        let (&from, &to) = (self.starts.get(b)?, self.starts.get(b + 1)?);
        let block = self.entries.get(from as usize..to as usize)?;
        block
            .binary_search_by_key(&doc, |&(d, _)| d)
            .ok()
            .map(|i| block[i].1)
    }

    fn bytes(&self) -> usize {
        self.entries.len() * std::mem::size_of::<(DocId, Score)>() + self.starts.len() * 4
    }
}

pub(crate) struct CachedWeight {
    pub weight: Arc<dyn Weight>,
    /// A single-term source's term and BM25 weight: the very ones its term query scores with.
    term: Option<(Term, Bm25Weight)>,
    /// Per segment, the exact scores (`None`: not kept there; see [`Self::segment_scores`]).
    segments: Mutex<FxHashMap<SegmentId, Option<SegmentScores>>>,
    /// Per large segment, the term's frequency in each document (`None`: not kept there).
    freqs: Mutex<FxHashMap<SegmentId, Option<Arc<[u8]>>>>,
    budget: Arc<AtomicUsize>,
    max_docs: u32,
    use_freqs: bool,
}

impl CachedWeight {
    /// Every document of `seg` the source matches, ascending, with its score (boost 1).
    ///
    /// Kept for every source in a segment of at most [`EXACT_SCORES_MAX_DOCS`] documents,
    /// and in a larger one for a term rarer than one document in [`FREQS_DENSE_ONE_IN`]: its
    /// list is short and cheap to compute, where seeking it opened its posting list (a term
    /// dictionary lookup and a block decode) on every query. `None` for the others there (a
    /// frequent term reads [`segment_freqs`](Self::segment_freqs), a phrase seeks: its list
    /// could be long, and costly to compute for a query seen once), or once the
    /// generation's budget has no room: the caller then seeks. (Two searches may compute
    /// the same segment at once; the second insert wins and both are charged.)
    pub(crate) fn segment_scores(
        &self,
        seg: &SegmentReader,
    ) -> tantivy::Result<Option<SegmentScores>> {
        if let Some(s) = self.segments.lock().get(&seg.segment_id()) {
            return Ok(s.clone());
        }
        let expected = if seg.max_doc() <= self.max_docs {
            seg.max_doc() as usize
        } else {
            match self.rare_term_docs(seg)? {
                Some(docs) => docs,
                None => {
                    self.segments.lock().insert(seg.segment_id(), None);
                    return Ok(None);
                }
            }
        };
        // Scores that could not be kept would be computed again by every query, which costs
        // far more than seeking: without room for the worst case, seek.
        let worst = expected * std::mem::size_of::<(DocId, Score)>()
            + (seg.max_doc() as usize / LIST_BLOCK + 2) * 4;
        if self.budget.load(Ordering::Relaxed) < worst {
            return Ok(None);
        }
        let mut scorer = self.weight.scorer(seg, 1.0)?;
        let mut all = Vec::with_capacity(expected.min(1 << 16));
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            all.push((doc, scorer.score()));
            doc = scorer.advance();
        }
        let all = Arc::new(ScoreList::new(all, seg.max_doc()));
        let bytes = all.bytes();
        let granted = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(bytes)
            })
            .is_ok();
        if granted {
            self.segments
                .lock()
                .insert(seg.segment_id(), Some(all.clone()));
        }
        Ok(Some(all))
    }

    /// How many documents of a large segment have this source's term, when it is a term
    /// rarer there than one document in [`FREQS_DENSE_ONE_IN`] (0 when it is absent).
    fn rare_term_docs(&self, seg: &SegmentReader) -> tantivy::Result<Option<usize>> {
        let Some((term, _)) = self.term.as_ref().filter(|_| self.use_freqs) else {
            return Ok(None);
        };
        let docs = seg
            .inverted_index(term.field())?
            .get_term_info(term)?
            .map_or(0, |info| info.doc_freq);
        Ok(
            (u64::from(docs) * FREQS_DENSE_ONE_IN < u64::from(seg.max_doc()))
                .then_some(docs as usize),
        )
    }
}

impl CachedWeight {
    /// A dense term's frequency in each document of a large segment (0: absent), computed
    /// once per generation, so that scoring candidates reads a byte and a field norm per
    /// candidate instead of decoding a posting block for each. `None` for a phrase, a term
    /// rarer than one document in [`FREQS_DENSE_ONE_IN`] (its list is short to seek), one
    /// that occurs more than 255 times in a document, or once the budget has no room.
    pub(crate) fn segment_freqs(&self, seg: &SegmentReader) -> tantivy::Result<Option<Arc<[u8]>>> {
        let Some((term, _)) = self.term.as_ref().filter(|_| self.use_freqs) else {
            return Ok(None);
        };
        if let Some(f) = self.freqs.lock().get(&seg.segment_id()) {
            return Ok(f.clone());
        }
        let max_doc = seg.max_doc() as usize;
        let inv = seg.inverted_index(term.field())?;
        let info = match inv.get_term_info(term)? {
            Some(info) if u64::from(info.doc_freq) * FREQS_DENSE_ONE_IN >= max_doc as u64 => info,
            _ => {
                self.freqs.lock().insert(seg.segment_id(), None);
                return Ok(None);
            }
        };
        if self.budget.load(Ordering::Relaxed) < max_doc {
            return Ok(None);
        }
        let mut freqs = vec![0u8; max_doc];
        let mut block =
            inv.read_block_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
        let mut fits = true;
        while fits && !block.docs().is_empty() {
            // A field indexed without frequencies has none to keep (scoring then seeks).
            fits = block.freqs().len() == block.docs().len();
            for (&d, &tf) in block.docs().iter().zip(block.freqs()) {
                match (u8::try_from(tf), freqs.get_mut(d as usize)) {
                    (Ok(tf), Some(slot)) => *slot = tf,
                    _ => fits = false,
                }
            }
            block.advance();
        }
        let kept: Option<Arc<[u8]>> = fits.then(|| freqs.into());
        let granted = kept.is_none()
            || self
                .budget
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                    left.checked_sub(max_doc)
                })
                .is_ok();
        if granted {
            self.freqs.lock().insert(seg.segment_id(), kept.clone());
        }
        Ok(kept)
    }

    /// Fills `row` (one score per candidate, left as is where the term is absent) from the
    /// term's frequencies in `seg`: tantivy's BM25 of that frequency and the document's
    /// field norm, with the term query's own weight — the score its scorer gives.
    pub(crate) fn score_from_freqs(
        &self,
        seg: &SegmentReader,
        freqs: &[u8],
        candidates: &[DocId],
        row: &mut [f32],
    ) -> tantivy::Result<()> {
        let Some((term, bm25)) = &self.term else {
            return Ok(());
        };
        // As the term query's weight reads them (a field without norms counts 1 per document).
        let norms = match seg.fieldnorms_readers().get_field(term.field())? {
            Some(norms) => norms,
            None => FieldNormReader::constant(seg.max_doc(), 1),
        };
        for (&doc, slot) in candidates.iter().zip(row.iter_mut()) {
            if let Some(&tf) = freqs.get(doc as usize).filter(|&&tf| tf > 0) {
                *slot = bm25.score(norms.fieldnorm_id(doc), u32::from(tf));
            }
        }
        Ok(())
    }
}

impl StatsCache {
    /// Keeps exact scores for segments of at most `docs` documents from now on.
    #[cfg(test)]
    pub(crate) fn exact_scores_up_to(&self, docs: u32) {
        self.exact_max_docs.store(docs, Ordering::Relaxed);
        *self.inner.lock() = Generation::default();
    }

    /// Whether large segments score terms from cached data from now on.
    #[cfg(test)]
    pub(crate) fn score_from_term_freqs(&self, on: bool) {
        self.term_freqs.store(on, Ordering::Relaxed);
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
        let term = match terms {
            [(_, t)] => {
                let t = Term::from_field_text(field, t);
                let bm25 = Bm25Weight::for_terms(self, std::slice::from_ref(&t))?;
                Some((t, bm25))
            }
            _ => None,
        };
        let w = Arc::new(CachedWeight {
            weight: build()?,
            term,
            segments: Mutex::default(),
            freqs: Mutex::default(),
            budget,
            max_docs: self.cache.exact_max_docs.load(Ordering::Relaxed),
            use_freqs: self.cache.term_freqs.load(Ordering::Relaxed),
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
        let term = Term::from_field_text(f, "a");
        let bm25 = Bm25Weight::for_terms(&searcher, std::slice::from_ref(&term)).unwrap();
        let cached = |budget: usize, max_docs: u32| CachedWeight {
            weight: weight.clone(),
            term: Some((term.clone(), bm25.clone())),
            segments: Mutex::default(),
            freqs: Mutex::default(),
            budget: Arc::new(AtomicUsize::new(budget)),
            max_docs,
            use_freqs: true,
        };
        let roomy = cached(1 << 20, EXACT_SCORES_MAX_DOCS);
        let all = roomy.segment_scores(seg).unwrap().unwrap();
        let docs: Vec<DocId> = all.entries().iter().map(|(d, _)| *d).collect();
        assert_eq!(docs, [0, 2, 4]);
        let mut scorer = weight.scorer(seg, 1.0).unwrap();
        for &(doc, score) in all.entries() {
            assert_eq!(scorer.seek(doc), doc);
            assert_eq!(scorer.score(), score);
            assert_eq!(all.get(doc), Some(score));
        }
        assert_eq!(
            (all.get(1), all.get(3), all.get(5), all.get(1 << 20)),
            (None, None, None, None)
        );
        // Kept: the second call returns the same scores without recomputing them.
        assert!(Arc::ptr_eq(
            &all,
            &roomy.segment_scores(seg).unwrap().unwrap()
        ));
        assert_eq!(
            roomy.budget.load(Ordering::Relaxed),
            (1 << 20) - 3 * std::mem::size_of::<(DocId, Score)>() - 2 * 4
        );
        // No room for the segment's worst case, or a segment too large: seek instead.
        assert!(
            cached(8, EXACT_SCORES_MAX_DOCS)
                .segment_scores(seg)
                .unwrap()
                .is_none()
        );
        assert!(cached(1 << 20, 4).segment_scores(seg).unwrap().is_none());

        // A large segment: scores from the term's frequencies, the scorer's to the bit.
        let large = cached(1 << 20, 0);
        let freqs = large.segment_freqs(seg).unwrap().unwrap();
        assert_eq!(&freqs[..], [1, 0, 3, 0, 1]);
        let mut row = [f32::NAN; 5];
        large
            .score_from_freqs(seg, &freqs, &[0, 1, 2, 3, 4], &mut row)
            .unwrap();
        for (doc, got) in row.iter().enumerate() {
            let mut scorer = weight.scorer(seg, 1.0).unwrap();
            if scorer.seek(doc as DocId) == doc as DocId {
                assert_eq!(*got, scorer.score(), "doc {doc}");
            } else {
                assert!(got.is_nan(), "doc {doc}");
            }
        }
        assert_eq!(large.budget.load(Ordering::Relaxed), (1 << 20) - 5);
        // No room for a byte per document: seek.
        assert!(cached(4, 0).segment_freqs(seg).unwrap().is_none());
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
