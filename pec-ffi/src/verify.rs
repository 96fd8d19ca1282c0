//! Verification: trust anchors (`pec_trust_store`), CRLs (`pec_crl_store`), the verification
//! settings (`pec_verifier`) and the result (`pec_report`).

use std::ffi::c_char;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use pec_core::chain::TrustStore;
use pec_core::revocation::CrlStore;
use pec_core::smime::{VerificationReport, VerifyOptions, VerifyTime};

use crate::error::pec_result;
use crate::ffi::{
    Failure, Text, arg_bytes, arg_mut, arg_ref, arg_str, boundary, boundary_value, count_accessor,
    free_handle, give_bytes, into_handle, opt_text, out, text_accessor, text_list_accessor,
    time_accessor, value_accessor,
};
use crate::index::pec_index;

/// Verdict `valid`: signature, chain, validity, revocation (and index, when given) all pass.
pub const PEC_VERDICT_VALID: u32 = 0;
/// Verdict `invalid`: something is definitely wrong (see the reasons).
pub const PEC_VERDICT_INVALID: u32 = 1;
/// Verdict `indeterminate`: nothing is wrong, but something could not be established
/// (revocation unknown).
pub const PEC_VERDICT_INDETERMINATE: u32 = 2;

/// Trust anchors for certificate paths. Filled with `pec_trust_store_add_*` (which mutate:
/// one thread at a time), then handed to a verifier, which copies it.
#[derive(Debug, Default)]
pub struct pec_trust_store {
    inner: TrustStore,
}

impl pec_trust_store {
    pub(crate) fn store(&self) -> &TrustStore {
        &self.inner
    }
}

/// Creates an empty trust store (nothing trusted) into `*out`; the caller owns it and releases
/// it with `pec_trust_store_free`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_trust_store_new(out_store: *mut *mut pec_trust_store) -> pec_result {
    boundary(|| {
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_store, "out_store") }?;
        o.set(into_handle(pec_trust_store::default()));
        Ok(())
    })
}

/// Releases a trust store (NULL is a no-op). Verifiers that were given it keep their copy.
#[unsafe(no_mangle)]
pub extern "C" fn pec_trust_store_free(store: *mut pec_trust_store) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_trust_store_new, not yet freed.
        unsafe { free_handle(store) }
    })
}

/// Adds every certificate of a PEM bundle (`len` bytes, copied) to `store`; `*out_added`
/// receives how many. Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_BAD_CERTIFICATE`.
/// Mutates `store`: not concurrently with any other use of it.
#[unsafe(no_mangle)]
pub extern "C" fn pec_trust_store_add_pem(
    store: *mut pec_trust_store,
    pem: *const u8,
    len: usize,
    out_added: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let s = unsafe { arg_mut(store, "store") }?;
        // SAFETY: `len` readable bytes.
        let pem = unsafe { arg_bytes(pem, len, "pem") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_added, "out_added") }?;
        let mut copy = s.inner.clone();
        let n = copy.add_pem_bundle(pem)?;
        s.inner = copy;
        o.set(n);
        Ok(())
    })
}

/// Adds one DER certificate (`len` bytes, copied) to `store`. Errors:
/// `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_BAD_CERTIFICATE`. Mutates `store`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_trust_store_add_der(
    store: *mut pec_trust_store,
    der: *const u8,
    len: usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let s = unsafe { arg_mut(store, "store") }?;
        // SAFETY: `len` readable bytes.
        let der = unsafe { arg_bytes(der, len, "der") }?;
        s.inner.add_der(der)?;
        Ok(())
    })
}

/// Adds every certificate file of directory `path` (`path_len` bytes of UTF-8; hashed
/// `c_rehash` links or `.pem`/`.crt` files) to `store`; `*out_added` receives how many.
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_IO`.
/// Mutates `store`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_trust_store_add_dir(
    store: *mut pec_trust_store,
    path: *const c_char,
    path_len: usize,
    out_added: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe {
        add_from_path(store, path, path_len, out_added, |s: &mut pec_trust_store, p| {
            let mut copy = s.inner.clone();
            let n = copy.add_dir(p)?;
            s.inner = copy;
            Ok(n)
        })
    }
}

/// Adds the trust anchors of the file at `path` (`path_len` bytes of UTF-8) to `store`: a PEM
/// bundle (every block a certificate) or one DER certificate, detected; `*out_added`
/// receives how many were added (anchors already present are not counted). Nothing is added
/// on error. Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_IO`,
/// `PEC_RESULT_BAD_CERTIFICATE` (no certificate in the file, or one that does not parse).
/// Blocks on the file read. Mutates `store`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_trust_store_add_file(
    store: *mut pec_trust_store,
    path: *const c_char,
    path_len: usize,
    out_added: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe {
        add_from_path(store, path, path_len, out_added, |s: &mut pec_trust_store, p| {
            pec_core::open::add_anchor_file(&mut s.inner, p)
        })
    }
}

/// The body of the `pec_*_store_add_dir`/`_add_file` functions: `add` on the store and the
/// path, the count written to `*out_added` on success.
///
/// # Safety
/// `store` is NULL or a live handle used by this thread only; `path` is NULL or readable for
/// `path_len` bytes; `out_added` is NULL or writable.
unsafe fn add_from_path<S>(
    store: *mut S,
    path: *const c_char,
    path_len: usize,
    out_added: *mut usize,
    add: impl FnOnce(&mut S, &Path) -> pec_core::Result<usize>,
) -> pec_result {
    boundary(|| {
        // SAFETY: per this function's contract.
        let s = unsafe { arg_mut(store, "store") }?;
        // SAFETY: `path_len` readable bytes.
        let path = unsafe { arg_str(path, path_len, "path") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_added, "out_added") }?;
        o.set(add(s, Path::new(path))?);
        Ok(())
    })
}

/// The number of anchors in `store` (0 for NULL). Thread-safe with other readers.
#[unsafe(no_mangle)]
pub extern "C" fn pec_trust_store_len(store: *const pec_trust_store) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(store, |s| s.inner.len()) }
}

/// A set of CRLs. Filled with `pec_crl_store_add` (mutates: one thread at a time), then
/// handed to a verifier, which copies it.
#[derive(Debug, Default)]
pub struct pec_crl_store {
    inner: CrlStore,
}

impl pec_crl_store {
    pub(crate) fn store(&self) -> &CrlStore {
        &self.inner
    }
}

/// Creates an empty CRL store into `*out`; the caller owns it and releases it with
/// `pec_crl_store_free`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_crl_store_new(out_store: *mut *mut pec_crl_store) -> pec_result {
    boundary(|| {
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_store, "out_store") }?;
        o.set(into_handle(pec_crl_store::default()));
        Ok(())
    })
}

/// Releases a CRL store (NULL is a no-op). Verifiers that were given it keep their copy.
#[unsafe(no_mangle)]
pub extern "C" fn pec_crl_store_free(store: *mut pec_crl_store) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_crl_store_new, not yet freed.
        unsafe { free_handle(store) }
    })
}

/// Adds the CRLs of a PEM or DER file's contents (`len` bytes, copied) to `store`;
/// `*out_added` receives how many. Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_BAD_CRL`.
/// Mutates `store`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_crl_store_add(
    store: *mut pec_crl_store,
    crl: *const u8,
    len: usize,
    out_added: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let s = unsafe { arg_mut(store, "store") }?;
        // SAFETY: `len` readable bytes.
        let crl = unsafe { arg_bytes(crl, len, "crl") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_added, "out_added") }?;
        let mut copy = s.inner.clone();
        let n = copy.add(crl)?;
        s.inner = copy;
        o.set(n);
        Ok(())
    })
}

/// Adds the CRLs of the file at `path` (`path_len` bytes of UTF-8; PEM or DER) to `store`;
/// `*out_added` receives how many. Nothing is added on error. Errors:
/// `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_IO`,
/// `PEC_RESULT_BAD_CRL`. Blocks on the file read. Mutates `store`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_crl_store_add_file(
    store: *mut pec_crl_store,
    path: *const c_char,
    path_len: usize,
    out_added: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe {
        add_from_path(store, path, path_len, out_added, |s: &mut pec_crl_store, p| {
            pec_core::open::add_crl_file(&mut s.inner, p)
        })
    }
}

/// The number of CRLs in `store` (0 for NULL). Thread-safe with other readers.
#[unsafe(no_mangle)]
pub extern "C" fn pec_crl_store_len(store: *const pec_crl_store) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(store, |s| s.inner.len()) }
}

/// Verification settings: trust anchors, CRLs, the providers index and the evaluation time.
/// Configure it with `pec_verifier_set_*` (which mutate: one thread, no concurrent verify),
/// then `pec_verifier_verify` may be called from any number of threads at once.
#[derive(Debug, Default)]
pub struct pec_verifier {
    options: VerifyOptions,
}

/// Creates a verifier that trusts nothing, checks no CRL and no index, and evaluates at the
/// current time, into `*out`; the caller owns it (`pec_verifier_free`). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_new(out_verifier: *mut *mut pec_verifier) -> pec_result {
    boundary(|| {
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_verifier, "out_verifier") }?;
        o.set(into_handle(pec_verifier::default()));
        Ok(())
    })
}

/// Releases a verifier (NULL is a no-op). Reports it produced stay valid.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_free(verifier: *mut pec_verifier) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_verifier_new, not yet freed.
        unsafe { free_handle(verifier) }
    })
}

/// Sets the trust anchors (copied from `store`, which may be freed right after). Mutates
/// `verifier`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_set_trust(
    verifier: *mut pec_verifier,
    store: *const pec_trust_store,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let v = unsafe { arg_mut(verifier, "verifier") }?;
        // SAFETY: NULL or a live handle.
        let s = unsafe { arg_ref(store, "store") }?;
        v.options.trust = Arc::new(s.inner.clone());
        Ok(())
    })
}

/// Sets the CRLs (copied from `store`, which may be freed right after); NULL `store` removes
/// them (revocation `not-checked`). Mutates `verifier`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_set_crls(
    verifier: *mut pec_verifier,
    store: *const pec_crl_store,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let v = unsafe { arg_mut(verifier, "verifier") }?;
        // SAFETY: NULL or a live handle.
        let s = unsafe { store.as_ref() };
        v.options.crls = s.map(|s| Arc::new(s.inner.clone()));
        Ok(())
    })
}

/// Uses the providers index as trust list (the signer must be in it, the `From:` domain
/// managed by that provider). The index is shared, not copied: `index` may be freed right
/// after (the verifier keeps its own reference). NULL removes it. Mutates `verifier`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_set_index(
    verifier: *mut pec_verifier,
    index: *const pec_index,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let v = unsafe { arg_mut(verifier, "verifier") }?;
        // SAFETY: NULL or a live handle.
        let i = unsafe { index.as_ref() };
        v.options.index = i.map(|i| i.directory());
        Ok(())
    })
}

/// Evaluates certificates at the current time (the default). Mutates `verifier`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_set_time_now(verifier: *mut pec_verifier) -> pec_result {
    set_time(verifier, || Ok(VerifyTime::Now))
}

/// Evaluates certificates at `unix_time` (seconds since 1970-01-01T00:00:00Z).
/// `PEC_RESULT_INVALID_TIME` when out of range. Mutates `verifier`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_set_time_unix(
    verifier: *mut pec_verifier,
    unix_time: i64,
) -> pec_result {
    set_time(verifier, || {
        let t = DateTime::<Utc>::from_timestamp(unix_time, 0)
            .ok_or_else(|| Failure::new(pec_result::InvalidTime, "unix time out of range"))?;
        Ok(VerifyTime::At(t))
    })
}

/// Sets the verifier's "now" to `unix_time` (seconds since the Unix epoch): the instant
/// `pec_verifier_set_time_now` evaluates at and the clock a signingTime claim is compared
/// with (`signing-time-in-future`). For a program with its own clock (a provider engine on a
/// manual clock in tests); by default it is the system clock. `PEC_RESULT_INVALID_TIME` when
/// out of range. Mutates `verifier`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_set_clock_unix(
    verifier: *mut pec_verifier,
    unix_time: i64,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let v = unsafe { arg_mut(verifier, "verifier") }?;
        let t = DateTime::<Utc>::from_timestamp(unix_time, 0)
            .ok_or_else(|| Failure::new(pec_result::InvalidTime, "unix time out of range"))?;
        v.options.now = Some(t);
        Ok(())
    })
}

/// Evaluates certificates at the signature's CMS signingTime (legal evidence is judged when
/// it was signed; falls back to now without one). Mutates `verifier`.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_set_time_signing(verifier: *mut pec_verifier) -> pec_result {
    set_time(verifier, || Ok(VerifyTime::SigningTime))
}

fn set_time(
    verifier: *mut pec_verifier,
    f: impl FnOnce() -> Result<VerifyTime, Failure>,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle used by this thread only.
        let v = unsafe { arg_mut(verifier, "verifier") }?;
        v.options.time = f()?;
        Ok(())
    })
}

/// Verifies the signed message `bytes` (`len` bytes, as it arrived; read during the call only)
/// and puts a new report into `*out_report` (the caller owns it: `pec_report_free`).
///
/// A bad or missing signature is not an error: the report says `invalid` with its reasons.
/// Errors only when the bytes are not a message at all (`PEC_RESULT_MALFORMED_MESSAGE`,
/// `PEC_RESULT_LIMIT_EXCEEDED`, ...) or on NULL arguments.
///
/// Thread-safe: any number of threads may verify with the same verifier at once.
#[unsafe(no_mangle)]
pub extern "C" fn pec_verifier_verify(
    verifier: *const pec_verifier,
    bytes: *const u8,
    len: usize,
    out_report: *mut *mut pec_report,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle, only read.
        let v = unsafe { arg_ref(verifier, "verifier") }?;
        // SAFETY: `len` readable bytes.
        let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_report, "out_report") }?;
        let report = pec_core::verify_message(bytes, &v.options)?;
        o.set(into_handle(pec_report::from_core(report)));
        Ok(())
    })
}

/// The result of a verification. Immutable: thread-safe to read. Every string it hands out
/// is a view valid until `pec_report_free`.
#[derive(Debug)]
pub struct pec_report {
    verdict: u32,
    verdict_name: Text,
    reasons: Vec<u32>,
    reason_names: Vec<Text>,
    digest: Option<Text>,
    weak_digest: bool,
    signing_time: Option<i64>,
    evaluated_at: Option<i64>,
    signer: Option<Signer>,
    chain: Vec<Text>,
    revocation: Text,
    provider_name: Option<Text>,
    provider_mail_receipt: Option<Text>,
    canonicalized: bool,
    time_source: Text,
    signed_scope: Option<Text>,
    weaknesses: Vec<Text>,
    /// The report itself, for `pec_report_to_json`.
    core: VerificationReport,
}

#[derive(Debug)]
struct Signer {
    subject: Text,
    issuer: Text,
    serial: Text,
    sha1: Text,
    not_before: Option<i64>,
    not_after: Option<i64>,
    email: Option<Text>,
    der: Box<[u8]>,
}

impl pec_report {
    fn from_core(r: VerificationReport) -> pec_report {
        use pec_core::smime::Verdict;
        pec_report {
            verdict: match r.verdict {
                Verdict::Valid => PEC_VERDICT_VALID,
                Verdict::Invalid => PEC_VERDICT_INVALID,
                Verdict::Indeterminate => PEC_VERDICT_INDETERMINATE,
            },
            verdict_name: Text::new(r.verdict.as_str()),
            reasons: r.reasons.iter().map(|x| x.code().as_u32()).collect(),
            reason_names: r.reasons.iter().map(|x| Text::new(x.as_str())).collect(),
            digest: opt_text(r.digest.map(|d| d.name())),
            weak_digest: r.weak_digest,
            signing_time: r.signing_time.map(|t| t.timestamp()),
            evaluated_at: r.evaluated_at.map(|t| t.timestamp()),
            signer: r.signer.as_ref().map(|s| Signer {
                subject: Text::new(&s.subject),
                issuer: Text::new(&s.issuer),
                serial: Text::new(&s.serial),
                sha1: Text::new(&s.sha1),
                not_before: s.not_before.map(|t| t.timestamp()),
                not_after: s.not_after.map(|t| t.timestamp()),
                email: opt_text(s.email.as_ref()),
                der: s.der.clone().into_boxed_slice(),
            }),
            chain: r.chain.iter().map(Text::from).collect(),
            revocation: Text::new(r.revocation.as_str()),
            provider_name: r.provider.as_ref().map(|p| Text::new(&p.name)),
            provider_mail_receipt: r.provider.as_ref().map(|p| Text::new(&p.mail_receipt)),
            canonicalized: r.canonicalized,
            time_source: Text::new(r.time_source.as_str()),
            signed_scope: opt_text(r.signed_scope.map(|x| x.as_str())),
            weaknesses: r.weaknesses.iter().map(|w| Text::new(w.as_str())).collect(),
            core: r,
        }
    }
}

/// The report as the JSON of `pec verify --json` (the wire view, `pec_core::view`: the same
/// keys and values every door prints; instants RFC 3339 UTC). On success `*out_json` receives
/// a new `pec_bytes` the caller owns (`pec_bytes_free`): UTF-8, pretty printed, keys sorted,
/// no trailing newline, no NUL. Errors: `PEC_RESULT_NULL_PARAMETER`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_to_json(
    report: *const pec_report,
    out_json: *mut *mut crate::pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle, only read.
        let r = unsafe { arg_ref(report, "report") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_json, "out_json") }?;
        let json = pec_core::view::report_json(&r.core);
        o.set(into_handle(crate::pec_bytes::new(json.into_bytes())));
        Ok(())
    })
}

/// Releases a report (NULL is a no-op); its views become invalid.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_free(report: *mut pec_report) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_verifier_verify, not yet freed.
        unsafe { free_handle(report) }
    })
}

/// The verdict into `*out`: `PEC_VERDICT_VALID`, `PEC_VERDICT_INVALID` or
/// `PEC_VERDICT_INDETERMINATE`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_verdict(report: *const pec_report, out: *mut u32) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { value_accessor(report, out, |r| r.verdict) }
}

/// The verdict's name (`"valid"`, `"invalid"`, `"indeterminate"`). View owned by the report.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_verdict_name(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| Some(&r.verdict_name)) }
}

/// The number of reasons (findings; 0 when valid, 0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_reason_count(report: *const pec_report) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(report, |r| r.reasons.len()) }
}

/// Reason `i` as its stable code into `*out` (a `pec_result` number: `PEC_RESULT_BAD_SIGNATURE`,
/// `PEC_RESULT_EXPIRED`, `PEC_RESULT_NOT_IN_INDEX`, ...). `PEC_RESULT_INVALID_PARAMETER` when
/// out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_reason(
    report: *const pec_report,
    i: usize,
    out_code: *mut u32,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let r = unsafe { arg_ref(report, "report") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_code, "out_code") }?;
        let Some(c) = r.reasons.get(i) else {
            return Err(Failure::invalid(format!("reason index {i} out of range")));
        };
        o.set(*c);
        Ok(())
    })
}

/// Reason `i` as its stable wire name (`"bad-signature"`, `"untrusted-chain"`, ...). View owned
/// by the report; `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_reason_name(
    report: *const pec_report,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(report, i, out, out_len, |r| &r.reason_names) }
}

/// The SignerInfo's digest algorithm (`"sha1"`, `"sha256"`, ...), or NULL / 0 when unknown.
/// View owned by the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_digest(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.digest.as_ref()) }
}

/// Whether the digest is weak (SHA-1; the signature may still be valid) into `*out`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_weak_digest(report: *const pec_report, out: *mut bool) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { value_accessor(report, out, |r| r.weak_digest) }
}

/// Whether the digest matched only after CRLF canonicalisation (mail stored with LF) into
/// `*out`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_canonicalized(
    report: *const pec_report,
    out: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { value_accessor(report, out, |r| r.canonicalized) }
}

/// The CMS signingTime as Unix seconds into `*out_unix` and `true` into `*out_present`; 0 and
/// `false` when the signature has none. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signing_time(
    report: *const pec_report,
    out_unix: *mut i64,
    out_present: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { time_accessor(report, out_unix, out_present, |r| r.signing_time) }
}

/// The instant the certificate path was evaluated at (Unix seconds), like
/// `pec_report_signing_time`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_evaluated_at(
    report: *const pec_report,
    out_unix: *mut i64,
    out_present: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { time_accessor(report, out_unix, out_present, |r| r.evaluated_at) }
}

/// The revocation outcome (`"good"`, `"revoked"`, `"unknown"`, `"not-checked"`). View owned by
/// the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_revocation(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| Some(&r.revocation)) }
}

/// Whether the report describes a signer certificate into `*out` (the `pec_report_signer_*`
/// functions give NULL / 0 without one). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_has_signer(report: *const pec_report, out: *mut bool) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { value_accessor(report, out, |r| r.signer.is_some()) }
}

/// The signer certificate's subject DN (RFC 4514), or NULL / 0. View owned by the report.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_subject(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.signer.as_ref().map(|s| &s.subject)) }
}

/// The signer certificate's issuer DN, or NULL / 0. View owned by the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_issuer(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.signer.as_ref().map(|s| &s.issuer)) }
}

/// The signer certificate's serial number (hex), or NULL / 0. View owned by the report.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_serial(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.signer.as_ref().map(|s| &s.serial)) }
}

/// The SHA-1 of the signer certificate (lowercase hex, what `providerCertificateHash` holds),
/// or NULL / 0. View owned by the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_sha1(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.signer.as_ref().map(|s| &s.sha1)) }
}

/// The signer certificate's e-mail address (subjectAltName rfc822Name), or NULL / 0. View
/// owned by the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_email(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.signer.as_ref()?.email.as_ref()) }
}

/// The signer certificate's notBefore (Unix seconds), like `pec_report_signing_time`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_not_before(
    report: *const pec_report,
    out_unix: *mut i64,
    out_present: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { time_accessor(report, out_unix, out_present, |r| r.signer.as_ref()?.not_before) }
}

/// The signer certificate's notAfter (Unix seconds), like `pec_report_signing_time`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_not_after(
    report: *const pec_report,
    out_unix: *mut i64,
    out_present: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { time_accessor(report, out_unix, out_present, |r| r.signer.as_ref()?.not_after) }
}

/// The signer certificate's DER, or NULL / 0. View owned by the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signer_der(
    report: *const pec_report,
    out: *mut *const u8,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let r = unsafe { arg_ref(report, "report") }?;
        // SAFETY: valid out-parameters.
        unsafe { give_bytes(r.signer.as_ref().map(|s| &s.der[..]), out, out_len) }
    })
}

/// The number of certificates of the (validated or best-effort) path, signer first; 0 for
/// NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_chain_count(report: *const pec_report) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(report, |r| r.chain.len()) }
}

/// The subject DN of path certificate `i` (0 = signer). View owned by the report;
/// `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_chain_subject(
    report: *const pec_report,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(report, i, out, out_len, |r| &r.chain) }
}

/// The signing provider's `providerName` from the index, or NULL / 0 when no index was given
/// or matched. View owned by the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_provider_name(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.provider_name.as_ref()) }
}

/// The signing provider's `mailReceipt` from the index, or NULL / 0. View owned by the
/// report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_provider_mail_receipt(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.provider_mail_receipt.as_ref()) }
}

/// Where the evaluation instant came from: `"now"` (the verifier's clock), `"given"` (an
/// instant the caller set with `pec_verifier_set_time_unix`) or `"signing-time-claimed"`
/// (the signer's own signingTime, `pec_verifier_set_time_signing`). View owned by the report.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_time_source(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| Some(&r.time_source)) }
}

/// What the signature covers: `"whole"` (the signed entity is the message's top-level
/// entity) or `"inner"` (unsigned MIME wraps it; reason `partially-signed`), or NULL / 0 when
/// there is no signature. View owned by the report. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_signed_scope(
    report: *const pec_report,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(report, out, out_len, |r| r.signed_scope.as_ref()) }
}

/// The number of weaknesses (weak algorithms or keys; 0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_weakness_count(report: *const pec_report) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(report, |r| r.weaknesses.len()) }
}

/// Weakness `i` by stable name (`"sha1-digest"`, `"md5-digest"`, `"sha1-signature"`,
/// `"sha1-certificate"`, `"md5-certificate"`, `"rsa-key-under-2048"`), sorted. View owned by
/// the report; `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_report_weakness(
    report: *const pec_report,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(report, i, out, out_len, |r| &r.weaknesses) }
}
