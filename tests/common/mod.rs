//! Shared fixtures: the demo knowledge base (`demo/`) as render inputs.
//!
//! Ids are assigned in file order (locales sorted, then file names sorted), starting at 1;
//! "now" is fixed at 2026-11-22T00:00:00Z so renders are deterministic.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use omnikb::content::{ArticleFile, Doc, SnippetFile, parse_body};
use omnikb::domain::{ArticleId, Locale, SnippetKey};
use omnikb::render::{ArticleView, RelatedLink, RenderInput, SiteSettings, SnippetValue};
use omnikb::schema::{ContentSchema, SchemaSet};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
}

/// One demo article, ready to render.
pub struct Fixture {
    /// `zh-CN/broadband-no-internet`.
    pub name: String,
    pub article: ArticleView,
    pub schema: Arc<ContentSchema>,
    pub doc: Doc,
    pub snippets: Arc<BTreeMap<SnippetKey, SnippetValue>>,
    pub site: Arc<SiteSettings>,
}

impl Fixture {
    pub fn input(&self) -> RenderInput<'_> {
        RenderInput {
            article: &self.article,
            schema: &self.schema,
            doc: &self.doc,
            snippets: &self.snippets,
            site: &self.site,
            now: now(),
        }
    }
}

fn sorted_dir(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

pub fn load_snippets(locale: &str) -> BTreeMap<SnippetKey, SnippetValue> {
    let mut out = BTreeMap::new();
    let dir = root().join("demo/snippets").join(locale);
    if !dir.exists() {
        return out;
    }
    for p in sorted_dir(&dir) {
        let text = std::fs::read_to_string(&p).unwrap();
        let s = SnippetFile::parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
        out.insert(
            s.key.clone(),
            SnippetValue {
                key: s.key,
                title: s.title,
                body: s.body,
                say_as: s.say_as,
                variants: s.variants,
            },
        );
    }
    out
}

/// Every demo article, in file order.
pub fn demo_inputs() -> Vec<Fixture> {
    let schemas = SchemaSet::load_dir(&root().join("content-schemas")).unwrap();
    let site = Arc::new(SiteSettings::default());
    let mut sources = Vec::new();
    for locale_dir in sorted_dir(&root().join("demo/articles")) {
        for p in sorted_dir(&locale_dir) {
            if p.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let file =
                ArticleFile::parse(&text).unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
            let src = file
                .check()
                .unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
            let doc = parse_body(&src.body, file.body_line)
                .unwrap_or_else(|e| panic!("{}: {e:?}", p.display()))
                .doc;
            sources.push((src, doc));
        }
    }
    let ids: BTreeMap<(Locale, String), (i64, String, omnikb::domain::Audience)> = sources
        .iter()
        .enumerate()
        .map(|(i, (s, _))| {
            (
                (s.locale.clone(), s.slug.to_string()),
                (i as i64 + 1, s.meta.title.clone(), s.meta.audience),
            )
        })
        .collect();
    let mut snippet_sets: BTreeMap<Locale, Arc<BTreeMap<SnippetKey, SnippetValue>>> =
        BTreeMap::new();
    let mut out = Vec::new();
    for (i, (src, doc)) in sources.into_iter().enumerate() {
        let related = src
            .meta
            .fields
            .get("related")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str())
                    .filter_map(|slug| {
                        ids.get(&(src.locale.clone(), slug.to_string())).map(
                            |(id, title, audience)| RelatedLink {
                                id: ArticleId(*id),
                                slug: slug.to_string(),
                                title: title.clone(),
                                audience: *audience,
                            },
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let snippets = snippet_sets
            .entry(src.locale.clone())
            .or_insert_with(|| Arc::new(load_snippets(src.locale.as_str())))
            .clone();
        let schema = schemas.get(&src.article_type).unwrap().clone();
        let updated = Utc.with_ymd_and_hms(2026, 11, 1, 8, 0, 0).unwrap();
        out.push(Fixture {
            name: format!("{}/{}", src.locale, src.slug),
            article: ArticleView {
                id: ArticleId(i as i64 + 1),
                revision: 1,
                slug: src.slug.to_string(),
                locale: src.locale.clone(),
                article_type: src.article_type.clone(),
                title: src.meta.title.clone(),
                category: src.meta.category.clone(),
                tags: src.meta.tags.clone(),
                audience: src.meta.audience,
                validity: src.meta.validity.clone(),
                fields: src.meta.fields.clone(),
                published_at: Some(updated),
                updated_at: updated,
                confidence: src
                    .confidence
                    .map(|c| c.as_str().to_string())
                    .unwrap_or_else(|| "not_validated".into()),
                translations: Vec::new(),
                related,
            },
            schema,
            doc,
            snippets,
            site: site.clone(),
        });
    }
    out
}
