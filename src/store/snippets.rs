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
        let variants = serde_json::to_string(&file.variants).unwrap_or_else(|_| "{}".into());
        let state = if publish { "published" } else { "draft" };
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let existing: Option<(i64, i64)> = sqlx::query_as("SELECT id, latest_revision FROM snippets WHERE key = $1 AND locale = $2")
                .bind(file.key.as_str()).bind(file.locale.as_str()).fetch_optional(&mut *tx).await?;
            let (id, number) = match existing {
                Some((id, latest)) => (id, latest + 1),
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

    /// The published value of every snippet in a locale, in one query (this runs for
    /// every render and every index update).
    pub async fn published_snippets(
        &self,
        locale: &str,
    ) -> Result<Vec<(Snippet, SnippetRevision)>> {
        let cols = SNIPPET_COLS
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, {REVISION_COLS} FROM snippets s JOIN snippet_revisions r ON r.snippet_id = s.id AND r.number = s.published_revision \
             WHERE s.locale = $1 ORDER BY s.key"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(locale).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push((snippet_from_row!(row), revision_from_row!(row)));
            }
            Ok(out)
        })
    }
}
