//! A byte-exact MIME scanner: header fields and multipart bodies located by offsets into the
//! bytes as they arrived, never re-serialised (RFC 5322, RFC 2045-2049).
//!
//! Why not `mail-parser` here: a PEC message is legal evidence and its signature covers exact
//! bytes; this scanner keeps every part as a slice of the input, enforces the hostile-input
//! [`Limits`] and never recurses on input (nesting is walked with an explicit stack).
//! `mail-parser` is used in the tests as an independent parser to cross-check ours.

use std::borrow::Cow;
use std::ops::Range;

use base64::Engine as _;

use crate::error::{ParseError, Result};
use crate::limits::Limits;

/// One header field, located in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderField<'a> {
    /// The field name as written (ASCII; compare case-insensitively).
    pub name: &'a str,
    /// The raw value: after the colon up to the end of the field, folding line breaks kept,
    /// final line break excluded.
    pub raw_value: &'a [u8],
    /// Byte range of the whole field, final line break included, in the parsed input.
    pub range: Range<usize>,
}

impl HeaderField<'_> {
    /// The value unfolded (line breaks removed), leading/trailing whitespace trimmed, raw
    /// (not RFC 2047-decoded); non-UTF-8 bytes replaced.
    pub fn unfolded(&self) -> String {
        if !self.raw_value.iter().any(|&b| b == b'\r' || b == b'\n') {
            return String::from_utf8_lossy(self.raw_value).trim().to_string();
        }
        let mut out = Vec::with_capacity(self.raw_value.len());
        for &b in self.raw_value {
            if b != b'\r' && b != b'\n' {
                out.push(b);
            }
        }
        String::from_utf8_lossy(&out).trim().to_string()
    }
}

/// A parsed header block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    /// The fields in order.
    pub fields: Vec<HeaderField<'a>>,
    /// Where the body starts in the parsed input (after the empty line), or the input length
    /// when there is no body.
    pub body_start: usize,
}

impl<'a> Headers<'a> {
    /// Parses the header block at the start of `input`.
    ///
    /// Tolerates LF-only line ends and a leading `From ` mbox line. Stops at the first empty
    /// line. A line that is neither a field nor a continuation ends the header block there
    /// (the rest is body), as MTAs do.
    ///
    /// # Errors
    /// Limits exceeded.
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Headers<'a>> {
        let mut fields: Vec<HeaderField<'a>> = Vec::new();
        let mut pos = 0usize;
        let len = input.len();
        // mbox "From " line
        if input.starts_with(b"From ") {
            pos = line_end(input, 0);
        }
        loop {
            if pos >= len {
                return Ok(Headers { fields, body_start: len });
            }
            // empty line ends the block
            if input[pos..].starts_with(b"\r\n") {
                return Ok(Headers { fields, body_start: pos + 2 });
            }
            if input[pos] == b'\n' {
                return Ok(Headers { fields, body_start: pos + 1 });
            }
            let start = pos;
            // field name up to ':'
            let line_stop = line_end(input, pos);
            let line = &input[pos..line_stop];
            let colon = line.iter().position(|&c| c == b':');
            let name_ok = colon.is_some_and(|c| {
                c > 0 && line[..c].iter().all(|&b| (33..=126).contains(&b) && b != b':')
            }) || colon.is_some_and(|c| {
                // tolerate "Name :" (obsolete syntax: WSP before colon)
                c > 0 && {
                    let n = trim_end_ws(&line[..c]);
                    !n.is_empty() && n.iter().all(|&b| (33..=126).contains(&b))
                }
            });
            let Some(colon) = colon.filter(|_| name_ok) else {
                if fields.is_empty() && !looks_like_continuation(line) {
                    // not a header block at all: everything is body
                    return Ok(Headers { fields, body_start: start });
                }
                // stray line: ends the header block here
                return Ok(Headers { fields, body_start: start });
            };
            let name_bytes = trim_end_ws(&line[..colon]);
            let name = std::str::from_utf8(name_bytes)
                .map_err(|_| ParseError::MalformedHeaders("non-ASCII header field name"))?;
            // value, with continuation lines
            let value_start = pos + colon + 1;
            let mut end = line_stop; // index after the line break
            while end < len && (input[end] == b' ' || input[end] == b'\t') {
                end = line_end(input, end);
                Limits::check("header field length", limits.max_header_field, end - start)?;
            }
            Limits::check("header field length", limits.max_header_field, end - start)?;
            let mut value_end = end;
            if value_end > value_start && input[value_end - 1] == b'\n' {
                value_end -= 1;
                if value_end > value_start && input[value_end - 1] == b'\r' {
                    value_end -= 1;
                }
            }
            fields.push(HeaderField {
                name,
                raw_value: &input[value_start..value_end.max(value_start)],
                range: start..end,
            });
            Limits::check("header fields", limits.max_header_fields, fields.len())?;
            pos = end;
        }
    }

    /// The first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&HeaderField<'a>> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Every field named `name`, in order.
    pub fn get_all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s HeaderField<'a>> {
        self.fields.iter().filter(move |f| f.name.eq_ignore_ascii_case(name))
    }

    /// The unfolded raw value of the first field `name`.
    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(HeaderField::unfolded)
    }

    /// The parsed `Content-Type` (default `text/plain; charset=us-ascii`, RFC 2045 §5.2).
    pub fn content_type(&self) -> ContentType {
        self.value("Content-Type").map(|v| ContentType::parse(&v)).unwrap_or_default()
    }
}

fn looks_like_continuation(line: &[u8]) -> bool {
    line.first().is_some_and(|&b| b == b' ' || b == b'\t')
}

fn trim_end_ws(b: &[u8]) -> &[u8] {
    let mut e = b.len();
    while e > 0 && (b[e - 1] == b' ' || b[e - 1] == b'\t') {
        e -= 1;
    }
    &b[..e]
}

/// Index just after the LF ending the line that starts at `pos` (or the input length).
fn line_end(input: &[u8], pos: usize) -> usize {
    match input.get(pos..).and_then(|s| s.iter().position(|&c| c == b'\n')) {
        Some(p) => pos + p + 1,
        None => input.len(),
    }
}

/// A `Content-Type` value: lowercased `type/subtype` plus parameters (RFC 2045, RFC 2231
/// continuations joined).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lowercase.
    pub mime_type: String,
    /// Parameters with lowercased names, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Default for ContentType {
    fn default() -> Self {
        ContentType {
            mime_type: "text/plain".into(),
            params: vec![("charset".into(), "us-ascii".into())],
        }
    }
}

impl ContentType {
    /// Parses a header value such as `multipart/signed; protocol="..."; boundary=abc`.
    pub fn parse(value: &str) -> ContentType {
        let parts = split_params(value);
        let mime_type = parts.first().map(|p| p.trim().to_ascii_lowercase()).unwrap_or_default();
        let params = parse_params(parts.get(1..).unwrap_or_default());
        let mime_type = if mime_type.contains('/') { mime_type } else { "text/plain".into() };
        ContentType { mime_type, params }
    }

    /// A parameter value by (case-insensitive) name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the type is `multipart/*`.
    pub fn is_multipart(&self) -> bool {
        self.mime_type.starts_with("multipart/")
    }
}

/// Splits a structured header value on `;` outside quotes and comments.
fn split_params(value: &str) -> Vec<Cow<'_, str>> {
    if !value.contains('(') {
        return split_params_fast(value);
    }
    split_params_slow(value).into_iter().map(Cow::Owned).collect()
}

/// The common case (no comments): byte scan, one allocation per parameter.
fn split_params_fast(value: &str) -> Vec<Cow<'_, str>> {
    let b = value.as_bytes();
    let mut out = Vec::with_capacity(4);
    let (mut start, mut in_quote, mut escaped) = (0usize, false, false);
    for (i, &c) in b.iter().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            b';' if !in_quote => {
                out.push(Cow::Borrowed(&value[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(Cow::Borrowed(&value[start..]));
    out
}

fn split_params_slow(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let mut escaped = false;
    let mut comment = 0usize;
    for ch in value.chars() {
        if escaped {
            cur.push(ch);
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quote => {
                cur.push(ch);
                escaped = true;
            }
            '"' if comment == 0 => {
                in_quote = !in_quote;
                cur.push(ch);
            }
            '(' if !in_quote => comment += 1,
            ')' if !in_quote && comment > 0 => comment -= 1,
            _ if comment > 0 => {}
            ';' if !in_quote => out.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    out.push(cur);
    out
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let inner = &v[1..v.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut esc = false;
        for c in inner.chars() {
            if esc {
                out.push(c);
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else {
                out.push(c);
            }
        }
        out
    } else {
        v.to_string()
    }
}

fn parse_params(parts: &[Cow<'_, str>]) -> Vec<(String, String)> {
    let mut simple: Vec<(String, String)> = Vec::new();
    // RFC 2231: name*0=, name*1*=, name*=charset''value
    let mut continued: Vec<(String, usize, bool, String)> = Vec::new();
    for p in parts {
        let Some(eq) = p.find('=') else { continue };
        let name = p[..eq].trim().to_ascii_lowercase();
        let value = unquote(&p[eq + 1..]);
        if name.is_empty() {
            continue;
        }
        if let Some(star) = name.find('*') {
            let base = name[..star].to_string();
            let rest = &name[star + 1..];
            let encoded = rest.ends_with('*') || rest.is_empty();
            let idx = rest.trim_end_matches('*').parse::<usize>().unwrap_or(0);
            continued.push((base, idx, encoded, value));
        } else {
            simple.push((name, value));
        }
    }
    if !continued.is_empty() {
        continued.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut i = 0;
        while i < continued.len() {
            let base = continued[i].0.clone();
            let mut bytes = Vec::new();
            let mut charset = String::new();
            while i < continued.len() && continued[i].0 == base {
                let (_, idx, enc, ref v) = continued[i];
                if enc {
                    let mut v = v.as_str();
                    if idx == 0 {
                        // charset'lang'value
                        let mut it = v.splitn(3, '\'');
                        if let (Some(cs), Some(_lang), Some(rest)) =
                            (it.next(), it.next(), it.next())
                        {
                            charset = cs.to_ascii_lowercase();
                            v = rest;
                        }
                    }
                    bytes.extend(percent_decode(v));
                } else {
                    bytes.extend_from_slice(v.as_bytes());
                }
                i += 1;
            }
            let value = decode_charset(&bytes, &charset);
            if !simple.iter().any(|(n, _)| *n == base) {
                simple.push((base, value));
            } else if let Some(e) = simple.iter_mut().find(|(n, _)| *n == base) {
                // the RFC 2231 form wins over a plain fallback
                e.1 = value;
            }
        }
    }
    simple
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes bytes in `charset` (UTF-8, or Latin-1/Windows-1252 fallback).
pub(crate) fn decode_charset(bytes: &[u8], charset: &str) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !charset.starts_with("iso-8859") && !charset.contains("1252") => s.to_string(),
        _ => {
            if charset.is_empty() || charset.contains("utf") {
                if let Ok(s) = std::str::from_utf8(bytes) {
                    return s.to_string();
                }
            }
            bytes.iter().map(|&b| b as char).collect()
        }
    }
}

/// A MIME entity located in the input: its headers and body as offsets.
#[derive(Clone, Debug)]
pub struct Entity<'a> {
    /// The entity's bytes (headers + body), exactly as in the input.
    pub bytes: &'a [u8],
    /// Offset of `bytes` in the outermost input.
    pub offset: usize,
    /// The entity's header block (ranges relative to `bytes`).
    pub headers: Headers<'a>,
    /// Content type.
    pub content_type: ContentType,
    /// Child entities of a multipart (empty otherwise).
    pub children: Vec<Entity<'a>>,
    /// Nesting depth (0 = top).
    pub depth: usize,
    filename: Option<String>,
}

impl<'a> Entity<'a> {
    /// Parses `input` as a MIME tree, iteratively, within `limits`.
    ///
    /// # Errors
    /// Limits exceeded (size, depth, parts, header sizes, header fields per block and in all
    /// blocks).
    pub fn parse(input: &'a [u8], limits: &Limits) -> Result<Entity<'a>> {
        Limits::check("message size", limits.max_message_size, input.len())?;
        let mut parts = 0usize;
        let mut root = Self::leaf(input, 0, 0, limits)?;
        let mut fields = root.headers.fields.len();
        // explicit stack of paths into the tree to avoid recursion on input
        let mut stack: Vec<Vec<usize>> = vec![Vec::new()];
        while let Some(path) = stack.pop() {
            let node = node_at(&mut root, &path);
            if !node.content_type.is_multipart() {
                continue;
            }
            let Some(boundary) = node.content_type.param("boundary").map(str::to_string) else {
                // multipart without boundary: treat as opaque body
                continue;
            };
            if boundary.is_empty() {
                continue;
            }
            Limits::check("boundary length", limits.max_boundary, boundary.len())?;
            let body_start = node.headers.body_start;
            let base = node.offset;
            let depth = node.depth + 1;
            // at most one part past the limit is located: the check below then fails
            let room = limits.max_parts.saturating_sub(parts).saturating_add(1);
            let ranges = split_multipart_max(&node.bytes[body_start..], boundary.as_bytes(), room);
            if !ranges.is_empty() {
                Limits::check("MIME depth", limits.max_depth, depth)?;
            }
            let bytes = node.bytes;
            let mut children = Vec::with_capacity(ranges.len());
            for r in ranges {
                parts += 1;
                Limits::check("MIME parts", limits.max_parts, parts)?;
                let s = body_start + r.start;
                let e = body_start + r.end;
                let child = Self::leaf(&bytes[s..e], base + s, depth, limits)?;
                fields += child.headers.fields.len();
                Limits::check(
                    "header fields in all parts",
                    limits.max_total_header_fields,
                    fields,
                )?;
                children.push(child);
            }
            let n = children.len();
            node.children = children;
            for i in 0..n {
                let mut p = path.clone();
                p.push(i);
                stack.push(p);
            }
        }
        Ok(root)
    }

    fn leaf(bytes: &'a [u8], offset: usize, depth: usize, limits: &Limits) -> Result<Entity<'a>> {
        let headers = Headers::parse(bytes, limits)?;
        let content_type = headers.content_type();
        let filename = file_name(&headers, &content_type);
        Ok(Entity { bytes, offset, headers, content_type, children: Vec::new(), depth, filename })
    }

    /// The raw (transfer-encoded) body bytes.
    pub fn body(&self) -> &'a [u8] {
        self.bytes.get(self.headers.body_start..).unwrap_or(&[])
    }

    /// `Content-Transfer-Encoding`, lowercased (default `7bit`).
    pub fn transfer_encoding(&self) -> String {
        self.headers
            .value("Content-Transfer-Encoding")
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "7bit".into())
    }

    /// The decoded body (base64 / quoted-printable), borrowed when no decoding is needed.
    ///
    /// # Errors
    /// Broken base64.
    pub fn decoded_body(&self) -> Result<Cow<'a, [u8]>> {
        let body = self.body();
        match self.transfer_encoding().as_str() {
            "base64" => decode_base64(body).map(Cow::Owned).ok_or_else(|| {
                ParseError::BadEncoding {
                    encoding: "base64",
                    part: self.filename().unwrap_or_else(|| self.content_type.mime_type.clone()),
                }
                .into()
            }),
            "quoted-printable" => Ok(Cow::Owned(decode_quoted_printable(body))),
            _ => Ok(Cow::Borrowed(body)),
        }
    }

    /// The file name: `Content-Disposition` `filename` or `Content-Type` `name`
    /// (RFC 2231 and RFC 2047 forms decoded).
    pub fn filename(&self) -> Option<String> {
        self.filename.clone()
    }

    /// The file name, borrowed (see [`Entity::filename`]).
    pub fn filename_str(&self) -> Option<&str> {
        self.filename.as_deref()
    }

    /// Depth-first iterator over this entity and its descendants.
    pub fn walk(&self) -> Vec<&Entity<'a>> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            out.push(e);
            for c in e.children.iter().rev() {
                stack.push(c);
            }
        }
        out
    }
}

fn file_name(headers: &Headers<'_>, content_type: &ContentType) -> Option<String> {
    let from_disp = headers.value("Content-Disposition").and_then(|v| {
        let parts = split_params(after_semicolon(&v));
        parse_params(&parts).into_iter().find(|(n, _)| n == "filename").map(|(_, v)| v)
    });
    let raw = from_disp.or_else(|| content_type.param("name").map(str::to_string))?;
    if raw.contains("=?") {
        Some(crate::headers::decode_unstructured(raw.as_bytes()))
    } else {
        Some(raw)
    }
}

fn after_semicolon(v: &str) -> &str {
    v.find(';').map(|i| &v[i + 1..]).unwrap_or("")
}

fn node_at<'e, 'a>(root: &'e mut Entity<'a>, path: &[usize]) -> &'e mut Entity<'a> {
    let mut n = root;
    for &i in path {
        // paths are built from existing children indices
        n = &mut n.children[i];
    }
    n
}

/// Splits a multipart body into the byte ranges of its parts (relative to `body`).
///
/// Each part runs from after the line break ending a `--boundary` line to before the line
/// break that precedes the next delimiter line (RFC 2046 §5.1.1: that CRLF belongs to the
/// delimiter). Stops at the close delimiter `--boundary--`; a missing close delimiter ends the
/// last part at the end of the body (real mail is often truncated that way).
pub fn split_multipart(body: &[u8], boundary: &[u8]) -> Vec<Range<usize>> {
    split_multipart_max(body, boundary, usize::MAX)
}

/// [`split_multipart`], stopping after `max` parts (a body of millions of delimiter lines must
/// not cost a range each before the parts limit is checked).
fn split_multipart_max(body: &[u8], boundary: &[u8], max: usize) -> Vec<Range<usize>> {
    let mut delimiter = Vec::with_capacity(boundary.len() + 2);
    delimiter.extend_from_slice(b"--");
    delimiter.extend_from_slice(boundary);
    let finder = memchr::memmem::Finder::new(&delimiter);
    let mut ranges = Vec::new();
    let mut current_start: Option<usize> = None;
    let len = body.len();
    let mut search = 0usize;
    while search < len {
        let Some(found) = finder.find(&body[search..]) else { break };
        let pos = search + found;
        search = pos + 1;
        // a delimiter starts a line
        if pos != 0 && body[pos - 1] != b'\n' {
            continue;
        }
        let le = line_end(body, pos);
        let after = &body[pos + delimiter.len()..le];
        let closing = after.starts_with(b"--");
        let rest = if closing { &after[2..] } else { after };
        // only transport padding may follow
        if !rest.iter().all(|&c| c == b' ' || c == b'\t' || c == b'\r' || c == b'\n') {
            continue;
        }
        if let Some(s) = current_start.take() {
            // the line break before the delimiter belongs to it
            let mut e = pos;
            if e > s && body[e - 1] == b'\n' {
                e -= 1;
                if e > s && body[e - 1] == b'\r' {
                    e -= 1;
                }
            }
            ranges.push(s..e.max(s));
            if ranges.len() >= max {
                return ranges;
            }
        }
        if closing {
            return ranges;
        }
        current_start = Some(le);
        search = le;
    }
    if let Some(s) = current_start {
        ranges.push(s..len);
    }
    ranges
}

/// The first position of `needle` in `hay` (SIMD substring search).
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Decodes base64 ignoring whitespace and line breaks; tolerant of missing padding.
/// `None` when the content is not base64.
pub fn decode_base64(body: &[u8]) -> Option<Vec<u8>> {
    // fast path: whitespace only at line ends (the usual 76-column lines)
    let mut clean = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n') {
        clean.extend_from_slice(line.trim_ascii());
    }
    while clean.last() == Some(&b'=') {
        clean.pop();
    }
    if let Ok(v) = base64::engine::general_purpose::STANDARD_NO_PAD.decode(&clean) {
        return Some(v);
    }
    decode_base64_lenient(body)
}

/// The slow path of [`decode_base64`]: whitespace anywhere, a dangling character.
fn decode_base64_lenient(body: &[u8]) -> Option<Vec<u8>> {
    let mut clean = Vec::with_capacity(body.len());
    for &b in body {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => clean.push(b),
            b'=' => clean.push(b),
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => return None,
        }
    }
    // strip padding, then decode without requiring it
    while clean.last() == Some(&b'=') {
        clean.pop();
    }
    if clean.contains(&b'=') {
        return None;
    }
    base64::engine::general_purpose::STANDARD_NO_PAD.decode(&clean).ok().or_else(|| {
        // a dangling single character: drop it (seen in truncated real mail)
        if clean.len() % 4 == 1 {
            clean.pop();
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(&clean).ok()
        } else {
            None
        }
    })
}

/// Decodes quoted-printable (RFC 2045 §6.7), leniently: invalid escapes are kept literally.
pub fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'=' {
            // soft line break
            if body.get(i + 1) == Some(&b'\r') && body.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if body.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let (Some(&h), Some(&l)) = (body.get(i + 1), body.get(i + 2)) {
                if let (Some(h), Some(l)) = (hexval(h), hexval(l)) {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The offset where the body starts: just after the empty line that ends the header block
/// (`CRLF CRLF`, or `LF LF` for mail stored with bare LF). `None` when there is no empty line
/// (a message of headers only). A message starting with an empty line has an empty header
/// block and the body at the end of that line.
pub fn body_offset(msg: &[u8]) -> Option<usize> {
    if msg.starts_with(b"\r\n") {
        return Some(2);
    }
    if msg.starts_with(b"\n") {
        return Some(1);
    }
    let mut i = 0;
    while let Some(p) = msg[i..].iter().position(|&c| c == b'\n') {
        let next = i + p + 1;
        if msg[next..].starts_with(b"\r\n") {
            return Some(next + 2);
        }
        if msg[next..].starts_with(b"\n") {
            return Some(next + 1);
        }
        i = next;
    }
    None
}

/// Converts bare LF to CRLF (S/MIME canonical form); borrowed when already canonical.
pub fn canonicalize_crlf(input: &[u8]) -> Cow<'_, [u8]> {
    let bare =
        input.iter().enumerate().any(|(i, &c)| c == b'\n' && (i == 0 || input[i - 1] != b'\r'));
    if !bare {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() + input.len() / 40);
    for (i, &c) in input.iter().enumerate() {
        if c == b'\n' && (i == 0 || input[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_offsets() {
        assert_eq!(body_offset(b"A: b\r\n\r\nbody"), Some(8));
        assert_eq!(body_offset(b"A: b\n\nbody"), Some(6));
        assert_eq!(body_offset(b"A: b\r\nC: d\r\n"), None);
        assert_eq!(body_offset(b"\r\nbody"), Some(2));
    }

    #[test]
    fn headers_and_folding() {
        let m = b"Subject: a\r\n b\r\nFrom: x@y\r\n\r\nbody";
        let h = Headers::parse(m, &Limits::default()).unwrap();
        assert_eq!(h.fields.len(), 2);
        assert_eq!(h.value("subject").unwrap(), "a b");
        assert_eq!(h.fields[0].range, 0..16);
        assert_eq!(&m[h.body_start..], b"body");
    }

    #[test]
    fn multipart_split_exact() {
        let body = b"preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue";
        let r = split_multipart(body, b"b");
        assert_eq!(r.len(), 2);
        assert_eq!(&body[r[0].clone()], b"A: 1\r\n\r\none");
        assert_eq!(&body[r[1].clone()], b"\r\ntwo");
    }

    #[test]
    fn content_type_params() {
        let ct = ContentType::parse(
            "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256;\r\n boundary=\"abc;def\"",
        );
        assert_eq!(ct.mime_type, "multipart/signed");
        assert_eq!(ct.param("boundary"), Some("abc;def"));
        let ct = ContentType::parse("application/pdf; name*0=\"fat\"; name*1=\"tura.pdf\"");
        assert_eq!(ct.param("name"), Some("fattura.pdf"));
        let ct = ContentType::parse("application/pdf; name*=utf-8''f%C3%A0.pdf");
        assert_eq!(ct.param("name"), Some("fà.pdf"));
    }

    #[test]
    fn qp_and_base64() {
        assert_eq!(decode_quoted_printable(b"a=3Db=\r\nc"), b"a=bc");
        assert_eq!(decode_base64(b"aGVs\r\nbG8=").unwrap(), b"hello");
        assert!(decode_base64(b"!!!").is_none());
    }
}
