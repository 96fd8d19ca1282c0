//! `pec log ...` — the legal log (docs/LEGAL-LOG.md).
//!
//! * `pec log export --config FILE --day YYYY-MM-DD [--out DIR]` writes `DAY.jsonl` (and
//!   `DAY.tsr`, or `DAY.p7s` for a provider seal, when the day is sealed) into `DIR` (default
//!   `[log] dir`, else the current directory); with `[atrest]`, `DAY.jsonl.p7m` (encrypted to
//!   its recipients) instead of `DAY.jsonl`. `--out -` prints the plaintext export from the
//!   store on standard output. Exit 0, 2 on error.
//! * `pec log seal --config FILE [--day YYYY-MM-DD]` seals a finished day (default yesterday
//!   in the provider's `timezone`; idempotent): an RFC 3161 time stamp from `[log] tsa_url`,
//!   else the provider's own CMS signature (and it says so). Exit 0, 2 on error.
//! * `pec log verify --config FILE [--day ...] [--tsa-ca PEM]` and
//!   `pec log verify --export DIR --tsa-ca PEM [--key K [--cert C]]` (the key opens exports
//!   encrypted at rest, `DAY.jsonl.p7m`, in memory): exit 0 when every chain link and seal
//!   verifies, 1 when something is broken (the first bad record or day is named), 2 when it
//!   cannot read.
//! * `pec log search --config FILE (--identifier ID | --msgid ID | --address ADDR) [--json]`:
//!   what happened to a message, from the log alone. Exit 0, 1 when nothing matches, 2 on
//!   error.
//! * `pec log purge --config FILE`: deletes the records of sealed days older than 30 months,
//!   keeping their seals. Exit 0, 2 on error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use pec_engine::legal::{
    LegalLog, LogRecord, VerifyReport, parse_day, verify_export, verify_export_with,
};
use pec_engine::store::LogQuery;
use pec_engine::{EngineConfig, EngineError};
use serde_json::json;

/// `pec log ...`
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write a day's export (DAY.jsonl, and DAY.tsr when sealed).
    Export(ExportArgs),
    /// Seal a finished day with an RFC 3161 time stamp (idempotent).
    Seal(SealArgs),
    /// Verify the chain and the seals, in the store or in exported files. Exit 0 all good,
    /// 1 broken (the first bad record or day is named), 2 cannot read.
    Verify(VerifyArgs),
    /// What happened to a message, from the log alone.
    Search(SearchArgs),
    /// Delete the records of sealed days older than 30 months (their seals are kept).
    Purge(PurgeArgs),
}

/// Arguments of `pec log export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// The day (YYYY-MM-DD, in the provider's time zone).
    #[arg(long)]
    day: String,
    /// Where to write (default: [log] dir, else the current directory); `-`: the plaintext
    /// export on standard output (even with [atrest]).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `pec log seal`.
#[derive(Debug, clap::Args)]
pub struct SealArgs {
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// The day (default: yesterday in the provider's time zone).
    #[arg(long)]
    day: Option<String>,
    /// Where to write the export and its seal (default: [log] dir).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pec log verify`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["config", "export"])))]
pub struct VerifyArgs {
    /// The engine's configuration file (verify the store).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Verify exported files in this directory instead (needs --tsa-ca).
    #[arg(long, requires = "tsa_ca")]
    export: Option<PathBuf>,
    /// With --export: a recipient's private key (PEM or DER) that opens exports encrypted
    /// at rest (DAY.jsonl.p7m), decrypted in memory.
    #[arg(long, requires = "export")]
    key: Option<PathBuf>,
    /// The key's certificate (only the recipient it names is tried).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Only this day (with --config).
    #[arg(long, requires = "config")]
    day: Option<String>,
    /// The TSA's CA certificate(s) (PEM): time stamps are checked to it.
    #[arg(long)]
    tsa_ca: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pec log search`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["identifier", "msgid", "address"])))]
pub struct SearchArgs {
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// A PEC identifier.
    #[arg(long)]
    identifier: Option<String>,
    /// A Message-ID (the user's original or a generated receipt's).
    #[arg(long)]
    msgid: Option<String>,
    /// An address (sender or recipient).
    #[arg(long)]
    address: Option<String>,
    /// Print the records as a JSON array.
    #[arg(long)]
    json: bool,
}

/// Arguments of `pec log purge`.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// The engine's configuration file.
    #[arg(long)]
    config: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `pec log ...`.
pub fn run(c: &Command) -> ExitCode {
    match c {
        Command::Export(a) => export(a),
        Command::Seal(a) => seal(a),
        Command::Verify(a) => verify(a),
        Command::Search(a) => search(a),
        Command::Purge(a) => purge(a),
    }
}

fn fail(e: &EngineError, json: bool) -> ExitCode {
    if json {
        eprintln!("{}", json!({"error": {"message": e.to_string()}}));
    } else {
        eprintln!("pec: log: {e}");
    }
    ExitCode::from(2)
}

fn open(config: &Path) -> Result<(EngineConfig, LegalLog), EngineError> {
    let cfg = EngineConfig::load(config)?;
    let log = LegalLog::from_config(&cfg, crate::engine::offline_clock(&cfg)?)?;
    Ok((cfg, log))
}

fn export(a: &ExportArgs) -> ExitCode {
    let result = (|| {
        let (cfg, mut log) = open(&a.config)?;
        let day = parse_day(&a.day)?;
        if a.out.as_deref() == Some(Path::new("-")) {
            use std::io::Write as _;
            let e = log.export(day)?;
            let mut out = std::io::stdout().lock();
            out.write_all(&e.bytes)
                .and_then(|()| out.flush())
                .map_err(|e| EngineError::Config(format!("standard output: {e}")))?;
            return Ok((Vec::new(), Some(())));
        }
        let dir = match (&a.out, cfg.log.as_ref().and_then(|l| l.dir.as_deref())) {
            (Some(o), _) => o.clone(),
            (None, Some(d)) => cfg.path(d),
            (None, None) => PathBuf::from("."),
        };
        let (files, seal) = log.export_to(day, &dir)?;
        Ok((files, seal.map(|_| ())))
    })();
    match result {
        Ok((files, seal)) => {
            for f in &files {
                println!("{}", f.display());
            }
            if seal.is_none() {
                eprintln!("pec: log: {} is not sealed (pec log seal)", a.day);
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, false),
    }
}

fn seal(a: &SealArgs) -> ExitCode {
    let result = (|| {
        let (_, mut log) = open(&a.config)?;
        let day = match &a.day {
            Some(d) => parse_day(d)?,
            None => log.yesterday(),
        };
        log.seal(day, a.out.as_deref())
    })();
    let o = match result {
        Ok(o) => o,
        Err(e) => return fail(&e, a.json),
    };
    let how = match o.seal.kind.as_str() {
        "rfc3161" => {
            format!("RFC 3161 time stamp from {}", o.seal.tsa_url.as_deref().unwrap_or("the TSA"))
        }
        _ => "the provider's own CMS signature only (no [log] tsa_url: no time stamp)".into(),
    };
    if a.json {
        let files: Vec<String> = o.files.iter().map(|f| f.display().to_string()).collect();
        println!(
            "{}",
            json!({
                "day": o.seal.day,
                "sha256": o.seal.sha256,
                "records": o.seal.records,
                "kind": o.seal.kind,
                "tsa_url": o.seal.tsa_url,
                "already": o.already,
                "files": files,
            })
        );
    } else {
        let state = if o.already { "already sealed" } else { "sealed" };
        println!(
            "{} {state}: {} records, sha256 {}, with {how}",
            o.seal.day, o.seal.records, o.seal.sha256
        );
        for f in &o.files {
            println!("{}", f.display());
        }
    }
    ExitCode::SUCCESS
}

fn print_verify(r: &VerifyReport, json: bool) -> ExitCode {
    if json {
        println!("{}", serde_json::to_value(r).unwrap_or_default());
    } else {
        for n in &r.notes {
            println!("note: {n}");
        }
        match r.problems.first() {
            Some(p) => println!("BROKEN: {p}"),
            None => println!("ok: {} records, {} seals verified", r.records, r.seals),
        }
    }
    if r.ok() { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn verify(a: &VerifyArgs) -> ExitCode {
    let result = (|| {
        let ca = match &a.tsa_ca {
            Some(p) => {
                let pem = std::fs::read(p)
                    .map_err(|e| EngineError::Config(format!("{}: {e}", p.display())))?;
                let mut t = pec_core::chain::TrustStore::new();
                t.add_pem_bundle(&pem)
                    .map_err(|e| EngineError::Config(format!("{}: {e}", p.display())))?;
                Some(t)
            }
            None => None,
        };
        if let Some(dir) = &a.export {
            let ca = ca.ok_or_else(|| EngineError::Config("--export needs --tsa-ca".into()))?;
            let Some(k) = &a.key else { return verify_export(dir, &ca) };
            let read = |p: &Path| {
                std::fs::read(p).map_err(|e| EngineError::Config(format!("{}: {e}", p.display())))
            };
            let cert = a.cert.as_deref().map(read).transpose()?;
            let key = pec_core::atrest::SoftwareKey::from_pem(&read(k)?, cert.as_deref())?;
            return verify_export_with(dir, &ca, Some(&key));
        }
        let config = a.config.as_ref().ok_or_else(|| EngineError::Config("--config".into()))?;
        let (_, mut log) = open(config)?;
        let day = a.day.as_deref().map(parse_day).transpose()?;
        log.verify(day, ca.as_ref())
    })();
    match result {
        Ok(r) => print_verify(&r, a.json),
        Err(e) => fail(&e, a.json),
    }
}

fn search(a: &SearchArgs) -> ExitCode {
    let q = match (&a.identifier, &a.msgid, &a.address) {
        (Some(i), _, _) => LogQuery::Identifier(i.clone()),
        (_, Some(m), _) => LogQuery::Msgid(m.clone()),
        (_, _, Some(ad)) => LogQuery::Address(ad.clone()),
        _ => return fail(&EngineError::Config("nothing to search".into()), a.json),
    };
    let result = (|| {
        let (_, mut log) = open(&a.config)?;
        log.search(&q)
    })();
    let recs = match result {
        Ok(r) => r,
        Err(e) => return fail(&e, a.json),
    };
    if a.json {
        println!("{}", serde_json::to_value(&recs).unwrap_or_default());
    } else {
        for r in &recs {
            print_record(r);
        }
        if recs.is_empty() {
            eprintln!("pec: log: nothing found");
        }
    }
    if recs.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

fn print_record(r: &LogRecord) {
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    println!(
        "{} {} [{}] {} id={} rcpt={} from={} msgid={} errore={}{}{}",
        r.date,
        r.event,
        r.point,
        r.node,
        opt(&r.identifier),
        opt(&r.recipient),
        opt(&r.sender),
        opt(&r.msgid),
        opt(&r.errore),
        r.errore_esteso.as_ref().map(|e| format!(" ({e})")).unwrap_or_default(),
        if r.generated.is_empty() {
            String::new()
        } else {
            format!(" generated={}", r.generated.join(","))
        }
    );
}

fn purge(a: &PurgeArgs) -> ExitCode {
    let result = (|| {
        let (_, mut log) = open(&a.config)?;
        log.purge()
    })();
    match result {
        Ok(r) if a.json => {
            println!("{}", serde_json::to_value(&r).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Ok(r) => {
            println!("{} records before {} deleted; their seals are kept", r.deleted, r.before);
            for d in &r.unsealed {
                println!("note: {d} is older than 30 months but not sealed: kept");
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e, a.json),
    }
}
