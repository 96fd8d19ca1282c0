//! "Per conto di": the display name of the envelope's `From:` that names the original sender
//! (docs/SPEC.md §3.2), written by [`on_behalf_of_from`] and read back by
//! [`sender_from_on_behalf`].

use super::{SYSTEM_LOCAL_PART, decode_unstructured, validate_addr_spec, validate_domain};
use crate::error::Result;

/// The display-name prefix of envelope `From:` fields in real traffic (docs/SPEC.md §3.2).
pub const ON_BEHALF_PREFIX: &str = "Per conto di: ";

/// The `From:` value of a transport or anomaly envelope, in the Italian form real providers
/// use (docs/SPEC.md §3.2): `"Per conto di: sender" <posta-certificata@domain>`. The sender must be a
/// valid addr-spec and the domain a host name ([`ParseError::InvalidAddress`](crate::error::ParseError::InvalidAddress)).
pub fn on_behalf_of_from(sender: &str, provider_domain: &str) -> Result<String> {
    validate_addr_spec(sender)?;
    validate_domain(provider_domain)?;
    let mut quoted = String::with_capacity(sender.len() + 4);
    for c in sender.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Ok(format!("\"{ON_BEHALF_PREFIX}{quoted}\" <{SYSTEM_LOCAL_PART}@{provider_domain}>"))
}

/// The original sender named in an envelope's `From:` display name (docs/SPEC.md §3.2): matches
/// `per conto di:?\s*` (any case; also the RFC's English `on behalf of:`), then returns the
/// rest (or, when nothing follows, the `<address>` of the value) if it is a valid addr-spec.
/// Accepts the display name alone, quoted or not, RFC 2047-encoded or not, or the
/// whole `From:` value. `None` when the form does not match. `daticert.xml` `<mittente>` is
/// the authoritative sender; this is a fallback.
pub fn sender_from_on_behalf(display: &str) -> Option<String> {
    let s = display.trim();
    // A whole `From:` value: split off the trailing `<address>`.
    let (name_part, angle) = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(lt), Some(inner)) => (s.get(..lt)?, inner.get(lt + 1..)),
        _ => (s, None),
    };
    let name_part = name_part.trim();
    let mut name = match name_part.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => unescape_quoted(inner),
        None => name_part.to_string(),
    };
    if name.contains("=?") {
        name = decode_unstructured(name.as_bytes());
    }
    let name = name.trim().trim_matches('"').trim();
    let lower = name.to_ascii_lowercase();
    let start =
        ["per conto di", "on behalf of"].iter().find(|p| lower.starts_with(*p)).map(|p| p.len())?;
    let rest = name.get(start..)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim();
    let rest = rest.strip_prefix('<').and_then(|r| r.strip_suffix('>')).unwrap_or(rest).trim();
    let candidate = if rest.is_empty() { angle?.trim() } else { rest };
    validate_addr_spec(candidate).ok()?;
    Some(candidate.to_string())
}

/// The content of a quoted string with its quoted pairs resolved (`\"` → `"`).
fn unescape_quoted(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}
