//! The delivery point (RFC 6109 §2.2.3, §3.3; docs/SPEC.md §1.3, §3.3, §9.1–§9.2).

use crate::checks::SmtpEnvelope;
use crate::message::PecMessage;
use crate::model::{CertError, MessageKind, ReceiptKind};
use crate::timeref::TimeReference;

use super::{
    ArrivalState, ArrivalStatus, BuildSpec, Change, Decision, Emission, EmissionKey, LogEvent,
    Payload, Policy, Reply, Source, normal_address, same_address,
};

/// The mailbox's answer for one recipient (LMTP gives one per recipient after DATA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailboxOutcome {
    /// Stored.
    Stored,
    /// Refused for good: the enhanced status code (e.g. `5.1.1`) and the text.
    Permanent {
        /// Enhanced status code, `5.x.y`.
        status: String,
        /// The mailbox's text.
        text: String,
    },
    /// Refused for now: the enhanced status code (e.g. `4.2.2`) and the text.
    Temporary {
        /// Enhanced status code, `4.x.y`.
        status: String,
        /// The mailbox's text.
        text: String,
    },
}

/// The outcome of storing a message the incoming point passed on ([`super::Route::Deliver`]).
#[derive(Clone, Debug)]
pub struct MailboxEvent<'a> {
    /// `MAIL FROM` (the original paths: the original sender for an envelope).
    pub smtp: &'a SmtpEnvelope,
    /// The bytes stored (or not).
    pub bytes: &'a [u8],
    /// The parsed message.
    pub message: &'a PecMessage<'a>,
    /// The mailbox's answer per recipient.
    pub results: &'a [(String, MailboxOutcome)],
    /// What the incoming point recorded for this identifier's local recipients.
    pub arrivals: &'a [ArrivalState],
    /// The transaction's time reference (the delivery time).
    pub time: TimeReference,
}

/// `errore` for a permanent failure's enhanced status code (AgID Nota 12; docs/SPEC.md §9.2):
/// 5.1.1 (and the other bad-mailbox codes 5.1.0, 5.1.3, 5.1.6) `no-dest`, 5.1.2 `no-dominio`,
/// anything else (full, disabled, policy) `altro`.
pub fn error_for_status(status: &str) -> CertError {
    match status.trim() {
        "5.1.0" | "5.1.1" | "5.1.3" | "5.1.6" => CertError::NoRecipient,
        "5.1.2" => CertError::NoDomain,
        _ => CertError::Another,
    }
}

/// Decides the mailbox's answers. For a transport envelope the incoming point took in charge:
/// stored → delivery receipt (complete / brief / concise as the envelope and To/Cc ask),
/// permanent → non-delivery notice with `errore-esteso` starting with the status code (250 to
/// the MTA), temporary → 4xx. Anything else (anomaly envelopes, receipts) is never receipted:
/// the mailbox's answer goes back as it is.
pub fn delivery(policy: &Policy, ev: &MailboxEvent<'_>) -> Decision {
    let msg = ev.message;
    let id = msg.identificativo.clone();
    let envelope = msg.kind == Some(MessageKind::TRANSPORT_ENVELOPE) && id.is_some();
    let sender = ev.smtp.reverse_path.as_deref().map(normal_address).or_else(|| {
        msg.daticert.as_ref().map(|d| normal_address(&d.sender)).filter(|s| !s.is_empty())
    });
    let mut d = Decision::reply(Reply::ok("ok"));
    let failed = MailboxOutcome::Permanent { status: "5.0.0".into(), text: String::new() };
    for (rcpt, outcome) in ev.results {
        let rcpt = normal_address(rcpt);
        let arrival = ev.arrivals.iter().find(|a| same_address(&a.address, &rcpt));
        let receipted = envelope && sender.is_some() && arrival.is_some();
        let reply = match outcome {
            MailboxOutcome::Temporary { status, text } => {
                Reply::new(451, status_or(status, "4.2.0"), text.clone())
            }
            MailboxOutcome::Stored if !receipted => Reply::ok("stored"),
            MailboxOutcome::Permanent { status, text } if !receipted => {
                Reply::new(550, status_or(status, "5.0.0"), text.clone())
            }
            _ if arrival.map(|a| a.status) == Some(ArrivalStatus::Virus) => {
                // quarantined at the incoming point: never delivered
                Reply::new(550, "5.7.1", "virus: not delivered")
            }
            outcome => {
                let (id, sender) =
                    (id.clone().unwrap_or_default(), sender.clone().unwrap_or_default());
                // once answered, the first answer stands (an MTA retry finds it by its key)
                let outcome = match (arrival.map(|a| a.status), outcome) {
                    (Some(ArrivalStatus::Delivered), _) => &MailboxOutcome::Stored,
                    (Some(ArrivalStatus::Failed), MailboxOutcome::Stored) => &failed,
                    (_, o) => o,
                };
                let (kind, status, mut b) = match outcome {
                    MailboxOutcome::Stored => {
                        let b = BuildSpec::new(
                            MessageKind::Receipt(ReceiptKind::Delivery),
                            Source::Event,
                            ev.time,
                        );
                        (ReceiptKind::Delivery, ArrivalStatus::Delivered, b)
                    }
                    MailboxOutcome::Permanent { status, text } => {
                        let mut b = BuildSpec::new(
                            MessageKind::Receipt(ReceiptKind::NonDelivery),
                            Source::Event,
                            ev.time,
                        );
                        let code = status_or(status, "5.0.0");
                        b.error = Some(error_for_status(code));
                        let text = text.trim();
                        b.error_text = Some(if text.is_empty() {
                            code.to_string()
                        } else {
                            format!("{code} - {text}")
                        });
                        (ReceiptKind::NonDelivery, ArrivalStatus::Failed, b)
                    }
                    MailboxOutcome::Temporary { .. } => continue, // answered above
                };
                b.recipients = vec![rcpt.clone()];
                b.smtp = Some(SmtpEnvelope {
                    reverse_path: Some(sender.clone()),
                    forward_paths: Vec::new(),
                });
                // an answer already given (an MTA retry after a crash) is found by its key
                d.emissions.push(Emission {
                    keys: vec![EmissionKey::new(&id, &rcpt, kind.as_str())],
                    payload: Payload::Build(Box::new(b)),
                    identifier: Some(id.clone()),
                    mail_from: policy.service_address.clone(),
                    groups: policy.groups(std::slice::from_ref(&sender)),
                });
                if arrival.map(|a| a.status) == Some(ArrivalStatus::TakenInCharge) {
                    d.changes.push(Change::Arrival(ArrivalState {
                        identifier: id.clone(),
                        address: rcpt.clone(),
                        status,
                    }));
                    let event = match kind {
                        ReceiptKind::Delivery => "consegna",
                        _ => "errore-consegna",
                    };
                    let mut e = LogEvent::new(event, Some(&id), Some(&rcpt));
                    if let MailboxOutcome::Permanent { status, .. } = outcome {
                        e = e.detail(status.clone());
                    }
                    d.log.push(e);
                }
                Reply::ok(match kind {
                    ReceiptKind::Delivery => "delivered",
                    _ => "refused by the mailbox: non-delivery notice sent",
                })
            }
        };
        d.replies.push((rcpt, reply));
    }
    if let Some((_, r)) = d.replies.iter().find(|(_, r)| !r.is_ok()) {
        d.reply = r.clone();
    }
    d
}

fn status_or<'s>(status: &'s str, default: &'s str) -> &'s str {
    let s = status.trim();
    if s.is_empty() { default } else { s }
}
