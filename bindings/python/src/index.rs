//! `pec.Index`: the providers index («indice dei gestori», RFC 6109 §4.5) from LDIF or LDAP,
//! used as trust list by verification and as recipient policy by `pec.Provider`.

use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use pec_core::Error;
use pec_core::index::{
    Directory, IndexSigners, LdapSource, ProviderDirectory, ProviderRecord as CoreRecord,
};
use pec_core::open::{open_index, open_index_file};
use pec_core::smime::VerifyOptions;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{detached, guard, invalid_argument};

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

    /// The record as the JSON of `pec index lookup --json` (a `str`): the wire view every
    /// door prints (`pec_core::view::IndexRecordView`).
    fn to_json(&self) -> String {
        pec_core::view::to_json(&pec_core::view::IndexRecordView {
            cert_hashes: &self.cert_hashes,
            dn: &self.dn,
            mail_receipt: &self.mail_receipt,
            managed_domains: &self.managed_domains,
            name: &self.name,
            unit: self.unit.as_deref(),
        })
    }

    fn __repr__(&self) -> String {
        format!("<pec.ProviderRecord name={:?} domains={}>", self.name, self.managed_domains.len())
    }
}

/// The providers index, loaded once and shared (read-only) by verifiers and providers.
#[pyclass(module = "pec", frozen, name = "Index")]
pub struct Index {
    directory: Arc<dyn ProviderDirectory>,
    records: Option<Arc<Directory>>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Index")
    }
}

impl Index {
    fn from_directory(directory: Directory) -> Index {
        let d = Arc::new(directory);
        Index { directory: d.clone(), records: Some(d) }
    }

    /// The directory, for `VerifyOptions::index` and `Provider::with_directory`.
    pub fn directory(&self) -> Arc<dyn ProviderDirectory> {
        Arc::clone(&self.directory)
    }
}

/// An index signer as given: the certificate's bytes, or the path of its file.
enum SignerSource {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

fn signer_sources(items: Option<Vec<Bound<'_, PyAny>>>) -> PyResult<Vec<SignerSource>> {
    let mut out = Vec::new();
    for item in items.unwrap_or_default() {
        if let Ok(b) = item.cast::<PyBytes>() {
            out.push(SignerSource::Bytes(b.as_bytes().to_vec()));
        } else if let Ok(p) = item.extract::<PathBuf>() {
            out.push(SignerSource::Path(p));
        } else {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "index_signers items must be bytes (a PEM or DER certificate) or paths",
            ));
        }
    }
    Ok(out)
}

/// The named index signers and the options their signature is verified with (now).
fn signed_index_trust(
    sources: Vec<SignerSource>,
    ca_file: Option<PathBuf>,
    ca_path: Option<PathBuf>,
    crl_files: Vec<PathBuf>,
) -> Result<(IndexSigners, VerifyOptions), Error> {
    let mut signers = IndexSigners::new();
    for s in sources {
        match s {
            SignerSource::Bytes(b) => signers.add(&b)?,
            SignerSource::Path(p) => pec_core::open::add_index_signer_file(&mut signers, &p)?,
        };
    }
    let opts = crate::verify::trust_sources(ca_file, ca_path, crl_files).verify_options()?;
    Ok((signers, opts))
}

fn domain_of(address: &str) -> Option<&str> {
    let a = address.trim().trim_start_matches('<').trim_end_matches('>');
    a.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

#[pymethods]
impl Index {
    /// Loads the index from a file: plain LDIF (RFC 6109 §5 `provider` entries), or a
    /// signed `.p7m` (DER, base64 or PEM) accepted only when signed by one of
    /// `index_signers` (certificates as `bytes`, PEM or DER, or paths to certificate files)
    /// with a signature valid now against the trust anchors `ca_file` / `ca_path` (and
    /// `crl_files`). A signed index without `index_signers`, signed by another certificate,
    /// or with a signature that is not valid raises `pec.DirectoryError` (code
    /// `INDEX_SIGNATURE`). A file named `*.p7m` is always treated as signed.
    #[staticmethod]
    #[pyo3(signature = (path, index_signers=None, ca_file=None, ca_path=None, crl_files=Vec::new()))]
    fn from_ldif(
        py: Python<'_>,
        path: PathBuf,
        index_signers: Option<Vec<Bound<'_, PyAny>>>,
        ca_file: Option<PathBuf>,
        ca_path: Option<PathBuf>,
        crl_files: Vec<PathBuf>,
    ) -> PyResult<Index> {
        let sources = signer_sources(index_signers)?;
        let directory = detached(py, move || {
            let (signers, opts) = signed_index_trust(sources, ca_file, ca_path, crl_files)?;
            open_index_file(&path, &signers, &opts)
        })?;
        Ok(Index::from_directory(directory))
    }

    /// Builds the index from the bytes of an index file already in memory, plain or signed,
    /// with the same parameters and rules as `from_ldif`.
    #[staticmethod]
    #[pyo3(signature = (data, index_signers=None, ca_file=None, ca_path=None, crl_files=Vec::new()))]
    fn from_ldif_bytes(
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        index_signers: Option<Vec<Bound<'_, PyAny>>>,
        ca_file: Option<PathBuf>,
        ca_path: Option<PathBuf>,
        crl_files: Vec<PathBuf>,
    ) -> PyResult<Index> {
        let bytes = data.as_bytes();
        let sources = signer_sources(index_signers)?;
        let directory = detached(py, move || {
            let (signers, opts) = signed_index_trust(sources, ca_file, ca_path, crl_files)?;
            open_index(bytes, &signers, &opts)
        })?;
        Ok(Index::from_directory(directory))
    }

    /// Loads the index from an LDAP server (`ldap://`, `ldaps://` or `ldapi://`), searching
    /// `(objectClass=provider)` under `base`, with `timeout` seconds for connect and for the
    /// search; `bind_dn`/`password` for a simple bind (anonymous otherwise).
    #[staticmethod]
    #[pyo3(signature = (url, base="o=postacert", timeout=10.0, bind_dn=None, password=None))]
    fn from_ldap(
        py: Python<'_>,
        url: &str,
        base: &str,
        timeout: f64,
        bind_dn: Option<String>,
        password: Option<String>,
    ) -> PyResult<Index> {
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 86_400.0) {
            return Err(invalid_argument(
                py,
                format!("timeout must be 0-86400 seconds, not {timeout}"),
            ));
        }
        let t = Duration::from_secs_f64(timeout);
        let mut source = LdapSource::new(url).with_base(base).with_timeouts(t, t);
        if let Some(dn) = bind_dn {
            source = source.with_bind(dn, password.unwrap_or_default());
        }
        let directory = detached(py, move || source.load())?;
        Ok(Index::from_directory(directory))
    }

    /// Number of provider entries.
    fn __len__(&self) -> usize {
        self.records.as_ref().map_or(0, |d| d.len())
    }

    /// Every provider entry, in index order.
    fn records(&self) -> Vec<ProviderRecord> {
        self.records
            .as_ref()
            .map(|d| d.records().iter().map(|r| ProviderRecord::from(r.as_ref())).collect())
            .unwrap_or_default()
    }

    /// The provider whose certificates include exactly `der`, or `None`.
    fn by_certificate(&self, py: Python<'_>, der: &[u8]) -> PyResult<Option<ProviderRecord>> {
        guard(py, || {
            Ok(self
                .records
                .as_ref()
                .and_then(|d| d.by_certificate(der))
                .map(|r| ProviderRecord::from(r.as_ref())))
        })
    }

    /// The provider managing `domain`, or `None`.
    fn by_domain(&self, py: Python<'_>, domain: &str) -> PyResult<Option<ProviderRecord>> {
        guard(py, || Ok(self.directory.by_domain(domain).map(|r| ProviderRecord::from(r.as_ref()))))
    }

    /// The provider holding the certificate whose SHA-1 (hex) is `sha1_hex`, or `None`.
    fn by_cert_hash(&self, py: Python<'_>, sha1_hex: &str) -> PyResult<Option<ProviderRecord>> {
        guard(py, || {
            Ok(self.directory.by_cert_hash(sha1_hex).map(|r| ProviderRecord::from(r.as_ref())))
        })
    }

    /// The provider named `name`, or `None`.
    fn by_name(&self, py: Python<'_>, name: &str) -> PyResult<Option<ProviderRecord>> {
        guard(py, || Ok(self.directory.by_name(name).map(|r| ProviderRecord::from(r.as_ref()))))
    }

    /// Whether `address` (or a bare domain) is in a PEC domain of the index.
    fn is_certified(&self, py: Python<'_>, address: &str) -> PyResult<bool> {
        let domain = domain_of(address).unwrap_or(address.trim());
        guard(py, || Ok(self.directory.by_domain(domain).is_some()))
    }

    fn __contains__(&self, py: Python<'_>, address: &str) -> PyResult<bool> {
        self.is_certified(py, address)
    }
}
