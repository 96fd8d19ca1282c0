//! `daticert.xml` (docs/SPEC.md §6): every `tipo` written and validated by the real `xmllint` against
//! the RFC's DTD, round trips, the real files of `../shared/interop` and the vectors, and
//! hostile inputs, each a typed error within a time bound.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::DateTime;
use pec_core::daticert::{CertDate, Daticert, MAX_DATICERT_DEPTH, MAX_DATICERT_SIZE, Recipient};
use pec_core::error::{DaticertError, Error, ParseError};
use pec_core::model::{CertError, CertType, ReceiptType, RecipientType};

// ---------------------------------------------------------------- helpers

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dtd() -> PathBuf {
    manifest().join("data/daticert.dtd")
}

fn vector(name: &str) -> Vec<u8> {
    let p = manifest().join("../tests/vectors/daticert").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

use pec_testkit::{ci, interop_dir};

/// Test-only extraction: the base64 body of the MIME part named `daticert.xml` in a message.
fn extract_daticert(msg: &[u8]) -> Option<Vec<u8>> {
    let text = String::from_utf8_lossy(msg);
    let at = text.find("name=\"daticert.xml\"")?;
    let rest = &text[at..];
    let body_start = match (rest.find("\r\n\r\n"), rest.find("\n\n")) {
        (Some(a), Some(b)) if b < a => b + 2,
        (Some(a), _) => a + 4,
        (None, Some(b)) => b + 2,
        (None, None) => return None,
    };
    let body = &rest[body_start..];
    let mut b64 = String::new();
    for line in body.lines() {
        if line.starts_with("--") {
            break;
        }
        b64.push_str(line.trim());
    }
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

fn interop_daticert(file: &str) -> Option<Vec<u8>> {
    let dir = interop_dir()?;
    let msg = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    Some(extract_daticert(&msg).unwrap_or_else(|| panic!("{file}: no daticert.xml part")))
}

/// Runs the real `xmllint --noout --dtdvalid` over a document; `None` when xmllint is missing
/// (outside CI).
fn xmllint_valid(xml: &str) -> Option<Result<(), String>> {
    let child = Command::new("xmllint")
        .arg("--noout")
        .arg("--dtdvalid")
        .arg(dtd())
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            if ci() {
                panic!("xmllint not runnable: {e}");
            }
            eprintln!("skipping: xmllint not runnable: {e}");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

fn date(s: &str) -> CertDate {
    CertDate::from_datetime(&DateTime::parse_from_rfc3339(s).unwrap())
}

fn rcpt(a: &str, k: RecipientType) -> Recipient {
    Recipient { address: a.into(), kind: k }
}

/// The common heading of a transaction: sender, a certified and an external recipient.
fn base(kind: CertType, issuer: &str, at: &str) -> Daticert {
    Daticert {
        kind: Some(kind),
        error: CertError::None,
        sender: "mario.rossi@pec.example.it".into(),
        recipients: vec![
            rcpt("ufficio@pec.ente.example.it", RecipientType::Certified),
            rcpt("info@example.com", RecipientType::External),
        ],
        reply_to: "mario.rossi@pec.example.it".into(),
        subject: Some("Richiesta documenti".into()),
        issuer: issuer.into(),
        date: date(at),
        identifier: "opec1.20260914090005.1234.1.1.1@pec.example.it".into(),
        msgid: Some("<a1b2c3@client.example>".into()),
        ..Daticert::default()
    }
}

/// One realistic document per `tipo` and variant (docs/SPEC.md §6.2 table).
fn every_kind() -> Vec<(&'static str, Daticert)> {
    let sender_p = "Example PEC S.p.A.";
    let recv_p = "Other PEC S.r.l.";
    let mut v = Vec::new();

    let mut d = base(CertType::Certified, sender_p, "2026-09-14T09:00:05+02:00");
    d.receipt_type = Some(ReceiptType::Complete);
    v.push(("posta-certificata", d));

    let mut d = base(CertType::Certified, sender_p, "2026-09-14T09:00:05+02:00");
    d.receipt_type = Some(ReceiptType::Brief);
    d.msgid = None; // a client that sent no Message-ID
    v.push(("posta-certificata breve, no msgid", d));

    v.push(("accettazione", base(CertType::Acceptance, sender_p, "2026-09-14T09:00:05+02:00")));

    let mut d = base(CertType::NonAcceptance, sender_p, "2026-09-14T09:00:05+02:00");
    d.error = CertError::Another;
    d.extended_error = Some("Destinatario non valido: Bcc non ammesso".into());
    v.push(("non-accettazione", d));

    let mut d = base(CertType::NonAcceptance, sender_p, "2026-09-14T09:00:05+02:00");
    d.error = CertError::Virus;
    d.extended_error = Some("Virus rilevato: Eicar-Test-Signature".into());
    v.push(("non-accettazione virus", d));

    let mut d = base(CertType::TakeCharge, recv_p, "2026-09-14T09:00:06+02:00");
    d.received =
        vec!["ufficio@pec.ente.example.it".into(), "protocollo@pec.ente.example.it".into()];
    v.push(("presa-in-carico", d));

    for (label, t) in [
        ("avvenuta-consegna completa", ReceiptType::Complete),
        ("avvenuta-consegna breve", ReceiptType::Brief),
        ("avvenuta-consegna sintetica", ReceiptType::Concise),
    ] {
        let mut d = base(CertType::Delivery, recv_p, "2026-09-14T09:00:07+02:00");
        d.receipt_type = Some(t);
        d.delivery = Some("ufficio@pec.ente.example.it".into());
        v.push((label, d));
    }

    for (label, e, text) in [
        (
            "errore-consegna no-dest",
            CertError::NoRecipient,
            "5.1.1 - Other PEC - indirizzo non valido",
        ),
        (
            "errore-consegna no-dominio",
            CertError::NoDomain,
            "5.1.2 - Other PEC - dominio non valido",
        ),
        ("errore-consegna virus", CertError::Virus, "5.7.1 - Other PEC - virus rilevato"),
        ("errore-consegna altro", CertError::Another, "5.2.2 - Other PEC - casella piena"),
    ] {
        let mut d = base(CertType::NonDelivery, recv_p, "2026-09-14T09:00:07+02:00");
        d.error = e;
        d.delivery = Some("ufficio@pec.ente.example.it".into());
        d.extended_error = Some(text.into());
        v.push((label, d));
    }

    let mut d = base(CertType::DeliveryTimeout, sender_p, "2026-09-14T21:00:05+02:00");
    d.delivery = Some("ufficio@pec.ente.example.it".into());
    v.push(("preavviso-errore-consegna 12h", d));

    let mut d = base(CertType::DeliveryTimeout, sender_p, "2026-09-15T09:00:05+02:00");
    d.error = CertError::Another;
    d.delivery = Some("ufficio@pec.ente.example.it".into());
    d.extended_error = Some("mancata consegna entro 24 ore".into());
    v.push(("preavviso-errore-consegna 24h", d));

    let mut d = base(CertType::VirusDetection, recv_p, "2026-09-14T09:00:06+02:00");
    d.error = CertError::Virus;
    d.delivery = Some("ufficio@pec.ente.example.it".into());
    d.extended_error = Some("Virus rilevato: Eicar-Test-Signature".into());
    v.push(("rilevazione-virus", d));

    // Text that needs escaping, non-ASCII, a winter offset and a negative one.
    let mut d = base(CertType::Certified, sender_p, "2026-01-31T23:59:59+01:00");
    d.subject =
        Some("R: «Fattura» n° 12 & 13 <urgente> \"sì\" 'no' ]]> 😀 caffè\tok\r\nfine".into());
    d.issuer = "Gestore & Figli <S.p.A.>".into();
    d.receipt_type = Some(ReceiptType::Concise);
    v.push(("escaping", d));

    let mut d = base(CertType::Acceptance, sender_p, "2026-03-01T04:05:06-03:30");
    d.subject = None;
    d.recipients = vec![rcpt("solo@pec.example.it", RecipientType::Certified)];
    v.push(("no subject, one recipient, negative zone", d));

    v
}

fn daticert_err(r: pec_core::Result<Daticert>) -> DaticertError {
    match r {
        Err(Error::Daticert(e)) => e,
        other => panic!("expected a DaticertError, got {other:?}"),
    }
}

// ---------------------------------------------------------------- writer

#[test]
fn every_kind_is_valid_against_the_dtd_and_round_trips() {
    let mut xmllint_ran = false;
    for (label, d) in every_kind() {
        let xml = d.to_xml().unwrap_or_else(|e| panic!("{label}: {e}"));
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<postacert tipo=\""));
        assert!(!xml.contains("DOCTYPE"));
        assert!(xml.contains(" errore=\""), "{label}: errore always written");
        if let Some(res) = xmllint_valid(&xml) {
            xmllint_ran = true;
            res.unwrap_or_else(|e| panic!("{label}: xmllint refused:\n{e}\n{xml}"));
        }
        let back = Daticert::parse(xml.as_bytes()).unwrap_or_else(|e| panic!("{label}: {e}"));
        assert_eq!(back, d, "{label}: round trip");
        assert_eq!(back.to_xml().unwrap(), xml, "{label}: stable output");
    }
    if !xmllint_ran {
        eprintln!("xmllint validation skipped");
    }
}

#[test]
fn writer_layout_matches_real_files() {
    let mut d = base(CertType::Delivery, "Other PEC S.r.l.", "2026-09-14T09:00:07+02:00");
    d.recipients.truncate(1);
    d.receipt_type = Some(ReceiptType::Complete);
    d.delivery = Some("ufficio@pec.ente.example.it".into());
    let want = r#"<?xml version="1.0" encoding="UTF-8"?>
<postacert tipo="avvenuta-consegna" errore="nessuno">
    <intestazione>
        <mittente>mario.rossi@pec.example.it</mittente>
        <destinatari tipo="certificato">ufficio@pec.ente.example.it</destinatari>
        <risposte>mario.rossi@pec.example.it</risposte>
        <oggetto>Richiesta documenti</oggetto>
    </intestazione>
    <dati>
        <gestore-emittente>Other PEC S.r.l.</gestore-emittente>
        <data zona="+0200">
            <giorno>14/09/2026</giorno>
            <ora>09:00:07</ora>
        </data>
        <identificativo>opec1.20260914090005.1234.1.1.1@pec.example.it</identificativo>
        <msgid>&lt;a1b2c3@client.example&gt;</msgid>
        <ricevuta tipo="completa" />
        <consegna>ufficio@pec.ente.example.it</consegna>
    </dati>
</postacert>
"#;
    assert_eq!(d.to_xml().unwrap(), want);
}

#[test]
fn writer_refuses_missing_fields() {
    let ok = base(CertType::Acceptance, "P", "2026-09-14T09:00:05+02:00");
    type Edit = Box<dyn Fn(&mut Daticert)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("postacert@tipo", Box::new(|d| d.kind = None)),
        ("intestazione/mittente", Box::new(|d| d.sender.clear())),
        ("intestazione/destinatari", Box::new(|d| d.recipients.clear())),
        ("intestazione/destinatari", Box::new(|d| d.recipients[1].address = " ".into())),
        ("intestazione/risposte", Box::new(|d| d.reply_to.clear())),
        ("dati/gestore-emittente", Box::new(|d| d.issuer.clear())),
        ("dati/data/giorno", Box::new(|d| d.date.day.clear())),
        ("dati/data/ora", Box::new(|d| d.date.time.clear())),
        ("dati/data@zona", Box::new(|d| d.date.zone.clear())),
        ("dati/identificativo", Box::new(|d| d.identifier.clear())),
    ];
    for (field, f) in cases {
        let mut d = ok.clone();
        f(&mut d);
        match d.to_xml() {
            Err(Error::Daticert(DaticertError::Missing(m))) => assert_eq!(m, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(matches!(
        Daticert::default().to_xml(),
        Err(Error::Daticert(DaticertError::Missing(_)))
    ));
}

#[test]
fn writer_refuses_what_xml_cannot_carry() {
    let ok = base(CertType::Acceptance, "P", "2026-09-14T09:00:05+02:00");
    for bad in ["\u{0}", "\u{1}", "a\u{8}b", "\u{1B}[31m", "\u{FFFE}", "\u{FFFF}"] {
        for set in [
            |d: &mut Daticert, s: &str| d.subject = Some(s.into()),
            |d: &mut Daticert, s: &str| d.sender = format!("a{s}@b.it"),
            |d: &mut Daticert, s: &str| d.extended_error = Some(s.into()),
            |d: &mut Daticert, s: &str| d.received.push(s.into()),
        ] {
            let mut d = ok.clone();
            set(&mut d, bad);
            assert!(matches!(d.to_xml(), Err(Error::InvalidArgument(_))), "{bad:?} accepted");
        }
    }
    // Values the DTD does not list.
    let mut d = ok.clone();
    d.kind = Some(CertType::Other("mancata-consegna".into()));
    assert!(matches!(d.to_xml(), Err(Error::InvalidArgument(_))));
    let mut d = ok.clone();
    d.error = CertError::Other("boh".into());
    assert!(matches!(d.to_xml(), Err(Error::InvalidArgument(_))));
    let mut d = ok.clone();
    d.receipt_type = Some(ReceiptType::Other("lunga".into()));
    assert!(matches!(d.to_xml(), Err(Error::InvalidArgument(_))));
    let mut d = ok.clone();
    d.recipients[0].kind = RecipientType::Other("x".into());
    assert!(matches!(d.to_xml(), Err(Error::InvalidArgument(_))));
    // A date that is not one.
    let mut d = ok.clone();
    d.date.day = "31/02/2026".into();
    assert!(matches!(d.to_xml(), Err(Error::Parse(ParseError::InvalidTime(_)))));
    // Tab, LF and CR are legal and survive.
    let mut d = ok;
    d.subject = Some("a\tb\nc\rd\r\ne".into());
    assert_eq!(Daticert::parse(d.to_xml().unwrap().as_bytes()).unwrap(), d);
}

// ---------------------------------------------------------------- dates

#[test]
fn cert_date_conversions() {
    let t = DateTime::parse_from_rfc3339("2024-12-05T00:02:10+01:00").unwrap();
    let c = CertDate::from_datetime(&t);
    assert_eq!(
        (c.day.as_str(), c.time.as_str(), c.zone.as_str()),
        ("05/12/2024", "00:02:10", "+0100")
    );
    assert_eq!(c.to_datetime().unwrap(), t);
    let neg = DateTime::parse_from_rfc3339("2024-06-30T23:59:59-09:30").unwrap();
    let c = CertDate::from_datetime(&neg);
    assert_eq!(c.zone, "-0930");
    assert_eq!(c.to_datetime().unwrap(), neg);
    let colon =
        CertDate { day: "5/12/2024".into(), time: "00:02:10".into(), zone: "+01:00".into() };
    assert_eq!(colon.to_datetime().unwrap(), t);
    for (d, h, z) in [
        ("32/12/2024", "00:02:10", "+0100"),
        ("05/13/2024", "00:02:10", "+0100"),
        ("05-12-2024", "00:02:10", "+0100"),
        ("05/12/24", "00:02:10", "+0100"),
        ("05/12/2024", "24:00:00", "+0100"),
        ("05/12/2024", "00:02:10", "0100"),
        ("05/12/2024", "00:02:10", "+2500"),
        ("05/12/2024", "00:02:10", ""),
        ("", "", ""),
        ("０5/12/2024", "00:02:10", "+0100"),
    ] {
        let c = CertDate { day: d.into(), time: h.into(), zone: z.into() };
        assert!(
            matches!(c.to_datetime(), Err(Error::Parse(ParseError::InvalidTime(_)))),
            "{d} {h} {z}"
        );
    }
}

// ---------------------------------------------------------------- real files

#[test]
fn aruba_acceptance() {
    let Some(xml) = interop_daticert("OCA-l10n-italy/ACCETTAZIONE__IT03339130126_00009.xml.txt")
    else {
        return;
    };
    let d = Daticert::parse(&xml).unwrap();
    assert_eq!(d.kind, Some(CertType::Acceptance));
    assert_eq!(d.error, CertError::None);
    assert_eq!(d.sender, "l.battistini@pec.it");
    assert_eq!(d.recipients, vec![rcpt("l.battistini@pec.it", RecipientType::Certified)]);
    assert_eq!(d.reply_to, "l.battistini@pec.it");
    assert_eq!(d.subject.as_deref(), Some("IT03339130126_00009.xml"));
    assert_eq!(d.issuer, "ARUBA PEC S.p.A.");
    assert_eq!(
        d.date,
        CertDate { day: "13/11/2018".into(), time: "16:39:26".into(), zone: "+0100".into() }
    );
    assert_eq!(d.date.to_datetime().unwrap().to_rfc3339(), "2018-11-13T16:39:26+01:00");
    assert_eq!(d.identifier, "opec288.20181113163926.01838.310.1.63@pec.aruba.it");
    assert_eq!(
        d.msgid.as_deref(),
        Some(
            "<1542123565.921546936035156.464602125997431-openerp-8-fatturapa.attachment.out@elbati-Vostro-3550>"
        )
    );
    assert_eq!(d.receipt_type, None);
    assert_eq!(d.delivery, None);
    assert!(d.received.is_empty());
    assert_eq!(d.extended_error, None);
    if let Some(r) = xmllint_valid(std::str::from_utf8(&xml).unwrap()) {
        r.unwrap();
    }
    // Our writer reproduces the provider's bytes exactly.
    assert_eq!(d.to_xml().unwrap().as_bytes(), xml.as_slice());
}

#[test]
fn aruba_delivery() {
    let Some(xml) = interop_daticert("OCA-l10n-italy/CONSEGNA__IT03339130126_00009.xml.txt") else {
        return;
    };
    let d = Daticert::parse(&xml).unwrap();
    assert_eq!(d.kind, Some(CertType::Delivery));
    assert_eq!(d.error, CertError::None);
    assert_eq!(d.sender, "l.battistini@pec.it");
    assert_eq!(d.recipients, vec![rcpt("l.battistini@pec.it", RecipientType::Certified)]);
    assert_eq!(d.reply_to, "l.battistini@pec.it");
    assert_eq!(d.subject.as_deref(), Some("IT03339130126_00009.xml"));
    assert_eq!(d.issuer, "ARUBA PEC S.p.A.");
    assert_eq!(
        d.date,
        CertDate { day: "13/11/2018".into(), time: "16:39:27".into(), zone: "+0100".into() }
    );
    assert_eq!(d.identifier, "opec288.20181113163926.01838.310.1.63@pec.aruba.it");
    assert_eq!(
        d.msgid.as_deref(),
        Some(
            "<1542123565.921546936035156.464602125997431-openerp-8-fatturapa.attachment.out@elbati-Vostro-3550>"
        )
    );
    assert_eq!(d.receipt_type, Some(ReceiptType::Complete));
    assert_eq!(d.delivery.as_deref(), Some("l.battistini@pec.it"));
    assert_eq!(d.extended_error, None);
    assert_eq!(d.to_xml().unwrap().as_bytes(), xml.as_slice());
}

#[test]
fn every_interop_daticert_parses() {
    let Some(dir) = interop_dir() else { return };
    let mut n = 0;
    for sub in ["OCA-l10n-italy", "go-pec", "java-pec-parser"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            let msg = std::fs::read(&p).unwrap();
            let Some(xml) = extract_daticert(&msg) else {
                // POSTA_CERTIFICATA_mancata_consegna has no daticert.xml part.
                continue;
            };
            let d = Daticert::parse(&xml).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            assert!(d.kind.as_ref().is_some_and(|k| k.is_known()), "{}", p.display());
            assert!(!d.identifier.is_empty());
            d.date.to_datetime().unwrap();
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} daticert.xml found");
}

#[test]
fn go_pec_vectors_match_their_source() {
    for (eml, vec) in [
        ("go-pec/accettazione.eml", "go-pec-accettazione.xml"),
        ("go-pec/consegna.eml", "go-pec-errore-consegna.xml"),
        ("go-pec/email_2.eml", "go-pec-avvenuta-consegna.xml"),
        ("go-pec/email_3.eml", "go-pec-posta-certificata.xml"),
    ] {
        let Some(xml) = interop_daticert(eml) else { return };
        assert_eq!(xml, vector(vec), "{vec}");
    }
}

#[test]
fn go_pec_non_delivery() {
    // Carries a stray "a" after </risposte>: not DTD-valid, read anyway.
    let d = Daticert::parse(&vector("go-pec-errore-consegna.xml")).unwrap();
    assert_eq!(d.kind, Some(CertType::NonDelivery));
    assert_eq!(d.error, CertError::NoRecipient);
    assert_eq!(d.sender, "sender@fakepec.it");
    assert_eq!(d.recipients, vec![rcpt("rec@pec.it", RecipientType::Certified)]);
    assert_eq!(d.reply_to, "sender@fakepec.it");
    assert_eq!(d.subject.as_deref(), Some("Test PEC"));
    assert_eq!(d.issuer, "FAKE PEC S.p.A.");
    assert_eq!(
        d.date,
        CertDate { day: "15/11/2024".into(), time: "18:21:03".into(), zone: "+0100".into() }
    );
    assert_eq!(d.identifier, "opec210312.20241115182038.288127.606.1.53@fakepec.it");
    assert_eq!(d.msgid.as_deref(), Some("<SN05IE$951DEC16C1CFD3E4FD8FF1B1D24A99AE@fakepec.it>"));
    assert_eq!(d.receipt_type, None);
    assert_eq!(d.delivery.as_deref(), Some("rec@fakepec.it"));
    assert_eq!(d.extended_error.as_deref(), Some("5.1.1 - FAKE Pec S.p.A. - indirizzo non valido"));
    if let Some(r) =
        xmllint_valid(std::str::from_utf8(&vector("go-pec-errore-consegna.xml")).unwrap())
    {
        assert!(r.is_err(), "xmllint should refuse the stray text");
    }
    // What we write from it is valid.
    if let Some(r) = xmllint_valid(&d.to_xml().unwrap()) {
        r.unwrap();
    }
}

#[test]
fn go_pec_acceptance_delivery_and_envelope() {
    let d = Daticert::parse(&vector("go-pec-accettazione.xml")).unwrap();
    assert_eq!(d.kind, Some(CertType::Acceptance));
    assert_eq!(d.recipients, vec![rcpt("rec@fakepec.it", RecipientType::Certified)]);
    assert_eq!(d.issuer, "FAKEPEC PEC S.p.A.");
    assert_eq!(d.date.time, "18:20:38");
    assert_eq!(d.identifier, "opec210312.20241115182038.288127.606.1.53@fakepec.it");

    let d = Daticert::parse(&vector("go-pec-avvenuta-consegna.xml")).unwrap();
    assert_eq!(d.kind, Some(CertType::Delivery));
    assert_eq!(d.sender, "example.example.com");
    assert_eq!(
        d.date,
        CertDate { day: "13/05/2021".into(), time: "14:35:30".into(), zone: "+0200".into() }
    );
    assert_eq!(d.receipt_type, Some(ReceiptType::Complete));
    assert_eq!(d.delivery.as_deref(), Some("example.example.com"));

    let d = Daticert::parse(&vector("go-pec-posta-certificata.xml")).unwrap();
    assert_eq!(d.kind, Some(CertType::Certified));
    assert_eq!(d.subject.as_deref(), Some("POSTA CERTIFICATA: SUBJECT"));
    assert_eq!(d.identifier, "CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com");
    assert_eq!(d.msgid.as_deref(), Some("<CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com>"));
}

#[test]
fn namirial_envelope() {
    let xml = vector("namirial-posta-certificata.xml");
    let d = Daticert::parse(&xml).unwrap();
    assert_eq!(d.kind, Some(CertType::Certified));
    assert_eq!(d.sender, "altea.l@namirialpec.it");
    assert_eq!(d.recipients.len(), 7);
    assert!(d.recipients.iter().all(|r| r.kind == RecipientType::External));
    assert_eq!(d.recipients[0].address, "osm.ism@bedag.ch");
    assert_eq!(d.recipients[6].address, "osj12@yahoo.com");
    assert_eq!(d.subject.as_deref(), Some("Norah Colly"));
    assert_eq!(d.issuer, "Namirial S.p.A.");
    assert_eq!(d.date.to_datetime().unwrap().to_rfc3339(), "2024-12-05T00:02:10+01:00");
    assert_eq!(d.identifier, "opec21192.20241205000210.24820.46.1.184@sicurezzapostale.it");
    assert_eq!(
        d.msgid.as_deref(),
        Some("<2839ed57-e664-4020-bb69-6a8cb92d05a6@email.android.com>")
    );
    assert_eq!(d.receipt_type, Some(ReceiptType::Complete));
    assert_eq!(d.to_xml().unwrap().as_bytes(), xml.as_slice());
    if let Some(r) = xmllint_valid(std::str::from_utf8(&xml).unwrap()) {
        r.unwrap();
    }
}

#[test]
fn poste_style_without_msgid() {
    let d = Daticert::parse(&vector("poste-style-posta-certificata.xml")).unwrap();
    assert_eq!(d.kind, Some(CertType::Certified));
    assert_eq!(d.error, CertError::None);
    assert_eq!(d.recipients, vec![rcpt("java@gcc.gnu.org", RecipientType::External)]);
    assert_eq!(d.issuer, "POSTECOM S.P.A. - GRUPPO POSTE ITALIANE");
    assert_eq!(d.identifier, "E82D9D8F.000073B6.E8F90950.8520A581.posta-certificata@postecert.it");
    assert_eq!(d.msgid, None);
    assert_eq!(d.receipt_type, Some(ReceiptType::Complete));
    assert_eq!(d.date.zone, "+0200");
    // Written back without <msgid>, still valid.
    let xml = d.to_xml().unwrap();
    assert!(!xml.contains("msgid"));
    if let Some(r) = xmllint_valid(&xml) {
        r.unwrap();
    }
}

// ---------------------------------------------------------------- tolerance

#[test]
fn reader_tolerance() {
    let doc = "\u{FEFF}<?xml version='1.0' encoding='utf-8'?>\r\n<!-- provider comment -->\r\n\
<?provider pi?>\r\n<postacert tipo=' accettazione ' >\r\n<intestazione>\
<mittente> a@b.it </mittente><destinatari>c@d.it</destinatari>\
<destinatari tipo=\"strano\">e@f.it</destinatari><risposte>a@b.it</risposte>\
<oggetto><![CDATA[x < y & z]]> &#x3C;&#60;&amp;&apos;&quot;&gt; &#x1F600;</oggetto>\
<extra attr=\"1\"><mittente>evil@x.it</mittente><deep><deeper/></deep></extra>\
</intestazione><dati><gestore-emittente>P &amp; C</gestore-emittente>\
<data zona=\"+01:00\" altro=\"&lt;\"><giorno>1/2/2026</giorno><ora>03:04:05</ora></data>\
<identificativo>\n  id@p.it\n</identificativo><ricevuta/><ricezione>c@d.it</ricezione>\
<ricezione>e@f.it</ricezione><nuovo>ignored</nuovo></dati></postacert>\r\n<!-- trailer -->";
    let d = Daticert::parse(doc.as_bytes()).unwrap();
    assert_eq!(d.kind, Some(CertType::Acceptance));
    assert_eq!(d.error, CertError::None, "default errore");
    assert_eq!(d.sender, "a@b.it");
    assert_eq!(
        d.recipients,
        vec![
            rcpt("c@d.it", RecipientType::Certified),
            rcpt("e@f.it", RecipientType::Other("strano".into()))
        ]
    );
    assert_eq!(d.subject.as_deref(), Some("x < y & z <<&'\"> 😀"));
    assert_eq!(d.issuer, "P & C");
    assert_eq!(d.date.zone, "+01:00");
    assert_eq!(d.date.to_datetime().unwrap().to_rfc3339(), "2026-02-01T03:04:05+01:00");
    assert_eq!(d.identifier, "id@p.it");
    assert_eq!(d.receipt_type, Some(ReceiptType::Complete), "tipo-less <ricevuta/>");
    assert_eq!(d.received, vec!["c@d.it".to_string(), "e@f.it".to_string()]);

    // Unknown values kept as Other.
    let other = String::from_utf8(vector("go-pec-accettazione.xml"))
        .unwrap()
        .replace("tipo=\"accettazione\" errore=\"nessuno\"", "tipo=\"nuovo-tipo\" errore=\"boh\"");
    let d = Daticert::parse(other.as_bytes()).unwrap();
    assert_eq!(d.kind, Some(CertType::Other("nuovo-tipo".into())));
    assert_eq!(d.error, CertError::Other("boh".into()));

    // A DOCTYPE without an internal subset is ignored (nothing is fetched).
    let doctype = String::from_utf8(vector("go-pec-accettazione.xml")).unwrap().replacen(
        "<postacert",
        "<!DOCTYPE postacert SYSTEM \"http://127.0.0.1:9/daticert.dtd\">\n<postacert",
        1,
    );
    assert_eq!(
        Daticert::parse(doctype.as_bytes()).unwrap(),
        Daticert::parse(&vector("go-pec-accettazione.xml")).unwrap()
    );
}

#[test]
fn reader_requires_the_dtd_required_parts() {
    let full = String::from_utf8(vector("go-pec-accettazione.xml")).unwrap();
    for (cut, field) in [
        (" tipo=\"accettazione\"", "postacert@tipo"),
        ("<mittente>sender@fakepec.it</mittente>", "intestazione/mittente"),
        (
            "<destinatari tipo=\"certificato\">rec@fakepec.it</destinatari>",
            "intestazione/destinatari",
        ),
        ("<risposte>sender@fakepec.it</risposte>", "intestazione/risposte"),
        ("<gestore-emittente>FAKEPEC PEC S.p.A.</gestore-emittente>", "dati/gestore-emittente"),
        (" zona=\"+0100\"", "dati/data@zona"),
        ("<giorno>15/11/2024</giorno>", "dati/data/giorno"),
        ("<ora>18:20:38</ora>", "dati/data/ora"),
        (
            "<identificativo>opec210312.20241115182038.288127.606.1.53@fakepec.it</identificativo>",
            "dati/identificativo",
        ),
    ] {
        let doc = full.replacen(cut, "", 1);
        assert_ne!(doc, full, "{cut}");
        assert_eq!(
            daticert_err(Daticert::parse(doc.as_bytes())),
            DaticertError::Missing(field),
            "{cut}"
        );
    }
    let empty_id = full.replace(
        "opec210312.20241115182038.288127.606.1.53@fakepec.it</identificativo>",
        " </identificativo>",
    );
    assert_eq!(
        daticert_err(Daticert::parse(empty_id.as_bytes())),
        DaticertError::Missing("dati/identificativo")
    );
    let dup = full.replacen("<mittente>", "<mittente>x@y.it</mittente><mittente>", 1);
    assert!(matches!(
        daticert_err(Daticert::parse(dup.as_bytes())),
        DaticertError::Malformed { .. }
    ));
    let root = full.replace("postacert", "ricevuta");
    assert_eq!(
        daticert_err(Daticert::parse(root.as_bytes())),
        DaticertError::WrongRoot("ricevuta".into())
    );
}

// ---------------------------------------------------------------- hostile input

/// Runs `f` and checks it finished within `limit`.
fn quick<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    assert!(t.elapsed() < limit, "took {:?}", t.elapsed());
    r
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE postacert [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<postacert tipo="accettazione"><intestazione><mittente>&lol9;</mittente></intestazione></postacert>"#;

#[test]
fn billion_laughs_fails_fast() {
    let e = quick(Duration::from_millis(500), || {
        daticert_err(Daticert::parse(BILLION_LAUGHS.as_bytes()))
    });
    assert_eq!(e, DaticertError::EntityDeclaration);
    assert_eq!(Error::from(e).code(), pec_core::Code::DaticertMalformed);
}

#[test]
fn entities_are_never_expanded() {
    let limit = Duration::from_millis(500);
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE postacert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><postacert tipo="accettazione"><intestazione><mittente>&xxe;</mittente></intestazione></postacert>"#;
    assert_eq!(
        quick(limit, || daticert_err(Daticert::parse(xxe.as_bytes()))),
        DaticertError::EntityDeclaration
    );
    let param =
        r#"<!DOCTYPE postacert [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><postacert/>"#;
    assert_eq!(
        quick(limit, || daticert_err(Daticert::parse(param.as_bytes()))),
        DaticertError::EntityDeclaration
    );
    let attlist =
        r#"<!DOCTYPE postacert [<!ATTLIST postacert tipo CDATA "accettazione">]><postacert/>"#;
    assert_eq!(
        quick(limit, || daticert_err(Daticert::parse(attlist.as_bytes()))),
        DaticertError::EntityDeclaration
    );
    // An undeclared entity reference, in text and in an attribute.
    let full = String::from_utf8(vector("go-pec-accettazione.xml")).unwrap();
    for doc in [
        full.replace("Test PEC", "Test &lol9; PEC"),
        full.replace("tipo=\"accettazione\"", "tipo=\"&lol9;\""),
        full.replace("Test PEC", "&#0;"),
        full.replace("Test PEC", "&#x1;"),
        full.replace("Test PEC", "&#xFFFE;"),
        full.replace("Test PEC", "&#xD800;"),
        full.replace("Test PEC", "& PEC"),
    ] {
        assert!(
            matches!(
                quick(limit, || daticert_err(Daticert::parse(doc.as_bytes()))),
                DaticertError::Malformed { .. }
            ),
            "{doc}"
        );
    }
}

#[test]
fn deep_nesting_is_a_limit() {
    let mut doc = String::from("<postacert tipo=\"accettazione\">");
    for _ in 0..100_000 {
        doc.push_str("<a>");
    }
    let r = quick(Duration::from_secs(1), || Daticert::parse(doc.as_bytes()));
    match r {
        Err(Error::Limit(l)) => {
            assert_eq!(l.limit, MAX_DATICERT_DEPTH as u64);
            assert_eq!(l.what, "daticert.xml nesting depth");
        }
        other => panic!("{other:?}"),
    }
    // Exactly at the limit it is fine (ignored unknown elements), one more is not.
    let nest = |n: usize| {
        let full = String::from_utf8(vector("go-pec-accettazione.xml")).unwrap();
        let open = "<x>".repeat(n);
        let close = "</x>".repeat(n);
        full.replacen("<dati>", &format!("<dati>{open}{close}"), 1)
    };
    assert!(Daticert::parse(nest(MAX_DATICERT_DEPTH - 2).as_bytes()).is_ok());
    assert!(matches!(
        Daticert::parse(nest(MAX_DATICERT_DEPTH - 1).as_bytes()),
        Err(Error::Limit(_))
    ));
}

#[test]
fn oversize_is_a_limit() {
    let full = String::from_utf8(vector("go-pec-accettazione.xml")).unwrap();
    let big =
        full.replacen("<dati>", &format!("<dati><!--{}-->", "x".repeat(MAX_DATICERT_SIZE)), 1);
    match quick(Duration::from_secs(1), || Daticert::parse(big.as_bytes())) {
        Err(Error::Limit(l)) => {
            assert_eq!(l.limit, MAX_DATICERT_SIZE as u64);
            assert_eq!(l.actual, big.len() as u64);
        }
        other => panic!("{other:?}"),
    }
    // Just below the limit parses.
    let pad = MAX_DATICERT_SIZE - full.len() - 7;
    let ok = full.replacen("<dati>", &format!("<dati><!--{}-->", "x".repeat(pad)), 1);
    assert_eq!(ok.len(), MAX_DATICERT_SIZE);
    assert!(quick(Duration::from_secs(2), || Daticert::parse(ok.as_bytes())).is_ok());
}

#[test]
fn truncated_documents_fail() {
    let xml = vector("namirial-posta-certificata.xml");
    let end = xml.windows(12).position(|w| w == b"</postacert>").unwrap() + 12;
    let t = Instant::now();
    for n in 0..end {
        let r = Daticert::parse(&xml[..n]);
        assert!(r.is_err(), "prefix of {n} bytes accepted");
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(Daticert::parse(&xml[..end]).is_ok());
}

#[test]
fn nul_and_control_bytes_fail() {
    let full = vector("go-pec-accettazione.xml");
    for (i, b) in [(0usize, 0u8), (100, 0), (300, 1), (400, 0x1B), (full.len() - 2, 0)] {
        let mut doc = full.clone();
        doc.insert(i, b);
        let e = quick(Duration::from_millis(200), || daticert_err(Daticert::parse(&doc)));
        assert!(matches!(e, DaticertError::Malformed { .. }), "{i}: {e:?}");
    }
}

#[test]
fn not_utf8_fails() {
    let full = String::from_utf8(vector("go-pec-accettazione.xml")).unwrap();
    let mut latin1 = full.replace("Test PEC", "Test caff").into_bytes();
    let at = latin1.windows(4).position(|w| w == b"caff").unwrap() + 4;
    latin1.insert(at, 0xE8);
    assert_eq!(daticert_err(Daticert::parse(&latin1)), DaticertError::NotUtf8);
    // UTF-16 with a BOM.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in full.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    let e = daticert_err(Daticert::parse(&utf16));
    assert!(matches!(e, DaticertError::NotUtf8 | DaticertError::Malformed { .. }), "{e:?}");
    assert_eq!(daticert_err(Daticert::parse(b"\xC3\x28")), DaticertError::NotUtf8);
}

#[test]
fn garbage_fails_typed() {
    for doc in [
        &b""[..],
        b"   ",
        b"\xEF\xBB\xBF",
        b"not xml at all",
        b"<postacert",
        b"<postacert tipo=\"accettazione\">",
        b"<postacert tipo=\"accettazione\"></dati></postacert>",
        b"<postacert tipo=\"accettazione\"/><postacert/>",
        b"<postacert tipo=\"accettazione\"/>trailing",
        b"<a></b>",
        b"<postacert tipo=\"a\" tipo=\"b\"/>",
        b"<postacert tipo=accettazione/>",
        b"<!DOCTYPE",
        b"<!-- unterminated",
        b"<![CDATA[x]]>",
    ] {
        let r = quick(Duration::from_millis(200), || Daticert::parse(doc));
        match r {
            Err(Error::Daticert(_)) | Err(Error::Limit(_)) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(doc)),
        }
    }
}

#[test]
fn random_mutations_never_panic() {
    let base = vector("namirial-posta-certificata.xml");
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let specials = b"<>&;/=\"'!?[]-#x\0\xff\xc3";
    let t = Instant::now();
    for _ in 0..3000 {
        let mut doc = base.clone();
        for _ in 0..(next() % 6 + 1) {
            if doc.is_empty() {
                break;
            }
            let i = (next() as usize) % doc.len();
            match next() % 4 {
                0 => doc[i] = specials[(next() as usize) % specials.len()],
                1 => {
                    doc.remove(i);
                }
                2 => doc.insert(i, specials[(next() as usize) % specials.len()]),
                _ => doc.truncate(i.max(1)),
            }
        }
        let _ = Daticert::parse(&doc);
    }
    assert!(t.elapsed() < Duration::from_secs(10));
}

#[test]
fn dtd_file_is_the_rfc_grammar() {
    let d = std::fs::read_to_string(dtd()).unwrap();
    assert!(d.contains("<!ELEMENT postacert (intestazione, dati)>"));
    assert!(d.contains("<!ELEMENT intestazione (mittente, destinatari+, risposte, oggetto?)>"));
    assert!(d.contains("zona CDATA #REQUIRED>"));
    assert!(Path::new(&dtd()).is_file());
}

/// The reader's own XML 1.0 well-formedness checks (it replaced a general XML library): what
/// real files carry is read, what is not XML is refused, wherever it appears.
#[test]
fn reader_well_formedness() {
    let full = String::from_utf8(vector("go-pec-accettazione.xml")).unwrap();
    let base = Daticert::parse(full.as_bytes()).unwrap();
    // line ends inside character data read as LF (XML 1.0 §2.11); &#13; stays a CR
    let crlf = full.replace("Test PEC", "a\r\nb\rc&#13;d");
    assert_eq!(Daticert::parse(crlf.as_bytes()).unwrap().subject.as_deref(), Some("a\nb\nc\rd"));
    // single quotes, spaces around '=', an unknown attribute with references, empty elements
    let ok = full
        .replacen("tipo=\"accettazione\"", "tipo = 'accettazione' x='&amp;&#65;'", 1)
        .replacen("<dati>", "<dati><vuoto/><vuoto a=\"1\" /><?pi x?><![CDATA[ ]]>", 1);
    assert_eq!(Daticert::parse(ok.as_bytes()).unwrap(), base);
    for (from, to) in [
        ("<dati>", "<dati><x a=\"&lol;\"/>"),
        ("<dati>", "<dati><x a=\"<\"/>"),
        ("<dati>", "<dati><x a=\"1\" a=\"2\"/>"),
        ("<dati>", "<dati><x a=\"1\"b=\"2\"/>"),
        ("<dati>", "<dati><x a/>"),
        ("<dati>", "<dati><x a=1/>"),
        ("<dati>", "<dati><x a=\"1/>"),
        ("<dati>", "<dati><x>&undeclared;</x>"),
        ("<dati>", "<dati><x>&#xZZ;</x>"),
        ("<dati>", "<dati><x>&#;</x>"),
        ("<dati>", "<dati><x>&#x110000;</x>"),
        ("<dati>", "<dati><!-- a -- b -->"),
        ("<dati>", "<dati><!-- a --->"),
        ("<dati>", "<dati><!ELEMENT x ANY>"),
        ("<dati>", "<dati><1x/>"),
        ("<dati>", "<dati>< x/>"),
        ("<dati>", "<dati></ >"),
        ("<dati>", "<dati><![CDATA[x]>"),
        ("<dati>", "<dati><?pi"),
        ("<dati>", "<dati><?"),
        ("</dati>", "</data>"),
        ("</dati>", "</dati x=\"1\">"),
        ("<?xml", "<!DOCTYPE postacert [ ]>\n<?xml"),
    ] {
        let doc = full.replacen(from, to, 1);
        assert_ne!(doc, full, "{to}");
        let e = daticert_err(Daticert::parse(doc.as_bytes()));
        assert!(
            matches!(e, DaticertError::Malformed { .. } | DaticertError::EntityDeclaration),
            "{to}: {e:?}"
        );
    }
}
