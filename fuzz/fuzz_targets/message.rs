//! PecMessage::parse (MIME, headers, classification, daticert, hash parts) and the
//! verification of whatever signature the message carries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pec_core::PecMessage;
use pec_core::smime::VerifyOptions;

fuzz_target!(|data: &[u8]| {
    // the verification entry point (its own fast path to the signed part)
    let _ = pec_core::verify_message(data, &VerifyOptions::default());
    if let Ok(m) = PecMessage::parse(data) {
        let _ = m.from_domain();
        let _ = m.header("subject");
        let _ = pec_core::verify::verify_parsed(&m, &VerifyOptions::default());
    }
});
