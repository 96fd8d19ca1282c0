//! # libpec: the C ABI of pec
//!
//! Every exported symbol starts with `pec_`. The conventions (rustls-ffi's, see
//! `pec-ffi/README.md`):
//!
//! - opaque handles made by `pec_<type>_new`/`_parse`/`_build` and released with
//!   `pec_<type>_free`, which accepts NULL;
//! - fallible functions return a `pec_result` and write their outputs only on success;
//! - buffers are a pointer followed by a `size_t` length; strings are UTF-8 given the same way
//!   (no NUL needed), and strings handed back are views (pointer + length, NUL-terminated for
//!   convenience) valid while the handle they come from lives;
//! - every pointer is NULL-checked and every entry point catches panics
//!   (`PEC_RESULT_PANIC`);
//! - the detail of the last failure is kept per thread (`pec_last_error_message`).
//!
//! All the `unsafe` code of the project lives in this crate.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]
#![warn(missing_docs)]
#![allow(non_camel_case_types)] // C type names: pec_message, pec_result, ...

pub mod build;
pub mod cert;
pub mod engine;
pub mod error;
mod ffi;
pub mod index;
pub mod message;
mod result_table;
pub mod signer;
pub mod verify;

use std::ffi::c_char;

pub use error::pec_result;

use crate::ffi::{Failure, arg_ref, boundary, boundary_value, free_handle, out};

/// The library version, NUL-terminated.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The version of libpec (`"0.1.0"`), a static NUL-terminated string: never free it.
/// Compare with the `PEC_VERSION` macro of the header you compiled against. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_version() -> *const c_char {
    VERSION.as_ptr().cast::<c_char>()
}

/// An owned byte buffer made by the library (a built or signed message). Read it with
/// `pec_bytes_data`/`pec_bytes_len`, release it with `pec_bytes_free`.
#[derive(Debug)]
pub struct pec_bytes {
    data: Box<[u8]>,
}

impl pec_bytes {
    pub(crate) fn new(data: Vec<u8>) -> pec_bytes {
        pec_bytes { data: data.into_boxed_slice() }
    }
}

/// The start of the bytes held by `bytes` (NULL when `bytes` is NULL). The pointer is valid
/// until `pec_bytes_free(bytes)`; the caller does not own it. Thread-safe (read-only).
#[unsafe(no_mangle)]
pub extern "C" fn pec_bytes_data(bytes: *const pec_bytes) -> *const u8 {
    boundary_value(std::ptr::null(), || {
        // SAFETY: the caller passes NULL or a live pec_bytes.
        match unsafe { bytes.as_ref() } {
            Some(b) => b.data.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// The number of bytes held by `bytes` (0 when `bytes` is NULL). Thread-safe (read-only).
#[unsafe(no_mangle)]
pub extern "C" fn pec_bytes_len(bytes: *const pec_bytes) -> usize {
    boundary_value(0, || {
        // SAFETY: the caller passes NULL or a live pec_bytes.
        unsafe { bytes.as_ref() }.map_or(0, |b| b.data.len())
    })
}

/// Copies the bytes into the caller's buffer `buf` (valid for `len` bytes of writes). When they
/// fit, returns `PEC_RESULT_OK`; otherwise writes nothing and returns
/// `PEC_RESULT_INSUFFICIENT_SIZE`. `*out_n` receives the byte count in both cases (so a NULL
/// `buf` with `len` 0 is a size query). Thread-safe (read-only).
#[unsafe(no_mangle)]
pub extern "C" fn pec_bytes_copy(
    bytes: *const pec_bytes,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes NULL or a live pec_bytes.
        let b = unsafe { arg_ref(bytes, "bytes") }?;
        // SAFETY: the caller passes NULL or a valid size_t pointer.
        let n = unsafe { out(out_n, "out_n") }?;
        n.set(b.data.len());
        if buf.is_null() || len < b.data.len() {
            return Err(Failure::new(pec_result::InsufficientSize, "buffer too small"));
        }
        // SAFETY: `buf` is valid for `len >= data.len()` bytes of writes (caller contract) and
        // cannot overlap the library-owned `data`.
        unsafe { std::ptr::copy_nonoverlapping(b.data.as_ptr(), buf, b.data.len()) };
        Ok(())
    })
}

/// Releases a `pec_bytes` (NULL is a no-op). Views obtained from it become invalid. Do not
/// free the same handle twice.
#[unsafe(no_mangle)]
pub extern "C" fn pec_bytes_free(bytes: *mut pec_bytes) {
    boundary_value((), || {
        // SAFETY: the caller passes NULL or a pec_bytes made by this library, not yet freed.
        unsafe { free_handle(bytes) }
    })
}
