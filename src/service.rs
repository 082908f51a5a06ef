//! The application core: what the CLI, the API and the studio ask the knowledge base to
//! do. Handlers stay thin and call one method here; this layer combines the pure parts
//! (validation, workflow policy, renderers) with the store.

pub mod admin;
pub mod authoring;
pub mod import_export;
pub mod indexing;
pub mod publishing;
pub mod search_log;
pub mod snippets;
pub mod validate;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::RwLock;

use crate::render::{Registry, SiteSettings};
use crate::schema::{FieldError, SchemaSet};
use crate::store::{Store, StoreError};

/// The clock is injected so the scheduler and tests never sleep.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        crate::util::now()
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(RwLock<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(RwLock::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.write() = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.write();
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.read()
    }
}

/// Errors of the application layer. `error.rs` maps each to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the article is invalid")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// The knowledge base: store, schemas in force, renderers, site settings and clock.
#[derive(Clone)]
pub struct Kb {
    pub store: Store,
    schemas: Arc<RwLock<SchemaSet>>,
    renderers: Arc<RwLock<Registry>>,
    pub site: Arc<SiteSettings>,
    pub clock: Arc<dyn Clock>,
    /// Poked after every write that appends events, so this node's publisher and
    /// webhook loop react at once instead of at their next poll.
    pub wake: Arc<tokio::sync::watch::Sender<u64>>,
    search: Arc<RwLock<Option<crate::search::SearchIndex>>>,
    /// Pre-publish lint settings (phone allow list, sensitive words).
    pub lint: Arc<crate::lint::LintConfig>,
    synonyms: Arc<RwLock<Arc<crate::search::Synonyms>>>,
    /// Where the scheduler's last look at validity dates ended (see `run_scheduler`).
    pub(crate) notice_cursor: Arc<parking_lot::Mutex<Option<NoticeCursor>>>,
}

/// The scheduler's progress through validity dates: the clock time of its last completed
/// look, and when it last read every published article.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoticeCursor {
    pub since: DateTime<Utc>,
    pub full_at: std::time::Instant,
}

impl Kb {
    pub fn new(
        store: Store,
        schemas: SchemaSet,
        renderers: Registry,
        site: SiteSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Kb {
            store,
            schemas: Arc::new(RwLock::new(schemas)),
            renderers: Arc::new(RwLock::new(renderers)),
            site: Arc::new(site),
            clock,
            wake: Arc::new(tokio::sync::watch::Sender::new(0)),
            search: Arc::new(RwLock::new(None)),
            lint: Arc::new(crate::lint::LintConfig::default()),
            synonyms: Arc::new(RwLock::new(Arc::new(crate::search::Synonyms::new()))),
            notice_cursor: Arc::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Wakes the event followers on this node.
    pub fn changed(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The schemas in force (a cheap clone of an `Arc`).
    pub fn schemas(&self) -> SchemaSet {
        self.schemas.read().clone()
    }

    /// Replaces the schemas (hot reload). The caller has validated the new set whole.
    pub fn set_schemas(&self, schemas: SchemaSet) {
        *self.schemas.write() = schemas;
    }

    /// The search index of this node, if it has one (the CLI's one-shot commands don't).
    pub fn search(&self) -> Option<crate::search::SearchIndex> {
        self.search.read().clone()
    }

    pub fn set_search(&self, index: crate::search::SearchIndex) {
        *self.search.write() = Some(index);
    }

    /// The synonym sets in force (query time: changes apply without reindexing).
    pub fn synonyms(&self) -> Arc<crate::search::Synonyms> {
        self.synonyms.read().clone()
    }

    /// Reloads the synonyms from the database.
    pub async fn load_synonyms(&self) -> ServiceResult<()> {
        let mut set = crate::search::Synonyms::new();
        for s in self.store.synonym_sets().await? {
            if let Ok(locale) = s.locale.parse() {
                set.add_set(&locale, s.terms);
            }
        }
        *self.synonyms.write() = Arc::new(set);
        Ok(())
    }

    pub fn renderers(&self) -> Registry {
        self.renderers.read().clone()
    }

    pub fn set_renderers(&self, registry: Registry) {
        *self.renderers.write() = registry;
    }
}

/// Runs the scheduler every `every` until the task is dropped. Errors are logged and
/// the loop goes on: a database hiccup must not stop timed publishing for good.
/// Only the node holding the leader lock runs it; the others retry every tick and take
/// over when the leader's database session ends.
pub async fn scheduler_loop(kb: Kb, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut leader: Option<crate::store::LeaderLock> = None;
    loop {
        tick.tick().await;
        if leader.is_none() {
            match kb.store.try_scheduler_lock().await {
                Ok(Some(lock)) => {
                    tracing::info!("this node runs the scheduler");
                    leader = Some(lock);
                }
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot take the scheduler lock");
                    continue;
                }
            }
        }
        match kb.run_scheduler().await {
            Ok(report) if !report.published.is_empty() || !report.expired.is_empty() => {
                tracing::info!(
                    published = report.published.len(),
                    expired = report.expired.len(),
                    "scheduler"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "scheduler tick failed"),
        }
    }
}
