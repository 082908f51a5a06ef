//! Webhooks: matching events to subscriptions, signed delivery with retries.
//!
//! Each delivery is a POST of a JSON event with these headers:
//! - `X-Omnikb-Event`: the event kind (`article.published`, …)
//! - `X-Omnikb-Delivery`: the delivery id (the same on every retry of one delivery)
//! - `X-Omnikb-Timestamp`: Unix seconds when this attempt was signed
//! - `X-Omnikb-Signature`: `v1=` + hex HMAC-SHA256 over `"{timestamp}.{body}"` with the
//!   webhook's secret. Receivers recompute it, compare in constant time, and reject
//!   timestamps older than a few minutes (replay protection).
//!
//! A 2xx answer is a success. Anything else (an error status, a timeout, a closed
//! connection) is retried with exponential backoff and jitter, up to `MAX_ATTEMPTS`;
//! after `DISABLE_AFTER` failures in a row the webhook is disabled until an admin
//! redelivers. Attempts run concurrently, so a slow receiver never holds up others or
//! publishing itself.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::service::Kb;
use crate::store::{Delivery, Enqueue, Event, EventKind, Webhook};

pub const MAX_ATTEMPTS: i64 = 8;
pub const DISABLE_AFTER: i64 = 20;
const LEASE_SECONDS: i64 = 60;

/// The signature header value for a body signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &str) -> String {
    // HMAC accepts keys of any length, so this never fails; an empty signature would
    // simply never verify.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) else {
        return "v1=".into();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Verifies a signature header (what a receiver does).
pub fn verify(secret: &str, timestamp: i64, body: &str, header: &str) -> bool {
    crate::util::constant_time_eq(sign(secret, timestamp, body).as_bytes(), header.as_bytes())
}

/// When to try again after `attempts` failed attempts: 2^n seconds (capped at an hour),
/// times a random factor in [0.5, 1.5) so many failing receivers do not retry in step.
pub fn backoff(attempts: i64, jitter: f64) -> chrono::Duration {
    let base = 2f64
        .powi(i32::try_from(attempts.clamp(0, 12)).unwrap_or(12))
        .min(3600.0);
    chrono::Duration::milliseconds((base * jitter.clamp(0.5, 1.5) * 1000.0) as i64)
}

/// The event kinds webhooks are told about.
fn deliverable(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Published
            | EventKind::Unpublished
            | EventKind::Expired
            | EventKind::Effective
            | EventKind::Rerendered
            | EventKind::ReviewDue
            | EventKind::SnippetPublished
    )
}

/// Facts about an event's article used by filters and the payload.
#[derive(Debug, Clone, Default)]
struct ArticleFacts {
    slug: Option<String>,
    article_type: Option<String>,
    category: Option<String>,
    audience: Option<String>,
}

fn matches(w: &Webhook, e: &Event, f: &ArticleFacts) -> bool {
    let kind = e.kind.as_str();
    (w.events.is_empty() || w.events.iter().any(|k| k == kind))
        && (w.locales.is_empty() || e.locale.as_ref().is_some_and(|l| w.locales.contains(l)))
        && (w.article_types.is_empty()
            || f.article_type
                .as_ref()
                .is_some_and(|t| w.article_types.contains(t)))
        && (w.categories.is_empty()
            || f.category.as_ref().is_some_and(|c| {
                w.categories
                    .iter()
                    .any(|p| c == p || c.starts_with(&format!("{p}/")))
            }))
}

async fn facts(kb: &Kb, e: &Event) -> ArticleFacts {
    let Some(id) = e.article_id else {
        return ArticleFacts::default();
    };
    let Ok(Some(a)) = kb.store.article(id).await else {
        return ArticleFacts::default();
    };
    let rev = match a.published_revision.or(Some(a.latest_revision)) {
        Some(n) => kb.store.revision(id, n).await.ok().flatten(),
        None => None,
    };
    ArticleFacts {
        slug: Some(a.slug.to_string()),
        article_type: Some(a.article_type),
        category: rev.as_ref().and_then(|r| r.meta.category.clone()),
        audience: rev.as_ref().map(|r| r.meta.audience.as_str().to_string()),
    }
}

fn payload(e: &Event, f: &ArticleFacts) -> String {
    serde_json::json!({
        "seq": e.seq,
        "event": e.kind.as_str(),
        "at": e.at,
        "article": e.article_id.map(|id| serde_json::json!({
            "id": id.display(),
            "slug": f.slug,
            "locale": e.locale,
            "revision": e.revision,
            "type": f.article_type,
            "category": f.category,
            "audience": f.audience,
        })),
        "channels": if e.kind.changes_channels() { serde_json::json!(["web", "ivr", "agent", "bot", "sms"]) } else { serde_json::json!([]) },
        "detail": e.payload,
    })
    .to_string()
}

/// Turns new events into delivery rows, once across the cluster. Returns rows enqueued.
pub async fn dispatch(kb: &Kb) -> anyhow::Result<usize> {
    let from = kb.store.webhook_cursor().await?;
    let events = kb.store.events_after(from, 500).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(0);
    };
    let hooks: Vec<Webhook> = kb
        .store
        .webhooks()
        .await?
        .into_iter()
        .filter(|w| w.active)
        .collect();
    let mut rows = Vec::new();
    for e in events.iter().filter(|e| deliverable(e.kind)) {
        if hooks.is_empty() {
            break;
        }
        let f = facts(kb, e).await;
        for w in hooks.iter().filter(|w| matches(w, e, &f)) {
            rows.push(Enqueue {
                webhook_id: w.id,
                event_seq: e.seq,
                payload: payload(e, &f),
            });
        }
    }
    let n = rows.len();
    if kb
        .store
        .enqueue_deliveries(from, last, &rows, kb.now())
        .await?
    {
        Ok(n)
    } else {
        Ok(0)
    }
}

/// Sends one delivery and records the outcome.
async fn attempt(kb: Kb, client: reqwest::Client, hook: Webhook, d: Delivery) {
    let now = kb.now();
    let ts = now.timestamp();
    let kind = serde_json::from_str::<serde_json::Value>(&d.payload)
        .ok()
        .and_then(|v| v["event"].as_str().map(String::from))
        .unwrap_or_default();
    let res = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("user-agent", concat!("omnikb/", env!("CARGO_PKG_VERSION")))
        .header("x-omnikb-event", kind)
        .header("x-omnikb-delivery", d.id.to_string())
        .header("x-omnikb-timestamp", ts.to_string())
        .header("x-omnikb-signature", sign(&hook.secret, ts, &d.payload))
        .body(d.payload.clone())
        .send()
        .await;
    let (ok, code, err) = match res {
        Ok(r) if r.status().is_success() => (true, Some(i64::from(r.status().as_u16())), None),
        Ok(r) => (
            false,
            Some(i64::from(r.status().as_u16())),
            Some(format!("HTTP {}", r.status())),
        ),
        Err(e) => (
            false,
            None,
            Some(if e.is_timeout() {
                "timed out".to_string()
            } else {
                format!("connection failed: {e}")
            }),
        ),
    };
    let retry_at: Option<DateTime<Utc>> = (!ok && d.attempts < MAX_ATTEMPTS)
        .then(|| now + backoff(d.attempts, rand::thread_rng().gen_range(0.5..1.5)));
    let outcome = crate::store::DeliveryOutcome {
        ok,
        status_code: code,
        error: err.as_deref(),
        retry_at,
        now: kb.now(),
        disable_after: DISABLE_AFTER,
    };
    if let Err(e) = kb.store.finish_delivery(&d, &outcome).await {
        tracing::warn!(delivery = d.id, error = %e, "could not record delivery outcome");
    }
    if !ok {
        tracing::info!(delivery = d.id, webhook = hook.id, attempts = d.attempts, error = ?err, "webhook delivery failed");
    }
}

/// Claims due deliveries and sends them concurrently. Returns how many were started.
pub async fn deliver_due(
    kb: &Kb,
    client: &reqwest::Client,
    tasks: &mut tokio::task::JoinSet<()>,
) -> anyhow::Result<usize> {
    // Bounded concurrency: at most 32 attempts in flight on this node.
    let room = 32usize.saturating_sub(tasks.len());
    if room == 0 {
        return Ok(0);
    }
    let claimed = kb
        .store
        .claim_deliveries(
            kb.now(),
            chrono::Duration::seconds(LEASE_SECONDS),
            i64::try_from(room).unwrap_or(32),
        )
        .await?;
    let hooks = kb.store.webhooks().await?;
    let n = claimed.len();
    for d in claimed {
        if let Some(h) = hooks.iter().find(|h| h.id == d.webhook_id) {
            tasks.spawn(attempt(kb.clone(), client.clone(), h.clone(), d));
        }
    }
    Ok(n)
}

/// The webhook loop: dispatch new events, deliver what is due; wakes on local events.
pub async fn run(kb: Kb) {
    let mut wake = kb.wake.subscribe();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are off");
            return;
        }
    };
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        while tasks.try_join_next().is_some() {}
        if let Err(e) = dispatch(&kb).await {
            tracing::warn!(error = %e, "webhook dispatch failed");
        }
        match deliver_due(&kb, &client, &mut tasks).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "webhook delivery loop failed"),
        }
        tokio::select! {
            _ = wake.changed() => {},
            _ = tokio::time::sleep(Duration::from_millis(200)) => {},
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_detect_tampering() {
        let s = sign("secret", 1_700_000_000, r#"{"a":1}"#);
        assert!(s.starts_with("v1=") && s.len() == 3 + 64);
        assert!(verify("secret", 1_700_000_000, r#"{"a":1}"#, &s));
        assert!(!verify("secret", 1_700_000_001, r#"{"a":1}"#, &s));
        assert!(!verify("other", 1_700_000_000, r#"{"a":1}"#, &s));
        assert!(!verify("secret", 1_700_000_000, r#"{"a":2}"#, &s));
    }

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        assert_eq!(backoff(0, 1.0), chrono::Duration::seconds(1));
        assert_eq!(backoff(3, 1.0), chrono::Duration::seconds(8));
        assert!(backoff(3, 0.5) < backoff(3, 1.49));
        assert_eq!(backoff(40, 1.0), chrono::Duration::seconds(3600));
    }
}
