//! Publish once, update everywhere: the publisher follows the event log and, for each
//! event, brings every channel up to date — stored renders, the search index — and fans
//! the event out to live subscribers (SSE) and webhooks.
//!
//! Each node runs its own publisher with its own cursor. Everything it does per event is
//! idempotent (re-rendering a published revision, upserting an index document), so a
//! restart that replays events does no harm. Work that must happen once across nodes
//! (webhook deliveries) is claimed in the database, see [`webhooks`].

pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;

use crate::domain::ArticleId;
use crate::service::Kb;
use crate::store::{Event, EventKind};

/// A hook the publisher calls for each event after renders are stored (the search
/// indexer implements it). Called from the publisher task only, in event order.
pub trait EventSink: Send + Sync {
    fn apply<'a>(
        &'a self,
        kb: &'a Kb,
        events: &'a [Event],
    ) -> futures_util::future::BoxFuture<'a, anyhow::Result<()>>;
    /// The last event this sink has durably applied (0: none).
    fn cursor(&self) -> i64;
}

/// Live fan-out of events to SSE subscribers on this node.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Event>,
    /// The newest event this node's publisher has finished.
    applied: Arc<std::sync::atomic::AtomicI64>,
}

impl Default for Hub {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(4096);
        Hub {
            tx,
            applied: Arc::new(std::sync::atomic::AtomicI64::new(0)),
        }
    }
}

impl Hub {
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    pub fn applied(&self) -> i64 {
        self.applied.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Follows the event log from `start` and applies each event.
pub struct Publisher {
    kb: Kb,
    hub: Hub,
    sinks: Vec<Arc<dyn EventSink>>,
    cursor: i64,
    poll: Duration,
    /// A render failed since the last reconciliation: reconcile soon, not at the slow pace.
    render_failed: std::sync::atomic::AtomicBool,
}

/// How often stored renders are checked against the published revisions after a render
/// failed on this node, and otherwise. The check reads every published article (0.16 s on
/// 100,000), so it runs at the slow pace unless something is known to be missing.
const RECONCILE_AFTER_FAILURE: Duration = Duration::from_secs(3);
const RECONCILE_EVERY: Duration = Duration::from_secs(60);

impl Publisher {
    /// Starts after the oldest cursor of its sinks, so a sink that is behind catches up.
    pub fn new(kb: Kb, hub: Hub, sinks: Vec<Arc<dyn EventSink>>, start: i64) -> Self {
        let cursor = sinks
            .iter()
            .map(|s| s.cursor())
            .min()
            .unwrap_or(start)
            .min(start);
        Publisher {
            kb,
            hub,
            sinks,
            cursor,
            poll: Duration::from_millis(100),
            render_failed: false.into(),
        }
    }

    /// Applies every event after the cursor; returns how many.
    pub async fn step(&mut self) -> anyhow::Result<usize> {
        let events = self.kb.store.events_after(self.cursor, 500).await?;
        if events.is_empty() {
            return Ok(0);
        }
        for e in &events {
            self.apply(e).await?;
        }
        for sink in &self.sinks {
            let pending: Vec<Event> = events
                .iter()
                .filter(|e| e.seq > sink.cursor())
                .cloned()
                .collect();
            if !pending.is_empty() {
                sink.apply(&self.kb, &pending).await?;
            }
        }
        for e in &events {
            // Nobody listening is fine.
            let _ = self.hub.tx.send(e.clone());
        }
        self.cursor = events.last().map(|e| e.seq).unwrap_or(self.cursor);
        self.hub
            .applied
            .store(self.cursor, std::sync::atomic::Ordering::Release);
        Ok(events.len())
    }

    async fn apply(&self, e: &Event) -> anyhow::Result<()> {
        match e.kind {
            EventKind::Published | EventKind::Unpublished | EventKind::Rerendered => {
                if let Some(id) = e.article_id {
                    // Idempotent: renders the revision published *now*.
                    self.refresh(id).await;
                }
            }
            EventKind::SnippetPublished => self.fan_out_snippet(e).await?,
            _ => {}
        }
        Ok(())
    }

    async fn refresh(&self, id: ArticleId) {
        if let Err(err) = self.kb.refresh_renders(id).await {
            tracing::error!(article = %id, error = %err, "re-render failed");
            self.render_failed
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A snippet changed: every published article that uses it gets one `rerendered`
    /// event (processed in a later step, which re-renders and re-indexes it).
    async fn fan_out_snippet(&self, e: &Event) -> anyhow::Result<()> {
        let (Some(key), Some(locale)) = (
            e.payload.get("key").and_then(|v| v.as_str()),
            e.locale.as_deref(),
        ) else {
            return Ok(());
        };
        // Only the node that wins the claim emits the follow-up events (once per cluster).
        if !self
            .kb
            .store
            .claim_once(&format!("snippet-fanout:{}", e.seq))
            .await?
        {
            return Ok(());
        }
        for id in self.kb.store.articles_using_snippet(key, locale).await? {
            self.kb
                .store
                .append_event(
                    self.kb.now(),
                    EventKind::Rerendered,
                    Some(id),
                    Some(locale),
                    None,
                    serde_json::json!({"snippet": key, "cause": e.seq}),
                )
                .await?;
        }
        Ok(())
    }

    /// Runs until the task is dropped, waking on local appends and polling otherwise
    /// (other nodes' appends are seen at the next poll).
    pub async fn run(mut self) {
        let mut wake = self.kb.wake.subscribe();
        // First at start: a crash between a commit and its render left renders missing.
        let mut last_reconcile: Option<std::time::Instant> = None;
        loop {
            match self.step().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "publisher step failed; retrying"),
            }
            // A render that failed (a crash between commit and render, a transient
            // database error) is redone here rather than waiting for the next event.
            let failed = self
                .render_failed
                .load(std::sync::atomic::Ordering::Relaxed);
            let pace = if failed {
                RECONCILE_AFTER_FAILURE
            } else {
                RECONCILE_EVERY
            };
            if last_reconcile.is_none_or(|t| t.elapsed() > pace) {
                // Re-renders whatever is stale, including what failed in `step` above.
                let all_rendered = reconcile_renders(&self.kb).await;
                self.render_failed
                    .store(!all_rendered, std::sync::atomic::Ordering::Relaxed);
                last_reconcile = Some(std::time::Instant::now());
            }
            tokio::select! {
                _ = wake.changed() => {},
                _ = tokio::time::sleep(self.poll) => {},
            }
        }
    }
}

/// The background tasks of one node: publisher, scheduler and webhooks.
pub struct Background {
    pub hub: Hub,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    pub fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

/// Starts the publisher (from the newest event: renders of older events are already
/// stored, and sinks catch up from their own cursors), the scheduler and webhooks.
pub fn start_background(kb: &Kb, sinks: Vec<Arc<dyn EventSink>>) -> Background {
    let hub = Hub::default();
    let publisher_kb = kb.clone();
    let publisher_hub = hub.clone();
    let publisher = tokio::spawn(async move {
        let start = publisher_kb.store.last_event_seq().await.unwrap_or(0);
        publisher_hub
            .applied
            .store(start, std::sync::atomic::Ordering::Release);
        Publisher::new(publisher_kb, publisher_hub, sinks, start)
            .run()
            .await;
    });
    let scheduler = tokio::spawn(crate::service::scheduler_loop(
        kb.clone(),
        Duration::from_secs(1),
    ));
    let hooks = tokio::spawn(webhooks::run(kb.clone()));
    Background {
        hub,
        tasks: vec![publisher, scheduler, hooks],
    }
}

/// Re-renders every published article whose stored renders are missing or stale; false
/// when some could not be (they are retried at the faster pace).
pub async fn reconcile_renders(kb: &Kb) -> bool {
    match kb.store.stale_renders().await {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::info!(
                    articles = ids.len(),
                    "re-rendering articles with stale renders"
                );
            }
            let mut all = true;
            for id in ids {
                if let Err(e) = kb.refresh_renders(id).await {
                    tracing::error!(article = %id, error = %e, "re-render failed");
                    all = false;
                }
            }
            all
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot look for stale renders");
            false
        }
    }
}
