//! The recipient side (RFC 6109 §3.1.4, §3.1.6, §3.2.3, §3.2.4): the receipts and notices
//! built from a received transport envelope: take-charge (to the sender's provider), delivery
//! (complete, brief or concise), non-delivery (also for a virus), the 12 h / 24 h timeout
//! notices and virus detection.
//!
//! [`Ctx::receipt`] reads the envelope once into a [`Received`], lets the kind's function fill
//! in what depends on the kind (a [`Notice`]), then adds the common header fields and
//! assembles.

use crate::checks::same_address;
use crate::daticert::{Daticert, Recipient};
use crate::error::{BuildError, Result};
use crate::headers::validate_addr_spec;
use crate::identifier::strip_angle;
use crate::model::{CertError, MessageKind, ReceiptKind, ReceiptType, header, subject_prefix};

use super::assemble::{Draft, assemble, field};
use super::source::EnvelopeData;
use super::text::HumanText;
use super::{Ctx, Timeout, brief};

/// A transport envelope read for a receipt, and what every receipt takes from it.
struct Received {
    env: EnvelopeData,
    /// The original sender.
    sender: String,
    /// The original subject (empty when none).
    subject: String,
    /// The recipients the receipt is about (the request's, without angle brackets).
    targets: Vec<String>,
    /// The receipt's own `Message-ID` (without angle brackets).
    own_id: String,
    /// The receipt's daticert, with the fields every kind shares.
    daticert: Daticert,
}

impl Received {
    /// The one recipient a delivery, non-delivery, timeout or virus notice is about.
    fn one_recipient(&self) -> Result<String> {
        match self.targets.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(BuildError::MissingInput("recipient").into()),
            _ => Err(BuildError::WrongInput {
                expected: "exactly one recipient",
                found: format!("{} recipients", self.targets.len()),
            }
            .into()),
        }
    }
}

/// What depends on the kind of receipt.
struct Notice {
    /// The `To:` address.
    to: String,
    /// The subject prefix.
    prefix: &'static str,
    /// The human text, without the closing identifier line.
    text: HumanText,
    /// Header fields after `X-Ricevuta`.
    extra: Vec<String>,
    /// The `postacert.eml` part, when the kind carries one.
    postacert: Option<Vec<u8>>,
}

impl Notice {
    fn new(to: String, prefix: &'static str, text: HumanText) -> Notice {
        Notice { to, prefix, text, extra: Vec::new(), postacert: None }
    }
}

impl Ctx<'_, '_, '_> {
    /// Any recipient-side receipt of `kind`.
    pub(super) fn receipt(&self, kind: &ReceiptKind) -> Result<Vec<u8>> {
        let mut r = self.received(kind)?;
        let notice = match kind {
            ReceiptKind::TakeCharge => self.take_charge(&mut r)?,
            ReceiptKind::Delivery => self.delivery(&mut r)?,
            ReceiptKind::NonDelivery => self.non_delivery(&mut r)?,
            ReceiptKind::DeliveryTimeout => self.delivery_timeout(&mut r)?,
            ReceiptKind::VirusDetection => self.virus_detection(&mut r)?,
            other => return Err(BuildError::UnknownKind(other.as_str().to_string()).into()),
        };
        let mut headers = self.notice_headers(
            &notice.to,
            notice.prefix,
            &r.subject,
            &r.own_id,
            r.env.msgid.as_deref(),
        )?;
        headers.push(field(header::RICEVUTA, kind.as_str())?);
        headers.extend(notice.extra);
        let text = notice.text.para(format!("Identificativo messaggio: {}", r.env.identifier));
        let draft =
            Draft { headers, text, daticert: Some(r.daticert), postacert: notice.postacert };
        assemble(draft, &r.own_id)
    }

    /// Reads the transport envelope and fills what every receipt shares.
    fn received(&self, kind: &ReceiptKind) -> Result<Received> {
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
        let own_id = self.provider.next_id(&self.time.datetime());
        let daticert = self.base_daticert(
            &MessageKind::Receipt(kind.clone()),
            &sender,
            recipients,
            &reply_to,
            subject_opt,
            &env.identifier,
            env.msgid.clone(),
        );
        Ok(Received { env, sender, subject, targets, own_id, daticert })
    }

    /// «ricevuta di presa in carico», to the sender provider's service mailbox.
    fn take_charge(&self, r: &mut Received) -> Result<Notice> {
        if r.targets.is_empty() {
            return Err(BuildError::MissingInput("recipient").into());
        }
        r.daticert.received = r.targets.clone();
        let (h, subject, sender) = (self.time.human(), &r.subject, &r.sender);
        let text = HumanText::new("Ricevuta di presa in carico")
            .para(format!(
                "Il giorno {h} il messaggio \"{subject}\" proveniente da \"{sender}\" ed \
                 indirizzato a:"
            ))
            .list(r.targets.clone())
            .para("è stato accettato dal sistema.");
        Ok(Notice::new(self.service_mailbox(&r.env, sender), subject_prefix::TAKE_CHARGE, text))
    }

    /// «ricevuta di avvenuta consegna»: complete, brief or concise as the sender asked (a Cc
    /// recipient gets the concise one), unless the request overrides it.
    fn delivery(&self, r: &mut Received) -> Result<Notice> {
        let rcpt = r.one_recipient()?;
        let env = &r.env;
        let primary = env.info.to.iter().any(|a| same_address(a, &rcpt));
        let only_cc = !primary && env.info.cc.iter().any(|a| same_address(a, &rcpt));
        let effective = match &self.req.receipt_type {
            Some(t) => t.clone(),
            None if only_cc => ReceiptType::Concise,
            None => env.requested.clone(),
        };
        let postacert;
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
            ReceiptType::Concise => {
                postacert = None;
                ("Ricevuta sintetica di avvenuta consegna", None)
            }
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
        r.daticert.receipt_type = Some(effective);
        r.daticert.delivery = Some(rcpt.clone());
        let (h, subject, sender) = (self.time.human(), &r.subject, &r.sender);
        let mut text = HumanText::new(title).para(format!(
            "Il giorno {h} il messaggio \"{subject}\" proveniente da \"{sender}\" ed \
             indirizzato a \"{rcpt}\" è stato consegnato nella casella di destinazione."
        ));
        if let Some(n) = note {
            text = text.para(n);
        }
        let mut notice = Notice::new(self.notice_to(sender), subject_prefix::DELIVERY, text);
        notice.postacert = postacert;
        Ok(notice)
    }

    /// «avviso di mancata consegna», also for a virus (`errore="virus"`).
    fn non_delivery(&self, r: &mut Received) -> Result<Notice> {
        let rcpt = r.one_recipient()?;
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
        r.daticert.error = err;
        r.daticert.delivery = Some(rcpt.clone());
        r.daticert.extended_error = Some(description.clone());
        let (h, subject, sender) = (self.time.human(), &r.subject, &r.sender);
        let mut extra = Vec::new();
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
        let prefix =
            if virus { subject_prefix::NON_DELIVERY_VIRUS } else { subject_prefix::NON_DELIVERY };
        let mut notice = Notice::new(self.notice_to(sender), prefix, text);
        notice.extra = extra;
        Ok(notice)
    }

    /// «avviso di mancata consegna per superamento tempi massimi», 12 h or 24 h.
    fn delivery_timeout(&self, r: &mut Received) -> Result<Notice> {
        let rcpt = r.one_recipient()?;
        let timeout = self.req.timeout.ok_or(BuildError::MissingInput("timeout"))?;
        r.daticert.error = self.req.error.clone().unwrap_or(CertError::Another);
        r.daticert.delivery = Some(rcpt.clone());
        r.daticert.extended_error = self.req.error_text.clone();
        let (h, subject, sender) = (self.time.human(), &r.subject, &r.sender);
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
        let text = HumanText::new("Avviso di mancata consegna per superamento dei tempi massimi")
            .para(body);
        Ok(Notice::new(self.notice_to(sender), subject_prefix::TIMEOUT, text))
    }

    /// «avviso di rilevazione virus informatico», to the sender provider's service mailbox.
    fn virus_detection(&self, r: &mut Received) -> Result<Notice> {
        let rcpt = r.one_recipient()?;
        r.daticert.error = CertError::Virus;
        r.daticert.delivery = Some(rcpt.clone());
        r.daticert.extended_error = self.req.error_text.clone();
        let (h, subject, sender) = (self.time.human(), &r.subject, &r.sender);
        let extra = vec![field(header::MITTENTE, sender)?];
        let description =
            self.req.error_text.clone().unwrap_or_else(|| "virus informatico".to_string());
        let text = HumanText::new("Avviso di rilevazione virus informatico").para(format!(
            "Il giorno {h} nel messaggio \"{subject}\" proveniente da \"{sender}\" ed \
             indirizzato a \"{rcpt}\" è stato rilevato un problema di sicurezza \
             ({description}). Il messaggio non è stato consegnato."
        ));
        let to = self.service_mailbox(&r.env, sender);
        let mut notice = Notice::new(to, subject_prefix::VIRUS_DETECTION, text);
        notice.extra = extra;
        Ok(notice)
    }

    /// The sender provider's service mailbox: `mailReceipt` from the index, else the SMTP
    /// reverse path, else the envelope's `From:` (the sender provider's service address),
    /// else its `Return-Path:`, else the original sender.
    fn service_mailbox(&self, env: &EnvelopeData, sender: &str) -> String {
        self.provider
            .mail_receipt_for(sender)
            .or_else(|| self.reverse_path())
            .or_else(|| env.envelope_from.clone())
            .or_else(|| env.return_path.clone())
            .filter(|s| validate_addr_spec(s).is_ok())
            .unwrap_or_else(|| sender.to_string())
    }
}
