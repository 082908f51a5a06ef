//! The authoring studio: login, article list, schema-generated forms, previews,
//! workflow actions, review queue, history and diffs, minimal admin lists.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::content::{self, esc};
use super::{Ctx, Lang, Viewer, error_message, when};
use crate::domain::{Article, ArticleId, Channel, Revision, RevisionState, Role};
use crate::error::AppError;
use crate::schema::{ContentSchema, FieldError};
use crate::service::authoring::ArticleInput;
use crate::state::AppState;
use crate::store::ArticleFilter;
use crate::workflow::Action;

pub(super) type FormData = Vec<(String, String)>;

pub(super) fn form_get<'a>(form: &'a FormData, key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

// ---------------------------------------------------------------- login

pub async fn login_page(ctx: Ctx) -> Response {
    login_view(&ctx, StatusCode::OK, None, "")
}

fn login_view(ctx: &Ctx, status: StatusCode, error: Option<&str>, name: &str) -> Response {
    let mut c = tera::Context::new();
    c.insert("error", &error);
    c.insert("name", name);
    c.insert("next", &safe_next(ctx.query("next")));
    ctx.render(status, "ui/login.html", c)
}

/// Only local paths are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/studio".into(),
    }
}

pub async fn login_submit(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<FormData>,
) -> Response {
    let name = form_get(&form, "name")
        .unwrap_or_default()
        .trim()
        .to_string();
    let password = form_get(&form, "password").unwrap_or_default();
    if !ctx.csrf_ok(form_get(&form, "_csrf")) && ctx.viewer.is_none() {
        return login_view(
            &ctx,
            StatusCode::FORBIDDEN,
            Some(ctx.t("csrf_failed")),
            &name,
        );
    }
    let addr = crate::api::session::client_addr(&headers);
    match crate::api::session::open_session(&state, &name, password, addr).await {
        Ok((cookie, _)) => {
            let next = safe_next(form_get(&form, "next"));
            let mut res = Redirect::to(&next).into_response();
            ctx.secure(&mut res);
            super::with_cookie(res, &cookie)
        }
        Err(AppError::TooManyRequests(_)) => login_view(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            Some(ctx.t("login_limited")),
            &name,
        ),
        Err(AppError::Unauthorized) => login_view(
            &ctx,
            StatusCode::UNAUTHORIZED,
            Some(ctx.t("login_failed")),
            &name,
        ),
        Err(e) => ctx.error(e.status(), &error_message(ctx.lang, &e)),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<FormData>,
) -> Response {
    if ctx.viewer.is_some() && !ctx.csrf_ok(form_get(&form, "_csrf")) {
        return ctx.error(StatusCode::FORBIDDEN, ctx.t("csrf_failed"));
    }
    if let Some(token) = crate::api::session::session_token(&headers) {
        let _ = state
            .kb
            .store
            .delete_session(&crate::auth::session_hash(&token))
            .await;
    }
    super::with_cookie(
        Redirect::to("/studio/login").into_response(),
        &super::clear_session_cookie(),
    )
}

// ---------------------------------------------------------------- list

#[derive(Serialize)]
struct Row {
    id: String,
    title: String,
    slug: String,
    locale: String,
    article_type: String,
    state: String,
    category: String,
    audience: String,
    updated: String,
    review_due: bool,
    expired: bool,
    published: bool,
}

fn type_labels(state: &AppState, lang: Lang) -> Vec<(String, String)> {
    state
        .kb
        .schemas()
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                lang.pick(&s.rules.label, &s.name).to_string(),
            )
        })
        .collect()
}

pub async fn list(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    let filter = ArticleFilter {
        locale: ctx.query("locale").map(str::to_string),
        article_type: ctx.query("type").map(str::to_string),
        state: ctx.query("state").and_then(|s| s.parse().ok()),
        category_prefix: ctx.query("category").map(str::to_string),
        ..Default::default()
    };
    let list = match state.kb.store.list_articles(&filter).await {
        Ok(l) => l,
        Err(e) => return ctx.error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let now = state.kb.now();
    let text = ctx.query("q").map(str::to_lowercase);
    let due_only = ctx.query("due").is_some();
    let expired_only = ctx.query("expired").is_some();
    let rows: Vec<Row> = list
        .into_iter()
        .map(|s| Row {
            id: s.article.id.display(),
            title: s.title.clone(),
            slug: s.article.slug.to_string(),
            locale: s.article.locale.to_string(),
            article_type: s.article.article_type.clone(),
            state: s.state.as_str().into(),
            category: s.category.clone().unwrap_or_default(),
            audience: s.audience.clone(),
            updated: when(s.article.updated_at),
            review_due: s.review_by.is_some_and(|t| t <= now),
            expired: s.expires_at.is_some_and(|t| t <= now),
            published: s.article.published_revision.is_some(),
        })
        .filter(|r| {
            text.as_ref().is_none_or(|q| {
                r.title.to_lowercase().contains(q.as_str()) || r.slug.contains(q.as_str())
            })
        })
        .filter(|r| !due_only || r.review_due)
        .filter(|r| !expired_only || r.expired)
        .collect();
    let mut c = tera::Context::new();
    c.insert("rows", &rows);
    c.insert("types", &type_labels(&state, ctx.lang));
    c.insert(
        "states",
        &RevisionState::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    );
    let f: BTreeMap<&str, &str> = ["state", "type", "locale", "category", "q", "due", "expired"]
        .into_iter()
        .map(|k| (k, ctx.query(k).unwrap_or_default()))
        .collect();
    c.insert("f", &f);
    ctx.render(StatusCode::OK, "ui/studio_list.html", c)
}

// ---------------------------------------------------------------- forms

#[derive(Serialize, Clone)]
struct FieldView {
    name: String,
    label: String,
    /// text, textarea, list, select, date, markdown
    widget: String,
    required: bool,
    value: String,
    options: Vec<(String, String)>,
    hint: String,
    internal: bool,
    readonly: bool,
    error: Option<String>,
}

impl FieldView {
    fn new(name: &str, label: &str, widget: &str) -> Self {
        FieldView {
            name: name.into(),
            label: label.into(),
            widget: widget.into(),
            required: false,
            value: String::new(),
            options: vec![],
            hint: String::new(),
            internal: false,
            readonly: false,
            error: None,
        }
    }
}

fn widget_of(rules: &crate::schema::FieldRules, raw: &serde_json::Value) -> &'static str {
    match rules.widget.as_deref() {
        Some("list") => "list",
        Some("textarea") => "textarea",
        _ if raw.get("type").and_then(|t| t.as_str()) == Some("array") => "list",
        _ if raw
            .get("maxLength")
            .and_then(|m| m.as_u64())
            .is_some_and(|m| m > 500) =>
        {
            "textarea"
        }
        _ => "text",
    }
}

/// The form's fields, generated from the content schema, with values and errors.
fn form_fields(
    ctx: &Ctx,
    schema: &ContentSchema,
    values: &BTreeMap<String, String>,
    errors: &BTreeMap<String, String>,
    existing: bool,
) -> Vec<FieldView> {
    let lang = ctx.lang;
    let mut out = Vec::new();
    let mut push = |mut f: FieldView| {
        f.value = values.get(&f.name).cloned().unwrap_or(f.value);
        f.error = errors.get(&f.name).cloned();
        out.push(f);
    };
    let mut title = FieldView::new("title", ctx.t("title"), "text");
    title.required = true;
    push(title);
    let mut slug = FieldView::new("slug", ctx.t("slug"), "text");
    slug.required = true;
    slug.readonly = existing;
    slug.hint = "a-z 0-9 -".into();
    push(slug);
    let mut locale = FieldView::new("locale", ctx.t("locale"), "select");
    locale.options = vec![
        ("zh-CN".into(), "中文 (zh-CN)".into()),
        ("en".into(), "English (en)".into()),
    ];
    locale.value = lang.code().into();
    locale.readonly = existing;
    push(locale);
    let mut tk = FieldView::new("translation_key", ctx.t("translation_key"), "text");
    tk.readonly = existing;
    push(tk);
    push(FieldView::new("category", ctx.t("category"), "text"));
    push(FieldView::new("tags", ctx.t("tags"), "text"));
    let mut aud = FieldView::new("audience", ctx.t("audience"), "select");
    aud.options = vec![
        ("public".into(), ctx.t("audience_public").into()),
        ("internal".into(), ctx.t("audience_internal").into()),
    ];
    aud.value = "public".into();
    push(aud);
    for key in ["effective_from", "expires_at", "review_by"] {
        let mut d = FieldView::new(key, ctx.t(key), "date");
        d.hint = "2026-01-01".into();
        push(d);
    }
    for (name, rules, raw) in &schema.fields {
        let mut f = FieldView::new(
            &format!("f.{name}"),
            lang.pick(&rules.label, name),
            widget_of(rules, raw),
        );
        f.required = schema.required.contains(name);
        f.internal = rules.internal;
        if f.widget == "list" {
            f.hint = ctx.t("one_per_line").into();
        }
        push(f);
    }
    let mut body = FieldView::new(
        "body",
        lang.pick(&schema.rules.body.label, ctx.t("body")),
        "markdown",
    );
    body.required = schema.rules.body.required;
    body.hint = ctx.t("markdown_hint").into();
    push(body);
    out
}

/// The form name a field error belongs to (`/fields/issue/0` -> `f.issue`).
fn error_target(e: &FieldError) -> String {
    let mut parts = e.path.trim_start_matches('/').split('/');
    match parts.next() {
        Some("fields") => match parts.next() {
            Some(f) if !f.is_empty() => format!("f.{f}"),
            _ => format!("f.{}", e.field),
        },
        Some(top) if !top.is_empty() => top.to_string(),
        _ => e.field.clone(),
    }
}

fn values_of_input(input: &ArticleInput) -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("title".into(), input.title.clone());
    v.insert("slug".into(), input.slug.clone());
    v.insert("locale".into(), input.locale.clone());
    let opt = |o: &Option<String>| o.clone().unwrap_or_default();
    v.insert("translation_key".into(), opt(&input.translation_key));
    v.insert("category".into(), opt(&input.category));
    v.insert("tags".into(), input.tags.join(", "));
    v.insert("audience".into(), opt(&input.audience));
    v.insert("effective_from".into(), opt(&input.effective_from));
    v.insert("expires_at".into(), opt(&input.expires_at));
    v.insert("review_by".into(), opt(&input.review_by));
    for (k, val) in &input.fields {
        let text = match val {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        };
        v.insert(format!("f.{k}"), text);
    }
    v.insert("body".into(), input.body.clone());
    v
}

fn input_from_form(form: &FormData, schema: &ContentSchema) -> ArticleInput {
    let get = |k: &str| {
        form_get(form, k)
            .map(|v| v.replace("\r\n", "\n").trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut fields = serde_json::Map::new();
    for (name, rules, raw) in &schema.fields {
        let Some(v) = get(&format!("f.{name}")) else {
            continue;
        };
        let value = if widget_of(rules, raw) == "list" {
            serde_json::Value::Array(
                v.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| serde_json::Value::String(l.into()))
                    .collect(),
            )
        } else {
            match raw.get("type").and_then(|t| t.as_str()) {
                Some("integer") | Some("number") => v
                    .parse::<serde_json::Number>()
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::String(v)),
                Some("boolean") => serde_json::Value::Bool(v == "true" || v == "on"),
                _ => serde_json::Value::String(v),
            }
        };
        fields.insert(name.clone(), value);
    }
    ArticleInput {
        slug: get("slug").unwrap_or_default(),
        article_type: schema.name.clone(),
        locale: get("locale").unwrap_or_else(|| "zh-CN".into()),
        title: get("title").unwrap_or_default(),
        translation_key: get("translation_key"),
        category: get("category"),
        tags: get("tags")
            .map(|t| {
                t.split([',', '，', '、'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        audience: get("audience"),
        effective_from: get("effective_from"),
        expires_at: get("expires_at"),
        review_by: get("review_by"),
        confidence: None,
        fields,
        body: form_get(form, "body")
            .map(|b| b.replace("\r\n", "\n"))
            .unwrap_or_default(),
    }
}

struct FormPage<'a> {
    schema: &'a ContentSchema,
    values: BTreeMap<String, String>,
    errors: Vec<FieldError>,
    article: Option<&'a Article>,
    base_revision: Option<i32>,
    banner: Option<String>,
    conflict_latest: Option<i64>,
}

fn render_form(ctx: &Ctx, status: StatusCode, p: FormPage<'_>) -> Response {
    let mut by_field = BTreeMap::new();
    for e in &p.errors {
        let msg = if ctx.lang == Lang::Zh {
            e.message_zh.clone()
        } else {
            e.message.clone()
        };
        by_field
            .entry(error_target(e))
            .and_modify(|m: &mut String| {
                m.push('；');
                m.push_str(&msg);
            })
            .or_insert(msg);
    }
    let fields = form_fields(ctx, p.schema, &p.values, &by_field, p.article.is_some());
    let shown: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let general: Vec<String> = by_field
        .iter()
        .filter(|(k, _)| !shown.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let mut c = tera::Context::new();
    c.insert("fields", &fields);
    c.insert("general_errors", &general);
    c.insert("has_errors", &!p.errors.is_empty());
    c.insert("type_name", &p.schema.name);
    c.insert(
        "type_label",
        ctx.lang.pick(&p.schema.rules.label, &p.schema.name),
    );
    c.insert("article_id", &p.article.map(|a| a.id.display()));
    c.insert("base_revision", &p.base_revision);
    c.insert("banner", &p.banner);
    c.insert("conflict_latest", &p.conflict_latest);
    ctx.render(status, "ui/studio_form.html", c)
}

pub async fn new_form(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    let schemas = state.kb.schemas();
    let Some(schema) = ctx.query("type").and_then(|t| schemas.get(t).ok()) else {
        let mut c = tera::Context::new();
        c.insert("types", &type_labels(&state, ctx.lang));
        return ctx.render(StatusCode::OK, "ui/studio_types.html", c);
    };
    render_form(
        &ctx,
        StatusCode::OK,
        FormPage {
            schema,
            values: BTreeMap::new(),
            errors: vec![],
            article: None,
            base_revision: None,
            banner: None,
            conflict_latest: None,
        },
    )
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
    let schemas = state.kb.schemas();
    let Some(schema) = form_get(&form, "type").and_then(|t| schemas.get(t).ok()) else {
        return Redirect::to("/studio/new").into_response();
    };
    let input = input_from_form(&form, schema);
    match state.kb.create_article(&input, &viewer.actor()).await {
        Ok((article, _)) => {
            Redirect::to(&format!("/studio/a/{}?done=created", article.id.display()))
                .into_response()
        }
        Err(e) => {
            let e: AppError = e.into();
            let (errors, banner) = match e {
                AppError::Invalid(errs) => (errs, None),
                other => (vec![], Some(error_message(ctx.lang, &other))),
            };
            let status = if errors.is_empty() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render_form(
                &ctx,
                status,
                FormPage {
                    schema,
                    values: values_of_input(&input),
                    errors,
                    article: None,
                    base_revision: None,
                    banner,
                    conflict_latest: None,
                },
            )
        }
    }
}

async fn load(state: &AppState, id: &str) -> Option<Article> {
    let id = ArticleId::parse(id)?;
    state.kb.store.article(id).await.ok().flatten()
}

pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    let Some(article) = load(&state, &id).await else {
        return ctx.not_found();
    };
    let Ok(rev) = state
        .kb
        .revision_of(article.id, article.latest_revision)
        .await
    else {
        return ctx.not_found();
    };
    let schemas = state.kb.schemas();
    let Ok(schema) = schemas.get(&article.article_type) else {
        return ctx.not_found();
    };
    render_form(
        &ctx,
        StatusCode::OK,
        FormPage {
            schema,
            values: values_of_input(&ArticleInput::from_revision(&article, &rev)),
            errors: vec![],
            article: Some(&article),
            base_revision: Some(rev.number),
            banner: None,
            conflict_latest: None,
        },
    )
}

pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match ctx.require_post(form_get(&form, "_csrf")) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(article) = load(&state, &id).await else {
        return ctx.not_found();
    };
    let schemas = state.kb.schemas();
    let Ok(schema) = schemas.get(&article.article_type) else {
        return ctx.not_found();
    };
    let base: i32 = form_get(&form, "base_revision")
        .and_then(|b| b.parse().ok())
        .unwrap_or(article.latest_revision);
    let mut input = input_from_form(&form, schema);
    // Identity fields cannot change on an existing article.
    input.slug = article.slug.to_string();
    input.locale = article.locale.to_string();
    input.translation_key = Some(article.translation_key.clone());
    match state
        .kb
        .save_draft(article.id, base, &input, &viewer.actor())
        .await
    {
        Ok(_) => {
            Redirect::to(&format!("/studio/a/{}?done=saved", article.id.display())).into_response()
        }
        Err(e) => {
            let e: AppError = e.into();
            let (status, errors, banner, latest) = match e {
                AppError::Invalid(errs) => (StatusCode::UNPROCESSABLE_ENTITY, errs, None, None),
                AppError::Conflict {
                    latest, base: b, ..
                } => {
                    let latest_n = latest.unwrap_or(i64::from(article.latest_revision));
                    let msg = ctx
                        .t("conflict")
                        .replace("{latest}", &latest_n.to_string())
                        .replace("{base}", &b.unwrap_or(i64::from(base)).to_string());
                    (StatusCode::CONFLICT, vec![], Some(msg), Some(latest_n))
                }
                other => (
                    other.status(),
                    vec![],
                    Some(error_message(ctx.lang, &other)),
                    None,
                ),
            };
            render_form(
                &ctx,
                status,
                FormPage {
                    schema,
                    values: values_of_input(&input),
                    errors,
                    article: Some(&article),
                    base_revision: Some(base),
                    banner,
                    conflict_latest: latest,
                },
            )
        }
    }
}

// ---------------------------------------------------------------- previews

#[derive(Serialize)]
pub struct PreviewItem {
    format: String,
    /// frame, text, bubbles, html
    kind: &'static str,
    content: String,
    bubbles: Vec<String>,
}

#[derive(Serialize)]
pub struct Preview {
    channel: &'static str,
    label: &'static str,
    fallback: bool,
    items: Vec<PreviewItem>,
    warnings: Vec<String>,
    speak: Option<String>,
    speak_lang: String,
}

fn frame_doc(lang: &str, inner: &str) -> String {
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><style>body{{font-family:system-ui,sans-serif;margin:12px;line-height:1.5}}.internal-notes{{background:#fff4d6;border-left:4px solid #c77700;padding:8px}}</style></head><body>{}</body></html>",
        esc(lang),
        inner
    )
}

static SSML_TAG: once_cell::sync::Lazy<regex::Regex> =
    once_cell::sync::Lazy::new(|| regex::Regex::new(r"<[^>]+>").expect("valid regex"));

/// One preview per channel: the renderers' output when installed, else a simple view.
pub async fn previews(
    state: &AppState,
    article: &Article,
    rev: &Revision,
    lang: Lang,
) -> Vec<Preview> {
    let renders = match state.kb.render_revision(article, rev).await {
        Ok((r, _)) => r,
        Err(e) => {
            tracing::warn!(error = %e, "preview render failed");
            vec![]
        }
    };
    let snippets = state
        .kb
        .snippet_values(article.locale.as_str())
        .await
        .unwrap_or_default();
    let schemas = state.kb.schemas();
    let schema = schemas.get(&article.article_type).ok();
    let loc = article.locale.as_str();
    let channels = [
        (Channel::Web, "ch_web"),
        (Channel::Ivr, "ch_ivr"),
        (Channel::Agent, "ch_agent"),
        (Channel::Bot, "ch_bot"),
        (Channel::Sms, "ch_sms"),
    ];
    let mut out = Vec::new();
    for (channel, key) in channels {
        let mine: Vec<_> = renders.iter().filter(|r| r.channel == channel).collect();
        let mut p = Preview {
            channel: channel.as_str(),
            label: super::i18n::t(lang, key),
            fallback: mine.is_empty(),
            items: vec![],
            warnings: vec![],
            speak: None,
            speak_lang: loc.to_string(),
        };
        if mine.is_empty() {
            match channel {
                Channel::Web => {
                    if let Some(s) = schema {
                        p.items.push(PreviewItem {
                            format: "html".into(),
                            kind: "frame",
                            content: frame_doc(
                                loc,
                                &content::web_fragment(s, rev, &snippets, lang),
                            ),
                            bubbles: vec![],
                        });
                    }
                }
                Channel::Agent => {
                    if let Some(s) = schema {
                        p.items.push(PreviewItem {
                            format: "html".into(),
                            kind: "frame",
                            content: frame_doc(
                                loc,
                                &content::agent_fragment(s, rev, &snippets, lang),
                            ),
                            bubbles: vec![],
                        });
                    }
                }
                Channel::Ivr => {
                    let text = content::ivr_text(rev, &snippets);
                    p.speak = Some(text.clone());
                    p.items.push(PreviewItem {
                        format: "text".into(),
                        kind: "text",
                        content: text,
                        bubbles: vec![],
                    });
                }
                Channel::Bot => p.items.push(PreviewItem {
                    format: "text".into(),
                    kind: "bubbles",
                    content: String::new(),
                    bubbles: content::bot_bubbles(rev, &snippets),
                }),
                Channel::Sms => p.items.push(PreviewItem {
                    format: "text".into(),
                    kind: "text",
                    content: content::sms_text(rev, &snippets),
                    bubbles: vec![],
                }),
            }
        }
        for r in mine {
            p.warnings.extend(
                r.warnings
                    .iter()
                    .map(|w| format!("{}: {}", w.code, w.message)),
            );
            let is_html = r.media_type.contains("html");
            let item = if is_html {
                PreviewItem {
                    format: r.format.clone(),
                    kind: "frame",
                    content: if r.body.to_ascii_lowercase().contains("<html") {
                        r.body.clone()
                    } else {
                        frame_doc(loc, &r.body)
                    },
                    bubbles: vec![],
                }
            } else if channel == Channel::Bot && r.format == "json" {
                // The bot's answer chunks, as chat bubbles.
                let v: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
                let bubbles: Vec<String> = v
                    .get("chunks")
                    .and_then(|c| c.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.get("text").and_then(|t| t.as_str()))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if bubbles.is_empty() {
                    PreviewItem {
                        format: r.format.clone(),
                        kind: "text",
                        content: r.body.clone(),
                        bubbles: vec![],
                    }
                } else {
                    PreviewItem {
                        format: r.format.clone(),
                        kind: "bubbles",
                        content: String::new(),
                        bubbles,
                    }
                }
            } else if channel == Channel::Bot && r.format == "text" {
                PreviewItem {
                    format: r.format.clone(),
                    kind: "bubbles",
                    content: String::new(),
                    bubbles: r
                        .body
                        .split("\n\n")
                        .filter(|b| !b.trim().is_empty())
                        .map(str::to_string)
                        .collect(),
                }
            } else {
                PreviewItem {
                    format: r.format.clone(),
                    kind: "text",
                    content: r.body.clone(),
                    bubbles: vec![],
                }
            };
            if channel == Channel::Ivr && (p.speak.is_none() || r.format == "text") {
                let spoken = SSML_TAG.replace_all(&r.body, " ").to_string();
                p.speak = Some(spoken);
            }
            p.items.push(item);
        }
        if channel == Channel::Ivr {
            spoken_first(&mut p);
        }
        out.push(p);
    }
    p_dedup_warnings(&mut out);
    out
}

/// The IVR preview starts with the spoken script (what the caller hears), plain text
/// whatever formats the renderer produced (SSML, VXML); the "listen" button speaks it.
fn spoken_first(p: &mut Preview) {
    let Some(speak) = p.speak.as_mut() else {
        return;
    };
    let tidy: Vec<String> = speak
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect();
    *speak = tidy.join("\n");
    if let Some(i) = p
        .items
        .iter()
        .position(|it| it.kind == "text" && it.format == "text")
    {
        let item = p.items.remove(i);
        p.items.insert(0, item);
    } else {
        p.items.insert(
            0,
            PreviewItem {
                format: "text".into(),
                kind: "text",
                content: speak.clone(),
                bubbles: vec![],
            },
        );
    }
}

fn p_dedup_warnings(list: &mut [Preview]) {
    for p in list {
        p.warnings.sort();
        p.warnings.dedup();
    }
}

// ---------------------------------------------------------------- article page

#[derive(Serialize)]
struct ActionView {
    action: &'static str,
    label: &'static str,
}

fn actions_for(viewer: &Viewer, article: &Article, rev: &Revision, lang: Lang) -> Vec<ActionView> {
    let is_latest = rev.number == article.latest_revision;
    let mut out = Vec::new();
    let mut add = |a: Action, role: Role, key: &'static str| {
        if viewer.has(role) {
            out.push(ActionView {
                action: a.as_str(),
                label: super::i18n::t(lang, key),
            });
        }
    };
    if !is_latest && !matches!(rev.state, RevisionState::Published) {
        return out;
    }
    match rev.state {
        RevisionState::Draft => add(Action::Submit, Role::Author, "act_submit"),
        RevisionState::InReview => {
            add(Action::Approve, Role::Reviewer, "act_approve");
            add(Action::Reject, Role::Reviewer, "act_reject");
        }
        RevisionState::Approved => {
            add(Action::Publish, Role::Publisher, "act_publish");
            add(Action::Schedule, Role::Publisher, "act_schedule");
            add(Action::Reject, Role::Reviewer, "act_reject");
        }
        RevisionState::Scheduled => add(Action::Publish, Role::Publisher, "act_publish"),
        RevisionState::Published => add(Action::Archive, Role::Publisher, "act_archive"),
        RevisionState::Archived | RevisionState::Retired => {
            add(Action::Restore, Role::Publisher, "act_restore")
        }
        RevisionState::Superseded => {}
    }
    out
}

#[derive(Serialize)]
struct FieldShow {
    label: String,
    value: String,
    internal: bool,
}

pub async fn article_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Response {
    article_view(&state, &ctx, &id, None).await
}

async fn article_view(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    flash_error: Option<(StatusCode, String)>,
) -> Response {
    let viewer = match ctx.require_login() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(article) = load(state, id).await else {
        return ctx.not_found();
    };
    let n = ctx
        .query("rev")
        .and_then(|r| r.parse().ok())
        .unwrap_or(article.latest_revision);
    let Ok(rev) = state.kb.revision_of(article.id, n).await else {
        return ctx.not_found();
    };
    let schemas = state.kb.schemas();
    let schema = schemas.get(&article.article_type).ok();
    let mut fields = Vec::new();
    for (k, v) in &rev.meta.fields {
        let rules = schema.and_then(|s| s.field(k));
        let label = rules
            .map(|r| ctx.lang.pick(&r.label, k).to_string())
            .unwrap_or_else(|| k.clone());
        let value = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Array(a) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect::<Vec<_>>()
                .join(" · "),
            other => other.to_string(),
        };
        fields.push(FieldShow {
            label,
            value,
            internal: rules.is_some_and(|r| r.internal),
        });
    }
    let history = state
        .kb
        .store
        .revisions(article.id)
        .await
        .unwrap_or_default();
    let transitions = state
        .kb
        .store
        .transitions(article.id)
        .await
        .unwrap_or_default();
    let translations = state
        .kb
        .store
        .translations(&article.translation_key)
        .await
        .unwrap_or_default();
    let mut c = tera::Context::new();
    c.insert("article_id", &article.id.display());
    c.insert("slug", article.slug.as_str());
    c.insert("locale", article.locale.as_str());
    c.insert("type_name", &article.article_type);
    c.insert(
        "type_label",
        &schema
            .map(|s| ctx.lang.pick(&s.rules.label, &s.name).to_string())
            .unwrap_or_else(|| article.article_type.clone()),
    );
    c.insert("latest", &article.latest_revision);
    c.insert("published", &article.published_revision);
    c.insert("rev_number", &rev.number);
    c.insert("rev_state", rev.state.as_str());
    c.insert("title", &rev.meta.title);
    c.insert("category", &rev.meta.category);
    c.insert("tags", &rev.meta.tags.join(", "));
    c.insert("audience", rev.meta.audience.as_str());
    let v = &rev.meta.validity;
    c.insert(
        "validity",
        &[
            (ctx.t("effective_from"), v.effective_from.map(when)),
            (ctx.t("expires_at"), v.expires_at.map(when)),
            (ctx.t("review_by"), v.review_by.map(when)),
        ],
    );
    c.insert("fields", &fields);
    c.insert("body", &rev.body);
    c.insert("actions", &actions_for(viewer, &article, &rev, ctx.lang));
    c.insert("can_edit", &viewer.has(Role::Author));
    c.insert("previews", &previews(state, &article, &rev, ctx.lang).await);
    c.insert(
        "history",
        &history
            .iter()
            .map(|r| {
                serde_json::json!({
                    "number": r.number, "state": r.state.as_str(), "title": r.meta.title,
                    "created": when(r.created_at), "base": r.base_revision,
                })
            })
            .collect::<Vec<_>>(),
    );
    c.insert(
        "transitions",
        &transitions
            .iter()
            .map(|t| {
                serde_json::json!({
                    "revision": t.revision, "action": t.action, "from": t.from_state,
                    "to": t.to_state, "actor": t.actor_name.clone().unwrap_or_else(|| "system".into()),
                    "comment": t.comment, "at": when(t.at),
                })
            })
            .collect::<Vec<_>>(),
    );
    c.insert(
        "translations",
        &translations
            .iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id.display(), "locale": t.locale.as_str(), "slug": t.slug.as_str(),
                    "latest": t.latest_revision, "published": t.published_revision,
                    "current": t.id == article.id,
                })
            })
            .collect::<Vec<_>>(),
    );
    let done = ctx.query("done").map(|d| match d {
        "created" | "saved" => ctx.t("done"),
        other => {
            let key = format!("act_{other}");
            let label = ctx.t(&key);
            if label == "?" { ctx.t("done") } else { label }
        }
    });
    c.insert("done", &done);
    let status = flash_error
        .as_ref()
        .map(|(s, _)| *s)
        .unwrap_or(StatusCode::OK);
    c.insert("flash_error", &flash_error.map(|(_, m)| m));
    ctx.render(status, "ui/studio_article.html", c)
}

pub async fn transition(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match ctx.require_post(form_get(&form, "_csrf")) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(article) = load(&state, &id).await else {
        return ctx.not_found();
    };
    let Some(action) = form_get(&form, "action").and_then(|a| a.parse::<Action>().ok()) else {
        return ctx.error(StatusCode::BAD_REQUEST, "unknown action");
    };
    let comment = form_get(&form, "comment")
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if action == Action::Reject && comment.is_none() {
        return article_view(
            &state,
            &ctx,
            &id,
            Some((
                StatusCode::BAD_REQUEST,
                ctx.t("reject_needs_comment").into(),
            )),
        )
        .await;
    }
    let at = match form_get(&form, "at")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => {
            // <input type=datetime-local> gives 2026-07-01T09:00 in the home time zone.
            let full = if s.len() == 16 {
                format!("{s}:00+08:00")
            } else {
                s.to_string()
            };
            match crate::content::dates::parse(&full) {
                Ok(t) => Some(t),
                Err(m) => {
                    return article_view(&state, &ctx, &id, Some((StatusCode::BAD_REQUEST, m)))
                        .await;
                }
            }
        }
        None => None,
    };
    match state
        .kb
        .transition(article.id, action, comment, at, &viewer.actor())
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/studio/a/{}?done={}",
            article.id.display(),
            action.as_str()
        ))
        .into_response(),
        Err(e) => {
            let e: AppError = e.into();
            article_view(
                &state,
                &ctx,
                &id,
                Some((e.status(), error_message(ctx.lang, &e))),
            )
            .await
        }
    }
}

pub async fn rollback(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match ctx.require_post(form_get(&form, "_csrf")) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(article) = load(&state, &id).await else {
        return ctx.not_found();
    };
    let Some(n) = form_get(&form, "revision").and_then(|r| r.parse().ok()) else {
        return ctx.error(StatusCode::BAD_REQUEST, "revision?");
    };
    match state.kb.rollback(article.id, n, &viewer.actor()).await {
        Ok(_) => {
            Redirect::to(&format!("/studio/a/{}?done=saved", article.id.display())).into_response()
        }
        Err(e) => {
            let e: AppError = e.into();
            article_view(
                &state,
                &ctx,
                &id,
                Some((e.status(), error_message(ctx.lang, &e))),
            )
            .await
        }
    }
}

// ---------------------------------------------------------------- diffs and review

#[derive(Serialize)]
struct DiffView {
    from: i32,
    to: i32,
    fields: Vec<(String, String, String)>,
    body: Vec<(String, String, String, String)>,
}

fn show_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

async fn diff_view(state: &AppState, id: ArticleId, from: i32, to: i32) -> Option<DiffView> {
    let d = state.kb.diff(id, from, to).await.ok()?;
    Some(DiffView {
        from: d.from,
        to: d.to,
        fields: d
            .fields
            .iter()
            .map(|f| (f.field.clone(), show_value(&f.before), show_value(&f.after)))
            .collect(),
        body: d
            .body
            .iter()
            .map(|l| {
                (
                    l.op.to_string(),
                    l.old_line.map(|n| n.to_string()).unwrap_or_default(),
                    l.new_line.map(|n| n.to_string()).unwrap_or_default(),
                    l.text.trim_end_matches('\n').to_string(),
                )
            })
            .collect(),
    })
}

pub async fn diff(State(state): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    let Some(article) = load(&state, &id).await else {
        return ctx.not_found();
    };
    let from = ctx.query("from").and_then(|v| v.parse().ok()).unwrap_or(1);
    let to = ctx
        .query("to")
        .and_then(|v| v.parse().ok())
        .unwrap_or(article.latest_revision);
    let Some(d) = diff_view(&state, article.id, from, to).await else {
        return ctx.not_found();
    };
    let mut c = tera::Context::new();
    c.insert("article_id", &article.id.display());
    c.insert("diff", &d);
    ctx.render(StatusCode::OK, "ui/studio_diff.html", c)
}

#[derive(Serialize)]
struct ReviewItem {
    id: String,
    title: String,
    locale: String,
    revision: i32,
    diff: Option<DiffView>,
    body: String,
}

pub async fn review_queue(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = ctx.require_login() {
        return r;
    }
    let filter = ArticleFilter {
        state: Some(RevisionState::InReview),
        ..Default::default()
    };
    let list = state
        .kb
        .store
        .list_articles(&filter)
        .await
        .unwrap_or_default();
    let mut items = Vec::new();
    for s in list {
        let a = &s.article;
        let diff = match a.published_revision {
            Some(p) => diff_view(&state, a.id, p, a.latest_revision).await,
            None => None,
        };
        let body = if diff.is_none() {
            state
                .kb
                .revision_of(a.id, a.latest_revision)
                .await
                .map(|r| r.body)
                .unwrap_or_default()
        } else {
            String::new()
        };
        items.push(ReviewItem {
            id: a.id.display(),
            title: s.title.clone(),
            locale: a.locale.to_string(),
            revision: a.latest_revision,
            diff,
            body,
        });
    }
    let mut c = tera::Context::new();
    c.insert("items", &items);
    ctx.render(StatusCode::OK, "ui/studio_review.html", c)
}
