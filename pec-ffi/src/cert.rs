//! Certificates and digests: `pec_certificate` (the description of an X.509 certificate and its
//! fingerprints) and `pec_digest` (an incremental message digest of files or buffers).
//!
//! These serve tools that inspect certificates and files without an OpenSSL of their own (the
//! Perl `Mail::PEC::SMimeEngine` functions `getCertInfo`, `getFingerprint` and `digest`).

use std::ffi::c_char;

use md5::Digest as _;
use pec_core::chain::{describe_certificate, parse_certificates};
use pec_core::crypto::{DigestAlgorithm, Hasher};
use pec_core::error::CertificateError;

use crate::error::pec_result;
use crate::ffi::{
    Failure, Text, arg_bytes, arg_mut, arg_ref, arg_str, boundary, boundary_value, free_handle,
    give_bytes, into_handle, opt_text, out, text_accessor, time_accessor,
};
use crate::pec_bytes;

/// An X.509 certificate and its description. Immutable: thread-safe to read; its views are
/// valid until `pec_certificate_free`.
#[derive(Debug)]
pub struct pec_certificate {
    der: Box<[u8]>,
    subject: Text,
    issuer: Text,
    serial: Text,
    sha1: Text,
    email: Option<Text>,
    not_before: Option<i64>,
    not_after: Option<i64>,
}

/// An incremental message digest (MD5, SHA-1, SHA-256, SHA-384 or SHA-512). Fed with
/// `pec_digest_update` (mutates: one thread at a time), read with `pec_digest_finish`, released
/// with `pec_digest_free`.
#[derive(Debug)]
pub struct pec_digest {
    state: DigestState,
}

/// The state of a `pec_digest`: MD5 (legacy fingerprints only) or one of the core's digests.
#[derive(Clone, Debug)]
enum DigestState {
    Md5(md5::Md5),
    Core(Hasher),
}

impl DigestState {
    /// The state for an algorithm name (`md5`, `sha1`, `sha256`, `sha384`, `sha512`; case and
    /// a dash after `sha` ignored, `sha` alone meaning SHA-1).
    fn from_name(name: &str) -> Result<DigestState, Failure> {
        let lower = name.trim().to_ascii_lowercase();
        let alg = match lower.as_str() {
            "md5" => return Ok(DigestState::Md5(md5::Md5::new())),
            "sha" | "sha1" | "sha-1" => DigestAlgorithm::Sha1,
            "sha256" | "sha-256" => DigestAlgorithm::Sha256,
            "sha384" | "sha-384" => DigestAlgorithm::Sha384,
            "sha512" | "sha-512" => DigestAlgorithm::Sha512,
            _ => {
                return Err(Failure::new(
                    pec_result::UnsupportedAlgorithm,
                    format!(
                        "unknown digest algorithm {name:?} (md5, sha1, sha256, sha384, sha512)"
                    ),
                ));
            }
        };
        Ok(DigestState::Core(Hasher::new(alg)))
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            DigestState::Md5(h) => h.update(data),
            DigestState::Core(h) => h.update(data),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            DigestState::Md5(h) => h.finalize().to_vec(),
            DigestState::Core(h) => h.finish(),
        }
    }
}

/// Parses a certificate from `bytes` (`len` bytes, copied: PEM, whose first `CERTIFICATE`
/// block is taken, or DER). On success `*out_certificate` receives a new certificate the caller
/// owns (`pec_certificate_free`). Errors: `PEC_RESULT_NULL_PARAMETER`,
/// `PEC_RESULT_BAD_CERTIFICATE` (no certificate, bad base64 or bad DER). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_parse(
    bytes: *const u8,
    len: usize,
    out_certificate: *mut *mut pec_certificate,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes `len` readable bytes (or NULL with len 0).
        let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
        // SAFETY: the caller passes NULL or a valid `pec_certificate **`.
        let o = unsafe { out(out_certificate, "out_certificate") }?;
        let der = parse_certificates(bytes)?.into_iter().next().ok_or_else(|| {
            pec_core::Error::from(CertificateError::BadCertificate("no certificate found".into()))
        })?;
        let s = describe_certificate(&der)?;
        o.set(into_handle(pec_certificate {
            der: der.into_boxed_slice(),
            subject: Text::new(&s.subject),
            issuer: Text::new(&s.issuer),
            serial: Text::new(&s.serial),
            sha1: Text::new(&s.sha1),
            email: opt_text(s.email.as_ref()),
            not_before: s.not_before.map(|t| t.timestamp()),
            not_after: s.not_after.map(|t| t.timestamp()),
        }));
        Ok(())
    })
}

/// Releases a certificate (NULL is a no-op); its views become invalid.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_free(certificate: *mut pec_certificate) {
    boundary_value((), || {
        // SAFETY: the caller passes NULL or a pec_certificate from pec_certificate_parse, not
        // yet freed.
        unsafe { free_handle(certificate) }
    })
}

/// The subject DN (RFC 4514, most specific RDN first). View owned by the certificate.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_subject(
    certificate: *const pec_certificate,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { text_accessor(certificate, out, out_len, |c| Some(&c.subject)) }
}

/// The issuer DN (RFC 4514). View owned by the certificate. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_issuer(
    certificate: *const pec_certificate,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { text_accessor(certificate, out, out_len, |c| Some(&c.issuer)) }
}

/// The serial number (uppercase hex without leading zeros, `0` for zero). View owned by the
/// certificate. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_serial(
    certificate: *const pec_certificate,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { text_accessor(certificate, out, out_len, |c| Some(&c.serial)) }
}

/// The SHA-1 of the DER certificate (lowercase hex, what `providerCertificateHash` holds).
/// View owned by the certificate. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_sha1(
    certificate: *const pec_certificate,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { text_accessor(certificate, out, out_len, |c| Some(&c.sha1)) }
}

/// The e-mail address (first subjectAltName rfc822Name, else the subject's `emailAddress`),
/// or NULL / 0. View owned by the certificate. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_email(
    certificate: *const pec_certificate,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { text_accessor(certificate, out, out_len, |c| c.email.as_ref()) }
}

/// notBefore (Unix seconds) into `*out_unix` and `true` into `*out_present`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_not_before(
    certificate: *const pec_certificate,
    out_unix: *mut i64,
    out_present: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { time_accessor(certificate, out_unix, out_present, |c| c.not_before) }
}

/// notAfter (Unix seconds), like `pec_certificate_not_before`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_not_after(
    certificate: *const pec_certificate,
    out_unix: *mut i64,
    out_present: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { time_accessor(certificate, out_unix, out_present, |c| c.not_after) }
}

/// The DER certificate. View owned by the certificate, valid until `pec_certificate_free`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_der(
    certificate: *const pec_certificate,
    out: *mut *const u8,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live pec_certificate.
        let c = unsafe { arg_ref(certificate, "certificate") }?;
        // SAFETY: the caller passes NULL or valid out-parameters.
        unsafe { give_bytes(Some(&c.der), out, out_len) }
    })
}

/// The fingerprint of the certificate: the digest `algorithm` (`alg_len` bytes of UTF-8:
/// `"md5"`, `"sha1"`, `"sha256"`, `"sha384"`, `"sha512"`) of its DER, as raw bytes. On success
/// `*out_bytes` receives a new `pec_bytes` the caller owns (`pec_bytes_free`). Errors:
/// `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_UNSUPPORTED_ALGORITHM`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_certificate_fingerprint(
    certificate: *const pec_certificate,
    algorithm: *const c_char,
    alg_len: usize,
    out_bytes: *mut *mut pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live pec_certificate.
        let c = unsafe { arg_ref(certificate, "certificate") }?;
        // SAFETY: the caller passes `alg_len` readable bytes.
        let alg = unsafe { arg_str(algorithm, alg_len, "algorithm") }?;
        // SAFETY: the caller passes NULL or a valid `pec_bytes **`.
        let o = unsafe { out(out_bytes, "out_bytes") }?;
        let mut state = DigestState::from_name(alg)?;
        state.update(&c.der);
        o.set(into_handle(pec_bytes::new(state.finish())));
        Ok(())
    })
}

/// Starts a digest with `algorithm` (`alg_len` bytes of UTF-8: `"md5"`, `"sha1"`, `"sha256"`,
/// `"sha384"`, `"sha512"`; case-insensitive, `"sha-256"` accepted). On success `*out_digest`
/// receives a new digest the caller owns (`pec_digest_free`). Errors:
/// `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_UNSUPPORTED_ALGORITHM`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_digest_new(
    algorithm: *const c_char,
    alg_len: usize,
    out_digest: *mut *mut pec_digest,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes `alg_len` readable bytes.
        let alg = unsafe { arg_str(algorithm, alg_len, "algorithm") }?;
        // SAFETY: the caller passes NULL or a valid `pec_digest **`.
        let o = unsafe { out(out_digest, "out_digest") }?;
        let state = DigestState::from_name(alg)?;
        o.set(into_handle(pec_digest { state }));
        Ok(())
    })
}

/// Feeds `len` bytes (read during the call only) to `digest`. Mutates `digest`: not
/// concurrently with any other use of it.
#[unsafe(no_mangle)]
pub extern "C" fn pec_digest_update(
    digest: *mut pec_digest,
    data: *const u8,
    len: usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live pec_digest nothing else uses.
        let d = unsafe { arg_mut(digest, "digest") }?;
        // SAFETY: the caller passes `len` readable bytes (or NULL with len 0).
        let data = unsafe { arg_bytes(data, len, "data") }?;
        d.state.update(data);
        Ok(())
    })
}

/// The digest of every byte fed so far, as raw bytes: `*out_bytes` receives a new `pec_bytes`
/// the caller owns (`pec_bytes_free`). The digest stays usable (more updates extend the same
/// input). Thread-safe with other readers.
#[unsafe(no_mangle)]
pub extern "C" fn pec_digest_finish(
    digest: *const pec_digest,
    out_bytes: *mut *mut pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live pec_digest.
        let d = unsafe { arg_ref(digest, "digest") }?;
        // SAFETY: the caller passes NULL or a valid `pec_bytes **`.
        let o = unsafe { out(out_bytes, "out_bytes") }?;
        o.set(into_handle(pec_bytes::new(d.state.clone().finish())));
        Ok(())
    })
}

/// Releases a digest (NULL is a no-op).
#[unsafe(no_mangle)]
pub extern "C" fn pec_digest_free(digest: *mut pec_digest) {
    boundary_value((), || {
        // SAFETY: the caller passes NULL or a pec_digest from pec_digest_new, not yet freed.
        unsafe { free_handle(digest) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_names() {
        let mut d = DigestState::from_name("SHA-256").unwrap();
        d.update(b"abc");
        assert_eq!(
            pec_core::crypto::hex(&d.finish()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut d = DigestState::from_name("md5").unwrap();
        d.update(b"abc");
        assert_eq!(pec_core::crypto::hex(&d.finish()), "900150983cd24fb0d6963f7d28e17f72");
        assert!(DigestState::from_name("md2").is_err());
    }
}
