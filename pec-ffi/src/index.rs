//! The providers index (RFC 6109 §4.5): `pec_index` from LDIF or LDAP, look-ups returning a
//! `pec_provider_record`.

use std::ffi::c_char;
use std::sync::Arc;

use pec_core::index::{IndexSigners, ProviderDirectory, ProviderRecord};
use pec_core::smime::VerifyOptions;

use crate::error::pec_result;
use crate::ffi::{
    Failure, Text, arg_buffers, arg_bytes, arg_ref, arg_str, boundary, boundary_value,
    count_accessor, free_handle, give_bytes, into_handle, opt_text, out, text_accessor,
    text_list_accessor,
};
use crate::verify::{pec_crl_store, pec_trust_store};

/// The providers index, immutable once loaded: any number of threads may look up at once.
/// Release with `pec_index_free`; verifiers and providers given it keep their own reference.
pub struct pec_index {
    directory: Arc<dyn ProviderDirectory>,
    count: usize,
}

impl std::fmt::Debug for pec_index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("pec_index").field("count", &self.count).finish()
    }
}

impl pec_index {
    pub(crate) fn directory(&self) -> Arc<dyn ProviderDirectory> {
        Arc::clone(&self.directory)
    }
}

/// Loads the index from plain LDIF bytes (`len` bytes, read during the call only; a signed
/// `.p7m` index: `pec_index_open`) into `*out_index`;
/// the caller owns it (`pec_index_free`). Errors: `PEC_RESULT_NULL_PARAMETER`,
/// `PEC_RESULT_LDIF_MALFORMED`, `PEC_RESULT_LIMIT_EXCEEDED`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_from_ldif(
    ldif: *const u8,
    len: usize,
    out_index: *mut *mut pec_index,
) -> pec_result {
    boundary(|| {
        // SAFETY: `len` readable bytes.
        let ldif = unsafe { arg_bytes(ldif, len, "ldif") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_index, "out_index") }?;
        let (directory, count) = load_ldif(ldif)?;
        o.set(into_handle(pec_index { directory, count }));
        Ok(())
    })
}

/// Loads the index from an LDAP server: `url` (`ldap://host:port`, `ldaps://...`,
/// `ldapi://...`), search base `base` (NULL for the default `o=postacert`), anonymous bind;
/// `timeout_ms` bounds the connection and, separately, the search (0: the defaults, 5 s and
/// 30 s). Strings are pointer + length UTF-8. Blocks the calling thread. On success `*out_index`
/// receives a new index the caller owns (`pec_index_free`). Errors:
/// `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_LDAP_CONNECT`,
/// `PEC_RESULT_LDAP_TIMEOUT`, `PEC_RESULT_LDAP_SEARCH`, `PEC_RESULT_LDIF_MALFORMED`.
/// Thread-safe.
///
/// Needs the `ldap` feature of libpec (on by default); a libpec built without it
/// (`--no-default-features`) returns `PEC_RESULT_LDAP_CONNECT` ("built without LDAP").
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_from_ldap(
    url: *const c_char,
    url_len: usize,
    base: *const c_char,
    base_len: usize,
    timeout_ms: u64,
    out_index: *mut *mut pec_index,
) -> pec_result {
    boundary(|| {
        // SAFETY: `url_len` readable bytes.
        let url = unsafe { arg_str(url, url_len, "url") }?;
        // SAFETY: NULL or `base_len` readable bytes.
        let base = unsafe { crate::ffi::arg_opt_str(base, base_len, "base") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_index, "out_index") }?;
        let (directory, count) = load_ldap(url, base, timeout_ms)?;
        o.set(into_handle(pec_index { directory, count }));
        Ok(())
    })
}

/// Opens the providers index from the bytes of an index file (`len` bytes, read during the
/// call only): plain LDIF, or a signed `.p7m` (DER, base64 or PEM) accepted only when its
/// signer certificate is one of the named index signers **and** its signature is valid
/// against `trust` (and `crls`, when given) now.
///
/// A signature that merely chains to the trust anchors could come from any provider (which
/// could then grant itself another provider's domains), so a signed index needs index
/// signers: `signer_count` certificate buffers, `signers[i]` of `signer_lens[i]` bytes, each
/// PEM (any number of `CERTIFICATE` blocks) or one DER certificate. `signers` and
/// `signer_lens` may be NULL when `signer_count` is 0: a plain LDIF index then loads, a signed
/// one is refused. `trust` and `crls` may be NULL (no anchors: a signed index is refused; no
/// CRLs: revocation not checked); they are only read during the call.
///
/// On success `*out_index` receives a new index the caller owns (`pec_index_free`). Errors:
/// `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_BAD_CERTIFICATE` (a signer buffer holds no
/// certificate), `PEC_RESULT_INDEX_SIGNATURE` (signed, but no index signer named, not signed
/// by a named one, or the signature is not valid), `PEC_RESULT_LDIF_MALFORMED`,
/// `PEC_RESULT_LIMIT_EXCEEDED`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_open(
    data: *const u8,
    len: usize,
    signers: *const *const u8,
    signer_lens: *const usize,
    signer_count: usize,
    trust: *const pec_trust_store,
    crls: *const pec_crl_store,
    out_index: *mut *mut pec_index,
) -> pec_result {
    boundary(|| {
        // SAFETY: `len` readable bytes.
        let data = unsafe { arg_bytes(data, len, "data") }?;
        // SAFETY: arrays of `signer_count` entries, each buffer readable.
        let (signers, opts) =
            unsafe { signed_index_args(signers, signer_lens, signer_count, trust, crls) }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_index, "out_index") }?;
        let dir = pec_core::index::open_index(data, &signers, &opts)?;
        let count = dir.len();
        o.set(into_handle(pec_index { directory: Arc::new(dir), count }));
        Ok(())
    })
}

/// `pec_index_open` on the file at `path` (`path_len` bytes of UTF-8): a file named `*.p7m`
/// is always treated as signed. Errors as `pec_index_open`, and `PEC_RESULT_IO`,
/// `PEC_RESULT_INVALID_UTF8`. Blocks on the file read. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_open_file(
    path: *const c_char,
    path_len: usize,
    signers: *const *const u8,
    signer_lens: *const usize,
    signer_count: usize,
    trust: *const pec_trust_store,
    crls: *const pec_crl_store,
    out_index: *mut *mut pec_index,
) -> pec_result {
    boundary(|| {
        // SAFETY: `path_len` readable bytes.
        let path = unsafe { arg_str(path, path_len, "path") }?;
        // SAFETY: arrays of `signer_count` entries, each buffer readable.
        let (signers, opts) =
            unsafe { signed_index_args(signers, signer_lens, signer_count, trust, crls) }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_index, "out_index") }?;
        let dir = pec_core::index::open_index_file(std::path::Path::new(path), &signers, &opts)?;
        let count = dir.len();
        o.set(into_handle(pec_index { directory: Arc::new(dir), count }));
        Ok(())
    })
}

/// The index signers and verification options of `pec_index_open*`.
///
/// # Safety
/// `signers` and `signer_lens` are NULL (only when `count` is 0) or arrays of `count`
/// entries; each `signers[i]` is NULL with length 0 or readable for `signer_lens[i]` bytes;
/// `trust` and `crls` are NULL or live handles.
unsafe fn signed_index_args(
    signers: *const *const u8,
    signer_lens: *const usize,
    count: usize,
    trust: *const pec_trust_store,
    crls: *const pec_crl_store,
) -> Result<(IndexSigners, VerifyOptions), Failure> {
    let mut named = IndexSigners::new();
    // SAFETY: forwarded contract.
    for cert in unsafe { arg_buffers(signers, signer_lens, count, "signers", "signer_lens") }? {
        named.add(cert)?;
    }
    // SAFETY: NULL or live handles.
    let (trust, crls) = unsafe { (trust.as_ref(), crls.as_ref()) };
    let opts = VerifyOptions {
        trust: Arc::new(trust.map(|t| t.store().clone()).unwrap_or_default()),
        crls: crls.map(|c| Arc::new(c.store().clone())),
        ..VerifyOptions::default()
    };
    Ok((named, opts))
}

type Loaded = (Arc<dyn ProviderDirectory>, usize);

fn load_ldif(ldif: &[u8]) -> Result<Loaded, Failure> {
    let dir = pec_core::index::directory::Directory::from_ldif(ldif)?;
    let count = dir.len();
    Ok((Arc::new(dir), count))
}

#[cfg(not(feature = "ldap"))]
fn load_ldap(_url: &str, _base: Option<&str>, _timeout_ms: u64) -> Result<Loaded, Failure> {
    Err(Failure::new(
        pec_result::LdapConnect,
        "libpec was built without LDAP (the `ldap` feature of pec-ffi)",
    ))
}

#[cfg(feature = "ldap")]
fn load_ldap(url: &str, base: Option<&str>, timeout_ms: u64) -> Result<Loaded, Failure> {
    let mut src = pec_core::index::ldap::LdapSource::new(url);
    if let Some(b) = base {
        src = src.with_base(b);
    }
    if timeout_ms > 0 {
        let t = std::time::Duration::from_millis(timeout_ms);
        src = src.with_timeouts(t, t);
    }
    let dir = src.load()?;
    let count = dir.len();
    Ok((Arc::new(dir), count))
}

/// Releases an index (NULL is a no-op). Records looked up from it stay valid (they are
/// reference-counted), and so do verifiers and providers that were given it.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_free(index: *mut pec_index) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_index_from_*, not yet freed.
        unsafe { free_handle(index) }
    })
}

/// The number of provider entries in the index (0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_len(index: *const pec_index) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(index, |i| i.count) }
}

/// Whether `address` (`addr_len` bytes of UTF-8, `local@domain`) is in a domain managed by a
/// PEC provider, into `*out`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_is_certified(
    index: *const pec_index,
    address: *const c_char,
    addr_len: usize,
    out_certified: *mut bool,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let i = unsafe { arg_ref(index, "index") }?;
        // SAFETY: `addr_len` readable bytes.
        let a = unsafe { arg_str(address, addr_len, "address") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_certified, "out_certified") }?;
        let domain = a.trim().rsplit_once('@').map_or(a, |(_, d)| d);
        let domain = domain.trim_end_matches('>').to_ascii_lowercase();
        o.set(i.directory.by_domain(&domain).is_some());
        Ok(())
    })
}

fn lookup(
    index: *const pec_index,
    key: *const c_char,
    key_len: usize,
    out_record: *mut *mut pec_provider_record,
    f: impl FnOnce(&dyn ProviderDirectory, &str) -> Option<Arc<ProviderRecord>>,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let i = unsafe { arg_ref(index, "index") }?;
        // SAFETY: `key_len` readable bytes.
        let k = unsafe { arg_str(key, key_len, "key") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_record, "out_record") }?;
        o.set(match f(&*i.directory, k) {
            Some(r) => into_handle(pec_provider_record::new(r)),
            None => std::ptr::null_mut(),
        });
        Ok(())
    })
}

/// Looks up the provider managing `domain` (`domain_len` bytes of UTF-8, case-insensitive,
/// exact). On success `*out_record` receives a new record the caller owns
/// (`pec_provider_record_free`), or NULL when no provider manages the domain (not an error).
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_lookup_domain(
    index: *const pec_index,
    domain: *const c_char,
    domain_len: usize,
    out_record: *mut *mut pec_provider_record,
) -> pec_result {
    lookup(index, domain, domain_len, out_record, |d, k| d.by_domain(&k.to_ascii_lowercase()))
}

/// Looks up the provider holding the certificate whose SHA-1 is `sha1_hex` (40 hex digits,
/// case-insensitive), like `pec_index_lookup_domain`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_lookup_cert_hash(
    index: *const pec_index,
    sha1_hex: *const c_char,
    hex_len: usize,
    out_record: *mut *mut pec_provider_record,
) -> pec_result {
    lookup(index, sha1_hex, hex_len, out_record, |d, k| d.by_cert_hash(k))
}

/// Looks up the provider named `name` (`providerName`, case-insensitive), like
/// `pec_index_lookup_domain`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_index_lookup_name(
    index: *const pec_index,
    name: *const c_char,
    name_len: usize,
    out_record: *mut *mut pec_provider_record,
) -> pec_result {
    lookup(index, name, name_len, out_record, |d, k| d.by_name(k))
}

/// One provider entry of the index. Immutable: thread-safe to read; its views are valid until
/// `pec_provider_record_free`.
#[derive(Debug)]
pub struct pec_provider_record {
    record: Arc<ProviderRecord>,
    dn: Text,
    name: Text,
    unit: Option<Text>,
    mail_receipt: Text,
    domains: Vec<Text>,
    hashes: Vec<Text>,
    ldif_url: Option<Text>,
    description: Option<Text>,
}

impl pec_provider_record {
    fn new(r: Arc<ProviderRecord>) -> pec_provider_record {
        pec_provider_record {
            dn: Text::new(&r.dn),
            name: Text::new(&r.name),
            unit: opt_text(r.unit.as_ref()),
            mail_receipt: Text::new(&r.mail_receipt),
            domains: r.managed_domains.iter().map(Text::from).collect(),
            hashes: r.cert_hashes.iter().map(Text::from).collect(),
            ldif_url: opt_text(r.ldif_url.as_ref()),
            description: opt_text(r.description.as_ref()),
            record: r,
        }
    }
}

/// Releases a record (NULL is a no-op); its views become invalid.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_free(record: *mut pec_provider_record) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_index_lookup_*, not yet freed.
        unsafe { free_handle(record) }
    })
}

/// The record as the JSON of `pec index lookup --json` (the wire view, `pec_core::view`:
/// `cert_hashes`, `dn`, `mail_receipt`, `managed_domains`, `name`, `unit`). On success
/// `*out_json` receives a new `pec_bytes` the caller owns (`pec_bytes_free`): UTF-8, pretty
/// printed, keys sorted, no trailing newline, no NUL. Errors: `PEC_RESULT_NULL_PARAMETER`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_to_json(
    record: *const pec_provider_record,
    out_json: *mut *mut crate::pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle, only read.
        let r = unsafe { arg_ref(record, "record") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_json, "out_json") }?;
        let json = pec_core::view::index_record_json(&r.record);
        o.set(into_handle(crate::pec_bytes::new(json.into_bytes())));
        Ok(())
    })
}

/// The entry's DN. View owned by the record. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_dn(
    record: *const pec_provider_record,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(record, out, out_len, |r| Some(&r.dn)) }
}

/// `providerName`. View owned by the record. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_name(
    record: *const pec_provider_record,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(record, out, out_len, |r| Some(&r.name)) }
}

/// `providerUnit` (secondary operating environments), or NULL / 0. View owned by the record.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_unit(
    record: *const pec_provider_record,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(record, out, out_len, |r| r.unit.as_ref()) }
}

/// `mailReceipt`, the provider's service mailbox. View owned by the record. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_mail_receipt(
    record: *const pec_provider_record,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(record, out, out_len, |r| Some(&r.mail_receipt)) }
}

/// `LDIFLocationURL`, or NULL / 0. View owned by the record. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_ldif_url(
    record: *const pec_provider_record,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(record, out, out_len, |r| r.ldif_url.as_ref()) }
}

/// `description`, or NULL / 0. View owned by the record. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_description(
    record: *const pec_provider_record,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(record, out, out_len, |r| r.description.as_ref()) }
}

/// The number of `managedDomains` (0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_domain_count(record: *const pec_provider_record) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(record, |r| r.domains.len()) }
}

/// Managed domain `i` (lowercase). View owned by the record; `PEC_RESULT_INVALID_PARAMETER`
/// when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_domain(
    record: *const pec_provider_record,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(record, i, out, out_len, |r| &r.domains) }
}

/// The number of `providerCertificateHash` values (0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_cert_hash_count(record: *const pec_provider_record) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(record, |r| r.hashes.len()) }
}

/// Certificate hash `i` (SHA-1, lowercase hex). View owned by the record;
/// `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_cert_hash(
    record: *const pec_provider_record,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(record, i, out, out_len, |r| &r.hashes) }
}

/// The number of `providerCertificate` values (0 for NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_certificate_count(
    record: *const pec_provider_record,
) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(record, |r| r.record.certificates.len()) }
}

/// Certificate `i` (DER). View owned by the record; `PEC_RESULT_INVALID_PARAMETER` when out of
/// range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_certificate(
    record: *const pec_provider_record,
    i: usize,
    out: *mut *const u8,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let r = unsafe { arg_ref(record, "record") }?;
        let Some(c) = r.record.certificates.get(i) else {
            return Err(Failure::invalid(format!("certificate index {i} out of range")));
        };
        // SAFETY: valid out-parameters.
        unsafe { give_bytes(Some(c), out, out_len) }
    })
}

/// Whether the provider manages `domain` (case-insensitive, exact) into `*out`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_provider_record_manages(
    record: *const pec_provider_record,
    domain: *const c_char,
    domain_len: usize,
    out_manages: *mut bool,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle.
        let r = unsafe { arg_ref(record, "record") }?;
        // SAFETY: `domain_len` readable bytes.
        let d = unsafe { arg_str(domain, domain_len, "domain") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_manages, "out_manages") }?;
        o.set(r.record.manages(d));
        Ok(())
    })
}
