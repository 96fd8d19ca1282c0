//! `pec bench [--json] [--seconds N] [--threads N] [--only NAME]...`: in-process throughput
//! of the hot paths, on the test kit's generated PKI (no files, no network). The workloads
//! are `pec_testkit::workload` (the same as `cargo bench -p pec-core --bench core`):
//! `sign-envelope-10k`, `sign-envelope-1m`, `verify-envelope-10k`, `verify-envelope-1m`,
//! `verify-floor-10k` (the verification's unavoidable SHA-256 and RSA verification alone),
//! `parse-10k`, `index-lookup` (a 20 000-domain providers index), and `engine-access`
//! (submissions through the provider engine's access point: two signatures and a durable
//! SQLite commit each, PostgreSQL too when `PEC_BENCH_PG` names a database; see
//! [`crate::bench_engine`]). Its commits (fsyncs) per submission go to standard error.
//!
//! With `--threads N` every workload runs on N threads at once and the aggregate rate is
//! reported (the scaling goal compares `--threads 2` with `--threads 1`).
//!
//! Text output: one line per workload. `--json`: one object mapping each workload name to
//! operations per second (a number). A benchmark envelope that does not verify as `valid` is
//! reported on standard error. Exit 0, or 2 when the setup or a workload fails.

use std::process::ExitCode;

use pec_core::smime::Verdict;
use pec_core::{Error, verify_message};
use pec_testkit::workload::{WORKLOADS, Workloads, index_lookup, measure};

use crate::bench_engine::engine_access;

/// Arguments of `pec bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print one JSON object mapping each workload to operations per second.
    #[arg(long)]
    json: bool,
    /// Seconds per workload.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Threads running each workload at once (aggregate rate reported).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Run only these workloads (repeatable; default all).
    #[arg(long)]
    only: Vec<String>,
    /// Also write the benchmark's signed envelopes, trust anchor (PEM) and CRLs (DER) to this
    /// directory (fuzz seeds, profiling `pec verify`), then run as usual.
    #[arg(long = "write-fixtures", hide = true)]
    write_fixtures: Option<std::path::PathBuf>,
}

/// Runs `pec bench`.
pub fn run(a: &Args) -> ExitCode {
    match bench(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            crate::output::print_error(&e, a.json);
            ExitCode::from(2)
        }
    }
}

/// The engine workload (after [`WORKLOADS`] in the output).
const ENGINE_ACCESS: &str = "engine-access";

fn bench(a: &Args) -> Result<(), Error> {
    let known: Vec<&str> = WORKLOADS.iter().copied().chain([ENGINE_ACCESS]).collect();
    for w in &a.only {
        if !known.contains(&w.as_str()) {
            return Err(Error::InvalidArgument(format!(
                "unknown workload {w:?} (known: {})",
                known.join(", ")
            )));
        }
    }
    let selected: Vec<&str> = known
        .iter()
        .copied()
        .filter(|w| a.only.is_empty() || a.only.iter().any(|o| o == w))
        .collect();
    let needs_fixture = selected.iter().any(|w| *w != "index-lookup");
    let fixture = if needs_fixture { Some(Workloads::new()?) } else { None };
    if let (Some(f), Some(dir)) = (&fixture, &a.write_fixtures) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir.display(), &e))?;
        let envelopes =
            [("envelope-10k.eml", &f.envelope_10k), ("envelope-1m.eml", &f.envelope_1m)];
        let files = f.files();
        for (name, bytes) in envelopes.into_iter().chain(files.iter().map(|(n, b)| (*n, b))) {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| Error::io(path.display(), &e))?;
        }
    }
    if let Some(f) = &fixture {
        // a benchmark of a failing verification measures nothing: say so
        for env in [&f.envelope_10k, &f.envelope_1m] {
            let r = verify_message(env, &f.opts)?;
            if r.verdict != Verdict::Valid {
                let reasons: Vec<&str> = r.reasons.iter().map(|x| x.as_str()).collect();
                eprintln!(
                    "pec bench: note: the benchmark envelope verifies as {} {reasons:?}",
                    r.verdict
                );
            }
        }
    }
    let mut results = serde_json::Map::new();
    let mut runs: Vec<(String, f64)> = Vec::new();
    for w in selected {
        match &fixture {
            Some(f) if w == ENGINE_ACCESS => {
                let stores = [(w.to_string(), None)].into_iter().chain(
                    std::env::var("PEC_BENCH_PG").ok().map(|u| (format!("{w}-pg"), Some(u))),
                );
                for (name, url) in stores {
                    let r = engine_access(f, url.as_deref(), a.threads, a.seconds)?;
                    let stored = r
                        .bytes_per_submission
                        .map(|b| format!(", {:.1} KiB written per submission", b / 1024.0))
                        .unwrap_or_default();
                    eprintln!(
                        "pec bench: {name}: {:.3} commits (fsyncs) per submission{stored}",
                        r.commits_per_submission
                    );
                    runs.push((name, r.rate));
                }
            }
            Some(f) if w != "index-lookup" => {
                runs.push((w.to_string(), measure(a.threads, a.seconds, |_| f.step(w))?));
            }
            _ => runs.push((w.to_string(), index_lookup(a.threads, a.seconds)?)),
        }
    }
    for (w, rate) in runs {
        if !a.json {
            println!("{w:<22} {rate:>12.1} ops/s");
        }
        results.insert(
            w,
            serde_json::Number::from_f64(rate)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
        );
    }
    if a.json {
        println!("{}", serde_json::Value::Object(results));
    }
    Ok(())
}
