//! Text analysis shared by indexing and querying.
//!
//! Every text goes through [`normalize`] first: NFKC (full-width -> half-width), lower-casing
//! and traditional -> simplified folding (zhconv). The normalised text keeps a per-character map
//! back to byte offsets of the original, so tokens carry offsets into the *stored* text and
//! highlights land on the right characters. Then:
//! - [`OmniTokenizer`] (`omni`): jieba in search mode (overlapping sub-words), punctuation
//!   dropped, ASCII runs joined across `-`/`.` as an extra token (`1-800-555-0199` also gives
//!   `18005550199`, `wi-fi` also gives `wifi`); the analyzer chains tantivy's English stemmer,
//!   which leaves CJK tokens untouched, so one field serves mixed zh/en text (`SIM卡补办`).
//! - [`GramTokenizer`] (`omni_grams`): CJK character bigrams, a segmentation-independent
//!   fallback for colloquial paraphrases that jieba cuts differently.
//!
//! Positions are character offsets in the normalised text, so phrase queries built from a
//! query analysed the same way match exactly where the same character sequence occurs.

use std::sync::LazyLock;

use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy_jieba::jieba_rs::{Jieba, TokenizeMode};
use unicode_normalization::UnicodeNormalization;

pub const OMNI: &str = "omni";
pub const GRAMS: &str = "omni_grams";

/// Domain words jieba's default dictionary lacks or splits badly.
const CUSTOM_WORDS: &[&str] = &[
    "光猫",
    "携号转网",
    "流量包",
    "加油包",
    "无线网",
    "手机银行",
    "网银",
    "补卡",
    "挂失",
    "停机",
    "复机",
    "欠费",
    "资费包",
    "电话费",
    "话费",
    "数据流量",
    "转账",
    "汇款",
    "盗刷",
    "机顶盒",
    "营业厅",
    "国际漫游",
    "移机",
    "限额",
    "手续费",
    "跨行",
    "到账",
    "路由器",
    "网速",
    "无服务",
    "退网",
    "信用开机",
    "验证码",
    "工本费",
    "换卡",
    "销号",
    "扣费",
    "打款",
    "上不了网",
    "连不上",
    "没信号",
    "没网",
];

static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut jieba = Jieba::new();
    for w in CUSTOM_WORDS {
        jieba.add_word(w, None, None);
    }
    jieba
});

/// Loads the jieba dictionary now (it otherwise loads on first use).
pub fn warm_up() {
    LazyLock::force(&JIEBA);
}

pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Normalised text plus, per character of it, the byte range of the original character.
pub struct Normalized {
    pub chars: Vec<char>,
    pub map: Vec<(usize, usize)>,
}

impl Normalized {
    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }
}

pub fn normalize(orig: &str) -> Normalized {
    normalize_with(orig, true)
}

/// [`normalize`] without the traditional -> simplified step (the highlighter searches for
/// both scripts' forms of the query's words instead of folding every hit's text).
pub fn normalize_width_and_case(orig: &str) -> Normalized {
    normalize_with(orig, false)
}

fn normalize_with(orig: &str, fold_chinese: bool) -> Normalized {
    let mut chars = Vec::with_capacity(orig.len());
    let mut map = Vec::with_capacity(orig.len());
    let mut any_cjk = false;
    for (o, c) in orig.char_indices() {
        let end = o + c.len_utf8();
        if c.is_ascii() {
            chars.push(c.to_ascii_lowercase());
            map.push((o, end));
            continue;
        }
        if matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF) {
            // CJK unified ideographs have no compatibility decomposition and no case: NFKC
            // and lower-casing leave them as they are (the bulk of Chinese text).
            any_cjk = true;
            chars.push(c);
            map.push((o, end));
            continue;
        }
        for n in std::iter::once(c).nfkc() {
            for l in n.to_lowercase() {
                any_cjk |= is_cjk(l);
                chars.push(l);
                map.push((o, end));
            }
        }
    }
    if any_cjk && fold_chinese {
        let s: String = chars.iter().collect();
        let conv = zhconv::zhconv(&s, zhconv::Variant::ZhHans);
        let conv: Vec<char> = conv.chars().collect();
        if conv.len() == chars.len() {
            chars = conv;
        } else {
            // Phrase conversion changed the length: fold character by character instead.
            for c in chars.iter_mut() {
                if is_cjk(*c) {
                    let one = zhconv::zhconv(&c.to_string(), zhconv::Variant::ZhHans);
                    let mut it = one.chars();
                    if let (Some(x), None) = (it.next(), it.next()) {
                        *c = x;
                    }
                }
            }
        }
    }
    Normalized { chars, map }
}

/// Normalised text as a plain string (suggest keys, synonym matching).
pub fn normalize_str(s: &str) -> String {
    normalize(s).text()
}

fn byte_range(n: &Normalized, start: usize, end: usize) -> (usize, usize) {
    (n.map[start].0, n.map[end - 1].1)
}

fn omni_tokens(text: &str) -> Vec<Token> {
    let n = normalize(text);
    if n.chars.is_empty() {
        return Vec::new();
    }
    let norm = n.text();
    let mut out: Vec<Token> = Vec::new();
    for t in JIEBA.tokenize(&norm, TokenizeMode::Search, true) {
        if t.end <= t.start || !t.word.chars().any(char::is_alphanumeric) {
            continue;
        }
        let word: String = t.word.chars().filter(|c| !c.is_whitespace()).collect();
        if word.is_empty() {
            continue;
        }
        let (from, to) = byte_range(&n, t.start, t.end);
        out.push(Token {
            offset_from: from,
            offset_to: to,
            position: t.start,
            text: word,
            position_length: 1,
        });
    }
    // ASCII runs joined across '-' and '.': phone numbers, product codes, wi-fi.
    let cs = &n.chars;
    let mut i = 0;
    while i < cs.len() {
        if cs[i].is_ascii_alphanumeric() && (i == 0 || !cs[i - 1].is_ascii_alphanumeric()) {
            let start = i;
            let mut j = i;
            let mut joined = String::new();
            let mut seps = 0;
            loop {
                while j < cs.len() && cs[j].is_ascii_alphanumeric() {
                    joined.push(cs[j]);
                    j += 1;
                }
                if j + 1 < cs.len()
                    && matches!(cs[j], '-' | '.' | '/')
                    && cs[j + 1].is_ascii_alphanumeric()
                {
                    seps += 1;
                    j += 1;
                } else {
                    break;
                }
            }
            if seps > 0 {
                let (from, to) = byte_range(&n, start, j);
                out.push(Token {
                    offset_from: from,
                    offset_to: to,
                    position: start,
                    text: joined,
                    position_length: 1,
                });
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out.sort_by_key(|t| (t.position, t.offset_to));
    out
}

fn gram_tokens(text: &str) -> Vec<Token> {
    let n = normalize(text);
    let cs = &n.chars;
    let mut out = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        if !is_cjk(cs[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < cs.len() && is_cjk(cs[i]) {
            i += 1;
        }
        let run = &cs[start..i];
        let push = |out: &mut Vec<Token>, a: usize, b: usize| {
            let (from, to) = byte_range(&n, a, b);
            out.push(Token {
                offset_from: from,
                offset_to: to,
                position: a,
                text: cs[a..b].iter().collect(),
                position_length: 1,
            });
        };
        if run.len() == 1 {
            push(&mut out, start, start + 1);
        } else {
            for k in start..i - 1 {
                push(&mut out, k, k + 2);
            }
        }
    }
    out
}

/// A token stream over precomputed tokens.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    index: usize,
    current: Token,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        Self {
            tokens,
            index: 0,
            current: Token::default(),
        }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.index < self.tokens.len() {
            self.current = std::mem::take(&mut self.tokens[self.index]);
            self.index += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.current
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.current
    }
}

#[derive(Clone, Default)]
pub struct OmniTokenizer;

impl Tokenizer for OmniTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(omni_tokens(text))
    }
}

#[derive(Clone, Default)]
pub struct GramTokenizer;

impl Tokenizer for GramTokenizer {
    type TokenStream<'a> = VecTokenStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        VecTokenStream::new(gram_tokens(text))
    }
}

pub fn omni_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(OmniTokenizer)
        .filter(Stemmer::new(Language::English))
        .build()
}

pub fn gram_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(GramTokenizer).build()
}

/// Runs an analyzer and collects its tokens.
pub fn run(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut ts = analyzer.token_stream(text);
    while ts.advance() {
        out.push(ts.token().clone());
    }
    out
}

/// Non-overlapping tokens (longest at each start) as (position relative to the first, text):
/// the term sequence of a phrase query.
pub fn chain(toks: &[Token]) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut sorted: Vec<&Token> = toks.iter().collect();
    sorted.sort_by_key(|t| (t.offset_from, std::cmp::Reverse(t.offset_to)));
    let mut end = 0;
    let mut base = None;
    for t in sorted {
        if t.offset_from < end {
            continue;
        }
        end = t.offset_to;
        let b = *base.get_or_insert(t.position);
        out.push((t.position - b, t.text.clone()));
    }
    out
}

/// Pinyin keys of a text for autocomplete: (full pinyin, initials). Non-Chinese characters are
/// kept as they are (normalised, without whitespace or punctuation).
pub fn pinyin_keys(text: &str) -> (String, String) {
    use pinyin::ToPinyin;
    let norm = normalize_str(text);
    let mut full = String::new();
    let mut initials = String::new();
    for c in norm.chars() {
        match c.to_pinyin() {
            Some(p) => {
                full.push_str(p.plain());
                initials.push_str(p.first_letter());
            }
            None if c.is_alphanumeric() => {
                full.push(c);
                initials.push(c);
            }
            None => {}
        }
    }
    (full, initials)
}

/// Word-start suffixes of a title (normalised, whitespace removed), for "starts with" matching
/// from the middle of a title (`wifi` finds `忘记Wi-Fi密码怎么办`).
pub fn word_suffixes(text: &str, max: usize) -> Vec<String> {
    let norm = normalize_str(text);
    let mut starts: Vec<usize> = JIEBA
        .tokenize(&norm, TokenizeMode::Default, false)
        .into_iter()
        .filter(|t| t.word.chars().any(char::is_alphanumeric))
        .map(|t| t.start)
        .collect();
    starts.dedup();
    let chars: Vec<char> = norm.chars().collect();
    starts
        .into_iter()
        .take(max)
        .map(|s| {
            chars[s..]
                .iter()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        run(&mut omni_analyzer(), s)
            .into_iter()
            .map(|t| t.text)
            .collect()
    }

    #[test]
    fn folding_and_width() {
        assert_eq!(normalize_str("寬頻ＳＩＭ卡"), "宽频sim卡");
        let t = texts("SIM卡补办 5G套餐");
        assert!(t.contains(&"sim".to_string()), "{t:?}");
        assert!(t.contains(&"5g".to_string()), "{t:?}");
        assert!(t.contains(&"套餐".to_string()), "{t:?}");
    }

    #[test]
    fn numbers_and_codes() {
        let t = texts("Call 1-800-555-0199 or 10000, Wi-Fi");
        assert!(t.contains(&"18005550199".to_string()), "{t:?}");
        assert!(t.contains(&"10000".to_string()), "{t:?}");
        assert!(t.contains(&"wifi".to_string()), "{t:?}");
    }

    #[test]
    fn offsets_map_to_original() {
        let s = "ＳＩＭ卡丟了";
        for t in run(&mut omni_analyzer(), s) {
            assert!(s.is_char_boundary(t.offset_from) && s.is_char_boundary(t.offset_to));
        }
    }

    #[test]
    fn pinyin() {
        let (f, i) = pinyin_keys("宽带无法上网");
        assert_eq!(f, "kuandaiwufashangwang");
        assert_eq!(i, "kdwfsw");
    }
}
