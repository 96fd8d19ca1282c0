//! Certificates, parsed once: what path validation ([`crate::chain`]) and revocation
//! ([`crate::revocation`]) need, and the description a report gives ([`SignerSummary`]).

use std::collections::HashSet;
use std::ops::Range;

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::Decode;
use der::asn1::{BitString, OctetString};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage,
    NameConstraints, SubjectAltName,
};
use x509_cert::name::Name;

use super::der::{der_tlv, raw_tbs};
use super::dp::{CertDp, cert_dps};
use super::name::{RdnKey, directory_string, format_name, is_mailbox, name_key, rdn_keys};
use super::oid;
use super::pem::{Headers, pem_blocks};
use crate::crypto::DigestAlgorithm;
use crate::error::{CertificateError, Error, Result};
use crate::report::{SignerSummary, Weakness};

/// A signature algorithm this module can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SigAlg {
    /// RSA PKCS#1 v1.5.
    Rsa(DigestAlgorithm),
    /// ECDSA (ASN.1 DER signature).
    Ecdsa(DigestAlgorithm),
}

impl SigAlg {
    /// The algorithm of a signatureAlgorithm OID; `None` when unsupported.
    pub(crate) fn from_oid(o: &ObjectIdentifier) -> Option<SigAlg> {
        Some(match *o {
            oid::SHA_1_WITH_RSA_ENCRYPTION => SigAlg::Rsa(DigestAlgorithm::Sha1),
            oid::SHA_256_WITH_RSA_ENCRYPTION => SigAlg::Rsa(DigestAlgorithm::Sha256),
            oid::SHA_384_WITH_RSA_ENCRYPTION => SigAlg::Rsa(DigestAlgorithm::Sha384),
            oid::SHA_512_WITH_RSA_ENCRYPTION => SigAlg::Rsa(DigestAlgorithm::Sha512),
            oid::ECDSA_WITH_SHA_256 => SigAlg::Ecdsa(DigestAlgorithm::Sha256),
            oid::ECDSA_WITH_SHA_384 => SigAlg::Ecdsa(DigestAlgorithm::Sha384),
            oid::ECDSA_WITH_SHA_512 => SigAlg::Ecdsa(DigestAlgorithm::Sha512),
            _ => return None,
        })
    }
}

/// A subject public key this module can verify with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// DER `RSAPublicKey`.
    Rsa(Vec<u8>),
    /// Uncompressed P-256 point.
    EcP256(Vec<u8>),
    /// Uncompressed P-384 point.
    EcP384(Vec<u8>),
    /// Any other key.
    Unsupported,
}

impl PublicKey {
    /// The modulus size of an RSA key, in bits.
    pub(crate) fn rsa_bits(&self) -> Option<usize> {
        match self {
            PublicKey::Rsa(k) => rsa_modulus_bits(k),
            _ => None,
        }
    }

    /// Verifies `signature` over `message` with this key.
    pub(crate) fn verify(&self, alg: Option<SigAlg>, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
        let Some(alg) = alg else { return false };
        let (algorithm, key): (&'static dyn VerificationAlgorithm, &[u8]) = match (self, alg) {
            (PublicKey::Rsa(k), SigAlg::Rsa(d)) => {
                return crate::crypto::verify_rsa_pkcs1(d, k, message, signature);
            }
            (PublicKey::EcP256(k), SigAlg::Ecdsa(DigestAlgorithm::Sha256)) => {
                (&sig::ECDSA_P256_SHA256_ASN1, k)
            }
            (PublicKey::EcP256(k), SigAlg::Ecdsa(DigestAlgorithm::Sha384)) => {
                (&sig::ECDSA_P256_SHA384_ASN1, k)
            }
            (PublicKey::EcP256(k), SigAlg::Ecdsa(DigestAlgorithm::Sha512)) => {
                (&sig::ECDSA_P256_SHA512_ASN1, k)
            }
            (PublicKey::EcP384(k), SigAlg::Ecdsa(DigestAlgorithm::Sha256)) => {
                (&sig::ECDSA_P384_SHA256_ASN1, k)
            }
            (PublicKey::EcP384(k), SigAlg::Ecdsa(DigestAlgorithm::Sha384)) => {
                (&sig::ECDSA_P384_SHA384_ASN1, k)
            }
            (PublicKey::EcP384(k), SigAlg::Ecdsa(DigestAlgorithm::Sha512)) => {
                (&sig::ECDSA_P384_SHA512_ASN1, k)
            }
            _ => return false,
        };
        UnparsedPublicKey::new(algorithm, key).verify(message, signature).is_ok()
    }
}

/// One subtree base of a nameConstraints extension, prepared for matching (the matching
/// itself is path validation's: `crate::chain::constraints`).
#[derive(Clone, Debug)]
pub(crate) enum Subtree {
    Email(String),
    Dns(String),
    Ip(Vec<u8>),
    Directory(Vec<RdnKey>),
    /// A name form this module does not match (URI, otherName...): no name of ours has it.
    Other,
}

/// A nameConstraints extension (RFC 5280 §4.2.1.10), prepared once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Constraints {
    pub(crate) permitted: Vec<Subtree>,
    pub(crate) excluded: Vec<Subtree>,
}

impl Constraints {
    fn new(nc: &NameConstraints) -> Constraints {
        let prep = |list: &Option<Vec<x509_cert::ext::pkix::constraints::name::GeneralSubtree>>| {
            list.as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|s| match &s.base {
                    GeneralName::Rfc822Name(c) => Subtree::Email(c.to_string()),
                    GeneralName::DnsName(c) => Subtree::Dns(c.to_string()),
                    GeneralName::IpAddress(c) => Subtree::Ip(c.as_bytes().to_vec()),
                    GeneralName::DirectoryName(c) => Subtree::Directory(rdn_keys(c)),
                    _ => Subtree::Other,
                })
                .collect()
        };
        Constraints {
            permitted: prep(&nc.permitted_subtrees),
            excluded: prep(&nc.excluded_subtrees),
        }
    }
}

/// A certificate, parsed once: what path validation and revocation need.
#[derive(Debug)]
pub(crate) struct CertInfo {
    pub(crate) der: Vec<u8>,
    pub(crate) sha256: [u8; 32],
    pub(crate) sha1: [u8; 20],
    tbs: Range<usize>,
    /// Normalised issuer name (the look-up key of issuers and CRLs).
    pub(crate) issuer_key: String,
    /// Normalised subject name.
    pub(crate) subject_key: String,
    pub(crate) subject: Name,
    pub(crate) issuer: Name,
    pub(crate) version: u8,
    /// Serial number bytes (big-endian, leading zeros stripped).
    pub(crate) serial: Vec<u8>,
    pub(crate) sig_alg: Option<SigAlg>,
    /// `sha1-certificate` / `md5-certificate` when signed with SHA-1 / MD5.
    pub(crate) signature_weakness: Option<Weakness>,
    pub(crate) signature: Vec<u8>,
    pub(crate) key: PublicKey,
    pub(crate) not_before: DateTime<Utc>,
    pub(crate) not_after: DateTime<Utc>,
    /// A recognised extension is malformed or duplicated, or an unknown one is critical.
    pub(crate) bad_extensions: bool,
    /// An rfc822Name of subjectAltName or an `emailAddress` of the subject is not a mailbox
    /// (RFC 5280 §4.2.1.6): the certificate is unusable in a path.
    pub(crate) bad_names: bool,
    pub(crate) is_ca: bool,
    pub(crate) path_len: Option<u8>,
    /// keyUsage bits (bit 0 = digitalSignature), when present.
    pub(crate) key_usage: Option<u16>,
    pub(crate) eku: Option<Vec<ObjectIdentifier>>,
    pub(crate) name_constraints: Option<Constraints>,
    /// rfc822Names of subjectAltName, then `emailAddress` attributes of the subject.
    pub(crate) emails: Vec<String>,
    pub(crate) dns_names: Vec<String>,
    pub(crate) ip_addresses: Vec<Vec<u8>>,
    /// Subject (when not empty) and subjectAltName directoryNames, as RDN keys.
    pub(crate) directory_names: Vec<Vec<RdnKey>>,
    /// RFC 4514 form of the subject.
    pub(crate) subject_text: String,
    pub(crate) ski: Option<Vec<u8>>,
    pub(crate) aki: Option<Vec<u8>>,
    /// `http://`, `ldap://`... URIs of the CRL distribution points.
    pub(crate) crl_urls: Vec<String>,
    /// The CRL distribution points, `None` without the extension (RFC 5280 §6.3.3 (a)).
    pub(crate) crl_dps: Option<Vec<CertDp>>,
    /// [`CertInfo::summary`], made once (a cached certificate describes every message it
    /// signs).
    summary: std::sync::OnceLock<SignerSummary>,
}

/// keyUsage `digitalSignature`.
pub(crate) const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
/// keyUsage `nonRepudiation`.
pub(crate) const KU_NON_REPUDIATION: u16 = 1 << 1;
/// keyUsage `keyCertSign`.
pub(crate) const KU_KEY_CERT_SIGN: u16 = 1 << 5;
/// keyUsage `cRLSign`.
pub(crate) const KU_CRL_SIGN: u16 = 1 << 6;

impl CertInfo {
    pub(crate) fn parse(der: Vec<u8>) -> Result<CertInfo> {
        let digest = sha256_of(&der);
        CertInfo::parse_with_sha256(der, digest)
    }

    pub(crate) fn parse_with_sha256(der: Vec<u8>, sha256: [u8; 32]) -> Result<CertInfo> {
        let tbs = raw_tbs(&der).ok_or_else(|| bad_cert("not a DER certificate"))?;
        let cert = Certificate::from_der(&der).map_err(|e| bad_cert(&e.to_string()))?;
        let tbs_cert = cert.tbs_certificate();
        let sig_alg = if tbs_cert.signature().oid == cert.signature_algorithm().oid {
            SigAlg::from_oid(&cert.signature_algorithm().oid)
        } else {
            None
        };
        let signature = cert
            .signature()
            .as_bytes()
            .ok_or_else(|| bad_cert("signature has unused bits"))?
            .to_vec();
        let spki = tbs_cert.subject_public_key_info();
        let key = match spki.algorithm.oid {
            oid::RSA_ENCRYPTION => spki
                .subject_public_key
                .as_bytes()
                .map_or(PublicKey::Unsupported, |k| PublicKey::Rsa(k.to_vec())),
            oid::ID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                match (curve, spki.subject_public_key.as_bytes()) {
                    (Some(oid::SECP_256_R_1), Some(k)) => PublicKey::EcP256(k.to_vec()),
                    (Some(oid::SECP_384_R_1), Some(k)) => PublicKey::EcP384(k.to_vec()),
                    _ => PublicKey::Unsupported,
                }
            }
            _ => PublicKey::Unsupported,
        };
        let validity = tbs_cert.validity();
        let not_before = to_chrono(validity.not_before);
        let not_after = to_chrono(validity.not_after);
        let mut info = CertInfo {
            sha1: sha1_of(&der),
            sha256,
            tbs,
            issuer_key: name_key(tbs_cert.issuer()),
            subject_key: name_key(tbs_cert.subject()),
            subject: tbs_cert.subject().clone(),
            issuer: tbs_cert.issuer().clone(),
            version: tbs_cert.version() as u8,
            serial: tbs_cert.serial_number().as_bytes().to_vec(),
            sig_alg,
            signature_weakness: signature_weakness(&cert.signature_algorithm().oid),
            signature,
            key,
            not_before,
            not_after,
            bad_extensions: false,
            bad_names: false,
            is_ca: false,
            path_len: None,
            key_usage: None,
            eku: None,
            name_constraints: None,
            emails: Vec::new(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            directory_names: Vec::new(),
            subject_text: format_name(tbs_cert.subject()),
            ski: None,
            aki: None,
            crl_urls: Vec::new(),
            crl_dps: None,
            summary: std::sync::OnceLock::new(),
            der,
        };
        let mut seen = HashSet::new();
        for ext in tbs_cert.extensions().map(|e| e.as_slice()).unwrap_or(&[]) {
            if !seen.insert(ext.extn_id) {
                info.bad_extensions = true;
                continue;
            }
            let ok = info.apply_extension(ext.extn_id, ext.extn_value.as_bytes());
            match ok {
                Some(true) => {}
                // Malformed recognised extension.
                Some(false) => info.bad_extensions = true,
                // Unknown extension.
                None => info.bad_extensions |= ext.critical,
            }
        }

        if !info.subject.is_empty() {
            let keys = rdn_keys(&info.subject);
            info.directory_names.insert(0, keys);
        }
        for atv in info.subject.iter() {
            if atv.oid == oid::EMAIL_ADDRESS
                && let Some(s) = directory_string(&atv.value)
            {
                if is_mailbox(&s) {
                    info.emails.push(s);
                } else {
                    info.bad_names = true;
                }
            }
        }
        Ok(info)
    }

    /// Records one extension: `Some(true)` when understood, `Some(false)` when malformed,
    /// `None` when unknown.
    fn apply_extension(&mut self, id: ObjectIdentifier, value: &[u8]) -> Option<bool> {
        Some(match id {
            oid::ID_CE_BASIC_CONSTRAINTS => match BasicConstraints::from_der(value) {
                Ok(bc) => {
                    self.is_ca = bc.ca;
                    self.path_len = if bc.ca { bc.path_len_constraint } else { None };
                    true
                }
                Err(_) => false,
            },
            oid::ID_CE_KEY_USAGE => match BitString::from_der(value) {
                Ok(bits) => {
                    let mut flags = 0u16;
                    for (i, bit) in bits.bits().enumerate().take(16) {
                        if bit {
                            flags |= 1 << i;
                        }
                    }
                    self.key_usage = Some(flags);
                    true
                }
                Err(_) => false,
            },
            oid::ID_CE_EXT_KEY_USAGE => match ExtendedKeyUsage::from_der(value) {
                Ok(eku) => {
                    self.eku = Some(eku.0);
                    true
                }
                Err(_) => false,
            },
            oid::ID_CE_NAME_CONSTRAINTS => match NameConstraints::from_der(value) {
                Ok(nc) => {
                    self.name_constraints = Some(Constraints::new(&nc));
                    true
                }
                Err(_) => false,
            },
            oid::ID_CE_SUBJECT_ALT_NAME => match SubjectAltName::from_der(value) {
                Ok(san) => {
                    for gn in san.0 {
                        match gn {
                            GeneralName::Rfc822Name(s) => {
                                let s = s.to_string();
                                if is_mailbox(&s) {
                                    self.emails.push(s);
                                } else {
                                    self.bad_names = true;
                                }
                            }
                            GeneralName::DnsName(s) => self.dns_names.push(s.to_string()),
                            GeneralName::IpAddress(o) => {
                                self.ip_addresses.push(o.as_bytes().to_vec())
                            }
                            GeneralName::DirectoryName(n) => {
                                self.directory_names.push(rdn_keys(&n))
                            }
                            _ => {}
                        }
                    }
                    true
                }
                Err(_) => false,
            },
            oid::ID_CE_SUBJECT_KEY_IDENTIFIER => {
                // Lenient: a broken key identifier only loses a path-building hint.
                self.ski = OctetString::from_der(value).ok().map(|o| o.as_bytes().to_vec());
                true
            }
            oid::ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                self.aki = AuthorityKeyIdentifier::from_der(value)
                    .ok()
                    .and_then(|a| a.key_identifier)
                    .map(|o| o.as_bytes().to_vec());
                true
            }
            oid::ID_CE_CRL_DISTRIBUTION_POINTS => {
                if let Ok(dps) = CrlDistributionPoints::from_der(value) {
                    self.crl_dps = Some(cert_dps(&dps.0, &self.issuer));
                    for dp in dps.0 {
                        if let Some(DistributionPointName::FullName(names)) = dp.distribution_point
                        {
                            for n in names {
                                if let GeneralName::UniformResourceIdentifier(u) = n {
                                    self.crl_urls.push(u.to_string());
                                }
                            }
                        }
                    }
                }
                true
            }
            // Recognised, not enforced (no policy processing: S/MIME validation here runs
            // with any-policy and no explicit-policy requirement).
            oid::ID_CE_CERTIFICATE_POLICIES
            | oid::ID_CE_POLICY_MAPPINGS
            | oid::ID_CE_POLICY_CONSTRAINTS
            | oid::ID_CE_INHIBIT_ANY_POLICY
            | oid::ID_PE_AUTHORITY_INFO_ACCESS
            | oid::ID_PE_SUBJECT_INFO_ACCESS
            | oid::ID_CE_ISSUER_ALT_NAME
            | oid::ID_CE_FRESHEST_CRL
            | oid::ID_CE_SUBJECT_DIRECTORY_ATTRIBUTES
            | oid::ID_CE_PRIVATE_KEY_USAGE_PERIOD => true,
            _ => return None,
        })
    }

    pub(crate) fn tbs(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or(&[])
    }

    /// Whether basicConstraints says cA.
    pub(crate) fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// Whether the issuer and subject names are the same (after normalisation).
    pub(crate) fn self_issued(&self) -> bool {
        self.issuer_key == self.subject_key
    }

    /// The description a report gives of this certificate.
    pub(crate) fn summary(&self) -> SignerSummary {
        self.summary
            .get_or_init(|| SignerSummary {
                subject: self.subject_text.clone(),
                issuer: format_name(&self.issuer),
                serial: serial_hex(&self.serial),
                sha1: crate::crypto::hex(&self.sha1),
                not_before: Some(self.not_before),
                not_after: Some(self.not_after),
                email: self.emails.first().cloned(),
                der: self.der.clone(),
            })
            .clone()
    }
}

/// Describes a DER certificate (subject, issuer, serial, SHA-1, validity, email).
///
/// Names are RFC 4514 strings, most specific RDN first (see [`format_name`]), the serial is
/// uppercase hex without leading zeros (`0` for zero), the SHA-1 lowercase hex, the email the
/// first rfc822Name of subjectAltName or else the subject's `emailAddress`.
///
/// # Errors
/// Bad DER.
pub fn describe_certificate(der: &[u8]) -> Result<SignerSummary> {
    let info = CertInfo::parse(der.to_vec())?;
    Ok(info.summary())
}

/// Splits PEM (`CERTIFICATE`, `X509 CERTIFICATE` or `TRUSTED CERTIFICATE` blocks) or a single
/// DER certificate into DER certificates. Only the framing is checked, not the contents.
///
/// # Errors
/// A PEM block that is not a certificate, bad base64, or bytes that are neither PEM nor DER.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if bytes.first() == Some(&0x30) {
        return match der_tlv(bytes) {
            Some((0x30, _, total)) if total == bytes.len() => Ok(vec![bytes.to_vec()]),
            _ => Err(bad_cert("not a DER certificate")),
        };
    }
    let ders = pem_certificates(bytes)?;
    if ders.is_empty() {
        return Err(bad_cert("no certificate found"));
    }
    Ok(ders)
}

/// The certificates of a PEM bundle: every block must be a certificate.
pub(crate) fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    let blocks = pem_blocks(pem, Headers::Skip).map_err(|e| bad_cert(&format!("PEM: {e}")))?;
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        if !matches!(b.label.as_str(), "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE") {
            return Err(bad_cert(&format!("PEM: unexpected PEM block {:?}", b.label)));
        }
        // A TRUSTED CERTIFICATE is the certificate followed by OpenSSL trust settings.
        match der_tlv(&b.der) {
            Some((0x30, _, total)) if total == b.der.len() => out.push(b.der),
            Some((0x30, _, total)) => out.push(b.der.get(..total).unwrap_or(&[]).to_vec()),
            _ => return Err(bad_cert("PEM block is not a DER certificate")),
        }
    }
    Ok(out)
}

/// Uppercase hex of a serial number, whole octets (as `openssl x509 -serial` prints it).
fn serial_hex(serial: &[u8]) -> String {
    if serial.is_empty() {
        return "00".to_owned();
    }
    crate::crypto::hex(serial).to_ascii_uppercase()
}

/// A certificate or CRL time as a chrono instant (the end of time when out of range).
pub(crate) fn to_chrono(t: x509_cert::time::Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The weakness of a certificate signature algorithm (SHA-1 or MD5 based), if any.
fn signature_weakness(o: &ObjectIdentifier) -> Option<Weakness> {
    match *o {
        oid::SHA_1_WITH_RSA_ENCRYPTION
        | oid::SHA_1_WITH_RSA_OIW
        | oid::ECDSA_WITH_SHA_1
        | oid::DSA_WITH_SHA_1 => Some(Weakness::Sha1Certificate),
        oid::MD_5_WITH_RSA_ENCRYPTION => Some(Weakness::Md5Certificate),
        _ => None,
    }
}

/// The size in bits of the modulus of a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
pub(crate) fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    let (tag, header, _) = der_tlv(rsa_public_key)?;
    if tag != 0x30 {
        return None;
    }
    let inner = rsa_public_key.get(header..)?;
    let (tag, header, total) = der_tlv(inner)?;
    if tag != 0x02 {
        return None;
    }
    let n = inner.get(header..total)?;
    let start = n.iter().position(|&b| b != 0)?;
    let first = *n.get(start)?;
    Some((n.len() - start - 1) * 8 + (8 - first.leading_zeros() as usize))
}

fn bad_cert(msg: &str) -> Error {
    Error::Certificate(CertificateError::BadCertificate(msg.to_owned()))
}

/// SHA-256 of `data`, as the fixed array the caches key on.
pub(crate) fn sha256_of(data: &[u8]) -> [u8; 32] {
    let d = DigestAlgorithm::Sha256.digest(data);
    let mut out = [0u8; 32];
    if d.len() == 32 {
        out.copy_from_slice(&d);
    }
    out
}

/// SHA-1 of `data` (certificate identity in trust stores and the providers index).
pub(crate) fn sha1_of(data: &[u8]) -> [u8; 20] {
    let d = DigestAlgorithm::Sha1.digest(data);
    let mut out = [0u8; 20];
    if d.len() == 20 {
        out.copy_from_slice(&d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_modulus_sizes() {
        // SEQUENCE { INTEGER 0x00 0x80 ..., INTEGER 3 }: 1024 bits (leading zero octet)
        let mut n = vec![0x00, 0x80];
        n.extend([0u8; 127]);
        let mut key = vec![0x30, 0x81, 0x87, 0x02, 0x81, 0x81];
        key.extend(&n);
        key.extend([0x02, 0x01, 0x03]);
        assert_eq!(rsa_modulus_bits(&key), Some(1024));
        key[7] = 0x01; // top octet 0x01: 1017 bits
        assert_eq!(rsa_modulus_bits(&key), Some(1017));
        assert_eq!(rsa_modulus_bits(&[0x30, 0x00]), None);
        assert_eq!(rsa_modulus_bits(&[0x04, 0x00]), None);
    }

    #[test]
    fn framing() {
        assert!(parse_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA").is_err());
        assert!(
            parse_certificates(b"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
        assert_eq!(serial_hex(&[0x0b, 0xe0]), "0BE0");
        assert_eq!(serial_hex(&[]), "00");
    }
}
