//! `pec inspect [--json] FILE`.

use std::path::PathBuf;
use std::process::ExitCode;

use pec_core::PecMessage;
use pec_core::crypto::sha256_hex;

use crate::output::print_error;

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
    if a.json {
        // the wire view (`pec_core::view::MessageView`, contract: keys are stable)
        println!("{}", pec_core::view::message_json(&msg));
    } else {
        print_text(&msg);
    }
    ExitCode::SUCCESS
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
