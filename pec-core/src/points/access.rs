//! The sender's access point (RFC 6109 §2.2.1, §3.1; docs/SPEC.md §1.1, §10.1–§10.3).

use crate::checks::{SmtpEnvelope, formal_checks};
use crate::headers::{decode_unstructured, parse_address_list, validate_addr_spec};
use crate::identifier::{strip_angle, with_angle};
use crate::limits::Limits;
use crate::mime::Headers;
use crate::model::{CertError, MessageKind, ReceiptKind, ReceiptType, RecipientType, header};
use crate::provider::Provider;
use crate::timeref::TimeReference;

use super::{
    AddressField, Antivirus, BuildSpec, Change, Decision, Emission, EmissionKey, LogEvent,
    MessageState, Payload, Policy, RecipientState, RecipientStatus, Reply, Source, TimerKey,
    TimerOp, normal_address, same_address,
};
use crate::build::Timeout;

/// A submission at the access point: what the MTA handed over, with the transaction's one
/// identifier and one time reference (§4.1, docs/SPEC.md §10.3), chosen by the caller.
#[derive(Clone, Debug)]
pub struct Submission<'a> {
    /// `MAIL FROM` (the authenticated user) and every `RCPT TO`.
    pub smtp: &'a SmtpEnvelope,
    /// The user's original, as submitted.
    pub bytes: &'a [u8],
    /// The antivirus verdict on `bytes`.
    pub antivirus: &'a Antivirus,
    /// The PEC identifier for this transaction (`local@domain`, no angle brackets).
    pub identifier: &'a str,
    /// The transaction's time reference (T0).
    pub time: TimeReference,
}

/// Decides a submission: 552 over the hard size limit; non-acceptance for a virus or a failed
/// formal check (`checks::formal_checks`); else acceptance receipt and transport envelope
/// (same identifier and time), recipients classified through `provider` (the index), and
/// for every `certificato` recipient the 12 h and 24 h timers from T0.
pub fn access(policy: &Policy, provider: &Provider, ev: &Submission<'_>) -> Decision {
    let id = ev.identifier;
    if ev.bytes.len() > policy.hard_size {
        return Decision::reply(Reply::new(
            552,
            "5.3.4",
            format!("message larger than {} bytes", policy.hard_size),
        ));
    }
    let Some(reverse_path) = ev
        .smtp
        .reverse_path
        .as_deref()
        .map(|r| strip_angle(r).to_string())
        .filter(|r| validate_addr_spec(r).is_ok())
    else {
        return Decision::reply(Reply::new(
            550,
            "5.1.7",
            "a PEC submission needs the sender's address as reverse path",
        ));
    };
    if ev.smtp.forward_paths.is_empty() {
        return Decision::reply(Reply::new(554, "5.5.1", "no valid recipients"));
    }
    let notice_groups = policy.groups(std::slice::from_ref(&reverse_path));
    let base = |kind: MessageKind| {
        let mut b = BuildSpec::new(kind, Source::Event, ev.time);
        b.identifier = Some(id.to_string());
        b.smtp = Some(ev.smtp.clone());
        b
    };

    if let Antivirus::Virus(name) = ev.antivirus {
        let mut b = base(MessageKind::Receipt(ReceiptKind::NonAcceptance));
        b.error = Some(CertError::Virus);
        b.error_text = Some(format!("virus informatico rilevato nel messaggio ({name})"));
        let mut d = Decision::reply(Reply::ok("virus: non-acceptance notice sent"));
        d.emissions.push(Emission {
            keys: vec![EmissionKey::new(id, "", ReceiptKind::NonAcceptance.as_str())],
            payload: Payload::Build(Box::new(b)),
            identifier: Some(id.to_string()),
            mail_from: policy.service_address.clone(),
            groups: notice_groups,
        });
        d.log.push(LogEvent::new("non-accettazione-virus", Some(id), None).detail(name.clone()));
        d.log.push(LogEvent::new("quarantena", Some(id), None).detail(name.clone()));
        return d;
    }

    let violations = formal_checks(ev.bytes, ev.smtp, policy.max_size);
    if !violations.is_empty() {
        let b = base(MessageKind::Receipt(ReceiptKind::NonAcceptance));
        let mut d = Decision::reply(Reply::ok("formal checks failed: non-acceptance notice sent"));
        d.emissions.push(Emission {
            keys: vec![EmissionKey::new(id, "", ReceiptKind::NonAcceptance.as_str())],
            payload: Payload::Build(Box::new(b)),
            identifier: Some(id.to_string()),
            mail_from: policy.service_address.clone(),
            groups: notice_groups,
        });
        let detail: Vec<String> = violations.iter().map(|v| v.code().to_string()).collect();
        d.log.push(LogEvent::new("non-accettazione", Some(id), None).detail(detail.join(",")));
        return d;
    }

    // formal checks passed, so the header block parses
    let limits = Limits::default();
    let info = match Headers::parse(ev.bytes, &limits) {
        Ok(h) => Info::read(&h),
        Err(e) => return Decision::reply(Reply::new(554, "5.6.0", e.to_string())),
    };
    let forward: Vec<String> = ev.smtp.forward_paths.iter().map(|f| normal_address(f)).collect();
    let recipients: Vec<RecipientState> = forward
        .iter()
        .map(|a| {
            let kind = provider.classify(a);
            let field = if info.cc.iter().any(|c| same_address(c, a))
                && !info.to.iter().any(|t| same_address(t, a))
            {
                AddressField::Cc
            } else {
                AddressField::To
            };
            let status = match kind {
                RecipientType::External => RecipientStatus::External,
                _ => RecipientStatus::Pending,
            };
            RecipientState { address: a.clone(), kind, field, status, updated: ev.time.utc() }
        })
        .collect();
    let t0 = ev.time.utc();
    let message = MessageState {
        identifier: id.to_string(),
        msgid: info.msgid.clone(),
        reverse_path: reverse_path.clone(),
        sender: info.sender.clone().unwrap_or_else(|| reverse_path.clone()),
        subject: info.subject.clone().unwrap_or_default(),
        receipt_type: info.receipt_type.clone().unwrap_or_default(),
        t0,
        zone: ev.time.zone(),
        recipients,
    };

    let mut d = Decision::reply(Reply::ok(format!("accepted as {id}")));
    d.emissions.push(Emission {
        keys: vec![EmissionKey::new(id, "", ReceiptKind::Acceptance.as_str())],
        payload: Payload::Build(Box::new(base(MessageKind::Receipt(ReceiptKind::Acceptance)))),
        identifier: Some(id.to_string()),
        mail_from: policy.service_address.clone(),
        groups: notice_groups,
    });
    d.emissions.push(Emission {
        keys: vec![EmissionKey::new(id, "", MessageKind::TRANSPORT_ENVELOPE.as_str())],
        payload: Payload::Build(Box::new(base(MessageKind::TRANSPORT_ENVELOPE))),
        identifier: Some(id.to_string()),
        // the original paths, unchanged (§3.1.5)
        mail_from: reverse_path.clone(),
        groups: policy.groups(&forward),
    });
    for r in &message.recipients {
        if r.kind == RecipientType::External {
            continue;
        }
        for (which, after) in
            [(Timeout::H12, policy.take_charge), (Timeout::H24, policy.delivery_fire)]
        {
            d.timers.push(TimerOp::Set {
                key: TimerKey { identifier: id.to_string(), address: r.address.clone(), which },
                due: t0 + after,
            });
        }
    }
    d.log.push(LogEvent::new("accettazione", Some(id), None).detail(reverse_path));
    for r in &message.recipients {
        d.log.push(LogEvent::new("inoltro", Some(id), Some(&r.address)).detail(r.kind.as_str()));
    }
    d.changes.push(Change::NewMessage { message, envelope: 1 });
    d
}

/// What the access point reads from the original's header block.
struct Info {
    sender: Option<String>,
    to: Vec<String>,
    cc: Vec<String>,
    subject: Option<String>,
    msgid: Option<String>,
    receipt_type: Option<ReceiptType>,
}

impl Info {
    fn read(h: &Headers<'_>) -> Info {
        let addrs = |name: &str| -> Vec<String> {
            h.get_all(name)
                .flat_map(|f| parse_address_list(&decode_unstructured(f.raw_value)))
                .map(|m| m.address.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect()
        };
        Info {
            sender: addrs("From").into_iter().next(),
            to: addrs("To"),
            cc: addrs("Cc"),
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
