//! Seeds for the fuzz targets (`fuzz/`), generated on the test PKI: the hostile shapes of
//! issue 12 that a mutation-based fuzzer would hardly find by itself, each carrying the world
//! it is verified in (trust anchor, providers index, CRLs) after the bytes under test, so the
//! targets reach the binding, attribute, name and scope checks.
//!
//! The input format is the one of `fuzz/src/lib.rs`: `body [WORLD_MARKER section]...`.
//!
//! - `message`: genuine messages of the two providers, then the same altered outside the
//!   signed bytes: wrapped in an unsigned `multipart/mixed` with a new Subject, a third part in
//!   `multipart/signed`, a relabelled `X-Ricevuta` / `X-Trasporto`, `From:` with a comment, a
//!   group, two mailboxes, two fields, no `@` or none at all, a daticert naming another
//!   provider, a signer revoked by the world's CRL, a signer with a double-`@` SAN;
//! - `cms`: hand-made SignedData over `fuzz`'s fixed content with signed attributes as RFC
//!   5652 §5.3 forbids them (contentType missing or doubled, signingTime doubled, duplicated
//!   messageDigest), eContent together with the detached content, MD5, a signingTime in the
//!   future, a double-`@` SAN signer;
//! - `crl`: CRLs of a small hand-built CA (the world is the CA and two of its certificates)
//!   with issuingDistributionPoint (the certificate's partition, another one, onlySomeReasons,
//!   indirectCRL, onlyContainsCACerts / UserCerts), without nextUpdate, with invalidityDate and
//!   reasons.
//!
//! `cargo run -p pec-testkit --example fuzz-seeds -- DIR` writes them as `DIR/<target>/<name>`
//! (what `scripts/fuzz.sh` does before each run); `pec-core/tests/fuzz_replay.rs` runs them
//! through the targets' entry functions on stable.

use std::path::Path;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use chrono::{DateTime, Duration, TimeZone, Utc};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280 as oids;
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, Uint};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::{DistributionPoint, IssuingDistributionPoint, Reasons};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
    KeyUsages, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

use pec_core::build::{BuildRequest, Timeout};
use pec_core::crypto::DigestAlgorithm;
use pec_core::error::{CertificateError, Error, Result};
use pec_core::model::{MessageKind, ReceiptKind};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::signer::{Signer, SoftwareSigner};
use pec_core::smime::sign_detached;

use crate::pki::{Cert, Tbs, Validity, ext, pem, sha256_rsa, sign_with, time};
use crate::scenario::TwoProviders;

/// Separates an input's body from the sections of its world (`pec_fuzz::MARKER`).
pub const WORLD_MARKER: &[u8] = b"\0pec-fuzz-world\0";
/// The detached content the `cms` target verifies over (`pec_fuzz::CMS_CONTENT`).
pub const CMS_CONTENT: &[u8] = b"Content-Type: text/plain\r\n\r\nx\r\n";

/// One seed: the target it is for, a file name (what it shows), the input.
#[derive(Clone, Debug)]
pub struct Seed {
    /// `message`, `cms` or `crl`.
    pub target: &'static str,
    /// A file name saying what the seed is.
    pub name: String,
    /// The input (body and world sections).
    pub data: Vec<u8>,
}

fn bad(e: impl std::fmt::Display) -> Error {
    CertificateError::BadCertificate(format!("fuzz seeds: {e}")).into()
}

/// `body`, then each section after [`WORLD_MARKER`].
pub fn join(body: &[u8], sections: &[&[u8]]) -> Vec<u8> {
    let mut out = body.to_vec();
    for s in sections {
        out.extend_from_slice(WORLD_MARKER);
        out.extend_from_slice(s);
    }
    out
}

/// Every seed (generates keys: a few seconds in a debug build).
///
/// # Errors
/// Key generation, encoding, building or signing failure.
pub fn generate() -> Result<Vec<Seed>> {
    let two = TwoProviders::generate(3650)?;
    let mut seeds = message_seeds(&two)?;
    seeds.extend(cms_seeds(&two)?);
    seeds.extend(crl_seeds()?);
    Ok(seeds)
}

/// Writes every seed as `dir/<target>/<name>`; returns how many.
///
/// # Errors
/// As [`generate`], or a write failure.
pub fn write(dir: &Path) -> Result<usize> {
    let seeds = generate()?;
    for s in &seeds {
        let d = dir.join(s.target);
        std::fs::create_dir_all(&d).map_err(|e| Error::io(d.display(), &e))?;
        let p = d.join(&s.name);
        std::fs::write(&p, &s.data).map_err(|e| Error::io(p.display(), &e))?;
    }
    Ok(seeds.len())
}

// ---------------------------------------------------------------------------------------
// message

const EXAMPLE: &str = "Example PEC S.p.A.";
const OTHER: &str = "Other PEC S.r.l.";

fn provider(name: &str, domain: &str) -> Result<Provider> {
    Provider::new(
        name,
        domain,
        RecipientPolicy::CertifiedDomains(vec!["pec.example.it".into(), "pec.other.it".into()]),
    )
}

fn original(from: &str, to: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: prova\r\nMessage-ID: <v1@client.example.it>\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nTesto.\r\n"
    )
    .into_bytes()
}

fn header_end(msg: &[u8]) -> Result<usize> {
    msg.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 2).ok_or_else(|| bad("no header"))
}

/// Replaces the top-level field `name` (with its continuation lines) by `replacement`.
fn set_header(msg: &[u8], name: &str, replacement: &str) -> Result<Vec<u8>> {
    let end = header_end(msg)?;
    let head = std::str::from_utf8(&msg[..end]).map_err(bad)?;
    let start = head
        .match_indices(&format!("{name}:"))
        .map(|(i, _)| i)
        .find(|&i| i == 0 || head.as_bytes()[i - 1] == b'\n')
        .ok_or_else(|| bad(format!("no {name}:")))?;
    let line = |from: usize| head[from..].find("\r\n").map(|i| from + i + 2);
    let mut line_end = line(start).ok_or_else(|| bad("unterminated field"))?;
    while head.as_bytes().get(line_end).is_some_and(|b| *b == b' ' || *b == b'\t') {
        line_end = line(line_end).ok_or_else(|| bad("unterminated field"))?;
    }
    let mut out = msg[..start].to_vec();
    out.extend_from_slice(replacement.as_bytes());
    out.extend_from_slice(&msg[line_end..]);
    Ok(out)
}

/// The message as the second part of an unsigned multipart/mixed, next to an unsigned text
/// part, under a new Subject.
fn wrapped(env: &[u8]) -> Result<Vec<u8>> {
    let head = std::str::from_utf8(&env[..header_end(env)?]).map_err(bad)?;
    let from = head.lines().find(|l| l.starts_with("From:")).unwrap_or("From: x@pec.example.it");
    let mut out = format!(
        "{from}\r\nTo: ufficio@pec.other.it\r\nSubject: URGENTE: our IBAN changed\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"wrap\"\r\n\r\n\
         --wrap\r\nContent-Type: text/plain\r\n\r\nOur IBAN changed: IT00X0000000000000000000000\r\n\
         --wrap\r\n"
    )
    .into_bytes();
    out.extend_from_slice(env);
    out.extend_from_slice(b"\r\n--wrap--\r\n");
    Ok(out)
}

/// A third part just before the close delimiter of the top-level multipart/signed.
fn with_third_part(env: &[u8]) -> Result<Vec<u8>> {
    let head = std::str::from_utf8(&env[..header_end(env)?]).map_err(bad)?;
    let ct = head.find("boundary=\"").ok_or_else(|| bad("no boundary"))? + "boundary=\"".len();
    let boundary = &head[ct..ct + head[ct..].find('"').ok_or_else(|| bad("no boundary"))?];
    let close = format!("\r\n--{boundary}--");
    let at = env
        .windows(close.len())
        .rposition(|w| w == close.as_bytes())
        .ok_or_else(|| bad("no close delimiter"))?;
    let mut out = env[..at].to_vec();
    out.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nOur IBAN changed.").as_bytes(),
    );
    out.extend_from_slice(&env[at..]);
    Ok(out)
}

fn message_seeds(two: &TwoProviders) -> Result<Vec<Seed>> {
    let example = provider(EXAMPLE, "pec.example.it")?;
    let other = provider(OTHER, "pec.other.it")?;
    let signers = [two.signer(0)?, two.signer(1)?];
    let build =
        |p: &Provider, signer: &dyn Signer, req: &BuildRequest<'_>| p.build(req, Some(signer));
    let envelope_by = |p: &Provider, signer: &dyn Signer, from: &str, to: &str| {
        let orig = original(from, to);
        let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
        req.original = Some(&orig);
        build(p, signer, &req)
    };
    let env =
        envelope_by(&example, &signers[0], "mario.rossi@pec.example.it", "ufficio@pec.other.it")?;
    let other_env =
        envelope_by(&other, &signers[1], "luigi.bianchi@pec.other.it", "ufficio@pec.example.it")?;
    let orig = original("mario.rossi@pec.example.it", "ufficio@pec.other.it");
    let mut req = BuildRequest::new(MessageKind::Receipt(ReceiptKind::Acceptance));
    req.original = Some(&orig);
    let acceptance = build(&example, &signers[0], &req)?;
    let mut req = BuildRequest::new(MessageKind::Receipt(ReceiptKind::Delivery));
    req.envelope = Some(&env);
    req.recipients = vec!["ufficio@pec.other.it".into()];
    req.timeout = Some(Timeout::H12);
    let delivery = build(&other, &signers[1], &req)?;
    // Other delivers for a mailbox it does not host
    let mut req = BuildRequest::new(MessageKind::Receipt(ReceiptKind::Delivery));
    req.envelope = Some(&other_env);
    req.recipients = vec!["ufficio@pec.example.it".into()];
    let foreign_delivery = build(&other, &signers[1], &req)?;
    // Other signs an envelope naming Example as gestore-emittente, for Example's user
    let on_behalf = envelope_by(
        &provider(EXAMPLE, "pec.other.it")?,
        &signers[1],
        "mario.rossi@pec.example.it",
        "ufficio@pec.other.it",
    )?;
    // a signer under the PEC CA whose SAN passes the name constraint only split at the last @
    let double_at = double_at_signer(two)?;
    let double_at_env =
        envelope_by(&example, &double_at, "mario.rossi@pec.example.it", "ufficio@pec.other.it")?;

    let from = |v: &str| set_header(&other_env, "From", v);
    let mut bodies: Vec<(&str, Vec<u8>)> = vec![
        ("envelope.eml", env.clone()),
        ("other-envelope.eml", other_env.clone()),
        ("acceptance.eml", acceptance.clone()),
        ("delivery.eml", delivery),
        ("wrapped-envelope.eml", wrapped(&env)?),
        ("signed-three-parts.eml", with_third_part(&env)?),
        ("wrapped-signed-three-parts.eml", wrapped(&with_third_part(&env)?)?),
        (
            "relabelled-x-ricevuta.eml",
            set_header(&acceptance, "X-Ricevuta", "X-Ricevuta: avvenuta-consegna\r\n")?,
        ),
        ("relabelled-x-trasporto.eml", set_header(&env, "X-Trasporto", "X-Trasporto: errore\r\n")?),
        ("from-missing.eml", from("")?),
        (
            "from-comment.eml",
            from(
                "From: posta-certificata@pec.example.it (via <posta-certificata@pec.other.it>)\r\n",
            )?,
        ),
        ("from-group.eml", from("From: PEC: <posta-certificata@pec.other.it>;\r\n")?),
        (
            "from-two-mailboxes.eml",
            from("From: direzione@pec.example.it, <posta-certificata@pec.other.it>\r\n")?,
        ),
        (
            "from-two-fields.eml",
            from("From: posta-certificata@pec.other.it\r\nFrom: direzione@pec.example.it\r\n")?,
        ),
        ("from-no-at.eml", from("From: Posta Certificata <posta-certificata>\r\n")?),
        (
            "from-obsolete-route.eml",
            from(
                "From: \"Per conto di: a@pec.example.it\" <@relay.example.it:posta-certificata@pec.other.it>\r\n",
            )?,
        ),
        (
            "from-folded-quoted.eml",
            from(
                "From: \"posta-certificata@pec.other.it\"\r\n (x) <direzione@pec.example.it>\r\n",
            )?,
        ),
        ("daticert-on-behalf.eml", on_behalf),
        ("daticert-foreign-delivery.eml", foreign_delivery),
        ("double-at-san.eml", double_at_env),
    ];
    let root = two.pki.root.cert_pem();
    let ldif = two.ldif();
    let mut crls = pem("X509 CRL", &two.pki.crl_der);
    crls.push_str(&pem("X509 CRL", &two.pki.root_crl_der));
    let now = Utc::now();
    let revoking = two.pki.crl_revoking(
        &[&two.pki.providers[0].serial],
        now - Duration::hours(1),
        now + Duration::days(3650),
    )?;
    let mut revoked_crls = pem("X509 CRL", &revoking);
    revoked_crls.push_str(&pem("X509 CRL", &two.pki.root_crl_der));

    let mut seeds: Vec<Seed> = bodies
        .drain(..)
        .map(|(name, body)| Seed {
            target: "message",
            name: name.to_string(),
            data: join(&body, &[root.as_bytes(), ldif.as_bytes(), crls.as_bytes()]),
        })
        .collect();
    seeds.push(Seed {
        target: "message",
        name: "revoked-signer.eml".into(),
        data: join(&env, &[root.as_bytes(), ldif.as_bytes(), revoked_crls.as_bytes()]),
    });
    Ok(seeds)
}

// ---------------------------------------------------------------------------------------
// certificates of our own shape under the test PKI

struct Key {
    pkcs8: Vec<u8>,
    spki: SubjectPublicKeyInfoOwned,
}

fn new_key() -> Result<Key> {
    let key = KeyPair::generate(KeySize::Rsa2048).map_err(bad)?;
    let pkcs8 = key.as_der().map_err(bad)?.as_ref().to_vec();
    let spki = aws_lc_rs::signature::KeyPair::public_key(&key).as_der().map_err(bad)?;
    Ok(Key { pkcs8, spki: SubjectPublicKeyInfoOwned::from_der(spki.as_ref()).map_err(bad)? })
}

fn ski_of(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    DigestAlgorithm::Sha1.digest(spki.subject_public_key.raw_bytes())
}

fn key_ids(
    subject: &SubjectPublicKeyInfoOwned,
    issuer: &SubjectPublicKeyInfoOwned,
) -> Result<Vec<Extension>> {
    Ok(vec![
        ext(
            oids::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(OctetString::new(ski_of(subject)).map_err(bad)?),
        )?,
        ext(
            oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(ski_of(issuer)).map_err(bad)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ])
}

/// A certificate of `subject` for `key`, issued by `issuer` (its name, SPKI and PKCS#8 key).
#[allow(clippy::too_many_arguments)]
fn issue_cert(
    subject: Name,
    key: &SubjectPublicKeyInfoOwned,
    issuer: (&Name, &SubjectPublicKeyInfoOwned, &[u8]),
    serial: &[u8],
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    mut extensions: Vec<Extension>,
) -> Result<Vec<u8>> {
    let mut all = key_ids(key, issuer.1)?;
    all.append(&mut extensions);
    let tbs = Tbs {
        version: 2,
        serial: Uint::new(serial).map_err(bad)?,
        signature: sha256_rsa(),
        issuer: issuer.0.clone(),
        validity: Validity { not_before: time(not_before)?, not_after: time(not_after)? },
        subject,
        spki: key.clone(),
        extensions: all,
    };
    let sig = sign_with(issuer.2, &tbs.to_der().map_err(bad)?)?;
    Cert { tbs, algorithm: sha256_rsa(), signature: BitString::from_bytes(&sig).map_err(bad)? }
        .to_der()
        .map_err(bad)
}

/// A signer whose certificate, under the test PKI's PEC CA, has the SAN
/// `ceo@evil.example.com@pec.example.it`.
fn double_at_signer(two: &TwoProviders) -> Result<SoftwareSigner> {
    let ca = x509_cert::Certificate::from_der(&two.pki.ca.cert_der).map_err(bad)?;
    let ca_tbs = ca.tbs_certificate();
    let key = new_key()?;
    let now = Utc::now();
    let subject =
        Name::from_str("CN=Posta Certificata doubleat,O=Example PEC S.p.A.,C=IT").map_err(bad)?;
    let cert = issue_cert(
        subject,
        &key.spki,
        (ca_tbs.subject(), ca_tbs.subject_public_key_info(), &two.pki.ca.key_pkcs8),
        &[0x12, 0x34],
        now - Duration::days(1),
        now + Duration::days(3650),
        vec![
            ext(
                oids::ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            )?,
            ext(
                oids::ID_CE_EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![oids::ID_KP_EMAIL_PROTECTION]),
            )?,
            ext(
                oids::ID_CE_SUBJECT_ALT_NAME,
                false,
                &SubjectAltName(vec![GeneralName::Rfc822Name(
                    Ia5String::new("ceo@evil.example.com@pec.example.it").map_err(bad)?,
                )]),
            )?,
        ],
    )?;
    SoftwareSigner::from_der(&key.pkcs8, cert, vec![two.pki.ca.cert_der.clone()])
}

// ---------------------------------------------------------------------------------------
// cms: a DER writer for hand-made SignedData

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

fn oid(s: &str) -> Result<Vec<u8>> {
    ObjectIdentifier::new(s).map_err(bad)?.to_der().map_err(bad)
}

/// AlgorithmIdentifier with NULL parameters.
fn alg(s: &str) -> Result<Vec<u8>> {
    Ok(tlv(0x30, &[oid(s)?, vec![0x05, 0x00]].concat()))
}

const ID_DATA: &str = "1.2.840.113549.1.7.1";
const ID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const MD5: &str = "1.2.840.113549.2.5";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";

fn attr(id: &str, values: &[Vec<u8>]) -> Result<Vec<u8>> {
    Ok(tlv(0x30, &[oid(id)?, tlv(0x31, &values.concat())].concat()))
}

fn utc_time(t: DateTime<Utc>) -> Vec<u8> {
    tlv(0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
}

/// A hand-made SignedData: `attrs` exactly as given (signed over their SET OF encoding),
/// `digest_alg` in the SignerInfo, `econtent` encapsulated when given.
fn hand_cms(
    signer: &dyn Signer,
    attrs: &[Vec<u8>],
    digest_alg: &str,
    econtent: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let cert = x509_cert::Certificate::from_der(signer.certificate()).map_err(bad)?;
    let tbs = cert.tbs_certificate();
    let sid = tlv(
        0x30,
        &[tbs.issuer().to_der().map_err(bad)?, tbs.serial_number().to_der().map_err(bad)?].concat(),
    );
    let attrs = attrs.concat();
    let signature = signer.sign(&tlv(0x31, &attrs))?;
    let signer_info = tlv(
        0x30,
        &[
            vec![0x02, 0x01, 0x01],
            sid,
            alg(digest_alg)?,
            tlv(0xA0, &attrs),
            alg(RSA_ENCRYPTION)?,
            tlv(0x04, &signature),
        ]
        .concat(),
    );
    let mut encap = oid(ID_DATA)?;
    if let Some(c) = econtent {
        encap.extend(tlv(0xA0, &tlv(0x04, c)));
    }
    let mut certs = signer.certificate().to_vec();
    for c in signer.chain() {
        certs.extend_from_slice(c);
    }
    let signed_data = tlv(
        0x30,
        &[
            vec![0x02, 0x01, 0x01],
            tlv(0x31, &alg(digest_alg)?),
            tlv(0x30, &encap),
            tlv(0xA0, &certs),
            tlv(0x31, &signer_info),
        ]
        .concat(),
    );
    Ok(tlv(0x30, &[oid(ID_SIGNED_DATA)?, tlv(0xA0, &signed_data)].concat()))
}

fn cms_seeds(two: &TwoProviders) -> Result<Vec<Seed>> {
    let signer = two.signer(0)?;
    let now = Utc::now();
    let ct = || attr(CONTENT_TYPE, &[oid(ID_DATA)?]);
    let md = |c: &[u8]| attr(MESSAGE_DIGEST, &[tlv(0x04, &DigestAlgorithm::Sha256.digest(c))]);
    let st = |t: DateTime<Utc>| attr(SIGNING_TIME, &[utc_time(t)]);
    let usual = vec![ct()?, md(CMS_CONTENT)?, st(now)?];
    let past = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).single().unwrap_or(now);
    let with = |i: usize, a: Vec<u8>| {
        let mut v = usual.clone();
        v[i] = a;
        v
    };
    let plus = |a: Vec<u8>| {
        let mut v = usual.clone();
        v.push(a);
        v
    };
    let h = |attrs: &[Vec<u8>]| hand_cms(&signer, attrs, SHA256, None);
    let mut bodies: Vec<(&str, Vec<u8>)> = vec![
        ("sign-detached.der", sign_detached(CMS_CONTENT, &signer, now)?),
        ("hand-baseline.der", h(&usual)?),
        ("content-type-missing.der", h(&usual[1..])?),
        (
            "content-type-two-values.der",
            h(&with(0, attr(CONTENT_TYPE, &[oid(ID_DATA)?, oid(ID_DATA)?])?))?,
        ),
        ("content-type-twice.der", h(&plus(ct()?))?),
        (
            "signing-time-two-values.der",
            h(&with(2, attr(SIGNING_TIME, &[utc_time(past), utc_time(now)])?))?,
        ),
        ("signing-time-twice.der", h(&plus(st(past)?))?),
        ("message-digest-twice.der", h(&plus(md(CMS_CONTENT)?))?),
        (
            "message-digest-two-values.der",
            h(&with(
                1,
                attr(
                    MESSAGE_DIGEST,
                    &[
                        tlv(0x04, &DigestAlgorithm::Sha256.digest(CMS_CONTENT)),
                        tlv(0x04, &DigestAlgorithm::Sha256.digest(b"other")),
                    ],
                )?,
            ))?,
        ),
        ("econtent-and-detached.der", hand_cms(&signer, &usual, SHA256, Some(CMS_CONTENT))?),
        (
            "econtent-other-and-detached.der",
            hand_cms(&signer, &[ct()?, md(b"other")?, st(now)?], SHA256, Some(b"other"))?,
        ),
        (
            "md5-digest.der",
            hand_cms(
                &signer,
                &with(1, attr(MESSAGE_DIGEST, &[tlv(0x04, &[0u8; 16])])?),
                MD5,
                None,
            )?,
        ),
        ("signing-time-future.der", h(&with(2, st(now + Duration::days(400))?))?),
        ("signing-time-2015.der", h(&with(2, st(past)?))?),
        ("double-at-san.der", sign_detached(CMS_CONTENT, &double_at_signer(two)?, now)?),
    ];
    let root = two.pki.root.cert_pem();
    let ldif = two.ldif();
    let mut crls = pem("X509 CRL", &two.pki.crl_der);
    crls.push_str(&pem("X509 CRL", &two.pki.root_crl_der));
    Ok(bodies
        .drain(..)
        .map(|(name, body)| Seed {
            target: "cms",
            name: name.to_string(),
            data: join(&body, &[root.as_bytes(), ldif.as_bytes(), crls.as_bytes()]),
        })
        .collect())
}

// ---------------------------------------------------------------------------------------
// crl: a CA that is its own trust anchor, two certificates, CRLs of every scope

const CRL_CA_DN: &str = "CN=Fuzz CRL CA,O=pec fuzz seeds,C=IT";
const PART_A: &str = "http://crl.fuzz-seeds.invalid/part-a.crl";
const PART_B: &str = "http://crl.fuzz-seeds.invalid/part-b.crl";

fn ymd(y: i32, m: u32, d: u32) -> Result<DateTime<Utc>> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).single().ok_or_else(|| bad("date"))
}

fn uri(u: &str) -> Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(u).map_err(bad)?))
}

fn idp(part: Option<&str>) -> Result<IssuingDistributionPoint> {
    Ok(IssuingDistributionPoint {
        distribution_point: match part {
            Some(p) => Some(DistributionPointName::FullName(vec![uri(p)?])),
            None => None,
        },
        only_contains_user_certs: false,
        only_contains_ca_certs: false,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    })
}

/// One CRL entry: serial, revocation date, CRLReason code, invalidityDate.
type Entry = (Vec<u8>, DateTime<Utc>, Option<u8>, Option<DateTime<Utc>>);

fn make_crl(
    ca: (&Name, &Key),
    next_update: Option<DateTime<Utc>>,
    entries: &[Entry],
    idp: Option<IssuingDistributionPoint>,
) -> Result<Vec<u8>> {
    let mut revoked: Vec<RevokedCert> = Vec::new();
    for (serial, date, reason, invalidity) in entries {
        let mut exts = Vec::new();
        if let Some(r) = reason {
            exts.push(Extension {
                extn_id: oids::ID_CE_CRL_REASONS,
                critical: false,
                extn_value: OctetString::new(vec![0x0a, 0x01, *r]).map_err(bad)?,
            });
        }
        if let Some(t) = invalidity {
            let secs = u64::try_from(t.timestamp()).map_err(bad)?;
            let g = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
                .map_err(bad)?;
            exts.push(ext(oids::ID_CE_INVALIDITY_DATE, false, &g)?);
        }
        revoked.push(RevokedCert {
            serial_number: SerialNumber::new(serial).map_err(bad)?,
            revocation_date: time(*date)?,
            crl_entry_extensions: if exts.is_empty() { None } else { Some(exts) },
        });
    }
    let mut crl_exts = vec![ext(
        oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
        false,
        &AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(ski_of(&ca.1.spki)).map_err(bad)?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        },
    )?];
    if let Some(idp) = idp {
        crl_exts.push(ext(oids::ID_CE_ISSUING_DISTRIBUTION_POINT, true, &idp)?);
    }
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: sha256_rsa(),
        issuer: ca.0.clone(),
        this_update: time(ymd(2025, 1, 1)?)?,
        next_update: next_update.map(time).transpose()?,
        revoked_certificates: if revoked.is_empty() { None } else { Some(revoked) },
        crl_extensions: Some(crl_exts),
    };
    let sig = sign_with(&ca.1.pkcs8, &tbs.to_der().map_err(bad)?)?;
    CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: sha256_rsa(),
        signature: BitString::from_bytes(&sig).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

fn crl_seeds() -> Result<Vec<Seed>> {
    let ca_key = new_key()?;
    let leaf_key = new_key()?;
    let ca_name = Name::from_str(CRL_CA_DN).map_err(bad)?;
    let (nb, na) = (ymd(2020, 1, 1)?, ymd(2040, 1, 1)?);
    let ca_cert = issue_cert(
        ca_name.clone(),
        &ca_key.spki,
        (&ca_name, &ca_key.spki, &ca_key.pkcs8),
        &[1],
        nb,
        na,
        vec![
            ext(
                oids::ID_CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints { ca: true, path_len_constraint: None },
            )?,
            ext(
                oids::ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            )?,
        ],
    )?;
    let leaf = |serial: u8, dps: Option<Vec<DistributionPoint>>| -> Result<Vec<u8>> {
        let mut exts = vec![
            ext(
                oids::ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            )?,
            ext(
                oids::ID_CE_SUBJECT_ALT_NAME,
                false,
                &SubjectAltName(vec![GeneralName::Rfc822Name(
                    Ia5String::new("posta-certificata@pec.fuzz-seeds.it").map_err(bad)?,
                )]),
            )?,
        ];
        if let Some(dps) = dps {
            exts.push(ext(
                oids::ID_CE_CRL_DISTRIBUTION_POINTS,
                false,
                &CrlDistributionPoints(dps),
            )?);
        }
        let subject = Name::from_str(&format!("CN=Posta Certificata {serial},O=Fuzz PEC,C=IT"))
            .map_err(bad)?;
        issue_cert(
            subject,
            &leaf_key.spki,
            (&ca_name, &ca_key.spki, &ca_key.pkcs8),
            &[0x40, serial],
            nb,
            na,
            exts,
        )
    };
    let dp = |u: &str| -> Result<DistributionPoint> {
        Ok(DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![uri(u)?])),
            reasons: None,
            crl_issuer: None,
        })
    };
    let in_part_a = leaf(1, Some(vec![dp(PART_A)?]))?;
    let no_dp = leaf(2, None)?;
    let two_parts = leaf(3, Some(vec![dp(PART_A)?, dp(PART_B)?]))?;

    let revoked_on = ymd(2025, 6, 1)?;
    let all = |reason: Option<u8>, invalidity: Option<DateTime<Utc>>| -> Vec<Entry> {
        (1..=3).map(|s| (vec![0x40, s], revoked_on, reason, invalidity)).collect()
    };
    let next = Some(ymd(2035, 1, 1)?);
    let ca = (&ca_name, &ca_key);
    let with_idp = |f: &dyn Fn(&mut IssuingDistributionPoint)| -> Result<IssuingDistributionPoint> {
        let mut i = idp(Some(PART_A))?;
        f(&mut i);
        Ok(i)
    };
    let crls: Vec<(&str, Vec<u8>)> = vec![
        ("empty.crl", make_crl(ca, next, &[], None)?),
        ("revoked-key-compromise.crl", make_crl(ca, next, &all(Some(1), None), None)?),
        ("revoked-no-reason.crl", make_crl(ca, next, &all(None, None), None)?),
        ("revoked-superseded.crl", make_crl(ca, next, &all(Some(4), None), None)?),
        (
            "revoked-invalidity-date.crl",
            make_crl(ca, next, &all(Some(4), Some(ymd(2025, 2, 1)?)), None)?,
        ),
        ("no-next-update.crl", make_crl(ca, None, &all(Some(1), None), None)?),
        ("no-next-update-empty.crl", make_crl(ca, None, &[], None)?),
        ("stale.crl", make_crl(ca, Some(ymd(2025, 2, 1)?), &[], None)?),
        ("idp-part-a.crl", make_crl(ca, next, &all(Some(1), None), Some(idp(Some(PART_A))?))?),
        (
            "idp-other-partition.crl",
            make_crl(ca, next, &all(Some(1), None), Some(idp(Some(PART_B))?))?,
        ),
        ("idp-no-name-empty.crl", make_crl(ca, next, &[], Some(idp(None)?))?),
        (
            "idp-only-some-reasons.crl",
            make_crl(
                ca,
                next,
                &all(Some(1), None),
                Some(with_idp(&|i| {
                    i.only_some_reasons = Some(Reasons::KeyCompromise | Reasons::CaCompromise)
                })?),
            )?,
        ),
        (
            "idp-only-some-reasons-empty.crl",
            make_crl(
                ca,
                next,
                &[],
                Some(with_idp(&|i| i.only_some_reasons = Some(Reasons::KeyCompromise.into()))?),
            )?,
        ),
        (
            "idp-indirect.crl",
            make_crl(ca, next, &all(Some(1), None), Some(with_idp(&|i| i.indirect_crl = true)?))?,
        ),
        (
            "idp-only-ca-certs.crl",
            make_crl(
                ca,
                next,
                &all(Some(1), None),
                Some(with_idp(&|i| i.only_contains_ca_certs = true)?),
            )?,
        ),
        (
            "idp-only-user-certs.crl",
            make_crl(ca, next, &[], Some(with_idp(&|i| i.only_contains_user_certs = true)?))?,
        ),
        (
            "idp-only-attribute-certs.crl",
            make_crl(ca, next, &[], Some(with_idp(&|i| i.only_contains_attribute_certs = true)?))?,
        ),
    ];
    let mut seeds = Vec::new();
    for (name, der) in crls {
        seeds.push(Seed {
            target: "crl",
            name: name.to_string(),
            data: join(&der, &[&ca_cert, &in_part_a, &no_dp, &two_parts]),
        });
    }
    // the same in PEM, one with the anchor and certificates in PEM too
    let crl_pem =
        pem("X509 CRL", &make_crl(ca, next, &all(Some(1), Some(ymd(2025, 2, 1)?)), None)?);
    let ca_pem = pem("CERTIFICATE", &ca_cert);
    let leaf_pem = pem("CERTIFICATE", &in_part_a);
    seeds.push(Seed {
        target: "crl",
        name: "pem.crl".into(),
        data: join(crl_pem.as_bytes(), &[ca_pem.as_bytes(), leaf_pem.as_bytes()]),
    });
    Ok(seeds)
}
