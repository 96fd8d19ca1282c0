//! The legal log (registro dei messaggi; RFC 6109 §2.3, ENGINE.md §5, docs/LEGAL-LOG.md).
//!
//! Every log event of a decision becomes a [`LogRecord`] written by the engine in the event's
//! own store transaction (with the state and the outbox), chained per node: each record
//! carries the SHA-256 of the node's previous record's canonical bytes. [`LegalLog`] exports
//! a day as canonical JSON Lines (`DAY.jsonl`), seals it (an RFC 3161 time stamp over the
//! export's SHA-256 from the `[log] tsa_url` TSA, `DAY.tsr`; else the provider's own detached
//! CMS signature, `DAY.p7s`), verifies the chain and the seals, searches, and purges the
//! days older than 30 months while keeping their seals.

mod record;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Months, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use pec_core::chain::TrustStore;
use pec_core::signer::Signer;
use pec_core::smime::{VerifyOptions, VerifyTime};
use pec_core::tsp;

pub use record::{EventContext, GENESIS, LogRecord, VERSION, hex, record, sha256_hex};

use crate::EngineError;
use crate::atrest::AtRest;
use crate::clock::Clock;
use crate::config::EngineConfig;
use crate::store::{self, LogQuery, Seal, Store, StoredLine, Tail};

/// How long records are kept (months).
pub const RETENTION_MONTHS: u32 = 30;

/// How long after its end a day can be sealed (a transaction dated at 23:59:59 commits
/// within the store's busy timeout, seconds).
pub const SEAL_GRACE_MINUTES: i64 = 2;

/// The TSA's timeout for one request.
const TSA_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The last (seq, hash) of `node` that a seal remembers (after its records were purged).
pub fn last_in_seals(seals: &[Seal], node: &str) -> Option<(u64, String)> {
    seals
        .iter()
        .flat_map(|s| s.tails.iter())
        .filter(|t| t.node == node)
        .max_by_key(|t| t.seq)
        .map(|t| (t.seq, t.hash.clone()))
}

/// A day's export: canonical JSON Lines, one record per line, by node then seq.
#[derive(Clone, Debug)]
pub struct Export {
    /// The day.
    pub day: String,
    /// The bytes of `DAY.jsonl`.
    pub bytes: Vec<u8>,
    /// How many records.
    pub records: u64,
    /// SHA-256 of `bytes` (hex).
    pub sha256: String,
    /// Each node's last record.
    pub tails: Vec<Tail>,
}

impl Export {
    fn of(day: &str, lines: &[StoredLine]) -> Export {
        let mut bytes = Vec::with_capacity(lines.iter().map(|l| l.line.len() + 1).sum());
        let mut tails: BTreeMap<&str, Tail> = BTreeMap::new();
        for l in lines {
            bytes.extend_from_slice(l.line.as_bytes());
            bytes.push(b'\n');
            tails.insert(
                &l.node,
                Tail { node: l.node.clone(), seq: l.seq, hash: sha256_hex(l.line.as_bytes()) },
            );
        }
        Export {
            day: day.to_string(),
            sha256: hex(&Sha256::digest(&bytes)),
            bytes,
            records: lines.len() as u64,
            tails: tails.into_values().collect(),
        }
    }
}

/// What [`LegalLog::seal`] did.
#[derive(Clone, Debug)]
pub struct SealOutcome {
    /// The seal (new or found).
    pub seal: Seal,
    /// Whether the day was sealed before (nothing was asked of the TSA).
    pub already: bool,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// What a verification found.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct VerifyReport {
    /// What is broken, first bad record or day first (empty: everything verifies).
    pub problems: Vec<String>,
    /// What holds but deserves a word (unsealed days, chains not checked to a TSA CA, ...).
    pub notes: Vec<String>,
    /// Records checked.
    pub records: u64,
    /// Seals checked.
    pub seals: u64,
}

impl VerifyReport {
    /// Everything verifies.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// What [`LegalLog::purge`] did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PurgeReport {
    /// Records before this day (older than 30 months) were deleted, if sealed.
    pub before: String,
    /// How many.
    pub deleted: usize,
    /// Days older than 30 months left because they are not sealed.
    pub unsealed: Vec<String>,
}

/// The legal log of a store.
pub struct LegalLog {
    store: Box<dyn Store>,
    tz: chrono_tz::Tz,
    clock: Arc<dyn Clock>,
    dir: Option<PathBuf>,
    tsa_url: Option<String>,
    tsa_ca: Option<Arc<TrustStore>>,
    signer: Option<Arc<dyn Signer>>,
    /// Where the signer comes from when it is needed (a seal without a TSA).
    signer_config: Option<Box<EngineConfig>>,
    trust: Option<Arc<TrustStore>>,
    /// `[atrest]`: exports written to a directory are encrypted (`DAY.jsonl.p7m`).
    atrest: Option<Arc<AtRest>>,
}

impl std::fmt::Debug for LegalLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LegalLog").field("tz", &self.tz).field("tsa_url", &self.tsa_url).finish()
    }
}

fn day_of(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses `YYYY-MM-DD`.
///
/// # Errors
/// [`EngineError::Config`].
pub fn parse_day(s: &str) -> Result<NaiveDate, EngineError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| EngineError::Config(format!("bad day {s:?} (YYYY-MM-DD)")))
}

fn trust_from_pem(pem: &[u8], what: &str) -> Result<TrustStore, EngineError> {
    let mut t = TrustStore::new();
    t.add_pem_bundle(pem).map_err(|e| EngineError::Config(format!("{what}: {e}")))?;
    Ok(t)
}

impl LegalLog {
    /// The legal log of `store`, days in `tz`.
    pub fn new(store: Box<dyn Store>, tz: chrono_tz::Tz, clock: Arc<dyn Clock>) -> LegalLog {
        LegalLog {
            store,
            tz,
            clock,
            dir: None,
            tsa_url: None,
            tsa_ca: None,
            signer: None,
            signer_config: None,
            trust: None,
            atrest: None,
        }
    }

    /// Exports written to a directory are encrypted to `atrest` (`DAY.jsonl.p7m`, the
    /// plaintext never written; a plaintext `DAY.jsonl` left there from before is removed).
    /// The seal still covers the plaintext.
    pub fn with_atrest(mut self, atrest: Option<Arc<AtRest>>) -> LegalLog {
        self.atrest = atrest;
        self
    }

    /// Whether exports are encrypted at rest.
    pub fn encrypts(&self) -> bool {
        self.atrest.is_some()
    }

    /// Exports are also written to `dir` when sealed.
    pub fn with_dir(mut self, dir: Option<PathBuf>) -> LegalLog {
        self.dir = dir;
        self
    }

    /// Seals with the RFC 3161 TSA at `url` (else with the provider's signature).
    pub fn with_tsa(mut self, url: Option<String>) -> LegalLog {
        self.tsa_url = url;
        self
    }

    /// The TSA's CA: a token is checked against it when received (else only its signature,
    /// imprint and nonce).
    pub fn with_tsa_ca(mut self, ca: Option<TrustStore>) -> LegalLog {
        self.tsa_ca = ca.map(Arc::new);
        self
    }

    /// The provider's signer (seals without a TSA) and the anchors its seals verify against.
    pub fn with_signer(mut self, signer: Arc<dyn Signer>, trust: Option<TrustStore>) -> LegalLog {
        self.signer = Some(signer);
        self.trust = trust.map(Arc::new);
        self
    }

    /// From the engine's configuration: `[store]`, `timezone`, `[log] dir`, `tsa_url`,
    /// `tsa_ca`, `[atrest]`, `[signing]` (optional here: needed only to seal without a TSA), `[trust]`.
    ///
    /// # Errors
    /// [`EngineError::Config`], [`EngineError::Store`].
    pub fn from_config(cfg: &EngineConfig, clock: Arc<dyn Clock>) -> Result<LegalLog, EngineError> {
        let tz = cfg.tz()?;
        let store = store::open(&cfg.store_url())?;
        let log = cfg.log.clone().unwrap_or_default();
        let tsa_ca = match &log.tsa_ca {
            Some(p) => Some(trust_from_pem(&cfg.read_file(p)?, p)?),
            None => None,
        };
        let mut l = LegalLog::new(store, tz, clock)
            .with_dir(log.dir.as_deref().map(|d| cfg.path(d)))
            .with_tsa(log.tsa_url.clone().filter(|u| !u.trim().is_empty()))
            .with_tsa_ca(tsa_ca)
            .with_atrest(cfg.atrest()?);
        if cfg.signing.is_some() {
            let mut trust = TrustStore::new();
            for f in cfg.trust.as_ref().map(|t| t.ca_files.as_slice()).unwrap_or(&[]) {
                trust
                    .add_pem_bundle(&cfg.read_file(f)?)
                    .map_err(|e| EngineError::Config(format!("{f}: {e}")))?;
            }
            l = l.with_signer(cfg.signer()?, Some(trust));
        }
        Ok(l)
    }

    /// The TSA URL in use, if any.
    pub fn tsa_url(&self) -> Option<&str> {
        self.tsa_url.as_deref()
    }

    /// Today in the provider's zone, by the clock.
    pub fn today(&self) -> NaiveDate {
        self.clock.now().with_timezone(&self.tz).date_naive()
    }

    /// Whether `day` ended at least [`SEAL_GRACE_MINUTES`] ago by the clock.
    pub fn finished(&self, day: NaiveDate) -> bool {
        use chrono::TimeZone as _;
        let Some(next) = day.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)) else {
            return false;
        };
        let end = match self.tz.from_local_datetime(&next).earliest() {
            Some(t) => t.with_timezone(&Utc),
            None => return false,
        };
        self.clock.now() >= end + chrono::Duration::minutes(SEAL_GRACE_MINUTES)
    }

    /// Yesterday in the provider's zone (the default day to seal).
    pub fn yesterday(&self) -> NaiveDate {
        self.today().pred_opt().unwrap_or(self.today())
    }

    fn lines(&mut self, day: Option<&str>) -> Result<Vec<StoredLine>, EngineError> {
        let mut out = Vec::new();
        self.store.write(&mut |tx| {
            out = tx.log_lines(day)?;
            Ok(())
        })?;
        Ok(out)
    }

    fn stored_seal(&mut self, day: &str) -> Result<Option<Seal>, EngineError> {
        let mut out = None;
        self.store.write(&mut |tx| {
            out = tx.seal(day)?;
            Ok(())
        })?;
        Ok(out)
    }

    fn all_seals(&mut self) -> Result<Vec<Seal>, EngineError> {
        let mut out = Vec::new();
        self.store.write(&mut |tx| {
            out = tx.seals()?;
            Ok(())
        })?;
        Ok(out)
    }

    /// The export of `day` as stored now.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn export(&mut self, day: NaiveDate) -> Result<Export, EngineError> {
        let d = day_of(day);
        let lines = self.lines(Some(&d))?;
        Ok(Export::of(&d, &lines))
    }

    /// Writes `DAY.jsonl` (`DAY.jsonl.p7m` with `[atrest]`) to `dir`, and `DAY.tsr` or
    /// `DAY.p7s` when the day is sealed; returns the files and the seal.
    ///
    /// # Errors
    /// [`EngineError::Store`]; [`EngineError::Config`] when a file cannot be written.
    pub fn export_to(
        &mut self,
        day: NaiveDate,
        dir: &Path,
    ) -> Result<(Vec<PathBuf>, Option<Seal>), EngineError> {
        let e = self.export(day)?;
        let seal = self.stored_seal(&e.day)?;
        let files = write_files(dir, &e, seal.as_ref(), self.atrest.as_deref())?;
        Ok((files, seal))
    }

    /// Seals `day` (a finished day: before today in the provider's zone): idempotent, a
    /// sealed day returns its seal. With a TSA, an RFC 3161 time stamp (certReq, a random
    /// nonce) over the export's SHA-256, checked (imprint, nonce, signature; the chain too
    /// when `tsa_ca` is set) before it is stored; without one, the provider's detached CMS
    /// signature. The export and its seal are written to the `[log] dir` (or `out`).
    ///
    /// # Errors
    /// [`EngineError::Config`] (day not finished, no TSA and no signer, a TSA answer that does
    /// not verify), [`EngineError::Store`], [`EngineError::Build`] (the TSA cannot be reached,
    /// signing failed).
    pub fn seal(&mut self, day: NaiveDate, out: Option<&Path>) -> Result<SealOutcome, EngineError> {
        if !self.finished(day) {
            return Err(EngineError::Config(format!(
                "{} is not finished yet in {} (today is {}; a day is sealed from {} minutes \
                 after its end, when no transaction dated in it can still commit)",
                day_of(day),
                self.tz,
                day_of(self.today()),
                SEAL_GRACE_MINUTES
            )));
        }
        let e = self.export(day)?;
        let dir = out.map(Path::to_path_buf).or_else(|| self.dir.clone());
        if let Some(seal) = self.stored_seal(&e.day)? {
            let files = match &dir {
                Some(d) => write_files(d, &e, Some(&seal), self.atrest.as_deref())?,
                None => Vec::new(),
            };
            return Ok(SealOutcome { seal, already: true, files });
        }
        let digest = Sha256::digest(&e.bytes);
        let now = self.clock.now();
        let seal = match &self.tsa_url {
            Some(url) => {
                let nonce = tsp::random_nonce()?;
                let req = tsp::TimeStampReq::sha256(&digest, &nonce)?.to_der_bytes()?;
                let resp = tsp::request_http(url, &req, TSA_TIMEOUT)?;
                let token = tsp::token_from_response(&resp)?;
                let trust = self.tsa_ca.clone().unwrap_or_default();
                let opts = VerifyOptions { trust, ..VerifyOptions::default() };
                let ts = tsp::verify_token(&token, &digest, Some(&nonce), &opts)?;
                let signature_ok = !ts.report.reasons.iter().any(|r| {
                    use pec_core::report::Reason;
                    matches!(
                        r,
                        Reason::BadSignature | Reason::ContentMismatch | Reason::MalformedSignature
                    )
                });
                let ok = ts.problems.is_empty()
                    && if self.tsa_ca.is_some() { ts.is_valid() } else { signature_ok };
                if !ok {
                    return Err(EngineError::Config(format!(
                        "the TSA's token does not verify: {:?} {:?}",
                        ts.problems, ts.report.reasons
                    )));
                }
                Seal {
                    day: e.day.clone(),
                    sha256: e.sha256.clone(),
                    records: e.records,
                    tails: e.tails.clone(),
                    kind: "rfc3161".into(),
                    token: resp,
                    nonce: Some(hex(&nonce)),
                    tsa_url: Some(url.clone()),
                    sealed_ms: now.timestamp_millis(),
                }
            }
            None => {
                let signer = match (&self.signer, &self.signer_config) {
                    (Some(s), _) => Arc::clone(s),
                    (None, Some(cfg)) => cfg.signer()?,
                    (None, None) => {
                        return Err(EngineError::Config(
                            "no [log] tsa_url and no [signing] to seal with".into(),
                        ));
                    }
                };
                let p7s = pec_core::smime::sign_detached(&e.bytes, signer.as_ref(), now)?;
                Seal {
                    day: e.day.clone(),
                    sha256: e.sha256.clone(),
                    records: e.records,
                    tails: e.tails.clone(),
                    kind: "cms".into(),
                    token: p7s,
                    nonce: None,
                    tsa_url: None,
                    sealed_ms: now.timestamp_millis(),
                }
            }
        };
        // records of a finished day no longer change: a difference means a late writer
        let mut stored: Option<Seal> = None;
        let mut changed = false;
        self.store.write(&mut |tx| {
            stored = tx.seal(&e.day)?;
            if stored.is_some() {
                return Ok(());
            }
            let now_lines = tx.log_lines(Some(&e.day))?;
            if Export::of(&e.day, &now_lines).sha256 != e.sha256 {
                changed = true;
                return Ok(());
            }
            tx.put_seal(&seal)
        })?;
        if changed {
            return Err(EngineError::Store(format!(
                "records of {} were added while it was being sealed: seal again",
                e.day
            )));
        }
        let (seal, already) = match stored {
            Some(s) => (s, true),
            None => (seal, false),
        };
        let files = match &dir {
            Some(d) => write_files(d, &e, Some(&seal), self.atrest.as_deref())?,
            None => Vec::new(),
        };
        Ok(SealOutcome { seal, already, files })
    }

    /// The records matching `q`, oldest first.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn search(&mut self, q: &LogQuery) -> Result<Vec<LogRecord>, EngineError> {
        let mut lines = Vec::new();
        self.store.write(&mut |tx| {
            lines = tx.log_search(q)?;
            Ok(())
        })?;
        Ok(lines.iter().filter_map(|l| serde_json::from_str::<LogRecord>(&l.line).ok()).collect())
    }

    /// Deletes the records of the sealed days older than 30 months (by the clock, in the
    /// provider's zone); their seals stay, so the remaining chain still verifies.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn purge(&mut self) -> Result<PurgeReport, EngineError> {
        let today = self.today();
        let cutoff = today.checked_sub_months(Months::new(RETENTION_MONTHS)).unwrap_or(today);
        let before = day_of(cutoff);
        let mut report = PurgeReport { before: before.clone(), ..PurgeReport::default() };
        self.store.write(&mut |tx| {
            report.deleted = tx.purge_log(&before)?;
            let left = tx.log_lines(None)?;
            let mut days: Vec<String> = left
                .iter()
                .filter_map(|l| serde_json::from_str::<LogRecord>(&l.line).ok())
                .map(|r| r.day().to_string())
                .filter(|d| *d < before)
                .collect();
            days.sort();
            days.dedup();
            report.unsealed = days;
            Ok(())
        })?;
        Ok(report)
    }

    /// Verifies the chain of every stored record (of `day` only, linked to the record before
    /// it, when given) and the seals (of `day`), the time stamps against `tsa_ca` (their
    /// chains are not checked without it, and the report says so), the provider's own seals
    /// against `[trust]`.
    ///
    /// # Errors
    /// [`EngineError::Store`] when the store cannot be read.
    pub fn verify(
        &mut self,
        day: Option<NaiveDate>,
        tsa_ca: Option<&TrustStore>,
    ) -> Result<VerifyReport, EngineError> {
        let day = day.map(day_of);
        let mut r = VerifyReport::default();
        let lines = self.lines(day.as_deref())?;
        let seals = self.all_seals()?;
        // the chain, per node
        let mut last: Option<(String, u64, String)> = None;
        let mut days: Vec<String> = Vec::with_capacity(lines.len());
        for l in &lines {
            r.records += 1;
            let name = format!("record node {} seq {}", l.node, l.seq);
            let rec = match LogRecord::parse_canonical(l.line.as_bytes()) {
                Ok(rec) => rec,
                Err(e) => {
                    r.problems.push(format!("{name}: {e}"));
                    break;
                }
            };
            let hash = sha256_hex(l.line.as_bytes());
            if hash != l.hash {
                r.problems.push(format!("{name}: changed (its SHA-256 is not the one stored)"));
                break;
            }
            if rec.node != l.node || rec.seq != l.seq {
                r.problems.push(format!("{name}: says node {} seq {}", rec.node, rec.seq));
                break;
            }
            let prev = match &last {
                Some((n, s, h)) if *n == l.node => {
                    if *s + 1 != l.seq {
                        r.problems.push(format!(
                            "{name}: missing records after seq {s} (dropped or reordered)"
                        ));
                        break;
                    }
                    Some(h.clone())
                }
                _ => self.predecessor(&l.node, l.seq, &seals)?,
            };
            match prev {
                Some(p) if p == rec.prev => {}
                Some(_) => {
                    r.problems.push(format!(
                        "{name}: prev is not the SHA-256 of seq {} (that record or this one was changed)",
                        l.seq.saturating_sub(1)
                    ));
                    break;
                }
                None => {
                    r.problems.push(format!(
                        "{name}: the record before it (seq {}) is missing and no seal remembers it",
                        l.seq.saturating_sub(1)
                    ));
                    break;
                }
            }
            days.push(rec.day().to_string());
            last = Some((l.node.clone(), l.seq, hash));
        }
        if !r.problems.is_empty() {
            return Ok(r);
        }
        // the seals
        let mut by_day: BTreeMap<String, Vec<StoredLine>> = BTreeMap::new();
        for (l, d) in lines.into_iter().zip(days) {
            by_day.entry(d).or_default().push(l);
        }
        for s in seals.iter().filter(|s| day.as_ref().is_none_or(|d| *d == s.day)) {
            r.seals += 1;
            let mut lines = by_day.remove(&s.day).unwrap_or_default();
            if lines.is_empty() && s.records > 0 {
                r.notes.push(format!("{}: records purged; the seal is kept", s.day));
                continue;
            }
            lines.sort_by(|a, b| (&a.node, a.seq).cmp(&(&b.node, b.seq)));
            let e = Export::of(&s.day, &lines);
            if e.sha256 != s.sha256 || e.records != s.records {
                r.problems.push(format!(
                    "day {}: its records no longer match the seal ({} records now, {} sealed)",
                    s.day, e.records, s.records
                ));
                break;
            }
            if let Err(p) = self.check_seal(s, &e.bytes, tsa_ca, &mut r.notes) {
                r.problems.push(format!("day {}: {p}", s.day));
                break;
            }
        }
        let today = day_of(self.today());
        for d in by_day.keys().filter(|d| **d < today) {
            r.notes.push(format!("{d}: not sealed"));
        }
        Ok(r)
    }

    /// The hash `seq` of `node` must link to: the stored record before it, else a seal's
    /// memory of it, else [`GENESIS`] for the first.
    fn predecessor(
        &mut self,
        node: &str,
        seq: u64,
        seals: &[Seal],
    ) -> Result<Option<String>, EngineError> {
        if seq == 1 {
            return Ok(Some(GENESIS.to_string()));
        }
        let mut h = None;
        self.store.write(&mut |tx| {
            h = tx.log_hash(node, seq - 1)?;
            Ok(())
        })?;
        Ok(h.or_else(|| {
            seals
                .iter()
                .flat_map(|s| s.tails.iter())
                .find(|t| t.node == node && t.seq == seq - 1)
                .map(|t| t.hash.clone())
        }))
    }

    fn check_seal(
        &self,
        s: &Seal,
        bytes: &[u8],
        tsa_ca: Option<&TrustStore>,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        match s.kind.as_str() {
            "rfc3161" => {
                let token = tsp::token_from_response(&s.token).map_err(|e| e.to_string())?;
                let nonce = s.nonce.as_deref().and_then(unhex);
                let ca = tsa_ca.cloned().or_else(|| self.tsa_ca.as_deref().cloned());
                check_token(&token, bytes, nonce.as_deref(), ca.as_ref(), notes, &s.day)
            }
            "cms" => {
                let trust = self.trust.clone().unwrap_or_default();
                if trust.is_empty() {
                    notes.push(format!("{}: provider seal's chain not checked", s.day));
                }
                let now = self.clock.now();
                check_cms(bytes, &s.token, Arc::unwrap_or_clone(trust), now, notes, &s.day)
            }
            k => Err(format!("unknown seal kind {k:?}")),
        }
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

/// Checks an RFC 3161 token over `bytes`; the chain only when `ca` is given.
fn check_token(
    token: &[u8],
    bytes: &[u8],
    nonce: Option<&[u8]>,
    ca: Option<&TrustStore>,
    notes: &mut Vec<String>,
    day: &str,
) -> Result<(), String> {
    let digest = Sha256::digest(bytes);
    let opts = VerifyOptions {
        trust: Arc::new(ca.cloned().unwrap_or_default()),
        ..VerifyOptions::default()
    };
    let ts = tsp::verify_token(token, &digest, nonce, &opts).map_err(|e| e.to_string())?;
    if !ts.problems.is_empty() {
        return Err(format!("time stamp: {}", ts.problems.join(", ")));
    }
    use pec_core::report::Reason;
    let reasons: Vec<&Reason> = ts
        .report
        .reasons
        .iter()
        .filter(|r| ca.is_some() || !matches!(r, Reason::UntrustedChain))
        .collect();
    if !reasons.is_empty() {
        let names: Vec<String> = reasons.iter().map(|r| r.as_str().to_string()).collect();
        return Err(format!("time stamp: {}", names.join(", ")));
    }
    if ca.is_none() {
        notes.push(format!(
            "{day}: time stamp signature checked, TSA chain not checked (no --tsa-ca)"
        ));
    }
    Ok(())
}

/// Checks a provider's detached CMS seal over `bytes`; `now` is the verifier's clock (the
/// log's, so a seal made on a test clock is not a signing time in the future).
fn check_cms(
    bytes: &[u8],
    p7s: &[u8],
    trust: TrustStore,
    now: DateTime<Utc>,
    notes: &mut Vec<String>,
    day: &str,
) -> Result<(), String> {
    let checked = !trust.is_empty();
    let opts = VerifyOptions {
        trust: Arc::new(trust),
        time: VerifyTime::SigningTime,
        now: Some(now),
        ..VerifyOptions::default()
    };
    let rep = pec_core::smime::verify_detached(bytes, p7s, None, &opts);
    use pec_core::report::Reason;
    let bad: Vec<String> = rep
        .reasons
        .iter()
        .filter(|r| checked || !matches!(r, Reason::UntrustedChain))
        .map(|r| r.as_str().to_string())
        .collect();
    if !bad.is_empty() {
        return Err(format!("provider seal: {}", bad.join(", ")));
    }
    notes.push(format!("{day}: sealed with the provider's own signature only (no TSA)"));
    Ok(())
}

/// Writes `DAY.jsonl` and the seal's file; with `atrest`, `DAY.jsonl.p7m` instead of
/// `DAY.jsonl` (encrypted from memory, the plaintext never written; a `DAY.jsonl` left in
/// `dir` is removed).
fn write_files(
    dir: &Path,
    e: &Export,
    seal: Option<&Seal>,
    atrest: Option<&AtRest>,
) -> Result<Vec<PathBuf>, EngineError> {
    let io = |p: &Path, err: std::io::Error| EngineError::Config(format!("{}: {err}", p.display()));
    std::fs::create_dir_all(dir).map_err(|err| io(dir, err))?;
    let mut files = Vec::new();
    let jsonl = dir.join(format!("{}.jsonl", e.day));
    match atrest {
        Some(a) => {
            let p7m = dir.join(format!("{}.jsonl.p7m", e.day));
            a.write(&p7m, &e.bytes)?;
            match std::fs::remove_file(&jsonl) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io(&jsonl, err)),
            }
            files.push(p7m);
        }
        None => {
            std::fs::write(&jsonl, &e.bytes).map_err(|err| io(&jsonl, err))?;
            files.push(jsonl);
        }
    }
    if let Some(s) = seal {
        let ext = if s.kind == "rfc3161" { "tsr" } else { "p7s" };
        let p = dir.join(format!("{}.{ext}", e.day));
        std::fs::write(&p, &s.token).map_err(|err| io(&p, err))?;
        files.push(p);
    }
    Ok(files)
}

/// Verifies the exports in `dir` (`DAY.jsonl` with `DAY.tsr`, or `DAY.p7s` for a provider
/// seal): every line canonical, the chain within and across the days present, each seal
/// over its file's bytes, time stamps and provider seals against `ca`.
///
/// # Errors
/// [`EngineError::Config`] when the directory cannot be read.
pub fn verify_export(dir: &Path, ca: &TrustStore) -> Result<VerifyReport, EngineError> {
    verify_export_with(dir, ca, None)
}

/// [`verify_export`], also reading exports encrypted at rest (`DAY.jsonl.p7m`, decrypted in
/// memory with `key`).
///
/// # Errors
/// [`EngineError::Config`] when the directory cannot be read, or holds an encrypted export
/// and no key (or a key that does not open it) is given.
pub fn verify_export_with(
    dir: &Path,
    ca: &TrustStore,
    key: Option<&dyn pec_core::atrest::RecipientKey>,
) -> Result<VerifyReport, EngineError> {
    let io = |p: &Path, err: std::io::Error| EngineError::Config(format!("{}: {err}", p.display()));
    let mut days: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|err| io(dir, err))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            !n.starts_with('.') && (n.ends_with(".jsonl") || n.ends_with(".jsonl.p7m"))
        })
        .collect();
    days.sort();
    let mut r = VerifyReport::default();
    if days.is_empty() {
        return Err(EngineError::Config(format!("{}: no DAY.jsonl export", dir.display())));
    }
    let mut last: BTreeMap<String, (u64, String)> = BTreeMap::new();
    'days: for path in &days {
        let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        let encrypted = name.ends_with(".p7m");
        let day = name.trim_end_matches(".p7m").trim_end_matches(".jsonl").to_string();
        let bytes = std::fs::read(path).map_err(|err| io(path, err))?;
        let bytes = if encrypted {
            let key = key.ok_or_else(|| {
                EngineError::Config(format!(
                    "{}: encrypted at rest: give a recipient's key to read it",
                    path.display()
                ))
            })?;
            pec_core::atrest::decrypt_bytes(&bytes, key)
                .map_err(|e| EngineError::Config(format!("{}: {e}", path.display())))?
        } else {
            bytes
        };
        let mut seen_here: BTreeMap<String, ()> = BTreeMap::new();
        if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
            r.problems.push(format!("{name}: the last line has no newline (truncated)"));
            break;
        }
        for (i, piece) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
            let line = piece.strip_suffix(b"\n").unwrap_or(piece);
            r.records += 1;
            let at = format!("{name} line {}", i + 1);
            let rec = match LogRecord::parse_canonical(line) {
                Ok(rec) => rec,
                Err(e) => {
                    r.problems.push(format!("{at}: {e}"));
                    break 'days;
                }
            };
            let at = format!("{at} (node {} seq {})", rec.node, rec.seq);
            if rec.day() != day {
                r.problems.push(format!("{at}: dated {}, not {day}", rec.date));
                break 'days;
            }
            match last.get(&rec.node) {
                Some((s, h)) => {
                    if *s + 1 != rec.seq {
                        let why = if seen_here.contains_key(&rec.node) {
                            "records dropped, added or reordered"
                        } else {
                            "does not follow the previous day's last record"
                        };
                        r.problems.push(format!("{at}: expected seq {} ({why})", s + 1));
                        break 'days;
                    }
                    if *h != rec.prev {
                        r.problems.push(format!(
                            "{at}: prev is not the SHA-256 of seq {s} (the line before it, or this one, was changed)"
                        ));
                        break 'days;
                    }
                }
                None => {
                    if rec.seq == 1 && rec.prev != GENESIS {
                        r.problems.push(format!("{at}: the first record must have prev {GENESIS}"));
                        break 'days;
                    }
                }
            }
            seen_here.insert(rec.node.clone(), ());
            last.insert(rec.node.clone(), (rec.seq, sha256_hex(line)));
        }
        let tsr = dir.join(format!("{day}.tsr"));
        let p7s = dir.join(format!("{day}.p7s"));
        let check = if tsr.exists() {
            let resp = std::fs::read(&tsr).map_err(|err| io(&tsr, err))?;
            tsp::token_from_response(&resp)
                .map_err(|e| e.to_string())
                .and_then(|t| check_token(&t, &bytes, None, Some(ca), &mut r.notes, &day))
        } else if p7s.exists() {
            let sig = std::fs::read(&p7s).map_err(|err| io(&p7s, err))?;
            check_cms(&bytes, &sig, ca.clone(), Utc::now(), &mut r.notes, &day)
        } else {
            Err("no seal (DAY.tsr or DAY.p7s)".to_string())
        };
        r.seals += 1;
        if let Err(p) = check {
            r.problems.push(format!("day {day}: {p}"));
            break;
        }
    }
    Ok(r)
}
