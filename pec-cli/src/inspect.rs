//! `pec inspect [--json] FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use pec_core::PecMessage;
use pec_core::crypto::sha256_hex;
use pec_core::daticert::Daticert;
use serde_json::{Value, json};

use crate::output::{opt, print_error};

/// Arguments of `pec inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON (the stable keys documented in the README).
    #[arg(long)]
    json: bool,
    /// The message file (`-` for standard input).
    file: PathBuf,
}

/// Runs `pec inspect`.
pub fn run(a: &Args) -> ExitCode {
    let input = match crate::input::read(&a.file) {
        Ok(i) => i,
        Err(e) => {
            print_error(&e, true);
            return ExitCode::from(2);
        }
    };
    let msg = match PecMessage::parse(&input) {
        Ok(m) => m,
        Err(e) => {
            print_error(&e, true);
            return ExitCode::from(2);
        }
    };
    let v = message_json(&msg);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print_text(&msg);
    }
    ExitCode::SUCCESS
}

/// The JSON object of `pec inspect --json` (contract: keys are stable).
pub fn message_json(m: &PecMessage<'_>) -> Value {
    json!({
        "kind": m.kind.as_ref().map(|k| k.as_str().to_string()),
        "receipt_type": m.receipt_type.as_ref().map(|r| r.as_str().to_string()),
        "security_error": m.security_error,
        "message_id": opt(&m.message_id),
        "identificativo": opt(&m.identificativo),
        "msgid": opt(&m.msgid),
        "subject": opt(&m.subject),
        "signed": m.signed.is_some(),
        "daticert": m.daticert.as_ref().map(daticert_json),
        "original": m.original.as_ref().map(|o| json!({"size": o.len(), "sha256": sha256_hex(o)})),
        "hash_parts": m.hash_parts.iter().map(|h| json!({"filename": h.filename, "sha1": h.sha1})).collect::<Vec<_>>(),
        "warnings": m.warnings,
        "signed_scope": m.signed_scope.map(|s| s.as_str()),
        "header_kind": m.header_kind.as_ref().map(|k| k.as_str().to_string()),
    })
}

/// The `daticert` object (Italian keys, wire values).
pub fn daticert_json(d: &Daticert) -> Value {
    json!({
        "tipo": d.kind.as_ref().map(|k| k.as_str().to_string()),
        "errore": d.error.as_str(),
        "mittente": d.sender,
        "destinatari": d.recipients.iter().map(|r| json!({"address": r.address, "tipo": r.kind.as_str()})).collect::<Vec<_>>(),
        "risposte": d.reply_to,
        "oggetto": opt(&d.subject),
        "gestore_emittente": d.issuer,
        "data": {"giorno": d.date.day, "ora": d.date.time, "zona": d.date.zone},
        "identificativo": d.identifier,
        "msgid": opt(&d.msgid),
        "ricevuta": d.receipt_type.as_ref().map(|r| r.as_str().to_string()),
        "consegna": opt(&d.delivery),
        "ricezione": d.received,
        "errore_esteso": opt(&d.extended_error),
    })
}

fn print_text(m: &PecMessage<'_>) {
    let kind =
        m.kind.as_ref().map(|k| k.as_str().to_string()).unwrap_or_else(|| "(not PEC)".into());
    println!("kind:           {kind}");
    if let Some(r) = &m.receipt_type {
        println!("receipt type:   {r}");
    }
    if m.security_error {
        println!("security:       X-VerificaSicurezza: errore");
    }
    for (label, v) in [
        ("identificativo", &m.identificativo),
        ("msgid", &m.msgid),
        ("message-id", &m.message_id),
        ("subject", &m.subject),
    ] {
        if let Some(v) = v {
            println!("{label:<15} {v}");
        }
    }
    println!("signed:         {}", if m.signed.is_some() { "yes" } else { "no" });
    if let Some(d) = &m.daticert {
        println!("daticert:");
        println!(
            "  tipo/errore:  {} / {}",
            d.kind.as_ref().map(|k| k.as_str()).unwrap_or("?"),
            d.error
        );
        println!("  mittente:     {}", d.sender);
        for r in &d.recipients {
            println!("  destinatario: {} ({})", r.address, r.kind);
        }
        println!("  gestore:      {}", d.issuer);
        println!("  data:         {} {} {}", d.date.day, d.date.time, d.date.zone);
        if let Some(c) = &d.delivery {
            println!("  consegna:     {c}");
        }
        for r in &d.received {
            println!("  ricezione:    {r}");
        }
        if let Some(e) = &d.extended_error {
            println!("  errore-esteso: {e}");
        }
    }
    if let Some(o) = &m.original {
        println!("original:       {} bytes, sha256 {}", o.len(), sha256_hex(o));
    }
    for h in &m.hash_parts {
        println!("hash part:      {} {}", h.filename, h.sha1);
    }
    for w in &m.warnings {
        println!("warning:        {w}");
    }
}
