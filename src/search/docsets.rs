//! Per-segment structures that make a search over a large index cheap, and their cache.
//!
//! A contact-center knowledge base is full of terms that occur in most articles (宽带, 花呗,
//! broadband). A search must still return an exact total and exact facet counts, so it has to
//! know *every* matching document, not only the best ten. Walking the posting lists of a
//! frequent term on every query costs more than the whole latency budget, so this module keeps
//! what the postings say in forms that are cheap to combine — the idea of Lucene's query cache:
//!
//! - a **bitset** per frequent (segment, field, term): the match set of a query is an OR of
//!   bitsets (~1,600 machine words per 100,000 documents), the filters (locale, type,
//!   category, tags, audience and validity) are AND-ed in;
//! - a **facet table** per (segment, facet field): each value's documents, so a facet count is
//!   a popcount of `match AND value`;
//! - **impacts** per (segment, field, term): the BM25 term-frequency factor of every document
//!   that has the term, as a byte, so the first ranking pass adds a few byte arrays into an
//!   accumulator instead of walking posting lists (term-at-a-time, which does not care how
//!   evenly scores are spread, where block-max WAND does).
//!
//! Everything here is keyed by [`SegmentId`]: segments are immutable, so an entry never goes
//! stale; deletions are applied separately from the segment's alive bitset. Entries of
//! merged-away segments are dropped by [`DocSetCache::retain_segments`] after each commit, and
//! the whole cache is emptied when it would outgrow its byte budget.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use fixedbitset::FixedBitSet;
use parking_lot::Mutex;
use tantivy::index::{InvertedIndexReader, SegmentId};
use tantivy::postings::{BlockSegmentPostings, TermInfo};
use tantivy::query::{EnableScoring, PhraseQuery, Query};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Searcher, SegmentReader, Term};

/// Bytes the cache may hold before it is emptied (about 5,000 bitsets of a 100,000-document
/// segment).
const CACHE_BUDGET_BYTES: usize = 64 << 20;

/// A term is cached for unions when it occurs in at least one document in this many: below
/// that, its posting list is shorter than the bitset and cheaper to walk than to keep.
const DENSE_ONE_IN: u32 = 64;

/// A facet value keeps a bitset (counted by popcount) when it occurs in at least one document
/// in this many, else its document list (each tested against the match set).
const DENSE_FACET_ONE_IN: u32 = 512;

/// BM25's parameters, as tantivy uses them.
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// Impact bytes per unit of the term-frequency factor, whose upper bound is `K1 + 1`.
pub(crate) const IMPACT_SCALE: f32 = 255.0 / (K1 + 1.0);

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Term {
        segment: SegmentId,
        field: Field,
        term: Box<str>,
    },
    Phrase {
        segment: SegmentId,
        field: Field,
        terms: Box<[(usize, Box<str>)]>,
    },
    Alive {
        segment: SegmentId,
        deletes: Option<u64>,
    },
    Facets {
        segment: SegmentId,
        field: Field,
    },
    Impacts {
        segment: SegmentId,
        field: Field,
        term: Box<str>,
    },
}

impl Key {
    fn segment(&self) -> SegmentId {
        match self {
            Key::Term { segment, .. }
            | Key::Phrase { segment, .. }
            | Key::Alive { segment, .. }
            | Key::Facets { segment, .. }
            | Key::Impacts { segment, .. } => *segment,
        }
    }
}

enum Entry {
    Bits(Arc<FixedBitSet>),
    Facets(Arc<FacetTable>),
    Impacts(Arc<Impacts>),
}

impl Entry {
    fn bytes(&self) -> usize {
        match self {
            Entry::Bits(b) => bitset_bytes(b),
            Entry::Facets(t) => t.bytes(),
            Entry::Impacts(i) => i.bytes(),
        }
    }
}

/// One facet field's values in one segment, with their documents.
pub(crate) struct FacetTable {
    values: Vec<(String, FacetDocs)>,
}

enum FacetDocs {
    Bits(FixedBitSet),
    Docs(Vec<DocId>),
}

impl FacetTable {
    fn bytes(&self) -> usize {
        self.values
            .iter()
            .map(|(v, d)| {
                v.len()
                    + match d {
                        FacetDocs::Bits(b) => bitset_bytes(b),
                        FacetDocs::Docs(d) => d.len() * 4,
                    }
            })
            .sum()
    }

    /// Adds how many documents of `matched` have each value.
    pub(crate) fn count(&self, matched: &FixedBitSet, counts: &mut BTreeMap<String, u64>) {
        for (value, docs) in &self.values {
            let n = match docs {
                FacetDocs::Bits(b) => b.intersection_count(matched),
                FacetDocs::Docs(d) => d.iter().filter(|&&d| matched.contains(d as usize)).count(),
            };
            if n > 0 {
                *counts.entry(value.clone()).or_default() += n as u64;
            }
        }
    }
}

/// A term's BM25 term-frequency factor `tf·(k1+1) / (tf + k1·(1 − b + b·len/avglen))` for
/// each document of one segment that has it, times [`IMPACT_SCALE`], as a byte. Without the
/// idf, which changes with every commit: the caller multiplies it in per query.
pub(crate) enum Impacts {
    /// One byte per document of the segment (0: the term is absent).
    Dense(Vec<u8>),
    /// The documents that have the term, for a rare one.
    Sparse(Vec<(DocId, u8)>),
}

impl Impacts {
    fn bytes(&self) -> usize {
        match self {
            Impacts::Dense(v) => v.len(),
            Impacts::Sparse(v) => v.len() * 8,
        }
    }

    /// `acc[doc - start] += weight * impact` for the documents `start..start + acc.len()`.
    pub(crate) fn add_range(&self, weight: f32, start: usize, acc: &mut [f32]) {
        match self {
            Impacts::Dense(v) => {
                let end = (start + acc.len()).min(v.len());
                for (a, &i) in acc.iter_mut().zip(v.get(start..end).unwrap_or_default()) {
                    *a += weight * f32::from(i);
                }
            }
            Impacts::Sparse(v) => {
                let from = v.partition_point(|&(d, _)| (d as usize) < start);
                for &(d, i) in &v[from..] {
                    match acc.get_mut(d as usize - start) {
                        Some(a) => *a += weight * f32::from(i),
                        None => break,
                    }
                }
            }
        }
    }

    /// A reader of `weight * impact` for documents asked in increasing order.
    pub(crate) fn cursor(&self, weight: f32) -> ImpactCursor<'_> {
        ImpactCursor {
            impacts: self,
            weight,
            at: 0,
        }
    }
}

pub(crate) struct ImpactCursor<'a> {
    impacts: &'a Impacts,
    weight: f32,
    /// Position in a sparse list.
    at: usize,
}

impl ImpactCursor<'_> {
    /// The weighted impact of `doc` (0 when it lacks the term); `doc` must not decrease.
    pub(crate) fn score(&mut self, doc: DocId) -> f32 {
        let i = match self.impacts {
            Impacts::Dense(v) => v.get(doc as usize).copied().unwrap_or(0),
            Impacts::Sparse(v) => {
                while self.at < v.len() && v[self.at].0 < doc {
                    self.at += 1;
                }
                match v.get(self.at) {
                    Some(&(d, i)) if d == doc => i,
                    _ => 0,
                }
            }
        };
        self.weight * f32::from(i)
    }
}

/// The documents of one segment that are public and valid during `[from, until)` (ms).
struct Visible {
    segment: SegmentId,
    from: i64,
    until: i64,
    bits: Arc<FixedBitSet>,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Entry>,
    visible: Vec<Visible>,
    bytes: usize,
}

/// Shared by every search on one index. Cheap to lock: lookups clone an `Arc`, and entries are
/// built outside the lock (two searches may build the same one; the second insert wins).
#[derive(Default)]
pub(crate) struct DocSetCache {
    inner: Mutex<Inner>,
}

fn bitset_bytes(b: &FixedBitSet) -> usize {
    b.len().div_ceil(8)
}

impl DocSetCache {
    fn get(&self, key: &Key) -> Option<Entry> {
        self.inner.lock().map.get(key).map(|e| match e {
            Entry::Bits(b) => Entry::Bits(b.clone()),
            Entry::Facets(t) => Entry::Facets(t.clone()),
            Entry::Impacts(i) => Entry::Impacts(i.clone()),
        })
    }

    fn put(&self, key: Key, entry: Entry) {
        let size = entry.bytes();
        let mut inner = self.inner.lock();
        if inner.bytes + size > CACHE_BUDGET_BYTES {
            // What queries use comes back within a few of them; a reset keeps the bound simple.
            inner.map.clear();
            inner.visible.clear();
            inner.bytes = 0;
        }
        if let Some(old) = inner.map.insert(key, entry) {
            inner.bytes -= old.bytes();
        }
        inner.bytes += size;
    }

    fn bits(
        &self,
        key: Key,
        build: impl FnOnce() -> tantivy::Result<FixedBitSet>,
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        if let Some(Entry::Bits(b)) = self.get(&key) {
            return Ok(b);
        }
        let bits = Arc::new(build()?);
        self.put(key, Entry::Bits(bits.clone()));
        Ok(bits)
    }

    /// Forgets the entries of segments that are no longer searchable (merged or deleted).
    pub(crate) fn retain_segments(&self, live: &[SegmentId]) {
        let mut inner = self.inner.lock();
        let mut freed = 0;
        inner.map.retain(|k, v| {
            let keep = live.contains(&k.segment());
            if !keep {
                freed += v.bytes();
            }
            keep
        });
        inner.bytes -= freed;
        inner.visible.retain(|v| live.contains(&v.segment));
    }

    /// ORs the documents containing `term` in `field` into `acc`.
    pub(crate) fn union_term(
        &self,
        seg: &SegmentReader,
        field: Field,
        term: &str,
        acc: &mut FixedBitSet,
    ) -> tantivy::Result<()> {
        let inv = seg.inverted_index(field)?;
        let Some(info) = inv.get_term_info(&Term::from_field_text(field, term))? else {
            return Ok(());
        };
        if info.doc_freq.saturating_mul(DENSE_ONE_IN) < seg.max_doc() {
            let mut block =
                inv.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
            insert_postings(&mut block, acc);
            return Ok(());
        }
        acc.union_with(&*self.cached_bits(seg, field, term, &inv, &info)?);
        Ok(())
    }

    /// The documents containing `term` in `field` (a filter value). Dense terms come from the
    /// cache; a rare one is built for this call.
    pub(crate) fn term_bits(
        &self,
        seg: &SegmentReader,
        field: Field,
        term: &str,
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        let inv = seg.inverted_index(field)?;
        let mut bits = FixedBitSet::with_capacity(seg.max_doc() as usize);
        let Some(info) = inv.get_term_info(&Term::from_field_text(field, term))? else {
            return Ok(Arc::new(bits));
        };
        if info.doc_freq.saturating_mul(DENSE_ONE_IN) < seg.max_doc() {
            let mut block =
                inv.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
            insert_postings(&mut block, &mut bits);
            return Ok(Arc::new(bits));
        }
        self.cached_bits(seg, field, term, &inv, &info)
    }

    fn cached_bits(
        &self,
        seg: &SegmentReader,
        field: Field,
        term: &str,
        inv: &InvertedIndexReader,
        info: &TermInfo,
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        let key = Key::Term {
            segment: seg.segment_id(),
            field,
            term: term.into(),
        };
        self.bits(key, || {
            let mut bits = FixedBitSet::with_capacity(seg.max_doc() as usize);
            let mut block =
                inv.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            insert_postings(&mut block, &mut bits);
            Ok(bits)
        })
    }

    /// The values of a facet field in one segment, with their documents.
    pub(crate) fn facets(
        &self,
        seg: &SegmentReader,
        field: Field,
    ) -> tantivy::Result<Arc<FacetTable>> {
        let key = Key::Facets {
            segment: seg.segment_id(),
            field,
        };
        if let Some(Entry::Facets(t)) = self.get(&key) {
            return Ok(t);
        }
        let inv = seg.inverted_index(field)?;
        let max_doc = seg.max_doc();
        let mut values = Vec::new();
        let mut stream = inv.terms().stream()?;
        while stream.advance() {
            let Ok(value) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            let info = stream.value();
            let mut block =
                inv.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            let docs = if info.doc_freq.saturating_mul(DENSE_FACET_ONE_IN) >= max_doc {
                let mut bits = FixedBitSet::with_capacity(max_doc as usize);
                insert_postings(&mut block, &mut bits);
                FacetDocs::Bits(bits)
            } else {
                let mut docs = Vec::with_capacity(info.doc_freq as usize);
                while !block.docs().is_empty() {
                    docs.extend_from_slice(block.docs());
                    block.advance();
                }
                FacetDocs::Docs(docs)
            };
            values.push((value.to_string(), docs));
        }
        let table = Arc::new(FacetTable { values });
        self.put(key, Entry::Facets(table.clone()));
        Ok(table)
    }

    /// The impacts of `term` in `field` for one segment, `None` when the segment lacks it.
    pub(crate) fn impacts(
        &self,
        seg: &SegmentReader,
        field: Field,
        term: &str,
    ) -> tantivy::Result<Option<Arc<Impacts>>> {
        let key = Key::Impacts {
            segment: seg.segment_id(),
            field,
            term: term.into(),
        };
        if let Some(Entry::Impacts(i)) = self.get(&key) {
            return Ok(Some(i));
        }
        let inv = seg.inverted_index(field)?;
        let Some(info) = inv.get_term_info(&Term::from_field_text(field, term))? else {
            return Ok(None);
        };
        let max_doc = seg.max_doc();
        let Some(norms) = seg.fieldnorms_readers().get_field(field)? else {
            return Ok(None);
        };
        let avg = inv.total_num_tokens() as f32 / max_doc.max(1) as f32;
        let factor = |doc: DocId, tf: u32| -> u8 {
            let len = norms.fieldnorm(doc) as f32;
            let tf = tf as f32;
            let f = tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg.max(1.0)));
            // At least 1: a byte of 0 would read as "absent".
            (f * IMPACT_SCALE).round().clamp(1.0, 255.0) as u8
        };
        let mut block =
            inv.read_block_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
        let impacts = if info.doc_freq.saturating_mul(DENSE_ONE_IN) >= max_doc {
            let mut v = vec![0u8; max_doc as usize];
            while !block.docs().is_empty() {
                for (&d, &tf) in block.docs().iter().zip(block.freqs()) {
                    v[d as usize] = factor(d, tf);
                }
                block.advance();
            }
            Impacts::Dense(v)
        } else {
            let mut v = Vec::with_capacity(info.doc_freq as usize);
            while !block.docs().is_empty() {
                for (&d, &tf) in block.docs().iter().zip(block.freqs()) {
                    v.push((d, factor(d, tf)));
                }
                block.advance();
            }
            Impacts::Sparse(v)
        };
        let impacts = Arc::new(impacts);
        self.put(key, Entry::Impacts(impacts.clone()));
        Ok(Some(impacts))
    }

    /// ORs the documents where `terms` occur as a phrase in `field` into `acc`. Phrases are
    /// always cached: matching one walks positions, the costliest thing an index does.
    pub(crate) fn union_phrase(
        &self,
        searcher: &Searcher,
        seg: &SegmentReader,
        field: Field,
        terms: &[(usize, String)],
        acc: &mut FixedBitSet,
    ) -> tantivy::Result<()> {
        let key = Key::Phrase {
            segment: seg.segment_id(),
            field,
            terms: terms.iter().map(|(o, t)| (*o, t.as_str().into())).collect(),
        };
        let bits = self.bits(key, || {
            let mut bits = FixedBitSet::with_capacity(seg.max_doc() as usize);
            let pq = PhraseQuery::new_with_offset(
                terms
                    .iter()
                    .map(|(o, t)| (*o, Term::from_field_text(field, t)))
                    .collect(),
            );
            let weight = pq.weight(EnableScoring::disabled_from_searcher(searcher))?;
            weight.for_each_no_score(seg, &mut |docs: &[DocId]| {
                for &d in docs {
                    bits.insert(d as usize);
                }
            })?;
            Ok(bits)
        })?;
        acc.union_with(&bits);
        Ok(())
    }

    /// The segment's documents that are not deleted.
    pub(crate) fn alive(&self, seg: &SegmentReader) -> tantivy::Result<Arc<FixedBitSet>> {
        let key = Key::Alive {
            segment: seg.segment_id(),
            deletes: seg.delete_opstamp(),
        };
        self.bits(key, || {
            let mut bits = FixedBitSet::with_capacity(seg.max_doc() as usize);
            match seg.alive_bitset() {
                Some(alive) => {
                    for d in alive.iter_alive() {
                        bits.insert(d as usize);
                    }
                }
                None => bits.insert_range(..),
            }
            Ok(bits)
        })
    }

    /// The segment's documents that customers may see at `now_ms`: public audience, already
    /// effective, not yet expired. The set only changes when `now` crosses some document's
    /// start or end, so it is kept with the interval during which it holds.
    pub(crate) fn visible_to_public(
        &self,
        seg: &SegmentReader,
        now_ms: i64,
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        let segment = seg.segment_id();
        {
            let inner = self.inner.lock();
            if let Some(v) = inner
                .visible
                .iter()
                .find(|v| v.segment == segment && v.from <= now_ms && now_ms < v.until)
            {
                return Ok(v.bits.clone());
            }
        }
        let ff = seg.fast_fields();
        let audience = ff.u64("audience_code")?.first_or_default_col(1);
        let starts = ff.i64("effective_from")?.first_or_default_col(i64::MIN);
        let ends = ff.i64("expires_at")?.first_or_default_col(i64::MAX);
        let n = seg.max_doc();
        let mut bits = FixedBitSet::with_capacity(n as usize);
        // The interval around `now` in which no document starts or ends.
        let (mut from, mut until) = (i64::MIN, i64::MAX);
        for doc in 0..n {
            let (start, end) = (starts.get_val(doc), ends.get_val(doc));
            for t in [start, end] {
                if t <= now_ms {
                    from = from.max(t);
                } else {
                    until = until.min(t);
                }
            }
            if audience.get_val(doc) == 0 && start <= now_ms && now_ms < end {
                bits.insert(doc as usize);
            }
        }
        let bits = Arc::new(bits);
        let mut inner = self.inner.lock();
        inner.visible.retain(|v| v.segment != segment);
        inner.visible.push(Visible {
            segment,
            from,
            until,
            bits: bits.clone(),
        });
        Ok(bits)
    }
}

fn insert_postings(block: &mut BlockSegmentPostings, acc: &mut FixedBitSet) {
    while !block.docs().is_empty() {
        for &d in block.docs() {
            acc.insert(d as usize);
        }
        block.advance();
    }
}
