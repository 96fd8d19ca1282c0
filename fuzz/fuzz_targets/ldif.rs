//! The LDIF reader of the providers index: entries, provider records, the in-memory index,
//! and look-ups in whatever was built.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pec_core::index::ProviderDirectory;
use pec_core::index::directory::Directory;
use pec_core::index::ldif::parse_ldif;

fuzz_target!(|data: &[u8]| {
    let _ = parse_ldif(data);
    if let Ok(dir) = Directory::from_ldif(data) {
        for r in dir.records().iter().take(4) {
            for d in r.managed_domains.iter().take(4) {
                let _ = dir.by_domain(d);
                let _ = dir.is_certified(&format!("x@{d}"));
            }
            for h in r.cert_hashes.iter().take(2) {
                let _ = dir.by_cert_hash(h);
            }
            let _ = dir.by_name(&r.name);
        }
    }
});
