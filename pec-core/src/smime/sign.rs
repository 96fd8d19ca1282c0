//! CMS SignedData production (RFC 5652 §5; RFC 6109 §2.1; docs/SPEC.md §7.1).
//!
//! The structure is built with the `cms`, `x509-cert` and `der` types and encoded as DER:
//! version 1, digest SHA-256, signer identified by issuerAndSerialNumber, signature algorithm
//! `rsaEncryption`, signed attributes `contentType` (id-data), `signingTime` and
//! `messageDigest`, DER-sorted as a SET OF.

use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode as _, Encode as _};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;

use super::oid;
use crate::crypto::{self, DerCache, DigestAlgorithm};
use crate::error::{CertificateError, Error, Result, SignatureError};
use crate::signer::Signer;

/// Signs `content` and returns a DER `ContentInfo(SignedData)` without the content
/// (detached: the `smime.p7s` of a `multipart/signed`, RFC 5751 §3.4.3).
///
/// The signingTime is encoded as UTCTime before 2050 and GeneralizedTime from 2050
/// (RFC 5652 §11.3); sub-second precision is dropped.
///
/// # Errors
/// [`SignatureError::SigningFailed`] when the signer fails or returns a signature that does
/// not verify with its certificate; [`CertificateError::BadCertificate`] when the signer's
/// certificate or chain is not DER; [`Error::InvalidArgument`] for a signing time before 1970.
pub fn sign_detached(
    content: &[u8],
    signer: &dyn Signer,
    signing_time: DateTime<Utc>,
) -> Result<Vec<u8>> {
    sign_cms(content, signer, signing_time, false)
}

/// Signs `content` and returns a DER `ContentInfo(SignedData)` that encapsulates it
/// (`eContent`), as used for the signed (`.p7m`) providers index.
///
/// # Errors
/// As [`sign_detached`].
pub fn sign_attached(
    content: &[u8],
    signer: &dyn Signer,
    signing_time: DateTime<Utc>,
) -> Result<Vec<u8>> {
    sign_cms(content, signer, signing_time, true)
}

fn der_err(what: &'static str) -> impl Fn(der::Error) -> Error {
    move |e| SignatureError::SigningFailed(format!("CMS encoding of {what}: {e}")).into()
}

/// Decodes a certificate and checks that its DER re-encoding is byte-identical (the CMS is
/// built from decoded values, so a non-DER certificate would change and break its own
/// signature).
///
/// A signer signs with the same certificates again and again: each certificate that passed is
/// kept decoded (keyed by its DER, looked up borrowed; bounded, cleared when full), so only its
/// first signature pays for the decoding and the check.
fn decode_certificate(der: &[u8], what: &str) -> Result<Certificate> {
    static CACHE: LazyLock<DerCache<Option<Certificate>, 64>> = LazyLock::new(DerCache::default);
    if let Some(cert) = CACHE.get(der, Clone::clone) {
        return Ok(cert);
    }
    let cert = decode_canonical(der, what)?;
    CACHE.update(der, |e| *e = Some(cert.clone()));
    Ok(cert)
}

/// [`decode_certificate`] without the cache.
fn decode_canonical(der: &[u8], what: &str) -> Result<Certificate> {
    let cert = Certificate::from_der(der)
        .map_err(|e| CertificateError::BadCertificate(format!("{what}: {e}")))?;
    let again =
        cert.to_der().map_err(|e| CertificateError::BadCertificate(format!("{what}: {e}")))?;
    if again != der {
        return Err(CertificateError::BadCertificate(format!(
            "{what} is not in canonical DER; it cannot be embedded unchanged"
        ))
        .into());
    }
    Ok(cert)
}

/// The `Time` of a signingTime attribute (RFC 5652 §11.3: UTCTime for 1950-2049).
fn signing_time_value(t: DateTime<Utc>) -> Result<Time> {
    let secs = u64::try_from(t.timestamp())
        .map_err(|_| Error::InvalidArgument(format!("signing time {t} is before 1970")))?;
    let d = Duration::from_secs(secs);
    let time = if t.year() < 2050 {
        Time::UtcTime(UtcTime::from_unix_duration(d).map_err(der_err("signingTime"))?)
    } else {
        Time::GeneralTime(GeneralizedTime::from_unix_duration(d).map_err(der_err("signingTime"))?)
    };
    Ok(time)
}

fn attribute(oid: der::asn1::ObjectIdentifier, value: Any) -> Result<Attribute> {
    let values = SetOfVec::try_from(vec![value]).map_err(der_err("attribute value"))?;
    Ok(Attribute { oid, values })
}

fn sign_cms(
    content: &[u8],
    signer: &dyn Signer,
    signing_time: DateTime<Utc>,
    attach: bool,
) -> Result<Vec<u8>> {
    let signer_der = signer.certificate();
    let cert = decode_certificate(signer_der, "signer certificate")?;
    let mut certificates = vec![CertificateChoices::Certificate(cert.clone())];
    for (i, c) in signer.chain().iter().enumerate() {
        if c.as_slice() == signer_der || signer.chain().get(..i).is_some_and(|p| p.contains(c)) {
            continue; // SET OF: no duplicates
        }
        let what = format!("chain certificate {i}");
        certificates.push(CertificateChoices::Certificate(decode_certificate(c, &what)?));
    }
    let certificates =
        CertificateSet(SetOfVec::try_from(certificates).map_err(der_err("certificates"))?);

    let digest = DigestAlgorithm::Sha256.digest(content);
    let attrs = vec![
        attribute(
            oid::CONTENT_TYPE,
            Any::encode_from(&oid::ID_DATA).map_err(der_err("contentType"))?,
        )?,
        attribute(
            oid::SIGNING_TIME,
            Any::encode_from(&signing_time_value(signing_time)?).map_err(der_err("signingTime"))?,
        )?,
        attribute(
            oid::MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest).map_err(der_err("messageDigest"))?)
                .map_err(der_err("messageDigest"))?,
        )?,
    ];
    // SetOfVec sorts by DER encoding: the SET OF is emitted in DER order (X.690 §11.6).
    let signed_attrs = SetOfVec::try_from(attrs).map_err(der_err("signed attributes"))?;
    // The signature covers the DER of the attributes with the SET tag (RFC 5652 §5.4).
    let to_sign = signed_attrs.to_der().map_err(der_err("signed attributes"))?;
    let signature = signer.sign(&to_sign)?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != oid::RSA_ENCRYPTION
        || !signer.self_checked()
            && !crypto::verify_rsa_pkcs1(
                DigestAlgorithm::Sha256,
                spki.subject_public_key.raw_bytes(),
                &to_sign,
                &signature,
            )
    {
        return Err(SignatureError::SigningFailed(
            "the signer's signature does not verify with its certificate".into(),
        )
        .into());
    }

    let tbs = cert.tbs_certificate();
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    });
    let sha256 = AlgorithmIdentifierOwned { oid: oid::ID_SHA256, parameters: None };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid,
        digest_alg: sha256.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: oid::RSA_ENCRYPTION,
            parameters: Some(Any::null()),
        },
        signature: OctetString::new(signature).map_err(der_err("signature"))?,
        unsigned_attrs: None,
    };
    let econtent = if attach {
        let os = OctetString::new(content).map_err(der_err("eContent"))?;
        Some(Any::encode_from(&os).map_err(der_err("eContent"))?)
    } else {
        None
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(der_err("digests"))?,
        encap_content_info: EncapsulatedContentInfo { econtent_type: oid::ID_DATA, econtent },
        certificates: Some(certificates),
        crls: None,
        signer_infos: SignerInfos(
            SetOfVec::try_from(vec![signer_info]).map_err(der_err("signerInfos"))?,
        ),
    };
    let content_info = ContentInfo {
        content_type: oid::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(der_err("SignedData"))?,
    };
    content_info.to_der().map_err(der_err("ContentInfo"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn signing_time_encoding() {
        let t = Utc.with_ymd_and_hms(2049, 12, 31, 23, 59, 59).unwrap();
        assert!(matches!(signing_time_value(t).unwrap(), Time::UtcTime(_)));
        let t = Utc.with_ymd_and_hms(2050, 1, 1, 0, 0, 0).unwrap();
        assert!(matches!(signing_time_value(t).unwrap(), Time::GeneralTime(_)));
        let t = Utc.with_ymd_and_hms(1960, 1, 1, 0, 0, 0).unwrap();
        assert!(signing_time_value(t).is_err());
    }
}
