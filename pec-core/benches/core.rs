//! Criterion benches of the hot paths, for development (the same workloads as `pec bench`):
//! `cargo bench -p pec-core --bench core [-- FILTER]`.
#![allow(clippy::unwrap_used)] // benches may unwrap
#![allow(missing_docs)] // criterion_group! generates undocumented items

use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pec_core::PecMessage;
use pec_core::build::{BuildRequest, TimeReference};
use pec_core::chain::TrustStore;
use pec_core::index::{ProviderDirectory, ProviderRecord};
use pec_core::model::MessageKind;
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::revocation::CrlStore;
use pec_core::signer::SoftwareSigner;
use pec_core::smime::{VerifyOptions, VerifyTime};
use pec_core::testpki::{ProviderSpec, TestPki};

fn original(size: usize) -> Vec<u8> {
    let head = "From: Mario Rossi <mario.rossi@pec.example.it>\r\n\
        To: protocollo@pec.other.it\r\nSubject: bench\r\n\
        Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMessage-ID: <bench@client.example.it>\r\n\
        MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
        --b\r\nContent-Type: text/plain\r\n\r\nallegato\r\n\
        --b\r\nContent-Type: application/octet-stream; name=\"a.bin\"\r\n\
        Content-Transfer-Encoding: base64\r\n\r\n";
    let tail = "--b--\r\n";
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    let mut out = head.as_bytes().to_vec();
    while out.len() + line.len() + tail.len() <= size {
        out.extend_from_slice(line);
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

struct Index(Vec<Arc<ProviderRecord>>);

impl ProviderDirectory for Index {
    fn by_domain(&self, d: &str) -> Option<Arc<ProviderRecord>> {
        self.0.iter().find(|r| r.manages(d)).cloned()
    }
    fn by_cert_hash(&self, h: &str) -> Option<Arc<ProviderRecord>> {
        self.0.iter().find(|r| r.cert_hashes.iter().any(|x| x.eq_ignore_ascii_case(h))).cloned()
    }
    fn by_name(&self, n: &str) -> Option<Arc<ProviderRecord>> {
        self.0.iter().find(|r| r.name.eq_ignore_ascii_case(n)).cloned()
    }
}

fn benches(c: &mut Criterion) {
    let now = Utc::now();
    let pki = TestPki::generate(
        &[ProviderSpec { name: "Example PEC S.p.A.", domain: "pec.example.it" }],
        now - Duration::days(1),
        now + Duration::days(30),
    )
    .unwrap();
    let leaf = &pki.providers[0];
    let signer = SoftwareSigner::from_der(
        &leaf.key_pkcs8,
        leaf.cert_der.clone(),
        vec![pki.ca.cert_der.clone()],
    )
    .unwrap();
    let provider = Provider::new(
        "Example PEC S.p.A.",
        "pec.example.it",
        RecipientPolicy::CertifiedDomains(vec!["pec.example.it".into(), "pec.other.it".into()]),
    )
    .unwrap();
    let time = TimeReference::now();
    let mut trust = TrustStore::new();
    trust.add_der(&pki.root.cert_der).unwrap();
    let mut crls = CrlStore::new();
    crls.add(&pki.crl_der).unwrap();
    crls.add(&pki.root_crl_der).unwrap();
    let record = ProviderRecord {
        name: "Example PEC S.p.A.".into(),
        cert_hashes: vec![pec_core::crypto::sha1_hex(&leaf.cert_der)],
        certificates: vec![leaf.cert_der.clone()],
        managed_domains: vec!["pec.example.it".into()],
        ..ProviderRecord::default()
    };
    let opts = VerifyOptions {
        trust: Arc::new(trust),
        crls: Some(Arc::new(crls)),
        index: Some(Arc::new(Index(vec![Arc::new(record)]))),
        time: VerifyTime::SigningTime,
        now: None,
    };
    let sign = |orig: &[u8]| {
        let req = BuildRequest {
            kind: MessageKind::TRANSPORT_ENVELOPE,
            time: Some(time),
            original: Some(orig),
            ..BuildRequest::default()
        };
        provider.build(&req, Some(&signer)).unwrap()
    };
    for (label, size) in [("10k", 10 * 1024), ("1m", 1024 * 1024)] {
        let orig = original(size);
        let env = sign(&orig);
        let mut g = c.benchmark_group(label);
        g.throughput(Throughput::Bytes(orig.len() as u64));
        if size > 100_000 {
            g.sample_size(20);
        }
        g.bench_function(format!("sign-envelope-{label}"), |b| b.iter(|| black_box(sign(&orig))));
        g.bench_function(format!("verify-envelope-{label}"), |b| {
            b.iter(|| black_box(pec_core::verify_message(&env, &opts).unwrap()))
        });
        g.bench_function(format!("parse-{label}"), |b| {
            b.iter(|| black_box(PecMessage::parse(&env).unwrap().kind))
        });
        g.finish();
    }
    // `index-lookup` (20 000 domains) joins when `pec_core::index::Directory` lands on main.
}

criterion_group!(core, benches);
criterion_main!(core);
