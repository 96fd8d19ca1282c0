//! X.509 certificate paths for S/MIME: path building from the certificates in a message plus
//! trust anchors, validity at a chosen time, key usage, rfc822Name name constraints, and
//! revocation through [`crate::revocation`].
//!
//! (API fixed; implementation in progress.)

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::revocation::CrlStore;
use crate::smime::{Reason, RevocationStatus, SignerSummary};

/// Trust anchors: a PEM bundle, DER certificates, or a hashed directory (`/etc/ssl/certs`).
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    anchors: Vec<Vec<u8>>,
}

impl TrustStore {
    /// An empty store (nothing is trusted).
    pub fn new() -> Self {
        TrustStore::default()
    }

    /// Adds every certificate of a PEM bundle; returns how many were added.
    ///
    /// # Errors
    /// A PEM block that is not a certificate.
    pub fn add_pem_bundle(&mut self, pem: &[u8]) -> Result<usize> {
        let _ = pem;
        Ok(0)
    }

    /// Adds one DER certificate.
    ///
    /// # Errors
    /// Bad DER.
    pub fn add_der(&mut self, der: &[u8]) -> Result<()> {
        self.anchors.push(der.to_vec());
        Ok(())
    }

    /// Adds every certificate file of a directory (hashed `c_rehash` links or any `.pem`/`.crt`).
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize> {
        let _ = dir;
        Ok(0)
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }
}

/// The outcome of path validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathOutcome {
    /// Subjects of the path found (signer first), best effort when invalid.
    pub chain: Vec<String>,
    /// Findings (`untrusted-chain`, `expired`, `not-yet-valid`, `revoked`, `revocation-unknown`).
    pub reasons: Vec<Reason>,
    /// Revocation outcome.
    pub revocation: RevocationStatus,
}

/// Validates the path from `leaf` (DER) to an anchor of `trust`, using `candidates` (the
/// certificates carried in the CMS) as intermediates, evaluated at `at`, checking revocation
/// against `crls` when given.
pub fn validate_path(
    leaf: &[u8],
    candidates: &[Vec<u8>],
    trust: &TrustStore,
    at: DateTime<Utc>,
    crls: Option<&CrlStore>,
) -> PathOutcome {
    let _ = (leaf, candidates, trust, at, crls);
    PathOutcome {
        chain: Vec::new(),
        reasons: vec![Reason::UntrustedChain],
        revocation: RevocationStatus::NotChecked,
    }
}

/// Describes a DER certificate (subject, issuer, serial, SHA-1, validity, email).
///
/// # Errors
/// Bad DER.
pub fn describe_certificate(der: &[u8]) -> Result<SignerSummary> {
    Ok(SignerSummary {
        sha1: crate::crypto::sha1_hex(der),
        der: der.to_vec(),
        ..SignerSummary::default()
    })
}
