//! SMS (channels.md §5): signature + title/summary (or `fields.sms_text`) + hotline +
//! short link last, with GSM-7 / UCS-2 segment counting.
//!
//! Budget: a generated message must fit one segment; an author's `sms_text` may use up
//! to three. Over budget, the link is dropped first (`sms_link_dropped`), then the text is
//! shortened at a sentence or clause end (`sms_truncated`). English output is ASCII-only.

use crate::content::Inline;
use crate::content::file::SayAs;
use crate::domain::Channel;
use crate::render::speech::{self, Dropped, Piece};
use crate::render::{RenderError, RenderInput, RenderWarning, Renderer, Rendition};

/// Renders the SMS channel: `text`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SmsRenderer;

/// Segments a generated message may use.
pub const DEFAULT_SEGMENTS: usize = 1;
/// Segments an author's `sms_text` may use.
pub const MAX_SEGMENTS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// GSM 03.38 basic character set (without the escape code).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table: two units each.
const GSM_EXT: &str = "^{}\\[~]|€\u{c}";

fn gsm_units(c: char) -> Option<usize> {
    if c.is_ascii_alphanumeric() || c == ' ' {
        Some(1)
    } else if GSM_EXT.contains(c) {
        Some(2)
    } else if GSM_BASIC.contains(c) {
        Some(1)
    } else {
        None
    }
}

/// Encoding, length in units (GSM-7 septets or UTF-16 code units) and segment count.
pub fn sms_segments(text: &str) -> (Encoding, usize, usize) {
    let gsm: Option<usize> = text.chars().map(gsm_units).sum();
    match gsm {
        Some(units) => {
            let seg = if units <= 160 { 1 } else { units.div_ceil(153) };
            (Encoding::Gsm7, units, seg)
        }
        None => {
            let units = text.encode_utf16().count();
            let seg = if units <= 70 { 1 } else { units.div_ceil(67) };
            (Encoding::Ucs2, units, seg)
        }
    }
}

/// ASCII-only form of English text: typographic punctuation to ASCII, the rest dropped.
fn ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if c.is_ascii() && (!c.is_ascii_control() || c == '\n') => out.push(c),
            '‘' | '’' | '′' => out.push('\''),
            '“' | '”' | '″' => out.push('"'),
            '–' | '—' | '‒' | '−' => out.push('-'),
            '…' => out.push_str("..."),
            '\u{a0}' | '\u{2009}' | '\u{202f}' => out.push(' '),
            '€' => out.push_str("EUR"),
            '£' => out.push_str("GBP"),
            '¥' => out.push_str("CNY"),
            _ => {}
        }
    }
    out
}

fn tidy(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

struct Parts {
    sig: String,
    body: String,
    link: String,
    budget: usize,
}

fn assemble(p: &Parts, with_link: bool, zh: bool) -> String {
    let mut out = String::with_capacity(p.sig.len() + p.body.len() + p.link.len() + 8);
    out.push_str(&p.sig);
    if !zh && !p.sig.is_empty() {
        out.push(' ');
    }
    out.push_str(&p.body);
    if with_link && !p.link.is_empty() {
        out.push_str(if zh { "详情：" } else { " More: " });
        out.push_str(&p.link);
    }
    out
}

fn is_cut_point(c: char) -> bool {
    matches!(
        c,
        '。' | '！' | '？' | '；' | '，' | '.' | '!' | '?' | ';' | ','
    )
}

/// Shortens `body` until the message fits `budget` segments, preferring a sentence or
/// clause end; returns the shortened body.
fn shorten(p: &Parts, zh: bool) -> String {
    let ell = if zh { "…" } else { "..." };
    let chars: Vec<(usize, char)> = p.body.char_indices().collect();
    let fits = |body: &str| {
        let msg = assemble(
            &Parts {
                sig: p.sig.clone(),
                body: body.to_string(),
                link: String::new(),
                budget: p.budget,
            },
            false,
            zh,
        );
        sms_segments(&msg).2 <= p.budget
    };
    // Longest prefix (in chars) that fits with an ellipsis.
    let mut lo = 0;
    let mut hi = chars.len();
    let prefix = |n: usize| -> &str {
        let end = chars.get(n).map_or(p.body.len(), |(i, _)| *i);
        &p.body[..end]
    };
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(&format!("{}{ell}", prefix(mid).trim_end())) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let best = prefix(lo);
    // Prefer the last sentence/clause end in the second half of what fits.
    if let Some((i, c)) = best.char_indices().rfind(|(_, c)| is_cut_point(*c))
        && i * 2 >= best.len()
    {
        let head = &best[..i];
        let end = if matches!(c, '。' | '！' | '？' | '.' | '!' | '?') {
            format!("{head}{c}")
        } else {
            format!("{head}{ell}")
        };
        if fits(&end) {
            return end;
        }
    }
    format!("{}{ell}", best.trim_end())
}

fn pieces_text(pieces: &[Piece]) -> String {
    tidy(&speech::plain(pieces))
}

/// The phone snippet the message should name: the first `say_as: telephone` snippet the
/// article references (summary first, then body).
fn hotline(input: &RenderInput<'_>, summary: &[Piece]) -> Option<String> {
    let from_pieces = |ps: &[Piece]| {
        ps.iter().find_map(|p| match p {
            Piece::Snip {
                body,
                alias,
                say_as: Some(SayAs::Telephone),
            } => Some(alias.clone().unwrap_or_else(|| body.clone())),
            _ => None,
        })
    };
    if let Some(h) = from_pieces(summary) {
        return Some(h);
    }
    let doc = input.doc.for_channel(Channel::Sms);
    let mut found = None;
    crate::content::doc::visit_blocks(&doc.blocks, &mut |i| {
        if found.is_none()
            && let Inline::Snippet { key } = i
            && let Some(s) = input.snippets.get(key)
            && s.say_as == Some(SayAs::Telephone)
        {
            found = Some(s.text_for(Channel::Sms).to_string());
        }
    });
    found
}

/// Renders the SMS text and its warnings.
pub fn sms_text(input: &RenderInput<'_>) -> (String, Vec<RenderWarning>) {
    let a = input.article;
    let zh = a.locale.is_chinese();
    let mut warnings = Vec::new();
    let visible = |f: &str| {
        if input.schema.field_visible(f, Channel::Sms) {
            speech::field_str(&a.fields, f)
        } else {
            None
        }
    };
    let sig = input
        .site
        .sms_signature
        .get(a.locale.language())
        .cloned()
        .unwrap_or_default();
    let link = crate::render::bot::canonical_url(input);

    let (body, budget) = match visible("sms_text") {
        Some(t) => (
            pieces_text(&speech::field_pieces(t, input.snippets, Channel::Sms)),
            MAX_SEGMENTS,
        ),
        None => {
            let summary = ["summary", "issue", "question"]
                .into_iter()
                .find_map(visible)
                .map(|s| speech::field_pieces(s, input.snippets, Channel::Sms))
                .unwrap_or_default();
            let title = {
                let mut p = Vec::new();
                speech::flatten(
                    &[Inline::text(a.title.clone())],
                    input.snippets,
                    Channel::Sms,
                    &mut p,
                    &mut Dropped::default(),
                );
                pieces_text(&p)
            };
            let title = title.trim_end_matches(['？', '?', '。', '.', '：', ':']);
            let s = pieces_text(&summary);
            let mut body = if s.is_empty() {
                title.to_string()
            } else if zh {
                format!("{title}：{s}")
            } else {
                format!("{title}: {s}")
            };
            if let Some(h) = hotline(input, &summary)
                && !body.contains(&h)
            {
                {
                    if zh {
                        body.push_str(&format!("客服热线{h}。"));
                    } else {
                        if !body.ends_with(['.', '!', '?']) {
                            body.push('.');
                        }
                        body.push_str(&format!(" Call {h}."));
                    }
                }
            }
            (body, DEFAULT_SEGMENTS)
        }
    };
    let (sig, body) = if zh {
        (sig, body)
    } else {
        (tidy(&ascii(&sig)), tidy(&ascii(&body)))
    };
    let mut parts = Parts {
        sig,
        body,
        link,
        budget,
    };
    let mut msg = assemble(&parts, true, zh);
    if sms_segments(&msg).2 > budget {
        warnings.push(RenderWarning {
            code: "sms_link_dropped".into(),
            message: format!("the link was dropped to fit {budget} SMS segment(s)"),
        });
        msg = assemble(&parts, false, zh);
        if sms_segments(&msg).2 > budget {
            parts.body = shorten(&parts, zh);
            msg = assemble(&parts, false, zh);
            warnings.push(RenderWarning {
                code: "sms_truncated".into(),
                message: format!("the text was shortened to fit {budget} SMS segment(s)"),
            });
        }
    }
    (msg, warnings)
}

impl Renderer for SmsRenderer {
    fn channel(&self) -> Channel {
        Channel::Sms
    }

    fn formats(&self) -> &'static [&'static str] {
        &["text"]
    }

    fn render(&self, input: &RenderInput<'_>) -> Result<Vec<Rendition>, RenderError> {
        let (body, warnings) = sms_text(input);
        Ok(vec![Rendition {
            channel: Channel::Sms,
            format: "text".into(),
            media_type: "text/plain; charset=utf-8".into(),
            body,
            warnings,
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_segments() {
        let rows = [
            (
                "【示例电信】宽带无法上网：1.重启光猫和路由器，等2分钟再试；2.检查网线是否插紧；3.光猫LOS灯红闪请拨10000报修。",
                Encoding::Ucs2,
                62,
                1,
            ),
            (
                "【示例电信】宽带无法上网？重启光猫和路由器，2分钟后再试；LOS灯红闪请拨10000报修。详情：https://kb.example.com/k/1024",
                Encoding::Ucs2,
                77,
                2,
            ),
            (
                "Broadband down? 1) Restart modem+router, wait 2 min. 2) Check the cable. 3) LOS light blinking red? Call 1-800-555-0199. Guide: https://kb.example.com/k/1024",
                Encoding::Gsm7,
                157,
                1,
            ),
            (
                "Broadband down? Restart modem & router [wait 2 min]. LOS red? Call 1-800-555-0199.",
                Encoding::Gsm7,
                84,
                1,
            ),
        ];
        for (text, enc, units, seg) in rows {
            assert_eq!(sms_segments(text), (enc, units, seg), "{text}");
        }
    }

    #[test]
    fn ascii_only() {
        assert_eq!(ascii("It’s “fine” – ok…"), "It's \"fine\" - ok...");
    }
}
