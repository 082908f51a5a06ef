//! Render throughput (issue 4): a generated corpus of short articles (~600 bytes of
//! Markdown, zh and en) rendered for all five channels, every format.
//!
//!     cargo bench --bench render                    # criterion, per article
//!     OMNIKB_BENCH_ARTICLES=10000 cargo bench --bench render -- --corpus   # whole corpus, articles/s

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group};
use omnikb::content::{SnippetFile, parse_body};
use omnikb::domain::{ArticleId, Audience, Locale, SnippetKey, Validity};
use omnikb::render::{ArticleView, RenderInput, SiteSettings, SnippetValue};
use omnikb::schema::SchemaSet;

struct Corpus {
    views: Vec<ArticleView>,
    bodies: Vec<String>,
    snippets_zh: BTreeMap<SnippetKey, SnippetValue>,
    snippets_en: BTreeMap<SnippetKey, SnippetValue>,
}

fn snippet(text: &str) -> (SnippetKey, SnippetValue) {
    let f = SnippetFile::parse(text).unwrap();
    (
        f.key.clone(),
        SnippetValue {
            key: f.key,
            title: f.title,
            body: f.body,
            say_as: f.say_as,
            variants: f.variants,
        },
    )
}

fn corpus(n: usize) -> Corpus {
    let zh_steps = [
        "拔掉光猫电源，等待30秒后重新接通。",
        "检查网线是否插紧，或换一个网口再试。",
        "打开手机设置，进入无线网络页面。",
        "拨打{{snippet:hotline}}报修，工作时间为每天8点到20点。",
        "在营业厅出示身份证办理补卡，费用20元。",
    ];
    let en_steps = [
        "Unplug the modem and wait 30 seconds before plugging it back in.",
        "Check that the network cable is firmly plugged in.",
        "Open Settings and go to the Wi-Fi page.",
        "Call {{snippet:hotline}} to report a fault.",
        "Bring your ID to a store to replace the SIM card.",
    ];
    let mut views = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let types = [
        "faq",
        "procedure",
        "troubleshooting",
        "policy",
        "announcement",
    ];
    for i in 0..n {
        let zh = i % 2 == 0;
        let t = types[i % types.len()];
        let steps = if zh { &zh_steps } else { &en_steps };
        let mut body = String::new();
        body.push_str(if zh {
            "## 操作步骤\n\n"
        } else {
            "## Steps\n\n"
        });
        for k in 0..4 {
            body.push_str(&format!("{}. {}\n", k + 1, steps[(i + k) % steps.len()]));
        }
        body.push_str(if zh {
            "\n::: internal\n先在BSS查询账户是否欠费。\n:::\n"
        } else {
            "\n::: internal\nCheck billing first.\n:::\n"
        });
        let mut fields = serde_json::Map::new();
        let summary = if zh {
            format!("第{i}号问题的处理方法，按以下步骤操作。")
        } else {
            format!("How to solve issue {i}: follow these steps.")
        };
        fields.insert("summary".into(), summary.into());
        match t {
            "faq" => {
                fields.insert(
                    "question".into(),
                    (if zh {
                        "宽带无法上网怎么办？"
                    } else {
                        "Why is my broadband down?"
                    })
                    .into(),
                );
            }
            "troubleshooting" => {
                fields.insert(
                    "issue".into(),
                    (if zh {
                        "宽带突然无法上网。"
                    } else {
                        "Broadband stopped working."
                    })
                    .into(),
                );
            }
            _ => {}
        }
        fields.insert(
            "internal_notes".into(),
            (if zh {
                "同一小区3户以上报障按区域故障升级。"
            } else {
                "Escalate area outages."
            })
            .into(),
        );
        views.push(ArticleView {
            id: ArticleId(i as i64 + 1),
            revision: 1,
            slug: format!("article-{i}"),
            locale: if zh { Locale::zh_cn() } else { Locale::en() },
            article_type: t.into(),
            title: if zh {
                format!("宽带问题第{i}号")
            } else {
                format!("Broadband issue {i}")
            },
            category: Some(if zh {
                "宽带/故障".into()
            } else {
                "Broadband/Faults".into()
            }),
            tags: vec!["宽带".into()],
            audience: Audience::Public,
            validity: Validity::default(),
            fields,
            published_at: Some(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()),
            updated_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            confidence: "validated".into(),
            translations: vec![],
            related: vec![],
        });
        bodies.push(body);
    }
    let zh = snippet(
        "---\nkey: hotline\nlocale: zh-CN\ntitle: 热线\nsay_as: telephone\nvariants:\n  ivr: 幺零零零零\n---\n10000\n",
    );
    let en = snippet(
        "---\nkey: hotline\nlocale: en\ntitle: Hotline\nsay_as: telephone\n---\n1-800-555-0199\n",
    );
    Corpus {
        views,
        bodies,
        snippets_zh: BTreeMap::from([zh]),
        snippets_en: BTreeMap::from([en]),
    }
}

/// Parses and renders every article for every channel; returns bytes produced.
fn render_corpus(
    c: &Corpus,
    schemas: &SchemaSet,
    site: &SiteSettings,
    registry: &omnikb::render::Registry,
) -> usize {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let mut bytes = 0;
    for (view, body) in c.views.iter().zip(&c.bodies) {
        let schema = schemas.get(&view.article_type).unwrap();
        let doc = parse_body(body, 1).unwrap().doc;
        let snippets = if view.locale.is_chinese() {
            &c.snippets_zh
        } else {
            &c.snippets_en
        };
        let input = RenderInput {
            article: view,
            schema,
            doc: &doc,
            snippets,
            site,
            now,
        };
        for r in registry.render_all(&input).unwrap() {
            bytes += r.body.len();
        }
    }
    bytes
}

fn bench(cr: &mut Criterion) {
    let schemas = SchemaSet::bundled().unwrap();
    let site = SiteSettings::default();
    let registry = omnikb::render::default_registry();
    let c = corpus(100);
    cr.bench_function("render 100 articles x 5 channels", |b| {
        b.iter(|| render_corpus(&c, &schemas, &site, &registry))
    });
}

criterion_group!(benches, bench);

fn main() {
    if std::env::args().any(|a| a == "--corpus") {
        let n: usize = std::env::var("OMNIKB_BENCH_ARTICLES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000);
        let c = corpus(n);
        let md: usize = c.bodies.iter().map(String::len).sum();
        let schemas = SchemaSet::bundled().unwrap();
        let site = SiteSettings::default();
        let registry = omnikb::render::default_registry();
        let formats: usize = registry.iter().map(|r| r.formats().len()).sum();
        let started = Instant::now();
        let bytes = render_corpus(&c, &schemas, &site, &registry);
        let secs = started.elapsed().as_secs_f64();
        println!(
            "rendered {n} articles (avg {} bytes of Markdown) x 5 channels ({formats} outputs each) in {secs:.2}s: {:.0} articles/s on one thread, {:.1} MB out",
            md / n.max(1),
            n as f64 / secs,
            bytes as f64 / 1e6
        );
        return;
    }
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
