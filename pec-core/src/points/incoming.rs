//! The incoming point (RFC 6109 §2.2.2, §3.2; docs/SPEC.md §1.2, §9.4) and, at the sender's
//! provider, the correlation of receipts with the messages it sent (§3.1.6; ENGINE.md §1).

use crate::checks::SmtpEnvelope;
use crate::message::PecMessage;
use crate::model::{CertError, MessageKind, ReceiptKind, TransportKind};
use crate::smime::{Reason, Verdict, VerificationReport};
use crate::timeref::TimeReference;

use super::{
    Antivirus, ArrivalState, ArrivalStatus, BuildSpec, Change, Decision, Emission, EmissionKey,
    LogEvent, MessageState, OrdinaryMail, Payload, Policy, RecipientStatus, Reply, Route,
    RouteGroup, Source, TimerKey, TimerOp, normal_address, same_address,
};
use crate::build::Timeout;

/// An arrival at the incoming point.
#[derive(Clone, Debug)]
pub struct Arrival<'a> {
    /// `MAIL FROM` and the `RCPT TO`s the MTA handed over.
    pub smtp: &'a SmtpEnvelope,
    /// The bytes, as received.
    pub bytes: &'a [u8],
    /// The parsed message (`Err` with the parser's message when the bytes do not parse).
    pub message: Result<&'a PecMessage<'a>, String>,
    /// The verification report (index, CRLs, time = now), when the message parsed.
    pub report: Option<&'a VerificationReport>,
    /// The antivirus verdict on `bytes`.
    pub antivirus: &'a Antivirus,
    /// The transaction's time reference.
    pub time: TimeReference,
    /// What this provider already did for the local recipients of this identifier (recipient
    /// side): a recipient found here is not taken in charge twice.
    pub arrivals: &'a [ArrivalState],
    /// The message this provider sent under this identifier (sender side), when it did.
    pub sent: Option<&'a MessageState>,
}

/// Decides an arrival (see the module documentation of [`super`]).
pub fn incoming(policy: &Policy, ev: &Arrival<'_>) -> Decision {
    let msg = match &ev.message {
        Ok(m) => m,
        Err(e) => {
            let mut d = Decision::reply(Reply::new(554, "5.6.0", format!("unparseable: {e}")));
            d.log.push(LogEvent::new("rifiuto", None, None).detail(format!("unparseable: {e}")));
            return d;
        }
    };
    let (local, remote): (Vec<String>, Vec<String>) =
        ev.smtp.forward_paths.iter().map(|a| normal_address(a)).partition(|a| policy.is_local(a));
    let mut d = incoming_local(policy, ev, msg, &local);
    if !remote.is_empty() && d.reply.is_ok() {
        // not ours: passed on unchanged, as a content filter must
        d.emissions.push(Emission {
            keys: Vec::new(),
            payload: Payload::Forward,
            identifier: msg.identificativo.clone(),
            mail_from: reverse_path(ev.smtp),
            groups: vec![RouteGroup { route: Route::Relay, rcpt_to: remote }],
        });
    }
    d
}

fn reverse_path(smtp: &SmtpEnvelope) -> String {
    smtp.reverse_path.as_deref().map(normal_address).unwrap_or_default()
}

fn incoming_local(
    policy: &Policy,
    ev: &Arrival<'_>,
    msg: &PecMessage<'_>,
    local: &[String],
) -> Decision {
    let id = msg.identificativo.as_deref();
    let report = ev.report;
    let verdict = report.map(|r| r.verdict);
    let signer = report.and_then(|r| r.provider.as_ref());
    // only what a later attempt may settle (a CRL that cannot be had now) is retried; a
    // signature wrapped by unsigned MIME (partially-signed) stays so: not certified
    let retriable = report.is_some_and(|r| {
        r.reasons.contains(&Reason::RevocationUnknown)
            && r.reasons.iter().all(|x| *x == Reason::RevocationUnknown)
    });
    if verdict == Some(Verdict::Indeterminate) && retriable && msg.signed.is_some() {
        let reasons: Vec<&str> =
            report.map(|r| r.reasons.iter().map(|x| x.as_str()).collect()).unwrap_or_default();
        let mut d = Decision::reply(Reply::new(
            451,
            "4.7.5",
            format!("signature cannot be verified now ({})", reasons.join(", ")),
        ));
        d.log.push(LogEvent::new("ricezione", id, None).detail("indeterminate: retry"));
        return d;
    }
    let certified = verdict == Some(Verdict::Valid) && signer.is_some();
    if !certified {
        return ordinary(policy, ev, msg, local, report);
    }
    let Some(signer) = signer else { return ordinary(policy, ev, msg, local, report) };
    match &msg.kind {
        Some(MessageKind::Transport(TransportKind::Certified)) if id.is_some() => {
            let Some(dc) = &msg.daticert else {
                return anomaly(
                    policy,
                    ev,
                    local,
                    id,
                    "busta di trasporto senza dati di certificazione",
                );
            };
            // a forward path the certification data do not name (an envelope replayed to
            // someone else) is not taken in charge: that mailbox gets an anomaly envelope
            let (ours, strangers): (Vec<String>, Vec<String>) = local
                .iter()
                .cloned()
                .partition(|r| dc.recipients.iter().any(|x| same_address(&x.address, r)));
            let mut d = transport_envelope(policy, ev, msg, &ours, &signer.mail_receipt);
            if !strangers.is_empty() {
                let a = anomaly(
                    policy,
                    ev,
                    &strangers,
                    id,
                    "il destinatario non è tra i destinatari del messaggio certificato",
                );
                d.emissions.extend(a.emissions);
                d.log.extend(a.log);
            }
            d
        }
        Some(MessageKind::Receipt(k)) if id.is_some() => receipt(policy, ev, msg, local, k),
        _ => anomaly(
            policy,
            ev,
            local,
            id,
            "il messaggio firmato non è una busta di trasporto né una ricevuta corretta",
        ),
    }
}

/// Not validly signed by a PEC provider: ordinary mail (§3.2, policy).
fn ordinary(
    policy: &Policy,
    ev: &Arrival<'_>,
    msg: &PecMessage<'_>,
    local: &[String],
    report: Option<&VerificationReport>,
) -> Decision {
    let why = match report {
        Some(r) if msg.signed.is_some() => {
            let reasons: Vec<&str> = r.reasons.iter().map(|x| x.as_str()).collect();
            format!("firma non valida ({})", reasons.join(", "))
        }
        _ => "messaggio non firmato da un gestore di posta certificata".to_string(),
    };
    if let Antivirus::Virus(name) = ev.antivirus {
        let mut d = Decision::reply(Reply::ok("discarded: virus in ordinary mail"));
        d.log.push(LogEvent::new("scartato", None, None).detail(format!("virus {name}: {why}")));
        return d;
    }
    match policy.ordinary_mail {
        OrdinaryMail::Refuse => {
            let mut d = Decision::reply(Reply::new(
                550,
                "5.7.1",
                "this mailbox accepts certified mail (PEC) only",
            ));
            d.log.push(LogEvent::new("rifiuto", None, None).detail(why));
            d
        }
        OrdinaryMail::Wrap => anomaly(policy, ev, local, msg.identificativo.as_deref(), &why),
    }
}

/// An anomaly envelope to the local recipients (§3.2.2): the paths unchanged.
fn anomaly(
    _policy: &Policy,
    ev: &Arrival<'_>,
    local: &[String],
    id: Option<&str>,
    why: &str,
) -> Decision {
    let mut d = Decision::reply(Reply::ok("delivered as an anomaly envelope"));
    if local.is_empty() {
        return d;
    }
    let mut b = BuildSpec::new(MessageKind::ANOMALY_ENVELOPE, Source::Event, ev.time);
    b.error_text = Some(why.to_string());
    d.emissions.push(Emission {
        keys: Vec::new(),
        payload: Payload::Build(Box::new(b)),
        identifier: id.map(str::to_string),
        mail_from: reverse_path(ev.smtp),
        groups: vec![RouteGroup { route: Route::Deliver, rcpt_to: local.to_vec() }],
    });
    for r in local {
        d.log.push(LogEvent::new("anomalia", id, Some(r)).detail(why));
    }
    d
}

/// A correct transport envelope: take-charge receipt to the signing provider's `mailReceipt`
/// and delivery, or a virus notice per local recipient (§3.2.1, §3.2.3).
fn transport_envelope(
    policy: &Policy,
    ev: &Arrival<'_>,
    msg: &PecMessage<'_>,
    local: &[String],
    mail_receipt: &str,
) -> Decision {
    let id = msg.identificativo.clone().unwrap_or_default();
    let fresh: Vec<String> = local
        .iter()
        .filter(|r| !ev.arrivals.iter().any(|a| same_address(&a.address, r)))
        .cloned()
        .collect();
    let mail_receipt = normal_address(mail_receipt);
    // the take-charge and virus notices go to the signer's service mailbox; the builders read
    // the SMTP reverse path for it when the index cannot say
    let to_signer = SmtpEnvelope {
        reverse_path: Some(mail_receipt.clone()),
        forward_paths: ev.smtp.forward_paths.clone(),
    };
    let mut d = Decision::reply(Reply::ok(format!("{id} taken in charge")));
    for r in local {
        d.log.push(LogEvent::new("ricezione", Some(&id), Some(r)));
    }
    if let Antivirus::Virus(name) = ev.antivirus {
        d.reply = Reply::ok(format!("{id}: virus found, not delivered"));
        for r in &fresh {
            let mut b = BuildSpec::new(
                MessageKind::Receipt(ReceiptKind::VirusDetection),
                Source::Event,
                ev.time,
            );
            b.recipients = vec![r.clone()];
            b.error_text = Some(format!("virus informatico {name}"));
            b.smtp = Some(to_signer.clone());
            d.emissions.push(Emission {
                keys: vec![EmissionKey::new(&id, r, ReceiptKind::VirusDetection.as_str())],
                payload: Payload::Build(Box::new(b)),
                identifier: Some(id.clone()),
                mail_from: policy.service_address.clone(),
                groups: policy.groups(std::slice::from_ref(&mail_receipt)),
            });
            d.changes.push(Change::Arrival(ArrivalState {
                identifier: id.clone(),
                address: r.clone(),
                status: ArrivalStatus::Virus,
            }));
            d.log.push(LogEvent::new("rilevazione-virus", Some(&id), Some(r)).detail(name.clone()));
        }
        if !fresh.is_empty() {
            d.log.push(LogEvent::new("quarantena", Some(&id), None).detail(name.clone()));
        }
        return d;
    }
    if fresh.is_empty() {
        return d;
    }
    let mut b =
        BuildSpec::new(MessageKind::Receipt(ReceiptKind::TakeCharge), Source::Event, ev.time);
    b.recipients = fresh.clone();
    b.smtp = Some(to_signer);
    d.emissions.push(Emission {
        keys: fresh
            .iter()
            .map(|r| EmissionKey::new(&id, r, ReceiptKind::TakeCharge.as_str()))
            .collect(),
        payload: Payload::Build(Box::new(b)),
        identifier: Some(id.clone()),
        mail_from: policy.service_address.clone(),
        groups: policy.groups(std::slice::from_ref(&mail_receipt)),
    });
    d.emissions.push(Emission {
        keys: Vec::new(),
        payload: Payload::Forward,
        identifier: Some(id.clone()),
        mail_from: reverse_path(ev.smtp),
        groups: vec![RouteGroup { route: Route::Deliver, rcpt_to: fresh.clone() }],
    });
    for r in &fresh {
        d.changes.push(Change::Arrival(ArrivalState {
            identifier: id.clone(),
            address: r.clone(),
            status: ArrivalStatus::TakenInCharge,
        }));
        d.log.push(LogEvent::new("presa-in-carico", Some(&id), Some(r)).detail("emessa"));
    }
    d
}

/// A verified receipt or notice: to the delivery point unchanged (take-charge and virus
/// notices to the service mailbox), and correlated with the message this provider sent.
fn receipt(
    policy: &Policy,
    ev: &Arrival<'_>,
    msg: &PecMessage<'_>,
    local: &[String],
    kind: &ReceiptKind,
) -> Decision {
    let id = msg.identificativo.clone().unwrap_or_default();
    let mut d = Decision::reply(Reply::ok(format!("{kind} for {id} received")));
    if !local.is_empty() {
        let route = match kind {
            ReceiptKind::TakeCharge | ReceiptKind::VirusDetection => Route::ServiceMailbox,
            _ => Route::Deliver,
        };
        d.emissions.push(Emission {
            keys: Vec::new(),
            payload: Payload::Forward,
            identifier: Some(id.clone()),
            mail_from: reverse_path(ev.smtp),
            groups: vec![RouteGroup { route, rcpt_to: local.to_vec() }],
        });
    }
    let Some(sent) = ev.sent else {
        d.log.push(LogEvent::new("ricevuta-ricevuta", Some(&id), None).detail(kind.as_str()));
        return d;
    };
    let dc = msg.daticert.as_ref();
    let concerned: Vec<String> = match kind {
        ReceiptKind::TakeCharge => dc.map(|c| c.received.clone()).unwrap_or_default(),
        ReceiptKind::Delivery | ReceiptKind::NonDelivery | ReceiptKind::VirusDetection => {
            dc.and_then(|c| c.delivery.clone()).into_iter().collect()
        }
        _ => Vec::new(),
    };
    for addr in concerned {
        let Some(r) = sent.recipient(&addr) else { continue };
        let a = r.address.clone();
        d.changes.push(Change::ReceiptReceived {
            identifier: id.clone(),
            address: a.clone(),
            kind: kind.as_str().to_string(),
            message_id: msg.message_id.clone(),
        });
        d.log.push(LogEvent::new("ricevuta-ricevuta", Some(&id), Some(&a)).detail(kind.as_str()));
        let timer = |which| TimerKey { identifier: id.clone(), address: a.clone(), which };
        let status = match (kind, r.status) {
            (ReceiptKind::TakeCharge, RecipientStatus::Pending) => {
                d.timers.push(TimerOp::Cancel(timer(Timeout::H12)));
                RecipientStatus::TakenInCharge
            }
            (ReceiptKind::Delivery, s) if s.is_open() => RecipientStatus::Delivered,
            (ReceiptKind::NonDelivery, s) if s.is_open() => RecipientStatus::Failed,
            (ReceiptKind::VirusDetection, s) if s.is_open() => {
                // §3.2.4: tell the sender, from what this provider kept of the envelope
                let mut b = BuildSpec::new(
                    MessageKind::Receipt(ReceiptKind::NonDelivery),
                    Source::StoredEnvelope,
                    ev.time,
                );
                b.recipients = vec![a.clone()];
                b.error = Some(CertError::Virus);
                b.smtp = Some(SmtpEnvelope {
                    reverse_path: Some(sent.reverse_path.clone()),
                    forward_paths: Vec::new(),
                });
                d.emissions.push(Emission {
                    keys: vec![EmissionKey::new(&id, &a, ReceiptKind::NonDelivery.as_str())],
                    payload: Payload::Build(Box::new(b)),
                    identifier: Some(id.clone()),
                    mail_from: policy.service_address.clone(),
                    groups: policy.groups(std::slice::from_ref(&sent.reverse_path)),
                });
                d.log.push(LogEvent::new("errore-consegna", Some(&id), Some(&a)).detail("virus"));
                RecipientStatus::Virus
            }
            _ => continue,
        };
        if status != RecipientStatus::TakenInCharge {
            d.timers.push(TimerOp::Cancel(timer(Timeout::H12)));
            d.timers.push(TimerOp::Cancel(timer(Timeout::H24)));
        }
        d.changes.push(Change::Recipient { identifier: id.clone(), address: a, status });
    }
    d
}
