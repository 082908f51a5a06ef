//! The outbox: an append-only, gap-free, ordered event log.
//!
//! Sequence numbers come from a counter row incremented inside the writing transaction.
//! The row lock serialises writers, so numbers are gap-free and a reader that has seen
//! `seq = n` has seen every event before it — which a plain auto-increment column does
//! not promise under concurrent PostgreSQL transactions.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::{Result, Store, StoreError, with_pool};
use crate::domain::ArticleId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "article.created")]
    ArticleCreated,
    #[serde(rename = "article.draft_saved")]
    DraftSaved,
    #[serde(rename = "article.transition")]
    Transition,
    /// A revision went live (publish, scheduled publish, restore of a live revision).
    #[serde(rename = "article.published")]
    Published,
    /// The article left the channels (archive, retire).
    #[serde(rename = "article.unpublished")]
    Unpublished,
    /// The published revision passed its expiry date.
    #[serde(rename = "article.expired")]
    Expired,
    /// The published revision reached its effective date.
    #[serde(rename = "article.effective")]
    Effective,
    #[serde(rename = "article.review_due")]
    ReviewDue,
    /// The published revision must be re-rendered (a snippet it uses changed).
    #[serde(rename = "article.rerendered")]
    Rerendered,
    #[serde(rename = "snippet.published")]
    SnippetPublished,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::ArticleCreated => "article.created",
            EventKind::DraftSaved => "article.draft_saved",
            EventKind::Transition => "article.transition",
            EventKind::Published => "article.published",
            EventKind::Unpublished => "article.unpublished",
            EventKind::Expired => "article.expired",
            EventKind::Effective => "article.effective",
            EventKind::ReviewDue => "article.review_due",
            EventKind::Rerendered => "article.rerendered",
            EventKind::SnippetPublished => "snippet.published",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    /// Events that change what channels serve.
    pub fn changes_channels(&self) -> bool {
        matches!(
            self,
            EventKind::Published
                | EventKind::Unpublished
                | EventKind::Expired
                | EventKind::Effective
                | EventKind::Rerendered
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub article_id: Option<ArticleId>,
    pub locale: Option<String>,
    pub revision: Option<i64>,
    pub payload: serde_json::Value,
}

/// Appends an event inside an open transaction `$tx`; evaluates to `Result<i64>` (the seq).
macro_rules! append_event {
    ($tx:expr, $at:expr, $kind:expr, $article:expr, $locale:expr, $revision:expr, $payload:expr) => {{
        let seq: i64 = sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'events' RETURNING value")
            .fetch_one(&mut *$tx)
            .await?;
        sqlx::query("INSERT INTO events (seq, at, kind, article_id, locale, revision, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(seq)
            .bind($at)
            .bind($kind.as_str())
            .bind($article)
            .bind($locale)
            .bind($revision)
            .bind($payload.to_string())
            .execute(&mut *$tx)
            .await?;
        Ok::<i64, $crate::store::StoreError>(seq)
    }};
}
pub(crate) use append_event;

impl Store {
    /// Events with `seq > after`, oldest first.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<Event>> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT seq, at, kind, article_id, locale, revision, payload FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let kind: String = row.try_get("kind")?;
                let payload: String = row.try_get("payload")?;
                out.push(Event {
                    seq: row.try_get("seq")?,
                    at: row.try_get("at")?,
                    kind: EventKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("event kind '{kind}'")))?,
                    article_id: row.try_get::<Option<i64>, _>("article_id")?.map(ArticleId),
                    locale: row.try_get("locale")?,
                    revision: row.try_get("revision")?,
                    payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                });
            }
            Ok(out)
        })
    }

    /// The newest event's sequence number (0 when there is none).
    pub async fn last_event_seq(&self) -> Result<i64> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar::<_, i64>("SELECT value FROM counters WHERE name = 'events'").fetch_one(pool).await?)
        })
    }

    /// Appends one event in its own transaction (for events that change nothing else).
    pub async fn append_event(
        &self,
        at: DateTime<Utc>,
        kind: EventKind,
        article: Option<ArticleId>,
        locale: Option<&str>,
        revision: Option<i64>,
        payload: serde_json::Value,
    ) -> Result<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let seq = append_event!(tx, at, kind, article.map(|a| a.0), locale, revision, payload)?;
            tx.commit().await?;
            Ok(seq)
        })
    }
}

impl Store {
    /// Claims a once-per-cluster job by name; true for exactly one caller.
    pub async fn claim_once(&self, name: &str) -> Result<bool> {
        with_pool!(self, pool => {
            let n = sqlx::query("INSERT INTO claims (name, at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(name).bind(crate::util::now()).execute(pool).await?.rows_affected();
            Ok(n == 1)
        })
    }
}

/// Held by the node that runs the scheduler. On PostgreSQL it keeps a session-level
/// advisory lock on its own connection: when the node dies, its session ends, the lock
/// is released and another node takes over at its next tick.
pub struct LeaderLock {
    _conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl Drop for LeaderLock {
    fn drop(&mut self) {
        // Returning the connection to the pool would keep the session, and the lock,
        // alive: detach it so it closes and the lock is released for another node.
        if let Some(conn) = self._conn.take() {
            drop(conn.detach());
        }
    }
}

/// The advisory lock key of the scheduler ("omnikb-s").
const SCHEDULER_LOCK: i64 = 0x6f6d_6e69_6b62_2d73;

impl Store {
    /// Tries to become the scheduler leader. SQLite has one node: always granted.
    pub async fn try_scheduler_lock(&self) -> Result<Option<LeaderLock>> {
        match &self.backend {
            super::Backend::Sqlite(_) => Ok(Some(LeaderLock { _conn: None })),
            super::Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(SCHEDULER_LOCK)
                    .fetch_one(&mut *conn)
                    .await?;
                Ok(got.then_some(LeaderLock { _conn: Some(conn) }))
            }
        }
    }

    /// On PostgreSQL, calls `on_event` whenever any node commits an event (LISTEN/NOTIFY);
    /// reconnects on errors. Returns at once on SQLite.
    pub async fn listen_events(&self, on_event: impl Fn() + Send + 'static) {
        let super::Backend::Postgres(pool) = &self.backend else {
            return;
        };
        loop {
            match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut listener) => {
                    if let Err(e) = listener.listen("omnikb_events").await {
                        tracing::warn!(error = %e, "LISTEN failed");
                    } else {
                        loop {
                            match listener.recv().await {
                                Ok(_) => on_event(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "event notifications interrupted; reconnecting");
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN for events; polling only"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }

    /// Published articles whose stored renders are missing or not of the live revision.
    pub async fn stale_renders(&self) -> Result<Vec<ArticleId>> {
        with_pool!(self, pool => {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT a.id FROM articles a WHERE a.published_revision IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM renders r WHERE r.article_id = a.id AND r.revision = a.published_revision) ORDER BY a.id")
                .fetch_all(pool).await?;
            Ok(ids.into_iter().map(ArticleId).collect())
        })
    }
}
