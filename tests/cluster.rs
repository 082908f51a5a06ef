//! Several nodes on one PostgreSQL database (runs when `OMNIKB_TEST_POSTGRES` is set; CI
//! sets it). Each node has its own publisher following the shared event log.

mod db;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use omnikb::config::Config;
use omnikb::domain::{Role, Roles};
use omnikb::service::{Kb, SystemClock};
use omnikb::state::AppState;
use omnikb::store::{ApiScope, Store};
use serde_json::{Value, json};

struct Node {
    base: String,
    kb: Kb,
    background: omnikb::publish::Background,
}

async fn node(url: &str, schema: &str) -> Node {
    let store = Store::open_postgres(url, Some(schema)).await.unwrap();
    let kb = Kb::new(
        store,
        omnikb::schema::SchemaSet::bundled().unwrap(),
        omnikb::render::default_registry(),
        Default::default(),
        Arc::new(SystemClock),
    );
    // Each node keeps its own index and follows the shared log.
    let index = omnikb::search::SearchIndex::in_memory().unwrap();
    kb.set_search(index.clone());
    let background =
        omnikb::publish::start_background(&kb, vec![omnikb::service::indexing::sink(index)]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::with_hub(
        kb.clone(),
        Config::from_env(std::env::temp_dir(), listener.local_addr().unwrap()),
        background.hub.clone(),
    );
    tokio::spawn(omnikb::run(state, listener, std::future::pending()));
    Node {
        base,
        kb,
        background,
    }
}

#[tokio::test]
async fn a_publish_on_node_a_reaches_node_b_and_one_node_schedules() {
    let Ok(url) = std::env::var("OMNIKB_TEST_POSTGRES") else {
        eprintln!(
            "OMNIKB_TEST_POSTGRES not set: the multi-node test needs PostgreSQL (CI sets it)"
        );
        return;
    };
    let dbs = db::databases().await;
    let pg = dbs.into_iter().find(|d| d.label == "postgres").unwrap();
    let schema = pg.schema_name().unwrap().to_string();
    // A starts first, so it takes the scheduler lock; B waits.
    let a = node(&url, &schema).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let b = node(&url, &schema).await;
    let http = reqwest::Client::new();

    let now = a.kb.now();
    let mk = |name: &'static str, roles: Vec<Role>, scope: ApiScope| {
        let kb = a.kb.clone();
        async move {
            let u = kb
                .store
                .create_user(name, name, "x", &Roles(roles), now)
                .await
                .unwrap();
            let (key, prefix, hash) = omnikb::auth::new_api_key().unwrap();
            kb.store
                .create_api_key(name, &prefix, &hash, scope, Some(u.id), now)
                .await
                .unwrap();
            key
        }
    };
    let author = mk("author", vec![Role::Author], ApiScope::Editor).await;
    let boss = mk(
        "boss",
        vec![Role::Reviewer, Role::Publisher],
        ApiScope::Editor,
    )
    .await;

    // Node B listens for events.
    let mut sse = http
        .get(format!("{}/api/v1/events", b.base))
        .send()
        .await
        .unwrap()
        .bytes_stream();

    let body = json!({"slug": "pin-reset", "type": "faq", "locale": "zh-CN", "title": "忘记银行卡密码怎么办", "fields": {"question": "密码忘了怎么办？"}, "body": "请携带身份证到网点重置密码。\n"});
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
    for (key, action) in [(&author, "submit"), (&boss, "approve")] {
        assert_eq!(
            http.post(format!("{}/api/v1/articles/{id}/transitions", a.base))
                .bearer_auth(key)
                .json(&json!({"action": action}))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let published_at = Instant::now();
    assert_eq!(
        http.post(format!("{}/api/v1/articles/{id}/transitions", a.base))
            .bearer_auth(&boss)
            .json(&json!({"action": "publish"}))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    let mut seen = String::new();
    let arrived = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = sse.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if seen.contains("event: article.published") {
                return;
            }
        }
    })
    .await;
    assert!(arrived.is_ok(), "node B never saw the publish: {seen}");
    let latency = published_at.elapsed();
    assert!(
        latency < Duration::from_secs(1),
        "node B saw the publish after {latency:?}"
    );
    // Node B serves the new article.
    let on_b = http
        .get(format!("{}/api/v1/articles/{id}", b.base))
        .send()
        .await
        .unwrap();
    assert_eq!(on_b.status(), 200);
    // Node B finds it in its own index within a second of the publish.
    let mut searchable_after = None;
    while published_at.elapsed() < Duration::from_secs(5) {
        let r: Value = http
            .get(format!("{}/api/v1/search", b.base))
            .query(&[("q", "忘记银行卡密码"), ("locale", "zh-CN")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["hits"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x["id"] == id.as_str()))
        {
            searchable_after = Some(published_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let searchable_after = searchable_after.expect("node B never found the article in its index");
    assert!(
        searchable_after < Duration::from_secs(1),
        "searchable on node B after {searchable_after:?}"
    );
    println!(
        "published on A: SSE on B after {latency:?}, searchable on B after {searchable_after:?}"
    );

    // One node (A) holds the scheduler lock; when A stops, B takes over at its next tick.
    let probe = Store::open_postgres(&url, Some(&schema)).await.unwrap();
    assert!(
        probe.try_scheduler_lock().await.unwrap().is_none(),
        "a node should hold the scheduler lock"
    );
    a.background.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        probe.try_scheduler_lock().await.unwrap().is_none(),
        "B should have taken over the scheduler"
    );
    b.background.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lock = probe.try_scheduler_lock().await.unwrap();
    assert!(
        lock.is_some(),
        "the lock is released when the last holder stops"
    );
    drop(lock);
    probe.close().await;
    a.kb.store.close().await;
    b.kb.store.close().await;
    pg.cleanup().await;
}
