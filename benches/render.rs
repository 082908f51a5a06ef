//! Render throughput (issue 4): a generated corpus of short articles (~600 bytes of
//! Markdown, zh and en; `omnikb::render::corpus`) parsed and rendered for all five
//! channels, every format.
//!
//!     cargo bench --bench render                    # criterion, 100 articles, one thread
//!     cargo run --release -- bench-render --articles 10000   # whole process, every core

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use omnikb::render::SiteSettings;
use omnikb::render::corpus::{generate, render_range};
use omnikb::schema::SchemaSet;

/// The allocator the `omnikb` binary uses (src/main.rs), so the bench measures the same.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn bench(cr: &mut Criterion) {
    let schemas = SchemaSet::bundled().unwrap();
    let site = SiteSettings::default();
    let registry = omnikb::render::default_registry();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap();
    let c = generate(100);
    let mut group = cr.benchmark_group("render");
    group.throughput(criterion::Throughput::Elements(100));
    group.bench_function("100 articles x 5 channels (parse + 11 outputs each)", |b| {
        b.iter(|| render_range(&c, 0..100, &schemas, &site, &registry, now).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
