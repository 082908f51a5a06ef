//! The first ranking pass: picks the few candidates the full scoring model then scores.
//!
//! It follows the model's shape at low cost. A query word scores what the model gives it —
//! BM25 in each text field times the field's boost, the best field in full and the others at
//! the tie share — read from one cached byte per document ([`docsets::Impacts`], computed
//! once per segment and word); a bigram likewise on its field; a typo's expansions score the
//! model's constant per field that holds any of them (from cached field masks); a multi-word
//! synonym or the whole query as a phrase scores about one occurrence's BM25 in each field
//! holding it (from the cached phrase bitsets). Groups add up, and the helpfulness tie-break
//! applies as in the final score.
//!
//! This is term at a time over blocks of [`SCORE_BLOCK`] documents: a few additions per
//! document and word, however evenly scores are spread. A block whose best possible score
//! (each group's largest byte there) cannot beat the weakest kept candidate is passed over.
//! On the 100,000-document bench that halves the first pass of the English queries and cuts
//! a filtered query's by ~6x; for several frequent Chinese words nearly every block holds a
//! near-best document, and little is skipped.

use fixedbitset::FixedBitSet;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::schema::Field;
use tantivy::{DocId, Score, Searcher, SegmentReader};

use super::docsets::{
    self, DocSetCache, Helpfulness, Impacts, LANES_PER_BLOCK, SCORE_BLOCK, SCORE_LANE,
};
use super::simd;

pub(crate) struct FirstPass {
    groups: Vec<Group>,
    /// Share of a group's non-best fields, like the model's tie-breaker.
    tie: f32,
}

enum Group {
    /// A word over fields with their boosts, scaled by `boost`.
    Word {
        term: String,
        fields: Vec<(Field, f32)>,
        boost: f32,
    },
    /// Terms that together score each field's constant where any of them occurs.
    Constant {
        terms: Vec<String>,
        fields: Vec<(Field, f32)>,
    },
    /// A phrase (position, term) over fields with their boosts.
    Phrase {
        toks: Vec<(usize, String)>,
        fields: Vec<(Field, f32)>,
    },
}

/// A group as one segment has it: its impacts and what an impact byte is worth.
struct Active(Arc<Impacts>, f32);

impl FirstPass {
    pub fn new(tie: f32) -> Self {
        FirstPass {
            groups: Vec::new(),
            tie,
        }
    }

    /// A word over fields with their boosts, the whole scaled by `boost`. The same word over
    /// the same fields added again keeps the higher boost.
    pub fn word(&mut self, fields: &[(Field, f32)], term: &str, boost: f32) {
        for g in &mut self.groups {
            if let Group::Word {
                term: t,
                fields: f,
                boost: b,
            } = g
                && t == term
                && f == fields
            {
                *b = b.max(boost);
                return;
            }
        }
        self.groups.push(Group::Word {
            term: term.to_string(),
            fields: fields.to_vec(),
            boost,
        });
    }

    /// Terms that together score each field's constant where any of them occurs (a typo's
    /// expansions).
    pub fn constant(&mut self, fields: &[(Field, f32)], terms: Vec<String>) {
        self.groups.push(Group::Constant {
            terms,
            fields: fields.to_vec(),
        });
    }

    /// A phrase (analysed: position, term) over fields with their boosts.
    pub fn phrase(&mut self, fields: &[(Field, f32)], toks: &[(usize, String)]) {
        self.groups.push(Group::Phrase {
            toks: toks.to_vec(),
            fields: fields.to_vec(),
        });
    }

    /// The `k` documents of `matched` with the best first-pass scores, in doc order.
    pub fn best_candidates(
        &self,
        cache: &DocSetCache,
        searcher: &Searcher,
        seg: &SegmentReader,
        matched: &FixedBitSet,
        k: usize,
    ) -> tantivy::Result<Vec<DocId>> {
        let mut groups: Vec<Active> = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            match g {
                Group::Word {
                    term,
                    fields,
                    boost,
                } => {
                    if let Some(i) = cache.word_impacts(seg, fields, self.tie, term)? {
                        let w = boost * i.scale;
                        groups.push(Active(i, w));
                    }
                }
                Group::Constant { terms, fields } => {
                    if let Some(i) = cache.constant_impacts(seg, fields, terms)? {
                        let w = i.scale;
                        groups.push(Active(i, w));
                    }
                }
                Group::Phrase { toks, fields } => {
                    if let Some(i) = cache.phrase_impacts(searcher, seg, fields, self.tie, toks)? {
                        let w = i.scale;
                        groups.push(Active(i, w));
                    }
                }
            }
        }
        in_summing_order(&mut groups);
        let helpful = cache.helpfulness(seg)?;
        let mut top = TopK::new(k);
        let n = docsets::count_in_range(matched, 0..matched.len());
        let how = if n * 16 < matched.len() {
            How::Gather
        } else {
            How::Blocks(Prune::Yes)
        };
        simd::vectorized(Rank {
            groups: &groups,
            matched,
            helpful: &helpful,
            top: &mut top,
            how,
        });
        Ok(top.into_sorted_docs())
    }
}

/// Puts the groups in the order every pass sums them in: lists of documents first, then
/// byte-per-document impacts, which [`score_block`] adds in registers after the others.
/// Bounds and scores must add in one order for pruning to be exact (see [`blocks`]), and
/// every way of scoring adds in this one so that they agree to the bit.
fn in_summing_order(groups: &mut [Active]) {
    groups.sort_by_key(|Active(i, _)| i.is_dense());
}

#[derive(Clone, Copy)]
enum How {
    /// [`gather`]: doc by doc.
    Gather,
    /// [`blocks`].
    Blocks(Prune),
}

/// The first pass as one kernel for [`simd::vectorized`]; its output is what was scored.
struct Rank<'a> {
    groups: &'a [Active],
    matched: &'a FixedBitSet,
    helpful: &'a Helpfulness,
    top: &'a mut TopK,
    how: How,
}

impl pulp::WithSimd for Rank<'_> {
    type Output = Scored;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) -> Scored {
        match self.how {
            How::Gather => {
                gather(self.groups, self.matched, &self.helpful.factors, self.top);
                Scored::default()
            }
            How::Blocks(prune) => blocks(self.groups, self.matched, self.helpful, self.top, prune),
        }
    }
}

/// Few matches (a filter): each one scored directly, in doc order (a rare word's list is
/// walked alongside). Inlined into the vectorized call, like [`blocks`].
#[inline(always)]
fn gather(groups: &[Active], matched: &FixedBitSet, helpful: &[f32], top: &mut TopK) {
    let mut readers: Vec<docsets::ImpactCursor<'_>> =
        groups.iter().map(|Active(i, w)| i.cursor(*w)).collect();
    for doc in matched.ones() {
        let score: f32 = readers.iter_mut().map(|r| r.score(doc as DocId)).sum();
        top.offer(score * helpful[doc], doc as DocId);
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Prune {
    Yes,
    /// Every block with a match is scored (the reference the pruned pass is tested against).
    #[cfg_attr(not(test), allow(dead_code))]
    No,
}

/// Many matches: block by block into an accumulator that stays in cache, then the block's
/// matches offered.
///
/// Block-max pruning: a block's best possible score is the sum of each group's largest
/// impact there (times the block's largest tie-break); a block whose bound is below the
/// weakest kept candidate cannot contribute and is passed over. The blocks with the highest
/// bounds go first, so the bar is high before the rest are looked at. The bound is summed
/// in the same order and with the same operations as the scores, so (rounding being
/// monotonic) no document above the bar is ever passed over: the candidates are exactly
/// those of scoring every block.
#[inline(always)]
fn blocks(
    groups: &[Active],
    matched: &FixedBitSet,
    helpful: &Helpfulness,
    top: &mut TopK,
    prune: Prune,
) -> Scored {
    const SEED_BLOCKS: usize = 16;
    let nblocks = matched.len().div_ceil(SCORE_BLOCK);
    let words = matched.as_slice();
    let per_block = SCORE_BLOCK / usize::BITS as usize;
    let has_match = |b: usize| {
        words
            .get(b * per_block..((b + 1) * per_block).min(words.len()))
            .is_some_and(|w| w.iter().any(|&w| w != 0))
    };
    // Only sound for non-negative weights and tie-breaks, which is all there is: boosts are
    // positive and tie-breaks stay within ±2.5 %.
    let prune =
        prune == Prune::Yes && helpful.all_positive && groups.iter().all(|Active(_, w)| *w >= 0.0);
    // Without pruning every bound is infinite: no block is passed over.
    let mut bound = vec![if prune { 0.0 } else { f32::INFINITY }; nblocks];
    if prune {
        for Active(impacts, w) in groups {
            for (b, &m) in bound.iter_mut().zip(impacts.block_max()) {
                *b += w * f32::from(m);
            }
        }
        for (b, h) in bound.iter_mut().zip(&helpful.block_max) {
            *b *= h;
        }
    }
    debug_assert!(groups.is_sorted_by_key(|Active(i, _)| i.is_dense()));
    let mut acc = [0f32; SCORE_BLOCK];
    let mut whole = Vec::with_capacity(groups.len());
    let mut done = vec![false; nblocks];
    let mut seeds: Vec<usize> = Vec::new();
    if prune {
        seeds.extend((0..nblocks).filter(|&b| has_match(b)));
        if seeds.len() > SEED_BLOCKS {
            seeds.select_nth_unstable_by(SEED_BLOCKS, |a, b| bound[*b].total_cmp(&bound[*a]));
            seeds.truncate(SEED_BLOCKS);
        }
    }
    let mut scored = Scored::default();
    // A loop over the blocks in the given order (a macro, not a closure: a closure's body
    // would be compiled apart from this kernel, without the wider instructions).
    macro_rules! score_blocks {
        ($blocks:expr) => {
            for b in $blocks {
                if done[b] {
                    continue;
                }
                done[b] = true;
                // Nothing in the block can score above its bound.
                if bound[b] < top.weakest() {
                    continue;
                }
                scored.lanes += score_block(
                    groups, matched, helpful, prune, b, &mut acc, &mut whole, top,
                );
                scored.blocks += 1;
            }
        };
    }
    score_blocks!(seeds.iter().copied());
    if prune && top.is_full() {
        let hmax = helpful.block_max.iter().copied().fold(0.0, f32::max);
        let budget = matched.len() / TIER_BUDGET_ONE_IN;
        if let Some(prefixes) = tier_prefixes(groups, top.weakest(), hmax, budget) {
            scored.tiers = true;
            scored.docs = score_tiers(groups, matched, helpful, &prefixes, hmax, &done, top);
            return scored;
        }
    }
    score_blocks!((0..nblocks).filter(|&b| has_match(b)));
    scored
}

/// What the first pass scored: whole blocks, and whether the rest was documents one by one
/// from the tiers (how many).
#[derive(Default, Debug, Clone, Copy)]
struct Scored {
    blocks: usize,
    /// Lanes of those blocks that were added up.
    lanes: usize,
    tiers: bool,
    docs: usize,
}

/// The tiers are scored document by document only when their chosen prefixes hold at most
/// one document of the segment in this many: scoring a document alone costs about as much
/// as a block of [`SCORE_BLOCK`] does in the vectorized pass.
const TIER_BUDGET_ONE_IN: usize = 24;

/// Once the bar is known (from the seed blocks), the prefixes of the groups' tiers
/// ([`Impacts::tier`]) outside of which no document can reach it, when they are few enough
/// to score one by one (at most `budget` documents together).
///
/// A document outside a group's chosen prefix has at most that prefix's
/// [`below_tier`](Impacts::below_tier) byte there, and at most the group's largest byte
/// anywhere: summed in the groups' order with the scores' own operations (rounding is
/// monotonic) and times the largest tie-break `hmax`, that bounds the score of every
/// document outside all the prefixes. The prefixes are chosen so that this bound is below
/// the bar: whole tiers, the groups whose tier lowers the bound most first, then each one
/// cut as short as the others allow.
fn tier_prefixes(groups: &[Active], bar: f32, hmax: f32, budget: usize) -> Option<Vec<usize>> {
    let bound = |levels: &[u8]| bound(groups, levels, hmax);
    let mut levels: Vec<u8> = groups.iter().map(|Active(i, _)| i.max()).collect();
    let mut prefixes = vec![0usize; groups.len()];
    let gain = |g: usize| {
        let Active(i, w) = &groups[g];
        w * f32::from(i.max() - i.below_tier(i.tier().len()))
    };
    let mut by_gain: Vec<usize> = (0..groups.len()).filter(|&g| gain(g) > 0.0).collect();
    by_gain.sort_by(|&a, &b| gain(b).total_cmp(&gain(a)));
    let mut chosen = Vec::new();
    for g in by_gain {
        if bound(&levels) < bar {
            break;
        }
        let tier = groups[g].0.tier().len();
        levels[g] = groups[g].0.below_tier(tier);
        prefixes[g] = tier;
        chosen.push(g);
    }
    if bound(&levels) >= bar {
        return None;
    }
    for g in chosen {
        let impacts = &groups[g].0;
        // The shortest prefix that still keeps the bound below the bar: the bound only
        // falls as the prefix grows.
        let (mut short, mut long) = (0, prefixes[g]);
        while short < long {
            let mid = (short + long) / 2;
            levels[g] = impacts.below_tier(mid);
            if bound(&levels) < bar {
                long = mid;
            } else {
                short = mid + 1;
            }
        }
        prefixes[g] = long;
        levels[g] = impacts.below_tier(long);
    }
    (prefixes.iter().sum::<usize>() <= budget).then_some(prefixes)
}

/// Scores the matches in the chosen tier prefixes that are not in a block already scored,
/// one by one, with the same additions in the same order as [`score_block`] (a group a
/// document lacks adds `+0.0`, which changes nothing), and offers them. Returns how many
/// were scored.
///
/// With one group's tier to go through, its documents come best first: once the bound of
/// a document with the current byte there (the others at their levels, as in
/// [`tier_prefixes`]) falls below the bar, no later one can enter, and the walk stops.
fn score_tiers(
    groups: &[Active],
    matched: &FixedBitSet,
    helpful: &Helpfulness,
    prefixes: &[usize],
    hmax: f32,
    done: &[bool],
    top: &mut TopK,
) -> usize {
    let mut weakest = top.weakest();
    let mut scored = 0;
    let mut score = |d: usize, weakest: &mut f32| {
        let mut sum = 0.0f32;
        for Active(impacts, w) in groups {
            sum += w * f32::from(impacts.byte(d as DocId));
        }
        let score = sum * helpful.factors[d];
        scored += 1;
        if score >= *weakest {
            top.offer(score, d as DocId);
            *weakest = top.weakest();
        }
    };
    let mut walking = prefixes.iter().enumerate().filter(|(_, p)| **p > 0);
    if let (Some((g, &p)), None) = (walking.next(), walking.next()) {
        let mut levels: Vec<u8> = groups
            .iter()
            .zip(prefixes)
            .map(|(Active(i, _), &p)| i.below_tier(p))
            .collect();
        let tier = &groups[g].0.tier()[..p];
        let mut bound_at = None;
        for &d in tier {
            let byte = groups[g].0.byte(d);
            if bound_at.is_none_or(|(level, _)| level != byte) {
                levels[g] = byte;
                bound_at = Some((byte, bound(groups, &levels, hmax)));
            }
            if bound_at.is_some_and(|(_, b)| b < weakest) {
                break;
            }
            let d = d as usize;
            if matched.contains(d) && !done[d / SCORE_BLOCK] {
                score(d, &mut weakest);
            }
        }
        return scored;
    }
    let mut candidates = FixedBitSet::with_capacity(matched.len());
    for (Active(impacts, _), &p) in groups.iter().zip(prefixes) {
        for &d in &impacts.tier()[..p] {
            candidates.insert(d as usize);
        }
    }
    candidates.intersect_with(matched);
    for d in candidates.ones() {
        if !done[d / SCORE_BLOCK] {
            score(d, &mut weakest);
        }
    }
    scored
}

/// The largest score of a document whose byte in each group is at most that group's
/// level: summed in the groups' order with the scores' own operations (rounding is
/// monotonic), times the largest tie-break `hmax`.
fn bound(groups: &[Active], levels: &[u8], hmax: f32) -> f32 {
    let mut sum = 0.0f32;
    for (Active(_, w), &level) in groups.iter().zip(levels) {
        sum += w * f32::from(level);
    }
    sum * hmax
}

/// Scores block `b` and offers its matches that can enter `top`; returns how many of its
/// lanes it added up.
///
/// Whole blocks of byte-per-document impacts are added four groups per pass over the
/// accumulator, so it is loaded and stored once per four groups rather than per group;
/// document lists, and a partial last block, are added into it first. [`in_summing_order`]
/// puts those groups first, so either way each score adds the groups in their order.
///
/// Lanes of [`SCORE_LANE`] documents: a lane's bound is each group's largest byte there,
/// summed like the scores and times the lane's largest tie-break; the dense groups are added
/// only in lanes whose bound reaches the bar (the others cannot enter, and the bar only
/// rises), so a block where the words' best documents are apart costs little.
///
/// The tie-break is applied only where it can matter. With non-negative scores and the
/// block's largest factor `hb`, a document whose `score * hb` is below the bar cannot enter
/// (rounding is monotonic, so `score * h <= score * hb` for its own `h <= hb`); that check
/// passes over most of a lane at once, and only the rest read their own factor. So the
/// documents offered, and their scores, are those of multiplying every score first.
/// `bounded` says the premise holds (see [`blocks`]); without it every document is
/// multiplied and no lane is passed over.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn score_block<'g>(
    groups: &'g [Active],
    matched: &FixedBitSet,
    helpful: &Helpfulness,
    bounded: bool,
    b: usize,
    acc: &mut [f32; SCORE_BLOCK],
    whole: &mut Vec<(&'g [u8; SCORE_BLOCK], f32)>,
    top: &mut TopK,
) -> usize {
    const ALL_LANES: u32 = u32::MAX >> (32 - LANES_PER_BLOCK);
    let start = b * SCORE_BLOCK;
    let len = (matched.len() - start).min(SCORE_BLOCK);
    let live = if bounded {
        live_lanes(groups, helpful, b, top.weakest())
    } else {
        ALL_LANES
    };
    if live == 0 {
        return 0;
    }
    acc.fill(0.0);
    whole.clear();
    for Active(impacts, w) in groups {
        match impacts.dense_block(b) {
            Some(bytes) if len == SCORE_BLOCK => whole.push((bytes, *w)),
            _ => impacts.add_block(*w, b, &mut acc[..len]),
        }
    }
    let (lanes, _) = acc.as_chunks_mut::<SCORE_LANE>();
    // Macros, not closures, for the loops below: a closure's body is compiled apart from
    // this kernel, without the wider instructions (see [`blocks`]).
    macro_rules! lane {
        ($bytes:expr, $l:expr) => {
            &$bytes.as_chunks::<SCORE_LANE>().0[$l]
        };
    }
    macro_rules! for_each_lane {
        ($live:expr, $l:ident, $body:block) => {
            let mut bits: u32 = $live;
            while bits != 0 {
                let $l = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                $body
            }
        };
    }
    let mut fours = whole.chunks_exact(4);
    for g in &mut fours {
        let [(b0, w0), (b1, w1), (b2, w2), (b3, w3)] = [g[0], g[1], g[2], g[3]];
        for_each_lane!(live, l, {
            let (x0, x1, x2, x3) = (lane!(b0, l), lane!(b1, l), lane!(b2, l), lane!(b3, l));
            let out = &mut lanes[l];
            for j in 0..SCORE_LANE {
                let mut a = out[j];
                a += w0 * f32::from(x0[j]);
                a += w1 * f32::from(x1[j]);
                a += w2 * f32::from(x2[j]);
                a += w3 * f32::from(x3[j]);
                out[j] = a;
            }
        });
    }
    for &(bytes, w) in fours.remainder() {
        for_each_lane!(live, l, {
            for (a, &i) in lanes[l].iter_mut().zip(lane!(bytes, l)) {
                *a += w * f32::from(i);
            }
        });
    }
    let factors = &helpful.factors[start..start + len];
    let hb = if bounded {
        helpful.block_max[b]
    } else {
        f32::INFINITY
    };
    let mut weakest = top.weakest();
    for_each_lane!(live, c, {
        if c * SCORE_LANE >= len {
            break;
        }
        let lane = &lanes[c];
        // Vectorized: a compare per document into a mask. Only the documents it holds can
        // enter (each one's own factor is at most `hb`), and the bar only rises while they
        // are offered, so the others need not be looked at one by one.
        let mut reach: u32 = u32::MAX >> (32 - SCORE_LANE);
        if bounded {
            reach = 0;
            for (j, &a) in lane.iter().enumerate() {
                reach |= u32::from(a * hb >= weakest) << j;
            }
        }
        for_each_lane!(reach, j, {
            let at = c * SCORE_LANE + j;
            let Some(&h) = factors.get(at) else { break };
            let score = lane[j] * h;
            let doc = start + at;
            if score >= weakest && matched.contains(doc) {
                top.offer(score, doc as DocId);
                weakest = top.weakest();
            }
        });
    });
    live.count_ones() as usize
}

/// The lanes of block `b` (a bit each) whose bound reaches `bar`: each group's largest byte
/// in the lane (a sparse list's largest in the block), summed in the scores' order with
/// their operations, times the lane's largest tie-break. Inlined into the vectorized pass.
#[inline(always)]
fn live_lanes(groups: &[Active], helpful: &Helpfulness, b: usize, bar: f32) -> u32 {
    let mut bound = [0f32; LANES_PER_BLOCK];
    for Active(impacts, w) in groups {
        match impacts.lane_max(b) {
            Some(m) => {
                for (l, &m) in bound.iter_mut().zip(m) {
                    *l += w * f32::from(m);
                }
            }
            None => {
                let m = w * f32::from(impacts.block_max()[b]);
                for l in &mut bound {
                    *l += m;
                }
            }
        }
    }
    let factors = helpful
        .lane_max
        .get(b)
        .copied()
        .unwrap_or([f32::NEG_INFINITY; LANES_PER_BLOCK]);
    let mut live = 0;
    for (l, (bound, h)) in bound.into_iter().zip(factors).enumerate() {
        live |= u32::from(bound * h >= bar) << l;
    }
    live
}

/// The `k` best (score, doc) offered, by a heap whose top is the weakest kept one.
struct TopK {
    k: usize,
    heap: BinaryHeap<Candidate>,
}

impl TopK {
    fn new(k: usize) -> Self {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    /// Whether a document with this score would be kept: above the weakest kept one, or
    /// level with it and earlier in the segment (as tantivy's order breaks ties).
    fn would_take(&self, score: Score, doc: DocId) -> bool {
        match self.heap.peek() {
            Some(c) if self.heap.len() >= self.k => score > c.0 || (score == c.0 && doc < c.1),
            _ => self.k > 0,
        }
    }

    /// Whether `k` are kept (so that [`weakest`](Self::weakest) is a real bar).
    fn is_full(&self) -> bool {
        self.k > 0 && self.heap.len() >= self.k
    }

    /// The score a document must exceed to be kept (minus infinity until `k` are kept).
    fn weakest(&self) -> Score {
        match self.heap.peek() {
            Some(c) if self.heap.len() >= self.k => c.0,
            _ => Score::NEG_INFINITY,
        }
    }

    fn offer(&mut self, score: Score, doc: DocId) {
        if !self.would_take(score, doc) {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Candidate(score, doc));
        } else if let Some(mut weakest) = self.heap.peek_mut() {
            // Replacing the weakest in place sifts down once; a push and a pop sift twice.
            *weakest = Candidate(score, doc);
        }
    }

    fn into_sorted_docs(self) -> Vec<DocId> {
        let mut docs: Vec<DocId> = self.heap.into_iter().map(|c| c.1).collect();
        docs.sort_unstable();
        docs
    }
}

/// Score order for a min-heap of candidates (ties: the later document is the weaker).
#[derive(PartialEq)]
struct Candidate(Score, DocId);

impl Eq for Candidate {}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .0
            .total_cmp(&self.0)
            .then_with(|| self.1.cmp(&other.1))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Scores per document: absent, or one of a few levels (so that many tie), with high
    /// scores now and then packed into one stretch (as a word's best documents can be).
    fn random_scores(rng: &mut StdRng, n: usize) -> Vec<f32> {
        let density = [0.004, 0.1, 0.6, 1.0][rng.gen_range(0..4)];
        let levels = rng.gen_range(1..8);
        let hot = rng.gen_range(0..n);
        (0..n)
            .map(|d| {
                if !rng.gen_bool(density) {
                    return 0.0;
                }
                let level = rng.gen_range(1..=levels) as f32;
                if d.abs_diff(hot) < 40 {
                    level * 3.0
                } else {
                    level
                }
            })
            .collect()
    }

    /// The candidates, and what was scored (nothing for [`How::Gather`]), computed with the
    /// widest instruction set or (`vector` false) the baseline one.
    fn candidates(
        groups: &[Active],
        matched: &FixedBitSet,
        helpful: &Helpfulness,
        k: usize,
        how: How,
        vector: bool,
    ) -> (Vec<DocId>, Scored) {
        let mut top = TopK::new(k);
        let rank = Rank {
            groups,
            matched,
            helpful,
            top: &mut top,
            how,
        };
        let scored = if vector {
            simd::vectorized(rank)
        } else {
            simd::scalar(rank)
        };
        (top.into_sorted_docs(), scored)
    }

    #[test]
    fn block_max_pruning_and_tiers_keep_exactly_the_candidates_of_scoring_every_document() {
        let mut rng = StdRng::seed_from_u64(20261201);
        let mut blocks_scored = (0, 0);
        let mut lanes_scored = (0, 0);
        let mut tiers_used = 0;
        let runs = 400;
        for _ in 0..runs {
            let n = if rng.gen_bool(0.3) {
                rng.gen_range(5_000..40_000)
            } else {
                rng.gen_range(1..5_000)
            };
            let mut groups: Vec<Active> = (0..rng.gen_range(1..6))
                .map(|_| {
                    let impacts = Impacts::from_scores(&random_scores(&mut rng, n));
                    let weight = rng.gen_range(0.1..3.0);
                    Active(Arc::new(impacts), weight)
                })
                .collect();
            in_summing_order(&mut groups);
            let helpful = Helpfulness::new(if rng.gen_bool(0.5) {
                vec![1.0; n]
            } else {
                (0..n).map(|_| rng.gen_range(0.975..1.025)).collect()
            });
            let mut matched = FixedBitSet::with_capacity(n);
            let keep = [0.05, 0.5, 1.0][rng.gen_range(0..3)];
            for d in 0..n {
                matched.set(d, rng.gen_bool(keep));
            }
            let k = rng.gen_range(1..40);
            let run = |how, vector| candidates(&groups, &matched, &helpful, k, how, vector);
            let (every, _) = run(How::Gather, false);
            let (unpruned, all) = run(How::Blocks(Prune::No), true);
            let (pruned, some) = run(How::Blocks(Prune::Yes), true);
            assert_eq!(unpruned, every, "n={n} k={k}");
            assert_eq!(pruned, every, "n={n} k={k} {some:?}");
            assert_eq!(run(How::Gather, true).0, every, "n={n} k={k}");
            let (scalar, scalar_scored) = run(How::Blocks(Prune::Yes), false);
            assert_eq!(scalar, every, "n={n} k={k} {scalar_scored:?}");
            assert!(!all.tiers && some.blocks <= all.blocks);
            blocks_scored.0 += some.blocks;
            blocks_scored.1 += all.blocks;
            lanes_scored.0 += some.lanes;
            lanes_scored.1 += some.blocks * LANES_PER_BLOCK;
            tiers_used += usize::from(some.tiers);
        }
        // The test must also see pruning and the tiers at work, or it says nothing of them.
        assert!(
            blocks_scored.0 * 4 < blocks_scored.1 * 3,
            "blocks scored pruned / unpruned: {blocks_scored:?}"
        );
        assert!(
            lanes_scored.0 * 10 < lanes_scored.1 * 9,
            "lanes added / lanes of the blocks scored: {lanes_scored:?}"
        );
        assert!(
            tiers_used * 5 > runs,
            "the tiers decided {tiers_used} of {runs} runs"
        );
    }
}
