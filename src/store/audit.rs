//! The tamper-evident audit log: every row carries SHA-256 over its content and the
//! previous row's hash, so changing or deleting a row breaks the chain from there on.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Result, Store, with_pool};

/// Rows of `audit_log` to entries (a macro: SQLite and PostgreSQL rows are different types).
macro_rules! entries {
    ($rows:expr) => {{
        let rows = $rows;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let detail: String = row.try_get("detail")?;
            out.push(AuditEntry {
                seq: row.try_get("seq")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                action: row.try_get("action")?,
                entity: row.try_get("entity")?,
                detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::String(detail)),
                prev_hash: row.try_get("prev_hash")?,
                hash: row.try_get("hash")?,
            });
        }
        Ok(out)
    }};
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AuditVerdict {
    Intact {
        rows: i64,
    },
    /// The first row whose hash or link does not match.
    Broken {
        seq: i64,
        reason: String,
    },
}

/// The hash of one row. Times are hashed as RFC 3339 with microseconds, the precision
/// both databases keep.
pub fn row_hash(
    prev: &str,
    seq: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    entity: &str,
    detail: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &seq.to_string(),
        &at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        actor,
        action,
        entity,
        detail,
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(h.finalize())
}

/// Appends an audit row inside an open transaction `$tx`; evaluates to `Result<i64>`.
macro_rules! append_audit {
    ($tx:expr, $at:expr, $actor:expr, $action:expr, $entity:expr, $detail:expr) => {{
        let seq: i64 = sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'audit' RETURNING value")
            .fetch_one(&mut *$tx)
            .await?;
        let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
            .bind(seq - 1)
            .fetch_optional(&mut *$tx)
            .await?;
        let prev = prev.unwrap_or_default();
        let detail = $detail.to_string();
        let at: chrono::DateTime<chrono::Utc> = $at;
        let hash = $crate::store::audit::row_hash(&prev, seq, at, $actor, $action, $entity, &detail);
        sqlx::query("INSERT INTO audit_log (seq, at, actor, action, entity, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(seq).bind(at).bind($actor).bind($action).bind($entity).bind(&detail).bind(&prev).bind(&hash)
            .execute(&mut *$tx)
            .await?;
        Ok::<i64, $crate::store::StoreError>(seq)
    }};
}
pub(crate) use append_audit;

impl Store {
    pub async fn audit(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        entity: &str,
        detail: serde_json::Value,
    ) -> Result<i64> {
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let seq = append_audit!(tx, at, actor, action, entity, detail)?;
            tx.commit().await?;
            Ok(seq)
        })
    }

    pub async fn audit_entries(&self, after: i64, limit: i64) -> Result<Vec<AuditEntry>> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT seq, at, actor, action, entity, detail, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
                .bind(after).bind(limit).fetch_all(pool).await?;
            entries!(rows)
        })
    }

    /// The audit trail of one entity (`snippet:hotline:zh-CN`), oldest first.
    pub async fn audit_of(&self, entity: &str, limit: i64) -> Result<Vec<AuditEntry>> {
        with_pool!(self, pool => {
            let rows = sqlx::query("SELECT seq, at, actor, action, entity, detail, prev_hash, hash FROM audit_log WHERE entity = $1 ORDER BY seq LIMIT $2")
                .bind(entity).bind(limit).fetch_all(pool).await?;
            entries!(rows)
        })
    }

    /// Walks the whole chain and reports the first broken link.
    pub async fn verify_audit(&self) -> Result<AuditVerdict> {
        let mut prev = String::new();
        let mut expected_seq = 1;
        let mut after = 0;
        loop {
            let batch = self.audit_entries(after, 1000).await?;
            if batch.is_empty() {
                return Ok(AuditVerdict::Intact {
                    rows: expected_seq - 1,
                });
            }
            for e in &batch {
                if e.seq != expected_seq {
                    return Ok(AuditVerdict::Broken {
                        seq: expected_seq,
                        reason: format!("row {expected_seq} is missing"),
                    });
                }
                if e.prev_hash != prev {
                    return Ok(AuditVerdict::Broken {
                        seq: e.seq,
                        reason: "does not link to the previous row's hash".into(),
                    });
                }
                let detail = match &e.detail {
                    serde_json::Value::String(s)
                        if serde_json::from_str::<serde_json::Value>(s).is_err() =>
                    {
                        s.clone()
                    }
                    other => other.to_string(),
                };
                let hash = row_hash(&prev, e.seq, e.at, &e.actor, &e.action, &e.entity, &detail);
                if hash != e.hash {
                    return Ok(AuditVerdict::Broken {
                        seq: e.seq,
                        reason: "content does not match its hash (row was altered)".into(),
                    });
                }
                prev = e.hash.clone();
                expected_seq += 1;
            }
            after = batch.last().map(|e| e.seq).unwrap_or(after);
        }
    }
}
