//! The fuzz targets' entry functions, one per target, shared by the cargo-fuzz binaries
//! (`fuzz_targets/*.rs`, nightly, libFuzzer) and by the replay test on stable
//! (`pec-core/tests/fuzz_replay.rs` includes this file as a module), so the seed corpus runs
//! through exactly the same code in CI without cargo-fuzz.
//!
//! Depends on `pec-core` and std only. Every function takes arbitrary bytes and must not panic;
//! what it returns is for the replay test, which checks that the seeds reach the code they were
//! made for (the fuzz binaries ignore it).
//!
//! # Inputs that carry their own world
//!
//! Verification without trust anchors or an index stops early (`untrusted-chain`, no binding
//! of `From:` to the signer). So an input may carry the world it is verified in, after the
//! bytes under test: `body [MARKER section]...`, where [`MARKER`] is `"\0pec-fuzz-world\0"`.
//! Inputs are self-contained, so a crash reproduces from its artifact alone.
//!
//! - `message` and `cms`: sections are trust anchors (PEM or DER), the providers index (LDIF)
//!   and CRLs (PEM or DER), in that order, each optional; the body is verified once without
//!   and once within that world (at the signing time).
//! - `crl`: the body is a CRL (PEM or DER), the first section the issuer (the trust anchor),
//!   the others the certificates checked against the CRL through the public path validation.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use pec_core::PecMessage;
use pec_core::chain::{PathOutcome, TrustStore, parse_certificates, validate_path_at};
use pec_core::daticert::Daticert;
use pec_core::index::ProviderDirectory;
use pec_core::index::directory::Directory;
use pec_core::index::ldif::parse_ldif;
use pec_core::provider::{Provider, ProviderFile};
use pec_core::revocation::CrlStore;
use pec_core::smime::{
    TimeSource, VerificationReport, VerifyOptions, VerifyTime, verify_attached, verify_detached,
};

/// Separates the body of an input from the sections of its world.
pub const MARKER: &[u8] = b"\0pec-fuzz-world\0";

/// The detached content the `cms` target verifies a signature over (seeds sign exactly this).
pub const CMS_CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nx\r\n";

/// The `From:` domain the `cms` target passes to `verify_detached`.
pub const CMS_FROM_DOMAIN: &str = "pec.example.it";

/// The instants the `crl` target evaluates each certificate at (seed CRLs are dated around
/// them: issued 2025-01-01, next update 2035-01-01, entries revoked 2025-06-01).
pub fn crl_instants() -> [DateTime<Utc>; 2] {
    [
        Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).single().unwrap_or_default(),
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap_or_default(),
    ]
}

/// Sections an input may carry (more are ignored).
const MAX_SECTIONS: usize = 8;
/// Certificates checked per `crl` input.
const MAX_CRL_SUBJECTS: usize = 4;

/// Splits `data` into its body and the sections after it.
pub fn split(data: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() <= MAX_SECTIONS {
        match find(rest, MARKER) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + MARKER.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    let body = parts.remove(0);
    (body, parts)
}

/// Builds an input: `body`, then each section after a [`MARKER`].
pub fn join(body: &[u8], sections: &[&[u8]]) -> Vec<u8> {
    let mut out = body.to_vec();
    for s in sections {
        out.extend_from_slice(MARKER);
        out.extend_from_slice(s);
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(off) = hay.get(from..)?.iter().position(|&b| b == first) {
        let at = from + off;
        if hay.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Verification options from the sections of an input (anchors, index, CRLs); `None` without
/// sections or when the anchors do not load. Certificates are judged at the signing time.
pub fn world(sections: &[&[u8]]) -> Option<VerifyOptions> {
    let anchors = sections.first()?;
    let mut trust = TrustStore::new();
    for der in parse_certificates(anchors).ok()? {
        let _ = trust.add_der(&der);
    }
    if trust.is_empty() {
        return None;
    }
    let index = sections.get(1).and_then(|l| Directory::from_ldif(l).ok());
    let crls = sections.get(2).and_then(|c| {
        let mut store = CrlStore::new();
        store.add(c).ok()?;
        Some(Arc::new(store))
    });
    Some(VerifyOptions {
        trust: Arc::new(trust),
        crls,
        index: index.map(|d| Arc::new(d) as Arc<dyn ProviderDirectory>),
        time: VerifyTime::SigningTime,
        ..VerifyOptions::default()
    })
}

/// What the `message` target saw, for the replay test.
#[derive(Debug, Default)]
pub struct MessageOutcome {
    /// `PecMessage::parse` succeeded.
    pub parsed: bool,
    /// `verify_message` within the input's world, when it carries one.
    pub in_world: Option<VerificationReport>,
    /// `verify_parsed` within the same world (on a message that parsed).
    pub in_world_parsed: Option<VerificationReport>,
}

/// `message`: `PecMessage::parse` (MIME, headers, classification, daticert), the verification
/// fast path `verify_message` and `verify_parsed`, without a world and within the input's.
pub fn message(data: &[u8]) -> MessageOutcome {
    let (body, sections) = split(data);
    let plain = VerifyOptions::default();
    let _ = pec_core::verify_message(body, &plain);
    let parsed = PecMessage::parse(body).ok();
    if let Some(m) = &parsed {
        let _ = m.from_domain();
        let _ = m.header("subject");
        let _ = pec_core::verify::verify_parsed(m, &plain);
    }
    let mut out = MessageOutcome { parsed: parsed.is_some(), ..MessageOutcome::default() };
    if let Some(opts) = world(&sections) {
        out.in_world = pec_core::verify_message(body, &opts).ok();
        out.in_world_parsed = parsed.as_ref().map(|m| pec_core::verify::verify_parsed(m, &opts));
    }
    out
}

/// What the `cms` target saw, for the replay test.
#[derive(Debug, Default)]
pub struct CmsOutcome {
    /// `verify_detached` over [`CMS_CONTENT`] within the input's world, when it carries one.
    pub detached: Option<VerificationReport>,
    /// `verify_attached` within the same world.
    pub attached: Option<VerificationReport>,
}

/// `cms`: CMS SignedData decoding and verification on arbitrary DER/BER, detached over
/// [`CMS_CONTENT`] and attached, without a world and within the input's.
pub fn cms(data: &[u8]) -> CmsOutcome {
    let (body, sections) = split(data);
    let plain = VerifyOptions::default();
    let _ = verify_detached(CMS_CONTENT, body, Some(CMS_FROM_DOMAIN), &plain);
    let _ = verify_attached(body, &plain);
    let mut out = CmsOutcome::default();
    if let Some(opts) = world(&sections) {
        out.detached = Some(verify_detached(CMS_CONTENT, body, Some(CMS_FROM_DOMAIN), &opts));
        out.attached = Some(verify_attached(body, &opts).0);
    }
    out
}

/// `crl`: a CRL loaded into a `CrlStore`, then each certificate of the input validated against
/// the issuer (as trust anchor) with that CRL, at each of [`crl_instants`], as a time given by
/// the caller and as a signingTime claim. Returns the outcomes in that order (certificate,
/// instant, source), empty when the CRL or the issuer does not load.
pub fn crl(data: &[u8]) -> Vec<PathOutcome> {
    let (body, sections) = split(data);
    let mut store = CrlStore::new();
    if store.add(body).is_err() {
        return Vec::new();
    }
    let _ = store.lists_serial(&[1]);
    let _ = format!("{store:?}");
    let Some(issuer) = sections.first() else { return Vec::new() };
    let mut trust = TrustStore::new();
    for der in parse_certificates(issuer).unwrap_or_default() {
        let _ = trust.add_der(&der);
    }
    if trust.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in sections.iter().skip(1).take(MAX_CRL_SUBJECTS) {
        let Ok(certs) = parse_certificates(s) else { continue };
        for leaf in certs.iter().take(1) {
            for at in crl_instants() {
                for source in [TimeSource::Given, TimeSource::SigningTimeClaimed] {
                    out.push(validate_path_at(leaf, &[], &trust, at, source, Some(&store)));
                }
            }
        }
    }
    out
}

/// `daticert`: `Daticert::parse` (daticert.xml), and the writer on whatever was read.
pub fn daticert(data: &[u8]) -> bool {
    match Daticert::parse(data) {
        Ok(d) => {
            let _ = d.to_xml();
            true
        }
        Err(_) => false,
    }
}

/// `ldif`: the LDIF reader of the providers index, the in-memory index, and look-ups in
/// whatever was built. Returns the number of provider records.
pub fn ldif(data: &[u8]) -> usize {
    let _ = parse_ldif(data);
    let Ok(dir) = Directory::from_ldif(data) else { return 0 };
    for r in dir.records().iter().take(4) {
        for d in r.managed_domains.iter().take(4) {
            let _ = dir.by_domain(d);
            let _ = dir.is_certified(&format!("x@{d}"));
        }
        for h in r.cert_hashes.iter().take(2) {
            let _ = dir.by_cert_hash(h);
        }
        let _ = dir.by_name(&r.name);
    }
    dir.records().len()
}

/// `provider_file`: `ProviderFile::parse` (the provider's TOML configuration) and
/// `Provider::from_file`. Returns whether a provider was made.
pub fn provider_file(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else { return false };
    let Ok(f) = ProviderFile::parse(text) else { return false };
    Provider::from_file(&f).is_ok()
}
