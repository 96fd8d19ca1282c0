//! PKCS#11 signer options of `pec build` and `pec sign`.

use std::path::Path;
use std::sync::Arc;

use pec_core::Error;
use pec_core::signer::Signer;

/// Opens a PKCS#11 signer from the CLI options (PIN only through `--pin-source`).
pub fn signer(
    uri: &str,
    module: Option<&Path>,
    pin_source: Option<&str>,
    cert: Option<&Path>,
    chain: Option<&Path>,
) -> Result<Arc<dyn Signer>, Error> {
    let _ = (uri, module, pin_source, cert, chain);
    Err(Error::InvalidArgument("PKCS#11 signing is landing".into()))
}
