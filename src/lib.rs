//! omnikb: one structured source of contact-center knowledge, published once and rendered
//! for every channel (web portal, IVR, agent desk, chat-bots, SMS).
//!
//! Map of the crate (see `ARCHITECTURE.md`):
//! - [`domain`]: the vocabulary (articles, revisions, locales, channels, roles);
//! - [`content`]: Markdown + front matter -> the channel-neutral [`content::Doc`];
//! - [`schema`]: content schemas and field validation;
//! - [`workflow`]: the pure transition policy;
//! - [`render`]: one renderer per channel;
//! - [`store`]: SQLite / PostgreSQL storage, event log, audit log;
//! - [`search`]: the tantivy index;
//! - [`publish`]: from an approved change to every channel;
//! - [`api`], [`ui`]: HTTP; [`cli`]: the `omnikb` command.

pub mod content;
pub mod domain;
pub mod render;
pub mod schema;
pub mod search;
pub mod store;
pub mod util;
pub mod workflow;
pub mod service {
    pub mod validate;
}
