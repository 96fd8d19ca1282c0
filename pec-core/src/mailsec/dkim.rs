//! DKIM signing of the messages pec builds (MAILSEC.md §1): RSA-SHA256, relaxed/relaxed, no
//! `l=`, `d=` the provider domain, the PEC headers oversigned. The signature is made after
//! the S/MIME signature and only prepends one `DKIM-Signature` field to the outer header
//! block: the S/MIME-signed bytes stay exactly as they were.
//!
//! The keys: [`SoftwareDkimKey`] (an RSA key in memory, aws-lc-rs) or [`SignerDkimKey`] (any
//! [`Signer`], e.g. the PKCS#11 session pool: its certificate only gives the public key).
//! Signing goes through mail-auth (feature `mailauth`); [`DnsRecord`] needs no feature.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use der::Encode as _;
use der::asn1::BitString;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::error::{BuildError, CertificateError, Result, SignatureError};
use crate::signer::Signer;
use crate::x509::oid::RSA_ENCRYPTION;
use crate::x509::pem::{self, Headers, PemBlock, is_pem};

/// The fields listed in `h=` (RFC 6376 §5.4). mail-auth lists every name given, present or
/// not, so a name given twice is oversigned: no second `From:`, `Subject:`, `X-Trasporto` or
/// `X-Ricevuta` can be added without breaking the signature (RFC 6376 §8.15).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "From",
    "Subject",
    "Subject",
    "Date",
    "Message-ID",
    "To",
    "Cc",
    "Reply-To",
    "Sender",
    "MIME-Version",
    "Content-Type",
    "X-Trasporto",
    "X-Trasporto",
    "X-Ricevuta",
    "X-Ricevuta",
    "X-Riferimento-Message-ID",
    "X-TipoRicevuta",
    "X-VerificaSicurezza",
];

/// A DKIM private key: RSA PKCS#1 v1.5 over SHA-256, and its public half.
pub trait DkimKey: Send + Sync {
    /// Signs `data` (RSA PKCS#1 v1.5, SHA-256), returning the raw signature.
    ///
    /// # Errors
    /// Any failure of the key store.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>>;
    /// The DER SubjectPublicKeyInfo of the public key (the `p=` of the DNS record).
    fn public_key_spki(&self) -> &[u8];
}

/// An RSA key in memory (aws-lc-rs, constant-time, blinded).
pub struct SoftwareDkimKey {
    key: RsaKeyPair,
    spki: Vec<u8>,
}

impl fmt::Debug for SoftwareDkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareDkimKey")
            .field("spki_sha256", &crate::crypto::sha256_hex(&self.spki))
            .finish_non_exhaustive()
    }
}

impl SoftwareDkimKey {
    /// Reads a PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`) or DER (PKCS#8, PKCS#1) RSA key.
    ///
    /// # Errors
    /// [`CertificateError::BadKey`]: unreadable, encrypted, not RSA, or not 2048-8192 bits.
    pub fn from_pem(bytes: &[u8]) -> Result<Self> {
        let der = if is_pem(bytes) {
            let blocks = pem::pem_blocks(bytes, Headers::Refuse)
                .map_err(|e| CertificateError::BadKey(format!("bad PEM: {e}")))?;
            blocks
                .into_iter()
                .find(|PemBlock { label, .. }| label == "PRIVATE KEY" || label == "RSA PRIVATE KEY")
                .map(|b| b.der)
                .ok_or_else(|| {
                    CertificateError::BadKey("no (unencrypted) PRIVATE KEY block".into())
                })?
        } else {
            bytes.to_vec()
        };
        Self::from_der(&der)
    }

    /// Reads a DER PKCS#8 or PKCS#1 RSA key.
    ///
    /// # Errors
    /// As [`SoftwareDkimKey::from_pem`].
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let key =
            RsaKeyPair::from_pkcs8(der).or_else(|_| RsaKeyPair::from_der(der)).map_err(|e| {
                CertificateError::BadKey(format!("not an RSA key (PKCS#8 or PKCS#1): {e}"))
            })?;
        let spki = rsa_spki(key.public_key().as_ref())?;
        Ok(SoftwareDkimKey { key, spki })
    }
}

impl DkimKey for SoftwareDkimKey {
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut sig)
            .map_err(|_| SignatureError::SigningFailed("DKIM: RSA signing failed".into()))?;
        Ok(sig)
    }

    fn public_key_spki(&self) -> &[u8] {
        &self.spki
    }
}

/// The key of a [`Signer`] (a PKCS#11 token through the session pool, a C callback) used for
/// DKIM; its certificate gives the public key and is not otherwise used.
pub struct SignerDkimKey {
    signer: Arc<dyn Signer>,
    spki: Vec<u8>,
}

impl fmt::Debug for SignerDkimKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignerDkimKey")
            .field("spki_sha256", &crate::crypto::sha256_hex(&self.spki))
            .finish_non_exhaustive()
    }
}

impl SignerDkimKey {
    /// Wraps a signer whose certificate holds an RSA key.
    ///
    /// # Errors
    /// [`CertificateError::BadCertificate`] when its certificate does not parse or its key is
    /// not RSA.
    pub fn new(signer: Arc<dyn Signer>) -> Result<Self> {
        let spki = super::tls::spki_der(signer.certificate())?;
        let parsed = <spki::SubjectPublicKeyInfoRef<'_> as der::Decode>::from_der(&spki)
            .map_err(|e| CertificateError::BadCertificate(format!("public key: {e}")))?;
        if parsed.algorithm.oid != RSA_ENCRYPTION {
            return Err(CertificateError::BadCertificate("DKIM key is not RSA".into()).into());
        }
        Ok(SignerDkimKey { signer, spki })
    }
}

impl DkimKey for SignerDkimKey {
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        self.signer.sign(data)
    }

    fn public_key_spki(&self) -> &[u8] {
        &self.spki
    }
}

fn rsa_spki(pkcs1: &[u8]) -> Result<Vec<u8>> {
    let bad = |e: der::Error| -> crate::Error {
        CertificateError::BadKey(format!("public key: {e}")).into()
    };
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: RSA_ENCRYPTION,
            parameters: Some(der::asn1::Null.into()),
        },
        subject_public_key: BitString::from_bytes(pkcs1).map_err(bad)?,
    }
    .to_der()
    .map_err(bad)
}

/// A DKIM selector: one or more DNS labels (letters, digits, `-`, `_`).
///
/// # Errors
/// [`BuildError::ProviderConfig`].
pub fn check_selector(selector: &str) -> Result<()> {
    super::check_dns_name("DKIM selector", selector).map_err(|_| {
        BuildError::ProviderConfig(format!("{selector:?} is not a DKIM selector")).into()
    })
}

/// The DNS TXT record publishing a DKIM key (RFC 6376 §3.6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// `<selector>._domainkey.<domain>` (no final dot).
    pub name: String,
    /// The TXT data, `v=DKIM1; k=rsa; p=<base64 SPKI>`.
    pub value: String,
}

impl DnsRecord {
    /// The record of `key` under `selector` and `domain`.
    ///
    /// # Errors
    /// [`BuildError::ProviderConfig`] for a bad selector or domain.
    pub fn new(selector: &str, domain: &str, key: &dyn DkimKey) -> Result<Self> {
        check_selector(selector)?;
        super::check_dns_name("DKIM domain", domain)?;
        let p = base64::engine::general_purpose::STANDARD.encode(key.public_key_spki());
        Ok(DnsRecord {
            name: format!("{selector}._domainkey.{}", domain.trim_end_matches('.')),
            value: format!("v=DKIM1; k=rsa; p={p}"),
        })
    }

    /// A zone-file line: the value split into quoted strings of at most 255 bytes.
    pub fn zone_line(&self) -> String {
        let parts: Vec<String> = self
            .value
            .as_bytes()
            .chunks(255)
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect();
        format!("{}. IN TXT ( {} )", self.name, parts.join(" "))
    }
}

/// DKIM-signs `message` (a complete message, CRLF line ends) for `domain` with `selector`,
/// returning the `DKIM-Signature` field (ending in CRLF) to put in front of it. `t=` is now.
///
/// # Errors
/// [`BuildError::ProviderConfig`] for a bad selector or domain;
/// [`SignatureError::SigningFailed`] when the key fails or the message has no header.
#[cfg(feature = "mailauth")]
pub fn signature_field(
    message: &[u8],
    key: &dyn DkimKey,
    domain: &str,
    selector: &str,
) -> Result<Vec<u8>> {
    use mail_auth::common::headers::HeaderWriter as _;
    use mail_auth::dkim::{Canonicalization, DkimSigner};

    check_selector(selector)?;
    super::check_dns_name("DKIM domain", domain)?;
    let signature = DkimSigner::from_key(Adapter(key))
        .domain(domain.trim_end_matches('.'))
        .selector(selector)
        .headers(SIGNED_HEADERS.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
        .body_length(false)
        .sign(message)
        .map_err(|e| SignatureError::SigningFailed(format!("DKIM: {e}")))?;
    let mut field = signature.to_header().into_bytes();
    if !field.ends_with(b"\r\n") {
        field.extend_from_slice(b"\r\n");
    }
    Ok(field)
}

/// [`signature_field`] followed by `message`, unchanged.
///
/// # Errors
/// As [`signature_field`].
#[cfg(feature = "mailauth")]
pub fn sign_message(
    message: &[u8],
    key: &dyn DkimKey,
    domain: &str,
    selector: &str,
) -> Result<Vec<u8>> {
    let mut out = signature_field(message, key, domain, selector)?;
    out.extend_from_slice(message);
    Ok(out)
}

/// mail-auth's signing-key interface over a [`DkimKey`].
#[cfg(feature = "mailauth")]
struct Adapter<'a>(&'a dyn DkimKey);

#[cfg(feature = "mailauth")]
impl mail_auth::common::crypto::SigningKey for Adapter<'_> {
    type Hasher = mail_auth::common::crypto::Sha256;

    fn sign(&self, input: impl mail_auth::common::headers::Writable) -> mail_auth::Result<Vec<u8>> {
        let mut data = Vec::new();
        input.write(&mut data);
        self.0.sign(&data).map_err(|e| {
            mail_auth::Error::Crypto(mail_auth::common::crypto::CryptoError::Library(e.to_string()))
        })
    }

    fn algorithm(&self) -> mail_auth::common::crypto::Algorithm {
        mail_auth::common::crypto::Algorithm::RsaSha256
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn selectors() {
        check_selector("pec-20250101").unwrap();
        check_selector("a.b").unwrap();
        assert!(check_selector("").is_err());
        assert!(check_selector("a b").is_err());
        assert!(check_selector("a;p=x").is_err());
    }

    #[test]
    fn bad_keys() {
        assert!(SoftwareDkimKey::from_pem(b"garbage").is_err());
        assert!(
            SoftwareDkimKey::from_pem(
                b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"
            )
            .is_err()
        );
    }
}
