//! Loading a signed (`.p7m`) providers index: the verification layer checks the CMS
//! signature, the index layer below only parses the LDIF it wraps (`crate::index` takes the
//! verifier as a parameter, [`IndexVerifier`], and never imports `smime`).
//!
//! Both functions are also at their old paths, `pec_core::index::signed_index_verifier` and
//! `pec_core::index::load_signed_index`.

use std::sync::Arc;

use crate::index::{Directory, IndexVerifier, unwrap_signed_index};

/// A verifier for signed (`.p7m`) indexes: the CMS signature must be `valid` against `opts`
/// (trust anchors, CRLs, time); returns the LDIF it wraps.
pub fn signed_index_verifier(opts: crate::smime::VerifyOptions) -> IndexVerifier {
    Arc::new(move |der: &[u8]| {
        let (report, content) = crate::smime::verify_attached(der, &opts);
        match (report.verdict, content) {
            (crate::smime::Verdict::Valid, Some(c)) => Ok(c),
            _ => {
                let reasons: Vec<&str> = report.reasons.iter().map(|r| r.as_str()).collect();
                Err(crate::error::DirectoryError::BadSignature(format!(
                    "signature {} ({})",
                    report.verdict,
                    reasons.join(", ")
                ))
                .into())
            }
        }
    })
}

/// Loads a signed (`.p7m`, DER or base64/PEM) providers index, refusing it unless its
/// signature is valid against `opts`.
///
/// # Errors
/// [`crate::error::DirectoryError::BadSignature`] when the signature is not valid; LDIF
/// errors as [`Directory::from_ldif`].
pub fn load_signed_index(
    bytes: &[u8],
    opts: crate::smime::VerifyOptions,
) -> crate::Result<Directory> {
    let verify = signed_index_verifier(opts);
    let ldif = unwrap_signed_index(bytes, &*verify)?;
    Directory::from_ldif(&ldif)
}
