//! Encryption at rest: CMS EnvelopedData (RFC 5652 §6) to a list of recipient
//! certificates, and its decryption with a software or PKCS#11 key.
//!
//! What a provider keeps for years besides the mailboxes (the quarantine of 30 months, the
//! sealed daily log exports, kept archives) is encrypted to at least two public keys whose
//! private halves are offline (archive and auditor). **Never a PEC mailbox**: the delivery
//! point stores every message in the mailbox unmodified (RFC 6109 §3.3; docs/SPEC.md §1.3),
//! it is legal evidence the holder's own client must read and verify; this module is for the
//! provider's own stores only.
//!
//! # Format
//!
//! * Key transport per recipient: RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017,
//!   parameters as RFC 4055), by default; RSAES-OAEP with SHA-1 or PKCS#1 v1.5 for keys that
//!   must decrypt in an HSM which lacks SHA-256 OAEP (SoftHSM2 2.6 offers only SHA-1 OAEP).
//!   Recipients are named by issuer and serial number (KeyTransRecipientInfo v0).
//! * Content: AES-256-CBC (RFC 3565) with a fresh random key and IV. CBC, not GCM: OpenSSL's
//!   `cms` reads EnvelopedData with AES-CBC everywhere, and AuthEnvelopedData buys no
//!   protection here, since whoever can replace an archive can replace it with anything
//!   encrypted to the same public keys: integrity of archives comes from their seals (the
//!   time stamp of a log export covers the plaintext, whose SHA-256 [`encrypt`] returns).
//! * Written as DER with definite lengths when the caller knows the content length (files),
//!   else as BER with indefinite lengths and the content in 64 KiB OCTET STRING chunks (what
//!   `openssl cms -stream` writes). Both are read back, by pec and by `openssl cms -decrypt`.
//!
//! # Memory
//!
//! Both directions stream: the input is read and the output written in 64 KiB pieces, so
//! memory stays bounded whatever the size (a 30 MiB file neither fits in memory twice nor
//! needs to). Decryption writes plaintext before it has seen the end of the input: on an
//! error the output written so far is incomplete and must be discarded (the CLI's `--out`
//! writes to a temporary file renamed only on success).
//!
//! # Crypto
//!
//! aws-lc-rs for RSA (OAEP and PKCS#1 v1.5, constant time) and AES; the `cms` crate only for
//! its types (its builder needs the `rsa` crate and offers neither OAEP nor decryption).
//!
//! # OpenPGP (feature `openpgp`, off by default)
//!
//! `encrypt_openpgp` writes an OpenPGP message (SEIPDv1, AES-256) to `PgpRecipient`s read
//! from `gpg --export` files, through rpgp; GnuPG 2.2 decrypts it. Encryption only: the
//! keepers decrypt with GnuPG. rpgp brings the `rsa` crate (RUSTSEC-2023-0071, which concerns
//! private-key operations), so the feature stays out of libpec and Python.

mod decrypt;
mod encrypt;
#[cfg(feature = "openpgp")]
mod openpgp;

use std::fmt;

use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey,
    Pkcs1PrivateDecryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use cms::cert::IssuerAndSerialNumber;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::{Decode as _, Encode as _};
use x509_cert::Certificate;

pub use self::decrypt::{DecryptInfo, check_key, decrypt, decrypt_bytes};
pub use self::encrypt::{EncryptInfo, encrypt, encrypt_bytes};
#[cfg(feature = "openpgp")]
pub use self::openpgp::{PgpRecipient, encrypt_openpgp};
use crate::error::{AtRestError, CertificateError, Error, Result};
use crate::x509::pem::{self, Headers, PemError};

/// Size of the pieces read and written while streaming.
pub(crate) const CHUNK: usize = 64 * 1024;

/// How the content-encryption key travels to a recipient (the RSA padding).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyTransport {
    /// RSAES-OAEP, SHA-256, MGF1-SHA-256, empty label (the default).
    #[default]
    OaepSha256,
    /// RSAES-OAEP, SHA-1, MGF1-SHA-1, empty label (for HSMs without SHA-256 OAEP).
    OaepSha1,
    /// RSAES-PKCS1-v1_5 (for HSMs without OAEP; `rsaEncryption`).
    Pkcs1,
}

impl KeyTransport {
    /// The name used in configuration (`[atrest] key_transport`) and reports:
    /// `oaep-sha256`, `oaep-sha1`, `pkcs1`.
    pub fn name(self) -> &'static str {
        match self {
            KeyTransport::OaepSha256 => "oaep-sha256",
            KeyTransport::OaepSha1 => "oaep-sha1",
            KeyTransport::Pkcs1 => "pkcs1",
        }
    }

    /// The key transport named `name` (as [`KeyTransport::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        [KeyTransport::OaepSha256, KeyTransport::OaepSha1, KeyTransport::Pkcs1]
            .into_iter()
            .find(|t| t.name() == name)
    }
}

impl fmt::Display for KeyTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A recipient: an RSA certificate and the key transport to use for it.
#[derive(Clone)]
pub struct Recipient {
    rid: IssuerAndSerialNumber,
    public_key: PublicEncryptingKey,
    transport: KeyTransport,
    subject: String,
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipient")
            .field("subject", &self.subject)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Recipient {
    /// A recipient from the DER of its certificate (an RSA key of 2048 to 8192 bits).
    ///
    /// # Errors
    /// [`AtRestError::BadRecipient`] when the certificate does not parse or its key is not
    /// a usable RSA key.
    pub fn from_der(cert_der: &[u8], transport: KeyTransport) -> Result<Self> {
        let cert = Certificate::from_der(cert_der)
            .map_err(|e| AtRestError::BadRecipient(format!("certificate: {e}")))?;
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        let subject = crate::x509::name::format_name(tbs.subject());
        if spki.algorithm.oid != rfc5912::RSA_ENCRYPTION {
            return Err(AtRestError::BadRecipient(format!(
                "{subject}: key is {}, not RSA",
                spki.algorithm.oid
            ))
            .into());
        }
        let spki_der =
            spki.to_der().map_err(|e| AtRestError::BadRecipient(format!("{subject}: {e}")))?;
        let public_key = PublicEncryptingKey::from_der(&spki_der).map_err(|e| {
            AtRestError::BadRecipient(format!("{subject}: RSA key refused ({e}; 2048-8192 bits)"))
        })?;
        let rid = IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        };
        Ok(Recipient { rid, public_key, transport, subject })
    }

    /// One recipient per certificate of a PEM file (every `CERTIFICATE` block), or of a DER
    /// certificate.
    ///
    /// # Errors
    /// As [`Recipient::from_der`]; [`AtRestError::BadRecipient`] when the input holds no
    /// certificate.
    pub fn from_pem_or_der(input: &[u8], transport: KeyTransport) -> Result<Vec<Self>> {
        let ders = if pem::is_pem(input) {
            let blocks = pem::pem_blocks(input, Headers::Skip)
                .map_err(|e| AtRestError::BadRecipient(format!("bad PEM: {e}")))?;
            blocks
                .into_iter()
                .filter(|b| b.label == "CERTIFICATE" || b.label == "X509 CERTIFICATE")
                .map(|b| b.der)
                .collect()
        } else {
            vec![input.to_vec()]
        };
        if ders.is_empty() {
            return Err(AtRestError::BadRecipient("no CERTIFICATE block in PEM".into()).into());
        }
        ders.iter().map(|d| Recipient::from_der(d, transport)).collect()
    }

    /// The certificate subject, for messages.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The key transport used for this recipient.
    pub fn transport(&self) -> KeyTransport {
        self.transport
    }
}

/// A private key that opens the content-encryption key of the recipients it is.
///
/// Implemented by [`SoftwareKey`] and, with the feature `pkcs11`, by
/// [`crate::pkcs11::Pkcs11Signer`] (the key on a token, through `C_Decrypt`).
pub trait RecipientKey {
    /// DER of the key's certificate, when known: only the recipient it names is tried.
    /// Without one, every key-transport recipient is tried in turn.
    fn certificate(&self) -> Option<&[u8]>;

    /// Undoes the key transport: decrypts one RSA block with this key.
    ///
    /// # Errors
    /// Any failure (a block this key does not open, a key store that fails).
    fn unwrap_key(&self, transport: KeyTransport, encrypted_key: &[u8]) -> Result<Vec<u8>>;
}

/// An RSA private key in memory (aws-lc-rs), with its certificate when given.
pub struct SoftwareKey {
    key: PrivateDecryptingKey,
    certificate: Option<Vec<u8>>,
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareKey")
            .field("bits", &self.key.key_size_bits())
            .field("certificate", &self.certificate.is_some())
            .finish_non_exhaustive()
    }
}

impl SoftwareKey {
    /// Loads a key from PEM (`PRIVATE KEY`, PKCS#8, or `RSA PRIVATE KEY`, PKCS#1) or DER,
    /// and optionally its certificate (PEM or DER; the first certificate is used).
    ///
    /// # Errors
    /// [`CertificateError::BadKey`] (unreadable, encrypted, not RSA 2048-8192 bits),
    /// [`CertificateError::BadCertificate`], [`CertificateError::KeyMismatch`].
    pub fn from_pem(key: &[u8], certificate: Option<&[u8]>) -> Result<Self> {
        let der = if pem::is_pem(key) {
            let blocks = pem::pem_blocks(key, Headers::Refuse).map_err(|e| match e {
                PemError::Headers(_) => {
                    CertificateError::BadKey("encrypted (RFC 1421 headers) PEM key".into())
                }
                other => CertificateError::BadKey(format!("bad PEM: {other}")),
            })?;
            let mut found = None;
            for b in blocks {
                match b.label.as_str() {
                    "PRIVATE KEY" => found = Some(b.der),
                    "RSA PRIVATE KEY" => found = Some(pkcs1_to_pkcs8(&b.der)?),
                    "ENCRYPTED PRIVATE KEY" => {
                        return Err(CertificateError::BadKey(
                            "encrypted private keys are not supported: decrypt it first".into(),
                        )
                        .into());
                    }
                    _ => continue,
                }
                break;
            }
            found.ok_or_else(|| CertificateError::BadKey("no PRIVATE KEY block in PEM".into()))?
        } else if PrivateDecryptingKey::from_pkcs8(key).is_ok() {
            key.to_vec()
        } else {
            pkcs1_to_pkcs8(key)?
        };
        let key = PrivateDecryptingKey::from_pkcs8(&der).map_err(|e| {
            CertificateError::BadKey(format!("not an RSA key of 2048-8192 bits: {e}"))
        })?;
        let certificate = match certificate {
            None => None,
            Some(c) => {
                let der = if pem::is_pem(c) {
                    crate::signer::pem_certificates(c)?.into_iter().next().ok_or_else(|| {
                        CertificateError::BadCertificate("no CERTIFICATE block in PEM".into())
                    })?
                } else {
                    c.to_vec()
                };
                check_key_matches(&key, &der)?;
                Some(der)
            }
        };
        Ok(SoftwareKey { key, certificate })
    }
}

impl RecipientKey for SoftwareKey {
    fn certificate(&self) -> Option<&[u8]> {
        self.certificate.as_deref()
    }

    fn unwrap_key(&self, transport: KeyTransport, encrypted_key: &[u8]) -> Result<Vec<u8>> {
        let failed = || Error::from(AtRestError::DecryptionFailed("key transport".into()));
        if encrypted_key.len() != self.key.key_size_bytes() {
            return Err(failed());
        }
        let mut out = vec![0u8; self.key.key_size_bytes()];
        let n = match transport {
            KeyTransport::Pkcs1 => {
                let k = Pkcs1PrivateDecryptingKey::new(self.key.clone()).map_err(|_| failed())?;
                k.decrypt(encrypted_key, &mut out).map_err(|_| failed())?.len()
            }
            KeyTransport::OaepSha1 | KeyTransport::OaepSha256 => {
                let alg = if transport == KeyTransport::OaepSha1 {
                    &OAEP_SHA1_MGF1SHA1
                } else {
                    &OAEP_SHA256_MGF1SHA256
                };
                let k = OaepPrivateDecryptingKey::new(self.key.clone()).map_err(|_| failed())?;
                k.decrypt(alg, encrypted_key, &mut out, None).map_err(|_| failed())?.len()
            }
        };
        out.truncate(n);
        Ok(out)
    }
}

#[cfg(feature = "pkcs11")]
impl RecipientKey for crate::pkcs11::Pkcs11Signer {
    fn certificate(&self) -> Option<&[u8]> {
        Some(crate::signer::Signer::certificate(self))
    }

    fn unwrap_key(&self, transport: KeyTransport, encrypted_key: &[u8]) -> Result<Vec<u8>> {
        use crate::pkcs11::RsaDecryptMechanism as M;
        let m = match transport {
            KeyTransport::OaepSha256 => M::OaepSha256,
            KeyTransport::OaepSha1 => M::OaepSha1,
            KeyTransport::Pkcs1 => M::Pkcs1,
        };
        self.decrypt_rsa(m, encrypted_key)
    }
}

/// The certificate's public key must be the private key's.
fn check_key_matches(key: &PrivateDecryptingKey, cert_der: &[u8]) -> Result<()> {
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| CertificateError::BadCertificate(format!("recipient certificate: {e}")))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let spki_der = spki.to_der().map_err(|e| CertificateError::BadCertificate(format!("{e}")))?;
    let public = key.public_key();
    let ours =
        aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::PublicKeyX509Der<'_>>::as_der(&public)
            .map_err(|_| CertificateError::BadKey("cannot encode the public key".into()))?;
    if ours.as_ref() == spki_der.as_slice() {
        Ok(())
    } else {
        Err(CertificateError::KeyMismatch.into())
    }
}

/// `PrivateKeyInfo` (RFC 5208) around a PKCS#1 `RSAPrivateKey`.
fn pkcs1_to_pkcs8(pkcs1: &[u8]) -> Result<Vec<u8>> {
    #[derive(der::Sequence)]
    struct PrivateKeyInfo {
        version: u8,
        algorithm: spki::AlgorithmIdentifierOwned,
        private_key: der::asn1::OctetString,
    }
    let bad =
        |e: der::Error| CertificateError::BadKey(format!("not an RSA key (PKCS#8 or PKCS#1): {e}"));
    let info = PrivateKeyInfo {
        version: 0,
        algorithm: spki::AlgorithmIdentifierOwned {
            oid: rfc5912::RSA_ENCRYPTION,
            parameters: Some(der::asn1::Any::null()),
        },
        private_key: der::asn1::OctetString::new(pkcs1).map_err(bad)?,
    };
    Ok(info.to_der().map_err(bad)?)
}

/// `RSAES-OAEP-params` (RFC 8017 §A.2.1, tags of RFC 4055): absent fields are SHA-1,
/// MGF1-SHA-1 and an empty label.
#[derive(Clone, Debug, Default, der::Sequence)]
pub(crate) struct RsaesOaepParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub hash: Option<spki::AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub mask_gen: Option<spki::AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub p_source: Option<spki::AlgorithmIdentifierOwned>,
}

/// `id-envelopedData`.
pub(crate) const ID_ENVELOPED_DATA: ObjectIdentifier = const_oid::db::rfc5911::ID_ENVELOPED_DATA;
/// `id-ct-authEnvelopedData` (RFC 5083), recognised only to name it in an error.
pub(crate) const ID_AUTH_ENVELOPED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.23");
/// `id-data`.
pub(crate) const ID_DATA: ObjectIdentifier = const_oid::db::rfc5911::ID_DATA;

/// The `[atrest]` section of a provider file (`recipients = ["archive.pem", "auditor.pem"]`,
/// `key_transport = "oaep-sha256" | "oaep-sha1" | "pkcs1"`): whom the engine encrypts its
/// stores to. Parsed here so that the engine only has to embed it.
#[derive(Clone, Debug, Default, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AtRestConfig {
    /// Recipient certificate files (PEM or DER), relative to the provider file. At least
    /// two are advised, with their private keys offline (archive and auditor): a lost key
    /// loses years of evidence.
    pub recipients: Vec<std::path::PathBuf>,
    /// The key transport for every recipient (default `oaep-sha256`).
    #[serde(default)]
    pub key_transport: Option<String>,
}

impl AtRestConfig {
    /// Loads the recipients, resolving relative paths against `base` (the provider file's
    /// directory).
    ///
    /// # Errors
    /// [`crate::error::BuildError::ProviderConfig`] without recipients or with an unknown
    /// key transport; [`Error::Io`] for an unreadable file; as
    /// [`Recipient::from_pem_or_der`].
    pub fn load_recipients(&self, base: &std::path::Path) -> Result<Vec<Recipient>> {
        let config = |m: String| Error::from(crate::error::BuildError::ProviderConfig(m));
        let transport = match self.key_transport.as_deref() {
            None => KeyTransport::default(),
            Some(name) => KeyTransport::from_name(name).ok_or_else(|| {
                config(format!(
                    "[atrest] key_transport {name:?}: expected oaep-sha256, oaep-sha1 or pkcs1"
                ))
            })?,
        };
        if self.recipients.is_empty() {
            return Err(config("[atrest] recipients is empty".into()));
        }
        let mut out = Vec::new();
        for p in &self.recipients {
            let path = base.join(p);
            let bytes = std::fs::read(&path).map_err(|e| Error::io(path.display(), &e))?;
            out.extend(Recipient::from_pem_or_der(&bytes, transport)?);
        }
        Ok(out)
    }
}
