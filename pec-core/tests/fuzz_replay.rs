//! The fuzz corpus replayed on stable, through the fuzz targets' own entry functions
//! (`fuzz/src/lib.rs`, included here as a module), so CI catches a regression without
//! cargo-fuzz or nightly:
//!
//! - the generated seeds of [`pec_testkit::fuzz_seeds`] (issue 12's hostile shapes: wrapped
//!   and relabelled envelopes, `From:` shapes, duplicated signed attributes, eContent with a
//!   detached part, a double-`@` SAN, CRLs with issuingDistributionPoint, without nextUpdate,
//!   with invalidityDate), each checked to reach the finding it was made for;
//! - the repository's vectors (`tests/vectors`), crashes kept from fuzzing
//!   (`tests/vectors/fuzz/<target>/`) and the real samples when present.
#![allow(clippy::unwrap_used)] // tests may unwrap

#[path = "../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod targets;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pec_core::smime::{Reason, RevocationStatus, SignedScope, Verdict, VerificationReport};
use pec_testkit::fuzz_seeds::{self, Seed};

fn seeds() -> &'static HashMap<(String, String), Vec<u8>> {
    static SEEDS: OnceLock<HashMap<(String, String), Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        fuzz_seeds::generate()
            .unwrap()
            .into_iter()
            .map(|Seed { target, name, data }| ((target.to_string(), name), data))
            .collect()
    })
}

fn seed(target: &str, name: &str) -> &'static [u8] {
    seeds()
        .get(&(target.to_string(), name.to_string()))
        .unwrap_or_else(|| panic!("no {target} seed {name}"))
}

fn names(target: &str) -> Vec<String> {
    let mut v: Vec<String> =
        seeds().keys().filter(|(t, _)| t == target).map(|(_, n)| n.clone()).collect();
    v.sort();
    v
}

#[test]
fn the_generator_and_the_targets_agree_on_the_format() {
    assert_eq!(fuzz_seeds::WORLD_MARKER, targets::MARKER);
    assert_eq!(fuzz_seeds::CMS_CONTENT, targets::CMS_CONTENT);
    let data = targets::join(b"body", &[b"a", b"", b"c"]);
    assert_eq!(data, fuzz_seeds::join(b"body", &[b"a", b"", b"c"]));
    let (body, sections) = targets::split(&data);
    assert_eq!((body, sections), (&b"body"[..], vec![&b"a"[..], &b""[..], &b"c"[..]]));
    assert_eq!(targets::split(b"no world"), (&b"no world"[..], vec![]));
    // a truncated marker is part of the body
    assert_eq!(targets::split(&targets::MARKER[..5]).1.len(), 0);
}

// ---------------------------------------------------------------------------------------
// message

/// `verify_message` within the seed's world, checked against `verify_parsed`.
fn message_report(name: &str) -> VerificationReport {
    let out = targets::message(seed("message", name));
    assert!(out.parsed, "{name}: does not parse");
    let fast = out.in_world.unwrap_or_else(|| panic!("{name}: no world"));
    let slow = out.in_world_parsed.unwrap();
    assert_eq!(
        (fast.verdict, &fast.reasons, fast.signed_scope),
        (slow.verdict, &slow.reasons, slow.signed_scope),
        "{name}: verify_message and verify_parsed disagree"
    );
    fast
}

#[test]
fn message_seeds_reach_their_findings() {
    // the verdict, and reasons the report must hold (none at all for `valid`)
    let expect: &[(&str, Verdict, &[Reason])] = &[
        ("envelope.eml", Verdict::Valid, &[]),
        ("other-envelope.eml", Verdict::Valid, &[]),
        ("acceptance.eml", Verdict::Valid, &[]),
        ("delivery.eml", Verdict::Valid, &[]),
        ("wrapped-envelope.eml", Verdict::Indeterminate, &[Reason::PartiallySigned]),
        ("signed-three-parts.eml", Verdict::Invalid, &[Reason::MalformedSignature]),
        ("wrapped-signed-three-parts.eml", Verdict::Invalid, &[Reason::MalformedSignature]),
        ("relabelled-x-ricevuta.eml", Verdict::Invalid, &[Reason::HeaderMismatch]),
        ("relabelled-x-trasporto.eml", Verdict::Invalid, &[Reason::HeaderMismatch]),
        ("from-missing.eml", Verdict::Invalid, &[Reason::FromDomainMismatch]),
        ("from-comment.eml", Verdict::Invalid, &[Reason::FromDomainMismatch]),
        ("from-group.eml", Verdict::Invalid, &[Reason::FromDomainMismatch]),
        ("from-two-mailboxes.eml", Verdict::Invalid, &[Reason::FromDomainMismatch]),
        ("from-two-fields.eml", Verdict::Invalid, &[Reason::FromDomainMismatch]),
        ("from-no-at.eml", Verdict::Invalid, &[Reason::FromDomainMismatch]),
        ("from-folded-quoted.eml", Verdict::Invalid, &[Reason::FromDomainMismatch]),
        ("daticert-on-behalf.eml", Verdict::Invalid, &[Reason::DaticertMismatch]),
        ("daticert-foreign-delivery.eml", Verdict::Invalid, &[Reason::DaticertMismatch]),
        ("double-at-san.eml", Verdict::Invalid, &[Reason::UntrustedChain]),
        ("revoked-signer.eml", Verdict::Invalid, &[Reason::Revoked]),
    ];
    for (name, verdict, reasons) in expect {
        let r = message_report(name);
        assert_eq!(r.verdict, *verdict, "{name}: {:?}", r.reasons);
        if reasons.is_empty() {
            assert_eq!(r.reasons, vec![], "{name}");
        }
        for reason in *reasons {
            assert!(r.reasons.contains(reason), "{name}: {reason} not in {:?}", r.reasons);
        }
    }
    assert_eq!(message_report("wrapped-envelope.eml").signed_scope, Some(SignedScope::Inner));
    assert_eq!(message_report("envelope.eml").signed_scope, Some(SignedScope::Whole));
    // the rest (e.g. an obsolete route in From:) only has to run
    for name in names("message") {
        message_report(&name);
    }
}

// ---------------------------------------------------------------------------------------
// cms

fn cms_report(name: &str) -> (VerificationReport, VerificationReport) {
    let out = targets::cms(seed("cms", name));
    (out.detached.unwrap(), out.attached.unwrap())
}

#[test]
fn cms_seeds_reach_their_findings() {
    let malformed = [
        "content-type-missing.der",
        "content-type-twice.der",
        "content-type-two-values.der",
        "signing-time-two-values.der",
        "signing-time-twice.der",
        "message-digest-twice.der",
        "message-digest-two-values.der",
        "econtent-and-detached.der",
        "econtent-other-and-detached.der",
    ];
    for name in malformed {
        let (r, _) = cms_report(name);
        assert_eq!(r.reasons, vec![Reason::MalformedSignature], "{name}");
    }
    for name in ["sign-detached.der", "hand-baseline.der"] {
        let (r, _) = cms_report(name);
        assert_eq!((r.verdict, &r.reasons), (Verdict::Valid, &vec![]), "{name}");
    }
    // attached, the eContent is what is signed
    let (_, attached) = cms_report("econtent-other-and-detached.der");
    assert_eq!(attached.verdict, Verdict::Valid, "{:?}", attached.reasons);
    let (r, _) = cms_report("md5-digest.der");
    assert!(r.reasons.contains(&Reason::BadSignature), "{:?}", r.reasons);
    let (r, _) = cms_report("signing-time-future.der");
    assert!(r.reasons.contains(&Reason::SigningTimeInFuture), "{:?}", r.reasons);
    let (r, _) = cms_report("double-at-san.der");
    assert!(r.reasons.contains(&Reason::UntrustedChain), "{:?}", r.reasons);
    for name in names("cms") {
        cms_report(&name);
    }
}

// ---------------------------------------------------------------------------------------
// crl

use RevocationStatus::{Good, Revoked, Unknown};

/// Revocation per certificate (in the partition part-a, without distribution points, in
/// part-a and part-b), instant (2025-03-01, 2026-01-01; entries are dated 2025-06-01) and
/// source (given, signingTime claim).
fn crl_statuses(name: &str) -> Vec<RevocationStatus> {
    let out = targets::crl(seed("crl", name));
    assert_eq!(out.len(), 12, "{name}");
    out.iter().map(|o| o.revocation).collect()
}

/// The same status for one certificate at both instants and sources.
fn same(s: RevocationStatus) -> [RevocationStatus; 4] {
    [s; 4]
}

/// A keyCompromise (or reasonless) entry dated between the two instants: good at the first
/// as a given time, revoked as a claim and at the second.
const COMPROMISED: [RevocationStatus; 4] = [Good, Revoked, Revoked, Revoked];

#[test]
fn crl_seeds_reach_their_findings() {
    let cases: &[(&str, [[RevocationStatus; 4]; 3])] = &[
        ("empty.crl", [same(Good), same(Good), same(Good)]),
        ("revoked-key-compromise.crl", [COMPROMISED; 3]),
        ("revoked-no-reason.crl", [COMPROMISED; 3]),
        ("revoked-superseded.crl", [[Good, Good, Revoked, Revoked]; 3]),
        ("revoked-invalidity-date.crl", [same(Revoked); 3]),
        ("no-next-update.crl", [same(Unknown); 3]),
        ("no-next-update-empty.crl", [same(Unknown); 3]),
        ("stale.crl", [same(Unknown); 3]),
        ("idp-part-a.crl", [COMPROMISED, same(Unknown), COMPROMISED]),
        ("idp-other-partition.crl", [same(Unknown), same(Unknown), COMPROMISED]),
        (
            "idp-only-some-reasons.crl",
            [
                [Unknown, Revoked, Revoked, Revoked],
                same(Unknown),
                [Unknown, Revoked, Revoked, Revoked],
            ],
        ),
        ("idp-only-some-reasons-empty.crl", [same(Unknown); 3]),
        ("idp-indirect.crl", [same(Unknown); 3]),
        ("idp-only-ca-certs.crl", [same(Unknown); 3]),
        ("idp-only-user-certs.crl", [same(Good), same(Unknown), same(Good)]),
        ("idp-only-attribute-certs.crl", [same(Unknown); 3]),
    ];
    for (name, expect) in cases {
        assert_eq!(crl_statuses(name), expect.concat(), "{name}");
    }
    let pem = targets::crl(seed("crl", "pem.crl"));
    assert_eq!(pem.len(), 4);
    assert!(pem.iter().all(|o| o.revocation == Revoked));
    for name in names("crl") {
        targets::crl(seed("crl", &name));
    }
    // without its issuer or certificates a CRL is only loaded
    let (body, _) = targets::split(seed("crl", "empty.crl"));
    assert!(targets::crl(body).is_empty());
}

// ---------------------------------------------------------------------------------------
// files: the repository's vectors, kept crashes, real samples

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn run(target: &str, data: &[u8]) {
    match target {
        "message" => drop(targets::message(data)),
        "cms" => drop(targets::cms(data)),
        "crl" => drop(targets::crl(data)),
        "daticert" => drop(targets::daticert(data)),
        "ldif" => drop(targets::ldif(data)),
        "provider_file" => drop(targets::provider_file(data)),
        other => panic!("tests/vectors/fuzz/{other}: no such target"),
    }
}

#[test]
fn repository_vectors_and_kept_crashes_replay() {
    let root = pec_testkit::repo_root().join("tests/vectors");
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut n = 0;
    for p in &all {
        let data = std::fs::read(p).unwrap();
        let rel = p.strip_prefix(&root).unwrap();
        let mut comps = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
        if comps.next().as_deref() == Some("fuzz") {
            // tests/vectors/fuzz/<target>/<crash>
            let target = comps.next().unwrap();
            run(&target, &data);
            n += 1;
            continue;
        }
        match p.extension().and_then(|e| e.to_str()) {
            Some("eml") => run("message", &data),
            Some("xml") => run("daticert", &data),
            Some("ldif") => run("ldif", &data),
            Some("toml") => run("provider_file", &data),
            _ => continue,
        }
        n += 1;
    }
    assert!(n >= 10, "only {n} vectors under {}", root.display());
}

#[test]
fn real_samples_replay() {
    let Some(dir) = pec_testkit::interop_dir() else { return };
    let mut all = Vec::new();
    files(&dir, &mut all);
    for p in all {
        let data = std::fs::read(&p).unwrap();
        run("message", &data);
        if p.extension().is_some_and(|e| e == "xml") {
            run("daticert", &data);
        }
    }
}
