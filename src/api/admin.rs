//! Users and API keys (admins), the review-due list and translation status (editors).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Caller;
use super::json::ApiJson;
use crate::domain::{Role, Roles};
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::ApiScope;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

impl From<&crate::store::User> for UserView {
    fn from(u: &crate::store::User) -> Self {
        UserView {
            id: u.id.0,
            name: u.name.clone(),
            display_name: u.display_name.clone(),
            roles: u.roles.0.iter().map(|r| r.as_str().into()).collect(),
            created_at: u.created_at,
            disabled: u.disabled,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, body = [UserView])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<axum::Json<Vec<UserView>>> {
    caller.require_admin()?;
    Ok(axum::Json(
        state
            .kb
            .store
            .list_users()
            .await?
            .iter()
            .map(UserView::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/users", request_body = NewUser, tag = "admin", responses((status = 201, body = UserView), (status = 400, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewUser>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.require_admin()?;
    let name = req.name.trim();
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-".contains(c))
    {
        return Err(AppError::BadRequest(
            "name: 1-64 letters, digits, '.', '_' or '-'".into(),
        ));
    }
    let mut roles = Vec::new();
    for r in &req.roles {
        roles.push(
            r.parse::<Role>()
                .map_err(|e| AppError::BadRequest(e.message))?,
        );
    }
    let password = req.password.clone();
    let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let now = state.kb.now();
    let user = state
        .kb
        .store
        .create_user(
            name,
            req.display_name.as_deref().unwrap_or(name),
            &hash,
            &Roles(roles),
            now,
        )
        .await?;
    state
        .kb
        .store
        .audit(
            now,
            &actor.name,
            "user.create",
            &format!("user:{}", user.name),
            serde_json::json!({"roles": user.roles.to_db()}),
        )
        .await?;
    Ok((StatusCode::CREATED, axum::Json(UserView::from(&user))))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scope: String,
    pub user_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Only in the response that creates the key: shown once, never stored in clear.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl From<&crate::store::ApiKey> for ApiKeyView {
    fn from(k: &crate::store::ApiKey) -> Self {
        ApiKeyView {
            id: k.id,
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scope: k.scope.as_str().into(),
            user_id: k.user_id.map(|u| u.0),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            key: None,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/apikeys", tag = "admin", responses((status = 200, body = [ApiKeyView])))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<axum::Json<Vec<ApiKeyView>>> {
    caller.require_admin()?;
    Ok(axum::Json(
        state
            .kb
            .store
            .list_api_keys()
            .await?
            .iter()
            .map(ApiKeyView::from)
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub name: String,
    /// bot, agent, editor or admin
    pub scope: String,
    /// Editor and admin keys act as this user.
    #[serde(default)]
    pub user: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/apikeys", request_body = NewApiKey, tag = "admin", responses((status = 201, body = ApiKeyView)))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<NewApiKey>,
) -> AppResult<impl IntoResponse> {
    let actor = caller.require_admin()?;
    let scope: ApiScope = req.scope.parse().map_err(AppError::BadRequest)?;
    let owner = match &req.user {
        Some(name) => Some(
            state
                .kb
                .store
                .user_by_name(name)
                .await?
                .ok_or_else(|| AppError::BadRequest(format!("no user named '{name}'")))?,
        ),
        None => None,
    };
    if scope.needs_user() && owner.is_none() {
        return Err(AppError::BadRequest(format!(
            "an {} key acts as a user: give 'user'",
            scope.as_str()
        )));
    }
    let (full, prefix, hash) =
        crate::auth::new_api_key().map_err(|e| AppError::Internal(e.to_string()))?;
    let now = state.kb.now();
    let key = state
        .kb
        .store
        .create_api_key(
            &req.name,
            &prefix,
            &hash,
            scope,
            owner.as_ref().map(|u| u.id),
            now,
        )
        .await?;
    state
        .kb
        .store
        .audit(
            now,
            &actor.name,
            "apikey.create",
            &format!("apikey:{prefix}"),
            serde_json::json!({"name": req.name, "scope": scope.as_str()}),
        )
        .await?;
    let mut view = ApiKeyView::from(&key);
    view.key = Some(full);
    Ok((StatusCode::CREATED, axum::Json(view)))
}

#[utoipa::path(delete, path = "/api/v1/apikeys/{id}", tag = "admin", params(("id" = i64, Path)), responses((status = 204), (status = 404, body = crate::error::Problem)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let actor = caller.require_admin()?;
    let now = state.kb.now();
    state.kb.store.revoke_api_key(id, now).await?;
    state
        .kb
        .store
        .audit(
            now,
            &actor.name,
            "apikey.revoke",
            &format!("apikey:{id}"),
            serde_json::json!({}),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewDue {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub review_by: DateTime<Utc>,
    pub overdue: bool,
}

/// `GET /api/v1/review-due`: published articles whose review date is within 30 days or past.
#[utoipa::path(get, path = "/api/v1/review-due", tag = "authoring", responses((status = 200, body = [ReviewDue])))]
pub async fn review_due(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<axum::Json<Vec<ReviewDue>>> {
    caller.require_editor()?;
    let now = state.kb.now();
    let horizon = now + chrono::Duration::days(30);
    let mut out = Vec::new();
    for s in state
        .kb
        .store
        .list_articles(&crate::store::ArticleFilter {
            published_only: true,
            ..Default::default()
        })
        .await?
    {
        if let Some(t) = s.review_by.filter(|t| *t <= horizon) {
            out.push(ReviewDue {
                id: s.article.id.display(),
                slug: s.article.slug.to_string(),
                locale: s.article.locale.to_string(),
                title: s.title,
                review_by: t,
                overdue: t <= now,
            });
        }
    }
    out.sort_by_key(|r| r.review_by);
    Ok(axum::Json(out))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TranslationStatus {
    pub locale: String,
    pub id: Option<String>,
    pub slug: Option<String>,
    /// missing, draft, published or outdated (published before the source's latest publish)
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TranslationGroup {
    pub translation_key: String,
    /// The locale the group was written in first.
    pub source_locale: String,
    pub translations: Vec<TranslationStatus>,
}

/// `GET /api/v1/translations/{key}`: which translations exist, are missing or lag the source.
#[utoipa::path(get, path = "/api/v1/translations/{key}", tag = "authoring", params(("key" = String, Path)), responses((status = 200, body = TranslationGroup)))]
pub async fn translations(
    State(state): State<AppState>,
    caller: Caller,
    Path(key): Path<String>,
) -> AppResult<axum::Json<TranslationGroup>> {
    caller.require_editor()?;
    let group = state.kb.store.translations(&key).await?;
    let Some(source) = group.iter().min_by_key(|a| (a.created_at, a.id)) else {
        return Err(AppError::NotFound(format!(
            "translation group '{key}' not found"
        )));
    };
    let published_at = |a: &crate::domain::Article| {
        let kb = state.kb.clone();
        let a = a.clone();
        async move {
            match a.published_revision {
                Some(n) => kb
                    .store
                    .revision(a.id, n)
                    .await
                    .map(|r| r.and_then(|r| r.published_at)),
                None => Ok(None),
            }
        }
    };
    let source_published = published_at(source).await?;
    let mut translations = Vec::new();
    let mut locales: Vec<String> = vec!["zh-CN".into(), "en".into()];
    for a in &group {
        if !locales.contains(&a.locale.to_string()) {
            locales.push(a.locale.to_string());
        }
    }
    for locale in locales {
        let Some(a) = group.iter().find(|a| a.locale.as_str() == locale) else {
            translations.push(TranslationStatus {
                locale,
                id: None,
                slug: None,
                status: "missing".into(),
                published_at: None,
            });
            continue;
        };
        let p = published_at(a).await?;
        let status = match (p, source_published) {
            (None, _) => "draft",
            (Some(mine), Some(src)) if a.id != source.id && mine < src => "outdated",
            _ => "published",
        };
        translations.push(TranslationStatus {
            locale,
            id: Some(a.id.display()),
            slug: Some(a.slug.to_string()),
            status: status.into(),
            published_at: p,
        });
    }
    Ok(axum::Json(TranslationGroup {
        translation_key: key,
        source_locale: source.locale.to_string(),
        translations,
    }))
}
