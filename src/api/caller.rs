//! Who is calling: an API key (`Authorization: Bearer okb_…`) or nobody.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::service::authoring::Actor;
use crate::state::AppState;
use crate::store::{ApiScope, User};

#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Key { scope: ApiScope, user: Option<User> },
}

impl Caller {
    /// Internal content is for agent, editor and admin scopes only.
    pub fn sees_internal(&self) -> bool {
        matches!(
            self,
            Caller::Key {
                scope: ApiScope::Agent | ApiScope::Editor | ApiScope::Admin,
                ..
            }
        )
    }

    /// The user an editor or admin key acts as, with that user's roles.
    pub fn actor(&self) -> Result<Actor, AppError> {
        match self {
            Caller::Key {
                scope: ApiScope::Editor | ApiScope::Admin,
                user: Some(u),
            } => Ok(Actor {
                id: Some(u.id),
                name: u.name.clone(),
                roles: u.roles.clone(),
            }),
            Caller::Anonymous => Err(AppError::Unauthorized),
            Caller::Key { .. } => Err(AppError::Forbidden(
                "this key may not change content: use an editor or admin key".into(),
            )),
        }
    }

    /// Editors and admins (history, drafts).
    pub fn require_editor(&self) -> Result<(), AppError> {
        match self {
            Caller::Key {
                scope: ApiScope::Editor | ApiScope::Admin,
                ..
            } => Ok(()),
            Caller::Anonymous => Err(AppError::Unauthorized),
            Caller::Key { .. } => Err(AppError::Forbidden(
                "this needs an editor or admin key".into(),
            )),
        }
    }

    pub fn user(&self) -> Option<&User> {
        match self {
            Caller::Key { user, .. } => user.as_ref(),
            Caller::Anonymous => None,
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Caller::Anonymous);
        };
        let text = value.to_str().map_err(|_| AppError::Unauthorized)?;
        let key = text
            .strip_prefix("Bearer ")
            .ok_or(AppError::Unauthorized)?
            .trim();
        let (prefix, secret) = crate::auth::split_api_key(key).ok_or(AppError::Unauthorized)?;
        let stored = state
            .kb
            .store
            .api_key_by_prefix(prefix)
            .await?
            .ok_or(AppError::Unauthorized)?;
        if stored.revoked_at.is_some() {
            tracing::info!(key = %stored.prefix, "revoked API key used");
            return Err(AppError::Unauthorized);
        }
        // argon2 is deliberately slow: keep it off the async runtime.
        let hash = stored.key_hash.clone();
        let secret = secret.to_string();
        let ok =
            tokio::task::spawn_blocking(move || crate::auth::verify_api_secret(&secret, &hash))
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
        if !ok {
            return Err(AppError::Unauthorized);
        }
        let user = match stored.user_id {
            Some(id) => state.kb.store.user_by_id(id).await?.filter(|u| !u.disabled),
            None => None,
        };
        if stored.scope.needs_user() && user.is_none() {
            return Err(AppError::Unauthorized);
        }
        state
            .kb
            .store
            .touch_api_key(stored.id, state.kb.now())
            .await?;
        Ok(Caller::Key {
            scope: stored.scope,
            user,
        })
    }
}
