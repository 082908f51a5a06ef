//! Search analytics off the request path: a bounded queue drained by one background task that
//! inserts rows in batches.
//!
//! A search never waits for the database: [`SearchLog::record`] makes the search id
//! in-process (so the response can carry it for click tracking), tries to enqueue the row and
//! returns. When the queue is full the row is dropped and counted
//! ([`SearchLogStats::dropped`], exported on `/metrics`). A click first [`flush`]es the
//! queue (it waits), so a click on a just-returned search finds its row.
//!
//! [`flush`]: SearchLog::flush

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::store::{SearchRecord, Store};

/// Rows held in memory at most; beyond that, searches are still served but not recorded.
pub const QUEUE_CAPACITY: usize = 8_192;
/// Rows per insert transaction at most.
const BATCH: usize = 512;
/// How long the writer waits for more rows after the first before inserting a batch.
const LINGER: std::time::Duration = std::time::Duration::from_millis(50);

enum Msg {
    Row(SearchRecord),
    /// Write everything queued before this message, then answer.
    Flush(oneshot::Sender<()>),
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct SearchLogStats {
    pub enqueued: AtomicU64,
    pub written: AtomicU64,
    /// Queue full (or no runtime): the row was not recorded.
    pub dropped: AtomicU64,
    /// Rows lost because their batch failed to insert.
    pub failed: AtomicU64,
    pub batches: AtomicU64,
}

pub struct SearchLog {
    store: Store,
    tx: mpsc::Sender<Msg>,
    rx: parking_lot::Mutex<Option<mpsc::Receiver<Msg>>>,
    worker: OnceLock<()>,
    next: AtomicU64,
    stats: Arc<SearchLogStats>,
}

impl SearchLog {
    pub fn new(store: Store) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        Self {
            store,
            tx,
            rx: parking_lot::Mutex::new(Some(rx)),
            worker: OnceLock::new(),
            next: AtomicU64::new(rand::random::<u64>()),
            stats: Arc::default(),
        }
    }

    pub fn stats(&self) -> &SearchLogStats {
        &self.stats
    }

    /// Rows waiting to be written.
    pub fn queued(&self) -> usize {
        QUEUE_CAPACITY - self.tx.capacity()
    }

    /// A new search id: seconds since 2024-01-01 in the high 30 bits (enough until 2058), a
    /// per-process counter (from a random start) in the low 23 bits. The id fits in 53 bits,
    /// so JavaScript clients (whose numbers are doubles) send back exactly what they got.
    /// Unique within a process up to 8 million searches per second; across nodes a clash is
    /// unlikely and only skips a row.
    pub fn next_id(&self) -> i64 {
        const EPOCH_2024: u64 = 1_704_067_200;
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .saturating_sub(EPOCH_2024)
            & ((1 << 30) - 1);
        let n = self.next.fetch_add(1, Ordering::Relaxed) & ((1 << 23) - 1);
        // Zero only in the first second of 2024 with a zero counter; keep ids positive.
        (((secs << 23) | n) as i64).max(1)
    }

    /// Starts the writer on first use (needs a tokio runtime, which every handler has).
    fn ensure_worker(&self) -> bool {
        if self.worker.get().is_some() {
            return true;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if let Some(rx) = self.rx.lock().take() {
            handle.spawn(run(self.store.clone(), rx, self.stats.clone()));
        }
        let _ = self.worker.set(());
        true
    }

    /// Queues a row without waiting; drops (and counts) it when the queue is full.
    pub fn record(&self, row: SearchRecord) {
        if !self.ensure_worker() {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.tx.try_send(Msg::Row(row)) {
            Ok(()) => {
                self.stats.enqueued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until every row queued before this call is written (or has failed).
    pub async fn flush(&self) {
        if !self.ensure_worker() {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn run(store: Store, mut rx: mpsc::Receiver<Msg>, stats: Arc<SearchLogStats>) {
    let mut rows: Vec<SearchRecord> = Vec::with_capacity(BATCH);
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut msg = Some(first);
        // Collect for up to LINGER after the first row (or until a flush asks, or the batch
        // is full): under load one transaction then carries hundreds of rows instead of a
        // few, which is most of what analytics costs the server.
        let deadline = tokio::time::Instant::now() + LINGER;
        while let Some(m) = msg.take() {
            match m {
                Msg::Row(r) => rows.push(r),
                Msg::Flush(done) => waiting.push(done),
            }
            if rows.len() >= BATCH || !waiting.is_empty() {
                break;
            }
            msg = match rx.try_recv() {
                Ok(m) => Some(m),
                Err(_) => tokio::time::timeout_at(deadline, rx.recv())
                    .await
                    .ok()
                    .flatten(),
            };
        }
        // What arrived with the flush request is written with it.
        while rows.len() < BATCH
            && let Ok(m) = rx.try_recv()
        {
            match m {
                Msg::Row(r) => rows.push(r),
                Msg::Flush(done) => waiting.push(done),
            }
        }
        if !rows.is_empty() {
            let n = rows.len() as u64;
            match store.record_searches(&rows).await {
                Ok(w) => {
                    stats.written.fetch_add(w, Ordering::Relaxed);
                }
                Err(e) => {
                    stats.failed.fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(error = %e, rows = n, "search analytics: batch insert failed");
                }
            }
            stats.batches.fetch_add(1, Ordering::Relaxed);
            rows.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, q: &str) -> SearchRecord {
        SearchRecord {
            id,
            at: chrono::Utc::now(),
            q: q.into(),
            locale: None,
            channel: None,
            scope: "public",
            filters: "{}".into(),
            hits: 1,
            latency_us: 10,
        }
    }

    #[tokio::test]
    async fn ids_are_unique_and_positive() {
        let store = Store::open_sqlite_memory().await.unwrap();
        let log = SearchLog::new(store);
        let mut ids: Vec<i64> = (0..10_000).map(|_| log.next_id()).collect();
        // Positive and exact as a JavaScript number (at most 2^53 - 1).
        assert!(
            ids.iter().all(|&i| i > 0 && i < (1 << 53)),
            "{:?}",
            &ids[..3]
        );
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10_000);
    }

    #[tokio::test]
    async fn rows_are_written_in_batches_and_flush_waits() {
        let store = Store::open_sqlite_memory().await.unwrap();
        store.migrate().await.unwrap();
        let log = SearchLog::new(store.clone());
        for i in 0..1_000 {
            let id = log.next_id();
            log.record(row(id, if i % 2 == 0 { "宽带" } else { "sim" }));
        }
        log.flush().await;
        let s = log.stats();
        assert_eq!(
            s.written.load(Ordering::Relaxed) + s.dropped.load(Ordering::Relaxed),
            1_000
        );
        assert_eq!(s.failed.load(Ordering::Relaxed), 0);
        let a = store
            .search_analytics(chrono::Utc::now() - chrono::Duration::days(1), 10)
            .await
            .unwrap();
        assert_eq!(a.searches as u64, s.written.load(Ordering::Relaxed));
        assert!(s.batches.load(Ordering::Relaxed) >= 1);
    }

    #[tokio::test]
    async fn a_full_queue_drops_instead_of_blocking() {
        let store = Store::open_sqlite_memory().await.unwrap();
        store.migrate().await.unwrap();
        let log = SearchLog::new(store);
        // The worker cannot run while this single-threaded test does not yield, so the
        // queue fills up and the surplus is dropped at once.
        for _ in 0..QUEUE_CAPACITY + 100 {
            let id = log.next_id();
            log.record(row(id, "x"));
        }
        assert_eq!(log.stats().dropped.load(Ordering::Relaxed), 100);
        assert_eq!(log.queued(), QUEUE_CAPACITY);
        log.flush().await;
        assert_eq!(
            log.stats().written.load(Ordering::Relaxed),
            QUEUE_CAPACITY as u64
        );
    }
}
