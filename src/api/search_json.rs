//! The search response written as JSON by hand: the same bytes `serde_json` writes for
//! [`SearchResult`] (a randomized test compares them), faster.
//!
//! A search response is mostly highlight text (Chinese, several KB per page of hits), and
//! `serde_json` looks at a string one byte at a time to find what needs escaping; under
//! load that was 5 % of the server's CPU (docs/performance.md). Here runs that need no
//! escaping are found 32 bytes at a time ([`crate::util::escape_runs`]) and copied whole.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::search::SearchResult;
use crate::search::{FacetCount, Hit};

/// A page of hits is ~10 KB; room up front saves growing (and copying) the buffer.
const START: usize = 16 * 1024;

/// [`SearchResult`] as a response.
pub struct SearchJson(pub SearchResult);

impl IntoResponse for SearchJson {
    fn into_response(self) -> Response {
        let mut out = Vec::with_capacity(START);
        write_result(&mut out, &self.0);
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            out,
        )
            .into_response()
    }
}

pub fn write_result(out: &mut Vec<u8>, r: &SearchResult) {
    out.extend_from_slice(b"{\"search_id\":");
    int(out, r.search_id);
    out.extend_from_slice(b",\"total\":");
    int(out, r.response.total as u64);
    out.extend_from_slice(b",\"hits\":[");
    for (i, h) in r.response.hits.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        hit(out, h);
    }
    let f = &r.response.facets;
    out.extend_from_slice(b"],\"facets\":{\"type\":");
    facet_counts(out, &f.article_type);
    out.extend_from_slice(b",\"category\":");
    facet_counts(out, &f.category);
    out.extend_from_slice(b",\"tags\":");
    facet_counts(out, &f.tags);
    out.extend_from_slice(b",\"locale\":");
    facet_counts(out, &f.locale);
    out.extend_from_slice(b"}}");
}

fn hit(out: &mut Vec<u8>, h: &Hit) {
    out.extend_from_slice(b"{\"id\":");
    string(out, &h.id);
    out.extend_from_slice(b",\"article_id\":");
    int(out, h.article_id.0);
    out.extend_from_slice(b",\"slug\":");
    string(out, &h.slug);
    out.extend_from_slice(b",\"locale\":");
    string(out, h.locale.as_str());
    out.extend_from_slice(b",\"title\":");
    string(out, &h.title);
    out.extend_from_slice(b",\"type\":");
    string(out, &h.article_type);
    out.extend_from_slice(b",\"score\":");
    float(out, h.score);
    out.extend_from_slice(b",\"highlights\":[");
    for (i, s) in h.highlights.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, s);
    }
    out.extend_from_slice(b"],\"category\":");
    match &h.category {
        Some(c) => string(out, c),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"audience\":");
    string(out, h.audience.as_str());
    out.extend_from_slice(b",\"expired\":");
    boolean(out, h.expired);
    out.extend_from_slice(b",\"not_yet_effective\":");
    boolean(out, h.not_yet_effective);
    out.push(b'}');
}

fn facet_counts(out: &mut Vec<u8>, counts: &[FacetCount]) {
    out.push(b'[');
    for (i, c) in counts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"value\":");
        string(out, &c.value);
        out.extend_from_slice(b",\"count\":");
        int(out, c.count);
        out.push(b'}');
    }
    out.push(b']');
}

fn int(out: &mut Vec<u8>, n: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// As `serde_json` writes an `f32` (with the same `zmij`): shortest round-trip digits,
/// `null` when not finite.
fn float(out: &mut Vec<u8>, x: f32) {
    if x.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(x).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

/// Whether JSON needs this byte escaped: quote, backslash, control characters.
#[inline(always)]
fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// A JSON string, escaped as `serde_json` escapes it.
fn string(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    crate::util::escape_runs(s, needs_escape, |run, special| {
        out.extend_from_slice(run.as_bytes());
        if let Some(b) = special {
            escape(out, b);
        }
    });
    out.push(b'"');
}

fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0C => out.extend_from_slice(b"\\f"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xF)],
        ]),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    use super::*;
    use crate::domain::{ArticleId, Audience, Locale};
    use crate::search::{Facets, SearchResponse};

    fn text(rng: &mut StdRng) -> String {
        const PIECES: &[&str] = &[
            "宽带",
            "<mark>",
            "</mark>",
            "\"",
            "\\",
            "\n",
            "\r",
            "\t",
            "\u{8}",
            "\u{c}",
            "\u{0}",
            "\u{1f}",
            "\u{7f}",
            "/",
            "a",
            "Z",
            "😀",
            "é",
            " ",
            "&amp;",
            "\u{2028}",
            "0123456789",
        ];
        let n = rng.gen_range(0..80);
        (0..n).map(|_| *PIECES.choose(rng).unwrap()).collect()
    }

    fn counts(rng: &mut StdRng) -> Vec<FacetCount> {
        (0..rng.gen_range(0..5))
            .map(|_| FacetCount {
                value: Arc::from(text(rng).as_str()),
                count: rng.r#gen(),
            })
            .collect()
    }

    fn result(rng: &mut StdRng) -> SearchResult {
        let floats = [
            0.0,
            -0.0,
            1.0,
            16.030527,
            1e-7,
            3.4e38,
            f32::NAN,
            f32::INFINITY,
        ];
        let hits = (0..rng.gen_range(0..12))
            .map(|_| Hit {
                id: text(rng),
                article_id: ArticleId(rng.r#gen()),
                slug: text(rng),
                locale: Locale::try_from(["zh-CN", "en", "zh-TW"].choose(rng).unwrap().to_string())
                    .unwrap(),
                title: text(rng),
                article_type: text(rng),
                score: if rng.gen_bool(0.5) {
                    rng.r#gen::<f32>() * 100.0
                } else {
                    *floats.choose(rng).unwrap()
                },
                highlights: (0..rng.gen_range(0..4)).map(|_| text(rng)).collect(),
                category: rng.gen_bool(0.5).then(|| text(rng)),
                audience: if rng.gen_bool(0.5) {
                    Audience::Public
                } else {
                    Audience::Internal
                },
                expired: rng.r#gen(),
                not_yet_effective: rng.r#gen(),
            })
            .collect();
        SearchResult {
            search_id: rng.r#gen(),
            response: SearchResponse {
                total: rng.r#gen(),
                hits,
                facets: Facets {
                    article_type: counts(rng),
                    category: counts(rng),
                    tags: counts(rng),
                    locale: counts(rng),
                },
            },
        }
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2_000 {
            let r = result(&mut rng);
            let mut ours = Vec::new();
            write_result(&mut ours, &r);
            let theirs = serde_json::to_vec(&r).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
        }
    }

    #[test]
    fn long_runs_and_escapes_at_block_edges() {
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100] {
            for at in [0, 1, 30, 31, 32, 33, 64] {
                let mut s = "x".repeat(len);
                if at < len {
                    s.replace_range(at..at + 1, "\"");
                }
                let mut ours = Vec::new();
                string(&mut ours, &s);
                assert_eq!(ours, serde_json::to_vec(&s).unwrap(), "len {len} at {at}");
            }
        }
    }
}
