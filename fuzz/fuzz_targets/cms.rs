//! CMS SignedData decoding and verification on arbitrary DER/BER: detached (over fixed
//! content and over the input itself) and attached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pec_core::smime::{VerifyOptions, verify_attached, verify_detached};

fuzz_target!(|data: &[u8]| {
    let opts = VerifyOptions::default();
    let _ = verify_detached(b"Content-Type: text/plain\r\n\r\nx\r\n", data, Some("pec.example.it"), &opts);
    let _ = verify_attached(data, &opts);
});
