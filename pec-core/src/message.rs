//! Parsing and classification of any message as raw bytes (docs/SPEC.md §11).
//!
//! (API fixed; implementation in progress.)

use std::borrow::Cow;

use crate::daticert::Daticert;
use crate::error::{ParseError, Result};
use crate::headers::{MailboxAddress, decode_unstructured, single_mailbox};
use crate::limits::Limits;
use crate::mime::{Entity, Headers};
use crate::model::{
    CertType, MessageKind, ReceiptKind, ReceiptType, SecurityCheck, TransportKind, header,
    subject_prefix,
};
use crate::report::SignedScope;

/// A parsed message: a PEC envelope or notification, or ordinary mail (`kind` is `None`).
/// Borrows the bytes it was parsed from; nothing signed is copied or re-serialised.
#[derive(Clone, Debug)]
pub struct PecMessage<'a> {
    /// The bytes as they arrived.
    pub raw: &'a [u8],
    /// The kind: daticert `tipo` when a `daticert.xml` is present (signed, so authoritative),
    /// else `X-Trasporto` / `X-Ricevuta` of the outermost headers; `None` for ordinary mail.
    pub kind: Option<MessageKind>,
    /// The kind the outer `X-Trasporto` / `X-Ricevuta` header claims (unsigned: `kind` is
    /// authoritative where a signed daticert is present).
    pub header_kind: Option<MessageKind>,
    /// What the signature covers: `whole` when the signed entity is the top-level entity,
    /// `inner` when unsigned MIME wraps it; `None` when the message is not signed.
    pub signed_scope: Option<SignedScope>,
    /// `X-TipoRicevuta` (or daticert `<ricevuta tipo>` when the header is absent).
    pub receipt_type: Option<ReceiptType>,
    /// `X-VerificaSicurezza: errore` present.
    pub security_error: bool,
    /// This message's own `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The PEC identifier it refers to: daticert `<identificativo>`, else (envelopes) its
    /// own `Message-ID`, without angle brackets.
    pub identificativo: Option<String>,
    /// The client msgid: `X-Riferimento-Message-ID` (else daticert `<msgid>`), with angle
    /// brackets as on the wire.
    pub msgid: Option<String>,
    /// The original subject: the `Subject:` decoded with the first PEC prefix removed (else
    /// daticert `<oggetto>`).
    pub subject: Option<String>,
    /// The decoded `From:` header.
    pub from: Option<String>,
    /// The certification data.
    pub daticert: Option<Daticert>,
    /// The exact bytes of `postacert.eml` (borrowed unless transfer-encoded).
    pub original: Option<Cow<'a, [u8]>>,
    /// `.hash` parts of a brief delivery receipt.
    pub hash_parts: Vec<HashPart>,
    /// The signed content and the signature, when the message is `multipart/signed`.
    pub signed: Option<SignedParts<'a>>,
    /// The outer header block (offsets into `raw`).
    pub headers: Headers<'a>,
    /// Inconsistencies found while cross-checking headers with daticert (not errors).
    pub warnings: Vec<String>,
}

/// A `<name>.hash` part of a brief delivery receipt (RFC 6109 §3.3.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashPart {
    /// The file name, `.hash` suffix included.
    pub filename: String,
    /// The 40-hex SHA-1 it holds (lowercased).
    pub sha1: String,
}

/// The two halves of `multipart/signed`.
#[derive(Clone, Debug)]
pub struct SignedParts<'a> {
    /// The exact signed bytes: the first part, from after the CRLF ending the boundary line
    /// up to (not including) the CRLF before the next boundary line.
    pub content: &'a [u8],
    /// The DER of the detached CMS signature (base64-decoded `smime.p7s`).
    pub signature: Vec<u8>,
    /// The `protocol` parameter (`application/pkcs7-signature` or the x- form).
    pub protocol: String,
    /// The `micalg` parameter.
    pub micalg: Option<String>,
    /// How many parts the `multipart/signed` has (RFC 1847 §2.1: exactly two; otherwise
    /// verification reports `malformed-signature`).
    pub part_count: usize,
    /// Whether the `multipart/signed` is the message's top-level entity (`whole`) or nested
    /// in unsigned MIME (`inner`: verification reports `partially-signed`).
    pub scope: SignedScope,
}

impl<'a> PecMessage<'a> {
    /// Parses `raw` with the default [`Limits`].
    ///
    /// # Errors
    /// Malformed input (typed); ordinary mail is not an error.
    pub fn parse(raw: &'a [u8]) -> Result<PecMessage<'a>> {
        Self::parse_with_limits(raw, &Limits::default())
    }

    /// Parses `raw` with explicit limits.
    ///
    /// Classification follows docs/SPEC.md §11: the kind comes from the signed daticert
    /// `tipo` when there is one, else from the outermost headers (`X-Ricevuta`, else
    /// `X-Trasporto`), which are kept as `header_kind` (a disagreement is a warning); the
    /// signed part is the first `multipart/signed`
    /// found (tolerating an outer `multipart/mixed` added by a mailing list); `daticert.xml`
    /// and `postacert.eml` are looked up inside the signed content by file name or type.
    ///
    /// # Errors
    /// Empty input, input without any header field, NUL bytes in the header block, a broken
    /// `daticert.xml` or its encoding in a PEC message, exceeded limits.
    pub fn parse_with_limits(raw: &'a [u8], limits: &Limits) -> Result<PecMessage<'a>> {
        Self::parse_impl(raw, limits, true).map(|(m, _)| m)
    }

    /// [`PecMessage::parse_with_limits`] without decoding the signature (`smime.p7s` is
    /// several KiB of base64 in real messages, the largest cost of a parse): `signed.signature`
    /// is left empty and the warning [`SIGNATURE_NOT_BASE64`] is not computed; the signature
    /// part is returned as it arrived, and [`SignaturePart::decode`] gives what the parse
    /// would have put there (`None`: the parse would have warned [`SIGNATURE_NOT_BASE64`],
    /// first, and left the signature empty). Everything else is the same.
    ///
    /// # Errors
    /// As [`PecMessage::parse_with_limits`].
    pub fn parse_deferring_signature(
        raw: &'a [u8],
        limits: &Limits,
    ) -> Result<(PecMessage<'a>, Option<SignaturePart<'a>>)> {
        Self::parse_impl(raw, limits, false)
    }

    fn parse_impl(
        raw: &'a [u8],
        limits: &Limits,
        decode_signature: bool,
    ) -> Result<(PecMessage<'a>, Option<SignaturePart<'a>>)> {
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ParseError::Empty.into());
        }
        let root = Entity::parse(raw, limits)?;
        if root.headers.fields.is_empty() {
            return Err(ParseError::MalformedHeaders("no header fields").into());
        }
        if raw[..root.headers.body_start].contains(&0) {
            return Err(ParseError::MalformedHeaders("NUL byte in the header block").into());
        }
        let headers = root.headers.clone();
        let mut warnings = Vec::new();

        let header_kind = header_kind_of(&headers);

        // the signed part: breadth-first, top first
        let (signed_entity, signed, signature_part) =
            signed_parts_of(&root, &mut warnings, decode_signature);
        // where the PEC parts live: the signed content, else the whole message
        let content_root: &Entity<'a> =
            signed_entity.and_then(|se| se.children.first()).unwrap_or(&root);

        let daticert_part = daticert_part_of(content_root);
        let original_part = find_first(content_root, |e| {
            e.filename_str().is_some_and(|n| n.eq_ignore_ascii_case("postacert.eml"))
        })
        .or_else(|| find_first(content_root, |e| e.content_type.mime_type == "message/rfc822"));

        let is_pec_candidate = header_kind.is_some() || signed.is_some();
        let daticert = match daticert_part {
            Some(p) if is_pec_candidate => {
                let bytes = p.decoded_body()?;
                Some(Daticert::parse(&bytes)?)
            }
            _ => None,
        };

        // the kind is daticert's tipo (inside the signed part) when there is one; the outer
        // X-Ricevuta/X-Trasporto is unsigned and only a claim (header_kind)
        let daticert_kind =
            daticert.as_ref().and_then(|d| d.kind.as_ref()).and_then(kind_of_cert_type);
        if header_kind.is_none() && daticert_kind.is_some() {
            warnings.push("no X-Ricevuta/X-Trasporto header: kind taken from daticert".into());
        }
        if let (Some(k), Some(d)) = (&header_kind, &daticert) {
            if header_disagrees(k, d) {
                warnings.push(format!(
                    "header kind {} does not match daticert tipo {}",
                    k.as_str(),
                    d.kind.as_ref().map_or("(none)", |ct| ct.as_str())
                ));
            }
        }
        if signed.as_ref().is_some_and(|s| s.scope == SignedScope::Inner) {
            warnings.push(
                "the signed part is nested in unsigned MIME: headers and parts outside it are \
                 not covered by the signature"
                    .into(),
            );
        }
        if signed.as_ref().is_some_and(|s| s.part_count != 2) {
            warnings.push("multipart/signed does not have exactly two parts".into());
        }
        let kind = daticert_kind.or_else(|| header_kind.clone());

        let original = match original_part {
            Some(p) if kind.is_some() => Some(p.decoded_body()?),
            _ => None,
        };

        let message_id = headers.value("Message-ID").map(|v| strip_angle(&v).to_string());
        let identificativo =
            daticert.as_ref().map(|d| d.identifier.clone()).filter(|s| !s.is_empty()).or_else(
                || match kind {
                    Some(MessageKind::Transport(_)) => message_id.clone(),
                    _ => None,
                },
            );
        if let (Some(MessageKind::Transport(TransportKind::Certified)), Some(id), Some(mid)) =
            (&kind, &identificativo, &message_id)
        {
            if id != mid {
                warnings
                    .push("daticert identificativo differs from the envelope Message-ID".into());
            }
        }
        let msgid = headers
            .value(header::RIFERIMENTO_MESSAGE_ID)
            .filter(|s| !s.is_empty())
            .or_else(|| daticert.as_ref().and_then(|d| d.msgid.clone()));
        let raw_subject = headers.get("Subject").map(|f| decode_unstructured(f.raw_value));
        let subject = match (&kind, raw_subject) {
            (Some(_), Some(s)) => Some(strip_subject_prefix(&s).to_string()),
            (Some(_), None) => daticert.as_ref().and_then(|d| d.subject.clone()),
            (None, s) => s,
        };
        let receipt_type = headers
            .value(header::TIPO_RICEVUTA)
            .filter(|s| !s.is_empty())
            .map(|v| ReceiptType::from_wire(&v))
            .or_else(|| daticert.as_ref().and_then(|d| d.receipt_type.clone()));
        let security_error = headers
            .value(header::VERIFICA_SICUREZZA)
            .is_some_and(|v| SecurityCheck::from_wire(&v) == SecurityCheck::Error);
        let from = headers.get("From").map(|f| decode_unstructured(f.raw_value));

        let hash_parts = match (&kind, &original) {
            (Some(MessageKind::Receipt(ReceiptKind::Delivery)), Some(orig)) => {
                collect_hash_parts(orig, limits)
            }
            _ => Vec::new(),
        };

        let message = PecMessage {
            raw,
            header_kind,
            signed_scope: signed.as_ref().map(|s| s.scope),
            kind,
            receipt_type,
            security_error,
            message_id,
            identificativo,
            msgid,
            subject,
            from,
            daticert,
            original,
            hash_parts,
            signed,
            headers,
            warnings,
        };
        Ok((message, signature_part))
    }

    /// The first header field `name` of the outer message, unfolded and RFC 2047-decoded.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|f| decode_unstructured(f.raw_value))
    }

    /// Whether this is a PEC system message (an envelope or a notification).
    pub fn is_pec(&self) -> bool {
        self.kind.is_some()
    }

    /// The mailbox of the `From:` field when there is exactly one `From:` field holding
    /// exactly one mailbox (RFC 5322 §3.4, comments, quoted strings and obsolete forms
    /// read as the grammar says); `None` otherwise.
    pub fn from_mailbox(&self) -> Option<MailboxAddress> {
        sole_from(&self.headers)
    }

    /// The domain of [`PecMessage::from_mailbox`], lowercased (for the index check of
    /// verification); `None` unless there is exactly one `From:` mailbox.
    pub fn from_domain(&self) -> Option<String> {
        self.from_mailbox().map(|m| m.domain_lowercase())
    }
}

/// The kind the outer `X-Ricevuta` (else `X-Trasporto`) header claims.
pub(crate) fn header_kind_of(headers: &Headers<'_>) -> Option<MessageKind> {
    if let Some(v) = headers.value(header::RICEVUTA) {
        Some(MessageKind::Receipt(ReceiptKind::from_wire(&v)))
    } else {
        headers
            .value(header::TRASPORTO)
            .map(|v| MessageKind::Transport(TransportKind::from_wire(&v)))
    }
}

/// Whether the header kind disagrees with daticert `tipo` (an absent `tipo` disagrees).
pub(crate) fn header_disagrees(header_kind: &MessageKind, daticert: &Daticert) -> bool {
    header_kind.cert_type() != daticert.kind
}

/// The single `From:` mailbox: exactly one `From:` field with exactly one mailbox.
pub(crate) fn sole_from(headers: &Headers<'_>) -> Option<MailboxAddress> {
    let mut fields = headers.get_all("From");
    let field = fields.next()?;
    if fields.next().is_some() {
        return None;
    }
    single_mailbox(field.raw_value)
}

/// [`sole_from`] without the display name (left `None`): what verification compares.
pub(crate) fn sole_from_unnamed(headers: &Headers<'_>) -> Option<MailboxAddress> {
    let mut fields = headers.get_all("From");
    let field = fields.next()?;
    if fields.next().is_some() {
        return None;
    }
    crate::headers::single_mailbox_unnamed(field.raw_value)
}

/// The `daticert.xml` part of the signed content (by file name, else an unnamed
/// `application/xml` part), breadth-first; `message/rfc822` parts are not entered.
pub(crate) fn daticert_part_of<'e, 'a>(content_root: &'e Entity<'a>) -> Option<&'e Entity<'a>> {
    find_first(content_root, is_daticert_by_name)
        .or_else(|| find_first(content_root, is_unnamed_xml))
}

/// A part named `daticert.xml` (or `certdata.xml`, as some providers name it).
pub(crate) fn is_daticert_by_name(e: &Entity<'_>) -> bool {
    e.filename_str().is_some_and(|n| {
        n.eq_ignore_ascii_case("daticert.xml") || n.eq_ignore_ascii_case("certdata.xml")
    })
}

/// An unnamed `application/xml` part (the daticert when no part is named).
pub(crate) fn is_unnamed_xml(e: &Entity<'_>) -> bool {
    e.content_type.mime_type == "application/xml" && e.filename_str().is_none()
}

/// The warning of a parse whose signature part is not valid in its transfer encoding (the
/// signature is then left empty).
pub const SIGNATURE_NOT_BASE64: &str = "smime.p7s is not valid base64";

/// The signature part (`smime.p7s`) of a `multipart/signed` as it arrived (see
/// [`PecMessage::parse_deferring_signature`]).
#[derive(Clone, Debug)]
pub struct SignaturePart<'a> {
    /// The transfer-encoded body.
    pub body: &'a [u8],
    /// `Content-Transfer-Encoding`, lowercased (`7bit` when absent).
    pub encoding: String,
}

impl SignaturePart<'_> {
    /// The DER of the signature, decoded as [`PecMessage::parse`] decodes it into
    /// `signed.signature`; `None` when the body is not valid in its transfer encoding.
    pub fn decode(&self) -> Option<Vec<u8>> {
        match self.encoding.as_str() {
            "base64" => crate::mime::decode_base64(self.body),
            "quoted-printable" => Some(crate::mime::decode_quoted_printable(self.body)),
            _ => Some(self.body.to_vec()),
        }
    }
}

/// Finds the first `multipart/signed` entity (tolerating an outer `multipart/mixed` added by
/// a mailing list) and returns it with its exact signed bytes, its signature part and, with
/// `decode`, the decoded signature.
fn signed_parts_of<'e, 'a>(
    root: &'e Entity<'a>,
    warnings: &mut Vec<String>,
    decode: bool,
) -> (Option<&'e Entity<'a>>, Option<SignedParts<'a>>, Option<SignaturePart<'a>>) {
    let signed_entity = find_first(root, |e| e.content_type.mime_type == "multipart/signed");
    let mut signed = None;
    let mut part = None;
    let scope = match signed_entity {
        Some(se) if std::ptr::eq(se, root) => SignedScope::Whole,
        _ => SignedScope::Inner,
    };
    if let Some(se) = signed_entity {
        if let Some(content) = se.children.first() {
            let signature = match se.children.get(1) {
                Some(sig) => {
                    let p = SignaturePart { body: sig.body(), encoding: sig.transfer_encoding() };
                    let bytes = if decode {
                        p.decode().unwrap_or_else(|| {
                            warnings.push(SIGNATURE_NOT_BASE64.into());
                            Vec::new()
                        })
                    } else {
                        Vec::new()
                    };
                    part = Some(p);
                    bytes
                }
                None => {
                    warnings.push("multipart/signed without a signature part".into());
                    Vec::new()
                }
            };
            signed = Some(SignedParts {
                content: content.bytes,
                signature,
                protocol: se.content_type.param("protocol").unwrap_or_default().to_string(),
                micalg: se.content_type.param("micalg").map(str::to_string),
                part_count: se.children.len(),
                scope,
            });
        }
    }
    (signed_entity, signed, part)
}

/// What verification needs from a message, without interpreting its PEC content: the exact
/// signed bytes, the signature and the `From:` header. A tampered message whose
/// `daticert.xml` no longer parses still verifies (as `content-mismatch`).
#[derive(Clone, Debug)]
pub struct SignedMessage<'a> {
    /// The signed content and the signature, when the message is `multipart/signed`.
    pub signed: Option<SignedParts<'a>>,
    /// The decoded `From:` header.
    pub from: Option<String>,
    /// The top-level header block (the `From:` fields and the kind the headers claim are
    /// checked against the signer).
    pub headers: Headers<'a>,
}

impl<'a> SignedMessage<'a> {
    /// Locates the signed part of `raw`.
    ///
    /// # Errors
    /// Input that is not a message at all (empty, no header field) or exceeds the limits.
    pub fn parse(raw: &'a [u8], limits: &Limits) -> Result<SignedMessage<'a>> {
        Self::locate(raw, limits, true)
    }

    /// [`SignedMessage::parse`]; `from` is left `None` unless `decode_from` (verification
    /// reads the `From:` field by grammar from `headers`, never its decoded text).
    pub(crate) fn locate(
        raw: &'a [u8],
        limits: &Limits,
        decode_from: bool,
    ) -> Result<SignedMessage<'a>> {
        let decoded_from = |h: &Headers<'_>| {
            if decode_from { h.get("From").map(|f| decode_unstructured(f.raw_value)) } else { None }
        };
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ParseError::Empty.into());
        }
        Limits::check("message size", limits.max_message_size, raw.len())?;
        // fast path: the message itself is multipart/signed (the usual case); only its two
        // parts are located, the signed content is not walked
        let headers = Headers::parse(raw, limits)?;
        if headers.fields.is_empty() {
            return Err(ParseError::MalformedHeaders("no header fields").into());
        }
        let ct = headers.content_type();
        if ct.mime_type == "multipart/signed" {
            if let Some(boundary) = ct.param("boundary").filter(|b| !b.is_empty()) {
                Limits::check("boundary length", limits.max_boundary, boundary.len())?;
                let body = raw.get(headers.body_start..).unwrap_or_default();
                let parts = crate::mime::split_multipart(body, boundary.as_bytes());
                if parts.len() >= 2 {
                    let content = &body[parts[0].clone()];
                    let sig_bytes = &body[parts[1].clone()];
                    let sig_headers = Headers::parse(sig_bytes, limits)?;
                    let sig_body = sig_bytes.get(sig_headers.body_start..).unwrap_or_default();
                    let base64 = sig_headers
                        .get("Content-Transfer-Encoding")
                        .is_some_and(|f| f.with_unfolded(|v| v.eq_ignore_ascii_case("base64")));
                    let signature = if base64 {
                        crate::mime::decode_base64(sig_body).unwrap_or_default()
                    } else {
                        sig_body.to_vec()
                    };
                    let from = decoded_from(&headers);
                    return Ok(SignedMessage {
                        signed: Some(SignedParts {
                            content,
                            signature,
                            protocol: ct.param("protocol").unwrap_or_default().to_string(),
                            micalg: ct.param("micalg").map(str::to_string),
                            part_count: parts.len(),
                            scope: SignedScope::Whole,
                        }),
                        from,
                        headers,
                    });
                }
            }
        }
        let root = Entity::parse(raw, limits)?;
        if root.headers.fields.is_empty() {
            return Err(ParseError::MalformedHeaders("no header fields").into());
        }
        let mut warnings = Vec::new();
        let (_, signed, _) = signed_parts_of(&root, &mut warnings, true);
        let from = decoded_from(&root.headers);
        Ok(SignedMessage { signed, from, headers: root.headers })
    }

    /// The single `From:` mailbox (see [`PecMessage::from_mailbox`]).
    pub fn from_mailbox(&self) -> Option<MailboxAddress> {
        sole_from(&self.headers)
    }

    /// The domain of the single `From:` mailbox, lowercased.
    pub fn from_domain(&self) -> Option<String> {
        self.from_mailbox().map(|m| m.domain_lowercase())
    }
}

fn kind_of_cert_type(ct: &CertType) -> Option<MessageKind> {
    Some(match ct {
        CertType::Certified => MessageKind::TRANSPORT_ENVELOPE,
        CertType::Acceptance => MessageKind::Receipt(ReceiptKind::Acceptance),
        CertType::NonAcceptance => MessageKind::Receipt(ReceiptKind::NonAcceptance),
        CertType::TakeCharge => MessageKind::Receipt(ReceiptKind::TakeCharge),
        CertType::Delivery => MessageKind::Receipt(ReceiptKind::Delivery),
        CertType::NonDelivery => MessageKind::Receipt(ReceiptKind::NonDelivery),
        CertType::DeliveryTimeout => MessageKind::Receipt(ReceiptKind::DeliveryTimeout),
        CertType::VirusDetection => MessageKind::Receipt(ReceiptKind::VirusDetection),
        CertType::Other(_) => return None,
    })
}

/// Breadth-first search of the MIME tree (bounded by the tree, which the limits bound).
fn find_first<'e, 'a>(
    root: &'e Entity<'a>,
    pred: impl Fn(&Entity<'a>) -> bool,
) -> Option<&'e Entity<'a>> {
    let mut queue = std::collections::VecDeque::new();
    queue.push_back(root);
    while let Some(e) = queue.pop_front() {
        if pred(e) {
            return Some(e);
        }
        queue.extend(e.children.iter());
    }
    None
}

/// Removes the first PEC subject prefix (case-insensitive, whitespace runs tolerated).
pub fn strip_subject_prefix(subject: &str) -> &str {
    let s = subject.trim_start();
    for prefix in subject_prefix::ALL {
        if let Some(rest) = match_prefix_loose(s, prefix) {
            return rest;
        }
    }
    s
}

/// Matches `prefix` at the start of `s` ignoring ASCII case and treating any whitespace run
/// as one space; returns the rest after the prefix (and one following space).
fn match_prefix_loose<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let sb = s.as_bytes();
    let pb = prefix.trim_end().as_bytes();
    let (mut i, mut j) = (0usize, 0usize);
    while j < pb.len() {
        let p = pb[j];
        if p == b' ' {
            if i >= sb.len() || !sb[i].is_ascii_whitespace() {
                return None;
            }
            while i < sb.len() && sb[i].is_ascii_whitespace() {
                i += 1;
            }
            j += 1;
            continue;
        }
        if i >= sb.len() || !sb[i].eq_ignore_ascii_case(&p) {
            return None;
        }
        i += 1;
        j += 1;
    }
    // the prefix ends with ':'; skip following whitespace
    while i < sb.len() && sb[i].is_ascii_whitespace() {
        i += 1;
    }
    s.get(i..)
}

fn collect_hash_parts(original: &[u8], limits: &Limits) -> Vec<HashPart> {
    let Ok(tree) = Entity::parse(original, limits) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in tree.walk() {
        let Some(name) = e.filename() else { continue };
        if !name.to_ascii_lowercase().ends_with(".hash") {
            continue;
        }
        let Ok(body) = e.decoded_body() else { continue };
        let text = String::from_utf8_lossy(&body);
        let hex: String = text.trim().to_ascii_lowercase();
        if hex.len() == 40 && hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            out.push(HashPart { filename: name, sha1: hex });
        }
    }
    out
}

fn strip_angle(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix('<').and_then(|x| x.strip_suffix('>')).unwrap_or(t).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_prefixes() {
        assert_eq!(strip_subject_prefix("POSTA CERTIFICATA: Fattura"), "Fattura");
        assert_eq!(
            strip_subject_prefix("ANOMALIA MESSAGGIO: POSTA CERTIFICATA: x"),
            "POSTA CERTIFICATA: x"
        );
        assert_eq!(
            strip_subject_prefix("Avviso di mancata consegna per sup.  tempo massimo: y"),
            "y"
        );
        assert_eq!(strip_subject_prefix("AVVISO DI NON ACCETTAZIONE PER VIRUS: z"), "z");
        assert_eq!(strip_subject_prefix("CONSEGNA: a"), "a");
        assert_eq!(strip_subject_prefix("Hello"), "Hello");
    }

    #[test]
    fn ordinary_mail_is_not_an_error() {
        let m = PecMessage::parse(b"From: a@b.it\r\nSubject: hi\r\n\r\nbody\r\n").unwrap();
        assert!(m.kind.is_none());
        assert_eq!(m.subject.as_deref(), Some("hi"));
        assert_eq!(m.from_domain().as_deref(), Some("b.it"));
    }

    #[test]
    fn garbage_is_a_typed_error() {
        assert!(PecMessage::parse(b"").is_err());
        assert!(PecMessage::parse(b"\x00\x01\x02 not a message").is_err());
    }
}
