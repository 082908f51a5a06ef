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

pub struct AppInner {
    pub kb: Kb,
    pub config: Config,
    pub metrics: Metrics,
    pub login_limiter: crate::api::session::LoginLimiter,
    /// Live events of this node's publisher (SSE).
    pub hub: crate::publish::Hub,
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
            kb,
            config,
            metrics: Metrics::default(),
            login_limiter: Default::default(),
            hub,
        }))
    }
}
