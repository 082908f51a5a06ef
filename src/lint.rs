//! Pre-publish lint for customer channels: personal data (mainland ID numbers, bank card
//! numbers), phone numbers that are not approved hotlines, and sensitive words (敏感词).
//!
//! Pure: no IO, no state beyond regexes compiled once. Every finding carries a JSON pointer
//! (`/title`, `/fields/summary`, `/fields/alternate_questions/2`, `/body`), a 1-based line for
//! body findings, and a *masked* excerpt: the full number never appears in a finding.
//!
//! How numbers are found: the text is cut into *digit chains*, maximal runs of ASCII digits
//! joined by single spaces or hyphens (`6222 0212 3456 7890 123`, `138-0013-8000`,
//! `+86 138 0013 8000`), optionally with a leading `+` and a trailing `X` (ID check digit).
//! A chain is interpreted as a whole first (ID, phone, card); when it is none of them it is
//! split at spaces, and then at hyphens, and each piece is tried on its own. So a card is
//! only found when its digits are the whole chain (or a whole space-separated piece): runs
//! that are part of longer digit sequences are ignored.
//!
//! Exempt unless [`LintConfig::include_internal`]: fields whose schema rules say
//! `internal: true` (or whose `channels` are all non-customer, i.e. agent-only), and body
//! blocks `::: internal` (or `::: agent`), found line by line on the raw Markdown the same
//! way the parser does (a `:::` line inside a code fence is text). `{{snippet:KEY}}`
//! references are blanked out before scanning: they are not content.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::content::lines::LineKind;
use crate::domain::Channel;
use crate::schema::{ContentSchema, FieldError};

pub const CN_ID_NUMBER: &str = "cn_id_number";
pub const BANK_CARD_NUMBER: &str = "bank_card_number";
pub const PHONE_NOT_ALLOWED: &str = "phone_not_allowed";
pub const SENSITIVE_WORD: &str = "sensitive_word";

/// What to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintConfig {
    /// Phone numbers allowed in customer content (hotlines): digits only, e.g. "10000",
    /// "95500", "18005550199". Non-digits in an entry are ignored.
    pub phone_allow: Vec<String>,
    /// Sensitive words/phrases (敏感词), matched case-insensitively; Chinese matched as
    /// substrings, words that begin/end with an ASCII letter or digit only at word edges.
    pub sensitive_words: Vec<String>,
    /// Lint internal-only fields and `::: internal` blocks too (default false: exempt).
    pub include_internal: bool,
}

impl Default for LintConfig {
    fn default() -> Self {
        let allow = [
            "10000",
            "10086",
            "10010",
            "95500",
            "95555",
            "110",
            "120",
            "119",
            "96110",
            "12315",
            "18005550199",
            "18005550123",
        ];
        let words = [
            "内部价",
            "绝对保本",
            "保证收益",
            "guaranteed returns",
            "internal only",
        ];
        LintConfig {
            phone_allow: allow.iter().map(|s| s.to_string()).collect(),
            sensitive_words: words.iter().map(|s| s.to_string()).collect(),
            include_internal: false,
        }
    }
}

/// One problem found in one place of an article.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintFinding {
    /// JSON pointer: `/title`, `/fields/summary`, `/fields/alternate_questions/1`, `/body`.
    pub path: String,
    /// The top-level field (`summary`), or `title` / `body`.
    pub field: String,
    /// `cn_id_number` | `bank_card_number` | `phone_not_allowed` | `sensitive_word`.
    pub code: &'static str,
    /// Masked: `4111 **** **** 1111`, `1101**********002X`, `138******00`.
    pub excerpt: String,
    /// 1-based line within the body, for body findings.
    pub line: Option<usize>,
    pub message: String,
    pub message_zh: String,
}

impl LintFinding {
    /// As a validation error; body findings name their line in the message.
    pub fn to_field_error(&self) -> FieldError {
        let (message, message_zh) = match self.line {
            Some(n) => (
                format!("line {n}: {}", self.message),
                format!("第 {n} 行：{}", self.message_zh),
            ),
            None => (self.message.clone(), self.message_zh.clone()),
        };
        FieldError {
            path: self.path.clone(),
            field: self.field.clone(),
            message,
            message_zh,
        }
    }
}

/// One hit inside one piece of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextHit {
    pub code: &'static str,
    /// Masked for numbers; the matched text for sensitive words.
    pub excerpt: String,
    /// Byte offset of the hit in the text.
    pub offset: usize,
    /// Byte length of the hit.
    pub len: usize,
}

impl TextHit {
    /// The English and Chinese messages for this hit.
    pub fn messages(&self) -> (String, String) {
        let ex = &self.excerpt;
        match self.code {
            CN_ID_NUMBER => (
                format!(
                    "looks like a mainland ID number ({ex}); customer channels must not show personal data"
                ),
                format!("疑似身份证号（{ex}），客户渠道不得展示个人信息"),
            ),
            BANK_CARD_NUMBER => (
                format!(
                    "looks like a bank card number ({ex}); customer channels must not show personal data"
                ),
                format!("疑似银行卡号（{ex}），客户渠道不得展示个人信息"),
            ),
            PHONE_NOT_ALLOWED => (
                format!(
                    "phone number {ex} is not an approved hotline; use a hotline snippet or add it to the allow list"
                ),
                format!("电话号码 {ex} 不在允许的热线列表中，请改用热线片段或将其加入白名单"),
            ),
            _ => (
                format!("contains the sensitive phrase \"{ex}\"; reword before publishing"),
                format!("包含敏感词“{ex}”，发布前请修改"),
            ),
        }
    }
}

/// Lints one piece of plain text (a title, a field value, one body line).
pub fn lint_text(text: &str, cfg: &LintConfig) -> Vec<TextHit> {
    Linter::new(cfg).text(text)
}

/// Lints a whole article: the title, every string in `fields` (internal-only fields
/// exempt unless `cfg.include_internal`), and the body (internal blocks exempt likewise).
pub fn lint_article(
    title: &str,
    fields: &serde_json::Map<String, Value>,
    body: &str,
    schema: &ContentSchema,
    cfg: &LintConfig,
) -> Vec<LintFinding> {
    let linter = Linter::new(cfg);
    let mut out = Vec::new();
    let push = |out: &mut Vec<LintFinding>,
                path: &str,
                field: &str,
                line: Option<usize>,
                hits: Vec<TextHit>| {
        for h in hits {
            let (message, message_zh) = h.messages();
            out.push(LintFinding {
                path: path.to_string(),
                field: field.to_string(),
                code: h.code,
                excerpt: h.excerpt,
                line,
                message,
                message_zh,
            });
        }
    };
    push(&mut out, "/title", "title", None, linter.text(title));

    for (name, value) in fields {
        if !cfg.include_internal && field_is_internal(schema, name) {
            continue;
        }
        let mut strings = Vec::new();
        collect_strings(
            value,
            &format!("/fields/{}", pointer_escape(name)),
            &mut strings,
        );
        for (path, s) in strings {
            push(&mut out, &path, name, None, linter.text(s));
        }
    }

    for (lineno, line) in body_lines(body, cfg.include_internal) {
        push(&mut out, "/body", "body", Some(lineno), linter.text(line));
    }
    out
}

fn field_is_internal(schema: &ContentSchema, name: &str) -> bool {
    match schema.field(name) {
        Some(rules) => {
            rules.internal
                || (!rules.channels.is_empty()
                    && !rules.channels.iter().any(Channel::is_customer_facing))
        }
        None => false,
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn collect_strings<'a>(value: &'a Value, path: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((path.to_string(), s)),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_strings(v, &format!("{path}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                collect_strings(v, &format!("{path}/{}", pointer_escape(k)), out);
            }
        }
        _ => {}
    }
}

/// The body lines to lint, with 1-based line numbers; `:::` fence lines and (unless
/// `include_internal`) the lines of internal / agent-only blocks are left out.
fn body_lines(body: &str, include_internal: bool) -> Vec<(usize, &str)> {
    crate::content::lines::body_lines(body, 1)
        .filter_map(|line| match line.kind {
            LineKind::Text { block } if include_internal || !block.is_some_and(div_is_exempt) => {
                let text = line.text.strip_suffix('\n').unwrap_or(line.text);
                Some((line.number, text.strip_suffix('\r').unwrap_or(text)))
            }
            _ => None,
        })
        .collect()
}

fn div_is_exempt(names: &str) -> bool {
    let names: Vec<&str> = names.split_whitespace().collect();
    if names == ["internal"] {
        return true;
    }
    let channels: Result<Vec<Channel>, _> = names.iter().map(|n| n.parse::<Channel>()).collect();
    match channels {
        Ok(cs) => !cs.is_empty() && !cs.iter().any(Channel::is_customer_facing),
        Err(_) => false,
    }
}

// ---------------------------------------------------------------------------------------
// The scanner.

static SNIPPET: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\{\{\s*snippet:[^{}\n]*\}\}").expect("snippet regex"));

/// A digit chain: ASCII digit runs joined by single spaces or hyphens, optional `+`
/// (and one space) before, optional `X` check digit after.
static CHAIN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\+ ?)?[0-9]+(?:[ \-][0-9]+)*[Xx]?").expect("chain regex"));

/// Units and currencies that make a five-digit number an amount, not a service number.
const UNITS_AFTER: &[&str] = &[
    "元", "块", "万", "千", "百", "角", "分", "次", "个", "人", "天", "年", "月", "日", "秒",
    "小时", "条", "笔", "张", "位", "台", "%", "％", "积分", "点", "米", "公里", "km", "kg", "gb",
    "mb", "kb", "tb", "yuan", "rmb", "cny", "usd", "hkd", "pts", "points", "miles", "min", "sec",
];
const CURRENCY_BEFORE: &[&str] = &[
    "¥",
    "￥",
    "$",
    "€",
    "£",
    "cny",
    "rmb",
    "usd",
    "hkd",
    "eur",
    "人民币",
    "金额",
    "额度",
    "限额",
    "余额",
];

struct Linter {
    allow: Vec<String>,
    words: Vec<Word>,
}

struct Word {
    re: Option<Regex>,
    text: String,
    edge_start: bool,
    edge_end: bool,
}

impl Linter {
    fn new(cfg: &LintConfig) -> Linter {
        let allow = cfg
            .phone_allow
            .iter()
            .map(|a| a.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|a| !a.is_empty())
            .collect();
        let words = cfg
            .sensitive_words
            .iter()
            .map(|w| w.trim())
            .filter(|w| !w.is_empty())
            .map(|w| Word {
                // Caseless words (Chinese) are plain substrings: no regex to compile.
                re: w
                    .chars()
                    .any(|c| c.to_lowercase().ne(c.to_uppercase()))
                    .then(|| {
                        regex::RegexBuilder::new(&regex::escape(w))
                            .case_insensitive(true)
                            .size_limit(1 << 20)
                            .build()
                            .ok()
                    })
                    .flatten(),
                text: w.to_string(),
                edge_start: w.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()),
                edge_end: w.chars().last().is_some_and(|c| c.is_ascii_alphanumeric()),
            })
            .collect();
        Linter { allow, words }
    }

    fn text(&self, text: &str) -> Vec<TextHit> {
        // Blank out snippet references, keeping byte offsets.
        let blanked;
        let text = if SNIPPET.is_match(text) {
            blanked = SNIPPET.replace_all(text, |c: &regex::Captures| " ".repeat(c[0].len()));
            blanked.as_ref()
        } else {
            text
        };
        let mut hits = Vec::new();
        for m in CHAIN.find_iter(text) {
            self.chain(text, m.start(), m.end(), &mut hits);
        }
        for w in &self.words {
            self.word(text, w, &mut hits);
        }
        hits.sort_by_key(|h| h.offset);
        hits
    }

    fn word(&self, text: &str, w: &Word, hits: &mut Vec<TextHit>) {
        let found: Vec<(usize, usize)> = match &w.re {
            Some(re) => re.find_iter(text).map(|m| (m.start(), m.end())).collect(),
            None => text
                .match_indices(w.text.as_str())
                .map(|(i, s)| (i, i + s.len()))
                .collect(),
        };
        for (s, e) in found {
            let before_ok = !w.edge_start
                || !text[..s]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_ascii_alphanumeric());
            let after_ok = !w.edge_end
                || !text[e..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric());
            if before_ok && after_ok {
                hits.push(TextHit {
                    code: SENSITIVE_WORD,
                    excerpt: text[s..e].to_string(),
                    offset: s,
                    len: e - s,
                });
            }
        }
    }

    /// Interprets `text[start..end]` as a whole; failing that, its space-separated pieces;
    /// failing that, its hyphen-separated pieces.
    fn chain(&self, text: &str, start: usize, end: usize, hits: &mut Vec<TextHit>) {
        if let Some(hit) = self.whole(text, start, end) {
            if let Some(hit) = hit {
                hits.push(hit);
            }
            return;
        }
        let piece = &text[start..end];
        let body = piece.trim_start_matches(['+', ' ']);
        let body_start = end - body.len();
        for sep in [' ', '-'] {
            if body.contains(sep) {
                let mut at = body_start;
                for part in body.split(sep) {
                    if !part.is_empty() {
                        // A '+' sticks to the first piece only.
                        let s = if at == body_start { start } else { at };
                        self.chain(text, s, at + part.len(), hits);
                    }
                    at += part.len() + 1;
                }
                return;
            }
        }
    }

    /// `Some(Some(hit))`: a finding; `Some(None)`: recognised and fine (an allowed
    /// hotline, an amount); `None`: not recognised as a whole.
    fn whole(&self, text: &str, start: usize, end: usize) -> Option<Option<TextHit>> {
        let piece = &text[start..end];
        let plus = piece.starts_with('+');
        let core = piece.trim_start_matches(['+', ' ']);
        let x_suffix = core.ends_with(['X', 'x']);
        let groups: Vec<&str> = core
            .trim_end_matches(['X', 'x'])
            .split([' ', '-'])
            .collect();
        let digits: String = groups.concat();
        let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
        let hit = |code| {
            Some(Some(TextHit {
                code,
                excerpt: mask(piece, code),
                offset: start,
                len: end - start,
            }))
        };

        // Decimals: `128.50`, `1.5`, version numbers: never a phone, card or ID.
        let before = &text[..start];
        let after = &text[end..];
        let decimal = (before.ends_with('.') && before[..before.len() - 1].ends_with(is_digit))
            || (after.starts_with('.') && after[1..].starts_with(is_digit));
        if decimal {
            return None;
        }

        if !plus {
            let mut id = digits.clone();
            if x_suffix {
                id.push('X');
            }
            if id.len() == 18 && valid_id18(&id) {
                return hit(CN_ID_NUMBER);
            }
            if !x_suffix && groups.len() == 1 && digits.len() == 15 && valid_id15(&digits) {
                return hit(CN_ID_NUMBER);
            }
        }
        if x_suffix {
            return None;
        }

        if let Some(phone) = phone_digits(plus, &digits, &lens) {
            if self.allowed(&phone) {
                return Some(None);
            }
            if phone.len() == 5 && amount_context(before, after) {
                return Some(None);
            }
            return hit(PHONE_NOT_ALLOWED);
        }

        if !plus && card_shape(&lens) && luhn(&digits) {
            return hit(BANK_CARD_NUMBER);
        }
        None
    }

    fn allowed(&self, digits: &str) -> bool {
        let mine = variants(digits);
        self.allow
            .iter()
            .any(|a| variants(a).iter().any(|v| mine.contains(v)))
    }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

/// The digits of a phone number when the chain has a phone's shape.
fn phone_digits(plus: bool, digits: &str, lens: &[usize]) -> Option<String> {
    let d = digits.as_bytes();
    let n = d.len();
    let mobile = |s: &str| {
        let b = s.as_bytes();
        b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
    };
    // Every group of a grouped phone number has at least 3 digits, except a country code
    // (and after +86, an area code without its trunk 0: +86 10 1234 5678).
    let tail_groups_ok = |skip: usize| lens.iter().skip(skip).all(|&l| l >= 3);
    let intl_groups_ok = |skip: usize| lens.iter().skip(skip).all(|&l| l >= 2);
    if plus {
        if let Some(rest) = digits.strip_prefix("86") {
            let cc_alone = lens.first() == Some(&2);
            let skip = usize::from(cc_alone);
            if (mobile(rest) || (9..=11).contains(&rest.len())) && intl_groups_ok(skip) {
                return Some(digits.to_string());
            }
            return None;
        }
        if digits.starts_with('1') && n == 11 {
            let skip = usize::from(lens.first() == Some(&1));
            return tail_groups_ok(skip).then(|| digits.to_string());
        }
        if (7..=15).contains(&n) && lens.len() > 1 {
            // Some other country: +44 20 7946 0958.
            return Some(digits.to_string());
        }
        return None;
    }
    // Mainland mobile, optionally `86` / `0086` in front.
    for cc in ["", "86", "0086"] {
        if let Some(rest) = digits.strip_prefix(cc)
            && mobile(rest)
        {
            let skip = usize::from(!cc.is_empty() && lens.first() == Some(&cc.len()));
            if lens.len() == 1 || tail_groups_ok(skip) {
                return Some(digits.to_string());
            }
        }
    }
    // Landline with area code: 010-12345678, 0755 8888 8888, 02112345678.
    if d.first() == Some(&b'0') && d.get(1).is_some_and(|c| (b'1'..=b'9').contains(c)) {
        let ok = match lens {
            [l] => (10..=12).contains(l),
            [area, rest @ ..] => {
                (3..=4).contains(area)
                    && rest.iter().all(|&l| l >= 3)
                    && (7..=8).contains(&rest.iter().sum::<usize>())
            }
            [] => false,
        };
        if ok {
            return Some(digits.to_string());
        }
    }
    // North American: 1-800-555-0199, 800-555-0199.
    if lens == [1, 3, 3, 4] && d[0] == b'1' {
        return Some(digits.to_string());
    }
    if lens == [3, 3, 4] && (b'2'..=b'9').contains(&d[0]) {
        return Some(digits.to_string());
    }
    // Service numbers: 100xx-122xx (10000, 10086, 12315), 95xxx, 96xxx.
    if lens == [5]
        && ((d[0] == b'1' && (b'0'..=b'2').contains(&d[1]))
            || (d[0] == b'9' && (d[1] == b'5' || d[1] == b'6')))
    {
        return Some(digits.to_string());
    }
    None
}

/// Ways of writing the same number: with and without a country code or trunk prefix.
fn variants(d: &str) -> Vec<String> {
    let mut v = vec![d.to_string()];
    for cc in ["0086", "86"] {
        if let Some(rest) = d.strip_prefix(cc)
            && rest.len() >= 5
        {
            v.push(rest.to_string());
            // +86 10 12345678 is 010-12345678 (a mobile keeps no trunk 0).
            let is_mobile = rest.len() == 11 && rest.starts_with('1');
            if !(rest.starts_with('0') || is_mobile) {
                v.push(format!("0{rest}"));
            }
        }
    }
    if d.len() == 11 && d.starts_with('1') {
        v.push(d[1..].to_string());
    }
    if d.len() == 10 {
        v.push(format!("1{d}"));
    }
    v
}

fn amount_context(before: &str, after: &str) -> bool {
    // Only the neighbourhood: never lower-case a whole long text per number.
    let after: String = after
        .trim_start()
        .chars()
        .take(8)
        .collect::<String>()
        .to_lowercase();
    let before = before.trim_end();
    let skip = before.chars().count().saturating_sub(8);
    let before: String = before.chars().skip(skip).collect::<String>().to_lowercase();
    UNITS_AFTER.iter().any(|u| after.starts_with(u))
        || CURRENCY_BEFORE.iter().any(|c| before.ends_with(c))
}

/// Card groupings: one run, or groups of 4 with a shorter last group, or Amex 4-6-5.
fn card_shape(lens: &[usize]) -> bool {
    let total: usize = lens.iter().sum();
    if !(13..=19).contains(&total) {
        return false;
    }
    match lens {
        [_] => true,
        [4, 6, 5] => true,
        [init @ .., last] => init.iter().all(|&l| l == 4) && (1..=4).contains(last),
        [] => false,
    }
}

/// The Luhn check over ASCII digits.
pub fn luhn(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// The ISO 7064 MOD 11-2 check character for the first 17 digits (`None` if not digits).
pub fn id_check_char(first17: &str) -> Option<char> {
    let b = first17.as_bytes();
    if b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = b
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    Some(char::from(ID_CHECK[(sum % 11) as usize]))
}

fn region_ok(first: u8) -> bool {
    matches!(first, b'1'..=b'6' | b'8')
}

/// An 18-character resident ID: region, birth date 1900–2099, check digit.
pub fn valid_id18(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || !region_ok(b[0]) {
        return false;
    }
    let Some(check) = id_check_char(&id[..17]) else {
        return false;
    };
    if !char::from(b[17]).eq_ignore_ascii_case(&check) {
        return false;
    }
    let year = num(&b[6..10]);
    (1900..=2099).contains(&year) && valid_date(year, num(&b[10..12]), num(&b[12..14]))
}

/// The old 15-digit form (before 1999): region, YYMMDD (read as 19YY), no check digit.
pub fn valid_id15(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 15
        && b.iter().all(u8::is_ascii_digit)
        && region_ok(b[0])
        && valid_date(1900 + num(&b[6..8]), num(&b[8..10]), num(&b[10..12]))
}

fn num(b: &[u8]) -> u32 {
    b.iter()
        .fold(0u32, |n, c| n * 10 + u32::from(c.wrapping_sub(b'0') % 10))
}

fn valid_date(y: u32, m: u32, d: u32) -> bool {
    let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Masks the digits of a number as written, keeping separators: IDs and cards keep the
/// first and last 4, phones the first 3 and last 2. At least one digit is always masked.
fn mask(piece: &str, code: &str) -> String {
    let total = piece
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, 'X' | 'x'))
        .count();
    let (mut keep_head, mut keep_tail) = if code == PHONE_NOT_ALLOWED {
        (3, 2)
    } else {
        (4, 4)
    };
    if total < keep_head + keep_tail + 2 {
        keep_tail = 0;
        keep_head = keep_head.min(total.saturating_sub(1));
    }
    let mut i = 0;
    piece
        .chars()
        .map(|c| {
            if c.is_ascii_digit() || matches!(c, 'X' | 'x') {
                let keep = i < keep_head || i >= total - keep_tail;
                i += 1;
                if keep { c } else { '*' }
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaSet;
    use serde_json::json;

    fn cfg() -> LintConfig {
        LintConfig::default()
    }

    fn codes(text: &str) -> Vec<&'static str> {
        lint_text(text, &cfg())
            .into_iter()
            .map(|h| h.code)
            .collect()
    }

    /// Builds a valid 18-character ID from 17 digits with the check digit computed here
    /// from the algorithm (independently of `id_check_char`).
    fn make_id(first17: &str) -> String {
        let w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let sum: u32 = first17
            .bytes()
            .zip(w)
            .map(|(c, w)| u32::from(c - b'0') * w)
            .sum();
        let check = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize];
        format!("{first17}{check}")
    }

    /// The Luhn check digit for a payload, computed here.
    fn make_card(payload: &str) -> String {
        for d in 0..10 {
            let c = format!("{payload}{d}");
            if luhn(&c) {
                return c;
            }
        }
        unreachable!()
    }

    fn wrong_check(id: &str) -> String {
        let last = id.chars().last().unwrap();
        let other = if last == '0' { '1' } else { '0' };
        format!("{}{other}", &id[..17])
    }

    fn assert_hidden(hits: &[TextHit], secret_digits: &str) {
        for h in hits {
            let (en, zh) = h.messages();
            for s in [&h.excerpt, &en, &zh] {
                let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
                assert!(!s.contains(secret_digits), "{s}");
                assert!(!digits.contains(secret_digits), "{s}");
                assert!(s.contains('*'), "{s}");
            }
        }
    }

    #[test]
    fn known_valid_id_literal_flagged_and_masked() {
        assert!(valid_id18("11010519491231002X"));
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        let hits = lint_text("客户身份证 11010519491231002X 已核实", &cfg());
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].code, CN_ID_NUMBER);
        assert_eq!(hits[0].excerpt, "1101**********002X");
        assert_hidden(&hits, "11010519491231002");
        let (en, zh) = hits[0].messages();
        assert!(
            en.contains("mainland ID number (1101**********002X)"),
            "{en}"
        );
        assert!(zh.contains("疑似身份证号（1101**********002X）"), "{zh}");
        // Lower-case x too.
        assert_eq!(codes("11010519491231002x"), vec![CN_ID_NUMBER]);
    }

    #[test]
    fn constructed_ids_flagged_bad_check_or_date_not() {
        for first17 in [
            "44030619900307123",
            "31010120000229456", // leap day 2000
            "51010219851231001",
            "81000019700101000",
            "62010220991231999",
        ] {
            let id = make_id(first17);
            assert!(valid_id18(&id), "{id}");
            let hits = lint_text(&format!("证件号:{id}。"), &cfg());
            assert_eq!(
                hits.iter().map(|h| h.code).collect::<Vec<_>>(),
                vec![CN_ID_NUMBER],
                "{id}"
            );
            assert_hidden(&hits, &id[..17]);
            let bad = wrong_check(&id);
            assert!(!codes(&bad).contains(&CN_ID_NUMBER), "{bad}");
        }
        // Valid check digits, impossible dates.
        for first17 in [
            "44030619900230123", // 30 Feb
            "44030619001301123", // month 13
            "44030618991231123", // 1899
            "44030619000229123", // 1900 not a leap year
            "44030619900100123", // day 0
        ] {
            let id = make_id(first17);
            assert!(!valid_id18(&id), "{id}");
            assert!(!codes(&id).contains(&CN_ID_NUMBER), "{id}");
        }
        // Bad region.
        let id = make_id("74030619900307123");
        assert!(!codes(&id).contains(&CN_ID_NUMBER));
        // Inside a longer digit run: not an ID.
        let id = make_id("44030619900307123");
        assert!(!codes(&format!("9{id}")).contains(&CN_ID_NUMBER));
        assert!(!codes(&format!("{id}7")).contains(&CN_ID_NUMBER));
        // Grouped 6-8-4 is still an ID.
        let grouped = format!("{} {} {}", &id[..6], &id[6..14], &id[14..]);
        assert_eq!(codes(&grouped), vec![CN_ID_NUMBER]);
    }

    #[test]
    fn old_fifteen_digit_id_only_with_valid_date() {
        assert!(valid_id15("110105491231002"));
        assert_eq!(codes("旧证 110105491231002"), vec![CN_ID_NUMBER]);
        assert!(!valid_id15("110105491331002"));
        assert!(!codes("110105491331002").contains(&CN_ID_NUMBER));
    }

    #[test]
    fn luhn_cards_flagged_invalid_not() {
        assert!(luhn("4111111111111111"));
        let unionpay = make_card("622202123456789012");
        assert_eq!(unionpay.len(), 19);
        for text in [
            "4111 1111 1111 1111".to_string(),
            "4111-1111-1111-1111".to_string(),
            "4111111111111111".to_string(),
            unionpay.clone(),
            format!(
                "{} {} {} {} {}",
                &unionpay[..4],
                &unionpay[4..8],
                &unionpay[8..12],
                &unionpay[12..16],
                &unionpay[16..]
            ),
            "3782 822463 10005".to_string(), // Amex 4-6-5
        ] {
            let hits = lint_text(&format!("卡号：{text}，请核对"), &cfg());
            assert_eq!(
                hits.iter().map(|h| h.code).collect::<Vec<_>>(),
                vec![BANK_CARD_NUMBER],
                "{text}"
            );
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            assert_hidden(&hits, &digits[..digits.len() - 2]);
            assert!(hits[0].excerpt.starts_with(&digits[..4]));
        }
        assert_eq!(
            lint_text("4111 1111 1111 1111", &cfg())[0].excerpt,
            "4111 **** **** 1111"
        );
        // Luhn-invalid: nothing.
        let mut bad_unionpay = unionpay[..18].to_string();
        let last = unionpay.as_bytes()[18] - b'0';
        bad_unionpay.push(char::from(b'0' + (last + 1) % 10));
        for text in [
            "4111 1111 1111 1112",
            "4111111111111112",
            "4111-1111-1111-1110",
            bad_unionpay.as_str(),
        ] {
            assert!(!luhn(&text.replace([' ', '-'], "")), "{text}");
            assert!(codes(text).is_empty(), "{text}");
        }
        // Part of a longer digit sequence: ignored.
        assert!(codes("94111111111111111").is_empty());
        assert!(codes("41111111111111110000000").is_empty());
        assert!(codes("4111 1111 1111 1111 2026").is_empty());
        // An ID that also passes Luhn is reported once, as an ID.
        for i in 0..200u32 {
            let id = make_id(&format!("440306199003{:05}", 7000 + i));
            if valid_id18(&id) && luhn(&id) {
                assert_eq!(codes(&id), vec![CN_ID_NUMBER], "{id}");
            }
        }
    }

    #[test]
    fn allow_listed_hotlines_not_flagged() {
        for text in [
            "请拨打 10000 咨询",
            "工行客服95500",
            "call 1-800-555-0199 for help",
            "call +1 800 555 0199",
            "call 18005550199",
            "call 800-555-0199",
            "移动 10086、联通 10010、报警 110",
            "10000 95500",
            "12315",
        ] {
            assert!(
                codes(text).is_empty(),
                "{text}: {:?}",
                lint_text(text, &cfg())
            );
        }
        // A custom allow list, written with separators.
        let cfg = LintConfig {
            phone_allow: vec!["138-0013-8000".into(), "010 12345678".into()],
            ..LintConfig::default()
        };
        for text in [
            "13800138000",
            "+86 138 0013 8000",
            "010-12345678",
            "+86 10 12345678",
        ] {
            assert!(lint_text(text, &cfg).is_empty(), "{text}");
        }
    }

    #[test]
    fn other_phones_flagged_and_masked() {
        for text in [
            "13800138000",
            "138-0013-8000",
            "138 0013 8000",
            "+86 138 0013 8000",
            "+8613800138000",
            "8613800138000",
            "010-12345678",
            "0755 8888 8888",
            "02112345678",
            "1-800-555-0100",
            "+1 212 555 0100",
            "95588",
            "12345",
        ] {
            let hits = lint_text(&format!("联系电话：{text}。"), &cfg());
            assert_eq!(
                hits.iter().map(|h| h.code).collect::<Vec<_>>(),
                vec![PHONE_NOT_ALLOWED],
                "{text}"
            );
            assert!(hits[0].excerpt.contains('*'), "{hits:?}");
        }
        let hits = lint_text("致电13800138000", &cfg());
        assert_eq!(hits[0].excerpt, "138******00");
        assert_eq!(hits[0].offset, "致电".len());
        assert_hidden(&hits, "13800138000");
        assert_hidden(&hits, "001380");
        // Two numbers in one space-joined chain: each on its own.
        assert_eq!(
            codes("13800138000 13900139000"),
            vec![PHONE_NOT_ALLOWED, PHONE_NOT_ALLOWED]
        );
    }

    #[test]
    fn false_positives_not_flagged() {
        for text in [
            "30秒",
            "2026-01-01",
            "2026-01-01 10:00",
            "128.50元",
            "第1步",
            "CNY 20",
            "8:00–20:00",
            "8:00-20:00",
            "5G",
            "3 GB",
            "ZX-2000",
            "型号 ZX-2000 与 ZX-3000",
            "2019-2026",
            "20260101",
            "1. 2. 3.",
            "转账限额 50000 元",
            "¥12000",
            "12000元",
            "15000 积分",
            "13800138000.50",
            "版本 1.2.3",
            "1 2 3 4 5",
            "第 1 至 3 步",
            "每月 30 GB，月费 128 元",
        ] {
            assert!(
                codes(text).is_empty(),
                "{text}: {:?}",
                lint_text(text, &cfg())
            );
        }
    }

    #[test]
    fn sensitive_words_case_insensitive_every_occurrence() {
        let hits = lint_text(
            "Guaranteed Returns! guaranteed returns. 内部价内部价",
            &cfg(),
        );
        let words: Vec<_> = hits.iter().map(|h| h.excerpt.as_str()).collect();
        assert_eq!(
            words,
            vec![
                "Guaranteed Returns",
                "guaranteed returns",
                "内部价",
                "内部价"
            ]
        );
        assert!(hits.iter().all(|h| h.code == SENSITIVE_WORD));
        let (en, zh) = hits[2].messages();
        assert!(en.contains("内部价") && zh.contains("敏感词“内部价”"));
        // English words only at word edges.
        let cfg = LintConfig {
            sensitive_words: vec!["ass".into()],
            ..LintConfig::default()
        };
        assert!(lint_text("password pass", &cfg).is_empty());
        assert_eq!(lint_text("an ASS.", &cfg).len(), 1);
    }

    fn faq() -> std::sync::Arc<ContentSchema> {
        SchemaSet::bundled().unwrap().get("faq").unwrap().clone()
    }

    fn map(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn article_title_fields_body_with_paths_and_lines() {
        let schema = faq();
        let fields = map(json!({
            "question": "如何办理？",
            "alternate_questions": ["怎么办", "打 13800138000 可以吗"],
            "summary": "保证收益，请拨打 95500",
        }));
        let body = "第一行\n\n本产品绝对保本。\nCall {{snippet:bank_hotline}} now.\n卡号 4111 1111 1111 1111\n";
        let found = lint_article("内部价 优惠", &fields, body, &schema, &cfg());
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.path.as_str(), f.field.as_str(), f.code, f.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/title", "title", SENSITIVE_WORD, None),
                (
                    "/fields/alternate_questions/1",
                    "alternate_questions",
                    PHONE_NOT_ALLOWED,
                    None
                ),
                ("/fields/summary", "summary", SENSITIVE_WORD, None),
                ("/body", "body", SENSITIVE_WORD, Some(3)),
                ("/body", "body", BANK_CARD_NUMBER, Some(5)),
            ]
        );
        let fe = found[3].to_field_error();
        assert_eq!(fe.path, "/body");
        assert!(fe.message.starts_with("line 3: "), "{}", fe.message);
        assert!(fe.message_zh.starts_with("第 3 行："), "{}", fe.message_zh);
        let fe = found[0].to_field_error();
        assert_eq!((fe.path.as_str(), fe.field.as_str()), ("/title", "title"));
        assert!(fe.message_zh.contains("内部价"));
        for f in &found {
            assert!(!f.message.contains("4111111111111111"));
            assert!(!f.excerpt.contains("13800138000"));
        }
    }

    #[test]
    fn snippet_references_are_not_content() {
        assert!(codes("{{snippet:13800138000}}").is_empty());
        assert!(codes("拨打{{snippet:hotline_95588}}").is_empty());
    }

    #[test]
    fn internal_field_and_block_exempt_unless_included() {
        let schema = faq();
        let fields = map(json!({
            "internal_notes": "内部价 8 折；客户 13800138000",
        }));
        let body = "公开内容\n\n::: internal\n内部价：九折\n:::\n\n::: agent\n回拨 13900139000\n:::\n\n::: warning\n绝对保本 is wrong\n:::\n```\n::: internal\n内部价 in code\n```\n";
        let found = lint_article("标题", &fields, body, &schema, &cfg());
        let got: Vec<_> = found.iter().map(|f| (f.path.as_str(), f.line)).collect();
        assert_eq!(
            got,
            vec![("/body", Some(12)), ("/body", Some(16))],
            "{found:#?}"
        );

        let all = LintConfig {
            include_internal: true,
            ..LintConfig::default()
        };
        let found = lint_article("标题", &fields, body, &schema, &all);
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.path.as_str(), f.code, f.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/fields/internal_notes", SENSITIVE_WORD, None),
                ("/fields/internal_notes", PHONE_NOT_ALLOWED, None),
                ("/body", SENSITIVE_WORD, Some(4)),
                ("/body", PHONE_NOT_ALLOWED, Some(8)),
                ("/body", SENSITIVE_WORD, Some(12)),
                ("/body", SENSITIVE_WORD, Some(16)),
            ]
        );
    }

    #[test]
    fn unknown_and_nested_fields_are_linted_with_escaped_pointers() {
        let schema = faq();
        let fields = map(json!({"a/b": {"x~y": ["ok", "内部价"]}, "n": 13800138000u64}));
        let found = lint_article("", &fields, "", &schema, &cfg());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, "/fields/a~1b/x~0y/1");
        assert_eq!(found[0].field, "a/b");
    }

    #[test]
    fn never_panics() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet: Vec<char> =
            "0123456789 -+Xx.:元{}snippet:\n\r\t:::internal`~é中\u{200b}\u{1F600}İ\u{0301}１２"
                .chars()
                .collect();
        let words = LintConfig {
            sensitive_words: vec!["İ".into(), "x".into(), "(".into(), "".into(), "  ".into()],
            include_internal: true,
            ..LintConfig::default()
        };
        let schema = faq();
        for _ in 0..60 {
            let len = (next() % 200) as usize;
            let s: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let _ = lint_text(&s, &cfg());
            let _ = lint_text(&s, &words);
            let fields = map(json!({"summary": s, "internal_notes": [s, 1, null]}));
            let _ = lint_article(&s, &fields, &s, &schema, &words);
            // Random bytes, lossily decoded.
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let _ = lint_text(&String::from_utf8_lossy(&bytes), &cfg());
        }
        let long = "1".repeat(100_000);
        assert!(lint_text(&long, &cfg()).is_empty());
        let grouped = "1234 ".repeat(20_000);
        let _ = lint_text(&grouped, &cfg());
        let services = "12346 ".repeat(20_000);
        assert_eq!(lint_text(&services, &cfg()).len(), 20_000);
        let hyphens = "1-".repeat(50_000);
        let _ = lint_text(&hyphens, &cfg());
        for s in [
            "",
            "+",
            "+ ",
            "X",
            "-",
            "0",
            "+86",
            "+1",
            "86",
            ":::",
            "{{snippet:",
            "}}",
        ] {
            let _ = lint_text(s, &cfg());
            let _ = lint_article(s, &serde_json::Map::new(), s, &schema, &cfg());
        }
        assert_eq!(mask("12", PHONE_NOT_ALLOWED), "1*");
        assert_eq!(mask("1", BANK_CARD_NUMBER), "*");
    }
}
