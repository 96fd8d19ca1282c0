//! Opening what verification needs from files: trust anchors (PEM or DER files, directories),
//! CRLs (PEM or DER files), the named index signers and the providers index (plain LDIF or
//! signed `.p7m`).
//!
//! These are the front-door services: the CLI, the C ABI, Python and Perl call them instead of
//! reading files of their own, so every door accepts the same inputs and fails the same way.
//! [`TrustSources`] is the set of options every door takes (`ca_file`, `ca_path`, `crl`,
//! `fetch-crls`); [`open_index`] and [`open_index_file`] (re-exported from
//! [`crate::verify::index`]) open the index with the index-signer rule.
//!
//! What is detected, and how:
//!
//! * **A trust-anchor file** ([`add_anchors`]) is PEM when it holds a `-----BEGIN ` line (text
//!   around the blocks is ignored; every block must be a certificate: `CERTIFICATE`,
//!   `X509 CERTIFICATE`, `TRUSTED CERTIFICATE`; at least one), otherwise one DER certificate.
//! * **A trust-anchor directory** ([`crate::chain::TrustStore::add_dir`]) is `c_rehash` links
//!   or `.pem`/`.crt` files; unreadable and non-certificate files are skipped.
//! * **A CRL file** ([`crate::revocation::CrlStore::add`]) is one DER CRL or PEM `X509 CRL`
//!   blocks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::chain::{TrustStore, parse_certificates};
use crate::error::{CertificateError, Error, Result};
use crate::index::IndexSigners;
use crate::revocation::CrlStore;
use crate::smime::{VerifyOptions, VerifyTime};
use crate::x509::cert::pem_certificates;

pub use crate::verify::index::{open_index, open_index_file};

/// What makes a trust-anchor file PEM.
const PEM_BEGIN: &[u8] = b"-----BEGIN ";

/// Reads a whole file, the error naming it.
fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path.display(), &e))
}

/// Adds the certificates of a trust-anchor file's bytes to `store`: one DER certificate, or a
/// PEM bundle (detected; see the module doc). Returns how many anchors were added
/// (certificates already in the store are not counted).
///
/// # Errors
/// [`crate::error::CertificateError::BadCertificate`] when the bytes hold no certificate, a
/// PEM block that is not one, or a certificate that does not parse (nothing is added then).
pub fn add_anchors(store: &mut TrustStore, bytes: &[u8]) -> Result<usize> {
    let ders = if bytes.windows(PEM_BEGIN.len()).any(|w| w == PEM_BEGIN) {
        let ders = pem_certificates(bytes)?;
        if ders.is_empty() {
            return Err(CertificateError::BadCertificate("no certificate found".into()).into());
        }
        ders
    } else {
        parse_certificates(bytes)?
    };
    let mut next = store.clone();
    let before = next.len();
    for der in &ders {
        next.add_der(der)?;
    }
    let added = next.len() - before;
    *store = next;
    Ok(added)
}

/// [`add_anchors`] on the file at `path`.
///
/// # Errors
/// As [`add_anchors`]; [`Error::Io`] when the file cannot be read.
pub fn add_anchor_file(store: &mut TrustStore, path: &Path) -> Result<usize> {
    add_anchors(store, &read(path)?)
}

/// Adds the CRLs of the file at `path` (PEM or DER) to `store`; returns how many.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`crate::error::CertificateError::BadCrl`]
/// when it holds no CRL or one that does not parse.
pub fn add_crl_file(store: &mut CrlStore, path: &Path) -> Result<usize> {
    store.add(&read(path)?)
}

/// Names the certificates of the file at `path` (PEM or DER) as index signers; returns how
/// many were added.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; certificate errors as [`IndexSigners::add`].
pub fn add_index_signer_file(signers: &mut IndexSigners, path: &Path) -> Result<usize> {
    signers.add(&read(path)?)
}

/// The index signers named by certificate files (PEM or DER).
///
/// # Errors
/// As [`add_index_signer_file`].
pub fn index_signers<P: AsRef<Path>>(files: &[P]) -> Result<IndexSigners> {
    let mut signers = IndexSigners::new();
    for f in files {
        add_index_signer_file(&mut signers, f.as_ref())?;
    }
    Ok(signers)
}

/// Where trust comes from: the trust-anchor and CRL options every front door takes, opened
/// by [`TrustSources::trust_store`], [`TrustSources::crl_store`] and
/// [`TrustSources::verify_options`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustSources {
    /// Trust-anchor files: PEM bundles, or one DER certificate each.
    pub ca_files: Vec<PathBuf>,
    /// Directories of trust anchors, such as `/etc/ssl/certs`.
    pub ca_paths: Vec<PathBuf>,
    /// CRL files, PEM or DER.
    pub crl_files: Vec<PathBuf>,
    /// Fetch missing CRLs from the certificates' `http://`/`https://` distribution points
    /// (cargo feature `crl-http`; offline when false).
    pub fetch_crls: bool,
}

impl TrustSources {
    /// No source: nothing trusted, revocation not checked.
    pub fn new() -> Self {
        TrustSources::default()
    }

    /// The trust anchors of every `ca_files` entry, then every `ca_paths` directory.
    ///
    /// # Errors
    /// As [`add_anchor_file`]; [`Error::Io`] when a directory cannot be read.
    pub fn trust_store(&self) -> Result<TrustStore> {
        let mut trust = TrustStore::new();
        for f in &self.ca_files {
            add_anchor_file(&mut trust, f)?;
        }
        for d in &self.ca_paths {
            trust.add_dir(d)?;
        }
        Ok(trust)
    }

    /// The CRLs of every `crl_files` entry, with the HTTP fetcher when `fetch_crls`; `None`
    /// when there is neither (revocation is then `not-checked`).
    ///
    /// # Errors
    /// As [`add_crl_file`]; [`Error::InvalidArgument`] for `fetch_crls` in a build without
    /// the `crl-http` feature.
    pub fn crl_store(&self) -> Result<Option<CrlStore>> {
        if self.crl_files.is_empty() && !self.fetch_crls {
            return Ok(None);
        }
        let mut crls = CrlStore::new();
        for f in &self.crl_files {
            add_crl_file(&mut crls, f)?;
        }
        if self.fetch_crls {
            set_http_fetcher(&mut crls)?;
        }
        Ok(Some(crls))
    }

    /// Verification options holding these anchors and CRLs, evaluated now, without an index.
    ///
    /// # Errors
    /// As [`TrustSources::trust_store`] and [`TrustSources::crl_store`].
    pub fn verify_options(&self) -> Result<VerifyOptions> {
        Ok(VerifyOptions {
            trust: Arc::new(self.trust_store()?),
            crls: self.crl_store()?.map(Arc::new),
            index: None,
            time: VerifyTime::Now,
            now: None,
        })
    }
}

#[cfg(feature = "crl-http")]
fn set_http_fetcher(crls: &mut CrlStore) -> Result<()> {
    crls.set_fetcher(Arc::new(crate::revocation::HttpCrlFetcher::new()));
    Ok(())
}

#[cfg(not(feature = "crl-http"))]
fn set_http_fetcher(_crls: &mut CrlStore) -> Result<()> {
    Err(Error::InvalidArgument(
        "fetching CRLs needs the `crl-http` feature of pec-core, not built in".into(),
    ))
}
