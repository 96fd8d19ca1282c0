//! The LDIF reader of the providers index: entries, provider records, the in-memory index,
//! and look-ups in whatever was built.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pec_fuzz::ldif(data);
});
