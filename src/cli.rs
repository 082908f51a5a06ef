//! The `omnikb` subcommands.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::{Config, DatabaseConfig};
use crate::domain::{Channel, Role, Roles};
use crate::render::Registry;
use crate::schema::SchemaSet;
use crate::service::import_export::read_tree;
use crate::service::{Kb, SystemClock};
use crate::state::AppState;
use crate::store::{ApiScope, AuditVerdict, Store};

#[derive(Debug, Parser)]
#[command(
    name = "omnikb",
    version,
    about = "Contact-center knowledge: publish once, update everywhere"
)]
pub struct Cli {
    /// Data folder: SQLite database and search index.
    #[arg(long, global = true, env = "OMNIKB_DATA", default_value = "data")]
    pub data: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (portal, agent panel, studio, API).
    Serve {
        #[arg(long, env = "OMNIKB_ADDR", default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Load the bundled demo knowledge base and users into an empty database.
        #[arg(long)]
        demo: bool,
        /// Sync a folder of Markdown articles.
        #[arg(long)]
        watch: Option<PathBuf>,
    },
    /// Import Markdown files (articles/<locale>/*.md, snippets/<locale>/*.md).
    Import {
        dir: PathBuf,
        /// Publish at once (admin migration of approved content; audited).
        #[arg(long)]
        publish: bool,
        /// The user the import acts as.
        #[arg(long = "as", default_value = "import")]
        actor: String,
    },
    /// Export every article and snippet as Markdown files.
    Export { dir: PathBuf },
    /// Check files against the content schemas (exit 1 with file:line errors).
    Check { dir: PathBuf },
    /// Print one channel's render of a published article.
    Render {
        /// Article id (KB-12) or slug.
        reference: String,
        #[arg(long)]
        channel: String,
        #[arg(long)]
        format: Option<String>,
        #[arg(long, default_value = "zh-CN")]
        locale: String,
    },
    /// Rebuild the search index from the database.
    Reindex,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API keys.
    Apikey {
        #[command(subcommand)]
        command: ApikeyCommand,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Measure render throughput: a generated corpus rendered for every channel, in
    /// process, on every core (docs/performance.md).
    #[command(hide = true)]
    BenchRender {
        /// Number of generated articles (zh and en, ~600 bytes of Markdown each).
        #[arg(long, default_value_t = 10_000)]
        articles: usize,
        /// Worker threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Rounds to run; the best and the median are reported.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin or prompted for.
    Add {
        name: String,
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key and print it once.
    Create {
        name: String,
        #[arg(long)]
        scope: String,
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; report the first broken row.
    Verify,
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tantivy=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Opens the database of the config and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = match &config.database {
        DatabaseConfig::Sqlite(path) => Store::open_sqlite(path).await?,
        DatabaseConfig::Postgres(url) => Store::open_postgres(url, None).await?,
    };
    store.migrate().await?;
    Ok(store)
}

/// Loads the schemas: the folder if there is one, else the bundled ones.
pub fn load_schemas(config: &Config) -> anyhow::Result<SchemaSet> {
    Ok(match &config.schemas_dir {
        Some(dir) => SchemaSet::load_dir(dir)?,
        None => SchemaSet::bundled()?,
    })
}

/// The renderers shipped with omnikb.
pub fn default_renderers() -> Registry {
    crate::render::default_registry()
}

pub async fn build_kb(config: &Config) -> anyhow::Result<Kb> {
    let store = open_store(config).await?;
    let schemas = load_schemas(config)?;
    Ok(Kb::new(
        store,
        schemas,
        default_renderers(),
        config.site.clone(),
        Arc::new(SystemClock),
    ))
}

pub async fn run(cli: Cli) -> ExitCode {
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let pb = if std::io::stderr().is_terminal() {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    let data = cli.data.clone();
    let default_addr: SocketAddr = ([127, 0, 0, 1], 8080).into();
    match cli.command {
        Command::Serve { addr, demo, watch } => {
            serve(Config::from_env(data, addr), demo, watch).await
        }
        Command::Check { dir } => {
            let config = Config::from_env(data, default_addr);
            let schemas = load_schemas(&config)?;
            match read_tree(&dir, &schemas, &Default::default()) {
                Ok(tree) => {
                    println!(
                        "ok: {} articles, {} snippets",
                        tree.articles.len(),
                        tree.snippets.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    eprintln!("{} problem(s) found", errors.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Import {
            dir,
            publish,
            actor,
        } => {
            let config = Config::from_env(data, default_addr);
            let kb = build_kb(&config).await?;
            let user = kb.store.user_by_name(&actor).await?;
            if publish && !user.as_ref().is_some_and(|u| u.roles.has(Role::Admin)) {
                anyhow::bail!(
                    "import --publish needs an admin: pass --as ADMIN_USER (no review happens, so only an admin may do it)"
                );
            }
            let known = kb.snippet_pairs().await?;
            let tree = match read_tree(&dir, &kb.schemas(), &known) {
                Ok(t) => t,
                Err(errors) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    eprintln!("{} problem(s) found; nothing was imported", errors.len());
                    return Ok(ExitCode::FAILURE);
                }
            };
            let pb = progress_bar(
                (tree.articles.len() + tree.snippets.len()) as u64,
                "importing",
            );
            let report = kb
                .import_tree(&tree, publish, user.map(|u| u.id), &actor, &|done, _| {
                    pb.set_position(done as u64)
                })
                .await?;
            pb.finish_and_clear();
            println!(
                "imported: {} articles created, {} revised, {} published; {} snippets",
                report.articles_created,
                report.articles_revised,
                report.articles_published,
                report.snippets_saved
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { dir } => {
            let config = Config::from_env(data, default_addr);
            let kb = build_kb(&config).await?;
            let (a, s) = kb.export_tree(&dir).await?;
            println!(
                "exported {a} articles and {s} snippets to {}",
                dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Render {
            reference,
            channel,
            format,
            locale,
        } => {
            let config = Config::from_env(data, default_addr);
            let kb = build_kb(&config).await?;
            let channel: Channel = channel
                .parse()
                .map_err(|e: crate::domain::DomainError| anyhow::anyhow!(e.message))?;
            let article = match reference
                .parse::<crate::domain::ArticleRef>()
                .map_err(|e| anyhow::anyhow!(e.message))?
            {
                crate::domain::ArticleRef::Id(id) => kb.store.article(id).await?,
                crate::domain::ArticleRef::Slug(slug) => {
                    kb.store.article_by_slug(slug.as_str(), &locale).await?
                }
            };
            let article =
                article.ok_or_else(|| anyhow::anyhow!("article '{reference}' not found"))?;
            let registry = kb.renderers();
            let format = format
                .or_else(|| {
                    registry
                        .get(channel)
                        .and_then(|r| r.formats().first().map(|f| f.to_string()))
                })
                .unwrap_or_default();
            match kb
                .store
                .stored_render(article.id, channel.as_str(), &format)
                .await?
            {
                Some(r) => {
                    print!("{}", r.body);
                    if !r.body.ends_with('\n') {
                        println!();
                    }
                    Ok(ExitCode::SUCCESS)
                }
                None => anyhow::bail!(
                    "no published '{format}' render of {} for {channel}",
                    article.id
                ),
            }
        }
        Command::BenchRender {
            articles,
            threads,
            rounds,
        } => {
            bench_render(articles, threads, rounds)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Reindex => {
            let config = Config::from_env(data, default_addr);
            let kb = build_kb(&config).await?;
            let index = crate::service::indexing::open_index(&config.index_dir())?;
            let pb = progress_bar(0, "reindexing");
            let started = std::time::Instant::now();
            let n = kb
                .reindex(&index, &|done, total| {
                    pb.set_length(total);
                    pb.set_position(done);
                })
                .await?;
            pb.finish_and_clear();
            println!(
                "reindexed {n} published articles in {:.1}s",
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    roles,
                    display_name,
                },
        } => {
            let config = Config::from_env(data, default_addr);
            let store = open_store(&config).await?;
            let mut parsed = Vec::new();
            for r in &roles {
                for part in r.split(',') {
                    parsed.push(
                        part.trim()
                            .parse::<Role>()
                            .map_err(|e| anyhow::anyhow!(e.message))?,
                    );
                }
            }
            let password = read_password()?;
            let hash = crate::auth::hash_password(&password)?;
            let user = store
                .create_user(
                    &name,
                    display_name.as_deref().unwrap_or(&name),
                    &hash,
                    &Roles(parsed),
                    crate::util::now(),
                )
                .await?;
            store
                .audit(
                    crate::util::now(),
                    "cli",
                    "user.create",
                    &format!("user:{}", user.name),
                    serde_json::json!({"roles": user.roles.to_db()}),
                )
                .await?;
            println!("created user {} ({})", user.name, user.roles.to_db());
            Ok(ExitCode::SUCCESS)
        }
        Command::Apikey {
            command: ApikeyCommand::Create { name, scope, user },
        } => {
            let config = Config::from_env(data, default_addr);
            let store = open_store(&config).await?;
            let scope: ApiScope = scope.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let owner = match &user {
                Some(u) => Some(
                    store
                        .user_by_name(u)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no user named '{u}'"))?,
                ),
                None => None,
            };
            if scope.needs_user() && owner.is_none() {
                anyhow::bail!("an {} key acts as a user: pass --user NAME", scope.as_str());
            }
            if scope == ApiScope::Admin && !owner.as_ref().is_some_and(|u| u.roles.has(Role::Admin))
            {
                anyhow::bail!("an admin key needs a user with the admin role");
            }
            let (full, prefix, hash) = crate::auth::new_api_key()?;
            store
                .create_api_key(
                    &name,
                    &prefix,
                    &hash,
                    scope,
                    owner.as_ref().map(|u| u.id),
                    crate::util::now(),
                )
                .await?;
            store
                .audit(
                    crate::util::now(),
                    "cli",
                    "apikey.create",
                    &format!("apikey:{prefix}"),
                    serde_json::json!({"name": name, "scope": scope.as_str(), "user": user}),
                )
                .await?;
            println!("{full}");
            eprintln!("This key is shown once. Store it now.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let config = Config::from_env(data, default_addr);
            let store = open_store(&config).await?;
            match store.verify_audit().await? {
                AuditVerdict::Intact { rows } => {
                    println!("audit log intact: {rows} rows");
                    Ok(ExitCode::SUCCESS)
                }
                AuditVerdict::Broken { seq, reason } => {
                    eprintln!("audit log broken at row {seq}: {reason}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// The event sinks of this node: its search index, if it has one.
pub async fn default_sinks(kb: &Kb) -> Vec<Arc<dyn crate::publish::EventSink>> {
    kb.search()
        .map(crate::service::indexing::sink)
        .into_iter()
        .collect()
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let pw = line.trim_end_matches(['\r', '\n']).to_string();
    if pw.is_empty() {
        anyhow::bail!("no password given on stdin");
    }
    Ok(pw)
}

async fn serve(config: Config, demo: bool, watch: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data folder {}: {e}",
            config.data_dir.display()
        )
    })?;
    tracing::info!(database = ?config.database, "opening database");
    let kb = build_kb(&config).await?;
    if demo {
        if kb.store.count_articles().await? == 0 && kb.store.count_users().await? == 0 {
            let (passwords, report) = crate::demo::load(&kb, &config.data_dir).await?;
            crate::demo::load_synonyms(&kb).await?;
            println!(
                "Demo knowledge base loaded: {} articles, {} snippets.",
                report.articles_published, report.snippets_saved
            );
            println!("Demo users (passwords are shown once):");
            for (name, pw) in &passwords {
                println!("  {name:<10} {pw}");
            }
        } else {
            println!("The database is not empty; the demo was not loaded again.");
        }
    }
    // The index is derived data: open it, and catch up from its cursor (the publisher
    // replays events after it; an empty or rebuilt index is filled from the database).
    let index = crate::service::indexing::open_index(&config.index_dir())?;
    if index.cursor() == 0 || index.num_docs() == 0 {
        let n = kb.reindex(&index, &|_, _| {}).await?;
        tracing::info!(articles = n, "search index built");
    }
    kb.set_search(index);
    kb.load_synonyms().await?;
    if let Some(dir) = &watch {
        // Bring the folder in once at start, then follow its changes.
        crate::watch::sync_articles(&kb, dir).await;
    }
    let templates = std::path::PathBuf::from("templates");
    let _watcher = crate::watch::start(
        kb.clone(),
        config.schemas_dir.clone(),
        templates.is_dir().then_some(templates),
        watch.clone(),
    )
    .map_err(|e| tracing::warn!(error = %e, "file watching is off"))
    .ok();
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.addr))?;
    println!("omnikb listening on http://{}", listener.local_addr()?);
    tracing::info!(
        vector_instructions = crate::search::simd::instruction_set(),
        "search kernels"
    );
    let background = crate::publish::start_background(&kb, default_sinks(&kb).await);
    let state = AppState::with_hub(kb.clone(), config, background.hub.clone());
    crate::run(state, listener, crate::shutdown_signal()).await?;
    background.stop();
    kb.store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `omnikb bench-render`: generate, then time only the parse + render of every article for
/// every channel (what publishing does per article), on `threads` threads.
fn bench_render(articles: usize, threads: Option<usize>, rounds: usize) -> anyhow::Result<()> {
    use crate::render::corpus;
    let threads = threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1);
    let schemas = crate::schema::SchemaSet::bundled()?;
    let site = crate::render::SiteSettings::default();
    let registry = crate::render::default_registry();
    let now = chrono::Utc::now();
    let c = corpus::generate(articles);
    let md = c.bodies.iter().map(String::len).sum::<usize>() / articles.max(1);
    let mut rates = Vec::new();
    let mut last = corpus::Rendered::default();
    for _ in 0..rounds.max(1) {
        let (r, secs) = corpus::render_parallel(&c, threads, &schemas, &site, &registry, now)
            .map_err(|e| anyhow::anyhow!(e))?;
        rates.push(r.articles as f64 / secs);
        last = r;
    }
    rates.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{} articles (avg {md} bytes of Markdown), {} outputs each ({} channels), {threads} threads, {} rounds: \
         median {:.0} articles/s, best {:.0} articles/s, {:.1} MB out per round",
        last.articles,
        last.outputs / last.articles.max(1),
        registry.iter().count(),
        rates.len(),
        rates[rates.len() / 2],
        rates[rates.len() - 1],
        last.bytes as f64 / 1e6
    );
    Ok(())
}
