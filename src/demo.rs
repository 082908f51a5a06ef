//! The bundled demo knowledge base (`serve --demo`) and its users.

use std::path::Path;

use crate::auth::hash_password;
use crate::domain::{Role, Roles};
use crate::service::Kb;
use crate::service::import_export::{ImportReport, read_tree};

static DEMO: include_dir::Dir<'static> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/demo");

/// The demo users and their roles.
pub const DEMO_USERS: &[(&str, &str, &[Role])] = &[
    ("author", "Ada Author 作者", &[Role::Author]),
    ("reviewer", "Rui Reviewer 审核", &[Role::Reviewer]),
    ("publisher", "Pat Publisher 发布", &[Role::Publisher]),
    ("agent", "Ann Agent 坐席", &[Role::Agent]),
    ("admin", "Alex Admin 管理员", &[Role::Admin]),
];

/// Loads the demo into an empty database: users (with fresh random passwords, returned
/// so the caller can print them once) and every article, published.
pub async fn load(
    kb: &Kb,
    scratch: &Path,
) -> anyhow::Result<(Vec<(String, String)>, ImportReport)> {
    let now = kb.now();
    let mut passwords = Vec::new();
    for (name, display, roles) in DEMO_USERS {
        let password = crate::util::random_token(9);
        let hash = hash_password(&password)?;
        kb.store
            .create_user(name, display, &hash, &Roles(roles.to_vec()), now)
            .await?;
        passwords.push((name.to_string(), password));
    }
    // include_dir gives us the files; the importer reads folders, so lay them out once.
    let dir = scratch.join("demo-content");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    DEMO.extract(&dir)?;
    let tree = read_tree(&dir, &kb.schemas(), &Default::default()).map_err(|errs| {
        anyhow::anyhow!(
            "the bundled demo is invalid:\n{}",
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let admin = kb.store.user_by_name("admin").await?.map(|u| u.id);
    let report = kb
        .import_tree(&tree, true, admin, "demo", &|_, _| {})
        .await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok((passwords, report))
}

/// The demo's synonym sets (telecom and banking terms in zh-CN and en).
pub async fn load_synonyms(kb: &Kb) -> anyhow::Result<()> {
    let sets: Vec<(String, Vec<String>)> = crate::search::Synonyms::demo_sets()
        .into_iter()
        .map(|(locale, terms)| (locale.to_string(), terms))
        .collect();
    kb.store.replace_synonyms(&sets, "demo", kb.now()).await?;
    kb.load_synonyms().await?;
    Ok(())
}
