//! Providers index benchmark: load time of a generated index of 200 providers and 20 000
//! managed domains, and domain look-ups per second (goals: load < 100 ms, > 5 million
//! look-ups per second per core).
#![allow(clippy::unwrap_used)] // tests may unwrap

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pec_core::index::{Directory, ProviderDirectory};
use std::hint::black_box;

/// The test kit's 20 000-domain index as LDIF: 200 providers with 100 domains each, every
/// provider with a distinct certificate derived from a vector certificate.
fn generated_index() -> (Vec<u8>, Vec<String>) {
    let base = std::fs::read(pec_testkit::repo_root().join("tests/vectors/index/certs/alfa1.der"))
        .unwrap_or_default();
    pec_testkit::workload::index_ldif(&base)
}

fn bench(c: &mut Criterion) {
    let (ldif, domains) = generated_index();
    let dir = Directory::from_ldif(&ldif).expect("generated index loads");
    assert_eq!(dir.len(), 200);
    assert_eq!(dir.domain_count(), 20_000);

    let mut g = c.benchmark_group("index");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(ldif.len() as u64));
    g.bench_function("load 200 providers / 20000 domains", |b| {
        b.iter(|| Directory::from_ldif(black_box(&ldif)).map(|d| d.len()))
    });
    g.finish();

    // mixed look-ups: found (lower and upper case) and not found
    let mut queries: Vec<String> = domains.iter().step_by(7).take(1000).cloned().collect();
    queries.extend(domains.iter().skip(3).step_by(11).take(500).map(|d| d.to_uppercase()));
    queries.extend((0..500).map(|i| format!("esterno{i}.example.com")));
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(queries.len() as u64));
    g.bench_function("by_domain", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for q in &queries {
                found += usize::from(dir.by_domain(black_box(q)).is_some());
            }
            found
        })
    });
    g.bench_function("is_certified", |b| {
        let addrs: Vec<String> = queries.iter().map(|d| format!("mario.rossi@{d}")).collect();
        b.iter(|| addrs.iter().filter(|a| dir.is_certified(black_box(a))).count())
    });
    let hashes: Vec<String> =
        dir.records().iter().map(|r| r.cert_hashes[0].to_uppercase()).collect();
    g.throughput(Throughput::Elements(hashes.len() as u64));
    g.bench_function("by_cert_hash", |b| {
        b.iter(|| hashes.iter().filter(|h| dir.by_cert_hash(black_box(h)).is_some()).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
