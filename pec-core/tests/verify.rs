//! Message-level verification on the repository's test PKI (tests/pki/make-pki.sh) and on
//! the real Aruba receipts: every case gives the right verdict and reason.

use std::path::Path;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use pec_core::build::BuildRequest;
use pec_core::chain::TrustStore;
use pec_core::index::{Directory, ProviderRecord};
use pec_core::model::{MessageKind, ReceiptKind};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::revocation::CrlStore;
use pec_core::signer::SoftwareSigner;
use pec_core::smime::{Reason, RevocationStatus, Verdict, VerifyOptions, VerifyTime};
use pec_core::verify_message;

use pec_testkit::require_path;

fn pki() -> Option<&'static Path> {
    pec_testkit::openssl_pki()
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const ORIGINAL: &[u8] = b"From: mario.rossi@pec.example.it\r\nTo: ufficio@pec.other.it\r\nSubject: prova\r\nMessage-ID: <v1@client.example.it>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTesto.\r\n";

/// A transport envelope signed with the certificate `name` of the test PKI.
fn envelope_signed_by(dir: &Path, name: &str) -> Vec<u8> {
    let signer = SoftwareSigner::from_pem(
        &read(dir, &format!("{name}.key")),
        &read(dir, &format!("{name}.pem")),
        &read(dir, "chain.pem"),
    )
    .unwrap();
    let p = Provider::new(
        "Example PEC S.p.A.",
        "pec.example.it",
        RecipientPolicy::CertifiedDomains(vec!["pec.example.it".into(), "pec.other.it".into()]),
    )
    .unwrap();
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(ORIGINAL);
    p.build(&req, Some(&signer)).unwrap()
}

fn options(dir: &Path, crls: bool, time: VerifyTime) -> VerifyOptions {
    let mut trust = TrustStore::new();
    trust.add_pem_bundle(&read(dir, "root.pem")).unwrap();
    let crls = crls.then(|| {
        let mut c = CrlStore::new();
        c.add(&read(dir, "crls.pem")).unwrap();
        Arc::new(c)
    });
    VerifyOptions { trust: Arc::new(trust), crls, index: None, time, now: None }
}

fn reasons_of(msg: &[u8], opts: &VerifyOptions) -> (Verdict, Vec<Reason>, RevocationStatus) {
    let r = verify_message(msg, opts).unwrap();
    (r.verdict, r.reasons, r.revocation)
}

#[test]
fn verdicts_on_the_test_pki() {
    let Some(dir) = pki() else { return };
    let now = options(dir, true, VerifyTime::Now);
    let cases: &[(&str, Verdict, &[Reason])] = &[
        ("provider", Verdict::Valid, &[]),
        ("provider2", Verdict::Valid, &[]),
        ("expired", Verdict::Invalid, &[Reason::Expired]),
        ("revoked", Verdict::Invalid, &[Reason::Revoked]),
        ("other-root", Verdict::Invalid, &[Reason::UntrustedChain]),
        ("nc-violation", Verdict::Invalid, &[Reason::UntrustedChain]),
    ];
    for (name, verdict, reasons) in cases {
        let msg = envelope_signed_by(dir, name);
        let (v, r, _) = reasons_of(&msg, &now);
        assert_eq!(v, *verdict, "{name}: {r:?}");
        for reason in *reasons {
            assert!(r.contains(reason), "{name}: expected {reason} in {r:?}");
        }
        if reasons.is_empty() {
            assert!(r.is_empty(), "{name}: {r:?}");
        }
    }
    // the expired certificate was valid in 2015: judged at that instant, the path is fine
    // (revocation is judged with today's CRL, which does not cover 2015)
    let msg = envelope_signed_by(dir, "expired");
    let at =
        options(dir, false, VerifyTime::At(Utc.with_ymd_and_hms(2015, 6, 1, 0, 0, 0).unwrap()));
    let (v, r, rev) = reasons_of(&msg, &at);
    assert_eq!((v, rev), (Verdict::Valid, RevocationStatus::NotChecked), "{r:?}");
    // without CRLs: valid, revocation not checked; with an expired CRL: indeterminate
    let msg = envelope_signed_by(dir, "provider");
    let (v, _, rev) = reasons_of(&msg, &options(dir, false, VerifyTime::Now));
    assert_eq!((v, rev), (Verdict::Valid, RevocationStatus::NotChecked));
    let mut stale = options(dir, false, VerifyTime::Now);
    let mut c = CrlStore::new();
    c.add(&read(dir, "pec-ca-expired.crl.pem")).unwrap();
    c.add(&read(dir, "root.crl.pem")).unwrap();
    stale.crls = Some(Arc::new(c));
    let (v, r, rev) = reasons_of(&msg, &stale);
    assert_eq!((v, rev), (Verdict::Indeterminate, RevocationStatus::Unknown), "{r:?}");
    assert_eq!(r, vec![Reason::RevocationUnknown]);
}

#[test]
fn tampering_is_detected() {
    let Some(dir) = pki() else { return };
    let opts = options(dir, true, VerifyTime::Now);
    let good = envelope_signed_by(dir, "provider");
    let text = String::from_utf8(good.clone()).unwrap();
    // a tampered body (inside postacert.eml)
    let bad = text.replacen("Testo.", "Testa.", 1);
    let (v, r, _) = reasons_of(bad.as_bytes(), &opts);
    assert_eq!(v, Verdict::Invalid);
    assert!(r.contains(&Reason::ContentMismatch), "{r:?}");
    // a tampered daticert (base64 changed, still well-formed base64)
    let pos = text.find("filename=\"daticert.xml\"").unwrap();
    let body = pos + text[pos..].find("\r\n\r\n").unwrap() + 4;
    let mut bad = good.clone();
    bad[body + 10] = if bad[body + 10] == b'A' { b'B' } else { b'A' };
    let (v, r, _) = reasons_of(&bad, &opts);
    assert_eq!(v, Verdict::Invalid);
    assert!(r.contains(&Reason::ContentMismatch), "{r:?}");
    // a signature lifted from another message
    let other = envelope_signed_by(dir, "provider2");
    // the base64 body of smime.p7s
    let sig_of = |m: &str| {
        let at = m.rfind("filename=\"smime.p7s\"").unwrap();
        let start = at + m[at..].find("\r\n\r\n").unwrap() + 4;
        let end = start + m[start..].find("\r\n--").unwrap();
        m[start..end].to_string()
    };
    let other = String::from_utf8(other).unwrap();
    let lifted = text.replace(&sig_of(&text), &sig_of(&other));
    let (v, r, _) = reasons_of(lifted.as_bytes(), &opts);
    assert_eq!(v, Verdict::Invalid);
    assert!(r.contains(&Reason::ContentMismatch), "{r:?}");
    // a garbled signature
    let sig_start = text.rfind("filename=\"smime.p7s\"").unwrap();
    let b64 = sig_start + text[sig_start..].find("\r\n\r\n").unwrap() + 4;
    let mut garbled = good.clone();
    for b in garbled.iter_mut().skip(b64 + 20).take(40) {
        if b.is_ascii_alphanumeric() {
            *b = b'x';
        }
    }
    let (v, r, _) = reasons_of(&garbled, &opts);
    assert_eq!(v, Verdict::Invalid);
    assert!(r.contains(&Reason::MalformedSignature) || r.contains(&Reason::BadSignature), "{r:?}");
    // not signed at all
    let (v, r, _) = reasons_of(ORIGINAL, &opts);
    assert_eq!((v, r), (Verdict::Invalid, vec![Reason::NoSignature]));
}

#[test]
fn index_as_trust_list() {
    let Some(dir) = pki() else { return };
    let cert = pec_core::chain::parse_certificates(&read(dir, "provider.pem")).unwrap().remove(0);
    let record = |domains: &[&str], der: &[u8]| ProviderRecord {
        dn: "providerName=Example PEC S.p.A.,o=postacert".into(),
        name: "Example PEC S.p.A.".into(),
        cert_hashes: vec![pec_core::crypto::sha1_hex(der)],
        certificates: vec![der.to_vec()],
        mail_receipt: "ricevute@pec.example.it".into(),
        managed_domains: domains.iter().map(|d| d.to_string()).collect(),
        ..ProviderRecord::default()
    };
    let msg = envelope_signed_by(dir, "provider");
    let mut opts = options(dir, true, VerifyTime::Now);
    // in the index, managing the From: domain
    opts.index =
        Some(Arc::new(Directory::from_records(vec![record(&["pec.example.it"], &cert)]).unwrap()));
    let r = verify_message(&msg, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert_eq!(r.provider.as_ref().unwrap().mail_receipt, "ricevute@pec.example.it");
    // in the index, but not managing the From: domain: impersonation
    opts.index =
        Some(Arc::new(Directory::from_records(vec![record(&["pec.other.it"], &cert)]).unwrap()));
    let r = verify_message(&msg, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.reasons.contains(&Reason::FromDomainMismatch), "{:?}", r.reasons);
    // not in the index
    let other = pec_core::chain::parse_certificates(&read(dir, "provider2.pem")).unwrap().remove(0);
    opts.index =
        Some(Arc::new(Directory::from_records(vec![record(&["pec.example.it"], &other)]).unwrap()));
    let r = verify_message(&msg, &opts).unwrap();
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.reasons.contains(&Reason::NotInIndex), "{:?}", r.reasons);
}

use pec_testkit::interop_read as interop;

#[test]
fn real_aruba_receipts_valid_at_signing_time_expired_now() {
    let certs = Path::new("/etc/ssl/certs");
    if !require_path(certs) {
        return;
    }
    let mut trust = TrustStore::new();
    trust.add_dir(certs).unwrap();
    let trust = Arc::new(trust);
    for name in [
        "OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt",
        "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt",
    ] {
        let Some(msg) = interop(name) else { return };
        let at_signing = VerifyOptions {
            trust: trust.clone(),
            time: VerifyTime::SigningTime,
            ..VerifyOptions::default()
        };
        let r = verify_message(&msg, &at_signing).unwrap();
        assert_eq!(r.verdict, Verdict::Valid, "{name}: {:?}", r.reasons);
        assert!(r.weak_digest, "{name}: SHA-1 is flagged weak");
        assert_eq!(r.digest.map(|d| d.name()), Some("sha1"));
        assert!(r.signer.as_ref().unwrap().subject.contains("ARUBA"), "{name}");
        let now = VerifyOptions { trust: trust.clone(), ..VerifyOptions::default() };
        let r = verify_message(&msg, &now).unwrap();
        assert_eq!(r.verdict, Verdict::Invalid, "{name}");
        assert!(r.reasons.contains(&Reason::Expired), "{name}: {:?}", r.reasons);
    }
    // the edited SDI envelopes (bodies changed by the test authors) are content-mismatch
    let Some(msg) = interop("OCA-l10n-italy/POSTA_CERTIFICATA__Invio_File_7339338.txt") else {
        return;
    };
    let opts = VerifyOptions { trust, time: VerifyTime::SigningTime, ..VerifyOptions::default() };
    let r = verify_message(&msg, &opts).unwrap();
    assert!(r.reasons.contains(&Reason::ContentMismatch), "{:?}", r.reasons);
    let _ = ReceiptKind::Delivery;
}
