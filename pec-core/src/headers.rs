//! Header values: writing them safely and reading them as real mail carries them (RFC 5322,
//! RFC 2047; docs/SPEC.md §3.2, §10.6).
//!
//! - [`check_no_injection`] refuses CR, LF and NUL in anything that reaches a header.
//! - [`encode_unstructured`] writes a whole `Name: value\r\n` field: RFC 2047 encoded-words for
//!   non-ASCII, folded to 78 columns with CRLF + space (used for `Subject:`, prefix + original
//!   subject).
//! - [`decode_unstructured`] unfolds and decodes a received value, robust on any bytes.
//! - [`validate_addr_spec`], [`validate_domain`], [`parse_address_list`]: addresses.
//! - [`on_behalf_of_from`] / [`sender_from_on_behalf`]: the envelope's `From:` in the Italian
//!   form `"Per conto di: sender" <posta-certificata@domain>` (docs/SPEC.md §3.2).
//! - [`quoted_printable`]: the human-readable parts (RFC 2045 §6.7, docs/SPEC.md §2, §10.6).

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use crate::error::{Error, ParseError, Result};

/// The column limit of every line written (RFC 5322 §2.1.1 SHOULD).
pub const MAX_LINE_LENGTH: usize = 78;

/// The largest encoded-word (RFC 2047 §2).
pub const MAX_ENCODED_WORD: usize = 75;

/// The address every PEC system message comes from: `posta-certificata@<provider domain>`
/// (docs/SPEC.md §3.2).
pub const SYSTEM_LOCAL_PART: &str = "posta-certificata";

/// Refuses a header name or value that carries CR, LF or NUL: such a value would end the
/// field early and inject headers or a body ([`ParseError::HeaderInjection`]).
pub fn check_no_injection(name: &str, value: &str) -> Result<()> {
    let bad = |s: &str| s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0));
    if bad(name) || bad(value) {
        return Err(ParseError::HeaderInjection { header: name.escape_debug().to_string() }.into());
    }
    Ok(())
}

/// The complete field `Name: value\r\n` for an unstructured value (RFC 5322 §3.2.5, e.g.
/// `Subject:`), 7-bit and folded:
///
/// - printable ASCII words are written unchanged; words with non-ASCII or control
///   characters, words that could be mistaken for an encoded-word (`=?`), and words too long
///   for one line become RFC 2047 encoded-words (`=?UTF-8?Q?...?=` or `=?UTF-8?B?...?=`,
///   whichever is shorter, each at most 75 characters, never splitting a character), the
///   whitespace between adjacent such words encoded with them;
/// - a value with leading or trailing whitespace, or a run of more than 8 blanks, is encoded
///   whole, so that decoding gives it back exactly;
/// - lines are folded before existing whitespace (CRLF + the whitespace), never longer than
///   78 columns (for field names up to 60 characters), never a bare LF.
///
/// [`decode_unstructured`] of the value gives the input back. CR, LF or NUL in the name or
/// value are [`ParseError::HeaderInjection`]; a name that is not printable ASCII without `:`
/// is [`Error::InvalidArgument`].
pub fn encode_unstructured(name: &str, value: &str) -> Result<String> {
    check_no_injection(name, value)?;
    if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
        return Err(Error::InvalidArgument(format!("invalid header name {name:?}")));
    }
    let mut f = Folder { out: String::with_capacity(name.len() + value.len() * 2 + 16), col: 0 };
    f.out.push_str(name);
    f.out.push(':');
    f.col = name.len() + 1;
    if value.is_empty() {
        f.out.push_str("\r\n");
        return Ok(f.out);
    }
    let tokens = tokenize(value);
    let whole = value.starts_with(is_wsp)
        || value.ends_with(is_wsp)
        || tokens.iter().any(|t| t.ws.len() > 8);
    if whole {
        f.encoded(" ", value);
    } else {
        let mut i = 0;
        while let Some(t) = tokens.get(i) {
            let sep = if i == 0 { " " } else { t.ws };
            if needs_encoding(t.word) {
                // The run of words needing encoding, with the whitespace between them.
                let start = t.start;
                let mut end = t.start + t.word.len();
                let mut j = i + 1;
                while let Some(u) = tokens.get(j) {
                    if !needs_encoding(u.word) {
                        break;
                    }
                    end = u.start + u.word.len();
                    j += 1;
                }
                f.encoded(sep, value.get(start..end).unwrap_or(t.word));
                i = j;
            } else {
                f.literal(sep, t.word);
                i += 1;
            }
        }
    }
    f.out.push_str("\r\n");
    Ok(f.out)
}

fn is_wsp(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// A word with the whitespace before it.
struct Token<'a> {
    ws: &'a str,
    word: &'a str,
    start: usize,
}

/// Splits a value with no leading whitespace into words and the blanks before them.
fn tokenize(value: &str) -> Vec<Token<'_>> {
    let mut v = Vec::new();
    let mut rest = value;
    let mut offset = 0;
    while !rest.is_empty() {
        let ws_len = rest.find(|c: char| !is_wsp(c)).unwrap_or(rest.len());
        let (ws, after) = rest.split_at(ws_len);
        let word_len = after.find(is_wsp).unwrap_or(after.len());
        let (word, next) = after.split_at(word_len);
        if !word.is_empty() {
            v.push(Token { ws, word, start: offset + ws_len });
        }
        offset += ws_len + word_len;
        rest = next;
    }
    v
}

/// The longest word written literally: with up to 8 blanks before it, it fits a
/// continuation line.
const MAX_LITERAL_WORD: usize = MAX_LINE_LENGTH - 8;

fn needs_encoding(word: &str) -> bool {
    word.len() > MAX_LITERAL_WORD
        || word.contains("=?")
        || word.bytes().any(|b| !(33..=126).contains(&b))
}

/// Line filling for [`encode_unstructured`]. Everything it writes is ASCII.
struct Folder {
    out: String,
    col: usize,
}

/// The smallest encoded-word worth starting at the end of a line.
const MIN_ENCODED_WORD: usize = 24;
const EW_OVERHEAD: usize = "=?UTF-8?B??=".len();

impl Folder {
    fn fold(&mut self) {
        self.out.push_str("\r\n");
        self.col = 0;
    }

    fn literal(&mut self, sep: &str, word: &str) {
        if self.col + sep.len() + word.len() > MAX_LINE_LENGTH && self.col > 0 {
            self.fold();
        }
        self.out.push_str(sep);
        self.out.push_str(word);
        self.col += sep.len() + word.len();
    }

    /// Writes `text` as encoded-words, the first after `sep`, the next after a single space
    /// (whitespace between encoded-words is not part of the text, RFC 2047 §6.2).
    fn encoded(&mut self, sep: &str, text: &str) {
        let q = q_len(text.as_bytes()) <= b64_len(text.len());
        let mut rest = text;
        let mut sep = sep;
        while !rest.is_empty() {
            let mut room =
                MAX_LINE_LENGTH.saturating_sub(self.col + sep.len()).min(MAX_ENCODED_WORD);
            if room < MIN_ENCODED_WORD {
                self.fold();
                room = MAX_LINE_LENGTH.saturating_sub(sep.len()).min(MAX_ENCODED_WORD);
            }
            let payload = room.saturating_sub(EW_OVERHEAD);
            let mut take = chunk_len(rest, payload, q);
            if take == 0 {
                // Cannot happen after a fold (room >= 70); take one character regardless.
                take = rest.chars().next().map_or(rest.len(), char::len_utf8);
            }
            let (chunk, next) = rest.split_at(take);
            let word = encode_word(chunk.as_bytes(), q);
            self.out.push_str(sep);
            self.out.push_str(&word);
            self.col += sep.len() + word.len();
            rest = next;
            sep = " ";
        }
    }
}

/// Characters written literally inside a Q encoded-word (RFC 2047 §5 (3), the strictest set).
fn q_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'!' | b'*' | b'+' | b'-' | b'/')
}

fn q_len(bytes: &[u8]) -> usize {
    bytes.iter().map(|&b| if q_literal(b) || b == b' ' { 1 } else { 3 }).sum()
}

fn b64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// The longest prefix of `s`, on a character boundary, whose encoding fits `payload`.
fn chunk_len(s: &str, payload: usize, q: bool) -> usize {
    let mut used_q = 0;
    let mut taken = 0;
    for (i, c) in s.char_indices() {
        let end = i + c.len_utf8();
        let fits = if q {
            let mut buf = [0u8; 4];
            used_q += q_len(c.encode_utf8(&mut buf).as_bytes());
            used_q <= payload
        } else {
            b64_len(end) <= payload
        };
        if !fits {
            break;
        }
        taken = end;
    }
    taken
}

fn encode_word(bytes: &[u8], q: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if !q {
        return format!("=?UTF-8?B?{}?=", general_purpose::STANDARD.encode(bytes));
    }
    let mut s = String::with_capacity(EW_OVERHEAD + bytes.len() * 3);
    s.push_str("=?UTF-8?Q?");
    for &b in bytes {
        if q_literal(b) {
            s.push(char::from(b));
        } else if b == b' ' {
            s.push('_');
        } else {
            s.push('=');
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
    }
    s.push_str("?=");
    s
}

/// Decodes a received unstructured value (the bytes after `Name:`), never failing:
///
/// - bytes that are not UTF-8 are read as ISO-8859-1 (each invalid byte on its own);
/// - the value is unfolded (every CR and LF removed) and trimmed of blanks;
/// - RFC 2047 encoded-words are decoded, B or Q, in `utf-8`, `iso-8859-1`, `iso-8859-15`,
///   `windows-1252` or `us-ascii` (with an RFC 2231 `*lang` suffix tolerated); the whitespace
///   between adjacent encoded-words is dropped, and the bytes of adjacent words in one
///   charset are joined before decoding (a character split across two words survives);
///   encoded-words inside a word are decoded too (common in the wild);
/// - an unknown charset or a broken word is kept as it is;
/// - control characters other than tab that decoding produces (CR, LF, NUL, ...) become
///   spaces, so the result can go back into a header or `daticert.xml`.
pub fn decode_unstructured(raw: &[u8]) -> String {
    let text = bytes_to_string(raw);
    let unfolded: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let s = unfolded.trim_matches(is_wsp);
    let mut out = String::with_capacity(s.len());
    let mut pending_ws = String::new();
    let mut after_word = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_cs = Charset::Ascii;
    let mut i = 0;
    while let Some(rest) = s.get(i..) {
        let Some(c) = rest.chars().next() else { break };
        if rest.starts_with("=?")
            && let Some((cs, bytes, used)) = parse_encoded_word(rest)
        {
            {
                if after_word && !buf.is_empty() && cs == buf_cs {
                    buf.extend_from_slice(&bytes);
                } else {
                    flush(&mut out, &mut buf, buf_cs);
                    if !after_word {
                        out.push_str(&pending_ws);
                    }
                    buf = bytes;
                    buf_cs = cs;
                }
                pending_ws.clear();
                after_word = true;
                i += used;
                continue;
            }
        }
        if after_word && is_wsp(c) {
            pending_ws.push(c);
        } else {
            flush(&mut out, &mut buf, buf_cs);
            out.push_str(&pending_ws);
            pending_ws.clear();
            after_word = false;
            out.push(c);
        }
        i += c.len_utf8();
    }
    flush(&mut out, &mut buf, buf_cs);
    out.push_str(&pending_ws);
    let is_bad = |c: char| c < ' ' && c != '\t';
    if out.contains(is_bad) {
        out = out.chars().map(|c| if is_bad(c) { ' ' } else { c }).collect();
    }
    out
}

fn flush(out: &mut String, buf: &mut Vec<u8>, cs: Charset) {
    if !buf.is_empty() {
        out.push_str(&cs.decode(buf));
        buf.clear();
    }
}

/// UTF-8 where valid, each invalid byte as ISO-8859-1.
fn bytes_to_string(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        s.push_str(chunk.valid());
        s.extend(chunk.invalid().iter().map(|&b| char::from(b)));
    }
    s
}

/// The charsets [`decode_unstructured`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Charset {
    Utf8,
    Latin1,
    Latin9,
    Windows1252,
    Ascii,
}

impl Charset {
    fn from_label(label: &str) -> Option<Charset> {
        let l = label.split('*').next().unwrap_or(label).trim().to_ascii_lowercase();
        Some(match l.as_str() {
            "utf-8" | "utf8" => Charset::Utf8,
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1"
            | "iso-ir-100" | "cp819" | "ibm819" => Charset::Latin1,
            "iso-8859-15" | "iso8859-15" | "iso_8859-15" | "latin9" | "latin-9" => Charset::Latin9,
            "windows-1252" | "cp1252" | "x-cp1252" => Charset::Windows1252,
            "us-ascii" | "ascii" | "ansi_x3.4-1968" => Charset::Ascii,
            _ => return None,
        })
    }

    fn decode(self, bytes: &[u8]) -> String {
        match self {
            Charset::Utf8 => bytes_to_string(bytes),
            Charset::Latin1 | Charset::Ascii => bytes.iter().map(|&b| char::from(b)).collect(),
            Charset::Latin9 => bytes.iter().map(|&b| latin9(b)).collect(),
            Charset::Windows1252 => bytes.iter().map(|&b| windows1252(b)).collect(),
        }
    }
}

fn latin9(b: u8) -> char {
    match b {
        0xA4 => '€',
        0xA6 => 'Š',
        0xA8 => 'š',
        0xB4 => 'Ž',
        0xB8 => 'ž',
        0xBC => 'Œ',
        0xBD => 'œ',
        0xBE => 'Ÿ',
        b => char::from(b),
    }
}

fn windows1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH.get(usize::from(b - 0x80)).copied().unwrap_or(char::from(b)),
        b => char::from(b),
    }
}

/// Parses an encoded-word at the start of `s` (`=?charset?B|Q?text?=`): its charset, decoded
/// bytes and length in `s`. `None` when it is not a well-formed word in a known charset.
fn parse_encoded_word(s: &str) -> Option<(Charset, Vec<u8>, usize)> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let label = body.get(..q1)?;
    if label.is_empty() || label.len() > 64 || label.contains(|c: char| c.is_whitespace()) {
        return None;
    }
    let charset = Charset::from_label(label)?;
    let after = body.get(q1 + 1..)?;
    let mut it = after.chars();
    let enc = it.next()?;
    if it.next()? != '?' {
        return None;
    }
    let text_start = q1 + 1 + 2;
    let text_all = body.get(text_start..)?;
    let end = text_all.find("?=")?;
    let text = text_all.get(..end)?;
    if text.contains(|c: char| c.is_whitespace() || c == '?') {
        return None;
    }
    let bytes = match enc {
        'B' | 'b' => b64_lenient().decode(text.trim_end_matches('=')).ok()?,
        'Q' | 'q' => q_decode(text.as_bytes()),
        _ => return None,
    };
    Some((charset, bytes, 2 + text_start + end + 2))
}

fn b64_lenient() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    )
}

fn q_decode(text: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => v.push(b' '),
            b'=' => {
                let hex = text.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h).ok().and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(x) => {
                        v.push(x);
                        i += 3;
                        continue;
                    }
                    None => v.push(b'='),
                }
            }
            b => v.push(b),
        }
        i += 1;
    }
    v
}

/// Validates a mail domain as a DNS host name (RFC 1035, RFC 5321 §4.1.2): dot-separated
/// labels of letters, digits and hyphens, 1..=63 characters each, not starting or ending with
/// a hyphen, at most 253 characters, no trailing dot. Otherwise
/// [`ParseError::InvalidAddress`].
pub fn validate_domain(domain: &str) -> Result<()> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok { Ok(()) } else { Err(invalid_address(domain)) }
}

fn invalid_address(s: &str) -> Error {
    ParseError::InvalidAddress(s.chars().take(256).collect()).into()
}

/// `atext` of RFC 5322 §3.2.3.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// Validates a bare `local@domain` (RFC 5322 §3.4.1 addr-spec, as used on SMTP paths): the
/// local part a dot-atom or a quoted string (printable ASCII, quoted pairs allowed), at most
/// 64 characters; the domain a host name ([`validate_domain`]) or a domain literal
/// (`[192.0.2.1]`); at most 254 characters in all; no space, CR, LF, angle brackets or
/// non-ASCII anywhere. Otherwise [`ParseError::InvalidAddress`].
pub fn validate_addr_spec(addr: &str) -> Result<()> {
    let bad = || invalid_address(addr);
    if addr.len() > 254
        || !addr.is_ascii()
        || addr.bytes().any(|b| b.is_ascii_control() || matches!(b, b' ' | b'<' | b'>'))
    {
        return Err(bad());
    }
    let (local, domain) = addr.rsplit_once('@').ok_or_else(bad)?;
    if local.is_empty() || local.len() > 64 {
        return Err(bad());
    }
    if let Some(inner) = local.strip_prefix('"') {
        let inner = inner.strip_suffix('"').ok_or_else(bad)?;
        let b = inner.as_bytes();
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            match c {
                b'\\' => {
                    if !b.get(i + 1).is_some_and(|n| (33..=126).contains(n)) {
                        return Err(bad());
                    }
                    i += 2;
                }
                b'"' => return Err(bad()),
                33..=126 => i += 1,
                _ => return Err(bad()),
            }
        }
    } else if !local.split('.').all(|a| !a.is_empty() && a.bytes().all(is_atext)) {
        return Err(bad());
    }
    if let Some(lit) = domain.strip_prefix('[') {
        let inner = lit.strip_suffix(']').ok_or_else(bad)?;
        if inner.is_empty()
            || !inner.bytes().all(|b| (33..=90).contains(&b) || (94..=126).contains(&b))
        {
            return Err(bad());
        }
        Ok(())
    } else {
        validate_domain(domain).map_err(|_| bad())
    }
}

/// One mailbox of an address list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, unquoted and RFC 2047-decoded (`None` when absent or empty; for a
    /// bare address with an old-style `(comment)`, the comment).
    pub name: Option<String>,
    /// The address as written (`local@domain`, route and angle brackets removed; not
    /// validated: see [`validate_addr_spec`]).
    pub address: String,
}

/// The deepest comment nesting honoured; deeper parentheses are read as text.
const MAX_COMMENT_DEPTH: u32 = 32;

/// Reads an RFC 5322 address list (`To:`, `Cc:`, `From:`, `Reply-To:`) tolerantly, never
/// failing: `"Name, X" <a@b>`, `Name <a@b>`, bare `a@b`, `a@b (Name)`, groups
/// (`team: a@b, c@d;`, the group name dropped), comments anywhere, quoted pairs, obsolete
/// routes (`<@relay:a@b>`), RFC 2047 display names (also inside quotes, as found in the wild),
/// folding. Empty members and `<>` are skipped.
pub fn parse_address_list(raw: &str) -> Vec<Mailbox> {
    let chars: Vec<char> = raw.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let mut list = Vec::new();
    let mut seg = Segment::default();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '"' => {
                let mut content = String::new();
                let mut raw = String::from('"');
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    raw.push(d);
                    match d {
                        '\\' => {
                            if let Some(&e) = chars.get(i) {
                                content.push(e);
                                raw.push(e);
                                i += 1;
                            }
                        }
                        '"' => break,
                        d => content.push(d),
                    }
                }
                if seg.angle.is_none() {
                    seg.raw.push_str(&raw);
                    seg.phrase.push_str(&content);
                }
            }
            '(' => {
                let mut depth = 1u32;
                let mut content = String::new();
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    match d {
                        '\\' => {
                            if let Some(&e) = chars.get(i) {
                                content.push(e);
                                i += 1;
                            }
                        }
                        '(' if depth < MAX_COMMENT_DEPTH => {
                            depth += 1;
                            content.push(d);
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            content.push(d);
                        }
                        d => content.push(d),
                    }
                }
                if !seg.comment.is_empty() {
                    seg.comment.push(' ');
                }
                seg.comment.push_str(&content);
                seg.phrase.push(' ');
            }
            '<' => {
                let mut content = String::new();
                let mut quoted = false;
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    match d {
                        '"' => {
                            quoted = !quoted;
                            content.push(d);
                        }
                        '\\' if quoted => {
                            content.push(d);
                            if let Some(&e) = chars.get(i) {
                                content.push(e);
                                i += 1;
                            }
                        }
                        '>' if !quoted => break,
                        d => content.push(d),
                    }
                }
                if seg.angle.is_none() {
                    seg.angle = Some(content);
                }
            }
            '[' => {
                let mut content = String::from("[");
                while let Some(&d) = chars.get(i) {
                    i += 1;
                    content.push(d);
                    if d == ']' {
                        break;
                    }
                }
                if seg.angle.is_none() {
                    seg.raw.push_str(&content);
                    seg.phrase.push_str(&content);
                }
            }
            ',' | ';' => seg.finish(&mut list),
            ':' if seg.angle.is_none() => seg = Segment::default(),
            c => {
                if seg.angle.is_none() {
                    if !c.is_whitespace() {
                        seg.raw.push(c);
                    }
                    seg.phrase.push(c);
                }
            }
        }
    }
    seg.finish(&mut list);
    list
}

#[derive(Default)]
struct Segment {
    phrase: String,
    raw: String,
    comment: String,
    angle: Option<String>,
}

impl Segment {
    fn finish(&mut self, list: &mut Vec<Mailbox>) {
        let seg = std::mem::take(self);
        let (address, name) = match seg.angle {
            Some(angle) => {
                let a = angle.rsplit_once(':').map_or(angle.as_str(), |(route, addr)| {
                    if route.trim_start().starts_with('@') { addr } else { angle.as_str() }
                });
                (a.split_whitespace().collect::<String>(), display_name(&seg.phrase))
            }
            None => (seg.raw, display_name(&seg.comment)),
        };
        if !address.is_empty() {
            list.push(Mailbox { name, address });
        }
    }
}

fn display_name(phrase: &str) -> Option<String> {
    let decoded = decode_unstructured(phrase.as_bytes());
    let collapsed = decoded.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() { None } else { Some(collapsed) }
}

/// One address of an RFC 5322 §3.4 address list, read strictly by [`parse_addresses`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// A single mailbox.
    Mailbox(MailboxAddress),
    /// A group (`name: member, member;`), possibly empty.
    Group {
        /// The group's display name (RFC 2047-decoded).
        name: String,
        /// Its members.
        members: Vec<MailboxAddress>,
    },
}

/// A mailbox read strictly (RFC 5322 §3.4): comments and folding removed, quoted pairs
/// resolved, obsolete routes dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailboxAddress {
    /// The display name, RFC 2047-decoded (`None` when absent).
    pub name: Option<String>,
    /// The local part's value: a dot-atom as written without CFWS, or the content of a quoted
    /// string with its quoted pairs resolved.
    pub local_part: String,
    /// The domain as written without CFWS: a dot-atom, or a domain literal with its brackets.
    pub domain: String,
}

impl MailboxAddress {
    /// The addr-spec `local@domain`, the local part quoted when it is not a dot-atom.
    pub fn addr_spec(&self) -> String {
        let dot_atom = !self.local_part.is_empty()
            && self.local_part.split('.').all(|a| !a.is_empty() && a.chars().all(is_atext_char));
        if dot_atom {
            format!("{}@{}", self.local_part, self.domain)
        } else {
            let mut s = String::with_capacity(self.local_part.len() + self.domain.len() + 4);
            s.push('"');
            for c in self.local_part.chars() {
                if c == '"' || c == '\\' {
                    s.push('\\');
                }
                s.push(c);
            }
            s.push_str("\"@");
            s.push_str(&self.domain);
            s
        }
    }

    /// The domain, ASCII-lowercased (what the providers index compares).
    pub fn domain_lowercase(&self) -> String {
        self.domain.to_ascii_lowercase()
    }
}

/// `atext` of RFC 5322 §3.2.3, with the non-ASCII characters RFC 6532 §3.2 admits.
fn is_atext_char(c: char) -> bool {
    if c.is_ascii() { is_atext(c as u8) } else { !c.is_control() }
}

/// `obs-NO-WS-CTL` (RFC 5322 §4.1): admitted in obsolete qtext, ctext and dtext.
fn is_obs_no_ws_ctl(c: char) -> bool {
    matches!(c, '\u{1}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}')
}

/// Reads an RFC 5322 §3.4 address list strictly (the opposite of [`parse_address_list`]):
/// the grammar of `address-list` with CFWS (nested comments, quoted pairs, folding), quoted
/// local parts, groups, domain literals, RFC 6532 UTF-8, and the obsolete forms of §4.4
/// (`obs-phrase` with dots, `obs-local-part`/`obs-domain` with CFWS around the dots,
/// `obs-route`, empty list elements). Bytes that are not UTF-8 are read as ISO-8859-1.
///
/// # Errors
/// [`ParseError::InvalidAddress`] when the value does not match the grammar (an address
/// without `@`, an unterminated quoted string or comment, text after an address without a
/// comma, comments nested deeper than 32, a NUL, ...).
pub fn parse_addresses(raw: &[u8]) -> Result<Vec<Address>> {
    let text = bytes_to_string(raw);
    let mut p = AddrParser { s: text.chars().collect(), i: 0 };
    p.address_list().map_err(|_| invalid_address(&text))
}

/// Reads an RFC 5322 `mailbox-list` strictly (`From:`): as [`parse_addresses`], and a group
/// is an error too.
///
/// # Errors
/// [`ParseError::InvalidAddress`].
pub fn parse_mailbox_list(raw: &[u8]) -> Result<Vec<MailboxAddress>> {
    parse_addresses(raw)?
        .into_iter()
        .map(|a| match a {
            Address::Mailbox(m) => Ok(m),
            Address::Group { .. } => Err(invalid_address(&bytes_to_string(raw))),
        })
        .collect()
}

/// The single mailbox of a value that must hold exactly one (`From:` of a PEC message,
/// `mittente` of daticert): `None` for anything else, groups included.
pub fn single_mailbox(raw: &[u8]) -> Option<MailboxAddress> {
    let mut list = parse_mailbox_list(raw).ok()?;
    if list.len() == 1 { list.pop() } else { None }
}

/// A grammar mismatch (the position is not reported: the caller reports the value).
struct Mismatch;

type Parsed<T> = std::result::Result<T, Mismatch>;

/// A word of a phrase or local part, or a dot between them.
enum Item {
    Word(String),
    Dot,
}

/// Recursive descent over RFC 5322 §3.2-§3.4 and §4.4; comment nesting bounded, otherwise
/// no recursion.
struct AddrParser {
    s: Vec<char>,
    i: usize,
}

impl AddrParser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Parsed<()> {
        if self.eat(c) { Ok(()) } else { Err(Mismatch) }
    }

    /// `CFWS` / `FWS`, possibly empty. CR and LF only occur as folding inside a field value.
    fn cfws(&mut self) -> Parsed<()> {
        loop {
            match self.peek() {
                Some(' ' | '\t' | '\r' | '\n') => self.i += 1,
                Some('(') => self.comment()?,
                _ => return Ok(()),
            }
        }
    }

    /// A quoted pair (after the backslash): any character but NUL (RFC 5322 §3.2.1, with
    /// obs-qp).
    fn quoted_pair(&mut self) -> Parsed<char> {
        match self.peek() {
            Some(c) if c != '\0' => {
                self.i += 1;
                Ok(c)
            }
            _ => Err(Mismatch),
        }
    }

    /// `comment`, nesting bounded by [`MAX_COMMENT_DEPTH`] (iterative).
    fn comment(&mut self) -> Parsed<()> {
        self.expect('(')?;
        let mut depth = 1u32;
        while depth > 0 {
            let c = self.peek().ok_or(Mismatch)?;
            self.i += 1;
            match c {
                '(' => {
                    depth += 1;
                    if depth > MAX_COMMENT_DEPTH {
                        return Err(Mismatch);
                    }
                }
                ')' => depth -= 1,
                '\\' => {
                    self.quoted_pair()?;
                }
                '\0' => return Err(Mismatch),
                ' ' | '\t' | '\r' | '\n' => {}
                c if c.is_ascii_control() && !is_obs_no_ws_ctl(c) => return Err(Mismatch),
                _ => {}
            }
        }
        Ok(())
    }

    /// `quoted-string` content (the opening quote is next); folding removed.
    fn quoted_string(&mut self) -> Parsed<String> {
        self.expect('"')?;
        let mut out = String::new();
        loop {
            let c = self.peek().ok_or(Mismatch)?;
            self.i += 1;
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.quoted_pair()?),
                '\r' | '\n' => {}
                '\0' => return Err(Mismatch),
                c if c.is_ascii_control() && c != '\t' && !is_obs_no_ws_ctl(c) => {
                    return Err(Mismatch);
                }
                c => out.push(c),
            }
        }
    }

    /// `1*atext`, or `None` when none is next.
    fn atom_text(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_atext_char) {
            self.i += 1;
        }
        (self.i > start).then(|| self.s[start..self.i].iter().collect())
    }

    /// Words and dots up to the next special (`obs-phrase` / `obs-local-part`), CFWS
    /// around them skipped.
    fn items(&mut self) -> Parsed<Vec<Item>> {
        let mut items = Vec::new();
        loop {
            self.cfws()?;
            match self.peek() {
                Some('"') => items.push(Item::Word(self.quoted_string()?)),
                Some('.') => {
                    self.i += 1;
                    items.push(Item::Dot);
                }
                _ => match self.atom_text() {
                    Some(a) => items.push(Item::Word(a)),
                    None => return Ok(items),
                },
            }
        }
    }

    /// `display-name` from items: `phrase` / `obs-phrase` (starts with a word).
    fn phrase(items: &[Item]) -> Parsed<String> {
        if !matches!(items.first(), Some(Item::Word(_))) {
            return Err(Mismatch);
        }
        let mut s = String::new();
        for it in items {
            match it {
                Item::Word(w) => {
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    s.push_str(w);
                }
                Item::Dot => s.push('.'),
            }
        }
        Ok(s)
    }

    /// `local-part` from items: `word *("." word)`.
    fn local_part(items: &[Item]) -> Parsed<String> {
        let mut s = String::new();
        let mut want_word = true;
        for it in items {
            match (it, want_word) {
                (Item::Word(w), true) => s.push_str(w),
                (Item::Dot, false) => s.push('.'),
                _ => return Err(Mismatch),
            }
            want_word = !want_word;
        }
        if want_word { Err(Mismatch) } else { Ok(s) }
    }

    /// `domain` (after the `@`): `domain-literal`, or `atom *("." atom)` with CFWS around.
    fn domain(&mut self) -> Parsed<String> {
        self.cfws()?;
        if self.eat('[') {
            let mut s = String::from("[");
            loop {
                let c = self.peek().ok_or(Mismatch)?;
                self.i += 1;
                match c {
                    ']' => break,
                    '[' | '\0' => return Err(Mismatch),
                    '\\' => s.push(self.quoted_pair()?),
                    ' ' | '\t' | '\r' | '\n' => {}
                    c if c.is_ascii_control() && !is_obs_no_ws_ctl(c) => return Err(Mismatch),
                    c => s.push(c),
                }
            }
            s.push(']');
            self.cfws()?;
            return Ok(s);
        }
        let mut s = self.atom_text().ok_or(Mismatch)?;
        loop {
            self.cfws()?;
            if !self.eat('.') {
                return Ok(s);
            }
            self.cfws()?;
            s.push('.');
            s.push_str(&self.atom_text().ok_or(Mismatch)?);
        }
    }

    /// `angle-addr` / `obs-angle-addr` (the `<` is next): the route is dropped.
    fn angle_addr(&mut self) -> Parsed<(String, String)> {
        self.expect('<')?;
        self.cfws()?;
        if matches!(self.peek(), Some('@' | ',')) {
            // obs-route = obs-domain-list ":"
            loop {
                self.cfws()?;
                if self.eat(',') {
                    continue;
                }
                if self.eat('@') {
                    self.domain()?;
                    continue;
                }
                break;
            }
            self.expect(':')?;
        }
        let items = self.items()?;
        let local = Self::local_part(&items)?;
        self.expect('@')?;
        let domain = self.domain()?;
        self.expect('>')?;
        self.cfws()?;
        Ok((local, domain))
    }

    /// `address` (`group` allowed when `group_ok`).
    fn address(&mut self, group_ok: bool) -> Parsed<Address> {
        let items = self.items()?;
        match self.peek() {
            Some('<') => {
                let name = if items.is_empty() { None } else { Some(Self::phrase(&items)?) };
                let (local_part, domain) = self.angle_addr()?;
                Ok(Address::Mailbox(MailboxAddress {
                    name: name.and_then(|n| display_name(&n)),
                    local_part,
                    domain,
                }))
            }
            Some('@') => {
                let local_part = Self::local_part(&items)?;
                self.i += 1;
                let domain = self.domain()?;
                Ok(Address::Mailbox(MailboxAddress { name: None, local_part, domain }))
            }
            Some(':') if group_ok => {
                let name = Self::phrase(&items)?;
                self.i += 1;
                let mut members = Vec::new();
                loop {
                    self.cfws()?;
                    match self.peek() {
                        Some(';') => break,
                        Some(',') => self.i += 1,
                        Some(_) => match self.address(false)? {
                            Address::Mailbox(m) => {
                                members.push(m);
                                self.cfws()?;
                                match self.peek() {
                                    Some(',') => self.i += 1,
                                    Some(';') => {}
                                    _ => return Err(Mismatch),
                                }
                            }
                            Address::Group { .. } => return Err(Mismatch),
                        },
                        None => return Err(Mismatch),
                    }
                }
                self.expect(';')?;
                self.cfws()?;
                Ok(Address::Group { name: display_name(&name).unwrap_or_default(), members })
            }
            _ => Err(Mismatch),
        }
    }

    /// `address-list` / `obs-addr-list`: empty elements tolerated; nothing but a comma may
    /// follow an address.
    fn address_list(&mut self) -> Parsed<Vec<Address>> {
        let mut list = Vec::new();
        loop {
            self.cfws()?;
            match self.peek() {
                None => return Ok(list),
                Some(',') => self.i += 1,
                Some(_) => {
                    list.push(self.address(true)?);
                    self.cfws()?;
                    match self.peek() {
                        None => return Ok(list),
                        Some(',') => self.i += 1,
                        Some(_) => return Err(Mismatch),
                    }
                }
            }
        }
    }
}

/// The display-name prefix of envelope `From:` fields in real traffic (docs/SPEC.md §3.2).
pub const ON_BEHALF_PREFIX: &str = "Per conto di: ";

/// The `From:` value of a transport or anomaly envelope, in the Italian form real providers
/// use (docs/SPEC.md §3.2): `"Per conto di: sender" <posta-certificata@domain>`. The sender must be a
/// valid addr-spec and the domain a host name ([`ParseError::InvalidAddress`]).
pub fn on_behalf_of_from(sender: &str, provider_domain: &str) -> Result<String> {
    validate_addr_spec(sender)?;
    validate_domain(provider_domain)?;
    let mut quoted = String::with_capacity(sender.len() + 4);
    for c in sender.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    Ok(format!("\"{ON_BEHALF_PREFIX}{quoted}\" <{SYSTEM_LOCAL_PART}@{provider_domain}>"))
}

/// The original sender named in an envelope's `From:` display name (docs/SPEC.md §3.2): matches
/// `per conto di:?\s*` (any case; also the RFC's English `on behalf of:`), then returns the
/// rest (or, when nothing follows, the `<address>` of the value) if it is a valid addr-spec.
/// Accepts the display name alone, quoted or not, RFC 2047-encoded or not, or the
/// whole `From:` value. `None` when the form does not match. `daticert.xml` `<mittente>` is
/// the authoritative sender; this is a fallback.
pub fn sender_from_on_behalf(display: &str) -> Option<String> {
    let s = display.trim();
    // A whole `From:` value: split off the trailing `<address>`.
    let (name_part, angle) = match (s.rfind('<'), s.strip_suffix('>')) {
        (Some(lt), Some(inner)) => (s.get(..lt)?, inner.get(lt + 1..)),
        _ => (s, None),
    };
    let name_part = name_part.trim();
    let mut name = match name_part.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(inner) => unescape_quoted(inner),
        None => name_part.to_string(),
    };
    if name.contains("=?") {
        name = decode_unstructured(name.as_bytes());
    }
    let name = name.trim().trim_matches('"').trim();
    let lower = name.to_ascii_lowercase();
    let start =
        ["per conto di", "on behalf of"].iter().find(|p| lower.starts_with(*p)).map(|p| p.len())?;
    let rest = name.get(start..)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest).trim();
    let rest = rest.strip_prefix('<').and_then(|r| r.strip_suffix('>')).unwrap_or(rest).trim();
    let candidate = if rest.is_empty() { angle?.trim() } else { rest };
    validate_addr_spec(candidate).ok()?;
    Some(candidate.to_string())
}

/// The content of a quoted string with its quoted pairs resolved (`\"` → `"`).
fn unescape_quoted(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Encodes a UTF-8 text as quoted-printable (RFC 2045 §6.7) for the human-readable parts:
/// line ends (CRLF, LF or CR) become CRLF hard breaks; lines are cut with soft breaks (`=`)
/// so that no line exceeds 76 characters, never inside an `=XX`; blanks at the end of a line
/// are encoded; `=` and every byte outside printable ASCII are `=XX` (upper case); a line
/// starting with `From ` gets its `F` encoded so that mbox storage cannot alter signed text.
pub fn quoted_printable(text: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    const MAX: usize = 76;
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(text.len() + text.len() / 8 + 8);
    for (n, line) in normalized.split('\n').enumerate() {
        if n > 0 {
            out.push_str("\r\n");
        }
        let b = line.as_bytes();
        let mut col = 0;
        for (i, &c) in b.iter().enumerate() {
            let last = i + 1 == b.len();
            let at_start = col == 0;
            let literal = match c {
                b'=' => false,
                b' ' | b'\t' => !last,
                b'F' if at_start && b.get(i..i + 5) == Some(b"From ") => false,
                33..=126 => true,
                _ => false,
            };
            let width = if literal { 1 } else { 3 };
            // Keep room for the soft-break `=` unless this is the line's last token.
            let limit = if last { MAX } else { MAX - 1 };
            if col + width > limit {
                out.push_str("=\r\n");
                col = 0;
                if c == b'F' && b.get(i..i + 5) == Some(b"From ") {
                    out.push_str("=46");
                    col = 3;
                    continue;
                }
            }
            if literal {
                out.push(char::from(c));
            } else {
                out.push('=');
                out.push(char::from(HEX[usize::from(c >> 4)]));
                out.push(char::from(HEX[usize::from(c & 15)]));
            }
            col += width;
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn encoded_word_parsing() {
        assert_eq!(decode_unstructured(b"=?utf-8?q?caff=C3=A8?="), "caffè");
        assert_eq!(decode_unstructured(b"=?ISO-8859-1?B?Y2FmZug=?="), "caffè");
        assert_eq!(decode_unstructured(b"=?x-unknown?q?a?="), "=?x-unknown?q?a?=");
        assert_eq!(decode_unstructured(b"=?utf-8?x?a?="), "=?utf-8?x?a?=");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod strict_address_tests {
    use super::*;

    fn mbox(name: Option<&str>, local: &str, domain: &str) -> MailboxAddress {
        MailboxAddress {
            name: name.map(str::to_string),
            local_part: local.to_string(),
            domain: domain.to_string(),
        }
    }

    fn one(raw: &str) -> MailboxAddress {
        single_mailbox(raw.as_bytes()).unwrap_or_else(|| panic!("{raw:?}"))
    }

    #[test]
    fn rfc5322_appendix_a1_mailboxes() {
        // A.1.1
        assert_eq!(
            one("John Doe <jdoe@machine.example>"),
            mbox(Some("John Doe"), "jdoe", "machine.example")
        );
        assert_eq!(
            one("\"Joe Q. Public\" <john.q.public@example.com>"),
            mbox(Some("Joe Q. Public"), "john.q.public", "example.com")
        );
        // A.1.2: three mailboxes, and a quoted display name with specials
        let list =
            parse_mailbox_list(b"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>")
                .unwrap();
        assert_eq!(
            list,
            vec![
                mbox(Some("Mary Smith"), "mary", "x.test"),
                mbox(None, "jdoe", "example.org"),
                mbox(Some("Who?"), "one", "y.test"),
            ]
        );
        let list = parse_mailbox_list(
            b"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
        )
        .unwrap();
        assert_eq!(list[1], mbox(Some("Giant; \"Big\" Box"), "sysservices", "example.net"));
    }

    #[test]
    fn rfc5322_groups() {
        // A.1.3
        let list =
            parse_addresses(b"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;")
                .unwrap();
        assert_eq!(
            list,
            vec![Address::Group {
                name: "A Group".into(),
                members: vec![
                    mbox(Some("Ed Jones"), "c", "a.test"),
                    mbox(None, "joe", "where.test"),
                    mbox(Some("John"), "jdoe", "one.test"),
                ],
            }]
        );
        assert_eq!(
            parse_addresses(b"Undisclosed recipients:;").unwrap(),
            vec![Address::Group { name: "Undisclosed recipients".into(), members: vec![] }]
        );
        // a group is not a mailbox: never the single From: mailbox
        assert!(parse_mailbox_list(b"A Group:Ed Jones <c@a.test>;").is_err());
        assert!(single_mailbox(b"A Group:Ed Jones <c@a.test>;").is_none());
        // groups do not nest; the ';' is required
        assert!(parse_addresses(b"a: b: c@d;;").is_err());
        assert!(parse_addresses(b"a: c@d").is_err());
    }

    #[test]
    fn rfc5322_comments_and_cfws() {
        // A.5
        assert_eq!(
            one("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>"),
            mbox(Some("Pete"), "pete", "silly.test")
        );
        let list = parse_addresses(
            b"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)",
        )
        .unwrap();
        let Address::Group { name, members } = &list[0] else { panic!("{list:?}") };
        assert_eq!(name, "A Group");
        assert_eq!(members[0], mbox(Some("Chris Jones"), "c", "public.example"));
        assert_eq!(members.len(), 3);
        assert_eq!(
            parse_addresses(b"(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;")
                .unwrap(),
            vec![Address::Group { name: "Hidden recipients".into(), members: vec![] }]
        );
        // an address inside a comment is a comment, not the address
        let m = one("posta-certificata@pec.example.it (via <posta-certificata@pec.other.it>)");
        assert_eq!(m.domain, "pec.example.it");
        let m = one("(posta-certificata@pec.other.it) <posta-certificata@pec.example.it>");
        assert_eq!(m.domain, "pec.example.it");
        // unterminated or too deep comments are errors
        assert!(parse_addresses(b"a@b (open").is_err());
        let deep = format!("a@b {}{}", "(".repeat(40), ")".repeat(40));
        assert!(parse_addresses(deep.as_bytes()).is_err());
        let ok = format!("a@b {}{}", "(".repeat(30), ")".repeat(30));
        assert!(parse_addresses(ok.as_bytes()).is_ok());
    }

    #[test]
    fn quoted_local_parts_and_literals() {
        let m = one("\"john..doe\"@example.com");
        assert_eq!(m.local_part, "john..doe");
        assert_eq!(m.addr_spec(), "\"john..doe\"@example.com");
        let m = one("<\"a@b\\\"c\"@pec.example.it>");
        assert_eq!((m.local_part.as_str(), m.domain.as_str()), ("a@b\"c", "pec.example.it"));
        assert_eq!(m.addr_spec(), "\"a@b\\\"c\"@pec.example.it");
        let m = one("jsmith@[192.168.2.1]");
        assert_eq!(m.domain, "[192.168.2.1]");
        // the on-behalf-of display name holds an address: it is a name, not the address
        let m =
            one("\"Per conto di: mario.rossi@pec.example.it\" <posta-certificata@pec.other.it>");
        assert_eq!(m.name.as_deref(), Some("Per conto di: mario.rossi@pec.example.it"));
        assert_eq!(m.addr_spec(), "posta-certificata@pec.other.it");
        // RFC 2047 display names and RFC 6532 UTF-8
        let m = one("=?utf-8?q?Caff=C3=A8?= <a@b.it>");
        assert_eq!(m.name.as_deref(), Some("Caffè"));
        let m = one("Niccolò <niccolò@pec.example.it>");
        assert_eq!(m.local_part, "niccolò");
    }

    #[test]
    fn rfc5322_obsolete_forms() {
        // A.6.1 obs-phrase with a dot, obs-route, empty list elements, obs-domain with CFWS
        assert_eq!(
            one("Joe Q. Public <john.q.public@example.com>").name.as_deref(),
            Some("Joe Q. Public")
        );
        let list =
            parse_mailbox_list(b"Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example")
                .unwrap();
        assert_eq!(
            list,
            vec![
                mbox(Some("Mary Smith"), "mary", "example.net"),
                mbox(None, "jdoe", "test.example")
            ]
        );
        // A.6.3 comments inside the domain
        assert_eq!(one("John Doe <jdoe@machine(comment).  example>").domain, "machine.example");
        // obs-local-part: words and quoted strings with CFWS around the dots
        assert_eq!(one("john . \"q\" . public@example.com").local_part, "john.q.public");
        // obs-route with several domains
        assert_eq!(one("<@a.test,@b.test:x@c.test>").domain, "c.test");
        // obs-mbox-list: leading and trailing commas
        assert_eq!(parse_mailbox_list(b", a@b.it ,").unwrap().len(), 1);
    }

    #[test]
    fn not_exactly_one_mailbox() {
        for raw in [
            "",
            "   ",
            "posta-certificata",
            "Posta <posta-certificata>",
            "a@pec.example.it, <posta-certificata@pec.other.it>",
            "a@pec.example.it b@pec.other.it",
            "a@pec.example.it <b@pec.other.it>",
            "<a@pec.example.it> <b@pec.other.it>",
            "<>",
            "a@",
            "@b.it",
            "a.@b.it",
            "a..b@b.it",
            "a@b..it",
            "\"open@b.it",
            "a@b.it>",
            "<a@b.it",
            "a@[1.2.3.4",
            "a@b.it\0",
            "group: a@b.it;",
        ] {
            assert!(single_mailbox(raw.as_bytes()).is_none(), "{raw:?}");
        }
    }

    #[test]
    fn never_panics_on_hostile_bytes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"ab@.<>()\"\\,;:[] \t\r\n\xc3\xa8\x00=?";
        for _ in 0..3000 {
            let mut v = Vec::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                v.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse_addresses(&v);
        }
    }
}
