//! `pec serve` (built with the feature test-clock) on loopback ports in a temporary
//! directory, between an in-test SMTP sink playing the MTA's re-injection port and an
//! in-process engine playing the other provider: submission, incoming, LMTP delivery into a
//! Maildir, the 12 h notice after `pec engine clock advance 12h`, SIGTERM, restart with the
//! clock kept, the relay down then up, hostile clients.
//!
//! Run with `cargo test -p pec-cli --features test-clock --test serve` (scripts/test-all.sh).
#![cfg(feature = "test-clock")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pec_core::checks::SmtpEnvelope;
use pec_core::points::{Antivirus, Route};
use pec_engine::{Engine, EngineConfig, SystemClock};
use pec_testkit::ProviderSpec;
use pec_testkit::scenario::TwoProviders;
use pec_testkit::smtp::{Sink, free_port};
use serde_json::Value;

const ALPHA: ProviderSpec<'static> =
    ProviderSpec { name: "Alpha PEC S.p.A.", domain: "pec.alpha.test" };
const BETA: ProviderSpec<'static> =
    ProviderSpec { name: "Beta PEC S.r.l.", domain: "pec.beta.test" };

/// Generous: nothing here is timed, the deadline only stops a hung test.
const DEADLINE: Duration = Duration::from_secs(120);

/// A plain SMTP/LMTP client for the test.
struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
    /// Sent after EHLO, as Postfix does to a content filter.
    xforward: Option<String>,
}

impl Client {
    fn connect(port: u16) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        let w = s.try_clone().unwrap();
        let mut c = Client { r: BufReader::new(s), w, xforward: None };
        let (code, _) = c.reply();
        assert_eq!(code, 220);
        c
    }

    /// (code of the last line, every line).
    fn reply(&mut self) -> (u16, String) {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.r.read_line(&mut line).unwrap_or(0) == 0 {
                return (0, all);
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return (line[..3].parse().unwrap_or(0), all);
            }
        }
    }

    fn cmd(&mut self, line: &str) -> (u16, String) {
        self.w.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }

    fn ok(&mut self, line: &str, want: u16) -> String {
        let (code, text) = self.cmd(line);
        assert_eq!(code, want, "{line}: {text}");
        text
    }

    /// A whole transaction; the replies after the data (one, or one per recipient for LMTP).
    fn send(&mut self, hello: &str, from: &str, rcpts: &[&str], data: &[u8]) -> Vec<u16> {
        self.ok(&format!("{hello} client.test"), 250);
        if let Some(x) = self.xforward.take() {
            self.ok(&x, 250);
        }
        self.ok(&format!("MAIL FROM:<{from}> BODY=8BITMIME SIZE={}", data.len()), 250);
        for r in rcpts {
            self.ok(&format!("RCPT TO:<{r}>"), 250);
        }
        self.ok("DATA", 354);
        let mut wire = Vec::new();
        for l in data.split_inclusive(|b| *b == b'\n') {
            if l.starts_with(b".") {
                wire.push(b'.');
            }
            wire.extend_from_slice(l);
        }
        wire.extend_from_slice(b".\r\n");
        self.w.write_all(&wire).unwrap();
        let n = if hello == "LHLO" { rcpts.len() } else { 1 };
        let codes: Vec<u16> = (0..n).map(|_| self.reply().0).collect();
        self.cmd("QUIT");
        codes
    }
}

struct Env {
    dir: PathBuf,
    config: PathBuf,
    access: u16,
    incoming: u16,
    delivery: u16,
    sink: Sink,
    beta: Engine,
}

fn setup() -> Env {
    let dir = std::env::temp_dir().join(format!("pec-serve-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = TwoProviders::generate_with([ALPHA, BETA], 30).unwrap();
    s.write_engine_files(&dir).unwrap();
    let sink = Sink::start();
    let (access, incoming, delivery) = (free_port(), free_port(), free_port());
    let mut toml = std::fs::read_to_string(dir.join("a-engine.toml")).unwrap();
    toml = toml.replace("[signing]", "local_domains = [\"pec.alpha.test\"]\n\n[signing]");
    toml.push_str(&format!(
        "\n[listen]\naccess = \"127.0.0.1:{access}\"\nincoming = \"127.0.0.1:{incoming}\"\n\
         delivery = \"127.0.0.1:{delivery}\"\n\n[relay]\nsmtp = \"127.0.0.1:{}\"\n\n\
         [mailbox]\nstore = \"maildir:{}/mail/{{domain}}/{{local}}\"\n\n[log]\ndir = \"log\"\n\n\
         [admin]\nsocket = \"admin.sock\"\n\n[serve]\nmax_message_size = 200000\n\
         max_line_length = 2000\nmax_recipients = 3\nidle_timeout = \"60s\"\nmax_connections = 6\n\n\
         [atrest]\nrecipients = [\"a.pem\", \"b.pem\"]\n",
        sink.port,
        dir.display()
    ));
    let config = dir.join("alpha.toml");
    std::fs::write(&config, toml).unwrap();
    let beta_cfg = EngineConfig::load(&dir.join("b-engine.toml")).unwrap();
    let beta = Engine::from_config(&beta_cfg, Arc::new(SystemClock)).unwrap();
    Env { dir, config, access, incoming, delivery, sink, beta }
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(env: &Env, n: usize) -> Daemon {
        let log = env.dir.join(format!("serve-{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_pec"))
            .args(["serve", "--config"])
            .arg(&env.config)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let d = Daemon { child, log };
        // ready once the admin socket answers and the listeners accept
        let t0 = Instant::now();
        loop {
            let o = pec(&[
                "engine",
                "clock",
                "show",
                "--json",
                "--config",
                env.config.to_str().unwrap(),
            ]);
            if o.status.success()
                && TcpStream::connect(("127.0.0.1", env.delivery)).is_ok()
                && env.dir.join("admin.sock").exists()
            {
                break;
            }
            assert!(t0.elapsed() < DEADLINE, "pec serve did not start: {}", d.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM (by the daemon's pid).
    fn signal(&self) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    }

    /// SIGTERM, then the exit status.
    fn stop(self) -> (std::process::ExitStatus, String) {
        self.signal();
        self.wait()
    }

    /// The exit status.
    fn wait(mut self) -> (std::process::ExitStatus, String) {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return (st, self.stderr());
            }
            assert!(t0.elapsed() < DEADLINE, "pec serve did not stop: {}", self.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // a failed assertion must not leave the daemon running (by its pid only)
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn pec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pec")).args(args).output().unwrap()
}

fn clock_offset(env: &Env) -> i64 {
    let o = pec(&["engine", "clock", "show", "--json", "--config", env.config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v["offset_seconds"].as_i64().unwrap()
}

fn message(from: &str, to: &str, subject: &str, msgid: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{msgid}>\r\n\
         Date: Tue, 1 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nTesto.\r\n.una riga che inizia col punto\r\n"
    )
    .into_bytes()
}

fn maildir_files(env: &Env, domain: &str, local: &str) -> Vec<Vec<u8>> {
    let new = env.dir.join("mail").join(domain).join(local).join("new");
    let mut out = Vec::new();
    for e in std::fs::read_dir(new).into_iter().flatten().flatten() {
        out.push(std::fs::read(e.path()).unwrap());
    }
    out
}

#[test]
fn serve_end_to_end() {
    let env = setup();
    let cfg = env.config.to_str().unwrap().to_string();
    let d = Daemon::start(&env, 1);

    // 1. a submission: acceptance (through the own incoming point, then to the delivery
    // point via the MTA) and the transport envelope re-injected, each exactly once
    let original =
        message("mario@pec.alpha.test", "luigi@pec.beta.test", "prova", "m1@client.test");
    let mut c = Client::connect(env.access);
    c.xforward =
        Some("XFORWARD NAME=mua.test ADDR=192.0.2.7 HELO=mua-helo.test PROTO=ESMTP".into());
    let codes = c.send("EHLO", "mario@pec.alpha.test", &["luigi@pec.beta.test"], &original);
    assert_eq!(codes, [250], "{}", d.stderr());
    let envelope = env.sink.wait_kind(DEADLINE, "posta-certificata", "luigi@pec.beta.test", 1);
    assert_eq!(envelope.from, "mario@pec.alpha.test");
    let acceptance = env.sink.wait_kind(DEADLINE, "accettazione", "mario@pec.alpha.test", 1);
    assert!(String::from_utf8_lossy(&envelope.data).contains(".una riga che inizia col punto"));

    // 2. an envelope from Beta arrives at the incoming point: take-charge receipt to Beta's
    // receipt mailbox, the envelope to the delivery point (via the MTA); LMTP stores it in
    // the Maildir and the delivery receipt goes back to Beta
    let smtp = SmtpEnvelope {
        reverse_path: Some("luigi@pec.beta.test".into()),
        forward_paths: vec!["anna@pec.alpha.test".into()],
    };
    let to_anna =
        message("luigi@pec.beta.test", "anna@pec.alpha.test", "da beta", "b1@client.test");
    let out = env.beta.on_submission(&smtp, &to_anna, &Antivirus::Clean).unwrap();
    let from_beta = out
        .emissions
        .iter()
        .find(|o| o.groups.iter().any(|g| g.route == Route::Relay))
        .expect("beta's envelope")
        .clone();
    let codes = Client::connect(env.incoming).send(
        "EHLO",
        &from_beta.mail_from,
        &["anna@pec.alpha.test"],
        &from_beta.bytes,
    );
    assert_eq!(codes, [250], "{}", d.stderr());
    env.sink.wait_kind(DEADLINE, "presa-in-carico", "ricevute@pec.beta.test", 1);
    let to_deliver = env.sink.wait_kind(DEADLINE, "posta-certificata", "anna@pec.alpha.test", 1);
    assert_eq!(to_deliver.data, from_beta.bytes, "the envelope is passed on unchanged");
    let codes = Client::connect(env.delivery).send(
        "LHLO",
        &to_deliver.from,
        &["anna@pec.alpha.test"],
        &to_deliver.data,
    );
    assert_eq!(codes, [250], "{}", d.stderr());
    let stored = maildir_files(&env, "pec.alpha.test", "anna");
    assert_eq!(stored, vec![from_beta.bytes.clone()], "stored byte for byte");
    env.sink.wait_kind(DEADLINE, "avvenuta-consegna", "luigi@pec.beta.test", 1);
    // the same envelope again, as the MTA holds it after a re-injection repeated by a crash
    // (another Received: on top): stored once, no second receipt
    let mut again = b"Received: from pec-serve (localhost [127.0.0.1]) by mx; now\r\n".to_vec();
    again.extend_from_slice(&to_deliver.data);
    let codes = Client::connect(env.delivery).send(
        "LHLO",
        &to_deliver.from,
        &["anna@pec.alpha.test"],
        &again,
    );
    assert_eq!(codes, [250], "{}", d.stderr());
    assert_eq!(maildir_files(&env, "pec.alpha.test", "anna").len(), 1, "stored once");
    assert_eq!(env.sink.count("avvenuta-consegna", "luigi@pec.beta.test"), 1);

    // the acceptance goes to mario's mailbox through the delivery point too
    let codes = Client::connect(env.delivery).send(
        "LHLO",
        &acceptance.from,
        &["mario@pec.alpha.test"],
        &acceptance.data,
    );
    assert_eq!(codes, [250]);
    assert_eq!(maildir_files(&env, "pec.alpha.test", "mario").len(), 1);

    // status through the admin socket: same output as on the store
    let o = pec(&["engine", "status", "--json", "--config", &cfg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().is_some_and(|a| !a.is_empty()), "{v}");
    let o = pec(&["engine", "status", "--config", &cfg, "unknown@x"]);
    assert_eq!(o.status.code(), Some(1));

    // the legal log names the original client as XFORWARD gave it
    let o = pec(&["log", "search", "--config", &cfg, "--msgid", "m1@client.test", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let records: Value = serde_json::from_slice(&o.stdout).unwrap();
    let accepted = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["event"] == "accettazione")
        .unwrap_or_else(|| panic!("{records}"))
        .clone();
    assert_eq!(accepted["client"], "mua-helo.test (mua.test [192.0.2.7])", "{accepted}");

    // 3. 12 hours later: exactly one 12 h notice to mario (luigi never answered)
    let o = pec(&["engine", "clock", "advance", "12h", "--config", &cfg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    env.sink.wait_kind(DEADLINE, "preavviso-errore-consegna", "mario@pec.alpha.test", 1);
    let o = pec(&["engine", "run-due", "--json", "--config", &cfg]);
    assert!(o.status.success());
    assert_eq!(serde_json::from_slice::<Value>(&o.stdout).unwrap(), serde_json::json!([]));
    let before = env.sink.all().len();

    // 4. SIGTERM in the middle of a DATA: that transaction finishes (250, its emissions
    // handed over), the next command gets 421, and the daemon exits 0
    let third = message("mario@pec.alpha.test", "luigi@pec.beta.test", "terza", "m3@client.test");
    let mut c = Client::connect(env.access);
    c.ok("EHLO client.test", 250);
    c.ok("MAIL FROM:<mario@pec.alpha.test>", 250);
    c.ok("RCPT TO:<luigi@pec.beta.test>", 250);
    c.ok("DATA", 354);
    let (head, tail) = third.split_at(third.len() / 2);
    c.w.write_all(head).unwrap();
    d.signal();
    let t0 = Instant::now();
    while !d.stderr().contains("stopping") {
        assert!(t0.elapsed() < DEADLINE, "no stop: {}", d.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    c.w.write_all(tail).unwrap();
    c.w.write_all(b".\r\n").unwrap();
    assert_eq!(c.reply().0, 250, "{}", d.stderr());
    assert_eq!(c.reply().0, 421, "then the session closes");
    let (st, log) = d.wait();
    assert_eq!(st.code(), Some(0), "{log}");
    assert!(!env.dir.join("admin.sock").exists());

    // 5. restart: the clock resumes where it was; nothing emitted again
    let d = Daemon::start(&env, 2);
    assert!(clock_offset(&env) >= 12 * 3600);
    let o = pec(&["engine", "run-due", "--config", &cfg]);
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout), "0 emitted\n");
    assert_eq!(env.sink.count("preavviso-errore-consegna", "mario@pec.alpha.test"), 1);
    assert_eq!(env.sink.count("posta-certificata", "luigi@pec.beta.test"), 2);
    assert_eq!(env.sink.count("accettazione", "mario@pec.alpha.test"), 2);

    // 6. the relay down: the submission is committed, the reply is 451; the daemon stops
    // with the emissions unsent (they persist in the outbox); restarted with the relay back,
    // it sends them once, and the MTA's retry is answered from the stored outcome
    env.sink.set_down(true);
    let second =
        message("mario@pec.alpha.test", "luigi@pec.beta.test", "seconda", "m2@client.test");
    let codes = Client::connect(env.access).send(
        "EHLO",
        "mario@pec.alpha.test",
        &["luigi@pec.beta.test"],
        &second,
    );
    assert_eq!(codes, [451], "{}", d.stderr());
    let (st, log) = d.stop();
    assert_eq!(st.code(), Some(0), "{log}");
    assert_eq!(env.sink.count("posta-certificata", "luigi@pec.beta.test"), 2);
    env.sink.set_down(false);
    let d = Daemon::start(&env, 3);
    env.sink.wait_kind(DEADLINE, "posta-certificata", "luigi@pec.beta.test", 3);
    env.sink.wait_kind(DEADLINE, "accettazione", "mario@pec.alpha.test", 3);
    let codes = Client::connect(env.access).send(
        "EHLO",
        "mario@pec.alpha.test",
        &["luigi@pec.beta.test"],
        &second,
    );
    assert_eq!(codes, [250], "{}", d.stderr());
    assert!(d.stderr().contains("(replayed)"), "{}", d.stderr());
    assert_eq!(env.sink.count("posta-certificata", "luigi@pec.beta.test"), 3);
    assert_eq!(env.sink.count("accettazione", "mario@pec.alpha.test"), 3);
    assert!(env.sink.all().len() >= before + 2);

    // 7. hostile clients get protocol errors; a silent one blocks nobody
    let mut silent = TcpStream::connect(("127.0.0.1", env.access)).unwrap();
    let mut c = Client::connect(env.access);
    c.ok("EHLO hostile.test", 250);
    c.ok("MAIL FROM:<mario@pec.alpha.test> SIZE=999999999", 552);
    c.ok(&format!("NOOP {}", "x".repeat(5000)), 500);
    c.ok("GARBAGE \u{1}\u{2}", 500);
    c.ok("MAIL FROM:<mario@pec.alpha.test>", 250);
    for i in 0..3 {
        c.ok(&format!("RCPT TO:<r{i}@pec.beta.test>"), 250);
    }
    c.ok("RCPT TO:<r9@pec.beta.test>", 452);
    c.ok("DATA", 354);
    let big =
        format!("Subject: big\r\n\r\n{}{}\r\n.\r\n", "y".repeat(1500), "\r\nz".repeat(120_000));
    c.w.write_all(big.as_bytes()).unwrap();
    assert_eq!(c.reply().0, 552);
    c.ok("MAIL FROM:<mario@pec.alpha.test>", 250);
    c.ok("RCPT TO:<luigi@pec.beta.test>", 250);
    c.ok("DATA", 354);
    c.w.write_all(format!("Subject: long\r\n\r\n{}\r\n.\r\n", "w".repeat(3000)).as_bytes())
        .unwrap();
    assert_eq!(c.reply().0, 500);
    c.ok("QUIT", 221);
    let mut g = Client::connect(env.access);
    for _ in 0..10 {
        assert_eq!(g.cmd("\u{7f}\u{0}garbage").0, 500);
    }
    assert_eq!(g.reply().0, 421, "too many errors: the connection is closed");
    // the next client is served while the silent one still holds its connection
    let mut ok = Client::connect(env.delivery);
    ok.ok("LHLO next.test", 250);
    ok.ok("QUIT", 221);
    let mut buf = [0u8; 64];
    let n = silent.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"220"));

    // more connections than max_connections: 421 at the greeting, never a crash; once they
    // are gone the next client is served
    let greeting = |s: &mut TcpStream| {
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut b = [0u8; 64];
        let n = s.read(&mut b).unwrap_or(0);
        String::from_utf8_lossy(&b[..n]).to_string()
    };
    let mut held = Vec::new();
    let mut refused = false;
    for _ in 0..20 {
        let mut s = TcpStream::connect(("127.0.0.1", env.incoming)).unwrap();
        let g = greeting(&mut s);
        if g.starts_with("421") {
            refused = true;
            break;
        }
        assert!(g.starts_with("220"), "{g}");
        held.push(s);
    }
    assert!(refused && held.len() <= 6, "{} sessions held", held.len());
    drop(held);
    drop(silent);
    let t0 = Instant::now();
    loop {
        let mut s = TcpStream::connect(("127.0.0.1", env.access)).unwrap();
        if greeting(&mut s).starts_with("220") {
            break;
        }
        assert!(t0.elapsed() < DEADLINE, "never served again");
        std::thread::sleep(Duration::from_millis(50));
    }

    // 8. a day later (by the serve clock) the finished days of the legal log are sealed,
    // each export encrypted to the [atrest] recipients (DAY.jsonl.p7m), no plaintext left
    let o = pec(&["engine", "clock", "advance", "1d", "--config", &cfg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t0 = Instant::now();
    let sealed = |ext: &str| {
        std::fs::read_dir(env.dir.join("log"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(ext))
    };
    while !(sealed(".jsonl.p7m") && sealed(".p7s")) {
        assert!(t0.elapsed() < DEADLINE, "no seal: {}", d.stderr());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!sealed(".jsonl"), "no plaintext export");
    for e in std::fs::read_dir(env.dir.join("log")).unwrap().flatten() {
        let p = e.path();
        if p.to_string_lossy().ends_with(".jsonl.p7m") {
            let key = env.dir.join("b.key").display().to_string();
            let o = pec(&["decrypt", "--key", &key, p.to_str().unwrap()]);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert!(o.stdout.starts_with(b"{") && o.stdout.ends_with(b"\n"), "JSON Lines");
        }
    }

    let (st, log) = d.stop();
    assert_eq!(st.code(), Some(0), "{log}");
    assert!(log.contains("stopped"), "{log}");
    let o = pec(&["log", "verify", "--config", &cfg]);
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if std::env::var_os("PEC_TEST_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&env.dir);
    }
}

#[test]
fn clock_advance_needs_a_duration() {
    let o = pec(&["engine", "clock", "advance", "soon", "--config", "/nonexistent.toml"]);
    assert_eq!(o.status.code(), Some(2));
}
