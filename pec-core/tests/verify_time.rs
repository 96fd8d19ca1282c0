//! Issue 12, findings 1, 7 and 8: the signing time is a claim (RFC 5652 §11.3), CRLs are
//! judged at the evaluation time with their scope (RFC 5280 §5.2.5, §6.3.3), and a CRL without
//! nextUpdate is unusable (RFC 5280 §5.1.2.5).
//!
//! Every certificate and CRL here is built by this file (x509-cert types, signed with
//! aws-lc-rs): a root that is the trust anchor and issues the signers and the CRLs directly,
//! so each case controls validity, distribution points, CRL entries and scope exactly. No
//! external tool is needed.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use chrono::{DateTime, Duration, TimeZone, Utc};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280 as oids;
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, SetOfVec, Uint};
use der::{Any, Decode, Encode};
use pec_core::chain::TrustStore;
use pec_core::revocation::{CrlFetcher, CrlStore};
use pec_core::signer::SoftwareSigner;
use pec_core::smime::{
    Reason, RevocationStatus, TimeSource, Verdict, VerificationReport, VerifyOptions, VerifyTime,
    sign_detached, verify_detached,
};
use pec_testkit::pki::{self, Cert, Tbs, Validity, sha256_rsa};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::{DistributionPoint, IssuingDistributionPoint, Reasons};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

// ---------------------------------------------------------------------------------------------
// A small PKI built by hand
// ---------------------------------------------------------------------------------------------

const CA_DN: &str = "CN=Time Test CA,O=pec verify_time,C=IT";
const PART_A: &str = "http://crl.time-test.invalid/part-a.crl";
const PART_B: &str = "http://crl.time-test.invalid/part-b.crl";
const CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nfirmato\r\n";

struct Key {
    pkcs8: Vec<u8>,
    spki: SubjectPublicKeyInfoOwned,
}

fn new_key() -> Key {
    let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
    let pkcs8 = key.as_der().unwrap().as_ref().to_vec();
    let spki = aws_lc_rs::signature::KeyPair::public_key(&key).as_der().unwrap();
    Key { pkcs8, spki: SubjectPublicKeyInfoOwned::from_der(spki.as_ref()).unwrap() }
}

/// The CA key and the (shared) signer key, generated once per test binary.
fn keys() -> &'static (Key, Key) {
    static KEYS: OnceLock<(Key, Key)> = OnceLock::new();
    KEYS.get_or_init(|| (new_key(), new_key()))
}

fn sign(pkcs8: &[u8], msg: &[u8]) -> Vec<u8> {
    pki::sign_with(pkcs8, msg).unwrap()
}

fn time(t: DateTime<Utc>) -> Time {
    pki::time(t).unwrap()
}

fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Extension {
    pki::ext(oid, critical, value).unwrap()
}

fn ymd(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

/// Now, whole seconds (certificates and CRLs carry no fractions).
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap()
}

fn ski(key: &Key) -> Vec<u8> {
    pec_core::crypto::DigestAlgorithm::Sha1.digest(key.spki.subject_public_key.raw_bytes())
}

fn aki_ext() -> Extension {
    ext(
        oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(ski(&keys().0)).unwrap()),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )
}

fn ca_name() -> Name {
    Name::from_str(CA_DN).unwrap()
}

fn build_cert(
    subject: Name,
    key: &Key,
    serial: &[u8],
    nb: DateTime<Utc>,
    na: DateTime<Utc>,
    extensions: Vec<Extension>,
) -> Vec<u8> {
    let tbs = Tbs {
        version: 2,
        serial: Uint::new(serial).unwrap(),
        signature: sha256_rsa(),
        issuer: ca_name(),
        validity: Validity { not_before: time(nb), not_after: time(na) },
        subject,
        spki: key.spki.clone(),
        extensions,
    };
    let sig = sign(&keys().0.pkcs8, &tbs.to_der().unwrap());
    Cert { tbs, algorithm: sha256_rsa(), signature: BitString::from_bytes(&sig).unwrap() }
        .to_der()
        .unwrap()
}

/// The trust anchor: a self-signed CA that signs the signers and the CRLs.
fn ca_cert() -> &'static [u8] {
    static CA: OnceLock<Vec<u8>> = OnceLock::new();
    CA.get_or_init(|| {
        let key = &keys().0;
        build_cert(
            ca_name(),
            key,
            &[1],
            ymd(2010, 1, 1),
            ymd(2045, 1, 1),
            vec![
                ext(
                    oids::ID_CE_SUBJECT_KEY_IDENTIFIER,
                    false,
                    &SubjectKeyIdentifier(OctetString::new(ski(key)).unwrap()),
                ),
                ext(
                    oids::ID_CE_BASIC_CONSTRAINTS,
                    true,
                    &BasicConstraints { ca: true, path_len_constraint: None },
                ),
                ext(
                    oids::ID_CE_KEY_USAGE,
                    true,
                    &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
                ),
            ],
        )
    })
}

fn uri(u: &str) -> GeneralName {
    GeneralName::UniformResourceIdentifier(Ia5String::new(u).unwrap())
}

fn full_name(names: Vec<GeneralName>) -> Option<DistributionPointName> {
    Some(DistributionPointName::FullName(names))
}

/// A distribution point with a URI and nothing else.
fn dp(url: &str) -> DistributionPoint {
    DistributionPoint {
        distribution_point: full_name(vec![uri(url)]),
        reasons: None,
        crl_issuer: None,
    }
}

/// A PEC signer certificate issued by the CA (signer key), with these CRL distribution points
/// (`None`: no extension).
fn signer_cert(
    serial: u8,
    nb: DateTime<Utc>,
    na: DateTime<Utc>,
    dps: Option<Vec<DistributionPoint>>,
) -> Vec<u8> {
    let mut exts = vec![
        aki_ext(),
        ext(
            oids::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
        ),
        ext(
            oids::ID_CE_SUBJECT_ALT_NAME,
            false,
            &SubjectAltName(vec![GeneralName::Rfc822Name(
                Ia5String::new("posta-certificata@pec.time-test.it").unwrap(),
            )]),
        ),
    ];
    if let Some(dps) = dps {
        exts.push(ext(oids::ID_CE_CRL_DISTRIBUTION_POINTS, false, &CrlDistributionPoints(dps)));
    }
    let subject =
        Name::from_str(&format!("CN=Posta Certificata {serial},O=Time Test PEC,C=IT")).unwrap();
    build_cert(subject, &keys().1, &[0x40, serial], nb, na, exts)
}

fn serial_of(serial: u8) -> Vec<u8> {
    vec![0x40, serial]
}

/// One CRL entry.
struct Entry {
    serial: Vec<u8>,
    date: DateTime<Utc>,
    /// CRLReason code; `None`: no reason extension.
    reason: Option<u8>,
    invalidity: Option<DateTime<Utc>>,
}

fn entry(serial: u8, date: DateTime<Utc>, reason: Option<u8>) -> Entry {
    Entry { serial: serial_of(serial), date, reason, invalidity: None }
}

/// A CRL of the CA.
fn crl(
    this_update: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
    entries: &[Entry],
    idp: Option<IssuingDistributionPoint>,
) -> Vec<u8> {
    let revoked: Vec<RevokedCert> = entries
        .iter()
        .map(|e| {
            let mut exts = Vec::new();
            if let Some(r) = e.reason {
                exts.push(Extension {
                    extn_id: oids::ID_CE_CRL_REASONS,
                    critical: false,
                    extn_value: OctetString::new(vec![0x0a, 0x01, r]).unwrap(),
                });
            }
            if let Some(t) = e.invalidity {
                let d = std::time::Duration::from_secs(u64::try_from(t.timestamp()).unwrap());
                exts.push(ext(
                    oids::ID_CE_INVALIDITY_DATE,
                    false,
                    &GeneralizedTime::from_unix_duration(d).unwrap(),
                ));
            }
            RevokedCert {
                serial_number: SerialNumber::new(&e.serial).unwrap(),
                revocation_date: time(e.date),
                crl_entry_extensions: if exts.is_empty() { None } else { Some(exts) },
            }
        })
        .collect();
    let mut crl_exts = vec![aki_ext()];
    if let Some(idp) = idp {
        crl_exts.push(ext(oids::ID_CE_ISSUING_DISTRIBUTION_POINT, true, &idp));
    }
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: sha256_rsa(),
        issuer: ca_name(),
        this_update: time(this_update),
        next_update: next_update.map(time),
        revoked_certificates: if revoked.is_empty() { None } else { Some(revoked) },
        crl_extensions: Some(crl_exts),
    };
    let sig = sign(&keys().0.pkcs8, &tbs.to_der().unwrap());
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: sha256_rsa(),
        signature: BitString::from_bytes(&sig).unwrap(),
    }
    .to_der()
    .unwrap()
}

/// A current CRL (yesterday, next in 30 days).
fn current_crl(entries: &[Entry], idp: Option<IssuingDistributionPoint>) -> Vec<u8> {
    crl(now() - Duration::days(1), Some(now() + Duration::days(30)), entries, idp)
}

fn idp(names: Option<DistributionPointName>) -> IssuingDistributionPoint {
    IssuingDistributionPoint {
        distribution_point: names,
        only_contains_user_certs: false,
        only_contains_ca_certs: false,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    }
}

// ---------------------------------------------------------------------------------------------
// Signing and verifying
// ---------------------------------------------------------------------------------------------

/// A detached CMS over [`CONTENT`] by `cert` (signer key) claiming `signing_time`.
fn signed(cert: &[u8], signing_time: DateTime<Utc>) -> Vec<u8> {
    let signer = SoftwareSigner::from_der(&keys().1.pkcs8, cert.to_vec(), Vec::new()).unwrap();
    sign_detached(CONTENT, &signer, signing_time).unwrap()
}

/// The same CMS with its signingTime attribute removed (and signed again).
fn without_signing_time(cms_der: &[u8]) -> Vec<u8> {
    use cms::content_info::ContentInfo;
    use cms::signed_data::{SignedData, SignerInfos};
    let ci = ContentInfo::from_der(cms_der).unwrap();
    let mut sd: SignedData = ci.content.decode_as().unwrap();
    let mut si = sd.signer_infos.0.iter().next().unwrap().clone();
    let attrs: Vec<_> = si
        .signed_attrs
        .as_ref()
        .unwrap()
        .iter()
        .filter(|a| a.oid != ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5"))
        .cloned()
        .collect();
    assert_eq!(attrs.len(), 2, "contentType and messageDigest stay");
    let attrs = SetOfVec::try_from(attrs).unwrap();
    si.signature = OctetString::new(sign(&keys().1.pkcs8, &attrs.to_der().unwrap())).unwrap();
    si.signed_attrs = Some(attrs);
    sd.signer_infos = SignerInfos(SetOfVec::try_from(vec![si]).unwrap());
    ContentInfo { content_type: ci.content_type, content: Any::encode_from(&sd).unwrap() }
        .to_der()
        .unwrap()
}

fn trust() -> Arc<TrustStore> {
    let mut t = TrustStore::new();
    t.add_der(ca_cert()).unwrap();
    Arc::new(t)
}

fn store(crls: &[Vec<u8>]) -> CrlStore {
    let mut s = CrlStore::new();
    for c in crls {
        assert_eq!(s.add(c).unwrap(), 1);
    }
    s
}

fn opts(time: VerifyTime, crls: Option<CrlStore>) -> VerifyOptions {
    VerifyOptions { trust: trust(), crls: crls.map(Arc::new), index: None, time, now: None }
}

fn verify(cms: &[u8], o: &VerifyOptions) -> VerificationReport {
    verify_detached(CONTENT, cms, None, o)
}

/// Asserts verdict, reasons and revocation status.
#[track_caller]
fn expect(
    r: &VerificationReport,
    verdict: Verdict,
    reasons: &[Reason],
    revocation: RevocationStatus,
) {
    assert_eq!(
        (r.verdict, r.reasons.as_slice(), r.revocation),
        (verdict, reasons, revocation),
        "{r:#?}"
    );
}

fn valid_signer(serial: u8, dps: Option<Vec<DistributionPoint>>) -> Vec<u8> {
    signer_cert(serial, ymd(2014, 1, 1), ymd(2040, 1, 1), dps)
}

fn claim() -> DateTime<Utc> {
    ymd(2015, 6, 1)
}

// ---------------------------------------------------------------------------------------------
// Finding 1: the signing time is a claim
// ---------------------------------------------------------------------------------------------

#[test]
fn time_source_says_where_the_instant_came_from() {
    let cert = valid_signer(1, Some(vec![dp(PART_A)]));
    let cms = signed(&cert, claim());
    let r = verify(&cms, &opts(VerifyTime::Now, None));
    assert_eq!((r.verdict, r.time_source), (Verdict::Valid, TimeSource::Now), "{r:?}");
    assert!((Utc::now() - r.evaluated_at.unwrap()).num_seconds().abs() < 60);
    let given = ymd(2016, 3, 4);
    let r = verify(&cms, &opts(VerifyTime::At(given), None));
    assert_eq!(
        (r.verdict, r.time_source, r.evaluated_at),
        (Verdict::Valid, TimeSource::Given, Some(given))
    );
    let r = verify(&cms, &opts(VerifyTime::SigningTime, None));
    assert_eq!(
        (r.verdict, r.time_source, r.evaluated_at, r.signing_time),
        (Verdict::Valid, TimeSource::SigningTimeClaimed, Some(claim()), Some(claim()))
    );
    assert_eq!(TimeSource::SigningTimeClaimed.as_str(), "signing-time-claimed");
    // No signingTime: at-signing-time falls back to now, and says so.
    let bare = without_signing_time(&cms);
    let r = verify(&bare, &opts(VerifyTime::SigningTime, None));
    assert_eq!(
        (r.verdict, r.signing_time, r.time_source),
        (Verdict::Valid, None, TimeSource::Now),
        "{r:?}"
    );
    assert!((Utc::now() - r.evaluated_at.unwrap()).num_seconds().abs() < 60);
}

#[test]
fn signing_time_in_the_future_is_invalid() {
    let cert = valid_signer(2, Some(vec![dp(PART_A)]));
    let future = now() + Duration::hours(1);
    let cms = signed(&cert, future);
    for time in [VerifyTime::Now, VerifyTime::SigningTime, VerifyTime::At(now())] {
        let r = verify(&cms, &opts(time, None));
        expect(&r, Verdict::Invalid, &[Reason::SigningTimeInFuture], RevocationStatus::NotChecked);
    }
    assert_eq!(Reason::SigningTimeInFuture.as_str(), "signing-time-in-future");
    // Clock skew up to five minutes is tolerated.
    let r = verify(&signed(&cert, now() + Duration::minutes(4)), &opts(VerifyTime::Now, None));
    expect(&r, Verdict::Valid, &[], RevocationStatus::NotChecked);
    // The verifier's clock is what counts: an engine whose clock is later accepts it.
    let mut later = opts(VerifyTime::SigningTime, None);
    later.now = Some(now() + Duration::hours(2));
    let r = verify(&cms, &later);
    expect(&r, Verdict::Valid, &[], RevocationStatus::NotChecked);
}

#[test]
fn injected_now_is_the_verifiers_clock() {
    let cert = valid_signer(3, Some(vec![dp(PART_A)]));
    let cms = signed(&cert, ymd(2020, 1, 1));
    let mut o = opts(VerifyTime::Now, None);
    o.now = Some(ymd(2041, 1, 1));
    let r = verify(&cms, &o);
    assert_eq!(r.evaluated_at, Some(ymd(2041, 1, 1)));
    expect(&r, Verdict::Invalid, &[Reason::Expired], RevocationStatus::NotChecked);
    // An engine clock before the claim: the claim is in its future.
    o.now = Some(ymd(2019, 1, 1));
    let r = verify(&cms, &o);
    expect(&r, Verdict::Invalid, &[Reason::SigningTimeInFuture], RevocationStatus::NotChecked);
    // Any clock is accepted, even the last representable instant.
    o.now = Some(DateTime::<Utc>::MAX_UTC);
    let r = verify(&cms, &o);
    expect(&r, Verdict::Invalid, &[Reason::Expired], RevocationStatus::NotChecked);
    // CRL freshness is judged at the injected now too.
    let mut o = opts(VerifyTime::Now, Some(store(&[current_crl(&[], None)])));
    expect(&verify(&cms, &o), Verdict::Valid, &[], RevocationStatus::Good);
    o.now = Some(now() + Duration::days(60));
    let r = verify(&cms, &o);
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
}

#[test]
fn backdated_claim_cannot_escape_key_compromise() {
    let cert = valid_signer(4, Some(vec![dp(PART_A)]));
    // Signed today, claiming 2015; revoked yesterday.
    let cms = signed(&cert, claim());
    // Without CRLs nothing tells: valid, and the report says the time was only claimed.
    let r = verify(&cms, &opts(VerifyTime::SigningTime, None));
    expect(&r, Verdict::Valid, &[], RevocationStatus::NotChecked);
    assert_eq!(r.time_source, TimeSource::SigningTimeClaimed);
    // unspecified, keyCompromise, cACompromise, aACompromise, or no reason at all
    for reason in [None, Some(0), Some(1), Some(2), Some(10)] {
        let c = current_crl(&[entry(4, now() - Duration::days(1), reason)], None);
        let r = verify(&cms, &opts(VerifyTime::SigningTime, Some(store(&[c]))));
        expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
        assert_eq!(r.time_source, TimeSource::SigningTimeClaimed);
    }
}

#[test]
fn claimed_time_before_a_revocation_without_compromise_is_good() {
    let cert = valid_signer(5, Some(vec![dp(PART_A)]));
    let cms = signed(&cert, claim());
    // affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn
    for reason in [3, 4, 5, 6, 9] {
        let c = current_crl(&[entry(5, now() - Duration::days(1), Some(reason))], None);
        let crls = store(&[c]);
        let r = verify(&cms, &opts(VerifyTime::SigningTime, Some(crls.clone())));
        expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
        // ...but revoked now.
        let r = verify(&cms, &opts(VerifyTime::Now, Some(crls)));
        expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
    }
    // Revoked before the claimed instant: revoked at it, whatever the reason.
    let c = current_crl(&[entry(5, ymd(2015, 1, 1), Some(4))], None);
    let r = verify(&cms, &opts(VerifyTime::SigningTime, Some(store(&[c]))));
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
}

#[test]
fn given_time_is_trusted_and_compared_as_it_is() {
    let cert = valid_signer(6, Some(vec![dp(PART_A)]));
    let cms = signed(&cert, claim());
    let c = current_crl(&[entry(6, now() - Duration::days(1), Some(1))], None);
    // The caller vouches for 2015: the key was compromised only yesterday.
    let r = verify(&cms, &opts(VerifyTime::At(claim()), Some(store(std::slice::from_ref(&c)))));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
    assert_eq!(r.time_source, TimeSource::Given);
    let r = verify(&cms, &opts(VerifyTime::At(now()), Some(store(&[c]))));
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
}

#[test]
fn crl_issued_after_the_evaluation_time_is_evidence_about_it() {
    let cert = valid_signer(7, Some(vec![dp(PART_A)]));
    let cms = signed(&cert, claim());
    // Today's CRL says it was revoked (superseded) in 2014: revoked in 2015 too.
    let c = current_crl(&[entry(7, ymd(2014, 6, 1), Some(4))], None);
    let r = verify(&cms, &opts(VerifyTime::At(claim()), Some(store(&[c]))));
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
    // A clean CRL of 2016, long stale today, still answers for 2015...
    let old = crl(ymd(2016, 1, 1), Some(ymd(2016, 2, 1)), &[], None);
    let r = verify(&cms, &opts(VerifyTime::At(claim()), Some(store(std::slice::from_ref(&old)))));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
    // ...but not for today, nor for after its nextUpdate.
    let r = verify(&cms, &opts(VerifyTime::Now, Some(store(std::slice::from_ref(&old)))));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    let r = verify(&cms, &opts(VerifyTime::At(ymd(2017, 1, 1)), Some(store(&[old]))));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
}

#[test]
fn revocation_date_after_the_given_time_unless_invalidity_date_is_before() {
    let cert = valid_signer(8, Some(vec![dp(PART_A)]));
    let at = now() - Duration::days(10);
    let cms = signed(&cert, at);
    let mut e = entry(8, now() - Duration::days(1), Some(4));
    let r = verify(&cms, &opts(VerifyTime::At(at), Some(store(&[current_crl(&[e], None)]))));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
    e = entry(8, now() - Duration::days(1), Some(4));
    e.invalidity = Some(now() - Duration::days(20));
    let r = verify(&cms, &opts(VerifyTime::At(at), Some(store(&[current_crl(&[e], None)]))));
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
    // The revocationDate itself at the instant: revoked.
    let e = entry(8, at, Some(4));
    let r = verify(&cms, &opts(VerifyTime::At(at), Some(store(&[current_crl(&[e], None)]))));
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
}

#[test]
fn expired_certificate_with_a_claimed_time() {
    // A certificate of 2014-2015 whose key signs today, claiming 2015. With no trusted time
    // nothing contradicts the claim: it is accepted and reported as a claim (module doc of
    // pec_core::smime). Today it is expired; a CRL revoking it for key compromise wins.
    let cert = signer_cert(9, ymd(2014, 1, 1), ymd(2016, 1, 1), Some(vec![dp(PART_A)]));
    let cms = signed(&cert, claim());
    let r = verify(&cms, &opts(VerifyTime::SigningTime, None));
    expect(&r, Verdict::Valid, &[], RevocationStatus::NotChecked);
    assert_eq!((r.time_source, r.evaluated_at), (TimeSource::SigningTimeClaimed, Some(claim())));
    let r = verify(&cms, &opts(VerifyTime::Now, None));
    expect(&r, Verdict::Invalid, &[Reason::Expired], RevocationStatus::NotChecked);
    let c = current_crl(&[entry(9, now() - Duration::days(1), Some(1))], None);
    let r = verify(&cms, &opts(VerifyTime::SigningTime, Some(store(&[c]))));
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
}

// ---------------------------------------------------------------------------------------------
// Finding 8: no nextUpdate
// ---------------------------------------------------------------------------------------------

#[test]
fn crl_without_next_update_is_unknown() {
    let cert = valid_signer(10, Some(vec![dp(PART_A)]));
    let cms = signed(&cert, now());
    let c = crl(now() - Duration::days(1), None, &[], None);
    for time in [VerifyTime::Now, VerifyTime::SigningTime] {
        let r = verify(&cms, &opts(time, Some(store(std::slice::from_ref(&c)))));
        expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    }
}

// ---------------------------------------------------------------------------------------------
// Finding 7: CRL scope
// ---------------------------------------------------------------------------------------------

#[test]
fn crl_of_another_partition_is_ignored() {
    let cert = valid_signer(11, Some(vec![dp(PART_A)]));
    let cms = signed(&cert, now());
    let check = |crl: Vec<u8>| verify(&cms, &opts(VerifyTime::Now, Some(store(&[crl]))));
    // A clean CRL of partition B says nothing about a certificate of partition A...
    let r = check(current_crl(&[], Some(idp(full_name(vec![uri(PART_B)])))));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    // ...nor does one listing its serial (that is another certificate's partition).
    let r = check(current_crl(
        &[entry(11, ymd(2015, 1, 1), Some(1))],
        Some(idp(full_name(vec![uri(PART_B)]))),
    ));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    // Its own partition answers.
    let r = check(current_crl(&[], Some(idp(full_name(vec![uri(PART_B), uri(PART_A)])))));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
    let r = check(current_crl(
        &[entry(11, ymd(2015, 1, 1), Some(1))],
        Some(idp(full_name(vec![uri(PART_A)]))),
    ));
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
    // onlyContainsCACerts: not for an end entity; onlyContainsUserCerts: for it.
    let mut ca_only = idp(full_name(vec![uri(PART_A)]));
    ca_only.only_contains_ca_certs = true;
    let r = check(current_crl(&[], Some(ca_only)));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    let mut user_only = idp(full_name(vec![uri(PART_A)]));
    user_only.only_contains_user_certs = true;
    let r = check(current_crl(&[], Some(user_only)));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
    // An IDP without a name covers every certificate of the issuer.
    let r = check(current_crl(&[], Some(idp(None))));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);

    // A certificate without CRLDistributionPoints is in the partition named by its issuer
    // only (RFC 5280 §6.3.3 (a)): a URI-named partition does not cover it.
    let bare = signed(&valid_signer(12, None), now());
    let r = verify(
        &bare,
        &opts(
            VerifyTime::Now,
            Some(store(&[current_crl(&[], Some(idp(full_name(vec![uri(PART_A)]))))])),
        ),
    );
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    let by_issuer = idp(full_name(vec![GeneralName::DirectoryName(ca_name())]));
    let r =
        verify(&bare, &opts(VerifyTime::Now, Some(store(&[current_crl(&[], Some(by_issuer))]))));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
}

#[test]
fn partition_named_relative_to_the_crl_issuer() {
    // The certificate names its partition as a directoryName under the CA's name; the CRL
    // names it as nameRelativeToCRLIssuer (RFC 5280 §4.2.1.13, §5.2.5).
    let partition = Name::from_str(&format!("CN=Partition 7,{CA_DN}")).unwrap();
    let cert_dp = DistributionPoint {
        distribution_point: full_name(vec![GeneralName::DirectoryName(partition)]),
        reasons: None,
        crl_issuer: None,
    };
    let cms = signed(&valid_signer(13, Some(vec![cert_dp])), now());
    let rdn = |cn: &str| Name::from_str(cn).unwrap().iter_rdn().next().unwrap().clone();
    let relative = |cn: &str| Some(DistributionPointName::NameRelativeToCRLIssuer(rdn(cn)));
    let check = |crl: Vec<u8>| verify(&cms, &opts(VerifyTime::Now, Some(store(&[crl]))));
    let r = check(current_crl(&[], Some(idp(relative("CN=Partition 7")))));
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
    let r = check(current_crl(&[], Some(idp(relative("CN=Partition 8")))));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
}

#[test]
fn partitions_by_reason_must_cover_every_reason() {
    let cms = signed(&valid_signer(14, Some(vec![dp(PART_A)])), now());
    let compromise = {
        let mut i = idp(full_name(vec![uri(PART_A)]));
        i.only_some_reasons = Some(Reasons::KeyCompromise | Reasons::CaCompromise);
        i
    };
    let rest = {
        let mut i = idp(full_name(vec![uri(PART_A)]));
        i.only_some_reasons = Some(
            Reasons::AffiliationChanged
                | Reasons::Superseded
                | Reasons::CessationOfOperation
                | Reasons::CertificateHold
                | Reasons::PrivilegeWithdrawn
                | Reasons::AaCompromise,
        );
        i
    };
    let check = |crls: &[Vec<u8>]| verify(&cms, &opts(VerifyTime::Now, Some(store(crls))));
    // One reason partition alone cannot say `good`.
    let r = check(&[current_crl(&[], Some(compromise.clone()))]);
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    // Both partitions together can.
    let r = check(&[current_crl(&[], Some(compromise.clone())), current_crl(&[], Some(rest))]);
    expect(&r, Verdict::Valid, &[], RevocationStatus::Good);
    // A listing in any one of them revokes.
    let r =
        check(&[current_crl(&[entry(14, now() - Duration::days(1), Some(1))], Some(compromise))]);
    expect(&r, Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
}

#[test]
fn indirect_crls_are_unknown() {
    // The certificate says its CRLs come from another CRL issuer: the CA's own (direct)
    // CRL does not answer for it, and indirect CRLs are not supported.
    let other = Name::from_str("CN=Other CRL Issuer,O=pec verify_time,C=IT").unwrap();
    let cert_dp = DistributionPoint {
        distribution_point: full_name(vec![uri(PART_A)]),
        reasons: None,
        crl_issuer: Some(vec![GeneralName::DirectoryName(other)]),
    };
    let cms = signed(&valid_signer(15, Some(vec![cert_dp])), now());
    let r = verify(&cms, &opts(VerifyTime::Now, Some(store(&[current_crl(&[], None)]))));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
    // A CRL that declares itself indirect is never taken as an answer.
    let cms = signed(&valid_signer(16, Some(vec![dp(PART_A)])), now());
    let mut indirect = idp(full_name(vec![uri(PART_A)]));
    indirect.indirect_crl = true;
    let r = verify(&cms, &opts(VerifyTime::Now, Some(store(&[current_crl(&[], Some(indirect))]))));
    expect(&r, Verdict::Indeterminate, &[Reason::RevocationUnknown], RevocationStatus::Unknown);
}

struct Fetcher {
    calls: AtomicUsize,
    urls: Mutex<Vec<String>>,
    crls: Vec<(&'static str, Vec<u8>)>,
}

impl CrlFetcher for Fetcher {
    fn fetch(&self, url: &str) -> pec_core::Result<Vec<u8>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.urls.lock().unwrap().push(url.to_owned());
        self.crls
            .iter()
            .find(|(u, _)| *u == url)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| pec_core::Error::Io { path: url.into(), message: "404".into() })
    }
}

#[test]
fn fetched_crls_are_cached_per_distribution_point() {
    // Two certificates of one CA in two partitions. Partition A's CRL (no IDP) is clean;
    // partition B's revokes the second certificate. The CRL fetched for A must not answer
    // for B just because the issuer is the same.
    let a = signed(&valid_signer(17, Some(vec![dp(PART_A)])), now());
    let b = signed(&valid_signer(18, Some(vec![dp(PART_B)])), now());
    let fetcher = Arc::new(Fetcher {
        calls: AtomicUsize::new(0),
        urls: Mutex::new(Vec::new()),
        crls: vec![
            (PART_A, current_crl(&[], None)),
            (PART_B, current_crl(&[entry(18, now() - Duration::days(1), Some(1))], None)),
        ],
    });
    let mut crls = CrlStore::new();
    crls.set_fetcher(fetcher.clone());
    let o = opts(VerifyTime::Now, Some(crls));
    expect(&verify(&a, &o), Verdict::Valid, &[], RevocationStatus::Good);
    expect(&verify(&b, &o), Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
    assert_eq!(*fetcher.urls.lock().unwrap(), vec![PART_A.to_owned(), PART_B.to_owned()]);
    // Both answers now come from the cache.
    expect(&verify(&a, &o), Verdict::Valid, &[], RevocationStatus::Good);
    expect(&verify(&b, &o), Verdict::Invalid, &[Reason::Revoked], RevocationStatus::Revoked);
    assert_eq!(fetcher.calls.load(Ordering::SeqCst), 2);
    assert_eq!(o.crls.as_ref().unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Real messages keep verifying
// ---------------------------------------------------------------------------------------------

#[test]
fn real_aruba_receipts_are_judged_at_their_claimed_time() {
    let certs = std::path::Path::new("/etc/ssl/certs");
    let Some(dir) = pec_testkit::interop_dir() else { return };
    if !pec_testkit::require_path(certs) {
        return;
    }
    let mut trust = TrustStore::new();
    trust.add_dir(certs).unwrap();
    let trust = Arc::new(trust);
    for name in [
        "OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt",
        "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt",
    ] {
        let msg = std::fs::read(dir.join(name)).unwrap();
        let at = VerifyOptions {
            trust: trust.clone(),
            time: VerifyTime::SigningTime,
            ..VerifyOptions::default()
        };
        let r = pec_core::verify_message(&msg, &at).unwrap();
        assert_eq!(
            (r.verdict, r.time_source),
            (Verdict::Valid, TimeSource::SigningTimeClaimed),
            "{name}: {:?}",
            r.reasons
        );
        assert_eq!(r.evaluated_at, r.signing_time);
        let now = VerifyOptions { trust: trust.clone(), ..VerifyOptions::default() };
        let r = pec_core::verify_message(&msg, &now).unwrap();
        assert_eq!((r.verdict, r.time_source), (Verdict::Invalid, TimeSource::Now), "{name}");
        assert!(r.reasons.contains(&Reason::Expired), "{name}: {:?}", r.reasons);
    }
}

#[test]
fn unsigned_message_keeps_the_given_time_source() {
    let raw = b"From: a@pec.example.it\r\nTo: b@pec.example.it\r\nSubject: x\r\n\r\nbody\r\n";
    let given = ymd(2016, 3, 4);
    let r = pec_core::verify_message(raw, &opts(VerifyTime::At(given), None)).unwrap();
    assert_eq!((r.verdict, r.time_source), (Verdict::Invalid, TimeSource::Given), "{r:?}");
    assert_eq!(r.reasons, vec![Reason::NoSignature]);
    let r = pec_core::verify_message(raw, &opts(VerifyTime::Now, None)).unwrap();
    assert_eq!(r.time_source, TimeSource::Now);
}
