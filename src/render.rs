//! Per-channel renderers: one trait, one module per channel, a registry by name.
//!
//! Renderers are pure: the same [`RenderInput`] gives the same bytes. They do no IO and
//! never look anything up, so they run on a blocking pool at publish time and are tested
//! with golden files. Everything they need (related articles, translations, snippets,
//! site settings) is in the input.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::content::Doc;
use crate::content::file::SayAs;
use crate::domain::{ArticleId, Audience, Channel, Locale, SnippetKey, Validity};
use crate::schema::ContentSchema;

pub mod agent;
pub mod html;
pub mod web;

pub mod bot;
pub mod corpus;
pub mod ivr;
pub mod sms;
mod speech;

/// The article as a renderer sees it: the published (or previewed) revision, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct ArticleView {
    pub id: ArticleId,
    pub revision: i32,
    pub slug: String,
    pub locale: Locale,
    pub article_type: String,
    pub title: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub audience: Audience,
    pub validity: Validity,
    /// The structured fields (all of them: renderers consult the schema for visibility).
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// KCS confidence (`wip`, `not_validated`, `validated`), shown to agents.
    pub confidence: String,
    /// Other locales of the same translation group that are published.
    pub translations: Vec<TranslationLink>,
    /// Related articles (from `fields.related`), resolved to published articles.
    pub related: Vec<RelatedLink>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TranslationLink {
    pub locale: Locale,
    pub slug: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedLink {
    pub id: ArticleId,
    pub slug: String,
    pub title: String,
    /// Related articles that are internal are only shown to agents.
    pub audience: Audience,
}

/// A snippet's published value, with per-channel variants.
#[derive(Debug, Clone, Serialize)]
pub struct SnippetValue {
    pub key: SnippetKey,
    pub title: String,
    pub body: String,
    pub say_as: Option<SayAs>,
    pub variants: BTreeMap<Channel, String>,
}

impl SnippetValue {
    /// What a channel shows for this snippet.
    pub fn text_for(&self, channel: Channel) -> &str {
        self.variants
            .get(&channel)
            .map(String::as_str)
            .unwrap_or(&self.body)
    }
}

/// Settings of the site that renderers need (URLs, names).
#[derive(Debug, Clone, Serialize)]
pub struct SiteSettings {
    /// Public base URL without a trailing slash, e.g. `https://kb.example.com`.
    pub base_url: String,
    /// Organisation name per language (`zh` / `en`), e.g. 示例电信客服中心.
    pub org_name: BTreeMap<String, String>,
    /// SMS signature per language, e.g. 【示例电信】.
    pub sms_signature: BTreeMap<String, String>,
    /// SIP or tel URI the IVR transfers to for an agent.
    pub ivr_transfer: String,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            base_url: "http://127.0.0.1:8080".into(),
            org_name: BTreeMap::from([
                ("zh".into(), "示例电信客服中心".into()),
                ("en".into(), "Example Telecom Help Center".into()),
            ]),
            sms_signature: BTreeMap::from([
                ("zh".into(), "【示例电信】".into()),
                ("en".into(), "[Example Telecom]".into()),
            ]),
            ivr_transfer: "sip:agents@example.com".into(),
        }
    }
}

/// Everything one render needs.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    pub article: &'a ArticleView,
    pub schema: &'a ContentSchema,
    /// The parsed body (all channels; renderers call `doc.for_channel`).
    pub doc: &'a Doc,
    /// The published snippets of the article's locale, by key.
    pub snippets: &'a BTreeMap<SnippetKey, SnippetValue>,
    pub site: &'a SiteSettings,
    /// "Now" for validity warnings (injected so renders stay deterministic).
    pub now: DateTime<Utc>,
}

/// A warning about content dropped or changed for a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenderWarning {
    /// Stable code, e.g. `table_dropped`, `image_without_alt`, `sentence_too_long`.
    pub code: String,
    pub message: String,
}

/// One output of a renderer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rendition {
    pub channel: Channel,
    /// `html`, `ssml`, `vxml`, `text`, `json`, `botframework`, `dialogflow`, `wechat`, …
    pub format: String,
    pub media_type: String,
    pub body: String,
    pub warnings: Vec<RenderWarning>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template error in {template}: {message}")]
    Template { template: String, message: String },
    #[error("cannot render for {channel}: {message}")]
    Unsupported { channel: Channel, message: String },
    #[error("{0}")]
    Other(String),
}

/// A channel renderer.
pub trait Renderer: Send + Sync {
    fn channel(&self) -> Channel;
    /// The formats this renderer produces; the first is the default.
    fn formats(&self) -> &'static [&'static str];
    /// Renders every format of this channel.
    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Rendition>, RenderError>;
}

/// The renderers in force, by channel.
#[derive(Clone, Default)]
pub struct Registry {
    renderers: BTreeMap<Channel, Arc<dyn Renderer>>,
}

impl Registry {
    pub fn register(&mut self, renderer: Arc<dyn Renderer>) {
        self.renderers.insert(renderer.channel(), renderer);
    }

    pub fn get(&self, channel: Channel) -> Option<&Arc<dyn Renderer>> {
        self.renderers.get(&channel)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Renderer>> {
        self.renderers.values()
    }

    /// Renders every channel. A failing channel fails the whole render, so a publish
    /// never goes out to some channels and not others.
    pub fn render_all(&self, input: &RenderInput<'_>) -> Result<Vec<Rendition>, RenderError> {
        let mut out = Vec::new();
        for r in self.renderers.values() {
            out.extend(r.render(input)?);
        }
        Ok(out)
    }
}

/// The renderers shipped with omnikb, one per channel, with the bundled web templates.
pub fn default_registry() -> Registry {
    // The bundled templates are compiled into the binary and tested; failing to parse
    // them is a build defect, so fall back to the other channels rather than panic.
    let web = match web::WebRenderer::new() {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::error!(error = %e, "bundled web templates do not parse; web channel off");
            None
        }
    };
    registry_with(web)
}

fn registry_with(web: Option<web::WebRenderer>) -> Registry {
    let mut r = Registry::default();
    if let Some(web) = web {
        r.register(Arc::new(web));
    }
    r.register(Arc::new(ivr::IvrRenderer));
    r.register(Arc::new(agent::AgentRenderer::new()));
    r.register(Arc::new(bot::BotRenderer));
    r.register(Arc::new(sms::SmsRenderer));
    r
}

/// The renderers with web templates loaded from a folder (hot reload). Fails, naming the
/// file, when a template does not parse.
pub fn registry_from_templates(dir: &std::path::Path) -> Result<Registry, RenderError> {
    let web_dir = if dir.join("web").is_dir() {
        dir.join("web")
    } else {
        dir.to_path_buf()
    };
    Ok(registry_with(Some(web::WebRenderer::from_dir(web_dir)?)))
}
