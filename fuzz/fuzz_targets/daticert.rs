//! Daticert::parse (daticert.xml), and the writer on whatever was read.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pec_fuzz::daticert(data);
});
