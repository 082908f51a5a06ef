//! The stored part of a hit (what a result shows and highlights), cached per document.
//!
//! Reading a hit from tantivy's document store decodes every stored field of it, the body
//! included, on every search; agents' searches keep returning the same popular articles.
//! Segments are immutable, so an entry keyed by (segment, document) never goes stale; the
//! entries of merged-away segments are dropped after each commit, and the whole cache is
//! emptied when it would outgrow its byte budget (the idea of Solr's document cache).

use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tantivy::index::SegmentId;
use tantivy::schema::{Field, Value};
use tantivy::{DocAddress, DocId, Searcher, TantivyDocument};

/// Bytes of text the cache may hold (about 5,000 FAQ-sized articles).
const BUDGET_BYTES: usize = 16 << 20;

/// The stored fields of one indexed article, as a hit needs them.
#[derive(Debug, Default)]
pub(crate) struct StoredDoc {
    pub id: i64,
    pub effective_from: i64,
    pub expires_at: i64,
    pub slug: String,
    pub locale: String,
    pub article_type: String,
    pub category: String,
    pub audience: String,
    pub title: String,
    pub summary: String,
    pub body: String,
    /// [`needs_width_folding`](super::highlight::needs_width_folding) of title, summary
    /// and body, worked out once.
    pub needs_folding: [bool; 3],
}

impl StoredDoc {
    fn bytes(&self) -> usize {
        64 + self.slug.len()
            + self.locale.len()
            + self.article_type.len()
            + self.category.len()
            + self.audience.len()
            + self.title.len()
            + self.summary.len()
            + self.body.len()
    }
}

/// The fields a [`StoredDoc`] is read from.
#[derive(Clone, Copy)]
pub(crate) struct StoredFields {
    pub id: Field,
    pub effective_from: Field,
    pub expires_at: Field,
    pub slug: Field,
    pub locale: Field,
    pub article_type: Field,
    pub category: Field,
    pub audience: Field,
    pub title: Field,
    pub summary: Field,
    pub body: Field,
}

#[derive(Default)]
pub(crate) struct StoredCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    map: FxHashMap<(SegmentId, DocId), Arc<StoredDoc>>,
    bytes: usize,
}

impl StoredCache {
    /// The stored fields of the document at `addr`, from the cache or the document store.
    pub(crate) fn get(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        f: StoredFields,
    ) -> tantivy::Result<Arc<StoredDoc>> {
        let segment = searcher.segment_reader(addr.segment_ord).segment_id();
        let key = (segment, addr.doc_id);
        if let Some(d) = self.inner.lock().map.get(&key) {
            return Ok(d.clone());
        }
        let doc: TantivyDocument = searcher.doc(addr)?;
        let s = |field: Field| -> String {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let i = |field: Field, default: i64| -> i64 {
            doc.get_first(field)
                .and_then(|v| v.as_i64())
                .unwrap_or(default)
        };
        let (title, summary, body) = (s(f.title), s(f.summary), s(f.body));
        let fold = super::highlight::needs_width_folding;
        let stored = Arc::new(StoredDoc {
            id: i(f.id, 0),
            effective_from: i(f.effective_from, i64::MIN),
            expires_at: i(f.expires_at, i64::MAX),
            slug: s(f.slug),
            locale: s(f.locale),
            article_type: s(f.article_type),
            category: s(f.category),
            audience: s(f.audience),
            needs_folding: [fold(&title), fold(&summary), fold(&body)],
            title,
            summary,
            body,
        });
        let size = stored.bytes();
        let mut inner = self.inner.lock();
        if inner.bytes + size > BUDGET_BYTES {
            inner.map.clear();
            inner.bytes = 0;
        }
        if let Some(old) = inner.map.insert(key, stored.clone()) {
            inner.bytes -= old.bytes();
        }
        inner.bytes += size;
        Ok(stored)
    }

    /// Forgets the documents of segments that are no longer searchable.
    pub(crate) fn retain_segments(&self, live: &[SegmentId]) {
        let mut inner = self.inner.lock();
        let mut freed = 0;
        inner.map.retain(|(segment, _), d| {
            let keep = live.contains(segment);
            if !keep {
                freed += d.bytes();
            }
            keep
        });
        inner.bytes -= freed;
    }
}
