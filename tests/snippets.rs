//! Reusable snippets over HTTP (issue 4): create, edit with If-Match, review under the
//! four-eyes rule, the impact preview before approval, and the re-render of every
//! article that uses a snippet when it is published. SQLite, and PostgreSQL when
//! `OMNIKB_TEST_POSTGRES` is set.

mod db;
mod server;

use std::time::{Duration, Instant};

use reqwest::Method as M;
use serde_json::{Value, json};
use server::{Server, start};

fn hotline(body: &str, ivr: &str) -> Value {
    json!({
        "key": "hotline", "locale": "zh-CN", "title": "客服热线",
        "say_as": "telephone", "variants": {"ivr": ivr}, "body": body,
    })
}

fn article(slug: &str, body: &str) -> Value {
    json!({
        "slug": slug, "type": "troubleshooting", "locale": "zh-CN", "title": format!("{slug} 故障处理"),
        "category": "宽带/故障",
        "fields": {"issue": "无法上网。", "cause": "线路故障。", "internal_notes": "先查BSS。"},
        "body": body,
    })
}

async fn snippet_act(s: &Server, who: &str, action: &str, comment: Option<&str>) -> (u16, Value) {
    let mut body = json!({"action": action});
    if let Some(c) = comment {
        body["comment"] = json!(c);
    }
    s.call(
        who,
        M::POST,
        "/api/v1/snippets/hotline/transitions?locale=zh-CN",
        Some(body),
    )
    .await
}

/// Takes an article through review to published; returns its id.
async fn publish_article(s: &Server, input: Value) -> String {
    let (st, created) = s
        .call("author2", M::POST, "/api/v1/articles", Some(input))
        .await;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    for (who, action) in [
        ("author2", "submit"),
        ("reviewer", "approve"),
        ("publisher", "publish"),
    ] {
        let (st, out) = s.act(who, &id, action, None, None).await;
        assert_eq!(st, 200, "{action}: {out}");
    }
    id
}

async fn web_render(s: &Server, id: &str) -> String {
    let res = s
        .http
        .get(format!("{}/api/v1/articles/{id}/render/web", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn snippet_review_impact_preview_and_rerender() {
    for db in db::databases().await {
        let label = db.label;
        let s = start(db.store.clone()).await;
        // The publisher turns `snippet.published` into re-renders, as in `omnikb serve`.
        let background = omnikb::publish::start_background(&s.kb, Vec::new());

        // Bad input: every problem is reported at once, with its path; nothing is saved.
        let bad = json!({"key": "Hot Line", "locale": "zh-CN", "title": " ", "say_as": "shout",
                         "variants": {"fax": "x"}, "body": "{{snippet:other}}"});
        let (st, problem) = s
            .call("author", M::POST, "/api/v1/snippets", Some(bad))
            .await;
        assert_eq!(st, 422, "{label}: {problem}");
        let paths: Vec<&str> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["path"].as_str().unwrap())
            .collect();
        for p in ["/key", "/title", "/say_as", "/variants/fax", "/body"] {
            assert!(paths.contains(&p), "{label}: {p} missing in {problem}");
        }
        let (_, list) = s.call("author", M::GET, "/api/v1/snippets", None).await;
        assert_eq!(list, json!([]), "{label}: nothing half-saved");

        // Create and publish the first revision; the four-eyes rule holds for snippets:
        // "author" is also reviewer and publisher but wrote the revision.
        let (st, created) = s
            .call(
                "author",
                M::POST,
                "/api/v1/snippets",
                Some(hotline("10086", "幺零零八六")),
            )
            .await;
        assert_eq!(st, 201, "{label}: {created}");
        assert_eq!(created["number"], 1);
        assert_eq!(created["state"], "draft");
        let (st, dup) = s
            .call(
                "author2",
                M::POST,
                "/api/v1/snippets",
                Some(hotline("1", "一")),
            )
            .await;
        assert_eq!(st, 409, "{label}: {dup}");
        assert_eq!(
            snippet_act(&s, "author", "approve", None).await.0,
            409,
            "{label}: a draft cannot be approved"
        );
        assert_eq!(snippet_act(&s, "author", "submit", None).await.0, 200);
        let (st, denied) = snippet_act(&s, "author", "approve", None).await;
        assert_eq!(st, 403, "{label}: {denied}");
        assert!(
            denied["detail"].as_str().unwrap().contains("four-eyes"),
            "{denied}"
        );
        assert_eq!(
            snippet_act(&s, "reviewer", "reject", None).await.0,
            400,
            "{label}: a rejection needs a comment"
        );
        assert_eq!(snippet_act(&s, "reviewer", "approve", None).await.0, 200);
        assert_eq!(
            snippet_act(&s, "author", "publish", None).await.0,
            403,
            "{label}: the writer cannot publish"
        );
        assert_eq!(
            snippet_act(&s, "reviewer", "publish", None).await.0,
            403,
            "{label}: a reviewer lacks the publisher role"
        );
        let (st, out) = snippet_act(&s, "publisher", "publish", None).await;
        assert_eq!(st, 200, "{label}: {out}");
        assert_eq!(out["to"], "published");

        // Two published articles use the snippet, a third does not.
        let a1 = publish_article(
            &s,
            article(
                "modem",
                "1. 重启光猫。\n2. 仍不能上网请拨打{{snippet:hotline}}。\n",
            ),
        )
        .await;
        let a2 = publish_article(
            &s,
            article("fiber", "1. 检查光纤。\n2. 拨打{{snippet:hotline}}报修。\n"),
        )
        .await;
        let a3 = publish_article(&s, article("wifi", "1. 重启路由器。\n2. 再试。\n")).await;
        assert!(web_render(&s, &a1).await.contains("10086"));

        let (st, list) = s
            .call("author", M::GET, "/api/v1/snippets?locale=zh-CN", None)
            .await;
        assert_eq!(st, 200, "{list}");
        assert_eq!(list[0]["key"], "hotline");
        assert_eq!(list[0]["used_by"], 2, "{label}: {list}");
        assert_eq!(list[0]["published_revision"], 1);

        // Editing needs the revision the edit started from; a stale one is a conflict.
        let path = "/api/v1/snippets/hotline/draft?locale=zh-CN";
        let (st, _) = s
            .call(
                "author2",
                M::PUT,
                path,
                Some(hotline("10010", "幺零零幺零")),
            )
            .await;
        assert_eq!(st, 400, "{label}: If-Match missing");
        let put = |base: &str, body: Value| {
            s.http
                .put(format!("{}{path}", s.base))
                .bearer_auth(&s.keys["author2"])
                .header("If-Match", base)
                .json(&body)
                .send()
        };
        let res = put("\"1\"", hotline("10010", "幺零零幺零")).await.unwrap();
        assert_eq!(res.status(), 200, "{label}");
        assert_eq!(res.headers()["etag"], "\"2\"");
        let res = put("\"1\"", hotline("12345", "一二三四五")).await.unwrap();
        assert_eq!(
            res.status(),
            409,
            "{label}: someone saved revision 2 in between"
        );
        let mut renamed = hotline("10010", "幺零零幺零");
        renamed["key"] = json!("hotline2");
        let res = put("\"2\"", renamed).await.unwrap();
        assert_eq!(res.status(), 422, "{label}: the key cannot change");

        // Impact preview of the draft: both articles that use it, every channel that
        // changes, with a diff from the published value to the candidate.
        let (st, impact) = s
            .call(
                "reviewer",
                M::GET,
                "/api/v1/snippets/hotline/impact?locale=zh-CN",
                None,
            )
            .await;
        assert_eq!(st, 200, "{label}: {impact}");
        assert_eq!(impact["candidate_revision"], 2);
        assert_eq!(impact["published_revision"], 1);
        let articles = impact["articles"].as_array().unwrap();
        let ids: Vec<&str> = articles.iter().map(|a| a["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2, "{label}: {ids:?}");
        assert!(ids.contains(&a1.as_str()) && ids.contains(&a2.as_str()));
        assert!(!ids.contains(&a3.as_str()));
        let mut changed = 0;
        for a in articles {
            let renders = a["renders"].as_array().unwrap();
            let find = |c: &str, f: &str| {
                renders
                    .iter()
                    .find(|r| r["channel"] == c && r["format"] == f)
                    .unwrap_or_else(|| panic!("{c}/{f} missing"))
            };
            let web = find("web", "html");
            assert_eq!(web["changed"], true);
            let diff = web["diff"].as_str().unwrap();
            assert!(
                diff.lines()
                    .any(|l| l.starts_with('-') && l.contains("10086")),
                "{diff}"
            );
            assert!(
                diff.lines()
                    .any(|l| l.starts_with('+') && l.contains("10010")),
                "{diff}"
            );
            // Voice reads the spoken variant, not the digits for the eye.
            let ssml = find("ivr", "ssml");
            assert_eq!(ssml["changed"], true);
            assert!(ssml["after"].as_str().unwrap().contains("幺零零幺零"));
            assert!(ssml["before"].as_str().unwrap().contains("幺零零八六"));
            for r in renders {
                if r["changed"] == true {
                    changed += 1;
                    assert_ne!(r["before"], r["after"]);
                } else {
                    assert_eq!(r["diff"], "");
                    assert_eq!(r["before"], r["after"]);
                }
            }
        }
        assert_eq!(impact["changed_renders"], changed);
        // A preview changes nothing: the published renders still show the old number.
        assert!(web_render(&s, &a1).await.contains("10086"));

        // Review and publish revision 2: every article using it is re-rendered.
        assert_eq!(snippet_act(&s, "author2", "submit", None).await.0, 200);
        assert_eq!(
            snippet_act(&s, "reviewer", "reject", Some("号码写错了"))
                .await
                .0,
            200
        );
        let res = put("\"2\"", hotline("10010", "幺零零幺零")).await.unwrap();
        assert_eq!(res.status(), 200, "{label}: fixed after the rejection");
        assert_eq!(snippet_act(&s, "author2", "submit", None).await.0, 200);
        assert_eq!(snippet_act(&s, "reviewer2", "approve", None).await.0, 200);
        let (st, out) = snippet_act(&s, "publisher", "publish", None).await;
        assert_eq!(st, 200, "{label}: {out}");
        assert_eq!(out["revision"], 3);
        assert_eq!(out["rerendered_articles"], 2);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (w1, w2) = (web_render(&s, &a1).await, web_render(&s, &a2).await);
            if w1.contains("10010") && w2.contains("10010") {
                assert!(!w1.contains("10086") && !w2.contains("10086"));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{label}: articles not re-rendered within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // The history names who did what.
        let (st, view) = s
            .call("author", M::GET, "/api/v1/snippets/hotline", None)
            .await;
        assert_eq!(st, 200, "{view}");
        assert_eq!(view["published_revision"], 3);
        assert_eq!(view["revisions"].as_array().unwrap().len(), 3);
        let trail: Vec<(String, String)> = view["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["actor"].as_str().unwrap().to_string(),
                    h["action"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for step in [
            ("t-reviewer", "snippet.reject"),
            ("t-reviewer2", "snippet.approve"),
            ("t-publisher", "snippet.publish"),
        ] {
            assert!(
                trail.contains(&(step.0.to_string(), step.1.to_string())),
                "{label}: {step:?} not in {trail:?}"
            );
        }
        assert_eq!(view["used_by"].as_array().unwrap().len(), 2);

        // Snippets are for editors: an agent key is refused, and so is an anonymous caller.
        assert_eq!(
            s.call("agent", M::GET, "/api/v1/snippets", None).await.0,
            403
        );
        assert_eq!(
            s.call("nobody", M::GET, "/api/v1/snippets/hotline/impact", None)
                .await
                .0,
            401
        );
        assert_eq!(
            s.call(
                "agent",
                M::POST,
                "/api/v1/snippets",
                Some(hotline("1", "一"))
            )
            .await
            .0,
            403
        );
        // Stop the publisher before dropping the schema it holds connections to.
        background.stop();
        db.cleanup().await;
    }
}
