//! Agent desk renderer (channels.md §3): a JSON view for the agent workspace and an HTML
//! fragment for the knowledge panel.
//!
//! Customer-ready payloads (`summary`, `reply_text`, `steps`, `phone_script`) are built
//! only from customer-safe content: `::: internal` blocks and the `internal_notes` field
//! go to `internal_notes` and nowhere else.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::content::doc::{Block, Inline, Scope, visit_blocks};
use crate::content::file::SayAs;
use crate::domain::{Audience, Channel, ValidityStatus};

use super::html::{self, Sanitizer, escape, escape_into};
use super::web::{article_url, field_str, iso_date};
use super::{RenderError, RenderInput, RenderWarning, Renderer, Rendition};

const CH: Channel = Channel::Agent;

/// Days before expiry from which agents see a warning.
const EXPIRY_WARNING_DAYS: i64 = 14;

/// The agent renderer: `json` (default) and `html`.
#[derive(Debug, Default)]
pub struct AgentRenderer {
    sanitizer: Sanitizer,
}

impl AgentRenderer {
    pub fn new() -> Self {
        Self::default()
    }

    /// The structured view (what the `json` format serialises).
    pub fn view(&self, input: &RenderInput<'_>) -> AgentView {
        build_view(input)
    }

    /// The HTML fragment for the agent panel.
    pub fn render_html(
        &self,
        input: &RenderInput<'_>,
        view: &AgentView,
    ) -> (String, Vec<RenderWarning>) {
        let (body, warnings) = html::doc_to_html_with(&self.sanitizer, input.doc, input, CH);
        (fragment(input, view, &body), warnings)
    }
}

impl Renderer for AgentRenderer {
    fn channel(&self) -> Channel {
        CH
    }

    fn formats(&self) -> &'static [&'static str] {
        &["json", "html"]
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Rendition>, RenderError> {
        let view = build_view(input);
        let json =
            serde_json::to_string_pretty(&view).map_err(|e| RenderError::Other(e.to_string()))?;
        let (html, warnings) = self.render_html(input, &view);
        Ok(vec![
            Rendition {
                channel: CH,
                format: "json".into(),
                media_type: "application/json".into(),
                body: json,
                warnings: warnings.clone(),
            },
            Rendition {
                channel: CH,
                format: "html".into(),
                media_type: "text/html; charset=utf-8".into(),
                body: html,
                warnings,
            },
        ])
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    pub article: ArticleHeader,
    pub summary: String,
    /// Customer-ready reply (copy / insert into reply).
    pub reply_text: String,
    /// Checklist from the first ordered list of the body.
    pub steps: Vec<String>,
    /// 2–4 short sentences to say on the phone.
    pub phone_script: Vec<String>,
    pub internal_notes: Option<InternalNotes>,
    pub validity: ValidityView,
    pub review_by: Option<String>,
    pub related: Vec<RelatedView>,
    pub actions: [&'static str; 4],
}

#[derive(Debug, Clone, Serialize)]
pub struct ArticleHeader {
    pub id: String,
    pub version: i32,
    pub locale: String,
    #[serde(rename = "type")]
    pub article_type: String,
    pub title: String,
    pub updated_at: String,
    pub visibility: &'static str,
    pub read_time_min: u32,
    pub confidence: String,
    /// The public URL; `None` for internal articles (not shareable).
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InternalNotes {
    pub label: &'static str,
    pub insertable: bool,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ValidityView {
    pub status: ValidityStatus,
    pub effective_from: Option<String>,
    pub expires_at: Option<String>,
    pub warning: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedView {
    pub id: String,
    pub title: String,
    pub slug: String,
    pub internal: bool,
}

struct Texts {
    greeting: &'static str,
    steps_intro: &'static str,
    internal: &'static str,
    summary: &'static str,
    reply: &'static str,
    copy: &'static str,
    insert: &'static str,
    steps: &'static str,
    phone: &'static str,
    related: &'static str,
    body: &'static str,
    public: &'static str,
    internal_badge: &'static str,
    version: &'static str,
    read_time: &'static str,
}

const ZH: Texts = Texts {
    greeting: "您好，",
    steps_intro: "请按以下步骤操作：",
    internal: "内部",
    summary: "摘要",
    reply: "回复话术",
    copy: "复制",
    insert: "插入回复",
    steps: "步骤",
    phone: "电话话术",
    related: "相关文章",
    body: "全文",
    public: "公开",
    internal_badge: "仅内部",
    version: "版本",
    read_time: "分钟阅读",
};

const EN: Texts = Texts {
    greeting: "Hello, ",
    steps_intro: "please try the following steps:",
    internal: "Internal",
    summary: "Summary",
    reply: "Reply",
    copy: "Copy",
    insert: "Insert into reply",
    steps: "Steps",
    phone: "Phone script",
    related: "Related",
    body: "Full article",
    public: "Public",
    internal_badge: "Internal only",
    version: "version",
    read_time: "min read",
};

fn texts(zh: bool) -> &'static Texts {
    if zh { &ZH } else { &EN }
}

/// Plain text of blocks, customer-safe, lines joined by spaces.
fn plain(blocks: &[Block], input: &RenderInput<'_>) -> String {
    let mut s = String::new();
    html::blocks_text_into(&mut s, blocks, input, CH, true);
    collapse(&s)
}

fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            // No space between CJK characters across a line break.
            let prev_cjk = out.chars().last().is_some_and(is_cjk);
            let next_cjk = w.chars().next().is_some_and(is_cjk);
            if !(prev_cjk && next_cjk) {
                out.push(' ');
            }
        }
        out.push_str(w);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303f}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' | '\u{ff00}'..='\u{ffef}')
}

/// The first ordered list the agent may share (not inside `::: internal`).
fn first_ordered_list(blocks: &[Block]) -> Option<&crate::content::List> {
    for b in blocks {
        match b {
            Block::List(l) if l.ordered => return Some(l),
            Block::Scoped { scope, blocks } if scope.admits(CH) && *scope != Scope::Internal => {
                if let Some(l) = first_ordered_list(blocks) {
                    return Some(l);
                }
            }
            Block::Callout { blocks, .. } => {
                if let Some(l) = first_ordered_list(blocks) {
                    return Some(l);
                }
            }
            _ => {}
        }
    }
    None
}

fn first_paragraph(blocks: &[Block], input: &RenderInput<'_>) -> Option<String> {
    for b in blocks {
        match b {
            Block::Paragraph { content } => {
                let mut s = String::new();
                html::inlines_text_into(&mut s, content, input, CH);
                let s = collapse(&s);
                if !s.is_empty() {
                    return Some(s);
                }
            }
            Block::Scoped { scope, blocks } if scope.admits(CH) && *scope != Scope::Internal => {
                if let Some(p) = first_paragraph(blocks, input) {
                    return Some(p);
                }
            }
            _ => {}
        }
    }
    None
}

/// Text of every `::: internal` block.
fn internal_blocks_text(blocks: &[Block], input: &RenderInput<'_>, out: &mut Vec<String>) {
    for b in blocks {
        match b {
            Block::Scoped {
                scope: Scope::Internal,
                blocks,
            } => {
                let mut s = String::new();
                html::blocks_text_into(&mut s, blocks, input, CH, false);
                let s = collapse(&s);
                if !s.is_empty() {
                    out.push(s);
                }
            }
            Block::Scoped { blocks, .. }
            | Block::Callout { blocks, .. }
            | Block::Quote { blocks } => internal_blocks_text(blocks, input, out),
            Block::List(l) => {
                for it in &l.items {
                    internal_blocks_text(&it.blocks, input, out);
                }
            }
            _ => {}
        }
    }
}

/// The phone number to close a reply with: the first telephone snippet the summary or
/// the customer-safe body references, else the `hotline` snippet.
fn hotline(input: &RenderInput<'_>) -> Option<String> {
    let is_tel = |key: &crate::domain::SnippetKey| {
        input
            .snippets
            .get(key)
            .filter(|s| s.say_as == Some(SayAs::Telephone))
            .map(|s| s.text_for(CH).to_string())
    };
    if let Some(summary) = field_str(input, "summary")
        && let Ok(inl) = crate::content::parse_inline_text(summary)
    {
        for i in &inl {
            if let Inline::Snippet { key } = i
                && let Some(t) = is_tel(key)
            {
                return Some(t);
            }
        }
    }
    fn walk(blocks: &[Block], f: &mut dyn FnMut(&Inline)) {
        for b in blocks {
            match b {
                Block::Scoped { scope, blocks } => {
                    if *scope != Scope::Internal && scope.admits(CH) {
                        walk(blocks, f);
                    }
                }
                other => visit_blocks(std::slice::from_ref(other), f),
            }
        }
    }
    let mut found = None;
    walk(&input.doc.blocks, &mut |i| {
        if found.is_none()
            && let Inline::Snippet { key } = i
        {
            found = is_tel(key);
        }
    });
    found.or_else(|| {
        "hotline"
            .parse()
            .ok()
            .and_then(|k: crate::domain::SnippetKey| input.snippets.get(&k))
            .map(|s| s.text_for(CH).to_string())
    })
}

/// Splits text into sentences at 。！？!? and ". ".
fn sentences(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        let end = matches!(c, '。' | '！' | '？' | '!' | '?' | '；')
            || (c == '.' && chars.peek().is_none_or(|n| n.is_whitespace()));
        if end {
            let t = cur.trim();
            if !t.is_empty() {
                out.push(t.to_string());
            }
            cur.clear();
        }
    }
    let t = cur.trim();
    if !t.is_empty() {
        out.push(t.to_string());
    }
    out
}

/// Read time: CJK at 500 characters a minute, other text at 200 words a minute.
fn read_time_min(text: &str) -> u32 {
    let cjk = text.chars().filter(|c| is_cjk(*c)).count();
    let words = text
        .split(|c: char| c.is_whitespace() || is_cjk(c))
        .filter(|w| w.chars().any(|c| c.is_alphanumeric()))
        .count();
    let minutes = cjk as f64 / 500.0 + words as f64 / 200.0;
    (minutes.ceil() as u32).max(1)
}

fn validity(input: &RenderInput<'_>, zh: bool) -> ValidityView {
    let v = &input.article.validity;
    let status = v.status_at(input.now);
    let warning = match status {
        ValidityStatus::Expired => Some(if zh { "已过期" } else { "expired" }.to_string()),
        ValidityStatus::NotYetEffective => Some(
            if zh {
                "尚未生效"
            } else {
                "not yet effective"
            }
            .to_string(),
        ),
        ValidityStatus::Valid => v.expires_at.and_then(|exp| {
            let secs = (exp - input.now).num_seconds();
            let days = (secs + 86_399) / 86_400;
            (secs > 0 && days <= EXPIRY_WARNING_DAYS).then(|| {
                if zh {
                    format!("{days} 天后过期")
                } else if days == 1 {
                    "expires in 1 day".to_string()
                } else {
                    format!("expires in {days} days")
                }
            })
        }),
    };
    ValidityView {
        status,
        effective_from: v.effective_from.map(iso_date),
        expires_at: v.expires_at.map(iso_date),
        warning,
    }
}

fn opt_date(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(iso_date)
}

fn build_view(input: &RenderInput<'_>) -> AgentView {
    let a = input.article;
    let zh = a.locale.is_chinese();
    let t = texts(zh);
    let blocks = &input.doc.blocks;
    let public = a.audience == Audience::Public;
    let url = public.then(|| article_url(&input.site.base_url, a.locale.as_str(), &a.slug));

    let summary = field_str(input, "summary")
        .map(|s| collapse(&html::field_to_text(s, input, CH)))
        .or_else(|| first_paragraph(blocks, input))
        .unwrap_or_default();

    let steps: Vec<String> = first_ordered_list(blocks)
        .map(|l| {
            l.items
                .iter()
                .map(|it| plain(&it.blocks, input))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();

    // Reply: greeting, then the steps (or the short answer), then the closing.
    let mut reply = String::with_capacity(256);
    reply.push_str(t.greeting);
    if !steps.is_empty() {
        reply.push_str(t.steps_intro);
        for (i, s) in steps.iter().enumerate() {
            let _ = write!(reply, "\n{}. {}", i + 1, s);
        }
    } else {
        reply.push_str(&summary);
    }
    let phone = hotline(input);
    if let Some(p) = &phone {
        if zh {
            let _ = write!(reply, "\n如仍有问题，请拨打{p}。");
        } else {
            let _ = write!(reply, "\nIf you still need help, please call {p}.");
        }
    }
    if let Some(u) = &url {
        if zh {
            let _ = write!(reply, "详情：{u}");
        } else {
            let _ = write!(reply, " Details: {u}");
        }
    }
    let reply_text = reply.trim().to_string();

    // Phone script: the summary's sentences, then the first steps; 2 to 4 in all.
    let mut phone_script: Vec<String> = sentences(&summary);
    for s in &steps {
        if phone_script.len() >= 4 {
            break;
        }
        phone_script.extend(sentences(s).into_iter().take(1));
    }
    phone_script.truncate(4);

    // Internal notes: the field (agents only) and every `::: internal` block.
    let mut notes = Vec::new();
    if input.schema.field_visible("internal_notes", CH)
        && let Some(n) = field_str(input, "internal_notes")
    {
        notes.push(collapse(&html::field_to_text(n, input, CH)));
    }
    internal_blocks_text(blocks, input, &mut notes);
    let internal_notes = (!notes.is_empty()).then(|| InternalNotes {
        label: t.internal,
        insertable: false,
        text: notes.join("\n"),
    });

    let mut all = String::with_capacity(1024);
    all.push_str(&a.title);
    all.push('\n');
    all.push_str(&summary);
    all.push('\n');
    html::blocks_text_into(&mut all, blocks, input, CH, false);

    AgentView {
        article: ArticleHeader {
            id: a.id.display(),
            version: a.revision,
            locale: a.locale.as_str().to_string(),
            article_type: a.article_type.clone(),
            title: a.title.clone(),
            updated_at: iso_date(a.updated_at),
            visibility: a.audience.as_str(),
            read_time_min: read_time_min(&all),
            confidence: a.confidence.clone(),
            url,
        },
        summary,
        reply_text,
        steps,
        phone_script,
        internal_notes,
        validity: validity(input, zh),
        review_by: opt_date(a.validity.review_by),
        related: a
            .related
            .iter()
            .map(|r| RelatedView {
                id: r.id.display(),
                title: r.title.clone(),
                slug: r.slug.clone(),
                internal: r.audience == Audience::Internal,
            })
            .collect(),
        actions: ["copy_reply", "insert_reply", "attach_to_case", "flag"],
    }
}

/// The agent panel fragment. Every text goes through `escape`; `body` is sanitised HTML.
fn fragment(input: &RenderInput<'_>, v: &AgentView, body: &str) -> String {
    let zh = input.article.locale.is_chinese();
    let t = texts(zh);
    let h = &v.article;
    let mut o = String::with_capacity(body.len() + 2048);
    o.push_str("<div class=\"kb-agent\" lang=\"");
    escape_into(&mut o, &h.locale);
    o.push_str("\" data-kb-id=\"");
    escape_into(&mut o, &h.id);
    let _ = write!(o, "\" data-kb-version=\"{}\" data-kb-locale=\"", h.version);
    escape_into(&mut o, &h.locale);
    o.push_str("\">\n<header>\n<h2 class=\"title\">");
    escape_into(&mut o, &h.title);
    o.push_str("</h2>\n<p class=\"meta\"><span class=\"id\">");
    escape_into(&mut o, &h.id);
    let _ = write!(o, "</span> · {} {} · ", t.version, h.version);
    escape_into(&mut o, &h.locale);
    o.push_str(" · ");
    escape_into(&mut o, &h.article_type);
    o.push_str(" · <time datetime=\"");
    escape_into(&mut o, &h.updated_at);
    o.push_str("\">");
    escape_into(&mut o, h.updated_at.get(..10).unwrap_or(&h.updated_at));
    let badge = if h.visibility == "public" {
        t.public
    } else {
        t.internal_badge
    };
    let _ = write!(
        o,
        "</time> · <span class=\"badge {}\">{}</span> · {} {}</p>\n</header>\n",
        escape(h.visibility),
        badge,
        h.read_time_min,
        t.read_time
    );
    if let Some(w) = &v.validity.warning {
        o.push_str("<p class=\"validity-warning\" role=\"alert\">");
        escape_into(&mut o, w);
        o.push_str("</p>\n");
    }
    if !v.summary.is_empty() {
        let _ = write!(o, "<section class=\"summary\"><h3>{}</h3><p>", t.summary);
        escape_into(&mut o, &v.summary);
        o.push_str("</p></section>\n");
    }
    let _ = write!(
        o,
        "<section class=\"reply\"><h3>{}</h3>\n<pre class=\"reply\" data-copy>",
        t.reply
    );
    escape_into(&mut o, &v.reply_text);
    let _ = writeln!(
        o,
        "</pre>\n<button type=\"button\" data-action=\"copy_reply\">{}</button> <button type=\"button\" data-action=\"insert_reply\">{}</button></section>",
        t.copy, t.insert
    );
    if !v.steps.is_empty() {
        let _ = write!(
            o,
            "<section class=\"steps\"><h3>{}</h3>\n<ul class=\"steps\">\n",
            t.steps
        );
        for s in &v.steps {
            o.push_str("<li><label><input type=\"checkbox\"> ");
            escape_into(&mut o, s);
            o.push_str("</label></li>\n");
        }
        o.push_str("</ul></section>\n");
    }
    if !v.phone_script.is_empty() {
        let _ = write!(o, "<section class=\"phone\"><h3>{}</h3><ul>", t.phone);
        for s in &v.phone_script {
            o.push_str("<li>");
            escape_into(&mut o, s);
            o.push_str("</li>");
        }
        o.push_str("</ul></section>\n");
    }
    if let Some(n) = &v.internal_notes {
        let _ = write!(
            o,
            "<section class=\"internal\" aria-label=\"{0}\" data-insertable=\"false\"><h3>🔒 {0}</h3>",
            n.label
        );
        for line in n.text.lines() {
            o.push_str("<p>");
            escape_into(&mut o, line);
            o.push_str("</p>");
        }
        o.push_str("</section>\n");
    }
    let _ = write!(
        o,
        "<details class=\"body\"><summary>{}</summary>\n<div class=\"kb-body\">\n{}</div></details>\n",
        t.body, body
    );
    if !v.related.is_empty() {
        let _ = write!(o, "<nav class=\"related\"><h3>{}</h3><ul>", t.related);
        for r in &v.related {
            o.push_str("<li><a href=\"/agent?article=");
            escape_into(&mut o, &r.id);
            o.push_str("\">");
            escape_into(&mut o, &r.title);
            o.push_str("</a>");
            if r.internal {
                let _ = write!(o, " <span class=\"badge internal\">{}</span>", t.internal);
            }
            o.push_str("</li>");
        }
        o.push_str("</ul></nav>\n");
    }
    o.push_str("</div>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_time_and_sentences() {
        assert_eq!(read_time_min("短"), 1);
        assert_eq!(read_time_min(&"字".repeat(1001)), 3);
        assert_eq!(read_time_min(&"word ".repeat(401)), 3);
        assert_eq!(
            sentences("先重启。再试！ok. Then go"),
            vec!["先重启。", "再试！", "ok.", "Then go"]
        );
    }
}
