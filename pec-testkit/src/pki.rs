//! A generated test PKI for demos, benchmarks and tests that must run without external tools:
//! a root CA, an intermediate "PEC CA" with rfc822Name name constraints (like the real AgID
//! CA1), provider signing certificates with the RFC 6109 §5.5 profile, and CRLs.
//!
//! Keys are RSA-2048 generated with aws-lc-rs; certificates are DER built here. **Never use
//! these for production**: they exist so `pec demo`, `pec bench` and the bindings' tests have
//! a realistic PKI on any machine.

use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::RSA_PKCS1_SHA256;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280 as oids;
use const_oid::db::rfc5912;
use der::asn1::{BitString, GeneralizedTime, Ia5String, OctetString, Uint, UtcTime};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage,
    KeyUsages, NameConstraints, SubjectAltName, SubjectKeyIdentifier,
    constraints::name::GeneralSubtree,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use pec_core::crypto::DigestAlgorithm;
use pec_core::error::{CertificateError, Error, Result};

/// A key and its certificate.
#[derive(Clone)]
pub struct Issued {
    /// PKCS#8 DER of the private key.
    pub key_pkcs8: Vec<u8>,
    /// DER of the certificate.
    pub cert_der: Vec<u8>,
    /// The serial number (big-endian bytes).
    pub serial: Vec<u8>,
    subject: Name,
    ski: Vec<u8>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("subject", &self.subject.to_string()).finish()
    }
}

impl Issued {
    /// The private key as PEM (`PRIVATE KEY`).
    pub fn key_pem(&self) -> String {
        pem("PRIVATE KEY", &self.key_pkcs8)
    }

    /// The certificate as PEM.
    pub fn cert_pem(&self) -> String {
        pem("CERTIFICATE", &self.cert_der)
    }

    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>> {
        sign_with(&self.key_pkcs8, tbs)
    }
}

/// The generated PKI.
#[derive(Clone, Debug)]
pub struct TestPki {
    /// The root CA (the trust anchor).
    pub root: Issued,
    /// The intermediate PEC CA, name-constrained to the providers' domains.
    pub ca: Issued,
    /// One signing certificate per provider, in the order requested.
    pub providers: Vec<Issued>,
    /// A CRL of the intermediate (DER), revoking nothing, valid around the generation time.
    pub crl_der: Vec<u8>,
    /// A CRL of the root (DER), revoking nothing: with `crl_der` it covers the whole path.
    pub root_crl_der: Vec<u8>,
}

/// A provider to issue a certificate for.
#[derive(Clone, Debug)]
pub struct ProviderSpec<'a> {
    /// `providerName` (the certificate's O, and `CN=Posta Certificata <name>`).
    pub name: &'a str,
    /// The PEC domain; the certificate carries `posta-certificata@<domain>`.
    pub domain: &'a str,
}

impl TestPki {
    /// Generates a root, a name-constrained PEC CA permitting the providers' domains, and a
    /// certificate per provider, valid from `not_before` to `not_after`.
    ///
    /// # Errors
    /// Key generation or encoding failure.
    pub fn generate(
        providers: &[ProviderSpec<'_>],
        not_before: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<TestPki> {
        let root_name = name("CN=pec Test Root CA,O=pec test PKI,C=IT")?;
        let root = issue(
            &root_name,
            None,
            not_before,
            not_after,
            &[1],
            CertProfile::Ca { path_len: Some(1), permitted: Vec::new() },
        )?;
        let ca_name = name("CN=pec Test PEC CA,O=pec test PKI,C=IT")?;
        let permitted: Vec<String> = providers.iter().map(|p| p.domain.to_string()).collect();
        let ca = issue(
            &ca_name,
            Some(&root),
            not_before,
            not_after,
            &[2],
            CertProfile::Ca { path_len: Some(0), permitted },
        )?;
        let mut issued = Vec::new();
        for (i, p) in providers.iter().enumerate() {
            let subject = name(&format!(
                "CN=Posta Certificata {},O={},C=IT",
                escape_dn(p.name),
                escape_dn(p.name)
            ))?;
            let serial = [0x10, (i as u8).wrapping_add(1)];
            issued.push(issue(
                &subject,
                Some(&ca),
                not_before,
                not_after,
                &serial,
                CertProfile::Provider { email: format!("posta-certificata@{}", p.domain) },
            )?);
        }
        let crl_der = make_crl(&ca, not_before, not_after, &[])?;
        let root_crl_der = make_crl(&root, not_before, not_after, &[])?;
        Ok(TestPki { root, ca, providers: issued, crl_der, root_crl_der })
    }

    /// A CRL of the PEC CA revoking the given serial numbers.
    ///
    /// # Errors
    /// Encoding failure.
    pub fn crl_revoking(
        &self,
        serials: &[&[u8]],
        this_update: DateTime<Utc>,
        next_update: DateTime<Utc>,
    ) -> Result<Vec<u8>> {
        make_crl(&self.ca, this_update, next_update, serials)
    }
}

enum CertProfile {
    Ca { path_len: Option<u8>, permitted: Vec<String> },
    Provider { email: String },
}

// ---------------------------------------------------------------------------------------
// DER building blocks, public for tests that build certificates of their own shape

/// A v3 `TBSCertificate` (RFC 5280 §4.1) with extensions.
#[derive(Debug, Sequence)]
pub struct Tbs {
    /// 2 (v3).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub version: u8,
    /// The serial number.
    pub serial: Uint,
    /// The signature algorithm ([`sha256_rsa`]).
    pub signature: AlgorithmIdentifierOwned,
    /// The issuer.
    pub issuer: Name,
    /// notBefore, notAfter.
    pub validity: Validity,
    /// The subject.
    pub subject: Name,
    /// The subject's public key.
    pub spki: SubjectPublicKeyInfoOwned,
    /// The extensions.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    pub extensions: Vec<Extension>,
}

/// A certificate's validity.
#[derive(Debug, Sequence)]
pub struct Validity {
    /// notBefore.
    pub not_before: Time,
    /// notAfter.
    pub not_after: Time,
}

/// A certificate: the TBS, the algorithm and the signature.
#[derive(Debug, Sequence)]
pub struct Cert {
    /// What is signed.
    pub tbs: Tbs,
    /// The signature algorithm ([`sha256_rsa`]).
    pub algorithm: AlgorithmIdentifierOwned,
    /// The signature value.
    pub signature: BitString,
}

/// `sha256WithRSAEncryption` with NULL parameters.
pub fn sha256_rsa() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
        parameters: Some(der::asn1::Null.into()),
    }
}

fn bad(e: impl std::fmt::Display) -> Error {
    CertificateError::BadCertificate(format!("test PKI: {e}")).into()
}

fn name(s: &str) -> Result<Name> {
    Name::from_str(s).map_err(bad)
}

fn escape_dn(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A certificate or CRL time: UTCTime before 2050, GeneralizedTime from then on.
///
/// # Errors
/// A time before 1970 or out of range.
pub fn time(t: DateTime<Utc>) -> Result<Time> {
    let secs = u64::try_from(t.timestamp()).map_err(bad)?;
    let d = std::time::Duration::from_secs(secs);
    if t.timestamp() < 2_524_608_000 {
        Ok(Time::UtcTime(UtcTime::from_unix_duration(d).map_err(bad)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_unix_duration(d).map_err(bad)?))
    }
}

/// An extension holding the DER of `value`.
///
/// # Errors
/// Encoding failure.
pub fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Result<Extension> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(bad)?).map_err(bad)?,
    })
}

/// An RSA PKCS#1 v1.5 SHA-256 signature of `msg` with the PKCS#8 key.
///
/// # Errors
/// The key does not load or signing fails.
pub fn sign_with(pkcs8: &[u8], msg: &[u8]) -> Result<Vec<u8>> {
    let key = KeyPair::from_pkcs8(pkcs8).map_err(bad)?;
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig).map_err(bad)?;
    Ok(sig)
}

fn issue(
    subject: &Name,
    issuer: Option<&Issued>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    serial: &[u8],
    profile: CertProfile,
) -> Result<Issued> {
    let key = KeyPair::generate(KeySize::Rsa2048).map_err(bad)?;
    let pkcs8 = key.as_der().map_err(bad)?.as_ref().to_vec();
    let spki_der = aws_lc_rs::signature::KeyPair::public_key(&key).as_der().map_err(bad)?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_ref()).map_err(bad)?;
    let ski = DigestAlgorithm::Sha1.digest(spki.subject_public_key.raw_bytes());
    let issuer_name = issuer.map(|i| i.subject.clone()).unwrap_or_else(|| subject.clone());
    let aki = issuer.map(|i| i.ski.clone()).unwrap_or_else(|| ski.clone());

    let mut extensions = vec![
        ext(
            oids::ID_CE_SUBJECT_KEY_IDENTIFIER,
            false,
            &SubjectKeyIdentifier(OctetString::new(ski.clone()).map_err(bad)?),
        )?,
        ext(
            oids::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            false,
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(aki).map_err(bad)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
        )?,
    ];
    match profile {
        CertProfile::Ca { path_len, permitted } => {
            extensions.push(ext(
                oids::ID_CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints { ca: true, path_len_constraint: path_len },
            )?);
            extensions.push(ext(
                oids::ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            )?);
            if !permitted.is_empty() {
                let mut subtrees = Vec::new();
                for d in &permitted {
                    subtrees.push(GeneralSubtree {
                        base: GeneralName::Rfc822Name(Ia5String::new(d).map_err(bad)?),
                        minimum: 0,
                        maximum: None,
                    });
                }
                extensions.push(ext(
                    oids::ID_CE_NAME_CONSTRAINTS,
                    true,
                    &NameConstraints {
                        permitted_subtrees: Some(subtrees),
                        excluded_subtrees: None,
                    },
                )?);
            }
        }
        CertProfile::Provider { email } => {
            // RFC 6109 §5.5: KeyUsage critical with digitalSignature, SAN rfc822Name, no
            // basicConstraints.
            extensions.push(ext(
                oids::ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            )?);
            extensions.push(ext(
                oids::ID_CE_EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![const_oid::db::rfc5280::ID_KP_EMAIL_PROTECTION]),
            )?);
            extensions.push(ext(
                oids::ID_CE_SUBJECT_ALT_NAME,
                false,
                &SubjectAltName(vec![GeneralName::Rfc822Name(
                    Ia5String::new(&email).map_err(bad)?,
                )]),
            )?);
            extensions.push(ext(
                oids::ID_CE_CRL_DISTRIBUTION_POINTS,
                false,
                &CrlDistributionPoints(vec![DistributionPoint {
                    distribution_point: Some(DistributionPointName::FullName(vec![
                        GeneralName::UniformResourceIdentifier(
                            Ia5String::new("http://crl.pec-test.invalid/pec-ca.crl")
                                .map_err(bad)?,
                        ),
                    ])),
                    reasons: None,
                    crl_issuer: None,
                }]),
            )?);
        }
    }
    let tbs = Tbs {
        version: 2,
        serial: Uint::new(serial).map_err(bad)?,
        signature: sha256_rsa(),
        issuer: issuer_name,
        validity: Validity { not_before: time(not_before)?, not_after: time(not_after)? },
        subject: subject.clone(),
        spki,
        extensions,
    };
    let tbs_der = tbs.to_der().map_err(bad)?;
    let sig = match issuer {
        Some(i) => i.sign(&tbs_der)?,
        None => sign_with(&pkcs8, &tbs_der)?,
    };
    let cert =
        Cert { tbs, algorithm: sha256_rsa(), signature: BitString::from_bytes(&sig).map_err(bad)? };
    Ok(Issued {
        key_pkcs8: pkcs8,
        cert_der: cert.to_der().map_err(bad)?,
        serial: serial.to_vec(),
        subject: subject.clone(),
        ski,
    })
}

fn make_crl(
    issuer: &Issued,
    this_update: DateTime<Utc>,
    next_update: DateTime<Utc>,
    revoked: &[&[u8]],
) -> Result<Vec<u8>> {
    let mut list: Vec<RevokedCert> = Vec::new();
    for s in revoked {
        list.push(RevokedCert {
            serial_number: SerialNumber::new(s).map_err(bad)?,
            revocation_date: time(this_update)?,
            crl_entry_extensions: None,
        });
    }
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: sha256_rsa(),
        issuer: issuer.subject.clone(),
        this_update: time(this_update)?,
        next_update: Some(time(next_update)?),
        revoked_certificates: if list.is_empty() { None } else { Some(list) },
        crl_extensions: None,
    };
    let tbs_der = tbs.to_der().map_err(bad)?;
    let sig = issuer.sign(&tbs_der)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: sha256_rsa(),
        signature: BitString::from_bytes(&sig).map_err(bad)?,
    };
    crl.to_der().map_err(bad)
}

/// PEM-encodes DER with the given label (64-column lines, LF).
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_parseable_pki() {
        let now = Utc::now();
        let pki = TestPki::generate(
            &[ProviderSpec { name: "Example PEC S.p.A.", domain: "pec.example.it" }],
            now - chrono::Duration::days(1),
            now + chrono::Duration::days(365),
        )
        .unwrap();
        let c = x509_cert::Certificate::from_der(&pki.providers[0].cert_der).unwrap();
        assert!(c.tbs_certificate().subject().to_string().contains("Example PEC"));
        <CertificateList>::from_der(&pki.crl_der).unwrap();
        assert!(pki.providers[0].cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
