//! The notices of the sender's access point (RFC 6109 §3.1.1–§3.1.3): acceptance and
//! non-acceptance (formal or virus), and the submission helpers the transport envelope shares
//! with them (sender, PEC identifier, formal checks).

use crate::checks::{SmtpEnvelope, Violation, formal_checks};
use crate::daticert::Daticert;
use crate::error::{BuildError, Result};
use crate::headers::{check_no_injection, validate_addr_spec};
use crate::identifier::strip_angle;
use crate::limits::Limits;
use crate::mime::Headers;
use crate::model::{CertError, ReceiptKind, RecipientType, header, subject_prefix};

use super::Ctx;
use super::assemble::{Draft, assemble, field};
use super::source::OriginalInfo;
use super::text::HumanText;

impl Ctx<'_, '_, '_> {
    /// Sender of the original at the access point: `From:`, else the SMTP reverse path.
    pub(super) fn ap_sender(&self, info: &OriginalInfo) -> Result<String> {
        info.sender
            .clone()
            .filter(|s| validate_addr_spec(s).is_ok())
            .or_else(|| self.reverse_path())
            .ok_or_else(|| BuildError::MissingInput("sender (From: or SMTP reverse path)").into())
    }

    pub(super) fn checks(&self, original: &[u8]) -> Vec<Violation> {
        let default = SmtpEnvelope::default();
        formal_checks(original, self.req.smtp.as_ref().unwrap_or(&default), self.provider.max_size)
    }

    /// The daticert of a submission (transport envelope, acceptance, non-acceptance): the
    /// original's recipients classified, its `Reply-To` (else the sender), subject and msgid.
    pub(super) fn submission_daticert(
        &self,
        info: &OriginalInfo,
        sender: &str,
        id: &str,
    ) -> Daticert {
        let reply_to = info.reply_to.clone().unwrap_or_else(|| sender.to_string());
        self.base_daticert(
            &self.req.kind,
            sender,
            self.recipients_with_type(info),
            &reply_to,
            info.subject.clone(),
            id,
            info.msgid.clone(),
        )
    }

    /// The PEC identifier of the submission: the caller's, or a fresh one.
    pub(super) fn pec_identifier(&self) -> Result<String> {
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

    pub(super) fn acceptance(&self) -> Result<Vec<u8>> {
        let original = self.original()?;
        let violations = self.checks(original);
        if !violations.is_empty() {
            return Err(formal_error(&violations));
        }
        self.access_point_notice(original, None)
    }

    pub(super) fn non_acceptance(&self) -> Result<Vec<u8>> {
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
        let mut d = self.submission_daticert(&info, &sender, &id);
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
        let listed: Vec<String> = d
            .recipients
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
}

pub(super) fn formal_error(v: &[Violation]) -> crate::Error {
    BuildError::FormalChecks { violations: v.iter().map(ToString::to_string).collect() }.into()
}
