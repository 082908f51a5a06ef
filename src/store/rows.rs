//! Row decoding shared by both backends.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Result, StoreError};
use crate::domain::Revision;
use crate::domain::{Article, ArticleId, ArticleMeta, Slug, UserId, Validity};

macro_rules! get {
    ($row:expr, $col:literal) => {
        $row.try_get($col)
            .map_err(|e| StoreError::Corrupt(format!("{}: {e}", $col)))?
    };
}
pub(crate) use get;

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// Decodes an `articles` row. Generic over the row type so both backends share it.
pub(crate) fn article<R>(row: &R) -> Result<Article>
where
    R: Row,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let slug: String = get!(row, "slug");
    let locale: String = get!(row, "locale");
    let confidence: String = get!(row, "confidence");
    Ok(Article {
        id: ArticleId(get!(row, "id")),
        slug: Slug::try_from(slug).map_err(|e| corrupt("slug", e))?,
        locale: locale.parse().map_err(|e| corrupt("locale", e))?,
        article_type: get!(row, "article_type"),
        translation_key: get!(row, "translation_key"),
        owner: row
            .try_get::<Option<i64>, _>("owner_id")
            .map_err(|e| corrupt("owner_id", e))?
            .map(UserId),
        confidence: confidence.parse().map_err(|e| corrupt("confidence", e))?,
        created_at: get!(row, "created_at"),
        updated_at: get!(row, "updated_at"),
        latest_revision: i32::try_from(
            row.try_get::<i64, _>("latest_revision")
                .map_err(|e| corrupt("latest_revision", e))?,
        )
        .unwrap_or(i32::MAX),
        published_revision: row
            .try_get::<Option<i64>, _>("published_revision")
            .map_err(|e| corrupt("published_revision", e))?
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
    })
}

pub(crate) const ARTICLE_COLS: &str = "id, slug, locale, article_type, translation_key, owner_id, confidence, created_at, updated_at, latest_revision, published_revision";

pub(crate) const REVISION_COLS: &str = "article_id, number, state, title, category, tags, audience, effective_from, expires_at, review_by, fields, body, author_id, created_at, base_revision, scheduled_at, published_at";

pub(crate) fn revision<R>(row: &R) -> Result<Revision>
where
    R: Row,
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let state: String = get!(row, "state");
    let tags: String = get!(row, "tags");
    let fields: String = get!(row, "fields");
    let audience: String = get!(row, "audience");
    let num = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    Ok(Revision {
        article_id: ArticleId(get!(row, "article_id")),
        number: num(get!(row, "number")),
        state: state.parse().map_err(|e| corrupt("state", e))?,
        meta: ArticleMeta {
            title: get!(row, "title"),
            category: get!(row, "category"),
            tags: serde_json::from_str(&tags).map_err(|e| corrupt("tags", e))?,
            audience: audience.parse().map_err(|e| corrupt("audience", e))?,
            validity: Validity {
                effective_from: get!(row, "effective_from"),
                expires_at: get!(row, "expires_at"),
                review_by: get!(row, "review_by"),
            },
            fields: serde_json::from_str(&fields).map_err(|e| corrupt("fields", e))?,
        },
        body: get!(row, "body"),
        author: row
            .try_get::<Option<i64>, _>("author_id")
            .map_err(|e| corrupt("author_id", e))?
            .map(UserId),
        created_at: get!(row, "created_at"),
        base_revision: row
            .try_get::<Option<i64>, _>("base_revision")
            .map_err(|e| corrupt("base_revision", e))?
            .map(num),
        scheduled_at: get!(row, "scheduled_at"),
        published_at: get!(row, "published_at"),
    })
}

/// A stored render of a published revision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRender {
    pub article_id: ArticleId,
    pub revision: i64,
    pub channel: String,
    pub format: String,
    pub media_type: String,
    pub body: String,
    pub etag: String,
    pub warnings: serde_json::Value,
    pub rendered_at: DateTime<Utc>,
}
