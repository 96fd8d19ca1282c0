//! The one mapping from `pec_core::Error` to the Python exceptions of `pec.exceptions`, and
//! the panic boundary every entry point goes through.
//!
//! The exception classes are defined in Python (`pec/exceptions.py`, so they pickle and
//! subclass like any Python exception); Rust looks them up once and raises them with the
//! stable `code` and `name` of `pec_core::Code`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pec_core::{Code, Error};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

static EXCEPTIONS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The Python class (in `pec.exceptions`) for an error.
fn class_name(err: &Error) -> &'static str {
    match err {
        Error::Parse(_) | Error::Daticert(_) | Error::Limit(_) => "ParseError",
        Error::Build(_) => "BuildError",
        Error::Signature(_) => "SignatureError",
        Error::Certificate(_) => "CertificateError",
        Error::Hsm(_) => "HsmError",
        Error::Directory(_) => "DirectoryError",
        Error::InvalidArgument(_) => "InvalidArgumentError",
        Error::Io { .. } => "FileError",
        // `Error` is non-exhaustive: a new area falls back to the base class
        _ => "PecError",
    }
}

/// Raises `pec.exceptions.<class>(message, code, name)`.
pub fn raise(py: Python<'_>, class: &str, message: String, code: Code) -> PyErr {
    let built = (|| -> PyResult<PyErr> {
        let module = EXCEPTIONS
            .get_or_try_init(py, || PyModule::import(py, "pec.exceptions").map(Bound::unbind))?;
        let cls = module.bind(py).getattr(class)?;
        let exc = cls.call1((message.clone(), code.as_u32(), code.name()))?;
        Ok(PyErr::from_value(exc))
    })();
    // if the Python module is unusable (interpreter shutting down), still raise something
    built.unwrap_or_else(|e| PyRuntimeError::new_err(format!("{message} (code {code}; {e})")))
}

/// Maps a core error to its Python exception: the one mapping of this crate.
pub fn map_error(py: Python<'_>, err: &Error) -> PyErr {
    raise(py, class_name(err), err.to_string(), err.code())
}

/// A `ParseError`-class exception with a given code, for checks made in the glue.
pub fn invalid_argument(py: Python<'_>, message: impl Into<String>) -> PyErr {
    raise(py, "InvalidArgumentError", message.into(), Code::InvalidParameter)
}

/// What went wrong on the Rust side of the boundary.
#[derive(Debug)]
pub enum Failure {
    /// A typed error of the core.
    Core(Error),
    /// A Python error raised by the glue.
    Python(PyErr),
    /// A panic (a bug), with its message.
    Panic(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Core(e)
    }
}

impl From<PyErr> for Failure {
    fn from(e: PyErr) -> Self {
        Failure::Python(e)
    }
}

impl Failure {
    /// The Python exception for this failure.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        match self {
            Failure::Core(e) => map_error(py, &e),
            Failure::Python(e) => e,
            Failure::Panic(msg) => raise(
                py,
                "InternalError",
                format!("internal error (please report): {msg}"),
                Code::Panic,
            ),
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Runs `f` with the GIL held, turning a panic into `pec.InternalError`: every entry point
/// goes through this (or [`detached`]), so no `PanicException` ever reaches Python.
pub fn guard<'py, T>(py: Python<'py>, f: impl FnOnce() -> Result<T, Failure>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(failure)) => Err(failure.into_pyerr(py)),
        Err(payload) => Err(Failure::Panic(panic_message(payload.as_ref())).into_pyerr(py)),
    }
}

/// Runs `f` with the GIL released (parsing of large messages, signing, verification), with
/// the same panic boundary as [`guard`]. `f` only sees owned data or immutable `bytes`.
pub fn detached<T: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    let outcome = py.detach(|| match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(Failure::Core(e)),
        Err(payload) => Err(Failure::Panic(panic_message(payload.as_ref()))),
    });
    outcome.map_err(|f| f.into_pyerr(py))
}

/// Runs `f` either detached (when `release` is true) or with the GIL held.
pub fn maybe_detached<T: Send>(
    py: Python<'_>,
    release: bool,
    f: impl FnOnce() -> Result<T, Error> + Send,
) -> PyResult<T> {
    if release { detached(py, f) } else { guard(py, || f().map_err(Failure::Core)) }
}
