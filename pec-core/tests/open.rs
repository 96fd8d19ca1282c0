//! The front-door services of `pec_core::open`: trust anchors from PEM or DER files and from
//! directories, CRLs from PEM or DER files, index signers from files, and the trust options
//! every door takes, checked by verifying a signed message with them.
#![allow(clippy::unwrap_used)] // tests may unwrap

use pec_core::build::BuildRequest;
use pec_core::chain::TrustStore;
use pec_core::index::IndexSigners;
use pec_core::model::MessageKind;
use pec_core::open::{
    TrustSources, add_anchor_file, add_anchors, add_crl_file, index_signers, open_index_file,
};
use pec_core::revocation::CrlStore;
use pec_core::smime::{RevocationStatus, Verdict, VerifyTime};
use pec_core::{Code, Error, verify_message};
use pec_testkit::{TempDir, TwoProviders, pem};

const ORIGINAL: &[u8] = b"From: mario.rossi@pec.example.it\r\nTo: ufficio@pec.other.it\r\nSubject: prova\r\nMessage-ID: <o1@client.example.it>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nTesto.\r\n";

fn scenario() -> TwoProviders {
    TwoProviders::generate(30).unwrap()
}

/// A transport envelope signed by provider 0.
fn envelope(s: &TwoProviders) -> Vec<u8> {
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(ORIGINAL);
    s.provider(0).unwrap().build(&req, Some(&s.signer(0).unwrap())).unwrap()
}

#[test]
fn anchors_are_read_from_pem_and_from_der_alike() {
    let s = scenario();
    let root = &s.pki.root.cert_der;
    let mut from_der = TrustStore::new();
    assert_eq!(add_anchors(&mut from_der, root).unwrap(), 1);
    let mut from_pem = TrustStore::new();
    assert_eq!(add_anchors(&mut from_pem, pem("CERTIFICATE", root).as_bytes()).unwrap(), 1);
    assert!(from_der.contains(root) && from_pem.contains(root));
    // a bundle: both certificates, and a certificate already present is not counted again
    let bundle = pem("CERTIFICATE", root) + &pem("CERTIFICATE", &s.pki.ca.cert_der);
    assert_eq!(add_anchors(&mut from_pem, bundle.as_bytes()).unwrap(), 1);
    assert_eq!(from_pem.len(), 2);
    // text around the blocks (even text that starts like DER, with `0`) is not a DER file
    let mut commented = TrustStore::new();
    let text = format!("0 = the root\n{}", pem("CERTIFICATE", root));
    assert_eq!(add_anchors(&mut commented, text.as_bytes()).unwrap(), 1);
}

#[test]
fn a_file_without_a_certificate_is_an_error_and_adds_nothing() {
    let s = scenario();
    let mut store = TrustStore::new();
    for bad in [&b""[..], b"not a certificate\n", b"\x30\x03\x02\x01"] {
        let e = add_anchors(&mut store, bad).unwrap_err();
        assert_eq!(e.code(), Code::BadCertificate, "{bad:?}: {e}");
    }
    // a bundle whose second block is not a certificate: nothing of it is added
    let mixed = pem("CERTIFICATE", &s.pki.root.cert_der) + &pem("X509 CRL", &s.pki.crl_der);
    assert_eq!(add_anchors(&mut store, mixed.as_bytes()).unwrap_err().code(), Code::BadCertificate);
    assert!(store.is_empty());
}

#[test]
fn files_and_directories_of_anchors_and_crls_are_opened() {
    let s = scenario();
    let tmp = TempDir::new("open-files");
    let root_der = tmp.path("root.der");
    std::fs::write(&root_der, &s.pki.root.cert_der).unwrap();
    let dir = tmp.path("anchors");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), pem("CERTIFICATE", &s.pki.ca.cert_der)).unwrap();
    std::fs::write(dir.join("notes.txt"), "skipped").unwrap();
    let crl_der = tmp.path("ca.crl");
    std::fs::write(&crl_der, &s.pki.crl_der).unwrap();
    let crl_pem = tmp.path("root-crl.pem");
    std::fs::write(&crl_pem, pem("X509 CRL", &s.pki.root_crl_der)).unwrap();

    let mut store = TrustStore::new();
    assert_eq!(add_anchor_file(&mut store, &root_der).unwrap(), 1);
    let mut crls = CrlStore::new();
    assert_eq!(add_crl_file(&mut crls, &crl_der).unwrap(), 1);
    assert_eq!(add_crl_file(&mut crls, &crl_pem).unwrap(), 1);

    let sources = TrustSources {
        ca_files: vec![root_der.clone()],
        ca_paths: vec![dir.clone()],
        crl_files: vec![crl_der.clone(), crl_pem.clone()],
        fetch_crls: false,
    };
    let trust = sources.trust_store().unwrap();
    assert_eq!(trust.len(), 2);
    assert_eq!(sources.crl_store().unwrap().unwrap().len(), 2);

    // the options verify a signed message: valid, revocation checked with the CRLs
    let mut opts = sources.verify_options().unwrap();
    assert_eq!(opts.time, VerifyTime::Now);
    assert!(opts.index.is_none());
    let report = verify_message(&envelope(&s), &opts).unwrap();
    assert_eq!(report.verdict, Verdict::Valid, "{:?}", report.reasons);
    assert_eq!(report.revocation, RevocationStatus::Good);
    // without CRL files and without fetching: no CRL store, revocation not checked
    opts = TrustSources { crl_files: Vec::new(), ..sources }.verify_options().unwrap();
    assert!(opts.crls.is_none());
    let report = verify_message(&envelope(&s), &opts).unwrap();
    assert_eq!(report.revocation, RevocationStatus::NotChecked);
}

#[test]
fn a_missing_file_or_directory_is_an_io_error_naming_it() {
    let tmp = TempDir::new("open-missing");
    let missing = tmp.path("nope.pem");
    for sources in [
        TrustSources { ca_files: vec![missing.clone()], ..TrustSources::new() },
        TrustSources { ca_paths: vec![missing.clone()], ..TrustSources::new() },
        TrustSources { crl_files: vec![missing.clone()], ..TrustSources::new() },
    ] {
        let e = sources.verify_options().unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        assert!(e.to_string().contains("nope.pem"), "{e}");
    }
    let e = index_signers(&[&missing]).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
}

#[test]
fn a_crl_file_that_holds_no_crl_is_refused() {
    let s = scenario();
    let tmp = TempDir::new("open-badcrl");
    let f = tmp.path("root.pem");
    std::fs::write(&f, pem("CERTIFICATE", &s.pki.root.cert_der)).unwrap();
    let e = TrustSources { crl_files: vec![f], ..TrustSources::new() }.crl_store().unwrap_err();
    assert_eq!(e.code(), Code::BadCrl, "{e}");
}

#[test]
fn fetching_crls_gives_a_store_with_a_fetcher() {
    let sources = TrustSources { fetch_crls: true, ..TrustSources::new() };
    if cfg!(feature = "crl-http") {
        let crls = sources.crl_store().unwrap().unwrap();
        assert!(crls.has_fetcher() && crls.is_empty());
    } else {
        assert_eq!(sources.crl_store().unwrap_err().code(), Code::InvalidParameter);
    }
    assert!(TrustSources::new().crl_store().unwrap().is_none());
}

#[test]
fn index_signers_and_the_index_are_opened_from_files() {
    let s = scenario();
    let tmp = TempDir::new("open-index");
    let a = tmp.path("a.pem");
    std::fs::write(&a, pem("CERTIFICATE", &s.pki.providers[0].cert_der)).unwrap();
    let b = tmp.path("b.der");
    std::fs::write(&b, &s.pki.providers[1].cert_der).unwrap();
    let signers = index_signers(&[&a, &b]).unwrap();
    assert_eq!(signers.len(), 2);
    assert!(signers.contains(&s.pki.providers[1].cert_der));

    let ldif = tmp.path("index.ldif");
    std::fs::write(&ldif, s.ldif()).unwrap();
    let opts = TrustSources::new().verify_options().unwrap();
    let dir = open_index_file(&ldif, &IndexSigners::new(), &opts).unwrap();
    assert_eq!(dir.len(), 2);
}
