//! Relevance and behaviour of the search index over the demo knowledge base.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use omnikb::content::{ArticleFile, Block, markdown::plain_text, parse_body};
use omnikb::domain::{ArticleId, Audience, Channel, Locale};
use omnikb::search::{AudienceScope, SearchDoc, SearchIndex, SearchRequest, Synonyms};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

fn blocks_text(blocks: &[Block], out: &mut String) {
    for b in blocks {
        match b {
            Block::Heading { content, .. } | Block::Paragraph { content } => {
                out.push_str(&plain_text(content));
                out.push('\n');
            }
            Block::List(list) => {
                for item in &list.items {
                    blocks_text(&item.blocks, out);
                }
            }
            Block::Table(t) => {
                for cell in t.header.iter().chain(t.rows.iter().flatten()) {
                    out.push_str(&plain_text(cell));
                    out.push(' ');
                }
                out.push('\n');
            }
            Block::Quote { blocks }
            | Block::Callout { blocks, .. }
            | Block::Scoped { blocks, .. } => blocks_text(blocks, out),
            Block::Code { text, .. } => {
                out.push_str(text);
                out.push('\n');
            }
            Block::Rule | Block::Html { .. } => {}
        }
    }
}

fn value_text(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| value_text(x, out)),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}

const NOT_IN_FIELDS_TEXT: &[&str] = &[
    "question",
    "alternate_questions",
    "summary",
    "summary_voice",
    "body_voice",
    "internal_notes",
    "related",
];

fn demo_docs() -> Vec<SearchDoc> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/articles");
    let mut docs = Vec::new();
    let mut id = 0;
    for locale in ["zh-CN", "en"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(locale))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).unwrap();
            let file = ArticleFile::parse(&text).unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
            let src = file.check().unwrap_or_else(|e| panic!("{p:?}: {e:?}"));
            let parsed = parse_body(&src.body, file.body_line).unwrap();
            let channel = if src.meta.audience == Audience::Internal {
                Channel::Agent
            } else {
                Channel::Web
            };
            let mut body = String::new();
            blocks_text(&parsed.doc.for_channel(channel).blocks, &mut body);
            let fields = &src.meta.fields;
            let mut questions = Vec::new();
            for k in ["question", "alternate_questions"] {
                if let Some(v) = fields.get(k) {
                    value_text(v, &mut questions);
                }
            }
            let mut other = Vec::new();
            for (k, v) in fields {
                if !NOT_IN_FIELDS_TEXT.contains(&k.as_str()) {
                    value_text(v, &mut other);
                }
            }
            id += 1;
            docs.push(SearchDoc {
                id: ArticleId(id),
                revision: 1,
                slug: src.slug.as_str().to_string(),
                locale: src.locale.clone(),
                article_type: src.article_type.clone(),
                title: src.meta.title.clone(),
                questions,
                summary: fields
                    .get("summary")
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string(),
                fields_text: other.join("\n"),
                body_text: body,
                category: src.meta.category.clone(),
                tags: src.meta.tags.clone(),
                audience: src.meta.audience,
                effective_from: src.meta.validity.effective_from,
                expires_at: src.meta.validity.expires_at,
                updated_at: now(),
                helpful: 0.5,
            });
        }
    }
    docs
}

fn demo_index() -> SearchIndex {
    let ix = SearchIndex::in_memory().unwrap();
    ix.upsert(&demo_docs()).unwrap();
    ix.commit(1).unwrap();
    ix
}

fn req(q: &str, scope: AudienceScope) -> SearchRequest {
    SearchRequest::new(q, scope, now())
}

/// (query, slug, rank it must reach: 1 = first, 3 = top 3)
const CASES: &[(&str, &str, usize)] = &[
    // Chinese, including colloquial paraphrases and traditional script
    ("宽带无法上网", "broadband-no-internet", 1),
    ("寬頻無法上網", "broadband-no-internet", 1),
    ("家里网断了", "broadband-no-internet", 3),
    ("光猫灯红了", "broadband-no-internet", 3),
    ("wifi密码忘了", "wifi-password-forgot", 1),
    ("无线网密码想不起来", "wifi-password-forgot", 1),
    ("网速很慢 看视频卡", "wifi-slow", 1),
    ("手机卡丢了", "sim-replacement", 1),
    ("补办SIM卡", "sim-replacement", 1),
    ("ＳＩＭ卡补办", "sim-replacement", 1),
    ("银行卡丢了", "report-lost-card", 1),
    ("信用卡分期", "credit-card-installment", 1),
    ("流量用超了怎么收费", "data-overage", 1),
    ("手机上不了网", "mobile-data-not-working", 3),
    ("手机没信号 无服务", "mobile-no-signal", 1),
    ("欠费停机", "suspension-unpaid-bill", 3),
    ("交了钱还是打不了电话", "no-service-after-payment", 3),
    ("怎么交话费", "pay-phone-bill", 1),
    ("换套餐", "plan-change", 1),
    ("出国手机能用吗", "international-roaming", 1),
    ("跨行转账手续费", "interbank-transfer-fee", 1),
    ("转账对方没收到", "transfer-not-received", 1),
    ("一天最多能转多少钱", "transfer-limits", 1),
    ("网银密码忘了", "online-banking-password-reset", 1),
    ("号码不变换运营商", "number-porting", 1),
    ("电视没信号", "iptv-no-signal", 1),
    ("搬家宽带", "broadband-relocation", 1),
    ("营业厅周末上班吗", "branch-hours", 1),
    ("5G套餐怎么开通", "upgrade-5g", 3),
    ("话费扣多了", "bill-dispute", 3),
    ("冒充客服 骗子", "fraud-warning", 1),
    ("手机银行升级", "bank-app-maintenance", 3),
    ("3G退网", "network-3g-retirement", 1),
    ("投诉升级", "agent-complaint-escalation", 1),
    ("费用减免权限", "fee-waiver-authority", 1),
    // English, including typos and synonyms
    ("broadband not working", "broadband-no-internet", 1),
    ("brodband not conecting", "broadband-no-internet", 1),
    ("forgot wifi pasword", "wifi-password-forgot", 1),
    ("slow wifi", "wifi-slow", 1),
    ("lost sim card", "sim-replacement", 1),
    ("lost bank card", "report-lost-card", 3),
    ("credit card instalments", "credit-card-installment", 1),
    ("ran out of data", "data-overage", 3),
    ("mobile data not working", "mobile-data-not-working", 1),
    ("phone says no service", "mobile-no-signal", 1),
    ("phone cut off unpaid bill", "suspension-unpaid-bill", 3),
    ("still cut off after paying", "no-service-after-payment", 1),
    ("pay my phone bill", "pay-phone-bill", 1),
    ("change my plan", "plan-change", 1),
    ("using phone abroad", "international-roaming", 1),
    (
        "fee for transfer to another bank",
        "interbank-transfer-fee",
        1,
    ),
    ("transfer not arrived", "transfer-not-received", 1),
    ("daily transfer limit", "transfer-limits", 1),
    (
        "reset online banking password",
        "online-banking-password-reset",
        1,
    ),
    ("keep my number switch", "number-porting", 1),
    ("iptv no picture", "iptv-no-signal", 1),
    ("moving house broadband", "broadband-relocation", 1),
    ("store opening hours", "branch-hours", 1),
    ("get 5G", "upgrade-5g", 3),
    ("overcharged on my bill", "bill-dispute", 3),
    ("refund scam", "fraud-warning", 1),
    ("home internet down", "broadband-no-internet", 3),
    ("wire money other bank", "interbank-transfer-fee", 3),
];

#[test]
fn relevance() {
    let ix = demo_index();
    let syn = Synonyms::demo();
    let mut failures = Vec::new();
    for (q, slug, rank) in CASES {
        let mut r = req(q, AudienceScope::Internal);
        r.limit = 5;
        let res = ix.search(&r, &syn).unwrap();
        let slugs: Vec<&str> = res.hits.iter().map(|h| h.slug.as_str()).collect();
        let pos = slugs.iter().position(|s| s == slug);
        if pos.is_none_or(|p| p >= *rank) {
            failures.push(format!("{q:?}: want {slug} in top {rank}, got {slugs:?}"));
        }
    }
    eprintln!(
        "{} / {} relevance queries pass",
        CASES.len() - failures.len(),
        CASES.len()
    );
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} failures", failures.len());
}

#[test]
fn public_scope_hides_internal_expired_and_future() {
    let ix = demo_index();
    let syn = Synonyms::demo();
    for q in [
        "投诉升级",
        "费用减免",
        "宽带网络升级公告",
        "3G退网",
        "complaint escalation",
        "fee waiver",
        "broadband upgrade Shanghai",
        "3G switch-off",
        "",
    ] {
        let mut r = req(q, AudienceScope::Public);
        r.limit = 100;
        let res = ix.search(&r, &syn).unwrap();
        for h in &res.hits {
            assert_eq!(h.audience, Audience::Public, "{q}: {}", h.slug);
            assert!(!h.expired && !h.not_yet_effective, "{q}: {}", h.slug);
            assert!(
                ![
                    "broadband-maintenance-march",
                    "network-3g-retirement",
                    "agent-complaint-escalation",
                    "fee-waiver-authority"
                ]
                .contains(&h.slug.as_str()),
                "{q}: {}",
                h.slug
            );
        }
    }
    // 64 demo articles - 2 locales x (2 internal + expired + future)
    let mut all = req("", AudienceScope::Public);
    all.limit = 100;
    assert_eq!(ix.search(&all, &syn).unwrap().total, 64 - 8);
    let mut all = req("", AudienceScope::Internal);
    all.limit = 100;
    assert_eq!(ix.search(&all, &syn).unwrap().total, 64);
}

#[test]
fn internal_scope_marks_validity() {
    let ix = demo_index();
    let syn = Synonyms::demo();
    let res = ix
        .search(&req("宽带网络升级公告", AudienceScope::Internal), &syn)
        .unwrap();
    let h = res
        .hits
        .iter()
        .find(|h| h.slug == "broadband-maintenance-march")
        .unwrap();
    assert!(h.expired && !h.not_yet_effective);
    let res = ix
        .search(&req("3G network switch-off", AudienceScope::Internal), &syn)
        .unwrap();
    let h = res
        .hits
        .iter()
        .find(|h| h.slug == "network-3g-retirement")
        .unwrap();
    assert!(h.not_yet_effective && !h.expired);
    let res = ix
        .search(&req("投诉升级", AudienceScope::Internal), &syn)
        .unwrap();
    assert_eq!(res.hits[0].audience, Audience::Internal);
    assert_eq!(res.hits[0].id, res.hits[0].article_id.display());
}

#[test]
fn filters() {
    let ix = demo_index();
    let syn = Synonyms::demo();
    let mut r = req("宽带", AudienceScope::Public);
    r.locale = Some(Locale::zh_cn());
    r.category = Some("宽带".into());
    r.limit = 50;
    let res = ix.search(&r, &syn).unwrap();
    assert!(res.total > 0);
    for h in &res.hits {
        assert!(h.category.as_deref().unwrap().starts_with("宽带"));
        assert_eq!(h.locale, Locale::zh_cn());
    }
    r.category = Some("宽带/故障".into());
    r.article_type = Some("faq".into());
    let res = ix.search(&r, &syn).unwrap();
    assert_eq!(res.hits.len(), 1);
    assert_eq!(res.hits[0].slug, "wifi-password-forgot");
    let mut r = req("", AudienceScope::Internal);
    r.tags = vec!["Wi-Fi".into(), "密码".into()];
    let res = ix.search(&r, &syn).unwrap();
    assert_eq!(res.total, 1);
    // "宽" is not a category segment: no prefix match inside a segment.
    let mut r = req("", AudienceScope::Internal);
    r.category = Some("宽".into());
    assert_eq!(ix.search(&r, &syn).unwrap().total, 0);
}

#[test]
fn full_width_traditional_and_odd_input() {
    let ix = demo_index();
    let syn = Synonyms::demo();
    let res = ix
        .search(&req("ＳＩＭ", AudienceScope::Public), &syn)
        .unwrap();
    assert!(res.hits.iter().any(|h| h.slug == "sim-replacement"));
    let res = ix
        .search(&req("寬頻無法上網", AudienceScope::Public), &syn)
        .unwrap();
    assert_eq!(res.hits[0].slug, "broadband-no-internet");
    // Never an error on user input.
    for q in [
        "\"unbalanced",
        "title:(",
        "AND OR NOT",
        "*?~^",
        "+-&&||!",
        "）（】【",
        "\u{0}",
        "a:b:c",
    ] {
        ix.search(&req(q, AudienceScope::Public), &syn).unwrap();
        ix.suggest(q, None, AudienceScope::Public, now(), 5)
            .unwrap();
    }
    // Numbers and codes as typed.
    let res = ix
        .search(&req("192.168.1.1", AudienceScope::Public), &syn)
        .unwrap();
    assert_eq!(res.hits[0].slug, "wifi-password-forgot");
    let res = ix
        .search(&req("ESC-2", AudienceScope::Internal), &syn)
        .unwrap();
    assert_eq!(res.hits[0].slug, "agent-complaint-escalation");
}

fn small_doc(
    id: i64,
    title: &str,
    body: &str,
    cat: &str,
    tags: &[&str],
    ty: &str,
    locale: Locale,
) -> SearchDoc {
    SearchDoc {
        id: ArticleId(id),
        revision: 1,
        slug: format!("doc-{id}"),
        locale,
        article_type: ty.into(),
        title: title.into(),
        questions: vec![],
        summary: String::new(),
        fields_text: String::new(),
        body_text: body.into(),
        category: Some(cat.into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        audience: Audience::Public,
        effective_from: None,
        expires_at: None,
        updated_at: now(),
        helpful: 0.5,
    }
}

#[test]
fn highlights_are_escaped() {
    let ix = SearchIndex::in_memory().unwrap();
    ix.upsert(&[small_doc(
        1,
        "Router <b>reset</b>",
        "Never paste <script>alert('router')</script> & reset the router.",
        "Broadband",
        &[],
        "faq",
        Locale::en(),
    )])
    .unwrap();
    ix.commit(1).unwrap();
    let res = ix
        .search(&req("router", AudienceScope::Public), &Synonyms::new())
        .unwrap();
    let hl = res.hits[0].highlights.join(" | ");
    assert!(!hl.contains("<script>") && !hl.contains("<b>"), "{hl}");
    assert!(hl.contains("&lt;script&gt;"), "{hl}");
    assert!(
        hl.contains("<mark>router</mark>") || hl.contains("<mark>Router</mark>"),
        "{hl}"
    );
    assert!(hl.contains("&amp;"), "{hl}");
}

#[test]
fn facets_counts() {
    let ix = SearchIndex::in_memory().unwrap();
    let zh = Locale::zh_cn();
    ix.upsert(&[
        small_doc(
            1,
            "宽带断网",
            "宽带",
            "宽带/故障",
            &["宽带", "断网"],
            "troubleshooting",
            zh.clone(),
        ),
        small_doc(
            2,
            "宽带移机",
            "宽带",
            "宽带/办理",
            &["宽带"],
            "procedure",
            zh.clone(),
        ),
        small_doc(3, "宽带资费", "宽带", "宽带", &["资费"], "faq", zh.clone()),
        small_doc(
            4,
            "broadband outage",
            "broadband 宽带",
            "Broadband/Faults",
            &["宽带"],
            "troubleshooting",
            Locale::en(),
        ),
        small_doc(
            5,
            "手机套餐",
            "套餐",
            "手机/套餐",
            &["套餐"],
            "faq",
            zh.clone(),
        ),
    ])
    .unwrap();
    ix.commit(7).unwrap();
    let mut r = req("宽带", AudienceScope::Public);
    r.limit = 1;
    let res = ix.search(&r, &Synonyms::new()).unwrap();
    assert_eq!(res.total, 4);
    assert_eq!(res.hits.len(), 1);
    let f = &res.facets;
    let get = |v: &Vec<omnikb::search::FacetCount>, k: &str| {
        v.iter().find(|c| &*c.value == k).map(|c| c.count)
    };
    assert_eq!(get(&f.category, "宽带"), Some(3));
    assert_eq!(get(&f.category, "宽带/故障"), Some(1));
    assert_eq!(get(&f.category, "宽带/办理"), Some(1));
    assert_eq!(get(&f.category, "Broadband"), Some(1));
    assert_eq!(get(&f.category, "Broadband/Faults"), Some(1));
    assert_eq!(get(&f.category, "手机"), None);
    assert_eq!(get(&f.article_type, "troubleshooting"), Some(2));
    assert_eq!(get(&f.article_type, "faq"), Some(1));
    assert_eq!(get(&f.tags, "宽带"), Some(3));
    assert_eq!(get(&f.tags, "断网"), Some(1));
    assert_eq!(get(&f.locale, "zh-CN"), Some(3));
    assert_eq!(get(&f.locale, "en"), Some(1));
    // Filtered facets.
    r.locale = Some(zh);
    let res = ix.search(&r, &Synonyms::new()).unwrap();
    assert_eq!(res.total, 3);
    assert_eq!(res.facets.locale.len(), 1);
    let json = serde_json::to_value(&res).unwrap();
    assert!(json["facets"]["type"].is_array());
    assert!(json["hits"][0]["type"].is_string());
}

#[test]
fn suggest_pinyin() {
    let ix = demo_index();
    for q in ["kd", "kuandai", "宽带", "kuan"] {
        let s = ix
            .suggest(q, Some(&Locale::zh_cn()), AudienceScope::Public, now(), 5)
            .unwrap();
        assert!(!s.is_empty(), "{q}");
        assert!(
            s[0].title.contains("宽带"),
            "{q}: {:?}",
            s.iter().map(|x| &x.title).collect::<Vec<_>>()
        );
        // The expired March announcement is not suggested to the public.
        assert!(
            s.iter().all(|x| x.slug != "broadband-maintenance-march"),
            "{q}"
        );
    }
    let s = ix
        .suggest(
            "kd",
            Some(&Locale::zh_cn()),
            AudienceScope::Internal,
            now(),
            10,
        )
        .unwrap();
    assert!(s.iter().any(|x| x.slug == "broadband-maintenance-march"));
    let s = ix
        .suggest(
            "Broadb",
            Some(&Locale::en()),
            AudienceScope::Public,
            now(),
            5,
        )
        .unwrap();
    assert!(s.iter().any(|x| x.slug == "broadband-no-internet"));
    let s = ix
        .suggest(
            "wifi",
            Some(&Locale::zh_cn()),
            AudienceScope::Public,
            now(),
            5,
        )
        .unwrap();
    assert!(s.iter().any(|x| x.slug == "wifi-password-forgot"), "{s:?}");
}

#[test]
fn upsert_delete_clear() {
    let ix = demo_index();
    let syn = Synonyms::demo();
    assert_eq!(ix.num_docs(), 64);
    let mut docs = demo_docs();
    docs.truncate(1);
    docs[0].title = "全新标题 zebra".into();
    ix.upsert(&docs).unwrap();
    ix.commit(2).unwrap();
    assert_eq!(ix.num_docs(), 64);
    let res = ix
        .search(&req("zebra", AudienceScope::Internal), &syn)
        .unwrap();
    assert_eq!(res.total, 1);
    ix.delete(docs[0].id).unwrap();
    ix.commit(3).unwrap();
    assert_eq!(ix.num_docs(), 63);
    drop(ix.clear().unwrap());
    ix.commit(4).unwrap();
    assert_eq!(ix.num_docs(), 0);
    assert_eq!(ix.cursor(), 4);
}

#[test]
fn cursor_round_trips_through_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ix = SearchIndex::open(dir.path()).unwrap();
        assert_eq!(ix.cursor(), 0);
        ix.upsert(&demo_docs()[..3]).unwrap();
        ix.commit(42).unwrap();
    }
    let ix = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(ix.cursor(), 42);
    assert_eq!(ix.num_docs(), 3);
    drop(ix);
    // A payload from another schema version: wiped and rebuilt empty.
    let meta = dir.path().join("meta.json");
    let text = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(
        &meta,
        text.replace(
            &format!("schema_version\\\":{}", omnikb::search::SCHEMA_VERSION),
            "schema_version\\\":0",
        ),
    )
    .unwrap();
    let ix = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(ix.cursor(), 0);
    assert_eq!(ix.num_docs(), 0);
}
