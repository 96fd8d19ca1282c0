//! The client side: one SMTP transaction to the MTA's re-injection port (`[relay] smtp`), or
//! one LMTP transaction to an upstream mailbox server (`[mailbox] store = "lmtp:…"`). The
//! bytes are sent unchanged (dot-stuffed on the wire).

use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may take to answer a command (DATA's end included).
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);

/// A server reply: the code and its text (the enhanced status code first when given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerReply {
    /// `250`, `451`, `550`, ...
    pub code: u16,
    /// The text of the last line.
    pub text: String,
}

impl ServerReply {
    /// The enhanced status code at the start of the text, if any (`5.1.1`).
    pub fn status(&self) -> Option<String> {
        let first = self.text.split_whitespace().next()?;
        let parts: Vec<&str> = first.split('.').collect();
        (parts.len() == 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
        .then(|| first.to_string())
    }
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: &str) -> Result<Client, String> {
        let addrs: Vec<_> = addr.to_socket_addrs().map_err(|e| format!("{addr}: {e}"))?.collect();
        let mut last = format!("{addr}: no address");
        for a in addrs {
            match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(REPLY_TIMEOUT));
                    let _ = s.set_write_timeout(Some(REPLY_TIMEOUT));
                    let _ = s.set_nodelay(true);
                    let writer = s.try_clone().map_err(|e| format!("{addr}: {e}"))?;
                    return Ok(Client { reader: BufReader::new(s), writer });
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(last)
    }

    fn reply(&mut self) -> Result<ServerReply, String> {
        let mut lines = 0;
        loop {
            let mut line = Vec::new();
            let n = (&mut self.reader)
                .take(4096)
                .read_until(b'\n', &mut line)
                .map_err(|e| format!("reading the reply: {e}"))?;
            if n == 0 {
                return Err("the server closed the connection".into());
            }
            let s = String::from_utf8_lossy(&line);
            let s = s.trim_end();
            let code: u16 = s
                .get(..3)
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| format!("bad reply line {s:?}"))?;
            lines += 1;
            if s.as_bytes().get(3) != Some(&b'-') || lines > 100 {
                return Ok(ServerReply { code, text: s.get(4..).unwrap_or("").to_string() });
            }
        }
    }

    fn command(&mut self, line: &str) -> Result<ServerReply, String> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("sending {line:?}: {e}"))?;
        self.reply()
    }
}

fn expect(r: ServerReply, what: &str, want: u16) -> Result<ServerReply, String> {
    if r.code == want { Ok(r) } else { Err(format!("{what}: {} {}", r.code, r.text)) }
}

/// The bytes dot-stuffed and ended with CRLF `.` CRLF.
fn stuffed(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 8);
    for line in data.split_inclusive(|b| *b == b'\n') {
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// One transaction: `rcpts` refused at RCPT get that reply; the others get the reply to the
/// data (LMTP: one each). `Err`: nothing was delivered (connection, greeting, MAIL failed).
pub fn transaction(
    addr: &str,
    lmtp: bool,
    helo: &str,
    mail_from: &str,
    rcpts: &[String],
    data: &[u8],
) -> Result<Vec<ServerReply>, String> {
    let mut c = Client::connect(addr)?;
    expect(c.reply()?, "greeting", 220)?;
    let hello = if lmtp { "LHLO" } else { "EHLO" };
    let ehlo = c.command(&format!("{hello} {helo}"))?;
    if ehlo.code != 250 {
        if lmtp {
            return Err(format!("LHLO: {} {}", ehlo.code, ehlo.text));
        }
        expect(c.command(&format!("HELO {helo}"))?, "HELO", 250)?;
    }
    expect(c.command(&format!("MAIL FROM:<{mail_from}>"))?, "MAIL FROM", 250)?;
    let mut out: Vec<Option<ServerReply>> = Vec::with_capacity(rcpts.len());
    for r in rcpts {
        let rep = c.command(&format!("RCPT TO:<{r}>"))?;
        out.push(if rep.code == 250 || rep.code == 251 { None } else { Some(rep) });
    }
    let accepted = out.iter().filter(|o| o.is_none()).count();
    if accepted == 0 {
        let _ = c.command("QUIT");
        return Ok(out.into_iter().flatten().collect());
    }
    expect(c.command("DATA")?, "DATA", 354)?;
    c.writer.write_all(&stuffed(data)).map_err(|e| format!("sending the data: {e}"))?;
    let mut data_reply = None;
    for o in out.iter_mut().filter(|o| o.is_none()) {
        let rep = c.reply()?;
        if lmtp {
            *o = Some(rep);
        } else {
            data_reply = Some(rep);
            break;
        }
    }
    let _ = c.command("QUIT");
    Ok(out
        .into_iter()
        .map(|o| {
            o.or_else(|| data_reply.clone())
                .unwrap_or(ServerReply { code: 451, text: "4.3.0 no reply".into() })
        })
        .collect())
}

/// Sends `data` over SMTP to `addr`; `Ok` only when every recipient was accepted and the
/// data answered 250.
pub fn send(
    addr: &str,
    helo: &str,
    mail_from: &str,
    rcpts: &[String],
    data: &[u8],
) -> Result<(), String> {
    let replies = transaction(addr, false, helo, mail_from, rcpts, data)?;
    match replies.iter().zip(rcpts).find(|(r, _)| r.code != 250) {
        None => Ok(()),
        Some((r, to)) => Err(format!("{addr} refused {to}: {} {}", r.code, r.text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_stuffing() {
        assert_eq!(stuffed(b"a\r\n.b\r\n"), b"a\r\n..b\r\n.\r\n");
        assert_eq!(stuffed(b"a"), b"a\r\n.\r\n");
    }

    #[test]
    fn enhanced_status() {
        let r = ServerReply { code: 550, text: "5.1.1 unknown user".into() };
        assert_eq!(r.status().as_deref(), Some("5.1.1"));
        let r = ServerReply { code: 550, text: "unknown user".into() };
        assert_eq!(r.status(), None);
    }
}
