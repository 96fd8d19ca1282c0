//! Errors of the PEC engine.
//!
//! One public [`Error`] enum wraps a sub-enum per area. Every error has a stable numeric
//! [`Error::code`] that the C ABI (`pec_result`), the Python layer (`PecError.code`) and the
//! Perl layer (`Mail::PEC::Error->code`) expose unchanged. Codes are never renumbered: a
//! retired code stays reserved. The table lives in [`Code`].
//!
//! Verification *findings* (a bad signature, an expired certificate) are not errors: they are
//! reasons in a [`crate::report::VerificationReport`]. Errors are reserved for input that cannot
//! be processed at all (unreadable bytes, a broken provider file, an HSM that does not answer).

use std::fmt;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Any error of the PEC engine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message, header or MIME structure could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A `daticert.xml` document could not be read or written.
    #[error(transparent)]
    Daticert(#[from] DaticertError),
    /// A hostile-input limit was exceeded.
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// A message could not be built from the given inputs.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// CMS / S/MIME structure or signing failure.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// A certificate, key, CRL or trust anchor could not be loaded.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// PKCS#11 (HSM) failure.
    #[error(transparent)]
    Hsm(#[from] HsmError),
    /// Providers index (LDIF / LDAP) failure.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// Encryption at rest (CMS EnvelopedData) failure.
    #[error(transparent)]
    AtRest(#[from] AtRestError),
    /// Sender authentication (SPF, DKIM, DMARC, ARC): a zone text or resolver setting.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The caller used the API in a way it does not support.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An I/O error while reading a file the caller named.
    #[error("i/o error on {path}: {message}")]
    Io {
        /// The path that could not be read.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

impl Error {
    /// The stable numeric code of this error, shared by the C, Python and Perl layers.
    pub fn code(&self) -> Code {
        match self {
            Error::Parse(e) => e.code(),
            Error::Daticert(e) => e.code(),
            Error::Limit(_) => Code::LimitExceeded,
            Error::Build(e) => e.code(),
            Error::Signature(e) => e.code(),
            Error::Certificate(e) => e.code(),
            Error::Hsm(e) => e.code(),
            Error::Directory(e) => e.code(),
            Error::AtRest(e) => e.code(),
            Error::Auth(_) => Code::ProviderConfig,
            Error::InvalidArgument(_) => Code::InvalidParameter,
            Error::Io { .. } => Code::Io,
        }
    }

    /// Builds an [`Error::Io`] from a path and an `std::io::Error`.
    pub fn io(path: impl fmt::Display, err: &std::io::Error) -> Self {
        Error::Io { path: path.to_string(), message: err.to_string() }
    }
}

/// Errors while parsing a message or its headers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input is empty.
    #[error("empty message")]
    Empty,
    /// The header block is not RFC 5322 (no header field, or a line that is not a field).
    #[error("malformed header block: {0}")]
    MalformedHeaders(&'static str),
    /// A MIME structure is broken (missing boundary, unterminated multipart, ...).
    #[error("malformed MIME structure: {0}")]
    MalformedMime(&'static str),
    /// The message ends before its structure does.
    #[error("truncated message: {0}")]
    Truncated(&'static str),
    /// A base64 or quoted-printable body could not be decoded.
    #[error("bad {encoding} content in part {part}")]
    BadEncoding {
        /// `base64` or `quoted-printable`.
        encoding: &'static str,
        /// Which part (file name or MIME path).
        part: String,
    },
    /// A header value contains CR or LF (header injection) or a NUL byte.
    #[error("header {header} contains a line break or NUL (header injection refused)")]
    HeaderInjection {
        /// The header whose value was refused.
        header: String,
    },
    /// An address is not a valid `local@domain` addr-spec.
    #[error("invalid address: {0:?}")]
    InvalidAddress(String),
    /// A date or time could not be parsed.
    #[error("invalid date or time: {0:?}")]
    InvalidTime(String),
    /// The message is a PEC message, but a required header or part is missing.
    #[error("PEC message is missing {0}")]
    MissingPart(&'static str),
}

impl ParseError {
    fn code(&self) -> Code {
        match self {
            ParseError::Empty | ParseError::MalformedHeaders(_) | ParseError::MalformedMime(_) => {
                Code::MalformedMessage
            }
            ParseError::Truncated(_) => Code::Truncated,
            ParseError::BadEncoding { .. } => Code::BadEncoding,
            ParseError::HeaderInjection { .. } => Code::HeaderInjection,
            ParseError::InvalidAddress(_) => Code::InvalidAddress,
            ParseError::InvalidTime(_) => Code::InvalidTime,
            ParseError::MissingPart(_) => Code::MissingPart,
        }
    }
}

/// Errors of `daticert.xml` reading and writing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DaticertError {
    /// The XML is not well-formed.
    #[error("daticert.xml is not well-formed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset in the document.
        position: u64,
        /// What the XML reader reported.
        message: String,
    },
    /// The document declares entities or an internal DTD subset with declarations;
    /// they are refused, never expanded.
    #[error("daticert.xml declares entities (refused, never expanded)")]
    EntityDeclaration,
    /// A required element or attribute is missing.
    #[error("daticert.xml lacks required {0}")]
    Missing(&'static str),
    /// The root element is not `postacert`.
    #[error("daticert.xml root element is {0:?}, expected postacert")]
    WrongRoot(String),
    /// The document is not UTF-8.
    #[error("daticert.xml is not valid UTF-8")]
    NotUtf8,
}

impl DaticertError {
    fn code(&self) -> Code {
        match self {
            DaticertError::Missing(_) | DaticertError::WrongRoot(_) => Code::DaticertInvalid,
            _ => Code::DaticertMalformed,
        }
    }
}

/// A hostile-input limit was exceeded. See [`crate::limits::Limits`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("limit exceeded: {what} is {actual}, the maximum is {limit}")]
pub struct LimitError {
    /// Which limit (`message size`, `MIME depth`, `MIME parts`, `header line`, ...).
    pub what: &'static str,
    /// The configured maximum.
    pub limit: u64,
    /// The value found (or a lower bound of it).
    pub actual: u64,
}

/// Errors while building an envelope, receipt or notice.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The kind named is not one this library builds.
    #[error("unknown message kind {0:?}")]
    UnknownKind(String),
    /// A required input is missing (`--original`, `--envelope`, `--recipient`, ...).
    #[error("missing input: {0}")]
    MissingInput(&'static str),
    /// The input message is not of the kind this builder needs (e.g. not a transport envelope).
    #[error("wrong input: expected {expected}, got {found}")]
    WrongInput {
        /// What the builder expects.
        expected: &'static str,
        /// What it got.
        found: String,
    },
    /// The original fails the access point's formal checks (RFC 6109 §3.1.1).
    #[error("formal checks failed: {}", violations.join("; "))]
    FormalChecks {
        /// Each violation, as text.
        violations: Vec<String>,
    },
    /// The provider configuration is invalid.
    #[error("invalid provider configuration: {0}")]
    ProviderConfig(String),
}

impl BuildError {
    fn code(&self) -> Code {
        match self {
            BuildError::UnknownKind(_) => Code::UnknownKind,
            BuildError::MissingInput(_) => Code::MissingInput,
            BuildError::WrongInput { .. } => Code::WrongInput,
            BuildError::FormalChecks { .. } => Code::FormalChecks,
            BuildError::ProviderConfig(_) => Code::ProviderConfig,
        }
    }
}

/// CMS / S/MIME errors (structure, signing). Verification outcomes are reasons, not errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The message carries no signature.
    #[error("message is not signed")]
    NoSignature,
    /// The CMS structure is not valid DER / not a SignedData.
    #[error("malformed CMS signature: {0}")]
    Malformed(String),
    /// An algorithm this library does not implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// The signer failed to produce a signature.
    #[error("signing failed: {0}")]
    SigningFailed(String),
}

impl SignatureError {
    fn code(&self) -> Code {
        match self {
            SignatureError::NoSignature => Code::NoSignature,
            SignatureError::Malformed(_) => Code::MalformedSignature,
            SignatureError::UnsupportedAlgorithm(_) => Code::UnsupportedAlgorithm,
            SignatureError::SigningFailed(_) => Code::SigningFailed,
        }
    }
}

/// Errors loading certificates, keys, CRLs and trust anchors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// A certificate is not valid DER/PEM.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// A private key could not be loaded.
    #[error("bad private key: {0}")]
    BadKey(String),
    /// The private key does not match the certificate.
    #[error("private key does not match the certificate")]
    KeyMismatch,
    /// A CRL could not be parsed.
    #[error("bad CRL: {0}")]
    BadCrl(String),
}

impl CertificateError {
    fn code(&self) -> Code {
        match self {
            CertificateError::BadCertificate(_) => Code::BadCertificate,
            CertificateError::BadKey(_) | CertificateError::KeyMismatch => Code::BadKey,
            CertificateError::BadCrl(_) => Code::BadCrl,
        }
    }
}

/// PKCS#11 errors. `ckr` is the PKCS#11 return value's name (`CKR_PIN_INCORRECT`, ...).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The PKCS#11 module could not be loaded.
    #[error("cannot load PKCS#11 module {path}: {message}")]
    Module {
        /// Module path.
        path: String,
        /// Loader message.
        message: String,
    },
    /// The `pkcs11:` URI is malformed or the PIN source is unusable.
    #[error("invalid PKCS#11 URI or PIN source: {0}")]
    Uri(String),
    /// No token matches the URI.
    #[error("no PKCS#11 token matches {0}")]
    TokenNotFound(String),
    /// No key (or certificate) matches the URI on the token.
    #[error("no PKCS#11 object matches {0}")]
    KeyNotFound(String),
    /// The PIN was refused.
    #[error("PKCS#11 login failed: {ckr}")]
    PinIncorrect {
        /// CKR name.
        ckr: String,
    },
    /// Any other PKCS#11 failure.
    #[error("PKCS#11 {function} failed: {ckr}")]
    Pkcs11 {
        /// The PKCS#11 function (`C_Sign`, ...).
        function: String,
        /// CKR name.
        ckr: String,
    },
    /// Sessions kept failing after the bounded retry.
    #[error("PKCS#11 session could not be recovered after {attempts} attempts: {ckr}")]
    RetriesExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The last CKR name.
        ckr: String,
    },
}

impl HsmError {
    fn code(&self) -> Code {
        match self {
            HsmError::Module { .. } => Code::Pkcs11Module,
            HsmError::Uri(_) => Code::Pkcs11Uri,
            HsmError::TokenNotFound(_) => Code::Pkcs11TokenNotFound,
            HsmError::KeyNotFound(_) => Code::Pkcs11KeyNotFound,
            HsmError::PinIncorrect { .. } => Code::Pkcs11PinIncorrect,
            HsmError::Pkcs11 { .. } => Code::Pkcs11Failure,
            HsmError::RetriesExhausted { .. } => Code::Pkcs11Session,
        }
    }
}

/// Providers index errors: [`DirectoryError`] under its index name (one vocabulary: "index"
/// in every public name; the older name stays).
pub use self::DirectoryError as IndexError;

/// Providers index errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// The LDIF is malformed at the given line (1-based).
    #[error("LDIF line {line}: {message}")]
    Ldif {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A provider entry lacks a required attribute or holds a bad value.
    #[error("index entry {dn}: {message}")]
    Entry {
        /// The entry's DN.
        dn: String,
        /// What is wrong.
        message: String,
    },
    /// The LDAP server could not be reached or bound.
    #[error("LDAP connection to {url} failed: {message}")]
    Connect {
        /// Server URL.
        url: String,
        /// Reason.
        message: String,
    },
    /// An LDAP operation timed out.
    #[error("LDAP {operation} timed out after {millis} ms")]
    Timeout {
        /// `connect`, `bind` or `search`.
        operation: &'static str,
        /// Timeout in milliseconds.
        millis: u64,
    },
    /// An LDAP search failed.
    #[error("LDAP search failed: {0}")]
    Search(String),
    /// A signed (`.p7m`) index failed verification.
    #[error("signed index refused: {0}")]
    BadSignature(String),
    /// A signed (`.p7m`) index was given but no index signer was named: a signature that
    /// merely chains to the trust anchors could come from any provider, so it is not trusted.
    #[error(
        "signed index refused: no index signer named (name the certificate allowed to sign \
         the providers index)"
    )]
    NoIndexSigner,
}

impl DirectoryError {
    fn code(&self) -> Code {
        match self {
            DirectoryError::Ldif { .. } | DirectoryError::Entry { .. } => Code::LdifMalformed,
            DirectoryError::Connect { .. } => Code::LdapConnect,
            DirectoryError::Timeout { .. } => Code::LdapTimeout,
            DirectoryError::Search(_) => Code::LdapSearch,
            DirectoryError::BadSignature(_) | DirectoryError::NoIndexSigner => Code::IndexSignature,
        }
    }
}

/// Errors of encryption at rest (`crate::atrest`: CMS EnvelopedData, RFC 5652 §6).
///
/// They map onto existing codes (no new numbers): a malformed or foreign structure is
/// `malformed_message`, a cut input `truncated`, an algorithm pec does not implement
/// `unsupported_algorithm`, a key that is not a recipient or does not open the content
/// `bad_key`, an unusable recipient certificate `bad_certificate`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AtRestError {
    /// The input is not a CMS EnvelopedData (garbage, another content type, bad DER/BER,
    /// bytes after the structure).
    #[error("not a CMS EnvelopedData: {0}")]
    Malformed(String),
    /// The input ends inside the structure.
    #[error("truncated CMS EnvelopedData: {0}")]
    Truncated(String),
    /// An algorithm (content cipher, key transport, recipient kind) pec does not implement.
    #[error("unsupported algorithm in CMS EnvelopedData: {0}")]
    Unsupported(String),
    /// No recipient of the message is the given key or certificate.
    #[error("the key is not a recipient of this message ({recipients} recipient(s) tried)")]
    NotARecipient {
        /// How many key-transport recipients the message lists.
        recipients: usize,
    },
    /// The content-encryption key or the content did not decrypt (wrong key, corrupted
    /// ciphertext or padding).
    #[error("decryption failed: {0}")]
    DecryptionFailed(String),
    /// A recipient certificate cannot receive (not RSA, unreadable, too small a key).
    #[error("unusable recipient certificate: {0}")]
    BadRecipient(String),
    /// The content did not have the announced length.
    #[error("content length mismatch: announced {announced} bytes, read {read}")]
    LengthMismatch {
        /// The length the caller announced.
        announced: u64,
        /// The bytes actually read.
        read: u64,
    },
    /// Reading the input or writing the output failed.
    #[error("i/o error while {what}: {message}")]
    Io {
        /// `reading` or `writing`.
        what: &'static str,
        /// The operating system's message.
        message: String,
    },
}

impl AtRestError {
    fn code(&self) -> Code {
        match self {
            AtRestError::Malformed(_) => Code::MalformedMessage,
            AtRestError::Truncated(_) => Code::Truncated,
            AtRestError::Unsupported(_) => Code::UnsupportedAlgorithm,
            AtRestError::NotARecipient { .. } | AtRestError::DecryptionFailed(_) => Code::BadKey,
            AtRestError::BadRecipient(_) => Code::BadCertificate,
            AtRestError::LengthMismatch { .. } => Code::InvalidParameter,
            AtRestError::Io { .. } => Code::Io,
        }
    }
}

/// Errors of sender authentication at the incoming point ([`crate::mailsec::auth`]): only the
/// configuration can fail; DNS failures while checking a message are results (`temperror`),
/// never errors.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A line of a static zone text could not be read.
    #[error("zone line {line}: {message}")]
    Zone {
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The resolver could not be set up (bad name server, no runtime).
    #[error("resolver: {0}")]
    Resolver(String),
}

code_table! {
    /// The stable result codes shared by every language layer.
    ///
    /// Blocks of 100 per area: 1xx API/FFI, 2xx parsing, 3xx S/MIME, 4xx certificates and
    /// CRLs, 5xx PKCS#11, 6xx providers index, 7xx building, 8xx provider engine. The
    /// verification reason codes ([`crate::report::Reason`]) map onto 3xx, 4xx and 6xx codes.
    /// Never renumber; retire a code by leaving a reserved comment.
    ///
    /// This is the one table of codes: a row gives the variant (its doc is also the comment in
    /// `pec.h`), the number, the stable name and the English message. Adding a code is one row
    /// here, then `cargo test -p pec-ffi --test result_table` once to regenerate `pec_result`.
    pub enum Code {
        /// Success.
        Ok = 0, "ok", "success";
        // 1xx: API / FFI layer
        /// A required pointer argument was NULL.
        NullParameter = 100, "null_parameter", "a required pointer argument was NULL";
        /// A panic was caught at the API boundary (a bug: please report it).
        Panic = 101, "panic", "a panic was caught at the API boundary (a bug in libpec)";
        /// The caller's buffer is too small.
        InsufficientSize = 102, "insufficient_size", "the caller's buffer is too small";
        /// An argument has an invalid value.
        InvalidParameter = 103, "invalid_parameter", "an argument has an invalid value";
        /// A string argument is not valid UTF-8.
        InvalidUtf8 = 104, "invalid_utf8", "a string argument is not valid UTF-8";
        /// A file could not be read or written.
        Io = 105, "io", "a file could not be read or written";
        // 2xx: parsing
        /// The message is not a well-formed RFC 5322 / MIME message.
        MalformedMessage = 200, "malformed_message",
            "the message is not a well-formed RFC 5322 / MIME message";
        /// The message is truncated.
        Truncated = 201, "truncated", "the message is truncated";
        /// A hostile-input limit was exceeded.
        LimitExceeded = 202, "limit_exceeded", "a hostile-input limit was exceeded";
        /// Bad base64 or quoted-printable content.
        BadEncoding = 203, "bad_encoding", "bad base64 or quoted-printable content";
        /// `daticert.xml` is not well-formed (or declares entities).
        DaticertMalformed = 204, "daticert_malformed",
            "daticert.xml is not well-formed (or declares entities)";
        /// `daticert.xml` lacks a required element or attribute.
        DaticertInvalid = 205, "daticert_invalid",
            "daticert.xml lacks a required element or attribute";
        /// A header value would inject a line break.
        HeaderInjection = 206, "header_injection", "a header value would inject a line break";
        /// An address is not a valid addr-spec.
        InvalidAddress = 207, "invalid_address", "an address is not a valid addr-spec";
        /// A date or time is invalid.
        InvalidTime = 208, "invalid_time", "a date or time is invalid";
        /// A PEC message lacks a required part.
        MissingPart = 209, "missing_part", "the PEC message lacks a required part";
        // 3xx: S/MIME
        /// Verification reason `no-signature` (also: the message is not signed).
        NoSignature = 300, "no_signature", "the message is not signed";
        /// Verification reason `malformed-signature`.
        MalformedSignature = 301, "malformed_signature", "the CMS signature is malformed";
        /// Verification reason `content-mismatch`.
        ContentMismatch = 302, "content_mismatch",
            "the signed content does not match the message digest";
        /// Verification reason `bad-signature`.
        BadSignature = 303, "bad_signature", "the signature is wrong";
        /// An algorithm this library does not implement.
        UnsupportedAlgorithm = 304, "unsupported_algorithm",
            "an algorithm this library does not implement";
        /// The signer failed (for a callback signer: the callback returned non-zero).
        SigningFailed = 305, "signing_failed", "the signer failed";
        /// Verification reason `signing-time-in-future`.
        SigningTimeInFuture = 306, "signing_time_in_future",
            "the signingTime claim is in the future";
        /// Verification reason `partially-signed`.
        PartiallySigned = 307, "partially_signed", "only an inner part of the message is signed";
        /// Verification reason `header-mismatch`.
        HeaderMismatch = 308, "header_mismatch",
            "the outer PEC header disagrees with the signed daticert";
        // 4xx: certificates, CRLs
        /// Verification reason `untrusted-chain`.
        UntrustedChain = 400, "untrusted_chain", "no certificate path to a trust anchor";
        /// Verification reason `expired`.
        Expired = 401, "expired", "a certificate of the path has expired";
        /// Verification reason `not-yet-valid`.
        NotYetValid = 402, "not_yet_valid", "a certificate of the path is not yet valid";
        /// Verification reason `revoked`.
        Revoked = 403, "revoked", "a certificate of the path is revoked";
        /// Verification reason `revocation-unknown`.
        RevocationUnknown = 404, "revocation_unknown", "the revocation status is unknown";
        /// A certificate could not be parsed.
        BadCertificate = 405, "bad_certificate", "a certificate could not be parsed";
        /// A CRL could not be parsed.
        BadCrl = 406, "bad_crl", "a CRL could not be parsed";
        /// A private key could not be loaded or does not match.
        BadKey = 407, "bad_key", "a private key could not be loaded or does not match";
        // 5xx: PKCS#11
        /// The PKCS#11 module could not be loaded.
        Pkcs11Module = 500, "pkcs11_module", "the PKCS#11 module could not be loaded";
        /// No token matches.
        Pkcs11TokenNotFound = 501, "pkcs11_token_not_found", "no PKCS#11 token matches";
        /// No key or certificate matches.
        Pkcs11KeyNotFound = 502, "pkcs11_key_not_found", "no PKCS#11 key or certificate matches";
        /// Wrong PIN.
        Pkcs11PinIncorrect = 503, "pkcs11_pin_incorrect", "the PKCS#11 PIN was refused";
        /// Other PKCS#11 failure.
        Pkcs11Failure = 504, "pkcs11_failure", "a PKCS#11 operation failed";
        /// Sessions could not be recovered.
        Pkcs11Session = 505, "pkcs11_session", "PKCS#11 sessions could not be recovered";
        /// Malformed `pkcs11:` URI or PIN source.
        Pkcs11Uri = 506, "pkcs11_uri", "malformed pkcs11: URI or PIN source";
        // 6xx: providers index
        /// Malformed LDIF or index entry.
        LdifMalformed = 600, "ldif_malformed", "malformed LDIF or index entry";
        /// LDAP server unreachable or bind refused.
        LdapConnect = 601, "ldap_connect", "the LDAP server is unreachable or refused the bind";
        /// LDAP timeout.
        LdapTimeout = 602, "ldap_timeout", "the LDAP operation timed out";
        /// LDAP search failed.
        LdapSearch = 603, "ldap_search", "the LDAP search failed";
        /// Signed index refused.
        IndexSignature = 604, "index_signature", "the signed providers index was refused";
        /// Verification reason `not-in-index`.
        NotInIndex = 605, "not_in_index", "the signer certificate is not in the providers index";
        /// Verification reason `from-domain-mismatch`.
        FromDomainMismatch = 606, "from_domain_mismatch",
            "the From: domain is not managed by the signing provider";
        /// Verification reason `daticert-mismatch`.
        DaticertMismatch = 607, "daticert_mismatch",
            "daticert names another provider or an address it does not manage";
        // 7xx: building
        /// Unknown message kind.
        UnknownKind = 700, "unknown_kind", "unknown message kind";
        /// A required input is missing.
        MissingInput = 701, "missing_input", "a required input is missing";
        /// The input is not of the expected kind.
        WrongInput = 702, "wrong_input", "the input is not of the expected kind";
        /// The original failed the access point's formal checks.
        FormalChecks = 703, "formal_checks", "the original failed the access point's formal checks";
        /// Invalid provider configuration.
        ProviderConfig = 704, "provider_config", "invalid provider configuration";
        // 8xx: provider engine
        /// The engine's state store is unavailable, locked or failed to commit: nothing was
        /// committed, try again later (the MTA's 451, `EX_TEMPFAIL`).
        EngineStore = 800, "engine_store",
            "the engine's state store is unavailable (temporary: try again later)";
        /// The engine's configuration is invalid (or this build has no engine).
        EngineConfig = 801, "engine_config", "the engine configuration is invalid";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            assert!(seen.insert(c.as_u32()), "duplicate code {}", c.as_u32());
            assert_eq!(Code::from_u32(c.as_u32()), Some(*c));
        }
        assert_eq!(Code::from_u32(9999), None);
    }

    #[test]
    fn table_is_in_numeric_order_with_names_and_messages() {
        for w in Code::ALL.windows(2) {
            assert!(w[0].as_u32() < w[1].as_u32(), "{:?} before {:?}", w[0], w[1]);
        }
        let mut names = std::collections::HashSet::new();
        for c in Code::ALL {
            let name = c.name();
            assert!(names.insert(name), "duplicate name {name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert!(!c.message().is_empty(), "{c:?}");
            assert!(c.doc().starts_with(' ') && c.doc().ends_with('\n'), "{c:?}");
            assert_eq!(c.to_string(), name);
        }
        // pinned texts: the C layer returns them from pec_result_message
        assert_eq!(Code::Ok.message(), "success");
        assert_eq!(Code::Truncated.message(), "the message is truncated");
        assert_eq!(Code::Pkcs11PinIncorrect.name(), "pkcs11_pin_incorrect");
        assert_eq!(
            Code::Panic.doc(),
            " A panic was caught at the API boundary (a bug: please report it).\n"
        );
    }

    #[test]
    fn codes_never_renumbered() {
        // Pinned values: changing any of these breaks C, Python and Perl callers.
        assert_eq!(Code::Ok.as_u32(), 0);
        assert_eq!(Code::Panic.as_u32(), 101);
        assert_eq!(Code::MalformedMessage.as_u32(), 200);
        assert_eq!(Code::NoSignature.as_u32(), 300);
        assert_eq!(Code::BadSignature.as_u32(), 303);
        assert_eq!(Code::UntrustedChain.as_u32(), 400);
        assert_eq!(Code::Revoked.as_u32(), 403);
        assert_eq!(Code::Pkcs11PinIncorrect.as_u32(), 503);
        assert_eq!(Code::NotInIndex.as_u32(), 605);
        assert_eq!(Code::FromDomainMismatch.as_u32(), 606);
        assert_eq!(Code::SigningTimeInFuture.as_u32(), 306);
        assert_eq!(Code::PartiallySigned.as_u32(), 307);
        assert_eq!(Code::HeaderMismatch.as_u32(), 308);
        assert_eq!(Code::DaticertMismatch.as_u32(), 607);
        assert_eq!(Code::FormalChecks.as_u32(), 703);
        assert_eq!(Code::EngineStore.as_u32(), 800);
        assert_eq!(Code::EngineConfig.as_u32(), 801);
    }
}
