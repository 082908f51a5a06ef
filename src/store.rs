//! Storage: SQLite (embedded default) and PostgreSQL (several nodes) through sqlx.
//!
//! Every statement is written once, in the SQL both databases accept (`$N` placeholders,
//! `RETURNING`, `ON CONFLICT`), and [`with_pool!`] instantiates the method body once per
//! backend, so each is type-checked against its own driver. Where the backends must
//! differ (connection setup, migrations, locking) the code says so.
//!
//! All writes that belong together happen in one transaction: a state change, its audit
//! row and its outbox event commit together or not at all.

mod analytics;
mod articles;
mod audit;
mod error;
mod events;
mod rows;
mod snippets;
mod users;
mod webhooks;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use analytics::{FeedbackEntry, QueryCount, SearchAnalytics, SearchRecord, SynonymSet};
pub use articles::{
    ArticleFilter, ArticleSummary, NewFeedback, NewRevision, TransitionRecord, TransitionRow,
};
pub use audit::{AuditEntry, AuditVerdict};
pub use error::StoreError;
pub use events::{Event, EventKind, LeaderLock};
pub use rows::StoredRender;
pub use snippets::{Expect, Snippet, SnippetRevision, SnippetTransition};
pub use users::{ApiKey, ApiScope, Session, User};
pub use webhooks::{Delivery, DeliveryOutcome, Enqueue, NewWebhook, Webhook};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool of the active backend.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// The database. Cheap to clone (pools are shared).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`, in WAL mode.
    pub async fn open_sqlite(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot create the data folder {}: {e}",
                    dir.display()
                ))
            })?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::open(&path.display().to_string(), e))?;
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    /// An in-memory SQLite database (tests, benchmarks).
    pub async fn open_sqlite_memory() -> Result<Self> {
        let opts = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .foreign_keys(true);
        // One connection: every connection to :memory: is its own database.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::open("memory", e))?;
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    /// Connects to PostgreSQL. `search_path` puts every table in one schema (tests give
    /// each test its own).
    pub async fn open_postgres(url: &str, search_path: Option<&str>) -> Result<Self> {
        let mut opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::open(url_redacted(url).as_str(), e))?;
        if let Some(schema) = search_path {
            opts = opts.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(opts)
            .await
            .map_err(|e| StoreError::open(url_redacted(url).as_str(), e))?;
        Ok(Store {
            backend: Backend::Postgres(pool),
        })
    }

    /// Opens the database named by a URL: `postgres://…`, `sqlite://PATH` or a plain path.
    pub async fn open(url_or_path: &str) -> Result<Self> {
        if url_or_path.starts_with("postgres://") || url_or_path.starts_with("postgresql://") {
            Self::open_postgres(url_or_path, None).await
        } else {
            let path = url_or_path.strip_prefix("sqlite://").unwrap_or(url_or_path);
            Self::open_sqlite(Path::new(path)).await
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// The BEGIN of a transaction whose reads all see one snapshot, for results read in
    /// several statements that must agree (a total and its list) while writers go on: a
    /// SQLite read transaction keeps the snapshot of its first read, PostgreSQL needs
    /// REPEATABLE READ for that.
    pub(crate) fn begin_snapshot(&self) -> &'static str {
        if self.is_postgres() {
            "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
        } else {
            "BEGIN"
        }
    }

    /// Applies pending migrations. A database migrated by a newer omnikb is refused.
    pub async fn migrate(&self) -> Result<()> {
        let res = match &self.backend {
            Backend::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Backend::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        res.map_err(StoreError::from_migrate)
    }

    /// Readiness: the database answers.
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

/// A database URL without its password, for error messages and logs.
pub fn url_redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Runs one administrative statement (tests create and drop schemas with it). Never
    /// pass user input here.
    pub async fn execute_raw(&self, sql: &str) -> Result<()> {
        let sql = sql.to_string();
        with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).execute(pool).await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::url_redacted("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::url_redacted("postgres://h/db"), "postgres://h/db");
    }
}
