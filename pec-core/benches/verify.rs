//! The two halves of `verify_message`, benched apart so a regression shows which one moved
//! (`cargo bench -p pec-core --bench verify [-- FILTER]`), on the envelopes of
//! `pec_testkit::workload` (10 KiB and 1 MiB originals):
//!
//! - `verify-path-*`: the signature layer alone, `smime::verify_detached` over the signed
//!   bytes and the DER signature already located (CMS decode, digest, RSA, path, CRLs, index);
//!   no MIME parse;
//! - `parse-path-*`: the parse half alone, what `verify_message` reads before verifying:
//!   `SignedMessage::parse` (the two halves of `multipart/signed`, the signature's base64),
//!   then the signed content's MIME tree and its `daticert.xml`;
//! - `verify-message-*`: both, `verify_message` itself;
//! - `verify-floor-*`: what no verification can skip, one SHA-256 over the signed bytes and
//!   one RSA verification (`pec_testkit::workload::Floor`): `verify-message` minus this is
//!   everything pec adds to the cryptography.
#![allow(clippy::unwrap_used)] // benches may unwrap
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pec_core::daticert::Daticert;
use pec_core::limits::Limits;
use pec_core::message::SignedMessage;
use pec_core::mime::Entity;
use pec_core::smime::{Verdict, verify_detached};
use pec_core::verify_message;
use pec_testkit::workload::{Floor, Workloads};

/// The parse half of `verify_message`: locate the signed parts, then read the signed
/// daticert (the first part named `daticert.xml`, as the envelopes built here name it).
fn parse_half(raw: &[u8], limits: &Limits) -> Option<Daticert> {
    let msg = SignedMessage::parse(raw, limits).unwrap();
    let signed = msg.signed.as_ref()?;
    black_box(&signed.signature);
    let root = Entity::parse(signed.content, limits).unwrap();
    let part = root.walk().into_iter().find(|e| e.filename_str() == Some("daticert.xml"))?;
    Daticert::parse(&part.decoded_body().unwrap()).ok()
}

fn benches(c: &mut Criterion) {
    let w = Workloads::new().unwrap();
    let limits = Limits::default();
    for (label, env) in [("10k", &w.envelope_10k), ("1m", &w.envelope_1m)] {
        let msg = SignedMessage::parse(env, &limits).unwrap();
        let signed = msg.signed.clone().unwrap();
        // what is benched must be what verifies
        let r = verify_detached(signed.content, &signed.signature, None, &w.opts);
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
        assert!(parse_half(env, &limits).is_some());

        let mut g = c.benchmark_group(label);
        g.throughput(Throughput::Bytes(env.len() as u64));
        if env.len() > 100_000 {
            g.sample_size(20);
        }
        g.bench_function(format!("verify-path-{label}"), |b| {
            b.iter(|| {
                let r = verify_detached(
                    black_box(signed.content),
                    black_box(&signed.signature),
                    None,
                    &w.opts,
                );
                black_box(r.verdict)
            })
        });
        g.bench_function(format!("parse-path-{label}"), |b| {
            b.iter(|| black_box(parse_half(black_box(env), &limits)))
        });
        g.bench_function(format!("verify-message-{label}"), |b| {
            b.iter(|| black_box(verify_message(black_box(env), &w.opts).unwrap().verdict))
        });
        let floor = Floor::of(env).unwrap();
        g.bench_function(format!("verify-floor-{label}"), |b| b.iter(|| floor.once().unwrap()));
        g.finish();
    }
}

criterion_group!(verify, benches);
criterion_main!(verify);
