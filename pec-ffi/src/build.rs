//! Building and signing: `pec_provider` (the issuing provider), `pec_build_options`, and
//! `pec_sign_message`.

use chrono::{DateTime, Utc};

use crate::error::pec_result;
use crate::ffi::{Failure, arg_bytes, arg_ref, boundary, into_handle, out};
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

pub(crate) fn time_or_now(unix_time: i64) -> Result<DateTime<Utc>, Failure> {
    if unix_time < 0 {
        return Ok(Utc::now());
    }
    DateTime::<Utc>::from_timestamp(unix_time, 0)
        .ok_or_else(|| Failure::new(pec_result::InvalidTime, "unix time out of range"))
}
