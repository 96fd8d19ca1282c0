//! Builders of every PEC envelope, receipt and notice (RFC 6109 §3; docs/SPEC.md §2–§6).
//!
//! One entry point, [`Provider::build`], takes a [`BuildRequest`] and produces canonical CRLF
//! MIME (no bare LF anywhere): headers per §3.2, a `multipart/mixed` body per §4 (human text
//! as `multipart/alternative`, then `daticert.xml`, then `postacert.eml` as the kind
//! requires), and signs it as `multipart/signed` when a [`Signer`] is given, with the
//! transaction's single time reference (§10.3) as signing time.
//!
//! Kinds issued at the sender's access point read the user's `original`
//! (`posta-certificata`, `accettazione`, `non-accettazione`); all others read the received
//! transport `envelope` (for `errore`, the anomaly envelope, any received message).
//!
//! One module per what it builds: `envelope.rs` (the transport and anomaly envelopes),
//! `access_point.rs` (acceptance and non-acceptance notices), `receipts.rs` (the recipient
//! side: take-charge, delivery, non-delivery, timeout and virus notices) and `assemble.rs` (the
//! MIME serialisation every kind shares). This file holds the request, the dispatch and the
//! helpers more than one kind uses.

mod access_point;
mod assemble;
pub mod brief;
mod envelope;
mod receipts;
mod source;
mod text;

use crate::checks::SmtpEnvelope;
use crate::daticert::{Daticert, Recipient};
use crate::error::{BuildError, Result};
use crate::headers::{check_no_injection, encode_unstructured, validate_addr_spec};
use crate::identifier::strip_angle;
use crate::model::{CertError, MessageKind, ReceiptKind, ReceiptType, TransportKind, header};
use crate::provider::Provider;
use crate::signer::Signer;
use crate::smime::sign_message;
use assemble::field;
use source::OriginalInfo;

pub use crate::timeref::TimeReference;

/// Which timeout notice (RFC 6109 §3.1.6; docs/SPEC.md §9.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// The 12-hour warning: delivery may still happen.
    H12,
    /// The 24-hour notice: the transaction has failed.
    H24,
}

impl Timeout {
    /// Parses `12h` / `24h` (also `12`, `24`).
    pub fn from_wire(s: &str) -> Option<Timeout> {
        match s.trim().to_ascii_lowercase().as_str() {
            "12h" | "12" => Some(Timeout::H12),
            "24h" | "24" => Some(Timeout::H24),
            _ => None,
        }
    }

    /// `12h` or `24h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timeout::H12 => "12h",
            Timeout::H24 => "24h",
        }
    }
}

/// Everything one build needs. Fields a kind does not use are ignored.
#[derive(Clone, Debug)]
pub struct BuildRequest<'a> {
    /// The kind to build (its wire value is `X-Trasporto` / `X-Ricevuta`).
    pub kind: MessageKind,
    /// The transaction's time reference (now, when `None`).
    pub time: Option<TimeReference>,
    /// The user's original message (`posta-certificata`, `accettazione`,
    /// `non-accettazione`).
    pub original: Option<&'a [u8]>,
    /// The received transport envelope (every other kind; for `errore`, any message).
    pub envelope: Option<&'a [u8]>,
    /// The recipient(s) the notice is about (one; several for `presa-in-carico`).
    pub recipients: Vec<String>,
    /// Overrides the delivery receipt type chosen by docs/SPEC.md §3.3.
    pub receipt_type: Option<ReceiptType>,
    /// `postacert@errore` (`non-accettazione`: `virus` selects the virus variant;
    /// `errore-consegna`: `no-dest`, `no-dominio`, `virus`, `altro`).
    pub error: Option<CertError>,
    /// `errore-esteso` and the description in the human text.
    pub error_text: Option<String>,
    /// Which timeout notice (`preavviso-errore-consegna`).
    pub timeout: Option<Timeout>,
    /// The SMTP transaction (reverse and forward paths), when known.
    pub smtp: Option<SmtpEnvelope>,
    /// The PEC identifier of this submission (access-point kinds): the transport envelope's
    /// `Message-ID` and every notice's `<identificativo>`. Pass the same value when building
    /// the acceptance and the transport envelope of one submission; generated when `None`.
    pub identifier: Option<String>,
    /// The `Authentication-Results` field of the incoming point's sender-authentication
    /// checks (MAILSEC.md §1): the complete field (`Authentication-Results: id; spf=...`),
    /// folded with CRLF followed by a space or tab, printable ASCII, without the final CRLF.
    /// Written as the **first outer header of the anomaly envelope** only: never inside the
    /// signed part, never into `postacert.eml`, ignored by every other kind. Checked
    /// ([`crate::mailsec::auth::check_ar_field`]) whatever the kind.
    pub auth_results: Option<String>,
}

impl Default for BuildRequest<'_> {
    /// A transport-envelope request with every input empty.
    fn default() -> Self {
        BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE)
    }
}

impl<'a> BuildRequest<'a> {
    /// A request for `kind` with every input empty.
    pub fn new(kind: MessageKind) -> BuildRequest<'a> {
        BuildRequest {
            kind,
            time: None,
            original: None,
            envelope: None,
            recipients: Vec::new(),
            receipt_type: None,
            error: None,
            error_text: None,
            timeout: None,
            smtp: None,
            identifier: None,
            auth_results: None,
        }
    }
}

impl Provider {
    /// Builds the message `req` asks for, signed with `signer` when given (the
    /// transaction's time is the CMS signingTime), else unsigned and ready to sign.
    ///
    /// # Errors
    /// [`BuildError::MissingInput`] / [`BuildError::WrongInput`] for missing or wrong inputs,
    /// [`BuildError::FormalChecks`] when the original of an envelope or acceptance fails the
    /// access point's checks, [`crate::error::ParseError::HeaderInjection`] for a CR/LF that
    /// would reach a header, [`crate::error::ParseError::InvalidAddress`] for a bad
    /// recipient, and the signer's errors.
    pub fn build(&self, req: &BuildRequest<'_>, signer: Option<&dyn Signer>) -> Result<Vec<u8>> {
        let time = match &req.time {
            Some(t) => *t,
            None => self.now(),
        };
        for r in &req.recipients {
            check_no_injection("recipient", r)?;
            validate_addr_spec(strip_angle(r))?;
        }
        if let Some(t) = &req.error_text {
            check_no_injection("errore-esteso", t)?;
        }
        if let Some(ar) = &req.auth_results {
            crate::mailsec::auth::check_ar_field(ar)?;
        }
        let ctx = Ctx { provider: self, req, time: &time };
        let unsigned = match &req.kind {
            MessageKind::Transport(TransportKind::Certified) => ctx.transport_envelope()?,
            MessageKind::Transport(TransportKind::Anomaly) => ctx.anomaly_envelope()?,
            MessageKind::Receipt(ReceiptKind::Acceptance) => ctx.acceptance()?,
            MessageKind::Receipt(ReceiptKind::NonAcceptance) => ctx.non_acceptance()?,
            MessageKind::Receipt(k @ ReceiptKind::TakeCharge)
            | MessageKind::Receipt(k @ ReceiptKind::Delivery)
            | MessageKind::Receipt(k @ ReceiptKind::NonDelivery)
            | MessageKind::Receipt(k @ ReceiptKind::DeliveryTimeout)
            | MessageKind::Receipt(k @ ReceiptKind::VirusDetection) => ctx.receipt(k)?,
            other => return Err(BuildError::UnknownKind(other.as_str().to_string()).into()),
        };
        debug_assert!(no_bare_lf(&unsigned));
        match signer {
            Some(s) => sign_message(&unsigned, s, time.utc()),
            None => Ok(unsigned),
        }
    }

    /// The current time in the provider's zone (UTC offset of the zone, else the
    /// time reference's default).
    fn now(&self) -> TimeReference {
        match self.timezone {
            Some(tz) => {
                TimeReference::from_datetime(chrono::Utc::now().with_timezone(&tz).fixed_offset())
            }
            None => TimeReference::now(),
        }
    }
}

/// Whether `b` has no LF without a CR before it.
pub fn no_bare_lf(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, &c)| c != b'\n' || (i > 0 && b.get(i - 1) == Some(&b'\r')))
}

/// One build in progress: the provider, the request and the transaction's time reference.
struct Ctx<'p, 'r, 'a> {
    provider: &'p Provider,
    req: &'r BuildRequest<'a>,
    time: &'r TimeReference,
}

impl Ctx<'_, '_, '_> {
    fn original(&self) -> Result<&[u8]> {
        self.req.original.ok_or_else(|| BuildError::MissingInput("original message").into())
    }

    fn envelope(&self) -> Result<&[u8]> {
        self.req.envelope.ok_or_else(|| BuildError::MissingInput("envelope").into())
    }

    fn date_field(&self) -> String {
        format!("Date: {}\r\n", self.time.rfc5322())
    }

    fn notice_from(&self) -> String {
        format!("From: \"Posta Certificata\" <{}>\r\n", self.provider.service_address())
    }

    fn recipients_with_type(&self, info: &OriginalInfo) -> Vec<Recipient> {
        info.to
            .iter()
            .chain(info.cc.iter())
            .map(|a| Recipient { address: a.clone(), kind: self.provider.classify(a) })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn base_daticert(
        &self,
        kind: &MessageKind,
        sender: &str,
        recipients: Vec<Recipient>,
        reply_to: &str,
        subject: Option<String>,
        identifier: &str,
        msgid: Option<String>,
    ) -> Daticert {
        Daticert {
            kind: kind.cert_type(),
            error: CertError::None,
            sender: sender.to_string(),
            recipients,
            reply_to: reply_to.to_string(),
            subject,
            issuer: self.provider.name.clone(),
            date: self.time.cert_date(),
            identifier: identifier.to_string(),
            msgid,
            receipt_type: None,
            delivery: None,
            received: Vec::new(),
            extended_error: None,
        }
    }

    /// The SMTP reverse path of the request, without angle brackets (not validated).
    fn reverse_path(&self) -> Option<String> {
        self.req
            .smtp
            .as_ref()
            .and_then(|s| s.reverse_path.as_deref())
            .map(|s| strip_angle(s).to_string())
    }

    /// Where notices to the original sender go: the SMTP reverse path, else `sender`.
    fn notice_to(&self, sender: &str) -> String {
        self.reverse_path()
            .filter(|s| validate_addr_spec(s).is_ok())
            .unwrap_or_else(|| sender.to_string())
    }

    /// `Date`, `From`, `To`, `Subject`, `Message-ID`, `X-Riferimento-Message-ID` of a notice.
    fn notice_headers(
        &self,
        to: &str,
        prefix: &str,
        subject: &str,
        own_id: &str,
        msgid: Option<&str>,
    ) -> Result<Vec<String>> {
        let mut headers = vec![self.date_field(), self.notice_from()];
        headers.push(field("To", to)?);
        headers.push(encode_unstructured("Subject", &format!("{prefix}{subject}"))?);
        headers.push(format!("Message-ID: <{own_id}>\r\n"));
        if let Some(m) = msgid {
            headers.push(field(header::RIFERIMENTO_MESSAGE_ID, m)?);
        }
        Ok(headers)
    }
}
