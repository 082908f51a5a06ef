//! Articles, revisions, workflow transitions and stored renders.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::audit::append_audit;
use super::events::{EventKind, append_event};
use super::rows::{self, ARTICLE_COLS, REVISION_COLS, StoredRender, get};
use super::{Result, Store, StoreError, with_pool};
use crate::domain::{
    Article, ArticleId, ArticleMeta, Confidence, Locale, Revision, RevisionState, Slug, UserId,
};
use crate::render::Rendition;
use crate::workflow::Action;

/// A new article's first draft (or a new draft of an existing one).
#[derive(Debug, Clone)]
pub struct NewRevision<'a> {
    pub meta: &'a ArticleMeta,
    pub body: &'a str,
    pub author: Option<UserId>,
    /// The actor's name for the audit log.
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// A workflow transition decided by the policy, to be applied atomically.
#[derive(Debug, Clone)]
pub struct TransitionRecord<'a> {
    pub article_id: ArticleId,
    pub revision: i32,
    pub action: Action,
    pub from: RevisionState,
    pub to: RevisionState,
    pub actor: Option<UserId>,
    pub actor_name: &'a str,
    pub comment: Option<&'a str>,
    pub at: DateTime<Utc>,
    pub records_approval: bool,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// For a publish: the article's review date from the verification interval.
    pub review_by: Option<DateTime<Utc>>,
}

/// Feedback from a reader or an agent.
#[derive(Debug, Clone)]
pub struct NewFeedback<'a> {
    pub article_id: ArticleId,
    pub revision: Option<i32>,
    /// `helpful`, `not_helpful` or `outdated`.
    pub kind: &'a str,
    pub channel: &'a str,
    pub comment: Option<&'a str>,
    pub user: Option<UserId>,
    pub at: DateTime<Utc>,
}

/// One row of the history of transitions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionRow {
    pub revision: i64,
    pub action: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// Filters for listing articles (studio list, exports).
#[derive(Debug, Clone, Default)]
pub struct ArticleFilter {
    pub locale: Option<String>,
    pub article_type: Option<String>,
    pub state: Option<RevisionState>,
    pub owner: Option<UserId>,
    pub category_prefix: Option<String>,
    pub published_only: bool,
    pub limit: i64,
    pub offset: i64,
}

/// An article with its latest revision's headline data (lists).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArticleSummary {
    pub article: Article,
    pub title: String,
    pub state: RevisionState,
    pub category: Option<String>,
    pub audience: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub review_by: Option<DateTime<Utc>>,
}

fn json_text<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

macro_rules! insert_revision {
    ($tx:expr, $article:expr, $number:expr, $base:expr, $rev:expr) => {{
        let m: &ArticleMeta = $rev.meta;
        let sql = format!(
            "INSERT INTO revisions (article_id, number, state, title, category, tags, audience, effective_from, expires_at, review_by, fields, body, author_id, created_at, base_revision) \
             VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING {REVISION_COLS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind($article)
            .bind($number)
            .bind(&m.title)
            .bind(&m.category)
            .bind(json_text(&m.tags))
            .bind(m.audience.as_str())
            .bind(m.validity.effective_from)
            .bind(m.validity.expires_at)
            .bind(m.validity.review_by)
            .bind(json_text(&m.fields))
            .bind($rev.body)
            .bind($rev.author.map(|u: UserId| u.0))
            .bind($rev.now)
            .bind($base)
            .fetch_one(&mut *$tx)
            .await?;
        rows::revision(&row)
    }};
}

impl Store {
    /// Creates an article with its first draft revision.
    pub async fn create_article(
        &self,
        slug: &Slug,
        locale: &Locale,
        article_type: &str,
        translation_key: &str,
        confidence: Confidence,
        rev: NewRevision<'_>,
    ) -> Result<(Article, Revision)> {
        let sql = format!(
            "INSERT INTO articles (slug, locale, article_type, translation_key, owner_id, confidence, created_at, updated_at, latest_revision) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1) RETURNING {ARTICLE_COLS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(slug.as_str()).bind(locale.as_str()).bind(article_type).bind(translation_key)
                .bind(rev.author.map(|u| u.0)).bind(confidence.as_str()).bind(rev.now)
                .fetch_one(&mut *tx).await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict { .. } => StoreError::conflict(format!("an article with slug '{slug}' already exists in {locale}")),
                    other => other,
                })?;
            let article = rows::article(&row)?;
            let revision = insert_revision!(tx, article.id.0, 1i64, None::<i64>, rev)?;
            let detail = serde_json::json!({"slug": slug.as_str(), "locale": locale.as_str(), "type": article_type, "revision": 1});
            append_audit!(tx, rev.now, rev.actor, "article.create", &article.id.to_string(), detail)?;
            append_event!(tx, rev.now, EventKind::ArticleCreated, Some(article.id.0), Some(locale.as_str()), Some(1i64), detail)?;
            tx.commit().await?;
            Ok((article, revision))
        })
    }

    /// Saves a new draft revision on top of `base` (the revision the editor started from).
    /// If someone saved in between, nothing is written and a conflict names both numbers.
    /// An open revision (draft, in review, approved, scheduled) it replaces is superseded.
    pub async fn save_draft(
        &self,
        id: ArticleId,
        base: i32,
        rev: NewRevision<'_>,
    ) -> Result<Revision> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let latest: Option<i64> = sqlx::query_scalar("SELECT latest_revision FROM articles WHERE id = $1")
                .bind(id.0).fetch_optional(&mut *tx).await?;
            let latest = latest.ok_or_else(|| StoreError::NotFound(format!("article {id}")))?;
            if latest != i64::from(base) {
                return Err(StoreError::Conflict {
                    message: format!("revision {latest} was saved after revision {base} you edited; reload and merge your changes"),
                    latest: Some(latest),
                    base: Some(i64::from(base)),
                });
            }
            let next = latest + 1;
            // Compare-and-set on latest_revision: a concurrent save loses here, not silently.
            let moved = sqlx::query("UPDATE articles SET latest_revision = $1, updated_at = $2 WHERE id = $3 AND latest_revision = $4")
                .bind(next).bind(rev.now).bind(id.0).bind(latest).execute(&mut *tx).await?.rows_affected();
            if moved != 1 {
                return Err(StoreError::Conflict { message: "the article changed while saving; reload".into(), latest: None, base: Some(i64::from(base)) });
            }
            sqlx::query("UPDATE revisions SET state = 'superseded' WHERE article_id = $1 AND state IN ('draft', 'in_review', 'approved', 'scheduled')")
                .bind(id.0).execute(&mut *tx).await?;
            let revision = insert_revision!(tx, id.0, next, Some(latest), rev)?;
            let detail = serde_json::json!({"revision": next, "base": latest});
            append_audit!(tx, rev.now, rev.actor, "article.save_draft", &id.to_string(), detail)?;
            append_event!(tx, rev.now, EventKind::DraftSaved, Some(id.0), None::<&str>, Some(next), detail)?;
            tx.commit().await?;
            Ok(revision)
        })
    }

    pub async fn article(&self, id: ArticleId) -> Result<Option<Article>> {
        let sql = format!("SELECT {ARTICLE_COLS} FROM articles WHERE id = $1");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0).fetch_optional(pool).await? {
                Some(row) => Ok(Some(rows::article(&row)?)),
                None => Ok(None),
            }
        })
    }

    pub async fn article_by_slug(&self, slug: &str, locale: &str) -> Result<Option<Article>> {
        let sql = format!("SELECT {ARTICLE_COLS} FROM articles WHERE slug = $1 AND locale = $2");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(slug).bind(locale).fetch_optional(pool).await? {
                Some(row) => Ok(Some(rows::article(&row)?)),
                None => Ok(None),
            }
        })
    }

    pub async fn translations(&self, translation_key: &str) -> Result<Vec<Article>> {
        let sql = format!(
            "SELECT {ARTICLE_COLS} FROM articles WHERE translation_key = $1 ORDER BY locale"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(translation_key).fetch_all(pool).await?;
            rows.iter().map(rows::article).collect()
        })
    }

    pub async fn revision(&self, id: ArticleId, number: i32) -> Result<Option<Revision>> {
        let sql =
            format!("SELECT {REVISION_COLS} FROM revisions WHERE article_id = $1 AND number = $2");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0).bind(i64::from(number)).fetch_optional(pool).await? {
                Some(row) => Ok(Some(rows::revision(&row)?)),
                None => Ok(None),
            }
        })
    }

    /// The revisions with these (article, number) keys, in no particular order; keys without
    /// a revision are left out. One statement per 500 keys (a rebuild of the search index
    /// reads every published revision: one round trip each was most of its reading time).
    pub async fn revisions_by_key(&self, keys: &[(ArticleId, i32)]) -> Result<Vec<Revision>> {
        self.revisions_by_key_in_chunks(keys, 500).await
    }

    /// [`revisions_by_key`](Self::revisions_by_key) with a chunk size (tests use small ones).
    pub async fn revisions_by_key_in_chunks(
        &self,
        keys: &[(ArticleId, i32)],
        chunk: usize,
    ) -> Result<Vec<Revision>> {
        let mut out = Vec::with_capacity(keys.len());
        for keys in keys.chunks(chunk.max(1)) {
            // Only placeholders are formatted in; the values are bound.
            let values: Vec<String> = (0..keys.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect();
            let sql = format!(
                "SELECT {REVISION_COLS} FROM revisions WHERE (article_id, number) IN (VALUES {})",
                values.join(", ")
            );
            with_pool!(self, pool => {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
                for (id, number) in keys {
                    q = q.bind(id.0).bind(i64::from(*number));
                }
                for row in q.fetch_all(pool).await? {
                    out.push(rows::revision(&row)?);
                }
            })
        }
        Ok(out)
    }

    pub async fn revisions(&self, id: ArticleId) -> Result<Vec<Revision>> {
        let sql =
            format!("SELECT {REVISION_COLS} FROM revisions WHERE article_id = $1 ORDER BY number");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0).fetch_all(pool).await?;
            rows.iter().map(rows::revision).collect()
        })
    }

    pub async fn approvals(&self, id: ArticleId, revision: i32) -> Result<Vec<UserId>> {
        with_pool!(self, pool => {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT user_id FROM approvals WHERE article_id = $1 AND revision = $2 ORDER BY at")
                .bind(id.0).bind(i64::from(revision)).fetch_all(pool).await?;
            Ok(ids.into_iter().map(UserId).collect())
        })
    }

    pub async fn transitions(&self, id: ArticleId) -> Result<Vec<TransitionRow>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT t.revision, t.action, t.from_state, t.to_state, t.actor_id, u.name AS actor_name, t.comment, t.at \
                 FROM transitions t LEFT JOIN users u ON u.id = t.actor_id WHERE t.article_id = $1 ORDER BY t.id")
                .bind(id.0).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                out.push(TransitionRow {
                    revision: get!(row, "revision"),
                    action: get!(row, "action"),
                    from_state: get!(row, "from_state"),
                    to_state: get!(row, "to_state"),
                    actor_id: get!(row, "actor_id"),
                    actor_name: get!(row, "actor_name"),
                    comment: get!(row, "comment"),
                    at: get!(row, "at"),
                });
            }
            Ok(out)
        })
    }

    /// Applies a transition decided by the workflow policy: the revision's state (checked
    /// to still be `from`), the article's live pointer, approvals, the transition row, an
    /// audit row and an outbox event, in one transaction.
    pub async fn apply_transition(&self, t: &TransitionRecord<'_>) -> Result<i64> {
        let id = t.article_id.0;
        let num = i64::from(t.revision);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query("UPDATE revisions SET state = $1, scheduled_at = $2 WHERE article_id = $3 AND number = $4 AND state = $5")
                .bind(t.to.as_str()).bind(t.scheduled_at).bind(id).bind(num).bind(t.from.as_str())
                .execute(&mut *tx).await?.rows_affected();
            if changed != 1 {
                return Err(StoreError::conflict(format!("revision {num} is no longer {}; reload", t.from)));
            }
            if t.records_approval {
                sqlx::query("INSERT INTO approvals (article_id, revision, user_id, at) VALUES ($1, $2, $3, $4)")
                    .bind(id).bind(num).bind(t.actor.map(|u| u.0)).bind(t.at).execute(&mut *tx).await?;
            }
            if t.action == crate::workflow::Action::Reject || t.action == crate::workflow::Action::Restore {
                // A new review cycle starts from scratch.
                sqlx::query("DELETE FROM approvals WHERE article_id = $1 AND revision = $2").bind(id).bind(num).execute(&mut *tx).await?;
            }
            let mut kind = EventKind::Transition;
            match t.to {
                RevisionState::Published => {
                    sqlx::query("UPDATE revisions SET state = 'superseded' WHERE article_id = $1 AND state = 'published' AND number <> $2")
                        .bind(id).bind(num).execute(&mut *tx).await?;
                    sqlx::query("UPDATE revisions SET published_at = $1 WHERE article_id = $2 AND number = $3")
                        .bind(t.at).bind(id).bind(num).execute(&mut *tx).await?;
                    sqlx::query("UPDATE articles SET published_revision = $1, review_by = $2, updated_at = $3 WHERE id = $4")
                        .bind(num).bind(t.review_by).bind(t.at).bind(id).execute(&mut *tx).await?;
                    kind = EventKind::Published;
                }
                RevisionState::Archived | RevisionState::Retired if matches!(t.from, RevisionState::Published) => {
                    sqlx::query("UPDATE articles SET published_revision = NULL, updated_at = $1 WHERE id = $2")
                        .bind(t.at).bind(id).execute(&mut *tx).await?;
                    sqlx::query("DELETE FROM renders WHERE article_id = $1").bind(id).execute(&mut *tx).await?;
                    kind = EventKind::Unpublished;
                }
                _ => {
                    sqlx::query("UPDATE articles SET updated_at = $1 WHERE id = $2").bind(t.at).bind(id).execute(&mut *tx).await?;
                }
            }
            sqlx::query("INSERT INTO transitions (article_id, revision, action, from_state, to_state, actor_id, comment, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(id).bind(num).bind(t.action.as_str()).bind(t.from.as_str()).bind(t.to.as_str())
                .bind(t.actor.map(|u| u.0)).bind(t.comment).bind(t.at)
                .execute(&mut *tx).await?;
            let detail = serde_json::json!({
                "revision": num, "action": t.action.as_str(), "from": t.from.as_str(), "to": t.to.as_str(),
                "comment": t.comment, "scheduled_at": t.scheduled_at,
            });
            append_audit!(tx, t.at, t.actor_name, &format!("article.{}", t.action.as_str()), &t.article_id.to_string(), detail)?;
            let locale: Option<String> = sqlx::query_scalar("SELECT locale FROM articles WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            let seq = append_event!(tx, t.at, kind, Some(id), locale.as_deref(), Some(num), detail)?;
            tx.commit().await?;
            Ok(seq)
        })
    }

    pub async fn set_confidence(
        &self,
        id: ArticleId,
        confidence: Confidence,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("UPDATE articles SET confidence = $1, updated_at = $2 WHERE id = $3")
                .bind(confidence.as_str()).bind(now).bind(id.0).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("article {id}")));
            }
            append_audit!(tx, now, actor, "article.confidence", &id.to_string(), serde_json::json!({"confidence": confidence.as_str()}))?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every article matching `f` (its `limit` and `offset` ignored), read a page at a time:
    /// `list_articles` returns at most one page (10,000 without a limit), which silently cut
    /// reindex and export short on larger knowledge bases.
    pub async fn list_all_articles(&self, f: &ArticleFilter) -> Result<Vec<ArticleSummary>> {
        self.list_articles_in_pages(f, 10_000).await
    }

    /// [`list_all_articles`](Self::list_all_articles) with a page size (tests use small ones).
    pub async fn list_articles_in_pages(
        &self,
        f: &ArticleFilter,
        page_size: i64,
    ) -> Result<Vec<ArticleSummary>> {
        let page_size = page_size.max(1);
        let mut out = Vec::new();
        loop {
            let page = self
                .list_articles(&ArticleFilter {
                    limit: page_size,
                    offset: out.len() as i64,
                    ..f.clone()
                })
                .await?;
            let n = page.len() as i64;
            out.extend(page);
            if n < page_size {
                return Ok(out);
            }
        }
    }

    /// Articles with their latest revision's headline data.
    pub async fn list_articles(&self, f: &ArticleFilter) -> Result<Vec<ArticleSummary>> {
        // Filters are bound parameters; the optional ones are `($n IS NULL OR col = $n)`.
        let cols = ARTICLE_COLS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols}, r.title, r.state, r.category, r.audience, r.expires_at, r.review_by AS rev_review_by, a.review_by AS art_review_by \
             FROM articles a JOIN revisions r ON r.article_id = a.id AND r.number = \
               (CASE WHEN $1 THEN a.published_revision ELSE a.latest_revision END) \
             WHERE ($2 IS NULL OR a.locale = $2) AND ($3 IS NULL OR a.article_type = $3) \
               AND ($4 IS NULL OR r.state = $4) AND ($5 IS NULL OR a.owner_id = $5) \
               AND ($6 IS NULL OR r.category = $6 OR r.category LIKE $7 ESCAPE '\\') \
             ORDER BY a.id LIMIT $8 OFFSET $9"
        );
        let limit = if f.limit <= 0 { 10_000 } else { f.limit };
        let like = f
            .category_prefix
            .as_ref()
            .map(|c| format!("{}/%", c.replace('%', "\\%").replace('_', "\\_")));
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(f.published_only)
                .bind(f.locale.as_deref())
                .bind(f.article_type.as_deref())
                .bind(f.state.map(|s| s.as_str()))
                .bind(f.owner.map(|u| u.0))
                .bind(f.category_prefix.as_deref())
                .bind(like)
                .bind(limit)
                .bind(f.offset.max(0))
                .fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                let state: String = get!(row, "state");
                let rev_review: Option<DateTime<Utc>> = get!(row, "rev_review_by");
                let art_review: Option<DateTime<Utc>> = get!(row, "art_review_by");
                out.push(ArticleSummary {
                    article: rows::article(row)?,
                    title: get!(row, "title"),
                    state: state.parse().map_err(|e| rows::corrupt("state", e))?,
                    category: get!(row, "category"),
                    audience: get!(row, "audience"),
                    expires_at: get!(row, "expires_at"),
                    review_by: rev_review.or(art_review),
                });
            }
            Ok(out)
        })
    }

    pub async fn count_articles(&self) -> Result<i64> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM articles").fetch_one(pool).await?))
    }

    /// Scheduled revisions whose time has come.
    pub async fn due_scheduled(&self, now: DateTime<Utc>) -> Result<Vec<(ArticleId, i32)>> {
        with_pool!(self, pool => {
            let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT article_id, number FROM revisions WHERE state = 'scheduled' AND scheduled_at <= $1 ORDER BY scheduled_at")
                .bind(now).fetch_all(pool).await?;
            Ok(rows.into_iter().map(|(a, n)| (ArticleId(a), i32::try_from(n).unwrap_or(i32::MAX))).collect())
        })
    }

    /// Replaces the stored renders of an article with those of its published revision,
    /// and records which snippets that revision uses — in one transaction. Several nodes
    /// (and the request path) may store the same renders at once: rows are upserted, and
    /// a render of an older revision never overwrites a newer one.
    pub async fn store_renders(
        &self,
        id: ArticleId,
        revision: i32,
        renders: &[Rendition],
        snippet_keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let rev = i64::from(revision);
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // Rows of older revisions (or of formats no longer produced) go; newer stay.
            sqlx::query("DELETE FROM renders WHERE article_id = $1 AND revision < $2").bind(id.0).bind(rev).execute(&mut *tx).await?;
            if renders.is_empty() {
                sqlx::query("DELETE FROM renders WHERE article_id = $1 AND revision <= $2").bind(id.0).bind(rev).execute(&mut *tx).await?;
            }
            for r in renders {
                let etag = format!("\"{}-{}-{}\"", id.0, revision, &crate::util::sha256_hex(r.body.as_bytes())[..16]);
                sqlx::query(
                    "INSERT INTO renders (article_id, revision, channel, format, media_type, body, etag, warnings, rendered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (article_id, channel, format) DO UPDATE SET revision = excluded.revision, media_type = excluded.media_type, body = excluded.body, \
                     etag = excluded.etag, warnings = excluded.warnings, rendered_at = excluded.rendered_at WHERE renders.revision <= excluded.revision")
                    .bind(id.0).bind(rev).bind(r.channel.as_str()).bind(&r.format).bind(&r.media_type)
                    .bind(&r.body).bind(&etag).bind(json_text(&r.warnings)).bind(now)
                    .execute(&mut *tx).await?;
            }
            sqlx::query("DELETE FROM article_snippets WHERE article_id = $1").bind(id.0).execute(&mut *tx).await?;
            for key in snippet_keys {
                sqlx::query("INSERT INTO article_snippets (article_id, snippet_key) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(id.0).bind(key).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn stored_render(
        &self,
        id: ArticleId,
        channel: &str,
        format: &str,
    ) -> Result<Option<StoredRender>> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT article_id, revision, channel, format, media_type, body, etag, warnings, rendered_at FROM renders WHERE article_id = $1 AND channel = $2 AND format = $3")
                .bind(id.0).bind(channel).bind(format).fetch_optional(pool).await?;
            let Some(row) = row else { return Ok(None) };
            let warnings: String = get!(row, "warnings");
            Ok(Some(StoredRender {
                article_id: ArticleId(get!(row, "article_id")),
                revision: get!(row, "revision"),
                channel: get!(row, "channel"),
                format: get!(row, "format"),
                media_type: get!(row, "media_type"),
                body: get!(row, "body"),
                etag: get!(row, "etag"),
                warnings: serde_json::from_str(&warnings).unwrap_or_default(),
                rendered_at: get!(row, "rendered_at"),
            }))
        })
    }

    /// Published articles that use a snippet key (in a locale).
    pub async fn articles_using_snippet(&self, key: &str, locale: &str) -> Result<Vec<ArticleId>> {
        with_pool!(self, pool => {
            let ids: Vec<i64> = sqlx::query_scalar("SELECT s.article_id FROM article_snippets s JOIN articles a ON a.id = s.article_id WHERE s.snippet_key = $1 AND a.locale = $2 ORDER BY s.article_id")
                .bind(key).bind(locale).fetch_all(pool).await?;
            Ok(ids.into_iter().map(ArticleId).collect())
        })
    }

    /// Records feedback on an article.
    pub async fn add_feedback(&self, f: &NewFeedback<'_>) -> Result<i64> {
        with_pool!(self, pool => {
            let row = sqlx::query("INSERT INTO feedback (article_id, revision, kind, channel, comment, user_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
                .bind(f.article_id.0).bind(f.revision.map(i64::from)).bind(f.kind).bind(f.channel).bind(f.comment).bind(f.user.map(|u| u.0)).bind(f.at)
                .fetch_one(pool).await?;
            Ok(row.try_get::<i64, _>("id")?)
        })
    }
}

/// A published revision with its validity dates (for the scheduler).
#[derive(Debug, Clone, PartialEq)]
pub struct LiveRevision {
    pub article_id: ArticleId,
    pub locale: String,
    pub revision: i32,
    pub effective_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub review_by: Option<DateTime<Utc>>,
}

/// The published revisions with their dates, as [`LiveRevision`] rows (the article's review
/// date wins over the revision's); the scheduler's queries add conditions to it.
macro_rules! live_revisions {
    () => {
        "SELECT a.id, a.locale, a.published_revision, r.effective_from, r.expires_at, \
         COALESCE(a.review_by, r.review_by) AS review_by \
         FROM articles a JOIN revisions r ON r.article_id = a.id AND r.number = a.published_revision \
         WHERE a.published_revision IS NOT NULL"
    };
}

/// ... with a date at or before `$1` that has no notice of its kind yet (`$2`, `$3`, `$4`:
/// the expired, effective and review-due event kinds).
macro_rules! unannounced {
    () => {
        " AND ( \
           (r.expires_at <= $1 AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.article_id = a.id AND n.revision = a.published_revision AND n.kind = $2)) \
           OR (r.effective_from <= $1 AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.article_id = a.id AND n.revision = a.published_revision AND n.kind = $3)) \
           OR (COALESCE(a.review_by, r.review_by) <= $1 AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.article_id = a.id AND n.revision = a.published_revision AND n.kind = $4)))"
    };
}

impl Store {
    /// Published revisions with a date (effective, expiry, review) at or before `now` that
    /// has no notice yet: what the scheduler must still announce. Reads every published
    /// article, so the scheduler runs it at start and then only now and then (see
    /// [`live_revisions_changed`](Self::live_revisions_changed)). The article's review date
    /// wins over the revision's, because publishing sets it from the verification interval.
    pub async fn pending_notices(&self, now: DateTime<Utc>) -> Result<Vec<LiveRevision>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(concat!(live_revisions!(), unannounced!(), " ORDER BY a.id"))
                .bind(now)
                .bind(EventKind::Expired.as_str())
                .bind(EventKind::Effective.as_str())
                .bind(EventKind::ReviewDue.as_str())
                .fetch_all(pool).await?;
            rows.iter().map(live_revision).collect()
        })
    }

    /// [`pending_notices`](Self::pending_notices) among the articles that changed at or
    /// after `since` (a publication sets the article's `updated_at`) or whose dates fall in
    /// `[since, now]`: what may have become due since the scheduler last looked. A few
    /// index range scans; articles already announced are left out, so a bulk import does not
    /// make every tick try a notice for each of them again.
    pub async fn live_revisions_changed(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<LiveRevision>> {
        with_pool!(self, pool => {
            let rows = sqlx::query(concat!(
                live_revisions!(),
                " AND a.id IN ( \
                   SELECT id FROM articles WHERE updated_at >= $5 \
                   UNION SELECT id FROM articles WHERE review_by >= $5 AND review_by <= $1 \
                   UNION SELECT article_id FROM revisions WHERE effective_from >= $5 AND effective_from <= $1 \
                   UNION SELECT article_id FROM revisions WHERE expires_at >= $5 AND expires_at <= $1 \
                   UNION SELECT article_id FROM revisions WHERE review_by >= $5 AND review_by <= $1)",
                unannounced!(),
                " ORDER BY a.id"))
                .bind(now)
                .bind(EventKind::Expired.as_str())
                .bind(EventKind::Effective.as_str())
                .bind(EventKind::ReviewDue.as_str())
                .bind(since)
                .fetch_all(pool).await?;
            rows.iter().map(live_revision).collect()
        })
    }

    /// Emits a time-driven event once per (article, revision, kind): returns the event's
    /// sequence number, or `None` when it was already emitted.
    pub async fn notice_once(
        &self,
        live: &LiveRevision,
        kind: EventKind,
        at: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let inserted = sqlx::query("INSERT INTO notices (article_id, revision, kind, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(live.article_id.0).bind(i64::from(live.revision)).bind(kind.as_str()).bind(at)
                .execute(&mut *tx).await?.rows_affected();
            if inserted == 0 {
                return Ok(None);
            }
            let detail = serde_json::json!({"revision": live.revision});
            let seq = append_event!(tx, at, kind, Some(live.article_id.0), Some(live.locale.as_str()), Some(i64::from(live.revision)), detail)?;
            tx.commit().await?;
            Ok(Some(seq))
        })
    }
}

/// Decodes a [`LiveRevision`] row of either backend.
fn live_revision<R>(row: &R) -> Result<LiveRevision>
where
    R: sqlx::Row,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let rev: i64 = get!(row, "published_revision");
    Ok(LiveRevision {
        article_id: ArticleId(get!(row, "id")),
        locale: get!(row, "locale"),
        revision: i32::try_from(rev).unwrap_or(i32::MAX),
        effective_from: get!(row, "effective_from"),
        expires_at: get!(row, "expires_at"),
        review_by: get!(row, "review_by"),
    })
}
