//! Search, suggest, the bot answer, search analytics and synonyms.

use std::time::Instant;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::Caller;
use super::json::ApiJson;
use crate::domain::{Channel, Locale};
use crate::error::{AppError, AppResult};
use crate::search::{AudienceScope, Hit, SearchIndex, SearchRequest, SearchResponse, Suggestion};
use crate::state::AppState;

fn index(state: &AppState) -> AppResult<SearchIndex> {
    state
        .kb
        .search()
        .ok_or_else(|| AppError::Unavailable("this node has no search index".into()))
}

/// Internal content for agent/editor/admin callers, unless they ask for a customer channel.
fn scope(caller: &Caller, channel: Option<Channel>) -> AudienceScope {
    match channel {
        Some(c) if c.is_customer_facing() => AudienceScope::Public,
        _ if caller.sees_internal() => AudienceScope::Internal,
        _ => AudienceScope::Public,
    }
}

fn parse_locale(s: &Option<String>) -> AppResult<Option<Locale>> {
    s.as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<Locale>()
                .map_err(|e| AppError::BadRequest(e.message))
        })
        .transpose()
}

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    pub q: String,
    pub locale: Option<String>,
    pub channel: Option<String>,
    #[serde(rename = "type")]
    pub article_type: Option<String>,
    pub category: Option<String>,
    #[serde(default)]
    pub tag: Vec<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// Send back with `POST /api/v1/search/clicks` when a hit is opened (click-through).
    pub search_id: i64,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub response: SearchResponse,
}

/// `GET /api/v1/search`
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    params(("q" = String, Query), ("locale" = Option<String>, Query), ("channel" = Option<String>, Query), ("type" = Option<String>, Query), ("category" = Option<String>, Query), ("tag" = Option<Vec<String>>, Query), ("limit" = Option<usize>, Query), ("offset" = Option<usize>, Query)),
    responses((status = 200, body = SearchResult), (status = 400, body = crate::error::Problem)))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    axum_extra_query: axum::extract::RawQuery,
) -> AppResult<super::search_json::SearchJson> {
    // `tag` may repeat, which serde_urlencoded's struct form does not collect: parse by hand.
    let raw = axum_extra_query.0.unwrap_or_default();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&raw).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let q = SearchQuery {
        q: get("q").unwrap_or_default(),
        locale: get("locale"),
        channel: get("channel"),
        article_type: get("type"),
        category: get("category"),
        tag: pairs
            .iter()
            .filter(|(n, _)| n == "tag")
            .map(|(_, v)| v.clone())
            .collect(),
        limit: get("limit")
            .map(|v| {
                v.parse()
                    .map_err(|_| AppError::BadRequest("limit must be a number".into()))
            })
            .transpose()?,
        offset: get("offset")
            .map(|v| {
                v.parse()
                    .map_err(|_| AppError::BadRequest("offset must be a number".into()))
            })
            .transpose()?,
    };
    if q.q.chars().count() > 500 {
        return Err(AppError::BadRequest(
            "q must be at most 500 characters".into(),
        ));
    }
    let channel = q
        .channel
        .as_deref()
        .map(|c| {
            c.parse::<Channel>()
                .map_err(|e| AppError::BadRequest(e.message))
        })
        .transpose()?;
    let mut req = SearchRequest::new(q.q.clone(), scope(&caller, channel), state.kb.now());
    req.locale = parse_locale(&q.locale)?;
    req.article_type = q.article_type.clone();
    req.category = q.category.clone();
    req.tags = q.tag.clone();
    req.limit = q.limit.unwrap_or(10).clamp(1, 100);
    req.offset = q.offset.unwrap_or(0).min(10_000);
    let idx = index(&state)?;
    let synonyms = state.kb.synonyms();
    let started = Instant::now();
    let response = idx
        .search(&req, &synonyms)
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let latency = started.elapsed();
    // Recorded off the request path: the row is queued and written in a batch later.
    let search_id = state.search_log.next_id();
    state.search_log.record(crate::store::SearchRecord {
        id: search_id,
        at: state.kb.now(),
        q: q.q.trim().to_string(),
        locale: q.locale,
        channel: q.channel,
        scope: if req.scope == AudienceScope::Public {
            "public"
        } else {
            "internal"
        },
        filters: serde_json::json!({"type": q.article_type, "category": q.category, "tags": q.tag})
            .to_string(),
        hits: i64::try_from(response.total).unwrap_or(i64::MAX),
        latency_us: i64::try_from(latency.as_micros()).unwrap_or(i64::MAX),
    });
    Ok(super::search_json::SearchJson(SearchResult {
        search_id,
        response,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickRequest {
    pub search_id: i64,
    /// `KB-n`
    pub article_id: String,
}

/// `POST /api/v1/search/clicks`: a search result was opened.
#[utoipa::path(post, path = "/api/v1/search/clicks", request_body = ClickRequest, tag = "search", responses((status = 204)))]
pub async fn click(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<ClickRequest>,
) -> AppResult<StatusCode> {
    let id = crate::domain::ArticleId::parse(&req.article_id)
        .ok_or_else(|| AppError::BadRequest("article_id must look like KB-12".into()))?;
    // The search row may still be queued: write the queue first.
    state.search_log.flush().await;
    state
        .kb
        .store
        .record_click(req.search_id, id.0, state.kb.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct SuggestQuery {
    #[serde(default)]
    pub q: String,
    pub locale: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /api/v1/suggest`: title completions, including pinyin and pinyin initials.
#[utoipa::path(get, path = "/api/v1/suggest", tag = "search", params(("q" = String, Query), ("locale" = Option<String>, Query)), responses((status = 200, body = Object)))]
pub async fn suggest(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<SuggestQuery>,
) -> AppResult<axum::Json<Vec<Suggestion>>> {
    let locale = parse_locale(&q.locale)?;
    let idx = index(&state)?;
    let out = idx
        .suggest(
            &q.q,
            locale.as_ref(),
            scope(&caller, None),
            state.kb.now(),
            q.limit.unwrap_or(8).clamp(1, 20),
        )
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(axum::Json(out))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    pub question: String,
    #[serde(default)]
    pub locale: Option<String>,
    /// bot (default) or ivr: customer channels only.
    #[serde(default)]
    pub channel: Option<String>,
    /// Bot format: json (default), botframework, dialogflow, wechat.
    #[serde(default)]
    pub format: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Alternative {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub confidence: f32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnswerResponse {
    /// `answer` or `handoff` (no answer good enough: hand the customer to an agent).
    pub kind: &'static str,
    pub confidence: f32,
    pub threshold: f32,
    pub article: Option<Alternative>,
    /// The bot render of the best article (in the requested format).
    #[schema(value_type = Object)]
    pub answer: Option<serde_json::Value>,
    pub alternatives: Vec<Alternative>,
    pub handoff: Option<String>,
}

/// Answers below this confidence hand off instead (calibrated on the demo set, see
/// `tests/search_answer.rs`).
pub const ANSWER_THRESHOLD: f32 = 0.5;

/// A confidence in [0, 1] from how much of the question the hit covers and how far it
/// leads the runner-up. Coverage is the share of the question's terms found in the hit's
/// title, questions, summary or highlights; BM25 alone is not comparable across queries.
pub fn confidence(question_terms: &[String], hit_text: &str, top: f32, second: Option<f32>) -> f32 {
    if question_terms.is_empty() || top <= 0.0 {
        return 0.0;
    }
    let hay = hit_text.to_lowercase();
    let covered = question_terms
        .iter()
        .filter(|t| hay.contains(t.as_str()))
        .count() as f32
        / question_terms.len() as f32;
    let lead = match second {
        Some(s) if top > 0.0 => ((top - s) / top).clamp(0.0, 1.0),
        _ => 1.0,
    };
    (0.75 * covered + 0.25 * lead).clamp(0.0, 1.0)
}

/// The meaningful terms of a question (analysed like the index, stop-words dropped).
pub fn question_terms(q: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "怎么",
        "怎么办",
        "怎么样",
        "什么",
        "我",
        "我的",
        "你",
        "是",
        "在",
        "有",
        "要",
        "能",
        "可以",
        "如何",
        "请问",
        "一下",
        "the",
        "a",
        "an",
        "is",
        "are",
        "my",
        "i",
        "to",
        "do",
        "how",
        "what",
        "can",
        "of",
        "in",
        "on",
        "for",
        "it",
        "who",
        "why",
        "when",
        "does",
        "me",
    ];
    let mut analyzer = crate::search::analysis::omni_analyzer();
    let mut out: Vec<String> = crate::search::analysis::run(&mut analyzer, q)
        .into_iter()
        .map(|t| t.text)
        .filter(|t| !STOP.contains(&t.as_str()) && t.chars().any(|c| c.is_alphanumeric()))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn hit_text(h: &Hit) -> String {
    let mut s = h.title.clone();
    for x in &h.highlights {
        s.push(' ');
        s.push_str(&x.replace("<mark>", "").replace("</mark>", ""));
    }
    s
}

/// `POST /api/v1/answer`: the best article for a customer's question, rendered for the bot.
#[utoipa::path(post, path = "/api/v1/answer", request_body = AnswerRequest, tag = "search", responses((status = 200, body = AnswerResponse)))]
pub async fn answer(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<AnswerRequest>,
) -> AppResult<axum::Json<AnswerResponse>> {
    let question = req.question.trim();
    if question.is_empty() || question.chars().count() > 500 {
        return Err(AppError::BadRequest(
            "question must be 1 to 500 characters".into(),
        ));
    }
    let channel = match req.channel.as_deref() {
        None => Channel::Bot,
        Some(c) => c
            .parse::<Channel>()
            .map_err(|e| AppError::BadRequest(e.message))?,
    };
    if !channel.is_customer_facing() {
        return Err(AppError::BadRequest(
            "the answer endpoint serves customer channels (bot, ivr, web, sms)".into(),
        ));
    }
    let mut sreq = SearchRequest::new(question, AudienceScope::Public, state.kb.now());
    sreq.locale = parse_locale(&req.locale)?;
    sreq.limit = 4;
    let idx = index(&state)?;
    let res = idx
        .search(&sreq, &state.kb.synonyms())
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let terms = question_terms(question);
    let top = res.hits.first().map(|h| h.score).unwrap_or(0.0);
    let scored: Vec<Alternative> = res
        .hits
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let next = res.hits.get(i + 1).map(|n| n.score);
            let c = confidence(
                &terms,
                &hit_text(h),
                h.score,
                if i == 0 { next } else { Some(top) },
            );
            Alternative {
                id: h.id.clone(),
                slug: h.slug.clone(),
                title: h.title.clone(),
                confidence: (c * 100.0).round() / 100.0,
            }
        })
        .collect();
    let conf = scored.first().map(|b| b.confidence).unwrap_or(0.0);
    state.search_log.record(crate::store::SearchRecord {
        id: state.search_log.next_id(),
        at: state.kb.now(),
        q: question.to_string(),
        locale: req.locale.clone(),
        channel: Some(channel.as_str().to_string()),
        scope: "public",
        filters: serde_json::json!({"endpoint": "answer"}).to_string(),
        hits: i64::from(conf >= ANSWER_THRESHOLD),
        latency_us: 0,
    });
    if conf < ANSWER_THRESHOLD {
        let zh = sreq.locale.as_ref().is_some_and(|l| l.is_chinese())
            || question.chars().any(crate::search::analysis::is_cjk);
        return Ok(axum::Json(AnswerResponse {
            kind: "handoff",
            confidence: conf,
            threshold: ANSWER_THRESHOLD,
            article: None,
            answer: None,
            alternatives: scored
                .into_iter()
                .filter(|a| a.confidence >= ANSWER_THRESHOLD / 2.0)
                .take(3)
                .collect(),
            handoff: Some(if zh {
                "这个问题我暂时回答不了，正在为您转接人工客服。".into()
            } else {
                "I can't answer that reliably; let me connect you with an agent.".into()
            }),
        }));
    }
    let mut scored = scored.into_iter();
    let Some(best) = scored.next() else {
        return Err(AppError::Internal("no hit".into()));
    };
    let id = crate::domain::ArticleId::parse(&best.id)
        .ok_or_else(|| AppError::Internal("bad hit id".into()))?;
    let format = req.format.as_deref().unwrap_or("json");
    let rendered = state
        .kb
        .store
        .stored_render(id, Channel::Bot.as_str(), format)
        .await?;
    let mut answer = match rendered {
        Some(r) => serde_json::from_str::<serde_json::Value>(&r.body)
            .unwrap_or(serde_json::Value::String(r.body)),
        None => {
            return Err(AppError::NotFound(format!(
                "no '{format}' bot render of {id}"
            )));
        }
    };
    if let Some(obj) = answer.as_object_mut()
        && format == "json"
    {
        obj.insert(
            "match".into(),
            serde_json::json!({"confidence": conf, "query": question}),
        );
    }
    let mut alternatives: Vec<Alternative> = scored.take(3).collect();
    alternatives.retain(|a| a.confidence >= ANSWER_THRESHOLD / 2.0);
    Ok(axum::Json(AnswerResponse {
        kind: "answer",
        confidence: conf,
        threshold: ANSWER_THRESHOLD,
        article: Some(Alternative {
            id: best.id.clone(),
            slug: best.slug.clone(),
            title: best.title.clone(),
            confidence: conf,
        }),
        answer: Some(answer),
        alternatives,
        handoff: None,
    }))
}

#[derive(Debug, Deserialize)]
pub struct AnalyticsQuery {
    pub days: Option<i64>,
    pub limit: Option<i64>,
}

/// `GET /api/v1/analytics/searches`: top queries, zero-result queries, click-through.
#[utoipa::path(get, path = "/api/v1/analytics/searches", tag = "search", params(("days" = Option<i64>, Query), ("limit" = Option<i64>, Query)), responses((status = 200, body = crate::store::SearchAnalytics)))]
pub async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<AnalyticsQuery>,
) -> AppResult<axum::Json<crate::store::SearchAnalytics>> {
    caller.require_editor()?;
    // Searches still queued (the writer batches them) count too.
    state.search_log.flush().await;
    let since = state.kb.now() - chrono::Duration::days(q.days.unwrap_or(30).clamp(1, 3650));
    Ok(axum::Json(
        state
            .kb
            .store
            .search_analytics(since, q.limit.unwrap_or(20).clamp(1, 200))
            .await?,
    ))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct SynonymSetView {
    pub locale: String,
    pub terms: Vec<String>,
}

/// `GET /api/v1/synonyms`
#[utoipa::path(get, path = "/api/v1/synonyms", tag = "search", responses((status = 200, body = [SynonymSetView])))]
pub async fn synonyms(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<axum::Json<Vec<SynonymSetView>>> {
    caller.require_editor()?;
    Ok(axum::Json(
        state
            .kb
            .store
            .synonym_sets()
            .await?
            .into_iter()
            .map(|s| SynonymSetView {
                locale: s.locale,
                terms: s.terms,
            })
            .collect(),
    ))
}

/// `PUT /api/v1/synonyms`: replaces every set; applies at once, no reindex.
#[utoipa::path(put, path = "/api/v1/synonyms", request_body = [SynonymSetView], tag = "search", responses((status = 204)))]
pub async fn put_synonyms(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(sets): ApiJson<Vec<SynonymSetView>>,
) -> AppResult<StatusCode> {
    let actor = caller.actor()?;
    let sets: Vec<(String, Vec<String>)> = sets.into_iter().map(|s| (s.locale, s.terms)).collect();
    state
        .kb
        .replace_synonym_sets(&actor, &sets)
        .await
        .map_err(crate::service::admin::as_bad_request)?;
    Ok(StatusCode::NO_CONTENT)
}
