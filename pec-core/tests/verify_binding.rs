//! What the reader sees is bound to what was signed (issue 12, findings 2-4): the signer is
//! the provider the message speaks for (`From:`, daticert `gestore-emittente` and the address
//! acted for), content outside the signature is reported (`signed_scope`, `partially-signed`,
//! two-part `multipart/signed`), and the kind comes from the signed daticert.
//!
//! Every hostile message is a genuine one built and signed by the two-provider test PKI,
//! altered outside the signed bytes (or a daticert crafted and signed with the other
//! provider's key). Each case is checked through both front doors, `verify_message` (the
//! fast path) and `verify_parsed` (after `PecMessage::parse`), which must agree.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::sync::{Arc, OnceLock};

use chrono::Utc;
use pec_core::build::{BuildRequest, Timeout};
use pec_core::chain::TrustStore;
use pec_core::index::{Directory, ProviderDirectory, ProviderRecord};
use pec_core::message::PecMessage;
use pec_core::model::{CertError, MessageKind, ReceiptKind};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::signer::SoftwareSigner;
use pec_core::smime::{Reason, SignedScope, Verdict, VerificationReport, VerifyOptions};
use pec_core::verify::verify_parsed;
use pec_core::verify_message;
use pec_testkit::TwoProviders;

const EXAMPLE: &str = "Example PEC S.p.A.";
const OTHER: &str = "Other PEC S.r.l.";

/// The two providers' PKI, signers and index.
struct World {
    signers: [SoftwareSigner; 2],
    opts: VerifyOptions,
    opts_no_index: VerifyOptions,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let two = TwoProviders::generate(30).unwrap();
        let opts_no_index =
            VerifyOptions { trust: Arc::new(two.trust().unwrap()), ..VerifyOptions::default() };
        let opts = VerifyOptions { index: Some(two.index().unwrap()), ..opts_no_index.clone() };
        World { signers: [two.signer(0).unwrap(), two.signer(1).unwrap()], opts, opts_no_index }
    })
}

fn provider(name: &str, domain: &str) -> Provider {
    Provider::new(
        name,
        domain,
        RecipientPolicy::CertifiedDomains(vec!["pec.example.it".into(), "pec.other.it".into()]),
    )
    .unwrap()
}

fn example() -> Provider {
    provider(EXAMPLE, "pec.example.it")
}

fn other() -> Provider {
    provider(OTHER, "pec.other.it")
}

fn original(from: &str, to: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: prova\r\nMessage-ID: <v1@client.example.it>\r\n\
         Date: Wed, 25 Nov 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nTesto.\r\n"
    )
    .into_bytes()
}

/// Builds `kind` with `p`, signed by provider `signer` (0: Example, 1: Other).
fn build(p: &Provider, signer: usize, req: &BuildRequest<'_>) -> Vec<u8> {
    p.build(req, Some(&world().signers[signer])).unwrap()
}

/// A transport envelope from mario.rossi@pec.example.it to ufficio@pec.other.it, by Example.
fn envelope() -> Vec<u8> {
    let orig = original("mario.rossi@pec.example.it", "ufficio@pec.other.it");
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(&orig);
    build(&example(), 0, &req)
}

/// A transport envelope sent by a user of Other, built and signed by Other.
fn other_envelope() -> Vec<u8> {
    let orig = original("luigi.bianchi@pec.other.it", "ufficio@pec.example.it");
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(&orig);
    build(&other(), 1, &req)
}

fn header_end(msg: &[u8]) -> usize {
    msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2
}

/// Replaces the top-level field `name` (one line) with `replacement` (full lines, CRLF
/// included; empty removes it), outside the signed bytes.
fn set_header(msg: &[u8], name: &str, replacement: &str) -> Vec<u8> {
    let end = header_end(msg);
    let head = std::str::from_utf8(&msg[..end]).unwrap();
    let start = head
        .match_indices(&format!("{name}:"))
        .map(|(i, _)| i)
        .find(|&i| i == 0 || head.as_bytes()[i - 1] == b'\n')
        .unwrap_or_else(|| panic!("no {name}: in {head}"));
    let mut line_end = start + head[start..].find("\r\n").unwrap() + 2;
    while head.as_bytes().get(line_end).is_some_and(|b| *b == b' ' || *b == b'\t') {
        line_end += head[line_end..].find("\r\n").unwrap() + 2;
    }
    let mut out = msg[..start].to_vec();
    out.extend_from_slice(replacement.as_bytes());
    out.extend_from_slice(&msg[line_end..]);
    out
}

/// Both front doors, which must agree; returns the report.
fn verify_both(msg: &[u8], opts: &VerifyOptions) -> VerificationReport {
    let fast = verify_message(msg, opts).unwrap();
    let parsed = PecMessage::parse(msg).unwrap();
    let slow = verify_parsed(&parsed, opts);
    assert_eq!(
        (fast.verdict, &fast.reasons, fast.signed_scope),
        (slow.verdict, &slow.reasons, slow.signed_scope),
        "verify_message and verify_parsed disagree"
    );
    assert_eq!(parsed.signed_scope, fast.signed_scope, "PecMessage.signed_scope");
    fast
}

fn assert_valid(msg: &[u8]) {
    let r = verify_both(msg, &world().opts);
    assert_eq!((r.verdict, &r.reasons), (Verdict::Valid, &vec![]), "expected valid");
    assert_eq!(r.signed_scope, Some(SignedScope::Whole));
}

fn assert_invalid_with(msg: &[u8], reason: Reason) {
    let r = verify_both(msg, &world().opts);
    assert_eq!(r.verdict, Verdict::Invalid, "{:?}", r.reasons);
    assert!(r.reasons.contains(&reason), "expected {reason} in {:?}", r.reasons);
}

// ---------------------------------------------------------------------------------------
// every kind, built by the right provider, still verifies: no false alarm

#[test]
fn every_kind_built_by_the_right_provider_is_valid_with_an_index() {
    let env = envelope();
    assert_valid(&env);
    let orig = original("mario.rossi@pec.example.it", "ufficio@pec.other.it");
    let sender_side = |kind: MessageKind, error: Option<CertError>| {
        let mut req = BuildRequest::new(kind);
        req.original = Some(&orig);
        req.error = error;
        build(&example(), 0, &req)
    };
    assert_valid(&sender_side(MessageKind::Receipt(ReceiptKind::Acceptance), None));
    assert_valid(&sender_side(
        MessageKind::Receipt(ReceiptKind::NonAcceptance),
        Some(CertError::Another),
    ));
    let from_env = |p: &Provider, signer: usize, kind: ReceiptKind, error: Option<CertError>| {
        let mut req = BuildRequest::new(MessageKind::Receipt(kind));
        req.envelope = Some(&env);
        req.recipients = vec!["ufficio@pec.other.it".into()];
        req.error = error;
        req.timeout = Some(Timeout::H12);
        build(p, signer, &req)
    };
    // the recipient's provider
    for kind in [
        ReceiptKind::TakeCharge,
        ReceiptKind::Delivery,
        ReceiptKind::NonDelivery,
        ReceiptKind::VirusDetection,
    ] {
        let m = from_env(&other(), 1, kind.clone(), None);
        let r = verify_both(&m, &world().opts);
        assert_eq!(r.verdict, Verdict::Valid, "{kind:?}: {:?}", r.reasons);
    }
    // the sender's provider: timeout notice, and the non-delivery for virus (spec §9.4)
    assert_valid(&from_env(&example(), 0, ReceiptKind::DeliveryTimeout, None));
    assert_valid(&from_env(&example(), 0, ReceiptKind::NonDelivery, Some(CertError::Virus)));
    // the anomaly envelope has no daticert: only From: is bound
    let ordinary = b"From: someone@example.com\r\nTo: ufficio@pec.other.it\r\nSubject: ciao\r\n\
        Message-ID: <x1@example.com>\r\nDate: Wed, 25 Nov 2026 10:05:00 +0100\r\n\r\nciao\r\n";
    let mut req = BuildRequest::new(MessageKind::ANOMALY_ENVELOPE);
    req.envelope = Some(ordinary);
    req.recipients = vec!["ufficio@pec.other.it".into()];
    assert_valid(&build(&other(), 1, &req));
}

// ---------------------------------------------------------------------------------------
// finding 2: the signer must be the provider the message speaks for

#[test]
fn from_missing_fails_closed() {
    let msg = set_header(&other_envelope(), "From", "");
    assert_invalid_with(&msg, Reason::FromDomainMismatch);
    // without an index there is nothing to bind to: still valid
    assert_eq!(verify_both(&msg, &world().opts_no_index).verdict, Verdict::Valid);
}

#[test]
fn from_comment_holding_another_address_is_read_as_a_comment() {
    let msg = set_header(
        &other_envelope(),
        "From",
        "From: posta-certificata@pec.example.it (via <posta-certificata@pec.other.it>)\r\n",
    );
    assert_invalid_with(&msg, Reason::FromDomainMismatch);
}

#[test]
fn from_with_two_addresses_fails_closed() {
    let msg = set_header(
        &other_envelope(),
        "From",
        "From: direzione@pec.example.it, <posta-certificata@pec.other.it>\r\n",
    );
    assert_invalid_with(&msg, Reason::FromDomainMismatch);
}

#[test]
fn from_without_at_fails_closed() {
    let msg =
        set_header(&other_envelope(), "From", "From: Posta Certificata <posta-certificata>\r\n");
    assert_invalid_with(&msg, Reason::FromDomainMismatch);
}

#[test]
fn two_from_fields_fail_closed() {
    let msg = set_header(
        &other_envelope(),
        "From",
        "From: posta-certificata@pec.other.it\r\nFrom: direzione@pec.example.it\r\n",
    );
    assert_invalid_with(&msg, Reason::FromDomainMismatch);
}

#[test]
fn from_group_fails_closed() {
    let msg =
        set_header(&other_envelope(), "From", "From: PEC: <posta-certificata@pec.other.it>;\r\n");
    assert_invalid_with(&msg, Reason::FromDomainMismatch);
    // while the genuine From: (a quoted display name holding an address) binds
    assert_valid(&other_envelope());
}

#[test]
fn on_behalf_of_another_providers_user_is_daticert_mismatch() {
    // Other signs an envelope that names Example as gestore-emittente, for Example's user:
    // From: "Per conto di: mario.rossi@pec.example.it" <posta-certificata@pec.other.it>
    let orig = original("mario.rossi@pec.example.it", "ufficio@pec.other.it");
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(&orig);
    let msg = build(&provider(EXAMPLE, "pec.other.it"), 1, &req);
    let m = PecMessage::parse(&msg).unwrap();
    assert_eq!(m.from_domain().as_deref(), Some("pec.other.it"));
    assert_eq!(m.daticert.as_ref().unwrap().issuer, EXAMPLE);
    let r = verify_both(&msg, &world().opts);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::DaticertMismatch]));
}

#[test]
fn gestore_emittente_of_another_provider_is_daticert_mismatch() {
    // right From: and mittente, but the daticert names the other provider
    let orig = original("luigi.bianchi@pec.other.it", "ufficio@pec.example.it");
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(&orig);
    let msg = build(&provider(EXAMPLE, "pec.other.it"), 1, &req);
    let r = verify_both(&msg, &world().opts);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::DaticertMismatch]));
}

#[test]
fn sender_outside_the_signers_domains_is_daticert_mismatch() {
    // Other, under its own name, certifies a message of Example's user
    let orig = original("mario.rossi@pec.example.it", "ufficio@pec.other.it");
    let mut req = BuildRequest::new(MessageKind::Receipt(ReceiptKind::Acceptance));
    req.original = Some(&orig);
    let msg = build(&other(), 1, &req);
    let r = verify_both(&msg, &world().opts);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::DaticertMismatch]));
}

#[test]
fn delivery_for_a_recipient_outside_the_signers_domains_is_daticert_mismatch() {
    // Other issues a delivery receipt for a mailbox it does not host
    let env = other_envelope();
    let mut req = BuildRequest::new(MessageKind::Receipt(ReceiptKind::Delivery));
    req.envelope = Some(&env);
    req.recipients = vec!["ufficio@pec.example.it".into()];
    let msg = build(&other(), 1, &req);
    let r = verify_both(&msg, &world().opts);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::DaticertMismatch]));
    // the same receipt from the recipient's provider is fine
    let msg = build(&example(), 0, &req);
    assert_valid(&msg);
}

// ---------------------------------------------------------------------------------------
// finding 3: content outside the signature

/// The genuine envelope as the second part of an unsigned multipart/mixed, next to an
/// unsigned text part, under a new Subject.
fn wrapped(env: &[u8]) -> Vec<u8> {
    let head = std::str::from_utf8(&env[..header_end(env)]).unwrap();
    let from = head.lines().find(|l| l.starts_with("From:")).unwrap();
    let mut out = format!(
        "{from}\r\nTo: ufficio@pec.other.it\r\nSubject: URGENTE: our IBAN changed\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"wrap\"\r\n\r\n\
         --wrap\r\nContent-Type: text/plain\r\n\r\nOur IBAN changed: IT00X0000000000000000000000\r\n\
         --wrap\r\n"
    )
    .into_bytes();
    out.extend_from_slice(env);
    out.extend_from_slice(b"\r\n--wrap--\r\n");
    out
}

#[test]
fn envelope_wrapped_in_unsigned_mixed_is_partially_signed() {
    let msg = wrapped(&envelope());
    let r = verify_both(&msg, &world().opts);
    assert_eq!(r.verdict, Verdict::Indeterminate, "{:?}", r.reasons);
    assert_eq!(r.reasons, vec![Reason::PartiallySigned]);
    assert_eq!(r.signed_scope, Some(SignedScope::Inner));
    let m = PecMessage::parse(&msg).unwrap();
    assert_eq!(m.signed_scope, Some(SignedScope::Inner));
    assert!(
        m.warnings.iter().any(|w| w.contains("not covered by the signature")),
        "{:?}",
        m.warnings
    );
    // without an index too
    let r = verify_both(&msg, &world().opts_no_index);
    assert_eq!((r.verdict, r.reasons), (Verdict::Indeterminate, vec![Reason::PartiallySigned]));
}

#[test]
fn genuine_envelope_is_whole() {
    let env = envelope();
    let r = verify_both(&env, &world().opts_no_index);
    assert_eq!(r.signed_scope, Some(SignedScope::Whole));
    assert_eq!(PecMessage::parse(&env).unwrap().signed_scope, Some(SignedScope::Whole));
    // nothing signed, no scope
    let plain = original("a@b.it", "c@d.it");
    let r = verify_both(&plain, &world().opts_no_index);
    assert_eq!((r.signed_scope, r.reasons), (None, vec![Reason::NoSignature]));
    assert_eq!(PecMessage::parse(&plain).unwrap().signed_scope, None);
}

/// Adds a third part just before the close delimiter of the top-level multipart/signed.
fn with_third_part(env: &[u8]) -> Vec<u8> {
    let head = std::str::from_utf8(&env[..header_end(env)]).unwrap();
    let ct = head.find("boundary=\"").unwrap() + "boundary=\"".len();
    let boundary = &head[ct..ct + head[ct..].find('"').unwrap()];
    let close = format!("\r\n--{boundary}--");
    let at = env.windows(close.len()).rposition(|w| w == close.as_bytes()).unwrap();
    let mut out = env[..at].to_vec();
    out.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nOur IBAN changed.").as_bytes(),
    );
    out.extend_from_slice(&env[at..]);
    out
}

#[test]
fn third_part_in_multipart_signed_is_malformed() {
    let msg = with_third_part(&envelope());
    let r = verify_both(&msg, &world().opts);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::MalformedSignature]));
    let m = PecMessage::parse(&msg).unwrap();
    assert_eq!(m.signed.as_ref().unwrap().part_count, 3);
    // nested in a wrapper: the same
    let r = verify_both(&wrapped(&msg), &world().opts);
    assert!(r.reasons.contains(&Reason::MalformedSignature), "{:?}", r.reasons);
}

// ---------------------------------------------------------------------------------------
// finding 4: the kind comes from the signed daticert

#[test]
fn relabelled_acceptance_keeps_its_signed_kind() {
    let orig = original("mario.rossi@pec.example.it", "ufficio@pec.other.it");
    let mut req = BuildRequest::new(MessageKind::Receipt(ReceiptKind::Acceptance));
    req.original = Some(&orig);
    let acc = build(&example(), 0, &req);
    let msg = set_header(&acc, "X-Ricevuta", "X-Ricevuta: avvenuta-consegna\r\n");
    let m = PecMessage::parse(&msg).unwrap();
    assert_eq!(m.kind, Some(MessageKind::Receipt(ReceiptKind::Acceptance)));
    assert_eq!(m.header_kind, Some(MessageKind::Receipt(ReceiptKind::Delivery)));
    assert!(
        m.warnings.iter().any(|w| w.contains("does not match daticert tipo accettazione")),
        "{:?}",
        m.warnings
    );
    let r = verify_both(&msg, &world().opts);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::HeaderMismatch]));
    let r = verify_both(&msg, &world().opts_no_index);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::HeaderMismatch]));
    // the genuine one: kind and header_kind agree, no warning
    let m = PecMessage::parse(&acc).unwrap();
    assert_eq!(m.kind, m.header_kind);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
}

#[test]
fn envelope_relabelled_as_anomaly_keeps_its_signed_kind() {
    let msg = set_header(&envelope(), "X-Trasporto", "X-Trasporto: errore\r\n");
    let m = PecMessage::parse(&msg).unwrap();
    assert_eq!(m.kind, Some(MessageKind::TRANSPORT_ENVELOPE));
    assert_eq!(m.header_kind, Some(MessageKind::ANOMALY_ENVELOPE));
    let r = verify_both(&msg, &world().opts);
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::HeaderMismatch]));
}

// ---------------------------------------------------------------------------------------
// real traffic: the Aruba receipts bind to their provider (daticert says "ARUBA PEC S.p.A.",
// the certificate "Aruba PEC S.p.A.": names compare case-insensitively, as the index does)

use pec_testkit::interop_read as interop;

#[test]
fn real_aruba_receipts_bind_to_their_provider() {
    let certs = std::path::Path::new("/etc/ssl/certs");
    if !pec_testkit::require_path(certs) {
        return;
    }
    let mut trust = TrustStore::new();
    trust.add_dir(certs).unwrap();
    let base = VerifyOptions {
        trust: Arc::new(trust),
        time: pec_core::smime::VerifyTime::SigningTime,
        ..VerifyOptions::default()
    };
    for name in [
        "OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt",
        "OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt",
    ] {
        let Some(msg) = interop(name) else { return };
        let r = verify_both(&msg, &base);
        assert_eq!(r.verdict, Verdict::Valid, "{name}: {:?}", r.reasons);
        let der = r.signer.unwrap().der;
        let index = |provider_name: &str, domains: &[&str]| {
            let rec = ProviderRecord {
                dn: "providerName=ARUBA PEC S.p.A.,o=postacert".into(),
                name: provider_name.into(),
                cert_hashes: vec![pec_core::crypto::sha1_hex(&der)],
                certificates: vec![der.clone()],
                mail_receipt: "ricevute@pec.aruba.it".into(),
                managed_domains: domains.iter().map(|d| d.to_string()).collect(),
                ..ProviderRecord::default()
            };
            let dir: Arc<dyn ProviderDirectory> =
                Arc::new(Directory::from_records(vec![rec]).unwrap());
            VerifyOptions { index: Some(dir), ..base.clone() }
        };
        let r = verify_both(&msg, &index("Aruba PEC S.p.A.", &["pec.aruba.it", "pec.it"]));
        assert_eq!(r.verdict, Verdict::Valid, "{name}: {:?}", r.reasons);
        // the user's domain (daticert mittente / consegna) not managed: not bound
        let r = verify_both(&msg, &index("ARUBA PEC S.p.A.", &["pec.aruba.it"]));
        assert_eq!(r.reasons, vec![Reason::DaticertMismatch], "{name}");
        let r = verify_both(&msg, &index("Namirial S.p.A.", &["pec.aruba.it", "pec.it"]));
        assert_eq!(r.reasons, vec![Reason::DaticertMismatch], "{name}");
    }
}

#[test]
fn unreadable_signed_daticert_binds_nothing() {
    // a provider signs a message whose daticert.xml is not XML: with an index, nothing in it
    // can be checked against the signer, so it fails closed
    let orig = original("luigi.bianchi@pec.other.it", "ufficio@pec.example.it");
    let mut req = BuildRequest::new(MessageKind::TRANSPORT_ENVELOPE);
    req.original = Some(&orig);
    let unsigned = String::from_utf8(other().build(&req, None).unwrap()).unwrap();
    let at = unsigned.find("filename=\"daticert.xml\"").unwrap();
    let body = at + unsigned[at..].find("\r\n\r\n").unwrap() + 4;
    let end = body + unsigned[body..].find("\r\n--").unwrap();
    let broken = format!("{}bm90IHhtbA=={}", &unsigned[..body], &unsigned[end..]); // "not xml"
    let msg =
        pec_core::smime::sign_message(broken.as_bytes(), &world().signers[1], Utc::now()).unwrap();
    assert!(PecMessage::parse(&msg).is_err(), "the parser refuses the broken daticert");
    let r = verify_message(&msg, &world().opts).unwrap();
    assert_eq!((r.verdict, r.reasons), (Verdict::Invalid, vec![Reason::DaticertMismatch]));
    // without an index the signature itself is fine
    let r = verify_message(&msg, &world().opts_no_index).unwrap();
    assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.reasons);
}
