//! Shared plain-text and sentence helpers for the voice, bot and SMS renderers.
//!
//! Inline content is flattened to [`Piece`]s (text runs and resolved snippets), split into
//! sentences, and — for voice — tokenised into numbers, phone numbers, dates and acronyms.
//! Nothing here allocates regexes per call: the tokeniser is a [`LazyLock`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

use crate::content::Inline;
use crate::content::file::SayAs;
use crate::domain::{Channel, SnippetKey};
use crate::render::SnippetValue;

/// One run of spoken/plain content.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    Text(String),
    /// A resolved snippet: `body` is the written value, `alias` the channel variant (if any).
    Snip {
        body: String,
        alias: Option<String>,
        say_as: Option<SayAs>,
    },
}

impl Piece {
    /// What a listener hears / a reader sees for this piece.
    pub(crate) fn spoken(&self) -> &str {
        match self {
            Piece::Text(t) => t,
            Piece::Snip { body, alias, .. } => alias.as_deref().unwrap_or(body),
        }
    }
}

/// A sentence: a run of pieces.
pub(crate) type Sentence = Vec<Piece>;

/// Flags for content that a plain-text channel could not carry.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Dropped {
    pub images: bool,
    pub html: bool,
    pub links: bool,
    pub missing_snippet: bool,
}

/// Flattens inlines for a channel: links keep their text, images and raw HTML are dropped,
/// snippets are resolved (`variants[channel]` becomes the alias).
pub(crate) fn flatten(
    inlines: &[Inline],
    snippets: &BTreeMap<SnippetKey, SnippetValue>,
    channel: Channel,
    out: &mut Vec<Piece>,
    dropped: &mut Dropped,
) {
    for i in inlines {
        match i {
            Inline::Text { text } | Inline::Code { text } => push_text(out, text),
            Inline::Emphasis { content }
            | Inline::Strong { content }
            | Inline::Strikethrough { content } => {
                flatten(content, snippets, channel, out, dropped)
            }
            Inline::Link { content, .. } => {
                dropped.links = true;
                // An autolink's text is its URL: URLs are never part of the text.
                let text = crate::content::markdown::plain_text(content);
                if !URL.is_match(&text) {
                    flatten(content, snippets, channel, out, dropped)
                }
            }
            Inline::Image { .. } => dropped.images = true,
            Inline::Html { .. } => dropped.html = true,
            Inline::SoftBreak | Inline::HardBreak => push_text(out, " "),
            Inline::Snippet { key } => match snippets.get(key) {
                Some(s) => out.push(Piece::Snip {
                    body: s.body.clone(),
                    alias: s.variants.get(&channel).cloned(),
                    say_as: s.say_as,
                }),
                None => dropped.missing_snippet = true,
            },
        }
    }
}

static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:https?://|www\.|mailto:)\S*").expect("static regex"));

/// Whether `text` contains `://`, `www.` or `mailto:` (what [`URL`] needs to match), in
/// one pass over the bytes.
fn may_hold_url(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter().enumerate().any(|(i, c)| {
        let rest = &b[i + 1..];
        match c {
            b':' => rest.starts_with(b"//"),
            b'w' => rest.starts_with(b"ww."),
            b'm' => rest.starts_with(b"ailto:"),
            _ => false,
        }
    })
}

fn push_text(out: &mut Vec<Piece>, text: &str) {
    let cleaned;
    let text = if may_hold_url(text) {
        cleaned = URL.replace_all(text, "");
        cleaned.as_ref()
    } else {
        text
    };
    if let Some(Piece::Text(t)) = out.last_mut() {
        t.push_str(text);
    } else {
        out.push(Piece::Text(text.to_string()));
    }
}

/// Plain text of pieces (alias for snippets that have a channel variant).
pub(crate) fn plain(pieces: &[Piece]) -> String {
    let mut s = String::with_capacity(pieces.iter().map(|p| p.spoken().len()).sum());
    plain_into(&mut s, pieces);
    s
}

/// [`plain`], appended to `out`.
pub(crate) fn plain_into(out: &mut String, pieces: &[Piece]) {
    for p in pieces {
        out.push_str(p.spoken());
    }
}

/// The sentence length (Hanzi for Chinese, words otherwise) of the plain text of
/// `pieces`, without building it.
pub(crate) fn pieces_len(pieces: &[Piece], zh: bool) -> usize {
    let chars = pieces.iter().flat_map(|p| p.spoken().chars());
    if zh {
        chars.filter(|&c| is_hanzi(c)).count()
    } else {
        // Words as `split_whitespace` counts them: starts of non-whitespace runs.
        let mut words = 0;
        let mut in_word = false;
        for c in chars {
            let ws = c.is_whitespace();
            if !ws && !in_word {
                words += 1;
            }
            in_word = !ws;
        }
        words
    }
}

/// Plain text of a string field (resolving `{{snippet:KEY}}`).
pub(crate) fn field_pieces(
    text: &str,
    snippets: &BTreeMap<SnippetKey, SnippetValue>,
    channel: Channel,
) -> Vec<Piece> {
    let inlines = crate::content::parse_inline_text(text)
        .unwrap_or_else(|_| vec![Inline::text(text.to_string())]);
    let mut out = Vec::new();
    flatten(
        &inlines,
        snippets,
        channel,
        &mut out,
        &mut Dropped::default(),
    );
    out
}

pub(crate) fn is_hanzi(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// Sentence length: Hanzi for Chinese, words otherwise. (Renders count pieces with
/// [`pieces_len`]; this is its definition, which the tests hold it to.)
#[cfg(test)]
pub(crate) fn sentence_len(s: &str, zh: bool) -> usize {
    if zh {
        s.chars().filter(|&c| is_hanzi(c)).count()
    } else {
        s.split_whitespace().count()
    }
}

/// The one-breath limit: ~30 Hanzi / ~20 words.
pub(crate) fn sentence_limit(zh: bool) -> usize {
    if zh { 30 } else { 20 }
}

/// Removes parenthesised asides (`（LOS）`, `(see below)`) within text runs and tidies
/// whitespace. Unbalanced parentheses are kept.
pub(crate) fn drop_parentheses(pieces: &mut Vec<Piece>) {
    for p in pieces.iter_mut() {
        if let Piece::Text(t) = p
            && t.contains(['(', '（'])
        {
            *t = strip_parens(t);
        }
    }
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
}

fn strip_parens(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut rest = t;
    while let Some(start) = rest.find(['(', '（']) {
        let close = if rest[start..].starts_with('(') {
            ')'
        } else {
            '）'
        };
        let open_len = rest[start..].chars().next().map_or(1, char::len_utf8);
        match rest[start + open_len..].find(close) {
            Some(end) => {
                let before = &rest[..start];
                out.push_str(before.strip_suffix(' ').unwrap_or(before));
                rest = &rest[start + open_len + end + close.len_utf8()..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

fn is_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '.')
}

fn is_closer(c: char) -> bool {
    matches!(c, '”' | '’' | '」' | '"' | '\'' | '）' | ')')
}

/// Splits pieces into sentences at 。！？ and `. ` / `! ` / `? `.
pub(crate) fn split_sentences(pieces: &[Piece]) -> Vec<Sentence> {
    let mut out: Vec<Sentence> = Vec::new();
    let mut cur: Sentence = Vec::new();
    for p in pieces {
        let Piece::Text(t) = p else {
            cur.push(p.clone());
            continue;
        };
        let mut start = 0;
        let mut chars = t.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if !is_terminator(c) {
                continue;
            }
            if c == '.' {
                // "2.5", "e.g.x", "a.b": not an end unless followed by space or the end.
                match chars.peek() {
                    None => {}
                    Some((_, n)) if n.is_whitespace() || is_closer(*n) => {}
                    _ => continue,
                }
            }
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if is_closer(n) || is_terminator(n) {
                    end = j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            push_text(&mut cur, &t[start..end]);
            finish(&mut out, &mut cur);
            start = end;
        }
        if start < t.len() {
            push_text(&mut cur, &t[start..]);
        }
    }
    finish(&mut out, &mut cur);
    out
}

fn finish(out: &mut Vec<Sentence>, cur: &mut Sentence) {
    let s = std::mem::take(cur);
    let s = tidy(s);
    if s.iter().any(|p| !p.spoken().trim().is_empty()) {
        out.push(s);
    }
}

/// Whether `t` has whitespace other than single spaces (what [`tidy`] rewrites).
fn untidy(t: &str) -> bool {
    let mut prev_ws = false;
    t.chars().any(|c| {
        let ws = c.is_whitespace();
        let bad = ws && (c != ' ' || prev_ws);
        prev_ws = ws;
        bad
    })
}

/// Collapses whitespace runs (to one space) and trims the sentence.
fn tidy(mut s: Sentence) -> Sentence {
    for p in s.iter_mut() {
        if let Piece::Text(t) = p
            && untidy(t)
        {
            {
                let mut n = String::with_capacity(t.len());
                let mut space = false;
                for c in t.chars() {
                    if c.is_whitespace() {
                        space = true;
                    } else {
                        if space {
                            n.push(' ');
                        }
                        space = false;
                        n.push(c);
                    }
                }
                if space {
                    n.push(' ');
                }
                *t = n;
            }
        }
    }
    if let Some(Piece::Text(t)) = s.first_mut() {
        let lead = t.len() - t.trim_start().len();
        t.drain(..lead);
    }
    if let Some(Piece::Text(t)) = s.last_mut() {
        t.truncate(t.trim_end().len());
    }
    s.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
    s
}

/// Ends a sentence with a terminator if it has none.
pub(crate) fn terminate(s: &mut Sentence, zh: bool) {
    let last = s.last().and_then(|p| p.spoken().chars().last());
    let full_stop = if zh { "。" } else { "." };
    match (s.last_mut(), last) {
        (_, Some(c)) if is_terminator(c) || is_closer(c) => {}
        (Some(Piece::Text(t)), Some('，' | '；' | '：' | ',' | ';' | ':')) => {
            t.pop();
            t.push_str(full_stop);
        }
        _ => s.push(Piece::Text(full_stop.into())),
    }
}

fn is_clause_sep(c: char) -> bool {
    matches!(c, '，' | '；' | ',' | ';' | '：')
}

/// Splits a sentence that is over the one-breath limit at clause separators (，；, ;).
/// Returns the parts; any part still over the limit is reported by the caller.
pub(crate) fn split_long(s: Sentence, zh: bool) -> Vec<Sentence> {
    let limit = sentence_limit(zh);
    if pieces_len(&s, zh) <= limit {
        return vec![s];
    }
    // Clauses: cut text pieces after each separator.
    let mut clauses: Vec<Sentence> = Vec::new();
    let mut cur: Sentence = Vec::new();
    for p in s {
        let Piece::Text(t) = p else {
            cur.push(p);
            continue;
        };
        let mut start = 0;
        for (i, c) in t.char_indices() {
            if is_clause_sep(c) {
                let end = i + c.len_utf8();
                push_text(&mut cur, &t[start..end]);
                clauses.push(std::mem::take(&mut cur));
                start = end;
            }
        }
        if start < t.len() {
            push_text(&mut cur, &t[start..]);
        }
    }
    if !cur.is_empty() {
        clauses.push(cur);
    }
    let mut out: Vec<Sentence> = Vec::new();
    let mut acc: Sentence = Vec::new();
    let mut acc_len = 0;
    for c in clauses {
        let len = pieces_len(&c, zh);
        if !acc.is_empty() && acc_len + len > limit {
            out.push(std::mem::take(&mut acc));
            acc_len = 0;
        }
        acc_len += len;
        for p in c {
            match p {
                Piece::Text(t) => push_text(&mut acc, &t),
                other => acc.push(other),
            }
        }
    }
    if !acc.is_empty() {
        out.push(acc);
    }
    let n = out.len();
    out.into_iter()
        .enumerate()
        .map(|(i, s)| {
            let mut s = tidy(s);
            if i + 1 < n {
                terminate(&mut s, zh);
            }
            if i > 0 && !zh {
                capitalise(&mut s);
            }
            s
        })
        .collect()
}

fn capitalise(s: &mut Sentence) {
    if let Some(Piece::Text(t)) = s.first_mut()
        && let Some(c) = t.chars().next()
        && c.is_ascii_lowercase()
    {
        let up = c.to_ascii_uppercase();
        t.replace_range(0..1, up.encode_utf8(&mut [0; 4]));
    }
}

/// `1` -> 一, `10` -> 十, `23` -> 二十三 (falls back to digits above 99).
pub(crate) fn zh_number(n: usize) -> String {
    const D: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    match n {
        0..=9 => D[n].to_string(),
        10..=19 => format!("十{}", if n == 10 { "" } else { D[n - 10] }),
        20..=99 => format!(
            "{}十{}",
            D[n / 10],
            if n.is_multiple_of(10) { "" } else { D[n % 10] }
        ),
        _ => n.to_string(),
    }
}

/// `1` -> one … `20` -> twenty (digits above).
pub(crate) fn en_number(n: usize) -> String {
    const W: [&str; 21] = [
        "zero",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
    ];
    W.get(n).map_or_else(|| n.to_string(), |w| (*w).to_string())
}

/// A token of spoken text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    Text(&'a str),
    Cardinal(&'a str),
    Telephone(&'a str),
    Characters(&'a str),
    Date(&'a str),
    Time(&'a str),
}

/// Splits text into plain runs and say-as tokens. Latin acronyms (2–5 capitals) are
/// spelled out; other latin words are plain text.
///
/// A hand-written scanner with exactly the semantics of the leftmost-first regex it
/// replaced (kept in the tests as the reference the scanner is checked against):
///
/// ```text
/// (?P<date>(?-u:\b)\d{4}-\d{1,2}-\d{1,2}(?-u:\b))
/// |(?P<tel>(?:\+?\d{1,3}[- ])?\d{3}-\d{3,4}-\d{4}|\d{5,})
/// |(?P<time>(?-u:\b)\d{1,2}:\d{2}(?-u:\b))
/// |(?P<num>\d+(?:\.\d+)?)
/// |(?P<latin>[A-Za-z]+)
/// ```
///
/// `\d` is a Unicode decimal digit (full-width ０–９ included), `\b` an ASCII word
/// boundary. At each position the alternatives are tried in that order, each with the
/// regex's backtracking order, and the first that matches wins. The regex with capture
/// groups was the costliest step of an IVR render.
pub(crate) fn tokenize(text: &str, mut f: impl FnMut(Tok<'_>)) {
    let bytes = text.as_bytes();
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let found = if b.is_ascii_alphabetic() {
            let end = i + bytes[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let w = &text[i..end];
            let acronym = (2..=5).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_uppercase());
            // Other latin words are consumed (a number right after one is not a date or
            // time: no word boundary) but stay in the surrounding text run.
            Some((end, acronym.then_some(Tok::Characters(w))))
        } else if is_cjk_lead(b) {
            // Most of a Chinese text; none of it can start a token.
            None
        } else if b.is_ascii_digit() || b == b'+' || (b >= 0x80 && digit_at(text, i).is_some()) {
            number_at(text, i).map(|(end, tok)| (end, Some(tok)))
        } else {
            None
        };
        match found {
            Some((end, tok)) => {
                if let Some(tok) = tok {
                    if i > last {
                        f(Tok::Text(&text[last..i]));
                    }
                    f(tok);
                    last = end;
                }
                i = end;
            }
            None => i += utf8_len(b),
        }
    }
    if last < text.len() {
        f(Tok::Text(&text[last..]));
    }
}

/// Whether `lead` starts a character in U+3000..=U+9FFF (CJK punctuation, kana, Hanzi),
/// a range with no decimal digit (Unicode's are listed per script; the full-width ones
/// are U+FF10..=U+FF19).
fn is_cjk_lead(lead: u8) -> bool {
    (0xe3..=0xe9).contains(&lead)
}

/// Length in bytes of the UTF-8 sequence that starts with `lead`.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// A date, phone number, time or number starting at byte `i`, in that order of preference.
fn number_at(text: &str, i: usize) -> Option<(usize, Tok<'_>)> {
    if let Some(end) = date_at(text, i) {
        return Some((end, Tok::Date(&text[i..end])));
    }
    if let Some(end) = tel_at(text, i) {
        return Some((end, Tok::Telephone(&text[i..end])));
    }
    if let Some(end) = time_at(text, i) {
        return Some((end, Tok::Time(&text[i..end])));
    }
    cardinal_at(text, i).map(|end| (end, Tok::Cardinal(&text[i..end])))
}

/// Whether `c` is a Unicode decimal digit (`\d`, general category Nd).
fn is_unicode_digit(c: char) -> bool {
    // `is_numeric` (N*) is cheap and rejects almost everything; the few numerics that
    // are not decimal digits (½, Ⅻ, 〇) are told apart by the regex engine's tables.
    static ND: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d$").expect("static regex"));
    c.is_ascii_digit() || (c.is_numeric() && ND.is_match(c.encode_utf8(&mut [0; 4])))
}

/// The length of the digit at byte `i` (a char boundary), if there is one.
fn digit_at(text: &str, i: usize) -> Option<usize> {
    let b = *text.as_bytes().get(i)?;
    if b.is_ascii_digit() {
        return Some(1);
    }
    if b < 0x80 {
        return None;
    }
    let c = text[i..].chars().next()?;
    is_unicode_digit(c).then(|| c.len_utf8())
}

/// The end of exactly `n` digits starting at `i`.
fn digits(text: &str, mut i: usize, n: usize) -> Option<usize> {
    for _ in 0..n {
        i += digit_at(text, i)?;
    }
    Some(i)
}

/// The end of the longest run of digits (at least one) starting at `i`.
fn digit_run(text: &str, mut i: usize) -> Option<usize> {
    let start = i;
    while let Some(len) = digit_at(text, i) {
        i += len;
    }
    (i > start).then_some(i)
}

fn byte_is(text: &str, i: usize, set: &[u8]) -> bool {
    text.as_bytes().get(i).is_some_and(|b| set.contains(b))
}

/// `(?-u:\b)`: the bytes either side of `i` differ in being ASCII word characters.
fn ascii_boundary(text: &str, i: usize) -> bool {
    let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let b = text.as_bytes();
    let before = i > 0 && b.get(i - 1).is_some_and(word);
    let after = b.get(i).is_some_and(word);
    before != after
}

/// `\b\d{4}-\d{1,2}-\d{1,2}\b`
fn date_at(text: &str, i: usize) -> Option<usize> {
    if !ascii_boundary(text, i) {
        return None;
    }
    let year = digits(text, i, 4)?;
    if !byte_is(text, year, b"-") {
        return None;
    }
    for m in [2, 1] {
        let Some(month) = digits(text, year + 1, m) else {
            continue;
        };
        if !byte_is(text, month, b"-") {
            continue;
        }
        for d in [2, 1] {
            if let Some(day) = digits(text, month + 1, d)
                && ascii_boundary(text, day)
            {
                return Some(day);
            }
        }
    }
    None
}

/// `(?:\+?\d{1,3}[- ])?\d{3}-\d{3,4}-\d{4}|\d{5,}`
fn tel_at(text: &str, i: usize) -> Option<usize> {
    // The optional country/area prefix is tried first, `+` first, longest first.
    let plus = byte_is(text, i, b"+").then_some(i + 1);
    for start in plus.into_iter().chain([i]) {
        for k in [3, 2, 1] {
            if let Some(p) = digits(text, start, k)
                && byte_is(text, p, b"- ")
                && let Some(end) = tel_rest(text, p + 1)
            {
                return Some(end);
            }
        }
    }
    if let Some(end) = tel_rest(text, i) {
        return Some(end);
    }
    let (mut end, mut n) = (i, 0);
    while let Some(len) = digit_at(text, end) {
        end += len;
        n += 1;
    }
    (n >= 5).then_some(end)
}

/// `\d{3}-\d{3,4}-\d{4}`
fn tel_rest(text: &str, i: usize) -> Option<usize> {
    let a = digits(text, i, 3)?;
    if !byte_is(text, a, b"-") {
        return None;
    }
    for m in [4, 3] {
        if let Some(b) = digits(text, a + 1, m)
            && byte_is(text, b, b"-")
            && let Some(end) = digits(text, b + 1, 4)
        {
            return Some(end);
        }
    }
    None
}

/// `\b\d{1,2}:\d{2}\b`
fn time_at(text: &str, i: usize) -> Option<usize> {
    if !ascii_boundary(text, i) {
        return None;
    }
    for h in [2, 1] {
        if let Some(p) = digits(text, i, h)
            && byte_is(text, p, b":")
            && let Some(end) = digits(text, p + 1, 2)
            && ascii_boundary(text, end)
        {
            return Some(end);
        }
    }
    None
}

/// `\d+(?:\.\d+)?`
fn cardinal_at(text: &str, i: usize) -> Option<usize> {
    let int = digit_run(text, i)?;
    if byte_is(text, int, b".")
        && let Some(frac) = digit_run(text, int + 1)
    {
        return Some(frac);
    }
    Some(int)
}

/// Appends text with `&`, `<`, `>` escaped (and quotes, so it is safe in attributes too).
/// Characters XML 1.0 does not allow (C0 controls other than tab and line ends, U+FFFE,
/// U+FFFF) are dropped. Works on bytes, copying runs of ordinary text
/// at once: every character it acts on is ASCII or, for U+FFFE/U+FFFF, a 3-byte sequence
/// that no other character's encoding contains.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    let b = s.as_bytes();
    let (mut i, mut last) = (0, 0);
    while i < b.len() {
        if !XML_SPECIAL[usize::from(b[i])] {
            i += 1;
            continue;
        }
        let (rep, len) = match b[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' => ("&quot;", 1),
            b'\'' => ("&apos;", 1),
            b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            c if c < 0x20 => ("", 1),
            0xef if b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)) => {
                ("", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        i += len;
        last = i;
    }
    out.push_str(&s[last..]);
}

/// The bytes [`escape_into`] may have to act on: `& < > " '`, C0 controls and the lead
/// byte of U+FFFE/U+FFFF. Everything else is copied as it is.
static XML_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t[0xef] = true;
    t
};

/// A tiny XML writer: every text and attribute value goes through [`escape_into`].
pub(crate) struct Xml {
    pub out: String,
}

impl Xml {
    pub fn new() -> Self {
        let mut out = String::with_capacity(2048);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        Xml { out }
    }

    fn tag(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
    }

    pub fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    pub fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push('>');
    }

    pub fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.tag(name, attrs);
        self.out.push_str("/>");
    }

    pub fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    pub fn text(&mut self, s: &str) {
        escape_into(&mut self.out, s);
    }

    pub fn nl(&mut self) {
        self.out.push('\n');
    }

    /// `<name attrs>text</name>`.
    pub fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        self.text(text);
        self.close(name);
    }
}

/// Writes the inline SSML of a sentence (say-as, sub) into `x`.
pub(crate) fn write_ssml_sentence(x: &mut Xml, s: &Sentence) {
    for p in s {
        match p {
            Piece::Text(t) => write_ssml_text(x, t),
            Piece::Snip {
                body,
                alias: Some(a),
                ..
            } => x.leaf("sub", &[("alias", a)], body),
            Piece::Snip { body, say_as, .. } => match say_as {
                Some(SayAs::Telephone) => x.leaf("say-as", &[("interpret-as", "telephone")], body),
                Some(SayAs::Cardinal) => x.leaf("say-as", &[("interpret-as", "cardinal")], body),
                Some(SayAs::Characters) => {
                    x.leaf("say-as", &[("interpret-as", "characters")], body)
                }
                Some(SayAs::Date) | Some(SayAs::Currency) | None => write_ssml_text(x, body),
            },
        }
    }
}

fn write_ssml_text(x: &mut Xml, t: &str) {
    tokenize(t, |tok| match tok {
        Tok::Text(s) => x.text(s),
        Tok::Cardinal(s) => x.leaf("say-as", &[("interpret-as", "cardinal")], s),
        Tok::Telephone(s) => x.leaf("say-as", &[("interpret-as", "telephone")], s),
        Tok::Characters(s) => x.leaf("say-as", &[("interpret-as", "characters")], s),
        Tok::Date(s) => x.leaf("say-as", &[("interpret-as", "date"), ("format", "ymd")], s),
        Tok::Time(s) => x.leaf(
            "say-as",
            &[("interpret-as", "time"), ("format", "hms24")],
            s,
        ),
    });
}

/// Short description of a sentence for warnings.
pub(crate) fn excerpt(s: &str) -> String {
    let mut out: String = s.chars().take(24).collect();
    if s.chars().count() > 24 {
        out.push('…');
    }
    out
}

/// `KB-12 v3` style article reference.
pub(crate) fn kb_ref(id: i64, rev: i32) -> String {
    let mut s = String::with_capacity(16);
    let _ = write!(s, "KB-{id} v{rev}");
    s
}

/// A string field of the article, if set and non-blank.
pub(crate) fn field_str<'a>(
    fields: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Option<&'a str> {
    fields
        .get(name)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Vec<Piece> {
        vec![Piece::Text(s.into())]
    }

    #[test]
    fn sentences_and_parens() {
        let mut p = t("查看光猫上的光信号（LOS）灯。如果红色闪烁，请报修。Wait 2.5 s. Done");
        drop_parentheses(&mut p);
        let s: Vec<String> = split_sentences(&p).iter().map(|s| plain(s)).collect();
        assert_eq!(
            s,
            [
                "查看光猫上的光信号灯。",
                "如果红色闪烁，请报修。",
                "Wait 2.5 s.",
                "Done"
            ]
        );
    }

    #[test]
    fn long_sentence_split() {
        let s = t(
            "拔掉光猫和路由器的电源，等待30秒后重新接通，约2分钟后再试，如果还是不行就换一个网口再试一次。",
        );
        let parts: Vec<String> = split_long(s, true).iter().map(|s| plain(s)).collect();
        assert!(parts.len() >= 2, "{parts:?}");
        assert!(parts.iter().all(|p| sentence_len(p, true) <= 30));
        assert!(parts[0].ends_with('。'));
    }

    #[test]
    fn tokens() {
        let mut v = Vec::new();
        tokenize(
            "光猫LOS灯等30秒拨打10000或1-800-555-0199，2026-06-01 8:00",
            |t| v.push(format!("{t:?}")),
        );
        let joined = v.join("|");
        assert!(joined.contains("Characters(\"LOS\")"), "{joined}");
        assert!(joined.contains("Cardinal(\"30\")"), "{joined}");
        assert!(joined.contains("Telephone(\"10000\")"), "{joined}");
        assert!(joined.contains("Telephone(\"1-800-555-0199\")"), "{joined}");
        assert!(joined.contains("Date(\"2026-06-01\")"), "{joined}");
        assert!(joined.contains("Time(\"8:00\")"), "{joined}");
    }

    #[test]
    fn dates_and_times_beside_chinese_characters() {
        // Chinese letters count as word characters for a Unicode \b, which used to read
        // 于2026-06-01生效 as numbers with minus signs.
        let mut v = Vec::new();
        tokenize("于2026-06-01生效，每天8:00开始", |t| {
            v.push(format!("{t:?}"))
        });
        let joined = v.join("|");
        assert!(joined.contains("Date(\"2026-06-01\")"), "{joined}");
        assert!(joined.contains("Time(\"8:00\")"), "{joined}");
    }

    /// The regex the scanner replaced, and its tokenizer: the reference for
    /// [`scanner_matches_the_regex`].
    static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"(?P<date>(?-u:\b)\d{4}-\d{1,2}-\d{1,2}(?-u:\b))",
            r"|(?P<tel>(?:\+?\d{1,3}[- ])?\d{3}-\d{3,4}-\d{4}|\d{5,})",
            r"|(?P<time>(?-u:\b)\d{1,2}:\d{2}(?-u:\b))",
            r"|(?P<num>\d+(?:\.\d+)?)",
            r"|(?P<latin>[A-Za-z]+)",
        ))
        .expect("static regex")
    });

    fn regex_tokenize(text: &str, mut f: impl FnMut(Tok<'_>)) {
        let mut last = 0;
        for caps in TOKENS.captures_iter(text) {
            let Some(m) = caps.get(0) else { continue };
            let tok = if caps.name("date").is_some() {
                Tok::Date(m.as_str())
            } else if caps.name("tel").is_some() {
                Tok::Telephone(m.as_str())
            } else if caps.name("time").is_some() {
                Tok::Time(m.as_str())
            } else if caps.name("num").is_some() {
                Tok::Cardinal(m.as_str())
            } else {
                let w = m.as_str();
                if (2..=5).contains(&w.len()) && w.bytes().all(|b| b.is_ascii_uppercase()) {
                    Tok::Characters(w)
                } else {
                    continue;
                }
            };
            if m.start() > last {
                f(Tok::Text(&text[last..m.start()]));
            }
            f(tok);
            last = m.end();
        }
        if last < text.len() {
            f(Tok::Text(&text[last..]));
        }
    }

    fn tokens_of(text: &str, regex: bool) -> Vec<String> {
        let mut v = Vec::new();
        let push = |t: Tok<'_>| v.push(format!("{t:?}"));
        if regex {
            regex_tokenize(text, push);
        } else {
            tokenize(text, push);
        }
        v
    }

    #[test]
    fn scanner_matches_the_regex() {
        // Random strings over the characters the alternatives care about, including
        // non-ASCII digits (full-width, Arabic-Indic) and numerics that are not digits.
        const ALPHABET: [&str; 24] = [
            "0",
            "1",
            "2",
            "9",
            "5",
            "-",
            "-",
            " ",
            "+",
            ":",
            ".",
            "_",
            "a",
            "Z",
            "LOS",
            "宽",
            "。",
            "１",
            "٣",
            "½",
            "〇",
            "\u{fffe}",
            "é",
            "2026-06-01",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..200_000 {
            let len = (next() % 16) as usize;
            let text: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            assert_eq!(tokens_of(&text, false), tokens_of(&text, true), "{text:?}");
        }
        for text in [
            "1-800-555-0199",
            "+86 10-8888-9999",
            "+1 800-555-01999",
            "400-810-8888",
            "12345.67",
            "1234.5.6",
            "2026-6-1",
            "2026-06-011",
            "x2026-06-01",
            "于2026-06-01生效",
            "23:59:59",
            "8:00am",
            "abc123 USB3 NASA ABCDEF",
            "１２３４５ ٣٣:٣٣",
        ] {
            assert_eq!(tokens_of(text, false), tokens_of(text, true), "{text:?}");
        }
    }

    /// XML 1.0 allows only these characters.
    fn xml_char_ok(c: char) -> bool {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
    }

    #[test]
    fn xml_escape_drops_what_xml_forbids() {
        let s = "a&b<c>d\"e'f\u{1}g\th\ni\u{7f}\u{fffe}\u{ffff}\u{fffd}宽\u{10000}";
        let mut by_bytes = String::new();
        escape_into(&mut by_bytes, s);
        let mut by_chars = String::new();
        for c in s.chars() {
            match c {
                '&' => by_chars.push_str("&amp;"),
                '<' => by_chars.push_str("&lt;"),
                '>' => by_chars.push_str("&gt;"),
                '"' => by_chars.push_str("&quot;"),
                '\'' => by_chars.push_str("&apos;"),
                c if xml_char_ok(c) => by_chars.push(c),
                _ => {}
            }
        }
        assert_eq!(by_bytes, by_chars);
    }

    #[test]
    fn pieces_len_is_sentence_len_of_plain() {
        let snip = |s: &str| Piece::Snip {
            body: s.into(),
            alias: None,
            say_as: None,
        };
        let cases: Vec<Vec<Piece>> = vec![
            vec![],
            t(" a  b\tc "),
            vec![
                Piece::Text("Call ".into()),
                snip("1-800"),
                Piece::Text("now".into()),
            ],
            vec![
                Piece::Text("Call".into()),
                snip("x y"),
                Piece::Text(" now ".into()),
            ],
            vec![
                Piece::Text("拨打".into()),
                snip("幺零零"),
                Piece::Text("报修。".into()),
            ],
            t("\u{3000}宽带 ok"),
        ];
        for p in &cases {
            for zh in [true, false] {
                assert_eq!(pieces_len(p, zh), sentence_len(&plain(p), zh), "{p:?}");
            }
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(zh_number(3), "三");
        assert_eq!(zh_number(12), "十二");
        assert_eq!(zh_number(40), "四十");
        assert_eq!(en_number(3), "three");
    }
}
