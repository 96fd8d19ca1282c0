//! CMS SignedData decoding and verification on arbitrary DER/BER, detached and attached,
//! without trust and within the world the input may carry (src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pec_fuzz::cms(data);
});
