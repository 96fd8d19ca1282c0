//! Loading a signed (`.p7m`) providers index: the verification layer checks the CMS
//! signature, the index layer below only parses the LDIF it wraps (`crate::index` takes the
//! verifier as a parameter, [`IndexVerifier`], and never imports `smime`).
//!
//! Both functions are also at their old paths, `pec_core::index::signed_index_verifier` and
//! `pec_core::index::load_signed_index`.

use std::sync::Arc;

use crate::index::{
    Directory, IndexSigners, IndexVerifier, LdifFileSource, LdifLimits, is_signed_index,
    unwrap_signed_index,
};

/// A verifier for signed (`.p7m`) indexes, for [`open_index`] and the refresh policy
/// ([`LdifFileSource::signed`]): the CMS signature must be `valid` against `opts` (trust
/// anchors, CRLs, time; `opts.index` is not used) **and** its signer certificate must be one
/// of `signers`. Returns the LDIF it wraps.
///
/// With no signer named every signed index is refused ([`DirectoryError::NoIndexSigner`]);
/// signed by a certificate that is not named, or a signature that is not `valid`:
/// [`DirectoryError::BadSignature`]. Both map to [`crate::Code::IndexSignature`].
///
/// [`DirectoryError::NoIndexSigner`]: crate::error::DirectoryError::NoIndexSigner
/// [`DirectoryError::BadSignature`]: crate::error::DirectoryError::BadSignature
pub fn signed_index_verifier(
    signers: IndexSigners,
    opts: crate::smime::VerifyOptions,
) -> IndexVerifier {
    use crate::error::DirectoryError;
    let opts = crate::smime::VerifyOptions { index: None, ..opts };
    Arc::new(move |der: &[u8]| {
        if signers.is_empty() {
            return Err(DirectoryError::NoIndexSigner.into());
        }
        if opts.trust.is_empty() {
            return Err(DirectoryError::BadSignature(
                "no trust anchors to verify the index signature against".into(),
            )
            .into());
        }
        let (report, content) = crate::smime::verify_attached(der, &opts);
        let named = report.signer.as_ref().is_some_and(|s| signers.contains(&s.der));
        match (report.verdict, content) {
            (crate::smime::Verdict::Valid, Some(c)) if named => Ok(c),
            (crate::smime::Verdict::Valid, Some(_)) => {
                let who = report.signer.as_ref().map_or_else(String::new, |s| {
                    format!(" {} (sha256 {})", s.subject, crate::crypto::sha256_hex(&s.der))
                });
                Err(DirectoryError::BadSignature(format!(
                    "signed by{who}, which is not a named index signer"
                ))
                .into())
            }
            _ => {
                let reasons: Vec<&str> = report.reasons.iter().map(|r| r.as_str()).collect();
                Err(DirectoryError::BadSignature(format!(
                    "signature {} ({})",
                    report.verdict,
                    reasons.join(", ")
                ))
                .into())
            }
        }
    })
}

/// Opens the providers index from the bytes of an index file: plain LDIF, or a signed
/// `.p7m` (DER, base64 or PEM) accepted only when signed by one of `signers` with a
/// signature `valid` against `opts` (see [`signed_index_verifier`]).
///
/// This is the one place every front door (CLI, C, Python, Perl) opens an index file.
///
/// # Errors
/// [`DirectoryError::NoIndexSigner`] for a signed index with no signer named;
/// [`DirectoryError::BadSignature`] for a signature that is not valid or not by a named
/// signer; LDIF errors as [`Directory::from_ldif`].
///
/// [`DirectoryError::NoIndexSigner`]: crate::error::DirectoryError::NoIndexSigner
/// [`DirectoryError::BadSignature`]: crate::error::DirectoryError::BadSignature
pub fn open_index(
    bytes: &[u8],
    signers: &IndexSigners,
    opts: &crate::smime::VerifyOptions,
) -> crate::Result<Directory> {
    if is_signed_index(bytes) {
        load_signed_index(bytes, signers, opts)
    } else {
        Directory::from_ldif(bytes)
    }
}

/// [`open_index`] on a file (at most [`LdifLimits::max_bytes`] by default). A file named
/// `*.p7m` is always treated as signed, whatever it holds.
///
/// # Errors
/// As [`open_index`]; [`crate::Error::Io`] when the file cannot be read;
/// [`crate::Error::Limit`] when it is too large.
pub fn open_index_file(
    path: &std::path::Path,
    signers: &IndexSigners,
    opts: &crate::smime::VerifyOptions,
) -> crate::Result<Directory> {
    let max = LdifLimits::default().max_bytes;
    let meta = std::fs::metadata(path).map_err(|e| crate::Error::io(path.display(), &e))?;
    if meta.len() > max as u64 {
        return Err(crate::Error::Limit(crate::error::LimitError {
            what: "LDIF size",
            limit: max as u64,
            actual: meta.len(),
        }));
    }
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path.display(), &e))?;
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("p7m")) {
        load_signed_index(&bytes, signers, opts)
    } else {
        open_index(&bytes, signers, opts)
    }
}

/// Loads a signed (`.p7m`, DER or base64/PEM) providers index, refusing it unless it is
/// signed by one of `signers` with a signature valid against `opts`.
///
/// # Errors
/// As [`open_index`].
pub fn load_signed_index(
    bytes: &[u8],
    signers: &IndexSigners,
    opts: &crate::smime::VerifyOptions,
) -> crate::Result<Directory> {
    if signers.is_empty() {
        return Err(crate::error::DirectoryError::NoIndexSigner.into());
    }
    let verify = signed_index_verifier(signers.clone(), opts.clone());
    let ldif = unwrap_signed_index(bytes, &*verify)?;
    Directory::from_ldif(&ldif)
}

impl LdifFileSource {
    /// A signed LDIF file accepted only when signed by one of `signers` with a signature
    /// `valid` against `opts`: [`LdifFileSource::signed`] with [`signed_index_verifier`], the
    /// rule of [`open_index`] on every reload.
    pub fn signed_by(
        path: impl Into<std::path::PathBuf>,
        signers: IndexSigners,
        opts: crate::smime::VerifyOptions,
    ) -> Self {
        Self::signed(path, signed_index_verifier(signers, opts))
    }
}
