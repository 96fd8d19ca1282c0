//! Every envelope, receipt and notice built from realistic originals, re-parsed by pec-core
//! and by the independent `mail-parser`, daticert validated by the real `xmllint`, signed
//! builds verified by the real `openssl cms -verify`.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders, PartType};
use pec_core::build::{BuildRequest, TimeReference, Timeout, brief::brief_original, no_bare_lf};
use pec_core::checks::SmtpEnvelope;
use pec_core::crypto::sha1_hex;
use pec_core::error::{Error, ParseError};
use pec_core::message::PecMessage;
use pec_core::model::{CertError, MessageKind, ReceiptKind, ReceiptType, TransportKind};
use pec_core::provider::Provider;

const TIME: &str = "2026-09-14T09:00:05+02:00";
const CLIENT_MSGID: &str = "<a1b2c3@client.example>";
const SUBJECT: &str = "Richiesta documenti – fattura n° 12 perché";

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/build")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(vectors().join(name)).unwrap()
}

fn sender_provider() -> Provider {
    Provider::from_toml(
        "name = \"Example PEC S.p.A.\"\ndomain = \"pec.example.it\"\n\
         certified_domains = [\"pec.example.it\", \"pec.ente.example.it\"]\n",
    )
    .unwrap()
}

fn recipient_provider() -> Provider {
    Provider::from_toml(
        "name = \"Ente PEC S.r.l.\"\ndomain = \"pec.ente.example.it\"\n\
         certified_domains = [\"pec.example.it\", \"pec.ente.example.it\"]\n",
    )
    .unwrap()
}

fn time() -> TimeReference {
    TimeReference::from_rfc3339(TIME).unwrap()
}

fn req<'a>(kind: MessageKind) -> BuildRequest<'a> {
    let mut r = BuildRequest::new(kind);
    r.time = Some(time());
    r
}

fn receipt(k: ReceiptKind) -> MessageKind {
    MessageKind::Receipt(k)
}

fn envelope_of(original: &[u8]) -> Vec<u8> {
    let mut r = req(MessageKind::TRANSPORT_ENVELOPE);
    r.original = Some(original);
    sender_provider().build(&r, None).unwrap()
}

use pec_testkit::require_tool;

fn dtd() -> PathBuf {
    let official = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/daticert.dtd");
    if official.exists() { official } else { vectors().join("daticert.dtd") }
}

fn xmllint(xml: &[u8]) {
    if !require_tool("xmllint") {
        return;
    }
    let dir = tempdir();
    let f = dir.join("daticert.xml");
    std::fs::write(&f, xml).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--dtdvalid")
        .arg(dtd())
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmllint: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(xml)
    );
    std::fs::remove_dir_all(dir).ok();
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "pec-build-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// What the independent parser finds in a built message.
struct Seen {
    subject: String,
    daticert: Option<Vec<u8>>,
    postacert: Option<Vec<u8>>,
    text: String,
    html: String,
}

/// Checks common to every output and returns what mail-parser saw.
fn common(out: &[u8], kind: &MessageKind) -> Seen {
    assert!(no_bare_lf(out), "bare LF in {kind}");
    let s = String::from_utf8_lossy(out);
    assert!(s.contains("MIME-Version: 1.0\r\n"));
    assert!(s.contains("Date: Mon, 14 Sep 2026 09:00:05 +0200\r\n"), "Date in {kind}");
    let m = MessageParser::default().parse(out).expect("mail-parser parses");
    let hname = match kind {
        MessageKind::Transport(_) => "X-Trasporto",
        MessageKind::Receipt(_) => "X-Ricevuta",
    };
    assert_eq!(m.header_raw(hname).map(str::trim), Some(kind.as_str()));
    let mut daticert = None;
    let mut postacert = None;
    for a in m.attachments() {
        match a.attachment_name() {
            Some("daticert.xml") => daticert = Some(a.contents().to_vec()),
            Some("postacert.eml") => {
                let PartType::Message(inner) = &a.body else { panic!("postacert not rfc822") };
                postacert = Some(inner.raw_message().to_vec());
                let cte = a.content_transfer_encoding().unwrap_or("7bit");
                assert!(cte == "7bit" || cte == "8bit", "postacert CTE {cte}");
            }
            _ => {}
        }
    }
    let text = m.body_text(0).unwrap().into_owned();
    let html = m.body_html(0).unwrap().into_owned();
    assert!(text.contains("14/09/2026 alle ore 09:00:05 (+0200)"), "human time in {kind}");
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    if let Some(x) = &daticert {
        let xs = String::from_utf8_lossy(x);
        assert!(xs.contains("<giorno>14/09/2026</giorno>"));
        assert!(xs.contains("<ora>09:00:05</ora>"));
        assert!(xs.contains("zona=\"+0200\""));
        xmllint(x);
    }
    Seen { subject: m.subject().unwrap_or_default().to_string(), daticert, postacert, text, html }
}

/// `PecMessage::parse`, or `None` while the daticert reader is the placeholder on main.
fn parse_ours(out: &[u8]) -> Option<PecMessage<'_>> {
    match PecMessage::parse(out) {
        Ok(pm) => Some(pm),
        Err(Error::Daticert(pec_core::error::DaticertError::Missing("reader"))) => {
            eprintln!("skipping the pec-core re-parse: the daticert reader has not landed");
            None
        }
        Err(e) => panic!("PecMessage::parse: {e}"),
    }
}

/// The re-parse by pec-core.
fn ours(out: &[u8], kind: &MessageKind, identificativo: &str, msgid: Option<&str>, subject: &str) {
    let Some(pm) = parse_ours(out) else { return };
    assert_eq!(pm.kind.as_ref(), Some(kind));
    assert_eq!(pm.identificativo.as_deref(), Some(identificativo), "identificativo of {kind}");
    assert_eq!(pm.msgid.as_deref(), msgid, "msgid of {kind}");
    assert_eq!(pm.subject.as_deref(), Some(subject), "subject of {kind}");
    if let Some(d) = &pm.daticert {
        assert_eq!(d.identifier, identificativo);
        assert_eq!(d.msgid.as_deref(), msgid);
        assert_eq!(d.subject.as_deref(), Some(subject));
        assert_eq!(d.date.day, "14/09/2026");
    }
}

fn xml_str(x: &Option<Vec<u8>>) -> String {
    String::from_utf8(x.clone().expect("daticert present")).unwrap()
}

#[test]
fn transport_envelope_from_realistic_original() {
    let original = read("original-attachments.eml");
    let env = envelope_of(&original);
    let kind = MessageKind::TRANSPORT_ENVELOPE;
    let seen = common(&env, &kind);
    let s = String::from_utf8_lossy(&env).into_owned();
    assert_eq!(seen.subject, format!("POSTA CERTIFICATA: {SUBJECT}"));
    assert!(s.contains(
        "From: \"Per conto di: mario.rossi@pec.example.it\" <posta-certificata@pec.example.it>\r\n"
    ));
    assert!(s.contains("Reply-To: mario.rossi@pec.example.it\r\n"));
    assert!(
        s.contains("To: Ufficio Protocollo <ufficio@pec.ente.example.it>, info@example.com\r\n")
    );
    assert!(s.contains("Cc: protocollo@pec.ente.example.it\r\n"));
    assert!(s.contains("X-Riferimento-Message-ID: <a1b2c3@client.example>\r\n"));
    assert!(s.contains("X-TipoRicevuta: completa\r\n"));
    assert!(s.contains("Received: from client.example"));
    let id = message_id(&env);
    assert!(id.ends_with("@pec.example.it"));
    // postacert = original with Message-ID replaced and X-Riferimento added, nothing else
    let expected = String::from_utf8(original.clone()).unwrap().replace(
        "Message-ID: <a1b2c3@client.example>\r\n",
        &format!("Message-ID: <{id}>\r\nX-Riferimento-Message-ID: <a1b2c3@client.example>\r\n"),
    );
    assert_eq!(seen.postacert.as_deref(), Some(expected.as_bytes()));
    let x = xml_str(&seen.daticert);
    assert!(x.contains("tipo=\"posta-certificata\""));
    assert!(x.contains("<mittente>mario.rossi@pec.example.it</mittente>"));
    assert!(
        x.contains("<destinatari tipo=\"certificato\">ufficio@pec.ente.example.it</destinatari>")
    );
    assert!(x.contains("<destinatari tipo=\"esterno\">info@example.com</destinatari>"));
    assert!(x.contains(
        "<destinatari tipo=\"certificato\">protocollo@pec.ente.example.it</destinatari>"
    ));
    assert!(x.contains("<risposte>mario.rossi@pec.example.it</risposte>"));
    assert!(x.contains(&format!("<oggetto>{SUBJECT}</oggetto>")));
    assert!(x.contains("<gestore-emittente>Example PEC S.p.A.</gestore-emittente>"));
    assert!(x.contains(&format!("<identificativo>{id}</identificativo>")));
    assert!(x.contains("<msgid>&lt;a1b2c3@client.example&gt;</msgid>"));
    assert!(x.contains("<ricevuta tipo=\"completa\""));
    assert!(seen.text.contains(&format!("Identificativo messaggio: {id}")));
    assert!(seen.html.contains("Messaggio di posta certificata"));
    ours(&env, &kind, &id, Some(CLIENT_MSGID), SUBJECT);
    let Some(pm) = parse_ours(&env) else { return };
    assert_eq!(pm.original.as_deref(), Some(expected.as_bytes()));
}

fn message_id(msg: &[u8]) -> String {
    let m = MessageParser::default().parse(msg).unwrap();
    m.message_id().unwrap().to_string()
}

#[test]
fn envelope_without_client_message_id_and_lf_original() {
    let original = read("original-nomsgid-lf.eml");
    assert!(!no_bare_lf(&original));
    let env = envelope_of(&original);
    let kind = MessageKind::TRANSPORT_ENVELOPE;
    let seen = common(&env, &kind);
    let s = String::from_utf8_lossy(&env).into_owned();
    assert!(!s.contains("X-Riferimento-Message-ID"));
    assert!(s.contains("X-TipoRicevuta: breve\r\n"));
    let id = message_id(&env);
    let x = xml_str(&seen.daticert);
    assert!(!x.contains("<msgid>"));
    assert!(x.contains("<ricevuta tipo=\"breve\""));
    let post = seen.postacert.unwrap();
    assert!(no_bare_lf(&post));
    let ps = String::from_utf8(post).unwrap();
    assert!(ps.contains(&format!("Message-ID: <{id}>\r\n")));
    assert!(ps.contains("YSxiLGMKMSwyLDMK\r\n--b1--\r\n"));
    ours(&env, &kind, &id, None, "Invio senza Message-ID");
}

#[test]
fn access_point_notices() {
    let original = read("original-attachments.eml");
    let p = sender_provider();
    // acceptance
    let mut r = req(receipt(ReceiptKind::Acceptance));
    r.original = Some(&original);
    let out = p.build(&r, None).unwrap();
    let kind = receipt(ReceiptKind::Acceptance);
    let seen = common(&out, &kind);
    assert_eq!(seen.subject, format!("ACCETTAZIONE: {SUBJECT}"));
    assert!(seen.postacert.is_none());
    assert!(seen.text.contains("info@example.com (\"posta ordinaria\")"));
    assert!(seen.text.contains("ufficio@pec.ente.example.it (\"posta certificata\")"));
    let s = String::from_utf8_lossy(&out).into_owned();
    assert!(s.contains("To: mario.rossi@pec.example.it\r\n"));
    assert!(s.contains("X-Riferimento-Message-ID: <a1b2c3@client.example>\r\n"));
    let x = xml_str(&seen.daticert);
    assert!(x.contains("tipo=\"accettazione\" errore=\"nessuno\""));
    let id = between(&x, "<identificativo>", "</identificativo>");
    assert_ne!(message_id(&out), id, "notices carry their own Message-ID");
    ours(&out, &kind, &id, Some(CLIENT_MSGID), SUBJECT);

    // non-acceptance, formal: Bcc and an SMTP recipient missing from the headers
    let bad = String::from_utf8(original.clone())
        .unwrap()
        .replace("Cc: protocollo", "Bcc: nascosto@example.com\r\nCc: protocollo");
    let mut r = req(receipt(ReceiptKind::NonAcceptance));
    r.original = Some(bad.as_bytes());
    r.smtp = Some(SmtpEnvelope {
        reverse_path: Some("mario.rossi@pec.example.it".into()),
        forward_paths: vec!["nascosto@example.com".into()],
    });
    let out = p.build(&r, None).unwrap();
    let kind = receipt(ReceiptKind::NonAcceptance);
    let seen = common(&out, &kind);
    assert_eq!(seen.subject, format!("AVVISO DI NON ACCETTAZIONE: {SUBJECT}"));
    assert!(seen.postacert.is_none());
    let x = xml_str(&seen.daticert);
    assert!(x.contains("tipo=\"non-accettazione\" errore=\"altro\""));
    assert!(x.contains("<errore-esteso>destinatari in copia nascosta (Bcc) non ammessi;"));
    assert!(seen.text.contains("nascosto@example.com assente dai campi To e Cc"));
    assert!(!String::from_utf8_lossy(&out).contains("X-VerificaSicurezza"));
    let id = between(&x, "<identificativo>", "</identificativo>");
    ours(&out, &kind, &id, Some(CLIENT_MSGID), SUBJECT);
    // the same original is refused for an envelope or an acceptance
    let mut r2 = req(MessageKind::TRANSPORT_ENVELOPE);
    r2.original = Some(bad.as_bytes());
    assert!(matches!(
        p.build(&r2, None),
        Err(Error::Build(pec_core::error::BuildError::FormalChecks { .. }))
    ));

    // non-acceptance for virus
    let mut r = req(receipt(ReceiptKind::NonAcceptance));
    r.original = Some(&original);
    r.error = Some(CertError::Virus);
    r.error_text = Some("Eicar-Test-Signature in fattura.pdf".into());
    let out = p.build(&r, None).unwrap();
    let seen = common(&out, &kind);
    assert_eq!(seen.subject, format!("AVVISO DI NON ACCETTAZIONE PER VIRUS: {SUBJECT}"));
    assert!(String::from_utf8_lossy(&out).contains("X-VerificaSicurezza: errore\r\n"));
    let x = xml_str(&seen.daticert);
    assert!(x.contains("errore=\"virus\""));
    assert!(x.contains("<errore-esteso>Eicar-Test-Signature in fattura.pdf</errore-esteso>"));
}

fn between(s: &str, a: &str, b: &str) -> String {
    let i = s.find(a).unwrap() + a.len();
    let j = s[i..].find(b).unwrap() + i;
    s[i..j].to_string()
}

fn downstream(
    env: &[u8],
    kind: MessageKind,
    recipients: &[&str],
    f: impl FnOnce(&mut BuildRequest<'_>),
) -> Vec<u8> {
    let mut r = req(kind);
    r.envelope = Some(env);
    r.recipients = recipients.iter().map(|s| s.to_string()).collect();
    f(&mut r);
    recipient_provider().build(&r, None).unwrap()
}

#[test]
fn recipient_side_notices() {
    let original = read("original-attachments.eml");
    let env = envelope_of(&original);
    let id = message_id(&env);
    let env_post = common(&env, &MessageKind::TRANSPORT_ENVELOPE).postacert.unwrap();

    // take-charge, two recipients
    let k = receipt(ReceiptKind::TakeCharge);
    let out = downstream(
        &env,
        k.clone(),
        &["ufficio@pec.ente.example.it", "protocollo@pec.ente.example.it"],
        |_| {},
    );
    let seen = common(&out, &k);
    assert_eq!(seen.subject, format!("PRESA IN CARICO: {SUBJECT}"));
    assert!(seen.postacert.is_none());
    let x = xml_str(&seen.daticert);
    assert!(x.contains("<ricezione>ufficio@pec.ente.example.it</ricezione>"));
    assert!(x.contains("<ricezione>protocollo@pec.ente.example.it</ricezione>"));
    assert!(x.contains("<gestore-emittente>Ente PEC S.r.l.</gestore-emittente>"));
    // no index: to the sender provider's service address (the envelope's From)
    assert!(String::from_utf8_lossy(&out).contains("To: posta-certificata@pec.example.it\r\n"));
    ours(&out, &k, &id, Some(CLIENT_MSGID), SUBJECT);

    // complete delivery for a To recipient
    let k = receipt(ReceiptKind::Delivery);
    let out = downstream(&env, k.clone(), &["ufficio@pec.ente.example.it"], |_| {});
    let seen = common(&out, &k);
    assert_eq!(seen.subject, format!("CONSEGNA: {SUBJECT}"));
    assert_eq!(seen.postacert.as_deref(), Some(env_post.as_slice()));
    let x = xml_str(&seen.daticert);
    assert!(x.contains("tipo=\"avvenuta-consegna\" errore=\"nessuno\""));
    assert!(x.contains("<ricevuta tipo=\"completa\""));
    assert!(x.contains("<consegna>ufficio@pec.ente.example.it</consegna>"));
    assert!(x.contains(&format!("<identificativo>{id}</identificativo>")));
    assert!(String::from_utf8_lossy(&out).contains("To: mario.rossi@pec.example.it\r\n"));
    ours(&out, &k, &id, Some(CLIENT_MSGID), SUBJECT);

    // a Cc recipient gets the concise receipt
    let out = downstream(&env, k.clone(), &["protocollo@pec.ente.example.it"], |_| {});
    let seen = common(&out, &k);
    assert!(seen.postacert.is_none());
    assert!(xml_str(&seen.daticert).contains("<ricevuta tipo=\"sintetica\""));
    // ... unless overridden
    let out = downstream(&env, k.clone(), &["protocollo@pec.ente.example.it"], |r| {
        r.receipt_type = Some(ReceiptType::Brief)
    });
    let seen = common(&out, &k);
    assert!(xml_str(&seen.daticert).contains("<ricevuta tipo=\"breve\""));
    assert!(seen.postacert.is_some());

    // non-delivery, no-dest and virus
    let k = receipt(ReceiptKind::NonDelivery);
    let out = downstream(&env, k.clone(), &["ufficio@pec.ente.example.it"], |r| {
        r.error = Some(CertError::NoRecipient);
        r.error_text = Some("5.1.1 - utente inesistente".into());
    });
    let seen = common(&out, &k);
    assert_eq!(seen.subject, format!("AVVISO DI MANCATA CONSEGNA: {SUBJECT}"));
    let x = xml_str(&seen.daticert);
    assert!(x.contains("errore=\"no-dest\""));
    assert!(x.contains("<errore-esteso>5.1.1 - utente inesistente</errore-esteso>"));
    assert!(x.contains("<consegna>ufficio@pec.ente.example.it</consegna>"));
    ours(&out, &k, &id, Some(CLIENT_MSGID), SUBJECT);
    let out = downstream(&env, k.clone(), &["ufficio@pec.ente.example.it"], |r| {
        r.error = Some(CertError::Virus);
    });
    let seen = common(&out, &k);
    assert_eq!(seen.subject, format!("AVVISO DI MANCATA CONSEGNA PER VIRUS: {SUBJECT}"));
    assert!(String::from_utf8_lossy(&out).contains("X-VerificaSicurezza: errore\r\n"));
    assert!(xml_str(&seen.daticert).contains("errore=\"virus\""));

    // timeouts: same headers, different text
    let k = receipt(ReceiptKind::DeliveryTimeout);
    let mut texts = Vec::new();
    for t in [Timeout::H12, Timeout::H24] {
        let out = downstream(&env, k.clone(), &["ufficio@pec.ente.example.it"], |r| {
            r.timeout = Some(t);
        });
        let seen = common(&out, &k);
        assert_eq!(
            seen.subject,
            format!("AVVISO DI MANCATA CONSEGNA PER SUP. TEMPO MASSIMO: {SUBJECT}")
        );
        assert!(seen.postacert.is_none());
        assert!(
            xml_str(&seen.daticert).contains("<consegna>ufficio@pec.ente.example.it</consegna>")
        );
        ours(&out, &k, &id, Some(CLIENT_MSGID), SUBJECT);
        texts.push(seen.text);
    }
    assert!(texts[0].contains("12 ore") && texts[1].contains("24 ore"));
    assert_ne!(texts[0], texts[1]);

    // virus detection
    let k = receipt(ReceiptKind::VirusDetection);
    let out = downstream(&env, k.clone(), &["ufficio@pec.ente.example.it"], |_| {});
    let seen = common(&out, &k);
    assert_eq!(seen.subject, format!("PROBLEMA DI SICUREZZA: {SUBJECT}"));
    let s = String::from_utf8_lossy(&out).into_owned();
    assert!(s.contains("X-Mittente: mario.rossi@pec.example.it\r\n"));
    assert!(s.contains("To: posta-certificata@pec.example.it\r\n"));
    assert!(seen.postacert.is_none());
    assert!(xml_str(&seen.daticert).contains("errore=\"virus\""));
    ours(&out, &k, &id, Some(CLIENT_MSGID), SUBJECT);

    // wrong input: a notice is not a transport envelope
    let mut r = req(receipt(ReceiptKind::Delivery));
    r.envelope = Some(&out);
    r.recipients = vec!["ufficio@pec.ente.example.it".into()];
    assert!(matches!(
        recipient_provider().build(&r, None),
        Err(Error::Build(pec_core::error::BuildError::WrongInput { .. }))
    ));
}

#[test]
fn anomaly_envelope_wraps_the_message_whole() {
    let received = read("original-nomsgid-lf.eml");
    let k = MessageKind::ANOMALY_ENVELOPE;
    let mut r = req(k.clone());
    r.envelope = Some(&received);
    let out = recipient_provider().build(&r, None).unwrap();
    let seen = common(&out, &k);
    assert_eq!(seen.subject, "ANOMALIA MESSAGGIO: Invio senza Message-ID");
    assert!(seen.daticert.is_none());
    let expected = String::from_utf8(received).unwrap().replace('\n', "\r\n");
    assert_eq!(seen.postacert.as_deref(), Some(expected.as_bytes()));
    let s = String::from_utf8_lossy(&out).into_owned();
    assert!(s.contains("X-Trasporto: errore\r\n"));
    assert!(s.contains(
        "From: \"Per conto di: mario.rossi@pec.example.it\" <posta-certificata@pec.ente.example.it>"
    ));
    let pm = parse_ours(&out).unwrap();
    assert_eq!(pm.kind, Some(MessageKind::Transport(TransportKind::Anomaly)));
}

#[test]
fn brief_receipt_hash_parts() {
    let original = read("original-nomsgid-lf.eml");
    let env = envelope_of(&original);
    let k = receipt(ReceiptKind::Delivery);
    // X-TipoRicevuta: breve, recipient in To
    let out = downstream(&env, k.clone(), &["ufficio@pec.ente.example.it"], |_| {});
    let seen = common(&out, &k);
    assert!(xml_str(&seen.daticert).contains("<ricevuta tipo=\"breve\""));
    let post = seen.postacert.unwrap();
    let ps = String::from_utf8(post.clone()).unwrap();
    let expected = sha1_hex(b"YSxiLGMKMSwyLDMK");
    assert!(ps.contains("filename=\"dati.csv.hash\""), "{ps}");
    assert!(ps.contains(&format!("\r\n\r\n{expected}\r\n--b1--")));
    assert!(ps.contains("Testo con fine riga LF.\r\n--b1\r\n"));
    assert!(!ps.contains("YSxiLGMKMSwyLDMK"));
    if let Some(pm) = parse_ours(&out) {
        assert_eq!(pm.hash_parts[0].filename, "dati.csv.hash");
        assert_eq!(pm.hash_parts[0].sha1, expected);
    }
    // the realistic original: the PDF and the forwarded message are both replaced
    let orig2 = read("original-attachments.eml");
    let b = String::from_utf8(brief_original(&orig2).unwrap()).unwrap();
    let pdf_b64 = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PC9UeXBlL0NhdGFsb2c+PgplbmRvYmoKdHJhaWxlcgo8\r\nPC9Sb290IDEgMCBSPj4KJSVFT0YK";
    assert!(b.contains(&format!(
        "filename=\"fattura.pdf.hash\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{}\r\n",
        sha1_hex(pdf_b64.as_bytes())
    )));
    let fwd =
        "From: a@b.example.it\r\nTo: c@d.example.it\r\nSubject: vecchio\r\n\r\ntesto inoltrato";
    assert!(b.contains(&format!(
        "filename=\"inoltrato.eml.hash\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\n{}\r\n",
        sha1_hex(fwd.as_bytes())
    )));
    assert!(b.contains("Perché no?\r\n--=_orig_boundary\r\n"));
    assert!(!b.contains("testo inoltrato"));
    // multipart/signed: the signature part is left untouched
    let signed = b"From: a@pec.example.it\r\nTo: b@pec.example.it\r\nSubject: s\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; boundary=\"S\"\r\n\r\n--S\r\nContent-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nciao\r\n--M\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n\r\nPDF\r\n--M--\r\n--S\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAG\r\n--S--\r\n";
    let b = String::from_utf8(brief_original(signed).unwrap()).unwrap();
    assert!(b.contains("a.pdf.hash"));
    assert!(b.contains("name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAG\r\n"));
    assert!(!b.contains("smime.p7s.hash"));
}

#[test]
fn header_injection_is_refused() {
    let original = read("original-attachments.eml");
    let env = envelope_of(&original);
    let p = recipient_provider();
    let mut r = req(receipt(ReceiptKind::Delivery));
    r.envelope = Some(&env);
    r.recipients = vec!["ufficio@pec.ente.example.it\r\nBcc: spia@example.com".into()];
    assert!(matches!(p.build(&r, None), Err(Error::Parse(ParseError::HeaderInjection { .. }))));
    let mut r = req(receipt(ReceiptKind::NonDelivery));
    r.envelope = Some(&env);
    r.recipients = vec!["ufficio@pec.ente.example.it".into()];
    r.error_text = Some("5.1.1\nBcc: spia@example.com".into());
    assert!(matches!(p.build(&r, None), Err(Error::Parse(ParseError::HeaderInjection { .. }))));
    // a subject whose encoded words hide a line break
    let evil = String::from_utf8(original).unwrap().replace(
        "Subject: =?UTF-8?Q?Richiesta_documenti_=E2=80=93_fattura_n=C2=B0_12_perch=C3=A9?=",
        "Subject: =?UTF-8?Q?ciao=0D=0ABcc:_spia@example.com?=",
    );
    // decoding neutralises the encoded CR LF (they become spaces): either the build is refused
    // or no header field is injected
    let mut r = req(MessageKind::TRANSPORT_ENVELOPE);
    r.original = Some(evil.as_bytes());
    match sender_provider().build(&r, None) {
        Err(e) => assert!(matches!(e, Error::Parse(ParseError::HeaderInjection { .. }))),
        Ok(out) => {
            let text = String::from_utf8_lossy(&out);
            let head = &text[..text.find("\r\n\r\n").unwrap()];
            assert!(!head.contains("\r\nBcc:"), "injected header in {head}");
        }
    }
    // missing inputs are typed errors
    let r = req(receipt(ReceiptKind::Delivery));
    assert!(matches!(
        p.build(&r, None),
        Err(Error::Build(pec_core::error::BuildError::MissingInput(_)))
    ));
}

#[test]
fn signed_builds_verify_with_openssl() {
    use pec_testkit::scenario::{EXAMPLE, TwoProviders};
    if !require_tool("openssl") {
        return;
    }
    let ente = pec_testkit::ProviderSpec { name: "Ente PEC S.r.l.", domain: "pec.ente.example.it" };
    let world = TwoProviders::generate_with([EXAMPLE, ente], 30).unwrap();
    let signer_for = |i: usize| world.signer(i).unwrap();
    let s_sender = signer_for(0);
    let s_recipient = signer_for(1);
    let original = read("original-attachments.eml");
    let mut r = req(MessageKind::TRANSPORT_ENVELOPE);
    r.original = Some(&original);
    let env = sender_provider().build(&r, Some(&s_sender)).unwrap();
    let mut outputs = vec![(MessageKind::TRANSPORT_ENVELOPE, env.clone())];
    for k in [ReceiptKind::Acceptance, ReceiptKind::NonAcceptance] {
        let mut r = req(receipt(k.clone()));
        r.original = Some(&original);
        outputs.push((receipt(k), sender_provider().build(&r, Some(&s_sender)).unwrap()));
    }
    for (k, t) in [
        (MessageKind::ANOMALY_ENVELOPE, None),
        (receipt(ReceiptKind::TakeCharge), None),
        (receipt(ReceiptKind::Delivery), None),
        (receipt(ReceiptKind::NonDelivery), None),
        (receipt(ReceiptKind::DeliveryTimeout), Some(Timeout::H24)),
        (receipt(ReceiptKind::VirusDetection), None),
    ] {
        let mut r = req(k.clone());
        r.envelope = Some(&env);
        r.recipients = vec!["ufficio@pec.ente.example.it".into()];
        r.timeout = t;
        outputs.push((k, recipient_provider().build(&r, Some(&s_recipient)).unwrap()));
    }
    let dir = tempdir();
    for (k, out) in &outputs {
        assert!(no_bare_lf(out), "bare LF in signed {k}");
        let f = dir.join(format!("{k}.eml"));
        std::fs::write(&f, out).unwrap();
        let res = Command::new("openssl")
            .args(["cms", "-verify", "-noverify", "-in"])
            .arg(&f)
            .args(["-out", "/dev/null"])
            .output()
            .unwrap();
        assert!(res.status.success(), "{k}: {}", String::from_utf8_lossy(&res.stderr));
        if let Some(pm) = parse_ours(out) {
            assert_eq!(pm.kind.as_ref(), Some(k));
            assert!(pm.signed.is_some());
        }
    }
    std::fs::remove_dir_all(dir).ok();
}

/// An in-memory index fake (through the trait, no cfg hooks).
struct FakeIndex(Vec<std::sync::Arc<pec_core::index::ProviderRecord>>);

impl pec_core::index::ProviderDirectory for FakeIndex {
    fn by_domain(&self, domain: &str) -> Option<std::sync::Arc<pec_core::index::ProviderRecord>> {
        self.0.iter().find(|r| r.manages(domain)).cloned()
    }
    fn by_cert_hash(&self, _: &str) -> Option<std::sync::Arc<pec_core::index::ProviderRecord>> {
        None
    }
    fn by_name(&self, name: &str) -> Option<std::sync::Arc<pec_core::index::ProviderRecord>> {
        self.0.iter().find(|r| r.name.eq_ignore_ascii_case(name)).cloned()
    }
}

#[test]
fn index_classifies_recipients_and_addresses_take_charge() {
    use pec_core::index::ProviderRecord;
    let index = std::sync::Arc::new(FakeIndex(vec![
        std::sync::Arc::new(ProviderRecord {
            name: "Example PEC S.p.A.".into(),
            mail_receipt: "ricevute@pec.example.it".into(),
            managed_domains: vec!["pec.example.it".into()],
            ..ProviderRecord::default()
        }),
        std::sync::Arc::new(ProviderRecord {
            name: "Ente PEC S.r.l.".into(),
            mail_receipt: "ricevute@pec.ente.example.it".into(),
            managed_domains: vec!["pec.ente.example.it".into()],
            ..ProviderRecord::default()
        }),
    ]));
    let sender = Provider::from_toml("name = \"Example PEC S.p.A.\"\ndomain = \"pec.example.it\"")
        .unwrap()
        .with_directory(index.clone());
    let receiver = recipient_provider().with_directory(index);
    let original = read("original-attachments.eml");
    let mut r = req(MessageKind::TRANSPORT_ENVELOPE);
    r.original = Some(&original);
    let env = sender.build(&r, None).unwrap();
    let x = xml_str(&common(&env, &MessageKind::TRANSPORT_ENVELOPE).daticert);
    assert!(
        x.contains("<destinatari tipo=\"certificato\">ufficio@pec.ente.example.it</destinatari>")
    );
    assert!(x.contains("<destinatari tipo=\"esterno\">info@example.com</destinatari>"));
    let mut r = req(receipt(ReceiptKind::TakeCharge));
    r.envelope = Some(&env);
    r.recipients = vec!["ufficio@pec.ente.example.it".into()];
    let out = receiver.build(&r, None).unwrap();
    assert!(String::from_utf8_lossy(&out).contains("To: ricevute@pec.example.it\r\n"));
    let mut r = req(receipt(ReceiptKind::VirusDetection));
    r.envelope = Some(&env);
    r.recipients = vec!["ufficio@pec.ente.example.it".into()];
    let out = receiver.build(&r, None).unwrap();
    assert!(String::from_utf8_lossy(&out).contains("To: ricevute@pec.example.it\r\n"));
}
