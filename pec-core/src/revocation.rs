//! Certificate revocation lists: loading (PEM or DER), checking (signature, issuer,
//! thisUpdate/nextUpdate), a cache, and a pluggable fetcher for CRL distribution points
//! (offline by default).
//!
//! (API fixed; implementation in progress.)

use std::sync::Arc;

use crate::error::Result;

/// Fetches a CRL from a distribution point URL. Offline by default: no fetcher is set.
pub trait CrlFetcher: Send + Sync {
    /// Returns the CRL bytes (PEM or DER) at `url`.
    ///
    /// # Errors
    /// Any transport failure.
    fn fetch(&self, url: &str) -> Result<Vec<u8>>;
}

/// A set of CRLs, parsed once and shared (read-only on the verification path).
#[derive(Clone, Default)]
pub struct CrlStore {
    crls: Vec<Vec<u8>>,
    fetcher: Option<Arc<dyn CrlFetcher>>,
}

impl std::fmt::Debug for CrlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlStore").field("crls", &self.crls.len()).finish()
    }
}

impl CrlStore {
    /// An empty store.
    pub fn new() -> Self {
        CrlStore::default()
    }

    /// Adds the CRLs of a PEM or DER file's contents; returns how many were added.
    ///
    /// # Errors
    /// Bytes that are not a CRL.
    pub fn add(&mut self, bytes: &[u8]) -> Result<usize> {
        self.crls.push(bytes.to_vec());
        Ok(1)
    }

    /// Sets the fetcher used for distribution points when no cached CRL covers an issuer.
    pub fn set_fetcher(&mut self, fetcher: Arc<dyn CrlFetcher>) {
        self.fetcher = Some(fetcher);
    }

    /// Number of CRLs held.
    pub fn len(&self) -> usize {
        self.crls.len()
    }

    /// Whether the store holds no CRL.
    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }
}
