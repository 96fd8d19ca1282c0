//! Unstructured values (RFC 5322 §3.2.5) and RFC 2047 encoded-words, both directions:
//! [`encode_unstructured`] writes a folded 7-bit field, [`decode_unstructured`] reads one as
//! real mail carries it.

use super::{MAX_ENCODED_WORD, MAX_LINE_LENGTH, check_no_injection};
use crate::codec::{self, Charset};
use crate::error::{Error, Result};

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
/// value are [`ParseError::HeaderInjection`](crate::error::ParseError::HeaderInjection); a name that is not printable ASCII without `:`
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
        let q = codec::q_encoded_len(text.as_bytes()) <= b64_len(text.len());
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
            used_q += codec::q_encoded_len(c.encode_utf8(&mut buf).as_bytes());
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
    if !q {
        return format!("=?UTF-8?B?{}?=", codec::encode_base64(bytes));
    }
    let mut s = String::with_capacity(EW_OVERHEAD + bytes.len() * 3);
    s.push_str("=?UTF-8?Q?");
    codec::encode_q(bytes, &mut s);
    s.push_str("?=");
    s
}

/// Decodes a received unstructured value (the bytes after `Name:`), never failing:
///
/// - bytes that are not UTF-8 are read as ISO-8859-1 (each invalid byte on its own);
/// - the value is unfolded (every CR and LF removed) and trimmed of blanks;
/// - RFC 2047 encoded-words are decoded, B or Q, in any charset [`Charset`] knows
///   (`utf-8`, `iso-8859-1`, `iso-8859-15`, `windows-1252`, `us-ascii`, the other ISO-8859
///   and Windows code pages, ...; an RFC 2231 `*lang` suffix tolerated); the whitespace
///   between adjacent encoded-words is dropped, and the bytes of adjacent words in one
///   charset are joined before decoding (a character split across two words survives);
///   encoded-words inside a word are decoded too (common in the wild);
/// - an unknown charset or a broken word is kept as it is;
/// - control characters other than tab that decoding produces (CR, LF, NUL, ...) become
///   spaces, so the result can go back into a header or `daticert.xml`.
pub fn decode_unstructured(raw: &[u8]) -> String {
    let text = codec::utf8_or_latin1(raw);
    let unfolded: String = text.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    let s = unfolded.trim_matches(is_wsp);
    let mut out = String::with_capacity(s.len());
    let mut pending_ws = String::new();
    let mut after_word = false;
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_cs = Charset::ISO_8859_1;
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

/// Parses an encoded-word at the start of `s` (`=?charset?B|Q?text?=`): its charset, decoded
/// bytes and length in `s`. `None` when it is not a well-formed word in a known charset.
fn parse_encoded_word(s: &str) -> Option<(Charset, Vec<u8>, usize)> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let label = body.get(..q1)?;
    if label.is_empty() || label.len() > 64 || label.contains(|c: char| c.is_whitespace()) {
        return None;
    }
    let charset = Charset::for_label(label)?;
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
        'B' | 'b' => codec::decode_base64_word(text.as_bytes())?,
        'Q' | 'q' => codec::decode_q(text.as_bytes()),
        _ => return None,
    };
    Some((charset, bytes, 2 + text_start + end + 2))
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
