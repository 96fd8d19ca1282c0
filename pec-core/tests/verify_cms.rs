//! Verification that cannot be fooled at the CMS and certificate layer (issue 12, findings 9,
//! 10, 11): weak algorithms are named in `weaknesses`, signed attributes follow RFC 5652 §5.3
//! and §11 exactly, and rfc822Names must be mailboxes.
//!
//! The hostile CMS structures are written here byte by byte (a small DER writer) and signed
//! with the project's signer over the spliced signed attributes, so each one is a correct
//! signature over a wrong structure. Certificates come from the generated test PKI
//! ([`TestPki`]: a root and a PEC CA name-constrained to the providers' domains); those the
//! aws-lc signer cannot make (SHA-1 signed, 1024-bit key, an invalid SAN) are issued under the
//! same PEC CA with the `openssl` CLI (skipped locally without it, required when `CI=true`).
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};

use chrono::{Duration, Utc};
use const_oid::ObjectIdentifier;
use der::Encode;
use pec_core::chain::TrustStore;
use pec_core::crypto::DigestAlgorithm;
use pec_core::signer::{Signer, SoftwareSigner};
use pec_core::smime::{
    Reason, Verdict, VerificationReport, VerifyOptions, VerifyTime, Weakness, sign_detached,
    verify_detached,
};
use pec_testkit::TestPki;
use pec_testkit::scenario::EXAMPLE;

// ---------------------------------------------------------------------------------------
// environment

use pec_testkit::{interop_dir, require_path, require_tool};

/// The provider certificate's subjectAltName, as openssl's extension syntax.
const PROVIDER_SAN: &str = "email:posta-certificata@pec.example.it";

const CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nIl messaggio firmato.\r\n";

// ---------------------------------------------------------------------------------------
// the test PKI

struct Pki {
    pki: TestPki,
}

fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let now = Utc::now();
        let pki = TestPki::generate(&[EXAMPLE], now - Duration::days(1), now + Duration::days(30))
            .unwrap();
        Pki { pki }
    })
}

/// A temporary working directory for openssl, holding the PEC CA's certificate and key
/// (`ca.pem`, `ca.key`); removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("pec-verify-cms-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("ca.pem"), pki().pki.ca.cert_pem()).unwrap();
        std::fs::write(p.join("ca.key"), pki().pki.ca.key_pem()).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options() -> VerifyOptions {
    let mut trust = TrustStore::new();
    trust.add_der(&pki().pki.root.cert_der).unwrap();
    VerifyOptions { trust: Arc::new(trust), ..VerifyOptions::default() }
}

/// The provider's signer (RSA-2048, SHA-256 certificate under the PEC CA).
fn provider_signer() -> SoftwareSigner {
    let p = &pki().pki;
    SoftwareSigner::from_der(
        &p.providers[0].key_pkcs8,
        p.providers[0].cert_der.clone(),
        vec![p.ca.cert_der.clone()],
    )
    .unwrap()
}

fn openssl_ok(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issues `<name>.pem` (key `<name>.key`) under the PEC CA with openssl: an RSA key of `bits`,
/// a certificate signed with `digest`, and `san` as its subjectAltName.
fn issue_with_openssl(
    dir: &TempDir,
    name: &str,
    bits: u32,
    digest: &str,
    san: &str,
) -> (PathBuf, PathBuf) {
    let dir = &dir.0;
    std::fs::write(
        dir.join(format!("{name}.ext")),
        format!(
            "keyUsage=critical,digitalSignature,nonRepudiation\n\
             extendedKeyUsage=emailProtection\nsubjectAltName={san}\n"
        ),
    )
    .unwrap();
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let pem = format!("{name}.pem");
    let bits = format!("rsa:{bits}");
    let subj = format!("/C=IT/O=Example PEC S.p.A./CN=Posta Certificata {name}");
    openssl_ok(
        dir,
        &["req", "-new", "-newkey", &bits, "-nodes", "-keyout", &key, "-out", &csr, "-subj", &subj],
    );
    openssl_ok(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "4660",
            "-days",
            "20",
            &format!("-{digest}"),
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &pem,
        ],
    );
    (dir.join(key), dir.join(pem))
}

/// A signer for a certificate issued with openssl (RSA-2048 keys only: aws-lc signs no less).
fn openssl_signer(key: &Path, pem: &Path) -> SoftwareSigner {
    SoftwareSigner::from_pem(
        &std::fs::read(key).unwrap(),
        &std::fs::read(pem).unwrap(),
        pki().pki.ca.cert_pem().as_bytes(),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// a DER writer for hand-made CMS

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|&b| b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn oid(s: &str) -> Vec<u8> {
    ObjectIdentifier::new_unwrap(s).to_der().unwrap()
}

/// AlgorithmIdentifier with NULL parameters.
fn alg(s: &str) -> Vec<u8> {
    tlv(0x30, &cat(&[oid(s), vec![0x05, 0x00]]))
}

const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const MD5: &str = "1.2.840.113549.2.5";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

/// An attribute with the given DER values.
fn attr(id: &str, values: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &cat(&[oid(id), tlv(0x31, &cat(values))]))
}

fn content_type_value() -> Vec<u8> {
    oid(ID_DATA)
}

fn digest_value(content: &[u8]) -> Vec<u8> {
    tlv(0x04, &DigestAlgorithm::Sha256.digest(content))
}

fn time_value(t: &str) -> Vec<u8> {
    tlv(0x17, t.as_bytes())
}

fn now_utctime() -> String {
    Utc::now().format("%y%m%d%H%M%SZ").to_string()
}

/// The three usual signed attributes, in DER order (contentType, messageDigest, signingTime).
fn usual_attrs(content: &[u8]) -> Vec<Vec<u8>> {
    vec![
        attr(CONTENT_TYPE, &[content_type_value()]),
        attr(MESSAGE_DIGEST, &[digest_value(content)]),
        attr(SIGNING_TIME, &[time_value(&now_utctime())]),
    ]
}

/// A hand-made SignedData: `attrs` exactly as given (signed by `signer` over their SET OF
/// encoding), `digest_alg` in the SignerInfo, `econtent` encapsulated when given.
fn hand_cms(
    signer: &dyn Signer,
    attrs: &[Vec<u8>],
    digest_alg: &str,
    econtent: Option<&[u8]>,
) -> Vec<u8> {
    let cert = x509_cert::Certificate::from_der_bytes(signer.certificate());
    let tbs = cert.tbs_certificate();
    let sid =
        tlv(0x30, &cat(&[tbs.issuer().to_der().unwrap(), tbs.serial_number().to_der().unwrap()]));
    let attrs = cat(attrs);
    let signature = signer.sign(&tlv(0x31, &attrs)).unwrap();
    let signer_info = tlv(
        0x30,
        &cat(&[
            vec![0x02, 0x01, 0x01],
            sid,
            alg(digest_alg),
            tlv(0xA0, &attrs),
            alg(RSA_ENCRYPTION),
            tlv(0x04, &signature),
        ]),
    );
    let mut encap = oid(ID_DATA);
    if let Some(c) = econtent {
        encap.extend(tlv(0xA0, &tlv(0x04, c)));
    }
    let mut certs = signer.certificate().to_vec();
    for c in signer.chain() {
        certs.extend_from_slice(c);
    }
    let signed_data = tlv(
        0x30,
        &cat(&[
            vec![0x02, 0x01, 0x01],
            tlv(0x31, &alg(digest_alg)),
            tlv(0x30, &encap),
            tlv(0xA0, &certs),
            tlv(0x31, &signer_info),
        ]),
    );
    tlv(0x30, &cat(&[oid(ID_SIGNED_DATA), tlv(0xA0, &signed_data)]))
}

trait FromDerBytes {
    fn from_der_bytes(der: &[u8]) -> Self;
}

impl FromDerBytes for x509_cert::Certificate {
    fn from_der_bytes(der: &[u8]) -> Self {
        <x509_cert::Certificate as der::Decode>::from_der(der).unwrap()
    }
}

fn verify(cms: &[u8]) -> VerificationReport {
    verify_detached(CONTENT, cms, None, &options())
}

/// The signature itself is right (so on the old code the verdict was `valid`).
fn assert_signature_sound(r: &VerificationReport) {
    assert!(
        !r.reasons.iter().any(|x| matches!(x, Reason::BadSignature | Reason::ContentMismatch)),
        "{:?}",
        r.reasons
    );
}

fn assert_malformed(attrs: &[Vec<u8>]) {
    let r = verify(&hand_cms(&provider_signer(), attrs, SHA256, None));
    assert_eq!(r.verdict, Verdict::Invalid, "{:?}", r.reasons);
    assert_eq!(r.reasons, vec![Reason::MalformedSignature]);
}

// ---------------------------------------------------------------------------------------
// the baselines: the hand-made CMS and the project's own are valid and not weak

#[test]
fn hand_made_cms_baseline_is_valid() {
    let r = verify(&hand_cms(&provider_signer(), &usual_attrs(CONTENT), SHA256, None));
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert!(r.signing_time.is_some());
    assert_eq!(r.weaknesses, vec![]);
    let r = verify(&sign_detached(CONTENT, &provider_signer(), Utc::now()).unwrap());
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert_eq!(r.weaknesses, vec![]);
    assert!(!r.weak_digest);
}

// ---------------------------------------------------------------------------------------
// finding 10: signed attributes exactly as RFC 5652 §5.3, §11 say

#[test]
fn content_type_missing_is_malformed() {
    let attrs = usual_attrs(CONTENT);
    assert_malformed(&attrs[1..]);
}

#[test]
fn content_type_with_two_values_is_malformed() {
    let mut attrs = usual_attrs(CONTENT);
    attrs[0] = attr(CONTENT_TYPE, &[content_type_value(), content_type_value()]);
    assert_malformed(&attrs);
}

#[test]
fn two_content_type_attributes_are_malformed() {
    let mut attrs = usual_attrs(CONTENT);
    attrs.insert(1, attr(CONTENT_TYPE, &[content_type_value()]));
    assert_malformed(&attrs);
}

#[test]
fn signing_time_with_two_values_is_malformed() {
    let mut attrs = usual_attrs(CONTENT);
    attrs[2] = attr(SIGNING_TIME, &[time_value("150101000000Z"), time_value(&now_utctime())]);
    assert_malformed(&attrs);
}

#[test]
fn two_signing_time_attributes_are_malformed() {
    let mut attrs = usual_attrs(CONTENT);
    attrs.push(attr(SIGNING_TIME, &[time_value("150101000000Z")]));
    assert_malformed(&attrs);
}

/// Already refused before issue 12; kept next to its siblings.
#[test]
fn message_digest_duplicates_are_malformed() {
    let mut attrs = usual_attrs(CONTENT);
    attrs.push(attr(MESSAGE_DIGEST, &[digest_value(CONTENT)]));
    assert_malformed(&attrs);
    let mut attrs = usual_attrs(CONTENT);
    attrs[1] = attr(MESSAGE_DIGEST, &[digest_value(CONTENT), digest_value(b"other")]);
    assert_malformed(&attrs);
}

/// A repeated signingTime cannot hide behind 256 other attributes.
#[test]
fn attributes_past_the_bound_are_malformed() {
    let mut attrs = usual_attrs(CONTENT);
    for i in 0..256u32 {
        attrs.push(attr(&format!("1.3.6.1.4.1.99999.{i}"), &[vec![0x05, 0x00]]));
    }
    attrs.push(attr(SIGNING_TIME, &[time_value("150101000000Z")]));
    assert_malformed(&attrs);
    // a few unknown attributes are fine
    let mut attrs = usual_attrs(CONTENT);
    attrs.push(attr("1.3.6.1.4.1.99999.1", &[vec![0x05, 0x00]]));
    let r = verify(&hand_cms(&provider_signer(), &attrs, SHA256, None));
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
}

#[test]
fn encapsulated_content_with_a_detached_part_is_malformed() {
    let signer = provider_signer();
    // the eContent is what the signature covers; the detached part is what the reader sees
    let cms = hand_cms(&signer, &usual_attrs(CONTENT), SHA256, Some(CONTENT));
    let r = verify(&cms);
    assert_eq!(r.reasons, vec![Reason::MalformedSignature]);
    let cms = hand_cms(&signer, &usual_attrs(b"other"), SHA256, Some(b"other"));
    let r = verify(&cms);
    assert_eq!(r.reasons, vec![Reason::MalformedSignature]);
    // as an attached CMS (the signed index) the same structure is fine
    let (r, content) = pec_core::smime::verify_attached(&cms, &options());
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert_eq!(content.as_deref(), Some(&b"other"[..]));
}

// ---------------------------------------------------------------------------------------
// finding 9: weak algorithms are named

#[test]
fn md5_digest_is_refused_and_named() {
    let mut attrs = usual_attrs(CONTENT);
    attrs[1] = attr(MESSAGE_DIGEST, &[tlv(0x04, &[0u8; 16])]);
    let r = verify(&hand_cms(&provider_signer(), &attrs, MD5, None));
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.reasons.contains(&Reason::BadSignature), "{:?}", r.reasons);
    assert_eq!(r.weaknesses, vec![Weakness::Md5Digest]);
    assert_eq!(r.digest, None);
}

#[test]
fn md5_certificate_fails_the_chain_and_is_named() {
    // the provider certificate relabelled md5WithRSAEncryption (tbs and outer algorithm)
    let p = &pki().pki;
    let sha256_rsa = oid("1.2.840.113549.1.1.11");
    let md5_rsa = oid("1.2.840.113549.1.1.4");
    let mut cert = p.providers[0].cert_der.clone();
    let mut n = 0;
    while let Some(i) = cert.windows(sha256_rsa.len()).position(|w| w == sha256_rsa.as_slice()) {
        cert[i..i + md5_rsa.len()].copy_from_slice(&md5_rsa);
        n += 1;
    }
    assert_eq!(n, 2);
    let signer =
        SoftwareSigner::from_der(&p.providers[0].key_pkcs8, cert, vec![p.ca.cert_der.clone()])
            .unwrap();
    let r = verify(&sign_detached(CONTENT, &signer, Utc::now()).unwrap());
    assert_signature_sound(&r);
    assert!(r.reasons.contains(&Reason::UntrustedChain), "{:?}", r.reasons);
    assert_eq!(r.weaknesses, vec![Weakness::Md5Certificate]);
}

#[test]
fn sha1_certificate_under_a_sha256_cms_is_named() {
    if !require_tool("openssl") {
        return;
    }
    let dir = TempDir::new("sha1_certificate_under_a_sha256_cms_is_named");
    let (key, pem) = issue_with_openssl(&dir, "sha1cert", 2048, "sha1", PROVIDER_SAN);
    let signer = openssl_signer(&key, &pem);
    let r = verify(&sign_detached(CONTENT, &signer, Utc::now()).unwrap());
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert_eq!(r.digest, Some(DigestAlgorithm::Sha256));
    assert!(!r.weak_digest);
    assert_eq!(r.weaknesses, vec![Weakness::Sha1Certificate]);
    assert_eq!(r.chain.len(), 3);
}

#[test]
fn rsa_1024_signer_is_named() {
    if !require_tool("openssl") {
        return;
    }
    let dir = TempDir::new("rsa_1024_signer_is_named");
    let (key, pem) = issue_with_openssl(&dir, "rsa1024", 1024, "sha256", PROVIDER_SAN);
    let dir = &dir.0;
    std::fs::write(dir.join("rsa1024.txt"), CONTENT).unwrap();
    let (key, pem) = (key.to_str().unwrap(), pem.to_str().unwrap());
    openssl_ok(
        dir,
        &[
            "cms",
            "-sign",
            "-binary",
            "-md",
            "sha256",
            "-signer",
            pem,
            "-inkey",
            key,
            "-certfile",
            "ca.pem",
            "-outform",
            "DER",
            "-in",
            "rsa1024.txt",
            "-out",
            "rsa1024.p7s",
        ],
    );
    let r = verify(&std::fs::read(dir.join("rsa1024.p7s")).unwrap());
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert_eq!(r.weaknesses, vec![Weakness::RsaKeyUnder2048]);
}

#[test]
fn sha1_digest_and_signature_are_named() {
    if !require_tool("openssl") {
        return;
    }
    let dir = TempDir::new("sha1_digest_and_signature_are_named");
    let (key, pem) = issue_with_openssl(&dir, "sha1cms", 2048, "sha256", PROVIDER_SAN);
    let dir = &dir.0;
    std::fs::write(dir.join("sha1cms.txt"), CONTENT).unwrap();
    let (key, pem) = (key.to_str().unwrap(), pem.to_str().unwrap());
    openssl_ok(
        dir,
        &[
            "cms",
            "-sign",
            "-binary",
            "-md",
            "sha1",
            "-signer",
            pem,
            "-inkey",
            key,
            "-certfile",
            "ca.pem",
            "-outform",
            "DER",
            "-in",
            "sha1cms.txt",
            "-out",
            "sha1.p7s",
        ],
    );
    let r = verify(&std::fs::read(dir.join("sha1.p7s")).unwrap());
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert!(r.weak_digest);
    assert_eq!(r.weaknesses, vec![Weakness::Sha1Digest, Weakness::Sha1Signature]);
}

/// The real Aruba receipts (SHA-1 digest, rsaEncryption) stay `valid` at signing time, with
/// their weaknesses listed.
#[test]
fn real_sha1_messages_stay_valid_with_weaknesses() {
    let certs = Path::new("/etc/ssl/certs");
    let Some(dir) = interop_dir() else { return };
    if !require_path(certs) {
        return;
    }
    let mut trust = TrustStore::new();
    trust.add_dir(certs).unwrap();
    let opts = VerifyOptions { trust: Arc::new(trust), time: VerifyTime::SigningTime, ..options() };
    for name in [
        "OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt",
        "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt",
    ] {
        let msg = std::fs::read(dir.join(name)).unwrap();
        let r = pec_core::verify_message(&msg, &opts).unwrap();
        assert_eq!(r.verdict, Verdict::Valid, "{name}: {:?}", r.reasons);
        assert!(r.weak_digest);
        assert_eq!(r.weaknesses, vec![Weakness::Sha1Digest, Weakness::Sha1Signature], "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// finding 11: mailbox names in certificates

#[test]
fn double_at_san_is_an_untrusted_chain() {
    if !require_tool("openssl") {
        return;
    }
    let dir = TempDir::new("double_at_san_is_an_untrusted_chain");
    // passes the PEC CA's rfc822Name constraint `pec.example.it` when split at the last '@'
    let (key, pem) = issue_with_openssl(
        &dir,
        "doubleat",
        2048,
        "sha256",
        "email:ceo@evil.example.com@pec.example.it",
    );
    let signer = openssl_signer(&key, &pem);
    let r = verify(&sign_detached(CONTENT, &signer, Utc::now()).unwrap());
    assert_signature_sound(&r);
    assert_eq!(r.verdict, Verdict::Invalid);
    assert!(r.reasons.contains(&Reason::UntrustedChain), "{:?}", r.reasons);
    let email = r.signer.and_then(|s| s.email);
    assert_ne!(email.as_deref(), Some("ceo@evil.example.com@pec.example.it"));

    // the same certificate with a mailbox SAN is fine (the test PKI is not the cause)
    let (key, pem) =
        issue_with_openssl(&dir, "goodsan", 2048, "sha256", "email:ceo@pec.example.it");
    let r = verify(&sign_detached(CONTENT, &openssl_signer(&key, &pem), Utc::now()).unwrap());
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
    assert_eq!(r.signer.and_then(|s| s.email).as_deref(), Some("ceo@pec.example.it"));
}

#[test]
fn quoted_local_part_san_is_an_untrusted_chain() {
    if !require_tool("openssl") {
        return;
    }
    let dir = TempDir::new("quoted_local_part_san_is_an_untrusted_chain");
    let (key, pem) = issue_with_openssl(
        &dir,
        "quoted",
        2048,
        "sha256",
        "email:\"ceo@evil.example.com\"@pec.example.it",
    );
    let r = verify(&sign_detached(CONTENT, &openssl_signer(&key, &pem), Utc::now()).unwrap());
    assert!(r.reasons.contains(&Reason::UntrustedChain), "{:?}", r.reasons);
}
