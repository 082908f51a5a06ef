//! Highlights: the best fragment of a stored text with the query's words marked, safe to
//! insert as HTML.
//!
//! tantivy's snippet generator re-runs the field's analyser (jieba) over each hit's whole
//! text, which cost more than the rest of a search together. This finds the words without
//! segmenting: the text is normalised like indexed text ([`analysis::normalize`]: width,
//! case, traditional → simplified, with a map back to the original bytes), Chinese and other
//! non-ASCII words are found as substrings, and ASCII words are compared through the same
//! English stemmer the index uses, so `resetting` is marked for `reset`.

use std::collections::HashSet;
use std::ops::Range;

use aho_corasick::{AhoCorasick, MatchKind};
use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

use super::analysis;

/// Characters of a fragment (as many as tantivy's generator was given).
pub(crate) const FRAGMENT_CHARS: usize = 160;

pub(crate) struct Highlighter {
    /// Non-ASCII terms, matched as substrings of the normalised text (longest first).
    substrings: Option<AhoCorasick>,
    /// ASCII terms as the index holds them (lower-cased, stemmed).
    words: HashSet<String>,
}

impl Highlighter {
    /// For a query's terms as analysed (the index's form). `None` when none can be shown.
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut words = HashSet::new();
        let mut substrings: Vec<&str> = Vec::new();
        for t in terms {
            if t.is_empty() {
                continue;
            }
            if t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                words.insert(t.to_string());
            } else if !substrings.contains(&t) {
                substrings.push(t);
            }
        }
        let substrings = if substrings.is_empty() {
            None
        } else {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&substrings)
                .ok()
        };
        if substrings.is_none() && words.is_empty() {
            return None;
        }
        Some(Highlighter { substrings, words })
    }

    /// The best fragment of `text` (the one with the most distinct matched terms, then the
    /// most matches), escaped, with matches in `<mark>`; `None` when nothing matches.
    pub fn fragment(&self, text: &str) -> Option<String> {
        let matches = self.find(text);
        if matches.is_empty() {
            return None;
        }
        let (start, end) = best_window(text, &matches);
        let inside: Vec<Range<usize>> = matches
            .iter()
            .filter(|m| m.range.start >= start && m.range.end <= end)
            .map(|m| m.range.start - start..m.range.end - start)
            .collect();
        Some(super::render_snippet(&text[start..end], &inside))
    }

    /// Matches in `text`, as byte ranges of the original, in order, not overlapping.
    fn find(&self, text: &str) -> Vec<Match> {
        let norm = analysis::normalize(text);
        let mut out = Vec::new();
        if let Some(ac) = &self.substrings {
            let s: String = norm.chars.iter().collect();
            // Byte offset in `s` -> char index in `norm.chars`.
            let mut char_at = Vec::with_capacity(s.len() + 1);
            for (i, c) in norm.chars.iter().enumerate() {
                char_at.extend(std::iter::repeat_n(i, c.len_utf8()));
            }
            char_at.push(norm.chars.len());
            for m in ac.find_iter(&s) {
                let (a, b) = (char_at[m.start()], char_at[m.end()]);
                if a < b {
                    out.push(Match {
                        range: norm.map[a].0..norm.map[b - 1].1,
                        term: m.pattern().as_usize(),
                    });
                }
            }
        }
        if !self.words.is_empty() {
            let mut stem = Stemming::default();
            let cs = &norm.chars;
            let mut i = 0;
            while i < cs.len() {
                if !cs[i].is_ascii_alphanumeric() {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < cs.len() && cs[i].is_ascii_alphanumeric() {
                    i += 1;
                }
                let word: String = cs[start..i].iter().collect();
                if let Some(term) = self.word_term(&word, &mut stem) {
                    out.push(Match {
                        range: norm.map[start].0..norm.map[i - 1].1,
                        term,
                    });
                }
            }
            out.sort_by_key(|m| m.range.start);
        }
        out
    }

    /// An id of the query term `word` is a form of, if any (a hash: it only has to tell
    /// terms apart within one fragment).
    fn word_term(&self, word: &str, stem: &mut Stemming) -> Option<usize> {
        if self.words.contains(word) {
            return Some(term_id(word));
        }
        // Stemming every word of a body is the costly part: only words that start like some
        // term can stem to it (English stems are prefixes, give or take a final letter).
        let head = |s: &str| s.get(..3.min(s.len())).unwrap_or(s).to_string();
        if !self.words.iter().any(|t| word.starts_with(&head(t))) {
            return None;
        }
        let s = stem.stem(word);
        self.words.contains(&s).then(|| term_id(&s))
    }
}

fn term_id(s: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    h.finish() as usize >> 1
}

struct Match {
    range: Range<usize>,
    /// Which term matched (distinct terms make a better fragment than repeats).
    term: usize,
}

/// The byte range of the fragment: starts at a match and holds at most [`FRAGMENT_CHARS`]
/// characters; among the candidates, the one covering the most distinct terms, then the
/// most matches, then the earliest.
fn best_window(text: &str, matches: &[Match]) -> (usize, usize) {
    let mut best = (0usize, 0usize, 0usize, text.len());
    for (i, m) in matches.iter().enumerate() {
        let start = m.range.start;
        let end = text[start..]
            .char_indices()
            .nth(FRAGMENT_CHARS)
            .map_or(text.len(), |(o, _)| start + o);
        let inside = matches[i..].iter().take_while(|x| x.range.end <= end);
        let mut terms: Vec<usize> = Vec::new();
        let mut count = 0;
        for x in inside {
            count += 1;
            if !terms.contains(&x.term) {
                terms.push(x.term);
            }
        }
        if (terms.len(), count) > (best.0, best.1) {
            best = (terms.len(), count, start, end);
        }
    }
    (best.2, best.3)
}

/// The index's English stemmer, over one word at a time.
struct Stemming {
    analyzer: TextAnalyzer,
}

impl Default for Stemming {
    fn default() -> Self {
        Stemming {
            analyzer: TextAnalyzer::builder(OneToken)
                .filter(Stemmer::new(Language::English))
                .build(),
        }
    }
}

impl Stemming {
    fn stem(&mut self, word: &str) -> String {
        let mut ts = self.analyzer.token_stream(word);
        if ts.advance() {
            ts.token().text.clone()
        } else {
            word.to_string()
        }
    }
}

/// The whole input as one token.
#[derive(Clone)]
struct OneToken;

struct OneTokenStream {
    token: Token,
    done: bool,
}

impl Tokenizer for OneToken {
    type TokenStream<'a> = OneTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> OneTokenStream {
        OneTokenStream {
            token: Token {
                offset_from: 0,
                offset_to: text.len(),
                position: 0,
                text: text.to_string(),
                position_length: 1,
            },
            done: false,
        }
    }
}

impl TokenStream for OneTokenStream {
    fn advance(&mut self) -> bool {
        !std::mem::replace(&mut self.done, true)
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hl(terms: &[&str], text: &str) -> Option<String> {
        Highlighter::new(terms.iter().copied())?.fragment(text)
    }

    #[test]
    fn marks_chinese_words_in_either_script_and_escapes() {
        assert_eq!(
            hl(&["宽带", "上网"], "家里<寬頻>不行，宽带无法上网").as_deref(),
            Some("<mark>宽带</mark>无法<mark>上网</mark>")
        );
        assert_eq!(
            hl(&["宽带"], "寬帶 & 网络").as_deref(),
            Some("<mark>寬帶</mark> &amp; 网络")
        );
    }

    #[test]
    fn marks_english_forms_through_the_stemmer() {
        let out = hl(&["reset", "password"], "Resetting your Password: <b>").unwrap();
        assert_eq!(
            out,
            "<mark>Resetting</mark> your <mark>Password</mark>: &lt;b&gt;"
        );
        assert!(hl(&["reset"], "nothing here").is_none());
    }

    #[test]
    fn prefers_the_window_with_more_distinct_terms() {
        let text = format!("modem {} modem router", "x ".repeat(100));
        let out = hl(&["modem", "router"], &text).unwrap();
        assert!(out.contains("<mark>router</mark>"), "{out}");
        assert!(out.chars().count() <= FRAGMENT_CHARS + 40);
    }
}
