//! File watchers (notify, debounced): content schemas and templates reload without a
//! restart, and `serve --watch DIR` syncs a folder of Markdown articles.
//!
//! A change is applied only if the whole new set is valid; otherwise the previous
//! version stays in force and the log names the file and line.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::mpsc;

use crate::schema::SchemaSet;
use crate::service::Kb;
use crate::service::import_export::read_tree;

/// What changed, folded from raw notify events (the narrowest reload for each kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    Schemas,
    Templates,
    Articles,
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct WatchHandle {
    _debouncer: Box<dyn std::any::Any + Send>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches the given folders and applies changes to `kb`.
pub fn start(
    kb: Kb,
    schemas: Option<PathBuf>,
    templates: Option<PathBuf>,
    articles: Option<PathBuf>,
) -> anyhow::Result<WatchHandle> {
    let (tx, mut rx) = mpsc::unbounded_channel::<ChangeKind>();
    let roots: Vec<(PathBuf, ChangeKind)> = [
        (schemas, ChangeKind::Schemas),
        (templates, ChangeKind::Templates),
        (articles, ChangeKind::Articles),
    ]
    .into_iter()
    .filter_map(|(p, k)| p.and_then(|p| p.canonicalize().ok()).map(|p| (p, k)))
    .collect();
    let classify_roots = roots.clone();
    let mut debouncer = new_debouncer(
        Duration::from_millis(400),
        None,
        move |res: DebounceEventResult| {
            let Ok(events) = res else { return };
            let mut kinds = Vec::new();
            // Reading files (our own reloads included) reports access events: ignore them.
            for e in events
                .iter()
                .filter(|e| !e.kind.is_access() && !e.kind.is_other())
            {
                for path in &e.paths {
                    if let Some((_, kind)) = classify_roots
                        .iter()
                        .find(|(root, _)| path.starts_with(root))
                        && !kinds.contains(kind)
                    {
                        kinds.push(kind.clone());
                    }
                }
            }
            for k in kinds {
                let _ = tx.send(k);
            }
        },
    )?;
    for (root, _) in &roots {
        debouncer.watch(root, RecursiveMode::Recursive)?;
    }
    let schema_dir = roots
        .iter()
        .find(|(_, k)| *k == ChangeKind::Schemas)
        .map(|(p, _)| p.clone());
    let template_dir = roots
        .iter()
        .find(|(_, k)| *k == ChangeKind::Templates)
        .map(|(p, _)| p.clone());
    let article_dir = roots
        .iter()
        .find(|(_, k)| *k == ChangeKind::Articles)
        .map(|(p, _)| p.clone());
    let task = tokio::spawn(async move {
        while let Some(kind) = rx.recv().await {
            match kind {
                ChangeKind::Schemas => {
                    if let Some(dir) = &schema_dir {
                        reload_schemas(&kb, dir).await;
                    }
                }
                ChangeKind::Templates => {
                    if let Some(dir) = &template_dir {
                        reload_templates(&kb, dir).await;
                    }
                }
                ChangeKind::Articles => {
                    if let Some(dir) = &article_dir {
                        sync_articles(&kb, dir).await;
                    }
                }
            }
        }
    });
    Ok(WatchHandle {
        _debouncer: Box::new(debouncer),
        task,
    })
}

/// Reloads the content schemas; a broken file leaves the previous set in force.
pub async fn reload_schemas(kb: &Kb, dir: &Path) -> bool {
    match SchemaSet::load_dir(dir) {
        Ok(set) => {
            kb.set_schemas(set);
            tracing::info!(dir = %dir.display(), "content schemas reloaded");
            rerender_all(kb).await;
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "content schema change refused; the previous schemas stay in force");
            false
        }
    }
}

/// Reloads the web templates; a broken template leaves the previous ones in force.
pub async fn reload_templates(kb: &Kb, dir: &Path) -> bool {
    match crate::render::registry_from_templates(dir) {
        Ok(registry) => {
            kb.set_renderers(registry);
            tracing::info!(dir = %dir.display(), "templates reloaded");
            rerender_all(kb).await;
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "template change refused; the previous templates stay in force");
            false
        }
    }
}

async fn rerender_all(kb: &Kb) {
    match kb
        .store
        .list_all_articles(&crate::store::ArticleFilter {
            published_only: true,
            ..Default::default()
        })
        .await
    {
        Ok(list) => {
            for s in list {
                if let Err(e) = kb.refresh_renders(s.article.id).await {
                    tracing::warn!(article = %s.article.id, error = %e, "re-render after reload failed");
                }
            }
            kb.changed();
        }
        Err(e) => tracing::warn!(error = %e, "cannot list articles to re-render"),
    }
}

/// Imports the watched folder as drafts (new revisions only where the content changed).
pub async fn sync_articles(kb: &Kb, dir: &Path) -> bool {
    let known = match kb.snippet_pairs().await {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "watch: cannot read snippets");
            return false;
        }
    };
    match read_tree(dir, &kb.schemas(), &known) {
        Ok(tree) => match kb.sync_tree(&tree, "watch").await {
            Ok(n) => {
                if n > 0 {
                    tracing::info!(changed = n, dir = %dir.display(), "watched folder synced");
                }
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "watch: sync failed");
                false
            }
        },
        Err(errors) => {
            for e in errors {
                tracing::error!("{e}");
            }
            false
        }
    }
}
