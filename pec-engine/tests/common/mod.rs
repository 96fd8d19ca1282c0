//! Two providers on the test PKI, each an engine on its own SQLite file, a wire between them
//! that routes every emission as an MTA would (relay to the provider managing the domain,
//! loopback to the engine's own incoming point, delivery into mailboxes with the mailbox's
//! answer reported back), and a manual clock. Every built message that crosses the wire is
//! parsed back and its signature verified against the test CA and an index naming both
//! providers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "postgres")]
pub mod pg;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Duration, SubsecRound, Utc};
use pec_core::chain::TrustStore;
use pec_core::checks::SmtpEnvelope;
use pec_core::index::{Directory, ProviderDirectory, ProviderRecord};
use pec_core::message::PecMessage;
use pec_core::points::{Antivirus, MailboxOutcome, Policy, Route, RouteGroup};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::signer::SoftwareSigner;
use pec_core::smime::{Verdict, VerifyOptions};
use pec_core::verify_message;
use pec_engine::store::sqlite::SqliteStore;
use pec_engine::{Clock, Engine, EngineParts, ManualClock, Outcome, Outgoing};
use pec_testkit::{ProviderSpec, TestPki};

pub const ALPHA: &str = "Alpha PEC S.p.A.";
pub const BETA: &str = "Beta PEC S.r.l.";
pub const DOMAINS: [&str; 2] = ["pec.alpha.test", "pec.beta.test"];
pub const NAMES: [&str; 2] = [ALPHA, BETA];
pub const EICAR: &str = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

pub struct World {
    pub pki: TestPki,
    pub index: Arc<dyn ProviderDirectory>,
    pub trust: Arc<TrustStore>,
    /// A key the index does not know, certified by another CA, for forgeries.
    pub stranger: TestPki,
    pub start: DateTime<Utc>,
}

pub fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let start = Utc::now().trunc_subsecs(0);
        let specs: Vec<ProviderSpec<'_>> =
            (0..2).map(|i| ProviderSpec { name: NAMES[i], domain: DOMAINS[i] }).collect();
        let pki = TestPki::generate(&specs, start - Duration::days(1), start + Duration::days(30))
            .unwrap();
        let stranger = TestPki::generate(
            &[ProviderSpec { name: BETA, domain: DOMAINS[1] }],
            start - Duration::days(1),
            start + Duration::days(30),
        )
        .unwrap();
        let records = (0..2)
            .map(|i| ProviderRecord {
                dn: format!("providerName={},o=postacert", NAMES[i]),
                name: NAMES[i].to_string(),
                cert_hashes: vec![pec_core::crypto::sha1_hex(&pki.providers[i].cert_der)],
                certificates: vec![pki.providers[i].cert_der.clone()],
                mail_receipt: format!("ricevute@{}", DOMAINS[i]),
                managed_domains: vec![DOMAINS[i].to_string()],
                ..ProviderRecord::default()
            })
            .collect();
        let index: Arc<dyn ProviderDirectory> = Arc::new(Directory::from_records(records).unwrap());
        let mut trust = TrustStore::new();
        trust.add_der(&pki.root.cert_der).unwrap();
        World { pki, index, trust: Arc::new(trust), stranger, start }
    })
}

pub fn signer(i: usize) -> SoftwareSigner {
    let w = world();
    SoftwareSigner::from_der(
        &w.pki.providers[i].key_pkcs8,
        w.pki.providers[i].cert_der.clone(),
        vec![w.pki.ca.cert_der.clone()],
    )
    .unwrap()
}

pub fn verify_opts(now: DateTime<Utc>) -> VerifyOptions {
    let w = world();
    VerifyOptions {
        trust: w.trust.clone(),
        index: Some(w.index.clone()),
        now: Some(now),
        ..VerifyOptions::default()
    }
}

pub fn provider(i: usize) -> Provider {
    Provider::new(NAMES[i], DOMAINS[i], RecipientPolicy::Index(world().index.clone()))
        .unwrap()
        .with_timezone(chrono_tz::Europe::Rome)
}

pub fn policy(i: usize) -> Policy {
    let mut p = Policy::new(DOMAINS[i]);
    p.service_mailbox = format!("ricevute@{}", DOMAINS[i]);
    p
}

/// Engine `i` (0 Alpha, 1 Beta) on the SQLite file `db`.
pub fn engine(i: usize, db: &Path, clock: Arc<ManualClock>) -> Engine {
    engine_with(i, Box::new(SqliteStore::open(db).unwrap()), clock, policy(i))
}

pub fn engine_with(
    i: usize,
    store: Box<dyn pec_engine::Store>,
    clock: Arc<ManualClock>,
    policy: Policy,
) -> Engine {
    Engine::new(EngineParts {
        provider: provider(i),
        policy,
        signer: Arc::new(signer(i)),
        verify: verify_opts(world().start),
        store,
        clock,
    })
    .with_timezone(chrono_tz::Europe::Rome)
}

pub fn original(from: &str, to: &[&str], cc: &[&str], subject: &str, body: &str) -> Vec<u8> {
    let mut s = format!("From: {from}\r\nTo: {}\r\n", to.join(", "));
    if !cc.is_empty() {
        s.push_str(&format!("Cc: {}\r\n", cc.join(", ")));
    }
    s.push_str(&format!(
        "Subject: {subject}\r\nMessage-ID: <{}@client.test>\r\n\
         Date: Tue, 01 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        subject.replace(' ', ".")
    ));
    s.into_bytes()
}

pub fn smtp(from: &str, to: &[&str]) -> SmtpEnvelope {
    SmtpEnvelope {
        reverse_path: Some(from.to_string()),
        forward_paths: to.iter().map(|s| s.to_string()).collect(),
    }
}

/// The EICAR scanner: the raw bytes, or the original inside an envelope.
pub fn scan(bytes: &[u8]) -> Antivirus {
    let hit = |b: &[u8]| b.windows(34).any(|w| w == b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE");
    let inner = PecMessage::parse(bytes).ok().and_then(|m| m.original.map(|o| hit(&o)));
    if hit(bytes) || inner == Some(true) {
        Antivirus::Virus("Eicar-Test-Signature".into())
    } else {
        Antivirus::Clean
    }
}

/// Where the engines keep their state.
#[derive(Clone)]
pub enum Backend {
    /// One SQLite file per store.
    Sqlite,
    /// One database per store on a test PostgreSQL.
    #[cfg(feature = "postgres")]
    Pg(Arc<pg::PgServer>),
}

impl Backend {
    /// The store `name`: the same name is the same store (a file in `dir`, or a database).
    pub fn store(&self, dir: &Path, name: &str) -> Box<dyn pec_engine::Store> {
        match self {
            Backend::Sqlite => {
                Box::new(SqliteStore::open(&dir.join(format!("{name}.db"))).unwrap())
            }
            #[cfg(feature = "postgres")]
            Backend::Pg(s) => Box::new(
                pec_engine::store::postgres::PgStore::open(&s.database(&name.to_ascii_lowercase()))
                    .unwrap(),
            ),
        }
    }

    /// Engine `i` on the store `name`.
    pub fn engine(&self, i: usize, dir: &Path, name: &str, clock: Arc<ManualClock>) -> Engine {
        engine_with(i, self.store(dir, name), clock, policy(i))
    }
}

static NETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One message that crossed the wire.
#[derive(Clone, Debug)]
pub struct Wired {
    /// The engine that emitted it.
    pub from: usize,
    pub out: Outgoing,
    pub group: RouteGroup,
}

/// Two engines, the wire, the mailboxes and the clock.
pub struct Net {
    pub clock: Arc<ManualClock>,
    pub engines: Vec<Engine>,
    /// address → messages stored in that mailbox.
    pub mailboxes: BTreeMap<String, Vec<Vec<u8>>>,
    /// (forward path, bytes) relayed to ordinary Internet mail.
    pub internet: Vec<(String, Vec<u8>)>,
    /// The mailbox's answer per address (default: stored).
    pub answers: HashMap<String, MailboxOutcome>,
    /// Whether each engine's access-point and incoming-point scanners run.
    pub av_access: [bool; 2],
    pub av_incoming: [bool; 2],
    /// Every message that crossed the wire, in order.
    pub log: Vec<Wired>,
    /// Groups held back by `hold`.
    pub held: Vec<Wired>,
    pub hold: Option<fn(&Wired) -> bool>,
    /// The reply of every event, in order.
    pub replies: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Net {
    pub fn new() -> Net {
        Net::on(&Backend::Sqlite)
    }

    /// Two engines on `backend`.
    pub fn on(backend: &Backend) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(world().start));
        let n = NETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let engines = (0..2)
            .map(|i| {
                backend.engine(
                    i,
                    dir.path(),
                    &format!("net{}_{n}_p{i}", std::process::id()),
                    clock.clone(),
                )
            })
            .collect();
        Net {
            clock,
            engines,
            mailboxes: BTreeMap::new(),
            internet: Vec::new(),
            answers: HashMap::new(),
            av_access: [true; 2],
            av_incoming: [true; 2],
            log: Vec::new(),
            held: Vec::new(),
            hold: None,
            replies: Vec::new(),
            dir,
        }
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    fn av(&self, on: bool, bytes: &[u8]) -> Antivirus {
        if on { scan(bytes) } else { Antivirus::Clean }
    }

    /// Submits at engine `i`'s access point and runs the wire until it is quiet.
    pub fn submit(&mut self, i: usize, smtp: &SmtpEnvelope, bytes: &[u8]) -> Outcome {
        let av = self.av(self.av_access[i], bytes);
        let out = self.engines[i].on_submission(smtp, bytes, &av).unwrap();
        self.replies.push(out.reply.line());
        self.pump(i, &out);
        out
    }

    /// Delivers `bytes` from outside to engine `i`'s incoming point.
    pub fn inbound(&mut self, i: usize, smtp: &SmtpEnvelope, bytes: &[u8]) -> Outcome {
        let av = self.av(self.av_incoming[i], bytes);
        let out = self.engines[i].on_inbound(smtp, bytes, &av).unwrap();
        self.replies.push(out.reply.line());
        self.pump(i, &out);
        out
    }

    /// Runs engine `i`'s due timers and the wire.
    pub fn run_due(&mut self, i: usize) -> Vec<Outgoing> {
        let out = self.engines[i].run_due(100).unwrap();
        let o = Outcome {
            reply: pec_core::points::Reply::ok(""),
            replies: Vec::new(),
            emissions: out.clone(),
            replayed: false,
        };
        self.pump(i, &o);
        out
    }

    /// Sends what was held back.
    pub fn release(&mut self) {
        let held = std::mem::take(&mut self.held);
        for w in held {
            self.route(w);
        }
    }

    pub fn pump(&mut self, from: usize, out: &Outcome) {
        for o in &out.emissions {
            if o.sent {
                continue;
            }
            check_signed(o, self.clock.now());
            for g in &o.groups {
                let w = Wired { from, out: o.clone(), group: g.clone() };
                if self.hold.is_some_and(|h| h(&w)) {
                    self.held.push(w);
                } else {
                    self.route(w);
                }
            }
            self.engines[from].ack(&[o.id]).unwrap();
        }
    }

    fn route(&mut self, w: Wired) {
        self.log.push(w.clone());
        let (from, o, g) = (w.from, &w.out, &w.group);
        match g.route {
            Route::Relay => {
                for (t, domain) in DOMAINS.iter().enumerate() {
                    let rcpts: Vec<&str> = g
                        .rcpt_to
                        .iter()
                        .filter(|r| r.ends_with(&format!("@{domain}")))
                        .map(String::as_str)
                        .collect();
                    if !rcpts.is_empty() {
                        self.inbound(t, &smtp(&o.mail_from, &rcpts), &o.bytes);
                    }
                }
                for r in &g.rcpt_to {
                    if !DOMAINS.iter().any(|d| r.ends_with(&format!("@{d}"))) {
                        self.internet.push((r.clone(), o.bytes.clone()));
                    }
                }
            }
            Route::Loopback => {
                let rcpts: Vec<&str> = g.rcpt_to.iter().map(String::as_str).collect();
                self.inbound(from, &smtp(&o.mail_from, &rcpts), &o.bytes);
            }
            Route::Deliver => {
                let results: Vec<(String, MailboxOutcome)> = g
                    .rcpt_to
                    .iter()
                    .map(|r| {
                        (r.clone(), self.answers.get(r).cloned().unwrap_or(MailboxOutcome::Stored))
                    })
                    .collect();
                for (r, a) in &results {
                    if *a == MailboxOutcome::Stored {
                        self.mailboxes.entry(r.clone()).or_default().push(o.bytes.clone());
                    }
                }
                let rcpts: Vec<&str> = g.rcpt_to.iter().map(String::as_str).collect();
                let out = self.engines[from]
                    .on_mailbox_result(&smtp(&o.mail_from, &rcpts), &o.bytes, &results)
                    .unwrap();
                for (r, reply) in &out.replies {
                    self.replies.push(format!("{r}: {}", reply.line()));
                }
                self.pump(from, &out);
            }
            Route::ServiceMailbox => {
                for r in &g.rcpt_to {
                    self.mailboxes.entry(r.clone()).or_default().push(o.bytes.clone());
                }
            }
        }
    }

    /// The kinds found in `address`'s mailbox (an envelope's `X-Trasporto`, a receipt's
    /// `X-Ricevuta`, `ordinary` otherwise).
    pub fn mailbox(&self, address: &str) -> Vec<String> {
        self.mailboxes
            .get(address)
            .map(|v| v.iter().map(|b| kind_of(b)).collect())
            .unwrap_or_default()
    }

    /// The built messages that crossed the wire, as (emitting engine, kind).
    pub fn built(&self) -> Vec<(usize, String)> {
        let mut seen = std::collections::HashSet::new();
        self.log
            .iter()
            .filter(|w| w.out.kind != "forward" && seen.insert((w.from, w.out.id)))
            .map(|w| (w.from, w.out.kind.clone()))
            .collect()
    }

    /// The built messages of `kind` that crossed the wire.
    pub fn of_kind(&self, kind: &str) -> Vec<&Wired> {
        let mut seen = std::collections::HashSet::new();
        self.log.iter().filter(|w| w.out.kind == kind && seen.insert((w.from, w.out.id))).collect()
    }

    pub fn status(&self, i: usize, id: &str) -> pec_engine::Status {
        self.engines[i].status(id).unwrap().expect("status")
    }

    /// The state of `address` for `id` at the sender's engine `i`.
    pub fn state(&self, i: usize, id: &str, address: &str) -> String {
        let s = self.status(i, id);
        let sent = s.sent.expect("sent");
        sent.recipients.iter().find(|r| r.address == address).expect("recipient").state.clone()
    }
}

pub fn kind_of(bytes: &[u8]) -> String {
    let m = PecMessage::parse(bytes).unwrap();
    m.kind.map(|k| k.as_str().to_string()).unwrap_or_else(|| "ordinary".into())
}

/// A built message parses back as its kind and its signature verifies (valid, no reason).
pub fn check_signed(o: &Outgoing, now: DateTime<Utc>) {
    if o.kind == "forward" {
        return;
    }
    let m = PecMessage::parse(&o.bytes).unwrap();
    assert_eq!(m.kind.as_ref().map(|k| k.as_str()), Some(o.kind.as_str()), "kind of {}", o.kind);
    assert_eq!(m.message_id, o.message_id);
    let r = verify_message(&o.bytes, &verify_opts(now)).unwrap();
    assert_eq!(r.verdict, Verdict::Valid, "{}: {:?}", o.kind, r.reasons);
    assert!(r.reasons.is_empty(), "{}: {:?}", o.kind, r.reasons);
}

/// The daticert of a built message.
pub fn daticert(bytes: &[u8]) -> pec_core::daticert::Daticert {
    PecMessage::parse(bytes).unwrap().daticert.expect("daticert")
}

/// The header `name` of a message.
pub fn header(bytes: &[u8], name: &str) -> Option<String> {
    PecMessage::parse(bytes).unwrap().header(name)
}
