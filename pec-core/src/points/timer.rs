//! The 12 h and 24 h timers of the sender's provider (RFC 6109 §3.1.6; docs/SPEC.md §9.3).
//!
//! The three cases of §3.1.6 follow from the recipient's status when each timer is due:
//! take-charge within 12 h but no delivery → the 12 h timer was cancelled, the 24 h notice
//! only; delivery between 12 h and 24 h → the 12 h notice only (the delivery cancelled the
//! 24 h timer); nothing at all → both.

use crate::build::Timeout;
use crate::checks::SmtpEnvelope;
use crate::model::{MessageKind, ReceiptKind};
use crate::timeref::TimeReference;

use super::{
    BuildSpec, Change, Decision, Emission, EmissionKey, LogEvent, MessageState, Payload, Policy,
    RecipientStatus, Reply, Source, TimerKey, TimerOp, timeout_label,
};

/// Decides a due timer of `message`: the 12 h notice when the recipient has neither
/// take-charge nor delivery receipt, the 24 h notice (and tracking stops: `timed-out`) when it
/// has no delivery receipt; nothing otherwise. The timer is closed either way.
pub fn timer(
    policy: &Policy,
    message: &MessageState,
    key: &TimerKey,
    time: TimeReference,
) -> Decision {
    let mut d = Decision::reply(Reply::ok("timer done"));
    d.timers.push(TimerOp::Done(key.clone()));
    let Some(r) = message.recipient(&key.address) else { return d };
    let due = match key.which {
        Timeout::H12 => r.status == RecipientStatus::Pending,
        Timeout::H24 => r.status.is_open(),
    };
    if !due {
        return d;
    }
    let id = &message.identifier;
    let mut b = BuildSpec::new(
        MessageKind::Receipt(ReceiptKind::DeliveryTimeout),
        Source::StoredEnvelope,
        time,
    );
    b.recipients = vec![r.address.clone()];
    b.timeout = Some(key.which);
    b.smtp = Some(SmtpEnvelope {
        reverse_path: Some(message.reverse_path.clone()),
        forward_paths: Vec::new(),
    });
    d.emissions.push(Emission {
        keys: vec![EmissionKey::new(id, &r.address, &timeout_label(key.which))],
        payload: Payload::Build(Box::new(b)),
        identifier: Some(id.clone()),
        mail_from: policy.service_address.clone(),
        groups: policy.groups(std::slice::from_ref(&message.reverse_path)),
    });
    let event = match key.which {
        Timeout::H12 => "preavviso-12h",
        Timeout::H24 => "mancata-consegna-24h",
    };
    d.log.push(LogEvent::new(event, Some(id), Some(&r.address)));
    if key.which == Timeout::H24 {
        d.changes.push(Change::Recipient {
            identifier: id.clone(),
            address: r.address.clone(),
            status: RecipientStatus::TimedOut,
        });
    }
    d
}
