//! `pec engine status --config FILE [--json] [IDENTIFIER]` — the state the provider engine
//! keeps of a message (every message with a recipient awaiting receipts without an
//! identifier). Exit 0, 1 when the identifier is unknown, 2 on a configuration or store error.
//!
//! `pec engine run-due --config FILE [--json] [--limit N]` — runs the due 12 h / 24 h timers
//! once and prints what was emitted (kind, identifier, recipient routes, outbox id); the
//! messages stay in the engine's outbox for the sender. Exit 0, 2 on error.
//!
//! When `pec serve` runs with an `[admin] socket`, both go through that socket (the daemon
//! answers from its engine, and its worker sends what run-due emitted); without a daemon
//! listening there they open the store themselves.
//!
//! `pec engine clock advance DURATION --config FILE` (only in a build with the cargo feature
//! `test-clock`): moves the test clock of the running `pec serve` (the offset is kept in the
//! store); the timers now due fire before it returns. `pec engine clock show` prints it.
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
    /// The test clock of `pec serve` (a build with the feature test-clock only).
    #[cfg(feature = "test-clock")]
    #[command(subcommand)]
    Clock(ClockCommand),
}

/// `pec engine clock ...`
#[cfg(feature = "test-clock")]
#[derive(Debug, clap::Subcommand)]
pub enum ClockCommand {
    /// Move the clock forward by DURATION (`12h`, `30m`, `90s`, `1d`); the timers now due
    /// fire before this returns. Exit 0, 2 on error.
    Advance(ClockArgs),
    /// Print the clock's time and offset. Exit 0, 2 on error.
    Show(ClockShowArgs),
}

/// Arguments of `pec engine clock advance`.
#[cfg(feature = "test-clock")]
#[derive(Debug, clap::Args)]
pub struct ClockArgs {
    /// How far (`12h`, `11h`, `30m`, `90s`, `1d`).
    duration: String,
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pec engine clock show`.
#[cfg(feature = "test-clock")]
#[derive(Debug, clap::Args)]
pub struct ClockShowArgs {
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
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
        #[cfg(feature = "test-clock")]
        Command::Clock(c) => clock(c),
    }
}

/// What a command prints and its exit status.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Exit status.
    pub exit: u8,
}

impl Rendered {
    fn emit(self) -> ExitCode {
        print!("{}", self.stdout);
        eprint!("{}", self.stderr);
        ExitCode::from(self.exit)
    }
}

/// Asks the running daemon (`[admin] socket` of the file at `config`); `None` when none
/// listens there.
fn via_daemon(config: &std::path::Path, req: &Value) -> Option<Result<Value, EngineError>> {
    let file = crate::serve::ServeFile::load(config).ok()?;
    let socket = file.admin_socket(config)?;
    Some(crate::serve::admin::request(&socket, req)?.map_err(EngineError::Store))
}

/// The clock of a command working on the store itself (`pec engine`, `pec log`): the system
/// clock, moved by `pec serve`'s stored test-clock offset in a build with the feature
/// test-clock (so seals made on the test clock verify on it).
pub(crate) fn offline_clock(cfg: &EngineConfig) -> Result<Arc<dyn pec_engine::Clock>, EngineError> {
    if !cfg!(feature = "test-clock") {
        return Ok(Arc::new(SystemClock));
    }
    let mut store = pec_engine::store::open(&cfg.store_url())?;
    let mut ms = 0i64;
    store.write(&mut |tx| {
        ms = tx.setting(crate::serve::CLOCK_KEY)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(())
    })?;
    Ok(Arc::new(pec_engine::OffsetClock::new(ms)))
}

fn from_daemon(v: &Value) -> Rendered {
    Rendered {
        stdout: v["stdout"].as_str().unwrap_or_default().to_string(),
        stderr: v["stderr"].as_str().unwrap_or_default().to_string(),
        exit: v["exit"].as_u64().and_then(|e| u8::try_from(e).ok()).unwrap_or(0),
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
    let req = json!({"cmd": "status", "identifier": a.identifier, "json": a.json});
    match via_daemon(&a.config, &req) {
        Some(Ok(v)) => return from_daemon(&v).emit(),
        Some(Err(e)) => return fail(&e, a.json),
        None => {}
    }
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
    match result {
        Ok(list) => render_status(&list, a.identifier.is_some(), a.json).emit(),
        Err(e) => fail(&e, a.json),
    }
}

/// What `pec engine status` prints for `list` (`one`: an identifier was asked for).
pub fn render_status(list: &[Status], one: bool, json: bool) -> Rendered {
    use std::fmt::Write as _;
    let mut r = Rendered::default();
    if one && list.is_empty() {
        if json {
            r.stdout.push_str("null\n");
        } else {
            r.stderr.push_str("pec: engine: unknown identifier\n");
        }
        r.exit = 1;
        return r;
    }
    if json {
        let v = match (one, list.first()) {
            (true, Some(s)) => serde_json::to_value(s).unwrap_or(Value::Null),
            _ => serde_json::to_value(list).unwrap_or(Value::Null),
        };
        let _ = writeln!(r.stdout, "{v}");
    } else {
        for s in list {
            write_status(&mut r.stdout, s);
        }
    }
    r
}

fn write_status(out: &mut String, s: &Status) {
    use std::fmt::Write as _;
    let _ = writeln!(out, "{}", s.identifier);
    if let Some(m) = &s.sent {
        let _ = writeln!(
            out,
            "  sent by {} at {} ({}): {:?}",
            m.reverse_path, m.t0, m.receipt_type, m.subject
        );
        for r in &m.recipients {
            let _ = writeln!(
                out,
                "  {} [{} {}] {} since {}",
                r.address, r.kind, r.field, r.state, r.updated
            );
            for x in &r.receipts {
                let _ = writeln!(
                    out,
                    "    {} {} {} {}",
                    x.at,
                    x.direction,
                    x.kind,
                    x.message_id.as_deref().unwrap_or("-")
                );
            }
            for t in &r.timers {
                let _ = writeln!(out, "    timer {} due {} {}", t.which, t.due, t.status);
            }
        }
    }
    for r in &s.received {
        let _ = writeln!(out, "  received for {}: {} since {}", r.address, r.state, r.updated);
    }
}

/// One emitted message as JSON (`pec engine run-due --json`).
pub fn outgoing_json(o: &Outgoing) -> Value {
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
    let req = json!({"cmd": "run-due", "limit": a.limit, "json": a.json});
    match via_daemon(&a.config, &req) {
        Some(Ok(v)) => return from_daemon(&v).emit(),
        Some(Err(e)) => return fail(&e, a.json),
        None => {}
    }
    let result = (|| -> Result<Vec<Outgoing>, EngineError> {
        let cfg = EngineConfig::load(&a.config)?;
        let engine = Engine::from_config(&cfg, offline_clock(&cfg)?)?;
        engine.run_due(a.limit)
    })();
    match result {
        Ok(out) => render_run_due(&out, a.json).emit(),
        Err(e) => fail(&e, a.json),
    }
}

/// What `pec engine run-due` prints for what was emitted.
pub fn render_run_due(out: &[Outgoing], json: bool) -> Rendered {
    use std::fmt::Write as _;
    let mut r = Rendered::default();
    if json {
        let v: Vec<Value> = out.iter().map(outgoing_json).collect();
        let _ = writeln!(r.stdout, "{}", Value::Array(v));
    } else {
        for o in out {
            let to: Vec<String> = o
                .groups
                .iter()
                .map(|g| format!("{} {}", g.route.as_str(), g.rcpt_to.join(",")))
                .collect();
            let _ = writeln!(
                r.stdout,
                "{} {} {} -> {} (outbox {})",
                o.kind,
                o.identifier.as_deref().unwrap_or("-"),
                o.message_id.as_deref().unwrap_or("-"),
                to.join("; "),
                o.id
            );
        }
        let _ = writeln!(r.stdout, "{} emitted", out.len());
    }
    r
}

#[cfg(feature = "test-clock")]
fn clock(c: &ClockCommand) -> ExitCode {
    let (config, json_out, req) = match c {
        ClockCommand::Advance(a) => {
            let d = match pec_engine::config::parse_duration(&a.duration) {
                Ok(d) if d >= chrono::Duration::zero() => d,
                Ok(_) => {
                    return fail(
                        &EngineError::Config("the clock only moves forward".into()),
                        a.json,
                    );
                }
                Err(e) => return fail(&e, a.json),
            };
            (&a.config, a.json, json!({"cmd": "clock-advance", "seconds": d.num_seconds()}))
        }
        ClockCommand::Show(a) => (&a.config, a.json, json!({"cmd": "clock"})),
    };
    let v = match via_daemon(config, &req) {
        Some(Ok(v)) => v,
        Some(Err(e)) => return fail(&e, json_out),
        None => match clock_offline(config, &req) {
            Ok(v) => v,
            Err(e) => return fail(&e, json_out),
        },
    };
    if json_out {
        println!("{v}");
    } else {
        let offset = v["offset_seconds"].as_i64().unwrap_or(0);
        print!(
            "{} (offset {}h{:02}m{:02}s)",
            v["now"].as_str().unwrap_or("-"),
            offset / 3600,
            offset % 3600 / 60,
            offset % 60
        );
        match v["emitted"].as_u64() {
            Some(n) => println!(", {n} emitted"),
            None => println!(),
        }
    }
    ExitCode::SUCCESS
}

/// The clock without a running daemon: the offset in the store, moved there.
#[cfg(feature = "test-clock")]
fn clock_offline(config: &std::path::Path, req: &Value) -> Result<Value, EngineError> {
    let cfg = EngineConfig::load(config)?;
    let mut store = pec_engine::store::open(&cfg.store_url())?;
    let mut ms = 0i64;
    let add = req["seconds"].as_i64().unwrap_or(0).saturating_mul(1000);
    store.write(&mut |tx| {
        ms = tx
            .setting(crate::serve::CLOCK_KEY)?
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            .saturating_add(add);
        if add != 0 {
            tx.put_setting(crate::serve::CLOCK_KEY, &ms.to_string())?;
        }
        Ok(())
    })?;
    let now = chrono::Utc::now() + chrono::Duration::milliseconds(ms);
    Ok(json!({
        "ok": true,
        "now": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "offset_seconds": ms / 1000,
        "test_clock": true,
    }))
}
