//! `daticert.xml`, the certification data of every PEC message except the anomaly envelope
//! (RFC 6109 §4.4; docs/SPEC.md §6).
//!
//! [`Daticert::to_xml`] writes a document valid against the RFC's DTD; [`Daticert::parse`]
//! reads real-world files with a non-validating reader that never expands entities nor
//! fetches a DTD.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveTime, TimeZone, Timelike};
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

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
        if let Some(pos) = text.char_indices().find(|(_, c)| !is_xml_char(*c)).map(|(i, _)| i) {
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
    fn find(parent: &[u8], name: &[u8]) -> Option<Leaf> {
        Some(match (parent, name) {
            (b"intestazione", b"mittente") => Leaf::Sender,
            (b"intestazione", b"destinatari") => Leaf::Recipient,
            (b"intestazione", b"risposte") => Leaf::ReplyTo,
            (b"intestazione", b"oggetto") => Leaf::Subject,
            (b"dati", b"gestore-emittente") => Leaf::Issuer,
            (b"data", b"giorno") => Leaf::Day,
            (b"data", b"ora") => Leaf::Time,
            (b"dati", b"identificativo") => Leaf::Identifier,
            (b"dati", b"msgid") => Leaf::MsgId,
            (b"dati", b"consegna") => Leaf::Delivery,
            (b"dati", b"ricezione") => Leaf::Received,
            (b"dati", b"errore-esteso") => Leaf::ExtendedError,
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

/// One open element: its name and, for a leaf being collected, the leaf and its text.
#[derive(Debug)]
struct Open {
    name: Vec<u8>,
    leaf: Option<Leaf>,
    /// Set only for the element directly collecting text.
    recipient_kind: Option<RecipientType>,
}

/// The event loop of [`Daticert::parse`] over an already checked UTF-8 document.
struct Parser<'a> {
    reader: Reader<&'a [u8]>,
    stack: Vec<Open>,
    text: String,
    doc: Daticert,
    seen_root: bool,
    root_closed: bool,
    kind_seen: bool,
    seen: Vec<Leaf>,
    intestazione: bool,
    dati: bool,
    data: bool,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.check_comments = true;
        cfg.expand_empty_elements = false;
        cfg.allow_dangling_amp = false;
        cfg.allow_unmatched_ends = false;
        cfg.trim_text(false);
        Parser {
            reader,
            stack: Vec::with_capacity(8),
            text: String::new(),
            doc: Daticert::default(),
            seen_root: false,
            root_closed: false,
            kind_seen: false,
            seen: Vec::with_capacity(16),
            intestazione: false,
            dati: false,
            data: false,
        }
    }

    fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    fn run(mut self) -> Result<Daticert> {
        loop {
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    return Err(malformed(self.reader.error_position(), e.to_string()));
                }
            };
            match event {
                Event::Eof => break,
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
                Event::DocType(d) => {
                    if self.seen_root {
                        return Err(malformed(self.position(), "DOCTYPE after the root element"));
                    }
                    let content = d.into_inner();
                    if content.contains(&b'[') || find(&content, b"<!").is_some() {
                        return Err(DaticertError::EntityDeclaration.into());
                    }
                    if find_ci(&content, b"ENTITY").is_some() {
                        return Err(DaticertError::EntityDeclaration.into());
                    }
                }
                Event::Start(e) => self.start(e, false)?,
                Event::Empty(e) => self.start(e, true)?,
                Event::End(_) => self.end()?,
                Event::Text(t) => {
                    let raw =
                        t.xml10_content().map_err(|e| malformed(self.position(), e.to_string()))?;
                    self.chars(&raw)?;
                }
                Event::CData(c) => {
                    let raw =
                        c.xml10_content().map_err(|e| malformed(self.position(), e.to_string()))?;
                    self.chars(&raw)?;
                }
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => {
                            let name = r
                                .decode()
                                .map_err(|e| malformed(self.position(), e.to_string()))?;
                            match predefined_entity(&name) {
                                Some(c) => c,
                                None => {
                                    return Err(malformed(
                                        self.position(),
                                        format!("reference to undeclared entity &{name};"),
                                    ));
                                }
                            }
                        }
                        Err(e) => return Err(malformed(self.position(), e.to_string())),
                    };
                    if !is_xml_char(c) {
                        return Err(malformed(
                            self.position(),
                            "character reference to a character not allowed in XML 1.0",
                        ));
                    }
                    let mut buf = [0u8; 4];
                    self.chars(c.encode_utf8(&mut buf))?;
                }
            }
        }
        if !self.stack.is_empty() {
            return Err(malformed(self.position(), "document ends inside an element (truncated)"));
        }
        if !self.seen_root {
            return Err(malformed(self.position(), "no root element"));
        }
        self.finish()
    }

    fn start(&mut self, e: BytesStart<'a>, empty: bool) -> Result<()> {
        if self.stack.len() >= MAX_DATICERT_DEPTH {
            return Err(LimitError {
                what: "daticert.xml nesting depth",
                limit: MAX_DATICERT_DEPTH as u64,
                actual: self.stack.len() as u64 + 1,
            }
            .into());
        }
        let name = e.name().into_inner().to_vec();
        let mut open = Open { name, leaf: None, recipient_kind: None };
        match self.stack.last() {
            None => {
                if self.root_closed {
                    return Err(malformed(self.position(), "content after the root element"));
                }
                if open.name.as_slice() != b"postacert" {
                    return Err(DaticertError::WrongRoot(
                        String::from_utf8_lossy(&open.name).into_owned(),
                    )
                    .into());
                }
                self.seen_root = true;
                for a in self.attributes(&e)? {
                    match a.0.as_slice() {
                        b"tipo" => {
                            self.kind_seen = true;
                            self.doc.kind = Some(CertType::from_wire(&a.1));
                        }
                        b"errore" => self.doc.error = CertError::from_wire(&a.1),
                        _ => {}
                    }
                }
            }
            Some(parent) => {
                // Only elements in their DTD place are read; anything inside an unknown
                // element or a leaf is ignored with its content.
                let parent_known = self.in_known_path();
                let parent_name = parent.name.clone();
                if parent_known {
                    match (parent_name.as_slice(), open.name.as_slice()) {
                        (b"postacert", b"intestazione") => {
                            self.once_flag("intestazione", |p| &mut p.intestazione)?
                        }
                        (b"postacert", b"dati") => self.once_flag("dati", |p| &mut p.dati)?,
                        (b"dati", b"data") => {
                            self.once_flag("data", |p| &mut p.data)?;
                            for a in self.attributes(&e)? {
                                if a.0 == b"zona" {
                                    self.doc.date.zone = a.1.trim().to_string();
                                }
                            }
                        }
                        (b"dati", b"ricevuta") => {
                            if self.doc.receipt_type.is_some() {
                                return Err(malformed(self.position(), "repeated <ricevuta>"));
                            }
                            let mut t = ReceiptType::Complete;
                            for a in self.attributes(&e)? {
                                if a.0 == b"tipo" {
                                    t = ReceiptType::from_wire(&a.1);
                                }
                            }
                            self.doc.receipt_type = Some(t);
                        }
                        (p, n) => {
                            if let Some(leaf) = Leaf::find(p, n) {
                                if leaf == Leaf::Recipient {
                                    let mut k = RecipientType::Certified;
                                    for a in self.attributes(&e)? {
                                        if a.0 == b"tipo" {
                                            k = RecipientType::from_wire(&a.1);
                                        }
                                    }
                                    open.recipient_kind = Some(k);
                                } else if !matches!(leaf, Leaf::Received) {
                                    if self.seen.contains(&leaf) {
                                        return Err(malformed(
                                            self.position(),
                                            format!("repeated <{}>", leaf.name()),
                                        ));
                                    }
                                    self.seen.push(leaf);
                                }
                                open.leaf = Some(leaf);
                                self.text.clear();
                            }
                        }
                    }
                }
            }
        }
        self.stack.push(open);
        if empty {
            self.end()?;
        }
        Ok(())
    }

    /// Whether every open element is one the DTD defines at that place (and none is a leaf).
    fn in_known_path(&self) -> bool {
        let mut parent: &[u8] = b"";
        for o in &self.stack {
            let ok = matches!(
                (parent, o.name.as_slice()),
                (b"", b"postacert")
                    | (b"postacert", b"intestazione")
                    | (b"postacert", b"dati")
                    | (b"dati", b"data")
            );
            if !ok {
                return false;
            }
            parent = o.name.as_slice();
        }
        true
    }

    fn once_flag(&mut self, what: &str, flag: fn(&mut Self) -> &mut bool) -> Result<()> {
        let pos = self.position();
        let f = flag(self);
        if *f {
            return Err(malformed(pos, format!("repeated <{what}>")));
        }
        *f = true;
        Ok(())
    }

    /// The attributes of an element, names raw and values unescaped (predefined entities and
    /// character references only).
    fn attributes(&self, e: &BytesStart<'_>) -> Result<Vec<(Vec<u8>, String)>> {
        let mut v = Vec::new();
        for a in e.attributes() {
            let a = a.map_err(|err| malformed(self.position(), err.to_string()))?;
            let value = a
                .decode_and_unescape_value(self.reader.decoder())
                .map_err(|err| malformed(self.position(), err.to_string()))?;
            if let Some(c) = value.chars().find(|c| !is_xml_char(*c)) {
                return Err(malformed(
                    self.position(),
                    format!("attribute holds U+{:04X}, not allowed in XML 1.0", u32::from(c)),
                ));
            }
            v.push((a.key.into_inner().to_vec(), value.into_owned()));
        }
        Ok(v)
    }

    fn chars(&mut self, s: &str) -> Result<()> {
        match self.stack.last() {
            Some(o) if o.leaf.is_some() => {
                self.text.push_str(s);
                Ok(())
            }
            Some(_) => Ok(()),
            None => {
                if s.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                    Ok(())
                } else {
                    Err(malformed(self.position(), "text outside the root element"))
                }
            }
        }
    }

    fn end(&mut self) -> Result<()> {
        let Some(open) = self.stack.pop() else {
            return Err(malformed(self.position(), "unmatched end tag"));
        };
        if self.stack.is_empty() {
            self.root_closed = true;
        }
        let Some(leaf) = open.leaf else {
            return Ok(());
        };
        let raw = std::mem::take(&mut self.text);
        let value = if leaf == Leaf::Subject { raw } else { raw.trim().to_string() };
        let d = &mut self.doc;
        match leaf {
            Leaf::Sender => d.sender = value,
            Leaf::Recipient => d
                .recipients
                .push(Recipient { address: value, kind: open.recipient_kind.unwrap_or_default() }),
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
        Ok(())
    }

    fn finish(self) -> Result<Daticert> {
        let seen = |l: Leaf| self.seen.contains(&l);
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

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    crate::mime::find(hay, needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}
