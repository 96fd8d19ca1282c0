//! `pec._rust`: the private extension module of the `pec` Python package (PyO3 over
//! `pec-core`). The public API is the `pec` package (`python/pec/__init__.py`), which
//! re-exports these classes; see `_rust.pyi` for the typed surface.
//!
//! Rules of this crate: every entry point runs inside [`errors::guard`] or
//! [`errors::detached`] (a panic becomes `pec.InternalError`, never `PanicException`); every
//! core error goes through [`errors::map_error`]; the GIL is released around parsing of
//! large messages, signing and verification (and around every event of `pec.Engine`); objects
//! hold owned data or immutable `bytes`.

use pec_core::Code;
use pec_core::model::MessageKind;
use pyo3::prelude::*;

mod engine;
mod errors;
mod index;
mod message;
mod provider;
mod signer;
#[cfg(feature = "test-support")]
mod test_support;
mod time;
mod verify;

/// The extension module.
#[pymodule]
fn _rust(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let codes: Vec<(&'static str, u32)> =
        Code::ALL.iter().map(|c| (c.name(), c.as_u32())).collect();
    m.add("CODES", codes)?;
    let kinds: Vec<String> = MessageKind::all().iter().map(|k| k.as_str().to_string()).collect();
    m.add("KINDS", kinds)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(message::parse, m)?)?;
    m.add_class::<message::Message>()?;
    m.add_class::<message::Daticert>()?;
    m.add_class::<message::SignedParts>()?;
    m.add_class::<verify::Verifier>()?;
    m.add_class::<verify::Report>()?;
    m.add_class::<verify::CertificateInfo>()?;
    m.add_class::<verify::ProviderInfo>()?;
    m.add_class::<index::Index>()?;
    m.add_class::<index::ProviderRecord>()?;
    m.add_class::<signer::SoftwareSigner>()?;
    m.add_class::<signer::Pkcs11Signer>()?;
    m.add_class::<provider::Provider>()?;
    m.add_function(wrap_pyfunction!(signer::sign, m)?)?;
    m.add_class::<engine::Engine>()?;
    m.add_class::<engine::Outcome>()?;
    m.add_class::<engine::OutgoingMessage>()?;
    m.add_class::<engine::RouteGroup>()?;
    m.add_class::<engine::Reply>()?;
    m.add_class::<engine::MailboxAnswer>()?;
    #[cfg(feature = "test-support")]
    test_support::register(m)?;
    Ok(())
}
