//! Password login for the studio: a session cookie (HttpOnly, SameSite=Lax, Secure
//! behind TLS) and a CSRF token that cookie-authenticated writes must echo back.
//! Failed logins are rate limited per account and per address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::Caller;
use super::json::ApiJson;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "omnikb_session";
const SESSION_HOURS: i64 = 12;
const MAX_FAILURES: usize = 5;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Failed-login counters, per account name and per client address.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    fn keys(name: &str, addr: Option<IpAddr>) -> Vec<String> {
        let mut k = vec![format!("user:{}", name.to_lowercase())];
        if let Some(a) = addr {
            k.push(format!("addr:{a}"));
        }
        k
    }

    /// Whether another attempt is allowed now.
    pub fn allowed(&self, name: &str, addr: Option<IpAddr>) -> bool {
        let mut map = self.failures.lock();
        let now = Instant::now();
        Self::keys(name, addr).iter().all(|k| {
            let list = map.entry(k.clone()).or_default();
            list.retain(|t| now.duration_since(*t) < WINDOW);
            list.len() < MAX_FAILURES
        })
    }

    pub fn failed(&self, name: &str, addr: Option<IpAddr>) {
        let mut map = self.failures.lock();
        for k in Self::keys(name, addr) {
            map.entry(k).or_default().push(Instant::now());
        }
    }

    pub fn succeeded(&self, name: &str) {
        self.failures
            .lock()
            .remove(&format!("user:{}", name.to_lowercase()));
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub name: String,
    pub display_name: String,
    pub roles: Vec<String>,
    /// Send back as `X-CSRF-Token` on every state-changing request made with the cookie.
    pub csrf_token: String,
}

/// The client's address as the proxy in front of us reports it, if any.
pub fn client_addr(headers: &HeaderMap) -> Option<IpAddr> {
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
}

/// `POST /api/v1/session`: log in with a password.
#[utoipa::path(post, path = "/api/v1/session", request_body = LoginRequest, tag = "session",
    responses((status = 200, body = SessionView), (status = 401, body = crate::error::Problem), (status = 429, body = crate::error::Problem)))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<impl IntoResponse> {
    let (cookie, view) =
        open_session(&state, &req.name, &req.password, client_addr(&headers)).await?;
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?,
        )],
        axum::Json(view),
    ))
}

/// Checks a password and opens a session: the `Set-Cookie` value and the session view.
/// The JSON login and the studio's login form both use this.
pub async fn open_session(
    state: &AppState,
    name: &str,
    password: &str,
    addr: Option<IpAddr>,
) -> AppResult<(String, SessionView)> {
    if !state.login_limiter.allowed(name, addr) {
        tracing::warn!(user = %name, ?addr, "login rate limited");
        return Err(AppError::TooManyRequests(
            "too many failed logins; try again in 15 minutes".into(),
        ));
    }
    let user = state
        .kb
        .store
        .user_by_name(name)
        .await?
        .filter(|u| !u.disabled);
    // Hash even for unknown users so timing does not reveal which names exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$Zm9v".into());
    let password = password.to_string();
    let ok = tokio::task::spawn_blocking(move || crate::auth::verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(user) = user.filter(|_| ok) else {
        state.login_limiter.failed(name, addr);
        return Err(AppError::Unauthorized);
    };
    state.login_limiter.succeeded(name);
    let (token, hash) = crate::auth::new_session_token();
    let csrf = crate::util::random_token(24);
    let now = state.kb.now();
    state
        .kb
        .store
        .create_session(
            &hash,
            user.id,
            &csrf,
            now,
            now + chrono::Duration::hours(SESSION_HOURS),
        )
        .await?;
    let secure = state.config.site.base_url.starts_with("https://");
    let cookie = format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    );
    let view = SessionView {
        name: user.name.clone(),
        display_name: user.display_name.clone(),
        roles: user
            .roles
            .0
            .iter()
            .map(|r| r.as_str().to_string())
            .collect(),
        csrf_token: csrf,
    };
    Ok((cookie, view))
}

/// `DELETE /api/v1/session`: log out.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    _caller: Caller,
) -> AppResult<impl IntoResponse> {
    if let Some(token) = session_token(&headers) {
        state
            .kb
            .store
            .delete_session(&crate::auth::session_hash(&token))
            .await?;
    }
    let clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]))
}

/// The session token from the cookie header, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == SESSION_COOKIE && !v.is_empty()).then(|| v.to_string())
        })
}
