//! Signers: `pec.SoftwareSigner` (a key in memory) and `pec.Pkcs11Signer` (a key on an HSM
//! through PKCS#11). Both hand an `Arc<dyn Signer>` to `pec.Provider.build`.

use std::sync::{Arc, RwLock};

use pec_core::signer::{Signer, SoftwareSigner as CoreSoftwareSigner};
use pyo3::exceptions::{PyNotImplementedError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{detached, guard};

/// A signer with its key in memory (RSA, PKCS#8 or PKCS#1 PEM).
#[pyclass(module = "pec", frozen, name = "SoftwareSigner")]
pub struct SoftwareSigner {
    inner: Arc<dyn Signer>,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareSigner")
    }
}

#[pymethods]
impl SoftwareSigner {
    /// Loads the private key, the signer certificate and the intermediates (all PEM).
    #[staticmethod]
    #[pyo3(signature = (key_pem, cert_pem, chain_pem=None))]
    fn from_pem(
        py: Python<'_>,
        key_pem: &Bound<'_, PyBytes>,
        cert_pem: &Bound<'_, PyBytes>,
        chain_pem: Option<&Bound<'_, PyBytes>>,
    ) -> PyResult<SoftwareSigner> {
        let (key, cert) = (key_pem.as_bytes(), cert_pem.as_bytes());
        let chain = chain_pem.map(|c| c.as_bytes()).unwrap_or_default();
        let signer = detached(py, || CoreSoftwareSigner::from_pem(key, cert, chain))?;
        Ok(SoftwareSigner { inner: Arc::new(signer) })
    }

    /// The DER of the signer certificate.
    #[getter]
    fn certificate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        guard(py, || Ok(PyBytes::new(py, self.inner.certificate())))
    }
}

/// A signer whose key lives on a PKCS#11 token (HSM, smart card, SoftHSM2).
///
/// Usable as a context manager; `close()` logs out and releases the session.
#[pyclass(module = "pec", frozen, name = "Pkcs11Signer")]
pub struct Pkcs11Signer {
    inner: RwLock<Option<Arc<dyn Signer>>>,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkcs11Signer")
    }
}

#[pymethods]
impl Pkcs11Signer {
    /// Opens the token named by `uri` (RFC 7512 `pkcs11:token=...;object=...`) through
    /// `module` (the PKCS#11 library path), logs in with `pin`, and uses `cert_pem` (and the
    /// intermediates `chain_pem`) as the certificate to embed.
    #[new]
    #[pyo3(signature = (uri, module, pin, cert_pem, chain_pem=None))]
    fn new(
        py: Python<'_>,
        uri: &str,
        module: &str,
        pin: &str,
        cert_pem: &Bound<'_, PyBytes>,
        chain_pem: Option<&Bound<'_, PyBytes>>,
    ) -> PyResult<Self> {
        let _ = (py, uri, module, pin, cert_pem, chain_pem);
        // TODO(pkcs11): wire `pec_core::pkcs11::Pkcs11Signer` once it lands on main.
        Err(PyNotImplementedError::new_err(
            "pec.Pkcs11Signer: the core's PKCS#11 signer has not landed yet",
        ))
    }

    /// The DER of the signer certificate.
    #[getter]
    fn certificate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let signer = self.signer()?;
        guard(py, || Ok(PyBytes::new(py, signer.certificate())))
    }

    /// Releases the token session; the signer cannot sign afterwards.
    fn close(&self) {
        if let Ok(mut guard) = self.inner.write() {
            guard.take();
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }
}

impl Pkcs11Signer {
    fn signer(&self) -> PyResult<Arc<dyn Signer>> {
        self.inner
            .read()
            .ok()
            .and_then(|g| g.clone())
            .ok_or_else(|| PyValueError::new_err("Pkcs11Signer is closed"))
    }
}

/// The `Arc<dyn Signer>` behind a Python signer object.
pub fn extract_signer(ob: &Bound<'_, PyAny>) -> PyResult<Arc<dyn Signer>> {
    if let Ok(s) = ob.cast::<SoftwareSigner>() {
        return Ok(Arc::clone(&s.get().inner));
    }
    if let Ok(s) = ob.cast::<Pkcs11Signer>() {
        return s.get().signer();
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "signer must be a pec.SoftwareSigner or pec.Pkcs11Signer, not {}",
        ob.get_type().name()?
    )))
}

/// Signs a complete unsigned RFC 5322 message as S/MIME `multipart/signed` (the GIL is
/// released); `time` is the CMS signingTime (timezone-aware; `None` for now).
#[pyfunction]
#[pyo3(signature = (message, signer, time=None))]
pub fn sign<'py>(
    py: Python<'py>,
    message: &Bound<'py, PyBytes>,
    signer: &Bound<'py, PyAny>,
    time: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let signer = extract_signer(signer)?;
    let at = match time {
        Some(t) => crate::time::aware_datetime(t)?.with_timezone(&chrono::Utc),
        None => chrono::Utc::now(),
    };
    let raw = message.as_bytes();
    let out = detached(py, || pec_core::smime::sign_message(raw, signer.as_ref(), at))?;
    Ok(PyBytes::new(py, &out))
}
