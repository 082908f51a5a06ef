//! The studio's admin pages (admin role only): users, API keys (the secret shown once),
//! webhooks with their delivery log, synonyms, and the editors' analytics. Every POST
//! checks the session's CSRF token; validation is `service::admin`'s, the same as the
//! JSON API's, and its errors are shown next to their fields.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::studio::{FormData, form_get};
use super::{Ctx, Lang, Viewer, error_message, when};
use crate::domain::{Role, UserId};
use crate::schema::FieldError;
use crate::service::ServiceError;
use crate::service::admin::{NewKeyInput, NewUserInput, WebhookInput, is_conflict};
use crate::state::AppState;
use crate::store::Webhook;

const ROLES: [&str; 5] = ["author", "reviewer", "publisher", "agent", "admin"];
const SCOPES: [&str; 4] = ["bot", "agent", "editor", "admin"];
const EVENTS: [&str; 10] = [
    "article.created",
    "article.draft_saved",
    "article.transition",
    "article.published",
    "article.unpublished",
    "article.expired",
    "article.effective",
    "article.review_due",
    "article.rerendered",
    "snippet.published",
];
const SYNONYM_LOCALES: [&str; 2] = ["zh-CN", "en"];

fn form_all(form: &FormData, key: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

/// A comma, full-width comma, enumeration comma or newline separated list.
fn split_list(s: &str) -> Vec<String> {
    s.split([',', '，', '、', '\n'])
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The logged-in admin, or the page to answer instead.
#[allow(clippy::result_large_err)]
fn admin(ctx: &Ctx) -> Result<Viewer, Response> {
    let viewer = ctx.require_login()?;
    if !viewer.has(Role::Admin) {
        return Err(ctx.error(StatusCode::FORBIDDEN, ctx.t("forbidden")));
    }
    Ok(viewer.clone())
}

/// The checks every admin POST makes first: an admin, with the right CSRF token.
#[allow(clippy::result_large_err)]
fn posted(ctx: &Ctx, form: &FormData) -> Result<Viewer, Response> {
    admin(ctx)?;
    ctx.require_post(form_get(form, "_csrf"))
}

fn field_messages(lang: Lang, errors: &[FieldError]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for e in errors {
        let msg = if lang == Lang::Zh {
            &e.message_zh
        } else {
            &e.message
        };
        out.entry(e.field.clone())
            .and_modify(|m| {
                m.push_str("; ");
                m.push_str(msg);
            })
            .or_insert_with(|| msg.clone());
    }
    out
}

/// What a page shows after a POST: field errors, a banner, a secret shown once.
#[derive(Default)]
struct Outcome {
    status: Option<StatusCode>,
    errors: BTreeMap<String, String>,
    banner: Option<String>,
    /// The form as sent, to show it again with its errors.
    values: BTreeMap<String, serde_json::Value>,
    /// Which row of a list the errors belong to (user id, …).
    row: Option<i64>,
    secret: Option<(String, String)>,
}

impl Outcome {
    fn failed(ctx: &Ctx, e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(errs) => Outcome {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                errors: field_messages(ctx.lang, &errs),
                banner: Some(ctx.t("form_has_errors").into()),
                ..Outcome::default()
            },
            other => {
                let e: crate::error::AppError = other.into();
                Outcome {
                    status: Some(e.status()),
                    banner: Some(error_message(ctx.lang, &e)),
                    ..Outcome::default()
                }
            }
        }
    }

    fn with_values(mut self, form: &FormData, multi: &[&str]) -> Self {
        for (k, v) in form {
            if k == "_csrf" || k == "password" || k == "secret" {
                continue;
            }
            if multi.contains(&k.as_str()) {
                let entry = self
                    .values
                    .entry(k.clone())
                    .or_insert_with(|| serde_json::Value::Array(vec![]));
                if let serde_json::Value::Array(a) = entry {
                    a.push(v.clone().into());
                }
            } else {
                self.values.insert(k.clone(), v.clone().into());
            }
        }
        self
    }

    fn context(&self, ctx: &Ctx, section: &str) -> tera::Context {
        let mut c = tera::Context::new();
        c.insert("section", section);
        c.insert("errors", &self.errors);
        c.insert("banner", &self.banner);
        // Every form field has a value, so templates can compare without lookup errors.
        let mut values = self.values.clone();
        for k in [
            "name",
            "display_name",
            "scope",
            "user",
            "url",
            "locales",
            "categories",
            "types",
            "zh-CN",
            "en",
        ] {
            values.entry(k.into()).or_insert_with(|| "".into());
        }
        for k in ["roles", "events"] {
            values
                .entry(k.into())
                .or_insert_with(|| serde_json::Value::Array(vec![]));
        }
        c.insert("values", &values);
        c.insert("row", &self.row);
        // Only known outcomes are shown: the query string is the user's.
        let done = ctx
            .query("done")
            .map(|d| match ctx.t(&format!("done_{d}")) {
                "?" => ctx.t("done"),
                known => known,
            });
        c.insert("done", &done);
        c.insert(
            "secret",
            &self
                .secret
                .as_ref()
                .map(|(name, s)| serde_json::json!({"name": name, "value": s})),
        );
        c
    }
}

fn server_error(ctx: &Ctx, e: impl Into<crate::error::AppError>) -> Response {
    let e = e.into();
    ctx.error(e.status(), &error_message(ctx.lang, &e))
}

// ---------------------------------------------------------------- users

#[derive(Serialize)]
struct UserRow {
    id: i64,
    name: String,
    display_name: String,
    roles: Vec<&'static str>,
    disabled: bool,
    created: String,
    me: bool,
}

async fn users_page(state: &AppState, ctx: &Ctx, viewer: &Viewer, o: Outcome) -> Response {
    let users = match state.kb.store.list_users().await {
        Ok(u) => u,
        Err(e) => return server_error(ctx, e),
    };
    let rows: Vec<UserRow> = users
        .iter()
        .map(|u| UserRow {
            id: u.id.0,
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.0.iter().map(|r| r.as_str()).collect(),
            disabled: u.disabled,
            created: when(u.created_at),
            me: u.id == viewer.user.id,
        })
        .collect();
    let mut c = o.context(ctx, "users");
    c.insert("users", &rows);
    c.insert("all_roles", &ROLES);
    ctx.render(o.status.unwrap_or(StatusCode::OK), "ui/admin_users.html", c)
}

pub async fn users(State(state): State<AppState>, ctx: Ctx) -> Response {
    match admin(&ctx) {
        Ok(v) => users_page(&state, &ctx, &v, Outcome::default()).await,
        Err(r) => r,
    }
}

pub async fn create_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = NewUserInput {
        name: form_get(&form, "name").unwrap_or_default().into(),
        display_name: form_get(&form, "display_name").map(String::from),
        roles: form_all(&form, "roles"),
        password: form_get(&form, "password").unwrap_or_default().into(),
    };
    match state.kb.admin_create_user(&viewer.actor(), &input).await {
        Ok(_) => Redirect::to("/studio/admin?done=user_created").into_response(),
        Err(e) => {
            let o = if is_conflict(&e) {
                let mut errors = BTreeMap::new();
                errors.insert("name".to_string(), ctx.t("user_exists").to_string());
                Outcome {
                    status: Some(StatusCode::CONFLICT),
                    errors,
                    banner: Some(ctx.t("form_has_errors").into()),
                    ..Outcome::default()
                }
            } else {
                Outcome::failed(&ctx, e)
            };
            users_page(&state, &ctx, &viewer, o.with_values(&form, &["roles"])).await
        }
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let roles = form_all(&form, "roles");
    let disabled = form_get(&form, "disabled") == Some("on");
    match state
        .kb
        .admin_update_user(&viewer.actor(), UserId(id), &roles, disabled)
        .await
    {
        Ok(_) => Redirect::to("/studio/admin?done=user_updated").into_response(),
        Err(e) => {
            let mut o = Outcome::failed(&ctx, e);
            o.row = Some(id);
            users_page(&state, &ctx, &viewer, o).await
        }
    }
}

// ---------------------------------------------------------------- API keys

#[derive(Serialize)]
struct KeyRow {
    id: i64,
    name: String,
    prefix: String,
    scope: &'static str,
    user: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

async fn keys_page(state: &AppState, ctx: &Ctx, o: Outcome) -> Response {
    let (keys, users) = match (
        state.kb.store.list_api_keys().await,
        state.kb.store.list_users().await,
    ) {
        (Ok(k), Ok(u)) => (k, u),
        (Err(e), _) | (_, Err(e)) => return server_error(ctx, e),
    };
    let rows: Vec<KeyRow> = keys
        .iter()
        .map(|k| KeyRow {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scope: k.scope.as_str(),
            user: k
                .user_id
                .and_then(|id| users.iter().find(|u| u.id == id))
                .map(|u| u.name.clone())
                .unwrap_or_else(|| "—".into()),
            created: when(k.created_at),
            last_used: k.last_used_at.map(when).unwrap_or_else(|| "—".into()),
            revoked: k.revoked_at.map(when),
        })
        .collect();
    let mut c = o.context(ctx, "keys");
    c.insert("keys", &rows);
    c.insert("scopes", &SCOPES);
    c.insert(
        "user_names",
        &users
            .iter()
            .filter(|u| !u.disabled)
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
    );
    ctx.render(o.status.unwrap_or(StatusCode::OK), "ui/admin_keys.html", c)
}

pub async fn keys(State(state): State<AppState>, ctx: Ctx) -> Response {
    match admin(&ctx) {
        Ok(_) => keys_page(&state, &ctx, Outcome::default()).await,
        Err(r) => r,
    }
}

/// Creates a key and answers with the page showing its secret, once: the secret is not
/// stored in clear, and reloading the list does not show it again.
pub async fn create_key(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let input = NewKeyInput {
        name: form_get(&form, "name").unwrap_or_default().into(),
        scope: form_get(&form, "scope").unwrap_or_default().into(),
        user: form_get(&form, "user").map(String::from),
    };
    match state.kb.admin_create_key(&viewer.actor(), &input).await {
        Ok((key, full)) => {
            let o = Outcome {
                status: Some(StatusCode::CREATED),
                secret: Some((key.name, full)),
                ..Outcome::default()
            };
            keys_page(&state, &ctx, o).await
        }
        Err(e) => {
            keys_page(
                &state,
                &ctx,
                Outcome::failed(&ctx, e).with_values(&form, &[]),
            )
            .await
        }
    }
}

pub async fn revoke_key(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.kb.admin_revoke_key(&viewer.actor(), id).await {
        Ok(()) => Redirect::to("/studio/admin/keys?done=key_revoked").into_response(),
        Err(e) => keys_page(&state, &ctx, Outcome::failed(&ctx, e)).await,
    }
}

// ---------------------------------------------------------------- webhooks

fn webhook_input(form: &FormData) -> WebhookInput {
    let list = |k: &str| split_list(form_get(form, k).unwrap_or_default());
    WebhookInput {
        url: form_get(form, "url").unwrap_or_default().into(),
        secret: form_get(form, "secret").map(String::from),
        events: form_all(form, "events"),
        locales: list("locales"),
        categories: list("categories"),
        types: list("types"),
    }
}

fn hook_values(h: &Webhook) -> BTreeMap<String, serde_json::Value> {
    let mut v = BTreeMap::new();
    v.insert("url".into(), h.url.clone().into());
    v.insert("events".into(), serde_json::json!(h.events));
    v.insert("locales".into(), h.locales.join(", ").into());
    v.insert("categories".into(), h.categories.join(", ").into());
    v.insert("types".into(), h.article_types.join(", ").into());
    v
}

async fn webhooks_page(state: &AppState, ctx: &Ctx, o: Outcome) -> Response {
    let hooks = match state.kb.store.webhooks().await {
        Ok(h) => h,
        Err(e) => return server_error(ctx, e),
    };
    let mut c = o.context(ctx, "webhooks");
    c.insert("hook", &false);
    c.insert("hooks", &hooks);
    c.insert("all_events", &EVENTS);
    ctx.render(
        o.status.unwrap_or(StatusCode::OK),
        "ui/admin_webhooks.html",
        c,
    )
}

pub async fn webhooks(State(state): State<AppState>, ctx: Ctx) -> Response {
    match admin(&ctx) {
        Ok(_) => webhooks_page(&state, &ctx, Outcome::default()).await,
        Err(r) => r,
    }
}

pub async fn create_webhook(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state
        .kb
        .admin_create_webhook(&viewer.actor(), &webhook_input(&form))
        .await
    {
        Ok((hook, secret)) => {
            let o = Outcome {
                status: Some(StatusCode::CREATED),
                secret: Some((hook.url.clone(), secret)),
                row: Some(hook.id),
                ..Outcome::default()
            };
            webhooks_page(&state, &ctx, o).await
        }
        Err(e) => {
            let o = Outcome::failed(&ctx, e).with_values(&form, &["events"]);
            webhooks_page(&state, &ctx, o).await
        }
    }
}

#[derive(Serialize)]
struct DeliveryRow {
    id: i64,
    event_seq: i64,
    status: String,
    attempts: i64,
    code: String,
    error: String,
    created: String,
    next_attempt: String,
    delivered: Option<String>,
}

async fn webhook_page(
    state: &AppState,
    ctx: &Ctx,
    viewer: &Viewer,
    id: i64,
    o: Outcome,
) -> Response {
    let (hook, log) = match state.kb.admin_deliveries(&viewer.actor(), id).await {
        Ok(v) => v,
        Err(ServiceError::NotFound(_)) => return ctx.not_found(),
        Err(e) => return server_error(ctx, e),
    };
    let rows: Vec<DeliveryRow> = log
        .iter()
        .map(|d| DeliveryRow {
            id: d.id,
            event_seq: d.event_seq,
            status: d.status.clone(),
            attempts: d.attempts,
            code: d
                .last_status_code
                .map(|c| c.to_string())
                .unwrap_or_else(|| "—".into()),
            error: d.last_error.clone().unwrap_or_default(),
            created: when(d.created_at),
            next_attempt: when(d.next_attempt_at),
            delivered: d.delivered_at.map(when),
        })
        .collect();
    let mut o = o;
    if o.values.is_empty() {
        o.values = hook_values(&hook);
    }
    let mut c = o.context(ctx, "webhooks");
    c.insert("hook", &hook);
    c.insert("deliveries", &rows);
    c.insert("all_events", &EVENTS);
    ctx.render(
        o.status.unwrap_or(StatusCode::OK),
        "ui/admin_webhook.html",
        c,
    )
}

pub async fn webhook(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> Response {
    match admin(&ctx) {
        Ok(v) => webhook_page(&state, &ctx, &v, id, Outcome::default()).await,
        Err(r) => r,
    }
}

pub async fn update_webhook(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state
        .kb
        .admin_update_webhook(&viewer.actor(), id, &webhook_input(&form))
        .await
    {
        Ok(_) => Redirect::to(&format!("/studio/admin/webhooks/{id}?done=saved")).into_response(),
        Err(ServiceError::Store(crate::store::StoreError::NotFound(_))) => ctx.not_found(),
        Err(e) => {
            let o = Outcome::failed(&ctx, e).with_values(&form, &["events"]);
            webhook_page(&state, &ctx, &viewer, id, o).await
        }
    }
}

pub async fn delete_webhook(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state.kb.admin_delete_webhook(&viewer.actor(), id).await {
        Ok(()) => Redirect::to("/studio/admin/webhooks?done=webhook_deleted").into_response(),
        Err(e) => server_error(&ctx, e),
    }
}

pub async fn redeliver(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((id, delivery)): Path<(i64, i64)>,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match state
        .kb
        .admin_redeliver(&viewer.actor(), id, delivery)
        .await
    {
        Ok(()) => {
            Redirect::to(&format!("/studio/admin/webhooks/{id}?done=redelivered")).into_response()
        }
        Err(e) => server_error(&ctx, e),
    }
}

// ---------------------------------------------------------------- synonyms

async fn synonyms_page(state: &AppState, ctx: &Ctx, o: Outcome) -> Response {
    let mut o = o;
    if o.values.is_empty() {
        let sets = match state.kb.store.synonym_sets().await {
            Ok(s) => s,
            Err(e) => return server_error(ctx, e),
        };
        for locale in SYNONYM_LOCALES {
            let text = sets
                .iter()
                .filter(|s| s.locale == locale)
                .map(|s| s.terms.join(", "))
                .collect::<Vec<_>>()
                .join("\n");
            o.values.insert(locale.into(), text.into());
        }
    }
    let mut c = o.context(ctx, "synonyms");
    c.insert("locales", &SYNONYM_LOCALES);
    ctx.render(
        o.status.unwrap_or(StatusCode::OK),
        "ui/admin_synonyms.html",
        c,
    )
}

pub async fn synonyms(State(state): State<AppState>, ctx: Ctx) -> Response {
    match admin(&ctx) {
        Ok(_) => synonyms_page(&state, &ctx, Outcome::default()).await,
        Err(r) => r,
    }
}

/// One textarea per locale, one set per line, terms separated by commas. Errors go
/// under the locale's textarea with the line they are about.
pub async fn save_synonyms(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<FormData>,
) -> Response {
    let viewer = match posted(&ctx, &form) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut sets = Vec::new();
    let mut origin = Vec::new();
    for locale in SYNONYM_LOCALES {
        let text = form_get(&form, locale).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let terms = line
                .split([',', '，', '、'])
                .map(|t| t.trim().to_string())
                .collect::<Vec<_>>();
            sets.push((locale.to_string(), terms));
            origin.push((locale, n + 1));
        }
    }
    match state.kb.replace_synonym_sets(&viewer.actor(), &sets).await {
        Ok(_) => Redirect::to("/studio/admin/synonyms?done=synonyms_saved").into_response(),
        Err(ServiceError::Invalid(errs)) => {
            let mut errors: BTreeMap<String, String> = BTreeMap::new();
            for e in &errs {
                let idx = e
                    .path
                    .rsplit('/')
                    .next()
                    .and_then(|i| i.parse::<usize>().ok());
                let Some((locale, line)) = idx.and_then(|i| origin.get(i)) else {
                    continue;
                };
                let msg = match ctx.lang {
                    Lang::Zh => format!("第 {line} 行：{}", e.message_zh),
                    Lang::En => format!("line {line}: {}", e.message),
                };
                errors
                    .entry(locale.to_string())
                    .and_modify(|m| {
                        m.push_str("; ");
                        m.push_str(&msg);
                    })
                    .or_insert(msg);
            }
            let o = Outcome {
                status: Some(StatusCode::UNPROCESSABLE_ENTITY),
                errors,
                banner: Some(ctx.t("form_has_errors").into()),
                ..Outcome::default()
            }
            .with_values(&form, &[]);
            synonyms_page(&state, &ctx, o).await
        }
        Err(e) => synonyms_page(&state, &ctx, Outcome::failed(&ctx, e)).await,
    }
}

// ---------------------------------------------------------------- analytics

pub async fn analytics(State(state): State<AppState>, ctx: Ctx) -> Response {
    if let Err(r) = admin(&ctx) {
        return r;
    }
    // Searches still queued (the writer batches them) count too.
    state.search_log.flush().await;
    let days = ctx
        .query("days")
        .and_then(|d| d.parse::<i64>().ok())
        .unwrap_or(30);
    let a = match state.kb.analytics(days).await {
        Ok(a) => a,
        Err(e) => return server_error(&ctx, e),
    };
    let feedback: Vec<serde_json::Value> = a
        .feedback
        .iter()
        .map(|f| {
            serde_json::json!({
                "slug": f.slug, "locale": f.locale, "kind": f.kind, "channel": f.channel,
                "comment": f.comment.clone().unwrap_or_default(), "at": when(f.at), "article_id": f.article_id,
            })
        })
        .collect();
    let review_due: Vec<serde_json::Value> = a
        .review_due
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.id, "slug": r.slug, "locale": r.locale, "title": r.title,
                "review_by": when(r.review_by), "overdue": r.overdue,
            })
        })
        .collect();
    let count = |kind: &str| {
        a.feedback_counts
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let mut c = Outcome::default().context(&ctx, "analytics");
    c.insert("days", &a.days);
    c.insert("s", &a.searches);
    c.insert("ctr", &format!("{:.1}", a.searches.click_through * 100.0));
    c.insert("feedback", &feedback);
    c.insert(
        "fb",
        &serde_json::json!({"helpful": count("helpful"), "not_helpful": count("not_helpful"), "outdated": count("outdated")}),
    );
    c.insert("review_due", &review_due);
    ctx.render(StatusCode::OK, "ui/admin_analytics.html", c)
}
