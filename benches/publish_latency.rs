//! Publish-to-everywhere latency (issue 6): from the publish request's response to
//! (b) every channel's render served with the new revision, (c) the SSE event received,
//! (d) the webhook delivered — and (a) the article returned by search, when this build
//! has a search index. One node on SQLite; with `OMNIKB_BENCH_POSTGRES=postgres://…` a
//! second node on the same PostgreSQL database measures across nodes.
//!
//!     cargo bench --bench publish_latency            # 100 publishes in a row
//!     OMNIKB_BENCH_N=20 cargo bench --bench publish_latency

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use futures_util::StreamExt;
use omnikb::config::Config;
use omnikb::domain::{Role, Roles};
use omnikb::service::{Kb, SystemClock};
use omnikb::state::AppState;
use omnikb::store::{ApiScope, Store};
use parking_lot::Mutex;
use serde_json::{Value, json};

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

struct Node {
    base: String,
    kb: Kb,
}

async fn node(store: Store) -> Node {
    let kb = Kb::new(
        store,
        omnikb::schema::SchemaSet::bundled().unwrap(),
        omnikb::render::default_registry(),
        Default::default(),
        Arc::new(SystemClock),
    );
    let index = omnikb::search::SearchIndex::in_memory().unwrap();
    kb.reindex(&index, &|_, _| {}).await.unwrap();
    kb.set_search(index);
    let background = omnikb::publish::start_background(&kb, omnikb::cli::default_sinks(&kb).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::with_hub(
        kb.clone(),
        Config::from_env(std::env::temp_dir(), listener.local_addr().unwrap()),
        background.hub.clone(),
    );
    tokio::spawn(omnikb::run(state, listener, std::future::pending()));
    std::mem::forget(background);
    Node { base, kb }
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn report(name: &str, v: &[Duration]) {
    println!(
        "{name:<38} n={:<4} p50={:>8.2?} p95={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        v.len(),
        pct(v.to_vec(), 0.5),
        pct(v.to_vec(), 0.95),
        pct(v.to_vec(), 0.99),
        v.iter().max().copied().unwrap_or_default()
    );
}

async fn sse_arrivals(base: &str) -> Arrivals {
    let arrivals: Arrivals = Default::default();
    let a = arrivals.clone();
    let mut stream = reqwest::get(format!("{base}/api/v1/events"))
        .await
        .unwrap()
        .bytes_stream();
    tokio::spawn(async move {
        let mut buf = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            let t = Instant::now();
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buf.find("\n\n") {
                let ev: String = buf.drain(..end + 2).collect();
                if ev.contains("event: article.published")
                    && let Some(data) = ev.lines().find_map(|l| l.strip_prefix("data: "))
                    && let Ok(v) = serde_json::from_str::<Value>(data)
                {
                    a.lock()
                        .entry(v["article_id"].as_str().unwrap_or_default().to_string())
                        .or_insert(t);
                }
            }
        }
    });
    arrivals
}

async fn webhook_arrivals() -> (String, Arrivals) {
    let arrivals: Arrivals = Default::default();
    let a = arrivals.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let a = a.clone();
            async move {
                let t = Instant::now();
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    a.lock()
                        .entry(v["article"]["id"].as_str().unwrap_or_default().to_string())
                        .or_insert(t);
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, arrivals)
}

async fn wait_until(deadline: Duration, mut f: impl AsyncFnMut() -> bool) -> Option<Instant> {
    let start = Instant::now();
    while start.elapsed() < deadline {
        if f().await {
            return Some(Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    None
}

async fn run(n: usize, a: Node, b: Option<Node>) {
    let http = reqwest::Client::new();
    let now = a.kb.now();
    let mut keys = Vec::new();
    for (name, roles, scope) in [
        ("bench-author", vec![Role::Author], ApiScope::Editor),
        ("bench-boss", vec![Role::Admin], ApiScope::Admin),
        ("bench-agent", vec![Role::Agent], ApiScope::Agent),
    ] {
        let u =
            a.kb.store
                .create_user(name, name, "x", &Roles(roles), now)
                .await
                .unwrap();
        let (key, prefix, hash) = omnikb::auth::new_api_key().unwrap();
        a.kb.store
            .create_api_key(name, &prefix, &hash, scope, Some(u.id), now)
            .await
            .unwrap();
        keys.push(key);
    }
    let (author, boss, agent) = (keys[0].clone(), keys[1].clone(), keys[2].clone());
    let (hook_url, hooks) = webhook_arrivals().await;
    http.post(format!("{}/api/v1/webhooks", a.base))
        .bearer_auth(&boss)
        .json(&json!({"url": hook_url, "events": ["article.published"]}))
        .send()
        .await
        .unwrap();
    let sse_a = sse_arrivals(&a.base).await;
    let sse_b = match &b {
        Some(b) => Some(sse_arrivals(&b.base).await),
        None => None,
    };
    let channels =
        a.kb.renderers()
            .iter()
            .map(|r| r.channel())
            .collect::<Vec<_>>();
    let searchable = a.kb.search().is_some();
    let (mut t_search, mut t_render, mut t_sse, mut t_hook, mut t_sse_b, mut t_render_b) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let slug = format!(
            "bench-{i}-{}",
            omnikb::util::random_token(3)
                .to_lowercase()
                .replace(['-', '_'], "x")
        );
        let body = json!({"slug": slug, "type": "faq", "locale": "zh-CN", "title": format!("宽带测速第{i}题 broadband speed {i}"), "fields": {"question": "网速慢怎么办？"}, "body": format!("第{i}步：重启光猫。\n")});
        let created: Value = http
            .post(format!("{}/api/v1/articles", a.base))
            .bearer_auth(&author)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        for (k, action) in [(&author, "submit"), (&boss, "approve")] {
            http.post(format!("{}/api/v1/articles/{id}/transitions", a.base))
                .bearer_auth(k)
                .json(&json!({"action": action}))
                .send()
                .await
                .unwrap();
        }
        let r = http
            .post(format!("{}/api/v1/articles/{id}/transitions", a.base))
            .bearer_auth(&boss)
            .json(&json!({"action": "publish"}))
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "publish failed: {}",
            r.text().await.unwrap_or_default()
        );
        let t0 = Instant::now();
        let deadline = Duration::from_secs(5);
        // (b) every channel's render served with the new revision
        if !channels.is_empty() {
            let done = wait_until(deadline, async || {
                for c in &channels {
                    let key = if *c == omnikb::domain::Channel::Agent {
                        Some(&agent)
                    } else {
                        None
                    };
                    let mut req = http.get(format!("{}/api/v1/articles/{id}/render/{c}", a.base));
                    if let Some(k) = key {
                        req = req.bearer_auth(k);
                    }
                    if !req
                        .send()
                        .await
                        .map(|r| r.status().is_success())
                        .unwrap_or(false)
                    {
                        return false;
                    }
                }
                true
            })
            .await;
            if let Some(t) = done {
                t_render.push(t - t0)
            }
        }
        // (a) search
        if searchable {
            let q = format!("{}/api/v1/search?q=宽带测速第{i}题&locale=zh-CN", a.base);
            let done = wait_until(deadline, async || {
                http.get(&q)
                    .send()
                    .await
                    .ok()
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
                    && http
                        .get(&q)
                        .send()
                        .await
                        .unwrap()
                        .json::<Value>()
                        .await
                        .map(|v| {
                            v["hits"]
                                .as_array()
                                .is_some_and(|h| h.iter().any(|x| x["id"] == id.as_str()))
                        })
                        .unwrap_or(false)
            })
            .await;
            if let Some(t) = done {
                t_search.push(t - t0)
            }
        }
        // (c), (d)
        let got = |m: &Arrivals| m.lock().get(&id).copied();
        if let Some(t) = wait_until(deadline, async || got(&sse_a).is_some())
            .await
            .and(got(&sse_a))
        {
            t_sse.push(t.saturating_duration_since(t0))
        }
        if let Some(t) = wait_until(deadline, async || got(&hooks).is_some())
            .await
            .and(got(&hooks))
        {
            t_hook.push(t.saturating_duration_since(t0))
        }
        if let (Some(b), Some(sse_b)) = (&b, &sse_b) {
            if let Some(t) = wait_until(deadline, async || got(sse_b).is_some())
                .await
                .and(got(sse_b))
            {
                t_sse_b.push(t.saturating_duration_since(t0))
            }
            let done = wait_until(deadline, async || {
                http.get(format!("{}/api/v1/articles/{id}/render/web", b.base))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false)
            })
            .await;
            if let Some(t) = done {
                t_render_b.push(t - t0)
            }
        }
    }
    println!(
        "publish-to-everywhere latency, {n} publishes in a row ({} backend)",
        a.kb.store.backend_name()
    );
    if searchable {
        report("(a) returned by search", &t_search)
    } else {
        println!("(a) returned by search                 (no search index in this build)")
    }
    if channels.is_empty() {
        println!("(b) every channel's render served       (no renderers in this build)")
    } else {
        report(
            &format!("(b) all {} channels' renders served", channels.len()),
            &t_render,
        )
    }
    report("(c) SSE event received", &t_sse);
    report("(d) webhook delivered", &t_hook);
    if b.is_some() {
        report("node B: SSE event received", &t_sse_b);
        report("node B: web render served", &t_render_b);
    }
}

fn main() {
    // `cargo test --all-targets` builds and runs benches too; only `cargo bench` (which
    // passes --bench) should run the measurement.
    if !std::env::args().any(|a| a == "--bench") {
        println!("publish_latency: run with `cargo bench --bench publish_latency`");
        return;
    }
    let n: usize = std::env::var("OMNIKB_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("bench.db"))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        run(n, node(store).await, None).await;
        if let Ok(url) = std::env::var("OMNIKB_BENCH_POSTGRES") {
            let schema = format!(
                "bench_{}",
                omnikb::util::random_token(6)
                    .to_lowercase()
                    .replace(['-', '_'], "x")
            );
            let admin = Store::open_postgres(&url, None).await.unwrap();
            admin
                .execute_raw(&format!("CREATE SCHEMA {schema}"))
                .await
                .unwrap();
            let a = Store::open_postgres(&url, Some(&schema)).await.unwrap();
            a.migrate().await.unwrap();
            let b = Store::open_postgres(&url, Some(&schema)).await.unwrap();
            run(n, node(a).await, Some(node(b).await)).await;
            admin
                .execute_raw(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .unwrap();
        }
    });
}
