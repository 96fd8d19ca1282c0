//! `daticert.xml`, the certification data of every PEC message except the anomaly envelope
//! (RFC 6109 §4.4; docs/SPEC.md §6).
//!
//! [`Daticert::to_xml`] writes a document valid against the RFC's DTD; [`Daticert::parse`]
//! reads real-world files with a non-validating reader that never expands entities nor
//! fetches a DTD.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike};

use crate::error::{DaticertError, Error, LimitError, ParseError, Result};
use crate::model::{CertError, CertType, ReceiptType, RecipientType};

/// The certification data (`<postacert>`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Daticert {
    /// `postacert@tipo`.
    pub kind: Option<CertType>,
    /// `postacert@errore` (default `nessuno`).
    pub error: CertError,
    /// `intestazione/mittente`: the original sender.
    pub sender: String,
    /// `intestazione/destinatari`, in order (To then Cc of the original).
    pub recipients: Vec<Recipient>,
    /// `intestazione/risposte`: the original's Reply-To (or its sender).
    pub reply_to: String,
    /// `intestazione/oggetto`: the original subject (decoded).
    pub subject: Option<String>,
    /// `dati/gestore-emittente`: the provider that certifies the data.
    pub issuer: String,
    /// `dati/data`.
    pub date: CertDate,
    /// `dati/identificativo`: the PEC identifier of the transport envelope.
    pub identifier: String,
    /// `dati/msgid`: the client's Message-ID, with angle brackets as real files carry it.
    pub msgid: Option<String>,
    /// `dati/ricevuta@tipo`.
    pub receipt_type: Option<ReceiptType>,
    /// `dati/consegna`: the single recipient a delivery-related notice is about.
    pub delivery: Option<String>,
    /// `dati/ricezione`: the recipients covered by a take-charge receipt.
    pub received: Vec<String>,
    /// `dati/errore-esteso`.
    pub extended_error: Option<String>,
}

/// One `<destinatari>` element.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipient {
    /// The address.
    pub address: String,
    /// `tipo` (default `certificato`).
    pub kind: RecipientType,
}

/// `<data zona="+hhmm"><giorno>dd/mm/yyyy</giorno><ora>hh:mm:ss</ora></data>`, kept raw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CertDate {
    /// `giorno`, `dd/mm/yyyy`.
    pub day: String,
    /// `ora`, `hh:mm:ss`.
    pub time: String,
    /// `zona`, `[+|-]hhmm`.
    pub zone: String,
}

/// The largest `daticert.xml` accepted by [`Daticert::parse`] (1 MiB). Real files are below
/// 2 KiB; anything near this size is hostile.
pub const MAX_DATICERT_SIZE: usize = 1 << 20;

/// The deepest element nesting accepted by [`Daticert::parse`]. The DTD needs 4 levels.
pub const MAX_DATICERT_DEPTH: usize = 32;

/// The XML declaration written by [`Daticert::to_xml`], as in every real file (docs/SPEC.md §6.1).
pub const XML_DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;

impl Daticert {
    /// Writes the document, valid against the DTD of RFC 6109 §4.4 (docs/SPEC.md §6.1): the
    /// declaration `<?xml version="1.0" encoding="UTF-8"?>`, no DOCTYPE, `tipo` and `errore`
    /// always written, elements in the DTD's order, indented with four spaces and `\n` line
    /// ends like the files real providers emit.
    ///
    /// Refuses, without writing anything:
    /// - a missing required value (`kind` `None`, empty sender, no recipients, empty
    ///   `risposte`, `gestore-emittente`, date or identifier) with [`DaticertError::Missing`];
    /// - characters XML 1.0 cannot carry (controls other than tab, LF, CR; U+FFFE, U+FFFF),
    ///   and vocabulary values the DTD does not list (`Other(..)`), with
    ///   [`Error::InvalidArgument`];
    /// - a date that [`CertDate::to_datetime`] cannot read, with [`ParseError::InvalidTime`].
    ///
    /// `msgid` is written as given (real files carry it with angle brackets, escaped as
    /// `&lt;` `&gt;`).
    pub fn to_xml(&self) -> Result<String> {
        let kind = self.kind.as_ref().ok_or(DaticertError::Missing("postacert@tipo"))?;
        known_value("postacert@tipo", kind.as_str(), kind.is_known())?;
        known_value("postacert@errore", self.error.as_str(), self.error.is_known())?;
        required("intestazione/mittente", &self.sender)?;
        if self.recipients.is_empty() {
            return Err(DaticertError::Missing("intestazione/destinatari").into());
        }
        for r in &self.recipients {
            required("intestazione/destinatari", &r.address)?;
            known_value("destinatari@tipo", r.kind.as_str(), r.kind.is_known())?;
        }
        required("intestazione/risposte", &self.reply_to)?;
        required("dati/gestore-emittente", &self.issuer)?;
        required("dati/data/giorno", &self.date.day)?;
        required("dati/data/ora", &self.date.time)?;
        required("dati/data@zona", &self.date.zone)?;
        required("dati/identificativo", &self.identifier)?;
        self.date.to_datetime()?;
        if let Some(t) = &self.receipt_type {
            known_value("ricevuta@tipo", t.as_str(), t.is_known())?;
        }

        let mut w = XmlWriter::with_capacity(1024 + 128 * self.recipients.len());
        w.raw(XML_DECLARATION);
        w.raw("\n<postacert tipo=\"");
        w.attr("postacert@tipo", kind.as_str())?;
        w.raw("\" errore=\"");
        w.attr("postacert@errore", self.error.as_str())?;
        w.raw("\">\n    <intestazione>\n");
        w.leaf(2, "mittente", &self.sender)?;
        for r in &self.recipients {
            w.raw("        <destinatari tipo=\"");
            w.attr("destinatari@tipo", r.kind.as_str())?;
            w.raw("\">");
            w.text("destinatari", &r.address)?;
            w.raw("</destinatari>\n");
        }
        w.leaf(2, "risposte", &self.reply_to)?;
        if let Some(s) = &self.subject {
            w.leaf(2, "oggetto", s)?;
        }
        w.raw("    </intestazione>\n    <dati>\n");
        w.leaf(2, "gestore-emittente", &self.issuer)?;
        w.raw("        <data zona=\"");
        w.attr("data@zona", &self.date.zone)?;
        w.raw("\">\n");
        w.leaf(3, "giorno", &self.date.day)?;
        w.leaf(3, "ora", &self.date.time)?;
        w.raw("        </data>\n");
        w.leaf(2, "identificativo", &self.identifier)?;
        if let Some(m) = &self.msgid {
            w.leaf(2, "msgid", m)?;
        }
        if let Some(t) = &self.receipt_type {
            w.raw("        <ricevuta tipo=\"");
            w.attr("ricevuta@tipo", t.as_str())?;
            w.raw("\" />\n");
        }
        if let Some(c) = &self.delivery {
            w.leaf(2, "consegna", c)?;
        }
        for r in &self.received {
            w.leaf(2, "ricezione", r)?;
        }
        if let Some(e) = &self.extended_error {
            w.leaf(2, "errore-esteso", e)?;
        }
        w.raw("    </dati>\n</postacert>\n");
        Ok(w.out)
    }

    /// Reads a `daticert.xml` (docs/SPEC.md §6, §11 step 4) with a non-validating reader that never
    /// fetches a DTD and never expands entities.
    ///
    /// - A UTF-8 BOM, the XML declaration, comments, processing instructions, indentation and
    ///   stray text between elements are accepted; unknown elements are ignored with their
    ///   content; unknown attribute values are kept as `Other`; missing optional attributes
    ///   take the DTD defaults (`errore="nessuno"`, `destinatari tipo="certificato"`; a
    ///   `<ricevuta>` without `tipo` reads as `completa`).
    /// - The five predefined entities and numeric character references are decoded; any other
    ///   reference is [`DaticertError::Malformed`]; a DOCTYPE with an internal subset
    ///   (`<!ENTITY ...>` or any declaration) is [`DaticertError::EntityDeclaration`].
    /// - Bytes that are not UTF-8 give [`DaticertError::NotUtf8`]; characters XML 1.0 forbids
    ///   (NUL, other controls) give [`DaticertError::Malformed`].
    /// - More than [`MAX_DATICERT_SIZE`] bytes or [`MAX_DATICERT_DEPTH`] nested elements give
    ///   [`Error::Limit`].
    /// - The root must be `postacert` ([`DaticertError::WrongRoot`]); `tipo`, `mittente`, at
    ///   least one `destinatari`, `risposte`, `gestore-emittente`, `data` (`giorno`, `ora`,
    ///   `zona`) and a non-empty `identificativo` are required ([`DaticertError::Missing`]);
    ///   a repeated single-valued element is [`DaticertError::Malformed`].
    ///
    /// Values are trimmed of surrounding whitespace, except `oggetto`, which is kept verbatim.
    pub fn parse(bytes: &[u8]) -> Result<Daticert> {
        if bytes.len() > MAX_DATICERT_SIZE {
            return Err(LimitError {
                what: "daticert.xml size",
                limit: MAX_DATICERT_SIZE as u64,
                actual: bytes.len() as u64,
            }
            .into());
        }
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|_| DaticertError::NotUtf8)?;
        if let Some(pos) = first_non_xml_char(text) {
            return Err(malformed(pos as u64, "character not allowed in XML 1.0"));
        }
        Parser::new(text).run()
    }
}

impl CertDate {
    /// The `<data>` fields of an instant in its own offset: `giorno` `dd/mm/yyyy`, `ora`
    /// `hh:mm:ss`, `zona` `[+|-]hhmm` (docs/SPEC.md §6.2). Seconds of the offset, if any, are dropped
    /// from `zona`; years outside 0..=9999 are written as they are (the caller's business).
    pub fn from_datetime(t: &DateTime<FixedOffset>) -> CertDate {
        let offset = t.offset().local_minus_utc();
        let sign = if offset < 0 { '-' } else { '+' };
        let minutes = offset.unsigned_abs() / 60;
        CertDate {
            day: format!("{:02}/{:02}/{:04}", t.day(), t.month(), t.year()),
            time: format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second().min(59)),
            zone: format!("{sign}{:02}{:02}", minutes / 60, minutes % 60),
        }
    }

    /// The instant these fields name. Reads `dd/mm/yyyy` (one-digit day and month
    /// tolerated), `hh:mm:ss` (or `hh:mm`), and `zona` as `±hhmm`, `±hh:mm`, `±hh` or `Z`.
    /// Anything else is [`ParseError::InvalidTime`].
    pub fn to_datetime(&self) -> Result<DateTime<FixedOffset>> {
        let bad = || -> Error {
            ParseError::InvalidTime(format!("{} {} {}", self.day, self.time, self.zone)).into()
        };
        let date = parse_day(self.day.trim()).ok_or_else(bad)?;
        let time = parse_clock(self.time.trim()).ok_or_else(bad)?;
        let offset = parse_zone(self.zone.trim()).ok_or_else(bad)?;
        offset.from_local_datetime(&date.and_time(time)).single().ok_or_else(bad)
    }
}

/// `dd/mm/yyyy`.
fn parse_day(s: &str) -> Option<NaiveDate> {
    let mut it = s.split('/');
    let d = small_number(it.next()?, 1, 2)?;
    let m = small_number(it.next()?, 1, 2)?;
    let y = small_number(it.next()?, 4, 4)?;
    if it.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// `hh:mm:ss` or `hh:mm`; a leap second `60` reads as `59`.
fn parse_clock(s: &str) -> Option<NaiveTime> {
    let mut it = s.split(':');
    let h = small_number(it.next()?, 1, 2)?;
    let m = small_number(it.next()?, 1, 2)?;
    let sec = match it.next() {
        Some(x) => small_number(x, 1, 2)?,
        None => 0,
    };
    if it.next().is_some() || sec > 60 {
        return None;
    }
    NaiveTime::from_hms_opt(h, m, sec.min(59))
}

/// `±hhmm`, `±hh:mm`, `±hh`, `Z`.
pub(crate) fn parse_zone(s: &str) -> Option<FixedOffset> {
    if s.eq_ignore_ascii_case("z") {
        return FixedOffset::east_opt(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    let (h, m) = match rest.len() {
        2 => (small_number(rest, 2, 2)?, 0),
        4 => (small_number(rest.get(..2)?, 2, 2)?, small_number(rest.get(2..)?, 2, 2)?),
        5 if rest.as_bytes().get(2) == Some(&b':') => {
            (small_number(rest.get(..2)?, 2, 2)?, small_number(rest.get(3..)?, 2, 2)?)
        }
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * i32::try_from(h * 3600 + m * 60).ok()?)
}

/// An ASCII decimal of `min..=max` digits.
fn small_number(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// XML 1.0 `Char` (§2.2): tab, LF, CR, and U+0020 upwards except U+FFFE and U+FFFF
/// (surrogates cannot occur in a Rust string).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

fn malformed(position: u64, message: impl Into<String>) -> Error {
    DaticertError::Malformed { position, message: message.into() }.into()
}

fn required(field: &'static str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(DaticertError::Missing(field).into());
    }
    Ok(())
}

fn known_value(field: &'static str, value: &str, known: bool) -> Result<()> {
    if known {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "daticert.xml {field}: value {value:?} is not allowed by the DTD"
        )))
    }
}

/// A small escaping writer for the fixed layout of [`Daticert::to_xml`].
struct XmlWriter {
    out: String,
}

impl XmlWriter {
    fn with_capacity(n: usize) -> Self {
        XmlWriter { out: String::with_capacity(n) }
    }

    fn raw(&mut self, s: &str) {
        self.out.push_str(s);
    }

    /// Character data: `&`, `<`, `>` escaped; CR written as `&#13;` so that readers do not
    /// normalise it away.
    fn text(&mut self, field: &'static str, s: &str) -> Result<()> {
        for c in s.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '\r' => self.out.push_str("&#13;"),
                c if is_xml_char(c) => self.out.push(c),
                c => return Err(bad_char(field, c)),
            }
        }
        Ok(())
    }

    /// An attribute value in double quotes: `&`, `<`, `>`, `"` escaped; tab, LF and CR as
    /// character references (attribute-value normalisation would turn them into spaces).
    fn attr(&mut self, field: &'static str, s: &str) -> Result<()> {
        for c in s.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                '"' => self.out.push_str("&quot;"),
                '\t' => self.out.push_str("&#9;"),
                '\n' => self.out.push_str("&#10;"),
                '\r' => self.out.push_str("&#13;"),
                c if is_xml_char(c) => self.out.push(c),
                c => return Err(bad_char(field, c)),
            }
        }
        Ok(())
    }

    /// `<name>text</name>` on its own line at `level` (four spaces each).
    fn leaf(&mut self, level: usize, name: &'static str, value: &str) -> Result<()> {
        for _ in 0..level {
            self.out.push_str("    ");
        }
        let _ = write!(self.out, "<{name}>");
        self.text(name, value)?;
        let _ = writeln!(self.out, "</{name}>");
        Ok(())
    }
}

fn bad_char(field: &'static str, c: char) -> Error {
    Error::InvalidArgument(format!(
        "daticert.xml {field}: character U+{:04X} is not allowed in XML 1.0",
        u32::from(c)
    ))
}

/// The single-valued leaf elements, by their place in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf {
    Sender,
    Recipient,
    ReplyTo,
    Subject,
    Issuer,
    Day,
    Time,
    Identifier,
    MsgId,
    Delivery,
    Received,
    ExtendedError,
}

impl Leaf {
    /// The leaf named `name` under `parent`, if it is one the DTD defines there.
    fn find(parent: &str, name: &str) -> Option<Leaf> {
        Some(match (parent, name) {
            ("intestazione", "mittente") => Leaf::Sender,
            ("intestazione", "destinatari") => Leaf::Recipient,
            ("intestazione", "risposte") => Leaf::ReplyTo,
            ("intestazione", "oggetto") => Leaf::Subject,
            ("dati", "gestore-emittente") => Leaf::Issuer,
            ("data", "giorno") => Leaf::Day,
            ("data", "ora") => Leaf::Time,
            ("dati", "identificativo") => Leaf::Identifier,
            ("dati", "msgid") => Leaf::MsgId,
            ("dati", "consegna") => Leaf::Delivery,
            ("dati", "ricezione") => Leaf::Received,
            ("dati", "errore-esteso") => Leaf::ExtendedError,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Leaf::Sender => "mittente",
            Leaf::Recipient => "destinatari",
            Leaf::ReplyTo => "risposte",
            Leaf::Subject => "oggetto",
            Leaf::Issuer => "gestore-emittente",
            Leaf::Day => "giorno",
            Leaf::Time => "ora",
            Leaf::Identifier => "identificativo",
            Leaf::MsgId => "msgid",
            Leaf::Delivery => "consegna",
            Leaf::Received => "ricezione",
            Leaf::ExtendedError => "errore-esteso",
        }
    }
}

/// What an open element is, by its place in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Postacert,
    Intestazione,
    Dati,
    Data,
    /// A leaf in its DTD place: its character data is collected.
    Leaf(Leaf),
    /// Anything else (unknown elements, `<ricevuta>`, children of leaves): ignored with its
    /// content.
    Other,
}

impl Node {
    /// The name the DTD gives this node as a parent of leaves.
    fn parent_name(self) -> &'static str {
        match self {
            Node::Intestazione => "intestazione",
            Node::Dati => "dati",
            Node::Data => "data",
            _ => "",
        }
    }
}

/// The reader of [`Daticert::parse`]: a non-validating XML 1.0 scanner over a document
/// already checked to be UTF-8 made of XML characters. It reads the prolog (declaration,
/// comments, processing instructions, a DOCTYPE without internal subset), elements with their
/// attributes (quoted, unique, no `<` in values), character data (line ends normalised to LF
/// as XML 1.0 §2.11 says), CDATA sections, the five predefined entities and character
/// references; anything else is an error. Nothing is ever fetched or expanded, and it does
/// not recurse: open elements are an explicit stack bounded by [`MAX_DATICERT_DEPTH`].
struct Parser<'a> {
    src: &'a str,
    pos: usize,
    /// Open elements: name (for the end-tag check) and place.
    stack: Vec<(&'a str, Node)>,
    /// Attributes of the start tag being read (reused).
    attrs: Vec<(&'a str, &'a str)>,
    /// Character data of the leaf being collected (reused).
    text: String,
    /// `destinatari@tipo` of the recipient being collected.
    recipient_kind: Option<RecipientType>,
    doc: Daticert,
    seen_root: bool,
    root_closed: bool,
    kind_seen: bool,
    /// Single-valued leaves already read (bit per [`Leaf`]).
    seen: u16,
    intestazione: bool,
    dati: bool,
    data: bool,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser {
            src,
            pos: 0,
            stack: Vec::with_capacity(8),
            attrs: Vec::with_capacity(4),
            text: String::with_capacity(128),
            recipient_kind: None,
            doc: Daticert::default(),
            seen_root: false,
            root_closed: false,
            kind_seen: false,
            seen: 0,
            intestazione: false,
            dati: false,
            data: false,
        }
    }

    fn err(&self, message: impl Into<String>) -> Error {
        malformed(self.pos as u64, message)
    }

    fn run(mut self) -> Result<Daticert> {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() {
            if bytes[self.pos] == b'<' {
                self.markup()?;
            } else {
                let end =
                    memchr::memchr(b'<', &bytes[self.pos..]).map_or(bytes.len(), |i| self.pos + i);
                let raw = &self.src[self.pos..end];
                self.chars(raw, true)?;
                self.pos = end;
            }
        }
        if !self.stack.is_empty() {
            return Err(self.err("document ends inside an element (truncated)"));
        }
        if !self.seen_root {
            return Err(self.err("no root element"));
        }
        self.finish()
    }

    /// Everything that starts with `<`.
    fn markup(&mut self) -> Result<()> {
        let rest = &self.src[self.pos..];
        // the byte after `<` says which markup it is: start and end tags, the usual ones,
        // are told at once
        match rest.as_bytes().get(1) {
            Some(b'/' | b'?' | b'!') => {}
            _ => return self.start_tag(),
        }
        if let Some(body) = rest.strip_prefix("</") {
            let n = name_len(body.as_bytes());
            let name = &body[..n];
            let mut i = n + skip_space(&body.as_bytes()[n..]);
            if n == 0 || body.as_bytes().get(i) != Some(&b'>') {
                return Err(self.err("malformed end tag"));
            }
            i += 1;
            match self.stack.last() {
                None => return Err(self.err("unmatched end tag")),
                Some((open, _)) if *open != name => {
                    return Err(self.err(format!("end tag </{name}> does not match <{open}>")));
                }
                Some(_) => {}
            }
            self.pos += 2 + i;
            self.end();
        } else if let Some(body) = rest.strip_prefix("<?") {
            // the XML declaration or a processing instruction: `<?target ...?>`
            let Some(end) = body.find("?>") else {
                return Err(self.err("unterminated processing instruction"));
            };
            if name_len(body.as_bytes()) == 0 {
                return Err(self.err("processing instruction without a target"));
            }
            self.pos += 2 + end + 2;
        } else if let Some(body) = rest.strip_prefix("<!--") {
            let Some(end) = body.find("-->") else {
                return Err(self.err("unterminated comment"));
            };
            let content = &body[..end];
            if content.contains("--") || content.ends_with('-') {
                return Err(self.err("'--' inside a comment"));
            }
            self.pos += 4 + end + 3;
        } else if let Some(body) = rest.strip_prefix("<![CDATA[") {
            let Some(end) = body.find("]]>") else {
                return Err(self.err("unterminated CDATA section"));
            };
            self.chars(&body[..end], false)?;
            self.pos += 9 + end + 3;
        } else if rest.len() >= 9 && rest.as_bytes()[..9].eq_ignore_ascii_case(b"<!DOCTYPE") {
            if self.seen_root {
                return Err(self.err("DOCTYPE after the root element"));
            }
            let body = &rest[9..];
            let end = body.find('>');
            let content = &body[..end.unwrap_or(body.len())];
            // an internal subset (`[`...) or any declaration is refused, never read
            if content.contains('[')
                || content.contains("<!")
                || find_ci(content.as_bytes(), b"ENTITY").is_some()
            {
                return Err(DaticertError::EntityDeclaration.into());
            }
            let Some(end) = end else {
                return Err(self.err("unterminated DOCTYPE"));
            };
            self.pos += 9 + end + 1;
        } else if rest.starts_with("<!") {
            return Err(self.err("unknown markup declaration"));
        } else {
            self.start_tag()?;
        }
        Ok(())
    }

    /// `<name (S attr=value)* S? (/)?>`
    fn start_tag(&mut self) -> Result<()> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut i = self.pos + 1;
        let n = name_len(&bytes[i..]);
        if n == 0 {
            return Err(self.err("'<' not followed by a name (use &lt;)"));
        }
        let name = &src[i..i + n];
        i += n;
        self.attrs.clear();
        let empty = loop {
            let ws = skip_space(&bytes[i..]);
            i += ws;
            match bytes.get(i) {
                None => return Err(self.err("unterminated start tag")),
                Some(b'>') => {
                    i += 1;
                    break false;
                }
                Some(b'/') if bytes.get(i + 1) == Some(&b'>') => {
                    i += 2;
                    break true;
                }
                Some(_) => {
                    let k = name_len(&bytes[i..]);
                    if ws == 0 || k == 0 {
                        return Err(self.err(format!("malformed attribute in <{name}>")));
                    }
                    let key = &src[i..i + k];
                    i += k;
                    i += skip_space(&bytes[i..]);
                    if bytes.get(i) != Some(&b'=') {
                        return Err(self.err(format!("attribute {key} without a value")));
                    }
                    i += 1;
                    i += skip_space(&bytes[i..]);
                    let quote = match bytes.get(i) {
                        Some(&q @ (b'"' | b'\'')) => q,
                        _ => return Err(self.err(format!("attribute {key}: value not quoted"))),
                    };
                    let Some(len) = memchr::memchr(quote, &bytes[i + 1..]) else {
                        return Err(self.err(format!("attribute {key}: unterminated value")));
                    };
                    let value = &src[i + 1..i + 1 + len];
                    if value.contains('<') {
                        return Err(self.err(format!("attribute {key}: '<' in the value")));
                    }
                    if self.attrs.iter().any(|(k, _)| *k == key) {
                        return Err(self.err(format!("duplicate attribute {key} in <{name}>")));
                    }
                    // references are checked even where the value is not read
                    decode(value, None, false, self.pos)?;
                    self.attrs.push((key, value));
                    i += len + 2;
                }
            }
        };
        self.start(name)?;
        self.pos = i;
        if empty {
            self.end();
        }
        Ok(())
    }

    /// The value of attribute `key` of the start tag just read, references decoded.
    fn attr(&self, key: &str) -> Result<Option<String>> {
        match self.attrs.iter().find(|(k, _)| *k == key) {
            Some((_, raw)) => {
                let mut out = String::with_capacity(raw.len());
                decode(raw, Some(&mut out), false, self.pos)?;
                Ok(Some(out))
            }
            None => Ok(None),
        }
    }

    fn start(&mut self, name: &'a str) -> Result<()> {
        if self.stack.len() >= MAX_DATICERT_DEPTH {
            return Err(LimitError {
                what: "daticert.xml nesting depth",
                limit: MAX_DATICERT_DEPTH as u64,
                actual: self.stack.len() as u64 + 1,
            }
            .into());
        }
        let node = match self.stack.last() {
            None => {
                if self.root_closed {
                    return Err(self.err("content after the root element"));
                }
                if name != "postacert" {
                    return Err(DaticertError::WrongRoot(name.to_string()).into());
                }
                self.seen_root = true;
                if let Some(t) = self.attr("tipo")? {
                    self.kind_seen = true;
                    self.doc.kind = Some(CertType::from_wire(&t));
                }
                if let Some(e) = self.attr("errore")? {
                    self.doc.error = CertError::from_wire(&e);
                }
                Node::Postacert
            }
            // only elements in their DTD place are read; anything inside an unknown element
            // or a leaf is ignored with its content
            Some(&(_, parent)) => match (parent, name) {
                (Node::Postacert, "intestazione") => {
                    self.once(|p| &mut p.intestazione, "intestazione")?;
                    Node::Intestazione
                }
                (Node::Postacert, "dati") => {
                    self.once(|p| &mut p.dati, "dati")?;
                    Node::Dati
                }
                (Node::Dati, "data") => {
                    self.once(|p| &mut p.data, "data")?;
                    if let Some(z) = self.attr("zona")? {
                        self.doc.date.zone = z.trim().to_string();
                    }
                    Node::Data
                }
                (Node::Dati, "ricevuta") => {
                    if self.doc.receipt_type.is_some() {
                        return Err(self.err("repeated <ricevuta>"));
                    }
                    let t = self.attr("tipo")?;
                    self.doc.receipt_type =
                        Some(t.map_or(ReceiptType::Complete, |t| ReceiptType::from_wire(&t)));
                    Node::Other
                }
                (Node::Intestazione | Node::Dati | Node::Data, _) => {
                    match Leaf::find(parent.parent_name(), name) {
                        Some(leaf) => {
                            if leaf == Leaf::Recipient {
                                let k = self.attr("tipo")?;
                                self.recipient_kind =
                                    Some(k.map_or(RecipientType::Certified, |k| {
                                        RecipientType::from_wire(&k)
                                    }));
                            } else if leaf != Leaf::Received {
                                let bit = 1u16 << leaf as u16;
                                if self.seen & bit != 0 {
                                    return Err(self.err(format!("repeated <{}>", leaf.name())));
                                }
                                self.seen |= bit;
                            }
                            self.text.clear();
                            Node::Leaf(leaf)
                        }
                        None => Node::Other,
                    }
                }
                _ => Node::Other,
            },
        };
        self.stack.push((name, node));
        Ok(())
    }

    fn once(&mut self, flag: fn(&mut Self) -> &mut bool, what: &str) -> Result<()> {
        let pos = self.pos as u64;
        let f = flag(self);
        if *f {
            return Err(malformed(pos, format!("repeated <{what}>")));
        }
        *f = true;
        Ok(())
    }

    /// Character data (`text`: references decoded and line ends normalised; else the inside
    /// of a CDATA section, taken literally but for line ends).
    fn chars(&mut self, raw: &str, text: bool) -> Result<()> {
        match self.stack.last() {
            Some((_, Node::Leaf(_))) => {
                let pos = self.pos;
                if text {
                    decode(raw, Some(&mut self.text), true, pos)
                } else {
                    push_normalised(&mut self.text, raw);
                    Ok(())
                }
            }
            Some(_) => {
                if text && raw.contains('&') {
                    decode(raw, None, true, self.pos)?;
                }
                Ok(())
            }
            None => {
                if raw.bytes().all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) {
                    Ok(())
                } else {
                    Err(self.err("text outside the root element"))
                }
            }
        }
    }

    fn end(&mut self) {
        let Some((_, node)) = self.stack.pop() else {
            return;
        };
        if self.stack.is_empty() {
            self.root_closed = true;
        }
        let Node::Leaf(leaf) = node else {
            return;
        };
        let value =
            if leaf == Leaf::Subject { self.text.clone() } else { self.text.trim().to_string() };
        self.text.clear();
        let d = &mut self.doc;
        match leaf {
            Leaf::Sender => d.sender = value,
            Leaf::Recipient => d.recipients.push(Recipient {
                address: value,
                kind: self.recipient_kind.take().unwrap_or_default(),
            }),
            Leaf::ReplyTo => d.reply_to = value,
            Leaf::Subject => d.subject = Some(value),
            Leaf::Issuer => d.issuer = value,
            Leaf::Day => d.date.day = value,
            Leaf::Time => d.date.time = value,
            Leaf::Identifier => d.identifier = value,
            Leaf::MsgId => d.msgid = Some(value),
            Leaf::Delivery => d.delivery = Some(value),
            Leaf::Received => d.received.push(value),
            Leaf::ExtendedError => d.extended_error = Some(value),
        }
    }

    fn finish(self) -> Result<Daticert> {
        let seen = |l: Leaf| self.seen & (1u16 << l as u16) != 0;
        if !self.kind_seen {
            return Err(DaticertError::Missing("postacert@tipo").into());
        }
        if !self.intestazione {
            return Err(DaticertError::Missing("intestazione").into());
        }
        if !seen(Leaf::Sender) {
            return Err(DaticertError::Missing("intestazione/mittente").into());
        }
        if self.doc.recipients.is_empty() {
            return Err(DaticertError::Missing("intestazione/destinatari").into());
        }
        if !seen(Leaf::ReplyTo) {
            return Err(DaticertError::Missing("intestazione/risposte").into());
        }
        if !self.dati {
            return Err(DaticertError::Missing("dati").into());
        }
        if !seen(Leaf::Issuer) {
            return Err(DaticertError::Missing("dati/gestore-emittente").into());
        }
        if !self.data {
            return Err(DaticertError::Missing("dati/data").into());
        }
        if self.doc.date.zone.is_empty() {
            return Err(DaticertError::Missing("dati/data@zona").into());
        }
        if !seen(Leaf::Day) {
            return Err(DaticertError::Missing("dati/data/giorno").into());
        }
        if !seen(Leaf::Time) {
            return Err(DaticertError::Missing("dati/data/ora").into());
        }
        if self.doc.identifier.is_empty() {
            return Err(DaticertError::Missing("dati/identificativo").into());
        }
        Ok(self.doc)
    }
}

/// The byte offset of the first character XML 1.0 forbids (`Char`, §2.2) in a UTF-8 text:
/// controls other than tab, LF and CR, U+FFFE and U+FFFF.
fn first_non_xml_char(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    // a control, or the lead byte of U+F000..U+FFFF (EF): checked in blocks without an early
    // exit (so that it vectorises), then precisely in a block that has one
    let suspect = |c: u8| (c < 0x20 && c != b'\t' && c != b'\n' && c != b'\r') | (c == 0xEF);
    let mut base = 0;
    for block in b.chunks(64) {
        if block.iter().fold(false, |acc, &c| acc | suspect(c)) {
            for (k, &c) in block.iter().enumerate() {
                let i = base + k;
                let bad = match c {
                    b'\t' | b'\n' | b'\r' => false,
                    0..0x20 => true,
                    // U+FFFE, U+FFFF: EF BF BE, EF BF BF (0xEF always starts a character)
                    0xEF => {
                        b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF))
                    }
                    _ => false,
                };
                if bad {
                    return Some(i);
                }
            }
        }
        base += block.len();
    }
    None
}

/// Length of the XML name at the start of `b` (0 when there is none). Non-ASCII characters
/// are all accepted as name characters; an ASCII one must be a letter, `_` or `:` first, then
/// also a digit, `-` or `.`.
fn name_len(b: &[u8]) -> usize {
    /// 1: may start a name; 2: may continue one (every start character continues one too).
    const CLASS: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut c = 0;
        while c < 256 {
            let b = c as u8;
            t[c] = if b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80 {
                3
            } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
                2
            } else {
                0
            };
            c += 1;
        }
        t
    };
    match b.first() {
        Some(&c) if CLASS[usize::from(c)] & 1 != 0 => {
            1 + b.iter().skip(1).take_while(|&&c| CLASS[usize::from(c)] != 0).count()
        }
        _ => 0,
    }
}

/// Length of the XML white space (`S`) at the start of `b`.
fn skip_space(b: &[u8]) -> usize {
    b.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')).count()
}

/// Appends `raw` with its line ends normalised (CR LF and lone CR read as LF, XML 1.0 §2.11).
fn push_normalised(out: &mut String, raw: &str) {
    let mut rest = raw;
    while let Some(i) = memchr::memchr(b'\r', rest.as_bytes()) {
        out.push_str(&rest[..i]);
        out.push('\n');
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
        }
    }
    out.push_str(rest);
}

/// Checks the references of character data or an attribute value (`&name;`: the five
/// predefined entities; `&#N;` / `&#xH;`: characters XML 1.0 allows) and, with `out`, appends
/// the decoded text (line ends normalised when `eol`). `at` is the position for errors.
fn decode(raw: &str, mut out: Option<&mut String>, eol: bool, at: usize) -> Result<()> {
    let b = raw.as_bytes();
    let (mut start, mut i) = (0, 0);
    // the next byte that needs work: a reference, or a CR to normalise
    let next = |from: usize| {
        let rest = b.get(from..).unwrap_or_default();
        let hit = if eol { memchr::memchr2(b'&', b'\r', rest) } else { memchr::memchr(b'&', rest) };
        hit.map_or(b.len(), |k| from + k)
    };
    while i < b.len() {
        i = next(i);
        let Some(&c) = b.get(i) else { break };
        match c {
            b'&' => {
                if let Some(o) = out.as_deref_mut() {
                    o.push_str(&raw[start..i]);
                }
                let after = &raw[i + 1..];
                let Some(semi) = after.bytes().position(|c| c == b';') else {
                    return Err(malformed(at as u64, "'&' not starting a reference (use &amp;)"));
                };
                let name = &after[..semi];
                let c = match name.strip_prefix('#') {
                    Some(num) => char_ref(num).ok_or_else(|| {
                        malformed(at as u64, format!("invalid character reference &#{num};"))
                    })?,
                    None => predefined_entity(name).ok_or_else(|| {
                        malformed(at as u64, format!("reference to undeclared entity &{name};"))
                    })?,
                };
                if let Some(o) = out.as_deref_mut() {
                    o.push(c);
                }
                i += 1 + semi + 1;
                start = i;
            }
            b'\r' if eol => {
                if let Some(o) = out.as_deref_mut() {
                    o.push_str(&raw[start..i]);
                    o.push('\n');
                }
                i += 1;
                if b.get(i) == Some(&b'\n') {
                    i += 1;
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    if let Some(o) = out {
        o.push_str(&raw[start..]);
    }
    Ok(())
}

/// `N` or `xH` of a character reference, when it names a character XML 1.0 allows.
fn char_ref(num: &str) -> Option<char> {
    let (digits, radix) = match num.strip_prefix('x') {
        Some(h) => (h, 16),
        None => (num, 10),
    };
    let digit = |b: u8| if radix == 16 { b.is_ascii_hexdigit() } else { b.is_ascii_digit() };
    // (from_str_radix alone would take a leading sign)
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(digit) {
        return None;
    }
    let v = u32::from_str_radix(digits, radix).ok()?;
    char::from_u32(v).filter(|c| is_xml_char(*c))
}

/// The five predefined entities of XML 1.0 §4.6.
fn predefined_entity(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}
