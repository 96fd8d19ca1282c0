//! ProviderFile::parse (the provider's TOML configuration) and Provider::from_file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pec_core::provider::{Provider, ProviderFile};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(f) = ProviderFile::parse(text) {
            let _ = Provider::from_file(&f);
        }
    }
});
