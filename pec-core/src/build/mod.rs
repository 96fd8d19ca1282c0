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

pub mod brief;
mod source;
mod text;

use base64::Engine as _;

use crate::checks::{SmtpEnvelope, Violation, formal_checks, same_address};
use crate::crypto::sha1_hex;
use crate::daticert::{Daticert, Recipient};
use crate::error::{BuildError, Result};
use crate::headers::{
    check_no_injection, encode_unstructured, on_behalf_of_from, quoted_printable,
    validate_addr_spec,
};
use crate::identifier::strip_angle;
use crate::limits::Limits;
use crate::mime::{Headers, canonicalize_crlf};
use crate::model::{
    CertError, MessageKind, ReceiptKind, ReceiptType, RecipientType, TransportKind, header,
    subject_prefix,
};
use crate::provider::Provider;
use crate::signer::Signer;
use crate::smime::sign_message;
use source::{EnvelopeData, OriginalInfo};
use text::HumanText;

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
            | MessageKind::Receipt(k @ ReceiptKind::VirusDetection) => ctx.downstream(k)?,
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

struct Ctx<'p, 'r, 'a> {
    provider: &'p Provider,
    req: &'r BuildRequest<'a>,
    time: &'r TimeReference,
}

/// The parts of a message under construction.
struct Draft {
    headers: Vec<String>,
    text: HumanText,
    daticert: Option<Daticert>,
    postacert: Option<Vec<u8>>,
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

    /// Sender of the original at the access point: `From:`, else the SMTP reverse path.
    fn ap_sender(&self, info: &OriginalInfo) -> Result<String> {
        info.sender
            .clone()
            .filter(|s| validate_addr_spec(s).is_ok())
            .or_else(|| {
                self.req
                    .smtp
                    .as_ref()
                    .and_then(|s| s.reverse_path.as_deref())
                    .map(|s| strip_angle(s).to_string())
            })
            .ok_or_else(|| BuildError::MissingInput("sender (From: or SMTP reverse path)").into())
    }

    /// Where notices to the original sender go: the SMTP reverse path, else `sender`.
    fn notice_to(&self, sender: &str) -> String {
        self.req
            .smtp
            .as_ref()
            .and_then(|s| s.reverse_path.as_deref())
            .map(|s| strip_angle(s).to_string())
            .filter(|s| validate_addr_spec(s).is_ok())
            .unwrap_or_else(|| sender.to_string())
    }

    fn checks(&self, original: &[u8]) -> Vec<Violation> {
        let default = SmtpEnvelope::default();
        formal_checks(original, self.req.smtp.as_ref().unwrap_or(&default), self.provider.max_size)
    }

    // ---- access point -------------------------------------------------------------------

    /// The PEC identifier of the submission: the caller's, or a fresh one.
    fn pec_identifier(&self) -> Result<String> {
        match &self.req.identifier {
            Some(id) => {
                let id = strip_angle(id).to_string();
                check_no_injection("Message-ID", &id)?;
                validate_addr_spec(&id)
                    .map_err(|_| crate::error::ParseError::InvalidAddress(id.clone()))?;
                Ok(id)
            }
            None => Ok(self.provider.next_id(&self.time.datetime())),
        }
    }

    fn transport_envelope(&self) -> Result<Vec<u8>> {
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

        let recipients = self.recipients_with_type(&info);
        let reply_to = info.reply_to.clone().unwrap_or_else(|| sender.clone());
        let mut d = self.base_daticert(
            &self.req.kind,
            &sender,
            recipients.clone(),
            &reply_to,
            info.subject.clone(),
            &id,
            info.msgid.clone(),
        );
        d.receipt_type = Some(requested);
        let text = HumanText::new("Messaggio di posta certificata")
            .para(format!(
                "Il giorno {} il messaggio \"{subject}\" è stato inviato da \"{sender}\" \
                 indirizzato a:",
                self.time.human()
            ))
            .list(recipients.iter().map(|r| r.address.clone()).collect())
            .para("Il messaggio originale è incluso in allegato.")
            .para(format!("Identificativo messaggio: {id}"));
        let postacert = rewrite_original(original, &h, &id, info.msgid.as_deref())?;
        assemble(Draft { headers, text, daticert: Some(d), postacert: Some(postacert) }, &id)
    }

    fn acceptance(&self) -> Result<Vec<u8>> {
        let original = self.original()?;
        let violations = self.checks(original);
        if !violations.is_empty() {
            return Err(formal_error(&violations));
        }
        self.access_point_notice(original, None)
    }

    fn non_acceptance(&self) -> Result<Vec<u8>> {
        let original = self.original()?;
        let virus = self.req.error == Some(CertError::Virus);
        let description = match &self.req.error_text {
            Some(t) => t.clone(),
            None if virus => "virus informatico rilevato nel messaggio".to_string(),
            None => {
                let v = self.checks(original);
                if v.is_empty() {
                    "errore formale nel messaggio".to_string()
                } else {
                    v.iter().map(Violation::description).collect::<Vec<_>>().join("; ")
                }
            }
        };
        check_no_injection("errore-esteso", &description)?;
        self.access_point_notice(original, Some((virus, description)))
    }

    /// Acceptance (`failure` = None) or non-acceptance (`failure` = (virus, description)).
    fn access_point_notice(
        &self,
        original: &[u8],
        failure: Option<(bool, String)>,
    ) -> Result<Vec<u8>> {
        let limits = Limits::default();
        let h = Headers::parse(original, &limits)?;
        let info = OriginalInfo::from_headers(&h);
        let sender = self.ap_sender(&info)?;
        // the PEC identifier the access point assigns to this message
        let id = self.pec_identifier()?;
        let own_id = self.provider.next_id(&self.time.datetime());
        let subject = info.subject.clone().unwrap_or_default();
        let recipients = self.recipients_with_type(&info);
        let reply_to = info.reply_to.clone().unwrap_or_else(|| sender.clone());
        let mut d = self.base_daticert(
            &self.req.kind,
            &sender,
            recipients.clone(),
            &reply_to,
            info.subject.clone(),
            &id,
            info.msgid.clone(),
        );
        let prefix = match &failure {
            None => subject_prefix::ACCEPTANCE,
            Some((true, _)) => subject_prefix::NON_ACCEPTANCE_VIRUS,
            Some((false, _)) => subject_prefix::NON_ACCEPTANCE,
        };
        let mut headers = self.notice_headers(
            &self.notice_to(&sender),
            prefix,
            &subject,
            &own_id,
            info.msgid.as_deref(),
        )?;
        let listed: Vec<String> = recipients
            .iter()
            .map(|r| {
                let t = match r.kind {
                    RecipientType::External => "posta ordinaria",
                    _ => "posta certificata",
                };
                format!("{} (\"{t}\")", r.address)
            })
            .collect();
        let intro = format!(
            "Il giorno {} il messaggio \"{subject}\" proveniente da \"{sender}\" ed indirizzato a:",
            self.time.human()
        );
        let text = match failure {
            None => HumanText::new("Ricevuta di accettazione")
                .para(intro)
                .list(listed)
                .para("è stato accettato dal sistema ed inoltrato."),
            Some((virus, description)) => {
                headers.push(field(header::RICEVUTA, ReceiptKind::NonAcceptance.as_str())?);
                if virus {
                    headers.push(field(header::VERIFICA_SICUREZZA, "errore")?);
                    d.error = CertError::Virus;
                } else {
                    d.error = CertError::Another;
                }
                d.extended_error = Some(description.clone());
                let (title, outcome) = if virus {
                    (
                        "Avviso di non accettazione per virus",
                        format!(
                            "è stato rilevato un problema di sicurezza ({description}). Il \
                             messaggio non è stato accettato."
                        ),
                    )
                } else {
                    (
                        "Avviso di non accettazione",
                        format!("non è stato accettato dal sistema a causa di: {description}."),
                    )
                };
                HumanText::new(title).para(intro).list(listed).para(outcome)
            }
        };
        if headers.iter().all(|f| !f.starts_with("X-Ricevuta:")) {
            headers.push(field(header::RICEVUTA, ReceiptKind::Acceptance.as_str())?);
        }
        let text = text.para(format!("Identificativo messaggio: {id}"));
        assemble(Draft { headers, text, daticert: Some(d), postacert: None }, &own_id)
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

    // ---- anomaly envelope ---------------------------------------------------------------

    fn anomaly_envelope(&self) -> Result<Vec<u8>> {
        let received = self.envelope()?;
        let limits = Limits::default();
        let h = Headers::parse(received, &limits)?;
        let info = OriginalInfo::from_headers(&h);
        let subject = info.subject.clone().unwrap_or_default();
        let sender = info.sender.clone().filter(|s| validate_addr_spec(s).is_ok());
        let mut headers = Vec::new();
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

    // ---- downstream notices (from a transport envelope) ---------------------------------

    fn downstream(&self, kind: &ReceiptKind) -> Result<Vec<u8>> {
        let env = EnvelopeData::read(self.envelope()?)?;
        let sender = env.sender().ok_or(BuildError::WrongInput {
            expected: "a transport envelope naming the sender",
            found: "no sender".into(),
        })?;
        let subject_opt = env.subject();
        let subject = subject_opt.clone().unwrap_or_default();
        let recipients: Vec<Recipient> = match &env.daticert {
            Some(d) if !d.recipients.is_empty() => d.recipients.clone(),
            _ => self.recipients_with_type(&env.info),
        };
        let reply_to = env
            .daticert
            .as_ref()
            .map(|d| d.reply_to.clone())
            .filter(|r| !r.trim().is_empty())
            .or_else(|| env.info.reply_to.clone())
            .unwrap_or_else(|| sender.clone());
        let targets: Vec<String> =
            self.req.recipients.iter().map(|r| strip_angle(r).to_string()).collect();
        let one = || -> Result<String> {
            match targets.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(BuildError::MissingInput("recipient").into()),
                _ => Err(BuildError::WrongInput {
                    expected: "exactly one recipient",
                    found: format!("{} recipients", targets.len()),
                }
                .into()),
            }
        };
        let own_id = self.provider.next_id(&self.time.datetime());
        let mut d = self.base_daticert(
            &MessageKind::Receipt(kind.clone()),
            &sender,
            recipients,
            &reply_to,
            subject_opt,
            &env.identifier,
            env.msgid.clone(),
        );
        let h = self.time.human();
        let id_line = format!("Identificativo messaggio: {}", env.identifier);
        let mut extra: Vec<String> = Vec::new();
        let mut postacert = None;
        let (to, prefix, text) = match kind {
            ReceiptKind::TakeCharge => {
                if targets.is_empty() {
                    return Err(BuildError::MissingInput("recipient").into());
                }
                d.received = targets.clone();
                let text = HumanText::new("Ricevuta di presa in carico")
                    .para(format!(
                        "Il giorno {h} il messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                         indirizzato a:"
                    ))
                    .list(targets.clone())
                    .para("è stato accettato dal sistema.");
                (self.service_mailbox(&env, &sender), subject_prefix::TAKE_CHARGE, text)
            }
            ReceiptKind::Delivery => {
                let rcpt = one()?;
                let primary = env.info.to.iter().any(|a| same_address(a, &rcpt));
                let only_cc = !primary && env.info.cc.iter().any(|a| same_address(a, &rcpt));
                let effective = match &self.req.receipt_type {
                    Some(t) => t.clone(),
                    None if only_cc => ReceiptType::Concise,
                    None => env.requested.clone(),
                };
                let (title, note) = match effective {
                    ReceiptType::Brief => {
                        let o = env.original.as_deref().ok_or(BuildError::WrongInput {
                            expected: "a transport envelope with postacert.eml",
                            found: "no postacert.eml".into(),
                        })?;
                        postacert = Some(brief::brief_original(o)?);
                        (
                            "Ricevuta breve di avvenuta consegna",
                            Some(
                                "Il messaggio originale è incluso in allegato, con gli allegati \
                                 sostituiti dalla loro impronta SHA-1.",
                            ),
                        )
                    }
                    ReceiptType::Concise => ("Ricevuta sintetica di avvenuta consegna", None),
                    _ => {
                        let o = env.original.clone().ok_or(BuildError::WrongInput {
                            expected: "a transport envelope with postacert.eml",
                            found: "no postacert.eml".into(),
                        })?;
                        postacert = Some(o);
                        (
                            "Ricevuta di avvenuta consegna",
                            Some("Il messaggio originale è incluso in allegato."),
                        )
                    }
                };
                d.receipt_type = Some(effective);
                d.delivery = Some(rcpt.clone());
                let mut text = HumanText::new(title).para(format!(
                    "Il giorno {h} il messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                     indirizzato a \"{rcpt}\" è stato consegnato nella casella di destinazione."
                ));
                if let Some(n) = note {
                    text = text.para(n);
                }
                (self.notice_to(&sender), subject_prefix::DELIVERY, text)
            }
            ReceiptKind::NonDelivery => {
                let rcpt = one()?;
                let err = match &self.req.error {
                    Some(CertError::None) | None => CertError::Another,
                    Some(e) => e.clone(),
                };
                let virus = err == CertError::Virus;
                let description = self.req.error_text.clone().unwrap_or_else(|| {
                    match err {
                        CertError::NoRecipient => "5.1.1 - utente inesistente",
                        CertError::NoDomain => "5.1.2 - dominio di destinazione inesistente",
                        CertError::Virus => "virus informatico rilevato nel messaggio",
                        _ => "errore nella consegna del messaggio",
                    }
                    .to_string()
                });
                d.error = err;
                d.delivery = Some(rcpt.clone());
                d.extended_error = Some(description.clone());
                let text = if virus {
                    extra.push(field(header::VERIFICA_SICUREZZA, "errore")?);
                    HumanText::new("Avviso di mancata consegna per virus").para(format!(
                        "Il giorno {h} nel messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                         indirizzato a \"{rcpt}\" è stato rilevato un problema di sicurezza \
                         ({description}). Il messaggio non è stato consegnato."
                    ))
                } else {
                    HumanText::new("Avviso di mancata consegna").para(format!(
                        "Il giorno {h} nel messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                         indirizzato a \"{rcpt}\" è stato rilevato un errore: {description}. Il \
                         messaggio è stato rifiutato dal sistema."
                    ))
                };
                let prefix = if virus {
                    subject_prefix::NON_DELIVERY_VIRUS
                } else {
                    subject_prefix::NON_DELIVERY
                };
                (self.notice_to(&sender), prefix, text)
            }
            ReceiptKind::DeliveryTimeout => {
                let rcpt = one()?;
                let timeout = self.req.timeout.ok_or(BuildError::MissingInput("timeout"))?;
                d.error = self.req.error.clone().unwrap_or(CertError::Another);
                d.delivery = Some(rcpt.clone());
                d.extended_error = self.req.error_text.clone();
                let body = match timeout {
                    Timeout::H12 => format!(
                        "Il giorno {h} il messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                         indirizzato a \"{rcpt}\" non è stato ancora consegnato entro 12 ore \
                         dall'invio. La consegna potrebbe ancora avvenire; se non avverrà entro \
                         le prossime 12 ore riceverà un ulteriore avviso."
                    ),
                    Timeout::H24 => format!(
                        "Il giorno {h} il messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                         indirizzato a \"{rcpt}\" non è stato consegnato entro 24 ore \
                         dall'invio. La trasmissione è da considerarsi conclusa con esito \
                         negativo."
                    ),
                };
                let text =
                    HumanText::new("Avviso di mancata consegna per superamento dei tempi massimi")
                        .para(body);
                (self.notice_to(&sender), subject_prefix::TIMEOUT, text)
            }
            ReceiptKind::VirusDetection => {
                let rcpt = one()?;
                d.error = CertError::Virus;
                d.delivery = Some(rcpt.clone());
                d.extended_error = self.req.error_text.clone();
                extra.push(field(header::MITTENTE, &sender)?);
                let description =
                    self.req.error_text.clone().unwrap_or_else(|| "virus informatico".to_string());
                let text = HumanText::new("Avviso di rilevazione virus informatico").para(format!(
                    "Il giorno {h} nel messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                     indirizzato a \"{rcpt}\" è stato rilevato un problema di sicurezza \
                     ({description}). Il messaggio non è stato consegnato."
                ));
                (self.service_mailbox(&env, &sender), subject_prefix::VIRUS_DETECTION, text)
            }
            other => return Err(BuildError::UnknownKind(other.as_str().to_string()).into()),
        };
        let mut headers =
            self.notice_headers(&to, prefix, &subject, &own_id, env.msgid.as_deref())?;
        headers.push(field(header::RICEVUTA, kind.as_str())?);
        headers.extend(extra);
        let text = text.para(id_line);
        assemble(Draft { headers, text, daticert: Some(d), postacert }, &own_id)
    }

    /// The sender provider's service mailbox: `mailReceipt` from the index, else the SMTP
    /// reverse path, else the envelope's `From:` (the sender provider's service address),
    /// else its `Return-Path:`, else the original sender.
    fn service_mailbox(&self, env: &EnvelopeData, sender: &str) -> String {
        self.provider
            .mail_receipt_for(sender)
            .or_else(|| {
                self.req
                    .smtp
                    .as_ref()
                    .and_then(|s| s.reverse_path.as_deref())
                    .map(|s| strip_angle(s).to_string())
            })
            .or_else(|| env.envelope_from.clone())
            .or_else(|| env.return_path.clone())
            .filter(|s| validate_addr_spec(s).is_ok())
            .unwrap_or_else(|| sender.to_string())
    }
}

fn formal_error(v: &[Violation]) -> crate::Error {
    BuildError::FormalChecks { violations: v.iter().map(ToString::to_string).collect() }.into()
}

/// `Name: value\r\n`, refusing CR/LF/NUL in the value.
fn field(name: &str, value: &str) -> Result<String> {
    check_no_injection(name, value)?;
    Ok(format!("{name}: {value}\r\n"))
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
    Ok(canonicalize_crlf(&out).into_owned())
}

/// Offset just after the last header field (before the empty line).
fn header_block_end(original: &[u8], h: &Headers<'_>) -> usize {
    h.fields.last().map(|f| f.range.end).unwrap_or(0).min(original.len())
}

/// Serialises a draft as a complete unsigned message.
fn assemble(d: Draft, seed: &str) -> Result<Vec<u8>> {
    let plain = quoted_printable(&d.text.plain());
    let html = quoted_printable(&d.text.html());
    let xml = match &d.daticert {
        Some(dc) => Some(dc.to_xml()?),
        None => None,
    };
    let postacert = d.postacert.as_deref().map(|p| canonicalize_crlf(p).into_owned());
    let (outer, inner) = boundaries(seed, postacert.as_deref().unwrap_or(&[]));

    let mut out: Vec<u8> = Vec::new();
    for f in &d.headers {
        out.extend_from_slice(f.as_bytes());
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(
        format!("Content-Type: multipart/mixed; boundary=\"{outer}\"\r\n\r\n").as_bytes(),
    );
    out.extend_from_slice(b"This is a multi-part message in MIME format.\r\n");
    // human text
    out.extend_from_slice(format!("--{outer}\r\n").as_bytes());
    out.extend_from_slice(
        format!("Content-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n").as_bytes(),
    );
    for (mt, body) in [("text/plain", &plain), ("text/html", &html)] {
        out.extend_from_slice(format!("--{inner}\r\n").as_bytes());
        out.extend_from_slice(
            format!(
                "Content-Type: {mt}; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: \
                 quoted-printable\r\nContent-Disposition: inline\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{inner}--\r\n\r\n").as_bytes());
    if let Some(xml) = xml {
        out.extend_from_slice(format!("--{outer}\r\n").as_bytes());
        out.extend_from_slice(
            b"Content-Type: application/xml; name=\"daticert.xml\"\r\n\
              Content-Transfer-Encoding: base64\r\n\
              Content-Disposition: inline; filename=\"daticert.xml\"\r\n\r\n",
        );
        out.extend_from_slice(&base64_lines(xml.as_bytes()));
    }
    if let Some(p) = &postacert {
        let cte = if p.is_ascii() { "7bit" } else { "8bit" };
        out.extend_from_slice(format!("--{outer}\r\n").as_bytes());
        out.extend_from_slice(
            format!(
                "Content-Type: message/rfc822; name=\"postacert.eml\"\r\n\
                 Content-Transfer-Encoding: {cte}\r\n\
                 Content-Disposition: inline; filename=\"postacert.eml\"\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{outer}--\r\n").as_bytes());
    Ok(canonicalize_crlf(&out).into_owned())
}

/// Base64 in 76-character CRLF lines, the last one ended too.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let enc = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(enc.len() + enc.len() / 38 + 2);
    for chunk in enc.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Two boundaries derived from `seed`, neither occurring in `content`.
fn boundaries(seed: &str, content: &[u8]) -> (String, String) {
    let mut n = 0u32;
    loop {
        let h = sha1_hex(format!("{seed}/{n}").as_bytes());
        let outer = format!("----=_PEC_{}", h.get(..24).unwrap_or(&h));
        let inner = format!("----=_PEC_ALT_{}", h.get(16..40).unwrap_or(&h));
        let clash = |b: &str| crate::mime::find(content, b.as_bytes()).is_some();
        // bounded: a clash with a SHA-1-derived string needs adversarial luck each round
        if n >= 64 || (!clash(&outer) && !clash(&inner)) {
            return (outer, inner);
        }
        n += 1;
    }
}
