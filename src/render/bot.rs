//! Chat-bot: the neutral answer JSON (`kb.bot-answer/1`, channels.md §2.2) and adapters for
//! Bot Framework, Dialogflow CX and WeChat / WeCom customer service (§2.3).
//!
//! The answer carries no `match` object: the confidence and the user's query are only
//! known when a question is answered, so the answer endpoint adds `match` (and the
//! adapters' confidence fields) at request time. Renders stay pure and cacheable per
//! (id, version, locale).

use std::fmt::Write as _;

use serde::Serialize;

use crate::content::{Block, Inline};
use crate::domain::{Audience, Channel};
use crate::render::speech::{self, Dropped, Piece};
use crate::render::{RenderError, RenderInput, RenderWarning, Renderer, Rendition};

/// Renders the bot channel: `json` (default), `botframework`, `dialogflow`, `wechat`.
#[derive(Debug, Default, Clone, Copy)]
pub struct BotRenderer;

/// Most text bubbles per answer.
pub const MAX_TEXT_CHUNKS: usize = 3;
/// `plain_text` limit (WeCom text messages: 2,048 UTF-8 bytes).
pub const MAX_PLAIN_BYTES: usize = 2048;
/// Follow-up label limit in characters (Messenger quick replies: 20).
pub const MAX_LABEL_CHARS: usize = 20;
/// Related articles offered as quick replies.
const MAX_RELATED: usize = 4;

#[derive(Debug, Clone, Serialize)]
pub struct BotAnswer {
    pub schema: &'static str,
    pub kind: &'static str,
    pub article: BotArticle,
    pub chunks: Vec<Chunk>,
    pub plain_text: String,
    pub quick_replies: Vec<QuickReply>,
    pub links: Links,
}

#[derive(Debug, Clone, Serialize)]
pub struct BotArticle {
    pub id: String,
    pub version: i32,
    pub locale: String,
    #[serde(rename = "type")]
    pub article_type: String,
    pub title: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Chunk {
    Text { text: String },
    Steps { items: Vec<String> },
}

#[derive(Debug, Clone, Serialize)]
pub struct QuickReply {
    pub label: String,
    /// `handoff` or `article`.
    pub action: &'static str,
    /// `agent` for a handoff, `KB-<id>` for an article.
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Links {
    pub canonical: String,
}

struct Ctx<'a> {
    input: &'a RenderInput<'a>,
    zh: bool,
    warnings: Vec<RenderWarning>,
}

impl Ctx<'_> {
    fn warn(&mut self, code: &str, message: &str) {
        if !self.warnings.iter().any(|w| w.code == code) {
            self.warnings.push(RenderWarning {
                code: code.into(),
                message: message.into(),
            });
        }
    }

    fn text(&mut self, inlines: &[Inline]) -> String {
        let mut p = Vec::new();
        let mut d = Dropped::default();
        speech::flatten(inlines, self.input.snippets, Channel::Bot, &mut p, &mut d);
        if d.images {
            self.warn("image_dropped", "images are not sent to bots");
        }
        if d.html {
            self.warn("html_dropped", "raw HTML is not sent to bots");
        }
        if d.missing_snippet {
            self.warn("snippet_missing", "a referenced snippet is not published");
        }
        collapse(&speech::plain(&p))
    }

    fn size(&self, s: &str) -> usize {
        if self.zh {
            s.chars().count()
        } else {
            s.split_whitespace().count()
        }
    }

    /// One bubble: ~300 Hanzi / ~80 words.
    fn bubble_limit(&self) -> usize {
        if self.zh { 300 } else { 80 }
    }
}

/// Whitespace runs to one space, trimmed.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Content as paragraphs ("text lines") and step lists, in order.
enum Part {
    Text(String),
    Steps(Vec<String>),
}

fn walk(blocks: &[Block], cx: &mut Ctx<'_>, parts: &mut Vec<Part>, pending: &mut Option<String>) {
    let push = |parts: &mut Vec<Part>, pending: &mut Option<String>, p: Part| {
        if let Some(h) = pending.take() {
            parts.push(Part::Text(h));
        }
        parts.push(p);
    };
    for b in blocks {
        match b {
            Block::Heading { content, .. } => {
                let t = cx.text(content);
                *pending = (!t.is_empty()).then_some(t);
            }
            Block::Paragraph { content } => {
                let t = cx.text(content);
                if !t.is_empty() {
                    push(parts, pending, Part::Text(t));
                }
            }
            Block::List(l) => {
                let items: Vec<String> = l
                    .items
                    .iter()
                    .map(|it| item_text(&it.blocks, cx))
                    .filter(|t| !t.is_empty())
                    .collect();
                if items.is_empty() {
                    continue;
                }
                if l.ordered {
                    push(parts, pending, Part::Steps(items));
                } else {
                    let bullet = items
                        .iter()
                        .map(|i| format!("• {i}"))
                        .collect::<Vec<_>>()
                        .join("\n");
                    push(parts, pending, Part::Text(bullet));
                }
            }
            Block::Table(_) => cx.warn(
                "table_dropped",
                "tables are not sent to bots; the full article link has them",
            ),
            Block::Code { .. } => cx.warn("code_dropped", "code blocks are not sent to bots"),
            Block::Html { .. } => cx.warn("html_dropped", "raw HTML is not sent to bots"),
            Block::Quote { blocks }
            | Block::Callout { blocks, .. }
            | Block::Scoped { blocks, .. } => walk(blocks, cx, parts, pending),
            Block::Rule => {}
        }
    }
}

fn item_text(blocks: &[Block], cx: &mut Ctx<'_>) -> String {
    let mut out = String::new();
    for b in blocks {
        let t = match b {
            Block::Paragraph { content } | Block::Heading { content, .. } => cx.text(content),
            Block::List(l) => l
                .items
                .iter()
                .map(|it| item_text(&it.blocks, cx))
                .collect::<Vec<_>>()
                .join(if cx.zh { "" } else { " " }),
            Block::Quote { blocks }
            | Block::Callout { blocks, .. }
            | Block::Scoped { blocks, .. } => item_text(blocks, cx),
            _ => String::new(),
        };
        if !t.is_empty() {
            if !out.is_empty() && !cx.zh {
                out.push(' ');
            }
            out.push_str(&t);
        }
    }
    out
}

/// Cuts text to at most `max_bytes` at the last sentence end (or, failing that, a char
/// boundary) and adds an ellipsis when something was cut.
fn cut_at_sentence(s: &str, max_bytes: usize, zh: bool) -> (String, bool) {
    if s.len() <= max_bytes {
        return (s.to_string(), false);
    }
    let ell = if zh { "…" } else { "..." };
    let budget = max_bytes.saturating_sub(ell.len());
    let mut end = budget.min(s.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let head = &s[..end];
    let sentence_end = head
        .char_indices()
        .filter(|(_, c)| matches!(c, '。' | '！' | '？' | '!' | '?' | '.' | '\n'))
        .map(|(i, c)| i + c.len_utf8())
        .next_back();
    match sentence_end {
        Some(e) if e > budget / 2 => (head[..e].trim_end().to_string(), true),
        _ => (format!("{}{ell}", head.trim_end()), true),
    }
}

fn label(title: &str) -> String {
    let t = title.trim_end_matches(['？', '?', '。', '.']);
    if t.chars().count() <= MAX_LABEL_CHARS {
        return t.to_string();
    }
    let mut s: String = t.chars().take(MAX_LABEL_CHARS - 1).collect();
    s = s.trim_end().to_string();
    s.push('…');
    s
}

/// Builds the neutral answer (and the warnings).
pub fn answer(input: &RenderInput<'_>) -> (BotAnswer, Vec<RenderWarning>) {
    let a = input.article;
    let zh = a.locale.is_chinese();
    let mut cx = Ctx {
        input,
        zh,
        warnings: Vec::new(),
    };
    let doc = input.doc.for_channel(Channel::Bot);

    let mut parts = Vec::new();
    if let Some(summary) = ["summary", "issue", "question"].into_iter().find_map(|f| {
        if input.schema.field_visible(f, Channel::Bot) {
            speech::field_str(&a.fields, f)
        } else {
            None
        }
    }) {
        let p: Vec<Piece> = speech::field_pieces(summary, input.snippets, Channel::Bot);
        let t = collapse(&speech::plain(&p));
        if !t.is_empty() {
            parts.push(Part::Text(t));
        }
    }
    walk(&doc.blocks, &mut cx, &mut parts, &mut None);

    // Pack paragraphs into ≤ 3 text bubbles of ≤ ~300 Hanzi / 80 words.
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut text_chunks = 0;
    let mut truncated = false;
    let limit = cx.bubble_limit();
    for part in parts {
        match part {
            Part::Steps(items) => chunks.push(Chunk::Steps { items }),
            Part::Text(t) => {
                let joinable = match chunks.last() {
                    Some(Chunk::Text { text }) => cx.size(text) + cx.size(&t) <= limit,
                    _ => false,
                };
                if joinable {
                    if let Some(Chunk::Text { text }) = chunks.last_mut() {
                        text.push('\n');
                        text.push_str(&t);
                    }
                } else if text_chunks < MAX_TEXT_CHUNKS {
                    let t = if cx.size(&t) > limit {
                        truncated = true;
                        // ≈3 bytes a Hanzi, ≈6 bytes an English word.
                        cut_at_sentence(&t, if zh { limit * 3 } else { limit * 6 }, zh).0
                    } else {
                        t
                    };
                    chunks.push(Chunk::Text { text: t });
                    text_chunks += 1;
                } else {
                    truncated = true;
                }
            }
        }
    }
    if truncated {
        cx.warn(
            "bot_content_truncated",
            "the answer was shortened to 3 bubbles; the full article link has the rest",
        );
    }

    let plain = plain_text(&chunks);
    let (plain_text, cut) = cut_at_sentence(&plain, MAX_PLAIN_BYTES, zh);
    if cut {
        cx.warn(
            "plain_text_truncated",
            "plain_text was cut to 2,048 bytes at a sentence end",
        );
    }

    let mut quick_replies = vec![QuickReply {
        label: if zh { "转人工" } else { "Talk to an agent" }.into(),
        action: "handoff",
        value: "agent".into(),
    }];
    quick_replies.extend(
        a.related
            .iter()
            .filter(|r| r.audience == Audience::Public)
            .take(MAX_RELATED)
            .map(|r| QuickReply {
                label: label(&r.title),
                action: "article",
                value: r.id.to_string(),
            }),
    );

    let answer = BotAnswer {
        schema: "kb.bot-answer/1",
        kind: "answer",
        article: BotArticle {
            id: a.id.to_string(),
            version: a.revision,
            locale: a.locale.to_string(),
            article_type: a.article_type.clone(),
            title: a.title.clone(),
            updated_at: a
                .updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        },
        chunks,
        plain_text,
        quick_replies,
        links: Links {
            canonical: canonical_url(input),
        },
    };
    (answer, cx.warnings)
}

/// `{base_url}/kb/{locale}/{slug}`.
pub(crate) fn canonical_url(input: &RenderInput<'_>) -> String {
    let a = input.article;
    format!(
        "{}/kb/{}/{}",
        input.site.base_url.trim_end_matches('/'),
        a.locale.as_str(),
        a.slug
    )
}

fn plain_text(chunks: &[Chunk]) -> String {
    let mut out = String::new();
    for c in chunks {
        if !out.is_empty() {
            out.push('\n');
        }
        match c {
            Chunk::Text { text } => out.push_str(text),
            Chunk::Steps { items } => {
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    let _ = write!(out, "{}. {it}", i + 1);
                }
            }
        }
    }
    out
}

/// Appends `s` with Markdown metacharacters escaped, so article text cannot inject links
/// or formatting; with `paragraphs`, each line break becomes a blank line. (All of these
/// characters are ASCII, so runs of other text are copied at once.)
fn md_escape_into(out: &mut String, s: &str, paragraphs: bool) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'\\' | b'`' | b'*' | b'_' | b'[' | b']' | b'<' | b'>' | b'#' | b'|' | b'~' | b'!' => {
                None
            }
            b'\n' if paragraphs => Some("\n\n"),
            _ => continue,
        };
        out.push_str(&s[last..i]);
        match rep {
            None => {
                out.push('\\');
                last = i;
            }
            Some(r) => {
                out.push_str(r);
                last = i + 1;
            }
        }
    }
    out.push_str(&s[last..]);
}

fn markdown(chunks: &[Chunk]) -> String {
    let mut out = String::with_capacity(1024);
    for c in chunks {
        if !out.is_empty() {
            out.push_str("\n\n");
        }
        match c {
            Chunk::Text { text } => md_escape_into(&mut out, text, true),
            Chunk::Steps { items } => {
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push('\n');
                    }
                    let _ = write!(out, "{}. ", i + 1);
                    md_escape_into(&mut out, it, false);
                }
            }
        }
    }
    out
}

fn open_label(zh: bool) -> &'static str {
    if zh {
        "查看完整文章"
    } else {
        "Read the full article"
    }
}

// The adapters are written as borrowing structs rather than `json!` values: no map or
// string is built only to be serialised. Field order is the order of the documents'
// keys (and the key names are the platforms').

/// Bot Framework activity with suggested actions and an Adaptive Card 1.5.
pub fn botframework(ans: &BotAnswer) -> impl Serialize + '_ {
    let zh = ans.article.locale.starts_with("zh");
    let actions = ans
        .quick_replies
        .iter()
        .map(|q| match q.action {
            "handoff" => BfAction {
                kind: "postBack",
                title: &q.label,
                value: format!("handoff:{}", q.value).into(),
            },
            _ => BfAction {
                kind: "imBack",
                title: &q.label,
                value: q.label.as_str().into(),
            },
        })
        .collect();
    let title = ans.article.title.as_str();
    BfActivity {
        kind: "message",
        locale: &ans.article.locale,
        text_format: "markdown",
        text: markdown(&ans.chunks),
        summary: title,
        suggested_actions: BfSuggested { actions },
        attachments: [BfAttachment {
            content_type: "application/vnd.microsoft.card.adaptive",
            content: BfCard {
                schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                kind: "AdaptiveCard",
                version: "1.5",
                body: [BfTextBlock {
                    kind: "TextBlock",
                    text: title,
                    weight: "Bolder",
                    wrap: true,
                }],
                actions: [BfOpenUrl {
                    kind: "Action.OpenUrl",
                    title: open_label(zh),
                    url: &ans.links.canonical,
                }],
            },
        }],
        channel_data: BfChannelData { kb: KbRef::of(ans) },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BfActivity<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    locale: &'a str,
    text_format: &'static str,
    text: String,
    summary: &'a str,
    suggested_actions: BfSuggested<'a>,
    attachments: [BfAttachment<'a>; 1],
    channel_data: BfChannelData<'a>,
}

#[derive(Serialize)]
struct BfSuggested<'a> {
    actions: Vec<BfAction<'a>>,
}

#[derive(Serialize)]
struct BfAction<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'a str,
    value: std::borrow::Cow<'a, str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BfAttachment<'a> {
    content_type: &'static str,
    content: BfCard<'a>,
}

#[derive(Serialize)]
struct BfCard<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    version: &'static str,
    body: [BfTextBlock<'a>; 1],
    actions: [BfOpenUrl<'a>; 1],
}

#[derive(Serialize)]
struct BfTextBlock<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    text: &'a str,
    weight: &'static str,
    wrap: bool,
}

#[derive(Serialize)]
struct BfOpenUrl<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    title: &'static str,
    url: &'a str,
}

#[derive(Serialize)]
struct BfChannelData<'a> {
    kb: KbRef<'a>,
}

#[derive(Serialize)]
struct KbRef<'a> {
    id: &'a str,
    version: i32,
    locale: &'a str,
}

impl<'a> KbRef<'a> {
    fn of(ans: &'a BotAnswer) -> Self {
        KbRef {
            id: &ans.article.id,
            version: ans.article.version,
            locale: &ans.article.locale,
        }
    }
}

/// Dialogflow CX webhook response.
pub fn dialogflow(ans: &BotAnswer) -> impl Serialize + '_ {
    let zh = ans.article.locale.starts_with("zh");
    // One message per bubble; a step list joins the text bubble before it.
    let mut texts: Vec<String> = Vec::new();
    let mut after_text = false;
    for c in &ans.chunks {
        let one = plain_text(std::slice::from_ref(c));
        match (c, texts.last_mut()) {
            (Chunk::Steps { .. }, Some(prev)) if after_text => {
                prev.push('\n');
                prev.push_str(&one);
                after_text = false;
            }
            _ => {
                after_text = matches!(c, Chunk::Text { .. });
                texts.push(one);
            }
        }
    }
    let mut messages: Vec<DfMessage<'_>> = texts
        .into_iter()
        .map(|t| DfMessage::Text {
            text: DfText { text: [t] },
        })
        .collect();
    let mut options: Vec<DfOption<'_>> = ans
        .quick_replies
        .iter()
        .map(|q| DfOption {
            text: &q.label,
            link: None,
        })
        .collect();
    options.push(DfOption {
        text: open_label(zh),
        link: Some(&ans.links.canonical),
    });
    messages.push(DfMessage::Payload {
        payload: DfPayload {
            rich_content: [[DfChips {
                kind: "chips",
                options,
            }]],
        },
    });
    DfResponse {
        fulfillment_response: DfFulfillment {
            merge_behavior: "REPLACE",
            messages,
        },
        session_info: DfSession {
            parameters: DfParameters {
                kb_id: &ans.article.id,
                kb_version: ans.article.version,
                kb_locale: &ans.article.locale,
            },
        },
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DfResponse<'a> {
    fulfillment_response: DfFulfillment<'a>,
    session_info: DfSession<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DfFulfillment<'a> {
    merge_behavior: &'static str,
    messages: Vec<DfMessage<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum DfMessage<'a> {
    Text { text: DfText },
    Payload { payload: DfPayload<'a> },
}

#[derive(Serialize)]
struct DfText {
    text: [String; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DfPayload<'a> {
    rich_content: [[DfChips<'a>; 1]; 1],
}

#[derive(Serialize)]
struct DfChips<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    options: Vec<DfOption<'a>>,
}

#[derive(Serialize)]
struct DfOption<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
}

#[derive(Serialize)]
struct DfSession<'a> {
    parameters: DfParameters<'a>,
}

#[derive(Serialize)]
struct DfParameters<'a> {
    kb_id: &'a str,
    kb_version: i32,
    kb_locale: &'a str,
}

/// Truncates to at most `max` UTF-8 bytes on a char boundary.
fn cap_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// WeChat / WeCom customer service: the text message, then a `msgmenu` of follow-ups.
pub fn wechat(ans: &BotAnswer) -> impl Serialize + '_ {
    let zh = ans.article.locale.starts_with("zh");
    let mut list: Vec<WxMenuItem<'_>> = ans
        .quick_replies
        .iter()
        .take(9)
        .map(|q| WxMenuItem::Click {
            kind: "click",
            click: WxClick {
                id: cap_bytes(&q.value, 64),
                content: cap_bytes(&q.label, 128),
            },
        })
        .collect();
    list.push(WxMenuItem::View {
        kind: "view",
        view: WxView {
            url: &ans.links.canonical,
            content: open_label(zh),
        },
    });
    let head = if zh {
        "还有其他问题吗？"
    } else {
        "Anything else?"
    };
    WxMessages {
        messages: (
            WxText {
                msgtype: "text",
                text: WxContent {
                    content: &ans.plain_text,
                },
            },
            WxMenu {
                msgtype: "msgmenu",
                msgmenu: WxMenuBody {
                    head_content: head,
                    list,
                    tail_content: "",
                },
            },
        ),
    }
}

#[derive(Serialize)]
struct WxMessages<'a> {
    /// A JSON array of the two messages.
    messages: (WxText<'a>, WxMenu<'a>),
}

#[derive(Serialize)]
struct WxText<'a> {
    msgtype: &'static str,
    text: WxContent<'a>,
}

#[derive(Serialize)]
struct WxContent<'a> {
    content: &'a str,
}

#[derive(Serialize)]
struct WxMenu<'a> {
    msgtype: &'static str,
    msgmenu: WxMenuBody<'a>,
}

#[derive(Serialize)]
struct WxMenuBody<'a> {
    head_content: &'static str,
    list: Vec<WxMenuItem<'a>>,
    tail_content: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum WxMenuItem<'a> {
    Click {
        #[serde(rename = "type")]
        kind: &'static str,
        click: WxClick<'a>,
    },
    View {
        #[serde(rename = "type")]
        kind: &'static str,
        view: WxView<'a>,
    },
}

#[derive(Serialize)]
struct WxClick<'a> {
    id: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct WxView<'a> {
    url: &'a str,
    content: &'static str,
}

fn to_json<T: Serialize>(v: &T) -> Result<String, RenderError> {
    serde_json::to_string_pretty(v).map_err(|e| RenderError::Other(e.to_string()))
}

impl Renderer for BotRenderer {
    fn channel(&self) -> Channel {
        Channel::Bot
    }

    fn formats(&self) -> &'static [&'static str] {
        &["json", "botframework", "dialogflow", "wechat"]
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Rendition>, RenderError> {
        let (ans, warnings) = answer(input);
        let bodies = [
            ("json", to_json(&ans)?),
            ("botframework", to_json(&botframework(&ans))?),
            ("dialogflow", to_json(&dialogflow(&ans))?),
            ("wechat", to_json(&wechat(&ans))?),
        ];
        Ok(bodies
            .into_iter()
            .map(|(format, body)| Rendition {
                channel: Channel::Bot,
                format: format.into(),
                media_type: "application/json".into(),
                body,
                warnings: warnings.clone(),
            })
            .collect())
    }
}
