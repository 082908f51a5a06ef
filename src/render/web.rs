//! Web portal renderer: a full, accessible, SEO-ready HTML page per article.
//!
//! Tera templates (`templates/web/`: `layout.html` + one per article type) are compiled
//! once when the renderer is built. Everything user-written reaches the template either
//! as plain text (escaped by Tera with [`html::escape`]) or as HTML this module built from
//! the Doc tree and sanitised with ammonia. Internal fields and `::: internal` blocks
//! never enter the template context.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::content::dates::home_offset;
use crate::content::doc::{Block, Doc};
use crate::domain::{Audience, Channel, ValidityStatus};

use super::html::{self, Sanitizer};
use super::{RenderError, RenderInput, RenderWarning, Renderer, Rendition};

mod native;

/// Article types with their own template; anything else uses `policy.html` (plain Article).
const TYPES: [&str; 5] = [
    "faq",
    "procedure",
    "troubleshooting",
    "policy",
    "announcement",
];

const BUNDLED: [(&str, &str); 6] = [
    (
        "layout.html",
        include_str!("../../templates/web/layout.html"),
    ),
    ("faq.html", include_str!("../../templates/web/faq.html")),
    (
        "procedure.html",
        include_str!("../../templates/web/procedure.html"),
    ),
    (
        "troubleshooting.html",
        include_str!("../../templates/web/troubleshooting.html"),
    ),
    (
        "policy.html",
        include_str!("../../templates/web/policy.html"),
    ),
    (
        "announcement.html",
        include_str!("../../templates/web/announcement.html"),
    ),
];

/// Fields that are never shown as content on the page (search fodder, other channels, or
/// shown elsewhere on the page).
const NOT_CONTENT: [&str; 8] = [
    "summary",
    "summary_voice",
    "body_voice",
    "sms_text",
    "internal_notes",
    "related",
    "alternate_questions",
    "question",
];

/// The web renderer. Cheap to share: build once, render many.
pub struct WebRenderer {
    tera: tera::Tera,
    /// The templates that [`native`] can run without Tera (all the bundled ones), by name.
    native: BTreeMap<String, Vec<native::Node>>,
    sanitizer: Sanitizer,
}

impl std::fmt::Debug for WebRenderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRenderer").finish_non_exhaustive()
    }
}

fn template_error(template: &str, e: tera::Error) -> RenderError {
    // Tera's useful detail is in the source chain.
    let mut message = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        message.push_str(": ");
        message.push_str(&s.to_string());
        src = s.source();
    }
    RenderError::Template {
        template: template.to_string(),
        message,
    }
}

impl WebRenderer {
    /// The renderer with the templates bundled in the binary.
    pub fn new() -> Result<Self, RenderError> {
        Self::from_templates(BUNDLED.iter().map(|(n, s)| (n.to_string(), s.to_string())))
    }

    /// Loads `*.html` from a folder (e.g. `templates/web`) for hot reload. Missing files
    /// fall back to the bundled ones, so a partial override folder still works.
    pub fn from_dir(path: impl AsRef<Path>) -> Result<Self, RenderError> {
        let dir = path.as_ref();
        let mut sources: BTreeMap<String, String> = BUNDLED
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        let entries = std::fs::read_dir(dir).map_err(|e| RenderError::Template {
            template: dir.display().to_string(),
            message: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "html") {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text = std::fs::read_to_string(&p).map_err(|e| RenderError::Template {
                    template: p.display().to_string(),
                    message: e.to_string(),
                })?;
                sources.insert(name, text);
            }
        }
        Self::from_templates(sources)
    }

    fn from_templates(
        sources: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, RenderError> {
        let sources: BTreeMap<String, String> = sources.into_iter().collect();
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(html::escape);
        tera.add_raw_templates(sources.clone())
            .map_err(|e| template_error("templates/web", e))?;
        for t in TYPES {
            let name = format!("{t}.html");
            if !tera.get_template_names().any(|n| n == name) {
                return Err(RenderError::Template {
                    template: name,
                    message: "template is missing".into(),
                });
            }
        }
        Ok(WebRenderer {
            tera,
            native: native::compile(&sources),
            sanitizer: Sanitizer::new(),
        })
    }

    /// The page for one article.
    pub fn render_page(
        &self,
        input: &RenderInput<'_>,
    ) -> Result<(String, Vec<RenderWarning>), RenderError> {
        let (page, warnings) = build_page(&self.sanitizer, input);
        let template = if TYPES.contains(&input.article.article_type.as_str()) {
            format!("{}.html", input.article.article_type)
        } else {
            "policy.html".to_string()
        };
        // The page's static markup is about 2 kB besides the body.
        let capacity = page.body_html.len() + 4096;
        if let Some(body) = self
            .native
            .get(&template)
            .and_then(|nodes| native::render(nodes, &page, capacity))
        {
            return Ok((body, warnings));
        }
        Ok((self.render_with_tera(&template, &page)?, warnings))
    }

    fn render_with_tera(&self, template: &str, page: &Page) -> Result<String, RenderError> {
        let ctx = tera::Context::from_serialize(page).map_err(|e| template_error(template, e))?;
        self.tera
            .render(template, &ctx)
            .map_err(|e| template_error(template, e))
    }
}

impl Renderer for WebRenderer {
    fn channel(&self) -> Channel {
        Channel::Web
    }

    fn formats(&self) -> &'static [&'static str] {
        &["html"]
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Rendition>, RenderError> {
        let (body, warnings) = self.render_page(input)?;
        Ok(vec![Rendition {
            channel: Channel::Web,
            format: "html".into(),
            media_type: "text/html; charset=utf-8".into(),
            body,
            warnings,
        }])
    }
}

/// Localised UI strings.
#[derive(Debug, Serialize)]
pub(crate) struct Ui {
    pub home: &'static str,
    pub breadcrumbs: &'static str,
    pub updated: &'static str,
    pub version: &'static str,
    pub related: &'static str,
    pub question: &'static str,
    pub expired: &'static str,
    pub not_yet_effective: &'static str,
    pub skip: &'static str,
}

pub(crate) const UI_ZH: Ui = Ui {
    home: "首页",
    breadcrumbs: "面包屑导航",
    updated: "更新于",
    version: "版本",
    related: "相关文章",
    question: "问题：",
    expired: "本文已过期，内容仅供参考。",
    not_yet_effective: "本文尚未生效。",
    skip: "跳到正文",
};

pub(crate) const UI_EN: Ui = Ui {
    home: "Home",
    breadcrumbs: "Breadcrumb",
    updated: "Updated",
    version: "version",
    related: "Related articles",
    question: "Question:",
    expired: "This article has expired and is shown for reference only.",
    not_yet_effective: "This article is not in effect yet.",
    skip: "Skip to content",
};

pub(crate) fn ui_for(input: &RenderInput<'_>) -> &'static Ui {
    if input.article.locale.is_chinese() {
        &UI_ZH
    } else {
        &UI_EN
    }
}

/// "2024年5月1日" / "May 1, 2024", in the knowledge base's home time zone.
pub(crate) fn human_date(t: DateTime<Utc>, zh: bool) -> String {
    let d = t.with_timezone(&home_offset());
    if zh {
        format!("{}年{}月{}日", d.year(), d.month(), d.day())
    } else {
        const MONTHS: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        let m = MONTHS.get(d.month0() as usize).copied().unwrap_or("");
        format!("{m} {}, {}", d.day(), d.year())
    }
}

pub(crate) fn iso_date(t: DateTime<Utc>) -> String {
    t.with_timezone(&home_offset())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

/// Percent-encodes a query-string value (UTF-8; unreserved characters kept).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Shortens `s` to `max` characters, ending with `…`.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out = out.trim_end().to_string();
    out.push('…');
    out
}

/// JSON for a `<script>` element: `<`, `>` and `&` are written as `\u003c` … (so no
/// `</script>`, `<!--` or `<script` can appear), which any JSON parser reads back unchanged.
pub fn script_safe_json(v: &Value) -> String {
    script_safe(v)
}

/// [`script_safe_json`] of any serialisable value.
fn script_safe<T: Serialize>(v: &T) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|_| "{}".into());
    let mut out = String::with_capacity(s.len() + 64);
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        let rep = match b {
            b'<' => "\\u003c",
            b'>' => "\\u003e",
            b'&' => "\\u0026",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
    out
}

#[derive(Debug, Serialize)]
struct Link {
    href: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct Alternate {
    hreflang: String,
    href: String,
}

#[derive(Debug, Serialize)]
struct FieldOut {
    label: String,
    /// Escaped HTML of a single value.
    html: Option<String>,
    /// Escaped HTML of each item of a list value.
    items: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Page {
    lang: String,
    title: String,
    page_title: String,
    org_name: String,
    base_url: String,
    description: String,
    canonical: String,
    alternates: Vec<Alternate>,
    json_ld: String,
    kb_id: String,
    version: i32,
    article_type: String,
    breadcrumbs: Vec<Link>,
    notice: Option<&'static str>,
    summary_html: Option<String>,
    question_html: Option<String>,
    /// Visible structured fields by name (never internal ones).
    f: BTreeMap<String, FieldOut>,
    body_html: String,
    related: Vec<Link>,
    updated_iso: String,
    updated_human: String,
    list_sep: &'static str,
    ui: &'static Ui,
}

pub(crate) fn org_name(input: &RenderInput<'_>) -> String {
    let site = input.site;
    let lang = if input.article.locale.is_chinese() {
        "zh"
    } else {
        "en"
    };
    site.org_name
        .get(lang)
        .or_else(|| site.org_name.get("en"))
        .or_else(|| site.org_name.values().next())
        .cloned()
        .unwrap_or_default()
}

pub(crate) fn article_url(base: &str, locale: &str, slug: &str) -> String {
    format!("{}/kb/{locale}/{slug}", base.trim_end_matches('/'))
}

fn field_label(input: &RenderInput<'_>, name: &str) -> String {
    let zh = input.article.locale.is_chinese();
    input
        .schema
        .field(name)
        .and_then(|r| {
            if zh {
                r.label.get("zh-CN").or_else(|| r.label.get("zh"))
            } else {
                r.label.get("en")
            }
        })
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

/// A field's value as text, if it is a string.
pub(crate) fn field_str<'v>(input: &RenderInput<'v>, name: &str) -> Option<&'v str> {
    input
        .article
        .fields
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The plain text of the first paragraph of the doc as `channel` sees it.
fn first_paragraph(doc: &Doc, input: &RenderInput<'_>, channel: Channel) -> Option<String> {
    fn find(blocks: &[Block], channel: Channel) -> Option<&Block> {
        for b in blocks {
            match b {
                Block::Paragraph { .. } => return Some(b),
                Block::Scoped { scope, blocks }
                    if scope.admits(channel) && *scope != crate::content::Scope::Internal =>
                {
                    if let Some(p) = find(blocks, channel) {
                        return Some(p);
                    }
                }
                _ => {}
            }
        }
        None
    }
    let Some(Block::Paragraph { content }) = find(&doc.blocks, channel) else {
        return None;
    };
    let mut s = String::new();
    html::inlines_text_into(&mut s, content, input, channel);
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn build_page(sanitizer: &Sanitizer, input: &RenderInput<'_>) -> (Page, Vec<RenderWarning>) {
    let a = input.article;
    let ch = Channel::Web;
    let zh = a.locale.is_chinese();
    let ui = ui_for(input);
    let locale = a.locale.as_str();
    let base = input.site.base_url.trim_end_matches('/');
    let org = org_name(input);
    let canonical = article_url(base, locale, &a.slug);

    let (body_html, warnings) = html::doc_to_html_with(sanitizer, input.doc, input, ch);

    let visible = |name: &str| input.schema.field_visible(name, ch);
    let summary_text = field_str(input, "summary")
        .filter(|_| visible("summary"))
        .map(|s| html::field_to_text(s, input, ch));
    let description = summary_text
        .or_else(|| first_paragraph(input.doc, input, ch))
        .map(|s| truncate_chars(&s, if zh { 80 } else { 155 }))
        .unwrap_or_default();
    let summary_html = field_str(input, "summary")
        .filter(|_| visible("summary"))
        .map(|s| html::field_to_html(s, input, ch));
    let question = if a.article_type == "faq" {
        field_str(input, "question")
            .filter(|_| visible("question"))
            .filter(|q| q.trim() != a.title.trim())
    } else {
        None
    };
    let question_html = question.map(|q| html::field_to_html(q, input, ch));

    let mut f = BTreeMap::new();
    for (name, value) in &a.fields {
        if NOT_CONTENT.contains(&name.as_str()) || !visible(name) {
            continue;
        }
        let out = match value {
            Value::String(s) if !s.trim().is_empty() => FieldOut {
                label: field_label(input, name),
                html: Some(html::field_to_html(s.trim(), input, ch)),
                items: Vec::new(),
            },
            Value::Array(items) => {
                let items: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| html::field_to_html(s.trim(), input, ch))
                    .collect();
                if items.is_empty() {
                    continue;
                }
                FieldOut {
                    label: field_label(input, name),
                    html: None,
                    items,
                }
            }
            Value::Number(n) => FieldOut {
                label: field_label(input, name),
                html: Some(n.to_string()),
                items: Vec::new(),
            },
            _ => continue,
        };
        f.insert(name.clone(), out);
    }

    // Breadcrumbs: 宽带/故障 -> 宽带 › 故障, each a link to its category path.
    let mut breadcrumbs = Vec::new();
    if let Some(cat) = &a.category {
        let mut path = String::new();
        for part in cat.split('/').map(str::trim).filter(|p| !p.is_empty()) {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(part);
            breadcrumbs.push(Link {
                href: format!("/?category={}", url_encode(&path)),
                text: part.to_string(),
            });
        }
    }

    // hreflang: this page, its translations, and x-default (the zh-CN version when there
    // is one, the home locale; else this page).
    let mut alternates = vec![Alternate {
        hreflang: locale.to_string(),
        href: canonical.clone(),
    }];
    for t in &a.translations {
        if t.locale != a.locale {
            alternates.push(Alternate {
                hreflang: t.locale.as_str().to_string(),
                href: article_url(base, t.locale.as_str(), &t.slug),
            });
        }
    }
    let x_default = alternates
        .iter()
        .find(|alt| alt.hreflang == "zh-CN")
        .map(|alt| alt.href.clone())
        .unwrap_or_else(|| canonical.clone());
    alternates.push(Alternate {
        hreflang: "x-default".into(),
        href: x_default,
    });

    let related = a
        .related
        .iter()
        .filter(|r| r.audience == Audience::Public)
        .map(|r| Link {
            href: format!("/kb/{locale}/{}", r.slug),
            text: r.title.clone(),
        })
        .collect();

    let notice = match a.validity.status_at(input.now) {
        ValidityStatus::Valid => None,
        ValidityStatus::Expired => Some(ui.expired),
        ValidityStatus::NotYetEffective => Some(ui.not_yet_effective),
    };

    let json_ld = script_safe(&json_ld(input, &canonical, &org, &description));

    let page = Page {
        lang: locale.to_string(),
        title: a.title.clone(),
        page_title: format!("{} | {}", a.title, org),
        org_name: org,
        base_url: base.to_string(),
        description,
        canonical,
        alternates,
        json_ld,
        kb_id: a.id.display(),
        version: a.revision,
        article_type: a.article_type.clone(),
        breadcrumbs,
        notice,
        summary_html,
        question_html,
        f,
        body_html,
        related,
        updated_iso: iso_date(a.updated_at),
        updated_human: human_date(a.updated_at, zh),
        list_sep: if zh { "、" } else { ", " },
        ui,
    };
    (page, warnings)
}

/// schema.org JSON-LD: FAQPage for faq, TechArticle for procedure/troubleshooting,
/// Article otherwise.
fn json_ld<'a>(
    input: &RenderInput<'a>,
    canonical: &'a str,
    org: &'a str,
    description: &'a str,
) -> JsonLd<'a> {
    let a = input.article;
    let base = input.site.base_url.trim_end_matches('/');
    let ld_type = match a.article_type.as_str() {
        "faq" => "FAQPage",
        "procedure" | "troubleshooting" => "TechArticle",
        _ => "Article",
    };
    let organisation = LdOrganization {
        kind: "Organization",
        name: org,
        url: base,
    };
    let main_entity = (a.article_type == "faq").then(|| {
        let question = field_str(input, "question")
            .map(|q| html::field_to_text(q, input, Channel::Web))
            .unwrap_or_else(|| a.title.clone());
        let mut answer = String::new();
        html::blocks_text_into(&mut answer, &input.doc.blocks, input, Channel::Web, true);
        let answer = answer
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n");
        [LdQuestion {
            kind: "Question",
            name: question,
            accepted_answer: LdAnswer {
                kind: "Answer",
                text: answer,
            },
        }]
    });
    JsonLd {
        context: "https://schema.org",
        kind: ld_type,
        id: canonical,
        url: canonical,
        headline: &a.title,
        name: &a.title,
        description,
        in_language: a.locale.as_str(),
        identifier: a.id.display(),
        version: a.revision.to_string(),
        date_modified: iso_date(a.updated_at),
        author: [organisation],
        publisher: organisation,
        date_published: a.published_at.map(iso_date),
        main_entity,
    }
}

/// The JSON-LD document, keys in the order pages have always had them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonLd<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@type")]
    kind: &'static str,
    #[serde(rename = "@id")]
    id: &'a str,
    url: &'a str,
    headline: &'a str,
    name: &'a str,
    description: &'a str,
    in_language: &'a str,
    identifier: String,
    version: String,
    date_modified: String,
    author: [LdOrganization<'a>; 1],
    publisher: LdOrganization<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    date_published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    main_entity: Option<[LdQuestion; 1]>,
}

#[derive(Clone, Copy, Serialize)]
struct LdOrganization<'a> {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: &'a str,
    url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LdQuestion {
    #[serde(rename = "@type")]
    kind: &'static str,
    name: String,
    accepted_answer: LdAnswer,
}

#[derive(Serialize)]
struct LdAnswer {
    #[serde(rename = "@type")]
    kind: &'static str,
    text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bundled_templates_compile() {
        WebRenderer::new().unwrap();
        WebRenderer::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/web")).unwrap();
    }

    /// Pages of the bench corpus in every article type, with the fields each type's
    /// template shows (as text and as lists), specials in titles, a validity notice,
    /// related articles and translations: the native runner gives Tera's bytes.
    #[test]
    fn native_equals_tera() {
        use crate::render::{RelatedLink, SiteSettings, TranslationLink, corpus};
        let r = WebRenderer::new().unwrap();
        for t in TYPES {
            assert!(
                r.native.contains_key(&format!("{t}.html")),
                "{t}.html runs natively"
            );
        }
        let schemas = crate::schema::SchemaSet::bundled().unwrap();
        let site = SiteSettings::default();
        let now = DateTime::parse_from_rfc3339("2026-11-22T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let c = corpus::generate(20);
        for (i, base) in c.views.iter().enumerate() {
            let doc = crate::content::parse_body(&c.bodies[i], 1).unwrap().doc;
            for variant in 0..4 {
                let mut a = base.clone();
                let f = &mut a.fields;
                match variant {
                    1 => {
                        for (k, v) in [
                            (
                                "regions",
                                json!(["华北", "<b>x</b> {{snippet:hotline}}", " "]),
                            ),
                            ("products", json!(["宽带"])),
                            ("policy_number", json!("P-1 & \"2\"")),
                            ("prerequisites", json!(["身份证", "SIM"])),
                            ("issue", json!("断网 <i>")),
                            ("environment", json!("光猫")),
                            ("cause", json!("欠费")),
                            ("question", json!("另一个问题？")),
                        ] {
                            f.insert(k.into(), v);
                        }
                    }
                    2 => {
                        a.title = format!("{} <script>&\"'", a.title);
                        a.validity.expires_at = Some(now - chrono::Duration::days(1));
                        f.insert("policy_number".into(), json!(["a", "b"]));
                        f.insert("issue".into(), json!(["x"]));
                        f.insert("summary".into(), json!(""));
                        a.related = vec![RelatedLink {
                            id: crate::domain::ArticleId(7),
                            slug: "r".into(),
                            title: "R & <r>".into(),
                            audience: Audience::Public,
                        }];
                        a.translations = vec![TranslationLink {
                            locale: crate::domain::Locale::en(),
                            slug: "t".into(),
                            title: "T".into(),
                        }];
                    }
                    3 => {
                        f.insert("regions".into(), json!([]));
                        f.insert("prerequisites".into(), json!(["", " "]));
                        a.category = None;
                    }
                    _ => {}
                }
                let input = RenderInput {
                    article: &a,
                    schema: schemas.get(&a.article_type).unwrap(),
                    doc: &doc,
                    snippets: &c.snippets_zh,
                    site: &site,
                    now,
                };
                let (page, _) = build_page(&r.sanitizer, &input);
                let template = format!("{}.html", a.article_type);
                let native = native::render(&r.native[&template], &page, 0)
                    .unwrap_or_else(|| panic!("{template} variant {variant} in the subset"));
                let tera = r.render_with_tera(&template, &page).unwrap();
                assert_eq!(native, tera, "{template} variant {variant}");
            }
        }
    }

    #[test]
    fn templates_outside_the_subset_go_to_tera() {
        let mut sources: BTreeMap<String, String> = BUNDLED
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        sources.insert("faq.html".into(), "{{ title | upper }}".into());
        sources.insert("policy.html".into(), "{# note #}{{ title }}".into());
        sources.insert(
            "procedure.html".into(),
            "{%- if title %}x{% endif %}".into(),
        );
        let native = native::compile(&sources);
        assert!(!native.contains_key("faq.html"));
        assert!(!native.contains_key("policy.html"));
        assert!(!native.contains_key("procedure.html"));
        assert!(native.contains_key("troubleshooting.html"));
        let r = WebRenderer::from_templates(sources).unwrap();
        let a = crate::render::corpus::generate(1).views.remove(0);
        let schemas = crate::schema::SchemaSet::bundled().unwrap();
        let site = crate::render::SiteSettings::default();
        let doc = crate::content::Doc::default();
        let snippets = BTreeMap::new();
        let input = RenderInput {
            article: &a,
            schema: schemas.get("faq").unwrap(),
            doc: &doc,
            snippets: &snippets,
            site: &site,
            now: Utc::now(),
        };
        assert_eq!(r.render_page(&input).unwrap().0, a.title.to_uppercase());
    }

    #[test]
    fn helpers() {
        assert_eq!(
            url_encode("宽带/故障 x"),
            "%E5%AE%BD%E5%B8%A6/%E6%95%85%E9%9A%9C%20x"
        );
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(
            script_safe_json(&json!({"a": "</script><!--"})),
            r#"{"a":"\u003c/script\u003e\u003c!--"}"#
        );
        let t = DateTime::parse_from_rfc3339("2024-05-01T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(human_date(t, true), "2024年5月1日");
        assert_eq!(human_date(t, false), "May 1, 2024");
    }
}
