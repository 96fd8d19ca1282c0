//! PecMessage::parse (MIME, headers, classification, daticert), verify_message and
//! verify_parsed, without trust and within the world the input may carry (src/lib.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pec_fuzz::message(data);
});
