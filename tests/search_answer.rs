//! Search over HTTP on the demo knowledge base, and the bot answer endpoint: answers the
//! customer's question when it can, hands off when it cannot (calibration of the
//! threshold is printed with `--nocapture`).

use std::sync::Arc;

use omnikb::config::Config;
use omnikb::service::{Kb, SystemClock};
use omnikb::state::AppState;
use omnikb::store::Store;
use serde_json::{Value, json};

async fn start() -> (String, Kb) {
    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let kb = Kb::new(
        store,
        omnikb::schema::SchemaSet::bundled().unwrap(),
        omnikb::render::default_registry(),
        Default::default(),
        Arc::new(SystemClock),
    );
    let scratch = tempfile::tempdir().unwrap();
    omnikb::demo::load(&kb, scratch.path()).await.unwrap();
    omnikb::demo::load_synonyms(&kb).await.unwrap();
    let index = omnikb::search::SearchIndex::in_memory().unwrap();
    kb.reindex(&index, &|_, _| {}).await.unwrap();
    kb.set_search(index);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = AppState::new(
        kb.clone(),
        Config::from_env(std::env::temp_dir(), listener.local_addr().unwrap()),
    );
    tokio::spawn(omnikb::run(state, listener, std::future::pending()));
    (base, kb)
}

async fn answer(http: &reqwest::Client, base: &str, q: &str, locale: &str) -> Value {
    http.post(format!("{base}/api/v1/answer"))
        .json(&json!({"question": q, "locale": locale}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn answers_what_it_knows_and_hands_off_the_rest() {
    let (base, _kb) = start().await;
    let http = reqwest::Client::new();
    // (question, locale, expected slug)
    let answerable = [
        ("家里宽带连不上了", "zh-CN", "broadband-no-internet"),
        ("宽带无法上网怎么办", "zh-CN", "broadband-no-internet"),
        ("wifi密码忘了怎么办", "zh-CN", "wifi-password-forgot"),
        ("银行卡丢了怎么挂失", "zh-CN", "report-lost-card"),
        ("手机卡丢了怎么补办", "zh-CN", "sim-replacement"),
        ("信用卡账单可以分期吗", "zh-CN", "credit-card-installment"),
        ("I forgot my wifi password", "en", "wifi-password-forgot"),
        (
            "my broadband is not connecting",
            "en",
            "broadband-no-internet",
        ),
        ("how do I report a lost card", "en", "report-lost-card"),
        (
            "can I keep my number when switching provider",
            "en",
            "number-porting",
        ),
    ];
    let unrelated = [
        ("今天天气怎么样", "zh-CN"),
        ("明天会下雨吗", "zh-CN"),
        ("who won the football", "en"),
        ("what is the capital of France", "en"),
        ("recommend a good pizza place", "en"),
    ];
    let mut scores = Vec::new();
    for (q, locale, slug) in answerable {
        let a = answer(&http, &base, q, locale).await;
        scores.push(("answerable", q, a["confidence"].as_f64().unwrap()));
        assert_eq!(a["kind"], "answer", "{q}: {a}");
        assert_eq!(a["article"]["slug"], slug, "{q}: {a}");
        assert_eq!(
            a["answer"]["schema"], "kb.bot-answer/1",
            "{q}: the bot render is returned"
        );
        assert!(a["answer"]["match"]["confidence"].is_number());
        assert!(a["alternatives"].as_array().unwrap().len() <= 3);
    }
    for (q, locale) in unrelated {
        let a = answer(&http, &base, q, locale).await;
        scores.push(("unrelated", q, a["confidence"].as_f64().unwrap()));
        assert_eq!(a["kind"], "handoff", "{q} must not get a wrong answer: {a}");
        assert!(a["answer"].is_null() && a["handoff"].is_string(), "{a}");
    }
    for s in &scores {
        println!("calibration {:<11} {:.2}  {}", s.0, s.2, s.1);
    }
    // Bad input is a 400 problem, not a crash.
    let r = http
        .post(format!("{base}/api/v1/answer"))
        .json(&json!({"question": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn search_suggest_and_analytics_over_http() {
    let (base, kb) = start().await;
    let http = reqwest::Client::new();
    let r: Value = http
        .get(format!("{base}/api/v1/search?q=宽带无法上网&locale=zh-CN"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["hits"][0]["slug"], "broadband-no-internet", "{r}");
    assert!(r["total"].as_u64().unwrap() >= 1);
    assert!(r["facets"]["type"].is_array());
    assert!(
        r["hits"][0]["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h.as_str().unwrap().contains("<mark>"))
    );
    // Anonymous callers never see internal articles; an agent key does.
    let internal: Value = http
        .get(format!("{base}/api/v1/search?q=投诉升级&locale=zh-CN"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        internal["hits"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["audience"] == "public"),
        "{internal}"
    );
    // Suggest with pinyin initials.
    let s: Value = http
        .get(format!("{base}/api/v1/suggest?q=kd&locale=zh-CN"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        s.as_array()
            .unwrap()
            .iter()
            .any(|x| x["title"].as_str().unwrap().contains("宽带")),
        "{s}"
    );
    // Analytics: the searches above are recorded, zero-result ones listed as gaps.
    http.get(format!("{base}/api/v1/search?q=qqzzxxvv"))
        .send()
        .await
        .unwrap();
    let click = http
        .post(format!("{base}/api/v1/search/clicks"))
        .json(&json!({"search_id": r["search_id"], "article_id": r["hits"][0]["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(click.status(), 204);
    let a = kb
        .store
        .search_analytics(kb.now() - chrono::Duration::days(1), 10)
        .await
        .unwrap();
    assert!(a.searches >= 3);
    assert!(
        a.zero_result_queries.iter().any(|q| q.q == "qqzzxxvv"),
        "{:?}",
        a.zero_result_queries
    );
    assert!(a.click_through > 0.0);
    // Renders of a published article are served with ETags.
    let web = http
        .get(format!(
            "{base}/api/v1/articles/broadband-no-internet/render/web?locale=zh-CN"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(web.status(), 200);
    let etag = web.headers()["etag"].to_str().unwrap().to_string();
    assert!(web.text().await.unwrap().contains("data-kb-id"));
    let again = http
        .get(format!(
            "{base}/api/v1/articles/broadband-no-internet/render/web?locale=zh-CN"
        ))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let ssml = http
        .get(format!(
            "{base}/api/v1/articles/broadband-no-internet/render/ivr?locale=zh-CN"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ssml.contains("<speak"), "{ssml}");
    assert_eq!(
        http.get(format!(
            "{base}/api/v1/articles/broadband-no-internet/render/agent?locale=zh-CN"
        ))
        .send()
        .await
        .unwrap()
        .status(),
        403
    );
    // Expired knowledge is gone from customer channels.
    assert_eq!(
        http.get(format!(
            "{base}/api/v1/articles/broadband-maintenance-march/render/web?locale=zh-CN"
        ))
        .send()
        .await
        .unwrap()
        .status(),
        404
    );
}
