//! Temporary stand-ins for modules landing on main (`timeref`, `identifier`, `headers`,
//! `daticert::to_xml`), with the same names and signatures. Removed once they land:
//! import `crate::timeref::TimeReference`, `crate::identifier::{IdentifierGenerator,
//! strip_angle, with_angle}`, `crate::headers::*`, call `Daticert::to_xml` instead of
//! [`daticert_to_xml`], and make `build::TimeReference` re-export `crate::timeref`'s.
#![allow(dead_code, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, Utc};

use crate::daticert::{CertDate, Daticert};
use crate::error::{ParseError, Result};

/// One time reference per transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeReference {
    dt: DateTime<FixedOffset>,
}

impl TimeReference {
    pub fn now() -> Self {
        let now = Utc::now();
        let off =
            FixedOffset::east_opt(0).unwrap_or_else(|| now.fixed_offset().offset().to_owned());
        Self { dt: now.with_timezone(&off) }
    }
    pub fn from_rfc3339(s: &str) -> Result<Self> {
        DateTime::parse_from_rfc3339(s)
            .map(|dt| Self { dt })
            .map_err(|_| ParseError::InvalidTime(s.to_string()).into())
    }
    pub fn from_datetime(dt: DateTime<FixedOffset>) -> Self {
        Self { dt }
    }
    pub fn datetime(&self) -> DateTime<FixedOffset> {
        self.dt
    }
    pub fn rfc5322(&self) -> String {
        self.dt.format("%a, %-d %b %Y %H:%M:%S %z").to_string()
    }
    pub fn day(&self) -> String {
        self.dt.format("%d/%m/%Y").to_string()
    }
    pub fn time(&self) -> String {
        self.dt.format("%H:%M:%S").to_string()
    }
    pub fn zone(&self) -> String {
        self.dt.format("%z").to_string()
    }
    pub fn cert_date(&self) -> CertDate {
        CertDate { day: self.day(), time: self.time(), zone: self.zone() }
    }
    pub fn human(&self) -> String {
        format!("{} alle ore {} ({})", self.day(), self.time(), self.zone())
    }
    pub fn utc(&self) -> DateTime<Utc> {
        self.dt.with_timezone(&Utc)
    }
}

/// Identifier generator stand-in.
#[derive(Debug)]
pub struct IdentifierGenerator {
    domain: String,
    counter: AtomicU64,
}

impl IdentifierGenerator {
    pub fn new(domain: &str) -> Result<Self> {
        validate_addr_spec(&format!("x@{domain}"))?;
        Ok(Self { domain: domain.to_string(), counter: AtomicU64::new(0) })
    }
    pub fn next_id(&self, at: &DateTime<FixedOffset>) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut r = [0u8; 6];
        let _ = getrandom::fill(&mut r);
        format!(
            "opec.{}.{}.{}.{}@{}",
            at.format("%Y%m%d%H%M%S"),
            std::process::id(),
            n,
            crate::crypto::hex(&r),
            self.domain
        )
    }
}

pub fn strip_angle(s: &str) -> &str {
    let t = s.trim();
    t.strip_prefix('<').and_then(|t| t.strip_suffix('>')).unwrap_or(t)
}

pub fn with_angle(s: &str) -> String {
    format!("<{}>", strip_angle(s))
}

pub fn check_no_injection(name: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(ParseError::HeaderInjection { header: name.to_string() }.into());
    }
    Ok(())
}

pub fn encode_unstructured(name: &str, value: &str) -> Result<String> {
    check_no_injection(name, value)?;
    if value.is_ascii() {
        return Ok(format!("{name}: {value}\r\n"));
    }
    let mut out = format!("{name}:");
    let mut chunk = String::new();
    let flush = |out: &mut String, chunk: &str| {
        let enc = base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes());
        out.push_str(&format!(" =?UTF-8?B?{enc}?=\r\n"));
    };
    for c in value.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            flush(&mut out, &chunk);
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        flush(&mut out, &chunk);
    }
    Ok(out)
}

pub fn decode_unstructured(raw: &[u8]) -> String {
    let s: Vec<u8> = raw.iter().copied().filter(|&c| c != b'\r' && c != b'\n').collect();
    let s = String::from_utf8_lossy(&s).trim().to_string();
    let mut out = String::new();
    let mut rest = s.as_str();
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, after) = rest.split_at(start);
        let parsed = (|| {
            let inner = after.get(2..)?;
            let q1 = inner.find('?')?;
            let charset = &inner[..q1];
            let inner2 = &inner[q1 + 1..];
            let q2 = inner2.find('?')?;
            let enc = &inner2[..q2];
            let inner3 = &inner2[q2 + 1..];
            let end = inner3.find("?=")?;
            let text = &inner3[..end];
            let bytes = if enc.eq_ignore_ascii_case("b") {
                crate::mime::decode_base64(text.as_bytes())?
            } else {
                let t = text.replace('_', " ");
                crate::mime::decode_quoted_printable(t.as_bytes())
            };
            let consumed = 2 + q1 + 1 + q2 + 1 + end + 2;
            Some((crate::mime::decode_charset(&bytes, &charset.to_ascii_lowercase()), consumed))
        })();
        match parsed {
            Some((text, consumed)) => {
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &after[consumed..];
                last_was_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &after[2..];
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

pub fn validate_addr_spec(addr: &str) -> Result<()> {
    let bad = || -> crate::Error { ParseError::InvalidAddress(addr.to_string()).into() };
    let (local, domain) = addr.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.') && domain != "localhost"
        || addr.chars().any(|c| c.is_control() || c.is_whitespace() || "<>,;\"()[]\\".contains(c))
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains("..")
        || local.contains("..")
        || local.starts_with('.')
        || local.ends_with('.')
    {
        return Err(bad());
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

pub fn parse_address_list(value: &str) -> Vec<Mailbox> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut q = false;
    let mut angle = false;
    let mut items = Vec::new();
    for c in value.chars() {
        match c {
            '"' => {
                q = !q;
                cur.push(c)
            }
            '<' if !q => {
                angle = true;
                cur.push(c)
            }
            '>' if !q => {
                angle = false;
                cur.push(c)
            }
            ',' if !q && !angle => items.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    items.push(cur);
    for it in items {
        let it = it.trim();
        if it.is_empty() {
            continue;
        }
        if let (Some(a), Some(b)) = (it.rfind('<'), it.rfind('>'))
            && a < b
        {
            {
                let name = it[..a].trim().trim_matches('"').trim();
                out.push(Mailbox {
                    name: if name.is_empty() {
                        None
                    } else {
                        Some(decode_unstructured(name.as_bytes()))
                    },
                    address: it[a + 1..b].trim().to_string(),
                });
                continue;
            }
        }
        out.push(Mailbox { name: None, address: it.to_string() });
    }
    out
}

pub fn on_behalf_of_from(sender: &str, provider_domain: &str) -> Result<String> {
    check_no_injection("From", sender)?;
    validate_addr_spec(sender)?;
    Ok(format!("\"Per conto di: {sender}\" <posta-certificata@{provider_domain}>"))
}

pub fn quoted_printable(s: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut col = 0;
        let bytes = line.as_bytes();
        for (j, &b) in bytes.iter().enumerate() {
            let last = j + 1 == bytes.len();
            let enc = if b == b'='
                || b >= 0x80
                || (b < 0x20 && b != b'\t')
                || (last && (b == b' ' || b == b'\t'))
            {
                format!("={b:02X}")
            } else {
                (b as char).to_string()
            };
            if col + enc.len() > 75 {
                out.push_str("=\r\n");
                col = 0;
            }
            col += enc.len();
            out.push_str(&enc);
        }
    }
    out
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            _ => o.push(c),
        }
    }
    o
}

pub fn daticert_to_xml(d: &Daticert) -> Result<String> {
    let kind = d.kind.as_ref().map(|k| k.as_str()).unwrap_or("");
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str(&format!(
        "<postacert tipo=\"{}\" errore=\"{}\">\n",
        esc(kind),
        esc(d.error.as_str())
    ));
    x.push_str("  <intestazione>\n");
    x.push_str(&format!("    <mittente>{}</mittente>\n", esc(&d.sender)));
    for r in &d.recipients {
        x.push_str(&format!(
            "    <destinatari tipo=\"{}\">{}</destinatari>\n",
            r.kind.as_str(),
            esc(&r.address)
        ));
    }
    x.push_str(&format!("    <risposte>{}</risposte>\n", esc(&d.reply_to)));
    if let Some(s) = &d.subject {
        x.push_str(&format!("    <oggetto>{}</oggetto>\n", esc(s)));
    }
    x.push_str("  </intestazione>\n  <dati>\n");
    x.push_str(&format!("    <gestore-emittente>{}</gestore-emittente>\n", esc(&d.issuer)));
    x.push_str(&format!(
        "    <data zona=\"{}\">\n      <giorno>{}</giorno>\n      <ora>{}</ora>\n    </data>\n",
        esc(&d.date.zone),
        esc(&d.date.day),
        esc(&d.date.time)
    ));
    x.push_str(&format!("    <identificativo>{}</identificativo>\n", esc(&d.identifier)));
    if let Some(m) = &d.msgid {
        x.push_str(&format!("    <msgid>{}</msgid>\n", esc(m)));
    }
    if let Some(r) = &d.receipt_type {
        x.push_str(&format!("    <ricevuta tipo=\"{}\" />\n", r.as_str()));
    }
    if let Some(c) = &d.delivery {
        x.push_str(&format!("    <consegna>{}</consegna>\n", esc(c)));
    }
    for r in &d.received {
        x.push_str(&format!("    <ricezione>{}</ricezione>\n", esc(r)));
    }
    if let Some(e) = &d.extended_error {
        x.push_str(&format!("    <errore-esteso>{}</errore-esteso>\n", esc(e)));
    }
    x.push_str("  </dati>\n</postacert>\n");
    Ok(x)
}

/// `Daticert::parse`, errors as `None` (the caller falls back to the headers).
pub fn parse_daticert(xml: &[u8]) -> Option<Daticert> {
    Daticert::parse(xml).ok()
}
