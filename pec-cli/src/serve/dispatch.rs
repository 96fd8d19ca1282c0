//! Where the engine's emissions go, and the mailbox store of the delivery point.
//!
//! | route | sent to |
//! |---|---|
//! | `relay` | `[relay] smtp` (the MTA routes it to the other provider) |
//! | `deliver` | `[relay] smtp` (the MTA hands it back over LMTP to the delivery point) |
//! | `loopback` | this daemon's incoming point, in process (`Engine::on_inbound`) |
//! | `service-mailbox` | `[mailbox] store`, directly |
//!
//! A row is acknowledged (`Engine::ack`) only once every group of it went out; a row is sent
//! by one thread at a time (in flight set), and the groups already sent are remembered, so a
//! retry sends only what is missing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pec_core::checks::SmtpEnvelope;
use pec_core::points::{Antivirus, MailboxOutcome, Route};
use pec_engine::{Engine, Outgoing};

use super::client;

/// `[mailbox] store`.
#[derive(Clone, Debug)]
pub enum Mailbox {
    /// `maildir:TEMPLATE` with `{domain}` and `{local}`.
    Maildir(String),
    /// `lmtp:HOST:PORT`.
    Lmtp(String),
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn temp(text: impl Into<String>) -> MailboxOutcome {
    MailboxOutcome::Temporary { status: "4.3.0".into(), text: text.into() }
}

impl Mailbox {
    /// Parses `maildir:…` or `lmtp:host:port`.
    pub fn parse(s: &str) -> Result<Mailbox, String> {
        if let Some(t) = s.strip_prefix("maildir:") {
            if t.is_empty() {
                return Err("[mailbox] store = \"maildir:\" needs a path template".into());
            }
            Ok(Mailbox::Maildir(t.to_string()))
        } else if let Some(a) = s.strip_prefix("lmtp:") {
            // also Postfix's spelling lmtp:inet:host:port
            let a = a.trim_start_matches("//");
            let a = a.strip_prefix("inet:").unwrap_or(a);
            if a.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()) {
                return Err(format!("[mailbox] store = {s:?}: lmtp:HOST:PORT"));
            }
            Ok(Mailbox::Lmtp(a.to_string()))
        } else {
            Err(format!("[mailbox] store = {s:?}: maildir:TEMPLATE or lmtp:HOST:PORT"))
        }
    }

    /// Stores `data` for each recipient; one outcome per recipient, in order.
    pub fn store(
        &self,
        helo: &str,
        mail_from: &str,
        rcpts: &[String],
        data: &[u8],
    ) -> Vec<MailboxOutcome> {
        match self {
            Mailbox::Maildir(t) => rcpts.iter().map(|r| maildir_store(t, r, data)).collect(),
            Mailbox::Lmtp(addr) => {
                match client::transaction(addr, true, helo, mail_from, rcpts, data) {
                    Err(e) => rcpts.iter().map(|_| temp(format!("mailbox server: {e}"))).collect(),
                    Ok(replies) => replies
                        .into_iter()
                        .map(|r| {
                            let status = r.status();
                            match r.code {
                                200..=299 => MailboxOutcome::Stored,
                                500..=599 => MailboxOutcome::Permanent {
                                    status: status.unwrap_or_else(|| "5.0.0".into()),
                                    text: r.text,
                                },
                                _ => MailboxOutcome::Temporary {
                                    status: status.unwrap_or_else(|| "4.0.0".into()),
                                    text: r.text,
                                },
                            }
                        })
                        .collect(),
                }
            }
        }
    }
}

/// Stores into the Maildir of `rcpt` (tmp/, fsync, rename into new/, fsync of new/).
fn maildir_store(template: &str, rcpt: &str, data: &[u8]) -> MailboxOutcome {
    let rcpt = rcpt.to_ascii_lowercase();
    let Some((local, domain)) = rcpt.rsplit_once('@') else {
        return MailboxOutcome::Permanent {
            status: "5.1.3".into(),
            text: format!("bad recipient address {rcpt}"),
        };
    };
    let unsafe_part = |p: &str| {
        p.is_empty() || p.starts_with('.') || p.contains('/') || p.contains('\0') || p.len() > 200
    };
    if unsafe_part(local) || unsafe_part(domain) {
        return MailboxOutcome::Permanent {
            status: "5.1.3".into(),
            text: format!("recipient {rcpt} cannot name a mailbox"),
        };
    }
    let dir = PathBuf::from(template.replace("{domain}", domain).replace("{local}", local));
    let result = (|| -> std::io::Result<()> {
        for sub in ["tmp", "new", "cur"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let name = format!(
            "{}.M{}P{}Q{}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            pec_engine::host_name().replace(['/', ':'], "_")
        );
        let tmp = dir.join("tmp").join(&name);
        {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, dir.join("new").join(&name))?;
        std::fs::File::open(dir.join("new"))?.sync_all()?;
        Ok(())
    })();
    match result {
        Ok(()) => MailboxOutcome::Stored,
        Err(e) => temp(format!("mailbox {}: {e}", dir.display())),
    }
}

#[derive(Default)]
struct Flight {
    /// Rows being sent now.
    inflight: HashSet<i64>,
    /// Rows acknowledged by this process (a cache against a concurrent sender's race).
    done: HashSet<i64>,
    /// Groups already sent of rows not acknowledged yet.
    groups_done: HashMap<i64, usize>,
}

/// Sends the engine's emissions by route and acknowledges them.
pub struct Dispatcher {
    engine: Arc<Engine>,
    relay: String,
    mailbox: Option<Mailbox>,
    helo: String,
    flight: Mutex<Flight>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").field("relay", &self.relay).finish()
    }
}

impl Dispatcher {
    /// A dispatcher re-injecting into `relay`.
    pub fn new(engine: Arc<Engine>, relay: String, mailbox: Option<Mailbox>, helo: String) -> Self {
        Dispatcher { engine, relay, mailbox, helo, flight: Mutex::default() }
    }

    fn flight(&self) -> std::sync::MutexGuard<'_, Flight> {
        self.flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends every row not sent yet; `Err` names the first that failed (the others were
    /// still tried).
    pub fn dispatch(&self, rows: &[Outgoing]) -> Result<(), String> {
        let mut first = Ok(());
        for o in rows.iter().filter(|o| !o.sent) {
            if let Err(e) = self.send_row(o) {
                if first.is_ok() {
                    first = Err(e);
                }
            }
        }
        first
    }

    /// Sends one row (waiting for another thread sending it) and acknowledges it.
    pub fn send_row(&self, o: &Outgoing) -> Result<(), String> {
        self.send_row_inner(o, true)
    }

    /// Sends one row unless another thread is sending it (then `Ok`: that one reports).
    pub fn try_send_row(&self, o: &Outgoing) -> Result<(), String> {
        self.send_row_inner(o, false)
    }

    fn send_row_inner(&self, o: &Outgoing, wait: bool) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(150);
        loop {
            {
                let mut f = self.flight();
                if f.done.contains(&o.id) {
                    return Ok(());
                }
                if !f.inflight.contains(&o.id) {
                    f.inflight.insert(o.id);
                    break;
                }
                if !wait {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(format!("outbox {}: still being sent by another thread", o.id));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let r = self.send_groups(o).and_then(|()| {
            self.engine.ack(&[o.id]).map(|_| ()).map_err(|e| format!("ack {}: {e}", o.id))
        });
        let mut f = self.flight();
        f.inflight.remove(&o.id);
        if r.is_ok() {
            if f.done.len() > 100_000 {
                f.done.clear();
            }
            f.done.insert(o.id);
            f.groups_done.remove(&o.id);
            super::info(&format!(
                "sent {} {} (outbox {})",
                o.kind,
                o.identifier.as_deref().unwrap_or("-"),
                o.id
            ));
        }
        r
    }

    fn send_groups(&self, o: &Outgoing) -> Result<(), String> {
        let skip = self.flight().groups_done.get(&o.id).copied().unwrap_or(0);
        for (i, g) in o.groups.iter().enumerate().skip(skip) {
            match g.route {
                Route::Loopback => self.loopback(o, &g.rcpt_to)?,
                Route::ServiceMailbox => {
                    let m = self
                        .mailbox
                        .as_ref()
                        .ok_or("no [mailbox] store for the service mailbox")?;
                    let results = m.store(&self.helo, &o.mail_from, &g.rcpt_to, &o.bytes);
                    if let Some(bad) = results.iter().find(|r| !matches!(r, MailboxOutcome::Stored))
                    {
                        return Err(format!("service mailbox: {bad:?}"));
                    }
                }
                // relay and deliver, and any route added later: the MTA routes it
                _ => client::send(&self.relay, &self.helo, &o.mail_from, &g.rcpt_to, &o.bytes)?,
            }
            self.flight().groups_done.insert(o.id, i + 1);
        }
        Ok(())
    }

    /// This provider's own incoming point, in process (§3.4: same-provider mail passes the
    /// incoming and delivery points).
    fn loopback(&self, o: &Outgoing, rcpts: &[String]) -> Result<(), String> {
        let smtp = SmtpEnvelope {
            reverse_path: (!o.mail_from.is_empty()).then(|| o.mail_from.clone()),
            forward_paths: rcpts.to_vec(),
        };
        let out = self
            .engine
            .on_inbound(&smtp, &o.bytes, &Antivirus::Clean)
            .map_err(|e| format!("incoming point (loopback): {e}"))?;
        if out.reply.is_temporary() {
            return Err(format!("incoming point (loopback): {}", out.reply.line()));
        }
        if !out.reply.is_ok() {
            super::warn(&format!(
                "incoming point refused outbox {} (loopback): {}",
                o.id,
                out.reply.line()
            ));
        }
        self.dispatch(&out.emissions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    /// An upstream LMTP server answering each recipient as told.
    fn lmtp_server(answers: Vec<&'static str>) -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            let mut w = s.try_clone().unwrap();
            let mut r = BufReader::new(s);
            w.write_all(b"220 lmtp\r\n").unwrap();
            let mut rcpt = 0;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let up = line.to_ascii_uppercase();
                if up.starts_with("LHLO") {
                    w.write_all(b"250-lmtp\r\n250 PIPELINING\r\n").unwrap();
                } else if up.starts_with("RCPT") {
                    let a = answers[rcpt];
                    rcpt += 1;
                    // a recipient refused at RCPT gets its answer there
                    let now = if a.starts_with("550 5.1.1") { a } else { "250 2.1.5 ok" };
                    w.write_all(format!("{now}\r\n").as_bytes()).unwrap();
                } else if up.starts_with("DATA") {
                    w.write_all(b"354 go\r\n").unwrap();
                    loop {
                        let mut l = String::new();
                        r.read_line(&mut l).unwrap();
                        if l == ".\r\n" {
                            break;
                        }
                    }
                    for a in answers.iter().filter(|a| !a.starts_with("550 5.1.1")) {
                        w.write_all(format!("{a}\r\n").as_bytes()).unwrap();
                    }
                } else {
                    w.write_all(b"250 2.0.0 ok\r\n").unwrap();
                }
            }
        });
        addr
    }

    #[test]
    fn upstream_lmtp_answers_per_recipient() {
        let addr =
            lmtp_server(vec!["250 2.0.0 stored", "550 5.1.1 no such user", "452 4.2.2 full"]);
        let m = Mailbox::parse(&format!("lmtp:{addr}")).unwrap();
        let rcpts: Vec<String> = ["a@d.it", "b@d.it", "c@d.it"].map(String::from).to_vec();
        let out = m.store("me", "s@d.it", &rcpts, b"Subject: x\r\n\r\n.dot\r\n");
        assert!(matches!(out[0], MailboxOutcome::Stored), "{out:?}");
        assert!(matches!(&out[1], MailboxOutcome::Permanent { status, .. } if status == "5.1.1"));
        assert!(matches!(&out[2], MailboxOutcome::Temporary { status, .. } if status == "4.2.2"));
        // nobody listening: temporary for everyone
        let down = Mailbox::parse("lmtp:inet:127.0.0.1:1").unwrap();
        let out = down.store("me", "s@d.it", &rcpts[..1], b"x\r\n");
        assert!(matches!(out[0], MailboxOutcome::Temporary { .. }), "{out:?}");
        assert!(Mailbox::parse("lmtp:nohost").is_err());
        assert!(Mailbox::parse("mbox:/var/mail").is_err());
    }

    #[test]
    fn maildir_refuses_paths_out_of_the_template() {
        let dir = std::env::temp_dir().join(format!("pec-maildir-{}", std::process::id()));
        let m = Mailbox::parse(&format!("maildir:{}/{{domain}}/{{local}}", dir.display())).unwrap();
        let rcpts: Vec<String> = ["../x@d.it", "a/b@d.it", "Ok@D.it"].map(String::from).to_vec();
        let out = m.store("me", "s@d.it", &rcpts, b"x\r\n");
        assert!(matches!(&out[0], MailboxOutcome::Permanent { status, .. } if status == "5.1.3"));
        assert!(matches!(&out[1], MailboxOutcome::Permanent { .. }));
        assert!(matches!(out[2], MailboxOutcome::Stored));
        assert_eq!(std::fs::read_dir(dir.join("d.it/ok/new")).unwrap().count(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
