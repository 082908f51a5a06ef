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

fn push_text(out: &mut Vec<Piece>, text: &str) {
    let cleaned;
    let text = if text.contains("://") || text.contains("www.") || text.contains("mailto:") {
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
    let mut s = String::new();
    for p in pieces {
        s.push_str(p.spoken());
    }
    s
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

/// Sentence length: Hanzi for Chinese, words otherwise.
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

/// Collapses whitespace runs and trims the sentence.
fn tidy(mut s: Sentence) -> Sentence {
    for p in s.iter_mut() {
        if let Piece::Text(t) = p
            && t.contains(char::is_whitespace)
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
        *t = t.trim_start().to_string();
    }
    if let Some(Piece::Text(t)) = s.last_mut() {
        *t = t.trim_end().to_string();
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
    if sentence_len(&plain(&s), zh) <= limit {
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
        let len = sentence_len(&plain(&c), zh);
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

/// Splits text into plain runs and say-as tokens. Latin acronyms (2–5 capitals) are
/// spelled out; other latin words are plain text.
pub(crate) fn tokenize(text: &str, mut f: impl FnMut(Tok<'_>)) {
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

/// XML 1.0 allows only these characters; others (controls) are dropped.
fn xml_char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Appends text with `&`, `<`, `>` escaped (and quotes, so it is safe in attributes too).
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if xml_char_ok(c) => out.push(c),
            _ => {}
        }
    }
}

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

    #[test]
    fn numbers() {
        assert_eq!(zh_number(3), "三");
        assert_eq!(zh_number(12), "十二");
        assert_eq!(zh_number(40), "四十");
        assert_eq!(en_number(3), "three");
    }
}
