//! Criterion benches of the hot paths, for development: the workloads of `pec bench`
//! (`pec_testkit::workload`), `cargo bench -p pec-core --bench core [-- FILTER]`.
#![allow(clippy::unwrap_used)] // benches may unwrap
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pec_core::PecMessage;
use pec_core::index::ProviderDirectory as _;
use pec_testkit::workload::{Workloads, lookup_index};

fn benches(c: &mut Criterion) {
    let w = Workloads::new().unwrap();
    for (label, orig, env) in
        [("10k", &w.original_10k, &w.envelope_10k), ("1m", &w.original_1m, &w.envelope_1m)]
    {
        let mut g = c.benchmark_group(label);
        g.throughput(Throughput::Bytes(orig.len() as u64));
        if orig.len() > 100_000 {
            g.sample_size(20);
        }
        for workload in [format!("sign-envelope-{label}"), format!("verify-envelope-{label}")] {
            g.bench_function(&workload, |b| b.iter(|| w.step(black_box(&workload)).unwrap()));
        }
        g.bench_function(format!("parse-{label}"), |b| {
            b.iter(|| black_box(PecMessage::parse(env).unwrap().kind))
        });
        g.finish();
    }
    let (dir, queries) = lookup_index().unwrap();
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(queries.len() as u64));
    g.bench_function("index-lookup", |b| {
        b.iter(|| queries.iter().filter(|q| dir.by_domain(black_box(q)).is_some()).count())
    });
    g.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
