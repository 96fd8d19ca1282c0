//! What the builders read from their input: the user's original message (access point) or
//! a received transport envelope (everything downstream).

use std::borrow::Cow;

use crate::daticert::Daticert;
use crate::error::{BuildError, Result};
use crate::headers::{decode_unstructured, parse_address_list};
use crate::identifier::{strip_angle, with_angle};
use crate::limits::Limits;
use crate::mime::{Entity, Headers, canonicalize_crlf_vec};
use crate::model::{ReceiptType, TransportKind, header};

/// The header data of a message that certification needs.
#[derive(Clone, Debug, Default)]
pub(crate) struct OriginalInfo {
    /// Bare address of the first `From:` mailbox.
    pub sender: Option<String>,
    /// `To:` addresses.
    pub to: Vec<String>,
    /// `Cc:` addresses.
    pub cc: Vec<String>,
    /// Bare address of the first `Reply-To:` mailbox.
    pub reply_to: Option<String>,
    /// `Subject:`, decoded.
    pub subject: Option<String>,
    /// `Message-ID:`, with angle brackets.
    pub msgid: Option<String>,
    /// `X-TipoRicevuta`.
    pub receipt_type: Option<ReceiptType>,
}

fn addresses(h: &Headers<'_>, name: &str) -> Vec<String> {
    h.get_all(name)
        .flat_map(|f| parse_address_list(&decode_unstructured(f.raw_value)))
        .map(|m| m.address.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

impl OriginalInfo {
    pub(crate) fn from_headers(h: &Headers<'_>) -> OriginalInfo {
        OriginalInfo {
            sender: addresses(h, "From").into_iter().next(),
            to: addresses(h, "To"),
            cc: addresses(h, "Cc"),
            reply_to: addresses(h, "Reply-To").into_iter().next(),
            subject: h.get("Subject").map(|f| decode_unstructured(f.raw_value)),
            msgid: h
                .value("Message-ID")
                .map(|v| v.trim().to_string())
                .filter(|v| !strip_angle(v).is_empty())
                .map(|v| with_angle(&v)),
            receipt_type: h
                .value(header::TIPO_RICEVUTA)
                .map(|v| ReceiptType::from_wire(&v))
                .filter(ReceiptType::is_known),
        }
    }
}

/// A received transport envelope, as the downstream builders need it.
#[derive(Debug)]
pub(crate) struct EnvelopeData {
    /// The PEC identifier (daticert `<identificativo>`, else the envelope's Message-ID).
    pub identifier: String,
    /// The client msgid, with angle brackets.
    pub msgid: Option<String>,
    /// The receipt type the sender asked for (absent ⇒ `completa`).
    pub requested: ReceiptType,
    /// The envelope's certification data, when readable.
    pub daticert: Option<Daticert>,
    /// `postacert.eml`, CRLF-canonical.
    pub original: Option<Vec<u8>>,
    /// Header data of `postacert.eml` (or, failing that, of the envelope).
    pub info: OriginalInfo,
    /// Bare address of the envelope's own `From:` (the sender provider's service address).
    pub envelope_from: Option<String>,
    /// `Return-Path:` of the envelope.
    pub return_path: Option<String>,
}

impl EnvelopeData {
    /// Reads a transport envelope (signed or not).
    pub(crate) fn read(envelope: &[u8]) -> Result<EnvelopeData> {
        let limits = Limits::default();
        let root = Entity::parse(envelope, &limits)?;
        let h = &root.headers;
        let trasporto = h.value(header::TRASPORTO).map(|v| TransportKind::from_wire(&v));
        if trasporto != Some(TransportKind::Certified) {
            let found = match (trasporto, h.value(header::RICEVUTA)) {
                (Some(t), _) => format!("X-Trasporto: {t}"),
                (None, Some(r)) => format!("X-Ricevuta: {r}"),
                (None, None) => "ordinary mail".into(),
            };
            return Err(BuildError::WrongInput { expected: "a transport envelope", found }.into());
        }
        let mut daticert_bytes: Option<Cow<'_, [u8]>> = None;
        let mut original: Option<Vec<u8>> = None;
        for e in root.walk() {
            if e.depth == 0 {
                continue;
            }
            let name = e.filename().unwrap_or_default().to_ascii_lowercase();
            if daticert_bytes.is_none()
                && (name == "daticert.xml"
                    || name == "certdata.xml"
                    || (name.is_empty() && e.content_type.mime_type == "application/xml"))
            {
                daticert_bytes = Some(e.decoded_body()?);
            } else if original.is_none()
                && (name == "postacert.eml" || e.content_type.mime_type == "message/rfc822")
            {
                original = Some(canonicalize_crlf_vec(e.decoded_body()?.into_owned()));
            }
        }
        let daticert = daticert_bytes.as_deref().and_then(|b| Daticert::parse(b).ok());
        let env_info = OriginalInfo::from_headers(h);
        let info = match &original {
            Some(o) => OriginalInfo::from_headers(&Headers::parse(o, &limits)?),
            None => env_info.clone(),
        };
        let identifier = daticert
            .as_ref()
            .map(|d| d.identifier.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| env_info.msgid.as_deref().map(|m| strip_angle(m).to_string()))
            .ok_or(BuildError::WrongInput {
                expected: "a transport envelope with a Message-ID",
                found: "no Message-ID".into(),
            })?;
        let msgid = h
            .value(header::RIFERIMENTO_MESSAGE_ID)
            .filter(|v| !strip_angle(v).is_empty())
            .map(|v| with_angle(&v))
            .or_else(|| daticert.as_ref().and_then(|d| d.msgid.clone()));
        let requested = env_info
            .receipt_type
            .clone()
            .or_else(|| daticert.as_ref().and_then(|d| d.receipt_type.clone()))
            .unwrap_or_default();
        Ok(EnvelopeData {
            identifier,
            msgid,
            requested,
            daticert,
            original,
            info,
            envelope_from: env_info.sender.clone(),
            return_path: h
                .value("Return-Path")
                .map(|v| strip_angle(&v).to_string())
                .filter(|v| !v.is_empty()),
        })
    }

    /// The original sender: daticert `<mittente>`, else the `From:` of `postacert.eml`.
    pub(crate) fn sender(&self) -> Option<String> {
        self.daticert
            .as_ref()
            .map(|d| d.sender.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| self.info.sender.clone())
    }

    /// The original subject: daticert `<oggetto>`, else the `Subject:` of `postacert.eml`.
    pub(crate) fn subject(&self) -> Option<String> {
        self.daticert.as_ref().and_then(|d| d.subject.clone()).or_else(|| self.info.subject.clone())
    }
}
