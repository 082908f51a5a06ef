//! The store's error type. Driver errors are classified here, once, so the rest of the
//! code sees "not found", "conflict" or "unavailable" and never a driver message.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness or optimistic-concurrency conflict.
    #[error("{message}")]
    Conflict {
        message: String,
        latest: Option<i64>,
        base: Option<i64>,
    },
    /// The database cannot be opened or written (locked, read-only, unreachable).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database schema is newer than this binary.
    #[error("{0}")]
    SchemaTooNew(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

impl StoreError {
    pub fn conflict(message: impl Into<String>) -> Self {
        StoreError::Conflict {
            message: message.into(),
            latest: None,
            base: None,
        }
    }

    pub(crate) fn open(what: &str, e: sqlx::Error) -> Self {
        StoreError::Unavailable(format!("cannot open {what}: {}", describe(&e)))
    }

    pub(crate) fn from_migrate(e: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError;
        match e {
            MigrateError::VersionMissing(v) => StoreError::SchemaTooNew(format!(
                "the database was migrated by a newer omnikb (migration {v} is unknown to this binary); \
                 upgrade omnikb or use a backup made by this version"
            )),
            MigrateError::Execute(e) => classify(e),
            other => StoreError::Other(format!("migration failed: {other}")),
        }
    }
}

fn describe(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// Maps a driver error to what it means for the caller.
pub(crate) fn classify(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::RowNotFound => StoreError::NotFound("row".into()),
        sqlx::Error::Database(db) => {
            let msg = db.message().to_string();
            let lower = msg.to_lowercase();
            if db.is_unique_violation() {
                StoreError::conflict(format!("already exists ({msg})"))
            } else if lower.contains("readonly")
                || lower.contains("read-only")
                || lower.contains("read only")
            {
                StoreError::Unavailable(format!("the database is read-only: {msg}"))
            } else if lower.contains("locked") || lower.contains("busy") {
                StoreError::Unavailable(format!("the database is locked by another process: {msg}"))
            } else {
                StoreError::Other(msg)
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        classify(e)
    }
}
