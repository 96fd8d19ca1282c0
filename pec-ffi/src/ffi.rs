//! The helpers every entry point uses: the panic boundary, NULL-checked argument conversion,
//! out-parameters written only on success, owned handles and NUL-terminated text views.
//!
//! # Unsafety
//! The `unsafe fn`s here turn C pointers into Rust references. Each states what the C caller
//! must guarantee; the public functions document the same guarantee in `pec.h`.

use std::borrow::Cow;
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::ptr::NonNull;

use crate::error::{pec_result, set_last_error};

/// An error on its way to C: a code and a detailed message for `pec_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: pec_result,
    pub(crate) message: Cow<'static, str>,
}

impl Failure {
    pub(crate) fn new(code: pec_result, message: impl Into<Cow<'static, str>>) -> Failure {
        Failure { code, message: message.into() }
    }

    pub(crate) fn null(name: &'static str) -> Failure {
        Failure::new(pec_result::NullParameter, format!("argument {name} is NULL"))
    }

    pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Failure {
        Failure::new(pec_result::InvalidParameter, message)
    }
}

impl From<pec_core::Error> for Failure {
    fn from(e: pec_core::Error) -> Failure {
        Failure::new(e.code().into(), e.to_string())
    }
}

/// Runs an entry point's body: a panic becomes `PEC_RESULT_PANIC`, an error its code; the
/// thread's last error message is set on every failure.
pub(crate) fn boundary(f: impl FnOnce() -> Result<(), Failure>) -> pec_result {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => pec_result::Ok,
        Ok(Err(fail)) => {
            set_last_error(&fail.message);
            fail.code
        }
        Err(_) => {
            set_last_error("panic caught at the libpec API boundary (a bug: please report it)");
            pec_result::Panic
        }
    }
}

/// Runs a body that returns a plain value (accessors without a result code, `_free`): a panic
/// gives `default`.
pub(crate) fn boundary_value<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

/// An out-parameter checked non-NULL, written once at the end of a successful call.
#[derive(Debug)]
pub(crate) struct Out<T>(NonNull<T>);

impl<T> Out<T> {
    /// Writes the value (without reading or dropping what the caller's memory held).
    pub(crate) fn set(self, value: T) {
        // SAFETY: `out` checked the pointer non-NULL and the caller guarantees it is valid
        // and aligned for writes of `T`; `write` does not drop the uninitialised old value.
        unsafe { self.0.as_ptr().write(value) }
    }
}

/// Checks an out-parameter.
///
/// # Safety
/// `p` is NULL or valid and aligned for a write of `T` until the call returns.
pub(crate) unsafe fn out<T>(p: *mut T, name: &'static str) -> Result<Out<T>, Failure> {
    NonNull::new(p).map(Out).ok_or_else(|| Failure::null(name))
}

/// Borrows a handle.
///
/// # Safety
/// `p` is NULL or points to a live `T` (made by this library) that no other thread mutates
/// during the call.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &'static str) -> Result<&'a T, Failure> {
    // SAFETY: per this function's contract.
    unsafe { p.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// Borrows a handle mutably.
///
/// # Safety
/// `p` is NULL or points to a live `T` (made by this library) that nothing else uses during
/// the call.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &'static str) -> Result<&'a mut T, Failure> {
    // SAFETY: per this function's contract.
    unsafe { p.as_mut() }.ok_or_else(|| Failure::null(name))
}

/// Borrows a byte buffer. NULL is accepted when `len` is 0 (an empty buffer).
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes, unmodified during the call.
pub(crate) unsafe fn arg_bytes<'a>(
    p: *const u8,
    len: usize,
    name: &'static str,
) -> Result<&'a [u8], Failure> {
    if p.is_null() {
        return if len == 0 { Ok(&[]) } else { Err(Failure::null(name)) };
    }
    if len > isize::MAX as usize {
        return Err(Failure::invalid(format!("argument {name}: length too large")));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes; `len <= isize::MAX`.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Borrows a required UTF-8 string given as pointer + length (no NUL needed); NULL is
/// refused whatever the length.
///
/// # Safety
/// As [`arg_bytes`].
pub(crate) unsafe fn arg_str<'a>(
    p: *const c_char,
    len: usize,
    name: &'static str,
) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: forwarded contract.
    let bytes = unsafe { arg_bytes(p.cast::<u8>(), len, name) }?;
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(pec_result::InvalidUtf8, format!("argument {name} is not UTF-8: {e}"))
    })
}

/// Borrows an optional UTF-8 string: NULL means absent (whatever `len`).
///
/// # Safety
/// As [`arg_bytes`].
pub(crate) unsafe fn arg_opt_str<'a>(
    p: *const c_char,
    len: usize,
    name: &'static str,
) -> Result<Option<&'a str>, Failure> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { arg_str(p, len, name) }.map(Some)
}

/// Borrows an array of `count` byte buffers given as two arrays, pointers and lengths; both
/// may be NULL when `count` is 0. `name` names the pointers, `lens_name` the lengths.
///
/// # Safety
/// `ptrs` and `lens` are NULL or arrays of `count` entries; each `ptrs[i]` is NULL with
/// length 0 or readable for `lens[i]` bytes, unmodified during the call.
pub(crate) unsafe fn arg_buffers<'a>(
    ptrs: *const *const u8,
    lens: *const usize,
    count: usize,
    name: &'static str,
    lens_name: &'static str,
) -> Result<Vec<&'a [u8]>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if ptrs.is_null() {
        return Err(Failure::null(name));
    }
    if lens.is_null() {
        return Err(Failure::null(lens_name));
    }
    if count > isize::MAX as usize / std::mem::size_of::<usize>() {
        return Err(Failure::invalid(format!("argument {name}: count too large")));
    }
    // SAFETY: non-NULL arrays of `count` entries per the contract.
    let (ptrs, lens) = unsafe {
        (std::slice::from_raw_parts(ptrs, count), std::slice::from_raw_parts(lens, count))
    };
    ptrs.iter()
        .zip(lens)
        // SAFETY: `l` readable bytes at `p` per the contract.
        .map(|(&p, &l)| unsafe { arg_bytes(p, l, name) })
        .collect()
}

/// [`arg_buffers`] of UTF-8 strings, copied.
///
/// # Safety
/// As [`arg_buffers`].
pub(crate) unsafe fn arg_strings(
    ptrs: *const *const c_char,
    lens: *const usize,
    count: usize,
    name: &'static str,
    lens_name: &'static str,
) -> Result<Vec<String>, Failure> {
    // SAFETY: forwarded contract.
    let buffers = unsafe { arg_buffers(ptrs.cast::<*const u8>(), lens, count, name, lens_name) }?;
    buffers
        .into_iter()
        .map(|b| {
            std::str::from_utf8(b).map(str::to_owned).map_err(|e| {
                Failure::new(pec_result::InvalidUtf8, format!("argument {name} is not UTF-8: {e}"))
            })
        })
        .collect()
}

/// Moves a value to the heap and hands ownership to C.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back and drops a handle; NULL is a no-op.
///
/// # Safety
/// `p` is NULL or a pointer returned by [`into_handle`] for this `T`, not yet freed, and not
/// used afterwards.
pub(crate) unsafe fn free_handle<T>(p: *mut T) {
    if !p.is_null() {
        // SAFETY: per this function's contract the box is ours to drop, exactly once.
        drop(unsafe { Box::from_raw(p) });
    }
}

/// Text handed to C as a view: UTF-8 bytes followed by a NUL that is not counted in `len`,
/// so C can use it as a C string (the text itself may contain a NUL: trust `len`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Text(Box<[u8]>);

impl Text {
    pub(crate) fn new(s: &str) -> Text {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        Text(v.into_boxed_slice())
    }

    pub(crate) fn as_ptr(&self) -> *const c_char {
        self.0.as_ptr().cast::<c_char>()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len().saturating_sub(1)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.0.get(..self.len()).unwrap_or_default()).unwrap_or_default()
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::new(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::new(&s)
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::new(s)
    }
}

/// Converts an optional string.
pub(crate) fn opt_text<S: AsRef<str>>(s: Option<S>) -> Option<Text> {
    s.map(|s| Text::new(s.as_ref()))
}

/// Hands a text view (or NULL / 0 when absent) to C.
///
/// # Safety
/// `out` and `out_len` are NULL or valid for writes.
pub(crate) unsafe fn give_text(
    text: Option<&Text>,
    out_ptr: *mut *const c_char,
    out_len: *mut usize,
) -> Result<(), Failure> {
    // SAFETY: forwarded contract.
    let (o, l) = unsafe { (out(out_ptr, "out")?, out(out_len, "out_len")?) };
    match text {
        Some(t) => {
            o.set(t.as_ptr());
            l.set(t.len());
        }
        None => {
            o.set(std::ptr::null());
            l.set(0);
        }
    }
    Ok(())
}

/// Hands a byte view (or NULL / 0 when absent) to C.
///
/// # Safety
/// `out` and `out_len` are NULL or valid for writes.
pub(crate) unsafe fn give_bytes(
    bytes: Option<&[u8]>,
    out_ptr: *mut *const u8,
    out_len: *mut usize,
) -> Result<(), Failure> {
    // SAFETY: forwarded contract.
    let (o, l) = unsafe { (out(out_ptr, "out")?, out(out_len, "out_len")?) };
    match bytes {
        Some(b) => {
            o.set(b.as_ptr());
            l.set(b.len());
        }
        None => {
            o.set(std::ptr::null());
            l.set(0);
        }
    }
    Ok(())
}

/// Reads handle `p`, then hands the text `f` picks to C (the common shape of accessors).
///
/// # Safety
/// `p` as in [`arg_ref`]; `out_ptr`, `out_len` as in [`give_text`].
pub(crate) unsafe fn text_accessor<T>(
    p: *const T,
    out_ptr: *mut *const c_char,
    out_len: *mut usize,
    f: impl FnOnce(&T) -> Option<&Text>,
) -> pec_result {
    boundary(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { arg_ref(p, "handle") }?;
        // SAFETY: forwarded contract.
        unsafe { give_text(f(h), out_ptr, out_len) }
    })
}

/// Reads handle `p`, then hands the `i`-th text of the list `f` picks to C.
///
/// # Safety
/// As [`text_accessor`].
pub(crate) unsafe fn text_list_accessor<T>(
    p: *const T,
    i: usize,
    out_ptr: *mut *const c_char,
    out_len: *mut usize,
    f: impl FnOnce(&T) -> &[Text],
) -> pec_result {
    boundary(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { arg_ref(p, "handle") }?;
        let list = f(h);
        let Some(t) = list.get(i) else {
            return Err(Failure::invalid(format!("index {i} out of range (count {})", list.len())));
        };
        // SAFETY: forwarded contract.
        unsafe { give_text(Some(t), out_ptr, out_len) }
    })
}

/// Reads handle `p` and returns a count (0 for NULL).
///
/// # Safety
/// `p` as in [`arg_ref`].
pub(crate) unsafe fn count_accessor<T>(p: *const T, f: impl FnOnce(&T) -> usize) -> usize {
    boundary_value(0, || {
        // SAFETY: forwarded contract.
        match unsafe { p.as_ref() } {
            Some(h) => f(h),
            None => 0,
        }
    })
}

/// Reads handle `p` and writes a value to an out-parameter.
///
/// # Safety
/// `p` as in [`arg_ref`]; `out_ptr` as in [`out`].
pub(crate) unsafe fn value_accessor<T, V>(
    p: *const T,
    out_ptr: *mut V,
    f: impl FnOnce(&T) -> V,
) -> pec_result {
    boundary(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { arg_ref(p, "handle") }?;
        // SAFETY: forwarded contract.
        let o = unsafe { out(out_ptr, "out") }?;
        o.set(f(h));
        Ok(())
    })
}

/// Reads handle `p` and writes an optional time (seconds since the Unix epoch, UTC) and
/// whether it is present; an absent time writes 0 and `false`.
///
/// # Safety
/// `p` as in [`arg_ref`]; the out pointers as in [`out`].
pub(crate) unsafe fn time_accessor<T>(
    p: *const T,
    out_unix: *mut i64,
    out_present: *mut bool,
    f: impl FnOnce(&T) -> Option<i64>,
) -> pec_result {
    boundary(|| {
        // SAFETY: forwarded contract.
        let h = unsafe { arg_ref(p, "handle") }?;
        // SAFETY: forwarded contract.
        let (o, present) =
            unsafe { (out(out_unix, "out_unix")?, out(out_present, "out_present")?) };
        let v = f(h);
        o.set(v.unwrap_or(0));
        present.set(v.is_some());
        Ok(())
    })
}
