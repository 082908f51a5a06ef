//! Who is calling: an API key (`Authorization: Bearer okb_…`) or nobody.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};

use crate::error::AppError;
use crate::service::authoring::Actor;
use crate::state::AppState;
use crate::store::{ApiScope, User};

#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    Key {
        scope: ApiScope,
        user: Option<User>,
    },
    /// A studio user logged in with a password (session cookie).
    Session {
        user: User,
    },
}

impl Caller {
    /// Internal content is for agent, editor and admin scopes only.
    pub fn sees_internal(&self) -> bool {
        matches!(
            self,
            Caller::Key {
                scope: ApiScope::Agent | ApiScope::Editor | ApiScope::Admin,
                ..
            } | Caller::Session { .. }
        )
    }

    /// The user an editor or admin key acts as, with that user's roles.
    pub fn actor(&self) -> Result<Actor, AppError> {
        match self {
            Caller::Key {
                scope: ApiScope::Editor | ApiScope::Admin,
                user: Some(u),
            }
            | Caller::Session { user: u } => Ok(Actor {
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

    /// An admin acting as themselves (users, keys, webhooks).
    pub fn require_admin(&self) -> Result<Actor, AppError> {
        let actor = self.actor()?;
        if !actor.roles.has(crate::domain::Role::Admin) {
            return Err(AppError::Forbidden(
                "only admins manage users, API keys and webhooks".into(),
            ));
        }
        Ok(actor)
    }

    /// Editors and admins (history, drafts).
    pub fn require_editor(&self) -> Result<(), AppError> {
        match self {
            Caller::Key {
                scope: ApiScope::Editor | ApiScope::Admin,
                ..
            }
            | Caller::Session { .. } => Ok(()),
            Caller::Anonymous => Err(AppError::Unauthorized),
            Caller::Key { .. } => Err(AppError::Forbidden(
                "this needs an editor or admin key".into(),
            )),
        }
    }

    pub fn user(&self) -> Option<&User> {
        match self {
            Caller::Key { user, .. } => user.as_ref(),
            Caller::Session { user } => Some(user),
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
            return from_session(parts, state).await;
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
        // argon2 is deliberately slow (tens of milliseconds), which a bot sending a search per
        // customer message must not pay each time: a key verified in the last minutes is
        // recognised by a SHA-256 fingerprint of what was presented. The row above is still
        // read on every request, so revoking a key takes effect at once.
        let fingerprint = crate::util::sha256_hex(key.as_bytes());
        if !state.verified_keys.fresh(&fingerprint, stored.id) {
            // Keep argon2 off the async runtime.
            let hash = stored.key_hash.clone();
            let secret = secret.to_string();
            let ok =
                tokio::task::spawn_blocking(move || crate::auth::verify_api_secret(&secret, &hash))
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))?;
            if !ok {
                return Err(AppError::Unauthorized);
            }
            state.verified_keys.remember(fingerprint, stored.id);
        }
        let user = match stored.user_id {
            Some(id) => state.kb.store.user_by_id(id).await?.filter(|u| !u.disabled),
            None => None,
        };
        if stored.scope.needs_user() && user.is_none() {
            return Err(AppError::Unauthorized);
        }
        // Record the last use, but not on every request: a busy bot would otherwise write
        // to the database for each search.
        let now = state.kb.now();

        if stored
            .last_used_at
            .is_none_or(|t| now - t > chrono::Duration::seconds(60))
        {
            state.kb.store.touch_api_key(stored.id, now).await?;
        }
        Ok(Caller::Key {
            scope: stored.scope,
            user,
        })
    }
}

/// A session cookie, if present and valid. A state-changing request made with a cookie
/// must carry the session's CSRF token in `X-CSRF-Token` (or a form field checked by the
/// studio), because browsers send cookies on cross-site requests too.
async fn from_session(parts: &Parts, state: &AppState) -> Result<Caller, AppError> {
    let Some(token) = super::session::session_token(&parts.headers) else {
        return Ok(Caller::Anonymous);
    };
    let Some(session) = state
        .kb
        .store
        .session(&crate::auth::session_hash(&token), state.kb.now())
        .await?
    else {
        return Ok(Caller::Anonymous);
    };
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !crate::util::constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
            return Err(AppError::Forbidden(
                "missing or wrong CSRF token (X-CSRF-Token)".into(),
            ));
        }
    }
    let user = state
        .kb
        .store
        .user_by_id(session.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or(AppError::Unauthorized)?;
    Ok(Caller::Session { user })
}
