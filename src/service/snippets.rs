//! Reusable snippets as editors use them: create, edit with optimistic concurrency, review
//! under the same workflow policy as articles (four-eyes included), and the **impact
//! preview** — before a snippet revision goes live, every published article and channel
//! render it would change, with a diff of each.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use similar::TextDiff;

use super::authoring::Actor;
use super::{Kb, ServiceError, ServiceResult};
use crate::content::file::{SayAs, SnippetFile, SnippetPart, SnippetParts};
use crate::domain::{RevisionState, Role, SnippetKey};
use crate::render::SnippetValue;
use crate::schema::FieldError;
use crate::store::{AuditEntry, Expect, Snippet, SnippetRevision, SnippetTransition};
use crate::workflow::{Action, Denial, Facts, decide};

/// A snippet in a request (the keys of a snippet file's front matter, plus `body`).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnippetInput {
    pub key: String,
    pub locale: String,
    pub title: String,
    /// How voice channels read the body: telephone, cardinal, currency, date, characters.
    #[serde(default)]
    pub say_as: Option<String>,
    /// What a channel shows instead of the body, e.g. `{"ivr": "幺零零八六"}`.
    #[serde(default)]
    pub variants: BTreeMap<String, String>,
    pub body: String,
}

impl SnippetInput {
    pub fn from_revision(s: &Snippet, rev: &SnippetRevision) -> Self {
        SnippetInput {
            key: s.key.clone(),
            locale: s.locale.clone(),
            title: rev.title.clone(),
            say_as: rev
                .say_as
                .and_then(|v| serde_json::to_value(v).ok())
                .and_then(|v| v.as_str().map(String::from)),
            variants: rev
                .variants
                .iter()
                .map(|(c, v)| (c.as_str().to_string(), v.clone()))
                .collect(),
            body: rev.body.clone(),
        }
    }

    /// Checks every field and reports all problems at once, bilingually, with the JSON
    /// path of each (the rules are [`SnippetFile::from_parts`], shared with snippet files).
    pub fn check(&self) -> Result<SnippetFile, Vec<FieldError>> {
        let mut errors = Vec::new();
        let say_as = match self.say_as.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(v) => match serde_json::from_value::<SayAs>(serde_json::Value::String(v.into())) {
                Ok(s) => Some(s),
                Err(_) => {
                    errors.push(FieldError {
                        path: "/say_as".into(),
                        field: "say_as".into(),
                        message: format!(
                            "unknown say_as '{v}': expected telephone, cardinal, currency, date or characters"
                        ),
                        message_zh: format!(
                            "未知的朗读方式“{v}”：可选 telephone、cardinal、currency、date、characters"
                        ),
                    });
                    None
                }
            },
        };
        let checked = SnippetFile::from_parts(SnippetParts {
            key: &self.key,
            locale: &self.locale,
            title: &self.title,
            say_as,
            variants: self
                .variants
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            body: &self.body,
        });
        let problems = match checked {
            Ok(file) if errors.is_empty() => return Ok(file),
            Ok(_) => Vec::new(),
            Err(problems) => problems,
        };
        errors.extend(problems.into_iter().map(|p| FieldError {
            path: match &p.part {
                SnippetPart::Variant(name) => format!("/variants/{name}"),
                part => format!("/{}", part.key()),
            },
            field: p.part.key().into(),
            message: p.message,
            message_zh: p.message_zh,
        }));
        Err(errors)
    }
}

/// A snippet in a list: its latest and published revisions and how many articles use it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SnippetSummary {
    pub key: String,
    pub locale: String,
    pub title: String,
    pub latest_revision: i64,
    /// State of the latest revision (draft, in_review, approved, published, …).
    pub state: String,
    pub published_revision: Option<i64>,
    /// Published articles whose renders use this snippet.
    pub used_by: i64,
    pub updated_at: DateTime<Utc>,
}

/// One snippet with its revisions and workflow trail.
#[derive(Debug, Clone, Serialize)]
pub struct SnippetDetail {
    pub snippet: Snippet,
    pub revisions: Vec<SnippetRevision>,
    pub history: Vec<AuditEntry>,
    pub used_by: Vec<UsingArticle>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UsingArticle {
    pub id: String,
    pub slug: String,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SnippetTransitionOutcome {
    pub revision: i64,
    pub from: String,
    pub to: String,
    /// Published articles that will be re-rendered (only for `publish`).
    pub rerendered_articles: usize,
}

/// What a candidate snippet revision would change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Impact {
    pub key: String,
    pub locale: String,
    /// The revision compared against the published one (`None`: nothing published yet).
    pub published_revision: Option<i64>,
    pub candidate_revision: i64,
    /// Articles using the snippet, with every channel format.
    pub articles: Vec<ArticleImpact>,
    /// Channel renders that change, over all articles.
    pub changed_renders: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArticleImpact {
    pub id: String,
    pub slug: String,
    pub title: String,
    pub revision: i32,
    pub renders: Vec<RenderImpact>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RenderImpact {
    pub channel: String,
    pub format: String,
    pub changed: bool,
    /// Unified diff (3 lines of context) from the render with the published snippet to
    /// the render with the candidate; empty when unchanged.
    pub diff: String,
    pub before: String,
    pub after: String,
}

/// The actions a snippet revision knows: it is published at once or not at all (no
/// schedule, archive or retire: a snippet is retired by no longer referencing it).
const SNIPPET_ACTIONS: [Action; 4] = [
    Action::Submit,
    Action::Approve,
    Action::Reject,
    Action::Publish,
];

fn value_of(file_key: &SnippetKey, rev: &SnippetRevision) -> SnippetValue {
    SnippetValue {
        key: file_key.clone(),
        title: rev.title.clone(),
        body: rev.body.clone(),
        say_as: rev.say_as,
        variants: rev.variants.clone(),
    }
}

impl Kb {
    pub async fn list_snippets_with_usage(
        &self,
        locale: Option<&str>,
    ) -> ServiceResult<Vec<SnippetSummary>> {
        let usage = self.store.snippet_usage().await?;
        let rows = self.store.latest_snippets(locale).await?;
        Ok(rows
            .into_iter()
            .map(|(s, rev)| SnippetSummary {
                used_by: usage
                    .get(&(s.key.clone(), s.locale.clone()))
                    .copied()
                    .unwrap_or(0),
                key: s.key,
                locale: s.locale,
                title: rev.title,
                latest_revision: s.latest_revision,
                state: rev.state.as_str().into(),
                published_revision: s.published_revision,
                updated_at: s.updated_at,
            })
            .collect())
    }

    /// Finds a snippet by key; without a locale the key must exist in exactly one.
    pub async fn find_snippet(&self, key: &str, locale: Option<&str>) -> ServiceResult<Snippet> {
        if let Some(l) = locale {
            return self
                .store
                .snippet(key, l)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("snippet '{key}' ({l})")));
        }
        let mut all: Vec<Snippet> = self
            .store
            .list_snippets()
            .await?
            .into_iter()
            .filter(|s| s.key == key)
            .collect();
        match all.len() {
            0 => Err(ServiceError::NotFound(format!("snippet '{key}'"))),
            1 => Ok(all.remove(0)),
            _ => Err(ServiceError::BadRequest(format!(
                "snippet '{key}' exists in {} locales ({}): say which with ?locale=",
                all.len(),
                all.iter()
                    .map(|s| s.locale.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub async fn snippet_revision_of(&self, s: &Snippet, n: i64) -> ServiceResult<SnippetRevision> {
        self.store
            .snippet_revision(s.id, n)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("revision {n} of snippet '{}'", s.key)))
    }

    pub async fn snippet_detail(&self, s: &Snippet) -> ServiceResult<SnippetDetail> {
        let mut used_by = Vec::new();
        for id in self.store.articles_using_snippet(&s.key, &s.locale).await? {
            let Some(a) = self.store.article(id).await? else {
                continue;
            };
            let title = match a.published_revision {
                Some(n) => self
                    .store
                    .revision(id, n)
                    .await?
                    .map(|r| r.meta.title)
                    .unwrap_or_default(),
                None => String::new(),
            };
            used_by.push(UsingArticle {
                id: id.display(),
                slug: a.slug.to_string(),
                title,
            });
        }
        Ok(SnippetDetail {
            revisions: self.store.snippet_revisions(s.id).await?,
            history: self
                .store
                .audit_of(&format!("snippet:{}:{}", s.key, s.locale), 500)
                .await?,
            used_by,
            snippet: s.clone(),
        })
    }

    /// Creates a snippet with its first draft.
    pub async fn create_snippet(
        &self,
        input: &SnippetInput,
        actor: &Actor,
    ) -> ServiceResult<(Snippet, SnippetRevision)> {
        actor.require(Role::Author, "creating a snippet")?;
        let file = input.check().map_err(ServiceError::Invalid)?;
        Ok(self
            .store
            .save_snippet_revision(&file, actor.id, &actor.name, false, Expect::New, self.now())
            .await?)
    }

    /// Saves a new draft revision on top of `base` (409 when someone saved in between).
    pub async fn save_snippet_draft(
        &self,
        s: &Snippet,
        base: i64,
        input: &SnippetInput,
        actor: &Actor,
    ) -> ServiceResult<SnippetRevision> {
        actor.require(Role::Author, "editing a snippet")?;
        let file = input.check().map_err(ServiceError::Invalid)?;
        if file.key.as_str() != s.key || file.locale.as_str() != s.locale {
            return Err(ServiceError::Invalid(vec![FieldError {
                path: "/key".into(),
                field: "key".into(),
                message: format!(
                    "key and locale cannot change (this is '{}' in {}); create a new snippet instead",
                    s.key, s.locale
                ),
                message_zh: format!(
                    "标识和语言不能修改（当前为 {}，{}）；请新建片段",
                    s.key, s.locale
                ),
            }]));
        }
        let (_, rev) = self
            .store
            .save_snippet_revision(
                &file,
                actor.id,
                &actor.name,
                false,
                Expect::Latest(base),
                self.now(),
            )
            .await?;
        Ok(rev)
    }

    /// A workflow step on the snippet's latest revision, decided by the same policy as
    /// articles: submit (author), approve / reject (reviewer), publish (publisher), and
    /// whoever wrote a revision of this review cycle can neither approve nor publish it.
    pub async fn snippet_transition(
        &self,
        s: &Snippet,
        action: Action,
        comment: Option<&str>,
        actor: &Actor,
    ) -> ServiceResult<SnippetTransitionOutcome> {
        if !SNIPPET_ACTIONS.contains(&action) {
            return Err(ServiceError::BadRequest(format!(
                "'{action}' does not apply to snippets: use submit, approve, reject or publish"
            )));
        }
        let rev = self.snippet_revision_of(s, s.latest_revision).await?;
        let authors = self
            .store
            .snippet_cycle_authors(s.id, s.published_revision.unwrap_or(0))
            .await?;
        let facts = Facts {
            actor_edited: actor.id.is_some_and(|me| authors.contains(&me)),
            actor_approved: false,
            approvals: 0,
            approvals_required: 1,
            has_comment: comment.is_some_and(|c| !c.trim().is_empty()),
            schedule_in_future: None,
        };
        let outcome = decide(rev.state, action, &actor.roles, &facts).map_err(|d| match d {
            Denial::Forbidden(m) => ServiceError::Forbidden(m),
            Denial::WrongState(m) => ServiceError::Conflict(m),
            Denial::Invalid(m) => ServiceError::BadRequest(m),
        })?;
        self.store
            .apply_snippet_transition(&SnippetTransition {
                snippet_id: s.id,
                key: &s.key,
                locale: &s.locale,
                revision: rev.number,
                action: action.as_str(),
                from: rev.state,
                to: outcome.to,
                actor: &actor.name,
                comment: comment.map(str::trim).filter(|c| !c.is_empty()),
                at: self.now(),
            })
            .await?;
        self.changed();
        let rerendered_articles = if outcome.to == RevisionState::Published {
            self.store
                .articles_using_snippet(&s.key, &s.locale)
                .await?
                .len()
        } else {
            0
        };
        Ok(SnippetTransitionOutcome {
            revision: rev.number,
            from: rev.state.as_str().into(),
            to: outcome.to.as_str().into(),
            rerendered_articles,
        })
    }

    /// Renders every published article that uses the snippet twice — with the published
    /// snippet value and with the candidate revision — and reports what differs. Both
    /// sides are rendered now, from the same templates and clock, so every difference
    /// shown is caused by the snippet and nothing else (stored renders may predate a
    /// template change or show an "expires in N days" that has since moved on).
    pub async fn snippet_impact(
        &self,
        s: &Snippet,
        candidate: Option<i64>,
    ) -> ServiceResult<Impact> {
        let n = candidate.unwrap_or(s.latest_revision);
        let rev = self.snippet_revision_of(s, n).await?;
        let key: SnippetKey = s
            .key
            .parse()
            .map_err(|_| ServiceError::Internal(format!("stored snippet key '{}'", s.key)))?;
        let before = self.snippet_values(&s.locale).await?;
        let mut after = before.clone();
        after.insert(key.clone(), value_of(&key, &rev));
        let mut articles = Vec::new();
        let mut changed_renders = 0;
        for id in self.store.articles_using_snippet(&s.key, &s.locale).await? {
            let Some(article) = self.store.article(id).await? else {
                continue;
            };
            let Some(pn) = article.published_revision else {
                continue;
            };
            let Some(prev) = self.store.revision(id, pn).await? else {
                continue;
            };
            let (mut sets, _) = self
                .render_revision_with(&article, &prev, vec![before.clone(), after.clone()])
                .await?;
            let (Some(new), Some(old)) = (sets.pop(), sets.pop()) else {
                continue;
            };
            let mut renders = Vec::with_capacity(new.len());
            for (o, a) in old.into_iter().zip(new) {
                let changed = o.body != a.body;
                changed_renders += usize::from(changed);
                let diff = if changed {
                    TextDiff::from_lines(&o.body, &a.body)
                        .unified_diff()
                        .context_radius(3)
                        .header("published", "candidate")
                        .to_string()
                } else {
                    String::new()
                };
                renders.push(RenderImpact {
                    channel: a.channel.as_str().into(),
                    format: a.format,
                    changed,
                    diff,
                    before: o.body,
                    after: a.body,
                });
            }
            articles.push(ArticleImpact {
                id: id.display(),
                slug: article.slug.to_string(),
                title: prev.meta.title.clone(),
                revision: pn,
                renders,
            });
        }
        Ok(Impact {
            key: s.key.clone(),
            locale: s.locale.clone(),
            published_revision: s.published_revision,
            candidate_revision: n,
            articles,
            changed_renders,
        })
    }
}
