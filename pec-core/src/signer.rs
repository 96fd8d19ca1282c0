//! The [`Signer`] interface: what every builder needs to sign a PEC message.

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use der::Decode as _;
use x509_cert::Certificate;

use crate::error::{CertificateError, Result};
use crate::x509::oid::RSA_ENCRYPTION;
use crate::x509::pem::{self, Headers, PemBlock, PemError, is_pem};

/// Something that signs with the provider's key: RSA PKCS#1 v1.5 over SHA-256.
///
/// Implementations: [`SoftwareSigner`] (a key in memory), the PKCS#11 signer
/// (feature `pkcs11`), and caller-supplied signers (the C ABI's callback).
pub trait Signer: Send + Sync {
    /// DER of the signer certificate, embedded in every signature.
    fn certificate(&self) -> &[u8];
    /// DER of the intermediate certificates to embed (may be empty).
    fn chain(&self) -> &[Vec<u8>];
    /// Signs `message` (the DER of the CMS signed attributes) with RSA PKCS#1 v1.5 over
    /// SHA-256, returning the raw signature.
    ///
    /// # Errors
    /// Any failure of the key store; the caller's data is never partially written.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;

    /// Whether every signature this signer returns is known to verify under
    /// [`Signer::certificate`] (the software signer checks that its key matches the
    /// certificate when it is built). When `false` (the default: HSMs, callbacks), the CMS
    /// layer verifies each signature before emitting it, so a broken token never yields a
    /// message with an invalid signature.
    fn self_checked(&self) -> bool {
        false
    }
}

/// Largest PEM or DER input accepted for keys and certificates (a bundle of a few hundred
/// certificates fits easily).
const MAX_PEM_INPUT: usize = 16 * 1024 * 1024;

/// A signer holding an RSA private key in memory (aws-lc-rs, constant-time, blinded).
///
/// The key must match the certificate; the certificate and chain are embedded in every
/// signature (RFC 6109 §2.1: the signer certificate is included; docs/SPEC.md §7.1).
pub struct SoftwareSigner {
    key: RsaKeyPair,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

impl fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("certificate_sha1", &crate::crypto::sha1_hex(&self.certificate))
            .field("chain", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl SoftwareSigner {
    /// Loads a signer from PEM: the key (`PRIVATE KEY`, PKCS#8, or `RSA PRIVATE KEY`,
    /// PKCS#1), the certificate (its first `CERTIFICATE` block is the signer; further blocks
    /// join the chain) and the chain (every `CERTIFICATE` block; may be empty). Inputs that
    /// hold no PEM block at all are read as DER.
    ///
    /// # Errors
    /// [`CertificateError::BadKey`] (unreadable or encrypted key, not RSA 2048-8192 bits),
    /// [`CertificateError::BadCertificate`], [`CertificateError::KeyMismatch`].
    pub fn from_pem(key_pem: &[u8], cert_pem: &[u8], chain_pem: &[u8]) -> Result<Self> {
        let key_der = if is_pem(key_pem) {
            let blocks = pem_blocks(key_pem)?;
            let mut found = None;
            for PemBlock { label, der } in blocks {
                match label.as_str() {
                    "PRIVATE KEY" | "RSA PRIVATE KEY" => {
                        found = Some(der);
                        break;
                    }
                    "ENCRYPTED PRIVATE KEY" => {
                        return Err(CertificateError::BadKey(
                            "encrypted private keys are not supported: decrypt it first".into(),
                        )
                        .into());
                    }
                    _ => {}
                }
            }
            found.ok_or_else(|| CertificateError::BadKey("no PRIVATE KEY block in PEM".into()))?
        } else {
            key_pem.to_vec()
        };
        let mut certs =
            if is_pem(cert_pem) { pem_certificates(cert_pem)? } else { vec![cert_pem.to_vec()] };
        if certs.is_empty() {
            return Err(
                CertificateError::BadCertificate("no CERTIFICATE block in PEM".into()).into()
            );
        }
        let certificate = certs.remove(0);
        let mut chain = certs;
        if is_pem(chain_pem) {
            chain.extend(pem_certificates(chain_pem)?);
        } else if !chain_pem.iter().all(u8::is_ascii_whitespace) {
            chain.push(chain_pem.to_vec());
        }
        Self::from_der(&key_der, certificate, chain)
    }

    /// Loads a signer from DER: a PKCS#8 or PKCS#1 RSA key, the signer certificate and the
    /// intermediate certificates to embed.
    ///
    /// # Errors
    /// As [`SoftwareSigner::from_pem`].
    pub fn from_der(key_der: &[u8], cert_der: Vec<u8>, chain_der: Vec<Vec<u8>>) -> Result<Self> {
        let key =
            RsaKeyPair::from_pkcs8(key_der).or_else(|_| RsaKeyPair::from_der(key_der)).map_err(
                |e| CertificateError::BadKey(format!("not an RSA key (PKCS#8 or PKCS#1): {e}")),
            )?;
        let cert = Certificate::from_der(&cert_der)
            .map_err(|e| CertificateError::BadCertificate(format!("signer certificate: {e}")))?;
        let spki = cert.tbs_certificate().subject_public_key_info();
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(CertificateError::BadCertificate(format!(
                "signer certificate key is {}, not RSA",
                spki.algorithm.oid
            ))
            .into());
        }
        if spki.subject_public_key.raw_bytes() != key.public_key().as_ref() {
            return Err(CertificateError::KeyMismatch.into());
        }
        for (i, c) in chain_der.iter().enumerate() {
            Certificate::from_der(c).map_err(|e| {
                CertificateError::BadCertificate(format!("chain certificate {i}: {e}"))
            })?;
        }
        Ok(SoftwareSigner { key, certificate: cert_der, chain: chain_der })
    }
}

impl Signer for SoftwareSigner {
    fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.key.public_modulus_len()];
        self.key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig).map_err(
            |_| crate::error::SignatureError::SigningFailed("RSA signing failed".into()),
        )?;
        Ok(sig)
    }

    /// The key was checked against the certificate when the signer was built, and aws-lc
    /// checks each RSA signature it makes.
    fn self_checked(&self) -> bool {
        true
    }
}

/// Every `CERTIFICATE` block of a PEM file, as DER, in file order (other blocks skipped).
///
/// # Errors
/// [`CertificateError::BadCertificate`] on a block that is not valid base64 or an
/// unterminated block.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    Ok(pem_blocks(pem)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE" || b.label == "X509 CERTIFICATE")
        .map(|b| b.der)
        .collect())
}

/// Every PEM block of `pem` (through the engine's one PEM reader, [`crate::x509::pem`]);
/// RFC 1421 header lines (`Proc-Type:`) mark an encrypted legacy key, refused.
fn pem_blocks(pem: &[u8]) -> Result<Vec<PemBlock>> {
    if pem.len() > MAX_PEM_INPUT {
        return Err(CertificateError::BadCertificate(format!(
            "PEM input of {} bytes exceeds {MAX_PEM_INPUT}",
            pem.len()
        ))
        .into());
    }
    pem::pem_blocks(pem, Headers::Refuse).map_err(|e| match e {
        PemError::Headers(_) => CertificateError::BadKey(
            "encrypted (RFC 1421 headers) PEM blocks are not supported".into(),
        )
        .into(),
        other => CertificateError::BadCertificate(format!("bad PEM: {other}")).into(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn pem_parsing() {
        let pem = b"junk\n-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
            -----BEGIN FOO-----\nAA==\n-----END FOO-----\r\n-----BEGIN CERTIFICATE-----\r\nBAU=\r\n-----END CERTIFICATE-----\r\n";
        let certs = pem_certificates(pem).unwrap();
        assert_eq!(certs, vec![vec![0, 1, 2, 3], vec![4, 5]]);
        assert!(pem_certificates(b"-----BEGIN CERTIFICATE-----\nAAEC\n").is_err());
        assert!(
            pem_certificates(b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----")
                .is_err()
        );
        assert!(pem_certificates(b"").unwrap().is_empty());
        let encrypted = b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAA==\n-----END RSA PRIVATE KEY-----\n";
        let e = SoftwareSigner::from_pem(encrypted, b"", b"").unwrap_err();
        assert_eq!(e.code(), crate::Code::BadKey);
    }

    #[test]
    fn bad_keys() {
        let e = SoftwareSigner::from_der(b"garbage", vec![1, 2], vec![]).unwrap_err();
        assert_eq!(e.code(), crate::Code::BadKey);
    }
}
