//! `pec bench [--json] [--seconds N] [--threads N] [--only NAME]...`: in-process throughput
//! of the hot paths, on the embedded test PKI (no files, no network).
//!
//! Workloads (operations per second):
//! - `sign-envelope-10k`, `sign-envelope-1m`: build a transport envelope around a 10 KiB /
//!   1 MiB original with [`Provider::build`] and sign it with a [`SoftwareSigner`];
//! - `verify-envelope-10k`, `verify-envelope-1m`: full [`verify_message`] of such an envelope
//!   (digest, RSA signature, chain to the test root, CRL from the store, providers index);
//! - `parse-10k`: [`PecMessage::parse`] (which classifies) of the 10 KiB envelope;
//! - `index-lookup`: a domain look-up in a 20 000-domain providers index.
//!
//! With `--threads N` every workload runs on N threads at once and the aggregate rate is
//! reported (the scaling goal compares `--threads 2` with `--threads 1`).
//!
//! Text output: one line per workload. `--json`: one object mapping each workload name to
//! operations per second (a number). A benchmark envelope that does not verify as `valid` is
//! reported on standard error. Exit 0, or 2 when the setup or a workload fails.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, Utc};
use pec_core::build::{BuildRequest, TimeReference};
use pec_core::chain::TrustStore;
use pec_core::index::{Directory, ProviderDirectory, ProviderRecord};
use pec_core::model::MessageKind;
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::revocation::CrlStore;
use pec_core::signer::SoftwareSigner;
use pec_core::smime::{Verdict, VerifyOptions, VerifyTime};
use pec_core::testpki::{ProviderSpec, TestPki};
use pec_core::{Error, PecMessage, verify_message};

/// Arguments of `pec bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object mapping each workload to operations per second.
    #[arg(long)]
    json: bool,
    /// Seconds per workload.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Threads running each workload at once (aggregate rate reported).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Run only these workloads (repeatable; default all).
    #[arg(long)]
    only: Vec<String>,
    /// Also write the benchmark's signed envelopes, trust anchor (PEM) and CRLs (DER) to this
    /// directory (fuzz seeds, profiling `pec verify`), then run as usual.
    #[arg(long = "write-fixtures", hide = true)]
    write_fixtures: Option<std::path::PathBuf>,
}

/// The workload names, in output order.
pub const WORKLOADS: [&str; 6] = [
    "sign-envelope-10k",
    "sign-envelope-1m",
    "verify-envelope-10k",
    "verify-envelope-1m",
    "parse-10k",
    "index-lookup",
];

/// Runs `pec bench`.
pub fn run(a: &Args) -> ExitCode {
    match bench(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::output::print_error(&e, a.json);
            ExitCode::from(2)
        }
    }
}

const SENDER_DOMAIN: &str = "pec.example.it";
const OTHER_DOMAIN: &str = "pec.other.it";

/// Everything the workloads share, built once.
struct Fixture {
    provider: Provider,
    signer: SoftwareSigner,
    time: TimeReference,
    original_10k: Vec<u8>,
    original_1m: Vec<u8>,
    envelope_10k: Vec<u8>,
    envelope_1m: Vec<u8>,
    opts: VerifyOptions,
    /// Trust anchor (PEM) and CRLs (DER), for `--write-fixtures`.
    files: Vec<(&'static str, Vec<u8>)>,
}

/// A user's message of about `size` bytes: a short text and a base64 attachment.
pub fn original_of_size(size: usize) -> Vec<u8> {
    let head = format!(
        "From: Mario Rossi <mario.rossi@{SENDER_DOMAIN}>\r\n\
         To: Ufficio Protocollo <protocollo@{OTHER_DOMAIN}>\r\n\
         Subject: Richiesta documenti - pratica n. 42\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n\
         Message-ID: <bench-{size}@client.example.it>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"bench-boundary\"\r\n\
         \r\n\
         --bench-boundary\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Buongiorno, invio in allegato la documentazione.\r\n\
         --bench-boundary\r\n\
         Content-Type: application/octet-stream; name=\"allegato.bin\"\r\n\
         Content-Disposition: attachment; filename=\"allegato.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n"
    );
    let tail = "--bench-boundary--\r\n";
    let budget = size.saturating_sub(head.len() + tail.len());
    // 76 base64 characters + CRLF per line = 57 bytes of payload
    let lines = budget / 78;
    let payload: Vec<u8> =
        (0..lines * 57).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let b64 = base64(&payload);
    let mut out = Vec::with_capacity(size + 128);
    out.extend_from_slice(head.as_bytes());
    for chunk in b64.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    while out.len() + tail.len() < size {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

/// Standard base64 with padding (no dependency for a benchmark payload).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn record(name: &str, domain: &str, der: &[u8]) -> ProviderRecord {
    ProviderRecord {
        dn: format!("providerName={name},o=postacert"),
        name: name.to_string(),
        cert_hashes: vec![pec_core::crypto::sha1_hex(der)],
        certificates: vec![der.to_vec()],
        mail_receipt: format!("ricevute@{domain}"),
        managed_domains: vec![domain.to_string()],
        ..ProviderRecord::default()
    }
}

fn fixture() -> Result<Fixture, Error> {
    let now = Utc::now();
    let pki = TestPki::generate(
        &[
            ProviderSpec { name: "Example PEC S.p.A.", domain: SENDER_DOMAIN },
            ProviderSpec { name: "Other PEC S.r.l.", domain: OTHER_DOMAIN },
        ],
        now - ChronoDuration::days(1),
        now + ChronoDuration::days(365),
    )?;
    let leaf = pki
        .providers
        .first()
        .ok_or_else(|| Error::InvalidArgument("test PKI without providers".into()))?;
    let signer = SoftwareSigner::from_der(
        &leaf.key_pkcs8,
        leaf.cert_der.clone(),
        vec![pki.ca.cert_der.clone()],
    )?;
    let provider = Provider::new(
        "Example PEC S.p.A.",
        SENDER_DOMAIN,
        RecipientPolicy::CertifiedDomains(vec![SENDER_DOMAIN.into(), OTHER_DOMAIN.into()]),
    )?;
    let time = TimeReference::now();
    let original_10k = original_of_size(10 * 1024);
    let original_1m = original_of_size(1024 * 1024);
    let mut trust = TrustStore::new();
    trust.add_der(&pki.root.cert_der)?;
    let mut crls = CrlStore::new();
    crls.add(&pki.crl_der)?;
    crls.add(&pki.root_crl_der)?;
    let mut records = vec![record("Example PEC S.p.A.", SENDER_DOMAIN, &leaf.cert_der)];
    if let Some(other) = pki.providers.get(1) {
        records.push(record("Other PEC S.r.l.", OTHER_DOMAIN, &other.cert_der));
    }
    let opts = VerifyOptions {
        trust: Arc::new(trust),
        crls: Some(Arc::new(crls)),
        index: Some(Arc::new(Directory::from_records(records)?)),
        time: VerifyTime::SigningTime,
        now: None,
    };
    let mut f = Fixture {
        provider,
        signer,
        time,
        original_10k,
        original_1m,
        envelope_10k: Vec::new(),
        envelope_1m: Vec::new(),
        opts,
        files: vec![
            ("root.pem", pki.root.cert_pem().into_bytes()),
            ("ca.crl", pki.crl_der.clone()),
            ("root.crl", pki.root_crl_der.clone()),
        ],
    };
    f.envelope_10k = sign_envelope(&f, &f.original_10k)?;
    f.envelope_1m = sign_envelope(&f, &f.original_1m)?;
    Ok(f)
}

fn sign_envelope(f: &Fixture, original: &[u8]) -> Result<Vec<u8>, Error> {
    let req = BuildRequest {
        kind: MessageKind::TRANSPORT_ENVELOPE,
        time: Some(f.time),
        original: Some(original),
        ..BuildRequest::default()
    };
    f.provider.build(&req, Some(&f.signer))
}

/// One workload iteration; returns an error on the first failure (a benchmark of a failing
/// path measures nothing).
fn step(f: &Fixture, name: &str) -> Result<(), Error> {
    match name {
        "sign-envelope-10k" => sign_envelope(f, &f.original_10k).map(drop),
        "sign-envelope-1m" => sign_envelope(f, &f.original_1m).map(drop),
        "verify-envelope-10k" => verify_once(f, &f.envelope_10k),
        "verify-envelope-1m" => verify_once(f, &f.envelope_1m),
        "parse-10k" => {
            let m = PecMessage::parse(&f.envelope_10k)?;
            if m.kind.is_none() {
                return Err(Error::InvalidArgument("the envelope was not classified".into()));
            }
            Ok(())
        }
        other => Err(Error::InvalidArgument(format!("unknown workload {other:?}"))),
    }
}

fn verify_once(f: &Fixture, env: &[u8]) -> Result<(), Error> {
    let r = verify_message(env, &f.opts)?;
    std::hint::black_box(&r);
    Ok(())
}

/// Runs `work` on `threads` threads for `seconds`; returns the aggregate operations per
/// second.
fn measure<W>(threads: usize, seconds: f64, work: W) -> Result<f64, Error>
where
    W: Fn(u64) -> Result<(), Error> + Sync,
{
    let budget = Duration::from_secs_f64(seconds.max(0.01));
    // one warm-up iteration per thread outside the clock
    work(0)?;
    let start = Instant::now();
    let counts: Vec<Result<u64, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let t0 = Instant::now();
                    let mut n = 0u64;
                    loop {
                        work(n)?;
                        n += 1;
                        if t0.elapsed() >= budget {
                            return Ok(n);
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Err(Error::InvalidArgument("worker panicked".into())))
            })
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut total = 0u64;
    for c in counts {
        total += c?;
    }
    Ok(total as f64 / elapsed.max(1e-9))
}

/// Domains in the `index-lookup` workload's index.
const INDEX_DOMAINS: usize = 20_000;
/// Providers holding them (100 domains each).
const INDEX_PROVIDERS: usize = 200;

/// A providers index of [`INDEX_DOMAINS`] domains, and the domains queried: every managed
/// domain once, shuffled, plus one miss in eight.
fn lookup_index() -> Result<(Directory, Vec<String>), Error> {
    let per = INDEX_DOMAINS / INDEX_PROVIDERS;
    let records: Vec<ProviderRecord> = (0..INDEX_PROVIDERS)
        .map(|p| ProviderRecord {
            dn: format!("providerName=Gestore {p},o=postacert"),
            name: format!("Gestore {p}"),
            cert_hashes: vec![format!("{:040x}", p + 1)],
            mail_receipt: format!("ricevute@pec.gestore{p}.it"),
            managed_domains: (0..per).map(|d| format!("pec.ente{d}.gestore{p}.it")).collect(),
            ..ProviderRecord::default()
        })
        .collect();
    let dir = Directory::from_records(records)?;
    let mut queries: Vec<String> = (0..INDEX_DOMAINS)
        .map(|i| {
            let (p, d) = (i % INDEX_PROVIDERS, i / INDEX_PROVIDERS);
            if i % 8 == 7 {
                format!("pec.ente{d}.altro{p}.it")
            } else {
                format!("pec.ente{d}.gestore{p}.it")
            }
        })
        .collect();
    // deterministic shuffle (xorshift), so consecutive look-ups hit unrelated buckets
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..queries.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        queries.swap(i, (x % (i as u64 + 1)) as usize);
    }
    Ok((dir, queries))
}

/// The 20 000-domain index look-up: one `by_domain` per operation.
fn index_lookup(threads: usize, seconds: f64) -> Result<f64, Error> {
    let (dir, queries) = lookup_index()?;
    let expected_hits = queries.iter().filter(|q| !q.contains(".altro")).count();
    let hits = queries.iter().filter(|q| dir.by_domain(q).is_some()).count();
    if hits != expected_hits {
        return Err(Error::InvalidArgument(format!(
            "index-lookup: {hits} hits, expected {expected_hits}"
        )));
    }
    let n = queries.len() as u64;
    measure(threads, seconds, |i| {
        let q = queries.get((i % n) as usize).map(String::as_str).unwrap_or_default();
        std::hint::black_box(dir.by_domain(std::hint::black_box(q)));
        Ok(())
    })
}

fn bench(a: &Args) -> Result<(), Error> {
    for w in &a.only {
        if !WORKLOADS.contains(&w.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "unknown workload {w:?} (known: {})",
                WORKLOADS.join(", ")
            )));
        }
    }
    let selected: Vec<&str> = WORKLOADS
        .iter()
        .copied()
        .filter(|w| a.only.is_empty() || a.only.iter().any(|o| o == w))
        .collect();
    let needs_fixture = selected.iter().any(|w| *w != "index-lookup");
    let fixture = if needs_fixture { Some(fixture()?) } else { None };
    if let (Some(f), Some(dir)) = (&fixture, &a.write_fixtures) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), &e))?;
        let envelopes =
            [("envelope-10k.eml", &f.envelope_10k), ("envelope-1m.eml", &f.envelope_1m)];
        for (name, bytes) in envelopes.into_iter().chain(f.files.iter().map(|(n, b)| (*n, b))) {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io(path.display(), &e))?;
        }
    }
    if let Some(f) = &fixture {
        // a benchmark of a failing verification measures nothing: say so
        for env in [&f.envelope_10k, &f.envelope_1m] {
            let r = verify_message(env, &f.opts)?;
            if r.verdict != Verdict::Valid {
                let reasons: Vec<&str> = r.reasons.iter().map(|x| x.as_str()).collect();
                eprintln!(
                    "pec bench: note: the benchmark envelope verifies as {} {reasons:?}",
                    r.verdict
                );
            }
        }
    }
    let mut results = serde_json::Map::new();
    for w in selected {
        let rate = match &fixture {
            Some(f) if w != "index-lookup" => measure(a.threads, a.seconds, |_| step(f, w))?,
            _ => index_lookup(a.threads, a.seconds)?,
        };
        if !a.json {
            println!("{w:<22} {rate:>12.1} ops/s");
        }
        results.insert(
            w.to_string(),
            serde_json::Number::from_f64(rate)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
        );
    }
    if a.json {
        println!("{}", serde_json::Value::Object(results));
    }
    Ok(())
}
