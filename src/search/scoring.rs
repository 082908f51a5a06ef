//! The full scoring model of a search, as a small tree this module can evaluate for a few
//! candidate documents.
//!
//! The model: for each query word, the best field wins plus a tie-breaker share of the others
//! (so a word repeated in every field of one article cannot outweigh a rarer word matched
//! elsewhere); typo expansions score a constant per field; synonyms score like words at a
//! lower weight; the whole query as a phrase in the title or questions adds a bonus; CJK
//! bigrams add a little. Scores are tantivy's BM25 for each leaf, combined exactly as the
//! equivalent tantivy query (`ScoreTree::to_query`, which the tests compare against) would.
//!
//! Why evaluate it here instead of running that tantivy query: a frequent word (宽带) matches
//! most of the index, and the tantivy query would score every match through nested unions of
//! ~50 scorers. The search instead picks a few candidates cheaply (see `search.rs`) and this
//! module scores only those: from a segment's exact scores when it is small, from a dense
//! term's cached frequencies when it is large, else by seeking the leaf's posting list to each
//! candidate in turn (all three give tantivy's scores).

use std::sync::Arc;

use fixedbitset::FixedBitSet;

use super::stats::{CachedStats, CachedWeight, ScoreList};
use tantivy::query::{EnableScoring, PhraseQuery, Query, TermQuery, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, SeekDangerResult, SegmentReader, TERMINATED, Term};

/// A phrase's matches in one segment, by field and positioned terms.
pub(crate) type PhraseDocs<'a> =
    dyn Fn(Field, &[(usize, String)]) -> tantivy::Result<Arc<FixedBitSet>> + 'a;

/// A term (one entry in `terms`) or a phrase (several, with their positions) in one field.
pub(crate) struct Leaf {
    pub field: Field,
    pub terms: Vec<(usize, String)>,
    pub boost: f32,
    /// Whether a document matching this leaf alone belongs to the results. False for the
    /// whole-query phrase: a document containing it contains its words, which are leaves of
    /// their own.
    pub admits: bool,
    /// Index into [`ScoreTree::postings`]: leaves on the same field and terms (a word and its
    /// typo expansions, a synonym of a query word) share one posting walk.
    source: usize,
}

pub(crate) enum Node {
    /// The sum of the matching children's scores (a boolean OR).
    Any(Vec<Node>),
    /// The best matching child's score plus `tie` times the other matching children's.
    Best { children: Vec<Node>, tie: f32 },
    /// `score` when the child matches, whatever its own score.
    Const { child: Box<Node>, score: f32 },
    /// An index into [`ScoreTree::leaves`].
    Leaf(usize),
}

#[derive(Default)]
pub(crate) struct ScoreTree {
    pub leaves: Vec<Leaf>,
    /// The distinct (field, terms) of the leaves.
    postings: Vec<(Field, Vec<(usize, String)>)>,
}

/// Per distinct posting list, its BM25 (boost 1) per candidate; `NaN` where it does not match.
struct LeafScores<'a> {
    scores: &'a [f32],
    candidates: usize,
}

impl LeafScores<'_> {
    fn get(&self, source: usize, candidate: usize) -> Option<Score> {
        let s = self.scores[source * self.candidates + candidate];
        (!s.is_nan()).then_some(s)
    }
}

impl ScoreTree {
    /// Adds a leaf and returns the node that refers to it.
    pub fn leaf(&mut self, field: Field, terms: Vec<(usize, String)>, boost: f32) -> Node {
        let source = match self
            .postings
            .iter()
            .position(|(f, t)| *f == field && *t == terms)
        {
            Some(i) => i,
            None => {
                self.postings.push((field, terms.clone()));
                self.postings.len() - 1
            }
        };
        self.leaves.push(Leaf {
            field,
            terms,
            boost,
            admits: true,
            source,
        });
        Node::Leaf(self.leaves.len() - 1)
    }

    /// Adds a leaf whose matches are already admitted by other leaves (see [`Leaf::admits`]).
    pub fn bonus_leaf(&mut self, field: Field, terms: Vec<(usize, String)>, boost: f32) -> Node {
        let node = self.leaf(field, terms, boost);
        if let Some(l) = self.leaves.last_mut() {
            l.admits = false;
        }
        node
    }

    /// The unboosted term or phrase query of one posting source.
    fn source_query(field: Field, terms: &[(usize, String)]) -> Box<dyn Query> {
        if let [(_, term)] = terms {
            Box::new(TermQuery::new(
                Term::from_field_text(field, term),
                IndexRecordOption::WithFreqs,
            ))
        } else {
            Box::new(PhraseQuery::new_with_offset(
                terms
                    .iter()
                    .map(|(o, t)| (*o, Term::from_field_text(field, t)))
                    .collect(),
            ))
        }
    }

    /// The equivalent tantivy query: the same matches and the same scores (the reference the
    /// tests hold the evaluation above to).
    #[cfg(test)]
    pub fn to_query(&self, node: &Node) -> Box<dyn Query> {
        use tantivy::query::{BooleanQuery, ConstScoreQuery, DisjunctionMaxQuery, Occur};
        match node {
            Node::Any(children) => Box::new(BooleanQuery::new(
                children
                    .iter()
                    .map(|c| (Occur::Should, self.to_query(c)))
                    .collect(),
            )),
            Node::Best { children, tie } => Box::new(DisjunctionMaxQuery::with_tie_breaker(
                children.iter().map(|c| self.to_query(c)).collect(),
                *tie,
            )),
            Node::Const { child, score } => {
                Box::new(ConstScoreQuery::new(self.to_query(child), *score))
            }
            Node::Leaf(i) => {
                let l = &self.leaves[*i];
                Box::new(tantivy::query::BoostQuery::new(
                    Self::source_query(l.field, &l.terms),
                    l.boost,
                ))
            }
        }
    }

    /// One weight per distinct posting source (BM25 statistics over the whole searcher).
    /// `stats` remembers them for the searcher's generation: a weight depends only on the
    /// source and those statistics.
    pub fn weights(
        &self,
        scoring: EnableScoring<'_>,
        stats: &CachedStats<'_>,
    ) -> tantivy::Result<Vec<Arc<CachedWeight>>> {
        self.postings
            .iter()
            .map(|(field, terms)| {
                stats.weight(*field, terms, || {
                    Self::source_query(*field, terms)
                        .weight(scoring)
                        .map(Arc::from)
                })
            })
            .collect()
    }

    /// The score of each candidate (ascending doc ids of one segment) under `root`, `None`
    /// for a candidate the model does not match. `phrase_docs` gives a phrase's matches in
    /// the segment (field, positioned terms): only those candidates are sought in its
    /// positions, most often none.
    pub fn score(
        &self,
        root: &Node,
        weights: &[Arc<CachedWeight>],
        seg: &SegmentReader,
        candidates: &[DocId],
        phrase_docs: &PhraseDocs<'_>,
    ) -> tantivy::Result<Vec<Option<Score>>> {
        let n = candidates.len();
        let mut scores = vec![f32::NAN; weights.len() * n];
        if n == 0 {
            return Ok(Vec::new());
        }
        for (i, (weight, (field, terms))) in weights.iter().zip(&self.postings).enumerate() {
            let row = &mut scores[i * n..(i + 1) * n];
            if let Some(all) = weight.segment_scores(seg)? {
                Self::look_up(&all, candidates, row);
            } else if let Some(freqs) = weight.segment_freqs(seg)? {
                weight.score_from_freqs(seg, &freqs, candidates, row)?;
            } else if terms.len() > 1 {
                let docs = phrase_docs(*field, terms)?;
                let (at, some): (Vec<usize>, Vec<DocId>) = candidates
                    .iter()
                    .enumerate()
                    .filter(|&(_, &d)| docs.contains(d as usize))
                    .unzip();
                if !some.is_empty() {
                    let mut found = vec![f32::NAN; some.len()];
                    Self::seek(weight.weight.as_ref(), seg, &some, &mut found)?;
                    for (j, score) in at.into_iter().zip(found) {
                        row[j] = score;
                    }
                }
            } else {
                Self::seek(weight.weight.as_ref(), seg, candidates, row)?;
            }
        }
        let table = LeafScores {
            scores: &scores,
            candidates: n,
        };
        Ok((0..n).map(|j| self.eval(root, &table, j)).collect())
    }

    /// Fills `row` (one score per candidate, `NaN` where the source does not match) from a
    /// segment's exact scores.
    fn look_up(all: &ScoreList, candidates: &[DocId], row: &mut [f32]) {
        for (&doc, slot) in candidates.iter().zip(row.iter_mut()) {
            if let Some(score) = all.get(doc) {
                *slot = score;
            }
        }
    }

    /// Fills `row` by seeking the source's posting list to each candidate in turn.
    fn seek(
        weight: &dyn Weight,
        seg: &SegmentReader,
        candidates: &[DocId],
        row: &mut [f32],
    ) -> tantivy::Result<()> {
        // `scorer_danger` starts the scorer at the first candidate and `seek_danger` answers
        // "is this document in the set" without moving on to the next match: a phrase
        // scorer's `scorer`/`seek` would check the positions of every document before and
        // between the candidates.
        let (mut found, mut scorer) = weight.scorer_danger(seg, candidates[0], 1.0)?;
        for (j, &doc) in candidates.iter().enumerate() {
            if j > 0 {
                // No candidate below `lower` can match.
                let lower = match found {
                    SeekDangerResult::Found => candidates[j - 1] + 1,
                    SeekDangerResult::SeekLowerBound(bound) => bound,
                };
                if lower == TERMINATED {
                    break;
                }
                if doc < lower {
                    found = SeekDangerResult::SeekLowerBound(lower);
                    continue;
                }
                found = scorer.seek_danger(doc);
            }
            if found == SeekDangerResult::Found {
                row[j] = scorer.score();
            }
        }
        Ok(())
    }

    /// Combines leaf scores the way tantivy's scorers do: children in order, sums from 0.
    fn eval(&self, node: &Node, table: &LeafScores<'_>, j: usize) -> Option<Score> {
        match node {
            Node::Leaf(i) => {
                let l = &self.leaves[*i];
                table.get(l.source, j).map(|s| s * l.boost)
            }
            Node::Any(children) => {
                let mut sum: Score = 0.0;
                let mut any = false;
                for c in children {
                    if let Some(s) = self.eval(c, table, j) {
                        sum += s;
                        any = true;
                    }
                }
                any.then_some(sum)
            }
            Node::Best { children, tie } => {
                let (mut max, mut sum, mut any) = (Score::MIN, 0.0, false);
                for c in children {
                    if let Some(s) = self.eval(c, table, j) {
                        max = max.max(s);
                        sum += s;
                        any = true;
                    }
                }
                any.then(|| max + (sum - max) * tie)
            }
            Node::Const { child, score } => self.eval(child, table, j).map(|_| *score),
        }
    }
}
