//! Reusable snippets (hotline numbers, fees, office hours), versioned like articles.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::audit::append_audit;
use super::events::{EventKind, append_event};
use super::rows::get;
use super::{Result, Store, StoreError, with_pool};
use crate::content::file::{SayAs, SnippetFile};
use crate::domain::{Channel, RevisionState, UserId};

/// What a save expects to find (optimistic concurrency for editors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Import and demo: create or add a revision, whatever is there.
    Any,
    /// Create: the snippet must not exist yet.
    New,
    /// Edit: the latest revision must still be this one.
    Latest(i64),
}

/// A workflow step on a snippet revision, decided by `workflow::decide` beforehand.
#[derive(Debug, Clone)]
pub struct SnippetTransition<'a> {
    pub snippet_id: i64,
    pub key: &'a str,
    pub locale: &'a str,
    pub revision: i64,
    pub action: &'a str,
    pub from: RevisionState,
    pub to: RevisionState,
    pub actor: &'a str,
    pub comment: Option<&'a str>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snippet {
    pub id: i64,
    pub key: String,
    pub locale: String,
    pub latest_revision: i64,
    pub published_revision: Option<i64>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnippetRevision {
    pub snippet_id: i64,
    pub number: i64,
    pub state: RevisionState,
    pub title: String,
    pub say_as: Option<SayAs>,
    pub variants: BTreeMap<Channel, String>,
    pub body: String,
    pub author: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

impl SnippetRevision {
    pub fn to_file(&self, key: &str, locale: &str) -> Option<SnippetFile> {
        Some(SnippetFile {
            key: key.parse().ok()?,
            locale: locale.parse().ok()?,
            title: self.title.clone(),
            say_as: self.say_as,
            variants: self.variants.clone(),
            body: self.body.clone(),
        })
    }
}

fn say_as_text(s: Option<SayAs>) -> Option<String> {
    s.and_then(|v| serde_json::to_value(v).ok())
        .and_then(|v| v.as_str().map(String::from))
}

macro_rules! snippet_from_row {
    ($row:expr) => {{
        let row = $row;
        Snippet {
            id: get!(row, "id"),
            key: get!(row, "key"),
            locale: get!(row, "locale"),
            latest_revision: get!(row, "latest_revision"),
            published_revision: get!(row, "published_revision"),
            updated_at: get!(row, "updated_at"),
        }
    }};
}

macro_rules! revision_from_row {
    ($row:expr) => {{
        let row = $row;
        let state: String = get!(row, "state");
        let say_as: Option<String> = get!(row, "say_as");
        let variants: String = get!(row, "variants");
        SnippetRevision {
            snippet_id: get!(row, "snippet_id"),
            number: get!(row, "number"),
            state: state
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("state: {e}")))?,
            title: get!(row, "title"),
            say_as: say_as.and_then(|s| serde_json::from_value(serde_json::Value::String(s)).ok()),
            variants: serde_json::from_str(&variants)
                .map_err(|e| StoreError::Corrupt(format!("variants: {e}")))?,
            body: get!(row, "body"),
            author: row.try_get::<Option<i64>, _>("author_id")?.map(UserId),
            created_at: get!(row, "created_at"),
        }
    }};
}

const REVISION_COLS: &str = "r.snippet_id, r.number, r.state, r.title, r.say_as, r.variants, r.body, r.author_id, r.created_at";

const SNIPPET_COLS: &str = "id, key, locale, latest_revision, published_revision, updated_at";

impl Store {
    /// Saves a new revision of a snippet (creating the snippet on first save). When
    /// `publish` is set the revision goes live at once (import --publish, demo); otherwise
    /// it is a draft that goes through review like an article.
    pub async fn save_snippet(
        &self,
        file: &SnippetFile,
        author: Option<UserId>,
        actor: &str,
        publish: bool,
        now: DateTime<Utc>,
    ) -> Result<(Snippet, SnippetRevision)> {
        self.save_snippet_revision(file, author, actor, publish, Expect::Any, now)
            .await
    }

    /// Saves a new revision checked against what the editor saw: `Expect::New` refuses an
    /// existing snippet, `Expect::Latest(n)` refuses when someone saved after revision `n`
    /// (the check runs inside the transaction, so two concurrent saves cannot both win).
    /// Unpublished revisions before the new one are marked superseded: the latest
    /// revision is the one working copy that goes through review.
    pub async fn save_snippet_revision(
        &self,
        file: &SnippetFile,
        author: Option<UserId>,
        actor: &str,
        publish: bool,
        expect: Expect,
        now: DateTime<Utc>,
    ) -> Result<(Snippet, SnippetRevision)> {
        let variants = serde_json::to_string(&file.variants).unwrap_or_else(|_| "{}".into());
        let state = if publish { "published" } else { "draft" };
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<(i64, i64)> = sqlx::query_as("SELECT id, latest_revision FROM snippets WHERE key = $1 AND locale = $2")
                .bind(file.key.as_str()).bind(file.locale.as_str()).fetch_optional(&mut *tx).await?;
            match (expect, existing) {
                (Expect::New, Some(_)) => {
                    return Err(StoreError::conflict(format!(
                        "snippet '{}' ({}) already exists",
                        file.key, file.locale
                    )));
                }
                (Expect::Latest(_), None) => {
                    return Err(StoreError::NotFound(format!("snippet {} ({})", file.key, file.locale)));
                }
                (Expect::Latest(base), Some((_, latest))) if base != latest => {
                    return Err(StoreError::Conflict {
                        message: format!("snippet '{}' was saved by someone else: revision {latest} is newer than {base}", file.key),
                        latest: Some(latest),
                        base: Some(base),
                    });
                }
                _ => {}
            }
            let (id, number) = match existing {
                Some((id, latest)) => {
                    sqlx::query("UPDATE snippet_revisions SET state = 'superseded' WHERE snippet_id = $1 AND state IN ('draft', 'in_review', 'approved')")
                        .bind(id).execute(&mut *tx).await?;
                    (id, latest + 1)
                }
                None => {
                    let id: i64 = sqlx::query_scalar("INSERT INTO snippets (key, locale, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id")
                        .bind(file.key.as_str()).bind(file.locale.as_str()).bind(now).fetch_one(&mut *tx).await?;
                    (id, 1)
                }
            };
            if publish {
                sqlx::query("UPDATE snippet_revisions SET state = 'superseded' WHERE snippet_id = $1 AND state = 'published'").bind(id).execute(&mut *tx).await?;
            }
            sqlx::query("INSERT INTO snippet_revisions (snippet_id, number, state, title, say_as, variants, body, author_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(id).bind(number).bind(state).bind(&file.title).bind(say_as_text(file.say_as)).bind(&variants).bind(&file.body)
                .bind(author.map(|u| u.0)).bind(now).execute(&mut *tx).await?;
            let published = if publish { Some(number) } else { None };
            sqlx::query("UPDATE snippets SET latest_revision = $1, published_revision = COALESCE($2, published_revision), updated_at = $3 WHERE id = $4")
                .bind(number).bind(published).bind(now).bind(id).execute(&mut *tx).await?;
            let detail = serde_json::json!({"key": file.key.as_str(), "locale": file.locale.as_str(), "revision": number, "published": publish});
            append_audit!(tx, now, actor, if publish { "snippet.publish" } else { "snippet.save" }, &format!("snippet:{}:{}", file.key, file.locale), detail)?;
            if publish {
                append_event!(tx, now, EventKind::SnippetPublished, None::<i64>, Some(file.locale.as_str()), Some(number), detail)?;
            }
            tx.commit().await?;
            Ok::<(), StoreError>(())
        })?;
        let snippet = self
            .snippet(file.key.as_str(), file.locale.as_str())
            .await?
            .ok_or_else(|| StoreError::NotFound("snippet".into()))?;
        let rev = self
            .snippet_revision(snippet.id, snippet.latest_revision)
            .await?
            .ok_or_else(|| StoreError::NotFound("snippet revision".into()))?;
        Ok((snippet, rev))
    }

    pub async fn snippet(&self, key: &str, locale: &str) -> Result<Option<Snippet>> {
        let sql = format!("SELECT {SNIPPET_COLS} FROM snippets WHERE key = $1 AND locale = $2");
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(key).bind(locale).fetch_optional(pool).await?;
            match row {
                Some(row) => Ok(Some(snippet_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    pub async fn list_snippets(&self) -> Result<Vec<Snippet>> {
        let sql = format!("SELECT {SNIPPET_COLS} FROM snippets ORDER BY key, locale");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(snippet_from_row!(&row));
            }
            Ok(out)
        })
    }

    pub async fn snippet_revision(
        &self,
        snippet_id: i64,
        number: i64,
    ) -> Result<Option<SnippetRevision>> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT snippet_id, number, state, title, say_as, variants, body, author_id, created_at FROM snippet_revisions WHERE snippet_id = $1 AND number = $2")
                .bind(snippet_id).bind(number).fetch_optional(pool).await?;
            let Some(row) = row else { return Ok(None) };
            Ok(Some(revision_from_row!(&row)))
        })
    }

    /// Every snippet (optionally of one locale) with its latest revision, in one query.
    pub async fn latest_snippets(
        &self,
        locale: Option<&str>,
    ) -> Result<Vec<(Snippet, SnippetRevision)>> {
        self.snippets_with_revision("latest_revision", locale).await
    }

    /// The published value of every snippet in a locale, in one query (this runs for
    /// every render and every index update).
    pub async fn published_snippets(
        &self,
        locale: &str,
    ) -> Result<Vec<(Snippet, SnippetRevision)>> {
        self.snippets_with_revision("published_revision", Some(locale))
            .await
    }

    /// Snippets joined with the revision that `revision_col` (a column of `snippets`)
    /// points at; snippets without one are left out.
    async fn snippets_with_revision(
        &self,
        revision_col: &'static str,
        locale: Option<&str>,
    ) -> Result<Vec<(Snippet, SnippetRevision)>> {
        let cols = SNIPPET_COLS
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = if locale.is_some() {
            "WHERE s.locale = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {cols}, {REVISION_COLS} FROM snippets s JOIN snippet_revisions r ON r.snippet_id = s.id AND r.number = s.{revision_col} \
             {filter} ORDER BY s.key, s.locale"
        );
        with_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
            if let Some(l) = locale {
                query = query.bind(l);
            }
            let rows = query.fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push((snippet_from_row!(row), revision_from_row!(row)));
            }
            Ok(out)
        })
    }
}

impl Store {
    /// Applies a decided transition. The state is compared-and-set, so a transition that
    /// raced with another (two reviewers approving at once) fails with a conflict instead
    /// of applying twice. Publishing supersedes the previous published revision and
    /// appends `snippet.published`, which re-renders every article using the snippet.
    pub async fn apply_snippet_transition(&self, t: &SnippetTransition<'_>) -> Result<i64> {
        let detail = serde_json::json!({
            "key": t.key, "locale": t.locale, "revision": t.revision,
            "action": t.action, "from": t.from.as_str(), "to": t.to.as_str(), "comment": t.comment,
        });
        let entity = format!("snippet:{}:{}", t.key, t.locale);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let published = t.to == RevisionState::Published;
            if published {
                sqlx::query("UPDATE snippet_revisions SET state = 'superseded' WHERE snippet_id = $1 AND state = 'published'")
                    .bind(t.snippet_id).execute(&mut *tx).await?;
            }
            let changed = sqlx::query("UPDATE snippet_revisions SET state = $1 WHERE snippet_id = $2 AND number = $3 AND state = $4")
                .bind(t.to.as_str()).bind(t.snippet_id).bind(t.revision).bind(t.from.as_str())
                .execute(&mut *tx).await?.rows_affected();
            if changed != 1 {
                return Err(StoreError::conflict(format!(
                    "revision {} of snippet '{}' is no longer {}: someone acted on it first",
                    t.revision, t.key, t.from.as_str()
                )));
            }
            sqlx::query("UPDATE snippets SET published_revision = CASE WHEN $1 THEN $2 ELSE published_revision END, updated_at = $3 WHERE id = $4")
                .bind(published).bind(t.revision).bind(t.at).bind(t.snippet_id).execute(&mut *tx).await?;
            let seq = append_audit!(tx, t.at, t.actor, &format!("snippet.{}", t.action), &entity, detail.clone())?;
            if published {
                append_event!(tx, t.at, EventKind::SnippetPublished, None::<i64>, Some(t.locale), Some(t.revision), detail)?;
            }
            tx.commit().await?;
            Ok(seq)
        })
    }

    /// Every revision of a snippet, newest first.
    pub async fn snippet_revisions(&self, snippet_id: i64) -> Result<Vec<SnippetRevision>> {
        let sql = format!(
            "SELECT {REVISION_COLS} FROM snippet_revisions r WHERE r.snippet_id = $1 ORDER BY r.number DESC"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(snippet_id).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(revision_from_row!(row));
            }
            Ok(out)
        })
    }

    /// The users who wrote revisions after `after` (the current review cycle): the
    /// four-eyes rule keeps them from approving or publishing it.
    pub async fn snippet_cycle_authors(&self, snippet_id: i64, after: i64) -> Result<Vec<UserId>> {
        with_pool!(self, pool => {
            let ids: Vec<Option<i64>> = sqlx::query_scalar("SELECT DISTINCT author_id FROM snippet_revisions WHERE snippet_id = $1 AND number > $2")
                .bind(snippet_id).bind(after).fetch_all(pool).await?;
            Ok(ids.into_iter().flatten().map(UserId).collect())
        })
    }

    /// How many articles use each snippet, by (key, locale): the studio's "used by N".
    pub async fn snippet_usage(&self) -> Result<BTreeMap<(String, String), i64>> {
        with_pool!(self, pool => {
            let rows: Vec<(String, String, i64)> = sqlx::query_as("SELECT s.snippet_key, a.locale, COUNT(*) FROM article_snippets s JOIN articles a ON a.id = s.article_id GROUP BY s.snippet_key, a.locale")
                .fetch_all(pool).await?;
            Ok(rows.into_iter().map(|(k, l, n)| ((k, l), n)).collect())
        })
    }
}
