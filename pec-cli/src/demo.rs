//! `pec demo [--out DIR]`: a complete PEC exchange between two providers on an embedded
//! default — the test kit's generated CA and two providers, an in-memory providers index, no
//! server, no network.

use std::path::PathBuf;
use std::process::ExitCode;

use pec_core::build::BuildRequest;
use pec_core::model::{CertError, MessageKind, ReceiptKind};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::timeref::TimeReference;
use pec_core::{Error, PecMessage, verify_message};
use pec_testkit::TwoProviders;

/// Arguments of `pec demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory where every message produced is written (default: ./pec-demo).
    #[arg(long, default_value = "pec-demo")]
    out: PathBuf,
}

/// Runs the demo.
pub fn run(a: &Args) -> ExitCode {
    match demo(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::output::print_error(&e, false);
            ExitCode::from(2)
        }
    }
}

const ORIGINAL: &str = "From: Mario Rossi <mario.rossi@pec.example.it>\r\n\
To: Ufficio Protocollo <protocollo@pec.other.it>\r\n\
Cc: info@example.com\r\n\
Subject: Richiesta documenti - pratica n. 42\r\n\
Date: Wed, 25 Nov 2026 10:00:00 +0100\r\n\
Message-ID: <demo-42@client.example.it>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"demo-boundary\"\r\n\
\r\n\
--demo-boundary\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
Buongiorno,\r\n\
invio in allegato la richiesta firmata. Cordiali saluti, Mario Rossi\r\n\
--demo-boundary\r\n\
Content-Type: application/pdf; name=\"richiesta.pdf\"\r\n\
Content-Disposition: attachment; filename=\"richiesta.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJcOkw7zDtsOfCjEgMCBvYmoKPDwvVHlwZS9DYXRhbG9nPj4KZW5kb2JqCnRyYWlsZXIKPDwvUm9vdCAxIDAgUj4+CiUlRU9GCg==\r\n\
--demo-boundary--\r\n";

struct Step<'a> {
    out: &'a std::path::Path,
    n: usize,
}

impl Step<'_> {
    fn save(&mut self, name: &str, bytes: &[u8], what: &str) -> Result<PathBuf, Error> {
        self.n += 1;
        let path = self.out.join(format!("{:02}-{name}.eml", self.n));
        std::fs::write(&path, bytes).map_err(|e| Error::io(path.display(), &e))?;
        let m = PecMessage::parse(bytes)?;
        println!(
            "[{:02}] {what}\n     kind={} identificativo={} -> {}",
            self.n,
            m.kind.as_ref().map(|k| k.as_str()).unwrap_or("(ordinary mail)"),
            m.identificativo.as_deref().unwrap_or("-"),
            path.display()
        );
        Ok(path)
    }
}

fn demo(a: &Args) -> Result<(), Error> {
    std::fs::create_dir_all(&a.out).map_err(|e| Error::io(a.out.display(), &e))?;
    println!("pec demo: a complete PEC exchange on an embedded default (no server, no network)\n");

    // 1. a test PKI: root, name-constrained PEC CA, one certificate per provider
    let world = TwoProviders::generate(365)?;
    let path = a.out.join("test-root-ca.pem");
    std::fs::write(&path, world.pki.root.cert_pem()).map_err(|e| Error::io(path.display(), &e))?;
    println!("test PKI: root CA -> PEC CA (rfc822Name constraints) -> 2 provider certificates");

    // 2. the providers index, in memory
    let index = world.index()?;
    println!("providers index: 2 providers, in memory\n");

    let signer_a = world.signer(0)?;
    let signer_b = world.signer(1)?;
    let sender = Provider::new(
        "Example PEC S.p.A.",
        "pec.example.it",
        RecipientPolicy::Index(index.clone()),
    )?;
    let receiver =
        Provider::new("Other PEC S.r.l.", "pec.other.it", RecipientPolicy::Index(index.clone()))?;
    let opts = world.verify_options()?;
    let verify = |label: &str, bytes: &[u8]| -> Result<(), Error> {
        let r = verify_message(bytes, &opts)?;
        let reasons: Vec<&str> = r.reasons.iter().map(|x| x.as_str()).collect();
        println!(
            "     verified by {label}: {} {} (signer: {}, provider: {})",
            r.verdict,
            if reasons.is_empty() { String::new() } else { format!("{reasons:?}") },
            r.signer.as_ref().map(|s| s.subject.as_str()).unwrap_or("-"),
            r.provider.as_ref().map(|p| p.name.as_str()).unwrap_or("-"),
        );
        Ok(())
    };

    let mut step = Step { out: &a.out, n: 0 };
    step.save(
        "original",
        ORIGINAL.as_bytes(),
        "Mario Rossi submits a message (To a PEC office, Cc an ordinary address)",
    )?;

    // 3. sender's access point: acceptance + transport envelope, one time reference
    // one transaction: one time reference and one PEC identifier for both messages
    let t = TimeReference::now();
    let id = sender.next_id(&t.datetime());
    let req = |kind: MessageKind| BuildRequest {
        kind,
        time: Some(t),
        original: Some(ORIGINAL.as_bytes()),
        identifier: Some(id.clone()),
        ..BuildRequest::default()
    };
    let acc = sender.build(&req(MessageKind::Receipt(ReceiptKind::Acceptance)), Some(&signer_a))?;
    step.save("accettazione", &acc, "sender's access point: ricevuta di accettazione")?;
    verify("the sender's client", &acc)?;
    let env = sender.build(&req(MessageKind::TRANSPORT_ENVELOPE), Some(&signer_a))?;
    step.save("posta-certificata", &env, "sender's access point: busta di trasporto")?;

    // 4. receiving provider: verify, take charge, deliver
    verify("the receiving provider", &env)?;
    let t2 = TimeReference::now();
    let from_env = |kind: MessageKind, recipient: &str| BuildRequest {
        kind,
        time: Some(t2),
        envelope: Some(&env),
        recipients: vec![recipient.to_string()],
        ..BuildRequest::default()
    };
    let pic = receiver.build(
        &from_env(MessageKind::Receipt(ReceiptKind::TakeCharge), "protocollo@pec.other.it"),
        Some(&signer_b),
    )?;
    step.save(
        "presa-in-carico",
        &pic,
        "receiving provider: ricevuta di presa in carico (to the sender provider)",
    )?;
    verify("the sender provider", &pic)?;
    let del = receiver.build(
        &from_env(MessageKind::Receipt(ReceiptKind::Delivery), "protocollo@pec.other.it"),
        Some(&signer_b),
    )?;
    step.save(
        "avvenuta-consegna",
        &del,
        "receiving provider: ricevuta di avvenuta consegna (completa)",
    )?;
    verify("the sender's client", &del)?;

    // 5. what goes wrong: a message with Bcc refused; ordinary mail wrapped as anomaly
    let bad = ORIGINAL.replacen("Cc: info@example.com\r\n", "Bcc: segreto@example.com\r\n", 1);
    let nacc = sender.build(
        &BuildRequest {
            kind: MessageKind::Receipt(ReceiptKind::NonAcceptance),
            time: Some(TimeReference::now()),
            original: Some(bad.as_bytes()),
            error: Some(CertError::Another),
            ..BuildRequest::default()
        },
        Some(&signer_a),
    )?;
    step.save("non-accettazione", &nacc, "a message with Bcc: avviso di non accettazione")?;
    let ordinary = b"From: someone@example.com\r\nTo: protocollo@pec.other.it\r\nSubject: ciao\r\nMessage-ID: <x1@example.com>\r\nDate: Wed, 25 Nov 2026 10:05:00 +0100\r\n\r\nordinary mail\r\n";
    let anomaly = receiver.build(
        &BuildRequest {
            kind: MessageKind::ANOMALY_ENVELOPE,
            time: Some(TimeReference::now()),
            envelope: Some(ordinary),
            recipients: vec!["protocollo@pec.other.it".into()],
            ..BuildRequest::default()
        },
        Some(&signer_b),
    )?;
    step.save("errore", &anomaly, "ordinary mail reaching a PEC mailbox: busta di anomalia")?;
    verify("the recipient", &anomaly)?;

    // 6. tampering is detected
    let mut tampered = env.clone();
    if let Some(pos) = tampered.windows(5).position(|w| w == b"Mario") {
        tampered[pos] = b'D';
    }
    step.save("tampered-envelope", &tampered, "the envelope with one byte changed")?;
    verify("the receiving provider", &tampered)?;

    println!("\nall messages written to {}", a.out.display());
    Ok(())
}
