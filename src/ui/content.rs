//! Fallback views built from a revision when no stored render exists (renderers are
//! optional in this build): channel filtering of `:::` blocks, Markdown to safe HTML,
//! plain text for voice, SMS and the agent's customer script.

use std::collections::BTreeMap;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::content::lines::{LineKind, body_lines, is_internal};
use crate::domain::{Channel, SnippetKey};
use crate::render::SnippetValue;

/// The body split for one channel: what the channel shows, and (for agents) the
/// `::: internal` blocks, kept apart so the UI can mark them.
#[derive(Debug, Default, Clone)]
pub struct ChannelBody {
    pub shown: String,
    pub internal: Vec<String>,
}

/// Keeps the lines of `body` that `channel` may show. `::: internal` blocks go to
/// `internal` (never into `shown`); callouts stay; channel blocks stay when they name it.
pub fn body_for(body: &str, channel: Channel) -> ChannelBody {
    let shows = |names: &str| {
        let names: Vec<&str> = names.split_whitespace().collect();
        names
            .iter()
            .all(|n| matches!(*n, "note" | "warning" | "tip"))
            || names
                .iter()
                .any(|n| *n == channel.as_str() || (*n == "voice" && channel == Channel::Ivr))
    };
    let mut out = ChannelBody::default();
    let mut current_internal = String::new();
    for line in body_lines(body, 1) {
        match line.kind {
            LineKind::Text { block: None } => out.shown.push_str(line.text),
            LineKind::Text { block: Some(b) } if is_internal(b) => {
                current_internal.push_str(line.text)
            }
            LineKind::Text { block: Some(b) } if shows(b) => out.shown.push_str(line.text),
            LineKind::Close { .. } if !current_internal.trim().is_empty() => {
                out.internal.push(std::mem::take(&mut current_internal))
            }
            _ => {}
        }
    }
    if !current_internal.trim().is_empty() {
        out.internal.push(current_internal);
    }
    out
}

/// Replaces `{{snippet:KEY}}` with the snippet's text for a channel.
pub fn expand_snippets(
    text: &str,
    snippets: &BTreeMap<SnippetKey, SnippetValue>,
    channel: Channel,
) -> String {
    static RE: once_cell::sync::Lazy<regex::Regex> = once_cell::sync::Lazy::new(|| {
        regex::Regex::new(r"\{\{\s*snippet:([a-z0-9_-]+)\s*\}\}").expect("valid regex")
    });
    RE.replace_all(text, |c: &regex::Captures<'_>| {
        c[1].parse::<SnippetKey>()
            .ok()
            .and_then(|k| snippets.get(&k))
            .map(|s| s.text_for(channel).to_string())
            .unwrap_or_default()
    })
    .into_owned()
}

/// Markdown to sanitised HTML.
pub fn markdown_html(md: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(
        &mut html,
        Parser::new_ext(md, crate::content::markdown::options()),
    );
    ammonia::clean(&html)
}

/// Markdown to plain text: paragraphs and list items on their own lines.
pub fn plain_text(md: &str) -> String {
    let mut out = String::new();
    let mut counters: Vec<Option<u64>> = Vec::new();
    for ev in Parser::new_ext(md, crate::content::markdown::options()) {
        match ev {
            Event::Start(Tag::List(start)) => counters.push(start),
            Event::End(TagEnd::List(_)) => {
                counters.pop();
            }
            Event::Start(Tag::Item) => {
                if let Some(Some(n)) = counters.last_mut() {
                    out.push_str(&format!("{n}. "));
                    *n += 1;
                } else {
                    out.push_str("- ");
                }
            }
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(TagEnd::Paragraph | TagEnd::Item | TagEnd::Heading(_))
            | Event::End(TagEnd::TableRow | TagEnd::TableHead)
                if !out.ends_with('\n') =>
            {
                out.push('\n');
            }
            Event::End(TagEnd::TableCell) => out.push_str(" | "),
            _ => {}
        }
    }
    let mut cleaned = String::new();
    for line in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
        cleaned.push_str(line);
        cleaned.push('\n');
    }
    cleaned
}

/// The inner HTML of a full document's `<body>` (stored renders may be documents).
pub fn body_of(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let Some(open) = lower.find("<body") else {
        return html;
    };
    let Some(gt) = lower[open..].find('>') else {
        return html;
    };
    let start = open + gt + 1;
    let end = lower.rfind("</body>").unwrap_or(html.len()).max(start);
    &html[start..end]
}

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

use crate::domain::Revision;
use crate::schema::ContentSchema;

use super::Lang;

/// Fields a channel shows, in schema order, as (label, value) with lists joined.
fn channel_fields(
    schema: &ContentSchema,
    rev: &Revision,
    channel: Channel,
    lang: Lang,
) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (name, rules, _) in &schema.fields {
        if rules.internal
            || name == "internal_notes"
            || name == "related"
            || rules.voice_of.is_some()
            || !schema.field_visible(name, channel)
        {
            continue;
        }
        let Some(v) = rev.meta.fields.get(name) else {
            continue;
        };
        let values: Vec<String> = match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect(),
            other => vec![other.to_string()],
        };
        if values.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        out.push((lang.pick(&rules.label, name).to_string(), values));
    }
    out
}

fn fields_html(
    fields: &[(String, Vec<String>)],
    snippets: &BTreeMap<SnippetKey, SnippetValue>,
    channel: Channel,
) -> String {
    let mut html = String::new();
    for (label, values) in fields {
        html.push_str(&format!("<section class=\"field\"><h2>{}</h2>", esc(label)));
        if values.len() == 1 {
            html.push_str(&format!(
                "<p>{}</p>",
                esc(&expand_snippets(&values[0], snippets, channel))
            ));
        } else {
            html.push_str("<ul>");
            for v in values {
                html.push_str(&format!(
                    "<li>{}</li>",
                    esc(&expand_snippets(v, snippets, channel))
                ));
            }
            html.push_str("</ul>");
        }
        html.push_str("</section>");
    }
    html
}

/// The public web view of a revision (portal fallback, web preview): never internal.
pub fn web_fragment(
    schema: &ContentSchema,
    rev: &Revision,
    snippets: &BTreeMap<SnippetKey, SnippetValue>,
    lang: Lang,
) -> String {
    let fields = channel_fields(schema, rev, Channel::Web, lang);
    let body = body_for(&rev.body, Channel::Web);
    format!(
        "<h1>{}</h1>{}<section class=\"body\"><h2>{}</h2>{}</section>",
        esc(&rev.meta.title),
        fields_html(&fields, snippets, Channel::Web),
        esc(lang.pick(&schema.rules.body.label, "")),
        markdown_html(&expand_snippets(&body.shown, snippets, Channel::Web))
    )
}

/// The agent view of a revision: customer-facing content, then internal notes set apart.
pub fn agent_fragment(
    schema: &ContentSchema,
    rev: &Revision,
    snippets: &BTreeMap<SnippetKey, SnippetValue>,
    lang: Lang,
) -> String {
    let fields = channel_fields(schema, rev, Channel::Agent, lang);
    let body = body_for(&rev.body, Channel::Agent);
    let mut html = format!(
        "<h1>{}</h1>{}<section class=\"body\"><h2>{}</h2>{}</section>",
        esc(&rev.meta.title),
        fields_html(&fields, snippets, Channel::Agent),
        esc(lang.pick(&schema.rules.body.label, "")),
        markdown_html(&expand_snippets(&body.shown, snippets, Channel::Agent))
    );
    let notes = rev
        .meta
        .fields
        .get("internal_notes")
        .and_then(|v| v.as_str())
        .filter(|s| !s.trim().is_empty());
    if notes.is_some() || !body.internal.is_empty() {
        html.push_str(&format!(
            "<aside class=\"internal-notes\" role=\"note\"><h2>🔒 {}</h2>",
            esc(super::i18n::t(lang, "internal_notes"))
        ));
        if let Some(n) = notes {
            html.push_str(&format!(
                "<p>{}</p>",
                esc(&expand_snippets(n, snippets, Channel::Agent))
            ));
        }
        for block in &body.internal {
            html.push_str(&markdown_html(&expand_snippets(
                block,
                snippets,
                Channel::Agent,
            )));
        }
        html.push_str("</aside>");
    }
    html
}

fn field_str<'a>(rev: &'a Revision, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|n| {
        rev.meta
            .fields
            .get(*n)
            .and_then(|v| v.as_str())
            .filter(|s| !s.trim().is_empty())
    })
}

/// What an agent may read or paste to a customer: title, short answer and the public
/// steps. Never internal notes or `::: internal` blocks.
pub fn customer_script(rev: &Revision, snippets: &BTreeMap<SnippetKey, SnippetValue>) -> String {
    let mut out = String::new();
    out.push_str(&rev.meta.title);
    out.push('\n');
    if let Some(s) = field_str(rev, &["summary", "issue", "question"]) {
        out.push_str(&expand_snippets(s, snippets, Channel::Web));
        out.push('\n');
    }
    let body = body_for(&rev.body, Channel::Web);
    out.push_str(&plain_text(&expand_snippets(
        &body.shown,
        snippets,
        Channel::Web,
    )));
    out
}

/// What the IVR would say (fallback preview).
pub fn ivr_text(rev: &Revision, snippets: &BTreeMap<SnippetKey, SnippetValue>) -> String {
    let mut out = String::new();
    out.push_str(&rev.meta.title);
    out.push_str("。\n");
    if let Some(s) = field_str(rev, &["summary_voice", "summary", "issue", "question"]) {
        out.push_str(&expand_snippets(s, snippets, Channel::Ivr));
        out.push('\n');
    }
    match field_str(rev, &["body_voice"]) {
        Some(b) => out.push_str(&expand_snippets(b, snippets, Channel::Ivr)),
        None => out.push_str(&plain_text(&expand_snippets(
            &body_for(&rev.body, Channel::Ivr).shown,
            snippets,
            Channel::Ivr,
        ))),
    }
    out
}

/// Chat bubbles a bot would send (fallback preview).
pub fn bot_bubbles(rev: &Revision, snippets: &BTreeMap<SnippetKey, SnippetValue>) -> Vec<String> {
    let mut out = Vec::new();
    out.push(
        field_str(rev, &["summary", "issue", "question"])
            .map(|s| expand_snippets(s, snippets, Channel::Bot))
            .unwrap_or_else(|| rev.meta.title.clone()),
    );
    let steps = plain_text(&expand_snippets(
        &body_for(&rev.body, Channel::Bot).shown,
        snippets,
        Channel::Bot,
    ));
    if !steps.trim().is_empty() {
        out.push(steps);
    }
    out
}

/// The SMS text (fallback preview).
pub fn sms_text(rev: &Revision, snippets: &BTreeMap<SnippetKey, SnippetValue>) -> String {
    match field_str(rev, &["sms_text"]) {
        Some(s) => expand_snippets(s, snippets, Channel::Sms),
        None => format!(
            "{}：{}",
            rev.meta.title,
            field_str(rev, &["summary", "issue", "question"])
                .map(|s| expand_snippets(s, snippets, Channel::Sms))
                .unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_blocks_never_reach_customer_channels() {
        let body = "1. 重启光猫\n\n::: internal\n内部：先查工单\n:::\n\n::: ivr\n语音专用\n:::\n\n::: warning\n注意\n:::\n";
        let web = body_for(body, Channel::Web);
        assert!(!web.shown.contains("内部"));
        assert!(!web.shown.contains("语音专用"));
        assert!(web.shown.contains("注意"));
        let ivr = body_for(body, Channel::Ivr);
        assert!(ivr.shown.contains("语音专用"));
        let agent = body_for(body, Channel::Agent);
        assert_eq!(agent.internal.len(), 1);
        assert!(!agent.shown.contains("内部"));
        assert_eq!(plain_text("1. a\n2. b\n"), "1. a\n2. b\n");
        assert_eq!(
            body_of("<html><body class=x><p>hi</p></body></html>"),
            "<p>hi</p>"
        );
    }
}
