//! The flows of RFC 6109 §3.5 and the three timeout cases of §3.1.6, replayed by two
//! engines (Alpha and Beta, each on its own SQLite file) over a wire with a manual clock.
//! Every built message is parsed back and its signature verified (`common::check_signed`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::*;
use pec_core::model::{CertError, RecipientType};
use pec_core::points::{MailboxOutcome, OrdinaryMail, Route};

const MARIO: &str = "mario@pec.alpha.test";
const GIULIA: &str = "giulia@pec.alpha.test";
const LUIGI: &str = "luigi@pec.beta.test";
const ANNA: &str = "anna@example.com";
const ALPHA_BOX: &str = "ricevute@pec.alpha.test";

fn identifier(out: &pec_engine::Outcome) -> String {
    out.emissions.iter().find_map(|e| e.identifier.clone()).expect("identifier")
}

fn happy_path_between_two_providers(b: &Backend) {
    let mut net = Net::on(b);
    let orig = original(MARIO, &[LUIGI], &[], "prova", "Testo.");
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &orig);
    assert_eq!(out.reply.code, 250);
    let id = identifier(&out);
    // §3.5: acceptance, envelope, take-charge, delivery receipt
    assert_eq!(
        net.built(),
        vec![
            (0, "accettazione".into()),
            (0, "posta-certificata".into()),
            (1, "presa-in-carico".into()),
            (1, "avvenuta-consegna".into()),
        ]
    );
    // one identifier and one time reference for the acceptance and the envelope
    let acc = &net.of_kind("accettazione")[0].out;
    let env = &net.of_kind("posta-certificata")[0].out;
    assert_eq!(env.message_id.as_deref(), Some(id.as_str()));
    assert_eq!(daticert(&acc.bytes).identifier, id);
    assert_eq!(daticert(&acc.bytes).date, daticert(&env.bytes).date);
    assert_eq!(header(&acc.bytes, "Date"), header(&env.bytes, "Date"));
    assert_eq!(env.mail_from, MARIO, "the envelope keeps the reverse path");
    // the take-charge went to Alpha's mailReceipt, from the index
    let tc = net.of_kind("presa-in-carico")[0];
    assert_eq!(tc.group.rcpt_to, vec![ALPHA_BOX.to_string()]);
    assert_eq!(daticert(&tc.out.bytes).received, vec![LUIGI.to_string()]);
    // mailboxes: the envelope at Luigi's; acceptance and delivery receipt at Mario's; the
    // take-charge in Alpha's service mailbox
    assert_eq!(net.mailbox(LUIGI), vec!["posta-certificata"]);
    assert_eq!(net.mailbox(MARIO), vec!["accettazione", "avvenuta-consegna"]);
    assert_eq!(net.mailbox(ALPHA_BOX), vec!["presa-in-carico"]);
    // state on both sides
    assert_eq!(net.state(0, &id, LUIGI), "delivered");
    let s = net.status(0, &id);
    let r = &s.sent.as_ref().unwrap().recipients[0];
    assert!(r.timers.iter().all(|t| t.status == "cancelled"), "{:?}", r.timers);
    let kinds: Vec<&str> = r.receipts.iter().map(|x| x.kind.as_str()).collect();
    assert_eq!(kinds, ["presa-in-carico", "avvenuta-consegna"]);
    assert!(r.receipts.iter().all(|x| x.message_id.is_some()));
    let b = net.status(1, &id);
    assert_eq!(b.received[0].state, "delivered");
    // nothing is due, ever
    net.advance(Duration::hours(25));
    assert!(net.run_due(0).is_empty());
    assert!(net.run_due(1).is_empty());
    // the complete receipt carries the original
    let rc = &net.of_kind("avvenuta-consegna")[0].out;
    assert!(pec_core::PecMessage::parse(&rc.bytes).unwrap().original.is_some());
}

fn non_acceptance_for_formal_errors_and_for_virus(b: &Backend) {
    let mut net = Net::on(b);
    // From differs from the reverse path
    let orig = original(GIULIA, &[LUIGI], &[], "formale", "x");
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &orig);
    assert_eq!(out.reply.code, 250);
    assert_eq!(net.built(), vec![(0, "non-accettazione".into())]);
    let na = &net.of_kind("non-accettazione")[0].out;
    assert_eq!(daticert(&na.bytes).error, CertError::Another);
    assert!(header(&na.bytes, "X-VerificaSicurezza").is_none());
    assert_eq!(net.mailbox(MARIO), vec!["non-accettazione"]);
    assert!(net.mailbox(LUIGI).is_empty());
    // a virus at the access point
    let mut net = Net::on(b);
    let orig = original(MARIO, &[LUIGI], &[], "virus", EICAR);
    net.submit(0, &smtp(MARIO, &[LUIGI]), &orig);
    assert_eq!(net.built(), vec![(0, "non-accettazione".into())]);
    let na = &net.of_kind("non-accettazione")[0].out;
    assert_eq!(daticert(&na.bytes).error, CertError::Virus);
    assert_eq!(header(&na.bytes, "X-VerificaSicurezza").as_deref(), Some("errore"));
    assert!(net.mailbox(LUIGI).is_empty());
    // nothing tracked, nothing due
    net.advance(Duration::hours(25));
    assert!(net.run_due(0).is_empty());
    // over the hard limit: 552 and nothing else
    let mut p = policy(0);
    p.hard_size = 100;
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with(
        0,
        Box::new(pec_engine::store::sqlite::SqliteStore::open(&dir.path().join("s.db")).unwrap()),
        net.clock.clone(),
        p,
    );
    let big = original(MARIO, &[LUIGI], &[], "grande", &"x".repeat(200));
    let out = e.on_submission(&smtp(MARIO, &[LUIGI]), &big, &Default::default()).unwrap();
    assert_eq!(out.reply.code, 552);
    assert!(out.emissions.is_empty());
}

fn anomaly_for_ordinary_and_for_badly_signed_mail(b: &Backend) {
    let mut net = Net::on(b);
    // ordinary mail from the Internet to a PEC mailbox: wrapped
    let plain = original(ANNA, &[LUIGI], &[], "ordinaria", "ciao");
    let out = net.inbound(1, &smtp(ANNA, &[LUIGI]), &plain);
    assert_eq!(out.reply.code, 250);
    assert_eq!(net.built(), vec![(1, "errore".into())]);
    assert_eq!(net.mailbox(LUIGI), vec!["errore"]);
    let an = &net.of_kind("errore")[0].out;
    assert_eq!(an.groups[0].route, Route::Deliver);
    assert_eq!(an.mail_from, ANNA, "the anomaly envelope keeps the paths");
    // an envelope signed by a key the index does not know: ordinary mail, wrapped too
    let w = world();
    let forger = pec_core::signer::SoftwareSigner::from_der(
        &w.stranger.providers[0].key_pkcs8,
        w.stranger.providers[0].cert_der.clone(),
        vec![w.stranger.ca.cert_der.clone()],
    )
    .unwrap();
    let orig = original(MARIO, &[LUIGI], &[], "falsa", "x");
    let mut req =
        pec_core::build::BuildRequest::new(pec_core::model::MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(&orig);
    let forged = provider(0).build(&req, Some(&forger)).unwrap();
    net.inbound(1, &smtp(MARIO, &[LUIGI]), &forged);
    assert_eq!(net.mailbox(LUIGI), vec!["errore", "errore"]);
    assert!(net.of_kind("presa-in-carico").is_empty(), "no take-charge for a forgery");
    // policy refuse: 550, nothing delivered
    let mut p = policy(1);
    p.ordinary_mail = OrdinaryMail::Refuse;
    let dir = tempfile::tempdir().unwrap();
    let e = engine_with(
        1,
        Box::new(pec_engine::store::sqlite::SqliteStore::open(&dir.path().join("r.db")).unwrap()),
        net.clock.clone(),
        p,
    );
    let out = e.on_inbound(&smtp(ANNA, &[LUIGI]), &plain, &Default::default()).unwrap();
    assert_eq!(out.reply.code, 550);
    assert!(out.emissions.is_empty());
    // unparseable bytes: a permanent refusal, never a lost message
    let out = e.on_inbound(&smtp(ANNA, &[LUIGI]), b"\xff\xfe", &Default::default()).unwrap();
    assert_eq!((out.reply.code, out.emissions.len()), (554, 0), "{:?}", out.reply);
}

fn virus_found_at_the_recipients_incoming_point(b: &Backend) {
    let mut net = Net::on(b);
    net.av_access[0] = false; // Alpha's scanner missed it
    let orig = original(MARIO, &[LUIGI], &[], "virus", EICAR);
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &orig);
    let id = identifier(&out);
    assert_eq!(
        net.built(),
        vec![
            (0, "accettazione".into()),
            (0, "posta-certificata".into()),
            (1, "rilevazione-virus".into()),
            (0, "errore-consegna".into()),
        ]
    );
    let rv = net.of_kind("rilevazione-virus")[0];
    assert_eq!(rv.group.rcpt_to, vec![ALPHA_BOX.to_string()]);
    assert_eq!(header(&rv.out.bytes, "X-Mittente").as_deref(), Some(MARIO));
    let ec = &net.of_kind("errore-consegna")[0].out;
    assert_eq!(daticert(&ec.bytes).error, CertError::Virus);
    assert_eq!(header(&ec.bytes, "X-VerificaSicurezza").as_deref(), Some("errore"));
    assert!(net.mailbox(LUIGI).is_empty(), "not delivered");
    assert_eq!(net.mailbox(MARIO), vec!["accettazione", "errore-consegna"]);
    assert_eq!(net.mailbox(ALPHA_BOX), vec!["rilevazione-virus"]);
    assert_eq!(net.state(0, &id, LUIGI), "virus");
    assert_eq!(net.status(1, &id).received[0].state, "virus");
    net.advance(Duration::hours(25));
    assert!(net.run_due(0).is_empty(), "closed: no timeout notice");
}

fn delivery_error_carries_the_enhanced_status_code(b: &Backend) {
    let mut net = Net::on(b);
    net.answers.insert(
        LUIGI.into(),
        MailboxOutcome::Permanent { status: "5.1.1".into(), text: "user unknown".into() },
    );
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &original(MARIO, &[LUIGI], &[], "x", "y"));
    let id = identifier(&out);
    let ec = &net.of_kind("errore-consegna")[0];
    assert_eq!(ec.from, 1);
    let d = daticert(&ec.out.bytes);
    assert_eq!(d.error, CertError::NoRecipient);
    assert!(d.extended_error.as_deref().unwrap().starts_with("5.1.1"), "{d:?}");
    assert_eq!(d.delivery.as_deref(), Some(LUIGI));
    assert!(
        net.replies.iter().any(|r| r.starts_with(&format!("{LUIGI}: 250"))),
        "{:?}",
        net.replies
    );
    assert_eq!(net.state(0, &id, LUIGI), "failed");
    assert_eq!(net.mailbox(MARIO), vec!["accettazione", "errore-consegna"]);
    net.advance(Duration::hours(25));
    assert!(net.run_due(0).is_empty());
    // a full mailbox is `altro`
    let mut net = Net::on(b);
    net.answers.insert(
        LUIGI.into(),
        MailboxOutcome::Permanent { status: "5.2.2".into(), text: "mailbox full".into() },
    );
    net.submit(0, &smtp(MARIO, &[LUIGI]), &original(MARIO, &[LUIGI], &[], "x", "y"));
    let d = daticert(&net.of_kind("errore-consegna")[0].out.bytes);
    assert_eq!(d.error, CertError::Another);
    assert!(d.extended_error.unwrap().starts_with("5.2.2"));
}

fn mixed_certified_and_external_recipients(b: &Backend) {
    let mut net = Net::on(b);
    let orig = original(MARIO, &[LUIGI], &[ANNA], "misto", "x");
    let out = net.submit(0, &smtp(MARIO, &[LUIGI, ANNA]), &orig);
    let id = identifier(&out);
    let acc = &net.of_kind("accettazione")[0].out;
    let d = daticert(&acc.bytes);
    let types: Vec<(&str, RecipientType)> =
        d.recipients.iter().map(|r| (r.address.as_str(), r.kind.clone())).collect();
    assert_eq!(types, [(LUIGI, RecipientType::Certified), (ANNA, RecipientType::External)]);
    // the envelope went to both; only Luigi answers
    assert_eq!(net.internet.len(), 1);
    assert_eq!(net.internet[0].0, ANNA);
    assert_eq!(kind_of(&net.internet[0].1), "posta-certificata");
    assert_eq!(net.state(0, &id, LUIGI), "delivered");
    assert_eq!(net.state(0, &id, ANNA), "external");
    let s = net.status(0, &id);
    let anna = s.sent.unwrap().recipients.into_iter().find(|r| r.address == ANNA).unwrap();
    assert!(anna.timers.is_empty(), "no timers for an esterno recipient");
    net.advance(Duration::hours(25));
    assert!(net.run_due(0).is_empty());
}

fn same_provider_mail_passes_incoming_and_delivery_points(b: &Backend) {
    let mut net = Net::on(b);
    let out = net.submit(0, &smtp(MARIO, &[GIULIA]), &original(MARIO, &[GIULIA], &[], "x", "y"));
    let id = identifier(&out);
    assert_eq!(
        net.built(),
        vec![
            (0, "accettazione".into()),
            (0, "posta-certificata".into()),
            (0, "presa-in-carico".into()),
            (0, "avvenuta-consegna".into()),
        ]
    );
    let env = net.of_kind("posta-certificata")[0];
    assert_eq!(env.group.route, Route::Loopback);
    assert_eq!(net.mailbox(GIULIA), vec!["posta-certificata"]);
    assert_eq!(net.mailbox(MARIO), vec!["accettazione", "avvenuta-consegna"]);
    assert_eq!(net.mailbox(ALPHA_BOX), vec!["presa-in-carico"]);
    assert_eq!(net.state(0, &id, GIULIA), "delivered");
    assert_eq!(net.status(0, &id).received[0].state, "delivered");
    // the Cc recipient of a same-provider message gets... the concise receipt
    let mut net = Net::on(b);
    net.submit(0, &smtp(MARIO, &[GIULIA, LUIGI]), &original(MARIO, &[GIULIA], &[LUIGI], "x", "y"));
    let receipts = net.of_kind("avvenuta-consegna");
    assert_eq!(receipts.len(), 2);
    for r in receipts {
        let d = daticert(&r.out.bytes);
        let want = if d.delivery.as_deref() == Some(LUIGI) { "sintetica" } else { "completa" };
        assert_eq!(d.receipt_type.as_ref().unwrap().as_str(), want);
    }
}

/// RFC 6109 §3.1.6, case 1: take-charge within 12 h, no delivery → the 24 h notice only.
fn timeout_take_charge_but_no_delivery(b: &Backend) {
    let mut net = Net::on(b);
    net.answers.insert(
        LUIGI.into(),
        MailboxOutcome::Temporary { status: "4.2.1".into(), text: "try later".into() },
    );
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &original(MARIO, &[LUIGI], &[], "x", "y"));
    let id = identifier(&out);
    assert!(
        net.replies.iter().any(|r| r.starts_with(&format!("{LUIGI}: 451"))),
        "{:?}",
        net.replies
    );
    assert_eq!(net.state(0, &id, LUIGI), "taken-in-charge");
    net.advance(Duration::hours(12) + Duration::minutes(1));
    assert!(net.run_due(0).is_empty(), "12 h cancelled by the take-charge");
    net.advance(Duration::hours(9) + Duration::minutes(58)); // 21:59
    assert!(net.run_due(0).is_empty(), "never before 22 h");
    net.advance(Duration::hours(1) + Duration::minutes(1)); // 23:00
    let due = net.run_due(0);
    assert_eq!(due.len(), 1);
    let d = daticert(&due[0].bytes);
    assert_eq!(d.delivery.as_deref(), Some(LUIGI));
    assert!(String::from_utf8_lossy(&due[0].bytes).contains("24 ore"));
    assert_eq!(net.state(0, &id, LUIGI), "timed-out");
    net.advance(Duration::hours(5));
    assert!(net.run_due(0).is_empty());
    assert_eq!(net.mailbox(MARIO), vec!["accettazione", "preavviso-errore-consegna"]);
}

/// §3.1.6, case 2: no take-charge, delivery between 12 h and 24 h → the 12 h notice only.
fn timeout_late_delivery_gets_the_12h_notice_only(b: &Backend) {
    let mut net = Net::on(b);
    net.hold = Some(|w| w.out.kind == "posta-certificata");
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &original(MARIO, &[LUIGI], &[], "x", "y"));
    let id = identifier(&out);
    net.advance(Duration::hours(12));
    let due = net.run_due(0);
    assert_eq!(due.len(), 1);
    assert!(String::from_utf8_lossy(&due[0].bytes).contains("12 ore"));
    assert_eq!(net.state(0, &id, LUIGI), "pending");
    net.advance(Duration::hours(3));
    net.hold = None;
    net.release();
    assert_eq!(net.state(0, &id, LUIGI), "delivered");
    net.advance(Duration::hours(10));
    assert!(net.run_due(0).is_empty(), "no 24 h notice after delivery");
    assert_eq!(
        net.mailbox(MARIO),
        vec!["accettazione", "preavviso-errore-consegna", "avvenuta-consegna"]
    );
}

/// §3.1.6, case 3: nothing at all → both notices.
fn timeout_nothing_at_all_gets_both_notices(b: &Backend) {
    let mut net = Net::on(b);
    net.hold = Some(|w| w.out.kind == "posta-certificata");
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &original(MARIO, &[LUIGI], &[], "x", "y"));
    let id = identifier(&out);
    net.advance(Duration::hours(11) + Duration::minutes(59));
    assert!(net.run_due(0).is_empty());
    net.advance(Duration::minutes(1));
    assert_eq!(net.run_due(0).len(), 1);
    net.advance(Duration::hours(11));
    let due = net.run_due(0);
    assert_eq!(due.len(), 1);
    assert!(String::from_utf8_lossy(&due[0].bytes).contains("24 ore"));
    assert_eq!(net.state(0, &id, LUIGI), "timed-out");
    let s = net.status(0, &id);
    let r = &s.sent.unwrap().recipients[0];
    let sent: Vec<&str> =
        r.receipts.iter().filter(|x| x.direction == "sent").map(|x| x.kind.as_str()).collect();
    assert_eq!(sent, ["preavviso-errore-consegna/12h", "preavviso-errore-consegna/24h"]);
    // a delivery receipt after the 24 h notice is delivered but tracking stopped
    net.hold = None;
    net.release();
    assert_eq!(net.state(0, &id, LUIGI), "timed-out");
    assert_eq!(net.mailbox(MARIO).last().map(String::as_str), Some("avvenuta-consegna"));
}

fn a_forged_receipt_cancels_no_timer(b: &Backend) {
    let mut net = Net::on(b);
    net.hold = Some(|w| w.out.kind == "posta-certificata");
    let out = net.submit(0, &smtp(MARIO, &[LUIGI]), &original(MARIO, &[LUIGI], &[], "x", "y"));
    let id = identifier(&out);
    let env = net.held[0].out.bytes.clone();
    let beta = provider(1);
    let mut req = pec_core::build::BuildRequest::new(pec_core::model::MessageKind::Receipt(
        pec_core::model::ReceiptKind::Delivery,
    ));
    req.envelope = Some(&env);
    req.recipients = vec![LUIGI.into()];
    // 1. signed by Alpha's own key: Alpha does not manage Luigi's domain (daticert-mismatch)
    let by_alpha = beta.build(&req, Some(&signer(0))).unwrap();
    // 2. signed by a key outside the trust list, in Beta's name
    let w = world();
    let stranger = pec_core::signer::SoftwareSigner::from_der(
        &w.stranger.providers[0].key_pkcs8,
        w.stranger.providers[0].cert_der.clone(),
        vec![w.stranger.ca.cert_der.clone()],
    )
    .unwrap();
    let by_stranger = beta.build(&req, Some(&stranger)).unwrap();
    // 3. a genuine receipt altered after signing
    let genuine = beta.build(&req, Some(&signer(1))).unwrap();
    let text = String::from_utf8(genuine).unwrap();
    let tampered = text.replacen("consegnato", "consegnata", 1).into_bytes();
    assert_ne!(tampered, text.as_bytes());
    for forged in [by_alpha, by_stranger, tampered] {
        net.inbound(0, &smtp("posta-certificata@pec.beta.test", &[MARIO]), &forged);
        assert_eq!(net.state(0, &id, LUIGI), "pending");
    }
    // delivered to Mario as anomalies, never as receipts
    assert!(net.mailbox(MARIO).iter().skip(1).all(|k| k == "errore"), "{:?}", net.mailbox(MARIO));
    net.advance(Duration::hours(12));
    assert_eq!(net.run_due(0).len(), 1, "the 12 h timer still fires");
    net.advance(Duration::hours(11));
    assert_eq!(net.run_due(0).len(), 1, "and the 24 h one");
}

#[test]
fn happy_path_between_two_providers_sqlite() {
    happy_path_between_two_providers(&Backend::Sqlite);
}

#[test]
fn non_acceptance_for_formal_errors_and_for_virus_sqlite() {
    non_acceptance_for_formal_errors_and_for_virus(&Backend::Sqlite);
}

#[test]
fn anomaly_for_ordinary_and_for_badly_signed_mail_sqlite() {
    anomaly_for_ordinary_and_for_badly_signed_mail(&Backend::Sqlite);
}

#[test]
fn virus_found_at_the_recipients_incoming_point_sqlite() {
    virus_found_at_the_recipients_incoming_point(&Backend::Sqlite);
}

#[test]
fn delivery_error_carries_the_enhanced_status_code_sqlite() {
    delivery_error_carries_the_enhanced_status_code(&Backend::Sqlite);
}

#[test]
fn mixed_certified_and_external_recipients_sqlite() {
    mixed_certified_and_external_recipients(&Backend::Sqlite);
}

#[test]
fn same_provider_mail_passes_incoming_and_delivery_points_sqlite() {
    same_provider_mail_passes_incoming_and_delivery_points(&Backend::Sqlite);
}

#[test]
fn timeout_take_charge_but_no_delivery_sqlite() {
    timeout_take_charge_but_no_delivery(&Backend::Sqlite);
}

#[test]
fn timeout_late_delivery_gets_the_12h_notice_only_sqlite() {
    timeout_late_delivery_gets_the_12h_notice_only(&Backend::Sqlite);
}

#[test]
fn timeout_nothing_at_all_gets_both_notices_sqlite() {
    timeout_nothing_at_all_gets_both_notices(&Backend::Sqlite);
}

#[test]
fn a_forged_receipt_cancels_no_timer_sqlite() {
    a_forged_receipt_cancels_no_timer(&Backend::Sqlite);
}

/// The same flows on a real PostgreSQL (one server for all, one database per engine).
#[cfg(feature = "postgres")]
#[test]
fn every_flow_on_postgresql() {
    let Some(server) = pg::PgServer::start() else { return };
    let b = Backend::Pg(std::sync::Arc::new(server));
    happy_path_between_two_providers(&b);
    non_acceptance_for_formal_errors_and_for_virus(&b);
    anomaly_for_ordinary_and_for_badly_signed_mail(&b);
    virus_found_at_the_recipients_incoming_point(&b);
    delivery_error_carries_the_enhanced_status_code(&b);
    mixed_certified_and_external_recipients(&b);
    same_provider_mail_passes_incoming_and_delivery_points(&b);
    timeout_take_charge_but_no_delivery(&b);
    timeout_late_delivery_gets_the_12h_notice_only(&b);
    timeout_nothing_at_all_gets_both_notices(&b);
    a_forged_receipt_cancels_no_timer(&b);
}
