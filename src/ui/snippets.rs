//! Studio pages for reusable snippets: the list with "used by N articles", create and edit
//! forms with errors next to their fields, the review actions, and the impact preview —
//! every published article and channel the latest revision would change, with diffs —
//! shown before anyone approves it.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::studio::{FormData, form_get};
use super::{Ctx, Viewer, error_message, when};
use crate::error::AppError;
use crate::schema::FieldError;
use crate::service::snippets::{Impact, SnippetInput};
use crate::state::AppState;
use crate::store::Snippet;
use crate::workflow::Action;

/// Channels that may carry a variant, in the order the form shows them.
const VARIANT_CHANNELS: [&str; 5] = ["web", "ivr", "agent", "bot", "sms"];

fn input_from_form(form: &FormData) -> SnippetInput {
    let get = |k: &str| form_get(form, k).unwrap_or_default().to_string();
    SnippetInput {
        key: get("key").trim().to_string(),
        locale: get("locale").trim().to_string(),
        title: get("title"),
        say_as: Some(get("say_as")).filter(|s| !s.trim().is_empty()),
        variants: VARIANT_CHANNELS
            .iter()
            .filter_map(|c| {
                let v = get(&format!("variant_{c}"));
                (!v.trim().is_empty()).then(|| (c.to_string(), v))
            })
            .collect(),
        body: get("body"),
    }
}

#[derive(Serialize)]
struct ListRow {
    key: String,
    locale: String,
    title: String,
    state: String,
    published_revision: Option<i64>,
    latest_revision: i64,
    used_by: i64,
    updated: String,
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    match state.kb.list_snippets_with_usage(None).await {
        Ok(list) => {
            let rows: Vec<ListRow> = list
                .into_iter()
                .map(|s| ListRow {
                    updated: when(s.updated_at),
                    key: s.key,
                    locale: s.locale,
                    title: s.title,
                    state: s.state,
                    published_revision: s.published_revision,
                    latest_revision: s.latest_revision,
                    used_by: s.used_by,
                })
                .collect();
            let mut c = tera::Context::new();
            c.insert("rows", &rows);
            ctx.render(StatusCode::OK, "ui/studio_snippets.html", c)
        }
        Err(e) => ctx.error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &error_message(ctx.lang, &e.into()),
        ),
    }
}

/// Everything the snippet form page shows.
#[derive(Default)]
struct Page {
    snippet: Option<Snippet>,
    input: Option<SnippetInput>,
    errors: Vec<FieldError>,
    banner: Option<String>,
    status: Option<StatusCode>,
}

async fn render(state: &AppState, ctx: &Ctx, p: Page) -> Response {
    let mut c = tera::Context::new();
    c.insert("variant_channels", &VARIANT_CHANNELS);
    c.insert("banner", &p.banner);
    c.insert("done", &ctx.query("done"));
    let errors: std::collections::BTreeMap<String, String> = p
        .errors
        .iter()
        .map(|e| {
            let key = e.path.trim_start_matches('/').replace('/', "_");
            let msg = match ctx.lang {
                super::Lang::Zh => e.message_zh.clone(),
                super::Lang::En => e.message.clone(),
            };
            (key, msg)
        })
        .collect();
    c.insert("errors", &errors);
    let Some(s) = p.snippet else {
        c.insert("is_new", &true);
        c.insert(
            "input",
            &p.input.unwrap_or(SnippetInput {
                key: String::new(),
                locale: ctx.lang.code().into(),
                title: String::new(),
                say_as: None,
                variants: Default::default(),
                body: String::new(),
            }),
        );
        return ctx.render(
            p.status.unwrap_or(StatusCode::OK),
            "ui/studio_snippet.html",
            c,
        );
    };
    let detail = match state.kb.snippet_detail(&s).await {
        Ok(d) => d,
        Err(e) => {
            return ctx.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &error_message(ctx.lang, &e.into()),
            );
        }
    };
    let latest = detail.revisions.first();
    let input = p
        .input
        .or_else(|| latest.map(|r| SnippetInput::from_revision(&s, r)));
    c.insert("is_new", &false);
    c.insert("input", &input);
    c.insert("snippet", &s);
    c.insert(
        "latest_state",
        &latest.map(|r| r.state.as_str()).unwrap_or("draft"),
    );
    let revisions: Vec<(i64, &str, String, String)> = detail
        .revisions
        .iter()
        .map(|r| {
            (
                r.number,
                r.state.as_str(),
                r.body.clone(),
                when(r.created_at),
            )
        })
        .collect();
    c.insert("revisions", &revisions);
    let history: Vec<(String, String, String, String)> = detail
        .history
        .iter()
        .map(|h| {
            (
                when(h.at),
                h.actor.clone(),
                h.action.trim_start_matches("snippet.").to_string(),
                h.detail
                    .get("comment")
                    .and_then(|c| c.as_str())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    c.insert("history", &history);
    c.insert("used_by", &detail.used_by);
    // The impact preview: only when the latest revision is not the published one.
    let impact: Option<Impact> = if s.published_revision != Some(s.latest_revision) {
        match state.kb.snippet_impact(&s, None).await {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(snippet = %s.key, error = %e, "impact preview failed");
                None
            }
        }
    } else {
        None
    };
    c.insert("impact", &impact);
    ctx.render(
        p.status.unwrap_or(StatusCode::OK),
        "ui/studio_snippet.html",
        c,
    )
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    render(&state, &ctx, Page::default()).await
}

fn split_error(e: AppError, ctx: &Ctx) -> (Vec<FieldError>, Option<String>, StatusCode) {
    match e {
        AppError::Invalid(errs) => (errs, None, StatusCode::UNPROCESSABLE_ENTITY),
        other => {
            let status = other.status();
            (vec![], Some(error_message(ctx.lang, &other)), status)
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match ctx.require_post(form_get(&form, "_csrf")) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = input_from_form(&form);
    match state.kb.create_snippet(&input, &viewer.actor()).await {
        Ok((s, _)) => Redirect::to(&format!(
            "/studio/snippets/{}/{}?done=saved",
            s.locale, s.key
        ))
        .into_response(),
        Err(e) => {
            let (errors, banner, status) = split_error(e.into(), &ctx);
            let page = Page {
                input: Some(input),
                errors,
                banner,
                status: Some(status),
                ..Page::default()
            };
            render(&state, &ctx, page).await
        }
    }
}

async fn load(state: &AppState, locale: &str, key: &str) -> Option<Snippet> {
    state.kb.store.snippet(key, locale).await.ok().flatten()
}

/// The checks every snippet form POST makes first: logged in, CSRF token, snippet exists.
async fn posted(
    state: &AppState,
    ctx: &Ctx,
    form: &FormData,
    locale: &str,
    key: &str,
) -> Result<(Viewer, Snippet), Response> {
    let viewer = ctx.require_post(form_get(form, "_csrf"))?;
    let s = load(state, locale, key)
        .await
        .ok_or_else(|| ctx.not_found())?;
    Ok((viewer, s))
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((locale, key)): Path<(String, String)>,
) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    let Some(s) = load(&state, &locale, &key).await else {
        return ctx.not_found();
    };
    let page = Page {
        snippet: Some(s),
        ..Page::default()
    };
    render(&state, &ctx, page).await
}

pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((locale, key)): Path<(String, String)>,
    Form(form): Form<FormData>,
) -> Response {
    let (viewer, s) = match posted(&state, &ctx, &form, &locale, &key).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(base) = form_get(&form, "base_revision").and_then(|b| b.parse::<i64>().ok()) else {
        return ctx.error(StatusCode::BAD_REQUEST, "base_revision missing");
    };
    let mut input = input_from_form(&form);
    // Key and locale are fixed by the page, not the form.
    input.key = s.key.clone();
    input.locale = s.locale.clone();
    match state
        .kb
        .save_snippet_draft(&s, base, &input, &viewer.actor())
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/studio/snippets/{}/{}?done=saved",
            s.locale, s.key
        ))
        .into_response(),
        Err(e) => {
            let (errors, banner, status) = split_error(e.into(), &ctx);
            let page = Page {
                snippet: Some(s),
                input: Some(input),
                errors,
                banner,
                status: Some(status),
            };
            render(&state, &ctx, page).await
        }
    }
}

pub async fn transition(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((locale, key)): Path<(String, String)>,
    Form(form): Form<FormData>,
) -> Response {
    let (viewer, s) = match posted(&state, &ctx, &form, &locale, &key).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(action) = form_get(&form, "action").and_then(|a| a.parse::<Action>().ok()) else {
        return ctx.error(StatusCode::BAD_REQUEST, "unknown action");
    };
    let comment = form_get(&form, "comment")
        .map(str::trim)
        .filter(|c| !c.is_empty());
    match state
        .kb
        .snippet_transition(&s, action, comment, &viewer.actor())
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/studio/snippets/{}/{}?done={}",
            s.locale,
            s.key,
            action.as_str()
        ))
        .into_response(),
        Err(e) => {
            let (_, banner, status) = split_error(e.into(), &ctx);
            let page = Page {
                snippet: Some(s),
                banner,
                status: Some(status),
                ..Page::default()
            };
            render(&state, &ctx, page).await
        }
    }
}
