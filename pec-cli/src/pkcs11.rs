//! PKCS#11 signer options of `pec build` and `pec sign`.

use std::path::Path;
use std::sync::Arc;

use pec_core::Error;
use pec_core::error::HsmError;
use pec_core::pkcs11::{CertSource, Pin, PinSource, Pkcs11Signer, Pkcs11Uri};
use pec_core::signer::{Signer, pem_certificates};

/// Sessions kept open by the CLI's signer (one process signs one message).
const POOL_SIZE: usize = 1;

/// Opens a PKCS#11 signer from the CLI options. The PIN comes only from `--pin-source`
/// (`file:PATH` or `env:VAR`) or the URI's own `pin-source`: a `pin-value` in the URI is
/// refused, because a PIN on the command line leaks through the process list.
pub fn signer(
    uri: &str,
    module: Option<&Path>,
    pin_source: Option<&str>,
    cert: Option<&Path>,
    chain: Option<&Path>,
) -> Result<Arc<dyn Signer>, Error> {
    Ok(Arc::new(open(uri, module, pin_source, cert, chain)?))
}

/// [`signer`] as the concrete PKCS#11 key (also used by `pec decrypt`).
pub fn open(
    uri: &str,
    module: Option<&Path>,
    pin_source: Option<&str>,
    cert: Option<&Path>,
    chain: Option<&Path>,
) -> Result<Pkcs11Signer, Error> {
    let mut uri = Pkcs11Uri::parse(uri)?;
    if uri.pin_value.is_some() {
        return Err(HsmError::Uri(
            "pin-value in the URI is refused on the command line: use --pin-source file:PATH or env:VAR"
                .into(),
        )
        .into());
    }
    if let Some(ps) = pin_source {
        uri.pin_source = Some(PinSource::parse(ps)?);
    }
    if uri.pin_source.is_none() {
        return Err(
            HsmError::Uri("no PIN source: give --pin-source file:PATH or env:VAR".into()).into()
        );
    }
    let module = match (module, uri.module_path.clone()) {
        (Some(m), _) => m.to_path_buf(),
        (None, Some(p)) => p.into(),
        (None, None) => {
            return Err(HsmError::Uri("no PKCS#11 module: give --pkcs11-module PATH".into()).into());
        }
    };
    let cert = match cert {
        Some(path) => {
            let bytes = crate::input::read_small(path)?;
            let der = pem_certificates(&bytes)?.into_iter().next().unwrap_or(bytes);
            CertSource::Der(der)
        }
        None => CertSource::FromToken,
    };
    let chain = match chain {
        Some(path) => pem_certificates(&crate::input::read_small(path)?)?,
        None => Vec::new(),
    };
    Pkcs11Signer::open(&module, &uri, Pin::FromUri, cert, chain, POOL_SIZE)
}
