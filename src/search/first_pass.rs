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
//! This is term at a time: a few additions per document and word, however evenly scores are
//! spread. Block-max WAND cannot skip anything when every block holds a near-best document,
//! which is what frequent terms in a knowledge base look like.

use fixedbitset::FixedBitSet;
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::schema::Field;
use tantivy::{DocId, Score, Searcher, SegmentReader};

use super::docsets::{self, DocSetCache, Impacts};

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
        let helpful = cache.helpfulness(seg)?;
        let mut top = TopK::new(k);
        let n = matched.count_ones(..);
        if n * 16 < matched.len() {
            self.gather(&groups, matched, &helpful, &mut top);
        } else {
            self.blocks(&groups, matched, &helpful, &mut top);
        }
        Ok(top.into_sorted_docs())
    }

    /// Few matches (a filter): each one scored directly, in doc order (a rare word's list is
    /// walked alongside).
    fn gather(&self, groups: &[Active], matched: &FixedBitSet, helpful: &[f32], top: &mut TopK) {
        let mut readers: Vec<docsets::ImpactCursor<'_>> =
            groups.iter().map(|Active(i, w)| i.cursor(*w)).collect();
        for doc in matched.ones() {
            let score: f32 = readers.iter_mut().map(|r| r.score(doc as DocId)).sum();
            top.offer(score * helpful[doc], doc as DocId);
        }
    }

    /// Many matches: block by block into an accumulator that stays in cache, then the block's
    /// matches offered.
    fn blocks(&self, groups: &[Active], matched: &FixedBitSet, helpful: &[f32], top: &mut TopK) {
        const BLOCK: usize = 4096;
        let mut acc = vec![0f32; BLOCK];
        for start in (0..matched.len()).step_by(BLOCK) {
            let len = (matched.len() - start).min(BLOCK);
            let acc = &mut acc[..len];
            acc.fill(0.0);
            for Active(impacts, w) in groups {
                impacts.add_range(*w, start, acc);
            }
            for (a, h) in acc.iter_mut().zip(&helpful[start..start + len]) {
                *a *= h;
            }
            // Only scores above the weakest kept candidate can enter: most of a block is
            // passed over eight at a time, and just those few are checked against the match
            // set (a document outside it, e.g. filtered out, may still have a score).
            let mut weakest = top.weakest();
            for (c, chunk) in acc.chunks(8).enumerate() {
                if chunk.iter().all(|&a| a <= weakest) {
                    continue;
                }
                for (j, &a) in chunk.iter().enumerate() {
                    let doc = start + c * 8 + j;
                    if a > weakest && matched.contains(doc) {
                        top.offer(a, doc as DocId);
                        weakest = top.weakest();
                    }
                }
            }
        }
    }
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

    /// Whether a document with this score (and a later doc id) would be kept.
    fn would_take(&self, score: Score) -> bool {
        score > self.weakest()
    }

    /// The score a document must exceed to be kept (minus infinity until `k` are kept).
    fn weakest(&self) -> Score {
        match self.heap.peek() {
            Some(c) if self.heap.len() >= self.k => c.0,
            _ => Score::NEG_INFINITY,
        }
    }

    fn offer(&mut self, score: Score, doc: DocId) {
        if !self.would_take(score) {
            return;
        }
        self.heap.push(Candidate(score, doc));
        if self.heap.len() > self.k {
            self.heap.pop();
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
