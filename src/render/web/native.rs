//! The web templates run without Tera, for the small part of Tera's language they use.
//!
//! Tera serialises the whole [`Page`] into a generic `tera::Context` and looks each
//! variable up by its dotted name at render time; for a short article that was about a
//! third of the web render. A template written in the subset below is parsed once into
//! [`Node`]s and run directly against the `Page`. Anything outside the subset (another
//! tag, filter or test, whitespace control, comments, a variable the page does not have,
//! a value of another shape) sends the template, or that one render, through Tera as
//! before, so the output never depends on which path ran (`tests::native_equals_tera` in
//! `web.rs` renders both ways).
//!
//! The subset: text; `{{ path }}` and `{{ path | safe }}` (strings are escaped with
//! [`html::escape_into`], the escape function Tera is given); `{% if t or t … %}` where
//! each `t` is `path`, `not path` or `path is defined`, closed by `{% endif %}`;
//! `{% for name in path %}…{% endfor %}` with `loop.first`; `{% extends "…" %}` with
//! `{% block name %}…{% endblock %}` (one level). Truthiness is Tera's: empty strings and
//! lists, null and false are false.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::html::escape_into;
use super::{Alternate, FieldOut, Link, Page, Ui};

/// A parsed template.
#[derive(Debug)]
pub(super) enum Node {
    Text(String),
    Out {
        path: String,
        safe: bool,
    },
    If {
        any: Vec<Test>,
        body: Vec<Node>,
    },
    For {
        var: String,
        list: String,
        body: Vec<Node>,
    },
    Block {
        name: String,
        body: Vec<Node>,
    },
}

/// One alternative of an `{% if %}`.
#[derive(Debug)]
pub(super) enum Test {
    Truthy(String),
    Not(String),
    Defined(String),
}

enum Token<'s> {
    Text(&'s str),
    Expr(&'s str),
    Tag(&'s str),
}

/// Splits a template into text, `{{ }}` and `{% %}`; `None` for comments, whitespace
/// control or an unclosed tag.
fn tokens(src: &str) -> Option<Vec<Token<'_>>> {
    let mut out = Vec::new();
    let (mut pos, mut text_start) = (0, 0);
    while let Some(off) = src[pos..].find('{') {
        let at = pos + off;
        let close = match src.as_bytes().get(at + 1) {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            Some(b'#') => return None,
            // A lone `{` (CSS) is text.
            _ => {
                pos = at + 1;
                continue;
            }
        };
        if at > text_start {
            out.push(Token::Text(&src[text_start..at]));
        }
        let inner_start = at + 2;
        let end = inner_start + src[inner_start..].find(close)?;
        let inner = &src[inner_start..end];
        if inner.starts_with('-') || inner.ends_with('-') {
            return None;
        }
        out.push(if close == "}}" {
            Token::Expr(inner.trim())
        } else {
            Token::Tag(inner.trim())
        });
        pos = end + close.len();
        text_start = pos;
    }
    if text_start < src.len() {
        out.push(Token::Text(&src[text_start..]));
    }
    Some(out)
}

fn is_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

fn output(expr: &str) -> Option<Node> {
    let (path, safe) = match expr.split_once('|') {
        None => (expr.trim(), false),
        Some((path, filter)) if filter.trim() == "safe" => (path.trim(), true),
        Some(_) => return None,
    };
    is_path(path).then(|| Node::Out {
        path: path.to_string(),
        safe,
    })
}

fn tests(words: &[&str]) -> Option<Vec<Test>> {
    words
        .split(|w| *w == "or")
        .map(|t| match t {
            [p] if is_path(p) => Some(Test::Truthy(p.to_string())),
            ["not", p] if is_path(p) => Some(Test::Not(p.to_string())),
            [p, "is", "defined"] if is_path(p) => Some(Test::Defined(p.to_string())),
            _ => None,
        })
        .collect()
}

/// A parsed template: what it extends, and its nodes.
struct Parsed {
    extends: Option<String>,
    nodes: Vec<Node>,
}

fn parse(src: &str) -> Option<Parsed> {
    let toks = tokens(src)?;
    let mut extends = None;
    let mut i = 0;
    let nodes = parse_nodes(&toks, &mut i, None, &mut extends)?;
    Some(Parsed { extends, nodes })
}

/// Nodes until the `end` tag (`None`: the end of the template).
fn parse_nodes(
    toks: &[Token<'_>],
    i: &mut usize,
    end: Option<&str>,
    extends: &mut Option<String>,
) -> Option<Vec<Node>> {
    let mut nodes = Vec::new();
    while let Some(tok) = toks.get(*i) {
        *i += 1;
        match tok {
            Token::Text(t) => nodes.push(Node::Text(t.to_string())),
            Token::Expr(e) => nodes.push(output(e)?),
            Token::Tag(t) => {
                let words: Vec<&str> = t.split_whitespace().collect();
                match words.as_slice() {
                    [w, ..] if Some(*w) == end => return Some(nodes),
                    ["if", cond @ ..] => {
                        let any = tests(cond)?;
                        let body = parse_nodes(toks, i, Some("endif"), extends)?;
                        nodes.push(Node::If { any, body });
                    }
                    ["for", var, "in", list] if is_path(var) && is_path(list) => {
                        let body = parse_nodes(toks, i, Some("endfor"), extends)?;
                        nodes.push(Node::For {
                            var: var.to_string(),
                            list: list.to_string(),
                            body,
                        });
                    }
                    ["block", name] => {
                        let body = parse_nodes(toks, i, Some("endblock"), extends)?;
                        nodes.push(Node::Block {
                            name: name.to_string(),
                            body,
                        });
                    }
                    ["extends", parent] if end.is_none() && extends.is_none() => {
                        let name = parent.strip_prefix('"')?.strip_suffix('"')?;
                        *extends = Some(name.to_string());
                    }
                    _ => return None,
                }
            }
        }
    }
    // The template ended inside an open tag.
    end.is_none().then_some(nodes)
}

/// Replaces the parent's blocks by the child's.
fn fill_blocks(nodes: Vec<Node>, blocks: &mut BTreeMap<String, Vec<Node>>) -> Vec<Node> {
    nodes
        .into_iter()
        .map(|n| match n {
            Node::Block { name, body } => {
                let body = blocks
                    .remove(&name)
                    .unwrap_or_else(|| fill_blocks(body, blocks));
                Node::Block { name, body }
            }
            Node::If { any, body } => Node::If {
                any,
                body: fill_blocks(body, blocks),
            },
            Node::For { var, list, body } => Node::For {
                var,
                list,
                body: fill_blocks(body, blocks),
            },
            other => other,
        })
        .collect()
}

/// The templates of `sources` that are in the subset, by name, ready to run.
pub(super) fn compile(sources: &BTreeMap<String, String>) -> BTreeMap<String, Vec<Node>> {
    sources
        .iter()
        .filter_map(|(name, src)| Some((name.clone(), assemble(sources, src)?)))
        .collect()
}

/// A template with its parent's blocks filled in.
fn assemble(sources: &BTreeMap<String, String>, src: &str) -> Option<Vec<Node>> {
    let child = parse(src)?;
    let Some(parent) = &child.extends else {
        return Some(child.nodes);
    };
    // One level: the parent extends nothing, the child is only blocks (Tera ignores its
    // text outside them) and its blocks hold no blocks.
    let parent = parse(sources.get(parent)?)?;
    if parent.extends.is_some() {
        return None;
    }
    let mut blocks = BTreeMap::new();
    for n in child.nodes {
        match n {
            Node::Block { name, body } if !body.iter().any(|b| matches!(b, Node::Block { .. })) => {
                blocks.insert(name, body);
            }
            Node::Text(_) => {}
            _ => return None,
        }
    }
    Some(fill_blocks(parent.nodes, &mut blocks))
}

/// A value as the templates see it.
#[derive(Clone, Copy)]
enum Val<'p> {
    Str(&'p str),
    Int(i64),
    Bool(bool),
    Null,
    /// A field of `f` (an object: always true, not printable).
    Field,
    Alts(&'p [Alternate]),
    Links(&'p [Link]),
    Strs(&'p [String]),
}

impl Val<'_> {
    fn truthy(self) -> bool {
        match self {
            Val::Str(s) => !s.is_empty(),
            Val::Int(n) => n != 0,
            Val::Bool(b) => b,
            Val::Null => false,
            Val::Field => true,
            Val::Alts(v) => !v.is_empty(),
            Val::Links(v) => !v.is_empty(),
            Val::Strs(v) => !v.is_empty(),
        }
    }
}

/// A loop variable's current value.
#[derive(Clone, Copy)]
enum Item<'p> {
    Alt(&'p Alternate),
    Link(&'p Link),
    Str(&'p str),
}

struct Run<'p> {
    page: &'p Page,
    /// Open loops, innermost last: variable, item, index.
    loops: Vec<(&'p str, Item<'p>, usize)>,
    out: String,
}

fn opt(s: &Option<String>) -> Val<'_> {
    s.as_deref().map_or(Val::Null, Val::Str)
}

fn ui_text(ui: &'static Ui, name: &str) -> Option<Val<'static>> {
    let s = match name {
        "home" => ui.home,
        "breadcrumbs" => ui.breadcrumbs,
        "updated" => ui.updated,
        "version" => ui.version,
        "related" => ui.related,
        "question" => ui.question,
        "expired" => ui.expired,
        "not_yet_effective" => ui.not_yet_effective,
        "skip" => ui.skip,
        _ => return None,
    };
    Some(Val::Str(s))
}

fn field_part<'p>(f: &'p FieldOut, part: Option<&str>) -> Option<Val<'p>> {
    Some(match part {
        None => Val::Field,
        Some("label") => Val::Str(&f.label),
        Some("html") => opt(&f.html),
        Some("items") => Val::Strs(&f.items),
        Some(_) => return None,
    })
}

fn item_part<'p>(item: Item<'p>, part: Option<&str>) -> Option<Val<'p>> {
    Some(match (item, part) {
        (Item::Str(s), None) => Val::Str(s),
        (Item::Alt(a), Some("hreflang")) => Val::Str(&a.hreflang),
        (Item::Alt(a), Some("href")) => Val::Str(&a.href),
        (Item::Link(l), Some("href")) => Val::Str(&l.href),
        (Item::Link(l), Some("text")) => Val::Str(&l.text),
        _ => return None,
    })
}

impl<'p> Run<'p> {
    /// The value at `path`; `None` when the page has no such variable.
    fn lookup(&self, path: &str) -> Option<Val<'p>> {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        // Loop variables shadow the page's; `loop` is the innermost loop.
        if head == "loop"
            && let Some(&(_, _, index)) = self.loops.last()
        {
            return match rest {
                Some("first") => Some(Val::Bool(index == 0)),
                _ => None,
            };
        }
        if let Some(&(_, item, _)) = self.loops.iter().rev().find(|(var, ..)| *var == head) {
            return item_part(item, rest);
        }
        let p = self.page;
        let leaf = |v: Val<'p>| rest.is_none().then_some(v);
        match head {
            "lang" => leaf(Val::Str(&p.lang)),
            "title" => leaf(Val::Str(&p.title)),
            "page_title" => leaf(Val::Str(&p.page_title)),
            "org_name" => leaf(Val::Str(&p.org_name)),
            "base_url" => leaf(Val::Str(&p.base_url)),
            "description" => leaf(Val::Str(&p.description)),
            "canonical" => leaf(Val::Str(&p.canonical)),
            "alternates" => leaf(Val::Alts(&p.alternates)),
            "json_ld" => leaf(Val::Str(&p.json_ld)),
            "kb_id" => leaf(Val::Str(&p.kb_id)),
            "version" => leaf(Val::Int(i64::from(p.version))),
            "article_type" => leaf(Val::Str(&p.article_type)),
            "breadcrumbs" => leaf(Val::Links(&p.breadcrumbs)),
            "notice" => leaf(p.notice.map_or(Val::Null, Val::Str)),
            "summary_html" => leaf(opt(&p.summary_html)),
            "question_html" => leaf(opt(&p.question_html)),
            "body_html" => leaf(Val::Str(&p.body_html)),
            "related" => leaf(Val::Links(&p.related)),
            "updated_iso" => leaf(Val::Str(&p.updated_iso)),
            "updated_human" => leaf(Val::Str(&p.updated_human)),
            "list_sep" => leaf(Val::Str(p.list_sep)),
            "ui" => ui_text(p.ui, rest?),
            "f" => {
                let rest = rest?;
                let (name, part) = match rest.split_once('.') {
                    Some((n, part)) => (n, Some(part)),
                    None => (rest, None),
                };
                field_part(p.f.get(name)?, part)
            }
            _ => None,
        }
    }

    fn test(&self, t: &Test) -> Option<bool> {
        Some(match t {
            Test::Truthy(p) => self.lookup(p)?.truthy(),
            Test::Not(p) => !self.lookup(p)?.truthy(),
            Test::Defined(p) => self.lookup(p).is_some(),
        })
    }

    fn nodes(&mut self, nodes: &'p [Node]) -> Option<()> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Out { path, safe } => match self.lookup(path)? {
                    Val::Str(s) if *safe => self.out.push_str(s),
                    Val::Str(s) => escape_into(&mut self.out, s),
                    Val::Int(n) => {
                        let _ = write!(self.out, "{n}");
                    }
                    Val::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
                    Val::Null => {}
                    // Tera prints objects and lists in its own way: leave those to it.
                    Val::Field | Val::Alts(_) | Val::Links(_) | Val::Strs(_) => return None,
                },
                Node::If { any, body } => {
                    let mut pass = false;
                    for t in any {
                        if self.test(t)? {
                            pass = true;
                            break;
                        }
                    }
                    if pass {
                        self.nodes(body)?;
                    }
                }
                Node::For { var, list, body } => {
                    let items: Vec<Item<'p>> = match self.lookup(list)? {
                        Val::Alts(v) => v.iter().map(Item::Alt).collect(),
                        Val::Links(v) => v.iter().map(Item::Link).collect(),
                        Val::Strs(v) => v.iter().map(|s| Item::Str(s)).collect(),
                        _ => return None,
                    };
                    for (index, item) in items.into_iter().enumerate() {
                        self.loops.push((var, item, index));
                        let done = self.nodes(body);
                        self.loops.pop();
                        done?;
                    }
                }
                Node::Block { body, .. } => self.nodes(body)?,
            }
        }
        Some(())
    }
}

/// The page rendered with `nodes`, or `None` when it needs something outside the subset
/// (then Tera renders it).
pub(super) fn render<'p>(nodes: &'p [Node], page: &'p Page, capacity: usize) -> Option<String> {
    let mut run = Run {
        page,
        loops: Vec::new(),
        out: String::with_capacity(capacity),
    };
    run.nodes(nodes)?;
    Some(run.out)
}
