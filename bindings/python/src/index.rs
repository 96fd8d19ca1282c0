//! `pec.Index`: the providers index («indice dei gestori», RFC 6109 §4.5) from LDIF or LDAP,
//! used as trust list by verification and as recipient policy by `pec.Provider`.

use std::path::PathBuf;
use std::sync::Arc;

use pec_core::index::{ProviderDirectory, ProviderRecord as CoreRecord};
use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// One provider entry of the index (`objectClass: provider`).
#[pyclass(module = "pec", frozen, name = "ProviderRecord")]
#[derive(Debug)]
pub struct ProviderRecord {
    /// The entry's DN.
    #[pyo3(get)]
    dn: String,
    /// `providerName`.
    #[pyo3(get)]
    name: String,
    /// `providerUnit`.
    #[pyo3(get)]
    unit: Option<String>,
    /// `providerCertificateHash` values, lowercase hex.
    #[pyo3(get)]
    cert_hashes: Vec<String>,
    certificates: Vec<Vec<u8>>,
    /// `mailReceipt`.
    #[pyo3(get)]
    mail_receipt: String,
    /// `managedDomains`, lowercase.
    #[pyo3(get)]
    managed_domains: Vec<String>,
    /// `LDIFLocationURL`.
    #[pyo3(get)]
    ldif_url: Option<String>,
    /// `description`.
    #[pyo3(get)]
    description: Option<String>,
}

impl From<&CoreRecord> for ProviderRecord {
    fn from(r: &CoreRecord) -> Self {
        ProviderRecord {
            dn: r.dn.clone(),
            name: r.name.clone(),
            unit: r.unit.clone(),
            cert_hashes: r.cert_hashes.clone(),
            certificates: r.certificates.clone(),
            mail_receipt: r.mail_receipt.clone(),
            managed_domains: r.managed_domains.clone(),
            ldif_url: r.ldif_url.clone(),
            description: r.description.clone(),
        }
    }
}

#[pymethods]
impl ProviderRecord {
    /// `providerCertificate;binary` values (DER).
    #[getter]
    fn certificates<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
        self.certificates.iter().map(|c| PyBytes::new(py, c)).collect()
    }

    /// Whether this provider manages `domain` (case-insensitive).
    fn manages(&self, domain: &str) -> bool {
        self.managed_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    fn __repr__(&self) -> String {
        format!("<pec.ProviderRecord name={:?} domains={}>", self.name, self.managed_domains.len())
    }
}

/// The providers index, loaded once and shared (read-only) by verifiers and providers.
#[pyclass(module = "pec", frozen, name = "Index")]
pub struct Index {
    directory: Arc<dyn ProviderDirectory>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Index")
    }
}

impl Index {
    /// The directory, for `VerifyOptions::index` and `Provider::with_directory`.
    pub fn directory(&self) -> Arc<dyn ProviderDirectory> {
        Arc::clone(&self.directory)
    }
}

fn domain_of(address: &str) -> Option<&str> {
    let a = address.trim().trim_start_matches('<').trim_end_matches('>');
    a.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

#[pymethods]
impl Index {
    /// Loads the index from an LDIF file (RFC 6109 §5 `provider` entries; a signed `.p7m`
    /// index is unwrapped).
    #[staticmethod]
    fn from_ldif(py: Python<'_>, path: PathBuf) -> PyResult<Index> {
        let _ = (py, path);
        // TODO(index): wire `pec_core::index::Directory::from_ldif` once it lands on main.
        Err(PyNotImplementedError::new_err(
            "pec.Index.from_ldif: the core's in-memory Directory has not landed yet",
        ))
    }

    /// Loads the index from an LDAP server (`ldap://` or `ldaps://`), searching under `base`,
    /// with `timeout` seconds for connect and search.
    #[staticmethod]
    #[pyo3(signature = (url, base="o=postacert", timeout=10.0))]
    fn from_ldap(py: Python<'_>, url: &str, base: &str, timeout: f64) -> PyResult<Index> {
        let _ = (py, url, base, timeout);
        // TODO(index): wire `pec_core::index::LdapSource` once it lands on main.
        Err(PyNotImplementedError::new_err(
            "pec.Index.from_ldap: the core's LDAP source has not landed yet",
        ))
    }

    /// The provider managing `domain`, or `None`.
    fn by_domain(&self, domain: &str) -> Option<ProviderRecord> {
        self.directory.by_domain(domain).map(|r| ProviderRecord::from(r.as_ref()))
    }

    /// The provider holding the certificate whose SHA-1 (hex) is `sha1_hex`, or `None`.
    fn by_cert_hash(&self, sha1_hex: &str) -> Option<ProviderRecord> {
        self.directory.by_cert_hash(sha1_hex).map(|r| ProviderRecord::from(r.as_ref()))
    }

    /// The provider named `name`, or `None`.
    fn by_name(&self, name: &str) -> Option<ProviderRecord> {
        self.directory.by_name(name).map(|r| ProviderRecord::from(r.as_ref()))
    }

    /// Whether `address` (or a bare domain) is in a PEC domain of the index.
    fn is_certified(&self, address: &str) -> bool {
        let domain = domain_of(address).unwrap_or(address.trim());
        self.directory.by_domain(domain).is_some()
    }

    fn __contains__(&self, address: &str) -> bool {
        self.is_certified(address)
    }
}
