//! A generated corpus for measuring render throughput (issue 4): short zh and en articles
//! of every type, about 600 bytes of Markdown each, with steps, an internal block, a
//! snippet reference, a link and structured fields — the shape of real contact-center
//! knowledge. Used by `benches/render.rs` and `omnikb bench-render`.

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};

use super::{ArticleView, Registry, RenderInput, SiteSettings, SnippetValue};
use crate::content::file::SayAs;
use crate::content::parse_body;
use crate::domain::{ArticleId, Audience, Channel, Locale, SnippetKey, Validity};
use crate::schema::SchemaSet;

pub struct Corpus {
    pub views: Vec<ArticleView>,
    pub bodies: Vec<String>,
    pub snippets_zh: BTreeMap<SnippetKey, SnippetValue>,
    pub snippets_en: BTreeMap<SnippetKey, SnippetValue>,
}

const ZH_STEPS: [&str; 6] = [
    "拔掉光猫电源，等待30秒后重新接通，观察指示灯。",
    "检查网线是否插紧，或换一个网口再试。",
    "打开手机**设置**，进入无线网络页面，重新连接。",
    "仍无法上网请拨打{{snippet:hotline}}报修，工作时间为每天8点到20点。",
    "在营业厅出示身份证办理补卡，费用20元，当天生效。",
    "登录[网上营业厅](https://www.example.com/service)查询账户余额。",
];
const EN_STEPS: [&str; 6] = [
    "Unplug the modem, wait 30 seconds and plug it back in; watch the lights.",
    "Check that the network cable is firmly plugged in, or try another port.",
    "Open **Settings**, go to the Wi-Fi page and reconnect.",
    "If it still fails, call {{snippet:hotline}} to report a fault (8am to 8pm daily).",
    "Bring your ID to a store to replace the SIM card; it costs $20.",
    "Sign in to [My Account](https://www.example.com/service) to check your balance.",
];
const TYPES: [&str; 5] = [
    "faq",
    "procedure",
    "troubleshooting",
    "policy",
    "announcement",
];

fn body(i: usize, zh: bool) -> String {
    let steps = if zh { &ZH_STEPS } else { &EN_STEPS };
    let mut b = String::with_capacity(700);
    if zh {
        b.push_str(&format!(
            "家里宽带突然上不了网时，先按下面的步骤自查，多数问题五分钟内可以解决（编号{i}）。\n\n## 操作步骤\n\n"
        ));
    } else {
        b.push_str(&format!(
            "When home broadband stops working, most problems are solved in five minutes with these checks (ref {i}).\n\n## Steps\n\n"
        ));
    }
    for k in 0..4 {
        b.push_str(&format!("{}. {}\n", k + 1, steps[(i + k) % steps.len()]));
    }
    b.push_str(if zh {
        "\n::: internal\n先在BSS查询账户是否欠费停机，同一小区3户以上报障按区域故障升级。\n:::\n\n> 提示：重启前请保存正在进行的工作。\n"
    } else {
        "\n::: internal\nCheck billing in BSS first; escalate as an area outage when 3+ homes report.\n:::\n\n> Tip: save your work before restarting.\n"
    });
    b
}

fn fields(i: usize, t: &str, zh: bool) -> serde_json::Map<String, serde_json::Value> {
    let mut f = serde_json::Map::new();
    let pick = |z: &str, e: &str| serde_json::Value::from(if zh { z } else { e });
    f.insert(
        "summary".into(),
        if zh {
            format!("第{i}号问题的处理方法，按以下步骤操作。").into()
        } else {
            format!("How to solve issue {i}: follow these steps.").into()
        },
    );
    match t {
        "faq" => {
            f.insert(
                "question".into(),
                pick("宽带无法上网怎么办？", "Why is my broadband down?"),
            );
        }
        "troubleshooting" => {
            f.insert(
                "issue".into(),
                pick("宽带突然无法上网。", "Broadband stopped working."),
            );
        }
        _ => {}
    }
    f.insert(
        "internal_notes".into(),
        pick(
            "同一小区3户以上报障按区域故障升级。",
            "Escalate area outages.",
        ),
    );
    f
}

fn hotline(zh: bool) -> BTreeMap<SnippetKey, SnippetValue> {
    let key: SnippetKey = "hotline".parse().expect("valid snippet key");
    let value = SnippetValue {
        key: key.clone(),
        title: if zh { "热线" } else { "Hotline" }.into(),
        body: if zh { "10000" } else { "1-800-555-0199" }.into(),
        say_as: Some(SayAs::Telephone),
        variants: if zh {
            BTreeMap::from([(Channel::Ivr, "幺零零零零".to_string())])
        } else {
            BTreeMap::new()
        },
    };
    BTreeMap::from([(key, value)])
}

/// `n` articles, alternating zh-CN and en, cycling through the article types.
pub fn generate(n: usize) -> Corpus {
    let published: DateTime<Utc> = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let mut views = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    for i in 0..n {
        let zh = i % 2 == 0;
        let t = TYPES[i % TYPES.len()];
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
            category: Some(
                if zh {
                    "宽带/故障"
                } else {
                    "Broadband/Faults"
                }
                .into(),
            ),
            tags: vec![if zh { "宽带" } else { "broadband" }.into()],
            audience: Audience::Public,
            validity: Validity::default(),
            fields: fields(i, t, zh),
            published_at: Some(published),
            updated_at: published,
            confidence: "validated".into(),
            translations: vec![],
            related: vec![],
        });
        bodies.push(body(i, zh));
    }
    Corpus {
        views,
        bodies,
        snippets_zh: hotline(true),
        snippets_en: hotline(false),
    }
}

/// What a run rendered.
#[derive(Debug, Default, Clone, Copy)]
pub struct Rendered {
    pub articles: usize,
    pub outputs: usize,
    pub bytes: usize,
}

impl std::ops::AddAssign for Rendered {
    fn add_assign(&mut self, o: Rendered) {
        self.articles += o.articles;
        self.outputs += o.outputs;
        self.bytes += o.bytes;
    }
}

/// Parses and renders articles `range` of the corpus for every channel, as publishing
/// does (Markdown parse included).
pub fn render_range(
    c: &Corpus,
    range: std::ops::Range<usize>,
    schemas: &SchemaSet,
    site: &SiteSettings,
    registry: &Registry,
    now: DateTime<Utc>,
) -> Result<Rendered, String> {
    let mut out = Rendered::default();
    for i in range {
        let (view, body) = (&c.views[i], &c.bodies[i]);
        let schema = schemas.get(&view.article_type).map_err(|e| e.to_string())?;
        let doc = parse_body(body, 1)
            .map_err(|e| format!("article {i}: {}", e.len()))?
            .doc;
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
        for r in registry.render_all(&input).map_err(|e| e.to_string())? {
            out.outputs += 1;
            out.bytes += r.body.len();
        }
        out.articles += 1;
    }
    Ok(out)
}

/// Renders the whole corpus on `threads` threads (contiguous chunks); returns what was
/// rendered and the seconds it took.
pub fn render_parallel(
    c: &Corpus,
    threads: usize,
    schemas: &SchemaSet,
    site: &SiteSettings,
    registry: &Registry,
    now: DateTime<Utc>,
) -> Result<(Rendered, f64), String> {
    let n = c.views.len();
    let threads = threads.clamp(1, n.max(1));
    let chunk = n.div_ceil(threads);
    let started = Instant::now();
    let results: Vec<Result<Rendered, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let range = (t * chunk).min(n)..((t + 1) * chunk).min(n);
                s.spawn(move || render_range(c, range, schemas, site, registry, now))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("render thread panicked".into()))
            })
            .collect()
    });
    let secs = started.elapsed().as_secs_f64();
    let mut total = Rendered::default();
    for r in results {
        total += r?;
    }
    Ok((total, secs))
}
