//! `pec serve --config FILE`: the provider behind an MTA (ENGINE.md §4, docs/SERVE.md).
//!
//! One process, in the foreground, logging to stderr:
//! * SMTP listeners for the access point (`[listen] access`) and the incoming point
//!   (`[listen] incoming`), an LMTP listener for the delivery point (`[listen] delivery`),
//!   one thread per connection up to `[serve] max_connections` (more get 421);
//! * the re-injection worker: every outbox row not acknowledged goes to `[relay] smtp` (or
//!   its route), with a per-row backoff, acknowledged after 250;
//! * the scheduler: the due timers every half second (at once when the clock moves), the
//!   daily seal of finished days of the legal log;
//! * the admin socket (`[admin] socket`): `pec engine status|run-due|clock` talk to it.
//!
//! SIGTERM or SIGINT: the listeners stop accepting, idle sessions get 421, transactions in
//! flight finish, then the worker and scheduler stop; exit 0.

pub mod admin;
pub mod client;
pub mod dispatch;
pub mod session;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use pec_core::checks::SmtpEnvelope;
use pec_core::points::{Antivirus, MailboxOutcome, Reply};
use pec_engine::legal::LegalLog;
use pec_engine::{Engine, EngineConfig, OffsetClock};
use serde::Deserialize;

use dispatch::{Dispatcher, Mailbox};
use session::{Envelope, Handler, Limits};

/// The store setting holding the test clock's offset (milliseconds).
pub const CLOCK_KEY: &str = "serve.test_clock_offset_ms";

/// Set by SIGTERM / SIGINT.
static STOP: AtomicBool = AtomicBool::new(false);

/// `pec serve`'s arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The provider's configuration file (ENGINE.md §Config: [listen], [relay], [mailbox],
    /// [admin], [log], [serve]).
    #[arg(long)]
    config: PathBuf,
}

/// The sections of the configuration file the daemon reads (the engine reads the rest).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ServeFile {
    /// `[listen]`.
    #[serde(default)]
    pub listen: ListenSection,
    /// `[relay]`.
    #[serde(default)]
    pub relay: RelaySection,
    /// `[mailbox]`.
    #[serde(default)]
    pub mailbox: MailboxSection,
    /// `[admin]`.
    #[serde(default)]
    pub admin: AdminSection,
    /// `[serve]` (added by this daemon: limits).
    #[serde(default)]
    pub serve: ServeSection,
}

/// `[listen]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ListenSection {
    /// SMTP, access point.
    pub access: Option<String>,
    /// SMTP, incoming point.
    pub incoming: Option<String>,
    /// LMTP, delivery point.
    pub delivery: Option<String>,
}

/// `[relay]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RelaySection {
    /// The MTA's re-injection port.
    pub smtp: Option<String>,
}

/// `[mailbox]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MailboxSection {
    /// `maildir:TEMPLATE` or `lmtp:HOST:PORT`.
    pub store: Option<String>,
}

/// `[admin]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct AdminSection {
    /// The Unix socket.
    pub socket: Option<String>,
}

/// `[serve]`: the daemon's limits (all optional).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ServeSection {
    /// Concurrent connections over all listeners (default 64); more get 421.
    pub max_connections: Option<usize>,
    /// Largest message in bytes (default `[limits] hard_size`, 100 MB); SIZE advertises it.
    pub max_message_size: Option<usize>,
    /// Longest data line in bytes, line ending included (default 8192).
    pub max_line_length: Option<usize>,
    /// Most recipients per transaction (default 1000).
    pub max_recipients: Option<usize>,
    /// Idle timeout of a client (default `5m`).
    pub idle_timeout: Option<String>,
    /// How long a stop waits for transactions in flight (default `60s`).
    pub shutdown_timeout: Option<String>,
    /// The name in the greeting and EHLO (default `pec-serve.` and the host name).
    pub hostname: Option<String>,
}

impl ServeFile {
    /// Reads the daemon's sections of `path`.
    pub fn load(path: &Path) -> Result<ServeFile, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// `[admin] socket`, resolved against the file's directory.
    pub fn admin_socket(&self, config: &Path) -> Option<PathBuf> {
        let s = self.admin.socket.as_deref().filter(|s| !s.trim().is_empty())?;
        let p = Path::new(s);
        Some(if p.is_absolute() {
            p.to_path_buf()
        } else {
            config.parent().unwrap_or(Path::new("")).join(p)
        })
    }
}

fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Logs a line to stderr.
pub fn info(msg: &str) {
    eprintln!("{} pec serve: {msg}", stamp());
}

/// Logs a warning to stderr.
pub fn warn(msg: &str) {
    eprintln!("{} pec serve: warning: {msg}", stamp());
}

/// A wake-up signal for a worker thread.
#[derive(Debug, Default)]
pub struct Wake {
    m: Mutex<u64>,
    cv: Condvar,
}

impl Wake {
    /// Wakes the waiter.
    pub fn kick(&self) {
        *self.m.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.cv.notify_all();
    }

    /// Waits for a kick or `t`.
    pub fn wait(&self, t: Duration) {
        let g = self.m.lock().unwrap_or_else(|e| e.into_inner());
        let seen = *g;
        let _ = self.cv.wait_timeout_while(g, t, |n| *n == seen);
    }
}

/// Everything the threads share.
pub struct Daemon {
    engine: Arc<Engine>,
    dispatch: Dispatcher,
    mailbox: Option<Mailbox>,
    clock: Arc<OffsetClock>,
    helo: String,
    worker: Wake,
    scheduler: Wake,
    /// Set when the worker and scheduler must stop (after the listeners).
    halt: AtomicBool,
    /// Set when the clock moved: the scheduler looks at the seals at once.
    reseal: AtomicBool,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon").field("helo", &self.helo).finish()
    }
}

fn envelope(env: &Envelope) -> SmtpEnvelope {
    SmtpEnvelope {
        reverse_path: (!env.mail_from.is_empty()).then(|| env.mail_from.clone()),
        forward_paths: env.rcpts.clone(),
    }
}

impl Daemon {
    /// The access or incoming point: the engine decides and commits, its emissions are
    /// handed to re-injection, then the reply (451 when the hand-off failed: the MTA
    /// retries, the engine returns the stored outcome, nothing is emitted twice).
    fn point(&self, incoming: bool, env: &Envelope) -> Reply {
        let smtp = envelope(env);
        let name = if incoming { "incoming" } else { "access" };
        let client = env.forwarded_client();
        let out = if incoming {
            self.engine.on_inbound_from(&smtp, &env.data, &Antivirus::Clean, client.as_deref())
        } else {
            self.engine.on_submission_from(&smtp, &env.data, &Antivirus::Clean, client.as_deref())
        };
        let out = match out {
            Ok(o) => o,
            Err(e) => {
                warn(&format!("{name}: from {} ({}): {e}", env.mail_from, env.client()));
                return e.reply();
            }
        };
        info(&format!(
            "{name}: <{}> -> {} from {}: {}{}",
            env.mail_from,
            env.rcpts.join(","),
            env.client(),
            out.reply.line(),
            if out.replayed { " (replayed)" } else { "" }
        ));
        if let Err(e) = self.dispatch.dispatch(&out.emissions) {
            warn(&format!("{name}: re-injection failed, the MTA will retry: {e}"));
            self.worker.kick();
            return Reply::new(451, "4.4.0", "committed, re-injection pending: try again later");
        }
        out.reply
    }

    /// The delivery point: store per recipient, then the engine's receipts; one reply per
    /// recipient.
    fn delivery(&self, env: &Envelope) -> Vec<Reply> {
        let smtp = envelope(env);
        let Some(mailbox) = &self.mailbox else {
            return env.rcpts.iter().map(|_| Reply::temporary("no [mailbox] store")).collect();
        };
        let outcomes = match self.store_once(mailbox, env) {
            Ok(o) => o,
            Err(e) => {
                warn(&format!("delivery: {e}"));
                return env.rcpts.iter().map(|_| e.reply()).collect();
            }
        };
        let results: Vec<(String, MailboxOutcome)> =
            env.rcpts.iter().cloned().zip(outcomes.iter().cloned()).collect();
        let out = match self.engine.on_mailbox_result(&smtp, &env.data, &results) {
            Ok(o) => o,
            Err(e) => {
                warn(&format!("delivery: {e}"));
                return env.rcpts.iter().map(|_| e.reply()).collect();
            }
        };
        // the receipts are committed: the worker retries any that cannot go now (replying
        // 4xx would store the message a second time on the MTA's retry)
        if let Err(e) = self.dispatch.dispatch(&out.emissions) {
            warn(&format!("delivery: re-injection of receipts pending: {e}"));
            self.worker.kick();
        }
        results
            .iter()
            .map(|(rcpt, o)| {
                let reply = out
                    .replies
                    .iter()
                    .find(|(r, _)| r.eq_ignore_ascii_case(rcpt))
                    .map(|(_, rep)| rep.clone())
                    .unwrap_or_else(|| match o {
                        MailboxOutcome::Stored => Reply::ok("stored"),
                        MailboxOutcome::Temporary { status, text } => {
                            Reply::new(451, status, text.clone())
                        }
                        MailboxOutcome::Permanent { status, text } => {
                            Reply::new(550, status, text.clone())
                        }
                    });
                info(&format!("delivery: <{}> -> {rcpt}: {}", env.mail_from, reply.line()));
                reply
            })
            .collect()
    }

    /// Stores the message for each recipient once: a message (by Message-ID) already stored
    /// for a recipient is not stored again. A copy re-injected twice (a crash between the
    /// MTA's 250 and the outbox's ack, or an LMTP reply lost after storing) reaches the
    /// mailbox once; the engine's receipts are exactly-once on their own.
    fn store_once(
        &self,
        mailbox: &Mailbox,
        env: &Envelope,
    ) -> Result<Vec<MailboxOutcome>, pec_engine::EngineError> {
        let msgid = pec_core::mime::Headers::parse(&env.data, &pec_core::limits::Limits::default())
            .ok()
            .and_then(|h| h.value("Message-ID"))
            .map(|v| pec_core::identifier::strip_angle(v.trim()).to_string())
            .filter(|m| !m.is_empty());
        let keys: Vec<Option<String>> = env
            .rcpts
            .iter()
            .map(|r| msgid.as_ref().map(|m| format!("dp-stored:{m}:{}", r.to_ascii_lowercase())))
            .collect();
        let mut out: Vec<Option<MailboxOutcome>> = vec![None; env.rcpts.len()];
        for (i, k) in keys.iter().enumerate() {
            if let Some(k) = k {
                if self.engine.is_done(k)? {
                    info(&format!(
                        "delivery: <{}> already stored for {}: not stored again",
                        msgid.as_deref().unwrap_or("-"),
                        env.rcpts[i]
                    ));
                    out[i] = Some(MailboxOutcome::Stored);
                }
            }
        }
        let todo: Vec<usize> = (0..out.len()).filter(|i| out[*i].is_none()).collect();
        if !todo.is_empty() {
            let rcpts: Vec<String> = todo.iter().map(|i| env.rcpts[*i].clone()).collect();
            let stored = mailbox.store(&self.helo, &env.mail_from, &rcpts, &env.data);
            for (i, o) in todo.into_iter().zip(stored) {
                if let (MailboxOutcome::Stored, Some(k)) = (&o, &keys[i]) {
                    if let Err(e) = self.engine.mark_done(k, "mailbox") {
                        warn(&format!("delivery: cannot remember {k}: {e}"));
                    }
                }
                out[i] = Some(o);
            }
        }
        Ok(out
            .into_iter()
            .map(|o| {
                o.unwrap_or_else(|| MailboxOutcome::Temporary {
                    status: "4.3.0".into(),
                    text: "not stored".into(),
                })
            })
            .collect())
    }

    /// Runs the due timers; the emissions go to re-injection.
    fn run_due(&self, limit: usize) -> Result<Vec<pec_engine::Outgoing>, String> {
        let rows = self.engine.run_due(limit).map_err(|e| e.to_string())?;
        if !rows.is_empty() {
            for o in &rows {
                info(&format!(
                    "timer: {} {} (outbox {})",
                    o.kind,
                    o.identifier.as_deref().unwrap_or("-"),
                    o.id
                ));
            }
            self.worker.kick();
        }
        Ok(rows)
    }
}

#[derive(Clone, Copy)]
enum Point {
    Access,
    Incoming,
    Delivery,
}

struct PointHandler {
    point: Point,
    daemon: Arc<Daemon>,
}

impl Handler for PointHandler {
    fn data(&self, env: &Envelope) -> Vec<Reply> {
        match self.point {
            Point::Access => vec![self.daemon.point(false, env)],
            Point::Incoming => vec![self.daemon.point(true, env)],
            Point::Delivery => self.daemon.delivery(env),
        }
    }
}

#[allow(unsafe_code)]
fn install_signals() {
    extern "C" fn on_signal(_: libc::c_int) {
        // only an atomic store: async-signal-safe
        STOP.store(true, Ordering::SeqCst);
    }
    let handler = on_signal as extern "C" fn(libc::c_int);
    // SAFETY: `on_signal` only stores to an atomic, which is async-signal-safe; the
    // handler stays valid for the life of the process.
    unsafe {
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

fn duration(s: Option<&str>, default: Duration) -> Result<Duration, String> {
    match s {
        None => Ok(default),
        Some(s) => pec_engine::config::parse_duration(s)
            .map_err(|e| e.to_string())?
            .to_std()
            .map_err(|_| format!("bad duration {s:?}")),
    }
}

/// Runs `pec serve`.
pub fn run(a: &Args) -> ExitCode {
    match serve(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{} pec serve: error: {e}", stamp());
            ExitCode::from(2)
        }
    }
}

fn bind(what: &str, addr: &Option<String>) -> Result<Option<(TcpListener, String)>, String> {
    let Some(addr) = addr.as_deref().filter(|a| !a.trim().is_empty()) else {
        return Ok(None);
    };
    let l = TcpListener::bind(addr).map_err(|e| format!("[listen] {what} = {addr:?}: {e}"))?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    let local = l.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| addr.to_string());
    Ok(Some((l, local)))
}

fn serve(a: &Args) -> Result<(), String> {
    let cfg = EngineConfig::load(&a.config).map_err(|e| e.to_string())?;
    let file = ServeFile::load(&a.config)?;
    let relay = file
        .relay
        .smtp
        .clone()
        .filter(|s| !s.trim().is_empty())
        .ok_or("[relay] smtp is required (the MTA's re-injection port)")?;
    let mailbox = file.mailbox.store.as_deref().map(Mailbox::parse).transpose()?;
    if file.listen.delivery.is_some() && mailbox.is_none() {
        return Err("[listen] delivery needs [mailbox] store".into());
    }
    if file.listen.incoming.is_some() && mailbox.is_none() {
        warn("no [mailbox] store: take-charge receipts for the service mailbox stay queued");
    }
    if [&file.listen.access, &file.listen.incoming, &file.listen.delivery]
        .iter()
        .all(|l| l.is_none())
    {
        warn("no [listen] address: only re-injection, timers, seals and the admin socket run");
    }
    let s = &file.serve;
    let policy = cfg.policy().map_err(|e| e.to_string())?;
    let limits = Limits {
        max_size: s.max_message_size.unwrap_or(policy.hard_size),
        max_line: s.max_line_length.unwrap_or(8192).max(80),
        max_recipients: s.max_recipients.unwrap_or(1000).max(1),
        idle: duration(s.idle_timeout.as_deref(), Duration::from_secs(300))?,
    };
    let max_conn = s.max_connections.unwrap_or(64).max(1);
    let grace = duration(s.shutdown_timeout.as_deref(), Duration::from_secs(60))?;
    // not the bare host name: Postfix's smtp client defers mail to a peer that greets with
    // its own $myhostname ("mail for … loops back to myself"), the host name by default
    let helo =
        s.hostname.clone().unwrap_or_else(|| format!("pec-serve.{}", pec_engine::host_name()));

    let clock = Arc::new(OffsetClock::new(0));
    let engine = Arc::new(Engine::from_config(&cfg, clock.clone()).map_err(|e| e.to_string())?);
    let stored = engine.setting(CLOCK_KEY).map_err(|e| e.to_string())?;
    if cfg!(feature = "test-clock") {
        let ms = stored.as_deref().and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        clock.set_offset_ms(ms);
        info(&format!(
            "test clock: offset {} s, now {}",
            ms / 1000,
            pec_engine::Clock::now(&*clock)
        ));
    } else if stored.is_some_and(|v| v != "0") {
        warn("the store holds a test clock offset; this build (without test-clock) ignores it");
    }
    let mut legal = LegalLog::from_config(&cfg, clock.clone()).map_err(|e| e.to_string())?;

    let listeners = [
        ("access", bind("access", &file.listen.access)?, Point::Access, false),
        ("incoming", bind("incoming", &file.listen.incoming)?, Point::Incoming, false),
        ("delivery", bind("delivery", &file.listen.delivery)?, Point::Delivery, true),
    ];
    let admin_path = file.admin_socket(&a.config);
    let admin_listener = match &admin_path {
        Some(p) => Some(admin::bind(p)?),
        None => None,
    };

    let daemon = Arc::new(Daemon {
        dispatch: Dispatcher::new(engine.clone(), relay.clone(), mailbox.clone(), helo.clone()),
        engine,
        mailbox,
        clock,
        helo: helo.clone(),
        worker: Wake::default(),
        scheduler: Wake::default(),
        halt: AtomicBool::new(false),
        reseal: AtomicBool::new(false),
    });
    install_signals();

    let active = Arc::new(AtomicUsize::new(0));
    let mut accept_threads = Vec::new();
    for (name, l, point, lmtp) in listeners {
        let Some((listener, local)) = l else { continue };
        info(&format!(
            "{name} point listening on {local} ({})",
            if lmtp { "LMTP" } else { "SMTP" }
        ));
        let handler = Arc::new(PointHandler { point, daemon: daemon.clone() });
        let (active, limits, helo) = (active.clone(), limits.clone(), helo.clone());
        accept_threads.push(std::thread::spawn(move || {
            accept_loop(&listener, lmtp, &helo, &limits, handler, &active, max_conn)
        }));
    }
    let admin_thread = admin_listener.map(|l| {
        let d = daemon.clone();
        std::thread::spawn(move || admin::serve(&l, &d))
    });
    let worker = {
        let d = daemon.clone();
        std::thread::spawn(move || worker_loop(&d))
    };
    let scheduler = {
        let d = daemon.clone();
        std::thread::spawn(move || scheduler_loop(&d, &mut legal))
    };
    info(&format!("relay {relay}; running (pid {})", std::process::id()));

    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    info("stopping: finishing transactions in flight");
    for t in accept_threads {
        let _ = t.join();
    }
    let deadline = Instant::now() + grace;
    while active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = active.load(Ordering::SeqCst);
    if left > 0 {
        warn(&format!("{left} sessions still open after the shutdown timeout"));
    }
    daemon.halt.store(true, Ordering::SeqCst);
    daemon.worker.kick();
    daemon.scheduler.kick();
    let _ = worker.join();
    let _ = scheduler.join();
    if let Some(t) = admin_thread {
        let _ = t.join();
    }
    if let Some(p) = &admin_path {
        let _ = std::fs::remove_file(p);
    }
    info("stopped");
    Ok(())
}

fn accept_loop(
    listener: &TcpListener,
    lmtp: bool,
    helo: &str,
    limits: &Limits,
    handler: Arc<PointHandler>,
    active: &Arc<AtomicUsize>,
    max_conn: usize,
) {
    while !STOP.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => {
                let _ = stream.set_nonblocking(false);
                if active.fetch_add(1, Ordering::SeqCst) >= max_conn {
                    active.fetch_sub(1, Ordering::SeqCst);
                    use std::io::Write as _;
                    let mut s = stream;
                    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                    let _ = s.write_all(b"421 4.3.2 too many connections, try again later\r\n");
                    warn(&format!("refused {peer}: too many connections"));
                    continue;
                }
                let (counter, limits, helo, handler) =
                    (active.clone(), limits.clone(), helo.to_string(), handler.clone());
                let spawned =
                    std::thread::Builder::new().name("pec-session".into()).spawn(move || {
                        session::serve(stream, lmtp, &helo, &limits, handler.as_ref(), &STOP);
                        counter.fetch_sub(1, Ordering::SeqCst);
                    });
                if let Err(e) = spawned {
                    active.fetch_sub(1, Ordering::SeqCst);
                    warn(&format!("cannot start a session thread: {e}"));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(e) => {
                warn(&format!("accept: {e}"));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Re-injection: every unacknowledged outbox row, with a per-row backoff (1 s doubling to
/// 5 min); kicked when something new is committed.
fn worker_loop(d: &Daemon) {
    let mut backoff: std::collections::HashMap<i64, (Instant, Duration)> = Default::default();
    while !d.halt.load(Ordering::SeqCst) {
        match d.engine.unsent(500) {
            Ok(rows) => {
                backoff.retain(|id, _| rows.iter().any(|o| o.id == *id));
                let now = Instant::now();
                for o in &rows {
                    if d.halt.load(Ordering::SeqCst) {
                        return;
                    }
                    if backoff.get(&o.id).is_some_and(|(at, _)| *at > now) {
                        continue;
                    }
                    match d.dispatch.try_send_row(o) {
                        Ok(()) => {
                            backoff.remove(&o.id);
                        }
                        Err(e) => {
                            let wait = backoff
                                .get(&o.id)
                                .map(|(_, w)| (*w * 2).min(Duration::from_secs(300)))
                                .unwrap_or(Duration::from_secs(1));
                            backoff.insert(o.id, (Instant::now() + wait, wait));
                            warn(&format!(
                                "re-injection of outbox {}: {e} (retry in {wait:?})",
                                o.id
                            ));
                        }
                    }
                }
            }
            Err(e) => warn(&format!("outbox: {e}")),
        }
        d.worker.wait(Duration::from_secs(1));
    }
}

/// The scheduler: due timers every half second or when kicked; the daily seal.
fn scheduler_loop(d: &Daemon, legal: &mut LegalLog) {
    let mut settled: std::collections::HashSet<NaiveDate> = Default::default();
    let mut next_seal = Instant::now();
    while !d.halt.load(Ordering::SeqCst) {
        if cfg!(feature = "test-clock") {
            // an offset moved forward in the store by `pec engine clock advance` without the
            // socket (the clock only moves forward: a read older than an advance is ignored)
            let stored = d.engine.setting(CLOCK_KEY).ok().flatten().and_then(|v| v.parse().ok());
            if let Some(ms) = stored.filter(|ms| *ms > d.clock.offset_ms()) {
                d.clock.set_offset_ms(ms);
                info(&format!("test clock: offset {} s (from the store)", ms / 1000));
                next_seal = Instant::now();
            }
        }
        if let Err(e) = d.run_due(1000) {
            warn(&format!("timers: {e}"));
        }
        if Instant::now() >= next_seal {
            next_seal = Instant::now() + seal_days(legal, &mut settled);
        }
        d.scheduler.wait(Duration::from_millis(500));
        // a clock that moved (test clock): look at the seals at once
        if d.reseal.swap(false, Ordering::SeqCst) {
            next_seal = Instant::now();
        }
    }
}

/// Seals the finished days of the last week not sealed yet (by the serve clock); returns
/// when to look again.
fn seal_days(legal: &mut LegalLog, settled: &mut std::collections::HashSet<NaiveDate>) -> Duration {
    let today = legal.today();
    let mut failed = false;
    for back in 1..=7 {
        let Some(day) = today.checked_sub_days(chrono::Days::new(back)) else { continue };
        if settled.contains(&day) || !legal.finished(day) {
            continue;
        }
        match legal.export(day) {
            Ok(e) if e.records == 0 => {
                settled.insert(day);
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                warn(&format!("seal {day}: {e}"));
                failed = true;
                continue;
            }
        }
        match legal.seal(day, None) {
            Ok(o) => {
                if !o.already {
                    info(&format!("sealed {day}: {} records, {}", o.seal.records, o.seal.kind));
                }
                settled.insert(day);
            }
            Err(e) => {
                warn(&format!("seal {day}: {e}"));
                failed = true;
            }
        }
    }
    if failed { Duration::from_secs(600) } else { Duration::from_secs(60) }
}
