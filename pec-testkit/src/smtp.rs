//! An in-test SMTP sink (the MTA's re-injection port: keeps every message it is given, or
//! answers 421 while "down"), a free loopback port, and a command run with its standard
//! input written from another thread.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A loopback TCP port free at the time of the call.
///
/// # Panics
/// When no port can be bound on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// One message the sink received.
#[derive(Clone, Debug)]
pub struct Received {
    /// The reverse path (without angle brackets).
    pub from: String,
    /// The forward paths (without angle brackets).
    pub rcpts: Vec<String>,
    /// The data, dot-unstuffed, without the final dot line.
    pub data: Vec<u8>,
}

impl Received {
    /// The first field `name` of the top-level header block, trimmed (not unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.data);
        let head = text.split("\r\n\r\n").next().unwrap_or("");
        head.lines()
            .find(|l| {
                l.len() > name.len()
                    && l.get(..name.len()).is_some_and(|n| n.eq_ignore_ascii_case(name))
                    && l.get(name.len()..).is_some_and(|r| r.starts_with(':'))
            })
            .and_then(|l| l.get(name.len() + 1..))
            .map(|v| v.trim().to_string())
    }

    /// The PEC kind: `X-Ricevuta`, else `X-Trasporto` (empty for other mail).
    pub fn kind(&self) -> String {
        self.header("X-Ricevuta").or_else(|| self.header("X-Trasporto")).unwrap_or_default()
    }
}

/// An SMTP server on a loopback port keeping every message; while down it answers 421.
#[derive(Debug)]
pub struct Sink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    down: Arc<AtomicBool>,
}

impl Sink {
    /// Starts the sink (its threads live as long as the test process).
    ///
    /// # Panics
    /// When no port can be bound on 127.0.0.1.
    pub fn start() -> Sink {
        let l = TcpListener::bind("127.0.0.1:0").expect("a sink port on 127.0.0.1");
        let port = l.local_addr().expect("the sink's address").port();
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let (g, d) = (got.clone(), down.clone());
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let (g, d) = (g.clone(), d.clone());
                std::thread::spawn(move || session(s, &g, &d));
            }
        });
        Sink { port, got, down }
    }

    /// Every message so far, in order.
    pub fn all(&self) -> Vec<Received> {
        self.got.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Down (421 to every connection) or up.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many messages of `kind` went to `rcpt`.
    pub fn count(&self, kind: &str, rcpt: &str) -> usize {
        self.all().iter().filter(|g| g.kind() == kind && g.rcpts.iter().any(|r| r == rcpt)).count()
    }

    /// The first message `matches` accepts, waiting for it up to `deadline`.
    ///
    /// # Panics
    /// At the deadline, listing what came.
    pub fn wait_for(&self, deadline: Duration, matches: impl Fn(&Received) -> bool) -> Received {
        let t0 = Instant::now();
        loop {
            if let Some(g) = self.all().into_iter().find(|g| matches(g)) {
                return g;
            }
            assert!(t0.elapsed() < deadline, "not received; the sink has {:?}", self.summary());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The `n`th message (from 1) of `kind` to `rcpt`, waiting for it up to `deadline`.
    ///
    /// # Panics
    /// At the deadline, listing what came.
    pub fn wait_kind(&self, deadline: Duration, kind: &str, rcpt: &str, n: usize) -> Received {
        let t0 = Instant::now();
        loop {
            let all: Vec<Received> = self
                .all()
                .into_iter()
                .filter(|g| g.kind() == kind && g.rcpts.iter().any(|r| r == rcpt))
                .collect();
            if all.len() >= n
                && let Some(g) = all.get(n.saturating_sub(1))
            {
                return g.clone();
            }
            assert!(t0.elapsed() < deadline, "no {kind} for {rcpt}: got {:?}", self.summary());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// (kind, recipients) of each message so far.
    pub fn summary(&self) -> Vec<(String, Vec<String>)> {
        self.all().iter().map(|g| (g.kind(), g.rcpts.clone())).collect()
    }
}

fn session(s: TcpStream, got: &Mutex<Vec<Received>>, down: &AtomicBool) {
    let Ok(mut w) = s.try_clone() else { return };
    if down.load(Ordering::SeqCst) {
        let _ = w.write_all(b"421 4.3.2 down\r\n");
        return;
    }
    let mut r = BufReader::new(s);
    let _ = w.write_all(b"220 sink ESMTP\r\n");
    let (mut from, mut rcpts) = (String::new(), Vec::new());
    let path = |line: &str, at: usize| {
        line.get(at..).unwrap_or("").trim().trim_matches(['<', '>']).to_string()
    };
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let up = line.to_ascii_uppercase();
        if up.starts_with("EHLO") || up.starts_with("HELO") {
            let _ = w.write_all(b"250-sink\r\n250 8BITMIME\r\n");
        } else if up.starts_with("MAIL FROM:") {
            from = path(&line, 10);
            rcpts.clear();
            let _ = w.write_all(b"250 ok\r\n");
        } else if up.starts_with("RCPT TO:") {
            rcpts.push(path(&line, 8));
            let _ = w.write_all(b"250 ok\r\n");
        } else if up.starts_with("DATA") {
            let _ = w.write_all(b"354 go\r\n");
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if r.read_until(b'\n', &mut l).unwrap_or(0) == 0 {
                    return;
                }
                if l == b".\r\n" {
                    break;
                }
                data.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
            }
            let msg = Received { from: from.clone(), rcpts: std::mem::take(&mut rcpts), data };
            got.lock().unwrap_or_else(|e| e.into_inner()).push(msg);
            let _ = w.write_all(b"250 queued\r\n");
        } else if up.starts_with("QUIT") {
            let _ = w.write_all(b"221 bye\r\n");
            return;
        } else {
            let _ = w.write_all(b"250 ok\r\n");
        }
    }
}

/// Runs `cmd` with `stdin` written to it by another thread (a program that writes while it
/// reads would otherwise block on a full pipe), and its output collected.
///
/// # Panics
/// When the command cannot be started.
pub fn output_with_stdin(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let input = child.stdin.take();
    let data = stdin.map(<[u8]>::to_vec);
    let writer = std::thread::spawn(move || {
        if let (Some(mut input), Some(data)) = (input, data) {
            let _ = input.write_all(&data);
        }
    });
    let out = child.wait_with_output().expect("the command's output");
    let _ = writer.join();
    out
}
