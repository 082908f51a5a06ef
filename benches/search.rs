//! Search benchmark: builds an index of synthetic FAQ-sized zh/en documents, then times a
//! fixed query mix (with filters, facets and highlights).
//!
//! `cargo bench --bench search` (100,000 docs), or scale down:
//! `OMNIKB_BENCH_DOCS=10000 cargo bench --bench search -- --quick`.
//! Besides criterion's report, prints index build throughput, per-query p50/p99 and the p99
//! over the whole mix. `OMNIKB_BENCH_ROUNDS` (default 200) sets the timed rounds per query,
//! `OMNIKB_BENCH_QUERY=zh_frequent` keeps one query (for profiling) and
//! `OMNIKB_BENCH_CRITERION=0` skips criterion, `OMNIKB_BENCH_INDEX=DIR` keeps the index in DIR
//! and reuses it on the next run. `OMNIKB_BENCH_MIX=http` times the twelve queries of
//! `scripts/load-search.sh` instead (anonymous caller, no synonym sets, as that script's
//! HTTP run on an imported corpus has them), to see where an HTTP request's search time goes.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::Criterion;
use omnikb::domain::{ArticleId, Audience, Locale};
use omnikb::search::{AudienceScope, SearchDoc, SearchIndex, SearchRequest, Synonyms};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const ZH: &[&str] = &[
    "手机",
    "套餐",
    "流量",
    "话费",
    "缴费",
    "停机",
    "复机",
    "信号",
    "营业厅",
    "补卡",
    "挂失",
    "银行卡",
    "信用卡",
    "分期",
    "还款",
    "账单",
    "转账",
    "限额",
    "手续费",
    "跨行",
    "到账",
    "密码",
    "重置",
    "验证码",
    "光猫",
    "路由器",
    "网速",
    "无线网",
    "机顶盒",
    "电视",
    "漫游",
    "出国",
    "境外",
    "升级",
    "公告",
    "投诉",
    "减免",
    "规定",
    "办理",
    "查询",
    "申请",
    "取消",
    "开通",
    "故障",
    "报修",
    "上门",
    "安装",
    "移机",
    "欠费",
    "余额",
    "充值",
    "积分",
    "兑换",
    "优惠",
    "活动",
    "合约",
    "违约金",
    "实名",
    "身份证",
    "号码",
    "短信",
    "通话",
    "分钟",
    "副卡",
    "家庭",
    "宽带账号",
    "提速",
    "网络",
];
const ZH_RARE: &[&str] = &[
    "携号转网",
    "授权码",
    "盗刷保障",
    "信用开机",
    "群障",
    "收光功率",
];
const EN: &[&str] = &[
    "phone",
    "plan",
    "data",
    "bill",
    "payment",
    "suspended",
    "signal",
    "store",
    "replacement",
    "lost",
    "card",
    "credit",
    "installment",
    "statement",
    "transfer",
    "limit",
    "fee",
    "bank",
    "arrived",
    "password",
    "reset",
    "code",
    "modem",
    "router",
    "speed",
    "wifi",
    "tv",
    "box",
    "roaming",
    "abroad",
    "upgrade",
    "notice",
    "complaint",
    "waiver",
    "policy",
    "apply",
    "check",
    "cancel",
    "activate",
    "fault",
    "repair",
    "engineer",
    "install",
    "move",
    "balance",
    "top-up",
    "points",
    "offer",
    "contract",
    "identity",
    "number",
    "text",
    "minutes",
    "family",
    "network",
];
const EN_RARE: &[&str] = &[
    "porting",
    "authorization",
    "chargeback",
    "reconnection",
    "outage",
];
const CATS_ZH: &[&str] = &[
    "宽带/故障",
    "宽带/办理",
    "手机/套餐",
    "手机/SIM卡",
    "账单/缴费",
    "银行卡/转账",
    "银行卡/信用卡",
    "服务/公告",
];
const CATS_EN: &[&str] = &[
    "Broadband/Faults",
    "Broadband/Orders",
    "Mobile/Plans",
    "Mobile/SIM",
    "Billing/Payments",
    "Cards/Transfers",
    "Cards/Credit cards",
    "Service/Notices",
];
const TYPES: &[&str] = &[
    "faq",
    "troubleshooting",
    "procedure",
    "policy",
    "announcement",
];

fn words(rng: &mut StdRng, zh: bool, n: usize) -> String {
    let mut out = Vec::with_capacity(n + 2);
    for _ in 0..n {
        let w = if zh {
            if rng.gen_bool(0.01) {
                ZH_RARE.choose(rng)
            } else {
                ZH.choose(rng)
            }
        } else if rng.gen_bool(0.01) {
            EN_RARE.choose(rng)
        } else {
            EN.choose(rng)
        };
        out.push(*w.unwrap());
    }
    if zh {
        // Frequent terms in most documents.
        if rng.gen_bool(0.6) {
            out.insert(rng.gen_range(0..=out.len()), "宽带");
        }
        if rng.gen_bool(0.5) {
            out.insert(rng.gen_range(0..=out.len()), "花呗");
        }
        out.concat()
    } else {
        if rng.gen_bool(0.6) {
            out.insert(rng.gen_range(0..=out.len()), "broadband");
        }
        out.join(" ")
    }
}

fn gen_docs(n: usize) -> Vec<SearchDoc> {
    let mut rng = StdRng::seed_from_u64(20261122);
    let t = |y, m, d| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let zh = rng.gen_bool(0.7);
            let tags: Vec<String> = (0..rng.gen_range(1..4))
                .map(|_| {
                    (if zh {
                        ZH.choose(&mut rng)
                    } else {
                        EN.choose(&mut rng)
                    })
                    .unwrap()
                    .to_string()
                })
                .collect();
            let expired = rng.gen_bool(0.05);
            SearchDoc {
                id: ArticleId(i as i64 + 1),
                revision: 1,
                slug: format!("doc-{i}"),
                locale: if zh { Locale::zh_cn() } else { Locale::en() },
                article_type: TYPES.choose(&mut rng).unwrap().to_string(),
                title: words(&mut rng, zh, 4),
                questions: (0..rng.gen_range(0..4))
                    .map(|_| words(&mut rng, zh, 6))
                    .collect(),
                summary: words(&mut rng, zh, 15),
                fields_text: words(&mut rng, zh, 10),
                body_text: words(&mut rng, zh, 80),
                category: Some(
                    (if zh { CATS_ZH } else { CATS_EN })
                        .choose(&mut rng)
                        .unwrap()
                        .to_string(),
                ),
                tags,
                audience: if rng.gen_bool(0.1) {
                    Audience::Internal
                } else {
                    Audience::Public
                },
                effective_from: None,
                expires_at: if expired { Some(t(2026, 3, 31)) } else { None },
                updated_at: t(2026, 11, 1),
                helpful: rng.gen_range(0.0..1.0),
            }
        })
        .collect()
}

fn queries() -> Vec<(&'static str, SearchRequest)> {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let mk = |q: &str| {
        let mut r = SearchRequest::new(q, AudienceScope::Public, now);
        r.limit = 10;
        r
    };
    let mut filtered = mk("花呗 还款 账单");
    filtered.locale = Some(Locale::zh_cn());
    filtered.category = Some("账单".into());
    let mut internal = mk("宽带 故障 报修");
    internal.scope = AudienceScope::Internal;
    vec![
        ("zh_frequent", mk("宽带无法上网怎么办")),
        ("zh_one_frequent", mk("花呗")),
        ("zh_rare", mk("携号转网授权码")),
        ("zh_traditional", mk("寬頻網速很慢")),
        ("en", mk("broadband modem password reset")),
        ("en_typo", mk("brodband pasword")),
        ("zh_filtered", filtered),
        ("zh_internal", internal),
    ]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn main() {
    // `cargo test --all-targets` runs benches too; only `cargo bench` (--bench) measures.
    if !std::env::args().any(|a| a == "--bench") {
        println!("search bench: run with `cargo bench --bench search`");
        return;
    }
    let n: usize = std::env::var("OMNIKB_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // OMNIKB_BENCH_INDEX=DIR keeps the index on disk and reuses it when it holds the same
    // number of documents (to profile queries without rebuilding; the build is then not timed).
    let ix = match std::env::var_os("OMNIKB_BENCH_INDEX") {
        Some(dir) => SearchIndex::open(std::path::Path::new(&dir)).expect("index"),
        None => SearchIndex::in_memory().expect("index"),
    };
    if ix.num_docs() == n as u64 {
        println!(
            "index build: reusing the {n}-document index ({} segments)",
            ix.segment_count()
        );
    } else {
        let bulk = ix.clear().expect("clear");
        let mut docs = gen_docs(n);
        // In the order `omnikb reindex` adds them: by locale, then category.
        docs.sort_by(|a, b| {
            (a.locale.as_str(), &a.category, a.id.0).cmp(&(b.locale.as_str(), &b.category, b.id.0))
        });
        let start = Instant::now();
        for chunk in docs.chunks(5_000) {
            ix.upsert(chunk).expect("upsert");
        }
        ix.commit(1).expect("commit");
        let took = start.elapsed();
        let segments = ix.segment_count();
        ix.merge_segments().expect("merge");
        drop(bulk);
        let merged = start.elapsed();
        println!(
            "index build: {n} docs in {:.1} s = {:.0} docs/s ({segments} segments); merged into {} in {:.1} s more",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            ix.segment_count(),
            (merged - took).as_secs_f64(),
        );
    }
    println!(
        "vector instructions: {} (OMNIKB_SIMD=baseline|avx2 caps them)",
        omnikb::search::simd::instruction_set()
    );
    let http_mix = std::env::var("OMNIKB_BENCH_MIX").is_ok_and(|v| v == "http");
    let syn = if http_mix {
        Synonyms::default()
    } else {
        Synonyms::demo()
    };
    let only = std::env::var("OMNIKB_BENCH_QUERY").ok();
    let qs: Vec<_> = if http_mix { http_queries() } else { queries() }
        .into_iter()
        .filter(|(name, _)| only.as_deref().is_none_or(|o| o == *name))
        .collect();
    let rounds: usize = std::env::var("OMNIKB_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    // The first run of each query fills the per-segment caches (bitsets, facet tables,
    // impacts) it needs; it is reported separately ("first") from the timed rounds.
    let mut first = Vec::with_capacity(qs.len());
    for (_, q) in &qs {
        let t = Instant::now();
        ix.search(q, &syn).expect("search");
        first.push(t.elapsed());
    }
    let mut all = Vec::with_capacity(rounds * qs.len());
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "wall-clock ms over {rounds} rounds; first = the query's first run (cold caches); \
         phases = median µs: plan, weights, match, facets, first pass, rescore, hits, highlight"
    );
    for ((name, q), first) in qs.iter().zip(&first) {
        let mut times = Vec::with_capacity(rounds);
        let mut phases: Vec<[u64; 8]> = Vec::with_capacity(rounds);
        let mut total = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let (res, tm) = ix.search_timed(q, &syn).expect("search");
            times.push(t.elapsed());
            phases.push([
                tm.plan_us,
                tm.weights_us,
                tm.match_us,
                tm.facets_us,
                tm.first_pass_us,
                tm.rescore_us,
                tm.hits_us,
                tm.highlight_us,
            ]);
            total = res.total;
        }
        all.extend_from_slice(&times);
        times.sort();
        let mean = times.iter().sum::<Duration>() / rounds as u32;
        let median: Vec<String> = (0..8)
            .map(|i| {
                let mut v: Vec<u64> = phases.iter().map(|p| p[i]).collect();
                v.sort_unstable();
                v[v.len() / 2].to_string()
            })
            .collect();
        println!(
            "{name:16} total={total:6}  mean={:6.2} p50={:6.2} p99={:6.2} first={:6.2}  phases {}",
            ms(mean),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(*first),
            median.join("/"),
        );
    }
    all.sort();
    if !all.is_empty() {
        println!(
            "{:16} n={:6}  mean={:6.2} p50={:6.2} p99={:6.2}",
            "all",
            all.len(),
            ms(all.iter().sum::<Duration>() / all.len() as u32),
            ms(percentile(&all, 0.5)),
            ms(percentile(&all, 0.99)),
        );
    }
    if std::env::var("OMNIKB_BENCH_CRITERION").is_ok_and(|v| v == "0") {
        return;
    }
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("search");
    group.sample_size(20);
    for (name, q) in &qs {
        group.bench_function(*name, |b| b.iter(|| ix.search(q, &syn).expect("search")));
    }
    group.bench_function("suggest_kd", |b| {
        b.iter(|| {
            ix.suggest("kd", None, AudienceScope::Public, now, 10)
                .expect("suggest")
        })
    });
    group.finish();
    c.final_summary();
}

/// The query mix of `scripts/load-search.sh` (keep the two in step).
fn http_queries() -> Vec<(&'static str, SearchRequest)> {
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let mk = |q: &str, locale: Option<Locale>| {
        let mut r = SearchRequest::new(q, AudienceScope::Public, now);
        r.limit = 10;
        r.locale = locale;
        r
    };
    let zh = || Some(Locale::zh_cn());
    vec![
        ("h_zh_frequent", mk("宽带无法上网怎么办", None)),
        ("h_zh_one_zh", mk("宽带", zh())),
        ("h_zh_paraphrase", mk("家里网络连不上了", None)),
        ("h_zh_traditional", mk("寬頻網速很慢", None)),
        ("h_zh_sim_lost", mk("手机卡丢了怎么补办", None)),
        ("h_zh_limit_zh", mk("银行卡转账限额", zh())),
        ("h_zh_port", mk("携号转网", None)),
        ("h_en", mk("broadband not working", None)),
        ("h_en_typo", mk("brodband pasword", None)),
        ("h_en_sim_en", mk("sim card lost", Some(Locale::en()))),
        ("h_zh_wifi_web", mk("wifi密码忘了", None)),
        ("h_zh_two_bot", mk("宽带 故障", None)),
    ]
}
