//! `pec_result`: the stable result codes of the C ABI, and the per-thread last error.
//!
//! The numbers are those of [`pec_core::Code`], the one code table shared by the C, Python and
//! Perl layers, and so are the names and the static texts. `pec_result` (in `result_table.rs`)
//! is generated from that table by `cargo test -p pec-ffi --test result_table`, as a plain enum
//! so that cbindgen can emit the constants into `pec.h`.

use std::cell::RefCell;
use std::ffi::c_char;

use pec_core::Code;

use crate::ffi::{Failure, Out, boundary, out};

pub use crate::result_table::pec_result;

impl pec_result {
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

/// The static text of a code number (the message of the core table).
pub(crate) fn result_text(code: u32) -> &'static str {
    Code::from_u32(code).map_or("unknown result code", Code::message)
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
