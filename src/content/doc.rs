//! The channel-neutral document tree every renderer consumes.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::domain::{Channel, SnippetKey};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Doc {
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Heading {
        level: u8,
        /// An explicit `{#id}` from the source, if the author gave one.
        id: Option<String>,
        content: Vec<Inline>,
    },
    Paragraph {
        content: Vec<Inline>,
    },
    List(List),
    Table(Table),
    Code {
        lang: Option<String>,
        text: String,
    },
    Quote {
        blocks: Vec<Block>,
    },
    Callout {
        callout: CalloutKind,
        blocks: Vec<Block>,
    },
    /// Content only for some channels (`::: internal`, `::: web agent`, …).
    Scoped {
        scope: Scope,
        blocks: Vec<Block>,
    },
    Rule,
    /// Raw HTML from the source: renderers drop it or sanitise it.
    Html {
        html: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct List {
    pub ordered: bool,
    pub start: u64,
    pub items: Vec<ListItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ListItem {
    /// `Some` for task-list items (`- [ ]` / `- [x]`).
    pub checked: Option<bool>,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    None,
    Left,
    Center,
    Right,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub align: Vec<Align>,
    pub header: Vec<Vec<Inline>>,
    pub rows: Vec<Vec<Vec<Inline>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CalloutKind {
    Note,
    Warning,
    Tip,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// For agents only; never on a customer channel.
    Internal,
    /// Only on these channels.
    Channels(Vec<Channel>),
}

impl Scope {
    pub fn admits(&self, channel: Channel) -> bool {
        match self {
            Scope::Internal => channel == Channel::Agent,
            Scope::Channels(list) => list.contains(&channel),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inline {
    Text {
        text: String,
    },
    Code {
        text: String,
    },
    Emphasis {
        content: Vec<Inline>,
    },
    Strong {
        content: Vec<Inline>,
    },
    Strikethrough {
        content: Vec<Inline>,
    },
    Link {
        url: String,
        title: String,
        content: Vec<Inline>,
    },
    Image {
        url: String,
        alt: String,
        title: String,
    },
    /// `{{snippet:KEY}}`, resolved per channel by the renderer's snippet set.
    Snippet {
        key: SnippetKey,
    },
    SoftBreak,
    HardBreak,
    Html {
        html: String,
    },
}

impl Inline {
    pub fn text(s: impl Into<String>) -> Self {
        Inline::Text { text: s.into() }
    }
}

impl Doc {
    /// The document as one channel may see it: blocks scoped to other channels are gone.
    /// Blocks the channel may see stay wrapped in `Scoped`, so the agent view can still
    /// mark internal content as internal.
    pub fn for_channel(&self, channel: Channel) -> Doc {
        Doc {
            blocks: filter_blocks(&self.blocks, channel),
        }
    }

    /// Every snippet the document references.
    pub fn snippet_keys(&self) -> BTreeSet<SnippetKey> {
        let mut out = BTreeSet::new();
        visit_blocks(&self.blocks, &mut |inline| {
            if let Inline::Snippet { key } = inline {
                out.insert(key.clone());
            }
        });
        out
    }

    /// Every link target in the document (for link checks).
    pub fn link_urls(&self) -> Vec<String> {
        let mut out = Vec::new();
        visit_blocks(&self.blocks, &mut |inline| {
            if let Inline::Link { url, .. } = inline {
                out.push(url.clone());
            }
        });
        out
    }
}

fn filter_blocks(blocks: &[Block], channel: Channel) -> Vec<Block> {
    blocks
        .iter()
        .filter_map(|b| match b {
            Block::Scoped { scope, .. } if !scope.admits(channel) => None,
            Block::Scoped { scope, blocks } => Some(Block::Scoped {
                scope: scope.clone(),
                blocks: filter_blocks(blocks, channel),
            }),
            Block::Quote { blocks } => Some(Block::Quote {
                blocks: filter_blocks(blocks, channel),
            }),
            Block::Callout { callout, blocks } => Some(Block::Callout {
                callout: *callout,
                blocks: filter_blocks(blocks, channel),
            }),
            Block::List(list) => Some(Block::List(List {
                ordered: list.ordered,
                start: list.start,
                items: list
                    .items
                    .iter()
                    .map(|it| ListItem {
                        checked: it.checked,
                        blocks: filter_blocks(&it.blocks, channel),
                    })
                    .collect(),
            })),
            other => Some(other.clone()),
        })
        .collect()
}

/// Calls `f` on every inline of the blocks, depth first.
pub fn visit_blocks(blocks: &[Block], f: &mut dyn FnMut(&Inline)) {
    for b in blocks {
        match b {
            Block::Heading { content, .. } | Block::Paragraph { content } => {
                visit_inlines(content, f)
            }
            Block::List(list) => {
                for item in &list.items {
                    visit_blocks(&item.blocks, f);
                }
            }
            Block::Table(t) => {
                for cell in t.header.iter().chain(t.rows.iter().flatten()) {
                    visit_inlines(cell, f);
                }
            }
            Block::Quote { blocks }
            | Block::Callout { blocks, .. }
            | Block::Scoped { blocks, .. } => visit_blocks(blocks, f),
            Block::Code { .. } | Block::Rule | Block::Html { .. } => {}
        }
    }
}

pub fn visit_inlines(inlines: &[Inline], f: &mut dyn FnMut(&Inline)) {
    for i in inlines {
        f(i);
        match i {
            Inline::Emphasis { content }
            | Inline::Strong { content }
            | Inline::Strikethrough { content }
            | Inline::Link { content, .. } => visit_inlines(content, f),
            _ => {}
        }
    }
}
