//! Signers: a software key (`pec_signer_new_software`), a PKCS#11 token
//! (`pec_signer_new_pkcs11`) and a caller-supplied callback (`pec_signer_new_callback`).

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use pec_core::crypto::DigestAlgorithm;
use pec_core::error::SignatureError;
use pec_core::signer::{Signer, SoftwareSigner, pem_certificates};

use crate::error::pec_result;
use crate::ffi::{
    Failure, arg_bytes, arg_str, boundary, boundary_value, free_handle, into_handle, out,
};

/// Something that signs with the provider's key (RSA PKCS#1 v1.5 over SHA-256). Immutable once
/// made: any number of threads may sign with it at once (a callback signer requires its
/// callback to be thread-safe for that). Release with `pec_signer_free`.
pub struct pec_signer {
    pub(crate) inner: Arc<dyn Signer>,
}

impl std::fmt::Debug for pec_signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("pec_signer")
    }
}

/// The largest signature a callback may return (an 8192-bit RSA key).
pub const PEC_SIGNATURE_MAX: usize = 1024;

/// A caller-supplied signing function for keys this library does not know (an HSM with its own
/// API, a remote signing service).
///
/// It receives the `userdata` given to `pec_signer_new_callback` and the SHA-256 digest
/// (`digest_len` = 32) of the data to sign, and must write an RSASSA-PKCS1-v1_5 signature of
/// that digest (DigestInfo for SHA-256, as OpenSSL's `EVP_PKEY_sign` with
/// `RSA_PKCS1_PADDING` and `EVP_sha256()` makes) into `sig_out` (room for `sig_cap` bytes),
/// its length into `*sig_len`, and return 0. Any other return value means failure: the
/// signing call fails with `PEC_RESULT_SIGNING_FAILED`. The callback must not unwind (no C++
/// exception may cross it) and must be thread-safe if the signer is used by several threads.
pub type pec_sign_callback = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        digest: *const u8,
        digest_len: usize,
        sig_out: *mut u8,
        sig_cap: usize,
        sig_len: *mut usize,
    ) -> u32,
>;

struct CallbackSigner {
    userdata: *mut c_void,
    callback:
        unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8, usize, *mut usize) -> u32,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
}

// SAFETY: the caller of pec_signer_new_callback promises (documented in pec.h) that the
// callback and its userdata may be used from any thread, one or several at once.
unsafe impl Send for CallbackSigner {}
// SAFETY: as above; the signer itself holds no interior mutability.
unsafe impl Sync for CallbackSigner {}

impl Signer for CallbackSigner {
    fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    fn chain(&self) -> &[Vec<u8>] {
        &self.chain
    }

    fn sign(&self, message: &[u8]) -> pec_core::Result<Vec<u8>> {
        let digest = DigestAlgorithm::Sha256.digest(message);
        let mut sig = vec![0u8; PEC_SIGNATURE_MAX];
        let mut len = 0usize;
        // SAFETY: the callback is a valid function pointer (checked non-NULL at creation);
        // `digest` is readable for its length, `sig` writable for PEC_SIGNATURE_MAX bytes and
        // `len` is a valid `size_t *`, all for the duration of the call.
        let rc = unsafe {
            (self.callback)(
                self.userdata,
                digest.as_ptr(),
                digest.len(),
                sig.as_mut_ptr(),
                sig.len(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(
                SignatureError::SigningFailed(format!("signing callback returned {rc}")).into()
            );
        }
        if len == 0 || len > sig.len() {
            return Err(SignatureError::SigningFailed(format!(
                "signing callback returned a signature of {len} bytes"
            ))
            .into());
        }
        sig.truncate(len);
        Ok(sig)
    }
}

fn chain_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, Failure> {
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    Ok(pem_certificates(pem)?)
}

/// Makes a software signer from a PEM private key (PKCS#8 or PKCS#1 RSA), the PEM signer
/// certificate and a PEM bundle of intermediates to embed (NULL / 0 for none). All inputs
/// are copied. On success `*out_signer` receives a new signer the caller owns
/// (`pec_signer_free`). Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_BAD_KEY` (unreadable
/// or not matching the certificate), `PEC_RESULT_BAD_CERTIFICATE`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_signer_new_software(
    key_pem: *const u8,
    key_len: usize,
    cert_pem: *const u8,
    cert_len: usize,
    chain_pem: *const u8,
    chain_len: usize,
    out_signer: *mut *mut pec_signer,
) -> pec_result {
    boundary(|| {
        // SAFETY: each buffer is NULL or readable for its length.
        let (key, cert, chain) = unsafe {
            (
                arg_bytes(key_pem, key_len, "key_pem")?,
                arg_bytes(cert_pem, cert_len, "cert_pem")?,
                arg_bytes(chain_pem, chain_len, "chain_pem")?,
            )
        };
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_signer, "out_signer") }?;
        if key.is_empty() {
            return Err(Failure::null("key_pem"));
        }
        if cert.is_empty() {
            return Err(Failure::null("cert_pem"));
        }
        let s = SoftwareSigner::from_pem(key, cert, chain)?;
        o.set(into_handle(pec_signer { inner: Arc::new(s) }));
        Ok(())
    })
}

/// Makes a signer whose signatures come from `callback` (see `pec_sign_callback`), for keys
/// this library cannot reach itself. `cert_der` is the DER signer certificate and `chain_pem`
/// a PEM bundle of intermediates (NULL / 0 for none), both copied. `userdata` is passed to
/// every call of `callback` and must stay valid until `pec_signer_free`; the library never
/// frees it. On success `*out_signer` receives a new signer the caller owns. Errors:
/// `PEC_RESULT_NULL_PARAMETER` (no callback, no certificate), `PEC_RESULT_BAD_CERTIFICATE`.
/// Thread-safe; signing concurrently from several threads calls `callback` concurrently.
#[unsafe(no_mangle)]
pub extern "C" fn pec_signer_new_callback(
    userdata: *mut c_void,
    cert_der: *const u8,
    cert_len: usize,
    chain_pem: *const u8,
    chain_len: usize,
    callback: pec_sign_callback,
    out_signer: *mut *mut pec_signer,
) -> pec_result {
    boundary(|| {
        // SAFETY: each buffer is NULL or readable for its length.
        let (cert, chain) = unsafe {
            (
                arg_bytes(cert_der, cert_len, "cert_der")?,
                arg_bytes(chain_pem, chain_len, "chain_pem")?,
            )
        };
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_signer, "out_signer") }?;
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        if cert.is_empty() {
            return Err(Failure::null("cert_der"));
        }
        pec_core::chain::describe_certificate(cert)?;
        let s = CallbackSigner {
            userdata,
            callback,
            certificate: cert.to_vec(),
            chain: chain_from_pem(chain)?,
        };
        o.set(into_handle(pec_signer { inner: Arc::new(s) }));
        Ok(())
    })
}

/// Makes a PKCS#11 signer: `uri` is an RFC 7512 `pkcs11:` URI naming the token and key
/// (`pkcs11:token=PEC;object=signer;type=private?pin-source=file:/run/pec/pin` or
/// `?pin-value=...`: the PIN comes from the URI's pin-source or pin-value), `module` the path of
/// the PKCS#11 module (`/usr/lib/softhsm/libsofthsm2.so`; NULL / 0 to take `module-path` from
/// the URI), `cert_pem` the signer certificate (NULL / 0 to read it from the token) and
/// `chain_pem` the intermediates (NULL / 0 for none). Strings are pointer + length UTF-8; all
/// inputs are copied. Logs in during the call. On success `*out_signer` receives a new signer the
/// caller owns (`pec_signer_free`, which closes the sessions). Errors:
/// `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`, `PEC_RESULT_PKCS11_URI`,
/// `PEC_RESULT_PKCS11_MODULE`, `PEC_RESULT_PKCS11_TOKEN_NOT_FOUND`,
/// `PEC_RESULT_PKCS11_KEY_NOT_FOUND`, `PEC_RESULT_PKCS11_PIN_INCORRECT`,
/// `PEC_RESULT_BAD_CERTIFICATE`. Thread-safe (sessions are pooled).
///
/// Needs the `pkcs11` feature of libpec (on by default); a libpec built without it
/// (`--no-default-features`) returns `PEC_RESULT_PKCS11_MODULE` ("built without PKCS#11").
#[unsafe(no_mangle)]
pub extern "C" fn pec_signer_new_pkcs11(
    uri: *const c_char,
    uri_len: usize,
    module: *const c_char,
    module_len: usize,
    cert_pem: *const u8,
    cert_len: usize,
    chain_pem: *const u8,
    chain_len: usize,
    out_signer: *mut *mut pec_signer,
) -> pec_result {
    boundary(|| {
        // SAFETY: each buffer is NULL or readable for its length.
        let (uri, module, cert, chain) = unsafe {
            (
                arg_str(uri, uri_len, "uri")?,
                crate::ffi::arg_opt_str(module, module_len, "module")?,
                arg_bytes(cert_pem, cert_len, "cert_pem")?,
                arg_bytes(chain_pem, chain_len, "chain_pem")?,
            )
        };
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_signer, "out_signer") }?;
        let s = pkcs11_signer(uri, module, cert, chain)?;
        o.set(into_handle(pec_signer { inner: s }));
        Ok(())
    })
}

#[cfg(not(feature = "pkcs11"))]
fn pkcs11_signer(
    _uri: &str,
    _module: Option<&str>,
    _cert: &[u8],
    _chain: &[u8],
) -> Result<Arc<dyn Signer>, Failure> {
    Err(Failure::new(
        pec_result::Pkcs11Module,
        "libpec was built without PKCS#11 (the `pkcs11` feature of pec-ffi)",
    ))
}

#[cfg(feature = "pkcs11")]
fn pkcs11_signer(
    uri: &str,
    module: Option<&str>,
    cert: &[u8],
    chain: &[u8],
) -> Result<Arc<dyn Signer>, Failure> {
    use pec_core::pkcs11::{CertSource, Pin, Pkcs11Signer, Pkcs11Uri};
    let parsed = Pkcs11Uri::parse(uri)?;
    let module = match module.map(str::to_string).or_else(|| parsed.module_path.clone()) {
        Some(m) => m,
        None => {
            return Err(Failure::new(
                pec_result::Pkcs11Module,
                "no PKCS#11 module given (argument or module-path in the URI)",
            ));
        }
    };
    let cert = if cert.iter().all(u8::is_ascii_whitespace) {
        CertSource::FromToken
    } else {
        let mut certs = pem_certificates(cert)?;
        if certs.is_empty() {
            return Err(Failure::new(pec_result::BadCertificate, "no certificate in cert_pem"));
        }
        CertSource::Der(certs.swap_remove(0))
    };
    let signer = Pkcs11Signer::open(
        std::path::Path::new(&module),
        &parsed,
        Pin::FromUri,
        cert,
        chain_from_pem(chain)?,
        4,
    )?;
    Ok(Arc::new(signer))
}

/// Releases a signer (NULL is a no-op). Not while another thread signs with it.
#[unsafe(no_mangle)]
pub extern "C" fn pec_signer_free(signer: *mut pec_signer) {
    boundary_value((), || {
        // SAFETY: NULL or a handle from pec_signer_new_*, not yet freed.
        unsafe { free_handle(signer) }
    })
}
