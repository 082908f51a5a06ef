//! The browser UI: the public portal (`/`, `/kb/{locale}/{slug}`, `/search`), the agent
//! panel (`/agent`) and the authoring studio (`/studio`). Server-rendered Tera pages with
//! a little vanilla JS on top; every form works without JS.
//!
//! Handlers are thin: they call the same service layer as the JSON API. Security: Tera
//! autoescapes every `.html` template, every page carries a strict CSP, and every UI form
//! POST checks a CSRF token (the session's, or a per-browser cookie before login).

mod admin;
mod agent;
pub mod content;
pub mod i18n;
mod portal;
pub mod search_seam;
mod snippets;
mod studio;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use once_cell::sync::Lazy;
use serde::Serialize;

use crate::api::session::{SESSION_COOKIE, session_token};
use crate::domain::Role;
use crate::service::authoring::Actor;
use crate::state::AppState;
use crate::store::User;
pub use i18n::Lang;

const LANG_COOKIE: &str = "lang";
/// CSRF cookie for forms shown before login (login, portal feedback): double submit.
const FORM_COOKIE: &str = "omnikb_form";

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: https:; media-src 'self' data:; connect-src 'self'; frame-src 'self'; \
object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        vec![$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

static TERA: Lazy<tera::Tera> = Lazy::new(|| {
    let mut t = tera::Tera::default();
    t.autoescape_on(vec![".html"]);
    if let Err(e) = t.add_raw_templates(templates!(
        "ui/layout.html",
        "ui/error.html",
        "ui/login.html",
        "ui/studio_list.html",
        "ui/studio_types.html",
        "ui/studio_form.html",
        "ui/studio_article.html",
        "ui/diff_part.html",
        "ui/studio_diff.html",
        "ui/studio_review.html",
        "ui/admin_nav.html",
        "ui/admin_webhook_fields.html",
        "ui/admin_users.html",
        "ui/admin_keys.html",
        "ui/admin_webhooks.html",
        "ui/admin_webhook.html",
        "ui/admin_synonyms.html",
        "ui/admin_analytics.html",
        "ui/studio_snippets.html",
        "ui/studio_snippet.html",
        "ui/agent.html",
        "ui/portal_layout.html",
        "ui/portal_home.html",
        "ui/portal_article.html",
        "ui/portal_search.html",
    )) {
        tracing::error!(error = ?e, "UI templates do not compile");
    }
    t
});

/// The static assets, embedded in the binary.
fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "ui.css" => (include_str!("../static/ui.css"), "text/css; charset=utf-8"),
        "studio.js" => (
            include_str!("../static/studio.js"),
            "text/javascript; charset=utf-8",
        ),
        "agent.js" => (
            include_str!("../static/agent.js"),
            "text/javascript; charset=utf-8",
        ),
        "portal.js" => (
            include_str!("../static/portal.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return None,
    })
}

async fn static_file(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    match asset(&name) {
        Some((body, ty)) => (
            [
                (header::CONTENT_TYPE, ty),
                (header::CACHE_CONTROL, "public, max-age=3600"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/{name}", get(static_file))
        .route("/", get(portal::home))
        .route("/search", get(portal::search))
        .route("/search/suggest", get(portal::suggest))
        .route("/kb/{locale}/{slug}", get(portal::article))
        .route("/kb/{locale}/{slug}/feedback", post(portal::feedback))
        .route("/agent", get(agent::page))
        .route("/agent/search", get(agent::search))
        .route("/agent/article/{id}", get(agent::article))
        .route(
            "/studio/login",
            get(studio::login_page).post(studio::login_submit),
        )
        .route("/studio/logout", post(studio::logout))
        .route("/studio", get(studio::list))
        .route("/studio/new", get(studio::new_form).post(studio::create))
        .route("/studio/review", get(studio::review_queue))
        .route("/studio/admin", get(admin::users))
        .route("/studio/admin/users", post(admin::create_user))
        .route("/studio/admin/users/{id}", post(admin::update_user))
        .route(
            "/studio/admin/keys",
            get(admin::keys).post(admin::create_key),
        )
        .route("/studio/admin/keys/{id}/revoke", post(admin::revoke_key))
        .route(
            "/studio/admin/webhooks",
            get(admin::webhooks).post(admin::create_webhook),
        )
        .route(
            "/studio/admin/webhooks/{id}",
            get(admin::webhook).post(admin::update_webhook),
        )
        .route(
            "/studio/admin/webhooks/{id}/delete",
            post(admin::delete_webhook),
        )
        .route(
            "/studio/admin/webhooks/{id}/deliveries/{delivery}/redeliver",
            post(admin::redeliver),
        )
        .route(
            "/studio/admin/synonyms",
            get(admin::synonyms).post(admin::save_synonyms),
        )
        .route("/studio/admin/analytics", get(admin::analytics))
        .route("/studio/snippets", get(snippets::list))
        .route(
            "/studio/snippets/new",
            get(snippets::new_form).post(snippets::create),
        )
        .route(
            "/studio/snippets/{locale}/{key}",
            get(snippets::page).post(snippets::save),
        )
        .route(
            "/studio/snippets/{locale}/{key}/transition",
            post(snippets::transition),
        )
        .route("/studio/a/{id}", get(studio::article_page))
        .route(
            "/studio/a/{id}/edit",
            get(studio::edit_form).post(studio::save),
        )
        .route("/studio/a/{id}/transition", post(studio::transition))
        .route("/studio/a/{id}/diff", get(studio::diff))
        .route("/studio/a/{id}/rollback", post(studio::rollback))
}

/// The logged-in user of a request, with the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: User,
    pub csrf: String,
}

impl Viewer {
    pub fn actor(&self) -> Actor {
        Actor {
            id: Some(self.user.id),
            name: self.user.name.clone(),
            roles: self.user.roles.clone(),
        }
    }

    pub fn has(&self, role: Role) -> bool {
        self.user.roles.has(role)
    }
}

#[derive(Serialize)]
struct UserView {
    name: String,
    display_name: String,
    roles: Vec<&'static str>,
    editor: bool,
    admin: bool,
}

/// What every UI handler knows about its request: language, viewer, CSRF state.
pub struct Ctx {
    pub lang: Lang,
    pub viewer: Option<Viewer>,
    /// The pre-login form token (from the cookie, or new).
    form_token: String,
    form_token_new: bool,
    set_lang: bool,
    path: String,
    query: Vec<(String, String)>,
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name && !v.is_empty()).then(|| v.to_string())
        })
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query: Vec<(String, String)> = parts
            .uri
            .query()
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default();
        let from_query = query
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(v));
        let lang = from_query
            .or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(|v| Lang::parse(&v)))
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or(Lang::Zh);
        let mut viewer = None;
        if let Some(token) = session_token(&parts.headers) {
            let now = state.kb.now();
            if let Ok(Some(s)) = state
                .kb
                .store
                .session(&crate::auth::session_hash(&token), now)
                .await
                && let Ok(Some(user)) = state.kb.store.user_by_id(s.user_id).await
                && !user.disabled
            {
                viewer = Some(Viewer {
                    user,
                    csrf: s.csrf_token,
                });
            }
        }
        let existing = cookie(&parts.headers, FORM_COOKIE).filter(|v| {
            v.len() >= 16
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        });
        let (form_token, form_token_new) = match existing {
            Some(t) => (t, false),
            None => (crate::util::random_token(24), true),
        };
        Ok(Ctx {
            lang,
            viewer,
            form_token,
            form_token_new,
            set_lang: from_query.is_some(),
            path: parts.uri.path().to_string(),
            query,
        })
    }
}

impl Ctx {
    /// The token forms on this page carry in `_csrf`.
    pub fn csrf(&self) -> &str {
        match &self.viewer {
            Some(v) => &v.csrf,
            None => &self.form_token,
        }
    }

    /// Whether a submitted form's `_csrf` is right for this browser.
    pub fn csrf_ok(&self, sent: Option<&str>) -> bool {
        let Some(sent) = sent else { return false };
        let expected = match &self.viewer {
            Some(v) => v.csrf.as_str(),
            None if self.form_token_new => return false,
            None => self.form_token.as_str(),
        };
        crate::util::constant_time_eq(sent.as_bytes(), expected.as_bytes())
    }

    pub fn t(&self, key: &str) -> &'static str {
        i18n::t(self.lang, key)
    }

    pub fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    /// This page in the other language.
    fn switch_url(&self) -> String {
        let other = if self.lang == Lang::Zh { "en" } else { "zh" };
        let mut q: Vec<(String, String)> = self
            .query
            .iter()
            .filter(|(k, _)| k != "lang")
            .cloned()
            .collect();
        q.push(("lang".into(), other.into()));
        format!(
            "{}?{}",
            self.path,
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    }

    /// Renders a page with the common context and the security headers.
    pub fn render(&self, status: StatusCode, name: &str, mut c: tera::Context) -> Response {
        c.insert("t", &i18n::strings(self.lang));
        c.insert("lang", self.lang.short());
        c.insert("lang_code", self.lang.code());
        c.insert("switch_url", &self.switch_url());
        c.insert("csrf", self.csrf());
        c.insert("path", &self.path);
        if let Some(v) = &self.viewer {
            c.insert(
                "user",
                &UserView {
                    name: v.user.name.clone(),
                    display_name: v.user.display_name.clone(),
                    roles: v.user.roles.0.iter().map(|r| r.as_str()).collect(),
                    editor: [Role::Author, Role::Reviewer, Role::Publisher]
                        .iter()
                        .any(|r| v.has(*r)),
                    admin: v.has(Role::Admin),
                },
            );
        }
        let body = match TERA.render(name, &c) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(template = name, error = ?e, "template failed");
                return (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response();
            }
        };
        let mut res = (status, axum::response::Html(body)).into_response();
        self.secure(&mut res);
        res
    }

    /// Security headers and the cookies this request should set.
    pub fn secure(&self, res: &mut Response) {
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.form_token_new
            && let Ok(v) = HeaderValue::from_str(&format!(
                "{FORM_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                self.form_token
            ))
        {
            h.append(header::SET_COOKIE, v);
        }
        if self.set_lang
            && let Ok(v) = HeaderValue::from_str(&format!(
                "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
                self.lang.short()
            ))
        {
            h.append(header::SET_COOKIE, v);
        }
    }

    /// An error page.
    pub fn error(&self, status: StatusCode, message: &str) -> Response {
        let mut c = tera::Context::new();
        c.insert("status", &status.as_u16());
        c.insert("message", message);
        self.render(status, "ui/error.html", c)
    }

    pub fn not_found(&self) -> Response {
        self.error(StatusCode::NOT_FOUND, self.t("not_found"))
    }

    /// Redirects to the login page when nobody is logged in.
    // The error is the redirect to the login page, returned as is by handlers.
    #[allow(clippy::result_large_err)]
    pub fn require_login(&self) -> Result<&Viewer, Response> {
        self.viewer.as_ref().ok_or_else(|| {
            let next =
                serde_urlencoded::to_string([("next", self.path.as_str())]).unwrap_or_default();
            Redirect::to(&format!("/studio/login?{next}")).into_response()
        })
    }

    /// The viewer behind a form POST: logged in, and the form carries the session's CSRF
    /// token (`sent`); otherwise the login redirect or a 403 page.
    #[allow(clippy::result_large_err)] // a Response is the error page itself, built once
    pub fn require_post(&self, sent: Option<&str>) -> Result<Viewer, Response> {
        let viewer = self.require_login()?.clone();
        if !self.csrf_ok(sent) {
            return Err(self.error(StatusCode::FORBIDDEN, self.t("csrf_failed")));
        }
        Ok(viewer)
    }
}

/// The message of a service error in the UI language.
pub fn error_message(lang: Lang, e: &crate::error::AppError) -> String {
    use crate::error::AppError;
    match e {
        AppError::Invalid(errs) => errs
            .iter()
            .map(|f| {
                if lang == Lang::Zh {
                    f.message_zh.clone()
                } else {
                    f.message.clone()
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        AppError::Forbidden(m) => format!("{} ({m})", i18n::t(lang, "forbidden")),
        AppError::Internal(_) => i18n::t(lang, "error").to_string(),
        other => other.to_string(),
    }
}

/// A timestamp in the home time zone, to the minute.
pub fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::content::dates::home_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Adds the session cookie of a fresh login to a response.
pub fn with_cookie(mut res: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// Clears the session cookie.
pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}
