//! Highlights: the best fragment of a stored text with the query's words marked, safe to
//! insert as HTML.
//!
//! tantivy's snippet generator re-runs the field's analyser (jieba) over each hit's whole
//! text, which cost more than the rest of a search together. This finds the words without
//! segmenting: the text's width and case are normalised like indexed text (with a map back
//! to the original bytes), Chinese and other non-ASCII words are found as substrings in both
//! simplified and traditional script, and ASCII words are compared through the same English
//! stemmer the index uses, so `resetting` is marked for `reset`.

use std::ops::Range;

use aho_corasick::packed;
use rustc_hash::{FxHashMap, FxHashSet};

use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

use super::analysis;

/// Characters of a fragment (as many as tantivy's generator was given).
pub(crate) const FRAGMENT_CHARS: usize = 160;

/// At most this many characters of context before a fragment's first match.
const LEAD_CHARS: usize = 24;

pub(crate) struct Highlighter {
    /// Non-ASCII terms, matched as substrings of the normalised text (longest first).
    substrings: Option<Substrings>,
    /// The same, searched with SIMD where the CPU allows (`substrings` is the fallback).
    packed_substrings: Option<Packed>,
    /// ASCII terms as the index holds them (lower-cased, stemmed).
    words: FxHashSet<String>,
    /// The first three letters of each ASCII term: only words starting so are stemmed.
    heads: Vec<String>,
    /// `heads` searched with SIMD: finds the words worth looking at without visiting every
    /// word of the text.
    packed_heads: Option<Packed>,
    /// Whether some pattern has ASCII letters, so a text with capitals is searched lower-cased.
    case_matters: bool,
    /// Words already stemmed for this query, and the term each is a form of.
    seen: FxHashMap<String, Option<usize>>,
    /// Made on first use (most Chinese queries never stem).
    stemmer: Option<Stemming>,
}

impl Highlighter {
    /// For a query's terms as analysed (the index's form). `None` when none can be shown.
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> Option<Self> {
        let mut words = FxHashSet::default();
        let mut substrings: Vec<String> = Vec::new();
        let mut pattern_term = Vec::new();
        for (term, t) in terms.into_iter().enumerate() {
            if t.is_empty() {
                continue;
            }
            if t.bytes().all(|b| b.is_ascii_alphanumeric()) {
                words.insert(t.to_string());
                continue;
            }
            // Texts are not folded to simplified Chinese here (that is the costly step of
            // normalising them): a word is searched in both scripts instead.
            let traditional = zhconv::zhconv(t, zhconv::Variant::ZhHant);
            for form in [t.to_string(), traditional] {
                if !substrings.contains(&form) {
                    substrings.push(form);
                    pattern_term.push(term);
                }
            }
        }
        let case_matters = !words.is_empty()
            || substrings
                .iter()
                .any(|p| p.bytes().any(|b| b.is_ascii_alphabetic()));
        let packed_substrings = Packed::new(
            packed::MatchKind::LeftmostLongest,
            substrings
                .iter()
                .map(String::as_str)
                .zip(pattern_term.iter().copied()),
        );
        let substrings = Substrings::new(substrings.into_iter().zip(pattern_term));
        if substrings.is_none() && words.is_empty() {
            return None;
        }
        let mut heads: Vec<String> = words
            .iter()
            .map(|t: &String| t.chars().take(3).collect::<String>())
            .collect();
        heads.sort();
        heads.dedup();
        let packed_heads = Packed::new(
            packed::MatchKind::LeftmostFirst,
            heads.iter().map(|h| (h.as_str(), 0)),
        );
        Some(Highlighter {
            substrings,
            packed_substrings,
            words,
            heads,
            packed_heads,
            case_matters,
            seen: FxHashMap::default(),
            stemmer: None,
        })
    }

    /// The best fragment of `text` (the one with the most distinct matched terms, then the
    /// most matches), escaped, with matches in `<mark>`; `None` when nothing matches.
    #[cfg(test)]
    pub fn fragment(&mut self, text: &str) -> Option<String> {
        self.fragment_of(text, needs_width_folding(text))
    }

    /// [`fragment`](Self::fragment) for a text whose [`needs_width_folding`] is known.
    pub fn fragment_of(&mut self, text: &str, needs_folding: bool) -> Option<String> {
        let matches = self.find(text, needs_folding);
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
    fn find(&mut self, text: &str, needs_folding: bool) -> Vec<Match> {
        if !needs_folding {
            // Chinese, ASCII and punctuation only: matching the text as it is finds what
            // matching its normalised form would (case is ignored for ASCII).
            return self.find_in(text, |a, b| Some(a..b));
        }
        let norm = analysis::normalize_width_and_case(text);
        let s: String = norm.chars.iter().collect();
        // Byte offset in `s` -> char index in `norm.chars`.
        let mut char_at = Vec::with_capacity(s.len() + 1);
        for (i, c) in norm.chars.iter().enumerate() {
            char_at.extend(std::iter::repeat_n(i, c.len_utf8()));
        }
        char_at.push(norm.chars.len());
        self.find_in(&s, |a, b| {
            let (a, b) = (char_at[a], char_at[b]);
            (a < b).then(|| norm.map[a].0..norm.map[b - 1].1)
        })
    }

    /// Matches in `s`, mapped to the original's byte ranges by `original`.
    fn find_in(
        &mut self,
        s: &str,
        original: impl Fn(usize, usize) -> Option<Range<usize>>,
    ) -> Vec<Match> {
        let mut out = Vec::new();
        // The SIMD searchers compare bytes exactly and the patterns are lower-case. ASCII
        // lower-casing keeps every byte offset, so matches in the copy are matches in `s`.
        let lowered;
        let hay: &[u8] = if self.case_matters && has_ascii_uppercase(s) {
            lowered = s.as_bytes().to_ascii_lowercase();
            &lowered
        } else {
            s.as_bytes()
        };
        if let Some(packed) = &self.packed_substrings {
            // Patterns are whole UTF-8 characters, so every match starts and ends on a
            // character boundary of `s`.
            for m in packed.searcher.find_iter(hay) {
                if let Some(range) = original(m.start(), m.end()) {
                    out.push(Match {
                        range,
                        term: packed.terms[m.pattern().as_usize()],
                    });
                }
            }
        } else if let Some(subs) = &self.substrings {
            subs.find_each(s, |start, end, term| {
                if let Some(range) = original(start, end) {
                    out.push(Match { range, term });
                }
            });
        }
        if !self.words.is_empty() {
            let before = out.len();
            match self.packed_heads.take() {
                Some(heads) => {
                    self.find_words_at_heads(hay, &heads, &original, &mut out);
                    self.packed_heads = Some(heads);
                }
                None => self.find_words(s, &original, &mut out),
            }
            if out.len() > before && before > 0 {
                out.sort_by_key(|m| m.range.start);
            }
        }
        out
    }

    /// Every ASCII word of `s` that is a form of a query word.
    fn find_words(
        &mut self,
        s: &str,
        original: &impl Fn(usize, usize) -> Option<Range<usize>>,
        out: &mut Vec<Match>,
    ) {
        let mut word = String::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if !bytes[i].is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            word.clear();
            word.extend(
                bytes[start..i]
                    .iter()
                    .map(|b| b.to_ascii_lowercase() as char),
            );
            if let Some(term) = self.word_term(&word)
                && let Some(range) = original(start, i)
            {
                out.push(Match { range, term });
            }
        }
    }

    /// [`find_words`](Self::find_words) visiting only the words that start with a term's
    /// head, found by `heads` in the lower-cased text `hay`.
    fn find_words_at_heads(
        &mut self,
        hay: &[u8],
        heads: &Packed,
        original: &impl Fn(usize, usize) -> Option<Range<usize>>,
        out: &mut Vec<Match>,
    ) {
        let mut done = 0;
        for m in heads.searcher.find_iter(hay) {
            let start = m.start();
            // Heads are letters and digits only, so a match that starts a word cannot hide
            // one that starts the next word.
            if start < done || (start > 0 && hay[start - 1].is_ascii_alphanumeric()) {
                continue;
            }
            let end = hay[start..]
                .iter()
                .position(|b| !b.is_ascii_alphanumeric())
                .map_or(hay.len(), |n| start + n);
            done = end;
            let Ok(word) = std::str::from_utf8(&hay[start..end]) else {
                continue;
            };
            if let Some(term) = self.word_term(word)
                && let Some(range) = original(start, end)
            {
                out.push(Match { range, term });
            }
        }
    }

    /// An id of the query term `word` is a form of, if any (a hash: it only has to tell
    /// terms apart within one fragment).
    fn word_term(&mut self, word: &str) -> Option<usize> {
        if self.words.contains(word) {
            return Some(term_id(word));
        }
        // Stemming every word of a body is the costly part: only words that start like some
        // term can stem to it (English stems are prefixes, give or take a final letter), and
        // each distinct word is stemmed once per query.
        if !self.heads.iter().any(|h| word.starts_with(h.as_str())) {
            return None;
        }
        if let Some(known) = self.seen.get(word) {
            return *known;
        }
        let s = self
            .stemmer
            .get_or_insert_with(Stemming::default)
            .stem(word);
        let term = self.words.contains(&s).then(|| term_id(&s));
        self.seen.insert(word.to_string(), term);
        term
    }
}

/// Whether `text` has letters or digits whose width or case folding is not plain ASCII
/// lower-casing (full-width Latin, accented capitals, compatibility ideographs…).
pub(crate) fn needs_width_folding(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        // Lead bytes E4..E9 start U+4000..U+9FFF: ideographs (and the Yijing symbols, which
        // are not letters), the bulk of a Chinese text, unchanged by folding.
        if (0xE4..=0xE9).contains(&b) {
            i += 3;
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        if matches!(c as u32, 0x3400..=0x3FFF) {
            continue;
        }
        // Chinese punctuation is most of the rest of a Chinese text and none of it is a
        // letter or digit: answered without the Unicode tables.
        if matches!(
            c,
            '，' | '。'
                | '、'
                | '：'
                | '；'
                | '！'
                | '？'
                | '“'
                | '”'
                | '‘'
                | '’'
                | '（'
                | '）'
                | '《'
                | '》'
                | '【'
                | '】'
                | '「'
                | '」'
                | '—'
                | '…'
                | '·'
                | '～'
        ) {
            continue;
        }
        if c.is_alphanumeric() {
            return true;
        }
    }
    false
}

/// Patterns searched with Teddy (aho-corasick's SIMD searcher for a few literals): cheap to
/// build per query (a few byte masks, no automaton), it tests 16 or 32 positions of the text
/// at once where the byte scan of [`Substrings`] visits every character. `None` where Teddy is not available
/// (CPUs without SSSE3 or NEON, more than 64 patterns): callers fall back to the scan.
struct Packed {
    searcher: packed::Searcher,
    /// Pattern id -> the term it is a form of.
    terms: Vec<usize>,
}

impl Packed {
    fn new<'a>(
        kind: packed::MatchKind,
        patterns: impl IntoIterator<Item = (&'a str, usize)>,
    ) -> Option<Self> {
        let mut builder = packed::Config::new().match_kind(kind).builder();
        let mut terms = Vec::new();
        for (p, term) in patterns {
            if !p.is_empty() {
                builder.add(p);
                terms.push(term);
            }
        }
        let searcher = builder.build()?;
        Some(Packed { searcher, terms })
    }
}

/// The non-ASCII query words (and their traditional forms), found leftmost-longest in one
/// pass over the text's bytes. Built per query in well under a microsecond (an Aho-Corasick
/// automaton cost more to build than all the searching): the patterns are few, so each is
/// filed under a one-byte hash of its first character, and the scan steps over characters
/// whose slot is empty without decoding them.
struct Substrings {
    /// Hash of a first character -> 1 + index into `buckets`, 0 for none.
    slots: [u8; 256],
    /// Patterns whose first character hashes alike, longest first, each with its term.
    buckets: Vec<Vec<(String, usize)>>,
}

/// The slot of the character whose UTF-8 encoding starts `bytes` (ASCII letters without
/// case), and that encoding's length.
fn first_char_slot(bytes: &[u8]) -> (usize, usize) {
    let b = bytes[0];
    let len = match b {
        0x00..=0x7F => return (b.to_ascii_lowercase() as usize, 1),
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
    .min(bytes.len());
    let last = bytes[len - 1] as usize;
    let before = bytes[len - 2] as usize;
    ((last ^ (before << 2) ^ (len << 6)) & 255, len)
}

impl Substrings {
    fn new(patterns: impl IntoIterator<Item = (String, usize)>) -> Option<Self> {
        let mut slots = [0u8; 256];
        let mut buckets: Vec<Vec<(String, usize)>> = Vec::new();
        for (p, term) in patterns {
            if p.is_empty() {
                continue;
            }
            let (slot, _) = first_char_slot(p.as_bytes());
            if slots[slot] == 0 {
                if buckets.len() == usize::from(u8::MAX) {
                    // More distinct first characters than a query has words; ignore.
                    continue;
                }
                buckets.push(Vec::new());
                slots[slot] = buckets.len() as u8;
            }
            buckets[usize::from(slots[slot]) - 1].push((p, term));
        }
        for list in &mut buckets {
            list.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        }
        (!buckets.is_empty()).then_some(Substrings { slots, buckets })
    }

    /// Calls `found(start, end, term)` for each match in order, not overlapping; ASCII
    /// letters compare without case (the patterns are lower-case).
    fn find_each(&self, s: &str, mut found: impl FnMut(usize, usize, usize)) {
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let (slot, len) = first_char_slot(&bytes[i..]);
            let bucket = self.slots[slot];
            if bucket != 0 {
                let hit = self.buckets[usize::from(bucket) - 1].iter().find(|(p, _)| {
                    bytes
                        .get(i..i + p.len())
                        .is_some_and(|b| b.eq_ignore_ascii_case(p.as_bytes()))
                });
                if let Some((p, term)) = hit {
                    found(i, i + p.len(), *term);
                    // Continue after the match (matches do not overlap).
                    i += p.len();
                    continue;
                }
            }
            i += len;
        }
    }
}

fn term_id(s: &str) -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    s.hash(&mut h);
    h.finish() as usize >> 1
}

struct Match {
    range: Range<usize>,
    /// Which term matched (distinct terms make a better fragment than repeats).
    term: usize,
}

/// Whether `s` has an ASCII capital (checked 32 bytes at a time).
fn has_ascii_uppercase(s: &str) -> bool {
    crate::util::clean_prefix(s.as_bytes(), |b| b.is_ascii_uppercase()) < s.len()
}

/// The byte range of the fragment: starts at a match and holds at most [`FRAGMENT_CHARS`]
/// characters; among the candidates, the one covering the most distinct terms, then the
/// most matches, then the earliest.
fn best_window(text: &str, matches: &[Match]) -> (usize, usize) {
    // A text of at most a fragment's length ends every window: the first window then holds
    // every match, and no later one can beat it (titles and summaries, mostly).
    match matches.first() {
        // A character is at most four bytes: a longer text is not counted at all.
        Some(first) if text.len() <= 4 * FRAGMENT_CHARS && char_count(text) <= FRAGMENT_CHARS => {
            (open_before(text, first.range.start), text.len())
        }
        _ => scan_windows(text, matches),
    }
}

/// Where a fragment whose first match starts at `at` opens: a little before, so the reader
/// sees what the match is about: after the last sentence break in that lead, else at a
/// word start.
fn open_before(text: &str, at: usize) -> usize {
    let lead = text[..at]
        .char_indices()
        .rev()
        .take(LEAD_CHARS)
        .last()
        .map_or(at, |(o, _)| o);
    let before = &text[lead..at];
    let after = |(o, ch): (usize, char)| lead + o + ch.len_utf8();
    let sentence_end =
        |ch: &char| matches!(ch, '。' | '！' | '？' | '；' | '.' | '!' | '?' | ';' | '\n');
    if let Some(b) = before.char_indices().rfind(|(_, ch)| sentence_end(ch)) {
        return after(b);
    }
    let mid_word = text[..lead]
        .chars()
        .next_back()
        .is_some_and(|ch| ch.is_ascii_alphanumeric());
    match before.char_indices().find(|(_, ch)| *ch == ' ') {
        Some(space) if mid_word => after(space),
        _ => lead,
    }
}

/// The window (opened before a match, [`FRAGMENT_CHARS`] long) with the most distinct
/// terms, then the most matches; the first such.
fn scan_windows(text: &str, matches: &[Match]) -> (usize, usize) {
    let mut best = (0usize, 0usize, 0usize, text.len());
    let mut terms: Vec<usize> = Vec::new();
    // Windows start in text order, so each end is found by moving the previous end on by
    // as many characters as the start moved, not by counting a whole window again.
    let mut previous: Option<(usize, usize)> = None;
    for (i, m) in matches.iter().enumerate() {
        let start = open_before(text, m.range.start);
        let end = match previous {
            Some((p_start, p_end)) if p_start <= start => {
                let moved = char_count(&text[p_start..start]);
                skip_chars(text, p_end, moved)
            }
            _ => skip_chars(text, start, FRAGMENT_CHARS),
        };
        previous = Some((start, end));
        terms.clear();
        let mut count = 0;
        for x in matches[i..].iter().take_while(|x| x.range.end <= end) {
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

/// The offset `n` characters after `from` in `text` (a character boundary), or the text's
/// end: `text[from..].char_indices().nth(n)` without decoding each character. Whole blocks
/// of 32 bytes are skipped by counting their character starts (vectorized).
fn skip_chars(text: &str, from: usize, mut n: usize) -> usize {
    let bytes = &text.as_bytes()[from..];
    let (blocks, _) = bytes.as_chunks::<32>();
    let mut at = 0;
    for block in blocks {
        let starts = block.iter().filter(|&&b| is_char_start(b)).count();
        // The block holds the wanted start only if it has more than `n` starts.
        if starts > n {
            break;
        }
        n -= starts;
        at += 32;
    }
    for (i, &b) in bytes[at..].iter().enumerate() {
        if is_char_start(b) {
            if n == 0 {
                return from + at + i;
            }
            n -= 1;
        }
    }
    text.len()
}

/// Characters in `s`: its bytes that do not continue a character (vectorized).
fn char_count(s: &str) -> usize {
    s.bytes().filter(|&b| is_char_start(b)).count()
}

/// Whether a UTF-8 byte starts a character (is not a `10xxxxxx` continuation byte).
#[inline(always)]
fn is_char_start(b: u8) -> bool {
    (b & 0xC0) != 0x80
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

/// Distinct words whose stems a thread remembers (then it starts over).
const STEMS_PER_THREAD: usize = 50_000;

thread_local! {
    /// Word -> stem. Highlighting stems the same vocabulary query after query; a server's
    /// worker threads live long, so each keeps its own map and no lock is taken.
    static STEMS: std::cell::RefCell<FxHashMap<Box<str>, Box<str>>> =
        std::cell::RefCell::new(FxHashMap::default());
}

impl Stemming {
    fn stem(&mut self, word: &str) -> String {
        if let Some(s) = STEMS.with_borrow(|m| m.get(word).map(|s| s.to_string())) {
            return s;
        }
        let mut ts = self.analyzer.token_stream(word);
        let stem = if ts.advance() {
            ts.token().text.clone()
        } else {
            word.to_string()
        };
        STEMS.with_borrow_mut(|m| {
            if m.len() >= STEMS_PER_THREAD {
                m.clear();
            }
            m.insert(word.into(), stem.as_str().into());
        });
        stem
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

    /// The short-text shortcut picks the window the full scan would.
    #[test]
    fn a_text_within_one_fragment_gets_the_window_the_scan_picks() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let pieces = [
            "宽带", "网络", "。", "a", "word ", ". ", " ", "x", "\n", "故障",
        ];
        for _ in 0..3_000 {
            let text: String = (0..rng.gen_range(1..90))
                .map(|_| pieces[rng.gen_range(0..pieces.len())])
                .collect();
            // Matches: some of the character starts, in order, not overlapping.
            let starts: Vec<usize> = text.char_indices().map(|(o, _)| o).collect();
            let mut matches = Vec::new();
            let mut from = 0;
            for &o in &starts {
                if o >= from && rng.gen_bool(0.2) {
                    let len = text[o..].chars().next().map_or(1, char::len_utf8);
                    matches.push(Match {
                        range: o..o + len,
                        term: rng.gen_range(0..3),
                    });
                    from = o + len;
                }
            }
            if matches.is_empty() {
                continue;
            }
            let scanned = scan_windows(&text, &matches);
            assert_eq!(best_window(&text, &matches), scanned, "{text:?}");
        }
    }

    /// `skip_chars` lands where walking the characters one by one does.
    #[test]
    fn skip_chars_agrees_with_char_indices() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let pieces = ["宽", "a", "é", "😀", " ", "。", "bc"];
        for _ in 0..2_000 {
            let text: String = (0..rng.gen_range(0..120))
                .map(|_| pieces[rng.gen_range(0..pieces.len())])
                .collect();
            let starts: Vec<usize> = text.char_indices().map(|(o, _)| o).collect();
            let from = if starts.is_empty() {
                0
            } else {
                starts[rng.gen_range(0..starts.len())]
            };
            let n = rng.gen_range(0..200);
            let expected = text[from..]
                .char_indices()
                .nth(n)
                .map_or(text.len(), |(o, _)| from + o);
            assert_eq!(skip_chars(&text, from, n), expected, "{text:?} {from} {n}");
        }
    }

    fn hl(terms: &[&str], text: &str) -> Option<String> {
        Highlighter::new(terms.iter().copied())?.fragment(text)
    }

    #[test]
    fn marks_chinese_words_in_either_script_and_escapes() {
        assert_eq!(
            hl(&["宽带", "上网"], "家里<寬頻>不行。宽带无法上网").as_deref(),
            Some("<mark>宽带</mark>无法<mark>上网</mark>")
        );
        assert_eq!(
            hl(&["上网"], "家里宽带无法上网").as_deref(),
            Some("家里宽带无法<mark>上网</mark>")
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
        let out = hl(&["password"], "To change it, reset your password now").unwrap();
        assert_eq!(out, "change it, reset your <mark>password</mark> now");
    }

    #[test]
    fn folds_full_width_and_mixed_words() {
        assert_eq!(
            hl(&["sim卡", "router"], "ＳＩＭ卡 and the ROUTER").as_deref(),
            Some("<mark>ＳＩＭ卡</mark> and the <mark>ROUTER</mark>")
        );
        assert_eq!(
            hl(&["sim卡"], "新SIM卡").as_deref(),
            Some("新<mark>SIM卡</mark>")
        );
    }

    #[test]
    fn width_folding_is_needed_only_for_letters_and_digits_that_fold() {
        assert!(!needs_width_folding(
            "家里宽带无法上网，怎么办？“光猫”灯不亮 ABC 123"
        ));
        assert!(!needs_width_folding("㐀䶵 ䷀"));
        assert!(needs_width_folding("ＡＢＣ１２３"));
        assert!(needs_width_folding("宽带１号"));
        assert!(needs_width_folding("CAFÉ"));
        assert!(needs_width_folding("Ωmega"));
    }

    #[test]
    fn substrings_match_leftmost_longest_without_overlaps() {
        let subs = Substrings::new([
            ("宽带".to_string(), 0),
            ("宽带故障".to_string(), 1),
            ("故障".to_string(), 2),
            ("sim卡".to_string(), 3),
        ])
        .unwrap();
        let mut found = Vec::new();
        let text = "宽带故障，宽带；障碍故障 SIM卡";
        subs.find_each(text, |a, b, t| found.push((&text[a..b], t)));
        assert_eq!(
            found,
            [("宽带故障", 1), ("宽带", 0), ("故障", 2), ("SIM卡", 3)]
        );
        assert!(Substrings::new(std::iter::empty()).is_none());
    }

    impl Highlighter {
        /// The same highlighter with the portable scans only.
        fn without_simd(mut self) -> Self {
            self.packed_substrings = None;
            self.packed_heads = None;
            self
        }
    }

    #[test]
    fn simd_search_finds_what_the_byte_scan_finds() {
        let pieces = [
            "宽带",
            "寬頻",
            "寬帶",
            "故障",
            "宽带故障",
            "网络",
            "SIM卡",
            "sim",
            "Router",
            "routers",
            "reset",
            "Resetting",
            "passwords",
            "，",
            "。",
            " ",
            "x",
            "ab",
            "宽",
            "带",
            "<b>",
            "&",
            "Ｒｏｕｔｅｒ",
            "ｓｉｍ卡",
        ];
        let term_sets: [&[&str]; 5] = [
            &["宽带", "故障"],
            &["宽带", "宽带故障", "网络"],
            &["sim卡", "router", "reset"],
            &["password", "reset", "宽带"],
            &["带", "sim"],
        ];
        let mut seed = 0x2545_f491_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..400 {
            let len = next(120);
            let text: String = (0..len).map(|_| pieces[next(pieces.len())]).collect();
            let terms = term_sets[round % term_sets.len()];
            let mut fast = Highlighter::new(terms.iter().copied()).unwrap();
            if teddy_runs_here() {
                assert!(fast.packed_substrings.is_some() || fast.substrings.is_none());
            }
            let mut slow = Highlighter::new(terms.iter().copied())
                .unwrap()
                .without_simd();
            assert_eq!(
                fast.fragment(&text),
                slow.fragment(&text),
                "{terms:?} in {text}"
            );
        }
    }

    /// Whether Teddy surely runs here (x86-64 with SSSE3; elsewhere the test only compares).
    fn teddy_runs_here() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("ssse3")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    #[test]
    fn prefers_the_window_with_more_distinct_terms() {
        let text = format!("modem {} modem router", "x ".repeat(100));
        let out = hl(&["modem", "router"], &text).unwrap();
        assert!(out.contains("<mark>router</mark>"), "{out}");
        assert!(out.chars().count() <= FRAGMENT_CHARS + 40);
    }
}
