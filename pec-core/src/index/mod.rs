//! The providers index («indice dei gestori di posta certificata», RFC 6109 §4.5; docs/SPEC.md
//! §8): which domains and certificates belong to PEC.

use std::sync::Arc;

pub mod directory;
#[cfg(feature = "ldap")]
pub mod ldap;
pub mod ldif;
pub mod refresh;

pub use directory::Directory;
#[cfg(feature = "ldap")]
pub use ldap::LdapSource;
pub use ldif::{LdifLimits, records_from_ldif, unwrap_signed_index};
pub use refresh::{IndexSource, IndexVerifier, LdifFileSource, RefreshHandle, RefreshingDirectory};

// One vocabulary: the providers index is "index" in every public name (the bindings' `Index`,
// `pec_index`, `Mail::PEC::Index`). The older `Directory` names stay (they are contracts);
// these are the same items under the index names (docs: `crate::view`).
/// Look-ups in the providers index: [`ProviderDirectory`] under its index name.
pub use self::ProviderDirectory as ProviderIndex;
/// The in-memory providers index: [`Directory`] under its index name.
pub use directory::Directory as Index;
/// The index kept fresh in the background: [`RefreshingDirectory`] under its index name.
pub use refresh::RefreshingDirectory as RefreshingIndex;

/// One provider entry of the index (`objectClass: provider`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderRecord {
    /// The entry's DN, as given.
    pub dn: String,
    /// `providerName`.
    pub name: String,
    /// `providerUnit` (secondary operating environments only).
    pub unit: Option<String>,
    /// `providerCertificateHash` values, lowercase hex.
    pub cert_hashes: Vec<String>,
    /// `providerCertificate;binary` values, DER.
    pub certificates: Vec<Vec<u8>>,
    /// `mailReceipt`.
    pub mail_receipt: String,
    /// `managedDomains`, lowercase.
    pub managed_domains: Vec<String>,
    /// `LDIFLocationURL`.
    pub ldif_url: Option<String>,
    /// `description`.
    pub description: Option<String>,
}

impl ProviderRecord {
    /// Whether this provider manages `domain` (ASCII case-insensitive, exact).
    pub fn manages(&self, domain: &str) -> bool {
        self.managed_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// Look-ups in the providers index. Implemented by the in-memory directory (from LDIF or
/// LDAP) and by test fakes.
pub trait ProviderDirectory: Send + Sync {
    /// The provider managing `domain` (case-insensitive, exact match).
    fn by_domain(&self, domain: &str) -> Option<Arc<ProviderRecord>>;
    /// The provider holding the certificate whose SHA-1 is `sha1_hex` (case-insensitive).
    fn by_cert_hash(&self, sha1_hex: &str) -> Option<Arc<ProviderRecord>>;
    /// The provider named `name` (case-insensitive).
    fn by_name(&self, name: &str) -> Option<Arc<ProviderRecord>>;
}

/// The certificates the caller allows to sign a providers index (`.p7m`).
///
/// A signature that merely chains to the message trust anchors could come from any provider,
/// which could then grant itself another provider's domains; so a signed index is accepted
/// only when its CMS signer certificate is one of these (same DER bytes, compared by SHA-256)
/// **and** the signature is `valid` against the trust anchors. Without any index signer a
/// signed index is refused ([`DirectoryError::NoIndexSigner`]).
///
/// [`DirectoryError::NoIndexSigner`]: crate::error::DirectoryError::NoIndexSigner
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IndexSigners {
    /// SHA-256 of each named certificate's DER, with the DER.
    certs: Vec<([u8; 32], Vec<u8>)>,
}

impl IndexSigners {
    /// No index signer (a signed index is then refused).
    pub fn new() -> Self {
        IndexSigners::default()
    }

    /// Adds the certificates of a file's bytes: PEM (every `CERTIFICATE` block) or one DER
    /// certificate. Returns how many were added (duplicates are not counted).
    ///
    /// # Errors
    /// [`crate::error::CertificateError`] when the bytes hold no certificate or one that does
    /// not parse.
    pub fn add(&mut self, bytes: &[u8]) -> crate::Result<usize> {
        let mut added = 0;
        for der in crate::x509::cert::parse_certificates(bytes)? {
            added += usize::from(self.add_der(&der)?);
        }
        Ok(added)
    }

    /// Adds one DER certificate; `false` when it was already named.
    ///
    /// # Errors
    /// [`crate::error::CertificateError`] when it does not parse as X.509.
    pub fn add_der(&mut self, der: &[u8]) -> crate::Result<bool> {
        crate::x509::cert::describe_certificate(der)?;
        let digest = crate::x509::cert::sha256_of(der);
        if self.certs.iter().any(|(d, _)| *d == digest) {
            return Ok(false);
        }
        self.certs.push((digest, der.to_vec()));
        Ok(true)
    }

    /// Whether `der` is one of the named certificates (same bytes).
    pub fn contains(&self, der: &[u8]) -> bool {
        let digest = crate::x509::cert::sha256_of(der);
        self.certs.iter().any(|(d, c)| *d == digest && c.as_slice() == der)
    }

    /// Number of named certificates.
    pub fn len(&self) -> usize {
        self.certs.len()
    }

    /// Whether no certificate is named.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    /// The named certificates, DER.
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.certs.iter().map(|(_, c)| c.as_slice())
    }
}

/// Whether `bytes` are a signed (`.p7m`) index rather than plain LDIF: DER (a SEQUENCE),
/// PEM (`-----BEGIN`), or bare base64 (only base64 characters and white space: an LDIF
/// record always holds a `:`).
pub fn is_signed_index(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.first() == Some(&0x30) {
        return true;
    }
    let text = bytes.trim_ascii_start();
    if text.starts_with(b"-----BEGIN") {
        return true;
    }
    !text.is_empty()
        && text
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+/=".contains(&b) || b.is_ascii_whitespace())
}
