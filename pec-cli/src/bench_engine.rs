//! The `engine-access` workload of `pec bench`: submissions per second through the provider
//! engine's access point, each one decided, built and signed twice (acceptance receipt and
//! transport envelope) and committed durably before its reply (SQLite in WAL mode with
//! `synchronous=FULL`, in a temporary directory; PostgreSQL when `PEC_BENCH_PG` names one).
//! Concurrent submissions share commits (the engine's group commit); the commits per
//! submission are reported beside the rate: in WAL mode with `synchronous=FULL` SQLite
//! syncs the log once per commit, so this is the fsyncs per message (checkpoints aside).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use pec_core::Error;
use pec_core::checks::SmtpEnvelope;
use pec_core::points::{Antivirus, Policy};
use pec_engine::{Engine, EngineParts, SystemClock};
use pec_testkit::workload::{Workloads, measure, original_of_size};

/// The rate and the commits per submission of one store.
#[derive(Debug)]
pub struct EngineRate {
    /// Submissions per second (all threads).
    pub rate: f64,
    /// Store commits per submission (1.0 without grouping).
    pub commits_per_submission: f64,
    /// Bytes written to storage per submission, SQLite's log and checkpoints together (`None`
    /// for PostgreSQL, whose writes are the server's, and where `/proc/self/io` is missing).
    pub bytes_per_submission: Option<f64>,
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn engine_on(w: &Workloads, store: Box<dyn pec_engine::Store>) -> Result<Engine, Error> {
    let domain = w.scenario.domain(0);
    let mut policy = Policy::new(domain);
    policy.service_mailbox = format!("posta-certificata@{domain}");
    Ok(Engine::new(EngineParts {
        provider: w.scenario.provider(0)?,
        policy,
        signer: Arc::new(w.scenario.signer(0)?),
        verify: w.opts.clone(),
        store,
        clock: Arc::new(SystemClock),
    }))
}

/// Runs the workload on `url` (`sqlite:` in a fresh temporary directory when `None`).
///
/// # Errors
/// The store cannot be opened, or a submission is not accepted.
pub fn engine_access(
    w: &Workloads,
    url: Option<&str>,
    threads: usize,
    seconds: f64,
) -> Result<EngineRate, Error> {
    let store_err = |e: pec_engine::EngineError| Error::InvalidArgument(format!("engine: {e}"));
    let (_dir, url, db) = match url {
        Some(u) => (None, u.to_string(), None),
        None => {
            let dir = std::env::temp_dir().join(format!("pec-bench-engine-{}", std::process::id()));
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(dir.display(), &e))?;
            let db = dir.join("engine.db");
            let url = format!("sqlite:{}", db.display());
            (Some(TempDir(dir)), url, Some(db))
        }
    };
    // bytes this process sent to storage (Linux `/proc/self/io`): the store's write volume,
    // log and checkpoints together (the benchmark writes nothing else)
    let written = || -> Option<u64> {
        let io = std::fs::read_to_string("/proc/self/io").ok()?;
        io.lines().find_map(|l| l.strip_prefix("write_bytes:")).and_then(|v| v.trim().parse().ok())
    };
    let engine = engine_on(w, pec_engine::store::open(&url).map_err(store_err)?)?;
    // the test kit's 10 KiB original (From mario.rossi@ provider 0, To protocollo@ provider 1),
    // with a Message-ID of its own per submission
    let from = format!("mario.rossi@{}", w.scenario.domain(0));
    let to = format!("protocollo@{}", w.scenario.domain(1));
    let original = original_of_size(10 * 1024);
    let (head, tail) = split_message_id(&original)
        .ok_or_else(|| Error::InvalidArgument("the bench original has no Message-ID".into()))?;
    // a run tag keeps a PostgreSQL store's earlier runs from answering as replays
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seq = AtomicU64::new(0);
    let smtp = SmtpEnvelope { reverse_path: Some(from), forward_paths: vec![to] };
    let before = engine.commit_stats();
    let written_before = db.as_ref().and_then(|_| written());
    let rate = measure(threads, seconds, |_| {
        let n = seq.fetch_add(1, Ordering::Relaxed);
        let mut msg = Vec::with_capacity(original.len() + 64);
        msg.extend_from_slice(head);
        msg.extend_from_slice(
            format!("Message-ID: <bench.{run}.{n}@client.example.it>").as_bytes(),
        );
        msg.extend_from_slice(tail);
        let out = engine.on_submission(&smtp, &msg, &Antivirus::Clean).map_err(store_err)?;
        if !out.reply.is_ok() || out.emissions.len() < 2 {
            return Err(Error::InvalidArgument(format!(
                "the benchmark submission was not accepted: {} {}",
                out.reply.code, out.reply.text
            )));
        }
        Ok(())
    })?;
    let after = engine.commit_stats();
    let subs = after.submissions.saturating_sub(before.submissions).max(1);
    let commits = after.commits.saturating_sub(before.commits);
    let bytes_per_submission =
        written_before.zip(written()).map(|(b, a)| a.saturating_sub(b) as f64 / subs as f64);
    Ok(EngineRate {
        rate,
        commits_per_submission: commits as f64 / subs as f64,
        bytes_per_submission,
    })
}

/// `original` split around its `Message-ID:` line (the line's end kept in the tail).
fn split_message_id(original: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = original.windows(11).position(|w| w == b"Message-ID:")?;
    let end = at + original.get(at..)?.iter().position(|b| *b == b'\r')?;
    Some((original.get(..at)?, original.get(end..)?))
}
