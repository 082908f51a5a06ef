//! `GET /api/v1/events`: Server-Sent Events of publish events, resumable with
//! `Last-Event-ID` (or `?after=SEQ`), with keep-alives.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Deserialize;

use crate::error::AppResult;
use crate::state::AppState;
use crate::store::{Event, EventKind};

#[derive(Debug, Deserialize)]
pub struct EventsQuery {
    pub after: Option<i64>,
}

/// Events integrations and the agent panel care about.
fn visible(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Published
            | EventKind::Unpublished
            | EventKind::Expired
            | EventKind::Effective
            | EventKind::Rerendered
            | EventKind::SnippetPublished
    )
}

fn to_sse(e: &Event) -> SseEvent {
    let data = serde_json::json!({
        "seq": e.seq,
        "kind": e.kind.as_str(),
        "article_id": e.article_id.map(|a| a.display()),
        "locale": e.locale,
        "revision": e.revision,
        "at": e.at,
        "channels": if e.kind.changes_channels() { vec!["web", "ivr", "agent", "bot", "sms"] } else { vec![] },
    });
    SseEvent::default()
        .id(e.seq.to_string())
        .event(e.kind.as_str())
        .data(data.to_string())
}

#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("Last-Event-ID" = Option<String>, Header, description = "resume after this event"), ("after" = Option<i64>, Query, description = "resume after this event")),
    responses((status = 200, description = "text/event-stream of publish events; event id = sequence number")))]
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> AppResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(q.after);
    // Subscribe before replaying so nothing falls between the replay and live events.
    let mut live = state.hub.subscribe();
    let after = match resume {
        Some(seq) => seq,
        // A new subscriber starts at what this node has applied.
        None => state.hub.applied(),
    };
    let store = state.kb.store.clone();
    let hub = state.hub.clone();
    let stream = async_stream::stream! {
        let mut last = after;
        // Replay from the log what this node has already applied (so renders and the
        // index are ready when the client reacts), then follow live.
        loop {
            let applied = hub.applied();
            if last >= applied {
                break;
            }
            let batch = match store.events_after(last, 500).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "SSE replay failed");
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            for e in batch.iter().filter(|e| e.seq <= applied) {
                last = e.seq;
                if visible(e.kind) {
                    yield Ok(to_sse(e));
                }
            }
        }
        loop {
            match live.recv().await {
                Ok(e) if e.seq > last => {
                    last = e.seq;
                    if visible(e.kind) {
                        yield Ok(to_sse(&e));
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Too slow: fill the gap from the log.
                    if let Ok(batch) = store.events_after(last, 1000).await {
                        for e in &batch {
                            last = e.seq;
                            if visible(e.kind) {
                                yield Ok(to_sse(e));
                            }
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(
        KeepAlive::new()
            .interval(Duration::from_secs(15))
            .text("keep-alive"),
    ))
}
