//! Hot reload: schema changes apply without a restart, broken ones are refused and the
//! previous schemas stay; a watched folder of articles syncs as drafts.

use std::sync::Arc;
use std::time::Duration;

use omnikb::service::{Kb, SystemClock};
use omnikb::store::Store;

async fn eventually(what: &str, mut f: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out: {what}");
}

#[tokio::test]
async fn schemas_reload_and_folders_sync() {
    omnikb::cli::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let schemas = dir.path().join("content-schemas");
    std::fs::create_dir_all(&schemas).unwrap();
    for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/content-schemas")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, schemas.join(f.file_name().unwrap())).unwrap();
    }
    let articles = dir.path().join("kb");
    std::fs::create_dir_all(articles.join("articles/en")).unwrap();
    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let kb = Kb::new(
        store,
        omnikb::schema::SchemaSet::load_dir(&schemas).unwrap(),
        omnikb::render::default_registry(),
        Default::default(),
        Arc::new(SystemClock),
    );
    let _w = omnikb::watch::start(
        kb.clone(),
        Some(schemas.clone()),
        None,
        Some(articles.clone()),
    )
    .unwrap();

    // A broken schema file is refused: the previous five types stay in force.
    std::fs::write(schemas.join("faq.json"), "{ not json").unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(kb.schemas().names().len(), 5);
    assert!(
        kb.schemas().get("faq").is_ok(),
        "the old faq schema is still in force"
    );

    // A valid change applies without a restart.
    let mut faq: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/content-schemas/faq.json"
        ))
        .unwrap(),
    )
    .unwrap();
    faq["properties"]["product_code"] = serde_json::json!({"type": "string", "maxLength": 20});
    std::fs::write(
        schemas.join("faq.json"),
        serde_json::to_string_pretty(&faq).unwrap(),
    )
    .unwrap();
    eventually("new faq field in force", async || {
        kb.schemas()
            .get("faq")
            .map(|s| s.field("product_code").is_some())
            .unwrap_or(false)
    })
    .await;

    // A Markdown file dropped into the watched folder becomes a draft.
    std::fs::write(articles.join("articles/en/sim-swap.md"), "---\nslug: sim-swap\ntype: faq\nlocale: en\ntitle: How do I swap my SIM?\nfields:\n  product_code: SIM-01\n---\nVisit a store with your ID.\n").unwrap();
    eventually("watched article imported", async || {
        kb.store
            .article_by_slug("sim-swap", "en")
            .await
            .unwrap()
            .is_some()
    })
    .await;
    let a = kb
        .store
        .article_by_slug("sim-swap", "en")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.latest_revision, 1);
    // An invalid edit is refused (logged), nothing changes.
    std::fs::write(articles.join("articles/en/sim-swap.md"), "---\nslug: sim-swap\ntype: faq\nlocale: en\ntitle: How do I swap my SIM?\ncolour: red\n---\nx\n").unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(
        kb.store
            .article_by_slug("sim-swap", "en")
            .await
            .unwrap()
            .unwrap()
            .latest_revision,
        1
    );
    // A valid edit makes revision 2.
    std::fs::write(articles.join("articles/en/sim-swap.md"), "---\nslug: sim-swap\ntype: faq\nlocale: en\ntitle: How do I swap my SIM card?\n---\nVisit a store with your ID.\n").unwrap();
    eventually("second revision", async || {
        kb.store
            .article_by_slug("sim-swap", "en")
            .await
            .unwrap()
            .unwrap()
            .latest_revision
            == 2
    })
    .await;
}

/// Web templates reload without a restart: a valid change re-renders the published
/// articles; a broken template is refused (the error names the file) and the previous
/// templates stay in force.
#[tokio::test]
async fn templates_reload_and_rerender_published_articles() {
    omnikb::cli::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("web")).unwrap();
    let bundled = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/web");
    for f in std::fs::read_dir(bundled).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, templates.join("web").join(f.file_name().unwrap())).unwrap();
    }
    let kb_dir = dir.path().join("kb");
    std::fs::create_dir_all(kb_dir.join("articles/en")).unwrap();
    std::fs::write(
        kb_dir.join("articles/en/sim-swap.md"),
        "---\nslug: sim-swap\ntype: faq\nlocale: en\ntitle: How do I swap my SIM?\n---\nVisit a store with your ID.\n",
    )
    .unwrap();

    let store = Store::open_sqlite_memory().await.unwrap();
    store.migrate().await.unwrap();
    let schemas = omnikb::schema::SchemaSet::load_dir(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/content-schemas"
    )))
    .unwrap();
    let kb = Kb::new(
        store,
        schemas.clone(),
        omnikb::render::default_registry(),
        Default::default(),
        Arc::new(SystemClock),
    );
    let tree = omnikb::service::import_export::read_tree(&kb_dir, &schemas, &Default::default())
        .unwrap_or_else(|e| panic!("demo file invalid: {e:?}"));
    kb.import_tree(&tree, true, None, "test", &|_, _| {})
        .await
        .unwrap();
    let id = kb
        .store
        .article_by_slug("sim-swap", "en")
        .await
        .unwrap()
        .unwrap()
        .id;
    kb.refresh_renders(id).await.unwrap();
    let web_html = async || {
        kb.store
            .stored_render(id, "web", "html")
            .await
            .unwrap()
            .map(|r| r.body)
            .unwrap_or_default()
    };
    let before = web_html().await;
    assert!(before.contains("Visit a store with your ID."), "{before}");
    assert!(!before.contains("hot-reload-marker"));

    let _w = omnikb::watch::start(kb.clone(), None, Some(templates.clone()), None).unwrap();

    // A valid change applies without a restart and re-renders the published article.
    let layout = templates.join("web/layout.html");
    let original = std::fs::read_to_string(&layout).unwrap();
    let marked = original.replacen(
        "<meta charset=\"utf-8\">",
        "<meta charset=\"utf-8\">\n<meta name=\"x-test\" content=\"hot-reload-marker\">",
        1,
    );
    assert_ne!(
        marked, original,
        "the layout has the expected <meta charset>"
    );
    std::fs::write(&layout, &marked).unwrap();
    eventually("stored web render uses the changed layout", async || {
        web_html().await.contains("hot-reload-marker")
    })
    .await;

    // A broken template is refused, naming the file; the previous templates stay.
    let broken = marked.replacen("<title>", "{% if %}<title>", 1);
    std::fs::write(&layout, &broken).unwrap();
    let err = match omnikb::render::registry_from_templates(&templates) {
        Ok(_) => panic!("a broken template must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("layout.html"), "error names the file: {err}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    kb.refresh_renders(id).await.unwrap();
    let after = web_html().await;
    assert!(
        after.contains("hot-reload-marker") && after.contains("Visit a store with your ID."),
        "the previous (valid) templates are still in force: {after}"
    );
}
