//! IVR / voice: SSML 1.1 (1.0 element set), VoiceXML 2.1 and a plain TTS script
//! (channels.md §1).
//!
//! The article is first turned into a [`Script`] of sections (intro, headings, paragraphs,
//! numbered steps) of one-breath sentences; the three formats are written from it. URLs,
//! tables, images, code, raw HTML, parenthesised asides and internal content are never
//! spoken. All XML goes through [`speech::Xml`], which escapes every text and attribute.

use crate::content::{Block, Inline};
use crate::domain::{Audience, Channel};
use crate::render::speech::{self, Dropped, Piece, Sentence, Xml};
use crate::render::{RenderError, RenderInput, RenderWarning, Renderer, Rendition};

/// Renders the IVR channel: `ssml` (default), `vxml`, `text`.
#[derive(Debug, Default, Clone, Copy)]
pub struct IvrRenderer;

const SSML_NS: &str = "http://www.w3.org/2001/10/synthesis";
const VXML_NS: &str = "http://www.w3.org/2001/vxml";
/// Pause after a step or heading.
const STEP_BREAK: &str = "500ms";
/// Sentences of non-step content per VoiceXML menu (≈30 s of speech).
const UNIT_SENTENCES: usize = 6;
/// Related articles offered in the VoiceXML main menu (1, 2, 0 + these ≤ 5 choices).
const MAX_RELATED: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Intro,
    Heading,
    Para,
    Step,
}

#[derive(Debug)]
struct Section {
    kind: Kind,
    sentences: Vec<Sentence>,
}

/// The spoken form of an article, shared by the three formats.
#[derive(Debug)]
struct Script {
    zh: bool,
    sections: Vec<Section>,
    steps: usize,
    warnings: Vec<RenderWarning>,
}

impl Script {
    fn warn(&mut self, code: &str, message: String) {
        if !self
            .warnings
            .iter()
            .any(|w| w.code == code && w.message == message)
        {
            self.warnings.push(RenderWarning {
                code: code.to_string(),
                message,
            });
        }
    }

    /// Pieces -> one-breath sentences, each terminated; long ones are split and reported.
    fn sentences(&mut self, mut pieces: Vec<Piece>) -> Vec<Sentence> {
        speech::drop_parentheses(&mut pieces);
        let mut out = Vec::new();
        for s in speech::split_sentences(&pieces) {
            for mut part in speech::split_long(s, self.zh) {
                speech::terminate(&mut part, self.zh);
                if speech::pieces_len(&part, self.zh) > speech::sentence_limit(self.zh) {
                    self.warn(
                        "sentence_too_long",
                        format!(
                            "sentence longer than {} {}: {}",
                            speech::sentence_limit(self.zh),
                            if self.zh { "Hanzi" } else { "words" },
                            speech::excerpt(&speech::plain(&part))
                        ),
                    );
                }
                out.push(part);
            }
        }
        out
    }

    fn note_dropped(&mut self, d: Dropped) {
        if d.images {
            self.warn("image_dropped", "images are not spoken".into());
        }
        if d.html {
            self.warn("html_dropped", "raw HTML is not spoken".into());
        }
        if d.links {
            self.warn(
                "link_not_spoken",
                "link addresses are not spoken; only the link text is".into(),
            );
        }
        if d.missing_snippet {
            self.warn(
                "snippet_missing",
                "a referenced snippet is not published".into(),
            );
        }
    }

    fn push(&mut self, kind: Kind, sentences: Vec<Sentence>) {
        if !sentences.is_empty() {
            self.sections.push(Section { kind, sentences });
        }
    }
}

fn build_script(input: &RenderInput<'_>) -> Script {
    let a = input.article;
    let zh = a.locale.is_chinese();
    let mut sc = Script {
        zh,
        sections: Vec::new(),
        steps: 0,
        warnings: Vec::new(),
    };
    let voice_field = |name: &str| {
        if input.schema.field_visible(name, Channel::Ivr) {
            speech::field_str(&a.fields, name)
        } else {
            None
        }
    };
    let body_voice = voice_field("body_voice");
    let doc = input.doc.for_channel(Channel::Ivr);
    if body_voice.is_none() && input.schema.rules.body.role == "steps" {
        sc.steps = first_ordered_list(&doc.blocks).unwrap_or(0);
    }

    // Intro: the spoken summary, then the step count.
    let intro_text = ["summary_voice", "summary", "issue", "question"]
        .into_iter()
        .find_map(voice_field)
        .unwrap_or(a.title.as_str());
    let mut intro = sc.sentences(speech::field_pieces(
        intro_text,
        input.snippets,
        Channel::Ivr,
    ));
    if sc.steps > 0 {
        let count = if zh {
            format!("请按以下{}步操作。", speech::zh_number(sc.steps))
        } else {
            format!("Please follow these {} steps.", speech::en_number(sc.steps))
        };
        intro.push(vec![Piece::Text(count)]);
    }
    sc.push(Kind::Intro, intro);

    match body_voice {
        Some(text) => {
            for para in text.split('\n').filter(|l| !l.trim().is_empty()) {
                let s = sc.sentences(speech::field_pieces(para, input.snippets, Channel::Ivr));
                sc.push(Kind::Para, s);
            }
        }
        None => {
            let mut pending = None;
            walk(&doc.blocks, input, &mut sc, &mut pending);
        }
    }
    sc
}

fn first_ordered_list(blocks: &[Block]) -> Option<usize> {
    blocks.iter().find_map(|b| match b {
        Block::List(l) if l.ordered => Some(l.items.len()),
        Block::Scoped { blocks, .. } | Block::Callout { blocks, .. } | Block::Quote { blocks } => {
            first_ordered_list(blocks)
        }
        _ => None,
    })
}

fn flatten(input: &RenderInput<'_>, sc: &mut Script, inlines: &[Inline], out: &mut Vec<Piece>) {
    let mut d = Dropped::default();
    speech::flatten(inlines, input.snippets, Channel::Ivr, out, &mut d);
    sc.note_dropped(d);
}

/// Walks blocks; a heading is held back until content follows it, so a heading over
/// dropped content (a table, an image) is not spoken either.
fn walk(
    blocks: &[Block],
    input: &RenderInput<'_>,
    sc: &mut Script,
    pending: &mut Option<Vec<Sentence>>,
) {
    for b in blocks {
        match b {
            Block::Heading { content, .. } => {
                let mut p = Vec::new();
                flatten(input, sc, content, &mut p);
                *pending = Some(sc.sentences(p));
            }
            Block::Paragraph { content } => {
                let mut p = Vec::new();
                flatten(input, sc, content, &mut p);
                let s = sc.sentences(p);
                emit(sc, pending, Kind::Para, s);
            }
            Block::List(list) => {
                let mut plain_items = Vec::new();
                for (i, item) in list.items.iter().enumerate() {
                    let mut p = Vec::new();
                    if list.ordered {
                        let n = list.start as usize + i;
                        let prefix = if sc.zh {
                            format!("第{}步，", speech::zh_number(n))
                        } else {
                            format!("Step {}: ", speech::en_number(n))
                        };
                        p.push(Piece::Text(prefix));
                    }
                    item_pieces(&item.blocks, input, sc, &mut p);
                    let s = sc.sentences(p);
                    if list.ordered {
                        emit(sc, pending, Kind::Step, s);
                    } else {
                        plain_items.extend(s);
                    }
                }
                emit(sc, pending, Kind::Para, plain_items);
            }
            Block::Table(_) => sc.warn("table_dropped", "tables are not spoken".into()),
            Block::Code { .. } => sc.warn("code_dropped", "code blocks are not spoken".into()),
            Block::Html { .. } => sc.warn("html_dropped", "raw HTML is not spoken".into()),
            Block::Quote { blocks }
            | Block::Callout { blocks, .. }
            | Block::Scoped { blocks, .. } => walk(blocks, input, sc, pending),
            Block::Rule => {}
        }
    }
}

/// The text of a list item (paragraphs and nested lists), as one run of pieces.
fn item_pieces(blocks: &[Block], input: &RenderInput<'_>, sc: &mut Script, p: &mut Vec<Piece>) {
    for b in blocks {
        match b {
            Block::Paragraph { content } | Block::Heading { content, .. } => {
                let needs_space = match p.last() {
                    Some(Piece::Text(t)) => !t.ends_with([' ', '，']),
                    Some(_) => true,
                    None => false,
                };
                if needs_space {
                    p.push(Piece::Text(" ".into()));
                }
                flatten(input, sc, content, p);
            }
            Block::List(l) => {
                for it in &l.items {
                    item_pieces(&it.blocks, input, sc, p);
                }
            }
            Block::Quote { blocks }
            | Block::Callout { blocks, .. }
            | Block::Scoped { blocks, .. } => item_pieces(blocks, input, sc, p),
            Block::Table(_) => sc.warn("table_dropped", "tables are not spoken".into()),
            Block::Code { .. } => sc.warn("code_dropped", "code blocks are not spoken".into()),
            Block::Html { .. } => sc.warn("html_dropped", "raw HTML is not spoken".into()),
            Block::Rule => {}
        }
    }
}

fn emit(sc: &mut Script, pending: &mut Option<Vec<Sentence>>, kind: Kind, s: Vec<Sentence>) {
    if s.is_empty() {
        return;
    }
    if let Some(h) = pending.take() {
        sc.push(Kind::Heading, h);
    }
    sc.push(kind, s);
}

/// Each sentence's SSML markup, written once and shared by the SSML and VoiceXML
/// documents: tokenising speech (numbers, dates, phones) is the costliest part of the IVR
/// render. `0[i][j]` is the markup of sentence `j` of section `i` of the [`Script`].
struct Markup(Vec<Vec<String>>);

impl Markup {
    fn of(sc: &Script) -> Self {
        let markup = sc
            .sections
            .iter()
            .map(|sec| {
                sec.sentences
                    .iter()
                    .map(|s| {
                        let mut x = Xml {
                            out: String::with_capacity(256),
                        };
                        speech::write_ssml_sentence(&mut x, s);
                        x.out
                    })
                    .collect()
            })
            .collect();
        Markup(markup)
    }

    fn section(&self, i: usize) -> &[String] {
        &self.0[i]
    }
}

/// One `<s>` on its own line.
fn write_s(x: &mut Xml, depth: usize, markup: &str) {
    x.indent(depth);
    x.open("s", &[]);
    x.out.push_str(markup);
    x.close("s");
    x.nl();
}

fn ssml(input: &RenderInput<'_>, sc: &Script, m: &Markup) -> String {
    let mut x = Xml::new();
    x.open(
        "speak",
        &[
            ("version", "1.1"),
            ("xmlns", SSML_NS),
            ("xml:lang", input.article.locale.as_str()),
        ],
    );
    x.nl();
    for (i, sec) in sc.sections.iter().enumerate() {
        x.indent(1);
        x.open("p", &[]);
        if let [only] = m.section(i) {
            x.open("s", &[]);
            x.out.push_str(only);
            x.close("s");
        } else {
            x.nl();
            for s in m.section(i) {
                write_s(&mut x, 2, s);
            }
            x.indent(1);
        }
        x.close("p");
        x.nl();
        if matches!(sec.kind, Kind::Step | Kind::Heading) {
            x.indent(1);
            x.empty("break", &[("time", STEP_BREAK)]);
            x.nl();
        }
    }
    x.close("speak");
    x.nl();
    x.out
}

fn text(sc: &Script) -> String {
    let mut out = String::with_capacity(1024);
    for sec in &sc.sections {
        for (i, s) in sec.sentences.iter().enumerate() {
            if i > 0 && !sc.zh {
                out.push(' ');
            }
            speech::plain_into(&mut out, s);
        }
        out.push('\n');
    }
    out
}

/// Labels of the VoiceXML prompts, per language.
struct Words {
    noinput: &'static str,
    nomatch: &'static str,
    listen_steps: &'static str,
    listen_details: &'static str,
    sms: &'static str,
    agent: &'static str,
    nav_next: &'static str,
    nav_last: &'static str,
    sms_done: &'static str,
    transferring: &'static str,
    c_steps: &'static str,
    c_sms: &'static str,
    c_agent: &'static str,
    c_next: &'static str,
    c_repeat: &'static str,
    c_main: &'static str,
}

const ZH: Words = Words {
    noinput: "抱歉，没有听到您的按键。",
    nomatch: "输入有误，请重新选择。",
    listen_steps: "听取操作步骤，请按1。",
    listen_details: "听取详细内容，请按1。",
    sms: "把文章链接发到您的手机，请按2。",
    agent: "转人工服务，请按0。",
    nav_next: "继续请按1，重听请按2，转人工请按0。",
    nav_last: "重听请按2，返回主菜单请按9，转人工请按0。",
    sms_done: "链接已发送到您的手机，请注意查收。感谢来电，再见。",
    transferring: "正在为您转接人工客服，请稍候。",
    c_steps: "收听",
    c_sms: "发送短信",
    c_agent: "人工服务",
    c_next: "下一步",
    c_repeat: "重听",
    c_main: "主菜单",
};

const EN: Words = Words {
    noinput: "Sorry, I didn't hear a key press.",
    nomatch: "Sorry, that is not a valid choice.",
    listen_steps: "To hear the steps, press 1.",
    listen_details: "To hear the details, press 1.",
    sms: "To get a link by text message, press 2.",
    agent: "To speak to an agent, press 0.",
    nav_next: "To continue, press 1. To hear this again, press 2. For an agent, press 0.",
    nav_last: "To hear this again, press 2. For the main menu, press 9. For an agent, press 0.",
    sms_done: "We have sent the link to your phone. Thank you for calling. Goodbye.",
    transferring: "Please hold while we transfer you to an agent.",
    c_steps: "listen",
    c_sms: "text message",
    c_agent: "agent",
    c_next: "next",
    c_repeat: "repeat",
    c_main: "main menu",
};

/// Groups the script into menu-sized units: each step alone, other content in runs of
/// at most [`UNIT_SENTENCES`] sentences (a heading starts a new unit). Sentences are
/// given by their markup.
fn units<'m>(sc: &Script, m: &'m Markup) -> Vec<Vec<&'m str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let sections = sc.sections.iter().enumerate();
    for (i, sec) in sections.clone().filter(|(_, s)| s.kind != Kind::Intro) {
        let new_unit = matches!(sec.kind, Kind::Step | Kind::Heading)
            || cur.len() + sec.sentences.len() > UNIT_SENTENCES;
        if new_unit && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        cur.extend(m.section(i).iter().map(String::as_str));
        if sec.kind == Kind::Step {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    if out.is_empty()
        && let Some((i, _)) = sections.clone().find(|(_, s)| s.kind == Kind::Intro)
    {
        out.push(m.section(i).iter().map(String::as_str).collect());
    }
    out
}

fn nav_sentences(x: &mut Xml, text: &str) {
    x.indent(3);
    x.leaf("s", &[], text);
    x.nl();
}

fn choice(x: &mut Xml, dtmf: &str, next: &str, label: &str) {
    x.indent(2);
    x.leaf("choice", &[("dtmf", dtmf), ("next", next)], label);
    x.nl();
}

fn vxml(input: &RenderInput<'_>, sc: &Script, m: &Markup) -> String {
    let a = input.article;
    let w = if sc.zh { &ZH } else { &EN };
    let mut x = Xml::new();
    x.open(
        "vxml",
        &[
            ("version", "2.1"),
            ("xmlns", VXML_NS),
            ("xml:lang", a.locale.as_str()),
        ],
    );
    x.nl();
    x.indent(1);
    x.empty(
        "meta",
        &[
            ("name", "kb-article"),
            ("content", &speech::kb_ref(a.id.0, a.revision)),
        ],
    );
    x.nl();
    for (tag, msg) in [("noinput", w.noinput), ("nomatch", w.nomatch)] {
        x.indent(1);
        x.open(tag, &[]);
        x.text(msg);
        x.empty("reprompt", &[]);
        x.close(tag);
        x.nl();
        // After three misses, hand the caller to an agent.
        x.indent(1);
        x.open(tag, &[("count", "3")]);
        x.empty("goto", &[("next", "#agent")]);
        x.close(tag);
        x.nl();
    }

    // Main menu: 1 listen, 2 SMS, related articles (only while ≤ 5 choices), 0 agent.
    let related: Vec<_> = a
        .related
        .iter()
        .filter(|r| r.audience == Audience::Public)
        .take(MAX_RELATED)
        .collect();
    let spoken_title =
        |t: &str| speech::plain(&speech::field_pieces(t, input.snippets, Channel::Ivr));
    let mut title = speech::field_pieces(&a.title, input.snippets, Channel::Ivr);
    speech::terminate(&mut title, sc.zh);
    x.indent(1);
    x.open("menu", &[("id", "main"), ("dtmf", "true")]);
    x.nl();
    x.indent(2);
    x.open("prompt", &[("bargein", "true")]);
    x.nl();
    let mut title_markup = Xml {
        out: String::with_capacity(128),
    };
    speech::write_ssml_sentence(&mut title_markup, &title);
    write_s(&mut x, 3, &title_markup.out);
    nav_sentences(
        &mut x,
        if sc.steps > 0 {
            w.listen_steps
        } else {
            w.listen_details
        },
    );
    nav_sentences(&mut x, w.sms);
    for (i, r) in related.iter().enumerate() {
        let key = i + 3;
        let s = if sc.zh {
            format!("了解{}，请按{}。", spoken_title(&r.title), key)
        } else {
            format!("For {}, press {}.", spoken_title(&r.title), key)
        };
        nav_sentences(&mut x, &s);
    }
    nav_sentences(&mut x, w.agent);
    x.indent(2);
    x.close("prompt");
    x.nl();
    choice(&mut x, "1", "#step1", w.c_steps);
    choice(&mut x, "2", "#sms", w.c_sms);
    for (i, r) in related.iter().enumerate() {
        // Relative URI of the related article's VoiceXML, resolved by the IVR platform
        // against this document's base (no host is ever spoken or embedded).
        let next = format!("/kb/{}/{}.vxml", a.locale.as_str(), r.slug);
        choice(&mut x, &(i + 3).to_string(), &next, &spoken_title(&r.title));
    }
    choice(&mut x, "0", "#agent", w.c_agent);
    x.indent(1);
    x.close("menu");
    x.nl();

    let units = units(sc, m);
    let n = units.len();
    for (i, unit) in units.iter().enumerate() {
        let id = format!("step{}", i + 1);
        x.indent(1);
        x.open("menu", &[("id", &id), ("dtmf", "true")]);
        x.nl();
        x.indent(2);
        x.open("prompt", &[]);
        x.nl();
        for s in unit {
            write_s(&mut x, 3, s);
        }
        x.indent(3);
        x.empty("break", &[("time", "300ms")]);
        x.nl();
        let last = i + 1 == n;
        nav_sentences(&mut x, if last { w.nav_last } else { w.nav_next });
        x.indent(2);
        x.close("prompt");
        x.nl();
        if !last {
            choice(&mut x, "1", &format!("#step{}", i + 2), w.c_next);
        }
        choice(&mut x, "2", &format!("#{id}"), w.c_repeat);
        if last {
            choice(&mut x, "9", "#main", w.c_main);
        }
        choice(&mut x, "0", "#agent", w.c_agent);
        x.indent(1);
        x.close("menu");
        x.nl();
    }

    x.indent(1);
    x.open("form", &[("id", "sms")]);
    x.nl();
    x.indent(2);
    x.open("block", &[]);
    x.nl();
    x.indent(3);
    x.leaf("prompt", &[], w.sms_done);
    x.nl();
    x.indent(3);
    x.empty("exit", &[]);
    x.nl();
    x.indent(2);
    x.close("block");
    x.nl();
    x.indent(1);
    x.close("form");
    x.nl();

    x.indent(1);
    x.open("form", &[("id", "agent")]);
    x.nl();
    x.indent(2);
    x.open(
        "transfer",
        &[
            ("name", "xfer"),
            ("dest", input.site.ivr_transfer.as_str()),
            ("bridge", "false"),
        ],
    );
    x.nl();
    x.indent(3);
    x.leaf("prompt", &[], w.transferring);
    x.nl();
    x.indent(2);
    x.close("transfer");
    x.nl();
    x.indent(1);
    x.close("form");
    x.nl();
    x.close("vxml");
    x.nl();
    x.out
}

/// Renders one format (`ssml`, `vxml`, `text`) with its warnings.
pub fn render_format(input: &RenderInput<'_>, format: &str) -> Option<Rendition> {
    let sc = build_script(input);
    one(input, &sc, &Markup::of(&sc), format)
}

fn one(input: &RenderInput<'_>, sc: &Script, m: &Markup, format: &str) -> Option<Rendition> {
    let (body, media_type) = match format {
        "ssml" => (ssml(input, sc, m), "application/ssml+xml"),
        "vxml" => (vxml(input, sc, m), "application/voicexml+xml"),
        "text" => (text(sc), "text/plain; charset=utf-8"),
        _ => return None,
    };
    Some(Rendition {
        channel: Channel::Ivr,
        format: format.to_string(),
        media_type: media_type.to_string(),
        body,
        warnings: sc.warnings.clone(),
    })
}

impl Renderer for IvrRenderer {
    fn channel(&self) -> Channel {
        Channel::Ivr
    }

    fn formats(&self) -> &'static [&'static str] {
        &["ssml", "vxml", "text"]
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Rendition>, RenderError> {
        let sc = build_script(input);
        let markup = Markup::of(&sc);
        Ok(self
            .formats()
            .iter()
            .filter_map(|f| one(input, &sc, &markup, f))
            .collect())
    }
}
