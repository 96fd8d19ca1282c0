//! # pec-engine
//!
//! The provider engine: the I/O boundary around the pure decisions of
//! [`pec_core::points`]. Each event is one store transaction: load and lock the state it
//! concerns, decide, build and sign the emissions with any [`Signer`], commit the state, the
//! timers, the legal-log events and the outbox together, and return what the caller must
//! send ([`Outcome`]). The caller sends, then [`Engine::ack`]s.
//!
//! Exactly once per (identifier, recipient, kind): every receipt and notice is keyed, and a
//! retry of an event (the MTA retries after a crash between commit and reply) finds the stored
//! outcome and returns the same bytes, with the same Message-IDs. A store that cannot be
//! reached is [`EngineError::Store`], a temporary failure for the MTA ([`EngineError::reply`]):
//! the message stays queued, nothing is lost.
//!
//! ```text
//! access point     on_submission(smtp, bytes, antivirus)  -> acceptance + transport envelope
//! incoming point   on_inbound(smtp, bytes, antivirus)     -> take-charge + deliver, anomaly,
//!                  on_inbound_from(.., Some(&client))        virus notices, correlation;
//!                                                             sender authentication ([dns])
//! delivery point   on_mailbox_result(smtp, bytes, results) -> delivery / non-delivery receipts
//! timers           run_due(limit)                          -> 12 h / 24 h notices
//! ```
//!
//! Time comes only from a [`Clock`]; state lives in a [`Store`] (`sqlite:PATH`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod atrest;
pub mod clock;
pub mod config;
pub mod legal;
pub mod senderauth;
pub mod store;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use pec_core::checks::SmtpEnvelope;
use pec_core::identifier::strip_angle;
use pec_core::limits::Limits;
use pec_core::message::PecMessage;
use pec_core::mime::Headers;
use pec_core::points::{
    self, Antivirus, Arrival, Change, Decision, MailboxEvent, MailboxOutcome, Payload, Policy,
    Reply, Source, Submission, TimerOp,
};
use pec_core::provider::Provider;
use pec_core::signer::Signer;
use pec_core::smime::VerifyOptions;
use pec_core::timeref::TimeReference;
use pec_core::verify::verify_parsed;

pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use config::EngineConfig;
pub use senderauth::{Client, SenderAuth};
pub use store::{Outgoing, Status, Store, Tx, TxnRecord};

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The store cannot be reached, is locked past the busy timeout, or failed to commit:
    /// temporary, nothing was committed.
    #[error("store unavailable: {0}")]
    Store(String),
    /// Building or signing an emission failed: nothing was committed.
    #[error("build failed: {0}")]
    Build(#[from] pec_core::Error),
    /// The configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
}

impl EngineError {
    /// The reply owed to the MTA: 451 (try again) for a store or signer that failed, 554 for
    /// input the builders refuse.
    pub fn reply(&self) -> Reply {
        match self {
            EngineError::Store(e) => Reply::temporary(format!("state store unavailable: {e}")),
            EngineError::Build(pec_core::Error::Hsm(e)) => {
                Reply::temporary(format!("signer unavailable: {e}"))
            }
            EngineError::Build(e) => Reply::new(554, "5.6.0", e.to_string()),
            EngineError::Config(e) => Reply::temporary(format!("engine misconfigured: {e}")),
        }
    }
}

/// What an event produced: the reply owed to the MTA and what to send.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The reply (SMTP, after DATA).
    pub reply: Reply,
    /// Per-recipient replies (LMTP, delivery point).
    pub replies: Vec<(String, Reply)>,
    /// What to send (already-acknowledged rows say so in [`Outgoing::sent`]).
    pub emissions: Vec<Outgoing>,
    /// Whether this is the stored outcome of an event seen before.
    pub replayed: bool,
}

impl Outcome {
    /// The ids to acknowledge once everything unsent here is sent.
    pub fn ids(&self) -> Vec<i64> {
        self.emissions.iter().map(|e| e.id).collect()
    }
}

/// The parts of an engine.
pub struct EngineParts {
    /// The issuing provider (classifies recipients through the index).
    pub provider: Provider,
    /// The decisions' policy.
    pub policy: Policy,
    /// The provider's signer.
    pub signer: Arc<dyn Signer>,
    /// What inbound messages are verified against (trust, CRLs, index); `now` is set from
    /// the clock at each event.
    pub verify: VerifyOptions,
    /// The state.
    pub store: Box<dyn Store>,
    /// The time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for EngineParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineParts").field("provider", &self.provider.name).finish()
    }
}

/// The provider engine.
pub struct Engine {
    provider: Provider,
    policy: Policy,
    signer: Arc<dyn Signer>,
    verify: VerifyOptions,
    store: Mutex<Box<dyn Store>>,
    /// Submissions decided, built and signed, waiting for the group commit (see
    /// [`Engine::commit_grouped`]).
    queue: Mutex<Vec<Pending>>,
    /// How many store transactions committed submissions, and how many submissions they
    /// held (the group commit's ratio: commits, so fsyncs, per message).
    commits: std::sync::atomic::AtomicU64,
    grouped: std::sync::atomic::AtomicU64,
    clock: Arc<dyn Clock>,
    tz: Option<chrono_tz::Tz>,
    node: String,
    /// Sender authentication at the incoming point (`[dns]`), when configured.
    auth: Option<SenderAuth>,
    /// Where quarantined messages are kept (`[quarantine]`), when configured.
    quarantine: Option<atrest::Quarantine>,
}

/// The host name (`/proc/sys/kernel/hostname`, else `localhost`): the default node name.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// A submission waiting for the group commit: everything its transaction needs, owned, and
/// the slot its outcome is written to.
struct Pending {
    key: String,
    decision: Decision,
    built: Vec<Option<Vec<u8>>>,
    now: DateTime<Utc>,
    bytes: Vec<u8>,
    ctx: legal::EventContext,
    slot: Arc<Mutex<Option<Result<Outcome, EngineError>>>>,
}

/// What one event's transaction body found: the stored outcome of an event seen before, or
/// what it decided now.
enum TxOut {
    Replay(TxnRecord, Vec<Outgoing>),
    Fresh(Option<Emitted>),
}

impl TxOut {
    fn outcome(self) -> Outcome {
        match self {
            TxOut::Replay(rec, rows) => {
                Outcome { reply: rec.reply, replies: rec.replies, emissions: rows, replayed: true }
            }
            TxOut::Fresh(out) => finish(out),
        }
    }
}

/// Counters of the access point's group commit ([`Engine::commit_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Store transactions that committed submissions.
    pub commits: u64,
    /// Submissions those transactions held.
    pub submissions: u64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("provider", &self.provider.name)
            .field("policy", &self.policy)
            .finish()
    }
}

/// How many times [`Engine::run_due`] waits for timers other nodes hold before it returns.
const BUSY_RETRIES: u32 = 200;

/// A decision and what was already built for its emissions (by index; may be empty).
type Prepared = (Decision, Vec<Option<Vec<u8>>>);

/// What a transaction decided and the outbox rows it wrote.
type Emitted = (Decision, Vec<Outgoing>);

impl Engine {
    /// An engine from its parts.
    pub fn new(parts: EngineParts) -> Engine {
        Engine {
            provider: parts.provider,
            policy: parts.policy,
            signer: parts.signer,
            verify: parts.verify,
            store: Mutex::new(parts.store),
            queue: Mutex::new(Vec::new()),
            commits: std::sync::atomic::AtomicU64::new(0),
            grouped: std::sync::atomic::AtomicU64::new(0),
            clock: parts.clock,
            tz: None,
            node: host_name(),
            auth: None,
            quarantine: None,
        }
    }

    /// Keeps every quarantined message (a virus at the access or incoming point) in `q`.
    pub fn with_quarantine(mut self, q: atrest::Quarantine) -> Engine {
        self.quarantine = Some(q);
        self
    }

    /// The quarantine in use, when configured.
    pub fn quarantine(&self) -> Option<&atrest::Quarantine> {
        self.quarantine.as_ref()
    }

    /// Turns sender authentication at the incoming point on (see [`SenderAuth`]).
    pub fn with_sender_auth(mut self, auth: SenderAuth) -> Engine {
        self.auth = Some(auth);
        self
    }

    /// The sender authentication in force, when configured.
    pub fn sender_auth(&self) -> Option<&SenderAuth> {
        self.auth.as_ref()
    }

    /// Sets this node's name (one legal-log chain per node; default the host name).
    pub fn with_node(mut self, node: impl Into<String>) -> Engine {
        self.node = node.into();
        self
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// An engine from a configuration file's contents (index, signer, trust, store).
    ///
    /// # Errors
    /// [`EngineError::Config`], [`EngineError::Store`].
    pub fn from_config(cfg: &EngineConfig, clock: Arc<dyn Clock>) -> Result<Engine, EngineError> {
        let directory = cfg.directory()?;
        let tz = cfg.timezone.as_deref().unwrap_or("Europe/Rome");
        let tz: chrono_tz::Tz =
            tz.parse().map_err(|_| EngineError::Config(format!("unknown time zone {tz:?}")))?;
        let mut policy = cfg.policy()?;
        if let Some(r) = directory.by_name(&cfg.name) {
            if !r.mail_receipt.trim().is_empty() {
                policy.service_mailbox = r.mail_receipt.trim().to_ascii_lowercase();
            }
        }
        let mut e = Engine::new(EngineParts {
            provider: cfg.provider(directory.clone())?,
            policy,
            signer: cfg.signer()?,
            verify: cfg.verify_options(directory)?,
            store: store::open(&cfg.store_url())?,
            clock,
        });
        e.tz = Some(tz);
        e.node = cfg.node();
        if let Some(settings) = cfg.auth_settings()? {
            e.auth = Some(SenderAuth::new(&settings)?);
        }
        e.quarantine = cfg.quarantine()?;
        Ok(e)
    }

    /// Sets the zone of generated times (default: the provider's, else UTC+1 rules of the
    /// time reference).
    pub fn with_timezone(mut self, tz: chrono_tz::Tz) -> Engine {
        self.tz = Some(tz);
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The provider.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    fn now(&self) -> (DateTime<Utc>, TimeReference) {
        let now = self.clock.now();
        (now, self.time_ref(now))
    }

    fn time_ref(&self, now: DateTime<Utc>) -> TimeReference {
        match self.tz {
            Some(tz) => TimeReference::from_datetime(now.with_timezone(&tz).fixed_offset()),
            None => TimeReference::from_datetime(
                now.with_timezone(&chrono_tz::Europe::Rome).fixed_offset(),
            ),
        }
    }

    fn write(
        &self,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.write(f)
    }

    /// A submission at the access point.
    ///
    /// # Errors
    /// [`EngineError::Store`] (reply 451: the MTA keeps the message), [`EngineError::Build`].
    pub fn on_submission(
        &self,
        smtp: &SmtpEnvelope,
        bytes: &[u8],
        antivirus: &Antivirus,
    ) -> Result<Outcome, EngineError> {
        self.on_submission_from(smtp, bytes, antivirus, None)
    }

    /// [`Engine::on_submission`] with the MTA's client as the MTA reported it (Postfix's
    /// XFORWARD `ADDR`/`HELO`) for the legal log's `client`, instead of the topmost
    /// `Received:`.
    ///
    /// # Errors
    /// As [`Engine::on_submission`].
    pub fn on_submission_from(
        &self,
        smtp: &SmtpEnvelope,
        bytes: &[u8],
        antivirus: &Antivirus,
        client: Option<&str>,
    ) -> Result<Outcome, EngineError> {
        let key = format!("ap:{}", txn_hash(smtp, bytes));
        let (now, time) = self.now();
        let identifier = self.provider.next_id(&time.datetime());
        // the access point needs no stored state: decide, build and sign before taking the
        // store's lock, so concurrent submissions sign in parallel and only commit in turn
        // (a retry of a committed submission signs for nothing and returns the stored one)
        let ev = Submission { smtp, bytes, antivirus, identifier: &identifier, time };
        let d = points::access(&self.policy, &self.provider, &ev);
        let built = d
            .emissions
            .iter()
            .map(|e| self.build(e, bytes, None, None).map(Some))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ctx = legal::EventContext::from_bytes(bytes);
        ctx.provider = Some(self.provider.name.clone());
        if let Some(c) = client {
            ctx.client = Some(c.to_string());
        }
        self.commit_grouped(Pending {
            key,
            decision: d,
            built,
            now,
            bytes: bytes.to_vec(),
            ctx,
            slot: Arc::default(),
        })
    }

    /// Group commit of submissions: each caller queues its decided, built and signed
    /// submission, then takes the store's lock; whoever holds it commits everything queued in
    /// one store transaction (one fsync for all of them) and hands each caller its outcome.
    /// A caller whose submission another committed finds its outcome when it gets the lock.
    /// Nobody is answered before the transaction holding its submission has committed.
    ///
    /// When a grouped transaction fails, each of its submissions is tried again alone, so one
    /// bad submission never fails the others.
    fn commit_grouped(&self, job: Pending) -> Result<Outcome, EngineError> {
        let slot = Arc::clone(&job.slot);
        let take = |slot: &Mutex<Option<Result<Outcome, EngineError>>>| {
            slot.lock().unwrap_or_else(|e| e.into_inner()).take()
        };
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push(job);
        loop {
            if let Some(r) = take(&slot) {
                return r;
            }
            let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
            // slots are filled under the store's lock, so a submission not done yet is queued
            if let Some(r) = take(&slot) {
                return r;
            }
            let mut jobs =
                std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()));
            if jobs.is_empty() {
                // unreachable: a submission not answered is queued; never spin on it
                return Err(EngineError::Store("group commit: submission lost".into()));
            }
            self.commit_jobs(store.as_mut(), &mut jobs);
            drop(store);
        }
    }

    /// Commits `jobs` (submissions) in one transaction, else each alone; fills their slots.
    fn commit_jobs(&self, store: &mut dyn Store, jobs: &mut [Pending]) {
        use std::sync::atomic::Ordering::Relaxed;
        let mut outs: Vec<TxOut> = Vec::with_capacity(jobs.len());
        let together = jobs.len() > 1
            && store
                .write(&mut |tx| {
                    outs.clear();
                    for j in jobs.iter_mut() {
                        outs.push(self.submission_body(tx, j)?);
                    }
                    Ok(())
                })
                .is_ok();
        if together {
            self.commits.fetch_add(1, Relaxed);
            self.grouped.fetch_add(jobs.len() as u64, Relaxed);
            for (j, out) in jobs.iter().zip(outs) {
                *j.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(Ok(out.outcome()));
            }
            return;
        }
        for j in jobs.iter_mut() {
            let mut out = None;
            let r = store.write(&mut |tx| {
                out = Some(self.submission_body(tx, j)?);
                Ok(())
            });
            let r = r.map(|()| {
                self.commits.fetch_add(1, Relaxed);
                self.grouped.fetch_add(1, Relaxed);
                out.take().map(TxOut::outcome).unwrap_or_else(|| finish(None))
            });
            *j.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
    }

    /// One queued submission's transaction body (its prebuilt emissions are used once; a
    /// body run again builds them anew).
    fn submission_body(&self, tx: &mut dyn Tx, j: &mut Pending) -> Result<TxOut, EngineError> {
        let mut built = Some(std::mem::take(&mut j.built));
        let d = &j.decision;
        self.transaction_body(tx, &j.key, "access", j.now, &j.bytes, &j.ctx, &mut |_tx| {
            Ok((d.clone(), built.take().unwrap_or_default()))
        })
    }

    /// The access point's group-commit counters since the engine was made.
    pub fn commit_stats(&self) -> CommitStats {
        use std::sync::atomic::Ordering::Relaxed;
        CommitStats { commits: self.commits.load(Relaxed), submissions: self.grouped.load(Relaxed) }
    }

    /// An arrival at the incoming point: verified (against the engine's trust, CRLs and
    /// index, at the clock's now), then decided. The same as [`Engine::on_inbound_from`]
    /// without the SMTP client: sender authentication, when configured, then checks DKIM,
    /// DMARC and ARC but not SPF.
    ///
    /// # Errors
    /// [`EngineError::Store`] (reply 451), [`EngineError::Build`].
    pub fn on_inbound(
        &self,
        smtp: &SmtpEnvelope,
        bytes: &[u8],
        antivirus: &Antivirus,
    ) -> Result<Outcome, EngineError> {
        self.on_inbound_from(smtp, bytes, antivirus, None)
    }

    /// [`Engine::on_inbound`] with the MTA's client as the MTA reported it (XFORWARD), in the
    /// form of Postfix's `Received:` (`HELO (NAME [ADDR])` or `NAME [ADDR]`): the legal log's
    /// `client`, and for sender authentication the address and HELO name parsed from it
    /// ([`Client::parse`]); see [`Engine::on_inbound_client`].
    ///
    /// # Errors
    /// As [`Engine::on_inbound`].
    pub fn on_inbound_from(
        &self,
        smtp: &SmtpEnvelope,
        bytes: &[u8],
        antivirus: &Antivirus,
        client: Option<&str>,
    ) -> Result<Outcome, EngineError> {
        let parsed = client.map(Client::parse);
        self.inbound(smtp, bytes, antivirus, client.map(str::to_string), parsed.as_ref())
    }

    /// An arrival at the incoming point from the SMTP `client` (its address and HELO name;
    /// behind Postfix, XFORWARD's `ADDR` and `HELO`: [`Client::from_xforward`]). When sender
    /// authentication is configured (`[dns]`), SPF (HELO and MAIL FROM identities, with the
    /// client's address), DKIM, DMARC and ARC are checked first; the results are advisory
    /// (S/MIME and the index decide every PEC outcome): they go into the legal log's
    /// `ricezione` and `anomalia` records (`auth`) and, as one `Authentication-Results` field,
    /// at the top of an anomaly envelope (never into the signed part or `postacert.eml`;
    /// never on a PEC message, which is delivered unchanged). Ordinary mail failing DMARC for
    /// a `p=reject` domain is wrapped, or dropped and logged (`scartato-dmarc`) with
    /// `[auth] dmarc_reject = "discard"`; never refused (a 5xx after the queue would bounce to
    /// the forged sender). A DNS failure is a `temperror` result, never a 451. Without a
    /// client (or its address) SPF is not checked. The log's `client` is
    /// [`Client::describe`].
    ///
    /// # Errors
    /// [`EngineError::Store`] (reply 451), [`EngineError::Build`].
    pub fn on_inbound_client(
        &self,
        smtp: &SmtpEnvelope,
        bytes: &[u8],
        antivirus: &Antivirus,
        client: Option<&Client>,
    ) -> Result<Outcome, EngineError> {
        self.inbound(smtp, bytes, antivirus, client.and_then(Client::describe), client)
    }

    fn inbound(
        &self,
        smtp: &SmtpEnvelope,
        bytes: &[u8],
        antivirus: &Antivirus,
        log_client: Option<String>,
        client: Option<&Client>,
    ) -> Result<Outcome, EngineError> {
        let key = format!("in:{}", txn_hash(smtp, bytes));
        let (now, time) = self.now();
        let parsed = PecMessage::parse(bytes);
        let report = parsed.as_ref().ok().map(|m| {
            let opts = VerifyOptions { now: Some(now), ..self.verify.clone() };
            verify_parsed(m, &opts)
        });
        let id = parsed.as_ref().ok().and_then(|m| m.identificativo.clone());
        let mut ctx = match &parsed {
            Ok(m) => legal::EventContext::from_message(m),
            Err(_) => legal::EventContext::from_bytes(bytes),
        };
        if let Some(p) = report.as_ref().and_then(|r| r.provider.as_ref()) {
            ctx.provider = Some(p.name.clone());
        }
        if let Some(c) = log_client {
            ctx.client = Some(c);
        }
        ctx.auth = self.auth.as_ref().map(|a| a.check(bytes, smtp, client));
        let from_domain = parsed.as_ref().ok().and_then(|m| m.from_domain());
        let discard = self
            .auth
            .as_ref()
            .is_some_and(|a| a.discards() && ctx.auth.as_ref().is_some_and(|r| r.dmarc_reject()));
        self.transaction(&key, "incoming", now, bytes, &ctx, &mut |tx| {
            let (arrivals, sent) = match &id {
                Some(id) => (tx.arrivals(id)?, tx.message(id)?.map(|m| m.state)),
                None => (Vec::new(), None),
            };
            let ev = Arrival {
                smtp,
                bytes,
                message: parsed.as_ref().map_err(|e| e.to_string()),
                report: report.as_ref(),
                antivirus,
                time,
                arrivals: &arrivals,
                sent: sent.as_ref(),
            };
            let mut d = points::incoming(&self.policy, &ev);
            if discard {
                senderauth::discard_anomalies(&mut d, ctx.auth.as_ref());
            }
            if let (Some(a), Some(from)) = (&ctx.auth, &from_domain) {
                senderauth::warn_own_dkim(&mut d, a, from);
            }
            Ok((d, Vec::new()))
        })
    }

    /// The mailbox's answers at the delivery point for a message the incoming point passed
    /// on ([`points::Route::Deliver`]). One LMTP reply per recipient in
    /// [`Outcome::replies`].
    ///
    /// # Errors
    /// [`EngineError::Store`] (reply 451 for every recipient), [`EngineError::Build`].
    pub fn on_mailbox_result(
        &self,
        smtp: &SmtpEnvelope,
        bytes: &[u8],
        results: &[(String, MailboxOutcome)],
    ) -> Result<Outcome, EngineError> {
        let (now, time) = self.now();
        let msg = match PecMessage::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                // unreadable here means it was not ours to receipt: pass the answers back
                let replies = results
                    .iter()
                    .map(|(r, o)| {
                        let reply = match o {
                            MailboxOutcome::Stored => Reply::ok("stored"),
                            MailboxOutcome::Temporary { status, text } => {
                                Reply::new(451, status, text.clone())
                            }
                            MailboxOutcome::Permanent { status, text } => {
                                Reply::new(550, status, format!("{text} ({e})"))
                            }
                        };
                        (r.clone(), reply)
                    })
                    .collect();
                return Ok(Outcome {
                    reply: Reply::ok("ok"),
                    replies,
                    emissions: Vec::new(),
                    replayed: false,
                });
            }
        };
        let id = msg.identificativo.clone();
        let ctx = legal::EventContext::from_message(&msg);
        let mut out: Option<Emitted> = None;
        self.write(&mut |tx| {
            let arrivals = match &id {
                Some(id) => tx.arrivals(id)?,
                None => Vec::new(),
            };
            let ev =
                MailboxEvent { smtp, bytes, message: &msg, results, arrivals: &arrivals, time };
            let d = points::delivery(&self.policy, &ev);
            let ids = self.apply(tx, &d, Vec::new(), "delivery", now, bytes, &ctx)?;
            out = Some((d, tx.outbox(&ids)?));
            Ok(())
        })?;
        Ok(finish(out))
    }

    /// Runs the timers due at the clock's now, at most `limit`, each in its own transaction
    /// (a timer fires exactly once, whatever the number of processes running this).
    ///
    /// # Errors
    /// [`EngineError::Store`], [`EngineError::Build`] (what was done before stays done).
    pub fn run_due(&self, limit: usize) -> Result<Vec<Outgoing>, EngineError> {
        let mut all = Vec::new();
        let (mut done, mut busy) = (0, 0);
        while done < limit {
            let (now, time) = self.now();
            let mut out: Option<Emitted> = None;
            let mut claim = store::Claim::Nothing;
            let result = self.write(&mut |tx| {
                out = None;
                claim = tx.claim_due(now)?;
                let store::Claim::Due(key) = &claim else { return Ok(()) };
                let (d, ctx) = match tx.message(&key.identifier)? {
                    Some(m) => (
                        points::timer(&self.policy, &m.state, key, time),
                        legal::EventContext::from_state(&m.state, &self.provider.name),
                    ),
                    None => {
                        tx.close_timer(key, "done")?;
                        return Ok(());
                    }
                };
                let ids = self.apply(tx, &d, Vec::new(), "timer", now, &[], &ctx)?;
                out = Some((d, tx.outbox(&ids)?));
                Ok(())
            });
            if let (Err(EngineError::Build(e)), store::Claim::Due(key)) = (&result, &claim)
                && !matches!(e, pec_core::Error::Hsm(_))
            {
                // a notice that cannot be built now never will be: close the timer (logged)
                // rather than block every timer due after it
                let event = points::LogEvent {
                    event: "errore-timer",
                    identifier: Some(key.identifier.clone()),
                    recipient: Some(key.address.clone()),
                    detail: e.to_string(),
                };
                self.write(&mut |tx| {
                    tx.close_timer(key, "failed")?;
                    let ctx = match tx.message(&key.identifier)? {
                        Some(m) => legal::EventContext::from_state(&m.state, &self.provider.name),
                        None => legal::EventContext::default(),
                    };
                    let mut rec = legal::record("timer", &event, &ctx, self.date(now), Vec::new());
                    tx.log(&self.node, &mut rec, now)
                })?;
                done += 1;
                continue;
            }
            result?;
            match claim {
                store::Claim::Due(_) => done += 1,
                // due timers held by another node's transactions: they are about to commit
                store::Claim::Busy if busy < BUSY_RETRIES => {
                    busy += 1;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
                _ => break,
            }
            all.extend(finish(out).emissions);
        }
        Ok(all)
    }

    /// The messages committed but not acknowledged yet, oldest first: after a crash the
    /// sender sends these again (the same bytes) and acks them. An event's MTA retry
    /// returns its own; timer notices and anything whose retry never comes are found here.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn unsent(&self, limit: usize) -> Result<Vec<Outgoing>, EngineError> {
        let mut out = Vec::new();
        self.write(&mut |tx| {
            out = tx.unsent(limit)?;
            Ok(())
        })?;
        Ok(out)
    }

    /// Marks outbox rows as sent.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn ack(&self, ids: &[i64]) -> Result<usize, EngineError> {
        let now = self.clock.now();
        let mut n = 0;
        self.write(&mut |tx| {
            n = tx.ack(ids, now)?;
            Ok(())
        })?;
        Ok(n)
    }

    /// What happened to `identifier` (sent and received sides).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn status(&self, identifier: &str) -> Result<Option<Status>, EngineError> {
        let mut s = None;
        self.write(&mut |tx| {
            s = tx.status(strip_angle(identifier))?;
            Ok(())
        })?;
        Ok(s)
    }

    /// Whether `key`, a daemon's own idempotence key (e.g. `pec serve`'s "this Message-ID
    /// is stored for this recipient"), was marked with [`Engine::mark_done`]. The keys live
    /// in the store's transaction table beside the engine's own.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn is_done(&self, key: &str) -> Result<bool, EngineError> {
        let mut found = false;
        self.write(&mut |tx| {
            found = tx.txn(key)?.is_some();
            Ok(())
        })?;
        Ok(found)
    }

    /// Marks `key` done (idempotent; `point` names who marked it).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn mark_done(&self, key: &str, point: &str) -> Result<(), EngineError> {
        self.write(&mut |tx| {
            if tx.txn(key)?.is_none() {
                let rec =
                    TxnRecord { reply: Reply::ok("done"), replies: Vec::new(), outbox: Vec::new() };
                tx.put_txn(key, point, &rec)?;
            }
            Ok(())
        })
    }

    /// A daemon setting kept in the store (`None` when never set).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn setting(&self, key: &str) -> Result<Option<String>, EngineError> {
        let mut v = None;
        self.write(&mut |tx| {
            v = tx.setting(key)?;
            Ok(())
        })?;
        Ok(v)
    }

    /// Sets a daemon setting in the store (committed when this returns).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn put_setting(&self, key: &str, value: &str) -> Result<(), EngineError> {
        self.write(&mut |tx| tx.put_setting(key, value))
    }

    /// Every message sent with a recipient still awaiting receipts.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub fn pending(&self) -> Result<Vec<Status>, EngineError> {
        let mut out = Vec::new();
        self.write(&mut |tx| {
            out.clear();
            for id in tx.open_identifiers()? {
                if let Some(s) = tx.status(&id)? {
                    out.push(s);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// One event keyed `key`: the stored outcome when seen before, else `decide` and apply.
    fn transaction(
        &self,
        key: &str,
        point: &'static str,
        now: DateTime<Utc>,
        bytes: &[u8],
        ctx: &legal::EventContext,
        decide: &mut dyn FnMut(&mut dyn Tx) -> Result<Prepared, EngineError>,
    ) -> Result<Outcome, EngineError> {
        let mut out: Option<TxOut> = None;
        self.write(&mut |tx| {
            out = Some(self.transaction_body(tx, key, point, now, bytes, ctx, decide)?);
            Ok(())
        })?;
        Ok(out.map(TxOut::outcome).unwrap_or_else(|| finish(None)))
    }

    /// The body of [`Engine::transaction`] inside an open store transaction `tx` (its
    /// arguments and the transaction: one more than clippy's default count).
    #[allow(clippy::too_many_arguments)]
    fn transaction_body(
        &self,
        tx: &mut dyn Tx,
        key: &str,
        point: &'static str,
        now: DateTime<Utc>,
        bytes: &[u8],
        ctx: &legal::EventContext,
        decide: &mut dyn FnMut(&mut dyn Tx) -> Result<Prepared, EngineError>,
    ) -> Result<TxOut, EngineError> {
        if let Some(rec) = tx.txn(key)? {
            let rows = tx.outbox(&rec.outbox)?;
            return Ok(TxOut::Replay(rec, rows));
        }
        let (d, built) = decide(tx)?;
        let ids = self.apply(tx, &d, built, point, now, bytes, ctx)?;
        // refusals and temporary failures are not remembered: a retry decides again
        if d.reply.is_ok() {
            let rec = TxnRecord {
                reply: d.reply.clone(),
                replies: d.replies.clone(),
                outbox: ids.clone(),
            };
            tx.put_txn(key, point, &rec)?;
        }
        Ok(TxOut::Fresh(Some((d, tx.outbox(&ids)?))))
    }

    /// Builds and signs emission `e` over the event's `bytes` (or the stored transport
    /// envelope, for the kinds the sender's provider builds later); an anomaly envelope
    /// carries `auth`'s `Authentication-Results` field when `[auth] anomaly_header` allows.
    fn build(
        &self,
        e: &points::Emission,
        bytes: &[u8],
        stored_envelope: Option<&[u8]>,
        auth: Option<&pec_core::mailsec::auth::AuthResults>,
    ) -> Result<Vec<u8>, EngineError> {
        Ok(match &e.payload {
            Payload::Forward => bytes.to_vec(),
            Payload::Build(spec) => {
                let source = match spec.source {
                    Source::Event => bytes,
                    Source::StoredEnvelope => stored_envelope.ok_or_else(|| {
                        EngineError::Store(format!(
                            "no stored transport envelope for {}",
                            e.identifier.as_deref().unwrap_or("-")
                        ))
                    })?,
                };
                let mut req = spec.request(source);
                if req.kind == pec_core::model::MessageKind::ANOMALY_ENVELOPE
                    && self.auth.as_ref().is_some_and(SenderAuth::anomaly_header)
                {
                    req.auth_results = auth.map(|a| a.ar_header.clone());
                }
                self.provider.build(&req, Some(self.signer.as_ref()))?
            }
        })
    }

    /// The legal log's date of a transaction at `now`: its time reference, RFC 3339 with the
    /// provider's offset.
    fn date(&self, now: DateTime<Utc>) -> String {
        self.time_ref(now).datetime().to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    }

    /// Records a decision's emissions (built here unless `prebuilt` has them), state
    /// changes, timers and legal-log records in `tx`; returns the outbox ids of its emissions
    /// (the stored ones for keys emitted before).
    #[allow(clippy::too_many_arguments)]
    fn apply(
        &self,
        tx: &mut dyn Tx,
        d: &Decision,
        mut prebuilt: Vec<Option<Vec<u8>>>,
        point: &str,
        now: DateTime<Utc>,
        bytes: &[u8],
        ctx: &legal::EventContext,
    ) -> Result<Vec<i64>, EngineError> {
        // the Message-ID of each emission (new or stored), for the log's `generated`
        let mut generated: Vec<Option<String>> = Vec::new();
        let mut ids = Vec::new();
        let mut stored_envelope: Option<Vec<u8>> = None;
        // the outbox row of each emission, for the message that stores its envelope there
        let mut rows: Vec<i64> = Vec::with_capacity(d.emissions.len());
        for (i, e) in d.emissions.iter().enumerate() {
            let mut missing = Vec::new();
            let mut existing = None;
            for k in &e.keys {
                match tx.emitted(k)? {
                    Some(id) => existing = existing.or(Some(id)),
                    None => missing.push(k),
                }
            }
            if let (Some(id), true) = (existing, missing.is_empty()) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
                rows.push(id);
                generated.push(tx.outbox(&[id])?.pop().and_then(|o| o.message_id));
                continue;
            }
            let out = match prebuilt.get_mut(i).and_then(Option::take) {
                Some(b) => b,
                None => {
                    let needs_envelope = matches!(&e.payload,
                        Payload::Build(s) if s.source == Source::StoredEnvelope);
                    if needs_envelope && stored_envelope.is_none() {
                        let id = e.identifier.as_deref().unwrap_or_default();
                        stored_envelope = tx.message(id)?.map(|m| m.envelope);
                    }
                    self.build(e, bytes, stored_envelope.as_deref(), ctx.auth.as_ref())?
                }
            };
            let message_id = message_id_of(&out);
            let kind = e.kind();
            let id = tx.insert_outbox(
                &store::NewOutgoing {
                    identifier: e.identifier.as_deref(),
                    kind: &kind,
                    message_id: message_id.as_deref(),
                    mail_from: &e.mail_from,
                    groups: &e.groups,
                    bytes: &out,
                },
                now,
            )?;
            for k in missing {
                tx.insert_emitted(k, id)?;
            }
            generated.push(message_id);
            ids.push(id);
            rows.push(id);
        }
        for c in &d.changes {
            match c {
                Change::NewMessage { message, envelope } => {
                    let row = rows.get(*envelope).copied().ok_or_else(|| {
                        EngineError::Store("the transport envelope was not built".into())
                    })?;
                    tx.insert_message(message, row)?;
                }
                Change::Recipient { identifier, address, status } => {
                    tx.set_recipient(identifier, address, *status, now)?
                }
                Change::ReceiptReceived { identifier, address, kind, message_id } => {
                    tx.add_receipt(identifier, address, kind, message_id.as_deref(), now)?
                }
                Change::Arrival(a) => tx.set_arrival(a, now)?,
            }
        }
        for t in &d.timers {
            match t {
                TimerOp::Set { key, due } => tx.set_timer(key, *due)?,
                TimerOp::Cancel(key) => tx.close_timer(key, "cancelled")?,
                TimerOp::Done(key) => tx.close_timer(key, "done")?,
            }
        }
        let date = self.date(now);
        for e in &d.log {
            // the quarantined message itself, kept before the transaction commits; its
            // record's detail names the file and the plaintext's SHA-256
            let mut kept = None;
            if let (true, Some(q), Some(id)) =
                (e.event == "quarantena", &self.quarantine, e.identifier.as_deref())
            {
                kept = Some(q.keep(id, bytes)?);
            }
            // the messages this event generated: the decision's emissions about the same
            // identifier and, for an event about one recipient, about that recipient (or none)
            let made: Vec<String> = d
                .emissions
                .iter()
                .zip(&generated)
                .filter(|(em, _)| e.identifier.is_none() || em.identifier == e.identifier)
                .filter(|(em, _)| match &e.recipient {
                    None => true,
                    Some(r) => em
                        .keys
                        .iter()
                        .any(|k| k.recipient.is_empty() || k.recipient.eq_ignore_ascii_case(r)),
                })
                .filter_map(|(_, m)| m.clone())
                .collect();
            let mut rec = legal::record(point, e, ctx, date.clone(), made);
            if let Some(k) = kept {
                let file = k.path.file_name().map(|n| n.to_string_lossy().to_string());
                rec.detail = format!(
                    "{}; file={}; sha256={}",
                    rec.detail,
                    file.unwrap_or_default(),
                    k.sha256
                );
            }
            tx.log(&self.node, &mut rec, now)?;
        }
        Ok(ids)
    }
}

/// The outcome of a transaction that decided (`None`: it found nothing to do).
fn finish(out: Option<Emitted>) -> Outcome {
    match out {
        Some((d, rows)) => {
            Outcome { reply: d.reply, replies: d.replies, emissions: rows, replayed: false }
        }
        None => Outcome {
            reply: Reply::ok("nothing to do"),
            replies: Vec::new(),
            emissions: Vec::new(),
            replayed: false,
        },
    }
}

/// The dedupe key of an SMTP transaction: SHA-256 over the paths and the bytes.
fn txn_hash(smtp: &SmtpEnvelope, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(smtp.reverse_path.as_deref().unwrap_or("").as_bytes());
    for f in &smtp.forward_paths {
        h.update(b"\0");
        h.update(f.as_bytes());
    }
    h.update(b"\0\0");
    h.update(bytes);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The `Message-ID` of a message, without angle brackets.
fn message_id_of(bytes: &[u8]) -> Option<String> {
    let h = Headers::parse(bytes, &Limits::default()).ok()?;
    h.value("Message-ID").map(|v| strip_angle(v.trim()).to_string())
}
