//! The pure decisions of the three points and the timers (`pec_core::points`), without I/O:
//! messages built unsigned, verification reports made by hand, state as values. The engine's
//! end-to-end flows are in `pec-engine/tests`.
#![allow(clippy::unwrap_used)]

use chrono::{Duration, TimeZone, Utc};
use pec_core::build::{BuildRequest, Timeout};
use pec_core::checks::SmtpEnvelope;
use pec_core::message::PecMessage;
use pec_core::model::{CertError, MessageKind, ReceiptKind, ReceiptType, RecipientType};
use pec_core::points::{
    self, AddressField, Antivirus, Arrival, ArrivalState, ArrivalStatus, Change, MailboxEvent,
    MailboxOutcome, MessageState, OrdinaryMail, Payload, Policy, RecipientState, RecipientStatus,
    Route, Source, Submission, TimerKey, TimerOp,
};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::smime::{ProviderSummary, Reason, VerificationReport};
use pec_core::timeref::TimeReference;

const MARIO: &str = "mario@pec.alpha.test";
const LUIGI: &str = "luigi@pec.beta.test";
const ANNA: &str = "anna@example.com";

fn provider(name: &str, domain: &str) -> Provider {
    Provider::new(
        name,
        domain,
        RecipientPolicy::CertifiedDomains(vec!["pec.alpha.test".into(), "pec.beta.test".into()]),
    )
    .unwrap()
}

fn time() -> TimeReference {
    TimeReference::from_datetime(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap().fixed_offset())
}

fn smtp(from: &str, to: &[&str]) -> SmtpEnvelope {
    SmtpEnvelope {
        reverse_path: Some(from.into()),
        forward_paths: to.iter().map(|s| s.to_string()).collect(),
    }
}

fn original() -> Vec<u8> {
    format!(
        "From: {MARIO}\r\nTo: {LUIGI}\r\nCc: {ANNA}\r\nSubject: prova\r\n\
         Message-ID: <c1@client.test>\r\n\r\nTesto.\r\n"
    )
    .into_bytes()
}

fn valid_report(name: &str, mail_receipt: &str) -> VerificationReport {
    let mut r = VerificationReport::from_reasons(Vec::new());
    r.provider = Some(ProviderSummary { name: name.into(), mail_receipt: mail_receipt.into() });
    r
}

#[test]
fn access_point_accepts_classifies_and_sets_timers_for_certified_recipients_only() {
    let policy = Policy::new("pec.alpha.test");
    let p = provider("Alpha", "pec.alpha.test");
    let bytes = original();
    let env = smtp(MARIO, &[LUIGI, ANNA]);
    let ev = Submission {
        smtp: &env,
        bytes: &bytes,
        antivirus: &Antivirus::Clean,
        identifier: "id1@pec.alpha.test",
        time: time(),
    };
    let d = points::access(&policy, &p, &ev);
    assert_eq!(d.reply.code, 250);
    let kinds: Vec<String> = d.emissions.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["accettazione", "posta-certificata"]);
    // the acceptance goes to the local sender through this provider's own incoming point;
    // the envelope to the relay, with the original reverse path
    assert_eq!(d.emissions[0].groups[0].route, Route::Loopback);
    assert_eq!(d.emissions[1].mail_from, MARIO);
    assert_eq!(d.emissions[1].groups[0].route, Route::Relay);
    for e in &d.emissions {
        let Payload::Build(b) = &e.payload else { panic!("built") };
        assert_eq!(b.identifier.as_deref(), Some("id1@pec.alpha.test"));
        assert_eq!(b.time, time());
        assert_eq!(b.source, Source::Event);
    }
    let Some(Change::NewMessage { message, envelope: 1 }) = d.changes.first() else {
        panic!("{:?}", d.changes)
    };
    let r: Vec<_> = message
        .recipients
        .iter()
        .map(|r| (r.address.as_str(), r.kind.clone(), r.field, r.status))
        .collect();
    assert_eq!(
        r,
        [
            (LUIGI, RecipientType::Certified, AddressField::To, RecipientStatus::Pending),
            (ANNA, RecipientType::External, AddressField::Cc, RecipientStatus::External),
        ]
    );
    let t0 = time().utc();
    assert_eq!(
        d.timers,
        [
            TimerOp::Set {
                key: TimerKey {
                    identifier: "id1@pec.alpha.test".into(),
                    address: LUIGI.into(),
                    which: Timeout::H12
                },
                due: t0 + Duration::hours(12)
            },
            TimerOp::Set {
                key: TimerKey {
                    identifier: "id1@pec.alpha.test".into(),
                    address: LUIGI.into(),
                    which: Timeout::H24
                },
                due: t0 + Duration::hours(23)
            },
        ]
    );
    // refusals before anything is emitted
    let mut small = policy.clone();
    small.hard_size = 10;
    assert_eq!(points::access(&small, &p, &ev).reply.code, 552);
    let no_path = SmtpEnvelope { reverse_path: None, forward_paths: vec![LUIGI.into()] };
    let ev2 = Submission { smtp: &no_path, ..ev.clone() };
    assert_eq!(points::access(&policy, &p, &ev2).reply.code, 550);
    // a virus: non-acceptance for virus, nothing else
    let virus = Antivirus::Virus("EICAR".into());
    let ev3 = Submission { antivirus: &virus, ..ev };
    let d = points::access(&policy, &p, &ev3);
    assert_eq!(d.emissions.len(), 1);
    let Payload::Build(b) = &d.emissions[0].payload else { panic!() };
    assert_eq!(b.error, Some(CertError::Virus));
    assert!(d.timers.is_empty() && d.changes.is_empty());
}

fn sent_state(status: RecipientStatus) -> MessageState {
    MessageState {
        identifier: "id1@pec.alpha.test".into(),
        msgid: None,
        reverse_path: MARIO.into(),
        sender: MARIO.into(),
        subject: "prova".into(),
        receipt_type: ReceiptType::Complete,
        t0: time().utc(),
        zone: "+0100".into(),
        recipients: vec![RecipientState {
            address: LUIGI.into(),
            kind: RecipientType::Certified,
            field: AddressField::To,
            status,
            updated: time().utc(),
        }],
    }
}

#[test]
fn timers_follow_the_three_cases_of_rfc6109_3_1_6() {
    let policy = Policy::new("pec.alpha.test");
    let key =
        |which| TimerKey { identifier: "id1@pec.alpha.test".into(), address: LUIGI.into(), which };
    let fired = |status, which| {
        let d = points::timer(&policy, &sent_state(status), &key(which), time());
        assert_eq!(d.timers, [TimerOp::Done(key(which))]);
        d.emissions.len()
    };
    // 12 h: only when neither take-charge nor delivery arrived
    assert_eq!(fired(RecipientStatus::Pending, Timeout::H12), 1);
    assert_eq!(fired(RecipientStatus::TakenInCharge, Timeout::H12), 0);
    assert_eq!(fired(RecipientStatus::Delivered, Timeout::H12), 0);
    // 24 h: whenever no delivery arrived (and nothing closed it)
    assert_eq!(fired(RecipientStatus::Pending, Timeout::H24), 1);
    assert_eq!(fired(RecipientStatus::TakenInCharge, Timeout::H24), 1);
    for closed in [
        RecipientStatus::Delivered,
        RecipientStatus::Failed,
        RecipientStatus::Virus,
        RecipientStatus::TimedOut,
    ] {
        assert_eq!(fired(closed, Timeout::H24), 0, "{closed:?}");
    }
    // the 24 h notice stops tracking; it is built from the stored envelope, to the sender
    let d =
        points::timer(&policy, &sent_state(RecipientStatus::Pending), &key(Timeout::H24), time());
    assert!(matches!(
        &d.changes[..],
        [Change::Recipient { status: RecipientStatus::TimedOut, .. }]
    ));
    let Payload::Build(b) = &d.emissions[0].payload else { panic!() };
    assert_eq!((b.source, b.timeout), (Source::StoredEnvelope, Some(Timeout::H24)));
    assert_eq!(d.emissions[0].groups[0].rcpt_to, [MARIO]);
    assert_eq!(d.emissions[0].keys[0].kind, "preavviso-errore-consegna/24h");
}

#[test]
fn delivery_point_maps_enhanced_status_codes() {
    for (status, err) in [
        ("5.1.1", CertError::NoRecipient),
        ("5.1.0", CertError::NoRecipient),
        ("5.1.2", CertError::NoDomain),
        ("5.2.2", CertError::Another),
        ("5.7.1", CertError::Another),
    ] {
        assert_eq!(points::error_for_status(status), err, "{status}");
    }
}

/// An unsigned transport envelope from Alpha (the reports below say what verification
/// found).
fn envelope() -> Vec<u8> {
    let orig = original();
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(&orig);
    req.identifier = Some("id1@pec.alpha.test".into());
    req.time = Some(time());
    provider("Alpha", "pec.alpha.test").build(&req, None).unwrap()
}

#[test]
fn incoming_point_takes_charge_once_and_refuses_what_it_cannot_verify() {
    let policy = Policy::new("pec.beta.test");
    let env = envelope();
    let msg = PecMessage::parse(&env).unwrap();
    let paths = smtp(MARIO, &[LUIGI]);
    let report = valid_report("Alpha", "ricevute@pec.alpha.test");
    let ev = Arrival {
        smtp: &paths,
        bytes: &env,
        message: Ok(&msg),
        report: Some(&report),
        antivirus: &Antivirus::Clean,
        time: time(),
        arrivals: &[],
        sent: None,
    };
    let d = points::incoming(&policy, &ev);
    assert_eq!(d.reply.code, 250);
    let kinds: Vec<String> = d.emissions.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["presa-in-carico", "forward"]);
    // to the signing provider's mailReceipt, not to a lookup of the sender's domain
    assert_eq!(d.emissions[0].groups[0].rcpt_to, ["ricevute@pec.alpha.test"]);
    assert_eq!(d.emissions[1].groups[0].route, Route::Deliver);
    // the same envelope again: nothing new (dedupe on identifier and recipient)
    let seen = [ArrivalState {
        identifier: "id1@pec.alpha.test".into(),
        address: LUIGI.into(),
        status: ArrivalStatus::TakenInCharge,
    }];
    let again = points::incoming(&policy, &Arrival { arrivals: &seen, ..ev.clone() });
    assert!(again.emissions.is_empty());
    // replayed to a mailbox the certification data do not name: an anomaly for it, no
    // take-charge
    let replay = smtp(MARIO, &[LUIGI, "other@pec.beta.test"]);
    let d = points::incoming(&policy, &Arrival { smtp: &replay, arrivals: &seen, ..ev.clone() });
    assert_eq!(d.emissions.iter().map(|e| e.kind()).collect::<Vec<_>>(), ["errore"]);
    assert_eq!(d.emissions[0].groups[0].rcpt_to, ["other@pec.beta.test"]);
    // a virus inside: one notice per local recipient, no delivery
    let virus = Antivirus::Virus("EICAR".into());
    let d = points::incoming(&policy, &Arrival { antivirus: &virus, ..ev.clone() });
    let kinds: Vec<String> = d.emissions.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ["rilevazione-virus"]);
    // not validly signed: an anomaly envelope (or 550 by policy)
    let bad = VerificationReport::from_reasons(vec![Reason::BadSignature]);
    let d = points::incoming(&policy, &Arrival { report: Some(&bad), ..ev.clone() });
    assert_eq!(d.emissions.iter().map(|e| e.kind()).collect::<Vec<_>>(), ["errore"]);
    let mut refuse = policy.clone();
    refuse.ordinary_mail = OrdinaryMail::Refuse;
    let d = points::incoming(&refuse, &Arrival { report: Some(&bad), ..ev.clone() });
    assert_eq!((d.reply.code, d.emissions.len()), (550, 0));
    // unparseable: refused, nothing emitted
    let d = points::incoming(&policy, &Arrival { message: Err("bad".into()), ..ev });
    assert_eq!((d.reply.code, d.emissions.len()), (554, 0));
}

#[test]
fn receipts_are_correlated_only_when_verified() {
    let policy = Policy::new("pec.alpha.test");
    let env = envelope();
    let mut req = BuildRequest::new(MessageKind::Receipt(ReceiptKind::Delivery));
    req.envelope = Some(&env);
    req.recipients = vec![LUIGI.into()];
    req.time = Some(time());
    let receipt = provider("Beta", "pec.beta.test").build(&req, None).unwrap();
    let msg = PecMessage::parse(&receipt).unwrap();
    let paths = smtp("posta-certificata@pec.beta.test", &[MARIO]);
    let sent = sent_state(RecipientStatus::Pending);
    let report = valid_report("Beta", "ricevute@pec.beta.test");
    let ev = Arrival {
        smtp: &paths,
        bytes: &receipt,
        message: Ok(&msg),
        report: Some(&report),
        antivirus: &Antivirus::Clean,
        time: time(),
        arrivals: &[],
        sent: Some(&sent),
    };
    let d = points::incoming(&policy, &ev);
    assert!(
        d.changes
            .iter()
            .any(|c| matches!(c, Change::Recipient { status: RecipientStatus::Delivered, .. }))
    );
    assert_eq!(d.timers.iter().filter(|t| matches!(t, TimerOp::Cancel(_))).count(), 2);
    // forged (any fatal reason): delivered as an anomaly, no state change, no timer touched
    for reason in
        [Reason::BadSignature, Reason::UntrustedChain, Reason::DaticertMismatch, Reason::NotInIndex]
    {
        let forged = VerificationReport::from_reasons(vec![reason]);
        let d = points::incoming(&policy, &Arrival { report: Some(&forged), ..ev.clone() });
        assert!(d.changes.is_empty() && d.timers.is_empty(), "{reason}");
        assert_eq!(d.emissions.iter().map(|e| e.kind()).collect::<Vec<_>>(), ["errore"]);
    }
    // indeterminate (a CRL that cannot be had) is only refused when signed; here unsigned:
    // ordinary mail
    let unknown = VerificationReport::from_reasons(vec![Reason::RevocationUnknown]);
    let d = points::incoming(&policy, &Arrival { report: Some(&unknown), ..ev });
    assert!(d.changes.is_empty() && d.timers.is_empty());
}

#[test]
fn delivery_point_receipts_envelopes_only() {
    let policy = Policy::new("pec.beta.test");
    let env = envelope();
    let msg = PecMessage::parse(&env).unwrap();
    let paths = smtp(MARIO, &[LUIGI]);
    let arrivals = [ArrivalState {
        identifier: "id1@pec.alpha.test".into(),
        address: LUIGI.into(),
        status: ArrivalStatus::TakenInCharge,
    }];
    let results = [(
        LUIGI.to_string(),
        MailboxOutcome::Permanent { status: "5.1.1".into(), text: "no such user".into() },
    )];
    let ev = MailboxEvent {
        smtp: &paths,
        bytes: &env,
        message: &msg,
        results: &results,
        arrivals: &arrivals,
        time: time(),
    };
    let d = points::delivery(&policy, &ev);
    assert_eq!(d.replies[0].1.code, 250);
    let Payload::Build(b) = &d.emissions[0].payload else { panic!() };
    assert_eq!(b.error, Some(CertError::NoRecipient));
    assert!(b.error_text.as_deref().unwrap().starts_with("5.1.1"));
    assert_eq!(d.emissions[0].groups[0].rcpt_to, [MARIO]);
    // temporary: 4xx, nothing emitted
    let temp = [(
        LUIGI.to_string(),
        MailboxOutcome::Temporary { status: "4.2.1".into(), text: "later".into() },
    )];
    let d = points::delivery(&policy, &MailboxEvent { results: &temp, ..ev.clone() });
    assert_eq!((d.replies[0].1.code, d.emissions.len()), (451, 0));
    // not taken in charge by the incoming point (or not an envelope): never receipted
    let stored = [(LUIGI.to_string(), MailboxOutcome::Stored)];
    let d = points::delivery(&policy, &MailboxEvent { results: &stored, arrivals: &[], ..ev });
    assert_eq!((d.replies[0].1.code, d.emissions.len()), (250, 0));
}
