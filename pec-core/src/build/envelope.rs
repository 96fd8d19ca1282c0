//! The envelopes (RFC 6109 §3.1.5, §3.2.2): the transport envelope the sender's access point
//! wraps a user's original in, and the anomaly envelope the recipient's point of receipt wraps
//! a message in when it is not valid PEC.

use crate::error::Result;
use crate::headers::{encode_unstructured, on_behalf_of_from, validate_addr_spec};
use crate::identifier::strip_angle;
use crate::limits::Limits;
use crate::mime::{Headers, canonicalize_crlf, canonicalize_crlf_vec};
use crate::model::{TransportKind, header, subject_prefix};

use super::Ctx;
use super::access_point::formal_error;
use super::assemble::{Draft, assemble, field};
use super::source::OriginalInfo;
use super::text::HumanText;

impl Ctx<'_, '_, '_> {
    pub(super) fn transport_envelope(&self) -> Result<Vec<u8>> {
        let original = self.original()?;
        let violations = self.checks(original);
        if !violations.is_empty() {
            return Err(formal_error(&violations));
        }
        let limits = Limits::default();
        let h = Headers::parse(original, &limits)?;
        let info = OriginalInfo::from_headers(&h);
        let sender = self.ap_sender(&info)?;
        let id = self.pec_identifier()?;
        let requested = info.receipt_type.clone().unwrap_or_default();
        let subject = info.subject.clone().unwrap_or_default();

        let mut headers = Vec::new();
        copy_fields(&mut headers, original, &h, &["Received", "Return-Path"]);
        headers.push(self.date_field());
        headers.push(format!("From: {}\r\n", on_behalf_of_from(&sender, &self.provider.domain)?));
        copy_fields(&mut headers, original, &h, &["To", "Cc"]);
        if h.get("Reply-To").is_some() {
            copy_fields(&mut headers, original, &h, &["Reply-To"]);
        } else {
            headers.push(format!("Reply-To: {sender}\r\n"));
        }
        headers.push(encode_unstructured(
            "Subject",
            &format!("{}{subject}", subject_prefix::TRANSPORT),
        )?);
        headers.push(format!("Message-ID: <{id}>\r\n"));
        if let Some(m) = &info.msgid {
            headers.push(field(header::RIFERIMENTO_MESSAGE_ID, m)?);
        }
        headers.push(field(header::TRASPORTO, TransportKind::Certified.as_str())?);
        headers.push(field(header::TIPO_RICEVUTA, requested.as_str())?);

        let mut d = self.submission_daticert(&info, &sender, &id);
        d.receipt_type = Some(requested);
        let text = HumanText::new("Messaggio di posta certificata")
            .para(format!(
                "Il giorno {} il messaggio \"{subject}\" è stato inviato da \"{sender}\" \
                 indirizzato a:",
                self.time.human()
            ))
            .list(d.recipients.iter().map(|r| r.address.clone()).collect())
            .para("Il messaggio originale è incluso in allegato.")
            .para(format!("Identificativo messaggio: {id}"));
        let postacert = rewrite_original(original, &h, &id, info.msgid.as_deref())?;
        assemble(Draft { headers, text, daticert: Some(d), postacert: Some(postacert) }, &id)
    }

    pub(super) fn anomaly_envelope(&self) -> Result<Vec<u8>> {
        let received = self.envelope()?;
        let limits = Limits::default();
        let h = Headers::parse(received, &limits)?;
        let info = OriginalInfo::from_headers(&h);
        let subject = info.subject.clone().unwrap_or_default();
        let sender = info.sender.clone().filter(|s| validate_addr_spec(s).is_ok());
        let mut headers = Vec::new();
        // the incoming point's Authentication-Results (checked in `build`): the first outer
        // field, outside the signed part (sign_message keeps non-Content fields outside)
        if let Some(ar) = &self.req.auth_results {
            headers.push(format!("{ar}\r\n"));
        }
        copy_fields(&mut headers, received, &h, &["Received", "Return-Path"]);
        headers.push(self.date_field());
        match &sender {
            Some(s) => {
                headers.push(format!("From: {}\r\n", on_behalf_of_from(s, &self.provider.domain)?))
            }
            None => headers.push(self.notice_from()),
        }
        copy_fields(&mut headers, received, &h, &["To", "Cc"]);
        if h.get("Reply-To").is_some() {
            copy_fields(&mut headers, received, &h, &["Reply-To"]);
        } else if let Some(s) = &sender {
            headers.push(format!("Reply-To: {s}\r\n"));
        }
        headers.push(encode_unstructured(
            "Subject",
            &format!("{}{subject}", subject_prefix::ANOMALY),
        )?);
        let own_id = if h.get("Message-ID").is_some() {
            copy_fields(&mut headers, received, &h, &["Message-ID"]);
            info.msgid.as_deref().map(|m| strip_angle(m).to_string()).unwrap_or_default()
        } else {
            let id = self.provider.next_id(&self.time.datetime());
            headers.push(format!("Message-ID: <{id}>\r\n"));
            id
        };
        headers.push(field(header::TRASPORTO, TransportKind::Anomaly.as_str())?);
        let reason = self.req.error_text.clone().unwrap_or_else(|| {
            "il messaggio non è un messaggio di posta certificata valido".into()
        });
        let mut all = info.to.clone();
        all.extend(info.cc.iter().cloned());
        let text = HumanText::new("Anomalia nel messaggio")
            .para(format!(
                "Il giorno {} è stato ricevuto il messaggio \"{subject}\" proveniente da \"{}\" \
                 ed indirizzato a:",
                self.time.human(),
                sender.as_deref().unwrap_or("mittente sconosciuto")
            ))
            .list(all)
            .para(format!(
                "Tali dati non possono essere certificati a causa di: {reason}. Il messaggio \
                 originale è incluso in allegato."
            ))
            .para(format!("Identificativo messaggio: {own_id}"));
        let postacert = canonicalize_crlf(received).into_owned();
        assemble(Draft { headers, text, daticert: None, postacert: Some(postacert) }, &own_id)
    }
}

/// Appends the raw fields `names` of `src` (all occurrences, in order), CRLF-canonical.
fn copy_fields(out: &mut Vec<String>, src: &[u8], h: &Headers<'_>, names: &[&str]) {
    for f in &h.fields {
        if names.iter().any(|n| f.name.eq_ignore_ascii_case(n))
            && let Some(raw) = src.get(f.range.clone())
        {
            {
                let mut b = canonicalize_crlf(raw).into_owned();
                if !b.ends_with(b"\r\n") {
                    b.extend_from_slice(b"\r\n");
                }
                out.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
    }
}

/// The original as stored in `postacert.eml`: `Message-ID` replaced by the PEC identifier,
/// `X-Riferimento-Message-ID` added after it when the client gave a msgid (docs/SPEC.md §5),
/// bare LF normalised to CRLF; every other byte unchanged.
fn rewrite_original(
    original: &[u8],
    h: &Headers<'_>,
    id: &str,
    msgid: Option<&str>,
) -> Result<Vec<u8>> {
    let mut inserted = format!("Message-ID: <{id}>\r\n");
    if let Some(m) = msgid {
        inserted.push_str(&field(header::RIFERIMENTO_MESSAGE_ID, m)?);
    }
    let mut out = Vec::with_capacity(original.len() + inserted.len());
    match h.get("Message-ID") {
        Some(f) => {
            out.extend_from_slice(original.get(..f.range.start).unwrap_or(&[]));
            out.extend_from_slice(inserted.as_bytes());
            let rest = original.get(f.range.end..).unwrap_or(&[]);
            // any further Message-ID fields are dropped: one identifier only
            let mut pos = 0usize;
            for g in h.get_all("Message-ID").skip(1) {
                let s = g.range.start.saturating_sub(f.range.end);
                let e = g.range.end.saturating_sub(f.range.end);
                out.extend_from_slice(rest.get(pos..s).unwrap_or(&[]));
                pos = e;
            }
            out.extend_from_slice(rest.get(pos..).unwrap_or(&[]));
        }
        None => {
            // insert at the end of the header block
            let end = header_block_end(original, h);
            out.extend_from_slice(original.get(..end).unwrap_or(&[]));
            if end > 0 && original.get(end - 1) != Some(&b'\n') {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(inserted.as_bytes());
            out.extend_from_slice(original.get(end..).unwrap_or(&[]));
        }
    }
    Ok(canonicalize_crlf_vec(out))
}

/// Offset just after the last header field (before the empty line).
fn header_block_end(original: &[u8], h: &Headers<'_>) -> usize {
    h.fields.last().map(|f| f.range.end).unwrap_or(0).min(original.len())
}
