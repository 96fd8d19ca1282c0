//! Providers index: LDIF reading, look-ups, refresh, signed index (docs/SPEC.md §8).
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use der::{Decode, Encode};
use pec_core::error::DirectoryError;
use pec_core::index::ldif::{parse_ldif, records_from_ldif};
use pec_core::index::{
    Directory, IndexSigners, IndexSource, IndexVerifier, LdifFileSource, ProviderDirectory,
    RefreshingDirectory, is_signed_index, open_index, open_index_file, unwrap_signed_index,
};
use pec_core::{Error, Result};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/index")
}

fn vector() -> Vec<u8> {
    std::fs::read(vectors().join("providers.ldif")).unwrap()
}

fn cert(name: &str) -> (Vec<u8>, String) {
    let der = std::fs::read(vectors().join(format!("certs/{name}.der"))).unwrap();
    let sha = std::fs::read_to_string(vectors().join(format!("certs/{name}.sha1"))).unwrap();
    (der, sha.trim().to_owned())
}

use pec_testkit::require_tool;

fn entry_error(r: Result<impl std::fmt::Debug>) -> (String, String) {
    match r {
        Err(Error::Directory(DirectoryError::Entry { dn, message })) => (dn, message),
        other => panic!("expected an entry error, got {other:?}"),
    }
}

fn ldif_error_line(r: Result<impl std::fmt::Debug>) -> usize {
    match r {
        Err(Error::Directory(DirectoryError::Ldif { line, .. })) => line,
        other => panic!("expected an LDIF error, got {other:?}"),
    }
}

#[test]
fn vector_parses_into_provider_records() {
    let records = records_from_ldif(&vector()).unwrap();
    let names: Vec<_> = records.iter().map(|r| (r.name.as_str(), r.unit.as_deref())).collect();
    assert_eq!(
        names,
        [
            ("Alfa PEC", None),
            ("Beta Posta Certificata", None),
            ("Beta Posta Certificata", Some("Ambiente Due")),
            ("Gamma PEC", None)
        ]
    );
    let alfa = &records[0];
    assert_eq!(alfa.dn, "providerName=Alfa PEC,o=postacert");
    let (a1, h1) = cert("alfa1");
    let (a2, h2) = cert("alfa2");
    assert_eq!(alfa.certificates, vec![a1, a2]);
    assert_eq!(alfa.cert_hashes, vec![h1, h2]);
    assert_eq!(alfa.mail_receipt, "takecharge@pec.alfa.example");
    assert_eq!(
        alfa.managed_domains,
        ["pec.alfa.example", "pec.cliente-uno.example", "legal.alfa.example"]
    );
    assert_eq!(alfa.ldif_url.as_deref(), Some("https://pec.alfa.example/alfa.ldif.p7m"));
    assert_eq!(alfa.description.as_deref(), Some("Società Alfa S.p.A. — gestore"));
    // dn:: base64
    assert_eq!(records[1].dn, "providerName=Beta Posta Certificata,o=postacert");
    assert_eq!(records[2].ldif_url, None);
    // providerCertificate:: without ;binary
    assert_eq!(records[3].certificates, vec![cert("gamma").0]);
    // every entry, root included, is parsed
    let entries = parse_ldif(&vector()).unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[0].dn, "o=postacert");
    assert!(entries[1].has_object_class("PROVIDER"));
}

#[test]
fn crlf_and_lf_give_the_same_records() {
    let lf = vector();
    let text = String::from_utf8(lf.clone()).unwrap();
    let crlf = text.replace('\n', "\r\n");
    assert_eq!(records_from_ldif(&lf).unwrap(), records_from_ldif(crlf.as_bytes()).unwrap());
    // a final entry without trailing newline
    let trimmed = text.trim_end();
    assert_eq!(records_from_ldif(trimmed.as_bytes()).unwrap().len(), 4);
}

#[test]
fn look_ups() {
    let dir = Directory::from_ldif(&vector()).unwrap();
    assert_eq!(dir.len(), 4);
    assert_eq!(dir.domain_count(), 7);
    let alfa = dir.by_domain("PEC.ALFA.example").unwrap();
    assert_eq!(alfa.name, "Alfa PEC");
    assert!(Arc::ptr_eq(&alfa, &dir.by_domain("pec.cliente-uno.example").unwrap()));
    assert!(dir.by_domain("alfa.example").is_none());
    assert!(dir.by_domain("www.pec.alfa.example").is_none());
    for name in ["alfa1", "alfa2"] {
        let (der, sha) = cert(name);
        assert_eq!(dir.by_cert_hash(&sha).unwrap().name, "Alfa PEC");
        assert_eq!(dir.by_cert_hash(&sha.to_uppercase()).unwrap().name, "Alfa PEC");
        assert_eq!(dir.by_certificate(&der).unwrap().name, "Alfa PEC");
    }
    let (unit_der, _) = cert("betaunit");
    assert_eq!(dir.by_certificate(&unit_der).unwrap().unit.as_deref(), Some("Ambiente Due"));
    let mut other = unit_der.clone();
    let last = other.len() - 1;
    other[last] ^= 1;
    assert!(dir.by_certificate(&other).is_none());
    assert_eq!(dir.by_name("beta posta certificata").unwrap().unit, None);
    assert_eq!(dir.by_name("GAMMA PEC").unwrap().mail_receipt, "takecharge@gamma.example");
    assert!(dir.by_name("Delta").is_none());
    assert!(dir.is_certified("mario.rossi@Beta2-PEC.example"));
    assert!(dir.is_certified("ufficio@pec.gamma.example"));
    assert!(!dir.is_certified("mario.rossi@gmail.com"));
    assert_eq!(dir.records().len(), 4);
}

#[test]
fn directory_is_shared_by_threads() {
    let dir = Arc::new(Directory::from_ldif(&vector()).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let d = Arc::clone(&dir);
            std::thread::spawn(move || (0..1000).all(|_| d.by_domain("gamma.example").is_some()))
        })
        .collect();
    for h in handles {
        assert!(h.join().unwrap());
    }
}

/// Replaces the first occurrence of `from` by `to` in the vector.
fn mutate(from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(vector()).unwrap();
    assert!(text.contains(from), "{from}");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn bad_hash_is_refused_naming_the_entry() {
    // the vector writes this hash in upper case
    let h = cert("gamma").1.to_uppercase();
    let wrong = format!("{}{}", &h[..39], if h.ends_with('0') { '1' } else { '0' });
    let (dn, message) = entry_error(records_from_ldif(&mutate(&h, &wrong)));
    assert_eq!(dn, "providerName=Gamma PEC,o=postacert");
    assert!(message.contains("matches no providerCertificate"), "{message}");
    assert!(message.contains("line"), "{message}");
    // not hex
    let (dn, _) = entry_error(records_from_ldif(&mutate(&h, &"g".repeat(40))));
    assert_eq!(dn, "providerName=Gamma PEC,o=postacert");
}

#[test]
fn missing_must_attributes_are_refused() {
    for (from, what) in [
        ("mailReceipt: takecharge@gamma.example\n", "mailReceipt"),
        ("providerName: Gamma PEC\n", "providerName"),
        ("managedDomains: gamma.example\nmanagedDomains: pec.gamma.example\n", "managedDomains"),
    ] {
        let (dn, message) = entry_error(records_from_ldif(&mutate(from, "")));
        assert_eq!(dn, "providerName=Gamma PEC,o=postacert");
        assert!(message.contains(what), "{message}");
    }
    // a certificate without its hash
    let h = cert("gamma").1.to_uppercase();
    let (_, message) =
        entry_error(records_from_ldif(&mutate(&format!("providerCertificateHash: {h}\n"), "")));
    assert!(message.contains("providerCertificateHash"), "{message}");
    // single-valued twice
    let (_, message) = entry_error(records_from_ldif(&mutate(
        "mailReceipt: takecharge@gamma.example\n",
        "mailReceipt: a@gamma.example\nmailReceipt: b@gamma.example\n",
    )));
    assert!(message.contains("single-valued"), "{message}");
    // not an address
    let (_, message) = entry_error(records_from_ldif(&mutate(
        "mailReceipt: takecharge@gamma.example\n",
        "mailReceipt: <takecharge@gamma.example>\n",
    )));
    assert!(message.contains("mailReceipt"), "{message}");
}

#[test]
fn bad_base64_and_non_certificates_are_refused() {
    let text = String::from_utf8(vector()).unwrap();
    let line = text.lines().position(|l| l.starts_with("providerCertificate:: ")).unwrap() + 1;
    let broken = mutate("providerCertificate:: MII", "providerCertificate:: *II");
    assert_eq!(ldif_error_line(records_from_ldif(&broken)), line);
    // valid base64, not a certificate
    let (dn, message) = entry_error(records_from_ldif(&mutate(
        "providerCertificate:: MII",
        "providerCertificate:: AAAAMII",
    )));
    assert_eq!(dn, "providerName=Gamma PEC,o=postacert");
    assert!(message.contains("not a DER X.509"), "{message}");
}

#[test]
fn one_bad_entry_fails_the_whole_load() {
    let r = Directory::from_ldif(&mutate("managedDomains: beta2-pec.example\n", ""));
    assert!(matches!(r, Err(Error::Directory(DirectoryError::Entry { .. }))));
    // a domain claimed by two providers
    let r = Directory::from_ldif(&mutate(
        "managedDomains: beta2-pec.example",
        "managedDomains: GAMMA.example",
    ));
    let (dn, message) = entry_error(r);
    assert!(dn.contains("Gamma"), "{dn}");
    assert!(message.contains("also managed"), "{message}");
}

#[test]
fn change_records_and_garbage_are_refused() {
    let mut with_change =
        b"version: 1\n\ndn: o=x\nchangetype: modify\nreplace: a\na: b\n-\n".to_vec();
    assert_eq!(ldif_error_line(records_from_ldif(&with_change)), 4);
    with_change.clear();
    assert!(records_from_ldif(&with_change).unwrap().is_empty());
    assert_eq!(ldif_error_line(records_from_ldif(b"\x00\x01\x02")), 1);
    assert_eq!(ldif_error_line(records_from_ldif(b"dn: o=a\nno colon here\n")), 2);
}

struct TempFile(tempfile::TempDir, PathBuf);

fn temp_with(content: &[u8], name: &str) -> TempFile {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    TempFile(dir, path)
}

#[test]
fn refresh_keeps_the_last_good_copy() {
    let t = temp_with(&vector(), "providers.ldif");
    let rd = RefreshingDirectory::new(LdifFileSource::new(&t.1)).unwrap();
    assert!(rd.describe().contains("providers.ldif"));
    assert!(rd.by_domain("gamma.example").is_some());
    assert!(rd.last_error().is_none());
    std::thread::sleep(Duration::from_millis(20));
    assert!(rd.age() >= Duration::from_millis(20));

    // a bad file: the old copy keeps answering, the failure is recorded
    std::fs::write(&t.1, mutate("mailReceipt: takecharge@gamma.example\n", "")).unwrap();
    let err = rd.refresh().unwrap_err();
    assert!(matches!(err, Error::Directory(DirectoryError::Entry { .. })));
    assert_eq!(rd.last_error().unwrap().error, err);
    assert!(rd.by_domain("gamma.example").is_some());
    assert!(rd.is_certified("x@pec.alfa.example"));
    let age_before = rd.age();

    // a missing file
    std::fs::remove_file(&t.1).unwrap();
    assert!(matches!(rd.refresh(), Err(Error::Io { .. })));
    assert!(rd.by_name("Alfa PEC").is_some());
    assert!(rd.age() >= age_before);

    // a good new file replaces the copy and clears the error
    std::fs::write(
        &t.1,
        mutate("managedDomains: gamma.example\n", "managedDomains: gamma2.example\n"),
    )
    .unwrap();
    rd.refresh().unwrap();
    assert!(rd.last_error().is_none());
    assert!(rd.by_domain("gamma.example").is_none());
    assert!(rd.by_domain("gamma2.example").is_some());
    assert!(rd.age() < age_before);
}

#[test]
fn a_first_load_that_fails_is_an_error() {
    let t = temp_with(b"dn: o=x\nbroken\n", "bad.ldif");
    assert!(matches!(
        RefreshingDirectory::new(LdifFileSource::new(&t.1)),
        Err(Error::Directory(_))
    ));
    assert!(matches!(
        RefreshingDirectory::new(LdifFileSource::new(t.0.path().join("missing.ldif"))),
        Err(Error::Io { .. })
    ));
}

#[test]
fn interval_and_max_age_refresh() {
    let t = temp_with(&vector(), "providers.ldif");
    let rd = Arc::new(RefreshingDirectory::new(LdifFileSource::new(&t.1)).unwrap());
    let handle = rd.start_interval(Duration::from_millis(20));
    std::fs::write(
        &t.1,
        mutate("managedDomains: gamma.example\n", "managedDomains: new.example\n"),
    )
    .unwrap();
    let mut seen = false;
    for _ in 0..200 {
        if rd.by_domain("new.example").is_some() {
            seen = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(seen, "background refresh did not pick up the new file");
    // a bad file while the thread runs: look-ups keep answering
    std::fs::write(&t.1, b"garbage").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(rd.by_domain("new.example").is_some());
    assert!(rd.last_error().is_some());
    handle.stop();

    // refresh on look-up when the copy is stale
    std::fs::write(&t.1, vector()).unwrap();
    let rd = RefreshingDirectory::new(LdifFileSource::new(&t.1))
        .unwrap()
        .with_max_age(Duration::from_millis(600));
    std::fs::write(
        &t.1,
        mutate("managedDomains: gamma.example\n", "managedDomains: stale.example\n"),
    )
    .unwrap();
    assert!(rd.by_domain("stale.example").is_none());
    std::thread::sleep(Duration::from_millis(700));
    assert!(rd.by_domain("stale.example").is_some());
}

/// A fake of `crate::smime::verify_attached`: takes the eContent of the SignedData with the
/// cms crate and checks it against the signed `messageDigest` attribute (SHA-256), so a
/// tampered content is refused. (The real verifier also checks the signature and the chain.)
fn fake_verify(der: &[u8]) -> Result<Vec<u8>> {
    let bad = |m: &str| Error::Directory(DirectoryError::BadSignature(m.to_owned()));
    let ci = cms::content_info::ContentInfo::from_der(der).map_err(|e| bad(&e.to_string()))?;
    let sd: cms::signed_data::SignedData =
        ci.content.decode_as().map_err(|e: der::Error| bad(&e.to_string()))?;
    let econtent = sd.encap_content_info.econtent.ok_or_else(|| bad("detached"))?;
    let content = der::asn1::OctetString::from_der(&econtent.to_der().unwrap())
        .map_err(|e| bad(&e.to_string()))?
        .into_bytes();
    let si = sd.signer_infos.0.iter().next().ok_or_else(|| bad("no signer"))?;
    let attrs = si.signed_attrs.as_ref().ok_or_else(|| bad("no signed attributes"))?;
    let md_oid = const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
    let md = attrs.iter().find(|a| a.oid == md_oid).ok_or_else(|| bad("no messageDigest"))?;
    let value = md.values.iter().next().ok_or_else(|| bad("empty messageDigest"))?;
    let digest = der::asn1::OctetString::from_der(&value.to_der().unwrap())
        .map_err(|e| bad(&e.to_string()))?;
    let actual = pec_core::crypto::DigestAlgorithm::Sha256.digest(&content);
    if digest.as_bytes() != actual.as_slice() {
        return Err(bad("content does not match the signed digest"));
    }
    Ok(content.into_vec())
}

/// Signs `content` with a fresh self-signed key using `openssl cms`; returns (DER, PEM).
fn sign_with_openssl(dir: &Path, content: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(dir.join("index.ldif"), content).unwrap();
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Indice PEC test",
    ]);
    for (form, out) in [("DER", "index.ldif.p7m"), ("PEM", "index.ldif.p7m.pem")] {
        run(&[
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-md",
            "sha256",
            "-in",
            "index.ldif",
            "-signer",
            "c.pem",
            "-inkey",
            "k.pem",
            "-outform",
            form,
            "-out",
            out,
        ]);
    }
    (
        std::fs::read(dir.join("index.ldif.p7m")).unwrap(),
        std::fs::read(dir.join("index.ldif.p7m.pem")).unwrap(),
    )
}

#[test]
fn signed_index_valid_and_tampered() {
    if !require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let content = vector();
    let (der, pem) = sign_with_openssl(dir.path(), &content);
    assert_eq!(unwrap_signed_index(&der, &fake_verify).unwrap(), content);
    assert_eq!(unwrap_signed_index(&pem, &fake_verify).unwrap(), content);
    // bare base64 (PEM body without armour)
    let body: String = String::from_utf8(pem.clone())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(unwrap_signed_index(body.as_bytes(), &fake_verify).unwrap(), content);

    // tamper with a managed domain inside the signed content
    let pos = der.windows(13).position(|w| w == b"gamma.example").unwrap();
    let mut tampered = der.clone();
    tampered[pos] = b'G';
    assert!(matches!(
        unwrap_signed_index(&tampered, &fake_verify),
        Err(Error::Directory(DirectoryError::BadSignature(_)))
    ));

    // through the refresh policy: the tampered file is refused, the old copy stays
    let path = dir.path().join("served.p7m");
    std::fs::write(&path, &der).unwrap();
    let verifier: IndexVerifier = Arc::new(fake_verify);
    let source = LdifFileSource::signed(&path, verifier.clone());
    assert!(source.describe().starts_with("signed LDIF"));
    let rd = RefreshingDirectory::new(source).unwrap();
    assert!(rd.by_domain("gamma.example").is_some());
    std::fs::write(&path, &tampered).unwrap();
    let err = rd.refresh().unwrap_err();
    assert_eq!(err.code(), pec_core::Code::IndexSignature);
    assert!(rd.by_domain("gamma.example").is_some());
    assert!(rd.last_error().is_some());
    // an unsigned file where a signed one is expected is refused too
    std::fs::write(&path, &content).unwrap();
    assert!(matches!(rd.refresh(), Err(Error::Directory(DirectoryError::BadSignature(_)))));
    // and a fresh start on a tampered file fails
    std::fs::write(&path, &tampered).unwrap();
    assert!(RefreshingDirectory::new(LdifFileSource::signed(&path, verifier)).is_err());
}

/// Two providers of one PKI, both chaining to the root: either could sign an index.
struct SignedIndexCase {
    pki: pec_testkit::TestPki,
    content: Vec<u8>,
    /// The index signed by provider 0 (DER).
    p7m: Vec<u8>,
    opts: pec_core::smime::VerifyOptions,
}

fn signed_index_case() -> SignedIndexCase {
    use pec_testkit::{ProviderSpec, TestPki};
    let now = chrono::Utc::now();
    let pki = TestPki::generate(
        &[
            ProviderSpec { name: "Example PEC S.p.A.", domain: "pec.example.it" },
            ProviderSpec { name: "Other PEC S.r.l.", domain: "pec.other.it" },
        ],
        now - chrono::Duration::days(1),
        now + chrono::Duration::days(30),
    )
    .unwrap();
    let content = vector();
    let signer = pec_core::signer::SoftwareSigner::from_der(
        &pki.providers[0].key_pkcs8,
        pki.providers[0].cert_der.clone(),
        vec![pki.ca.cert_der.clone()],
    )
    .unwrap();
    let p7m = pec_core::smime::sign_attached(&content, &signer, now).unwrap();
    let mut trust = pec_core::chain::TrustStore::new();
    trust.add_der(&pki.root.cert_der).unwrap();
    let opts = pec_core::smime::VerifyOptions { trust: Arc::new(trust), ..Default::default() };
    SignedIndexCase { pki, content, p7m, opts }
}

fn signers_of(certs: &[&[u8]]) -> IndexSigners {
    let mut s = IndexSigners::new();
    for c in certs {
        s.add(c).unwrap();
    }
    s
}

#[test]
fn signed_index_needs_a_named_signer() {
    let c = signed_index_case();
    let a = c.pki.providers[0].cert_der.as_slice();
    let b = c.pki.providers[1].cert_der.as_slice();
    let a_pem = c.pki.providers[0].cert_pem();

    // signed by the named signer (given as DER or as PEM): loads
    for signers in [signers_of(&[a]), signers_of(&[a_pem.as_bytes()]), signers_of(&[b, a])] {
        let dir = open_index(&c.p7m, &signers, &c.opts).unwrap();
        assert_eq!(dir.len(), Directory::from_ldif(&c.content).unwrap().len());
        assert!(dir.by_domain("gamma.example").is_some());
    }
    // PEM and bare base64 forms of the same .p7m
    let pem = pec_testkit::pem("PKCS7", &c.p7m);
    assert!(open_index(pem.as_bytes(), &signers_of(&[a]), &c.opts).is_ok());
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(open_index(body.as_bytes(), &signers_of(&[a]), &c.opts).is_ok());

    // signed by a provider certificate that chains to the trust anchors but is not named
    let err = open_index(&c.p7m, &signers_of(&[b]), &c.opts).unwrap_err();
    assert!(
        matches!(err, Error::Directory(DirectoryError::BadSignature(ref m)) if m.contains("not a named index signer")),
        "{err}"
    );
    assert_eq!(err.code(), pec_core::Code::IndexSignature);

    // no signer named: refused, whatever the trust anchors say
    let err = open_index(&c.p7m, &IndexSigners::new(), &c.opts).unwrap_err();
    assert_eq!(err, Error::Directory(DirectoryError::NoIndexSigner));
    assert_eq!(err.code(), pec_core::Code::IndexSignature);
    assert!(err.to_string().contains("no index signer"), "{err}");

    // named, but no trust anchors: the signature cannot be valid
    let bare = pec_core::smime::VerifyOptions::default();
    let err = open_index(&c.p7m, &signers_of(&[a]), &bare).unwrap_err();
    assert_eq!(err.code(), pec_core::Code::IndexSignature);

    // tampered content signed by the named signer: refused
    let pos = c.p7m.windows(13).position(|w| w == b"gamma.example").unwrap();
    let mut tampered = c.p7m.clone();
    tampered[pos] = b'G';
    let err = open_index(&tampered, &signers_of(&[a]), &c.opts).unwrap_err();
    assert!(matches!(err, Error::Directory(DirectoryError::BadSignature(_))), "{err}");

    // plain LDIF needs no signer
    assert!(!is_signed_index(&c.content));
    assert!(open_index(&c.content, &IndexSigners::new(), &c.opts).is_ok());

    // a garbage certificate is an error, not an empty signer list
    assert!(IndexSigners::new().add(b"not a certificate").is_err());
    assert_eq!(signers_of(&[a, a]).len(), 1);
}

#[test]
fn signed_index_file_and_refresh_use_the_same_rule() {
    let c = signed_index_case();
    let a = c.pki.providers[0].cert_der.as_slice();
    let b = c.pki.providers[1].cert_der.as_slice();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.ldif.p7m");
    std::fs::write(&path, &c.p7m).unwrap();
    assert!(open_index_file(&path, &signers_of(&[a]), &c.opts).is_ok());
    assert!(open_index_file(&path, &signers_of(&[b]), &c.opts).is_err());
    assert_eq!(
        open_index_file(&path, &IndexSigners::new(), &c.opts).unwrap_err(),
        Error::Directory(DirectoryError::NoIndexSigner)
    );
    // a file named .p7m is signed whatever it holds: plain LDIF under that name is refused
    let fake = dir.path().join("plain.p7m");
    std::fs::write(&fake, &c.content).unwrap();
    assert!(open_index_file(&fake, &signers_of(&[a]), &c.opts).is_err());
    let plain = dir.path().join("plain.ldif");
    std::fs::write(&plain, &c.content).unwrap();
    assert!(open_index_file(&plain, &IndexSigners::new(), &c.opts).is_ok());

    // the refresh path: the named signer loads, another provider's signature is refused
    let rd = RefreshingDirectory::new(LdifFileSource::signed_by(
        &path,
        signers_of(&[a]),
        c.opts.clone(),
    ))
    .unwrap();
    assert!(rd.by_domain("gamma.example").is_some());
    let other = pec_core::signer::SoftwareSigner::from_der(
        &c.pki.providers[1].key_pkcs8,
        c.pki.providers[1].cert_der.clone(),
        vec![c.pki.ca.cert_der.clone()],
    )
    .unwrap();
    let by_b = pec_core::smime::sign_attached(&c.content, &other, chrono::Utc::now()).unwrap();
    std::fs::write(&path, &by_b).unwrap();
    let err = rd.refresh().unwrap_err();
    assert_eq!(err.code(), pec_core::Code::IndexSignature);
    assert!(rd.by_domain("gamma.example").is_some(), "the last good copy stays");
    assert!(
        RefreshingDirectory::new(LdifFileSource::signed_by(
            &path,
            signers_of(&[a]),
            c.opts.clone()
        ))
        .is_err()
    );
    assert!(
        RefreshingDirectory::new(LdifFileSource::signed_by(&path, IndexSigners::new(), c.opts))
            .is_err()
    );
}
