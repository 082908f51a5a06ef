//! omnikb: one structured source of contact-center knowledge, published once and rendered
//! for every channel (web portal, IVR, agent desk, chat-bots, SMS).
//!
//! Map of the crate (see `ARCHITECTURE.md`):
//! - [`domain`]: the vocabulary (articles, revisions, locales, channels, roles);
//! - [`content`]: Markdown + front matter -> the channel-neutral [`content::Doc`];
//! - [`schema`]: content schemas and field validation;
//! - [`workflow`]: the pure transition policy;
//! - [`render`]: one renderer per channel;
//! - [`store`]: SQLite / PostgreSQL storage, event log, audit log;
//! - [`search`]: the tantivy index;
//! - [`publish`]: from an approved change to every channel;
//! - [`api`], [`ui`]: HTTP; [`cli`]: the `omnikb` command.

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod content;
pub mod demo;
pub mod domain;
pub mod error;
pub mod lint;
pub mod publish;
pub mod render;
pub mod schema;
pub mod search;
pub mod service;
pub mod state;
pub mod store;
pub mod ui;
pub mod util;
pub mod watch;
pub mod workflow;

use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::limit::RequestBodyLimitLayer;

use crate::state::AppState;

/// The whole HTTP application; tests drive it without a socket.
pub fn build_router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    api::router()
        .merge(ui::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            record_metrics,
        ))
        .layer(RequestBodyLimitLayer::new(limit))
        .with_state(state)
}

async fn record_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let res = next.run(req).await;
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.metrics.record(res.status().as_u16(), micros);
    res
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let served = axum::serve(listener, build_router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    // Searches still queued for analytics are written before the node stops.
    state.search_log.flush().await;
    served
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
