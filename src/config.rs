//! Typed settings, from the command line and `OMNIKB_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::render::SiteSettings;

/// Where the database lives.
#[derive(Clone)]
pub enum DatabaseConfig {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseConfig::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            DatabaseConfig::Postgres(url) => write!(f, "{}", crate::store::url_redacted(url)),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub addr: SocketAddr,
    pub site: SiteSettings,
    /// Largest accepted request body, in bytes (413 above it).
    pub body_limit: usize,
    /// Where content schemas are read from (and watched); bundled ones if absent.
    pub schemas_dir: Option<PathBuf>,
}

impl Config {
    /// `DATABASE_URL=postgres://…` selects PostgreSQL; otherwise SQLite in the data folder.
    pub fn from_env(data_dir: PathBuf, addr: SocketAddr) -> Self {
        let database = match std::env::var("DATABASE_URL") {
            Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseConfig::Postgres(url)
            }
            Ok(url) if url.starts_with("sqlite://") => {
                DatabaseConfig::Sqlite(PathBuf::from(url.trim_start_matches("sqlite://")))
            }
            _ => DatabaseConfig::Sqlite(data_dir.join("omnikb.db")),
        };
        let site = SiteSettings {
            base_url: std::env::var("OMNIKB_BASE_URL")
                .unwrap_or_else(|_| format!("http://{addr}"))
                .trim_end_matches('/')
                .to_string(),
            ..SiteSettings::default()
        };
        let schemas_dir = std::env::var("OMNIKB_SCHEMAS")
            .map(PathBuf::from)
            .ok()
            .or_else(|| {
                let local = PathBuf::from("content-schemas");
                local.is_dir().then_some(local)
            });
        Config {
            data_dir,
            database,
            addr,
            site,
            body_limit: 2 * 1024 * 1024,
            schemas_dir,
        }
    }

    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }
}
