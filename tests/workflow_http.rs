//! Issue 3's "done when": a whole article life through HTTP against a real server, on
//! SQLite and (when `OMNIKB_TEST_POSTGRES` is set) PostgreSQL. The clock is a manual
//! clock the test moves, so nothing sleeps.

mod db;
mod server;

use chrono::{Duration, TimeZone, Utc};
use omnikb::domain::{Role, Roles};
use omnikb::store::{ApiScope, Store};
use serde_json::{Value, json};
use server::{NowUtc, start};

fn article(title: &str, step: &str) -> Value {
    json!({
        "slug": "router-reset", "type": "troubleshooting", "locale": "zh-CN", "title": title,
        "category": "宽带/故障", "tags": ["路由器"],
        "expires_at": "2026-12-31T16:00:00Z",
        "fields": {"issue": "路由器指示灯全灭，无法上网。", "cause": "路由器死机。", "internal_notes": "先查BSS是否欠费停机。"},
        "body": format!("1. {step}\n2. 等待两分钟后再试。\n"),
    })
}

#[tokio::test]
async fn a_whole_article_life_over_http() {
    for db in db::databases().await {
        let label = db.label;
        let s = start(db.store.clone()).await;
        use reqwest::Method as M;

        // Bad input: a schema violation answers 422 with field details; nothing is saved.
        let mut bad = article("路由器重启", "拔掉电源。");
        bad["fields"]["issue"] = json!("");
        bad["fields"]["colour"] = json!("red");
        let (st, problem) = s
            .call("author", M::POST, "/api/v1/articles", Some(bad))
            .await;
        assert_eq!(st, 422, "{label}: {problem}");
        let paths: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        assert!(
            paths.contains(&"/fields/issue") && paths.contains(&"/fields/colour"),
            "{label}: {problem}"
        );
        assert!(
            problem["errors"][0]["message_zh"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        assert_eq!(
            s.kb.store.count_articles().await.unwrap(),
            0,
            "{label}: nothing half-saved"
        );
        // An agent key may not write; no key at all is 401.
        assert_eq!(
            s.call(
                "agent",
                M::POST,
                "/api/v1/articles",
                Some(article("x", "y"))
            )
            .await
            .0,
            403,
            "{label}"
        );
        assert_eq!(
            s.call(
                "nobody",
                M::POST,
                "/api/v1/articles",
                Some(article("x", "y"))
            )
            .await
            .0,
            401,
            "{label}"
        );
        // Malformed JSON is a problem+json 400, not a panic.
        let raw = s
            .http
            .post(format!("{}/api/v1/articles", s.base))
            .bearer_auth(&s.keys["author"])
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 400, "{label}");
        assert_eq!(raw.headers()["content-type"], "application/problem+json");

        // Pre-publish lint: a bank card number (Luhn-valid) in customer content blocks the
        // submit with a field-level message; the number itself is not echoed back.
        let mut leaky = article("卡号泄露测试", "请核对卡号4111 1111 1111 1111是否正确。");
        leaky["slug"] = json!("leaky-card");
        let (st, created) = s
            .call("author", M::POST, "/api/v1/articles", Some(leaky))
            .await;
        assert_eq!(st, 201, "{label}: {created}");
        let leaky_id = created["id"].as_str().unwrap().to_string();
        let (st, p) = s.act("author", &leaky_id, "submit", None, None).await;
        assert_eq!(st, 422, "{label}: {p}");
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["path"] == "/body"),
            "{label}: {p}"
        );
        assert!(
            !p.to_string().contains("4111 1111 1111 1111"),
            "{label}: the secret is masked: {p}"
        );

        // The author drafts and submits.
        let (st, created) = s
            .call(
                "author",
                M::POST,
                "/api/v1/articles",
                Some(article("路由器重启", "拔掉路由器电源，等待30秒。")),
            )
            .await;
        assert_eq!(st, 201, "{label}: {created}");
        let id = created["id"].as_str().unwrap().to_string();
        assert_eq!(
            s.act("author", &id, "submit", None, None).await.0,
            200,
            "{label}"
        );
        // The author's own approval is refused by the four-eyes rule.
        let (st, p) = s.act("author", &id, "approve", None, None).await;
        assert_eq!(st, 403, "{label}: {p}");
        assert!(
            p["detail"].as_str().unwrap().contains("four-eyes"),
            "{label}: {p}"
        );
        // A reviewer rejects without a comment: 400; with one: back to draft.
        assert_eq!(
            s.act("reviewer", &id, "reject", None, None).await.0,
            400,
            "{label}"
        );
        let (st, out) = s
            .act(
                "reviewer",
                &id,
                "reject",
                Some("第一步请写清楚等待多久。"),
                None,
            )
            .await;
        assert_eq!(
            (st, out["to"].as_str()),
            (200, Some("draft")),
            "{label}: {out}"
        );
        // Publishing a draft is the wrong state: 409.
        assert_eq!(
            s.act("publisher", &id, "publish", None, None).await.0,
            409,
            "{label}"
        );

        // The author fixes and resubmits (optimistic concurrency on the base revision).
        let fixed = article("路由器重启", "拔掉路由器电源，等待30秒后插回。");
        let (st, p) = s
            .call(
                "author",
                M::PUT,
                &format!("/api/v1/articles/{id}/draft?base_revision=9"),
                Some(fixed.clone()),
            )
            .await;
        assert_eq!(st, 409, "{label}: stale base is a conflict: {p}");
        assert_eq!(
            (p["latest_revision"].as_i64(), p["base_revision"].as_i64()),
            (Some(1), Some(9)),
            "{label}: {p}"
        );
        let (st, r2) = s
            .call(
                "author",
                M::PUT,
                &format!("/api/v1/articles/{id}/draft?base_revision=1"),
                Some(fixed),
            )
            .await;
        assert_eq!((st, r2["number"].as_i64()), (200, Some(2)), "{label}: {r2}");
        assert_eq!(
            s.act("author", &id, "submit", None, None).await.0,
            200,
            "{label}"
        );
        let (st, out) = s.act("reviewer", &id, "approve", None, None).await;
        assert_eq!(
            (st, out["to"].as_str()),
            (200, Some("approved")),
            "{label}: {out}"
        );
        // The author may not publish their own change either, despite the publisher role.
        assert_eq!(
            s.act("author", &id, "publish", None, None).await.0,
            403,
            "{label}"
        );

        // A publisher schedules it; the clock passes the time and it is published.
        assert_eq!(
            s.act(
                "publisher",
                &id,
                "schedule",
                None,
                Some("2026-11-22T08:00:00Z")
            )
            .await
            .0,
            400,
            "{label}: past time"
        );
        let (st, out) = s
            .act(
                "publisher",
                &id,
                "schedule",
                None,
                Some("2026-11-23T01:00:00Z"),
            )
            .await;
        assert_eq!(
            (st, out["to"].as_str()),
            (200, Some("scheduled")),
            "{label}: {out}"
        );
        assert_eq!(
            s.public_status(&id).await,
            404,
            "{label}: not live before its time"
        );
        s.clock.advance(Duration::hours(17));
        let report = s.kb.run_scheduler().await.unwrap();
        assert_eq!(report.published.len(), 1, "{label}");
        assert_eq!(
            s.public_status(&id).await,
            200,
            "{label}: live after the scheduler ran"
        );
        let (_, live) = s
            .call("nobody", M::GET, &format!("/api/v1/articles/{id}"), None)
            .await;
        assert!(
            live["fields"].get("internal_notes").is_none(),
            "{label}: internal field leaked: {live}"
        );
        assert!(live["review_by"].is_null() || live["review_by"].is_string());

        // A new draft is reviewed while the old revision stays live.
        let v3 = article("路由器重启（新版）", "按住复位键5秒。");
        let (st, _) = s
            .call(
                "author2",
                M::PUT,
                &format!("/api/v1/articles/{id}/draft?base_revision=2"),
                Some(v3),
            )
            .await;
        assert_eq!(st, 200, "{label}");
        assert_eq!(
            s.act("author2", &id, "submit", None, None).await.0,
            200,
            "{label}"
        );
        let (_, live) = s
            .call("nobody", M::GET, &format!("/api/v1/articles/{id}"), None)
            .await;
        assert_eq!(
            live["title"], "路由器重启",
            "{label}: the published revision stays live during review"
        );
        assert_eq!(
            s.act("reviewer2", &id, "approve", None, None).await.0,
            200,
            "{label}"
        );
        assert_eq!(
            s.act("publisher", &id, "publish", None, None).await.0,
            200,
            "{label}"
        );
        let (_, live) = s
            .call("nobody", M::GET, &format!("/api/v1/articles/{id}"), None)
            .await;
        assert_eq!(
            (live["title"].as_str(), live["published_revision"].as_i64()),
            (Some("路由器重启（新版）"), Some(3)),
            "{label}: {live}"
        );

        // It expires and leaves the customer channels; agents still see it, marked.
        s.clock
            .set(Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(
            s.public_status(&id).await,
            404,
            "{label}: expired knowledge is gone from customers"
        );
        let (st, agent_view) = s
            .call("agent", M::GET, &format!("/api/v1/articles/{id}"), None)
            .await;
        assert_eq!(
            (st, agent_view["validity"].as_str()),
            (200, Some("expired")),
            "{label}: {agent_view}"
        );
        let report = s.kb.run_scheduler().await.unwrap();
        assert_eq!(report.expired.len(), 1, "{label}: one expiry event");
        assert!(
            s.kb.run_scheduler().await.unwrap().expired.is_empty(),
            "{label}: and only once"
        );

        // The history shows every step with a correct diff.
        let (st, hist) = s
            .call(
                "reviewer",
                M::GET,
                &format!("/api/v1/articles/{id}/revisions"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{label}");
        let actions: Vec<&str> = hist["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "submit", "reject", "submit", "approve", "schedule", "publish", "submit",
                "approve", "publish"
            ],
            "{label}"
        );
        assert_eq!(
            hist["transitions"][1]["comment"],
            "第一步请写清楚等待多久。"
        );
        assert_eq!(
            hist["transitions"][5]["actor"], "system",
            "{label}: the scheduler published"
        );
        let (_, d) = s
            .call(
                "reviewer",
                M::GET,
                &format!("/api/v1/articles/{id}/diff?from=2&to=3"),
                None,
            )
            .await;
        let changed: Vec<&str> = d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(changed, ["title"], "{label}: {d}");
        let ins: Vec<&str> = d["body"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["op"] == "insert")
            .map(|l| l["text"].as_str().unwrap())
            .collect();
        let del: Vec<&str> = d["body"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["op"] == "delete")
            .map(|l| l["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            (ins, del),
            (
                vec!["1. 按住复位键5秒。"],
                vec!["1. 拔掉路由器电源，等待30秒后插回。"]
            ),
            "{label}"
        );

        // A rollback produces a new draft with the old content, which goes through review.
        let (st, rb) = s
            .call(
                "author",
                M::POST,
                &format!("/api/v1/articles/{id}/rollback"),
                Some(json!({"revision": 2})),
            )
            .await;
        assert_eq!(
            (st, rb["number"].as_i64(), rb["state"].as_str()),
            (201, Some(4), Some("draft")),
            "{label}: {rb}"
        );
        assert_eq!(rb["article"]["title"], "路由器重启");

        // Every transition wrote a verifiable audit row.
        assert!(
            matches!(
                s.kb.store.verify_audit().await.unwrap(),
                omnikb::store::AuditVerdict::Intact { .. }
            ),
            "{label}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn openapi_document_lists_the_routes() {
    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let s = start(store).await;
    let (st, doc) = s
        .call("nobody", reqwest::Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(st, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/articles",
        "/api/v1/articles/{ref}/transitions",
        "/api/v1/articles/{ref}/diff",
        "/api/v1/articles/{ref}/revisions/{n}/preview",
        "/api/v1/schemas",
    ] {
        assert!(doc["paths"].get(path).is_some(), "missing {path}");
    }
}

#[tokio::test]
async fn password_login_cookie_csrf_and_rate_limit() {
    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let s = start(store).await;
    let hash = omnikb::auth::hash_password("correct horse battery").unwrap();
    s.kb.store
        .create_user(
            "lin",
            "林编辑",
            &hash,
            &Roles(vec![Role::Author]),
            s.clock.now_utc(),
        )
        .await
        .unwrap();
    let login = |pw: &'static str, ip: &'static str| {
        s.http
            .post(format!("{}/api/v1/session", s.base))
            .header("x-forwarded-for", ip)
            .json(&json!({"name": "lin", "password": pw}))
            .send()
    };
    let bad = login("wrong password", "10.0.0.1").await.unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    let ok = login("correct horse battery", "10.0.0.1").await.unwrap();
    assert_eq!(ok.status(), 200);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session: Value = ok.json().await.unwrap();
    let csrf = session["csrf_token"].as_str().unwrap().to_string();
    let cookie_pair = cookie.split(';').next().unwrap().to_string();

    // A cookie write without the CSRF token is refused; with it, it works.
    let body = article("路由器重启", "拔掉电源。");
    let no_csrf = s
        .http
        .post(format!("{}/api/v1/articles", s.base))
        .header("cookie", &cookie_pair)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    assert_eq!(s.kb.store.count_articles().await.unwrap(), 0);
    let with_csrf = s
        .http
        .post(format!("{}/api/v1/articles", s.base))
        .header("cookie", &cookie_pair)
        .header("x-csrf-token", &csrf)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(with_csrf.status(), 201);

    // Five failures lock the account (from any address) for 15 minutes.
    for _ in 0..5 {
        assert_eq!(login("nope nope", "10.0.0.2").await.unwrap().status(), 401);
    }
    assert_eq!(
        login("correct horse battery", "10.0.0.3")
            .await
            .unwrap()
            .status(),
        429
    );
}

#[tokio::test]
async fn admin_keys_review_due_and_translation_status() {
    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let s = start(store).await;
    let scratch = tempfile::tempdir().unwrap();
    omnikb::demo::load(&s.kb, scratch.path()).await.unwrap();
    let admin = s.kb.store.user_by_name("admin").await.unwrap().unwrap();
    let (full, prefix, hash) = omnikb::auth::new_api_key().unwrap();
    s.kb.store
        .create_api_key(
            "root",
            &prefix,
            &hash,
            ApiScope::Admin,
            Some(admin.id),
            s.clock.now_utc(),
        )
        .await
        .unwrap();
    let call = |method: reqwest::Method, path: &str, key: &str, body: Option<Value>| {
        let mut r = s
            .http
            .request(method, format!("{}{path}", s.base))
            .bearer_auth(key);
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send()
    };
    // Admins create keys (shown once) and revoke them; a revoked key stops working.
    let created: Value = call(
        reqwest::Method::POST,
        "/api/v1/apikeys",
        &full,
        Some(json!({"name": "chatbot", "scope": "bot"})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let bot_key = created["key"].as_str().unwrap().to_string();
    assert_eq!(
        call(
            reqwest::Method::GET,
            "/api/v1/articles/broadband-no-internet?locale=zh-CN",
            &bot_key,
            None
        )
        .await
        .unwrap()
        .status(),
        200
    );
    // A verified key is remembered (argon2 once), but only the exact key: the same prefix
    // with another secret is still refused.
    let mut forged = bot_key.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'a' { 'b' } else { 'a' });
    assert_eq!(
        call(
            reqwest::Method::GET,
            "/api/v1/articles/broadband-no-internet?locale=zh-CN",
            &forged,
            None
        )
        .await
        .unwrap()
        .status(),
        401
    );
    let listed: Value = call(reqwest::Method::GET, "/api/v1/apikeys", &full, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("key").is_none()),
        "keys are never listed in clear"
    );
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        call(
            reqwest::Method::DELETE,
            &format!("/api/v1/apikeys/{id}"),
            &full,
            None
        )
        .await
        .unwrap()
        .status(),
        204
    );
    assert_eq!(
        call(
            reqwest::Method::GET,
            "/api/v1/articles/broadband-no-internet?locale=zh-CN",
            &bot_key,
            None
        )
        .await
        .unwrap()
        .status(),
        401
    );
    // Non-admins may not list users.
    assert_eq!(
        call(
            reqwest::Method::GET,
            "/api/v1/users",
            &s.keys["author"],
            None
        )
        .await
        .unwrap()
        .status(),
        403
    );
    // A bot key never sees internal articles.
    // (the revoked key above is gone; make a fresh one)
    let bot2: Value = call(
        reqwest::Method::POST,
        "/api/v1/apikeys",
        &full,
        Some(json!({"name": "bot2", "scope": "bot"})),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        call(
            reqwest::Method::GET,
            "/api/v1/articles/agent-complaint-escalation?locale=zh-CN",
            bot2["key"].as_str().unwrap(),
            None
        )
        .await
        .unwrap()
        .status(),
        404
    );

    // Review due: the demo has an article whose review date has passed.
    let due: Value = call(reqwest::Method::GET, "/api/v1/review-due", &full, None)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        due.as_array()
            .unwrap()
            .iter()
            .any(|d| d["slug"] == "international-roaming" && d["overdue"] == true),
        "{due}"
    );

    // Translation status: both locales published.
    let group: Value = call(
        reqwest::Method::GET,
        "/api/v1/translations/broadband-no-internet",
        &full,
        None,
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let statuses: Vec<(&str, &str)> = group["translations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["locale"].as_str().unwrap(), t["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [("zh-CN", "published"), ("en", "published")],
        "{group}"
    );
}

#[tokio::test]
async fn draft_preview_renders_every_channel_for_editors_only() {
    use reqwest::Method as M;
    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let s = start(store).await;
    let (st, created) = s
        .call(
            "author",
            M::POST,
            "/api/v1/articles",
            Some(article("路由器指示灯全灭", "拔掉电源，等待三十秒。")),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/articles/{id}/revisions/1/preview");

    let (st, preview) = s.call("author", M::GET, &path, None).await;
    assert_eq!(st, 200, "{preview}");
    assert_eq!(preview["state"], "draft");
    let renders = preview["renders"].as_array().unwrap();
    let body = |channel: &str, format: &str| -> String {
        renders
            .iter()
            .find(|r| r["channel"] == channel && r["format"] == format)
            .unwrap_or_else(|| panic!("no {channel}/{format} render in {preview}"))["body"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (channel, format) in [
        ("web", "html"),
        ("ivr", "ssml"),
        ("agent", "json"),
        ("bot", "json"),
    ] {
        assert!(
            body(channel, format).contains("拔掉电源"),
            "{channel}/{format} renders the draft's steps"
        );
    }
    // SMS is one short message about the issue, not the steps.
    assert!(body("sms", "text").contains("路由器"), "{preview}");
    // The internal note is in the agent render only, never in customer channels.
    assert!(body("agent", "json").contains("先查BSS是否欠费停机"));
    for (channel, format) in [
        ("web", "html"),
        ("ivr", "ssml"),
        ("bot", "json"),
        ("sms", "text"),
    ] {
        assert!(
            !body(channel, format).contains("BSS"),
            "{channel}/{format} leaks"
        );
    }
    // Nothing was published or stored by the preview.
    assert_eq!(s.public_status(&id).await, 404);

    // Drafts are for editors: an agent key and an anonymous caller are refused.
    let (st, _) = s.call("agent", M::GET, &path, None).await;
    assert_eq!(st, 403);
    let (st, _) = s.call("nobody", M::GET, &path, None).await;
    assert_eq!(st, 401);
    let (st, _) = s
        .call(
            "author",
            M::GET,
            &format!("/api/v1/articles/{id}/revisions/9/preview"),
            None,
        )
        .await;
    assert_eq!(st, 404);
}
