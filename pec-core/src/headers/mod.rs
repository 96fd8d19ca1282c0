//! Header fields, by grammar (RFC 5322, RFC 2045, RFC 2047, RFC 2231; docs/SPEC.md §3.2,
//! §10.6): reading them as real mail carries them and writing them safely.
//!
//! - `block`: the header block of an entity located in the input ([`Headers`],
//!   [`HeaderField`], unfolding); `content_type`: `Content-Type` and its parameters
//!   ([`ContentType`], RFC 2231 continuations and charsets).
//! - `encoded_word`: [`encode_unstructured`] writes a whole `Name: value\r\n` field, RFC 2047
//!   encoded-words for non-ASCII, folded to 78 columns with CRLF + space (used for
//!   `Subject:`, prefix + original subject); [`decode_unstructured`] unfolds and decodes a
//!   received value, robust on any bytes.
//! - `address`: [`validate_addr_spec`], [`validate_domain`]; the lenient
//!   [`parse_address_list`] and the strict RFC 5322 [`parse_addresses`] / [`single_mailbox`].
//! - `on_behalf`: [`on_behalf_of_from`] / [`sender_from_on_behalf`], the envelope's
//!   `From:` in the Italian form `"Per conto di: sender" <posta-certificata@domain>`
//!   (docs/SPEC.md §3.2).
//! - [`check_no_injection`] refuses CR, LF and NUL in anything that reaches a header.
//! - [`quoted_printable`]: the human-readable parts (RFC 2045 §6.7, docs/SPEC.md §2, §10.6),
//!   from [`crate::codec`].

mod address;
mod block;
mod content_type;
mod encoded_word;
mod on_behalf;

pub(crate) use address::single_mailbox_unnamed;
pub use address::{
    Address, Mailbox, MailboxAddress, parse_address_list, parse_addresses, parse_mailbox_list,
    single_mailbox, validate_addr_spec, validate_domain,
};
pub use block::{HeaderField, Headers};
pub(crate) use block::{line_end, without_line_break};
pub use content_type::ContentType;
pub(crate) use content_type::parameters;
pub use encoded_word::{decode_unstructured, encode_unstructured};
pub use on_behalf::{ON_BEHALF_PREFIX, on_behalf_of_from, sender_from_on_behalf};

/// Quoted-printable for the human-readable parts: [`crate::codec::encode_quoted_printable`].
pub use crate::codec::encode_quoted_printable as quoted_printable;

use crate::error::{ParseError, Result};

/// The column limit of every line written (RFC 5322 §2.1.1 SHOULD).
pub const MAX_LINE_LENGTH: usize = 78;

/// The largest encoded-word (RFC 2047 §2).
pub const MAX_ENCODED_WORD: usize = 75;

/// The address every PEC system message comes from: `posta-certificata@<provider domain>`
/// (docs/SPEC.md §3.2).
pub const SYSTEM_LOCAL_PART: &str = "posta-certificata";

/// Refuses a header name or value that carries CR, LF or NUL: such a value would end the
/// field early and inject headers or a body ([`ParseError::HeaderInjection`]).
pub fn check_no_injection(name: &str, value: &str) -> Result<()> {
    let bad = |s: &str| s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
    if bad(name) || bad(value) {
        return Err(ParseError::HeaderInjection { header: name.escape_debug().to_string() }.into());
    }
    Ok(())
}
