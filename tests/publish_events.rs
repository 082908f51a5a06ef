//! Publish once, update everywhere (one node on SQLite; PostgreSQL too when
//! `OMNIKB_TEST_POSTGRES` is set): a publish reaches SSE subscribers and signed webhooks;
//! a failing receiver is retried; a snippet publish fans out to the articles using it.

mod db;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use futures_util::StreamExt;
use omnikb::config::Config;
use omnikb::domain::{Role, Roles};
use omnikb::service::{Kb, SystemClock};
use omnikb::state::AppState;
use omnikb::store::ApiScope;
use serde_json::{Value, json};

#[derive(Default)]
struct Receiver {
    attempts: AtomicUsize,
    verified: parking_lot::Mutex<Vec<Value>>,
    bad_signatures: AtomicUsize,
}

const SECRET: &str = "a-very-secret-shared-key";

async fn start_receiver(r: Arc<Receiver>) -> String {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                let n = r.attempts.fetch_add(1, Ordering::SeqCst);
                let ts: i64 = headers["x-omnikb-timestamp"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let sig = headers["x-omnikb-signature"].to_str().unwrap();
                let text = std::str::from_utf8(&body).unwrap();
                if !omnikb::publish::webhooks::verify(SECRET, ts, text, sig) {
                    r.bad_signatures.fetch_add(1, Ordering::SeqCst);
                    return StatusCode::UNAUTHORIZED;
                }
                // The very first attempt fails, to exercise retries.
                if n == 0 {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                r.verified.lock().push(serde_json::from_str(text).unwrap());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

async fn wait_for<F: Fn() -> bool>(what: &str, f: F) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn publish_reaches_sse_and_signed_webhooks_and_snippets_fan_out() {
    for db in db::databases().await {
        let label = db.label;
        let kb = Kb::new(
            db.store.clone(),
            omnikb::schema::SchemaSet::bundled().unwrap(),
            omnikb::render::default_registry(),
            Default::default(),
            Arc::new(SystemClock),
        );
        let admin = kb
            .store
            .create_user("root", "root", "x", &Roles(vec![Role::Admin]), kb.now())
            .await
            .unwrap();
        let (key, prefix, hash) = omnikb::auth::new_api_key().unwrap();
        kb.store
            .create_api_key(
                "root",
                &prefix,
                &hash,
                ApiScope::Admin,
                Some(admin.id),
                kb.now(),
            )
            .await
            .unwrap();
        // A second editor so the four-eyes rule can be met.
        let author = kb
            .store
            .create_user("au", "au", "x", &Roles(vec![Role::Author]), kb.now())
            .await
            .unwrap();
        let (akey, aprefix, ahash) = omnikb::auth::new_api_key().unwrap();
        kb.store
            .create_api_key(
                "au",
                &aprefix,
                &ahash,
                ApiScope::Editor,
                Some(author.id),
                kb.now(),
            )
            .await
            .unwrap();

        let background = omnikb::publish::start_background(&kb, Vec::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = AppState::with_hub(
            kb.clone(),
            Config::from_env(std::env::temp_dir(), listener.local_addr().unwrap()),
            background.hub.clone(),
        );
        tokio::spawn(omnikb::run(state, listener, std::future::pending()));
        let http = reqwest::Client::new();

        let receiver = Arc::new(Receiver::default());
        let hook_url = start_receiver(receiver.clone()).await;
        let res = http.post(format!("{base}/api/v1/webhooks")).bearer_auth(&key)
            .json(&json!({"url": hook_url, "secret": SECRET, "events": ["article.published"], "locales": ["zh-CN"]}))
            .send().await.unwrap();
        assert_eq!(res.status(), 201, "{label}");
        let hook: Value = res.json().await.unwrap();

        // Subscribe to SSE before publishing.
        let sse = http
            .get(format!("{base}/api/v1/events"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            sse.headers()["content-type"],
            "text/event-stream",
            "{label}"
        );
        let mut sse = sse.bytes_stream();

        // A snippet, and an article that uses it; the author drafts, the admin publishes.
        let snippet = omnikb::content::SnippetFile::parse(
            "---\nkey: hotline\nlocale: zh-CN\ntitle: 热线\nsay_as: telephone\n---\n10000\n",
        )
        .unwrap();
        kb.store
            .save_snippet(&snippet, Some(admin.id), "root", true, kb.now())
            .await
            .unwrap();
        let body = json!({"slug": "sim-lost", "type": "procedure", "locale": "zh-CN", "title": "手机卡丢了怎么办", "fields": {"summary": "请先拨打{{snippet:hotline}}挂失。"}, "body": "1. 拨打{{snippet:hotline}}挂失。\n2. 到营业厅补卡。\n"});
        let created: Value = http
            .post(format!("{base}/api/v1/articles"))
            .bearer_auth(&akey)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = created["id"].as_str().unwrap().to_string();
        for (who, action) in [(&akey, "submit"), (&key, "approve"), (&key, "publish")] {
            let r = http
                .post(format!("{base}/api/v1/articles/{id}/transitions"))
                .bearer_auth(who)
                .json(&json!({"action": action}))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "{label}: {action}: {}",
                r.text().await.unwrap()
            );
        }

        // (c) the SSE event arrives.
        let mut seen = String::new();
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(chunk) = sse.next().await {
                seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
                if seen.contains("event: article.published") {
                    return;
                }
            }
        })
        .await;
        assert!(got.is_ok(), "{label}: no SSE publish event; got {seen}");
        assert!(
            seen.contains(&format!("\"article_id\":\"{id}\"")),
            "{label}: {seen}"
        );

        // (d) the webhook is delivered, signed, after one failed attempt (retried).
        let r2 = receiver.clone();
        wait_for("webhook delivery", move || !r2.verified.lock().is_empty()).await;
        assert_eq!(receiver.bad_signatures.load(Ordering::SeqCst), 0, "{label}");
        assert!(
            receiver.attempts.load(Ordering::SeqCst) >= 2,
            "{label}: the failed attempt was retried"
        );
        let delivered = receiver.verified.lock()[0].clone();
        assert_eq!(delivered["event"], "article.published", "{label}");
        assert_eq!(delivered["article"]["id"], id.as_str(), "{label}");
        let log: Value = http
            .get(format!("{base}/api/v1/webhooks/{}/deliveries", hook["id"]))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(log[0]["status"], "delivered", "{label}: {log}");
        assert_eq!(log[0]["attempts"], 2, "{label}: {log}");
        assert_eq!(log[0]["last_status_code"], 204, "{label}: {log}");

        // Resume with Last-Event-ID: replays what came after, nothing before.
        let publish_seq: i64 = seen
            .lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .next_back()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        kb.store
            .save_snippet(&snippet, Some(admin.id), "root", true, kb.now())
            .await
            .unwrap();
        kb.changed();
        let resumed = http
            .get(format!("{base}/api/v1/events"))
            .header("last-event-id", publish_seq.to_string())
            .send()
            .await
            .unwrap();
        let mut resumed = resumed.bytes_stream();
        let mut text = String::new();
        let fanned = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(chunk) = resumed.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
                if text.contains("event: article.rerendered") {
                    return;
                }
            }
        })
        .await;
        assert!(
            fanned.is_ok(),
            "{label}: snippet publish did not fan out to the article: {text}"
        );
        assert!(text.contains("event: snippet.published"), "{label}: {text}");
        assert!(
            !text.contains("event: article.published"),
            "{label}: resumed stream replayed old events: {text}"
        );
        assert_eq!(
            kb.store
                .articles_using_snippet("hotline", "zh-CN")
                .await
                .unwrap()
                .len(),
            1,
            "{label}"
        );
        background.stop();
        db.cleanup().await;
    }
}
