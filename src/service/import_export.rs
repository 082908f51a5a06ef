//! Folders of Markdown files in and out: `omnikb import`, `export` and `check`.
//!
//! Layout: `articles/<locale>/<slug>.md` and `snippets/<locale>/<key>.md`. On import any
//! `.md` file outside a `snippets` folder is an article, so a flat folder works too.
//! Every file is checked before anything is written: one bad file imports nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::validate::{CheckedArticle, check_file};
use super::{Kb, ServiceError, ServiceResult};
use crate::content::file::{ArticleFile, ArticleSource, decode_utf8};
use crate::content::{ContentError, SnippetFile};
use crate::domain::{Confidence, RevisionState, UserId};
use crate::schema::SchemaSet;
use crate::store::{NewRevision, TransitionRecord};
use crate::workflow::Action;

/// A problem in one file of a tree.
#[derive(Debug, Clone)]
pub struct FileError {
    pub path: PathBuf,
    pub error: ContentError,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: ", self.path.display(), self.error.line.max(1))?;
        match &self.error.field {
            Some(field) => write!(f, "{field}: {}", self.error.message),
            None => write!(f, "{}", self.error.message),
        }
    }
}

/// A checked tree of files, ready to import.
#[derive(Debug)]
pub struct SourceTree {
    pub snippets: Vec<(PathBuf, SnippetFile)>,
    pub articles: Vec<(PathBuf, CheckedArticle)>,
}

fn collect_md(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_md(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
    Ok(())
}

fn is_snippet_path(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root)
        .map(|rel| rel.components().any(|c| c.as_os_str() == "snippets"))
        .unwrap_or(false)
}

/// Reads and checks every file under `dir`. `known_snippets` are (key, locale) pairs that
/// exist outside the tree (already in the database).
pub fn read_tree(
    dir: &Path,
    schemas: &SchemaSet,
    known_snippets: &BTreeSet<(String, String)>,
) -> Result<SourceTree, Vec<FileError>> {
    let mut files = Vec::new();
    if let Err(e) = collect_md(dir, &mut files) {
        return Err(vec![FileError {
            path: dir.to_path_buf(),
            error: ContentError::at(0, format!("cannot read folder: {e}")),
        }]);
    }
    let mut errors = Vec::new();
    let mut texts = Vec::new();
    for path in files {
        match std::fs::read(&path)
            .map_err(|e| ContentError::at(0, format!("cannot read file: {e}")))
            .and_then(|b| decode_utf8(&b))
        {
            Ok(text) => texts.push((path, text)),
            Err(error) => errors.push(FileError { path, error }),
        }
    }
    let mut snippets = Vec::new();
    let mut snippet_keys = known_snippets.clone();
    let mut seen_snippets = BTreeMap::new();
    for (path, text) in texts.iter().filter(|(p, _)| is_snippet_path(dir, p)) {
        match SnippetFile::parse(text) {
            Ok(s) => {
                let id = (s.key.to_string(), s.locale.to_string());
                if let Some(first) = seen_snippets.insert(id.clone(), path.clone()) {
                    errors.push(FileError {
                        path: path.clone(),
                        error: ContentError::at(
                            1,
                            format!(
                                "snippet '{}' ({}) is also defined in {}",
                                id.0,
                                id.1,
                                first.display()
                            ),
                        ),
                    });
                }
                snippet_keys.insert(id);
                snippets.push((path.clone(), s));
            }
            Err(errs) => errors.extend(errs.into_iter().map(|error| FileError {
                path: path.clone(),
                error,
            })),
        }
    }
    let mut articles = Vec::new();
    let mut seen_articles: BTreeMap<(String, String), PathBuf> = BTreeMap::new();
    for (path, text) in texts.iter().filter(|(p, _)| !is_snippet_path(dir, p)) {
        // The locale decides which snippets exist, so read it first.
        let locale = ArticleFile::parse(text)
            .ok()
            .map(|f| f.front.locale.clone())
            .unwrap_or_default();
        let locale = locale
            .parse::<crate::domain::Locale>()
            .map(|l| l.to_string())
            .unwrap_or(locale);
        let exists = |key: &str| snippet_keys.contains(&(key.to_string(), locale.clone()));
        match check_file(text, schemas, &exists) {
            Ok(checked) => {
                let id = (
                    checked.source.slug.to_string(),
                    checked.source.locale.to_string(),
                );
                if let Some(first) = seen_articles.insert(id.clone(), path.clone()) {
                    errors.push(FileError {
                        path: path.clone(),
                        error: ContentError::field(
                            1,
                            "slug",
                            format!(
                                "slug '{}' ({}) is also used by {}",
                                id.0,
                                id.1,
                                first.display()
                            ),
                        ),
                    });
                }
                articles.push((path.clone(), checked));
            }
            Err(errs) => errors.extend(errs.into_iter().map(|error| FileError {
                path: path.clone(),
                error,
            })),
        }
    }
    if errors.is_empty() {
        Ok(SourceTree { snippets, articles })
    } else {
        Err(errors)
    }
}

/// What an import did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ImportReport {
    pub articles_created: usize,
    pub articles_revised: usize,
    pub articles_published: usize,
    pub snippets_saved: usize,
}

impl Kb {
    /// Known (key, locale) snippet pairs in the database.
    pub async fn snippet_pairs(&self) -> ServiceResult<BTreeSet<(String, String)>> {
        Ok(self
            .store
            .list_snippets()
            .await?
            .into_iter()
            .map(|s| (s.key, s.locale))
            .collect())
    }

    /// Imports a checked tree. `publish` (admin migration) makes every revision live at
    /// once and says so in the audit log; otherwise articles arrive as drafts.
    pub async fn import_tree(
        &self,
        tree: &SourceTree,
        publish: bool,
        actor: Option<UserId>,
        actor_name: &str,
        progress: &dyn Fn(usize, usize),
    ) -> ServiceResult<ImportReport> {
        let mut report = ImportReport::default();
        let total = tree.snippets.len() + tree.articles.len();
        let mut done = 0;
        for (_, snippet) in &tree.snippets {
            self.store
                .save_snippet(snippet, actor, actor_name, publish, self.now())
                .await?;
            report.snippets_saved += 1;
            done += 1;
            progress(done, total);
        }
        for (_, checked) in &tree.articles {
            let revision = self
                .import_article(&checked.source, actor, actor_name, &mut report)
                .await?;
            if publish {
                self.publish_imported(&revision.0, revision.1, actor, actor_name)
                    .await?;
                report.articles_published += 1;
            }
            done += 1;
            progress(done, total);
        }
        self.changed();
        Ok(report)
    }

    async fn import_article(
        &self,
        src: &ArticleSource,
        actor: Option<UserId>,
        actor_name: &str,
        report: &mut ImportReport,
    ) -> ServiceResult<(crate::domain::ArticleId, i32)> {
        let rev = NewRevision {
            meta: &src.meta,
            body: &src.body,
            author: actor,
            actor: actor_name,
            now: self.now(),
        };
        match self
            .store
            .article_by_slug(src.slug.as_str(), src.locale.as_str())
            .await?
        {
            Some(existing) => {
                if existing.article_type != src.article_type {
                    return Err(ServiceError::Conflict(format!(
                        "{} ({}) is a {} article; the file says {}",
                        src.slug, src.locale, existing.article_type, src.article_type
                    )));
                }
                let r = self
                    .store
                    .save_draft(existing.id, existing.latest_revision, rev)
                    .await?;
                if let Some(c) = src.confidence
                    && c != existing.confidence
                {
                    self.store
                        .set_confidence(existing.id, c, actor_name, self.now())
                        .await?;
                }
                report.articles_revised += 1;
                Ok((existing.id, r.number))
            }
            None => {
                let confidence = src.confidence.unwrap_or(Confidence::NotValidated);
                let (a, r) = self
                    .store
                    .create_article(
                        &src.slug,
                        &src.locale,
                        &src.article_type,
                        &src.translation_key,
                        confidence,
                        rev,
                    )
                    .await?;
                report.articles_created += 1;
                Ok((a.id, r.number))
            }
        }
    }

    /// `import --publish`: a migration of an already-approved knowledge base. Skips review
    /// on purpose and records that in the audit log as the import's action.
    async fn publish_imported(
        &self,
        id: &crate::domain::ArticleId,
        revision: i32,
        actor: Option<UserId>,
        actor_name: &str,
    ) -> ServiceResult<()> {
        let now = self.now();
        let t = TransitionRecord {
            article_id: *id,
            revision,
            action: Action::Publish,
            from: RevisionState::Draft,
            to: RevisionState::Published,
            actor,
            actor_name,
            comment: Some("published by import --publish (migration of approved content)"),
            at: now,
            records_approval: false,
            scheduled_at: None,
            review_by: None,
        };
        self.store.apply_transition(&t).await?;
        self.refresh_renders(*id).await?;
        Ok(())
    }

    /// Saves a draft for each file whose content differs from the article's latest
    /// revision (the watched-folder sync): unchanged files write nothing. Returns how
    /// many articles changed.
    pub async fn sync_tree(&self, tree: &SourceTree, actor_name: &str) -> ServiceResult<usize> {
        let mut changed = 0;
        for (_, snippet) in &tree.snippets {
            let same = match self
                .store
                .snippet(snippet.key.as_str(), snippet.locale.as_str())
                .await?
            {
                Some(s) => {
                    self.store
                        .snippet_revision(s.id, s.latest_revision)
                        .await?
                        .and_then(|r| r.to_file(&s.key, &s.locale))
                        .as_ref()
                        == Some(snippet)
                }
                None => false,
            };
            if !same {
                self.store
                    .save_snippet(snippet, None, actor_name, false, self.now())
                    .await?;
                changed += 1;
            }
        }
        for (_, checked) in &tree.articles {
            let src = &checked.source;
            if let Some(existing) = self
                .store
                .article_by_slug(src.slug.as_str(), src.locale.as_str())
                .await?
                && let Some(latest) = self
                    .store
                    .revision(existing.id, existing.latest_revision)
                    .await?
                && latest.meta == src.meta
                && latest.body == src.body
            {
                continue;
            }
            let mut report = ImportReport::default();
            self.import_article(src, None, actor_name, &mut report)
                .await?;
            changed += 1;
        }
        if changed > 0 {
            self.changed();
        }
        Ok(changed)
    }

    /// Writes every article's latest revision and every snippet's latest revision.
    pub async fn export_tree(&self, dir: &Path) -> ServiceResult<(usize, usize)> {
        let io =
            |e: std::io::Error, p: &Path| ServiceError::Internal(format!("{}: {e}", p.display()));
        let mut articles = 0;
        for summary in self.store.list_all_articles(&Default::default()).await? {
            let a = &summary.article;
            let Some(rev) = self.store.revision(a.id, a.latest_revision).await? else {
                continue;
            };
            let src = ArticleSource {
                slug: a.slug.clone(),
                locale: a.locale.clone(),
                article_type: a.article_type.clone(),
                translation_key: a.translation_key.clone(),
                confidence: Some(a.confidence),
                meta: rev.meta.clone(),
                body: rev.body.clone(),
            };
            let folder = dir.join("articles").join(a.locale.as_str());
            std::fs::create_dir_all(&folder).map_err(|e| io(e, &folder))?;
            let path = folder.join(format!("{}.md", a.slug));
            std::fs::write(&path, ArticleFile::from_source(&src).to_markdown())
                .map_err(|e| io(e, &path))?;
            articles += 1;
        }
        let mut snippets = 0;
        for s in self.store.list_snippets().await? {
            let Some(rev) = self.store.snippet_revision(s.id, s.latest_revision).await? else {
                continue;
            };
            let Some(file) = rev.to_file(&s.key, &s.locale) else {
                continue;
            };
            let folder = dir.join("snippets").join(&s.locale);
            std::fs::create_dir_all(&folder).map_err(|e| io(e, &folder))?;
            let path = folder.join(format!("{}.md", s.key));
            std::fs::write(&path, file.to_markdown()).map_err(|e| io(e, &path))?;
            snippets += 1;
        }
        Ok((articles, snippets))
    }
}
