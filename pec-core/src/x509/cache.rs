//! The one cache of signature verdicts, shared by certificate signatures (a
//! [`crate::chain::TrustStore`]) and CRL signatures (a [`crate::revocation::CrlStore`]).

use std::collections::HashMap;
use std::sync::RwLock;

/// Remembered signature verdicts, keyed by the SHA-256 of the signer's certificate and the
/// SHA-256 of the signed object (certificate or CRL), both DER: the same pair seen again costs
/// no public-key operation. At most `CAP` entries; a full cache is emptied. `Send + Sync`.
#[derive(Debug, Default)]
pub(crate) struct SignatureCache<const CAP: usize> {
    verdicts: RwLock<HashMap<[u8; 64], bool>>,
}

impl<const CAP: usize> SignatureCache<CAP> {
    /// The verdict for (`signer`, `signed`), from the cache or else from `verify` (then
    /// remembered, a failure included).
    pub(crate) fn verdict(
        &self,
        signer: &[u8; 32],
        signed: &[u8; 32],
        verify: impl FnOnce() -> bool,
    ) -> bool {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(signer);
        key[32..].copy_from_slice(signed);
        if let Ok(map) = self.verdicts.read()
            && let Some(ok) = map.get(&key)
        {
            return *ok;
        }
        let ok = verify();
        if let Ok(mut map) = self.verdicts.write() {
            if map.len() >= CAP {
                map.clear();
            }
            map.insert(key, ok);
        }
        ok
    }

    /// Number of verdicts remembered.
    pub(crate) fn len(&self) -> usize {
        self.verdicts.read().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_verdicts_and_stays_bounded() {
        let cache = SignatureCache::<2>::default();
        let calls = std::cell::Cell::new(0);
        let check = |a: u8, b: u8, ok: bool| {
            cache.verdict(&[a; 32], &[b; 32], || {
                calls.set(calls.get() + 1);
                ok
            })
        };
        assert!(check(1, 2, true));
        assert!(check(1, 2, false)); // remembered: not verified again
        assert!(!check(2, 1, false));
        assert!(check(3, 3, true)); // a third entry: the full cache is emptied first
        assert_eq!(calls.get(), 3);
        assert_eq!(cache.len(), 1);
    }
}
