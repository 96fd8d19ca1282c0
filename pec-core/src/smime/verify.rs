//! CMS SignedData verification, signature layer (RFC 5652 §5.4, §5.6; RFC 6109 §2.2.2, §7;
//! docs/SPEC.md §7.3), then the certificate path and the providers index.
//!
//! The CMS is walked by offsets with the bounded reader of [`super::ber`]: DER and BER with
//! indefinite lengths (streamed signatures) are accepted; the RSA signature is checked over
//! the signed attributes exactly as received, re-tagged as SET (0x31), never re-encoded.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use const_oid::ObjectIdentifier;

use super::ber::{BerResult, Malformed, Tlv, tag};
use super::{ProviderSummary, Reason, VerificationReport, VerifyOptions, VerifyTime, oid};
use crate::chain::Purpose;
use crate::crypto::{self, DigestAlgorithm, Hasher};

/// Largest detached CMS structure accepted by [`verify_detached`] (16 MiB; a real
/// `smime.p7s` with a full chain is under 10 KiB). Larger input gives `malformed-signature`.
pub const MAX_CMS_SIZE: usize = 16 * 1024 * 1024;

/// Largest CMS with encapsulated content accepted by [`verify_attached`] (64 MiB: the signed
/// providers index carries the whole LDIF).
pub const MAX_ATTACHED_CMS_SIZE: usize = 64 * 1024 * 1024;

/// Most signer infos, certificates or signed attributes looked at in one structure.
const MAX_ITEMS: usize = 256;

/// How far a signingTime may lie after the verifier's clock before it is
/// `signing-time-in-future`.
const MAX_SIGNING_TIME_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Verifies a detached CMS signature (`smime.p7s`, DER; the caller decodes the base64) over
/// `content`, the signed bytes: the first part of `multipart/signed` exactly as on the wire
/// (docs/SPEC.md §4).
///
/// Steps (docs/SPEC.md §7.3): decode (`malformed-signature` on any decoding failure, a
/// structure that is not SignedData, no SignerInfo, signed attributes without messageDigest
/// or contentType or with one of messageDigest, contentType, signingTime repeated or
/// multi-valued (RFC 5652 §5.3, §11), a signed contentType other than the eContentType, an
/// eContent next to the detached `content`, or a signer
/// certificate that is not among the embedded `certificates`, which PEC requires, RFC 6109
/// §2.1); the first SignerInfo's messageDigest is compared with the digest of `content`,
/// then of its CRLF-canonicalised form (mail stored with LF; `canonicalized` is set), then of
/// its LF form (content signed with `-binary` over LF text, stored with CRLF)
/// (`content-mismatch`); the RSA signature over the signed attributes (or over the content
/// when there are none) is verified (`bad-signature`, also for digest or signature
/// algorithms other than SHA-1/256/384/512 with RSA); then the certificate path at the
/// instant chosen by `opts.time` and, when `opts.index` is given, the providers index
/// (`not-in-index`, `from-domain-mismatch` against `from_domain`). Weak algorithms and keys of
/// the signature and of the path are listed in `weaknesses` without changing the verdict.
pub fn verify_detached(
    content: &[u8],
    cms_der: &[u8],
    from_domain: Option<&str>,
    opts: &VerifyOptions,
) -> VerificationReport {
    if cms_der.len() > MAX_CMS_SIZE {
        return VerificationReport::from_reasons(vec![Reason::MalformedSignature]);
    }
    verify_cms(Some(content), cms_der, from_domain, opts, Purpose::EmailSigning).0
}

/// Verifies a CMS with encapsulated content (a `.p7m`, DER) and returns the report and the
/// content (`None` when the structure could not be decoded or carries no content, reported as
/// `malformed-signature`). Same checks as [`verify_detached`], without a `From:` domain.
pub fn verify_attached(
    cms_der: &[u8],
    opts: &VerifyOptions,
) -> (VerificationReport, Option<Vec<u8>>) {
    if cms_der.len() > MAX_ATTACHED_CMS_SIZE {
        return (VerificationReport::from_reasons(vec![Reason::MalformedSignature]), None);
    }
    verify_cms(None, cms_der, None, opts, Purpose::EmailSigning)
}

/// [`verify_attached`] for a signer certificate used for `purpose` (an RFC 3161 token is
/// signed by a certificate with the timeStamping extended key usage, [`Purpose::TimeStamping`]).
pub fn verify_attached_for(
    cms_der: &[u8],
    opts: &VerifyOptions,
    purpose: Purpose,
) -> (VerificationReport, Option<Vec<u8>>) {
    if cms_der.len() > MAX_ATTACHED_CMS_SIZE {
        return (VerificationReport::from_reasons(vec![Reason::MalformedSignature]), None);
    }
    verify_cms(None, cms_der, None, opts, purpose)
}

/// The signer identifier of a SignerInfo.
enum Sid<'a> {
    /// Raw DER of the issuer Name and the INTEGER content of the serial number.
    IssuerSerial { issuer: &'a [u8], serial: &'a [u8] },
    /// SubjectKeyIdentifier octets.
    Ski(&'a [u8]),
}

/// The parts of the first SignerInfo that verification needs.
struct SignerInfoView<'a> {
    sid: Sid<'a>,
    digest_alg: ObjectIdentifier,
    /// The whole `[0] IMPLICIT` signed attributes TLV, as received.
    signed_attrs: Option<Tlv<'a>>,
    signature_alg: ObjectIdentifier,
    signature: Cow<'a, [u8]>,
}

/// The parts of a SignedData that verification needs.
struct SignedDataView<'a> {
    econtent_type: ObjectIdentifier,
    econtent: Option<Cow<'a, [u8]>>,
    certificates: Vec<&'a [u8]>,
    signer: SignerInfoView<'a>,
}

/// The parts of a certificate needed to match a SignerIdentifier and check a signature.
struct CertView<'a> {
    issuer: &'a [u8],
    serial: &'a [u8],
    spki_alg: ObjectIdentifier,
    public_key: &'a [u8],
    ski: Option<&'a [u8]>,
}

/// Signed attributes of interest.
struct Attrs<'a> {
    content_type: Option<ObjectIdentifier>,
    message_digest: Cow<'a, [u8]>,
    signing_time: Option<DateTime<Utc>>,
}

/// The identifiers every PEC signature carries (SignedData, data, the signed attributes,
/// SHA-256, RSA): recognised by their encoding, which [`ObjectIdentifier::from_bytes`] would
/// give back unchanged. (Certificate extensions never come here: [`find_ski`] compares their
/// identifiers by encoding.)
const COMMON_OIDS: [ObjectIdentifier; 8] = [
    oid::ID_SIGNED_DATA,
    oid::ID_DATA,
    oid::CONTENT_TYPE,
    oid::MESSAGE_DIGEST,
    oid::SIGNING_TIME,
    oid::ID_SHA256,
    oid::RSA_ENCRYPTION,
    oid::SHA256_WITH_RSA,
];

fn oid_of(t: Tlv<'_>) -> BerResult<ObjectIdentifier> {
    let t = t.expect(tag::OID, "expected an OBJECT IDENTIFIER")?;
    if let Some(known) = COMMON_OIDS.iter().find(|o| o.as_bytes() == t.content) {
        return Ok(*known);
    }
    ObjectIdentifier::from_bytes(t.content).map_err(|_| Malformed("bad OBJECT IDENTIFIER"))
}

/// The OID of an AlgorithmIdentifier (parameters ignored).
fn algorithm_oid(t: Tlv<'_>) -> BerResult<ObjectIdentifier> {
    let t = t.expect(tag::SEQUENCE, "expected an AlgorithmIdentifier")?;
    oid_of(t.children().next_required("empty AlgorithmIdentifier")?)
}

fn parse_content_info(cms: &[u8]) -> BerResult<SignedDataView<'_>> {
    let ci = Tlv::parse_exact(cms)?.expect(tag::SEQUENCE, "ContentInfo is not a SEQUENCE")?;
    let mut it = ci.children();
    if oid_of(it.next_required("ContentInfo without contentType")?)? != oid::ID_SIGNED_DATA {
        return Err(Malformed("content type is not SignedData"));
    }
    let explicit =
        it.next_required("ContentInfo without content")?.expect(tag::CTX0, "bad content")?;
    let sd = explicit.children().next_required("empty content")?;
    parse_signed_data(sd)
}

fn parse_signed_data(sd: Tlv<'_>) -> BerResult<SignedDataView<'_>> {
    let sd = sd.expect(tag::SEQUENCE, "SignedData is not a SEQUENCE")?;
    let mut it = sd.children();
    it.next_required("SignedData without version")?.expect(tag::INTEGER, "bad version")?;
    it.next_required("SignedData without digestAlgorithms")?.expect(tag::SET, "bad digests")?;
    let encap = it
        .next_required("SignedData without encapContentInfo")?
        .expect(tag::SEQUENCE, "bad encapContentInfo")?;
    let mut eit = encap.children();
    let econtent_type = oid_of(eit.next_required("encapContentInfo without eContentType")?)?;
    let econtent = match eit.next_if(tag::CTX0)? {
        Some(explicit) => Some(explicit.children().next_required("empty eContent")?.octets()?),
        None => None,
    };
    let mut certificates = Vec::new();
    if let Some(certs) = it.next_if(tag::CTX0)? {
        for c in certs.children().take(MAX_ITEMS) {
            let c = c?;
            // Only X.509 certificates (SEQUENCE); attribute and other certificates skipped.
            if c.tag == tag::SEQUENCE {
                certificates.push(c.raw);
            }
        }
    }
    it.next_if(tag::CTX1)?; // crls: not used here (revocation takes CRLs from the caller)
    let infos =
        it.next_required("SignedData without signerInfos")?.expect(tag::SET, "bad signerInfos")?;
    let first = infos.children().next_required("no SignerInfo")?;
    let signer = parse_signer_info(first)?;
    Ok(SignedDataView { econtent_type, econtent, certificates, signer })
}

fn parse_signer_info(si: Tlv<'_>) -> BerResult<SignerInfoView<'_>> {
    let si = si.expect(tag::SEQUENCE, "SignerInfo is not a SEQUENCE")?;
    let mut it = si.children();
    it.next_required("SignerInfo without version")?.expect(tag::INTEGER, "bad version")?;
    let sid_tlv = it.next_required("SignerInfo without sid")?;
    let sid = match sid_tlv.tag {
        tag::SEQUENCE => {
            let mut s = sid_tlv.children();
            let issuer =
                s.next_required("sid without issuer")?.expect(tag::SEQUENCE, "bad issuer")?;
            let serial =
                s.next_required("sid without serial")?.expect(tag::INTEGER, "bad serial")?;
            Sid::IssuerSerial { issuer: issuer.raw, serial: serial.content }
        }
        tag::CTX0_PRIMITIVE => Sid::Ski(sid_tlv.content),
        _ => return Err(Malformed("unknown SignerIdentifier")),
    };
    let digest_alg = algorithm_oid(it.next_required("SignerInfo without digestAlgorithm")?)?;
    let signed_attrs = it.next_if(tag::CTX0)?;
    let signature_alg = algorithm_oid(it.next_required("SignerInfo without signatureAlgorithm")?)?;
    let signature = it.next_required("SignerInfo without signature")?.octets()?;
    Ok(SignerInfoView { sid, digest_alg, signed_attrs, signature_alg, signature })
}

/// The parts of a certificate that [`CertView`] names; the subjectKeyIdentifier extension is
/// looked for only when `want_ski` (a SignerIdentifier by issuer and serial never needs it).
fn parse_certificate(raw: &[u8], want_ski: bool) -> BerResult<CertView<'_>> {
    let cert = Tlv::parse_exact(raw)?.expect(tag::SEQUENCE, "certificate is not a SEQUENCE")?;
    let tbs = cert.children().next_required("empty certificate")?;
    let tbs = tbs.expect(tag::SEQUENCE, "tbsCertificate is not a SEQUENCE")?;
    let mut it = tbs.children();
    it.next_if(tag::CTX0)?; // version
    let serial = it.next_required("no serialNumber")?.expect(tag::INTEGER, "bad serial")?;
    it.next_required("no signature algorithm")?;
    let issuer = it.next_required("no issuer")?.expect(tag::SEQUENCE, "bad issuer")?;
    it.next_required("no validity")?;
    it.next_required("no subject")?;
    let spki = it.next_required("no subjectPublicKeyInfo")?.expect(tag::SEQUENCE, "bad SPKI")?;
    let mut sit = spki.children();
    let spki_alg = algorithm_oid(sit.next_required("SPKI without algorithm")?)?;
    let bits = sit.next_required("SPKI without key")?.expect(0x03, "bad subjectPublicKey")?;
    let public_key = match bits.content.split_first() {
        Some((0, key)) => key,
        _ => return Err(Malformed("subjectPublicKey has unused bits")),
    };
    let ski = if want_ski { find_ski(&mut it)? } else { None };
    Ok(CertView { issuer: issuer.raw, serial: serial.content, spki_alg, public_key, ski })
}

/// The subjectKeyIdentifier among the fields after subjectPublicKeyInfo (extension
/// identifiers compared by their encoding: none is decoded).
fn find_ski<'a>(rest: &mut super::ber::Children<'a>) -> BerResult<Option<&'a [u8]>> {
    let mut ski = None;
    for t in rest.take(8) {
        let t = t?;
        if t.tag != tag::CTX3 {
            continue;
        }
        let exts = t.children().next_required("empty extensions")?;
        for ext in exts.children().take(MAX_ITEMS) {
            let ext = ext?;
            let mut e = ext.children();
            let id = e.next_required("extension without id")?.expect(tag::OID, "bad extnID")?;
            if id.content != oid::SUBJECT_KEY_IDENTIFIER.as_bytes() {
                continue;
            }
            let mut value = e.next_required("extension without value")?;
            if value.tag == tag::BOOLEAN {
                value = e.next_required("extension without value")?;
            }
            let inner =
                Tlv::parse_exact(value.expect(tag::OCTET_STRING, "bad extnValue")?.content)?;
            ski = Some(inner.expect(tag::OCTET_STRING, "bad SubjectKeyIdentifier")?.content);
        }
    }
    Ok(ski)
}

fn parse_attrs<'a>(signed_attrs: Tlv<'a>) -> BerResult<Attrs<'a>> {
    let mut message_digest = None;
    let mut signing_time = None;
    let mut signing_time_seen = false;
    let mut content_type = None;
    // all of them are read: one past the bound is refused, so no repeated attribute hides
    for (n, attr) in signed_attrs.children().take(MAX_ITEMS + 1).enumerate() {
        if n == MAX_ITEMS {
            return Err(Malformed("too many signed attributes"));
        }
        let attr = attr?.expect(tag::SEQUENCE, "attribute is not a SEQUENCE")?;
        let mut it = attr.children();
        let id = oid_of(it.next_required("attribute without type")?)?;
        let values =
            it.next_required("attribute without values")?.expect(tag::SET, "bad values")?;
        let mut vit = values.children();
        let value = vit.next_required("attribute without value")?;
        // RFC 5652 §11.1-§11.3: each of these has exactly one value and appears at most once.
        let single = vit.is_empty();
        if id == oid::MESSAGE_DIGEST {
            if message_digest.is_some() || !single {
                return Err(Malformed("more than one messageDigest"));
            }
            message_digest = Some(value.octets()?);
        } else if id == oid::CONTENT_TYPE {
            if content_type.is_some() || !single {
                return Err(Malformed("more than one contentType"));
            }
            content_type = Some(oid_of(value)?);
        } else if id == oid::SIGNING_TIME {
            if signing_time_seen || !single {
                return Err(Malformed("more than one signingTime"));
            }
            signing_time_seen = true;
            signing_time = parse_time(value.tag, value.content);
        }
    }
    let message_digest = message_digest.ok_or(Malformed("signed attributes lack messageDigest"))?;
    // RFC 5652 §5.3: signedAttrs, when present, carry contentType and messageDigest.
    if content_type.is_none() {
        return Err(Malformed("signed attributes lack contentType"));
    }
    Ok(Attrs { content_type, message_digest, signing_time })
}

/// Parses a UTCTime (`YYMMDDhhmm[ss]Z` or with `+hhmm`) or GeneralizedTime
/// (`YYYYMMDDhhmmss[.f*]Z`, fractional seconds tolerated and dropped) value.
pub(crate) fn parse_time(t: u8, content: &[u8]) -> Option<DateTime<Utc>> {
    let s = std::str::from_utf8(content).ok()?;
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let p = s.get(r)?;
        if p.bytes().all(|b| b.is_ascii_digit()) { p.parse().ok() } else { None }
    };
    let (year, rest_at) = match t {
        tag::UTC_TIME => {
            let yy = digits(0..2)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, 2)
        }
        tag::GENERALIZED_TIME => (digits(0..4)?, 4),
        _ => return None,
    };
    let month = digits(rest_at..rest_at + 2)?;
    let day = digits(rest_at + 2..rest_at + 4)?;
    let hour = digits(rest_at + 4..rest_at + 6)?;
    let minute = digits(rest_at + 6..rest_at + 8)?;
    let mut pos = rest_at + 8;
    let mut second = 0;
    if let Some(sec) = digits(pos..pos + 2) {
        second = sec;
        pos += 2;
    }
    let tail = s.get(pos..)?;
    let tail = if t == tag::GENERALIZED_TIME {
        match tail.strip_prefix(['.', ',']) {
            Some(frac) => frac.trim_start_matches(|c: char| c.is_ascii_digit()),
            None => tail,
        }
    } else {
        tail
    };
    let offset_secs: i64 = match tail.as_bytes() {
        b"Z" => 0,
        [sign @ (b'+' | b'-'), ..] if tail.len() == 5 => {
            let hh = i64::from(tail.get(1..3)?.parse::<u32>().ok()?);
            let mm = i64::from(tail.get(3..5)?.parse::<u32>().ok()?);
            let v = hh * 3600 + mm * 60;
            if *sign == b'+' { v } else { -v }
        }
        _ => return None,
    };
    let naive = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_opt(hour, minute, second)?;
    let utc = naive.and_utc() - chrono::Duration::seconds(offset_secs);
    Some(utc)
}

/// The digest of `content` with every bare LF turned into CRLF, streamed.
fn digest_crlf(alg: DigestAlgorithm, content: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(alg);
    let mut start = 0;
    for (i, &b) in content.iter().enumerate() {
        if b == b'\n' && (i == 0 || content.get(i - 1) != Some(&b'\r')) {
            h.update(content.get(start..i).unwrap_or_default());
            h.update(b"\r\n");
            start = i + 1;
        }
    }
    h.update(content.get(start..).unwrap_or_default());
    h.finish()
}

/// The digest of `content` with every CRLF turned into LF, streamed.
fn digest_lf(alg: DigestAlgorithm, content: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(alg);
    let mut start = 0;
    for (i, w) in content.windows(2).enumerate() {
        if w == b"\r\n" {
            h.update(content.get(start..i).unwrap_or_default());
            start = i + 1; // keep the LF
        }
    }
    h.update(content.get(start..).unwrap_or_default());
    h.finish()
}

fn has_bare_lf(content: &[u8]) -> bool {
    content.first() == Some(&b'\n') || content.windows(2).any(|w| w[0] != b'\r' && w[1] == b'\n')
}

/// How `content` matched the messageDigest: `Some(false)` exactly, `Some(true)` after line-end
/// canonicalisation, `None` not at all.
fn match_digest(alg: DigestAlgorithm, content: &[u8], expected: &[u8]) -> Option<bool> {
    if alg.digest(content) == expected {
        return Some(false);
    }
    if has_bare_lf(content) && digest_crlf(alg, content) == expected {
        return Some(true);
    }
    if content.windows(2).any(|w| w == b"\r\n") && digest_lf(alg, content) == expected {
        return Some(true);
    }
    None
}

/// The hash of an RSA PKCS#1 v1.5 signature algorithm (`rsaEncryption` takes the
/// SignerInfo's digest algorithm, RFC 3370 §3.2).
fn signature_hash(sig_alg: ObjectIdentifier, digest: DigestAlgorithm) -> Option<DigestAlgorithm> {
    Some(match sig_alg {
        oid::RSA_ENCRYPTION => digest,
        oid::SHA1_WITH_RSA => DigestAlgorithm::Sha1,
        oid::SHA256_WITH_RSA => DigestAlgorithm::Sha256,
        oid::SHA384_WITH_RSA => DigestAlgorithm::Sha384,
        oid::SHA512_WITH_RSA => DigestAlgorithm::Sha512,
        _ => return None,
    })
}

/// Names the weak algorithms and key of the SignerInfo and its signer certificate: the
/// digest (SHA-1 is accepted, MD5 refused with `bad-signature` but still named), the hash the
/// RSA signature is computed with (`sha1WithRSAEncryption`, or `rsaEncryption` over a SHA-1
/// digest, RFC 3370 §3.2; `md5WithRSAEncryption` is named `md5-digest`), and an RSA signer
/// key under 2048 bits.
fn cms_weaknesses(report: &mut VerificationReport, si: &SignerInfoView<'_>, cert: &CertView<'_>) {
    use super::Weakness;
    let digest = DigestAlgorithm::from_oid(&si.digest_alg);
    if digest == Some(DigestAlgorithm::Sha1) {
        report.add_weakness(Weakness::Sha1Digest);
    }
    if si.digest_alg == oid::ID_MD5 || si.signature_alg == oid::MD5_WITH_RSA {
        report.add_weakness(Weakness::Md5Digest);
    }
    if si.signature_alg == oid::SHA1_WITH_RSA
        || (si.signature_alg == oid::RSA_ENCRYPTION && digest == Some(DigestAlgorithm::Sha1))
    {
        report.add_weakness(Weakness::Sha1Signature);
    }
    if cert.spki_alg == oid::RSA_ENCRYPTION
        && crate::chain::rsa_modulus_bits(cert.public_key).is_some_and(|b| b < 2048)
    {
        report.add_weakness(Weakness::RsaKeyUnder2048);
    }
}

fn find_signer<'a>(certs: &[&'a [u8]], sid: &Sid<'_>) -> Option<(&'a [u8], CertView<'a>)> {
    certs.iter().find_map(|&raw| {
        let view = parse_certificate(raw, matches!(sid, Sid::Ski(_))).ok()?;
        let hit = match sid {
            Sid::IssuerSerial { issuer, serial } => {
                view.issuer == *issuer && view.serial == *serial
            }
            Sid::Ski(ski) => view.ski == Some(*ski),
        };
        hit.then_some((raw, view))
    })
}

fn malformed() -> VerificationReport {
    VerificationReport::from_reasons(vec![Reason::MalformedSignature])
}

fn verify_cms(
    external: Option<&[u8]>,
    cms: &[u8],
    from_domain: Option<&str>,
    opts: &VerifyOptions,
    purpose: Purpose,
) -> (VerificationReport, Option<Vec<u8>>) {
    let Ok(sd) = parse_content_info(cms) else {
        return (malformed(), None);
    };
    let content: Cow<'_, [u8]> = match (external, &sd.econtent) {
        // Signed content both encapsulated and detached: which one was signed is ambiguous.
        (Some(_), Some(_)) => return (malformed(), None),
        (Some(c), None) => Cow::Borrowed(c),
        (None, Some(c)) => Cow::Borrowed(c.as_ref()),
        (None, None) => return (malformed(), None),
    };
    let returned = external.is_none().then(|| content.to_vec());
    let si = &sd.signer;
    let Some((signer_der, cert)) = find_signer(&sd.certificates, &si.sid) else {
        return (malformed(), returned);
    };
    let attrs = match si.signed_attrs.map(parse_attrs).transpose() {
        Ok(a) => a,
        Err(_) => return (malformed(), returned),
    };

    let mut report = VerificationReport::from_reasons(Vec::new());
    // RFC 5652 §11.1: the signed contentType must equal the eContentType.
    if attrs.as_ref().and_then(|a| a.content_type).is_some_and(|ct| ct != sd.econtent_type) {
        report.add_reason(Reason::MalformedSignature);
    }
    let digest = DigestAlgorithm::from_oid(&si.digest_alg);
    report.digest = digest;
    report.weak_digest = digest.is_some_and(DigestAlgorithm::is_weak);
    cms_weaknesses(&mut report, si, &cert);
    report.signing_time = attrs.as_ref().and_then(|a| a.signing_time);

    let hash = digest.and_then(|d| signature_hash(si.signature_alg, d));
    match (digest, hash) {
        (Some(digest), Some(hash)) if cert.spki_alg == oid::RSA_ENCRYPTION => {
            let sig_ok = match (&attrs, si.signed_attrs) {
                (Some(attrs), Some(raw)) => {
                    match match_digest(digest, &content, &attrs.message_digest) {
                        Some(canon) => report.canonicalized = canon,
                        None => report.add_reason(Reason::ContentMismatch),
                    }
                    // RFC 5652 §5.4: the DER of the SET OF as received, with the SET tag.
                    // (a copy on the stack when it fits, as PEC's few attributes do)
                    let mut small = [0u8; 512];
                    let mut large = Vec::new();
                    let signed: &mut [u8] = match small.get_mut(..raw.raw.len()) {
                        Some(buf) => {
                            buf.copy_from_slice(raw.raw);
                            buf
                        }
                        None => {
                            large.extend_from_slice(raw.raw);
                            &mut large
                        }
                    };
                    if let Some(first) = signed.first_mut() {
                        *first = tag::SET;
                    }
                    crypto::verify_rsa_pkcs1(hash, cert.public_key, signed, &si.signature)
                }
                _ => {
                    // No signed attributes: the signature is over the content itself.
                    let exact =
                        crypto::verify_rsa_pkcs1(hash, cert.public_key, &content, &si.signature);
                    exact || {
                        let crlf = has_bare_lf(&content)
                            .then(|| crate::mime::canonicalize_crlf(&content).into_owned());
                        let ok = crlf.is_some_and(|c| {
                            crypto::verify_rsa_pkcs1(hash, cert.public_key, &c, &si.signature)
                        });
                        report.canonicalized = ok;
                        ok
                    }
                }
            };
            if !sig_ok {
                report.add_reason(Reason::BadSignature);
            }
        }
        _ => report.add_reason(Reason::BadSignature),
    }

    use super::TimeSource;
    let now = opts.now.unwrap_or_else(Utc::now);
    let (at, source) = match (opts.time, report.signing_time) {
        (VerifyTime::At(t), _) => (t, TimeSource::Given),
        (VerifyTime::SigningTime, Some(t)) => (t, TimeSource::SigningTimeClaimed),
        (VerifyTime::Now | VerifyTime::SigningTime, _) => (now, TimeSource::Now),
    };
    report.evaluated_at = Some(at);
    report.time_source = source;
    // A claim from the future is false whatever else holds (clock skew tolerated).
    let limit = now.checked_add_signed(MAX_SIGNING_TIME_SKEW);
    if report.signing_time.zip(limit).is_some_and(|(t, limit)| t > limit) {
        report.add_reason(Reason::SigningTimeInFuture);
    }
    let crls = opts.crls.as_deref();
    let path = crate::chain::validate_path_refs(
        signer_der,
        &sd.certificates,
        &opts.trust,
        at,
        source,
        crls,
        purpose,
    );
    for r in path.reasons {
        report.add_reason(r);
    }
    for w in path.weaknesses {
        report.add_weakness(w);
    }
    report.chain = path.chain;
    report.revocation = path.revocation;
    report.signer = opts.trust.describe(signer_der).ok();

    if let Some(index) = &opts.index {
        let sha1 = match &report.signer {
            Some(summary) => summary.sha1.clone(),
            None => crypto::sha1_hex(signer_der),
        };
        match index.by_cert_hash(&sha1) {
            Some(record) => {
                if record.certificates.iter().any(|c| c.as_slice() == signer_der) {
                    report.provider = Some(ProviderSummary {
                        name: record.name.clone(),
                        mail_receipt: record.mail_receipt.clone(),
                    });
                } else {
                    report.add_reason(Reason::NotInIndex);
                }
                if let Some(domain) = from_domain
                    && !record.manages(domain)
                {
                    report.add_reason(Reason::FromDomainMismatch);
                }
            }
            None => report.add_reason(Reason::NotInIndex),
        }
    }
    (report, returned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn times() {
        let t = parse_time(tag::UTC_TIME, b"181113153926Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2018-11-13T15:39:26+00:00");
        let t = parse_time(tag::GENERALIZED_TIME, b"20181113153926.123Z").unwrap();
        assert_eq!(t.to_rfc3339(), "2018-11-13T15:39:26+00:00");
        let t = parse_time(tag::UTC_TIME, b"1811131639+0100").unwrap();
        assert_eq!(t.to_rfc3339(), "2018-11-13T15:39:00+00:00");
        assert!(parse_time(tag::UTC_TIME, b"18111315392Z").is_none());
        assert!(parse_time(tag::UTC_TIME, b"181313153926Z").is_none());
        assert!(parse_time(tag::GENERALIZED_TIME, "2018111315392\u{e9}Z".as_bytes()).is_none());
    }

    #[test]
    fn line_end_digests() {
        let alg = DigestAlgorithm::Sha256;
        let crlf = alg.digest(b"a\r\nb\r\n");
        let lf = alg.digest(b"a\nb\n");
        assert_eq!(digest_crlf(alg, b"a\nb\n"), crlf);
        assert_eq!(digest_crlf(alg, b"a\r\nb\n"), crlf);
        assert_eq!(digest_lf(alg, b"a\r\nb\r\n"), lf);
        assert_eq!(match_digest(alg, b"a\nb\n", &crlf), Some(true));
        assert_eq!(match_digest(alg, b"a\r\nb\r\n", &crlf), Some(false));
        assert_eq!(match_digest(alg, b"a\r\nb\r\n", &lf), Some(true));
        assert_eq!(match_digest(alg, b"a\r\nc\r\n", &lf), None);
        assert_eq!(&*crate::mime::canonicalize_crlf(b"\na\r\nb\n"), b"\r\na\r\nb\r\n");
    }

    #[test]
    fn garbage_is_malformed() {
        let opts = VerifyOptions::default();
        for bad in [&b""[..], b"\x30", b"\x30\x80", b"\x30\x03\x06\x01\x00", &[0u8; 4096]] {
            let r = verify_detached(b"x", bad, None, &opts);
            assert_eq!(r.reasons, vec![Reason::MalformedSignature]);
        }
    }
}
