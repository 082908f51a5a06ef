//! Reliability (issue 6): kill -9 the server in the middle of a burst of publishes and
//! restart it. Every published revision must be served by every channel and found by
//! search; nothing is lost or applied twice in effect.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

fn omnikb(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_omnikb"));
    c.arg("--data")
        .arg(data)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    c
}

fn key(data: &Path, user: &str, role: &str, scope: &str) -> String {
    let mut add = omnikb(data)
        .args(["user", "add", user, "--role", role])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"a-long-password\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let out = omnikb(data)
        .args(["apikey", "create", user, "--scope", scope, "--user", user])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

// The caller kills and waits for the child.
#[allow(clippy::zombie_processes)]
fn serve(data: &Path) -> (Child, String) {
    let mut child = omnikb(data)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(data.join("server.log"))
                .map(Stdio::from)
                .unwrap_or(Stdio::null()),
        )
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(addr) = line.strip_prefix("omnikb listening on ") {
            // Keep draining stdout so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return (child, addr.to_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_of_publishes_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let author = key(data, "au", "author", "editor");
    let boss = key(data, "boss", "admin", "admin");
    let (mut server, base) = serve(data);
    let http = reqwest::Client::new();
    let n = 30;
    let mut ids = Vec::new();
    for i in 0..n {
        let body = json!({"slug": format!("crash-{i}"), "type": "faq", "locale": "zh-CN", "title": format!("断电测试问题{i}号"), "fields": {"question": "怎么办？"}, "body": format!("第{i}条答案。\n")});
        let r: Value = http
            .post(format!("{base}/api/v1/articles"))
            .bearer_auth(&author)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = r["id"].as_str().unwrap().to_string();
        for (k, action) in [(&author, "submit"), (&boss, "approve")] {
            assert_eq!(
                http.post(format!("{base}/api/v1/articles/{id}/transitions"))
                    .bearer_auth(k)
                    .json(&json!({"action": action}))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200
            );
        }
        ids.push(id);
    }
    // The burst: publishes fire concurrently, one every 5 ms; the server is killed once a
    // third of them are acknowledged, while the last sent are in flight and the rest unsent.
    // (Sending all of them before waiting let a fast host acknowledge the whole burst first.)
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let third_acked = || acked.load(std::sync::atomic::Ordering::SeqCst) >= n / 3;
    let mut tasks = Vec::new();
    for id in ids.clone() {
        if third_acked() {
            break;
        }
        let (http, base, boss, acked) = (http.clone(), base.clone(), boss.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let status = http
                .post(format!("{base}/api/v1/articles/{id}/transitions"))
                .bearer_auth(&boss)
                .json(&json!({"action": "publish"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .ok();
            if status == Some(200) {
                acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            status
        }));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..5000 {
        if third_acked() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap(); // SIGKILL
    let _ = server.wait();
    let mut acknowledged = 0;
    for t in tasks {
        if t.await.unwrap() == Some(200) {
            acknowledged += 1;
        }
    }
    assert!(
        acknowledged > 0,
        "some publishes should have completed before the kill"
    );
    assert!(
        acknowledged < n,
        "the kill should land in the middle of the burst"
    );

    // Restart: every article that is published (per the database) is served by every
    // channel with its published revision and is found by search.
    let (mut server, base) = serve(data);
    let mut published = 0;
    for id in &ids {
        let a: Value = http
            .get(format!("{base}/api/v1/articles/{id}"))
            .bearer_auth(&boss)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let Some(rev) = a["published_revision"].as_i64() else {
            continue;
        };
        published += 1;
        let mut served = false;
        for _ in 0..300 {
            let ok = futures_util::future::join_all(["web", "ivr", "bot", "sms"].iter().map(|c| {
                let url = format!("{base}/api/v1/articles/{id}/render/{c}");
                let http = http.clone();
                async move {
                    http.get(url)
                        .send()
                        .await
                        .map(|r| r.status() == 200)
                        .unwrap_or(false)
                }
            }))
            .await
            .into_iter()
            .all(|x| x);
            if ok {
                served = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            served,
            "{id} (revision {rev}) is published but not served on every channel after restart; server log:\n{}",
            std::fs::read_to_string(data.join("server.log")).unwrap_or_default()
        );
        let web = http
            .get(format!("{base}/api/v1/articles/{id}/render/web"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            web.contains(&format!("data-kb-version=\"{rev}\"")),
            "{id}: stale render after restart"
        );
        let title = a["title"].as_str().unwrap();
        let mut found = false;
        for _ in 0..300 {
            let r: Value = http
                .get(format!("{base}/api/v1/search"))
                .query(&[("q", title), ("locale", "zh-CN")])
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if r["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["id"] == id.as_str())
            {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(found, "{id} is published but not searchable after restart");
    }
    println!(
        "{acknowledged} publishes acknowledged before kill -9; {published} published after restart, all served and searchable"
    );
    assert!(
        published >= acknowledged,
        "every acknowledged publish survived ({published} published, {acknowledged} acknowledged)"
    );
    // No publish was applied twice: each article has at most one publish transition.
    for id in &ids {
        let h: Value = http
            .get(format!("{base}/api/v1/articles/{id}/revisions"))
            .bearer_auth(&boss)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let publishes = h["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["action"] == "publish")
            .count();
        assert!(publishes <= 1, "{id} published {publishes} times");
    }
    server.kill().unwrap();
    let _ = server.wait();
}
