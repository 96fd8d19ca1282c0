//! Byte encodings, both directions, in one place: base64 (RFC 4648 §4; MIME bodies RFC 2045
//! §6.8; the `B` encoding of RFC 2047 §4.1), quoted-printable (RFC 2045 §6.7; the `Q`
//! encoding of RFC 2047 §4.2) and charsets (labels as in RFC 2045 `charset=`, RFC 2047
//! encoded-words and RFC 2231 parameters, decoded through `encoding_rs`).
//!
//! Every module of the core that reads or writes these encodings goes through here, so each
//! leniency is written once:
//!
//! | function | strictness | used for |
//! | --- | --- | --- |
//! | [`decode_base64`] | whitespace anywhere, padding optional, a dangling character dropped | MIME bodies (`smime.p7s`, `daticert.xml`, attachments) |
//! | [`decode_base64_strict`] | canonical: padded, no whitespace | PEM bodies and LDIF values once compacted |
//! | [`encode_base64`], [`encode_base64_mime`] | padded; MIME bodies in 76-column CRLF lines | signatures, `daticert.xml` |
//! | [`decode_quoted_printable`] | invalid escapes kept literally | MIME bodies |
//! | [`encode_quoted_printable`] | 76 columns, `From ` escaped | the human-readable parts |
//! | [`Charset`] | one table; unknown labels are `None` | encoded-words, RFC 2231 values |
//!
//! The hexadecimal digits of `=XX` and `%XX` escapes are read here too (`hex_value`, for the
//! crate).
//!
//! Nothing here fails on hostile input other than by returning `None`/an error, and every
//! function is linear in its input.

mod base64;
mod charset;
mod quoted_printable;

pub(crate) use base64::decode_base64_word;
pub use base64::{
    InvalidBase64, decode_base64, decode_base64_into, decode_base64_strict, encode_base64,
    encode_base64_mime,
};
pub use charset::{Charset, utf8_or_latin1};
pub(crate) use quoted_printable::{decode_q, encode_q, hex_value, q_encoded_len};
pub use quoted_printable::{decode_quoted_printable, encode_quoted_printable};
