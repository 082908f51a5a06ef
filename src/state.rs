//! The shared application state handed to every handler.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::Config;
use crate::service::Kb;

/// Request counters for `/metrics` (Prometheus text format).
#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub responses_2xx: AtomicU64,
    pub responses_3xx: AtomicU64,
    pub responses_4xx: AtomicU64,
    pub responses_5xx: AtomicU64,
    pub request_micros: AtomicU64,
}

impl Metrics {
    pub fn record(&self, status: u16, micros: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.request_micros.fetch_add(micros, Ordering::Relaxed);
        let bucket = match status {
            200..=299 => &self.responses_2xx,
            300..=399 => &self.responses_3xx,
            400..=499 => &self.responses_4xx,
            _ => &self.responses_5xx,
        };
        bucket.fetch_add(1, Ordering::Relaxed);
    }
}

/// API keys verified recently: SHA-256 of the presented key -> (key id, when).
#[derive(Debug, Default)]
pub struct VerifiedKeys(
    parking_lot::Mutex<std::collections::HashMap<String, (i64, std::time::Instant)>>,
);

impl VerifiedKeys {
    const TTL: std::time::Duration = std::time::Duration::from_secs(300);

    pub fn fresh(&self, fingerprint: &str, key_id: i64) -> bool {
        self.0
            .lock()
            .get(fingerprint)
            .is_some_and(|(id, at)| *id == key_id && at.elapsed() < Self::TTL)
    }

    pub fn remember(&self, fingerprint: String, key_id: i64) {
        let mut map = self.0.lock();
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| at.elapsed() < Self::TTL);
        }
        map.insert(fingerprint, (key_id, std::time::Instant::now()));
    }
}

pub struct AppInner {
    pub kb: Kb,
    pub config: Config,
    pub metrics: Metrics,
    pub login_limiter: crate::api::session::LoginLimiter,
    /// Live events of this node's publisher (SSE).
    pub hub: crate::publish::Hub,
    pub verified_keys: VerifiedKeys,
    /// Search analytics, written in batches off the request path.
    pub search_log: crate::service::search_log::SearchLog,
}

#[derive(Clone)]
pub struct AppState(pub Arc<AppInner>);

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl AppState {
    pub fn new(kb: Kb, config: Config) -> Self {
        Self::with_hub(kb, config, Default::default())
    }

    pub fn with_hub(kb: Kb, config: Config, hub: crate::publish::Hub) -> Self {
        AppState(Arc::new(AppInner {
            search_log: crate::service::search_log::SearchLog::new(kb.store.clone()),
            kb,
            config,
            metrics: Metrics::default(),
            login_limiter: Default::default(),
            hub,
            verified_keys: Default::default(),
        }))
    }
}
