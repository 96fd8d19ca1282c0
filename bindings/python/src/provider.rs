//! `pec.Provider`: a PEC provider's identity, and `build()` of every envelope, receipt and
//! notice, signed by a `pec.SoftwareSigner` or `pec.Pkcs11Signer`.

use pec_core::build::{BuildRequest, TimeReference, Timeout};
use pec_core::model::{CertError, MessageKind, ReceiptType};
use pec_core::provider::{Provider as CoreProvider, RecipientPolicy};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{detached, invalid_argument};
use crate::index::Index;
use crate::signer::extract_signer;
use crate::time::aware_datetime;

/// A PEC provider: name, service domain and which recipient domains are PEC (a list, or the
/// providers index).
#[pyclass(module = "pec", frozen, name = "Provider")]
#[derive(Debug)]
pub struct Provider {
    inner: CoreProvider,
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
        py: Python<'_>,
        name: String,
        domain: String,
        certified_domains: Vec<String>,
        index: Option<PyRef<'_, Index>>,
    ) -> PyResult<Self> {
        let policy = match index {
            Some(i) => {
                if !certified_domains.is_empty() {
                    return Err(invalid_argument(
                        py,
                        "give either certified_domains or index, not both",
                    ));
                }
                RecipientPolicy::Index(i.directory())
            }
            None => RecipientPolicy::CertifiedDomains(certified_domains.clone()),
        };
        let inner = detached(py, move || CoreProvider::new(name, domain, policy))?;
        Ok(Provider { inner, certified_domains })
    }

    /// The provider name (`gestore-emittente`).
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The provider's service domain.
    #[getter]
    fn domain(&self) -> &str {
        &self.inner.domain
    }

    /// Builds and signs a message of `kind` (the wire value: `"posta-certificata"`,
    /// `"accettazione"`, `"avvenuta-consegna"`...), returning its bytes (CRLF). The GIL is
    /// released while building and signing. Without `signer` the message is unsigned (ready
    /// for `pec.sign`).
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
        receipt_type: Option<&str>,
        error: Option<&str>,
        error_text: Option<String>,
        timeout: Option<&str>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let kind = MessageKind::from_known(kind).ok_or_else(|| {
            map_build_error(py, pec_core::error::BuildError::UnknownKind(kind.to_string()))
        })?;
        let time = time.map(aware_datetime).transpose()?.map(TimeReference::from_datetime);
        let signer = signer.map(extract_signer).transpose()?;
        let receipt_type = receipt_type
            .map(|r| {
                ReceiptType::from_known(r).ok_or_else(|| {
                    invalid_argument(
                        py,
                        format!("unknown receipt_type {r:?} (completa, breve, sintetica)"),
                    )
                })
            })
            .transpose()?;
        let error = error
            .map(|e| {
                CertError::from_known(e).ok_or_else(|| {
                    invalid_argument(
                        py,
                        format!("unknown error {e:?} (no-dest, no-dominio, virus, altro)"),
                    )
                })
            })
            .transpose()?;
        let timeout = timeout
            .map(|t| {
                Timeout::from_wire(t).ok_or_else(|| {
                    invalid_argument(py, format!("timeout must be 12h or 24h, not {t:?}"))
                })
            })
            .transpose()?;
        let mut all_recipients: Vec<String> = recipient.into_iter().collect();
        all_recipients.extend(recipients.unwrap_or_default());
        let original = original.map(|b| b.as_bytes());
        let envelope = envelope.map(|b| b.as_bytes());
        let provider = &self.inner;
        let out = detached(py, move || {
            let mut req = BuildRequest::new(kind);
            req.time = time;
            req.original = original;
            req.envelope = envelope;
            req.recipients = all_recipients;
            req.receipt_type = receipt_type;
            req.error = error;
            req.error_text = error_text;
            req.timeout = timeout;
            provider.build(&req, signer.as_deref())
        })?;
        Ok(PyBytes::new(py, &out))
    }

    fn __repr__(&self) -> String {
        format!("<pec.Provider name={:?} domain={:?}>", self.inner.name, self.inner.domain)
    }
}

fn map_build_error(py: Python<'_>, e: pec_core::error::BuildError) -> PyErr {
    crate::errors::map_error(py, &e.into())
}
