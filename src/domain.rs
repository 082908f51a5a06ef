//! Domain vocabulary: articles, revisions, locales, slugs, channels, roles.
//!
//! Knows nothing of SQL, HTTP or tantivy. Newtypes validate on construction so the rest of
//! the code can trust a `Slug` or a `Locale` without re-checking it.

mod article;
mod channel;
mod ident;
mod user;

pub use article::{
    Article, ArticleMeta, ArticleRef, Audience, Confidence, Revision, RevisionState, Validity,
    ValidityStatus,
};
pub use channel::Channel;
pub use ident::{ArticleId, Locale, Slug, SnippetKey};
pub use user::{Role, Roles, UserId};

/// A value that failed a domain rule; `field` names what was wrong for error details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    pub field: &'static str,
    pub message: String,
}

impl DomainError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
