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
//! - **impacts** per (segment, query word): the word's score in every document that has it,
//!   as a byte, so the first ranking pass adds a few byte arrays into an accumulator instead
//!   of walking posting lists (term-at-a-time, which does not care how evenly scores are
//!   spread, where block-max WAND does); likewise for phrases and for the constant scores
//!   of a typo's expansions.
//!
//! Everything here is keyed by [`SegmentId`]: segments are immutable, so an entry never goes
//! stale; deletions are applied separately from the segment's alive bitset. Entries of
//! merged-away segments are dropped by [`DocSetCache::retain_segments`] after each commit, and
//! the whole cache is emptied when it would outgrow its byte budget.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use fixedbitset::FixedBitSet;
use parking_lot::Mutex;
use tantivy::index::{InvertedIndexReader, SegmentId};
use tantivy::postings::{BlockSegmentPostings, TermInfo};
use tantivy::query::{EnableScoring, PhraseQuery, Query};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Searcher, SegmentReader, Term};

use super::simd;

/// Bytes the cache may hold before it is emptied (about 5,000 bitsets of a 100,000-document
/// segment).
const CACHE_BUDGET_BYTES: usize = 64 << 20;

/// A term is cached for unions when it occurs in at least one document in this many: below
/// that, its posting list is shorter than the bitset and cheaper to walk than to keep.
const DENSE_ONE_IN: u32 = 64;

/// A facet value keeps a bitset (counted by popcount) when it occurs in at least one document
/// in this many, else its document list (each tested against the match set).
const DENSE_FACET_ONE_IN: u32 = 512;

/// Documents per block of the score bounds ([`Impacts::block_max`], [`Helpfulness`]): the
/// first pass passes over a block whose best possible score cannot enter its candidates.
pub(crate) const SCORE_BLOCK: usize = 128;

/// Documents per lane of a block: the first pass adds a lane as one vector of `f32`s, and
/// skips a lane whose bound ([`Impacts::lane_max`], [`Helpfulness::lane_max`]) is below the
/// bar. With several frequent words nearly every block holds a document at each word's best,
/// but few lanes of sixteen do (`宽带 故障`: 528 blocks of 782 reach the bar, 370 lanes of
/// 4,392).
pub(crate) const SCORE_LANE: usize = 16;

/// Lanes per block.
pub(crate) const LANES_PER_BLOCK: usize = SCORE_BLOCK / SCORE_LANE;

/// BM25's parameters, as tantivy uses them.
const K1: f32 = 1.2;
const B: f32 = 0.75;

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
    /// A word's impacts over fields with boosts (`f32::to_bits`); `tie` likewise.
    Word {
        segment: SegmentId,
        fields: Box<[(Field, u32)]>,
        tie: u32,
        term: Box<str>,
    },
    /// Typo expansions' constant scores: fields with constants (`f32::to_bits`), terms.
    Constant {
        segment: SegmentId,
        fields: Box<[(Field, u32)]>,
        terms: Box<[Box<str>]>,
    },
    /// A phrase's impacts over fields with boosts; `tie` likewise.
    PhraseScore {
        segment: SegmentId,
        fields: Box<[(Field, u32)]>,
        tie: u32,
        terms: Box<[(usize, Box<str>)]>,
    },
    Helpfulness {
        segment: SegmentId,
    },
    /// A Latin word's typo expansions: the segment's terms within `distance` edits.
    TypoTerms {
        segment: SegmentId,
        field: Field,
        term: Box<str>,
        distance: u8,
    },
}

impl Key {
    fn segment(&self) -> SegmentId {
        match self {
            Key::Term { segment, .. }
            | Key::Phrase { segment, .. }
            | Key::Alive { segment, .. }
            | Key::Facets { segment, .. }
            | Key::Word { segment, .. }
            | Key::Constant { segment, .. }
            | Key::PhraseScore { segment, .. }
            | Key::Helpfulness { segment }
            | Key::TypoTerms { segment, .. } => *segment,
        }
    }
}

enum Entry {
    /// The segment has none of it (kept so that a query word missing from the index costs a
    /// lookup, not a rebuild).
    Absent,
    Bits(Arc<FixedBitSet>),
    Facets(Arc<FacetTable>),
    Impacts(Arc<Impacts>),
    Helpful(Arc<Helpfulness>),
    Terms(Arc<Vec<String>>),
}

impl Entry {
    fn bytes(&self) -> usize {
        match self {
            Entry::Absent => 0,
            Entry::Bits(b) => bitset_bytes(b),
            Entry::Facets(t) => t.bytes(),
            Entry::Impacts(i) => i.bytes(),
            Entry::Helpful(h) => {
                (h.factors.len() + h.block_max.len() + h.lane_max.len() * LANES_PER_BLOCK) * 4
            }
            Entry::Terms(t) => t.iter().map(|t| t.len() + 24).sum(),
        }
    }
}

/// One facet field's values in one segment, with their documents.
pub(crate) struct FacetTable {
    values: Vec<(Arc<str>, FacetDocs)>,
}

enum FacetDocs {
    /// Every document from the first to the last (`start..end`): a locale or a category of
    /// a segment `omnikb reindex` wrote, whose documents it adds in that order. Counted
    /// from the match set alone.
    Run(std::ops::Range<usize>),
    /// The value's documents, and the chunks of [`CHUNK_WORDS`] words that hold any.
    Bits {
        bits: FixedBitSet,
        chunks: Vec<u32>,
    },
    Docs(Vec<DocId>),
}

/// Machine words per chunk (512 documents) of the bitsets facet counting passes over where
/// the match set or the value has no document. Documents of a locale or a category are
/// near one another (`omnikb reindex` adds them in that order), so most values share few
/// chunks with a query's matches.
const CHUNK_WORDS: usize = 8;

/// A match set, and which of its chunks of [`CHUNK_WORDS`] words hold any document.
pub(crate) struct MatchedChunks<'a> {
    bits: &'a FixedBitSet,
    occupied: Vec<bool>,
}

impl<'a> MatchedChunks<'a> {
    pub(crate) fn new(bits: &'a FixedBitSet) -> Self {
        let occupied = chunk_occupancy(bits).collect();
        MatchedChunks { bits, occupied }
    }

    /// How many documents of `value` (with its occupied `chunks`) are in the match set.
    ///
    /// Inlined into [`FacetTable::count`]'s vectorized loop. Each word position of a chunk
    /// keeps its own sum, so a chunk is one vector AND and popcount with no horizontal
    /// add until the end.
    #[inline(always)]
    fn count(&self, value: &FixedBitSet, chunks: &[u32]) -> usize {
        let (a, m) = (value.as_slice(), self.bits.as_slice());
        // Whole chunks as arrays: the compiler unrolls them without bounds checks.
        let (whole_a, _) = a.as_chunks::<CHUNK_WORDS>();
        let (whole_m, _) = m.as_chunks::<CHUNK_WORDS>();
        let mut lanes = [0u64; CHUNK_WORDS];
        let mut partial = 0;
        for &c in chunks {
            let c = c as usize;
            if !self.occupied.get(c).copied().unwrap_or(false) {
                continue;
            }
            match (whole_a.get(c), whole_m.get(c)) {
                (Some(x), Some(y)) => {
                    for i in 0..CHUNK_WORDS {
                        lanes[i] += u64::from((x[i] & y[i]).count_ones());
                    }
                }
                // The last, partial chunk.
                _ => {
                    let from = c * CHUNK_WORDS;
                    let (x, y) = (
                        a.get(from..).unwrap_or_default(),
                        m.get(from..).unwrap_or_default(),
                    );
                    partial += x
                        .iter()
                        .zip(y)
                        .map(|(x, y)| u64::from((x & y).count_ones()))
                        .sum::<u64>();
                }
            }
        }
        (lanes.iter().sum::<u64>() + partial) as usize
    }
}

/// How many documents of `bits` are in `range`: [`FixedBitSet::count_ones`] as a loop
/// over whole words that vectorizes (with the vector popcount) when inlined into a kernel;
/// fixedbitset's own walks a mask iterator word by word.
#[inline(always)]
pub(crate) fn count_in_range(bits: &FixedBitSet, range: std::ops::Range<usize>) -> usize {
    const WORD: usize = usize::BITS as usize;
    let (start, end) = (range.start, range.end.min(bits.len()));
    if start >= end {
        return 0;
    }
    let words = bits.as_slice();
    let (first, last) = (start / WORD, (end - 1) / WORD);
    let head = usize::MAX << (start % WORD);
    let tail = usize::MAX >> (WORD - 1 - (end - 1) % WORD);
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    if first == last {
        return (word(first) & head & tail).count_ones() as usize;
    }
    let inner: usize = words
        .get(first + 1..last)
        .unwrap_or_default()
        .iter()
        .map(|w| w.count_ones() as usize)
        .sum();
    (word(first) & head).count_ones() as usize + inner + (word(last) & tail).count_ones() as usize
}

/// `acc |= other`, with the widest vectors the CPU has ([`simd::vectorized`]; fixedbitset's
/// own loops are built for the 128-bit baseline). A query's match set is the union of
/// several cached bitsets of the segment's size.
pub(crate) fn union_with(acc: &mut FixedBitSet, other: &FixedBitSet) {
    combine(acc, other, true);
}

/// `acc &= other`, like [`union_with`].
pub(crate) fn intersect_with(acc: &mut FixedBitSet, other: &FixedBitSet) {
    combine(acc, other, false);
}

fn combine(acc: &mut FixedBitSet, other: &FixedBitSet, union: bool) {
    if acc.len() != other.len() {
        if union {
            acc.union_with(other);
        } else {
            acc.intersect_with(other);
        }
        return;
    }
    simd::vectorized(Combine {
        acc: acc.as_mut_slice(),
        other: other.as_slice(),
        union,
    });
}

/// [`combine`] as one kernel.
struct Combine<'a> {
    acc: &'a mut [usize],
    other: &'a [usize],
    union: bool,
}

impl pulp::WithSimd for Combine<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let pairs = self.acc.iter_mut().zip(self.other);
        if self.union {
            pairs.for_each(|(a, b)| *a |= *b);
        } else {
            pairs.for_each(|(a, b)| *a &= *b);
        }
    }
}

/// Per chunk of [`CHUNK_WORDS`] words, whether it holds any document.
fn chunk_occupancy(bits: &FixedBitSet) -> impl Iterator<Item = bool> + '_ {
    bits.as_slice()
        .chunks(CHUNK_WORDS)
        .map(|c| c.iter().any(|&w| w != 0))
}

/// The indexes of the chunks that hold any document.
fn occupied_chunks(bits: &FixedBitSet) -> Vec<u32> {
    (0u32..)
        .zip(chunk_occupancy(bits))
        .filter_map(|(i, occupied)| occupied.then_some(i))
        .collect()
}

impl FacetTable {
    fn bytes(&self) -> usize {
        self.values
            .iter()
            .map(|(v, d)| {
                v.len()
                    + match d {
                        FacetDocs::Run(_) => 16,
                        FacetDocs::Bits { bits, chunks } => bitset_bytes(bits) + chunks.len() * 4,
                        FacetDocs::Docs(d) => d.len() * 4,
                    }
            })
            .sum()
    }

    /// Adds how many documents of `matched` have each value to `counts`, which is sorted by
    /// value (as the table is: term dictionary order), so one segment just appends.
    pub(crate) fn count(&self, matched: &MatchedChunks<'_>, counts: &mut Vec<(Arc<str>, u64)>) {
        simd::vectorized_with_popcount(CountValues {
            table: self,
            matched,
            counts,
        });
    }

    #[inline(always)]
    fn count_values(&self, matched: &MatchedChunks<'_>, counts: &mut Vec<(Arc<str>, u64)>) {
        let first = counts.is_empty();
        for (value, docs) in &self.values {
            let n = match docs {
                FacetDocs::Run(run) => count_in_range(matched.bits, run.clone()),
                FacetDocs::Bits { bits, chunks } => matched.count(bits, chunks),
                FacetDocs::Docs(d) => d
                    .iter()
                    .filter(|&&d| matched.bits.contains(d as usize))
                    .count(),
            } as u64;
            if n == 0 {
                continue;
            }
            if first {
                counts.push((value.clone(), n));
                continue;
            }
            match counts.binary_search_by(|(v, _)| v.as_ref().cmp(value)) {
                Ok(at) => counts[at].1 += n,
                Err(at) => counts.insert(at, (value.clone(), n)),
            }
        }
    }
}

/// [`FacetTable::count`] as one kernel for [`simd::vectorized_with_popcount`].
struct CountValues<'a, 'm> {
    table: &'a FacetTable,
    matched: &'a MatchedChunks<'m>,
    counts: &'a mut Vec<(Arc<str>, u64)>,
}

impl pulp::WithSimd for CountValues<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        self.table.count_values(self.matched, self.counts);
    }
}

/// [`MatchedChunks::count`] as one kernel, for the tests.
#[cfg(test)]
struct CountOne<'a, 'm>(&'a MatchedChunks<'m>, &'a FixedBitSet, &'a [u32]);

#[cfg(test)]
impl pulp::WithSimd for CountOne<'_, '_> {
    type Output = usize;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> usize {
        self.0.count(self.1, self.2)
    }
}

/// A query word's score in each document of one segment that has it, as a byte, and what a
/// byte is worth. The score is the model's for one word: BM25 in each of the given fields
/// times the field's boost, the best field in full and the others at the tie share — with
/// the segment's own statistics, so it never goes stale (the first pass only ranks
/// candidates; final scores come from the full model). Phrases and typo expansions are
/// kept the same way with their own scores.
pub(crate) struct Impacts {
    values: Values,
    pub(crate) scale: f32,
    /// The largest byte in each block of [`SCORE_BLOCK`] documents.
    block_max: Vec<u8>,
    /// The largest byte in each lane of [`SCORE_LANE`] documents, per block, for dense
    /// values (empty for a sparse list).
    lane_max: Vec<[u8; LANES_PER_BLOCK]>,
    /// The largest byte of all.
    max: u8,
    /// The documents with the highest bytes, best first: see [`Impacts::tier`].
    tier: Vec<DocId>,
    /// The largest byte of a document not in `tier`.
    below_tier: u8,
}

/// At most one document in this many is in an [`Impacts::tier`]: enough that the best few
/// documents of a query are in their words' tiers, few enough to score them one by one.
const TIER_ONE_IN: usize = 16;

enum Values {
    /// One byte per document of the segment (0: the word is absent).
    Dense(Vec<u8>),
    /// The documents that have the word, for a rare one, and where each block of
    /// [`SCORE_BLOCK`] documents starts in that list (one more entry than blocks), so that
    /// the first pass finds a block's documents without searching.
    Sparse {
        docs: Vec<(DocId, u8)>,
        block_starts: Vec<u32>,
    },
}

impl Impacts {
    /// Per document, the best field's score in full plus `tie` times the others' (documents
    /// with a zero sum lack the word), quantised to bytes of the largest score / 255.
    fn best_plus_tie(max: &[f32], sum: &[f32], tie: f32) -> Impacts {
        let scores: Vec<f32> = max
            .iter()
            .zip(sum)
            .map(|(m, s)| m + tie * (s - m))
            .collect();
        Impacts::from_scores(&scores)
    }

    /// Scores per document (0: absent) quantised to bytes of the largest score / 255.
    pub(crate) fn from_scores(scores: &[f32]) -> Impacts {
        let n = scores.len();
        let top = scores.iter().copied().fold(0.0f32, f32::max);
        let scale = if top > 0.0 { top / 255.0 } else { 1.0 };
        // At least 1 where the word occurs: a byte of 0 reads as "absent".
        let byte = |d: usize| (scores[d] / scale).round().clamp(1.0, 255.0) as u8;
        let present = (0..n).filter(|&d| scores[d] > 0.0);
        let mut block_max = vec![0u8; n.div_ceil(SCORE_BLOCK)];
        let count = present.clone().count();
        let values = if count.saturating_mul(DENSE_ONE_IN as usize) >= n {
            let mut v = vec![0u8; n];
            for d in present {
                v[d] = byte(d);
                block_max[d / SCORE_BLOCK] = block_max[d / SCORE_BLOCK].max(v[d]);
            }
            Values::Dense(v)
        } else {
            let docs: Vec<(DocId, u8)> = present.map(|d| (d as DocId, byte(d))).collect();
            for &(d, i) in &docs {
                let b = &mut block_max[d as usize / SCORE_BLOCK];
                *b = (*b).max(i);
            }
            // Fewer than n / 64 entries, so every position fits in a u32.
            let block_starts = (0..=block_max.len())
                .map(|b| docs.partition_point(|&(d, _)| (d as usize) < b * SCORE_BLOCK) as u32)
                .collect();
            Values::Sparse { docs, block_starts }
        };
        let lane_max = match &values {
            Values::Dense(v) => lane_maxima(v, 0, u8::max),
            Values::Sparse { .. } => Vec::new(),
        };
        let (tier, below_tier) = match &values {
            Values::Dense(v) => Self::top_tier(v.iter().copied().enumerate(), n / TIER_ONE_IN),
            Values::Sparse { docs, .. } => {
                Self::top_tier(docs.iter().map(|&(d, i)| (d as usize, i)), docs.len())
            }
        };
        Impacts {
            values,
            scale,
            max: block_max.iter().copied().max().unwrap_or(0),
            block_max,
            lane_max,
            tier,
            below_tier,
        }
    }

    /// The documents whose byte is at or above the lowest level that keeps them at most
    /// `cap`, ordered by byte (highest first) then document; and the largest byte below.
    fn top_tier(bytes: impl Iterator<Item = (usize, u8)> + Clone, cap: usize) -> (Vec<DocId>, u8) {
        let mut count = [0usize; 256];
        for (_, i) in bytes.clone() {
            count[usize::from(i)] += 1;
        }
        // The lowest level whose documents and those above number at most `cap`.
        let (mut level, mut taken) = (256, 0);
        while level > 1 && taken + count[level - 1] <= cap {
            level -= 1;
            taken += count[level];
        }
        let below = (1..level).rev().find(|&l| count[l] > 0).unwrap_or(0) as u8;
        let mut tier: Vec<(u8, DocId)> = bytes
            .filter(|&(_, i)| usize::from(i) >= level)
            .map(|(d, i)| (i, d as DocId))
            .collect();
        tier.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        (tier.into_iter().map(|(_, d)| d).collect(), below)
    }

    /// The largest byte of all (0: the word is nowhere).
    pub(crate) fn max(&self) -> u8 {
        self.max
    }

    /// The documents with the highest bytes, best first (ties: the earlier document first):
    /// every document that has the word for a rare one, at most one in [`TIER_ONE_IN`] of
    /// the segment for a frequent one. A document that is not among the first `p` of them
    /// has a byte of at most [`below_tier(p)`](Self::below_tier). The first pass scores
    /// such a prefix one document at a time when the bar is high enough that nothing
    /// outside it can enter.
    pub(crate) fn tier(&self) -> &[DocId] {
        &self.tier
    }

    /// The largest byte a document outside the first `p` of [`tier`](Self::tier) can have.
    pub(crate) fn below_tier(&self, p: usize) -> u8 {
        match self.tier.get(p) {
            Some(&d) => self.byte(d),
            None => self.below_tier,
        }
    }

    /// One document's byte (0: it lacks the word).
    #[inline]
    pub(crate) fn byte(&self, doc: DocId) -> u8 {
        match &self.values {
            Values::Dense(v) => v.get(doc as usize).copied().unwrap_or(0),
            Values::Sparse { docs, block_starts } => {
                let b = doc as usize / SCORE_BLOCK;
                let (Some(&from), Some(&to)) = (block_starts.get(b), block_starts.get(b + 1))
                else {
                    return 0;
                };
                docs.get(from as usize..to as usize)
                    .unwrap_or_default()
                    .iter()
                    .find(|&&(d, _)| d == doc)
                    .map_or(0, |&(_, i)| i)
            }
        }
    }

    /// The largest byte in each lane of [`SCORE_LANE`] documents of block `b`, for a word
    /// with a byte per document; `None` for a sparse list (its block's largest byte bounds
    /// every lane: its few documents seldom share a block). Inlined into the first pass's
    /// vectorized loop.
    #[inline(always)]
    pub(crate) fn lane_max(&self, b: usize) -> Option<&[u8; LANES_PER_BLOCK]> {
        self.lane_max.get(b)
    }

    /// The largest impact byte in each block of [`SCORE_BLOCK`] documents (0: none there).
    pub(crate) fn block_max(&self) -> &[u8] {
        &self.block_max
    }

    fn bytes(&self) -> usize {
        self.block_max.len()
            + self.lane_max.len() * LANES_PER_BLOCK
            + self.tier.len() * 4
            + match &self.values {
                Values::Dense(v) => v.len(),
                Values::Sparse { docs, block_starts } => docs.len() * 8 + block_starts.len() * 4,
            }
    }

    /// Whether the impacts are one byte per document (else a list of the documents that
    /// have the word).
    pub(crate) fn is_dense(&self) -> bool {
        matches!(self.values, Values::Dense(_))
    }

    /// Block `b`'s bytes when they are one byte per document, the block is whole and holds
    /// the word somewhere: what the first pass adds lane by lane in registers.
    #[inline(always)]
    pub(crate) fn dense_block(&self, b: usize) -> Option<&[u8; SCORE_BLOCK]> {
        match &self.values {
            Values::Dense(v) if self.block_max.get(b).is_some_and(|&m| m > 0) => v
                .get(b * SCORE_BLOCK..(b + 1) * SCORE_BLOCK)
                .and_then(|s| s.try_into().ok()),
            _ => None,
        }
    }

    /// `acc[doc - start] += weight * impact` for the documents of block `b` (`start` is
    /// `b * SCORE_BLOCK`; `acc` holds the block's documents). A block without the word is
    /// left alone. Inlined into the first pass's vectorized loop.
    #[inline(always)]
    pub(crate) fn add_block(&self, weight: f32, b: usize, acc: &mut [f32]) {
        if self.block_max.get(b).is_none_or(|&m| m == 0) {
            return;
        }
        let start = b * SCORE_BLOCK;
        match &self.values {
            Values::Dense(v) => {
                let end = (start + acc.len()).min(v.len());
                for (a, &i) in acc.iter_mut().zip(v.get(start..end).unwrap_or_default()) {
                    *a += weight * f32::from(i);
                }
            }
            Values::Sparse { docs, block_starts } => {
                let from = block_starts[b] as usize;
                let to = block_starts.get(b + 1).map_or(docs.len(), |&e| e as usize);
                for &(d, i) in docs.get(from..to).unwrap_or_default() {
                    if let Some(a) = acc.get_mut(d as usize - start) {
                        *a += weight * f32::from(i);
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
        let i = match &self.impacts.values {
            Values::Dense(v) => v.get(doc as usize).copied().unwrap_or(0),
            Values::Sparse { docs: v, .. } => {
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
    map: FxHashMap<Key, Entry>,
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
            Entry::Absent => Entry::Absent,
            Entry::Bits(b) => Entry::Bits(b.clone()),
            Entry::Facets(t) => Entry::Facets(t.clone()),
            Entry::Impacts(i) => Entry::Impacts(i.clone()),
            Entry::Helpful(h) => Entry::Helpful(h.clone()),
            Entry::Terms(t) => Entry::Terms(t.clone()),
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

    /// The terms of `field` in `seg` within `distance` edits of `term`, computed by `build`
    /// once per segment (running a Levenshtein automaton over a term dictionary costs tens of
    /// microseconds; agents type the same words all day).
    pub(crate) fn typo_terms(
        &self,
        seg: &SegmentReader,
        field: Field,
        term: &str,
        distance: u8,
        build: impl FnOnce() -> Vec<String>,
    ) -> Arc<Vec<String>> {
        let key = Key::TypoTerms {
            segment: seg.segment_id(),
            field,
            term: term.into(),
            distance,
        };
        if let Some(Entry::Terms(t)) = self.get(&key) {
            return t;
        }
        let terms = Arc::new(build());
        self.put(key, Entry::Terms(terms.clone()));
        terms
    }

    /// Cached impacts under `key`, or `build`'s (`None`: the segment has none, remembered
    /// as [`Entry::Absent`] so a missing word costs a lookup, not a rebuild).
    fn impacts(
        &self,
        key: Key,
        build: impl FnOnce() -> tantivy::Result<Option<Impacts>>,
    ) -> tantivy::Result<Option<Arc<Impacts>>> {
        match self.get(&key) {
            Some(Entry::Impacts(i)) => return Ok(Some(i)),
            Some(Entry::Absent) => return Ok(None),
            _ => {}
        }
        match build()? {
            Some(impacts) => {
                let impacts = Arc::new(impacts);
                self.put(key, Entry::Impacts(impacts.clone()));
                Ok(Some(impacts))
            }
            None => {
                self.put(key, Entry::Absent);
                Ok(None)
            }
        }
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
        union_with(acc, &*self.cached_bits(seg, field, term, &inv, &info)?);
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
                match (bits.minimum(), bits.maximum()) {
                    (Some(first), Some(last)) if last - first + 1 == info.doc_freq as usize => {
                        FacetDocs::Run(first..last + 1)
                    }
                    _ => {
                        let chunks = occupied_chunks(&bits);
                        FacetDocs::Bits { bits, chunks }
                    }
                }
            } else {
                let mut docs = Vec::with_capacity(info.doc_freq as usize);
                while !block.docs().is_empty() {
                    docs.extend_from_slice(block.docs());
                    block.advance();
                }
                FacetDocs::Docs(docs)
            };
            values.push((Arc::from(value), docs));
        }
        let table = Arc::new(FacetTable { values });
        self.put(key, Entry::Facets(table.clone()));
        Ok(table)
    }

    /// A word's scores over `fields` (with their boosts) in one segment, `None` when none of
    /// the fields has it there. See [`Impacts`].
    pub(crate) fn word_impacts(
        &self,
        seg: &SegmentReader,
        fields: &[(Field, f32)],
        tie: f32,
        term: &str,
    ) -> tantivy::Result<Option<Arc<Impacts>>> {
        let key = Key::Word {
            segment: seg.segment_id(),
            fields: fields.iter().map(|(f, b)| (*f, b.to_bits())).collect(),
            tie: tie.to_bits(),
            term: term.into(),
        };
        self.impacts(key, || {
            let mut postings = Vec::with_capacity(fields.len());
            for (field, boost) in fields {
                let inv = seg.inverted_index(*field)?;
                if let Some(info) = inv.get_term_info(&Term::from_field_text(*field, term))?
                    && let Some(norms) = seg.fieldnorms_readers().get_field(*field)?
                {
                    postings.push((inv, info, norms, *boost));
                }
            }
            if postings.is_empty() {
                return Ok(None);
            }
            let n = seg.max_doc() as usize;
            let (mut max, mut sum) = (vec![0f32; n], vec![0f32; n]);
            for (inv, info, norms, boost) in postings {
                let docs = seg.num_docs() as f32;
                let df = info.doc_freq as f32;
                // BM25 as tantivy computes it, over this segment.
                let idf = (1.0 + (docs - df + 0.5) / (df + 0.5)).ln();
                let avg = (inv.total_num_tokens() as f32 / n.max(1) as f32).max(1.0);
                let mut block =
                    inv.read_block_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?;
                while !block.docs().is_empty() {
                    for (&d, &tf) in block.docs().iter().zip(block.freqs()) {
                        let (tf, len) = (tf as f32, norms.fieldnorm(d) as f32);
                        let s =
                            boost * idf * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * len / avg));
                        let d = d as usize;
                        max[d] = max[d].max(s);
                        sum[d] += s;
                    }
                    block.advance();
                }
            }
            Ok(Some(Impacts::best_plus_tie(&max, &sum, tie)))
        })
    }

    /// A phrase's scores over `fields` (with their boosts) in one segment: about the BM25 of
    /// one occurrence (the boost times the terms' idf together) in each field that holds it,
    /// the best field in full and the others at the tie share. `None` when no field has it.
    pub(crate) fn phrase_impacts(
        &self,
        searcher: &Searcher,
        seg: &SegmentReader,
        fields: &[(Field, f32)],
        tie: f32,
        toks: &[(usize, String)],
    ) -> tantivy::Result<Option<Arc<Impacts>>> {
        let key = Key::PhraseScore {
            segment: seg.segment_id(),
            fields: fields.iter().map(|(f, b)| (*f, b.to_bits())).collect(),
            tie: tie.to_bits(),
            terms: toks.iter().map(|(o, t)| (*o, t.as_str().into())).collect(),
        };
        self.impacts(key, || {
            let n = seg.max_doc() as usize;
            let docs = seg.num_docs() as f32;
            let mut held = Vec::new();
            for (field, boost) in fields {
                let bits = self.phrase_bits(searcher, seg, *field, toks)?;
                if bits.is_clear() {
                    continue;
                }
                let inv = seg.inverted_index(*field)?;
                let mut idf = 0.0;
                for (_, t) in toks {
                    let df = inv.doc_freq(&Term::from_field_text(*field, t))? as f32;
                    idf += (1.0 + (docs - df + 0.5) / (df + 0.5)).ln();
                }
                held.push((bits, boost * idf));
            }
            if held.is_empty() {
                return Ok(None);
            }
            let (mut max, mut sum) = (vec![0f32; n], vec![0f32; n]);
            for (bits, w) in held {
                for d in bits.ones() {
                    max[d] = max[d].max(w);
                    sum[d] += w;
                }
            }
            Ok(Some(Impacts::best_plus_tie(&max, &sum, tie)))
        })
    }

    /// The constant score of a typo's expansions in one segment: per document, the sum of
    /// the constants of the fields that hold any of `terms`. `None` when none does.
    pub(crate) fn constant_impacts(
        &self,
        seg: &SegmentReader,
        fields: &[(Field, f32)],
        terms: &[String],
    ) -> tantivy::Result<Option<Arc<Impacts>>> {
        let key = Key::Constant {
            segment: seg.segment_id(),
            fields: fields.iter().map(|(f, c)| (*f, c.to_bits())).collect(),
            terms: terms.iter().map(|t| t.as_str().into()).collect(),
        };
        self.impacts(key, || {
            let n = seg.max_doc() as usize;
            let mut scores: Option<Vec<f32>> = None;
            for (field, constant) in fields {
                let inv = seg.inverted_index(*field)?;
                // The documents of this field holding any of the terms.
                let mut held = FixedBitSet::with_capacity(n);
                for term in terms {
                    if let Some(info) = inv.get_term_info(&Term::from_field_text(*field, term))? {
                        let mut block =
                            inv.read_block_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
                        insert_postings(&mut block, &mut held);
                    }
                }
                if held.is_clear() {
                    continue;
                }
                let scores = scores.get_or_insert_with(|| vec![0f32; n]);
                for d in held.ones() {
                    scores[d] += constant;
                }
            }
            Ok(scores.map(|scores| Impacts::from_scores(&scores)))
        })
    }

    /// ORs the documents where `terms` occur as a phrase in `field` into `acc`.
    pub(crate) fn union_phrase(
        &self,
        searcher: &Searcher,
        seg: &SegmentReader,
        field: Field,
        terms: &[(usize, String)],
        acc: &mut FixedBitSet,
    ) -> tantivy::Result<()> {
        union_with(acc, &*self.phrase_bits(searcher, seg, field, terms)?);
        Ok(())
    }

    /// The documents where `terms` occur as a phrase in `field`. Always cached: matching a
    /// phrase walks positions, the costliest thing an index does.
    pub(crate) fn phrase_bits(
        &self,
        searcher: &Searcher,
        seg: &SegmentReader,
        field: Field,
        terms: &[(usize, String)],
    ) -> tantivy::Result<Arc<FixedBitSet>> {
        let key = Key::Phrase {
            segment: seg.segment_id(),
            field,
            terms: terms.iter().map(|(o, t)| (*o, t.as_str().into())).collect(),
        };
        self.bits(key, || {
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
        })
    }

    /// Per document of the segment, the helpfulness tie-break the final scores get
    /// (`1 + 0.05 · (helpful − 0.5)`), so the first pass breaks ties the same way.
    pub(crate) fn helpfulness(&self, seg: &SegmentReader) -> tantivy::Result<Arc<Helpfulness>> {
        let key = Key::Helpfulness {
            segment: seg.segment_id(),
        };
        if let Some(Entry::Helpful(h)) = self.get(&key) {
            return Ok(h);
        }
        let helpful = seg.fast_fields().f64("helpful")?.first_or_default_col(0.5);
        let factors = (0..seg.max_doc())
            .map(|d| helpfulness_factor(helpful.get_val(d)))
            .collect();
        let h = Arc::new(Helpfulness::new(factors));
        self.put(key, Entry::Helpful(h.clone()));
        Ok(h)
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

/// The largest of `values` in each lane of [`SCORE_LANE`], per block of [`SCORE_BLOCK`];
/// `least` where there is none (the lanes of the last block past the segment's end).
fn lane_maxima<T: Copy>(
    values: &[T],
    least: T,
    max: impl Fn(T, T) -> T,
) -> Vec<[T; LANES_PER_BLOCK]> {
    values
        .chunks(SCORE_BLOCK)
        .map(|block| {
            let mut lanes = [least; LANES_PER_BLOCK];
            for (m, lane) in lanes.iter_mut().zip(block.chunks(SCORE_LANE)) {
                *m = lane.iter().copied().fold(least, &max);
            }
            lanes
        })
        .collect()
}

/// One segment's helpfulness tie-breaks, per document and as the largest in each block of
/// [`SCORE_BLOCK`] documents.
pub(crate) struct Helpfulness {
    pub(crate) factors: Vec<f32>,
    pub(crate) block_max: Vec<f32>,
    /// The largest in each lane of [`SCORE_LANE`] documents, per block.
    pub(crate) lane_max: Vec<[f32; LANES_PER_BLOCK]>,
    /// Every factor is above zero (block bounds hold only then).
    pub(crate) all_positive: bool,
}

impl Helpfulness {
    pub(crate) fn new(factors: Vec<f32>) -> Self {
        let lane_max = lane_maxima(&factors, f32::NEG_INFINITY, f32::max);
        let block_max = lane_max
            .iter()
            .map(|lanes| lanes.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            .collect();
        let all_positive = factors.iter().all(|&f| f > 0.0);
        Helpfulness {
            factors,
            block_max,
            lane_max,
            all_positive,
        }
    }
}

/// The tie-break a document's score is multiplied by: at most ±2.5 % for the feedback signal
/// `helpful` in [0, 1].
pub(crate) fn helpfulness_factor(helpful: f64) -> f32 {
    1.0 + 0.05 * (helpful as f32 - 0.5)
}

fn insert_postings(block: &mut BlockSegmentPostings, acc: &mut FixedBitSet) {
    while !block.docs().is_empty() {
        for &d in block.docs() {
            acc.insert(d as usize);
        }
        block.advance();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// A bitset of `n` documents with `density` of them set inside `region` (the rest empty).
    fn clustered(
        rng: &mut StdRng,
        n: usize,
        region: std::ops::Range<usize>,
        density: f64,
    ) -> FixedBitSet {
        let mut b = FixedBitSet::with_capacity(n);
        for d in region {
            b.set(d, rng.gen_bool(density));
        }
        b
    }

    #[test]
    fn chunked_facet_counts_equal_plain_popcounts() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..500 {
            let n = rng.gen_range(1..20_000);
            let region = |rng: &mut StdRng| {
                let a = rng.gen_range(0..n);
                a..rng.gen_range(a..=n)
            };
            let (r1, r2) = (region(&mut rng), region(&mut rng));
            let density = [0.001, 0.05, 0.5, 1.0][rng.gen_range(0..4)];
            let value = clustered(&mut rng, n, r1, density);
            let matched = clustered(&mut rng, n, r2, density);
            let chunks = occupied_chunks(&value);
            let m = MatchedChunks::new(&matched);
            let expected = value.intersection_count(&matched);
            let got = simd::vectorized(CountOne(&m, &value, &chunks));
            assert_eq!(got, expected, "n={n} ({})", simd::instruction_set());
            let got = simd::vectorized_with_popcount(CountOne(&m, &value, &chunks));
            assert_eq!(got, expected, "n={n} ({})", simd::instruction_set());
            let scalar = simd::scalar(CountOne(&m, &value, &chunks));
            assert_eq!(scalar, expected, "n={n}");
        }
    }

    #[test]
    fn counts_in_a_range_equal_fixedbitsets() {
        let mut rng = StdRng::seed_from_u64(13);
        for _ in 0..2_000 {
            let n = rng.gen_range(1..3_000);
            let density = [0.01, 0.5, 1.0][rng.gen_range(0..3)];
            let bits = clustered(&mut rng, n, 0..n, density);
            let a = rng.gen_range(0..=n + 2);
            let range = a..rng.gen_range(a..=n + 70);
            let expected = bits.count_ones(range.start.min(n)..range.end.min(n));
            assert_eq!(
                count_in_range(&bits, range.clone()),
                expected,
                "n={n} {range:?}"
            );
        }
    }

    #[test]
    fn vector_unions_and_intersections_equal_fixedbitsets() {
        let mut rng = StdRng::seed_from_u64(14);
        for _ in 0..300 {
            let n = rng.gen_range(1..5_000);
            let a = clustered(&mut rng, n, 0..n, 0.3);
            let b = clustered(&mut rng, n, 0..n, 0.6);
            for union in [true, false] {
                let (mut ours, mut theirs) = (a.clone(), a.clone());
                if union {
                    union_with(&mut ours, &b);
                    theirs.union_with(&b);
                } else {
                    intersect_with(&mut ours, &b);
                    theirs.intersect_with(&b);
                }
                assert_eq!(ours, theirs, "n={n} union={union}");
            }
        }
    }

    /// A facet table counts each value alike whether it keeps a run, a bitset or a list.
    #[test]
    fn facet_runs_bitsets_and_lists_count_alike() {
        let mut rng = StdRng::seed_from_u64(12);
        for _ in 0..200 {
            let n = rng.gen_range(1..20_000);
            let a = rng.gen_range(0..n);
            let run = a..rng.gen_range(a + 1..=n);
            let mut bits = FixedBitSet::with_capacity(n);
            bits.insert_range(run.clone());
            let density = [0.05, 0.5, 1.0][rng.gen_range(0..3)];
            let matched = clustered(&mut rng, n, 0..n, density);
            let table = FacetTable {
                values: vec![
                    (
                        "as a list".into(),
                        FacetDocs::Docs(run.clone().map(|d| d as DocId).collect()),
                    ),
                    ("as a run".into(), FacetDocs::Run(run.clone())),
                    (
                        "as bits".into(),
                        FacetDocs::Bits {
                            chunks: occupied_chunks(&bits),
                            bits: bits.clone(),
                        },
                    ),
                ],
            };
            let mut counts = Vec::new();
            table.count(&MatchedChunks::new(&matched), &mut counts);
            let expected = bits.intersection_count(&matched) as u64;
            let got: Vec<u64> = counts.iter().map(|(_, c)| *c).collect();
            if expected == 0 {
                assert!(got.is_empty());
            } else {
                assert_eq!(got, [expected; 3], "n={n} run={run:?}");
            }
        }
    }
}
