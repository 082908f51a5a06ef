//! Administration as the JSON API and the studio's admin pages both do it: users, API
//! keys, webhooks, synonyms, and the editors' analytics (searches, feedback, review due).
//! Validation lives here only; errors name the field they are about, bilingually, so the
//! studio can show them next to the field and the API can report them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::authoring::Actor;
use super::{Kb, ServiceError, ServiceResult};
use crate::domain::{Locale, Role, Roles, UserId};
use crate::schema::FieldError;
use crate::store::{
    ApiKey, ApiScope, ArticleFilter, EventKind, FeedbackEntry, NewWebhook, SearchAnalytics,
    StoreError, User, Webhook,
};

fn field_error(field: &str, en: impl Into<String>, zh: impl Into<String>) -> FieldError {
    FieldError {
        path: format!("/{field}"),
        field: field.into(),
        message: en.into(),
        message_zh: zh.into(),
    }
}

fn invalid(errors: Vec<FieldError>) -> ServiceResult<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::Invalid(errors))
    }
}

/// The English messages of a validation error, joined: what the JSON API has always
/// answered with a 400 for these requests.
pub fn as_bad_request(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Invalid(errors) => ServiceError::BadRequest(
            errors
                .into_iter()
                .map(|f| f.message)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        other => other,
    }
}

fn parse_roles(roles: &[String], errors: &mut Vec<FieldError>) -> Roles {
    let mut out = Vec::new();
    for r in roles.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        match r.parse::<Role>() {
            Ok(role) if !out.contains(&role) => out.push(role),
            Ok(_) => {}
            Err(e) => errors.push(field_error(
                "roles",
                e.message.clone(),
                format!("未知角色：{r}"),
            )),
        }
    }
    Roles(out)
}

/// A new user.
#[derive(Debug, Clone, Default)]
pub struct NewUserInput {
    pub name: String,
    pub display_name: Option<String>,
    pub roles: Vec<String>,
    pub password: String,
}

/// A new API key; `key` in the answer is the secret, shown once and never stored in clear.
#[derive(Debug, Clone, Default)]
pub struct NewKeyInput {
    pub name: String,
    pub scope: String,
    pub user: Option<String>,
}

/// A webhook's settings. An empty `secret` on update keeps the current one.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: String,
    pub secret: Option<String>,
    pub events: Vec<String>,
    pub locales: Vec<String>,
    pub categories: Vec<String>,
    pub types: Vec<String>,
}

/// A published article whose review date is near or past.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewDue {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub review_by: DateTime<Utc>,
    pub overdue: bool,
}

/// What the editors' analytics page shows.
#[derive(Debug, Serialize)]
pub struct Analytics {
    pub days: i64,
    pub searches: SearchAnalytics,
    pub feedback: Vec<FeedbackEntry>,
    /// (kind, count): helpful, not_helpful, outdated.
    pub feedback_counts: Vec<(String, i64)>,
    pub review_due: Vec<ReviewDue>,
}

fn clean_list(v: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in v.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

impl WebhookInput {
    fn check(&self, actor: &str, creating: bool) -> ServiceResult<NewWebhook> {
        let mut errors = Vec::new();
        let url = self.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() > 2000
            || url.contains(char::is_whitespace)
        {
            errors.push(field_error(
                "url",
                "url must be an http(s) URL",
                "URL 必须以 http:// 或 https:// 开头，且不含空格",
            ));
        }
        let events = clean_list(&self.events);
        for e in &events {
            if EventKind::parse(e).is_none() {
                errors.push(field_error(
                    "events",
                    format!("unknown event '{e}'"),
                    format!("未知事件：{e}"),
                ));
            }
        }
        let locales = clean_list(&self.locales);
        for l in &locales {
            if l.parse::<Locale>().is_err() {
                errors.push(field_error(
                    "locales",
                    format!("unknown locale '{l}'"),
                    format!("未知语言：{l}"),
                ));
            }
        }
        let secret = self
            .secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        // Creating: a short secret is replaced by a generated one (the API's behaviour).
        // Editing: a new secret must be strong enough, or left empty to keep the old one.
        if !creating && secret.is_some_and(|s| s.len() < 16) {
            errors.push(field_error(
                "secret",
                "the secret needs at least 16 characters (leave empty to keep the current one)",
                "密钥至少 16 个字符（留空则保留原密钥）",
            ));
        }
        invalid(errors)?;
        let secret = match secret.filter(|s| s.len() >= 16) {
            Some(s) => s.to_string(),
            None if creating => crate::util::random_token(24),
            None => String::new(),
        };
        Ok(NewWebhook {
            url: url.into(),
            secret,
            events,
            locales,
            categories: clean_list(&self.categories),
            article_types: clean_list(&self.types),
            created_by: actor.into(),
        })
    }
}

impl Kb {
    pub async fn admin_create_user(
        &self,
        actor: &Actor,
        req: &NewUserInput,
    ) -> ServiceResult<User> {
        actor.require(Role::Admin, "managing users")?;
        let mut errors = Vec::new();
        let name = req.name.trim();
        if name.is_empty()
            || name.chars().count() > 64
            || !name
                .chars()
                .all(|c| c.is_alphanumeric() || "._-".contains(c))
        {
            errors.push(field_error(
                "name",
                "name: 1-64 letters, digits, '.', '_' or '-'",
                "用户名：1–64 个字母、数字、“.”、“_”或“-”",
            ));
        }
        let roles = parse_roles(&req.roles, &mut errors);
        if req.password.chars().count() < 8 {
            errors.push(field_error(
                "password",
                crate::auth::AuthError::WeakPassword.to_string(),
                "密码至少 8 个字符",
            ));
        }
        invalid(errors)?;
        let password = req.password.clone();
        let hash = tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let display = req
            .display_name
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .unwrap_or(name);
        let now = self.now();
        let user = self
            .store
            .create_user(name, display, &hash, &roles, now)
            .await?;
        self.store
            .audit(
                now,
                &actor.name,
                "user.create",
                &format!("user:{}", user.name),
                serde_json::json!({"roles": user.roles.to_db()}),
            )
            .await?;
        Ok(user)
    }

    /// Changes a user's roles and disabled flag. Admins cannot lock themselves out.
    pub async fn admin_update_user(
        &self,
        actor: &Actor,
        id: UserId,
        roles: &[String],
        disabled: bool,
    ) -> ServiceResult<User> {
        actor.require(Role::Admin, "managing users")?;
        let Some(user) = self.store.user_by_id(id).await? else {
            return Err(ServiceError::NotFound(format!("user {} not found", id.0)));
        };
        let mut errors = Vec::new();
        let roles = parse_roles(roles, &mut errors);
        if actor.id == Some(user.id) {
            if disabled {
                errors.push(field_error(
                    "disabled",
                    "you cannot disable your own account",
                    "不能停用自己的账号",
                ));
            }
            if !roles.has(Role::Admin) {
                errors.push(field_error(
                    "roles",
                    "you cannot remove your own admin role",
                    "不能移除自己的管理员角色",
                ));
            }
        }
        invalid(errors)?;
        let updated = self.store.update_user(id, &roles, disabled).await?;
        self.store
            .audit(
                self.now(),
                &actor.name,
                "user.update",
                &format!("user:{}", updated.name),
                serde_json::json!({"roles": updated.roles.to_db(), "disabled": disabled}),
            )
            .await?;
        Ok(updated)
    }

    /// Creates an API key; returns it with the full secret (shown once).
    pub async fn admin_create_key(
        &self,
        actor: &Actor,
        req: &NewKeyInput,
    ) -> ServiceResult<(ApiKey, String)> {
        actor.require(Role::Admin, "managing API keys")?;
        let mut errors = Vec::new();
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(field_error(
                "name",
                "name: 1-100 characters",
                "名称：1–100 个字符",
            ));
        }
        let scope = match req.scope.trim().parse::<ApiScope>() {
            Ok(s) => Some(s),
            Err(e) => {
                errors.push(field_error(
                    "scope",
                    e,
                    "未知权限范围：应为 bot、agent、editor 或 admin",
                ));
                None
            }
        };
        let user_name = req.user.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let owner = match user_name {
            Some(u) => match self.store.user_by_name(u).await? {
                Some(user) => Some(user),
                None => {
                    errors.push(field_error(
                        "user",
                        format!("no user named '{u}'"),
                        format!("没有名为“{u}”的用户"),
                    ));
                    None
                }
            },
            None => None,
        };
        if let Some(s) = scope
            && s.needs_user()
            && owner.is_none()
            && user_name.is_none()
        {
            errors.push(field_error(
                "user",
                format!("an {} key acts as a user: give 'user'", s.as_str()),
                format!("{} 密钥以某个用户的身份操作：请填写用户", s.as_str()),
            ));
        }
        if let (Some(ApiScope::Admin), Some(u)) = (scope, &owner)
            && !u.roles.has(Role::Admin)
        {
            errors.push(field_error(
                "user",
                format!(
                    "an admin key must belong to an admin; '{}' is not one",
                    u.name
                ),
                format!("admin 密钥必须属于管理员；“{}”不是管理员", u.name),
            ));
        }
        invalid(errors)?;
        let Some(scope) = scope else {
            return Err(ServiceError::Internal("scope checked above".into()));
        };
        let (full, prefix, hash) =
            crate::auth::new_api_key().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = self.now();
        let key = self
            .store
            .create_api_key(name, &prefix, &hash, scope, owner.map(|u| u.id), now)
            .await?;
        self.store
            .audit(
                now,
                &actor.name,
                "apikey.create",
                &format!("apikey:{prefix}"),
                serde_json::json!({"name": name, "scope": scope.as_str()}),
            )
            .await?;
        Ok((key, full))
    }

    pub async fn admin_revoke_key(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        actor.require(Role::Admin, "managing API keys")?;
        let now = self.now();
        self.store.revoke_api_key(id, now).await?;
        self.store
            .audit(
                now,
                &actor.name,
                "apikey.revoke",
                &format!("apikey:{id}"),
                serde_json::json!({}),
            )
            .await?;
        Ok(())
    }

    /// Creates a webhook; returns it with its secret (shown once).
    pub async fn admin_create_webhook(
        &self,
        actor: &Actor,
        req: &WebhookInput,
    ) -> ServiceResult<(Webhook, String)> {
        actor.require(Role::Admin, "managing webhooks")?;
        let w = req.check(&actor.name, true)?;
        let hook = self.store.create_webhook(&w, self.now()).await?;
        self.store
            .audit(
                self.now(),
                &actor.name,
                "webhook.create",
                &format!("webhook:{}", hook.id),
                serde_json::json!({"url": hook.url}),
            )
            .await?;
        Ok((hook, w.secret))
    }

    pub async fn admin_update_webhook(
        &self,
        actor: &Actor,
        id: i64,
        req: &WebhookInput,
    ) -> ServiceResult<Webhook> {
        actor.require(Role::Admin, "managing webhooks")?;
        let w = req.check(&actor.name, false)?;
        let hook = self.store.update_webhook(id, &w).await?;
        self.store
            .audit(
                self.now(),
                &actor.name,
                "webhook.update",
                &format!("webhook:{id}"),
                serde_json::json!({"url": hook.url, "secret_changed": !w.secret.is_empty()}),
            )
            .await?;
        Ok(hook)
    }

    /// Deactivates a webhook; its delivery log stays.
    pub async fn admin_delete_webhook(&self, actor: &Actor, id: i64) -> ServiceResult<()> {
        actor.require(Role::Admin, "managing webhooks")?;
        self.store
            .deactivate_webhook(id, &format!("deleted by {}", actor.name))
            .await?;
        self.store
            .audit(
                self.now(),
                &actor.name,
                "webhook.delete",
                &format!("webhook:{id}"),
                serde_json::json!({}),
            )
            .await?;
        Ok(())
    }

    pub async fn admin_redeliver(
        &self,
        actor: &Actor,
        id: i64,
        delivery: i64,
    ) -> ServiceResult<()> {
        actor.require(Role::Admin, "managing webhooks")?;
        self.store.redeliver(id, delivery, self.now()).await?;
        self.changed();
        Ok(())
    }

    /// The delivery log of a webhook, newest first.
    pub async fn admin_deliveries(
        &self,
        actor: &Actor,
        id: i64,
    ) -> ServiceResult<(Webhook, Vec<crate::store::Delivery>)> {
        actor.require(Role::Admin, "managing webhooks")?;
        let Some(hook) = self.store.webhook(id).await? else {
            return Err(ServiceError::NotFound(format!("webhook {id} not found")));
        };
        let log = self.store.deliveries(id, 200).await?;
        Ok((hook, log))
    }

    /// Replaces every synonym set (reviewers, publishers and admins). Applies at once.
    /// Errors name the set by its position: `/sets/3`.
    pub async fn replace_synonym_sets(
        &self,
        actor: &Actor,
        sets: &[(String, Vec<String>)],
    ) -> ServiceResult<usize> {
        if ![Role::Reviewer, Role::Publisher, Role::Admin]
            .iter()
            .any(|r| actor.roles.has(*r))
        {
            return Err(ServiceError::Forbidden(
                "managing synonyms needs the reviewer or publisher role".into(),
            ));
        }
        let mut clean = Vec::new();
        let mut errors = Vec::new();
        for (i, (locale, terms)) in sets.iter().enumerate() {
            let locale = match locale.parse::<Locale>() {
                Ok(l) => l.to_string(),
                Err(e) => {
                    errors.push(FieldError {
                        path: format!("/sets/{i}"),
                        field: "locale".into(),
                        message: e.message.clone(),
                        message_zh: format!("未知语言：{locale}"),
                    });
                    continue;
                }
            };
            let terms = clean_list(terms);
            if terms.len() < 2 || terms.iter().any(|t| t.chars().count() > 60) {
                errors.push(FieldError {
                    path: format!("/sets/{i}"),
                    field: locale.clone(),
                    message: "each synonym set needs at least two terms of at most 60 characters"
                        .into(),
                    message_zh: "每组至少两个词，每个词不超过 60 个字符".into(),
                });
                continue;
            }
            clean.push((locale, terms));
        }
        invalid(errors)?;
        self.store
            .replace_synonyms(&clean, &actor.name, self.now())
            .await?;
        self.load_synonyms().await?;
        self.store
            .audit(
                self.now(),
                &actor.name,
                "synonyms.replace",
                "synonyms",
                serde_json::json!({"sets": clean.len()}),
            )
            .await?;
        Ok(clean.len())
    }

    /// Published articles whose review date is within 30 days or past, soonest first.
    pub async fn review_due(&self) -> ServiceResult<Vec<ReviewDue>> {
        let now = self.now();
        let horizon = now + chrono::Duration::days(30);
        let mut out = Vec::new();
        for s in self
            .store
            .list_all_articles(&ArticleFilter {
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
        Ok(out)
    }

    /// The editors' analytics over the last `days` days.
    pub async fn analytics(&self, days: i64) -> ServiceResult<Analytics> {
        let days = days.clamp(1, 3650);
        let since = self.now() - chrono::Duration::days(days);
        let searches = self.store.search_analytics(since, 20).await?;
        let (feedback, feedback_counts) = self.store.recent_feedback(since, 100).await?;
        Ok(Analytics {
            days,
            searches,
            feedback,
            feedback_counts,
            review_due: self.review_due().await?,
        })
    }
}

/// Whether a store error is the unique-name conflict of a new user.
pub fn is_conflict(e: &ServiceError) -> bool {
    matches!(e, ServiceError::Store(StoreError::Conflict { .. }))
}
