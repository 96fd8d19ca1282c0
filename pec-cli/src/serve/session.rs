//! The server side of one SMTP or LMTP connection (RFC 5321, RFC 2033), written for what
//! Postfix's `smtp`/`lmtp` client sends to a content filter or an LMTP transport: EHLO/HELO
//! (LHLO), PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES, XFORWARD, MAIL, RCPT, DATA,
//! RSET, NOOP, QUIT. The message bytes are kept exactly as received (line endings included)
//! after dot-unstuffing.
//!
//! Limits give protocol errors, never a crash: a command line over [`CMD_MAX`] → 500, a data
//! line over `max_line` → 500 after the data, a message over `max_size` (announced with SIZE
//! or found while reading) → 552, a recipient over `max_recipients` → 452, an idle client →
//! 421, too many bad commands → 421. The stream has a short read timeout so that a stop
//! request is seen between commands: a transaction in its DATA phase is finished first.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pec_core::points::Reply;

/// The longest command line accepted (RFC 5321 §4.5.3.1.4 says 512; XFORWARD and long
/// parameters get some room).
pub const CMD_MAX: usize = 2048;

/// Bad commands tolerated before the connection is closed with 421.
const MAX_ERRORS: u32 = 10;

/// The limits of a session.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest message (bytes, after dot-unstuffing).
    pub max_size: usize,
    /// Longest data line (bytes, line ending included).
    pub max_line: usize,
    /// Most recipients of one transaction.
    pub max_recipients: usize,
    /// Longest silence of a client.
    pub idle: Duration,
}

/// One transaction, as received.
#[derive(Clone, Debug, Default)]
pub struct Envelope {
    /// `MAIL FROM` without angle brackets (empty: the null reverse path).
    pub mail_from: String,
    /// Every accepted `RCPT TO`, without angle brackets.
    pub rcpts: Vec<String>,
    /// The message, dot-unstuffed, line endings as received.
    pub data: Vec<u8>,
    /// What the client said in EHLO/HELO/LHLO.
    pub helo: String,
    /// The TCP peer.
    pub peer: String,
    /// XFORWARD attributes (`ADDR`, `NAME`, `HELO`, `PROTO`, ...), upper-case names.
    pub xforward: Vec<(String, String)>,
}

impl Envelope {
    /// The original client as XFORWARD named it, in the form of Postfix's `Received:`
    /// (`HELO (NAME [ADDR])`); `None` without XFORWARD `ADDR`.
    pub fn forwarded_client(&self) -> Option<String> {
        let get = |k: &str| {
            self.xforward
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty() && v != "[UNAVAILABLE]" && v != "[TEMPUNAVAIL]")
        };
        let addr = get("ADDR")?;
        let name = get("NAME").unwrap_or_else(|| "unknown".into());
        Some(match get("HELO") {
            Some(h) => format!("{h} ({name} [{addr}])"),
            None => format!("{name} [{addr}]"),
        })
    }

    /// The client for the daemon's log: XFORWARD's, else the TCP peer.
    pub fn client(&self) -> String {
        self.forwarded_client().unwrap_or_else(|| self.peer.clone())
    }
}

/// What receives the transactions of a listener.
pub trait Handler: Send + Sync {
    /// The reply to DATA: one for SMTP, one per recipient (in order) for LMTP.
    fn data(&self, env: &Envelope) -> Vec<Reply>;
}

enum ReadErr {
    /// The peer closed the connection or it failed.
    Closed,
    /// The client was silent longer than the idle limit.
    Idle,
    /// The daemon is stopping (only between commands).
    Stop,
    /// The line was longer than allowed (it was consumed).
    TooLong,
}

/// A line reader over the stream with limits, idle timeout and stop polling.
struct Conn<'a> {
    stream: TcpStream,
    buf: Vec<u8>,
    pos: usize,
    stop: &'a AtomicBool,
    idle: Duration,
}

impl Conn<'_> {
    fn write(&mut self, s: &str) -> bool {
        self.stream.write_all(s.as_bytes()).is_ok()
    }

    fn reply(&mut self, r: &Reply) -> bool {
        let text: String =
            r.text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(400).collect();
        self.write(&format!("{} {} {}\r\n", r.code, r.status, text))
    }

    /// The next line (its ending included), at most `max` bytes.
    fn read_line(&mut self, max: usize, in_data: bool) -> Result<Vec<u8>, ReadErr> {
        let mut overlong = false;
        let mut last = Instant::now();
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.pos..]) {
                let start = self.pos;
                self.pos += i + 1;
                let line = self.buf[start..self.pos].to_vec();
                if self.pos == self.buf.len() {
                    self.buf.clear();
                    self.pos = 0;
                }
                if overlong || line.len() > max {
                    return Err(ReadErr::TooLong);
                }
                return Ok(line);
            }
            if self.buf.len() - self.pos > max {
                // drop what is already too long; keep reading to its end
                overlong = true;
                self.buf.clear();
                self.pos = 0;
            } else if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            if !in_data && !overlong && self.buf.is_empty() && self.stop.load(Ordering::SeqCst) {
                return Err(ReadErr::Stop);
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(ReadErr::Closed),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    last = Instant::now();
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if last.elapsed() >= self.idle {
                        return Err(ReadErr::Idle);
                    }
                }
                Err(_) => return Err(ReadErr::Closed),
            }
        }
    }
}

fn r(code: u16, status: &str, text: &str) -> Reply {
    Reply::new(code, status, text)
}

/// Decodes an xtext value (RFC 3461 §4: `+HH` for a byte; XFORWARD values use it).
fn xtext(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'+', Some(c)) => {
                out.push(c);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).chars().filter(|c| !c.is_control()).collect()
}

/// Splits `FROM:<a@b> SIZE=10` (after the verb) into the path and the parameters.
fn path_arg(arg: &str, prefix: &str) -> Option<(String, Vec<(String, String)>)> {
    let head = arg.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = arg[prefix.len()..].trim_start();
    let (path, params) = if let Some(r) = rest.strip_prefix('<') {
        let end = r.find('>')?;
        (&r[..end], &r[end + 1..])
    } else {
        match rest.find(' ') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    };
    // a source route (@a,@b:user@d) is ignored (RFC 5321 §4.1.1.3)
    let path = match path.starts_with('@') {
        true => path.split_once(':').map(|(_, p)| p).unwrap_or(""),
        false => path,
    };
    if path.len() > 320 || path.chars().any(|c| c.is_control() || c == ' ' || c == '<') {
        return None;
    }
    let params = params
        .split_whitespace()
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_ascii_uppercase(), v.to_string()),
            None => (p.to_ascii_uppercase(), String::new()),
        })
        .collect();
    Some((path.to_string(), params))
}

/// Serves one connection until QUIT, the peer closing, idleness, too many errors or a stop.
pub fn serve(
    stream: TcpStream,
    lmtp: bool,
    hostname: &str,
    limits: &Limits,
    handler: &dyn Handler,
    stop: &AtomicBool,
) {
    let peer = stream.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = stream.set_write_timeout(Some(limits.idle));
    let _ = stream.set_nodelay(true);
    let mut c = Conn { stream, buf: Vec::new(), pos: 0, stop, idle: limits.idle };
    let kind = if lmtp { "LMTP" } else { "ESMTP" };
    if !c.write(&format!("220 {hostname} {kind} pec serve\r\n")) {
        return;
    }
    let mut helo: Option<String> = None;
    let mut env = Envelope { peer: peer.clone(), ..Envelope::default() };
    let mut mail = false;
    let mut errors = 0u32;
    loop {
        let line = match c.read_line(CMD_MAX, false) {
            Ok(l) => l,
            Err(ReadErr::TooLong) => {
                errors += 1;
                if !c.reply(&r(500, "5.5.2", "line too long")) {
                    return;
                }
                if errors >= MAX_ERRORS {
                    c.reply(&r(421, "4.7.0", "too many errors, closing"));
                    return;
                }
                continue;
            }
            Err(ReadErr::Idle) => {
                c.reply(&r(421, "4.4.2", "idle too long, closing"));
                return;
            }
            Err(ReadErr::Stop) => {
                c.reply(&r(421, "4.3.2", "shutting down, try again later"));
                return;
            }
            Err(ReadErr::Closed) => return,
        };
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (text.to_ascii_uppercase(), ""),
        };
        let ok = match verb.as_str() {
            "EHLO" | "HELO" | "LHLO" => {
                if lmtp != (verb == "LHLO") {
                    errors += 1;
                    let want = if lmtp { "LHLO" } else { "EHLO or HELO" };
                    c.reply(&r(500, "5.5.1", &format!("this is {kind}: send {want}")))
                } else if arg.is_empty() {
                    errors += 1;
                    c.reply(&r(501, "5.5.4", "a domain or address literal is required"))
                } else {
                    helo = Some(arg.to_string());
                    env = Envelope { peer: peer.clone(), ..Envelope::default() };
                    mail = false;
                    if verb == "HELO" {
                        c.write(&format!("250 {hostname}\r\n"))
                    } else {
                        c.write(&format!(
                            "250-{hostname}\r\n250-PIPELINING\r\n250-SIZE {}\r\n250-8BITMIME\r\n\
                             250-ENHANCEDSTATUSCODES\r\n250-XFORWARD NAME ADDR PROTO HELO SOURCE \
                             PORT IDENT\r\n250 SMTPUTF8\r\n",
                            limits.max_size
                        ))
                    }
                }
            }
            "XFORWARD" => {
                if mail {
                    c.reply(&r(503, "5.5.1", "XFORWARD inside a transaction"))
                } else {
                    for a in arg.split_whitespace() {
                        if let Some((k, v)) = a.split_once('=') {
                            let k = k.to_ascii_uppercase();
                            if env.xforward.len() < 16 {
                                env.xforward.retain(|(n, _)| *n != k);
                                env.xforward.push((k, xtext(v)));
                            }
                        }
                    }
                    c.reply(&r(250, "2.0.0", "Ok"))
                }
            }
            "MAIL" => {
                if helo.is_none() {
                    c.reply(&r(503, "5.5.1", "send EHLO first"))
                } else if mail {
                    c.reply(&r(503, "5.5.1", "nested MAIL command"))
                } else {
                    match path_arg(arg, "FROM:") {
                        None => {
                            errors += 1;
                            c.reply(&r(501, "5.1.7", "bad sender address syntax"))
                        }
                        Some((path, params)) => {
                            let size = params
                                .iter()
                                .find(|(k, _)| k == "SIZE")
                                .and_then(|(_, v)| v.parse::<u64>().ok());
                            if size.is_some_and(|s| s > limits.max_size as u64) {
                                c.reply(&r(552, "5.3.4", "message size exceeds fixed limit"))
                            } else {
                                mail = true;
                                env.mail_from = path;
                                env.rcpts.clear();
                                env.helo = helo.clone().unwrap_or_default();
                                c.reply(&r(250, "2.1.0", "Ok"))
                            }
                        }
                    }
                }
            }
            "RCPT" => {
                if !mail {
                    c.reply(&r(503, "5.5.1", "need MAIL command"))
                } else if env.rcpts.len() >= limits.max_recipients {
                    c.reply(&r(452, "4.5.3", "too many recipients"))
                } else {
                    match path_arg(arg, "TO:") {
                        Some((path, _)) if path.contains('@') => {
                            env.rcpts.push(path);
                            c.reply(&r(250, "2.1.5", "Ok"))
                        }
                        _ => {
                            errors += 1;
                            c.reply(&r(501, "5.1.3", "bad recipient address syntax"))
                        }
                    }
                }
            }
            "DATA" => {
                if !mail {
                    c.reply(&r(503, "5.5.1", "need MAIL command"))
                } else if env.rcpts.is_empty() {
                    c.reply(&r(554, "5.5.1", "no valid recipients"))
                } else if !c.write("354 End data with <CR><LF>.<CR><LF>\r\n") {
                    return;
                } else {
                    let Some(fault) = read_data(&mut c, limits, &mut env.data) else {
                        return;
                    };
                    let replies = match fault {
                        Some(f) => vec![f; if lmtp { env.rcpts.len() } else { 1 }],
                        None => handler.data(&env),
                    };
                    let mut ok = true;
                    for rep in &replies {
                        ok &= c.reply(rep);
                    }
                    // XFORWARD attributes last one transaction (XFORWARD_README)
                    mail = false;
                    env.data = Vec::new();
                    env.rcpts.clear();
                    env.xforward.clear();
                    ok
                }
            }
            "RSET" => {
                mail = false;
                env.rcpts.clear();
                env.data = Vec::new();
                env.xforward.clear();
                c.reply(&r(250, "2.0.0", "Ok"))
            }
            "NOOP" => c.reply(&r(250, "2.0.0", "Ok")),
            "QUIT" => {
                c.reply(&r(221, "2.0.0", "Bye"));
                return;
            }
            "VRFY" => c.reply(&r(252, "2.5.0", "cannot VRFY, send some mail")),
            _ => {
                errors += 1;
                c.reply(&r(500, "5.5.1", "command unrecognized"))
            }
        };
        if !ok {
            return;
        }
        if errors >= MAX_ERRORS {
            c.reply(&r(421, "4.7.0", "too many errors, closing"));
            return;
        }
    }
}

/// Reads the data up to the lone dot. `None`: the connection is gone; `Some(Some(reply))`:
/// the message broke a limit (read to its end, discarded); `Some(None)`: `data` holds it.
fn read_data(c: &mut Conn<'_>, limits: &Limits, data: &mut Vec<u8>) -> Option<Option<Reply>> {
    data.clear();
    let (mut too_big, mut too_long) = (false, false);
    loop {
        match c.read_line(limits.max_line, true) {
            Ok(line) => {
                if line == b".\r\n" || line == b".\n" {
                    break;
                }
                let line = line.strip_prefix(b".").unwrap_or(&line);
                if too_big || too_long {
                    continue;
                }
                if data.len() + line.len() > limits.max_size {
                    too_big = true;
                    *data = Vec::new();
                } else {
                    data.extend_from_slice(line);
                }
            }
            Err(ReadErr::TooLong) => {
                too_long = true;
                *data = Vec::new();
            }
            Err(ReadErr::Idle) => {
                c.reply(&r(421, "4.4.2", "idle too long in DATA, closing"));
                return None;
            }
            Err(ReadErr::Stop | ReadErr::Closed) => return None,
        }
    }
    Some(if too_big {
        Some(r(552, "5.3.4", "message size exceeds fixed limit"))
    } else if too_long {
        Some(r(500, "5.5.2", "line too long"))
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::{path_arg, xtext};

    #[test]
    fn xtext_values() {
        assert_eq!(xtext("mua+20host"), "mua host");
        assert_eq!(xtext("a+2"), "a+2");
        assert_eq!(xtext("+0Ax"), "x");
    }

    #[test]
    fn paths() {
        let (p, params) = path_arg("FROM:<a@b.it> SIZE=12 BODY=8BITMIME", "FROM:").unwrap();
        assert_eq!(p, "a@b.it");
        assert_eq!(params[0], ("SIZE".into(), "12".into()));
        assert_eq!(path_arg("from: <>", "FROM:").unwrap().0, "");
        assert_eq!(path_arg("TO:<@x,@y:u@d>", "TO:").unwrap().0, "u@d");
        assert!(path_arg("TO:<a b@c>", "TO:").is_none());
        assert!(path_arg("TO", "TO:").is_none());
    }
}
