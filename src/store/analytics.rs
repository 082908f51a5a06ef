//! Search analytics and synonyms.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rows::get;
use super::{Result, Store, StoreError, with_pool};
use sqlx::Row;

/// One recorded search. The id is chosen by the caller (the search analytics queue makes
/// it in-process, so a search response can carry it before the row is written).
#[derive(Debug, Clone)]
pub struct SearchRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub q: String,
    pub locale: Option<String>,
    pub channel: Option<String>,
    pub scope: &'static str,
    /// JSON text.
    pub filters: String,
    pub hits: i64,
    pub latency_us: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueryCount {
    pub q: String,
    pub searches: i64,
    pub clicks: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchAnalytics {
    pub searches: i64,
    pub zero_result_searches: i64,
    /// Searches followed by a click on a result, over all searches with results.
    pub click_through: f64,
    pub top_queries: Vec<QueryCount>,
    /// Content gaps: what people look for and do not find.
    pub zero_result_queries: Vec<QueryCount>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SynonymSet {
    pub id: i64,
    pub locale: String,
    pub terms: Vec<String>,
}

/// One piece of reader feedback, with the article it is about.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FeedbackEntry {
    pub id: i64,
    pub article_id: i64,
    pub slug: String,
    pub locale: String,
    /// helpful, not_helpful or outdated
    pub kind: String,
    pub channel: String,
    pub comment: Option<String>,
    pub at: DateTime<Utc>,
}

/// Search rows per INSERT statement: 9 parameters each stays under SQLite's historical limit
/// of 999 bound parameters.
const ROWS_PER_INSERT: usize = 100;

impl Store {
    /// The latest feedback since `since`, newest first, and the count of each kind.
    pub async fn recent_feedback(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<(Vec<FeedbackEntry>, Vec<(String, i64)>)> {
        let begin = self.begin_snapshot();
        with_pool!(self, pool => {
            // The list and the counts from one snapshot, so that they agree.
            let mut tx = pool.begin_with(begin).await?;
            let rows = sqlx::query("SELECT f.id, f.article_id, a.slug, a.locale, f.kind, f.channel, f.comment, f.at FROM feedback f JOIN articles a ON a.id = f.article_id WHERE f.at >= $1 ORDER BY f.at DESC, f.id DESC LIMIT $2")
                .bind(since).bind(limit).fetch_all(&mut *tx).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(FeedbackEntry {
                    id: get!(row, "id"),
                    article_id: get!(row, "article_id"),
                    slug: get!(row, "slug"),
                    locale: get!(row, "locale"),
                    kind: get!(row, "kind"),
                    channel: get!(row, "channel"),
                    comment: get!(row, "comment"),
                    at: get!(row, "at"),
                });
            }
            let counts = sqlx::query("SELECT kind, COUNT(*) AS n FROM feedback WHERE at >= $1 GROUP BY kind ORDER BY kind")
                .bind(since).fetch_all(&mut *tx).await?;
            tx.commit().await?;
            let mut kinds = Vec::new();
            for row in &counts {
                let kind: String = get!(row, "kind");
                let n: i64 = get!(row, "n");
                kinds.push((kind, n));
            }
            Ok((out, kinds))
        })
    }

    /// Inserts a batch of searches in one transaction. A row whose id already exists is
    /// skipped; returns the number of rows written.
    pub async fn record_searches(&self, rows: &[SearchRecord]) -> Result<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut written = 0;
            // Many rows per statement: with SQLite every statement is a round trip to the
            // database thread, and one per row cost the server more than the inserts did.
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO search_log (id, at, q, locale, channel, scope, filters, hits, latency_us) ",
                );
                insert.push_values(chunk, |mut row, r| {
                    row.push_bind(r.id).push_bind(r.at).push_bind(&r.q).push_bind(&r.locale)
                        .push_bind(&r.channel).push_bind(r.scope).push_bind(&r.filters)
                        .push_bind(r.hits).push_bind(r.latency_us);
                });
                insert.push(" ON CONFLICT (id) DO NOTHING");
                written += insert.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(written)
        })
    }

    pub async fn record_click(
        &self,
        search_id: i64,
        article_id: i64,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE search_log SET clicked_article_id = $1, clicked_at = $2 WHERE id = $3")
                .bind(article_id).bind(at).bind(search_id).execute(pool).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("search {search_id}")));
        }
        Ok(())
    }

    pub async fn search_analytics(
        &self,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<SearchAnalytics> {
        let begin = self.begin_snapshot();
        with_pool!(self, pool => {
            // One snapshot for the totals and both lists: the search log is written in
            // batches while it is read, and separate reads could straddle a batch (totals
            // without it, a list with it).
            let mut tx = pool.begin_with(begin).await?;
            let totals = sqlx::query("SELECT COUNT(*) AS n, COALESCE(SUM(CASE WHEN hits = 0 THEN 1 ELSE 0 END), 0) AS zero, \
                 COALESCE(SUM(CASE WHEN hits > 0 THEN 1 ELSE 0 END), 0) AS with_hits, COALESCE(SUM(CASE WHEN clicked_article_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS clicks \
                 FROM search_log WHERE at >= $1")
                .bind(since).fetch_one(&mut *tx).await?;
            let n: i64 = get!(totals, "n");
            let zero: i64 = get!(totals, "zero");
            let with_hits: i64 = get!(totals, "with_hits");
            let clicks: i64 = get!(totals, "clicks");
            let top_sql = "SELECT q, COUNT(*) AS searches, COALESCE(SUM(CASE WHEN clicked_article_id IS NOT NULL THEN 1 ELSE 0 END), 0) AS clicks \
                 FROM search_log WHERE at >= $1 GROUP BY q ORDER BY COUNT(*) DESC, q LIMIT $2";
            let gap_sql = "SELECT q, COUNT(*) AS searches, CAST(0 AS BIGINT) AS clicks FROM search_log WHERE at >= $1 AND hits = 0 GROUP BY q ORDER BY COUNT(*) DESC, q LIMIT $2";
            let mut lists = Vec::new();
            for sql in [top_sql, gap_sql] {
                let rows = sqlx::query(sql).bind(since).bind(limit).fetch_all(&mut *tx).await?;
                let mut out = Vec::new();
                for row in &rows {
                    let q: String = get!(row, "q");
                    let searches: i64 = get!(row, "searches");
                    let clicks: i64 = get!(row, "clicks");
                    out.push(QueryCount { q, searches, clicks });
                }
                lists.push(out);
            }
            tx.commit().await?;
            let gaps = lists.pop().unwrap_or_default();
            let top = lists.pop().unwrap_or_default();
            Ok(SearchAnalytics {
                searches: n,
                zero_result_searches: zero,
                click_through: if with_hits > 0 { clicks as f64 / with_hits as f64 } else { 0.0 },
                top_queries: top,
                zero_result_queries: gaps,
            })
        })
    }

    pub async fn synonym_sets(&self) -> Result<Vec<SynonymSet>> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT id, locale, terms FROM synonyms ORDER BY id").fetch_all(pool).await?;
            let mut out = Vec::new();
            for row in &rows {
                let terms: String = get!(row, "terms");
                out.push(SynonymSet { id: get!(row, "id"), locale: get!(row, "locale"), terms: serde_json::from_str(&terms).unwrap_or_default() });
            }
            Ok(out)
        })
    }

    /// Replaces every synonym set (editors manage the list as a whole).
    pub async fn replace_synonyms(
        &self,
        sets: &[(String, Vec<String>)],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("DELETE FROM synonyms").execute(&mut *tx).await?;
            for (locale, terms) in sets {
                sqlx::query("INSERT INTO synonyms (locale, terms, updated_at, updated_by) VALUES ($1, $2, $3, $4)")
                    .bind(locale).bind(serde_json::to_string(terms).unwrap_or_default()).bind(now).bind(actor).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// (helpful, not helpful) of every article with feedback, in one query (reindex).
    pub async fn all_feedback_counts(&self) -> Result<std::collections::HashMap<i64, (i64, i64)>> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT article_id, COALESCE(SUM(CASE WHEN kind = 'helpful' THEN 1 ELSE 0 END), 0) AS up, COALESCE(SUM(CASE WHEN kind = 'not_helpful' THEN 1 ELSE 0 END), 0) AS down FROM feedback GROUP BY article_id")
                .fetch_all(pool).await?;
            rows.iter()
                .map(|row| Ok((get!(row, "article_id"), (get!(row, "up"), get!(row, "down")))))
                .collect()
        })
    }

    /// (helpful, not helpful) counts of one article.
    pub async fn feedback_counts(&self, article_id: i64) -> Result<(i64, i64)> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT COALESCE(SUM(CASE WHEN kind = 'helpful' THEN 1 ELSE 0 END), 0) AS up, COALESCE(SUM(CASE WHEN kind = 'not_helpful' THEN 1 ELSE 0 END), 0) AS down FROM feedback WHERE article_id = $1")
                .bind(article_id).fetch_one(pool).await?;
            Ok((get!(row, "up"), get!(row, "down")))
        })
    }
}
