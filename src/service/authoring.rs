//! Authoring and the approval workflow: drafts, transitions, history, rollback.
//!
//! Each operation reads the current state, asks the pure policy (`workflow::decide`),
//! runs the pre-publish checks where they apply, and hands one transition to the store,
//! which applies it atomically with its audit row and outbox event.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validate::{CheckedArticle, check_source};
use super::{Kb, ServiceError, ServiceResult};
use crate::content::dates;
use crate::content::file::{ArticleFile, FrontMatter};
use crate::domain::{Article, ArticleId, Confidence, Revision, RevisionState, Role, Roles, UserId};
use crate::schema::FieldError;
use crate::store::{NewRevision, TransitionRecord};
use crate::workflow::{Action, Denial, Facts, decide};

/// How often the scheduler reads every published article for dates that passed (between
/// those, it reads only what changed; see `run_scheduler`).
const NOTICE_FULL_SCAN_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How far back each tick's look reaches before the previous one: a publication whose
/// transaction began before the last look but committed after it is still seen.
const NOTICE_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// Who is acting.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<UserId>,
    pub name: String,
    pub roles: Roles,
}

impl Actor {
    /// The scheduler: publishes what a publisher scheduled; never edits.
    pub fn system() -> Self {
        Actor {
            id: None,
            name: "scheduler".into(),
            roles: Roles(vec![Role::Publisher]),
        }
    }

    pub(crate) fn require(&self, role: Role, what: &str) -> ServiceResult<()> {
        if self.roles.has(role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "{what} needs the {role} role"
            )))
        }
    }
}

/// An article in a request: the front-matter keys plus `body` (interfaces.md).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    pub slug: String,
    #[serde(rename = "type")]
    pub article_type: String,
    pub locale: String,
    pub title: String,
    #[serde(default)]
    pub translation_key: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub effective_from: Option<String>,
    #[serde(default)]
    pub expires_at: Option<String>,
    #[serde(default)]
    pub review_by: Option<String>,
    #[serde(default)]
    pub confidence: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub body: String,
}

impl ArticleInput {
    fn to_file(&self) -> ArticleFile {
        let front = FrontMatter {
            slug: self.slug.clone(),
            article_type: self.article_type.clone(),
            locale: self.locale.clone(),
            title: self.title.clone(),
            translation_key: self.translation_key.clone(),
            category: self.category.clone(),
            tags: self.tags.clone(),
            audience: self.audience.clone(),
            effective_from: self.effective_from.clone(),
            expires_at: self.expires_at.clone(),
            review_by: self.review_by.clone(),
            confidence: self.confidence.clone(),
            fields: self.fields.clone(),
        };
        ArticleFile::from_front(front, self.body.clone())
    }

    /// The article as an input (for rollback and the studio's edit form).
    pub fn from_revision(article: &Article, rev: &Revision) -> Self {
        let v = &rev.meta.validity;
        ArticleInput {
            slug: article.slug.to_string(),
            article_type: article.article_type.clone(),
            locale: article.locale.to_string(),
            title: rev.meta.title.clone(),
            translation_key: Some(article.translation_key.clone()),
            category: rev.meta.category.clone(),
            tags: rev.meta.tags.clone(),
            audience: Some(rev.meta.audience.as_str().into()),
            effective_from: v.effective_from.map(dates::format),
            expires_at: v.expires_at.map(dates::format),
            review_by: v.review_by.map(dates::format),
            confidence: None,
            fields: rev.meta.fields.clone(),
            body: rev.body.clone(),
        }
    }
}

/// The result of a transition request.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TransitionOutcome {
    pub revision: i32,
    #[schema(value_type = String)]
    pub from: RevisionState,
    #[schema(value_type = String)]
    pub to: RevisionState,
    pub approvals: usize,
    pub approvals_required: u32,
    pub event_seq: i64,
}

/// A change between two revisions.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DiffLine {
    /// `equal`, `delete` or `insert`.
    pub op: &'static str,
    pub old_line: Option<usize>,
    pub new_line: Option<usize>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevisionDiff {
    pub from: i32,
    pub to: i32,
    pub fields: Vec<FieldChange>,
    pub body: Vec<DiffLine>,
    /// The body diff in unified format (for terminals and review emails).
    pub unified: String,
}

/// What one scheduler tick did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SchedulerReport {
    pub published: Vec<(ArticleId, i32)>,
    pub expired: Vec<ArticleId>,
    pub became_effective: Vec<ArticleId>,
    pub review_due: Vec<ArticleId>,
}

fn invalid(field: &str, en: impl Into<String>, zh: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(vec![FieldError {
        path: format!("/{field}"),
        field: field.into(),
        message: en.into(),
        message_zh: zh.into(),
    }])
}

impl Kb {
    /// Parses and validates an article input against everything it must satisfy.
    async fn check_input(&self, input: &ArticleInput) -> ServiceResult<CheckedArticle> {
        let file = input.to_file();
        let source = file.check().map_err(|errs| {
            ServiceError::Invalid(
                errs.into_iter()
                    .map(|e| {
                        let field = e.field.clone().unwrap_or_else(|| "article".into());
                        FieldError {
                            path: format!("/{field}"),
                            field,
                            message_zh: format!("取值无效：{}", e.message),
                            message: e.message,
                        }
                    })
                    .collect(),
            )
        })?;
        let snippets = self.snippet_pairs().await?;
        let locale = source.locale.to_string();
        let exists = |key: &str| snippets.contains(&(key.to_string(), locale.clone()));
        check_source(source, 1, &self.schemas(), &exists).map_err(ServiceError::Invalid)
    }

    /// Creates an article with its first draft.
    pub async fn create_article(
        &self,
        input: &ArticleInput,
        actor: &Actor,
    ) -> ServiceResult<(Article, Revision)> {
        actor.require(Role::Author, "creating an article")?;
        let checked = self.check_input(input).await?;
        let src = &checked.source;
        let rev = NewRevision {
            meta: &src.meta,
            body: &src.body,
            author: actor.id,
            actor: &actor.name,
            now: self.now(),
        };
        let confidence = src.confidence.unwrap_or(Confidence::Wip);
        Ok(self
            .store
            .create_article(
                &src.slug,
                &src.locale,
                &src.article_type,
                &src.translation_key,
                confidence,
                rev,
            )
            .await?)
    }

    /// Saves a new draft on top of `base`; 409 when someone saved in between.
    pub async fn save_draft(
        &self,
        id: ArticleId,
        base: i32,
        input: &ArticleInput,
        actor: &Actor,
    ) -> ServiceResult<Revision> {
        actor.require(Role::Author, "editing an article")?;
        let article = self.article(id).await?;
        if input.slug != article.slug.as_str() || input.article_type != article.article_type {
            return Err(invalid(
                "slug",
                "slug and type of an existing article cannot change",
                "已有文章的 slug 和类型不能修改",
            ));
        }
        if input.locale.parse::<crate::domain::Locale>().ok().as_ref() != Some(&article.locale) {
            return Err(invalid(
                "locale",
                "the locale of an existing article cannot change",
                "已有文章的语言不能修改",
            ));
        }
        let checked = self.check_input(input).await?;
        let src = &checked.source;
        let rev = NewRevision {
            meta: &src.meta,
            body: &src.body,
            author: actor.id,
            actor: &actor.name,
            now: self.now(),
        };
        Ok(self.store.save_draft(id, base, rev).await?)
    }

    pub async fn article(&self, id: ArticleId) -> ServiceResult<Article> {
        self.store
            .article(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("article {id} not found")))
    }

    pub async fn revision_of(&self, id: ArticleId, n: i32) -> ServiceResult<Revision> {
        self.store
            .revision(id, n)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("revision {n} of {id} not found")))
    }

    /// The revision an action applies to.
    async fn target_revision(&self, article: &Article, action: Action) -> ServiceResult<Revision> {
        let number = match action {
            Action::Archive | Action::Retire if article.published_revision.is_some() => article
                .published_revision
                .unwrap_or(article.latest_revision),
            _ => article.latest_revision,
        };
        let rev = self.revision_of(article.id, number).await?;
        if matches!(action, Action::Retire)
            && article.published_revision.is_none()
            && rev.state != RevisionState::Archived
        {
            // Retire an archived article: find its archived revision.
            for r in self.store.revisions(article.id).await?.into_iter().rev() {
                if r.state == RevisionState::Archived {
                    return Ok(r);
                }
            }
        }
        if matches!(action, Action::Restore)
            && !matches!(rev.state, RevisionState::Archived | RevisionState::Retired)
        {
            for r in self.store.revisions(article.id).await?.into_iter().rev() {
                if matches!(r.state, RevisionState::Archived | RevisionState::Retired) {
                    return Ok(r);
                }
            }
        }
        Ok(rev)
    }

    /// Everyone who authored a revision in the current review cycle (since the live one).
    async fn cycle_authors(&self, article: &Article, upto: i32) -> ServiceResult<BTreeSet<UserId>> {
        let since = article.published_revision.unwrap_or(0);
        Ok(self
            .store
            .revisions(article.id)
            .await?
            .into_iter()
            .filter(|r| r.number > since && r.number <= upto)
            .filter_map(|r| r.author)
            .collect())
    }

    /// Pre-publish checks (on submit and approve): the revision must still be valid
    /// against the schemas and snippets in force, and its links must resolve.
    pub async fn pre_publish_checks(&self, article: &Article, rev: &Revision) -> ServiceResult<()> {
        let input = ArticleInput::from_revision(article, rev);
        let checked = self.check_input(&input).await?;
        let mut errors = Vec::new();
        if let Some(list) = rev.meta.fields.get("related").and_then(|v| v.as_array()) {
            for (i, slug) in list.iter().filter_map(|v| v.as_str()).enumerate() {
                if self
                    .store
                    .article_by_slug(slug, article.locale.as_str())
                    .await?
                    .is_none()
                {
                    errors.push(FieldError {
                        path: format!("/fields/related/{i}"),
                        field: "related".into(),
                        message: format!(
                            "related article '{slug}' does not exist in {}",
                            article.locale
                        ),
                        message_zh: format!("相关文章“{slug}”在 {} 中不存在", article.locale),
                    });
                }
            }
        }
        for url in checked.body.doc.link_urls() {
            // Internal links: /kb/{locale}/{slug}
            if let Some(rest) = url.strip_prefix("/kb/") {
                let mut parts = rest.splitn(2, '/');
                let (locale, slug) = (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                );
                let slug = slug.split(['#', '?']).next().unwrap_or_default();
                if self.store.article_by_slug(slug, locale).await?.is_none() {
                    errors.push(FieldError {
                        path: "/body".into(),
                        field: "body".into(),
                        message: format!("broken internal link {url}"),
                        message_zh: format!("站内链接无效：{url}"),
                    });
                }
            }
        }
        errors.extend(self.lint_findings(article, rev));
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(errors))
        }
    }

    /// The sensitive-content lint for customer channels. Internal articles never reach a
    /// customer channel, and internal-only fields and blocks are exempt.
    fn lint_findings(&self, article: &Article, rev: &Revision) -> Vec<FieldError> {
        if rev.meta.audience == crate::domain::Audience::Internal {
            return Vec::new();
        }
        let schemas = self.schemas();
        let Ok(schema) = schemas.get(&article.article_type) else {
            return Vec::new();
        };
        crate::lint::lint_article(
            &rev.meta.title,
            &rev.meta.fields,
            &rev.body,
            schema,
            &self.lint,
        )
        .iter()
        .map(|f| f.to_field_error())
        .collect()
    }

    /// The review date a revision gets when it goes live: its own `review_by`, else the
    /// type's verification interval from now.
    fn review_date(
        &self,
        article: &Article,
        rev: &Revision,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        rev.meta.validity.review_by.or_else(|| {
            let days = self
                .schemas()
                .get(&article.article_type)
                .map(|s| i64::from(s.rules.verification_days))
                .unwrap_or(0);
            (days > 0).then(|| now + chrono::Duration::days(days))
        })
    }

    /// Takes a workflow action on an article.
    pub async fn transition(
        &self,
        id: ArticleId,
        action: Action,
        comment: Option<&str>,
        at: Option<DateTime<Utc>>,
        actor: &Actor,
    ) -> ServiceResult<TransitionOutcome> {
        let article = self.article(id).await?;
        let rev = self.target_revision(&article, action).await?;
        let now = self.now();
        let schemas = self.schemas();
        let schema = schemas
            .get(&article.article_type)
            .map_err(|e| ServiceError::Internal(e.to_string()))?
            .clone();
        let approvals = self.store.approvals(id, rev.number).await?;
        let authors = self.cycle_authors(&article, rev.number).await?;
        let facts = Facts {
            actor_edited: actor.id.is_some_and(|me| authors.contains(&me)),
            actor_approved: actor.id.is_some_and(|me| approvals.contains(&me)),
            approvals: u32::try_from(approvals.len()).unwrap_or(u32::MAX),
            approvals_required: schema.rules.approvals.max(1),
            has_comment: comment.is_some_and(|c| !c.trim().is_empty()),
            schedule_in_future: at.map(|t| t > now),
        };
        // A scheduled revision is published by the scheduler acting for the publisher
        // who scheduled it; the four-eyes check happened when it was scheduled.
        let outcome = decide(rev.state, action, &actor.roles, &facts).map_err(|d| match d {
            Denial::Forbidden(m) => ServiceError::Forbidden(m),
            Denial::WrongState(m) => ServiceError::Conflict(m),
            Denial::Invalid(m) => ServiceError::BadRequest(m),
        })?;
        if matches!(action, Action::Submit | Action::Approve) {
            self.pre_publish_checks(&article, &rev).await?;
        }
        let review_by = if outcome.to == RevisionState::Published {
            self.review_date(&article, &rev, now)
        } else {
            None
        };
        let record = TransitionRecord {
            article_id: id,
            revision: rev.number,
            action,
            from: rev.state,
            to: outcome.to,
            actor: actor.id,
            actor_name: &actor.name,
            comment: comment.map(str::trim).filter(|c| !c.is_empty()),
            at: now,
            records_approval: outcome.records_approval,
            scheduled_at: if action == Action::Schedule {
                at
            } else {
                rev.scheduled_at
                    .filter(|_| outcome.to == RevisionState::Scheduled)
            },
            review_by,
        };
        let seq = self.store.apply_transition(&record).await?;
        self.changed();
        if matches!(
            outcome.to,
            RevisionState::Published | RevisionState::Archived | RevisionState::Retired
        ) {
            self.refresh_renders(id).await?;
        }
        let approvals_now = self.store.approvals(id, rev.number).await?.len();
        Ok(TransitionOutcome {
            revision: rev.number,
            from: rev.state,
            to: outcome.to,
            approvals: approvals_now,
            approvals_required: facts.approvals_required,
            event_seq: seq,
        })
    }

    /// A new draft with the content of an older revision; it goes through review again.
    pub async fn rollback(&self, id: ArticleId, to: i32, actor: &Actor) -> ServiceResult<Revision> {
        actor.require(Role::Author, "rolling back")?;
        let article = self.article(id).await?;
        let old = self.revision_of(id, to).await?;
        let rev = NewRevision {
            meta: &old.meta,
            body: &old.body,
            author: actor.id,
            actor: &actor.name,
            now: self.now(),
        };
        let created = self
            .store
            .save_draft(id, article.latest_revision, rev)
            .await?;
        self.store
            .audit(
                self.now(),
                &actor.name,
                "article.rollback",
                &id.to_string(),
                serde_json::json!({"from_revision": to, "new_revision": created.number}),
            )
            .await?;
        Ok(created)
    }

    /// Field-by-field and line-by-line differences between two revisions.
    pub async fn diff(&self, id: ArticleId, from: i32, to: i32) -> ServiceResult<RevisionDiff> {
        let a = self.revision_of(id, from).await?;
        let b = self.revision_of(id, to).await?;
        Ok(diff_revisions(&a, &b))
    }

    pub async fn set_confidence(
        &self,
        id: ArticleId,
        confidence: Confidence,
        actor: &Actor,
    ) -> ServiceResult<()> {
        actor.require(Role::Reviewer, "setting confidence")?;
        Ok(self
            .store
            .set_confidence(id, confidence, &actor.name, self.now())
            .await?)
    }

    /// One scheduler tick: publish what is due, and emit expiry, effective-date and
    /// review-due events once each. Idempotent; the clock is injected.
    pub async fn run_scheduler(&self) -> ServiceResult<SchedulerReport> {
        let now = self.now();
        let mut report = SchedulerReport::default();
        for (id, n) in self.store.due_scheduled(now).await? {
            let article = self.article(id).await?;
            let rev = self.revision_of(id, n).await?;
            let record = TransitionRecord {
                article_id: id,
                revision: n,
                action: Action::Publish,
                from: RevisionState::Scheduled,
                to: RevisionState::Published,
                actor: None,
                actor_name: "scheduler",
                comment: Some("scheduled publication"),
                at: now,
                records_approval: false,
                scheduled_at: rev.scheduled_at,
                review_by: self.review_date(&article, &rev, now),
            };
            match self.store.apply_transition(&record).await {
                Ok(_) => {
                    self.changed();
                    self.refresh_renders(id).await?;
                    report.published.push((id, n));
                }
                // Someone else (another node, a reject) got there first.
                Err(crate::store::StoreError::Conflict { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // Dates pass once: after a first look at every published article, each tick reads
        // only the articles changed or dated since the previous look (with an overlap, for
        // writes that committed late), and everything again now and then as a safety net —
        // and whenever the clock went back.
        let cursor = *self.notice_cursor.lock();
        let incremental =
            cursor.filter(|c| c.since <= now && c.full_at.elapsed() < NOTICE_FULL_SCAN_EVERY);
        let live = match incremental {
            Some(c) => {
                self.store
                    .live_revisions_changed(c.since - NOTICE_OVERLAP, now)
                    .await?
            }
            None => self.store.pending_notices(now).await?,
        };
        for live in live {
            use crate::store::EventKind;
            let due = [
                (live.expires_at, EventKind::Expired),
                (live.effective_from, EventKind::Effective),
                (live.review_by, EventKind::ReviewDue),
            ];
            for (at, kind) in due {
                if at.is_some_and(|t| t <= now)
                    && self.store.notice_once(&live, kind, now).await?.is_some()
                {
                    match kind {
                        EventKind::Expired => report.expired.push(live.article_id),
                        EventKind::Effective => report.became_effective.push(live.article_id),
                        _ => report.review_due.push(live.article_id),
                    }
                }
            }
        }
        *self.notice_cursor.lock() = Some(crate::service::NoticeCursor {
            since: now,
            full_at: incremental.map_or_else(std::time::Instant::now, |c| c.full_at),
        });
        if !(report.expired.is_empty()
            && report.became_effective.is_empty()
            && report.review_due.is_empty())
        {
            self.changed();
        }
        Ok(report)
    }
}

fn diff_revisions(a: &Revision, b: &Revision) -> RevisionDiff {
    let as_json = |r: &Revision| {
        let mut m = serde_json::Map::new();
        m.insert("title".into(), r.meta.title.clone().into());
        m.insert(
            "category".into(),
            serde_json::to_value(&r.meta.category).unwrap_or_default(),
        );
        m.insert(
            "tags".into(),
            serde_json::to_value(&r.meta.tags).unwrap_or_default(),
        );
        m.insert("audience".into(), r.meta.audience.as_str().into());
        m.insert(
            "effective_from".into(),
            serde_json::to_value(r.meta.validity.effective_from.map(dates::format))
                .unwrap_or_default(),
        );
        m.insert(
            "expires_at".into(),
            serde_json::to_value(r.meta.validity.expires_at.map(dates::format)).unwrap_or_default(),
        );
        m.insert(
            "review_by".into(),
            serde_json::to_value(r.meta.validity.review_by.map(dates::format)).unwrap_or_default(),
        );
        for (k, v) in &r.meta.fields {
            m.insert(format!("fields.{k}"), v.clone());
        }
        m
    };
    let (ma, mb) = (as_json(a), as_json(b));
    let keys: BTreeSet<&String> = ma.keys().chain(mb.keys()).collect();
    let fields = keys
        .into_iter()
        .filter_map(|k| {
            let before = ma.get(k).cloned().unwrap_or(serde_json::Value::Null);
            let after = mb.get(k).cloned().unwrap_or(serde_json::Value::Null);
            (before != after).then(|| FieldChange {
                field: k.clone(),
                before,
                after,
            })
        })
        .collect();
    let text_diff = similar::TextDiff::from_lines(&a.body, &b.body);
    let body = text_diff
        .iter_all_changes()
        .map(|c| DiffLine {
            op: match c.tag() {
                similar::ChangeTag::Equal => "equal",
                similar::ChangeTag::Delete => "delete",
                similar::ChangeTag::Insert => "insert",
            },
            old_line: c.old_index().map(|i| i + 1),
            new_line: c.new_index().map(|i| i + 1),
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect();
    let unified = text_diff
        .unified_diff()
        .header(
            &format!("revision {}", a.number),
            &format!("revision {}", b.number),
        )
        .to_string();
    RevisionDiff {
        from: a.number,
        to: b.number,
        fields,
        body,
        unified,
    }
}
