//! `pec engine status --config FILE [--json] [IDENTIFIER]` — the state the provider engine
//! keeps of a message (every message with a recipient awaiting receipts without an
//! identifier). Exit 0, 1 when the identifier is unknown, 2 on a configuration or store error.
//!
//! `pec engine run-due --config FILE [--json] [--limit N]` — runs the due 12 h / 24 h timers
//! once and prints what was emitted (kind, identifier, recipient routes, outbox id); the
//! messages stay in the engine's outbox for the sender. Exit 0, 2 on error.
//!
//! The configuration file is the provider file extended with the sections of the engine
//! (ENGINE.md §Config).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use pec_engine::store::{Outgoing, Status};
use pec_engine::{Engine, EngineConfig, EngineError, SystemClock};
use serde_json::{Value, json};

/// `pec engine ...`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the state of a message, or of every message awaiting receipts.
    Status(StatusArgs),
    /// Run the due timers once and print what was emitted.
    RunDue(RunDueArgs),
}

/// Arguments of `pec engine status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// A PEC identifier (with or without angle brackets).
    identifier: Option<String>,
}

/// Arguments of `pec engine run-due`.
#[derive(Debug, clap::Args)]
pub struct RunDueArgs {
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// At most this many timers.
    #[arg(long, default_value_t = 10_000)]
    limit: usize,
}

/// Runs `pec engine ...`.
pub fn run(c: &Command) -> ExitCode {
    match c {
        Command::Status(a) => status(a),
        Command::RunDue(a) => run_due(a),
    }
}

fn fail(e: &EngineError, json: bool) -> ExitCode {
    if json {
        eprintln!("{}", json!({"error": {"message": e.to_string()}}));
    } else {
        eprintln!("pec: engine: {e}");
    }
    ExitCode::from(2)
}

fn status(a: &StatusArgs) -> ExitCode {
    let result = (|| -> Result<Vec<Status>, EngineError> {
        let cfg = EngineConfig::load(&a.config)?;
        // only the store is needed: no key, no index
        let mut store = pec_engine::store::open(&cfg.store_url())?;
        let mut out = Vec::new();
        store.write(&mut |tx| {
            out.clear();
            match &a.identifier {
                Some(id) => {
                    let id = pec_core::identifier::strip_angle(id);
                    out.extend(tx.status(id)?);
                }
                None => {
                    for id in tx.open_identifiers()? {
                        out.extend(tx.status(&id)?);
                    }
                }
            }
            Ok(())
        })?;
        Ok(out)
    })();
    let list = match result {
        Ok(l) => l,
        Err(e) => return fail(&e, a.json),
    };
    if a.identifier.is_some() && list.is_empty() {
        if a.json {
            println!("null");
        } else {
            eprintln!("pec: engine: unknown identifier");
        }
        return ExitCode::from(1);
    }
    if a.json {
        let v = match (&a.identifier, list.first()) {
            (Some(_), Some(s)) => serde_json::to_value(s).unwrap_or(Value::Null),
            _ => serde_json::to_value(&list).unwrap_or(Value::Null),
        };
        println!("{v}");
    } else {
        for s in &list {
            print_status(s);
        }
    }
    ExitCode::SUCCESS
}

fn print_status(s: &Status) {
    println!("{}", s.identifier);
    if let Some(m) = &s.sent {
        println!("  sent by {} at {} ({}): {:?}", m.reverse_path, m.t0, m.receipt_type, m.subject);
        for r in &m.recipients {
            println!("  {} [{} {}] {} since {}", r.address, r.kind, r.field, r.state, r.updated);
            for x in &r.receipts {
                println!(
                    "    {} {} {} {}",
                    x.at,
                    x.direction,
                    x.kind,
                    x.message_id.as_deref().unwrap_or("-")
                );
            }
            for t in &r.timers {
                println!("    timer {} due {} {}", t.which, t.due, t.status);
            }
        }
    }
    for r in &s.received {
        println!("  received for {}: {} since {}", r.address, r.state, r.updated);
    }
}

fn outgoing_json(o: &Outgoing) -> Value {
    let groups: Vec<Value> =
        o.groups.iter().map(|g| json!({"route": g.route.as_str(), "rcpt_to": g.rcpt_to})).collect();
    json!({
        "id": o.id,
        "kind": o.kind,
        "identifier": o.identifier,
        "message_id": o.message_id,
        "mail_from": o.mail_from,
        "groups": groups,
        "size": o.bytes.len(),
    })
}

fn run_due(a: &RunDueArgs) -> ExitCode {
    let result = (|| -> Result<Vec<Outgoing>, EngineError> {
        let cfg = EngineConfig::load(&a.config)?;
        let engine = Engine::from_config(&cfg, Arc::new(SystemClock))?;
        engine.run_due(a.limit)
    })();
    let out = match result {
        Ok(o) => o,
        Err(e) => return fail(&e, a.json),
    };
    if a.json {
        let v: Vec<Value> = out.iter().map(outgoing_json).collect();
        println!("{}", Value::Array(v));
    } else {
        for o in &out {
            let to: Vec<String> = o
                .groups
                .iter()
                .map(|g| format!("{} {}", g.route.as_str(), g.rcpt_to.join(",")))
                .collect();
            println!(
                "{} {} {} -> {} (outbox {})",
                o.kind,
                o.identifier.as_deref().unwrap_or("-"),
                o.message_id.as_deref().unwrap_or("-"),
                to.join("; "),
                o.id
            );
        }
        println!("{} emitted", out.len());
    }
    ExitCode::SUCCESS
}
