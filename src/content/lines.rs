//! A Markdown body read line by line with the `::: name` block each line sits in.
//!
//! pulldown-cmark has no fenced divs, so every reader of the body that cares about
//! blocks (the parser, the linter, the public API's internal-block filter, the UI's
//! fallback views) walks the same lines the same way: `:::` lines inside a code fence are
//! code, not block markers.

/// One line of a body, with its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyLine<'a> {
    pub number: usize,
    pub text: &'a str,
    pub kind: LineKind<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind<'a> {
    /// Content in the block with these names (`"internal"`, `"web agent"`), if any.
    Text { block: Option<&'a str> },
    /// `::: names` opening a block.
    Open { names: &'a str },
    /// `:::` closing the block with these names (None for a stray `:::`).
    Close { block: Option<&'a str> },
}

impl<'a> BodyLine<'a> {
    /// The block the line belongs to: for markers, the block they open or close.
    pub fn block(&self) -> Option<&'a str> {
        match self.kind {
            LineKind::Text { block } | LineKind::Close { block } => block,
            LineKind::Open { names } => Some(names),
        }
    }
}

/// The lines of `body`, numbered from `first_line`.
pub fn body_lines(body: &str, first_line: usize) -> impl Iterator<Item = BodyLine<'_>> {
    let mut code_fence: Option<&str> = None;
    let mut block: Option<&str> = None;
    body.split_inclusive('\n')
        .enumerate()
        .map(move |(i, text)| {
            let number = first_line + i;
            let trimmed = text.trim_end();
            let stripped = trimmed.trim_start();
            let mut kind = LineKind::Text { block };
            if let Some(fence) = code_fence {
                if stripped.starts_with(fence) {
                    code_fence = None;
                }
            } else if stripped.starts_with("```") || stripped.starts_with("~~~") {
                code_fence = Some(&stripped[..3]);
            } else if let Some(rest) = trimmed.strip_prefix(":::") {
                let names = rest.trim_start_matches(':').trim();
                if names.is_empty() {
                    kind = LineKind::Close {
                        block: block.take(),
                    };
                } else {
                    block = Some(names);
                    kind = LineKind::Open { names };
                }
            }
            BodyLine { number, text, kind }
        })
}

/// Whether a block's names make it internal (agents only).
pub fn is_internal(names: &str) -> bool {
    names.split_whitespace().any(|n| n == "internal")
}

/// The body without its `::: internal` blocks (markers included), for readers who must
/// not see them. Other blocks stay as written.
pub fn strip_internal_blocks(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    for line in body_lines(body, 1) {
        if !line.block().is_some_and(is_internal) {
            out.push_str(line.text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_their_block_and_fences_hide_markers() {
        let body = "a\n::: internal\nsecret\n:::\n```\n::: internal\n```\nb";
        let lines: Vec<_> = body_lines(body, 10).collect();
        assert_eq!(lines.len(), 8);
        assert_eq!(lines[1].kind, LineKind::Open { names: "internal" });
        assert_eq!(
            lines[2],
            BodyLine {
                number: 12,
                text: "secret\n",
                kind: LineKind::Text {
                    block: Some("internal")
                }
            }
        );
        assert_eq!(
            lines[3].kind,
            LineKind::Close {
                block: Some("internal")
            }
        );
        assert_eq!(lines[5].kind, LineKind::Text { block: None });
        assert_eq!(lines[7].text, "b");
    }

    #[test]
    fn strips_internal_blocks_only() {
        let body = "Intro.\n\n::: internal\nCheck BSS.\n:::\n\n::: warning\nNo PIN.\n:::\n\n::: agent internal\nx\n:::\nEnd.\n";
        let out = strip_internal_blocks(body);
        assert!(!out.contains("BSS") && !out.contains("x\n"), "{out}");
        assert!(out.contains("No PIN.") && out.contains("End."), "{out}");
        assert!(out.contains("::: warning\nNo PIN.\n:::\n"), "{out}");
        assert!(!out.contains("internal"), "{out}");
    }
}
