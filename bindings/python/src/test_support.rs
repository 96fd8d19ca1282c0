//! `pec._rust.test_support`: the test kit's generated PKI, for this package's own tests (like
//! pyca's `_rust.test_support`). Only with the cargo feature `test-support` (run-tests.sh);
//! release wheels leave it out. Not API: never use these keys for anything real.

use chrono::Utc;
use pec_testkit::{ProviderSpec, TestPki as CoreTestPki, pem};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{Failure, detached, guard};
use crate::time::aware_datetime;

/// A root CA, a name-constrained PEC CA and one signing certificate per provider.
#[pyclass(module = "pec._rust.test_support", frozen, name = "TestPki")]
#[derive(Debug)]
pub struct TestPki {
    pki: CoreTestPki,
}

#[pymethods]
impl TestPki {
    /// Generates the PKI for `providers` (`[(name, domain)]`), valid from `not_before` to
    /// `not_after` (timezone-aware datetimes).
    #[new]
    fn new(
        py: Python<'_>,
        providers: Vec<(String, String)>,
        not_before: &Bound<'_, PyAny>,
        not_after: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let nb = aware_datetime(not_before)?.with_timezone(&Utc);
        let na = aware_datetime(not_after)?.with_timezone(&Utc);
        let pki = detached(py, || {
            let specs: Vec<ProviderSpec<'_>> =
                providers.iter().map(|(name, domain)| ProviderSpec { name, domain }).collect();
            CoreTestPki::generate(&specs, nb, na)
        })?;
        Ok(TestPki { pki })
    }

    /// The root certificate (PEM), the trust anchor.
    #[getter]
    fn root_pem<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.pki.root.cert_pem().as_bytes())
    }

    /// The intermediate PEC CA certificate (PEM).
    #[getter]
    fn ca_pem<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.pki.ca.cert_pem().as_bytes())
    }

    /// `[(key_pem, cert_pem, serial)]` of each provider, in order.
    #[getter]
    fn providers<'py>(
        &self,
        py: Python<'py>,
    ) -> Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        self.pki
            .providers
            .iter()
            .map(|p| {
                (
                    PyBytes::new(py, p.key_pem().as_bytes()),
                    PyBytes::new(py, p.cert_pem().as_bytes()),
                    PyBytes::new(py, &p.serial),
                )
            })
            .collect()
    }

    /// The CA's CRL revoking nothing (PEM).
    #[getter]
    fn crl_pem<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, pem("X509 CRL", &self.pki.crl_der).as_bytes())
    }

    /// The root's CRL revoking nothing (PEM): with `crl_pem` it covers the whole path.
    #[getter]
    fn root_crl_pem<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, pem("X509 CRL", &self.pki.root_crl_der).as_bytes())
    }

    /// `content` signed by provider `provider` (CMS with the content attached, DER, the CA
    /// certificate included): a signed providers index (`.p7m`).
    fn sign_attached<'py>(
        &self,
        py: Python<'py>,
        provider: usize,
        content: Vec<u8>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let p = self.pki.providers.get(provider).ok_or_else(|| {
            pyo3::exceptions::PyIndexError::new_err(format!("no provider {provider}"))
        })?;
        let der = detached(py, || {
            let signer = pec_core::signer::SoftwareSigner::from_der(
                &p.key_pkcs8,
                p.cert_der.clone(),
                vec![self.pki.ca.cert_der.clone()],
            )?;
            pec_core::smime::sign_attached(&content, &signer, Utc::now())
        })?;
        Ok(PyBytes::new(py, &der))
    }

    /// A CRL of the CA revoking `serials` (PEM).
    fn crl_revoking<'py>(
        &self,
        py: Python<'py>,
        serials: Vec<Vec<u8>>,
        this_update: &Bound<'py, PyAny>,
        next_update: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let tu = aware_datetime(this_update)?.with_timezone(&Utc);
        let nu = aware_datetime(next_update)?.with_timezone(&Utc);
        let refs: Vec<&[u8]> = serials.iter().map(Vec::as_slice).collect();
        let der = detached(py, || self.pki.crl_revoking(&refs, tu, nu))?;
        Ok(PyBytes::new(py, pem("X509 CRL", &der).as_bytes()))
    }
}

/// Panics inside the boundary (with the GIL held, or released when `detached`), to test
/// that a panic reaches Python as `pec.InternalError` (code 101), never `PanicException`.
#[pyfunction]
#[pyo3(signature = (detached=false))]
fn panic(py: Python<'_>, detached: bool) -> PyResult<()> {
    let boom = || -> Result<(), pec_core::Error> { panic!("test_support.panic") };
    if detached {
        crate::errors::detached(py, boom)
    } else {
        guard(py, || boom().map_err(Failure::Core))
    }
}

/// A clock that moves only when told, for `open_engine`: the 12 h / 24 h timers replayed in
/// a test.
#[pyclass(module = "pec._rust.test_support", frozen, name = "ManualClock")]
#[derive(Debug)]
pub struct ManualClock {
    inner: std::sync::Arc<pec_engine::ManualClock>,
}

#[pymethods]
impl ManualClock {
    /// A clock standing at `start` (timezone-aware).
    #[new]
    fn new(start: &Bound<'_, PyAny>) -> PyResult<Self> {
        let t = aware_datetime(start)?.with_timezone(&Utc);
        Ok(ManualClock { inner: std::sync::Arc::new(pec_engine::ManualClock::new(t)) })
    }

    /// Moves the clock forward by `seconds`.
    fn advance(&self, seconds: i64) {
        self.inner.advance(chrono::Duration::seconds(seconds));
    }

    /// Now, as seconds since the Unix epoch.
    #[getter]
    fn timestamp(&self) -> i64 {
        pec_engine::Clock::now(self.inner.as_ref()).timestamp()
    }
}

/// `pec.Engine` on `clock` instead of the system clock.
#[pyfunction]
#[pyo3(signature = (config_path, clock, store=None))]
fn open_engine(
    py: Python<'_>,
    config_path: std::path::PathBuf,
    clock: &ManualClock,
    store: Option<String>,
) -> PyResult<crate::engine::Engine> {
    crate::engine::open(py, config_path, store, clock.inner.clone())
}

/// Writes two providers' engine fixtures into `dir` (`a-engine.toml`, `b-engine.toml`,
/// keys, `root.pem`, `index.ldif`: pec-testkit's `TwoProviders::write_engine_files`).
#[pyfunction]
fn write_engine_fixtures(py: Python<'_>, dir: std::path::PathBuf) -> PyResult<()> {
    detached(py, || pec_testkit::TwoProviders::generate(30)?.write_engine_files(&dir))
}

/// Adds the `test_support` submodule.
pub fn register(parent: &Bound<'_, PyModule>) -> PyResult<()> {
    let m = PyModule::new(parent.py(), "test_support")?;
    m.add_class::<TestPki>()?;
    m.add_class::<ManualClock>()?;
    m.add_function(wrap_pyfunction!(open_engine, &m)?)?;
    m.add_function(wrap_pyfunction!(write_engine_fixtures, &m)?)?;
    m.add_function(wrap_pyfunction!(panic, &m)?)?;
    parent.add_submodule(&m)?;
    Ok(())
}
