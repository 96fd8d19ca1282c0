//! `pec_result`: the stable result codes of the C ABI, and the per-thread last error.
//!
//! The numbers are those of [`pec_core::Code`], the one code list shared by the C, Python and
//! Perl layers. `pec_result` mirrors it variant for variant (a test checks that both lists are
//! identical, number and name), so that cbindgen can emit the constants into `pec.h`.

use std::cell::RefCell;
use std::ffi::c_char;

use pec_core::Code;

use crate::ffi::{Failure, Out, boundary, out};

/// A result code. `PEC_RESULT_OK` (0) is success; every other value is an error whose static
/// text `pec_result_message` returns. The numbers are stable and never renumbered: blocks of
/// 100 per area (1xx API, 2xx parsing, 3xx S/MIME, 4xx certificates and CRLs, 5xx PKCS#11,
/// 6xx providers index, 7xx building). The verification reason codes (3xx, 4xx, 6xx) are the
/// same numbers as the reasons of a `pec_report`.
///
/// Functions return this type; functions that take a code from C take a `uint32_t`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum pec_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 100,
    /// A panic was caught at the API boundary (a bug: please report it).
    Panic = 101,
    /// The caller's buffer is too small.
    InsufficientSize = 102,
    /// An argument has an invalid value.
    InvalidParameter = 103,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 104,
    /// A file could not be read or written.
    Io = 105,
    /// The message is not a well-formed RFC 5322 / MIME message.
    MalformedMessage = 200,
    /// The message is truncated.
    Truncated = 201,
    /// A hostile-input limit was exceeded.
    LimitExceeded = 202,
    /// Bad base64 or quoted-printable content.
    BadEncoding = 203,
    /// `daticert.xml` is not well-formed (or declares entities).
    DaticertMalformed = 204,
    /// `daticert.xml` lacks a required element or attribute.
    DaticertInvalid = 205,
    /// A header value would inject a line break.
    HeaderInjection = 206,
    /// An address is not a valid addr-spec.
    InvalidAddress = 207,
    /// A date or time is invalid.
    InvalidTime = 208,
    /// A PEC message lacks a required part.
    MissingPart = 209,
    /// Verification reason `no-signature` (also: the message is not signed).
    NoSignature = 300,
    /// Verification reason `malformed-signature`.
    MalformedSignature = 301,
    /// Verification reason `content-mismatch`.
    ContentMismatch = 302,
    /// Verification reason `bad-signature`.
    BadSignature = 303,
    /// An algorithm this library does not implement.
    UnsupportedAlgorithm = 304,
    /// The signer failed (for a callback signer: the callback returned non-zero).
    SigningFailed = 305,
    /// Verification reason `signing-time-in-future`.
    SigningTimeInFuture = 306,
    /// Verification reason `partially-signed`.
    PartiallySigned = 307,
    /// Verification reason `header-mismatch`.
    HeaderMismatch = 308,
    /// Verification reason `untrusted-chain`.
    UntrustedChain = 400,
    /// Verification reason `expired`.
    Expired = 401,
    /// Verification reason `not-yet-valid`.
    NotYetValid = 402,
    /// Verification reason `revoked`.
    Revoked = 403,
    /// Verification reason `revocation-unknown`.
    RevocationUnknown = 404,
    /// A certificate could not be parsed.
    BadCertificate = 405,
    /// A CRL could not be parsed.
    BadCrl = 406,
    /// A private key could not be loaded or does not match.
    BadKey = 407,
    /// The PKCS#11 module could not be loaded.
    Pkcs11Module = 500,
    /// No token matches.
    Pkcs11TokenNotFound = 501,
    /// No key or certificate matches.
    Pkcs11KeyNotFound = 502,
    /// Wrong PIN.
    Pkcs11PinIncorrect = 503,
    /// Other PKCS#11 failure.
    Pkcs11Failure = 504,
    /// Sessions could not be recovered.
    Pkcs11Session = 505,
    /// Malformed `pkcs11:` URI or PIN source.
    Pkcs11Uri = 506,
    /// Malformed LDIF or index entry.
    LdifMalformed = 600,
    /// LDAP server unreachable or bind refused.
    LdapConnect = 601,
    /// LDAP timeout.
    LdapTimeout = 602,
    /// LDAP search failed.
    LdapSearch = 603,
    /// Signed index refused.
    IndexSignature = 604,
    /// Verification reason `not-in-index`.
    NotInIndex = 605,
    /// Verification reason `from-domain-mismatch`.
    FromDomainMismatch = 606,
    /// Verification reason `daticert-mismatch`.
    DaticertMismatch = 607,
    /// Unknown message kind.
    UnknownKind = 700,
    /// A required input is missing.
    MissingInput = 701,
    /// The input is not of the expected kind.
    WrongInput = 702,
    /// The original failed the access point's formal checks.
    FormalChecks = 703,
    /// Invalid provider configuration.
    ProviderConfig = 704,
}

impl pec_result {
    /// Every code, in numeric order (mirrors [`Code::ALL`]).
    pub const ALL: &'static [pec_result] = &[
        pec_result::Ok,
        pec_result::NullParameter,
        pec_result::Panic,
        pec_result::InsufficientSize,
        pec_result::InvalidParameter,
        pec_result::InvalidUtf8,
        pec_result::Io,
        pec_result::MalformedMessage,
        pec_result::Truncated,
        pec_result::LimitExceeded,
        pec_result::BadEncoding,
        pec_result::DaticertMalformed,
        pec_result::DaticertInvalid,
        pec_result::HeaderInjection,
        pec_result::InvalidAddress,
        pec_result::InvalidTime,
        pec_result::MissingPart,
        pec_result::NoSignature,
        pec_result::MalformedSignature,
        pec_result::ContentMismatch,
        pec_result::BadSignature,
        pec_result::UnsupportedAlgorithm,
        pec_result::SigningFailed,
        pec_result::SigningTimeInFuture,
        pec_result::PartiallySigned,
        pec_result::HeaderMismatch,
        pec_result::UntrustedChain,
        pec_result::Expired,
        pec_result::NotYetValid,
        pec_result::Revoked,
        pec_result::RevocationUnknown,
        pec_result::BadCertificate,
        pec_result::BadCrl,
        pec_result::BadKey,
        pec_result::Pkcs11Module,
        pec_result::Pkcs11TokenNotFound,
        pec_result::Pkcs11KeyNotFound,
        pec_result::Pkcs11PinIncorrect,
        pec_result::Pkcs11Failure,
        pec_result::Pkcs11Session,
        pec_result::Pkcs11Uri,
        pec_result::LdifMalformed,
        pec_result::LdapConnect,
        pec_result::LdapTimeout,
        pec_result::LdapSearch,
        pec_result::IndexSignature,
        pec_result::NotInIndex,
        pec_result::FromDomainMismatch,
        pec_result::DaticertMismatch,
        pec_result::UnknownKind,
        pec_result::MissingInput,
        pec_result::WrongInput,
        pec_result::FormalChecks,
        pec_result::ProviderConfig,
    ];

    /// The code for a number coming from C; `None` for a number that is not a code (never a
    /// transmute).
    pub fn from_u32(n: u32) -> Option<pec_result> {
        pec_result::ALL.iter().copied().find(|r| *r as u32 == n)
    }

    /// The core code with the same number.
    pub fn code(self) -> Option<Code> {
        Code::from_u32(self as u32)
    }
}

impl From<Code> for pec_result {
    /// Same number; a core code unknown to this build of the C ABI (which the tests forbid)
    /// falls back to `InvalidParameter`.
    fn from(c: Code) -> pec_result {
        pec_result::from_u32(c.as_u32()).unwrap_or(pec_result::InvalidParameter)
    }
}

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Records the message of the last failed call on this thread.
pub(crate) fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| {
        let mut e = e.borrow_mut();
        e.clear();
        e.push_str(message);
    });
}

/// Copies `text` and a terminating NUL into `buf` when it fits (`len > text.len()`);
/// `*out_n` gets the length of `text` (without the NUL) in every case.
fn copy_text(text: &str, buf: *mut c_char, len: usize, out_n: Out<usize>) -> Result<(), Failure> {
    let needed = text.len();
    out_n.set(needed);
    if buf.is_null() || len <= needed {
        return Err(Failure::new(pec_result::InsufficientSize, "buffer too small"));
    }
    // SAFETY: the caller guarantees `buf` is valid for `len` bytes of writes; we write
    // `needed + 1 <= len` bytes, and `text` cannot overlap a buffer the caller owns mutably.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), needed);
        buf.add(needed).write(0);
    }
    Ok(())
}

/// Writes the static English text of `code` (e.g. "the message is truncated") into `buf`.
///
/// `buf` must be valid for `len` bytes of writes. When the text and its terminating NUL fit
/// (`len > text length`), they are copied and `PEC_RESULT_OK` is returned; otherwise nothing is
/// written to `buf` and `PEC_RESULT_INSUFFICIENT_SIZE` is returned. In both cases `*out_n`
/// receives the text length without the NUL, so `pec_result_message(code, NULL, 0, &n)` is a
/// size query. A number that is no code gets the text "unknown result code".
///
/// Does not change the thread's last error. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_result_message(
    code: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> pec_result {
    boundary_quiet(|| {
        // SAFETY: the caller passes NULL or a valid `size_t *`.
        let out_n = unsafe { out(out_n, "out_n") }?;
        copy_text(result_text(code), buf, len, out_n)
    })
}

/// Writes the stable snake_case name of `code` (`"malformed_message"`, `"pkcs11_pin_incorrect"`;
/// the same names as the Python and Perl constants) into `buf`, like `pec_result_message`.
/// A number that is no code returns `PEC_RESULT_INVALID_PARAMETER` and writes nothing.
///
/// Does not change the thread's last error. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_result_name(
    code: u32,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> pec_result {
    boundary_quiet(|| {
        // SAFETY: the caller passes NULL or a valid `size_t *`.
        let out_n = unsafe { out(out_n, "out_n") }?;
        let Some(c) = Code::from_u32(code) else {
            return Err(Failure::new(pec_result::InvalidParameter, "unknown result code"));
        };
        copy_text(c.name(), buf, len, out_n)
    })
}

/// Writes the detailed message of the last call that failed on the calling thread (empty
/// when none failed yet) into `buf`, like `pec_result_message` (`PEC_RESULT_INSUFFICIENT_SIZE`
/// and `*out_n` = the needed length when it does not fit). The message is per thread: each
/// failing call replaces it, successful calls leave it unchanged (like `errno`), and this
/// function itself never changes it.
///
/// Thread-safe (each thread sees its own message).
#[unsafe(no_mangle)]
pub extern "C" fn pec_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> pec_result {
    boundary_quiet(|| {
        // SAFETY: the caller passes NULL or a valid `size_t *`.
        let out_n = unsafe { out(out_n, "out_n") }?;
        let text = LAST_ERROR.with(|e| e.borrow().clone());
        copy_text(&text, buf, len, out_n)
    })
}

/// Like [`boundary`] but without touching the last error (for the error-text functions).
fn boundary_quiet(f: impl FnOnce() -> Result<(), Failure>) -> pec_result {
    let saved = LAST_ERROR.with(|e| e.borrow().clone());
    let r = boundary(f);
    set_last_error(&saved);
    r
}

/// The static text of a code number.
pub(crate) fn result_text(code: u32) -> &'static str {
    let Some(c) = Code::from_u32(code) else { return "unknown result code" };
    match c {
        Code::Ok => "success",
        Code::NullParameter => "a required pointer argument was NULL",
        Code::Panic => "a panic was caught at the API boundary (a bug in libpec)",
        Code::InsufficientSize => "the caller's buffer is too small",
        Code::InvalidParameter => "an argument has an invalid value",
        Code::InvalidUtf8 => "a string argument is not valid UTF-8",
        Code::Io => "a file could not be read or written",
        Code::MalformedMessage => "the message is not a well-formed RFC 5322 / MIME message",
        Code::Truncated => "the message is truncated",
        Code::LimitExceeded => "a hostile-input limit was exceeded",
        Code::BadEncoding => "bad base64 or quoted-printable content",
        Code::DaticertMalformed => "daticert.xml is not well-formed (or declares entities)",
        Code::DaticertInvalid => "daticert.xml lacks a required element or attribute",
        Code::HeaderInjection => "a header value would inject a line break",
        Code::InvalidAddress => "an address is not a valid addr-spec",
        Code::InvalidTime => "a date or time is invalid",
        Code::MissingPart => "the PEC message lacks a required part",
        Code::NoSignature => "the message is not signed",
        Code::MalformedSignature => "the CMS signature is malformed",
        Code::ContentMismatch => "the signed content does not match the message digest",
        Code::BadSignature => "the signature is wrong",
        Code::UnsupportedAlgorithm => "an algorithm this library does not implement",
        Code::SigningFailed => "the signer failed",
        Code::SigningTimeInFuture => "the signingTime claim is in the future",
        Code::PartiallySigned => "only an inner part of the message is signed",
        Code::HeaderMismatch => "the outer PEC header disagrees with the signed daticert",
        Code::UntrustedChain => "no certificate path to a trust anchor",
        Code::Expired => "a certificate of the path has expired",
        Code::NotYetValid => "a certificate of the path is not yet valid",
        Code::Revoked => "a certificate of the path is revoked",
        Code::RevocationUnknown => "the revocation status is unknown",
        Code::BadCertificate => "a certificate could not be parsed",
        Code::BadCrl => "a CRL could not be parsed",
        Code::BadKey => "a private key could not be loaded or does not match",
        Code::Pkcs11Module => "the PKCS#11 module could not be loaded",
        Code::Pkcs11TokenNotFound => "no PKCS#11 token matches",
        Code::Pkcs11KeyNotFound => "no PKCS#11 key or certificate matches",
        Code::Pkcs11PinIncorrect => "the PKCS#11 PIN was refused",
        Code::Pkcs11Failure => "a PKCS#11 operation failed",
        Code::Pkcs11Session => "PKCS#11 sessions could not be recovered",
        Code::Pkcs11Uri => "malformed pkcs11: URI or PIN source",
        Code::LdifMalformed => "malformed LDIF or index entry",
        Code::LdapConnect => "the LDAP server is unreachable or refused the bind",
        Code::LdapTimeout => "the LDAP operation timed out",
        Code::LdapSearch => "the LDAP search failed",
        Code::IndexSignature => "the signed providers index was refused",
        Code::NotInIndex => "the signer certificate is not in the providers index",
        Code::FromDomainMismatch => "the From: domain is not managed by the signing provider",
        Code::DaticertMismatch => {
            "daticert names another provider or an address it does not manage"
        }
        Code::UnknownKind => "unknown message kind",
        Code::MissingInput => "a required input is missing",
        Code::WrongInput => "the input is not of the expected kind",
        Code::FormalChecks => "the original failed the access point's formal checks",
        Code::ProviderConfig => "invalid provider configuration",
        _ => "unknown result code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_core_codes_exactly() {
        assert_eq!(pec_result::ALL.len(), Code::ALL.len());
        for (r, c) in pec_result::ALL.iter().zip(Code::ALL) {
            assert_eq!(*r as u32, c.as_u32());
            assert_eq!(format!("{r:?}"), format!("{c:?}"));
            assert_eq!(pec_result::from(*c), *r);
            assert_eq!(r.code(), Some(*c));
            assert_ne!(result_text(c.as_u32()), "unknown result code", "{c:?}");
        }
        assert_eq!(pec_result::from_u32(9999), None);
    }
}
