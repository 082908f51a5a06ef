//! Webhook subscriptions and their delivery queue.
//!
//! Enqueueing is exactly-once across nodes: a node advances the shared `webhook_cursor`
//! with a compare-and-set in the same transaction as the delivery rows it inserts, so a
//! racing node's transaction changes nothing. Deliveries are claimed with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL), so each attempt happens on one node.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::rows::get;
use super::{Backend, Result, Store, StoreError, with_pool};

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    /// Event kinds (`article.published`, …); empty means all.
    pub events: Vec<String>,
    pub locales: Vec<String>,
    /// Category prefixes (`宽带` matches `宽带/故障`).
    pub categories: Vec<String>,
    pub article_types: Vec<String>,
    pub active: bool,
    pub consecutive_failures: i64,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// What a webhook filters on.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    pub url: String,
    pub secret: String,
    pub events: Vec<String>,
    pub locales: Vec<String>,
    pub categories: Vec<String>,
    pub article_types: Vec<String>,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_seq: i64,
    /// pending, delivering, delivered or dead
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    #[serde(skip)]
    pub payload: String,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

fn list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

const HOOK_COLS: &str = "id, url, secret, events, locales, categories, article_types, active, consecutive_failures, disabled_reason, created_at, created_by";
const DELIVERY_COLS: &str = "id, webhook_id, event_seq, status, attempts, next_attempt_at, last_status_code, last_error, payload, created_at, delivered_at";

macro_rules! hook_from_row {
    ($row:expr) => {{
        let row = $row;
        let events: String = get!(row, "events");
        let locales: String = get!(row, "locales");
        let categories: String = get!(row, "categories");
        let types: String = get!(row, "article_types");
        Webhook {
            id: get!(row, "id"),
            url: get!(row, "url"),
            secret: get!(row, "secret"),
            events: list(&events),
            locales: list(&locales),
            categories: list(&categories),
            article_types: list(&types),
            active: get!(row, "active"),
            consecutive_failures: get!(row, "consecutive_failures"),
            disabled_reason: get!(row, "disabled_reason"),
            created_at: get!(row, "created_at"),
            created_by: get!(row, "created_by"),
        }
    }};
}

macro_rules! delivery_from_row {
    ($row:expr) => {{
        let row = $row;
        Delivery {
            id: get!(row, "id"),
            webhook_id: get!(row, "webhook_id"),
            event_seq: get!(row, "event_seq"),
            status: get!(row, "status"),
            attempts: get!(row, "attempts"),
            next_attempt_at: get!(row, "next_attempt_at"),
            last_status_code: get!(row, "last_status_code"),
            last_error: get!(row, "last_error"),
            payload: get!(row, "payload"),
            created_at: get!(row, "created_at"),
            delivered_at: get!(row, "delivered_at"),
        }
    }};
}

/// The outcome of one delivery attempt. `retry_at: None` with `ok == false` marks the
/// delivery dead; `disable_after` failures in a row disable the webhook.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryOutcome<'a> {
    pub ok: bool,
    pub status_code: Option<i64>,
    pub error: Option<&'a str>,
    pub retry_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    pub disable_after: i64,
}

/// A delivery row to enqueue.
#[derive(Debug, Clone)]
pub struct Enqueue {
    pub webhook_id: i64,
    pub event_seq: i64,
    pub payload: String,
}

impl Store {
    pub async fn create_webhook(&self, w: &NewWebhook, now: DateTime<Utc>) -> Result<Webhook> {
        let j = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "INSERT INTO webhooks (url, secret, events, locales, categories, article_types, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {HOOK_COLS}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&w.url).bind(&w.secret).bind(j(&w.events)).bind(j(&w.locales)).bind(j(&w.categories)).bind(j(&w.article_types)).bind(now).bind(&w.created_by)
                .fetch_one(pool).await?;
            Ok(hook_from_row!(&row))
        })
    }

    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let sql = format!("SELECT {HOOK_COLS} FROM webhooks ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(hook_from_row!(row));
            }
            Ok(out)
        })
    }

    pub async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        Ok(self.webhooks().await?.into_iter().find(|w| w.id == id))
    }

    /// Changes a webhook's URL and filters; the secret only when `w.secret` is not empty.
    pub async fn update_webhook(&self, id: i64, w: &NewWebhook) -> Result<Webhook> {
        let j = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "UPDATE webhooks SET url = $1, secret = CASE WHEN $2 = '' THEN secret ELSE $2 END, events = $3, locales = $4, categories = $5, article_types = $6 WHERE id = $7 RETURNING {HOOK_COLS}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(&w.url).bind(&w.secret).bind(j(&w.events)).bind(j(&w.locales)).bind(j(&w.categories)).bind(j(&w.article_types)).bind(id)
                .fetch_optional(pool).await?;
            match row {
                Some(row) => Ok(hook_from_row!(&row)),
                None => Err(StoreError::NotFound(format!("webhook {id}"))),
            }
        })
    }

    /// Deactivates a webhook (kept for its delivery log).
    pub async fn deactivate_webhook(&self, id: i64, reason: &str) -> Result<()> {
        let n = with_pool!(self, pool => {
            sqlx::query("UPDATE webhooks SET active = FALSE, disabled_reason = $1 WHERE id = $2").bind(reason).bind(id).execute(pool).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("webhook {id}")));
        }
        Ok(())
    }

    pub async fn webhook_cursor(&self) -> Result<i64> {
        with_pool!(self, pool => Ok(sqlx::query_scalar::<_, i64>("SELECT value FROM counters WHERE name = 'webhook_cursor'").fetch_one(pool).await?))
    }

    /// Advances the shared cursor from `from` to `to` and inserts the deliveries, in one
    /// transaction. Returns false (and writes nothing) when another node got there first.
    pub async fn enqueue_deliveries(
        &self,
        from: i64,
        to: i64,
        rows: &[Enqueue],
        now: DateTime<Utc>,
    ) -> Result<bool> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let moved = sqlx::query("UPDATE counters SET value = $1 WHERE name = 'webhook_cursor' AND value = $2")
                .bind(to).bind(from).execute(&mut *tx).await?.rows_affected();
            if moved != 1 {
                return Ok(false);
            }
            for r in rows {
                sqlx::query("INSERT INTO webhook_deliveries (webhook_id, event_seq, status, next_attempt_at, payload, created_at) VALUES ($1, $2, 'pending', $3, $4, $3) ON CONFLICT DO NOTHING")
                    .bind(r.webhook_id).bind(r.event_seq).bind(now).bind(&r.payload).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Claims up to `limit` due deliveries of active webhooks for `lease`; each claimed row
    /// is invisible to other nodes until the lease ends.
    pub async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        let lock = match self.backend {
            Backend::Postgres(_) => " FOR UPDATE OF d SKIP LOCKED",
            Backend::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'delivering', next_attempt_at = $1, attempts = attempts + 1 \
             WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                          WHERE d.status IN ('pending', 'delivering') AND d.next_attempt_at <= $2 AND w.active \
                          ORDER BY d.id LIMIT $3{lock}) \
             RETURNING {DELIVERY_COLS}"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(now + lease).bind(now).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(delivery_from_row!(row));
            }
            out.sort_by_key(|d| d.id);
            Ok(out)
        })
    }

    /// Records an attempt's outcome.
    pub async fn finish_delivery(&self, d: &Delivery, o: &DeliveryOutcome<'_>) -> Result<()> {
        let DeliveryOutcome {
            ok,
            status_code,
            error,
            retry_at,
            now,
            disable_after,
        } = *o;
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if ok {
                sqlx::query("UPDATE webhook_deliveries SET status = 'delivered', last_status_code = $1, last_error = NULL, delivered_at = $2 WHERE id = $3")
                    .bind(status_code).bind(now).bind(d.id).execute(&mut *tx).await?;
                sqlx::query("UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1").bind(d.webhook_id).execute(&mut *tx).await?;
            } else {
                let (status, next) = match retry_at { Some(t) => ("pending", t), None => ("dead", now) };
                sqlx::query("UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, last_status_code = $3, last_error = $4 WHERE id = $5")
                    .bind(status).bind(next).bind(status_code).bind(error).bind(d.id).execute(&mut *tx).await?;
                let failures: i64 = sqlx::query_scalar("UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = $1 RETURNING consecutive_failures")
                    .bind(d.webhook_id).fetch_one(&mut *tx).await?;
                if failures >= disable_after {
                    sqlx::query("UPDATE webhooks SET active = FALSE, disabled_reason = $1 WHERE id = $2")
                        .bind(format!("disabled after {failures} failed deliveries in a row")).bind(d.webhook_id).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn deliveries(&self, webhook_id: i64, limit: i64) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLS} FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY id DESC LIMIT $2"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(webhook_id).bind(limit).fetch_all(pool).await?;
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(delivery_from_row!(row));
            }
            Ok(out)
        })
    }

    /// Manual redelivery: the delivery goes back in the queue (and the webhook is re-enabled).
    pub async fn redeliver(
        &self,
        webhook_id: i64,
        delivery_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query("UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1 WHERE id = $2 AND webhook_id = $3")
                .bind(now).bind(delivery_id).bind(webhook_id).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound(format!("delivery {delivery_id} of webhook {webhook_id}")));
            }
            sqlx::query("UPDATE webhooks SET active = TRUE, disabled_reason = NULL, consecutive_failures = 0 WHERE id = $1").bind(webhook_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
