//! Users, API keys and login sessions.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Result, Store, StoreError, with_pool};
use crate::domain::{Roles, UserId};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub roles: Roles,
    pub created_at: DateTime<Utc>,
    pub disabled: bool,
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiScope {
    /// Public content for chat-bots and IVR platforms.
    Bot,
    /// Agent desk: internal content, feedback.
    Agent,
    /// Acts as its user (authoring).
    Editor,
    /// Acts as its user, who must be an admin.
    Admin,
}

impl ApiScope {
    pub fn as_str(&self) -> &'static str {
        match self {
            ApiScope::Bot => "bot",
            ApiScope::Agent => "agent",
            ApiScope::Editor => "editor",
            ApiScope::Admin => "admin",
        }
    }

    /// Editor and admin keys act as a user and must belong to one.
    pub fn needs_user(&self) -> bool {
        matches!(self, ApiScope::Editor | ApiScope::Admin)
    }
}

impl FromStr for ApiScope {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "bot" => Ok(ApiScope::Bot),
            "agent" => Ok(ApiScope::Agent),
            "editor" => Ok(ApiScope::Editor),
            "admin" => Ok(ApiScope::Admin),
            other => Err(format!(
                "unknown scope '{other}': expected bot, agent, editor or admin"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiKey {
    pub id: i64,
    pub name: String,
    /// The public part of the key, used to find it (`okb_XXXXXXXX`).
    pub prefix: String,
    #[serde(skip)]
    pub key_hash: String,
    pub scope: ApiScope,
    pub user_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user_id: UserId,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

fn user_from_row<R: Row>(row: &R) -> Result<User>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let roles: String = row.try_get("roles")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        name: row.try_get("name")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        roles: Roles::from_db(&roles).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at: row.try_get("created_at")?,
        disabled: row.try_get("disabled")?,
    })
}

fn key_from_row<R: Row>(row: &R) -> Result<ApiKey>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let scope: String = row.try_get("scope")?;
    Ok(ApiKey {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        key_hash: row.try_get("key_hash")?,
        scope: scope.parse().map_err(StoreError::Corrupt)?,
        user_id: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

const USER_COLS: &str = "id, name, display_name, password_hash, roles, created_at, disabled";
const KEY_COLS: &str =
    "id, name, prefix, key_hash, scope, user_id, created_at, last_used_at, revoked_at";

impl Store {
    pub async fn create_user(
        &self,
        name: &str,
        display_name: &str,
        password_hash: &str,
        roles: &Roles,
        now: DateTime<Utc>,
    ) -> Result<User> {
        let sql = format!(
            "INSERT INTO users (name, display_name, password_hash, roles, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLS}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(name).bind(display_name).bind(password_hash).bind(roles.to_db()).bind(now)
                .fetch_one(pool).await
                .map_err(|e| match StoreError::from(e) {
                    StoreError::Conflict { .. } => StoreError::conflict(format!("a user named '{name}' already exists")),
                    other => other,
                })?;
            user_from_row(&row)
        })
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE name = $1");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(name).fetch_optional(pool).await? {
                Some(row) => Ok(Some(user_from_row(&row)?)),
                None => Ok(None),
            }
        })
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users WHERE id = $1");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(id.0).fetch_optional(pool).await? {
                Some(row) => Ok(Some(user_from_row(&row)?)),
                None => Ok(None),
            }
        })
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let sql = format!("SELECT {USER_COLS} FROM users ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?;
            rows.iter().map(user_from_row).collect()
        })
    }

    /// Sets a user's roles and disabled flag (admins manage users).
    pub async fn update_user(&self, id: UserId, roles: &Roles, disabled: bool) -> Result<User> {
        let sql = format!(
            "UPDATE users SET roles = $1, disabled = $2 WHERE id = $3 RETURNING {USER_COLS}"
        );
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(roles.to_db()).bind(disabled).bind(id.0).fetch_optional(pool).await? {
                Some(row) => user_from_row(&row),
                None => Err(StoreError::NotFound(format!("user {}", id.0))),
            }
        })
    }

    pub async fn count_users(&self) -> Result<i64> {
        with_pool!(self, pool => {
            Ok(sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users").fetch_one(pool).await?)
        })
    }

    pub async fn create_api_key(
        &self,
        name: &str,
        prefix: &str,
        key_hash: &str,
        scope: ApiScope,
        user: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<ApiKey> {
        let sql = format!(
            "INSERT INTO api_keys (name, prefix, key_hash, scope, user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {KEY_COLS}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(name).bind(prefix).bind(key_hash).bind(scope.as_str()).bind(user.map(|u| u.0)).bind(now)
                .fetch_one(pool).await?;
            key_from_row(&row)
        })
    }

    pub async fn api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys WHERE prefix = $1");
        with_pool!(self, pool => {
            match sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(prefix).fetch_optional(pool).await? {
                Some(row) => Ok(Some(key_from_row(&row)?)),
                None => Ok(None),
            }
        })
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let sql = format!("SELECT {KEY_COLS} FROM api_keys ORDER BY id");
        with_pool!(self, pool => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).fetch_all(pool).await?;
            rows.iter().map(key_from_row).collect()
        })
    }

    pub async fn touch_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
        });
        Ok(())
    }

    pub async fn revoke_api_key(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let done = with_pool!(self, pool => {
            sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now).bind(id).execute(pool).await?.rows_affected()
        });
        if done == 0 {
            return Err(StoreError::NotFound(format!("active API key {id}")));
        }
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user: UserId,
        csrf: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token_hash).bind(user.0).bind(csrf).bind(now).bind(expires).execute(pool).await?;
        });
        Ok(())
    }

    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        with_pool!(self, pool => {
            let row = sqlx::query("SELECT user_id, csrf_token, expires_at FROM sessions WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash).bind(now).fetch_optional(pool).await?;
            match row {
                Some(row) => Ok(Some(Session {
                    user_id: UserId(row.try_get("user_id")?),
                    csrf_token: row.try_get("csrf_token")?,
                    expires_at: row.try_get("expires_at")?,
                })),
                None => Ok(None),
            }
        })
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
        });
        Ok(())
    }
}
