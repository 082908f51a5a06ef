//! Liveness, readiness and Prometheus metrics.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.kb.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(
                serde_json::json!({"status": "ready", "database": state.kb.store.backend_name()}),
            ),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
            )
        }
    }
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    let articles = state.kb.store.count_articles().await.unwrap_or(-1);
    let events = state.kb.store.last_event_seq().await.unwrap_or(-1);
    let mut out = String::new();
    out.push_str("# HELP omnikb_http_requests_total HTTP requests served.\n# TYPE omnikb_http_requests_total counter\n");
    for (class, v) in [
        ("2xx", &m.responses_2xx),
        ("3xx", &m.responses_3xx),
        ("4xx", &m.responses_4xx),
        ("5xx", &m.responses_5xx),
    ] {
        out.push_str(&format!(
            "omnikb_http_requests_total{{status=\"{class}\"}} {}\n",
            v.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP omnikb_http_request_duration_seconds_sum Total time spent serving requests.\n# TYPE omnikb_http_request_duration_seconds_sum counter\n");
    out.push_str(&format!(
        "omnikb_http_request_duration_seconds_sum {:.6}\n",
        m.request_micros.load(Ordering::Relaxed) as f64 / 1e6
    ));
    out.push_str(
        "# HELP omnikb_articles Articles in the database.\n# TYPE omnikb_articles gauge\n",
    );
    out.push_str(&format!("omnikb_articles {articles}\n"));
    out.push_str("# HELP omnikb_event_log_seq Sequence number of the newest event.\n# TYPE omnikb_event_log_seq gauge\n");
    out.push_str(&format!("omnikb_event_log_seq {events}\n"));
    let log = &state.search_log;
    let s = log.stats();
    out.push_str("# HELP omnikb_search_log_rows_total Search analytics rows by outcome (enqueued, written, dropped: queue full, failed: insert error).\n# TYPE omnikb_search_log_rows_total counter\n");
    for (outcome, v) in [
        ("enqueued", &s.enqueued),
        ("written", &s.written),
        ("dropped", &s.dropped),
        ("failed", &s.failed),
    ] {
        out.push_str(&format!(
            "omnikb_search_log_rows_total{{outcome=\"{outcome}\"}} {}\n",
            v.load(Ordering::Relaxed)
        ));
    }
    out.push_str("# HELP omnikb_search_log_batches_total Batch inserts of search analytics rows.\n# TYPE omnikb_search_log_batches_total counter\n");
    out.push_str(&format!(
        "omnikb_search_log_batches_total {}\n",
        s.batches.load(Ordering::Relaxed)
    ));
    out.push_str("# HELP omnikb_search_log_queued Search analytics rows waiting to be written.\n# TYPE omnikb_search_log_queued gauge\n");
    out.push_str(&format!("omnikb_search_log_queued {}\n", log.queued()));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
