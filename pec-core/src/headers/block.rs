//! The header block of an entity (RFC 5322 §2.2): fields located by offsets into the input,
//! never re-serialised, with their folded raw values (§2.2.3) and unfolding.

use std::ops::Range;

use super::ContentType;
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

/// `b` as text (valid UTF-8 checked by the fast validator; otherwise invalid sequences
/// replaced), trimmed.
fn lossy_trimmed(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim().to_string(),
        Err(_) => String::from_utf8_lossy(b).trim().to_string(),
    }
}

impl HeaderField<'_> {
    /// The value unfolded (line breaks removed), leading/trailing whitespace trimmed, raw
    /// (not RFC 2047-decoded); non-UTF-8 bytes replaced.
    pub fn unfolded(&self) -> String {
        let raw = self.raw_value;
        if memchr::memchr2(b'\r', b'\n', raw).is_none() {
            return lossy_trimmed(raw);
        }
        // one buffer: the runs between line-break bytes copied in, then trimmed in place
        let mut out = Vec::with_capacity(raw.len());
        let mut at = 0;
        while let Some(p) = memchr::memchr2(b'\r', b'\n', raw.get(at..).unwrap_or_default()) {
            out.extend_from_slice(raw.get(at..at + p).unwrap_or_default());
            at += p + 1;
        }
        out.extend_from_slice(raw.get(at..).unwrap_or_default());
        match String::from_utf8(out) {
            Ok(mut s) => {
                let end = s.trim_end().len();
                s.truncate(end);
                let start = s.len() - s.trim_start().len();
                s.drain(..start);
                s
            }
            Err(e) => lossy_trimmed(e.as_bytes()),
        }
    }

    /// `f` of [`HeaderField::unfolded`], borrowed from the input when the value is one line of
    /// UTF-8 (the usual case: nothing allocated).
    pub fn with_unfolded<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        if memchr::memchr2(b'\r', b'\n', self.raw_value).is_none()
            && let Ok(s) = std::str::from_utf8(self.raw_value)
        {
            return f(s.trim());
        }
        f(&self.unfolded())
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
        // room for a MIME part's few fields without regrowth (a message's own header grows
        // once or twice; a hostile tree of 10 000 parts holds at most 3.8 MB of field lists)
        let mut fields: Vec<HeaderField<'a>> = Vec::with_capacity(8);
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
            let colon = memchr::memchr(b':', line);
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
            let value_end = without_line_break(input, value_start, end);
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
        self.get("Content-Type").map(|f| f.with_unfolded(ContentType::parse)).unwrap_or_default()
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

/// `end` moved back over one line break (LF or CRLF) ending `input[start..end]`, never
/// before `start`.
pub(crate) fn without_line_break(input: &[u8], start: usize, end: usize) -> usize {
    let mut e = end;
    if e > start && input.get(e - 1) == Some(&b'\n') {
        e -= 1;
        if e > start && input.get(e - 1) == Some(&b'\r') {
            e -= 1;
        }
    }
    e
}

/// Index just after the LF ending the line that starts at `pos` (or the input length).
pub(crate) fn line_end(input: &[u8], pos: usize) -> usize {
    match input.get(pos..).and_then(|s| memchr::memchr(b'\n', s)) {
        Some(p) => pos + p + 1,
        None => input.len(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    fn field(raw: &[u8]) -> HeaderField<'_> {
        HeaderField { name: "X", raw_value: raw, range: 0..raw.len() }
    }

    #[test]
    fn unfolding_drops_line_breaks_and_trims() {
        assert_eq!(field(b" a b ").unfolded(), "a b");
        assert_eq!(field(b" a;\r\n\tb=c \r\n ").unfolded(), "a;\tb=c");
        assert_eq!(field(b"\r\n a\nb\rc\r\n").unfolded(), "abc");
        assert_eq!(field(b"\r\n").unfolded(), "");
        // Unicode whitespace is trimmed as str::trim does
        assert_eq!(field("\u{a0}a\r\n b\u{3000}".as_bytes()).unfolded(), "a b");
        // invalid UTF-8 replaced, then trimmed
        assert_eq!(field(b" a\xff\r\n b ").unfolded(), "a\u{fffd} b");
        assert_eq!(field(b" a\r\n\tb ").with_unfolded(str::to_string), "a\tb");
        assert_eq!(field(b" a ").with_unfolded(str::to_string), "a");
    }
}
