//! Small helpers with no better home.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// How many bytes from the start of `bytes` are not `special`: the run a text scanner can
/// copy whole (HTML and JSON escaping, the highlighter's capital check). Whole 32-byte
/// blocks are checked with a counting test, which the compiler vectorizes (an early-exit
/// search stays a byte-at-a-time loop), then the block that has one is searched.
#[inline(always)]
pub fn clean_prefix(bytes: &[u8], special: impl Fn(u8) -> bool) -> usize {
    let (blocks, _) = bytes.as_chunks::<32>();
    let mut at = 0;
    for block in blocks {
        if block.iter().filter(|&&b| special(b)).count() > 0 {
            break;
        }
        at += 32;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| special(b))
        .unwrap_or(bytes.len() - at)
}

/// Walks `s` as runs without `special` bytes, each handed to `emit` whole with the special
/// byte that ends it (`None` after the last run): the loop of HTML and JSON escaping.
/// `special` must match ASCII bytes only, so that every run ends on a character boundary.
#[inline(always)]
pub fn escape_runs(s: &str, special: impl Fn(u8) -> bool, mut emit: impl FnMut(&str, Option<u8>)) {
    let bytes = s.as_bytes();
    let mut at = 0;
    loop {
        let run = clean_prefix(&bytes[at..], &special);
        let end = bytes.get(at + run).copied();
        emit(s.get(at..at + run).unwrap_or_default(), end);
        if end.is_none() {
            return;
        }
        at += run + 1;
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Now, truncated to microseconds: the precision both databases keep, so a value read
/// back equals the value written (the audit chain hashes times).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::{SubsecRound, Utc};
    Utc::now().trunc_subsecs(6)
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
