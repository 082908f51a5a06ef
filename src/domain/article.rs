//! Articles and their immutable revisions.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ArticleId, DomainError, Locale, Slug, UserId};

/// How an API caller names an article: its id or its slug (+ locale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArticleRef {
    Id(ArticleId),
    Slug(Slug),
}

impl FromStr for ArticleRef {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(id) = ArticleId::parse(s) {
            return Ok(ArticleRef::Id(id));
        }
        Ok(ArticleRef::Slug(s.parse()?))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    #[default]
    Public,
    Internal,
}

impl Audience {
    pub fn as_str(&self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Internal => "internal",
        }
    }
}

impl FromStr for Audience {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" => Ok(Audience::Public),
            "internal" => Ok(Audience::Internal),
            other => Err(DomainError::new(
                "audience",
                format!("unknown audience '{other}': expected public or internal"),
            )),
        }
    }
}

/// KCS confidence, independent of the publishing state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Wip,
    #[default]
    NotValidated,
    Validated,
}

impl Confidence {
    pub fn as_str(&self) -> &'static str {
        match self {
            Confidence::Wip => "wip",
            Confidence::NotValidated => "not_validated",
            Confidence::Validated => "validated",
        }
    }
}

impl FromStr for Confidence {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "wip" => Ok(Confidence::Wip),
            "not_validated" => Ok(Confidence::NotValidated),
            "validated" => Ok(Confidence::Validated),
            other => Err(DomainError::new(
                "confidence",
                format!("unknown confidence '{other}': expected wip, not_validated or validated"),
            )),
        }
    }
}

/// The workflow state of one revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionState {
    Draft,
    InReview,
    Approved,
    Scheduled,
    Published,
    /// A published revision replaced by a newer published one (kept for history).
    Superseded,
    Archived,
    Retired,
}

impl RevisionState {
    pub const ALL: [RevisionState; 8] = [
        RevisionState::Draft,
        RevisionState::InReview,
        RevisionState::Approved,
        RevisionState::Scheduled,
        RevisionState::Published,
        RevisionState::Superseded,
        RevisionState::Archived,
        RevisionState::Retired,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            RevisionState::Draft => "draft",
            RevisionState::InReview => "in_review",
            RevisionState::Approved => "approved",
            RevisionState::Scheduled => "scheduled",
            RevisionState::Published => "published",
            RevisionState::Superseded => "superseded",
            RevisionState::Archived => "archived",
            RevisionState::Retired => "retired",
        }
    }

    /// A revision in one of these states is still being worked on (at most one per article).
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            RevisionState::Draft
                | RevisionState::InReview
                | RevisionState::Approved
                | RevisionState::Scheduled
        )
    }
}

impl FromStr for RevisionState {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RevisionState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| DomainError::new("state", format!("unknown state '{s}'")))
    }
}

impl fmt::Display for RevisionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shelf life of a revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    pub effective_from: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub review_by: Option<DateTime<Utc>>,
}

/// Where a revision stands in time, derived from its validity dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidityStatus {
    NotYetEffective,
    Valid,
    Expired,
}

impl Validity {
    pub fn status_at(&self, now: DateTime<Utc>) -> ValidityStatus {
        if self.expires_at.is_some_and(|t| t <= now) {
            ValidityStatus::Expired
        } else if self.effective_from.is_some_and(|t| t > now) {
            ValidityStatus::NotYetEffective
        } else {
            ValidityStatus::Valid
        }
    }

    pub fn review_due_at(&self, now: DateTime<Utc>) -> bool {
        self.review_by.is_some_and(|t| t <= now)
    }
}

/// The editable metadata of a revision (everything in the front matter but identity).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleMeta {
    pub title: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    pub audience: Audience,
    pub validity: Validity,
    /// The structured fields of the article's content schema.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// One article: one locale of a translation group, with a stable id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: ArticleId,
    pub slug: Slug,
    pub locale: Locale,
    pub article_type: String,
    pub translation_key: String,
    pub owner: Option<UserId>,
    pub confidence: Confidence,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Number of the newest revision.
    pub latest_revision: i32,
    /// Number of the revision live on the channels, if any.
    pub published_revision: Option<i32>,
}

/// An immutable revision of an article. Only its workflow state changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub article_id: ArticleId,
    pub number: i32,
    pub state: RevisionState,
    pub meta: ArticleMeta,
    pub body: String,
    pub author: Option<UserId>,
    pub created_at: DateTime<Utc>,
    /// The revision this one was edited from (optimistic concurrency, diffs).
    pub base_revision: Option<i32>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn validity_status() {
        let t = |y| Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap();
        let v = Validity {
            effective_from: Some(t(2026)),
            expires_at: Some(t(2027)),
            review_by: None,
        };
        assert_eq!(v.status_at(t(2025)), ValidityStatus::NotYetEffective);
        assert_eq!(v.status_at(t(2026)), ValidityStatus::Valid);
        assert_eq!(v.status_at(t(2027)), ValidityStatus::Expired);
        assert_eq!(
            Validity::default().status_at(t(2030)),
            ValidityStatus::Valid
        );
    }

    #[test]
    fn refs() {
        assert_eq!(
            "KB-7".parse::<ArticleRef>().unwrap(),
            ArticleRef::Id(ArticleId(7))
        );
        assert!(matches!(
            "sim-card".parse::<ArticleRef>().unwrap(),
            ArticleRef::Slug(_)
        ));
        assert!("Not A Slug".parse::<ArticleRef>().is_err());
    }
}
