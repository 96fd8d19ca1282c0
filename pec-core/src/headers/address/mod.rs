//! Addresses (RFC 5322 §3.4): [`validate_addr_spec`] and [`validate_domain`] for what the core
//! writes; two readers for what it receives: [`parse_address_list`] (lenient, never fails,
//! for display and formal checks) and [`parse_addresses`] (the strict grammar, for the one
//! `From:` mailbox that binds a message to its sender).

mod lenient;
mod strict;

pub use lenient::{Mailbox, parse_address_list};
pub(crate) use strict::single_mailbox_unnamed;
pub use strict::{Address, MailboxAddress, parse_addresses, parse_mailbox_list, single_mailbox};

use super::decode_unstructured;
use crate::error::{Error, ParseError, Result};

/// Validates a mail domain as a DNS host name (RFC 1035, RFC 5321 §4.1.2): dot-separated
/// labels of letters, digits and hyphens, 1..=63 characters each, not starting or ending with
/// a hyphen, at most 253 characters, no trailing dot. Otherwise
/// [`ParseError::InvalidAddress`].
pub fn validate_domain(domain: &str) -> Result<()> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok { Ok(()) } else { Err(invalid_address(domain)) }
}

pub(super) fn invalid_address(s: &str) -> Error {
    ParseError::InvalidAddress(s.chars().take(256).collect()).into()
}

/// `atext` of RFC 5322 §3.2.3.
pub(super) fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// Validates a bare `local@domain` (RFC 5322 §3.4.1 addr-spec, as used on SMTP paths): the
/// local part a dot-atom or a quoted string (printable ASCII, quoted pairs allowed), at most
/// 64 characters; the domain a host name ([`validate_domain`]) or a domain literal
/// (`[192.0.2.1]`); at most 254 characters in all; no space, CR, LF, angle brackets or
/// non-ASCII anywhere. Otherwise [`ParseError::InvalidAddress`].
pub fn validate_addr_spec(addr: &str) -> Result<()> {
    let bad = || invalid_address(addr);
    if addr.len() > 254
        || !addr.is_ascii()
        || addr.bytes().any(|b| b.is_ascii_control() || matches!(b, b' ' | b'<' | b'>'))
    {
        return Err(bad());
    }
    let (local, domain) = addr.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 {
        return Err(bad());
    }
    if let Some(inner) = local.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or_else(bad)?;
        let b = inner.as_bytes();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b'\\' => {
                    if !b.get(i + 1).is_some_and(|n| (33..=126).contains(n)) {
                        return Err(bad());
                    }
                    i += 2;
                }
                b'"' => return Err(bad()),
                33..=126 => i += 1,
                _ => return Err(bad()),
            }
        }
    } else if !local.split('.').all(|a| !a.is_empty() && a.bytes().all(is_atext)) {
        return Err(bad());
    }
    if let Some(lit) = domain.strip_prefix('[') {
        let inner = lit.strip_suffix(']').ok_or_else(bad)?;
        if inner.is_empty()
            || !inner.bytes().all(|b| (33..=90).contains(&b) || (94..=126).contains(&b))
        {
            return Err(bad());
        }
        Ok(())
    } else {
        validate_domain(domain).map_err(|_| bad())
    }
}

/// The deepest comment nesting honoured; deeper parentheses are read as text.
pub(super) const MAX_COMMENT_DEPTH: u32 = 32;

/// A display name or comment as shown: RFC 2047-decoded, whitespace collapsed, `None` when
/// empty.
pub(super) fn display_name(phrase: &str) -> Option<String> {
    let decoded = decode_unstructured(phrase.as_bytes());
    let collapsed = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() { None } else { Some(collapsed) }
}
