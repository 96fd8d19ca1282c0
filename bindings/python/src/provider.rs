//! `pec.Provider`: a PEC provider's identity, and `build()` of every envelope, receipt and
//! notice, signed by a `pec.SoftwareSigner` or `pec.Pkcs11Signer`.

use pyo3::exceptions::PyNotImplementedError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::index::Index;
use crate::signer::extract_signer;
use crate::time::aware_datetime;

/// A PEC provider: name, service domain and which recipient domains are PEC (a list, or the
/// providers index).
#[pyclass(module = "pec", frozen, name = "Provider")]
#[derive(Debug)]
pub struct Provider {
    /// The provider name (`gestore-emittente`).
    #[pyo3(get)]
    name: String,
    /// The provider's service domain.
    #[pyo3(get)]
    domain: String,
    /// The certified domains given (empty when an index is used).
    #[pyo3(get)]
    certified_domains: Vec<String>,
}

#[pymethods]
impl Provider {
    /// A provider named `name` serving `domain`; recipients are PEC when their domain is in
    /// `certified_domains`, or (with `index=`) in the providers index.
    #[new]
    #[pyo3(signature = (name, domain, certified_domains=Vec::new(), index=None))]
    fn new(
        name: String,
        domain: String,
        certified_domains: Vec<String>,
        index: Option<PyRef<'_, Index>>,
    ) -> PyResult<Self> {
        let _ = index.map(|i| i.directory());
        Ok(Provider { name, domain, certified_domains })
    }

    /// Builds and signs a message of `kind` (the wire value: `"posta-certificata"`,
    /// `"accettazione"`, `"avvenuta-consegna"`...), returning its bytes (CRLF).
    #[pyo3(signature = (kind, *, original=None, envelope=None, recipient=None, recipients=None,
        time=None, signer=None, receipt_type=None, error=None, error_text=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn build<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        original: Option<&Bound<'py, PyBytes>>,
        envelope: Option<&Bound<'py, PyBytes>>,
        recipient: Option<String>,
        recipients: Option<Vec<String>>,
        time: Option<&Bound<'py, PyAny>>,
        signer: Option<&Bound<'py, PyAny>>,
        receipt_type: Option<String>,
        error: Option<String>,
        error_text: Option<String>,
        timeout: Option<String>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let _time = time.map(aware_datetime).transpose()?;
        let _signer = signer.map(extract_signer).transpose()?;
        let _ = (py, kind, original, envelope, recipient, recipients, receipt_type, error);
        let _ = (error_text, timeout);
        // TODO(build): wire `pec_core::provider::Provider::build(&BuildRequest, signer)` once
        // the builders land on main.
        Err(PyNotImplementedError::new_err(
            "pec.Provider.build: the core's builders have not landed yet",
        ))
    }

    fn __repr__(&self) -> String {
        format!("<pec.Provider name={:?} domain={:?}>", self.name, self.domain)
    }
}
