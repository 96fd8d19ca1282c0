//! GENERATED from `pec_core::Code` by `cargo test -p pec-ffi --test result_table`: do not edit.
//!
//! `pec_result` is the core code table as a plain `#[repr(u32)]` enum, so that cbindgen can
//! emit it into `pec.h`. Add a code to `pec_core::Code` and run that test once.

/// A result code. `PEC_RESULT_OK` (0) is success; every other value is an error whose static
/// text `pec_result_message` returns. The numbers are stable and never renumbered: blocks of
/// 100 per area (1xx API, 2xx parsing, 3xx S/MIME, 4xx certificates and CRLs, 5xx PKCS#11,
/// 6xx providers index, 7xx building, 8xx provider engine). The verification reason codes
/// (3xx, 4xx, 6xx) are the same numbers as the reasons of a `pec_report`.
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
    /// The engine's state store is unavailable, locked or failed to commit: nothing was
    /// committed, try again later (the MTA's 451, `EX_TEMPFAIL`).
    EngineStore = 800,
    /// The engine's configuration is invalid (or this build has no engine).
    EngineConfig = 801,
}

impl pec_result {
    /// Every code, in numeric order (mirrors [`pec_core::Code::ALL`]).
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
        pec_result::EngineStore,
        pec_result::EngineConfig,
    ];
}
