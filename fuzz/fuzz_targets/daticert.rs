//! Daticert::parse (daticert.xml), and the writer on whatever was read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pec_core::daticert::Daticert;

fuzz_target!(|data: &[u8]| {
    if let Ok(d) = Daticert::parse(data) {
        let _ = d.to_xml();
    }
});
