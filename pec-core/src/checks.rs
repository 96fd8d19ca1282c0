//! The access point's formal checks on an original message (RFC 6109 §3.1.1; docs/SPEC.md
//! §10.1). A failure yields a non-acceptance notice whose text and `errore-esteso` come from
//! the [`Violation`]s.

use std::fmt;

use crate::headers::{decode_unstructured, parse_address_list, validate_addr_spec};
use crate::limits::Limits;
use crate::mime::Headers;

/// The SMTP transaction data: the reverse path (`MAIL FROM`) and the forward paths
/// (`RCPT TO`). Certification data are SMTP routing data (docs/SPEC.md §2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SmtpEnvelope {
    /// `MAIL FROM`, without angle brackets.
    pub reverse_path: Option<String>,
    /// Every `RCPT TO`, without angle brackets.
    pub forward_paths: Vec<String>,
}

/// One failed formal check (docs/SPEC.md §10.1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Violation {
    /// `missing-headers`: no RFC 5322 header block.
    MissingHeaders,
    /// `missing-from`: no `From:` field, or one without an address.
    MissingFrom,
    /// `multiple-from`: more than one `From:` field or more than one address in it.
    MultipleFrom,
    /// `invalid-from`: the `From:` address is not a valid addr-spec.
    InvalidFrom(String),
    /// `missing-to`: no `To:` field, or one without addresses.
    MissingTo,
    /// `invalid-recipient`: an address of `To:` or `Cc:` is not a valid addr-spec.
    InvalidRecipient(String),
    /// `bcc-present`: a `Bcc:` field with a value (not allowed in PEC).
    BccPresent,
    /// `recipient-not-in-headers`: an SMTP forward path absent from `To:` and `Cc:`.
    RecipientNotInHeaders(String),
    /// `sender-mismatch`: `From:` differs from the SMTP reverse path.
    SenderMismatch {
        /// The `From:` address.
        from: String,
        /// The reverse path.
        reverse_path: String,
    },
    /// `too-large`: size × recipients exceeds the provider limit.
    TooLarge {
        /// Message size in bytes.
        size: usize,
        /// Number of recipients.
        recipients: usize,
        /// The limit.
        limit: usize,
    },
}

impl Violation {
    /// A stable code, e.g. `missing-from`, `bcc-present`.
    pub fn code(&self) -> &'static str {
        match self {
            Violation::MissingHeaders => "missing-headers",
            Violation::MissingFrom => "missing-from",
            Violation::MultipleFrom => "multiple-from",
            Violation::InvalidFrom(_) => "invalid-from",
            Violation::MissingTo => "missing-to",
            Violation::InvalidRecipient(_) => "invalid-recipient",
            Violation::BccPresent => "bcc-present",
            Violation::RecipientNotInHeaders(_) => "recipient-not-in-headers",
            Violation::SenderMismatch { .. } => "sender-mismatch",
            Violation::TooLarge { .. } => "too-large",
        }
    }

    /// An Italian description, for the notice text and `errore-esteso`.
    pub fn description(&self) -> String {
        match self {
            Violation::MissingHeaders => "il messaggio non ha un'intestazione RFC 5322".into(),
            Violation::MissingFrom => "manca il mittente (campo From)".into(),
            Violation::MultipleFrom => "il campo From contiene più di un indirizzo".into(),
            Violation::InvalidFrom(a) => format!("indirizzo del mittente non valido: {a}"),
            Violation::MissingTo => "manca il destinatario (campo To)".into(),
            Violation::InvalidRecipient(a) => format!("indirizzo del destinatario non valido: {a}"),
            Violation::BccPresent => "destinatari in copia nascosta (Bcc) non ammessi".into(),
            Violation::RecipientNotInHeaders(a) => {
                format!("destinatario {a} assente dai campi To e Cc")
            }
            Violation::SenderMismatch { from, reverse_path } => format!(
                "il mittente {from} non corrisponde al mittente della trasmissione {reverse_path}"
            ),
            Violation::TooLarge { size, recipients, limit } => format!(
                "dimensione del messaggio ({size} byte) per numero di destinatari ({recipients}) \
                 superiore al limite di {limit} byte"
            ),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.description())
    }
}

/// Runs the formal checks of docs/SPEC.md §10.1 on `original` (the user's message as
/// submitted) with the SMTP transaction data in `envelope` (paths are checked only when
/// given) and the size limit `max_size` (message size × recipients). Returns every
/// violation found; empty means the message passes.
pub fn formal_checks(original: &[u8], envelope: &SmtpEnvelope, max_size: usize) -> Vec<Violation> {
    let mut out = Vec::new();
    let limits = Limits::default();
    let headers = match Headers::parse(original, &limits) {
        Ok(h) if !h.fields.is_empty() => h,
        _ => {
            out.push(Violation::MissingHeaders);
            return out;
        }
    };
    // From
    let froms: Vec<_> = headers.get_all("From").collect();
    let mut from_addr: Option<String> = None;
    if froms.is_empty() {
        out.push(Violation::MissingFrom);
    } else {
        let list: Vec<_> = froms
            .iter()
            .flat_map(|f| parse_address_list(&decode_unstructured(f.raw_value)))
            .collect();
        if froms.len() > 1 || list.len() > 1 {
            out.push(Violation::MultipleFrom);
        }
        match list.first() {
            None => out.push(Violation::MissingFrom),
            Some(m) => {
                if validate_addr_spec(&m.address).is_err() {
                    out.push(Violation::InvalidFrom(m.address.clone()));
                } else {
                    from_addr = Some(m.address.clone());
                }
            }
        }
    }
    // To and Cc
    let to: Vec<String> = headers
        .get_all("To")
        .flat_map(|f| parse_address_list(&decode_unstructured(f.raw_value)))
        .map(|m| m.address)
        .collect();
    let cc: Vec<String> = headers
        .get_all("Cc")
        .flat_map(|f| parse_address_list(&decode_unstructured(f.raw_value)))
        .map(|m| m.address)
        .collect();
    if to.is_empty() {
        out.push(Violation::MissingTo);
    }
    for a in to.iter().chain(cc.iter()) {
        if validate_addr_spec(a).is_err() {
            out.push(Violation::InvalidRecipient(a.clone()));
        }
    }
    // Bcc
    if headers.get_all("Bcc").any(|f| !decode_unstructured(f.raw_value).trim().is_empty()) {
        out.push(Violation::BccPresent);
    }
    // forward paths
    for rcpt in &envelope.forward_paths {
        let r = strip(rcpt);
        if !to.iter().chain(cc.iter()).any(|a| same_address(a, r)) {
            out.push(Violation::RecipientNotInHeaders(r.to_string()));
        }
    }
    // reverse path
    if let (Some(from), Some(rp)) = (&from_addr, &envelope.reverse_path) {
        let rp = strip(rp);
        if !same_address(from, rp) {
            out.push(Violation::SenderMismatch { from: from.clone(), reverse_path: rp.into() });
        }
    }
    // size
    let recipients = if envelope.forward_paths.is_empty() {
        to.len() + cc.len()
    } else {
        envelope.forward_paths.len()
    }
    .max(1);
    if original.len().saturating_mul(recipients) > max_size {
        out.push(Violation::TooLarge { size: original.len(), recipients, limit: max_size });
    }
    out
}

fn strip(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix('<').and_then(|t| t.strip_suffix('>')).unwrap_or(t)
}

/// Addresses compare with the domain case-insensitive and the local part exact.
pub(crate) fn same_address(a: &str, b: &str) -> bool {
    match (a.trim().rsplit_once('@'), b.trim().rsplit_once('@')) {
        (Some((la, da)), Some((lb, db))) => la == lb && da.eq_ignore_ascii_case(db),
        _ => a.trim() == b.trim(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn codes(v: &[Violation]) -> Vec<&'static str> {
        v.iter().map(Violation::code).collect()
    }

    #[test]
    fn passes_and_fails() {
        let ok = b"From: A <a@pec.example.it>\r\nTo: b@pec.example.it\r\nCc: c@x.it\r\nSubject: s\r\n\r\nbody\r\n";
        let env = SmtpEnvelope {
            reverse_path: Some("<a@PEC.example.it>".into()),
            forward_paths: vec!["b@pec.example.it".into(), "c@x.it".into()],
        };
        assert!(formal_checks(ok, &env, 30_000_000).is_empty());
        let env2 = SmtpEnvelope {
            reverse_path: Some("z@pec.example.it".into()),
            forward_paths: vec!["d@x.it".into()],
        };
        assert_eq!(
            codes(&formal_checks(ok, &env2, 10)),
            vec!["recipient-not-in-headers", "sender-mismatch", "too-large"]
        );
        let bad = b"From: a@x.it, b@x.it\r\nBcc: c@x.it\r\nSubject: s\r\n\r\n";
        assert_eq!(
            codes(&formal_checks(bad, &SmtpEnvelope::default(), 30_000_000)),
            vec!["multiple-from", "missing-to", "bcc-present"]
        );
        assert_eq!(
            codes(&formal_checks(b"\r\nno headers", &SmtpEnvelope::default(), 1)),
            vec!["missing-headers"]
        );
        let nofrom = b"To: x\r\nBcc:\r\n\r\n";
        assert_eq!(
            codes(&formal_checks(nofrom, &SmtpEnvelope::default(), 1000)),
            vec!["missing-from", "invalid-recipient"]
        );
    }
}
