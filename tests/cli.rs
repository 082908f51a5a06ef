//! The `omnikb` binary as a user runs it: check, import, export, serve --demo.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn omnikb(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_omnikb"));
    c.arg("--data")
        .arg(data)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn");
    c
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn check_reports_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("kb");
    write(
        &root.join("articles/zh-CN/ok.md"),
        "---\nslug: ok-article\ntype: faq\nlocale: zh-CN\ntitle: 好的\nfields:\n  question: 怎么办？\n---\n答案。\n",
    );
    write(
        &root.join("articles/zh-CN/bad.md"),
        "---\nslug: bad-article\ntype: troubleshooting\nlocale: zh-CN\ntitle: 坏的\nfields:\n  cause: 原因\n  colour: red\n---\n1. 拨打{{snippet:nope}}。\n\n::: internal\n没有关闭\n",
    );
    write(&root.join("articles/en/notutf8.md"), "---\nslug: x\n");
    std::fs::write(
        root.join("articles/en/notutf8.md"),
        b"---\nslug: bad\n\xff\xfe\n",
    )
    .unwrap();
    write(
        &root.join("articles/en/unknown-type.md"),
        "---\nslug: blog-post\ntype: blog\nlocale: en\ntitle: Hi\n---\nx\n",
    );
    let out = omnikb(&dir.path().join("data"))
        .arg("check")
        .arg(&root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "bad.md:6: fields.issue: this field is required",
        "bad.md:8: fields.colour: unknown field 'colour'",
        "bad.md:12: ",
        "block opened here is never closed",
        "notutf8.md:3: file is not valid UTF-8",
        "unknown-type.md:3: type: unknown article type 'blog'",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in:\n{stderr}"
        );
    }
    assert!(!stderr.contains("ok.md"), "{stderr}");

    // Import refuses the whole tree: nothing is half-written.
    let data = dir.path().join("data");
    let out = omnikb(&data).arg("import").arg(&root).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was imported"));
    let export = dir.path().join("export");
    let out = omnikb(&data).arg("export").arg(&export).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("exported 0 articles"));
}

#[test]
fn demo_export_import_round_trip_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let out = omnikb(&a)
        .arg("import")
        .arg(repo.join("demo"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("64 articles created"));
    let (e1, e2) = (dir.path().join("e1"), dir.path().join("e2"));
    assert!(
        omnikb(&a)
            .arg("export")
            .arg(&e1)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        omnikb(&b)
            .arg("import")
            .arg(&e1)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        omnikb(&b)
            .arg("export")
            .arg(&e2)
            .status()
            .unwrap()
            .success()
    );
    let files = |root: &Path| {
        let mut v = Vec::new();
        for locale_dir in [
            "articles/zh-CN",
            "articles/en",
            "snippets/zh-CN",
            "snippets/en",
        ] {
            for e in std::fs::read_dir(root.join(locale_dir)).unwrap() {
                let p = e.unwrap().path();
                v.push((
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
        v.sort();
        v
    };
    let (f1, f2) = (files(&e1), files(&e2));
    assert_eq!(f1.len(), 72);
    assert_eq!(f1, f2);
    // Re-importing the same files makes new revisions, not duplicates.
    let out = omnikb(&b).arg("import").arg(&e1).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 articles created, 64 revised"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn serve_demo_answers_health_schemas_and_hides_internal_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = omnikb(dir.path())
        .args(["serve", "--demo", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut printed = Vec::new();
    let addr = loop {
        let line = lines.next().expect("server exited").unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.strip_prefix("omnikb listening on ") {
            break rest.to_string();
        }
    };
    assert!(
        printed.iter().any(|l| l.contains("64 articles")),
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.trim_start().starts_with("reviewer")),
        "demo passwords printed: {printed:?}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::new();
        assert_eq!(
            c.get(format!("{addr}/healthz"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "ok"
        );
        assert!(
            c.get(format!("{addr}/readyz"))
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
        let schemas: serde_json::Value = c
            .get(format!("{addr}/api/v1/schemas"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(schemas["schemas"].as_array().unwrap().len(), 5);
        let a = c
            .get(format!(
                "{addr}/api/v1/articles/broadband-no-internet?locale=zh-CN"
            ))
            .send()
            .await
            .unwrap();
        assert!(a.status().is_success());
        let text = a.text().await.unwrap();
        assert!(text.contains("宽带无法上网怎么办"));
        assert!(
            !text.contains("internal_notes") && !text.contains("BSS"),
            "internal notes leaked: {text}"
        );
        let internal = c
            .get(format!(
                "{addr}/api/v1/articles/agent-complaint-escalation?locale=zh-CN"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(internal.status(), 404);
        assert_eq!(
            internal.headers()["content-type"],
            "application/problem+json"
        );
        // Announce a 3 MiB body; the server must refuse it from the headers alone (a
        // client still uploading would otherwise race the early 413 and see a broken pipe).
        let host = addr.trim_start_matches("http://").to_string();
        let status_line = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(&host).unwrap();
            s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
            write!(s, "POST /api/v1/schemas HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", 3 * 1024 * 1024).unwrap();
            let mut buf = [0u8; 64];
            let n = s.read(&mut buf).unwrap();
            String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or_default().to_string()
        })
        .await
        .unwrap();
        assert!(status_line.contains(" 413 "), "bodies over the limit are refused: {status_line}");
        let metrics = c
            .get(format!("{addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(metrics.contains("omnikb_articles 64"), "{metrics}");
    });
    // Graceful shutdown on SIGTERM.
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}
