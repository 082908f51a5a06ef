//! Markdown body -> [`Doc`].
//!
//! pulldown-cmark has no fenced divs, so `::: name` blocks are split out line by line
//! first (outside code fences), and each segment is parsed on its own with the same
//! options. Adjacent text events are merged before `{{snippet:KEY}}` references are cut
//! out, because pulldown-cmark may split a run of text at `_` or `*`.

use pulldown_cmark::{Alignment, CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag};

use super::ContentError;
use super::doc::{Align, Block, CalloutKind, Doc, Inline, List, ListItem, Scope, Table};
use super::lines::{LineKind, body_lines};
use crate::domain::{Channel, SnippetKey};

/// The one set of parser options every channel shares.
pub fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
}

/// A parsed body: the tree and where each snippet is referenced (for error messages).
#[derive(Debug, Clone, Default)]
pub struct ParsedBody {
    pub doc: Doc,
    pub snippet_refs: Vec<(SnippetKey, usize)>,
}

/// Parses a Markdown body. `first_line` is the 1-based file line the body starts on, so
/// errors point into the file, not into the body.
pub fn parse_body(body: &str, first_line: usize) -> Result<ParsedBody, Vec<ContentError>> {
    let mut errors = Vec::new();
    let mut out = ParsedBody::default();
    for segment in split_divs(body, first_line, &mut errors) {
        let blocks = parse_segment(
            &segment.text,
            segment.first_line,
            &mut out.snippet_refs,
            &mut errors,
        );
        match segment.div {
            None => out.doc.blocks.extend(blocks),
            Some(Div::Callout(callout)) => out.doc.blocks.push(Block::Callout { callout, blocks }),
            Some(Div::Scope(scope)) => out.doc.blocks.push(Block::Scoped { scope, blocks }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Parses a plain-text field value: text with `{{snippet:KEY}}` references, no Markdown.
pub fn parse_inline_text(text: &str) -> Result<Vec<Inline>, String> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut refs = Vec::new();
    split_snippets(text, 0, &mut out, &mut refs, &mut errors);
    match errors.into_iter().next() {
        Some(e) => Err(e.message),
        None => Ok(out),
    }
}

enum Div {
    Callout(CalloutKind),
    Scope(Scope),
}

struct Segment {
    text: String,
    first_line: usize,
    div: Option<Div>,
}

fn parse_div_names(names: &str, line: usize, errors: &mut Vec<ContentError>) -> Option<Div> {
    let names: Vec<&str> = names.split_whitespace().collect();
    match names.as_slice() {
        [] => {
            errors.push(ContentError::at(line, "'::: ' needs a block name (internal, web, ivr, agent, bot, sms, note, warning, tip)"));
            None
        }
        ["internal"] => Some(Div::Scope(Scope::Internal)),
        ["note"] => Some(Div::Callout(CalloutKind::Note)),
        ["warning"] => Some(Div::Callout(CalloutKind::Warning)),
        ["tip"] => Some(Div::Callout(CalloutKind::Tip)),
        list => {
            let mut channels = Vec::new();
            for name in list {
                match name.parse::<Channel>() {
                    Ok(c) => channels.push(c),
                    Err(_) => {
                        errors.push(ContentError::at(line, format!(
                            "unknown block '{name}': use internal, note, warning, tip, or channel names web, ivr, agent, bot, sms"
                        )));
                        return None;
                    }
                }
            }
            Some(Div::Scope(Scope::Channels(channels)))
        }
    }
}

fn split_divs(body: &str, first_line: usize, errors: &mut Vec<ContentError>) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut current = Segment {
        text: String::new(),
        first_line,
        div: None,
    };
    let mut open_line: Option<usize> = None;
    for line in body_lines(body, first_line) {
        let lineno = line.number;
        match line.kind {
            LineKind::Text { .. } => current.text.push_str(line.text),
            LineKind::Close { .. } => {
                if open_line.take().is_none() {
                    errors.push(ContentError::at(
                        lineno,
                        "':::' closes a block that was never opened",
                    ));
                }
                let done = std::mem::replace(
                    &mut current,
                    Segment {
                        text: String::new(),
                        first_line: lineno + 1,
                        div: None,
                    },
                );
                segments.push(done);
            }
            LineKind::Open { names } => {
                if let Some(opened) = open_line {
                    errors.push(ContentError::at(
                        lineno,
                        format!(
                            "blocks do not nest: the block opened on line {opened} is still open"
                        ),
                    ));
                    continue;
                }
                open_line = Some(lineno);
                let div = parse_div_names(names, lineno, errors);
                let done = std::mem::replace(
                    &mut current,
                    Segment {
                        text: String::new(),
                        first_line: lineno + 1,
                        div,
                    },
                );
                segments.push(done);
            }
        }
    }
    if let Some(opened) = open_line {
        errors.push(ContentError::at(
            opened,
            "block opened here is never closed with ':::'",
        ));
    }
    segments.push(current);
    segments.retain(|s| !s.text.trim().is_empty() || s.div.is_some());
    segments
}

/// Line number (1-based, offset by `first_line`) of a byte offset.
fn line_of(text: &str, offset: usize, first_line: usize) -> usize {
    first_line
        + text.as_bytes()[..offset.min(text.len())]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
}

/// A frame of the stack while folding pulldown events into a tree.
enum Frame {
    /// A block container. `open_para` is set while bare inline content (tight list
    /// items) is being gathered into the last paragraph.
    Blocks {
        blocks: Vec<Block>,
        open_para: bool,
    },
    Inlines(Vec<Inline>),
    Items(Vec<ListItem>),
    /// Table parts: rows of cells.
    Rows(Vec<Vec<Vec<Inline>>>),
    Cells(Vec<Vec<Inline>>),
}

struct Builder<'a, 'r> {
    src: &'a str,
    first_line: usize,
    stack: Vec<(Tag<'a>, Frame)>,
    root: Vec<Block>,
    text: String,
    text_line: usize,
    refs: &'r mut Vec<(SnippetKey, usize)>,
    errors: &'r mut Vec<ContentError>,
    table_header: Vec<Vec<Inline>>,
    task: Option<bool>,
}

fn parse_segment(
    src: &str,
    first_line: usize,
    refs: &mut Vec<(SnippetKey, usize)>,
    errors: &mut Vec<ContentError>,
) -> Vec<Block> {
    let mut b = Builder {
        src,
        first_line,
        stack: Vec::new(),
        root: Vec::new(),
        text: String::new(),
        text_line: first_line,
        refs,
        errors,
        table_header: Vec::new(),
        task: None,
    };
    for (event, range) in Parser::new_ext(src, options()).into_offset_iter() {
        b.event(event, range.start);
    }
    b.flush_text();
    b.root
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// The text of inlines without markup (image alt text, headings for voice, …).
pub fn plain_text(inlines: &[Inline]) -> String {
    let mut out = String::new();
    super::doc::visit_inlines(inlines, &mut |i| match i {
        Inline::Text { text } | Inline::Code { text } => out.push_str(text),
        Inline::SoftBreak | Inline::HardBreak => out.push(' '),
        Inline::Image { alt, .. } => out.push_str(alt),
        _ => {}
    });
    out
}

/// Cuts `{{snippet:KEY}}` references out of a run of text.
fn split_snippets(
    text: &str,
    line: usize,
    out: &mut Vec<Inline>,
    refs: &mut Vec<(SnippetKey, usize)>,
    errors: &mut Vec<ContentError>,
) {
    let mut rest = text;
    let mut line = line;
    while let Some(start) = find_open(rest) {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        let before = &rest[..start];
        let Some(key) = inner.strip_prefix("snippet:") else {
            // Not a snippet reference: keep the braces as text.
            out.push(Inline::text(&rest[..start + len + 2]));
            line += rest[..start + len + 2].matches('\n').count();
            rest = &rest[start + len + 2..];
            continue;
        };
        if !before.is_empty() {
            out.push(Inline::text(before));
        }
        line += before.matches('\n').count();
        match key.trim().parse::<SnippetKey>() {
            Ok(key) => {
                refs.push((key.clone(), line));
                out.push(Inline::Snippet { key });
            }
            Err(e) => errors.push(ContentError::at(
                line,
                format!("snippet reference: {}", e.message),
            )),
        }
        rest = &rest[start + len + 2..];
    }
    if !rest.is_empty() {
        out.push(Inline::text(rest));
    }
    merge_text(out);
}

/// Where the first `{{` in `s` is (as `s.find("{{")`, by way of the fast search for one
/// byte: text is split out of every paragraph and field, and rarely holds a brace).
fn find_open(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find('{') {
        let at = from + i;
        if s.as_bytes().get(at + 1) == Some(&b'{') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Joins neighbouring text inlines.
fn merge_text(out: &mut Vec<Inline>) {
    if out.len() < 2 {
        return;
    }
    let mut merged: Vec<Inline> = Vec::with_capacity(out.len());
    for inline in out.drain(..) {
        if let (Some(Inline::Text { text: prev }), Inline::Text { text }) =
            (merged.last_mut(), &inline)
        {
            prev.push_str(text);
            continue;
        }
        merged.push(inline);
    }
    *out = merged;
}

impl<'a, 'r> Builder<'a, 'r> {
    fn push_inline(&mut self, inline: Inline) {
        match self.stack.last_mut() {
            Some((_, Frame::Inlines(v))) => v.push(inline),
            Some((_, Frame::Blocks { blocks, open_para })) => {
                if *open_para && let Some(Block::Paragraph { content }) = blocks.last_mut() {
                    content.push(inline);
                    return;
                }
                blocks.push(Block::Paragraph {
                    content: vec![inline],
                });
                *open_para = true;
            }
            _ => self.root.push(Block::Paragraph {
                content: vec![inline],
            }),
        }
    }

    fn push_block(&mut self, block: Block) {
        match self.stack.last_mut() {
            Some((_, Frame::Blocks { blocks, open_para })) => {
                *open_para = false;
                blocks.push(block);
            }
            _ => self.root.push(block),
        }
    }

    fn flush_text(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let text = std::mem::take(&mut self.text);
        let mut inlines = Vec::new();
        split_snippets(&text, self.text_line, &mut inlines, self.refs, self.errors);
        for inline in inlines {
            self.push_inline(inline);
        }
    }

    fn in_code_block(&self) -> bool {
        matches!(self.stack.last(), Some((Tag::CodeBlock(_), _)))
    }

    fn event(&mut self, event: Event<'a>, offset: usize) {
        if !matches!(event, Event::Text(_)) || self.in_code_block() {
            self.flush_text();
        }
        match event {
            Event::Text(t) if self.in_code_block() => {
                self.push_inline(Inline::text(t.into_string()))
            }
            Event::Text(t) => {
                if self.text.is_empty() {
                    self.text_line = line_of(self.src, offset, self.first_line);
                }
                self.text.push_str(&t);
            }
            Event::Code(t) => self.push_inline(Inline::Code {
                text: t.into_string(),
            }),
            Event::SoftBreak => self.push_inline(Inline::SoftBreak),
            Event::HardBreak => self.push_inline(Inline::HardBreak),
            Event::Html(h) => self.push_block(Block::Html {
                html: h.into_string(),
            }),
            Event::InlineHtml(h) => self.push_inline(Inline::Html {
                html: h.into_string(),
            }),
            Event::Rule => self.push_block(Block::Rule),
            Event::TaskListMarker(checked) => self.task = Some(checked),
            Event::FootnoteReference(_) | Event::InlineMath(_) | Event::DisplayMath(_) => {}
            Event::Start(tag) => {
                let frame = match &tag {
                    Tag::List(_) => Frame::Items(Vec::new()),
                    Tag::Table(_) => Frame::Rows(Vec::new()),
                    Tag::TableHead | Tag::TableRow => Frame::Cells(Vec::new()),
                    Tag::Item | Tag::BlockQuote(_) => Frame::Blocks {
                        blocks: Vec::new(),
                        open_para: false,
                    },
                    _ => Frame::Inlines(Vec::new()),
                };
                self.stack.push((tag, frame));
            }
            Event::End(_) => self.end(),
        }
    }

    fn end(&mut self) {
        let Some((tag, frame)) = self.stack.pop() else {
            return;
        };
        match (tag, frame) {
            (Tag::Paragraph, Frame::Inlines(content)) => {
                self.push_block(Block::Paragraph { content })
            }
            (Tag::Heading { level, id, .. }, Frame::Inlines(content)) => {
                self.push_block(Block::Heading {
                    level: heading_level(level),
                    id: id.map(|s| s.into_string()),
                    content,
                })
            }
            (Tag::BlockQuote(_), Frame::Blocks { blocks, .. }) => {
                self.push_block(Block::Quote { blocks })
            }
            (Tag::CodeBlock(kind), Frame::Inlines(parts)) => {
                let text = plain_text(&parts);
                let lang = match kind {
                    CodeBlockKind::Fenced(l) if !l.is_empty() => Some(l.into_string()),
                    _ => None,
                };
                self.push_block(Block::Code { lang, text });
            }
            (Tag::List(start), Frame::Items(items)) => self.push_block(Block::List(List {
                ordered: start.is_some(),
                start: start.unwrap_or(1),
                items,
            })),
            (Tag::Item, Frame::Blocks { blocks, .. }) => {
                let item = ListItem {
                    checked: self.task.take(),
                    blocks,
                };
                if let Some((_, Frame::Items(items))) = self.stack.last_mut() {
                    items.push(item);
                }
            }
            (Tag::Emphasis, Frame::Inlines(content)) => {
                self.push_inline(Inline::Emphasis { content })
            }
            (Tag::Strong, Frame::Inlines(content)) => self.push_inline(Inline::Strong { content }),
            (Tag::Strikethrough, Frame::Inlines(content)) => {
                self.push_inline(Inline::Strikethrough { content })
            }
            (
                Tag::Link {
                    dest_url, title, ..
                },
                Frame::Inlines(content),
            ) => self.push_inline(Inline::Link {
                url: dest_url.into_string(),
                title: title.into_string(),
                content,
            }),
            (
                Tag::Image {
                    dest_url, title, ..
                },
                Frame::Inlines(content),
            ) => self.push_inline(Inline::Image {
                url: dest_url.into_string(),
                alt: plain_text(&content),
                title: title.into_string(),
            }),
            (Tag::Table(align), Frame::Rows(rows)) => {
                let header = std::mem::take(&mut self.table_header);
                self.push_block(Block::Table(Table {
                    align: align
                        .iter()
                        .map(|a| match a {
                            Alignment::None => Align::None,
                            Alignment::Left => Align::Left,
                            Alignment::Center => Align::Center,
                            Alignment::Right => Align::Right,
                        })
                        .collect(),
                    header,
                    rows,
                }))
            }
            (Tag::TableHead, Frame::Cells(cells)) => self.table_header = cells,
            (Tag::TableRow, Frame::Cells(cells)) => {
                if let Some((_, Frame::Rows(rows))) = self.stack.last_mut() {
                    rows.push(cells);
                }
            }
            (Tag::TableCell, Frame::Inlines(cell)) => {
                if let Some((_, Frame::Cells(cells))) = self.stack.last_mut() {
                    cells.push(cell);
                }
            }
            // Extensions we do not enable (footnotes, definition lists, metadata): keep any
            // text they held as plain paragraphs rather than losing it.
            (_, Frame::Inlines(content)) if !content.is_empty() => {
                self.push_block(Block::Paragraph { content })
            }
            (_, Frame::Blocks { blocks, .. }) => {
                for b in blocks {
                    self.push_block(b);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Doc {
        parse_body(s, 1).expect("parses").doc
    }

    #[test]
    fn lists_tables_and_snippets() {
        let doc = parse(
            "1. 重启光猫，等待30秒。\n2. 拨打{{snippet:hotline}}报修。\n\n| 灯 | 含义 |\n|---|---|\n| LOS | 中断 |\n",
        );
        let Block::List(list) = &doc.blocks[0] else {
            panic!("{doc:?}")
        };
        assert!(list.ordered);
        assert_eq!(list.items.len(), 2);
        let Block::Paragraph { content } = &list.items[1].blocks[0] else {
            panic!()
        };
        assert_eq!(
            content[1],
            Inline::Snippet {
                key: "hotline".parse().unwrap()
            }
        );
        let Block::Table(t) = &doc.blocks[1] else {
            panic!()
        };
        assert_eq!(t.header.len(), 2);
        assert_eq!(t.rows.len(), 1);
    }

    #[test]
    fn snippet_key_with_underscore_survives_emphasis_splitting() {
        let parsed = parse_body("Call {{snippet:bank_hotline}} now.", 1).unwrap();
        assert_eq!(parsed.snippet_refs[0].0.as_str(), "bank_hotline");
    }

    #[test]
    fn channel_blocks_and_callouts() {
        let doc = parse(
            "Intro.\n\n::: internal\nCheck BSS first.\n:::\n\n::: warning\nDo not share the PIN.\n:::\n\n::: web agent\nSee the table.\n:::\n",
        );
        assert!(matches!(
            doc.blocks[1],
            Block::Scoped {
                scope: Scope::Internal,
                ..
            }
        ));
        assert!(matches!(
            doc.blocks[2],
            Block::Callout {
                callout: CalloutKind::Warning,
                ..
            }
        ));
        let web_only = doc.for_channel(Channel::Ivr);
        assert_eq!(
            web_only.blocks.len(),
            2,
            "internal and web/agent blocks dropped for ivr"
        );
    }

    #[test]
    fn errors_carry_file_lines() {
        let errs = parse_body("ok\n\n::: internal\nsecret\n", 10).unwrap_err();
        assert_eq!(errs[0].line, 12);
        let errs = parse_body("a\n::: nonsense\nx\n:::\n", 5).unwrap_err();
        assert_eq!(errs[0].line, 6);
        let errs = parse_body("line one\nline two {{snippet:Bad Key}}\n", 3).unwrap_err();
        assert_eq!(errs[0].line, 4);
        let errs = parse_body("::: note\n::: tip\n:::\n", 1).unwrap_err();
        assert!(errs[0].message.contains("do not nest"));
    }

    #[test]
    fn fences_inside_code_blocks_are_text() {
        let doc = parse("```\n::: internal\n```\n");
        assert!(matches!(doc.blocks[0], Block::Code { .. }));
    }

    #[test]
    fn inline_text_fields() {
        let v = parse_inline_text("请拨打{{snippet:hotline}}。").unwrap();
        assert_eq!(v.len(), 3);
        assert!(parse_inline_text("{{snippet:}}").is_err());
    }
}
