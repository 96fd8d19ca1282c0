//! A byte-exact MIME scanner: the entity tree and multipart bodies located by offsets into the
//! bytes as they arrived, never re-serialised (RFC 2045-2049). The header block and
//! `Content-Type` grammar is [`crate::headers`]; body transfer encodings are
//! [`crate::codec`] (both re-exported here under their old paths).
//!
//! Why not `mail-parser` here: a PEC message is legal evidence and its signature covers exact
//! bytes; this scanner keeps every part as a slice of the input, enforces the hostile-input
//! [`Limits`] and never recurses on input (nesting is walked with an explicit stack).
//! `mail-parser` is used in the tests as an independent parser to cross-check ours.

use std::borrow::Cow;
use std::ops::Range;

pub use crate::codec::{decode_base64, decode_quoted_printable};
use crate::error::{ParseError, Result};
pub use crate::headers::{ContentType, HeaderField, Headers};
use crate::headers::{line_end, parameters, without_line_break};
use crate::limits::Limits;

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
        let mut root = Self::leaf(input, 0, 0, limits)?;
        let mut count = PartCount { parts: 0, fields: root.headers.fields.len() };
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
            let room = limits.max_parts.saturating_sub(count.parts).saturating_add(1);
            let ranges = split_multipart_max(&node.bytes[body_start..], boundary.as_bytes(), room);
            if !ranges.is_empty() {
                Limits::check("MIME depth", limits.max_depth, depth)?;
            }
            let bytes = node.bytes;
            let mut children = Vec::with_capacity(ranges.len());
            for r in ranges {
                let (s, e) = (body_start + r.start, body_start + r.end);
                children.push(count.part(&bytes[s..e], base + s, depth, limits)?);
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

    /// The first entity of `input`'s tree that `pred` accepts, breadth-first: the one
    /// `find_first` finds in [`Entity::parse`]'s tree, with the same limits checked on what it
    /// reads, but each multipart split only as far as the search goes: the parts after the one
    /// found, however large, are never scanned (the signed content's `postacert.eml`, after
    /// `daticert.xml`). Where the whole tree exceeds a limit in parts the search never reaches,
    /// this finds the part and [`Entity::parse`] fails.
    ///
    /// # Errors
    /// As [`Entity::parse`], for the parts read.
    pub(crate) fn find_breadth_first(
        input: &'a [u8],
        limits: &Limits,
        pred: &dyn Fn(&Entity<'a>) -> bool,
    ) -> Result<Option<Entity<'a>>> {
        /// A node to test, or a multipart whose next part comes next in breadth-first order.
        enum Item<'a> {
            Node(Entity<'a>),
            Parts(PartSplitter<'a>),
        }
        Limits::check("message size", limits.max_message_size, input.len())?;
        let root = Self::leaf(input, 0, 0, limits)?;
        let mut count = PartCount { parts: 0, fields: root.headers.fields.len() };
        let mut queue = std::collections::VecDeque::from([Item::Node(root)]);
        while let Some(item) = queue.pop_front() {
            let node = match item {
                Item::Node(n) => n,
                Item::Parts(mut sp) => {
                    let Some(r) = sp.next_range() else { continue };
                    if sp.produced == 1 {
                        Limits::check("MIME depth", limits.max_depth, sp.depth)?;
                    }
                    let bytes = sp.body.get(r.clone()).unwrap_or_default();
                    let child = count.part(bytes, sp.base + r.start, sp.depth, limits)?;
                    // its siblings come before anything queued after it
                    queue.push_front(Item::Parts(sp));
                    child
                }
            };
            if pred(&node) {
                return Ok(Some(node));
            }
            if let Some(sp) = PartSplitter::of(&node, limits)? {
                queue.push_back(Item::Parts(sp));
            }
        }
        Ok(None)
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
            .get("Content-Transfer-Encoding")
            .map(|f| f.with_unfolded(|v| v.trim().to_ascii_lowercase()))
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
    // only a value that names a `filename` (or holds a comment, which may split the name)
    // can give one: the others are not parsed
    let names_file = |f: &HeaderField<'_>| {
        f.raw_value.contains(&b'(')
            || f.raw_value.windows(8).any(|w| w.eq_ignore_ascii_case(b"filename"))
    };
    let from_disp = headers.get("Content-Disposition").filter(|f| names_file(f)).and_then(|f| {
        f.with_unfolded(|v| {
            parameters(v).into_iter().find(|(n, _)| n == "filename").map(|(_, v)| v)
        })
    });
    let raw = from_disp.or_else(|| content_type.param("name").map(str::to_string))?;
    if raw.contains("=?") {
        Some(crate::headers::decode_unstructured(raw.as_bytes()))
    } else {
        Some(raw)
    }
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
    let mut parts = PartSplitter::new(body, boundary, 0, 0);
    std::iter::from_fn(|| parts.next_range()).take(max).collect()
}

/// The parts read so far and their header fields, against [`Limits`]: what
/// [`Entity::parse`] and [`Entity::find_breadth_first`] count alike.
struct PartCount {
    parts: usize,
    fields: usize,
}

impl PartCount {
    /// One more part: counted, its header block parsed, its fields counted.
    fn part<'a>(
        &mut self,
        bytes: &'a [u8],
        offset: usize,
        depth: usize,
        limits: &Limits,
    ) -> Result<Entity<'a>> {
        self.parts += 1;
        Limits::check("MIME parts", limits.max_parts, self.parts)?;
        let child = Entity::leaf(bytes, offset, depth, limits)?;
        self.fields += child.headers.fields.len();
        Limits::check("header fields in all parts", limits.max_total_header_fields, self.fields)?;
        Ok(child)
    }
}

/// The parts of a multipart found one at a time ([`split_multipart`]'s ranges, in order,
/// each found only when asked for).
struct PartSplitter<'a> {
    /// The multipart's body.
    body: &'a [u8],
    /// The body's offset in the outermost input.
    base: usize,
    /// The parts' depth.
    depth: usize,
    boundary: Vec<u8>,
    search: usize,
    current_start: Option<usize>,
    done: bool,
    /// How many parts it has given.
    produced: usize,
}

impl<'a> PartSplitter<'a> {
    /// The splitter of `node`'s parts; `None` when it is not a multipart with a boundary.
    fn of(node: &Entity<'a>, limits: &Limits) -> Result<Option<PartSplitter<'a>>> {
        if !node.content_type.is_multipart() {
            return Ok(None);
        }
        let Some(boundary) = node.content_type.param("boundary").filter(|b| !b.is_empty()) else {
            return Ok(None);
        };
        Limits::check("boundary length", limits.max_boundary, boundary.len())?;
        let start = node.headers.body_start;
        let body = node.bytes.get(start..).unwrap_or_default();
        Ok(Some(PartSplitter::new(body, boundary.as_bytes(), node.offset + start, node.depth + 1)))
    }

    /// The parts of `body` (at `base` in the input, its parts at `depth`) split on `boundary`.
    fn new(body: &'a [u8], boundary: &[u8], base: usize, depth: usize) -> PartSplitter<'a> {
        PartSplitter {
            body,
            base,
            depth,
            boundary: boundary.to_vec(),
            search: 0,
            current_start: None,
            done: false,
            produced: 0,
        }
    }

    /// The next part's range in the body: after the opening delimiter line, up to the line
    /// break before the next delimiter line (only transport padding may follow a boundary);
    /// the last part runs to the end of a body without its closing delimiter.
    fn next_range(&mut self) -> Option<Range<usize>> {
        let (body, len) = (self.body, self.body.len());
        let delimiter_len = self.boundary.len() + 2;
        while !self.done && self.search < len {
            let Some(pos) = next_delimiter(body, &self.boundary, self.search) else { break };
            self.search = pos + 1;
            let le = line_end(body, pos);
            let after = body.get(pos + delimiter_len..le).unwrap_or_default();
            let closing = after.starts_with(b"--");
            let rest = if closing { after.get(2..).unwrap_or_default() } else { after };
            if !rest.iter().all(|&c| c == b' ' || c == b'\t' || c == b'\r' || c == b'\n') {
                continue;
            }
            let found =
                self.current_start.take().map(|s| s..without_line_break(body, s, pos).max(s));
            if closing {
                self.done = true;
            } else {
                self.current_start = Some(le);
                self.search = le;
            }
            if let Some(r) = found {
                self.produced += 1;
                return Some(r);
            }
        }
        self.done = true;
        let last = self.current_start.take().map(|s| s..len);
        self.produced += usize::from(last.is_some());
        last
    }
}

/// A line break followed by `--`: where every delimiter line but one opening the body starts
/// (one searcher for every boundary: building a substring searcher per boundary cost more
/// than the search itself on a small message).
static LINE_DASHES: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\n--"));

/// The first position `pos >= from` where `--boundary` starts a line of `body` (at 0 or just
/// after a LF).
fn next_delimiter(body: &[u8], boundary: &[u8], from: usize) -> Option<usize> {
    let delimiter_at =
        |pos: usize| body.get(pos + 2..).is_some_and(|rest| rest.starts_with(boundary));
    let mut from = from;
    if from == 0 {
        if body.starts_with(b"--") && delimiter_at(0) {
            return Some(0);
        }
        from = 1;
    }
    loop {
        // the LF before a candidate at `from` or later is at `from - 1` or later
        let hay = body.get(from - 1..)?;
        let pos = from + LINE_DASHES.find(hay)?;
        if delimiter_at(pos) {
            return Some(pos);
        }
        from = pos + 1;
    }
}

/// The first position of `needle` in `hay` (SIMD substring search).
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
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
    match first_bare_lf(input) {
        None => Cow::Borrowed(input),
        Some(first) => Cow::Owned(crlf_from(input, first)),
    }
}

/// [`canonicalize_crlf`] of an owned buffer: the buffer itself when already canonical (no
/// copy).
pub fn canonicalize_crlf_vec(input: Vec<u8>) -> Vec<u8> {
    match first_bare_lf(&input) {
        None => input,
        Some(first) => crlf_from(&input, first),
    }
}

/// The offset of the first LF not preceded by CR (line ends found by `memchr`).
fn first_bare_lf(input: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'\n', input).find(|&i| i == 0 || input[i - 1] != b'\r')
}

/// `input` with a CR put before every bare LF, the first of them at `first`.
fn crlf_from(input: &[u8], first: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 40 + 1);
    let mut done = 0;
    for i in std::iter::once(first)
        .chain(memchr::memchr_iter(b'\n', &input[first + 1..]).map(|j| j + first + 1))
    {
        if i == 0 || input[i - 1] != b'\r' {
            out.extend_from_slice(&input[done..i]);
            out.extend_from_slice(b"\r\n");
            done = i + 1;
        }
    }
    out.extend_from_slice(&input[done..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_canonical_form() {
        // the byte-by-byte definition, against the memchr one
        fn reference(input: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            for (i, &c) in input.iter().enumerate() {
                if c == b'\n' && (i == 0 || input[i - 1] != b'\r') {
                    out.push(b'\r');
                }
                out.push(c);
            }
            out
        }
        let cases: [&[u8]; 9] = [
            b"",
            b"\n",
            b"\r\n",
            b"\n\n",
            b"\r\r\n",
            b"a\nb\r\nc\n",
            b"\r",
            b"abc",
            b"\n\r\n\n\rx\n",
        ];
        for c in cases {
            assert_eq!(&*canonicalize_crlf(c), &reference(c)[..], "{c:?}");
            assert_eq!(canonicalize_crlf_vec(c.to_vec()), reference(c), "{c:?}");
            assert_eq!(matches!(canonicalize_crlf(c), Cow::Borrowed(_)), reference(c) == c);
        }
    }

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

    /// The delimiter search as it was (one substring searcher per boundary), the reference
    /// for [`next_delimiter`].
    fn split_reference(body: &[u8], boundary: &[u8]) -> Vec<Range<usize>> {
        let mut delimiter = b"--".to_vec();
        delimiter.extend_from_slice(boundary);
        let (mut ranges, mut current_start, mut search) = (Vec::new(), None, 0usize);
        while search < body.len() {
            let Some(found) = find(&body[search..], &delimiter) else { break };
            let pos = search + found;
            search = pos + 1;
            if pos != 0 && body[pos - 1] != b'\n' {
                continue;
            }
            let le = line_end(body, pos);
            let after = &body[pos + delimiter.len()..le];
            let closing = after.starts_with(b"--");
            let rest = if closing { &after[2..] } else { after };
            if !rest.iter().all(|&c| c == b' ' || c == b'\t' || c == b'\r' || c == b'\n') {
                continue;
            }
            if let Some(s) = current_start.take() {
                let e = without_line_break(body, s, pos);
                ranges.push(s..e.max(s));
            }
            if closing {
                return ranges;
            }
            current_start = Some(le);
            search = le;
        }
        if let Some(s) = current_start {
            ranges.push(s..body.len());
        }
        ranges
    }

    #[test]
    fn multipart_split_matches_the_reference() {
        // bodies drawn from the bytes that matter to the delimiter grammar
        let alphabet: &[u8] = b"-\n\r b-x";
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for boundary in [&b"b"[..], b"-", b"--", b"b-", b"x--b"] {
            for _ in 0..4000 {
                let n = usize::try_from(next() % 24).unwrap_or(0);
                let body: Vec<u8> =
                    (0..n).map(|_| alphabet[usize::try_from(next() % 7).unwrap_or(0)]).collect();
                assert_eq!(
                    split_multipart(&body, boundary),
                    split_reference(&body, boundary),
                    "{:?} {:?}",
                    String::from_utf8_lossy(&body),
                    String::from_utf8_lossy(boundary)
                );
            }
        }
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
