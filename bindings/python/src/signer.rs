//! Signers: `pec.SoftwareSigner` (a key in memory) and `pec.Pkcs11Signer` (a key on an HSM
//! through PKCS#11). Both hand an `Arc<dyn Signer>` to `pec.Provider.build`.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use pec_core::pkcs11::{CertSource, Pin, Pkcs11Signer as CorePkcs11Signer, Pkcs11Uri};
use pec_core::signer::{Signer, SoftwareSigner as CoreSoftwareSigner, pem_certificates};
use pyo3::exceptions::PyValueError;
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
    #[pyo3(signature = (uri, module, pin, cert_pem, chain_pem=None, *, pool_size=4))]
    fn new(
        py: Python<'_>,
        uri: &str,
        module: PathBuf,
        pin: &str,
        cert_pem: Option<&Bound<'_, PyBytes>>,
        chain_pem: Option<&Bound<'_, PyBytes>>,
        pool_size: usize,
    ) -> PyResult<Self> {
        let cert = cert_pem.map(|c| c.as_bytes());
        let chain = chain_pem.map(|c| c.as_bytes()).unwrap_or_default();
        let pin = pin.to_string();
        let signer = detached(py, move || {
            let uri = Pkcs11Uri::parse(uri)?;
            // the first CERTIFICATE block is the signer, the others join the chain
            let mut chain_der = Vec::new();
            let cert_source = match cert {
                Some(pem) => {
                    let mut blocks = pem_certificates(pem)?;
                    if blocks.is_empty() {
                        blocks.push(pem.to_vec()); // no PEM block: DER
                    }
                    let leaf = blocks.remove(0);
                    chain_der.extend(blocks);
                    CertSource::Der(leaf)
                }
                None => CertSource::FromToken,
            };
            chain_der.extend(pem_certificates(chain)?);
            CorePkcs11Signer::open(
                &module,
                &uri,
                Pin::Value(pin),
                cert_source,
                chain_der,
                pool_size,
            )
        })?;
        Ok(Pkcs11Signer { inner: RwLock::new(Some(Arc::new(signer))) })
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
