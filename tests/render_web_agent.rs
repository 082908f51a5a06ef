//! Web portal and agent desk renderers against the demo knowledge base
//! (channels.md §3, §4 and checklist §6 items 1, 2, 6).

mod common;

use std::collections::BTreeMap;

use common::{Fixture, demo_inputs};
use omnikb::content::parse_body;
use omnikb::render::agent::AgentRenderer;
use omnikb::render::web::WebRenderer;
use omnikb::render::{RenderInput, Renderer, Rendition, SnippetValue, TranslationLink};
use serde_json::Value;

/// The demo fixtures with translations filled in (same slug in another locale).
fn fixtures() -> Vec<Fixture> {
    let mut fx = demo_inputs();
    let index: Vec<(String, omnikb::domain::Locale, String)> = fx
        .iter()
        .map(|f| {
            (
                f.article.slug.clone(),
                f.article.locale.clone(),
                f.article.title.clone(),
            )
        })
        .collect();
    for f in &mut fx {
        f.article.translations = index
            .iter()
            .filter(|(slug, locale, _)| *slug == f.article.slug && *locale != f.article.locale)
            .map(|(slug, locale, title)| TranslationLink {
                locale: locale.clone(),
                slug: slug.clone(),
                title: title.clone(),
            })
            .collect();
    }
    fx
}

fn suffix(f: &Fixture) -> String {
    f.name.replace('/', "_")
}

fn web(r: &WebRenderer, input: &RenderInput<'_>) -> Rendition {
    let mut out = r.render(input).expect("web render");
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn agent(r: &AgentRenderer, input: &RenderInput<'_>) -> (Rendition, Rendition) {
    let mut out = r.render(input).expect("agent render");
    assert_eq!(out.len(), 2);
    let html = out.remove(1);
    let json = out.remove(0);
    (json, html)
}

/// 10-character windows (by char) of `text`, whitespace collapsed.
fn windows(text: &str) -> Vec<String> {
    let chars: Vec<char> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    if chars.len() < 10 {
        return Vec::new();
    }
    chars.windows(10).map(|w| w.iter().collect()).collect()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether any tag has an `on*=` attribute (quoted attribute values are ignored: the
/// renderers escape `"` inside them, so text there cannot become an attribute).
fn has_event_handler(html: &str) -> bool {
    let tag = regex::Regex::new(r#"<[a-zA-Z][^>]*>"#).unwrap();
    let quoted = regex::Regex::new(r#""[^"]*"|'[^']*'"#).unwrap();
    let on = regex::Regex::new(r#"(?i)\son[a-z]+\s*="#).unwrap();
    tag.find_iter(html)
        .any(|t| on.is_match(&quoted.replace_all(t.as_str(), "\"\"")))
}

fn json_ld(html: &str) -> Value {
    let open = r#"<script type="application/ld+json">"#;
    let start = html.find(open).expect("json-ld script") + open.len();
    let end = start + html[start..].find("</script>").expect("json-ld end");
    serde_json::from_str(&html[start..end]).expect("json-ld parses")
}

#[test]
fn formats_and_media_types() {
    let fx = fixtures();
    let input = fx[0].input();
    let w = web(&WebRenderer::new().unwrap(), &input);
    assert_eq!(
        (w.format.as_str(), w.media_type.as_str()),
        ("html", "text/html; charset=utf-8")
    );
    let (j, h) = agent(&AgentRenderer::new(), &input);
    assert_eq!(
        (j.format.as_str(), j.media_type.as_str()),
        ("json", "application/json")
    );
    assert_eq!(
        (h.format.as_str(), h.media_type.as_str()),
        ("html", "text/html; charset=utf-8")
    );
    assert!(!h.body.contains("<html"), "agent html is a fragment");
}

#[test]
fn snapshots_web_and_agent() {
    let web_r = WebRenderer::new().unwrap();
    let agent_r = AgentRenderer::new();
    for f in fixtures() {
        let input = f.input();
        let w = web(&web_r, &input);
        let (j, h) = agent(&agent_r, &input);
        insta::with_settings!({snapshot_suffix => suffix(&f), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("web", w.body);
            insta::assert_snapshot!("agent_json", j.body);
            insta::assert_snapshot!("agent_html", h.body);
        });
    }
}

#[test]
fn deterministic_and_from_dir_matches_bundled() {
    let bundled = WebRenderer::new().unwrap();
    let from_dir =
        WebRenderer::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/web")).unwrap();
    for f in fixtures().iter().take(6) {
        let input = f.input();
        assert_eq!(web(&bundled, &input), web(&bundled, &input));
        assert_eq!(web(&bundled, &input).body, web(&from_dir, &input).body);
        let a = AgentRenderer::new();
        assert_eq!(a.render(&input).unwrap(), a.render(&input).unwrap());
    }
}

/// Checklist §6.1: every output carries (id, version, locale).
#[test]
fn checklist_1_ids_present() {
    let web_r = WebRenderer::new().unwrap();
    let agent_r = AgentRenderer::new();
    for f in fixtures() {
        let input = f.input();
        let a = &f.article;
        let id = format!("KB-{}", a.id.0);
        let w = web(&web_r, &input).body;
        assert!(
            w.contains(&format!(r#"<html lang="{}">"#, a.locale)),
            "{}",
            f.name
        );
        assert!(
            w.contains(&format!(
                r#"<article data-kb-id="{id}" data-kb-version="{}" data-kb-locale="{}""#,
                a.revision, a.locale
            )),
            "{}",
            f.name
        );
        let ld = json_ld(&w);
        assert_eq!(ld["identifier"], id.as_str());
        assert_eq!(ld["inLanguage"], a.locale.as_str());
        assert_eq!(ld["version"], a.revision.to_string());

        let (j, h) = agent(&agent_r, &input);
        let v: Value = serde_json::from_str(&j.body).unwrap();
        assert_eq!(v["article"]["id"], id.as_str(), "{}", f.name);
        assert_eq!(v["article"]["version"], a.revision);
        assert_eq!(v["article"]["locale"], a.locale.as_str());
        assert!(
            h.body.contains(&format!(
                r#"data-kb-id="{id}" data-kb-version="{}" data-kb-locale="{}""#,
                a.revision, a.locale
            )),
            "{}",
            f.name
        );
    }
}

/// Checklist §6.2: internal notes (the field and `::: internal` blocks) appear only in
/// the agent notes block: never on the web page, never in an agent copy/insert payload.
#[test]
fn checklist_2_internal_notes_only_in_agent_notes() {
    let tag = regex::Regex::new(r#"<[^>]*>"#).unwrap();
    let attr = regex::Regex::new(r#""([^"]*)""#).unwrap();
    let web_r = WebRenderer::new().unwrap();
    let agent_r = AgentRenderer::new();
    let mut checked = 0;
    for f in fixtures() {
        let input = f.input();
        let (j, _) = agent(&agent_r, &input);
        let v: Value = serde_json::from_str(&j.body).unwrap();
        let Some(notes) = v["internal_notes"]["text"].as_str() else {
            assert!(
                f.article.fields.get("internal_notes").is_none(),
                "{}: internal notes field lost",
                f.name
            );
            continue;
        };
        assert_eq!(v["internal_notes"]["insertable"], false);
        checked += 1;
        let w = web(&web_r, &input).body;
        // The page's text and every attribute value (URLs included).
        let mut w_text = tag.replace_all(&w, " ").into_owned();
        for t in tag.find_iter(&w) {
            for c in attr.captures_iter(t.as_str()) {
                w_text.push_str(" \u{1} ");
                w_text.push_str(&c[1]);
            }
        }
        let w_text = collapse_ws(&unescape(&w_text));
        let mut payloads = vec![
            v["reply_text"].as_str().unwrap().to_string(),
            v["summary"].as_str().unwrap().to_string(),
        ];
        for key in ["steps", "phone_script"] {
            for s in v[key].as_array().unwrap() {
                payloads.push(s.as_str().unwrap().to_string());
            }
        }
        let payloads: Vec<String> = payloads.iter().map(|p| collapse_ws(p)).collect();
        // Phrases the notes share with the article's public content are not leaks.
        let mut public = format!(
            "{} {} {}",
            f.article.title,
            f.article.category.clone().unwrap_or_default(),
            f.article.slug.replace('-', " ")
        );
        for (name, value) in &f.article.fields {
            if name != "internal_notes" {
                let items = match value {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                for v in items {
                    public.push(' ');
                    public.push_str(v.as_str().unwrap_or_default());
                }
            }
        }
        for r in &f.article.related {
            public.push(' ');
            public.push_str(&r.title);
            public.push(' ');
            public.push_str(&r.slug.replace('-', " "));
        }
        // The body as the foundation's own channel filter leaves it for the web.
        let web_doc = f.doc.for_channel(omnikb::domain::Channel::Web);
        omnikb::render::html::blocks_text_into(
            &mut public,
            &web_doc.blocks,
            &input,
            omnikb::domain::Channel::Web,
            true,
        );
        let public = collapse_ws(&public);
        for win in windows(notes) {
            if public.contains(&win) {
                continue;
            }
            assert!(
                !w_text.contains(&win),
                "{}: internal note text {win:?} leaked into the web page",
                f.name
            );
            for p in &payloads {
                assert!(
                    !p.contains(&win),
                    "{}: internal note text {win:?} in an agent copy payload: {p}",
                    f.name
                );
            }
        }
    }
    assert!(
        checked >= 10,
        "only {checked} demo articles have internal notes"
    );
}

/// Checklist §6.6: sanitised body, one <h1>, alt on every <img>, JSON-LD parses with the
/// right @type.
#[test]
fn checklist_6_web_is_safe_accessible_and_has_json_ld() {
    let web_r = WebRenderer::new().unwrap();
    let img = regex::Regex::new(r#"<img\b[^>]*>"#).unwrap();
    let alt = regex::Regex::new(r#"\salt="[^"]+""#).unwrap();
    for f in fixtures() {
        let w = web(&web_r, &f.input()).body;
        let n = &f.name;
        assert_eq!(
            w.matches("<script").count(),
            1,
            "{n}: only the JSON-LD script"
        );
        assert!(!has_event_handler(&w), "{n}: event handler attribute");
        assert!(!w.to_ascii_lowercase().contains("javascript:"), "{n}");
        assert_eq!(w.matches("<h1").count(), 1, "{n}: exactly one <h1>");
        for m in img.find_iter(&w) {
            assert!(
                alt.is_match(m.as_str()),
                "{n}: image without alt: {}",
                m.as_str()
            );
        }
        if f.article.doc_has_ordered_list() {
            assert!(
                w.contains("<ol>") || w.contains("<ol start="),
                "{n}: steps as <ol>"
            );
        }
        if w.contains("<table>") {
            assert!(w.contains(r#"<th scope="col">"#), "{n}");
        }
        let ld = json_ld(&w);
        let expected = match f.article.article_type.as_str() {
            "faq" => "FAQPage",
            "procedure" | "troubleshooting" => "TechArticle",
            _ => "Article",
        };
        assert_eq!(ld["@type"], expected, "{n}");
        assert_eq!(ld["@context"], "https://schema.org");
        assert!(ld["dateModified"].is_string());
        if expected == "FAQPage" {
            let q = &ld["mainEntity"][0];
            assert_eq!(q["@type"], "Question");
            assert!(!q["name"].as_str().unwrap().is_empty(), "{n}");
            assert_eq!(q["acceptedAnswer"]["@type"], "Answer");
            assert!(
                !q["acceptedAnswer"]["text"].as_str().unwrap().is_empty(),
                "{n}"
            );
        }
        let canonical = format!(
            r#"<link rel="canonical" href="http://127.0.0.1:8080/kb/{}/{}">"#,
            f.article.locale, f.article.slug
        );
        assert!(w.contains(&canonical), "{n}");
        assert!(w.contains(r#"hreflang="x-default""#), "{n}");
        assert!(w.contains(r#"<meta property="og:title""#), "{n}");
    }
}

trait HasSteps {
    fn doc_has_ordered_list(&self) -> bool;
}

impl HasSteps for omnikb::render::ArticleView {
    fn doc_has_ordered_list(&self) -> bool {
        matches!(self.article_type.as_str(), "procedure" | "troubleshooting")
    }
}

#[test]
fn web_details() {
    let fx = fixtures();
    let f = fx
        .iter()
        .find(|f| f.name == "zh-CN/broadband-no-internet")
        .unwrap();
    let w = web(&WebRenderer::new().unwrap(), &f.input());
    let b = &w.body;
    assert!(
        b.contains("<title>宽带无法上网怎么办 | 示例电信客服中心</title>"),
        "{b}"
    );
    assert!(
        b.contains(r#"<a href="/?category=%E5%AE%BD%E5%B8%A6">宽带</a>"#),
        "{b}"
    );
    assert!(b.contains(r#"<h2 id="kb-h-1">排查步骤</h2>"#), "{b}");
    assert!(
        b.contains(r#"<a class="tel" href="tel:10000" rel="noopener noreferrer">10000</a>"#),
        "{b}"
    );
    assert!(b.contains(r#"hreflang="en""#), "{b}");
    assert!(
        b.contains(
            "更新于 <time datetime=\"2026-11-01T16:00:00+08:00\">2026年11月1日</time> · 版本 1"
        ),
        "{b}"
    );
    assert!(b.contains("多为光猫死机"), "cause field shown");
    assert!(!b.contains("BSS"), "internal notes hidden");

    let en = fx.iter().find(|f| f.name == "en/bill-dispute").unwrap();
    let w = web(&WebRenderer::new().unwrap(), &en.input()).body;
    assert!(w.contains("Updated <time datetime=\"2026-11-01T16:00:00+08:00\">November 1, 2026</time> · version 1"), "{w}");
    assert!(
        w.contains(r#"<aside class="callout note" role="note">"#),
        "{w}"
    );
    assert!(
        !w.contains("why is my bill so much higher"),
        "alternate questions are not content"
    );
    assert!(
        w.contains("I think I&#39;ve been overcharged"),
        "question shown"
    );
}

#[test]
fn image_without_alt_is_omitted_with_warning() {
    let fx = fixtures();
    let mut f = fx.into_iter().next().unwrap();
    f.doc = parse_body("Text ![](x.png) and ![ok](y.png)\n", 1)
        .unwrap()
        .doc;
    let w = web(&WebRenderer::new().unwrap(), &f.input());
    assert!(!w.body.contains("x.png"));
    assert!(
        w.body.contains(r#"<img src="y.png" alt="ok">"#),
        "{}",
        w.body
    );
    assert!(w.warnings.iter().any(|x| x.code == "image_without_alt"));
}

#[test]
fn agent_json_shape() {
    let fx = fixtures();
    let f = fx
        .iter()
        .find(|f| f.name == "zh-CN/broadband-no-internet")
        .unwrap();
    let (j, h) = agent(&AgentRenderer::new(), &f.input());
    let v: Value = serde_json::from_str(&j.body).unwrap();
    assert_eq!(v["article"]["type"], "troubleshooting");
    assert_eq!(v["article"]["visibility"], "public");
    assert_eq!(v["internal_notes"]["label"], "内部");
    assert_eq!(v["steps"].as_array().unwrap().len(), 3);
    let reply = v["reply_text"].as_str().unwrap();
    assert!(reply.starts_with("您好，"), "{reply}");
    assert!(reply.contains("\n1. 查看光猫"), "{reply}");
    assert!(
        reply.contains("http://127.0.0.1:8080/kb/zh-CN/broadband-no-internet"),
        "{reply}"
    );
    let ps = v["phone_script"].as_array().unwrap();
    assert!((2..=4).contains(&ps.len()), "{ps:?}");
    assert_eq!(
        v["actions"],
        serde_json::json!(["copy_reply", "insert_reply", "attach_to_case", "flag"])
    );
    assert!(
        h.body
            .contains(r#"<section class="internal" aria-label="内部""#)
    );
    assert!(h.body.contains(r#"<pre class="reply" data-copy>"#));
    assert!(h.body.contains(r#"<ul class="steps">"#));
    assert!(h.body.contains(r#"<a href="/agent?article=KB-"#));

    // Internal articles are not shareable: no public URL in the reply.
    let internal = fx
        .iter()
        .find(|f| f.article.audience == omnikb::domain::Audience::Internal)
        .unwrap();
    let (j, _) = agent(&AgentRenderer::new(), &internal.input());
    let v: Value = serde_json::from_str(&j.body).unwrap();
    assert!(v["article"]["url"].is_null());
    assert!(!v["reply_text"].as_str().unwrap().contains("/kb/"));
}

#[test]
fn agent_validity_warnings() {
    let fx = fixtures();
    let mut f = fx
        .into_iter()
        .find(|f| f.article.locale.is_chinese())
        .unwrap();
    let now = common::now();
    f.article.validity.effective_from = None;
    f.article.validity.expires_at = Some(now + chrono::Duration::days(3));
    let (j, h) = agent(&AgentRenderer::new(), &f.input());
    let v: Value = serde_json::from_str(&j.body).unwrap();
    assert_eq!(v["validity"]["status"], "valid");
    assert_eq!(v["validity"]["warning"], "3 天后过期");
    assert!(
        h.body
            .contains(r#"<p class="validity-warning" role="alert">3 天后过期</p>"#)
    );
    f.article.validity.expires_at = Some(now - chrono::Duration::days(1));
    let (j, _) = agent(&AgentRenderer::new(), &f.input());
    let v: Value = serde_json::from_str(&j.body).unwrap();
    assert_eq!(v["validity"]["status"], "expired");
    assert_eq!(v["validity"]["warning"], "已过期");
}

const PAYLOADS: [&str; 4] = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "\"><svg onload=alert(1)>",
];

fn assert_inert_html(html: &str, what: &str, scripts_allowed: usize) {
    let lower = html.to_ascii_lowercase();
    assert_eq!(
        lower.matches("<script").count(),
        scripts_allowed,
        "{what}: <script>\n{html}"
    );
    assert!(!lower.contains("<svg"), "{what}: <svg>\n{html}");
    assert!(!lower.contains("<img src=x"), "{what}: <img>\n{html}");
    assert!(!has_event_handler(html), "{what}: event handler\n{html}");
    let js = regex::Regex::new(r#"(?i)(href|src)\s*=\s*["']?\s*javascript:"#).unwrap();
    assert!(!js.is_match(html), "{what}: javascript: URL\n{html}");
}

#[test]
fn injection_is_inert_everywhere() {
    let all = PAYLOADS.join(" ");
    let web_r = WebRenderer::new().unwrap();
    let agent_r = AgentRenderer::new();
    for name in [
        "zh-CN/broadband-no-internet",
        "en/bill-dispute",
        "en/agent-complaint-escalation",
    ] {
        let mut f = fixtures().into_iter().find(|f| f.name == name).unwrap();
        let a = &mut f.article;
        a.title = all.clone();
        a.category = Some(format!("{all}/{all}"));
        a.tags = PAYLOADS.iter().map(|s| s.to_string()).collect();
        for (_, v) in a.fields.iter_mut() {
            *v = match v {
                Value::Array(_) => Value::Array(PAYLOADS.iter().map(|s| Value::from(*s)).collect()),
                _ => Value::from(all.clone()),
            };
        }
        for r in &mut a.related {
            r.title = all.clone();
        }
        for t in &mut a.translations {
            t.title = all.clone();
        }
        let body = format!(
            "## {all}\n\n{all}\n\n1. {all}\n2. step [x](javascript:alert(1)) ![{all}](javascript:alert(1))\n\n| {all} | b |\n|---|---|\n| {all} | c |\n\n::: internal\n{all}\n:::\n\n::: warning\n{all}\n:::\n\n<div onclick=\"alert(1)\">raw</div>\n\n`{all}`\n\n    {all}\n"
        );
        f.doc = parse_body(&body, 1).expect("body parses").doc;
        let mut snippets: BTreeMap<_, SnippetValue> = (*f.snippets).clone();
        for s in snippets.values_mut() {
            s.body = all.clone();
            s.title = all.clone();
        }
        f.snippets = std::sync::Arc::new(snippets);

        let input = f.input();
        let w = web(&web_r, &input).body;
        assert_inert_html(&w, &format!("{name} web"), 1);
        // The JSON-LD still parses and carries the title as data.
        assert_eq!(json_ld(&w)["headline"], all.as_str());

        let (j, h) = agent(&agent_r, &input);
        assert_inert_html(&h.body, &format!("{name} agent html"), 0);
        let v: Value = serde_json::from_str(&j.body).expect("agent json parses");
        assert_eq!(v["article"]["title"], all.as_str());
        for r in v["related"].as_array().unwrap() {
            assert!(r["id"].as_str().unwrap().starts_with("KB-"));
        }
        if let Some(url) = v["article"]["url"].as_str() {
            assert!(url.starts_with("http://127.0.0.1:8080/kb/"), "{url}");
        }
    }
}
