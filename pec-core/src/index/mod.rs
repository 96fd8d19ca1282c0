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
