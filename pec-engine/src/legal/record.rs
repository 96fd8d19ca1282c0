//! One legal-log record (RFC 6109 §2.3; ENGINE.md §5), its canonical bytes and the chain.
//!
//! The canonical form is defined once, here, and documented in `docs/LEGAL-LOG.md`: the
//! record as a JSON object with every key present (absent values `null`, lists `[]`), keys
//! in byte order, no whitespace, strings escaped as RFC 8785 does (`"` `\` and control
//! characters only; `\b \f \n \r \t` short forms, other controls `\u00xx`; everything else
//! literal UTF-8), integers in decimal. A line of an export is exactly these bytes.

use pec_core::daticert::Daticert;
use pec_core::headers::{Headers, decode_unstructured, parse_address_list};
use pec_core::identifier::strip_angle;
use pec_core::limits::Limits;
use pec_core::mailsec::auth::AuthResults;
use pec_core::message::PecMessage;
use pec_core::points::{LogEvent, MessageState};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev` of a node's first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The record format's version (`v`).
pub const VERSION: u32 = 1;

/// One record. The field order below is the canonical key order (byte order of the names).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRecord {
    /// The sender-authentication results of an arriving message (`ricezione`, `anomalia`,
    /// `scartato-dmarc` records, when `[dns]` is configured): SPF, DKIM, DMARC, ARC and the
    /// `Authentication-Results` field. Absent (not `null`) otherwise, so records written
    /// before it keep their canonical form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthResults>,
    /// The MTA client the event came from (`host [address]` of the topmost `Received:`).
    pub client: Option<String>,
    /// Date and time: the transaction's time reference, RFC 3339 with the provider's offset
    /// (`2026-12-01T23:15:34+01:00`); its first ten characters are the record's day.
    pub date: String,
    /// Free detail of the event.
    pub detail: String,
    /// `errore` (daticert vocabulary: `nessuno`, `no-dest`, `no-dominio`, `virus`, `altro`).
    pub errore: Option<String>,
    /// `errore-esteso`.
    pub errore_esteso: Option<String>,
    /// The event (`accettazione`, `consegna`, ...).
    pub event: String,
    /// The Message-IDs of the messages this event generated (receipts, notices, envelopes).
    pub generated: Vec<String>,
    /// The PEC identifier.
    pub identifier: Option<String>,
    /// The message's own Message-ID (the user's original; without angle brackets).
    pub msgid: Option<String>,
    /// The node that wrote it (one chain per node).
    pub node: String,
    /// `access`, `incoming`, `delivery`, `timer`.
    pub point: String,
    /// SHA-256 (hex) of the node's previous record's canonical bytes ([`GENESIS`] first).
    pub prev: String,
    /// The sending provider (`gestore-emittente`).
    pub provider: Option<String>,
    /// The MTA queue id (topmost `Received: ... id QUEUEID`).
    pub queue_id: Option<String>,
    /// The recipient concerned, when one.
    pub recipient: Option<String>,
    /// The message's recipients.
    pub recipients: Vec<String>,
    /// The sender.
    pub sender: Option<String>,
    /// The node's sequence number, from 1, without gaps.
    pub seq: u64,
    /// The subject.
    pub subject: Option<String>,
    /// The format version ([`VERSION`]).
    pub v: u32,
}

impl LogRecord {
    /// The canonical bytes (no trailing newline).
    pub fn canonical(&self) -> Vec<u8> {
        // serde_json writes struct fields in declaration order (sorted above), compactly, with
        // RFC 8785's string escaping; it cannot fail for this type
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a line and checks that it is canonical.
    ///
    /// # Errors
    /// A message saying what is wrong.
    pub fn parse_canonical(line: &[u8]) -> Result<LogRecord, String> {
        let r: LogRecord =
            serde_json::from_slice(line).map_err(|e| format!("not a log record: {e}"))?;
        if r.canonical() != line {
            return Err("not in canonical form".into());
        }
        if r.date.len() < 10 {
            return Err("bad date".into());
        }
        Ok(r)
    }

    /// The day (`YYYY-MM-DD` in the provider's zone).
    pub fn day(&self) -> &str {
        self.date.get(..10).unwrap_or("")
    }

    /// Every address the record names, lower-case, space-separated and space-padded (what
    /// `pec log search --address` matches).
    pub fn addresses(&self) -> String {
        let mut out = String::from(" ");
        let all = self.sender.iter().chain(self.recipient.iter()).chain(self.recipients.iter());
        for a in all {
            let a = a.trim().to_ascii_lowercase();
            if !a.is_empty() && !out.contains(&format!(" {a} ")) {
                out.push_str(&a);
                out.push(' ');
            }
        }
        out
    }

    /// Sets `node`, `seq` and `prev` after the node's last record (`None`: the first) and
    /// returns the canonical line and its SHA-256 (hex).
    pub fn link(&mut self, node: &str, last: Option<(u64, String)>) -> (String, String) {
        self.node = node.to_string();
        self.v = VERSION;
        match last {
            Some((seq, hash)) => {
                self.seq = seq + 1;
                self.prev = hash;
            }
            None => {
                self.seq = 1;
                self.prev = GENESIS.to_string();
            }
        }
        let bytes = self.canonical();
        let hash = sha256_hex(&bytes);
        (String::from_utf8(bytes).unwrap_or_default(), hash)
    }
}

/// SHA-256, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the engine knows about the message of an event, beyond the decision's log event.
#[derive(Clone, Debug, Default)]
pub struct EventContext {
    /// The message's Message-ID (the user's original).
    pub msgid: Option<String>,
    /// The sender.
    pub sender: Option<String>,
    /// The recipients.
    pub recipients: Vec<String>,
    /// The subject.
    pub subject: Option<String>,
    /// The sending provider.
    pub provider: Option<String>,
    /// The MTA queue id.
    pub queue_id: Option<String>,
    /// The MTA client.
    pub client: Option<String>,
    /// Sender authentication's results (incoming point, `[dns]` configured).
    pub auth: Option<AuthResults>,
}

impl EventContext {
    /// From a message's header block (a user's original at the access point).
    pub fn from_bytes(bytes: &[u8]) -> EventContext {
        let mut c = EventContext::default();
        let Ok(h) = Headers::parse(bytes, &Limits::default()) else { return c };
        c.msgid = h.value("Message-ID").map(|v| strip_angle(v.trim()).to_string());
        c.sender = h
            .value("From")
            .and_then(|v| parse_address_list(&v).into_iter().next())
            .map(|m| m.address);
        for f in ["To", "Cc"] {
            for field in h.get_all(f) {
                for m in parse_address_list(&field.unfolded()) {
                    c.recipients.push(m.address);
                }
            }
        }
        c.subject = h.get("Subject").map(|f| decode_unstructured(f.unfolded().trim().as_bytes()));
        c.received(&h);
        c
    }

    /// From a parsed PEC message: the signed `daticert.xml` when there is one (sender,
    /// recipients, subject, `gestore-emittente`, the original's msgid), else its headers.
    pub fn from_message(m: &PecMessage<'_>) -> EventContext {
        let mut c = EventContext::from_bytes(m.raw);
        if let Some(d) = &m.daticert {
            c.apply_daticert(d);
        } else {
            c.subject = m.subject.clone().or(c.subject);
            c.msgid = m.msgid.clone().map(|v| strip_angle(&v).to_string()).or(c.msgid);
        }
        c
    }

    fn apply_daticert(&mut self, d: &Daticert) {
        if !d.sender.is_empty() {
            self.sender = Some(d.sender.clone());
        }
        if !d.recipients.is_empty() {
            self.recipients = d.recipients.iter().map(|r| r.address.clone()).collect();
        }
        if d.subject.is_some() {
            self.subject = d.subject.clone();
        }
        if !d.issuer.is_empty() {
            self.provider = Some(d.issuer.clone());
        }
        if let Some(m) = &d.msgid {
            self.msgid = Some(strip_angle(m.trim()).to_string());
        }
    }

    /// From a message this provider sent (timers).
    pub fn from_state(m: &MessageState, provider: &str) -> EventContext {
        EventContext {
            msgid: m.msgid.as_deref().map(|v| strip_angle(v).to_string()),
            sender: Some(m.sender.clone()),
            recipients: m.recipients.iter().map(|r| r.address.clone()).collect(),
            subject: Some(m.subject.clone()),
            provider: Some(provider.to_string()),
            queue_id: None,
            client: None,
            auth: None,
        }
    }

    /// The queue id and client of the topmost `Received:` (Postfix: `from HELO (host
    /// [addr]) by me (Postfix) with ESMTP id QUEUEID ...`).
    fn received(&mut self, h: &Headers<'_>) {
        let Some(r) = h.get("Received") else { return };
        let raw = r.unfolded();
        let words: Vec<&str> = raw.split_whitespace().collect();
        let v = words.join(" ");
        for (i, w) in words.iter().enumerate() {
            if w.eq_ignore_ascii_case("id") {
                if let Some(q) = words.get(i + 1) {
                    let q = q.trim_end_matches([';', ',']);
                    if !q.is_empty() {
                        self.queue_id = Some(q.to_string());
                    }
                }
                break;
            }
        }
        if let Some(from) = v.trim_start().strip_prefix("from ") {
            let end = from.find(" by ").unwrap_or(from.len());
            let client = from[..end].split(';').next().unwrap_or("").trim();
            if !client.is_empty() {
                self.client = Some(client.to_string());
            }
        }
    }
}

/// `errore` and `errore-esteso` of an event.
fn errore(e: &LogEvent) -> (String, Option<String>) {
    let detail = (!e.detail.is_empty()).then(|| e.detail.clone());
    let err = match e.event {
        "non-accettazione-virus" | "rilevazione-virus" | "quarantena" | "scartato" => "virus",
        "errore-consegna" => match e.detail.as_str() {
            "virus" => "virus",
            d if d.starts_with("5.1.1") || d.starts_with("5.1.0") => "no-dest",
            d if d.starts_with("5.1.2") => "no-dominio",
            _ => "altro",
        },
        "non-accettazione"
        | "anomalia"
        | "scartato-dmarc"
        | "rifiuto"
        | "preavviso-12h"
        | "mancata-consegna-24h"
        | "errore-timer" => "altro",
        _ => return ("nessuno".into(), None),
    };
    (err.into(), detail)
}

/// The record of event `e` at `point`, dated `date` (RFC 3339, the transaction's time
/// reference), with the messages it `generated`; `node`, `seq` and `prev` are set by
/// [`LogRecord::link`] in the store.
pub fn record(
    point: &str,
    e: &LogEvent,
    ctx: &EventContext,
    date: String,
    generated: Vec<String>,
) -> LogRecord {
    let (errore, errore_esteso) = errore(e);
    let auth = match e.event {
        "ricezione" | "anomalia" | "scartato-dmarc" => ctx.auth.clone(),
        _ => None,
    };
    LogRecord {
        auth,
        client: ctx.client.clone(),
        date,
        detail: e.detail.clone(),
        errore: Some(errore),
        errore_esteso,
        event: e.event.to_string(),
        generated,
        identifier: e.identifier.clone(),
        msgid: ctx.msgid.clone(),
        node: String::new(),
        point: point.to_string(),
        prev: String::new(),
        provider: ctx.provider.clone(),
        queue_id: ctx.queue_id.clone(),
        recipient: e.recipient.clone(),
        recipients: ctx.recipients.clone(),
        sender: ctx.sender.clone(),
        seq: 0,
        subject: ctx.subject.clone(),
        v: VERSION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_is_sorted_compact_and_round_trips() {
        let mut r = LogRecord {
            date: "2026-12-01T23:15:34+01:00".into(),
            event: "accettazione".into(),
            subject: Some("caf\u{e9} \"x\"\n\u{1}/".into()),
            ..LogRecord::default()
        };
        let (line, hash) = r.link("n1", None);
        assert!(line.starts_with("{\"client\":null,\"date\":\"2026-12-01T23:15:34+01:00\""));
        assert!(line.contains("\"subject\":\"caf\u{e9} \\\"x\\\"\\n\\u0001/\""));
        assert!(line.ends_with("\"v\":1}"));
        assert_eq!(hash, sha256_hex(line.as_bytes()));
        assert_eq!(LogRecord::parse_canonical(line.as_bytes()).unwrap(), r);
        let spaced = line.replace(",\"date\"", ", \"date\"");
        assert!(LogRecord::parse_canonical(spaced.as_bytes()).is_err());
        // keys are in byte order
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn received_gives_queue_id_and_client() {
        let m = b"Received: from mua.example (mua.example [192.0.2.7])\r\n\tby mx.example (Postfix) with ESMTPSA id 4ABC123;\r\n\tTue, 1 Dec 2026 10:00:00 +0100\r\nFrom: a@b.example\r\nTo: c@d.example, e@f.example\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nMessage-ID: <m1@b.example>\r\n\r\nbody\r\n";
        let c = EventContext::from_bytes(m);
        assert_eq!(c.queue_id.as_deref(), Some("4ABC123"));
        assert_eq!(c.client.as_deref(), Some("mua.example (mua.example [192.0.2.7])"));
        assert_eq!(c.recipients, ["c@d.example", "e@f.example"]);
        assert_eq!(c.subject.as_deref(), Some("caf\u{e9}"));
        assert_eq!(c.msgid.as_deref(), Some("m1@b.example"));
    }
}
