//! Building and signing: `pec_provider` (the issuing provider), `pec_build_options`, and
//! `pec_sign_message`.

use std::ffi::c_char;

use chrono::{DateTime, FixedOffset, Utc};
use pec_core::build::{BuildRequest, TimeReference, Timeout};
use pec_core::checks::SmtpEnvelope;
use pec_core::model::{CertError, MessageKind, ReceiptType};
use pec_core::provider::{Provider, ProviderFile};

use crate::error::pec_result;
use crate::ffi::{
    Failure, Text, arg_bytes, arg_mut, arg_opt_str, arg_ref, arg_str, arg_strings, boundary,
    boundary_value, free_handle, into_handle, out, text_accessor,
};
use crate::index::pec_index;
use crate::pec_bytes;
use crate::signer::pec_signer;

/// Signs a complete unsigned RFC 5322 message (`len` bytes, read during the call only) with
/// `signer` and returns it as S/MIME `multipart/signed` (bare LF line ends become CRLF; the
/// signed part is put on the wire exactly as signed). `unix_time` is the CMS signingTime in
/// Unix seconds; a negative value means now. On success `*out_bytes` receives a new
/// `pec_bytes` the caller owns (`pec_bytes_free`). Errors: `PEC_RESULT_NULL_PARAMETER`,
/// `PEC_RESULT_MALFORMED_MESSAGE`, `PEC_RESULT_INVALID_TIME`, `PEC_RESULT_SIGNING_FAILED` and the
/// signer's own errors (PKCS#11). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_sign_message(
    signer: *const pec_signer,
    message: *const u8,
    len: usize,
    unix_time: i64,
    out_bytes: *mut *mut pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { arg_ref(signer, "signer") }?;
        // SAFETY: `len` readable bytes.
        let msg = unsafe { arg_bytes(message, len, "message") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_bytes, "out_bytes") }?;
        let at = time_or_now(unix_time)?;
        let signed = pec_core::smime::sign_message(msg, &*s.inner, at)?;
        o.set(into_handle(pec_bytes::new(signed)));
        Ok(())
    })
}

/// Signs `len` bytes of `content` exactly as given (no line-end conversion: canonicalise
/// first when the content is MIME text) with `signer` and returns the detached CMS
/// `SignedData` as DER (the body of an `smime.p7s`: SHA-256, signed attributes contentType,
/// signingTime and messageDigest, the signer's certificate and chain embedded), for callers that
/// frame the `multipart/signed` themselves (the Perl `Mail::PEC::SMimeEngine` writes it the
/// way OpenSSL's `SMIME_write_PKCS7` does). `unix_time` is the signingTime in Unix seconds; a
/// negative value means now. On success `*out_bytes` receives a new `pec_bytes` the caller owns
/// (`pec_bytes_free`). Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_TIME`,
/// `PEC_RESULT_SIGNING_FAILED` and the signer's own errors (PKCS#11). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_sign_detached(
    signer: *const pec_signer,
    content: *const u8,
    len: usize,
    unix_time: i64,
    out_bytes: *mut *mut pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let s = unsafe { arg_ref(signer, "signer") }?;
        // SAFETY: `len` readable bytes.
        let data = unsafe { arg_bytes(content, len, "content") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_bytes, "out_bytes") }?;
        let at = time_or_now(unix_time)?;
        let der = pec_core::smime::sign_detached(data, &*s.inner, at)?;
        o.set(into_handle(pec_bytes::new(der)));
        Ok(())
    })
}

pub(crate) fn time_or_now(unix_time: i64) -> Result<DateTime<Utc>, Failure> {
    if unix_time < 0 {
        return Ok(Utc::now());
    }
    DateTime::<Utc>::from_timestamp(unix_time, 0)
        .ok_or_else(|| Failure::new(pec_result::InvalidTime, "unix time out of range"))
}

/// The issuing provider: its name (`gestore-emittente`), mail domain, how it classifies
/// recipients (certified domains of the provider file, or the providers index) and its PEC
/// identifier generator. Configure with `pec_provider_set_*` (mutate: one thread, no concurrent
/// build); `pec_provider_build` may then be called from any number of threads at once.
#[derive(Debug)]
pub struct pec_provider {
    inner: Option<Provider>,
    name: Text,
    domain: Text,
}

impl pec_provider {
    fn get(&self) -> Result<&Provider, Failure> {
        self.inner.as_ref().ok_or_else(|| Failure::invalid("provider is not initialised"))
    }
}

/// Makes a provider from the text of a provider file (TOML, `len` bytes of UTF-8, copied):
///
/// ```toml
/// name = "Example PEC S.p.A."            # gestore-emittente
/// domain = "pec.example.it"              # service address posta-certificata@<domain>
/// certified_domains = ["pec.example.it"] # PEC domains, until an index is given
/// timezone = "Europe/Rome"               # optional
/// ```
///
/// An `index` key is not loaded: load it with `pec_index_from_ldif` and pass it to
/// `pec_provider_set_index`. Without a provider file: `pec_provider_from_fields`. On success
/// `*out_provider` receives a new provider the caller owns (`pec_provider_free`). Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`,
/// `PEC_RESULT_PROVIDER_CONFIG`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_new(
    toml: *const c_char,
    len: usize,
    out_provider: *mut *mut pec_provider,
) -> pec_result {
    boundary(|| {
        // SAFETY: `len` readable bytes.
        let text = unsafe { arg_str(toml, len, "toml") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_provider, "out_provider") }?;
        let p = Provider::from_toml(text)?;
        let (name, domain) = (Text::new(&p.name), Text::new(&p.domain));
        o.set(into_handle(pec_provider { inner: Some(p), name, domain }));
        Ok(())
    })
}

/// Makes a provider from its fields, without a provider file: `name` (`gestore-emittente`,
/// `name_len` bytes of UTF-8), its mail `domain` (service address
/// `posta-certificata@<domain>`), the PEC domains known without an index
/// (`certified_domain_count` strings, `certified_domains[i]` of `certified_domain_lens[i]`
/// bytes; both arrays may be NULL when the count is 0), an IANA `timezone` for generated
/// times (NULL: none; e.g. `Europe/Rome`) and the providers `index` classifying recipients
/// (NULL: the certified domains; shared, not copied: it may be freed right after). Every input
/// is copied or only read during the call; the fields are checked as `pec_provider_new`
/// checks a provider file.
///
/// On success `*out_provider` receives a new provider the caller owns (`pec_provider_free`).
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`,
/// `PEC_RESULT_INVALID_PARAMETER` (a count too large), `PEC_RESULT_PROVIDER_CONFIG` (an empty
/// name, CR/LF in it, a bad domain, an unknown time zone). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_from_fields(
    name: *const c_char,
    name_len: usize,
    domain: *const c_char,
    domain_len: usize,
    certified_domains: *const *const c_char,
    certified_domain_lens: *const usize,
    certified_domain_count: usize,
    timezone: *const c_char,
    timezone_len: usize,
    index: *const pec_index,
    out_provider: *mut *mut pec_provider,
) -> pec_result {
    boundary(|| {
        // SAFETY: `name_len` readable bytes.
        let name = unsafe { arg_str(name, name_len, "name") }?;
        // SAFETY: `domain_len` readable bytes.
        let domain = unsafe { arg_str(domain, domain_len, "domain") }?;
        // SAFETY: arrays of `certified_domain_count` entries, each string readable.
        let certified = unsafe {
            arg_strings(
                certified_domains,
                certified_domain_lens,
                certified_domain_count,
                "certified_domains",
                "certified_domain_lens",
            )
        }?;
        // SAFETY: NULL or `timezone_len` readable bytes.
        let timezone = unsafe { arg_opt_str(timezone, timezone_len, "timezone") }?;
        // SAFETY: NULL or a live handle, only read.
        let index = unsafe { index.as_ref() };
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_provider, "out_provider") }?;
        let file = ProviderFile {
            name: name.to_owned(),
            domain: domain.to_owned(),
            certified_domains: certified,
            index: None,
            timezone: timezone.map(str::to_owned),
            tls: None,
            dkim: None,
        };
        file.validate()?;
        let mut p = Provider::from_file(&file)?;
        if let Some(i) = index {
            p = p.with_directory(i.directory());
        }
        let (name, domain) = (Text::new(&p.name), Text::new(&p.domain));
        o.set(into_handle(pec_provider { inner: Some(p), name, domain }));
        Ok(())
    })
}

/// Releases a provider (NULL is a no-op). Not while another thread builds with it.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_free(provider: *mut pec_provider) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_provider_new, not yet freed.
        unsafe { free_handle(provider) }
    })
}

/// Classifies recipients through the providers index from now on (a recipient is
/// `certificato` when some provider manages its domain; notices go to that provider's
/// `mailReceipt`). The index is shared, not copied: `index` may be freed right after. Mutates
/// `provider`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_set_index(
    provider: *mut pec_provider,
    index: *const pec_index,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let p = unsafe { arg_mut(provider, "provider") }?;
        // SAFETY: NULL or a live handle.
        let i = unsafe { arg_ref(index, "index") }?;
        let inner = p.inner.take().ok_or_else(|| Failure::invalid("provider not initialised"))?;
        p.inner = Some(inner.with_directory(i.directory()));
        Ok(())
    })
}

/// Sets the size limit of the access point's formal checks (message size × number of
/// recipients, in bytes; default 30 MB, RFC 6109 §3.1.1). 0 is refused
/// (`PEC_RESULT_INVALID_PARAMETER`). Mutates `provider`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_set_max_size(
    provider: *mut pec_provider,
    max_size: usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let p = unsafe { arg_mut(provider, "provider") }?;
        if max_size == 0 {
            return Err(Failure::invalid("max_size must be positive"));
        }
        let inner = p.inner.take().ok_or_else(|| Failure::invalid("provider not initialised"))?;
        p.inner = Some(inner.with_max_size(max_size));
        Ok(())
    })
}

/// The provider's name (`gestore-emittente`). View owned by the provider, valid until
/// `pec_provider_free`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_name(
    provider: *const pec_provider,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(provider, out, out_len, |p| Some(&p.name)) }
}

/// The provider's mail domain (service address `posta-certificata@<domain>`). View owned by
/// the provider. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_domain(
    provider: *const pec_provider,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(provider, out, out_len, |p| Some(&p.domain)) }
}

/// Builds a message of `kind` (its wire value, `kind_len` bytes: `"posta-certificata"`
/// (transport envelope), `"errore"` (anomaly envelope), `"accettazione"`, `"non-accettazione"`,
/// `"presa-in-carico"`, `"avvenuta-consegna"`, `"errore-consegna"`,
/// `"preavviso-errore-consegna"`, `"rilevazione-virus"`) from `options`, signed by `signer`
/// (NULL: unsigned, ready to sign). The kinds of the sender's access point read the options'
/// original; all others read the received envelope.
///
/// On success `*out_bytes` receives a new `pec_bytes` (CRLF MIME) the caller owns
/// (`pec_bytes_free`). Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`,
/// `PEC_RESULT_UNKNOWN_KIND`, `PEC_RESULT_MISSING_INPUT`, `PEC_RESULT_WRONG_INPUT`,
/// `PEC_RESULT_FORMAL_CHECKS` (the original fails the access point's checks: build a
/// `"non-accettazione"` instead), `PEC_RESULT_HEADER_INJECTION`, `PEC_RESULT_INVALID_ADDRESS`,
/// and the signer's errors. Thread-safe: `provider`, `options` and `signer` are only read.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_build(
    provider: *const pec_provider,
    kind: *const c_char,
    kind_len: usize,
    options: *const pec_build_options,
    signer: *const pec_signer,
    out_bytes: *mut *mut pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle, only read.
        let p = unsafe { arg_ref(provider, "provider") }?;
        // SAFETY: `kind_len` readable bytes.
        let kind = unsafe { arg_str(kind, kind_len, "kind") }?;
        // SAFETY: NULL or a live handle, only read.
        let opts = unsafe { arg_ref(options, "options") }?;
        // SAFETY: NULL (unsigned) or a live handle, only read.
        let signer = unsafe { signer.as_ref() };
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_bytes, "out_bytes") }?;
        let kind = MessageKind::from_known(kind).ok_or_else(|| {
            Failure::new(pec_result::UnknownKind, format!("unknown message kind {kind:?}"))
        })?;
        let req = BuildRequest {
            kind,
            time: opts.time,
            original: opts.original.as_deref(),
            envelope: opts.envelope.as_deref(),
            recipients: opts.recipients.clone(),
            receipt_type: opts.receipt_type.clone(),
            error: opts.error.clone(),
            error_text: opts.error_text.clone(),
            timeout: opts.timeout,
            smtp: opts.smtp.clone(),
            identifier: opts.identifier.clone(),
            auth_results: None,
        };
        let built = p.get()?.build(&req, signer.map(|s| &*s.inner))?;
        o.set(into_handle(pec_bytes::new(built)));
        Ok(())
    })
}

/// The inputs of one `pec_provider_build`: time, original or envelope, recipients, receipt
/// type, error, timeout, SMTP envelope. Every setter copies its input and mutates the options
/// (one thread at a time); a build only reads them, so one options object may serve several
/// builds.
#[derive(Debug, Default)]
pub struct pec_build_options {
    time: Option<TimeReference>,
    original: Option<Vec<u8>>,
    envelope: Option<Vec<u8>>,
    recipients: Vec<String>,
    receipt_type: Option<ReceiptType>,
    error: Option<CertError>,
    error_text: Option<String>,
    timeout: Option<Timeout>,
    smtp: Option<SmtpEnvelope>,
    identifier: Option<String>,
}

/// Makes empty build options (time: now) into `*out_options`; the caller owns them
/// (`pec_build_options_free`). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_new(out_options: *mut *mut pec_build_options) -> pec_result {
    boundary(|| {
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_options, "out_options") }?;
        o.set(into_handle(pec_build_options::default()));
        Ok(())
    })
}

/// Releases build options (NULL is a no-op).
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_free(options: *mut pec_build_options) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_build_options_new, not yet freed.
        unsafe { free_handle(options) }
    })
}

fn with_options(
    options: *mut pec_build_options,
    f: impl FnOnce(&mut pec_build_options) -> Result<(), Failure>,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let o = unsafe { arg_mut(options, "options") }?;
        f(o)
    })
}

/// Sets the transaction's time reference: `unix_time` (seconds since the epoch) shown at UTC
/// offset `utc_offset_seconds` (e.g. 3600 for +0100) in `Date:` and daticert. Without it, a
/// build uses the current time in the provider's zone. `PEC_RESULT_INVALID_TIME` when out of
/// range. Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_time_unix(
    options: *mut pec_build_options,
    unix_time: i64,
    utc_offset_seconds: i32,
) -> pec_result {
    with_options(options, |o| {
        let bad = || Failure::new(pec_result::InvalidTime, "time out of range");
        let zone = FixedOffset::east_opt(utc_offset_seconds).ok_or_else(bad)?;
        let t = DateTime::<Utc>::from_timestamp(unix_time, 0).ok_or_else(bad)?;
        o.time = Some(TimeReference::from_datetime(t.with_timezone(&zone)));
        Ok(())
    })
}

/// Sets the time reference from an RFC 3339 string (`"2024-11-25T10:00:00+01:00"`, `len` bytes).
/// `PEC_RESULT_INVALID_TIME` when it does not parse. Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_time_rfc3339(
    options: *mut pec_build_options,
    time: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let s = unsafe { arg_str(time, len, "time") }?;
        o.time = Some(TimeReference::from_rfc3339(s)?);
        Ok(())
    })
}

/// Sets the user's original message (`len` bytes, copied) for `posta-certificata`,
/// `accettazione` and `non-accettazione`. Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_original(
    options: *mut pec_build_options,
    bytes: *const u8,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let b = unsafe { arg_bytes(bytes, len, "bytes") }?;
        o.original = Some(b.to_vec());
        Ok(())
    })
}

/// Sets the received transport envelope (`len` bytes, copied) for the kinds built downstream
/// (`presa-in-carico`, `avvenuta-consegna`, `errore-consegna`, ...; any message for `errore`).
/// Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_envelope(
    options: *mut pec_build_options,
    bytes: *const u8,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let b = unsafe { arg_bytes(bytes, len, "bytes") }?;
        o.envelope = Some(b.to_vec());
        Ok(())
    })
}

/// Adds a recipient the notice is about (`address`, `len` bytes of UTF-8; one for delivery
/// notices, several for `presa-in-carico`). Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_add_recipient(
    options: *mut pec_build_options,
    address: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let a = unsafe { arg_str(address, len, "address") }?;
        o.recipients.push(a.to_string());
        Ok(())
    })
}

/// Overrides the delivery receipt type (`"completa"`, `"breve"`, `"sintetica"`).
/// `PEC_RESULT_INVALID_PARAMETER` for another value. Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_receipt_type(
    options: *mut pec_build_options,
    receipt_type: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let s = unsafe { arg_str(receipt_type, len, "receipt_type") }?;
        o.receipt_type = Some(
            ReceiptType::from_known(s)
                .ok_or_else(|| Failure::invalid(format!("unknown receipt type {s:?}")))?,
        );
        Ok(())
    })
}

/// Sets `postacert@errore` (`"nessuno"`, `"no-dest"`, `"no-dominio"`, `"virus"`, `"altro"`):
/// for `non-accettazione`, `"virus"` selects the virus variant. `PEC_RESULT_INVALID_PARAMETER`
/// for another value. Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_error(
    options: *mut pec_build_options,
    error: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let s = unsafe { arg_str(error, len, "error") }?;
        o.error = Some(
            CertError::from_known(s)
                .ok_or_else(|| Failure::invalid(format!("unknown error value {s:?}")))?,
        );
        Ok(())
    })
}

/// Sets `errore-esteso` and the error description of the human text (`len` bytes of UTF-8).
/// Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_error_text(
    options: *mut pec_build_options,
    text: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let s = unsafe { arg_str(text, len, "text") }?;
        o.error_text = Some(s.to_string());
        Ok(())
    })
}

/// Chooses the timeout notice of `preavviso-errore-consegna` (`"12h"` or `"24h"`).
/// `PEC_RESULT_INVALID_PARAMETER` for another value. Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_timeout(
    options: *mut pec_build_options,
    timeout: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let s = unsafe { arg_str(timeout, len, "timeout") }?;
        o.timeout = Some(
            Timeout::from_wire(s)
                .ok_or_else(|| Failure::invalid(format!("unknown timeout {s:?}")))?,
        );
        Ok(())
    })
}

/// Sets the SMTP reverse path (`MAIL FROM`, without angle brackets) of the transaction.
/// Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_smtp_sender(
    options: *mut pec_build_options,
    address: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let a = unsafe { arg_str(address, len, "address") }?;
        o.smtp.get_or_insert_with(SmtpEnvelope::default).reverse_path = Some(a.to_string());
        Ok(())
    })
}

/// Adds an SMTP forward path (`RCPT TO`, without angle brackets) of the transaction. Mutates
/// `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_add_smtp_recipient(
    options: *mut pec_build_options,
    address: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let a = unsafe { arg_str(address, len, "address") }?;
        o.smtp.get_or_insert_with(SmtpEnvelope::default).forward_paths.push(a.to_string());
        Ok(())
    })
}

/// Sets the PEC identifier of this submission (`local@domain`, no angle brackets): the
/// transport envelope's `Message-ID` and every notice's `<identificativo>`. Pass the same value
/// when building the acceptance and the transport envelope of one submission; without it each
/// build generates a fresh one. Mutates `options`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_build_options_set_identifier(
    options: *mut pec_build_options,
    identifier: *const c_char,
    len: usize,
) -> pec_result {
    with_options(options, |o| {
        // SAFETY: `len` readable bytes.
        let s = unsafe { arg_str(identifier, len, "identifier") }?;
        o.identifier = Some(s.to_string());
        Ok(())
    })
}
