//! Providers index benchmark: load time of a generated index of 200 providers and 20 000
//! managed domains, and domain look-ups per second (goals: load < 100 ms, > 5 million
//! look-ups per second per core).
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::hint::black_box;
use std::path::Path;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pec_core::index::{Directory, ProviderDirectory};

/// 200 providers with 100 domains each. Every provider carries a distinct certificate:
/// a vector certificate with the last two bytes of its signature value changed (still valid
/// DER, distinct SHA-1).
fn generated_index() -> (Vec<u8>, Vec<String>) {
    let base = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/index/certs/alfa1.der"),
    )
    .unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut s =
        String::from("version: 1\n\ndn: o=postacert\nobjectclass: organization\no: postacert\n\n");
    let mut domains = Vec::new();
    for p in 0..200u32 {
        let mut cert = base.clone();
        // the last bytes are the signature value: changing them keeps the DER valid
        let n = cert.len();
        cert[n - 1] = (p & 0xff) as u8;
        cert[n - 2] = (p >> 8) as u8;
        let hash = pec_core::crypto::sha1_hex(&cert);
        s.push_str(&format!(
            "dn: providerName=Provider {p},o=postacert\nobjectclass: top\nobjectclass: provider\n\
             providerName: Provider {p}\nproviderCertificateHash: {hash}\n"
        ));
        let line = format!("providerCertificate;binary:: {}", b64.encode(&cert));
        for (i, chunk) in line.as_bytes().chunks(76).enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(std::str::from_utf8(chunk).unwrap_or(""));
            s.push('\n');
        }
        s.push_str(&format!("mailReceipt: ricevute@pec{p}.example\n"));
        for d in 0..100u32 {
            let domain = format!("cliente{d}.pec{p}.example");
            s.push_str(&format!("managedDomains: {domain}\n"));
            domains.push(domain);
        }
        s.push('\n');
    }
    (s.into_bytes(), domains)
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
