//! Doc -> HTML, shared by the web portal, the agent panel and the studio preview.
//!
//! The tree is walked directly (Markdown is never re-parsed). Every text node goes
//! through [`escape_into`]; the result is then sanitised with ammonia as a second line of
//! defence (see [`Sanitizer`]). Raw HTML from the source is dropped with a warning.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt::Write as _;

use crate::content::doc::{Align, Block, CalloutKind, Doc, Inline, List, Scope, Table};
use crate::content::file::SayAs;
use crate::domain::Channel;

use super::{RenderInput, RenderWarning};

/// Appends `s` to `out` with `& < > " '` escaped (safe in text and quoted attributes).
///
/// Runs without any of the five are found 32 bytes at a time ([`crate::util::escape_runs`])
/// and copied whole: search highlights and rendered bodies are mostly such text.
pub fn escape_into(out: &mut String, s: &str) {
    crate::util::escape_runs(s, is_special, |run, special| {
        out.push_str(run);
        out.push_str(match special {
            None => "",
            Some(b'&') => "&amp;",
            Some(b'<') => "&lt;",
            Some(b'>') => "&gt;",
            Some(b'"') => "&quot;",
            // A run stops only at one of the five.
            Some(_) => "&#39;",
        });
    });
}

#[inline(always)]
fn is_special(b: u8) -> bool {
    (b == b'&') | (b == b'<') | (b == b'>') | (b == b'"') | (b == b'\'')
}

/// `s` HTML-escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// The digits of a phone number for a `tel:` URI (keeps a leading `+`).
pub fn tel_digits(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.trim().chars() {
        if c.is_ascii_digit() || (c == '+' && out.is_empty()) {
            out.push(c);
        }
    }
    out
}

/// Whether an author's `{#id}` may be used as-is: ASCII, starts with a letter, short.
pub fn is_safe_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
}

/// The ammonia configuration, built once and shared by every render.
pub struct Sanitizer {
    builder: ammonia::Builder<'static>,
}

impl std::fmt::Debug for Sanitizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sanitizer")
    }
}

impl Default for Sanitizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Sanitizer {
    pub fn new() -> Self {
        let tags: HashSet<&'static str> = [
            "a",
            "abbr",
            "aside",
            "blockquote",
            "br",
            "caption",
            "code",
            "del",
            "div",
            "em",
            "figure",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "hr",
            "img",
            "li",
            "ol",
            "p",
            "pre",
            "s",
            "span",
            "strong",
            "table",
            "tbody",
            "td",
            "th",
            "thead",
            "tr",
            "ul",
        ]
        .into_iter()
        .collect();
        let mut attrs: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
        let mut set = |tag: &'static str, a: &[&'static str]| {
            attrs.insert(tag, a.iter().copied().collect());
        };
        set("a", &["href", "title", "hreflang"]);
        set("img", &["src", "alt", "title", "width", "height"]);
        set("th", &["scope"]);
        set("ol", &["start"]);
        set("aside", &["role"]);
        set("div", &["aria-label"]);
        set("h2", &["id"]);
        set("h3", &["id"]);
        set("h4", &["id"]);
        let mut classes: HashMap<&'static str, HashSet<&'static str>> = HashMap::new();
        classes.insert(
            "aside",
            ["callout", "note", "warning", "tip"].into_iter().collect(),
        );
        classes.insert("div", ["internal", "scoped"].into_iter().collect());
        classes.insert(
            "th",
            ["al-left", "al-center", "al-right"].into_iter().collect(),
        );
        classes.insert(
            "td",
            ["al-left", "al-center", "al-right"].into_iter().collect(),
        );
        classes.insert("li", ["task", "done"].into_iter().collect());
        classes.insert("a", ["tel"].into_iter().collect());
        let mut builder = ammonia::Builder::empty();
        builder
            .tags(tags)
            .tag_attributes(attrs)
            .allowed_classes(classes)
            .generic_attributes(["lang"].into_iter().collect())
            .link_rel(Some("noopener noreferrer"))
            .url_schemes(["http", "https", "mailto", "tel"].into_iter().collect())
            .url_relative(ammonia::UrlRelative::PassThrough)
            .strip_comments(true)
            .clean_content_tags(["script", "style"].into_iter().collect())
            .attribute_filter(|element, attribute, value| match (element, attribute) {
                ("h2" | "h3" | "h4", "id") => {
                    if is_safe_id(value) {
                        Some(Cow::Borrowed(value))
                    } else {
                        None
                    }
                }
                _ => Some(Cow::Borrowed(value)),
            });
        Sanitizer { builder }
    }

    pub fn clean(&self, html: &str) -> String {
        let mut out = Vec::with_capacity(html.len() + html.len() / 8 + 64);
        // Writing into a Vec cannot fail, and html5ever writes UTF-8 only.
        let _ = self.builder.clean(html).write_to(&mut out);
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Cleans several fragments with one ammonia pass, joined by [`PART_MARK`] and cut
    /// apart again afterwards.
    ///
    /// Each part must be a run of whole blocks as [`Writer`] writes them: complete,
    /// balanced elements with nothing left open. html5ever then builds each part's
    /// nodes independently of its neighbours, and ammonia cleans and serialises node by
    /// node, so the clean parts are exactly what cleaning each part alone gives (debug
    /// builds check this on every render, see [`web_agent_body`]). Should the marker
    /// count ever not match, the parts are cleaned one by one.
    fn clean_parts(&self, parts: &[&str]) -> Vec<String> {
        let len = parts.iter().map(|p| p.len() + PART_MARK.len()).sum();
        let mut joined = String::with_capacity(len);
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                joined.push_str(PART_MARK);
            }
            joined.push_str(p);
        }
        let clean = self.clean(&joined);
        let pieces: Vec<&str> = clean.split(PART_MARK).collect();
        if pieces.len() == parts.len() {
            pieces.into_iter().map(str::to_string).collect()
        } else {
            parts.iter().map(|p| self.clean(p)).collect()
        }
    }
}

/// Separates the parts of [`Sanitizer::clean_parts`]. The writer never emits `<abbr>`,
/// and the string cannot come out of content: in serialised HTML a text never holds a
/// raw `<`, and an attribute value never a raw `"` (so neither can hold `=""`).
const PART_MARK: &str = "<abbr lang=\"\"></abbr>";

fn warn(warnings: &mut Vec<RenderWarning>, code: &str, message: String) {
    if !warnings
        .iter()
        .any(|w| w.code == code && w.message == message)
    {
        warnings.push(RenderWarning {
            code: code.to_string(),
            message,
        });
    }
}

/// Walks the tree; knows the channel and numbers the headings.
struct Writer<'i, 'a> {
    input: &'i RenderInput<'a>,
    channel: Channel,
    out: String,
    warnings: Vec<RenderWarning>,
    heading_n: usize,
    ids: HashSet<String>,
}

impl Writer<'_, '_> {
    fn blocks(&mut self, blocks: &[Block]) {
        for b in blocks {
            self.block(b);
        }
    }

    fn block(&mut self, b: &Block) {
        match b {
            Block::Heading { level, id, content } => self.heading(*level, id.as_deref(), content),
            Block::Paragraph { content } => {
                self.out.push_str("<p>");
                self.inlines(content);
                self.out.push_str("</p>\n");
            }
            Block::List(list) => self.list(list),
            Block::Table(t) => self.table(t),
            Block::Code { text, .. } => {
                self.out.push_str("<pre><code>");
                escape_into(&mut self.out, text);
                self.out.push_str("</code></pre>\n");
            }
            Block::Quote { blocks } => {
                self.out.push_str("<blockquote>\n");
                self.blocks(blocks);
                self.out.push_str("</blockquote>\n");
            }
            Block::Callout { callout, blocks } => {
                let class = match callout {
                    CalloutKind::Note => "note",
                    CalloutKind::Warning => "warning",
                    CalloutKind::Tip => "tip",
                };
                let _ = writeln!(self.out, "<aside class=\"callout {class}\" role=\"note\">");
                self.blocks(blocks);
                self.out.push_str("</aside>\n");
            }
            Block::Scoped { scope, blocks } => {
                if !scope.admits(self.channel) {
                    return;
                }
                if *scope == Scope::Internal {
                    let label = if self.input.article.locale.is_chinese() {
                        "内部"
                    } else {
                        "Internal"
                    };
                    let _ = writeln!(self.out, "<div class=\"internal\" aria-label=\"{label}\">");
                    self.blocks(blocks);
                    self.out.push_str("</div>\n");
                } else {
                    self.blocks(blocks);
                }
            }
            Block::Rule => self.out.push_str("<hr>\n"),
            Block::Html { .. } => warn(
                &mut self.warnings,
                "html_dropped",
                "raw HTML in the body is not published".into(),
            ),
        }
    }

    fn heading(&mut self, level: u8, id: Option<&str>, content: &[Inline]) {
        // The page owns the only <h1>: body headings start at h2.
        let level = level.clamp(2, 6);
        if level <= 4 {
            self.heading_n += 1;
            let mut anchor = match id {
                Some(id) if is_safe_id(id) => id.to_string(),
                _ => format!("kb-h-{}", self.heading_n),
            };
            if self.ids.contains(&anchor) {
                let base = anchor.clone();
                let mut n = 2;
                while self.ids.contains(&anchor) {
                    anchor = format!("{base}-{n}");
                    n += 1;
                }
            }
            let _ = write!(self.out, "<h{level} id=\"{anchor}\">");
            self.ids.insert(anchor);
        } else {
            let _ = write!(self.out, "<h{level}>");
        }
        self.inlines(content);
        let _ = writeln!(self.out, "</h{level}>");
    }

    fn list(&mut self, list: &List) {
        if list.ordered {
            if list.start != 1 {
                let _ = writeln!(self.out, "<ol start=\"{}\">", list.start);
            } else {
                self.out.push_str("<ol>\n");
            }
        } else {
            self.out.push_str("<ul>\n");
        }
        for item in &list.items {
            match item.checked {
                Some(true) => self.out.push_str("<li class=\"task done\">☑ "),
                Some(false) => self.out.push_str("<li class=\"task\">☐ "),
                None => self.out.push_str("<li>"),
            }
            match item.blocks.as_slice() {
                // Tight items: no <p> around the text.
                [Block::Paragraph { content }] => self.inlines(content),
                [Block::Paragraph { content }, rest @ ..] => {
                    self.inlines(content);
                    self.out.push('\n');
                    self.blocks(rest);
                }
                blocks => self.blocks(blocks),
            }
            self.out.push_str("</li>\n");
        }
        self.out
            .push_str(if list.ordered { "</ol>\n" } else { "</ul>\n" });
    }

    fn table(&mut self, t: &Table) {
        fn align_class(a: Option<&Align>) -> &'static str {
            match a {
                Some(Align::Left) => " class=\"al-left\"",
                Some(Align::Center) => " class=\"al-center\"",
                Some(Align::Right) => " class=\"al-right\"",
                _ => "",
            }
        }
        self.out.push_str("<table>\n<thead><tr>");
        for (i, cell) in t.header.iter().enumerate() {
            let _ = write!(
                self.out,
                "<th scope=\"col\"{}>",
                align_class(t.align.get(i))
            );
            self.inlines(cell);
            self.out.push_str("</th>");
        }
        self.out.push_str("</tr></thead>\n<tbody>\n");
        for row in &t.rows {
            self.out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let _ = write!(self.out, "<td{}>", align_class(t.align.get(i)));
                self.inlines(cell);
                self.out.push_str("</td>");
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody>\n</table>\n");
    }

    fn inlines(&mut self, inlines: &[Inline]) {
        for i in inlines {
            self.inline(i);
        }
    }

    fn inline(&mut self, i: &Inline) {
        match i {
            Inline::Text { text } => escape_into(&mut self.out, text),
            Inline::Code { text } => {
                self.out.push_str("<code>");
                escape_into(&mut self.out, text);
                self.out.push_str("</code>");
            }
            Inline::Emphasis { content } => self.wrap("em", content),
            Inline::Strong { content } => self.wrap("strong", content),
            Inline::Strikethrough { content } => self.wrap("del", content),
            Inline::Link {
                url,
                title,
                content,
            } => {
                if safe_url(url) {
                    self.out.push_str("<a href=\"");
                    escape_into(&mut self.out, url.trim());
                    self.out.push('"');
                    if !title.is_empty() {
                        self.out.push_str(" title=\"");
                        escape_into(&mut self.out, title);
                        self.out.push('"');
                    }
                    self.out.push('>');
                    self.inlines(content);
                    self.out.push_str("</a>");
                } else {
                    warn(
                        &mut self.warnings,
                        "unsafe_link_dropped",
                        format!("link with a disallowed URL scheme dropped: {}", short(url)),
                    );
                    self.inlines(content);
                }
            }
            Inline::Image { url, alt, title } => {
                if alt.trim().is_empty() {
                    warn(
                        &mut self.warnings,
                        "image_without_alt",
                        format!("image without alt text omitted: {}", short(url)),
                    );
                } else if !safe_url(url) {
                    warn(
                        &mut self.warnings,
                        "unsafe_image_dropped",
                        format!("image with a disallowed URL scheme dropped: {}", short(url)),
                    );
                } else {
                    self.out.push_str("<img src=\"");
                    escape_into(&mut self.out, url.trim());
                    self.out.push_str("\" alt=\"");
                    escape_into(&mut self.out, alt);
                    self.out.push('"');
                    if !title.is_empty() {
                        self.out.push_str(" title=\"");
                        escape_into(&mut self.out, title);
                        self.out.push('"');
                    }
                    self.out.push('>');
                }
            }
            Inline::Snippet { key } => match self.input.snippets.get(key) {
                Some(s) => {
                    let text = s.text_for(self.channel);
                    let digits = tel_digits(text);
                    if s.say_as == Some(SayAs::Telephone) && !digits.is_empty() {
                        let _ = write!(self.out, "<a class=\"tel\" href=\"tel:{digits}\">");
                        escape_into(&mut self.out, text);
                        self.out.push_str("</a>");
                    } else {
                        escape_into(&mut self.out, text);
                    }
                }
                None => warn(
                    &mut self.warnings,
                    "snippet_missing",
                    format!("snippet '{key}' is not published in this locale"),
                ),
            },
            Inline::SoftBreak => self.out.push('\n'),
            Inline::HardBreak => self.out.push_str("<br>\n"),
            Inline::Html { .. } => warn(
                &mut self.warnings,
                "html_dropped",
                "raw HTML in the body is not published".into(),
            ),
        }
    }

    fn wrap(&mut self, tag: &str, content: &[Inline]) {
        let _ = write!(self.out, "<{tag}>");
        self.inlines(content);
        let _ = write!(self.out, "</{tag}>");
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Whether a URL may be a link target: http(s), mailto, tel, or relative.
pub fn safe_url(url: &str) -> bool {
    let u = url.trim();
    let scheme_end = u.find(':');
    let first_special = u.find(['/', '?', '#']);
    match (scheme_end, first_special) {
        // No scheme: a relative URL.
        (None, _) => true,
        (Some(c), Some(s)) if s < c => true,
        (Some(c), _) => {
            let scheme = u[..c].to_ascii_lowercase();
            matches!(scheme.as_str(), "http" | "https" | "mailto" | "tel")
        }
    }
}

fn new_writer<'i, 'a>(input: &'i RenderInput<'a>, channel: Channel) -> Writer<'i, 'a> {
    Writer {
        input,
        channel,
        out: String::with_capacity(2048),
        warnings: Vec::new(),
        heading_n: 0,
        ids: HashSet::new(),
    }
}

/// The document as HTML for `channel` (blocks scoped to other channels are skipped;
/// `::: internal` blocks appear, marked, only for the agent channel). Not sanitised: pass
/// the result through a [`Sanitizer`] before publishing it.
pub fn doc_to_html_unsanitized(
    doc: &Doc,
    input: &RenderInput<'_>,
    channel: Channel,
) -> (String, Vec<RenderWarning>) {
    let mut w = new_writer(input, channel);
    w.blocks(&doc.blocks);
    (w.out, w.warnings)
}

/// The document as sanitised HTML for `channel`.
///
/// Builds a default [`Sanitizer`]; renderers keep their own and call
/// [`doc_to_html_with`] to avoid rebuilding it.
pub fn doc_to_html(
    doc: &Doc,
    input: &RenderInput<'_>,
    channel: Channel,
) -> (String, Vec<RenderWarning>) {
    static SANITIZER: std::sync::OnceLock<Sanitizer> = std::sync::OnceLock::new();
    doc_to_html_with(SANITIZER.get_or_init(Sanitizer::new), doc, input, channel)
}

/// [`doc_to_html`] with a given sanitizer.
pub fn doc_to_html_with(
    sanitizer: &Sanitizer,
    doc: &Doc,
    input: &RenderInput<'_>,
    channel: Channel,
) -> (String, Vec<RenderWarning>) {
    let body = Body::write(doc, input, channel);
    let clean = match channel {
        Channel::Web | Channel::Agent => web_agent_body(sanitizer, &body, doc, input),
        _ => sanitizer.clean(&body.html),
    };
    (clean, body.warnings)
}

/// How many raw -> clean bodies each thread remembers (a publish renders the web and
/// the agent channel of one article right after each other).
const CLEANED_ENTRIES: usize = 4;

thread_local! {
    /// Bodies this thread sanitised lately, as (raw HTML, clean HTML). Cleaning is a pure
    /// function of the raw HTML (every [`Sanitizer`] has the one configuration), so a hit
    /// is exactly what cleaning again would give, whichever article it came from.
    static CLEANED: RefCell<VecDeque<(String, String)>> = const { RefCell::new(VecDeque::new()) };
}

/// The raw (escaped, not yet sanitised) body of one channel, with where each top-level
/// block ends in it.
struct Body {
    channel: Channel,
    html: String,
    warnings: Vec<RenderWarning>,
    ends: Vec<usize>,
}

impl Body {
    fn write(doc: &Doc, input: &RenderInput<'_>, channel: Channel) -> Self {
        let mut w = new_writer(input, channel);
        let mut ends = Vec::with_capacity(doc.blocks.len());
        for b in &doc.blocks {
            w.block(b);
            ends.push(w.out.len());
        }
        Body {
            channel,
            html: w.out,
            warnings: w.warnings,
            ends,
        }
    }

    /// The `i`th top-level block's HTML.
    fn block(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        start..self.ends[i]
    }
}

/// The clean body of the web or agent channel.
///
/// The web page and the agent panel show the same blocks but for `::: internal` ones
/// (and channel-scoped blocks and snippet variants), so one ammonia pass cleans both:
/// the blocks the two channels write alike once, the others in each channel's form. The
/// other channel's clean body is remembered for its render ([`CLEANED`]).
fn web_agent_body(
    sanitizer: &Sanitizer,
    body: &Body,
    doc: &Doc,
    input: &RenderInput<'_>,
) -> String {
    let remembered = CLEANED.with_borrow(|c| {
        c.iter()
            .find(|(raw, _)| *raw == body.html)
            .map(|(_, clean)| clean.clone())
    });
    let clean = remembered.unwrap_or_else(|| {
        let other = if body.channel == Channel::Web {
            Channel::Agent
        } else {
            Channel::Web
        };
        let other = Body::write(doc, input, other);
        let [mine, theirs] = clean_both(sanitizer, body, &other);
        CLEANED.with_borrow_mut(|c| {
            for entry in [(body.html.clone(), mine.clone()), (other.html, theirs)] {
                if c.len() == CLEANED_ENTRIES {
                    c.pop_front();
                }
                c.push_back(entry);
            }
        });
        mine
    });
    debug_assert_eq!(
        clean,
        sanitizer.clean(&body.html),
        "one-pass cleaning must equal cleaning alone"
    );
    clean
}

/// Which of two bodies a part of [`clean_both`] belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Both,
    Mine,
    Theirs,
}

/// Two bodies of one doc cleaned in one ammonia pass: `[mine, theirs]`.
fn clean_both(sanitizer: &Sanitizer, mine: &Body, theirs: &Body) -> [String; 2] {
    // A block both write alike is cleaned once, a block they write differently once in
    // each form (either may be empty: a block one channel does not show). `Both` and
    // `Mine` ranges are into `mine`, `Theirs` ones into `theirs`; a run of adjacent
    // blocks of one kind is one part.
    let mut parts: Vec<(Who, std::ops::Range<usize>)> = Vec::new();
    let mut push = |who: Who, range: std::ops::Range<usize>| {
        if range.is_empty() {
            return;
        }
        match parts.last_mut() {
            Some((last, run)) if *last == who && run.end == range.start => run.end = range.end,
            _ => parts.push((who, range)),
        }
    };
    for i in 0..mine.ends.len() {
        let (m, t) = (mine.block(i), theirs.block(i));
        if mine.html[m.clone()] == theirs.html[t.clone()] {
            push(Who::Both, m);
        } else {
            push(Who::Mine, m);
            push(Who::Theirs, t);
        }
    }
    let texts: Vec<&str> = parts
        .iter()
        .map(|(who, r)| match who {
            Who::Theirs => &theirs.html[r.clone()],
            Who::Both | Who::Mine => &mine.html[r.clone()],
        })
        .collect();
    let clean = sanitizer.clean_parts(&texts);
    let mut out = [
        String::with_capacity(mine.html.len()),
        String::with_capacity(theirs.html.len()),
    ];
    for ((who, _), c) in parts.iter().zip(&clean) {
        if *who != Who::Theirs {
            out[0].push_str(c);
        }
        if *who != Who::Mine {
            out[1].push_str(c);
        }
    }
    out
}

/// Inline content (e.g. a field value with snippet references) as escaped HTML.
pub fn inlines_to_html(
    inlines: &[Inline],
    input: &RenderInput<'_>,
    channel: Channel,
) -> (String, Vec<RenderWarning>) {
    let mut w = new_writer(input, channel);
    w.inlines(inlines);
    (w.out, w.warnings)
}

/// A plain-text field value (may hold `{{snippet:KEY}}`) as escaped HTML.
pub fn field_to_html(text: &str, input: &RenderInput<'_>, channel: Channel) -> String {
    match crate::content::parse_inline_text(text) {
        Ok(inlines) => inlines_to_html(&inlines, input, channel).0,
        Err(_) => escape(text),
    }
}

/// A plain-text field value with snippet references resolved for `channel`.
pub fn field_to_text(text: &str, input: &RenderInput<'_>, channel: Channel) -> String {
    match crate::content::parse_inline_text(text) {
        Ok(inlines) => {
            let mut out = String::with_capacity(text.len());
            inlines_text_into(&mut out, &inlines, input, channel);
            out
        }
        Err(_) => text.to_string(),
    }
}

/// The plain text of inlines (snippets resolved, images by their alt text).
pub fn inlines_text_into(
    out: &mut String,
    inlines: &[Inline],
    input: &RenderInput<'_>,
    channel: Channel,
) {
    for i in inlines {
        match i {
            Inline::Text { text } | Inline::Code { text } => out.push_str(text),
            Inline::Emphasis { content }
            | Inline::Strong { content }
            | Inline::Strikethrough { content }
            | Inline::Link { content, .. } => inlines_text_into(out, content, input, channel),
            Inline::Image { alt, .. } => out.push_str(alt),
            Inline::Snippet { key } => {
                if let Some(s) = input.snippets.get(key) {
                    out.push_str(s.text_for(channel));
                }
            }
            Inline::SoftBreak => out.push(' '),
            Inline::HardBreak => out.push('\n'),
            Inline::Html { .. } => {}
        }
    }
}

/// The plain text of blocks admitted for `channel`, one line per paragraph / item.
/// With `customer_safe`, `::: internal` blocks are skipped even for the agent channel.
pub fn blocks_text_into(
    out: &mut String,
    blocks: &[Block],
    input: &RenderInput<'_>,
    channel: Channel,
    customer_safe: bool,
) {
    for b in blocks {
        match b {
            Block::Heading { content, .. } | Block::Paragraph { content } => {
                inlines_text_into(out, content, input, channel);
                out.push('\n');
            }
            Block::List(list) => {
                for item in &list.items {
                    blocks_text_into(out, &item.blocks, input, channel, customer_safe);
                }
            }
            Block::Table(t) => {
                for row in std::iter::once(&t.header).chain(t.rows.iter()) {
                    for (i, cell) in row.iter().enumerate() {
                        if i > 0 {
                            out.push_str(" | ");
                        }
                        inlines_text_into(out, cell, input, channel);
                    }
                    out.push('\n');
                }
            }
            Block::Code { text, .. } => {
                out.push_str(text);
                out.push('\n');
            }
            Block::Quote { blocks } | Block::Callout { blocks, .. } => {
                blocks_text_into(out, blocks, input, channel, customer_safe)
            }
            Block::Scoped { scope, blocks } => {
                if scope.admits(channel) && !(customer_safe && *scope == Scope::Internal) {
                    blocks_text_into(out, blocks, input, channel, customer_safe);
                }
            }
            Block::Rule | Block::Html { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_in_runs_equals_escaping_byte_by_byte() {
        use rand::{Rng, SeedableRng};
        let reference = |s: &str| -> String {
            s.chars()
                .map(|c| match c {
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '"' => "&quot;".to_string(),
                    '\'' => "&#39;".to_string(),
                    c => c.to_string(),
                })
                .collect()
        };
        let alphabet = [
            'a', '宽', '带', '&', '<', '>', '"', '\'', ' ', '\n', 'é', '😀',
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..2_000 {
            let len = rng.gen_range(0..100);
            let text: String = (0..len)
                .map(|_| {
                    // Mostly plain text, so that whole runs are passed over too.
                    if rng.gen_bool(0.9) {
                        alphabet[rng.gen_range(0..2)]
                    } else {
                        alphabet[rng.gen_range(0..alphabet.len())]
                    }
                })
                .collect();
            assert_eq!(escape(&text), reference(&text), "{text:?}");
        }
    }

    #[test]
    fn the_part_marker_survives_cleaning() {
        // Else every one-pass clean would fall back to cleaning part by part.
        assert_eq!(Sanitizer::new().clean(PART_MARK), PART_MARK);
    }

    #[test]
    fn one_pass_equals_part_by_part_even_when_content_spells_the_marker() {
        let s = Sanitizer::new();
        // The marker written by an author: escaped in text, and in attribute values
        // (where the serialiser writes `<` raw but never a raw `"`).
        let parts = [
            "<p>&lt;abbr lang=&quot;&quot;&gt;&lt;/abbr&gt; one</p>\n",
            "<p><a href=\"https://x.example/&lt;abbr lang=&quot;&quot;&gt;&lt;/abbr&gt;\" title=\"&lt;abbr lang=&quot;&quot;&gt;&lt;/abbr&gt;\">two</a></p>\n",
            "<div class=\"internal\" aria-label=\"Internal\">\n<p>three</p>\n</div>\n",
            "<table>\n<thead><tr><th scope=\"col\">a</th></tr></thead>\n<tbody>\n<tr><td>b</td></tr>\n</tbody>\n</table>\n",
            "<ul>\n<li class=\"task done\">☑ <em>four</em></li>\n</ul>\n",
        ];
        let alone: Vec<String> = parts.iter().map(|p| s.clean(p)).collect();
        assert_eq!(s.clean_parts(&parts), alone);
        assert_eq!(s.clean(&parts.concat()), alone.concat());
    }
}
