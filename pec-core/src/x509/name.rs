//! Distinguished names and mailboxes of certificates: RFC 4514 rendering, RFC 5280 §7.1-style
//! comparison keys, and the mailbox syntax an rfc822Name must have.
//!
//! Distinguished names are written RFC 4514 style: most specific RDN first
//! (`CN=Posta Certificata ARUBA PEC, O=Aruba PEC S.p.A., L=Ponte San Pietro, ST=Bergamo, C=IT`),
//! RDNs separated by `", "`, multi-valued RDNs joined by `+`, the usual short names (`CN`, `O`,
//! `OU`, `C`, `L`, `ST`, `STREET`, `DC`, `UID`, `emailAddress`, `serialNumber`, ...), other
//! attribute types as dotted OIDs with a `#`-hex DER value, specials escaped with `\`.

use std::fmt::Write as _;

use const_oid::ObjectIdentifier;
use der::{Encode, Tag, Tagged};
use x509_cert::name::Name;

use super::oid;

/// A DirectoryString (or IA5/Printable...) attribute value as text.
pub(crate) fn directory_string(value: &der::asn1::Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::VisibleString
        | Tag::NumericString => std::str::from_utf8(bytes).ok().map(str::to_owned),
        // T.61 in theory, Latin-1 in practice.
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> =
                bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// RFC 5280 §7.1-style comparison key of a name: attribute values case-folded with
/// whitespace trimmed and collapsed, RDN members sorted, non-string values as DER hex.
pub(crate) fn name_key(name: &Name) -> String {
    let mut key = String::new();
    for rdn in name.iter_rdn() {
        key.push_str(&rdn_key(rdn));
    }
    key
}

/// The [`name_key`] segment of one RDN: appending it to a name's key gives the key of that
/// name extended by the RDN (a `nameRelativeToCRLIssuer`, RFC 5280 §4.2.1.13).
pub(crate) fn rdn_key(rdn: &x509_cert::name::RelativeDistinguishedName) -> String {
    let mut members: Vec<String> = rdn.iter().map(atv_key).collect();
    members.sort();
    let mut key = String::from("{");
    for m in members {
        key.push_str(&m);
    }
    key.push('}');
    key
}

fn atv_key(atv: &x509_cert::attr::AttributeTypeAndValue) -> String {
    let value = match directory_string(&atv.value) {
        Some(s) => fold(&s),
        None => format!("#{}", crate::crypto::hex(&atv.value.to_der().unwrap_or_default())),
    };
    // Length-prefixed: no value can fake a separator.
    format!("{}:{}:{}", atv.oid, value.len(), value)
}

/// Case folding and whitespace collapsing (RFC 4518 insignificant space handling, simplified).
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// One RDN as sorted comparison keys of its members.
pub(crate) type RdnKey = Vec<String>;

/// A name as [`RdnKey`]s, least specific RDN first (what directoryName constraints match).
pub(crate) fn rdn_keys(name: &Name) -> Vec<RdnKey> {
    name.iter_rdn()
        .map(|rdn| {
            let mut v: Vec<String> = rdn.iter().map(atv_key).collect();
            v.sort();
            v
        })
        .collect()
}

const SHORT_NAMES: &[(ObjectIdentifier, &str)] = &[
    (oid::CN, "CN"),
    (oid::SN, "SN"),
    (oid::SERIAL_NUMBER, "serialNumber"),
    (oid::C, "C"),
    (oid::L, "L"),
    (oid::ST, "ST"),
    (oid::STREET, "STREET"),
    (oid::O, "O"),
    (oid::OU, "OU"),
    (oid::TITLE, "title"),
    (oid::POSTAL_CODE, "postalCode"),
    (oid::GN, "GN"),
    (oid::INITIALS, "initials"),
    (oid::DN_QUALIFIER, "dnQualifier"),
    (oid::PSEUDONYM, "pseudonym"),
    (oid::ORGANIZATION_IDENTIFIER, "organizationIdentifier"),
    (oid::UID, "UID"),
    (oid::DC, "DC"),
    (oid::EMAIL_ADDRESS, "emailAddress"),
];

/// RFC 4514 string of a name, most specific RDN first, RDNs separated by `", "`.
pub fn format_name(name: &Name) -> String {
    let mut out = String::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match SHORT_NAMES.iter().find(|(o, _)| *o == atv.oid) {
                Some((_, short)) => out.push_str(short),
                None => {
                    let _ = write!(out, "{}", atv.oid);
                }
            }
            out.push('=');
            match directory_string(&atv.value) {
                Some(s) => escape_rfc4514(&s, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&crate::crypto::hex(&atv.value.to_der().unwrap_or_default()));
                }
            }
        }
    }
    out
}

fn escape_rfc4514(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\{:02X}", c as u32);
            }
            _ => out.push(c),
        }
    }
}

/// Whether `s` is a mailbox as an rfc822Name must be (RFC 5280 §4.2.1.6, RFC 5321 §4.1.2
/// `Mailbox`): exactly one `@`, a Dot-string local part of at most 64 octets, a domain of
/// letter-digit-hyphen labels (each 1-63 octets, no leading or trailing hyphen) of at most
/// 255 octets. Quoted local parts and address literals are refused: a certificate's mailbox
/// never needs them, and a quoted `@` would let a name carry a second domain.
pub(crate) fn is_mailbox(s: &str) -> bool {
    const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    let Some((local, domain)) = s.split_once('@') else { return false };
    let atom_ok = |a: &[u8]| {
        !a.is_empty() && a.iter().all(|b| b.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(b))
    };
    let label_ok = |l: &[u8]| {
        (1..=63).contains(&l.len())
            && l.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && l.first() != Some(&b'-')
            && l.last() != Some(&b'-')
    };
    (1..=64).contains(&local.len())
        && local.as_bytes().split(|&b| b == b'.').all(atom_ok)
        && (1..=255).contains(&domain.len())
        && domain.as_bytes().split(|&b| b == b'.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes() {
        for ok in [
            "posta-certificata@pec.example.it",
            "a.b+c@x-y.example.it",
            "o'neil@localhost",
            "A!#$%&'*+-/=?^_`{|}~@EXAMPLE.IT",
        ] {
            assert!(is_mailbox(ok), "{ok}");
        }
        let long_local = format!("{}@example.it", "a".repeat(65));
        let long_label = format!("a@{}.it", "b".repeat(64));
        for bad in [
            "ceo@evil.example.com@pec.example.it",
            "pec.example.it",
            "@pec.example.it",
            "a@",
            "a..b@example.it",
            ".a@example.it",
            "a.@example.it",
            "\"a@b\"@example.it",
            "a b@example.it",
            "a@example..it",
            "a@example.it.",
            "a@-example.it",
            "a@example-.it",
            "a@[192.0.2.1]",
            "a@exa_mple.it",
            "\u{e0}@example.it",
            long_local.as_str(),
            long_label.as_str(),
        ] {
            assert!(!is_mailbox(bad), "{bad}");
        }
    }
}
