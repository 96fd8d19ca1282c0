//! ProviderFile::parse (the provider's TOML configuration) and Provider::from_file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pec_fuzz::provider_file(data);
});
