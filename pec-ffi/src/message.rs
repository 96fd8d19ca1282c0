//! Parsing and inspecting a message: `pec_message` and its `pec_daticert`.

use std::ffi::c_char;
use std::ops::Range;

use pec_core::PecMessage;
use pec_core::daticert::Daticert;

use crate::error::pec_result;
use crate::ffi::{
    Failure, Text, arg_bytes, arg_ref, arg_str, boundary, boundary_value, count_accessor,
    free_handle, give_bytes, give_text, into_handle, opt_text, out, text_accessor,
    text_list_accessor, value_accessor,
};
use crate::pec_bytes;

/// A parsed message (a PEC envelope or notification, or ordinary mail). Owns a copy of the
/// bytes it was parsed from; everything it hands out is a view valid until
/// `pec_message_free`. Immutable: any number of threads may read one at once.
#[derive(Debug)]
pub struct pec_message {
    raw: Box<[u8]>,
    kind: Option<Text>,
    header_kind: Option<Text>,
    signed_scope: Option<Text>,
    receipt_type: Option<Text>,
    security_error: bool,
    message_id: Option<Text>,
    identificativo: Option<Text>,
    msgid: Option<Text>,
    subject: Option<Text>,
    from: Option<Text>,
    from_domain: Option<Text>,
    original: Option<Original>,
    signed: bool,
    headers: Vec<(Text, Text)>,
    warnings: Vec<Text>,
    hash_names: Vec<Text>,
    hash_values: Vec<Text>,
    daticert: Option<pec_daticert>,
}

/// Where `postacert.eml` lives: inside the raw bytes, or decoded.
#[derive(Debug)]
enum Original {
    Range(Range<usize>),
    Decoded(Box<[u8]>),
}

impl pec_message {
    fn parse(bytes: &[u8]) -> Result<pec_message, Failure> {
        let raw: Box<[u8]> = bytes.into();
        let m = PecMessage::parse(&raw)?;
        let original = m.original.as_ref().map(|o| {
            let base = raw.as_ptr() as usize;
            let start = (o.as_ptr() as usize).wrapping_sub(base);
            match start.checked_add(o.len()) {
                Some(end) if start <= raw.len() && end <= raw.len() => Original::Range(start..end),
                _ => Original::Decoded(o.to_vec().into_boxed_slice()),
            }
        });
        let headers = m
            .headers
            .fields
            .iter()
            .map(|f| {
                (Text::new(f.name), Text::new(&pec_core::headers::decode_unstructured(f.raw_value)))
            })
            .collect();
        let msg = pec_message {
            kind: opt_text(m.kind.as_ref().map(|k| k.as_str())),
            header_kind: opt_text(m.header_kind.as_ref().map(|k| k.as_str())),
            signed_scope: opt_text(m.signed_scope.map(|x| x.as_str())),
            receipt_type: opt_text(m.receipt_type.as_ref().map(|r| r.as_str())),
            security_error: m.security_error,
            message_id: opt_text(m.message_id.as_ref()),
            identificativo: opt_text(m.identificativo.as_ref()),
            msgid: opt_text(m.msgid.as_ref()),
            subject: opt_text(m.subject.as_ref()),
            from: opt_text(m.from.as_ref()),
            from_domain: opt_text(m.from_domain()),
            original,
            signed: m.signed.is_some(),
            headers,
            warnings: m.warnings.iter().map(Text::from).collect(),
            hash_names: m.hash_parts.iter().map(|h| Text::new(&h.filename)).collect(),
            hash_values: m.hash_parts.iter().map(|h| Text::new(&h.sha1)).collect(),
            daticert: m.daticert.as_ref().map(pec_daticert::from_core),
            raw: Box::default(),
        };
        Ok(pec_message { raw, ..msg })
    }

    fn original(&self) -> Option<&[u8]> {
        match self.original.as_ref()? {
            Original::Range(r) => self.raw.get(r.clone()),
            Original::Decoded(b) => Some(b),
        }
    }
}

/// Parses a message from `bytes` (`len` bytes, copied: the caller may free them right after).
///
/// Ordinary mail is not an error (its kind is absent). On success `*out` receives a new
/// `pec_message` the caller owns and must release with `pec_message_free`.
///
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_MALFORMED_MESSAGE` (empty input, no
/// header), `PEC_RESULT_LIMIT_EXCEEDED`, `PEC_RESULT_DATICERT_*`, `PEC_RESULT_BAD_ENCODING`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_parse(
    bytes: *const u8,
    len: usize,
    out_message: *mut *mut pec_message,
) -> pec_result {
    boundary(|| {
        // SAFETY: the caller passes `len` readable bytes (or NULL with len 0).
        let bytes = unsafe { arg_bytes(bytes, len, "bytes") }?;
        // SAFETY: the caller passes NULL or a valid `pec_message **`.
        let o = unsafe { out(out_message, "out_message") }?;
        let m = pec_message::parse(bytes)?;
        o.set(into_handle(m));
        Ok(())
    })
}

/// Releases a message (NULL is a no-op). Every view obtained from it (strings, bytes, its
/// `pec_daticert`) becomes invalid. Not to be called while another thread uses it.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_free(message: *mut pec_message) {
    boundary_value((), || {
        // SAFETY: the caller passes NULL or a pec_message from pec_message_parse, not yet freed.
        unsafe { free_handle(message) }
    })
}

/// The kind as its wire value (`"posta-certificata"`, `"errore"`, `"accettazione"`,
/// `"avvenuta-consegna"`, ... the value of `X-Trasporto` / `X-Ricevuta`). For ordinary mail
/// `*out` is set to NULL and `*out_len` to 0. The view (also NUL-terminated) is owned by the
/// message and valid until `pec_message_free`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_kind(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented: a live handle, valid out-parameters.
    unsafe { text_accessor(message, out, out_len, |m| m.kind.as_ref()) }
}

/// The kind the outer `X-Trasporto` / `X-Ricevuta` header claims (unsigned; where a signed
/// daticert is present, `pec_message_kind` follows daticert `tipo`), or NULL / 0 when there
/// is none. View owned by the message. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_header_kind(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.header_kind.as_ref()) }
}

/// What the signature covers: `"whole"` (the signed entity is the top-level entity) or
/// `"inner"` (unsigned MIME wraps it), or NULL / 0 when the message is not signed. View owned
/// by the message. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_signed_scope(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.signed_scope.as_ref()) }
}

/// The receipt type asked for (`"completa"`, `"breve"`, `"sintetica"`: `X-TipoRicevuta`, else
/// daticert `<ricevuta tipo>`), or NULL / 0 when absent. View owned by the message.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_receipt_type(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.receipt_type.as_ref()) }
}

/// The message's own `Message-ID` without angle brackets, or NULL / 0. View owned by the
/// message. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_message_id(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.message_id.as_ref()) }
}

/// The PEC identifier the message refers to (daticert `<identificativo>`, else an envelope's
/// own Message-ID), without angle brackets, or NULL / 0. View owned by the message.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_identifier(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.identificativo.as_ref()) }
}

/// The client msgid (`X-Riferimento-Message-ID`, else daticert `<msgid>`), with angle
/// brackets as on the wire, or NULL / 0. View owned by the message. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_msgid(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.msgid.as_ref()) }
}

/// The original subject (decoded, PEC prefix removed), or NULL / 0. View owned by the
/// message. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_subject(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.subject.as_ref()) }
}

/// The decoded `From:` header, or NULL / 0. View owned by the message. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_from(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.from.as_ref()) }
}

/// The lowercase domain of the `From:` address, or NULL / 0. View owned by the message.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_from_domain(
    message: *const pec_message,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(message, out, out_len, |m| m.from_domain.as_ref()) }
}

/// The first header field named `name` (`name_len` bytes of UTF-8, case-insensitive) of the
/// outer header, unfolded and decoded, or NULL / 0 when absent. View owned by the message.
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_INVALID_UTF8`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_header(
    message: *const pec_message,
    name: *const c_char,
    name_len: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: a live handle or NULL.
        let m = unsafe { arg_ref(message, "message") }?;
        // SAFETY: `name_len` readable bytes.
        let name = unsafe { arg_str(name, name_len, "name") }?;
        let v = m.headers.iter().find(|(n, _)| n.as_str().eq_ignore_ascii_case(name));
        // SAFETY: valid out-parameters.
        unsafe { give_text(v.map(|(_, v)| v), out, out_len) }
    })
}

/// Whether the message is a PEC system message (an envelope or notification) into `*out`.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_is_pec(message: *const pec_message, out: *mut bool) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { value_accessor(message, out, |m| m.kind.is_some()) }
}

/// Whether the message is `multipart/signed` (S/MIME) into `*out`. Whether the signature is
/// good is for `pec_verifier_verify`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_is_signed(message: *const pec_message, out: *mut bool) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { value_accessor(message, out, |m| m.signed) }
}

/// Whether `X-VerificaSicurezza: errore` is present (virus notices) into `*out`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_security_error(
    message: *const pec_message,
    out: *mut bool,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { value_accessor(message, out, |m| m.security_error) }
}

/// The bytes the message was parsed from (the library's copy): a view valid until
/// `pec_message_free`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_bytes(
    message: *const pec_message,
    out: *mut *const u8,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: a live handle or NULL.
        let m = unsafe { arg_ref(message, "message") }?;
        // SAFETY: valid out-parameters.
        unsafe { give_bytes(Some(&m.raw), out, out_len) }
    })
}

/// The exact bytes of the original message (`postacert.eml`) carried by an envelope or a
/// complete receipt, or NULL / 0 when there is none. A view owned by the message, valid until
/// `pec_message_free`: the bytes as they arrived (decoded only when the part was
/// transfer-encoded). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_original(
    message: *const pec_message,
    out: *mut *const u8,
    out_len: *mut usize,
) -> pec_result {
    boundary(|| {
        // SAFETY: a live handle or NULL.
        let m = unsafe { arg_ref(message, "message") }?;
        // SAFETY: valid out-parameters.
        unsafe { give_bytes(m.original(), out, out_len) }
    })
}

/// The number of warnings (inconsistencies between headers and daticert; not errors); 0 for
/// NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_warning_count(message: *const pec_message) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(message, |m| m.warnings.len()) }
}

/// Warning `i` (0-based, below `pec_message_warning_count`) as text: a view owned by the
/// message. `PEC_RESULT_INVALID_PARAMETER` when `i` is out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_warning(
    message: *const pec_message,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(message, i, out, out_len, |m| &m.warnings) }
}

/// The number of `.hash` parts of a brief delivery receipt; 0 for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_hash_count(message: *const pec_message) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(message, |m| m.hash_names.len()) }
}

/// The file name (`.hash` included) of hash part `i`. View owned by the message;
/// `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_hash_filename(
    message: *const pec_message,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(message, i, out, out_len, |m| &m.hash_names) }
}

/// The SHA-1 (40 lowercase hex digits) of hash part `i`. View owned by the message;
/// `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_hash_sha1(
    message: *const pec_message,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(message, i, out, out_len, |m| &m.hash_values) }
}

/// The message as the JSON of `pec inspect --json` (the wire view, `pec_core::view`: the
/// same keys and values every door prints; daticert under its Italian names). On success
/// `*out_json` receives a new `pec_bytes` the caller owns (`pec_bytes_free`): UTF-8, pretty
/// printed, keys sorted, no trailing newline, no NUL. The message's bytes are read again for
/// it (nothing is kept at parse time). Errors: `PEC_RESULT_NULL_PARAMETER`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_to_json(
    message: *const pec_message,
    out_json: *mut *mut pec_bytes,
) -> pec_result {
    boundary(|| {
        // SAFETY: NULL or a live handle, only read.
        let m = unsafe { arg_ref(message, "message") }?;
        // SAFETY: a valid out-parameter or NULL.
        let o = unsafe { out(out_json, "out_json") }?;
        let parsed = PecMessage::parse(&m.raw)?;
        let json = pec_core::view::message_json(&parsed);
        o.set(into_handle(pec_bytes::new(json.into_bytes())));
        Ok(())
    })
}

/// The certification data (`daticert.xml`) of the message: `*out` receives a view owned by
/// the message (do NOT free it; valid until `pec_message_free`), or NULL when the message
/// carries none (ordinary mail, anomaly envelope). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_message_daticert(
    message: *const pec_message,
    out: *mut *const pec_daticert,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe {
        value_accessor(message, out, |m| match &m.daticert {
            Some(d) => d as *const pec_daticert,
            None => std::ptr::null(),
        })
    }
}

/// Certification data (`daticert.xml`, RFC 6109 §4.4). Either a view borrowed from a
/// `pec_message` (never freed by the caller) or an owned handle from `pec_daticert_parse`
/// (released with `pec_daticert_free`). Immutable: thread-safe to read.
#[derive(Debug)]
pub struct pec_daticert {
    kind: Option<Text>,
    error: Text,
    sender: Text,
    recipients: Vec<Text>,
    recipient_types: Vec<Text>,
    reply_to: Text,
    subject: Option<Text>,
    issuer: Text,
    day: Text,
    time: Text,
    zone: Text,
    identifier: Text,
    msgid: Option<Text>,
    receipt_type: Option<Text>,
    delivery: Option<Text>,
    received: Vec<Text>,
    extended_error: Option<Text>,
}

impl pec_daticert {
    fn from_core(d: &Daticert) -> pec_daticert {
        pec_daticert {
            kind: opt_text(d.kind.as_ref().map(|k| k.as_str())),
            error: Text::new(d.error.as_str()),
            sender: Text::new(&d.sender),
            recipients: d.recipients.iter().map(|r| Text::new(&r.address)).collect(),
            recipient_types: d.recipients.iter().map(|r| Text::new(r.kind.as_str())).collect(),
            reply_to: Text::new(&d.reply_to),
            subject: opt_text(d.subject.as_ref()),
            issuer: Text::new(&d.issuer),
            day: Text::new(&d.date.day),
            time: Text::new(&d.date.time),
            zone: Text::new(&d.date.zone),
            identifier: Text::new(&d.identifier),
            msgid: opt_text(d.msgid.as_ref()),
            receipt_type: opt_text(d.receipt_type.as_ref().map(|r| r.as_str())),
            delivery: opt_text(d.delivery.as_ref()),
            received: d.received.iter().map(Text::from).collect(),
            extended_error: opt_text(d.extended_error.as_ref()),
        }
    }
}

/// Parses a `daticert.xml` document (`len` bytes, copied). On success `*out` receives a new
/// `pec_daticert` the caller owns and releases with `pec_daticert_free`.
/// Errors: `PEC_RESULT_NULL_PARAMETER`, `PEC_RESULT_DATICERT_MALFORMED`,
/// `PEC_RESULT_DATICERT_INVALID`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_parse(
    xml: *const u8,
    len: usize,
    out_daticert: *mut *mut pec_daticert,
) -> pec_result {
    boundary(|| {
        // SAFETY: `len` readable bytes.
        let xml = unsafe { arg_bytes(xml, len, "xml") }?;
        // SAFETY: a valid out-parameter.
        let o = unsafe { out(out_daticert, "out_daticert") }?;
        let d = Daticert::parse(xml)?;
        o.set(into_handle(pec_daticert::from_core(&d)));
        Ok(())
    })
}

/// Releases a daticert made by `pec_daticert_parse` (NULL is a no-op). Never pass the view
/// returned by `pec_message_daticert`: it belongs to its message.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_free(daticert: *mut pec_daticert) {
    boundary_value((), || {
        // SAFETY: the caller passes NULL or a handle from pec_daticert_parse, not yet freed.
        unsafe { free_handle(daticert) }
    })
}

/// `postacert@tipo` (`"posta-certificata"`, `"accettazione"`, ...), or NULL / 0. View owned by
/// the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_kind(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| d.kind.as_ref()) }
}

/// `postacert@errore` (`"nessuno"`, `"no-dest"`, `"no-dominio"`, `"virus"`, `"altro"`). View
/// owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_error(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.error)) }
}

/// `intestazione/mittente`, the original sender. View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_sender(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.sender)) }
}

/// `intestazione/risposte`, the reply address. View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_reply_to(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.reply_to)) }
}

/// `intestazione/oggetto`, the original subject, or NULL / 0. View owned by the daticert.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_subject(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| d.subject.as_ref()) }
}

/// `dati/gestore-emittente`, the certifying provider. View owned by the daticert.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_issuer(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.issuer)) }
}

/// `dati/data/giorno` (`dd/mm/yyyy`, as written). View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_date_day(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.day)) }
}

/// `dati/data/ora` (`hh:mm:ss`, as written). View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_date_time(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.time)) }
}

/// `dati/data@zona` (`+hhmm`, as written). View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_date_zone(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.zone)) }
}

/// `dati/identificativo`, the PEC identifier. View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_identifier(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| Some(&d.identifier)) }
}

/// `dati/msgid`, or NULL / 0. View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_msgid(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| d.msgid.as_ref()) }
}

/// `dati/ricevuta@tipo` (`"completa"`, `"breve"`, `"sintetica"`), or NULL / 0. View owned by
/// the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_receipt_type(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| d.receipt_type.as_ref()) }
}

/// `dati/consegna`, the recipient a delivery notice is about, or NULL / 0. View owned by the
/// daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_delivery(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| d.delivery.as_ref()) }
}

/// `dati/errore-esteso`, or NULL / 0. View owned by the daticert. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_extended_error(
    daticert: *const pec_daticert,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_accessor(daticert, out, out_len, |d| d.extended_error.as_ref()) }
}

/// The number of `intestazione/destinatari` elements; 0 for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_recipient_count(daticert: *const pec_daticert) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(daticert, |d| d.recipients.len()) }
}

/// The address of recipient `i` (0-based, document order). View owned by the daticert;
/// `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_recipient(
    daticert: *const pec_daticert,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(daticert, i, out, out_len, |d| &d.recipients) }
}

/// The `tipo` of recipient `i` (`"certificato"` or `"esterno"`). View owned by the daticert;
/// `PEC_RESULT_INVALID_PARAMETER` when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_recipient_type(
    daticert: *const pec_daticert,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(daticert, i, out, out_len, |d| &d.recipient_types) }
}

/// The number of `dati/ricezione` elements (recipients covered by a take-charge receipt); 0
/// for NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_received_count(daticert: *const pec_daticert) -> usize {
    // SAFETY: NULL or a live handle.
    unsafe { count_accessor(daticert, |d| d.received.len()) }
}

/// `dati/ricezione` element `i`. View owned by the daticert; `PEC_RESULT_INVALID_PARAMETER`
/// when out of range. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn pec_daticert_received(
    daticert: *const pec_daticert,
    i: usize,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> pec_result {
    // SAFETY: pointers as documented.
    unsafe { text_list_accessor(daticert, i, out, out_len, |d| &d.received) }
}
