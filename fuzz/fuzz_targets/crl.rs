//! A CRL (PEM or DER) in a CrlStore, and the certificates the input carries checked against
//! it through the public path validation (src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pec_fuzz::crl(data);
});
