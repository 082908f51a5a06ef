//! Markdown with front matter -> the channel-neutral [`Doc`] tree.
//!
//! Everything channel-specific happens later, in `render`; this module only parses. The
//! pulldown-cmark options live in one place ([`markdown::options`]) so every channel sees
//! the same tree. Errors carry 1-based line numbers of the source file.

pub mod dates;
pub mod doc;
pub mod file;
pub mod lines;
pub mod markdown;

pub use doc::{Align, Block, CalloutKind, Doc, Inline, List, ListItem, Scope, Table};
pub use file::{ArticleFile, FrontMatter, SnippetFile};
pub use markdown::{ParsedBody, parse_body, parse_inline_text};

/// A problem in a source file, at a 1-based line (0 when the whole file is concerned).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContentError {
    pub line: usize,
    /// The front-matter key or field the problem is about, when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl ContentError {
    pub fn at(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            field: None,
            message: message.into(),
        }
    }

    pub fn field(line: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            line,
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ContentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {}: {}", self.line, field, self.message),
            None => write!(f, "{}: {}", self.line, self.message),
        }
    }
}
