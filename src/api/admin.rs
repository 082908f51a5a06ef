//! Users and API keys (admins), the review-due list and translation status (editors).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Caller;
use super::json::ApiJson;
use crate::error::{AppError, AppResult};
use crate::service::admin::{NewKeyInput, NewUserInput, as_bad_request};
use crate::state::AppState;

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
    let input = NewUserInput {
        name: req.name,
        display_name: req.display_name,
        roles: req.roles,
        password: req.password,
    };
    let user = state
        .kb
        .admin_create_user(&actor, &input)
        .await
        .map_err(as_bad_request)?;
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
    let input = NewKeyInput {
        name: req.name,
        scope: req.scope,
        user: req.user,
    };
    let (key, full) = state
        .kb
        .admin_create_key(&actor, &input)
        .await
        .map_err(as_bad_request)?;
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
    state.kb.admin_revoke_key(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub use crate::service::admin::ReviewDue;

/// `GET /api/v1/review-due`: published articles whose review date is within 30 days or past.
#[utoipa::path(get, path = "/api/v1/review-due", tag = "authoring", responses((status = 200, body = [ReviewDue])))]
pub async fn review_due(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<axum::Json<Vec<ReviewDue>>> {
    caller.require_editor()?;
    Ok(axum::Json(state.kb.review_due().await?))
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
