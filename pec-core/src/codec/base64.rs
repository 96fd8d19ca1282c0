//! Base64 (RFC 4648 §4, the standard alphabet), in the three strictnesses the core reads.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, STANDARD_NO_PAD,
};

/// The length of a MIME base64 line (RFC 2045 §6.8: at most 76 characters).
pub const MIME_LINE: usize = 76;

/// Content that is not canonical base64 (see [`decode_base64_strict`]); its message says
/// where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidBase64(base64::DecodeError);

/// Standard base64 with padding, on one line.
pub fn encode_base64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Standard base64 with padding for a MIME body: 76-character lines, each ended by CRLF (the
/// last one too; nothing for empty data).
pub fn encode_base64_mime(data: &[u8]) -> Vec<u8> {
    let enc = STANDARD.encode(data);
    let mut out = Vec::with_capacity(enc.len() + enc.len() / (MIME_LINE / 2) + 2);
    for chunk in enc.as_bytes().chunks(MIME_LINE) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes canonical base64: the standard alphabet, padded, no whitespace (strip it first),
/// no non-zero trailing bits.
///
/// # Errors
/// [`InvalidBase64`], saying what and where.
pub fn decode_base64_strict(text: &[u8]) -> Result<Vec<u8>, InvalidBase64> {
    STANDARD.decode(text).map_err(InvalidBase64)
}

/// Decodes a MIME base64 body ignoring whitespace and line breaks; tolerant of missing
/// padding. `None` when the content is not base64.
pub fn decode_base64(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    decode_base64_into(body, &mut out).then_some(out)
}

/// [`decode_base64`] into `out` (cleared first, its capacity reused); `false` when the
/// content is not base64 (`out` is then unspecified).
pub fn decode_base64_into(body: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    // fastest path: lines of one length, decoded with SIMD, the rest as below
    if decode_lines(body, out) {
        return true;
    }
    out.clear();
    // fast path: the alphabet and line breaks only, padding at the end, decoded in one
    // pass without copying the text
    if decode_plain(body, out) {
        return true;
    }
    out.clear();
    // fast path: whitespace only at line ends (the usual 76-column lines)
    let mut clean = Vec::with_capacity(body.len());
    for line in body.split(|&b| b == b'\n') {
        clean.extend_from_slice(line.trim_ascii());
    }
    while clean.last() == Some(&b'=') {
        clean.pop();
    }
    if STANDARD_NO_PAD.decode_vec(&clean, out).is_ok() {
        return true;
    }
    out.clear();
    match decode_base64_lenient(body) {
        Some(v) => {
            *out = v;
            true
        }
        None => false,
    }
}

/// The usual MIME body: lines of one length `L` (a multiple of 4), each ended by the
/// same line break (CRLF or LF). The run of such lines made of the alphabet only is gathered
/// without its line breaks and decoded at once with SIMD (`base64-simd`, which refuses any
/// other character); the text from the first line that is not such a line (the last one,
/// with its padding) is read by [`decode_plain_into`], which starts there at a quantum
/// boundary as it would after reading those lines itself: the bytes and the verdict are
/// [`decode_plain`]'s. `false` also when the text has no line break or lines of another
/// shape (the caller then tries [`decode_plain`]).
fn decode_lines(body: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(nl) = memchr::memchr(b'\n', body) else {
        return false;
    };
    let crlf = nl.checked_sub(1).is_some_and(|cr| body.get(cr) == Some(&b'\r'));
    let len = if crlf { nl - 1 } else { nl };
    if len == 0 || len % 4 != 0 {
        return false;
    }
    let stride = len + 1 + usize::from(crlf);
    // the line break ending a line of `len` characters at `at`
    let ends_line = |at: usize| match body.get(at + len..at + stride) {
        Some(&[b'\r', b'\n']) => crlf,
        Some(&[b'\n']) => !crlf,
        _ => false,
    };
    with_scratch(|text| {
        let mut at = 0;
        // whole lines, the padded one excepted (left to the scalar reader, which checks the
        // bits padding leaves)
        while let Some(line) = body.get(at..at + len) {
            if !ends_line(at) || line.last() == Some(&b'=') {
                break;
            }
            text.extend_from_slice(line);
            at += stride;
        }
        decode_gathered(text, body.get(at..).unwrap_or_default(), out)
    })
}

/// Largest gathering buffer a thread keeps between calls (a 1 MiB body's is let go).
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    /// The gathering buffer of [`decode_lines`], reused: one allocation per thread, not two
    /// of several KiB per decoded part (allocations that size bypass malloc's per-thread
    /// cache).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `f` on an empty buffer: the thread's kept one, or a new one if that is in use.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut kept) => {
            kept.clear();
            let r = f(&mut kept);
            if kept.capacity() > SCRATCH_KEPT {
                *kept = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Decodes `text` (whole lines gathered, no padding) with SIMD, then `rest` with
/// [`decode_plain_into`], appending to `out`; on failure `out` is left as it was.
fn decode_gathered(text: &[u8], rest: &[u8], out: &mut Vec<u8>) -> bool {
    let (start, decoded) = (out.len(), text.len() / 4 * 3);
    out.resize(start + decoded + rest.len() / 4 * 3 + 3, 0);
    let Some((head, tail)) = out.get_mut(start..).map(|o| o.split_at_mut(decoded)) else {
        return false;
    };
    if base64_simd::STANDARD_NO_PAD.decode(text, base64_simd::Out::from_slice(head)).is_err() {
        out.truncate(start);
        return false;
    }
    match decode_plain_into(rest, tail) {
        Some(n) => {
            out.truncate(start + decoded + n);
            true
        }
        None => {
            out.truncate(start);
            false
        }
    }
}

/// Sextet values of the standard alphabet; [`CRLF`] for CR and LF, [`PAD`] for `=`,
/// [`BAD`] for anything else.
const DECODE: [u8; 256] = {
    let mut t = [BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b'\r' as usize] = CRLF;
    t[b'\n' as usize] = CRLF;
    t[b'=' as usize] = PAD;
    t
};
const CRLF: u8 = 0xfd;
const PAD: u8 = 0xfe;
const BAD: u8 = 0xff;

/// One pass over text made of the alphabet and CR/LF only, `=` only at the end (followed by
/// `=` and line breaks only), no dangling character, no non-zero trailing bits: the bytes
/// [`decode_base64`]'s copying paths give for such text (base64 decodes quantum by quantum,
/// line breaks are skipped). `false` for any other text, which those paths then read.
fn decode_plain(body: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    // room for the most the text can give, written by index, cut to size at the end
    out.resize(start + body.len() / 4 * 3 + 3, 0);
    match decode_plain_into(body, out.get_mut(start..).unwrap_or_default()) {
        Some(len) => {
            out.truncate(start + len);
            true
        }
        None => {
            out.truncate(start);
            false
        }
    }
}

/// [`decode_plain`] into `dst` (at least `body.len() / 4 * 3 + 2` bytes): the length
/// written, `None` when `body` is not such text.
fn decode_plain_into(body: &[u8], dst: &mut [u8]) -> Option<usize> {
    let sextet = |b: u8| DECODE[usize::from(b)];
    let (mut acc, mut n) = (0u32, 0u32);
    let (mut i, mut w) = (0, 0);
    while i < body.len() {
        // runs of four alphabet characters at a quantum boundary: the usual case
        if n == 0 {
            while let (Some(&[a, b, c, d]), Some(o)) = (body.get(i..i + 4), dst.get_mut(w..w + 3)) {
                let (a, b, c, d) = (sextet(a), sextet(b), sextet(c), sextet(d));
                // every class but the alphabet (CRLF, PAD, BAD) has the high bits set
                if (a | b | c | d) >= 64 {
                    break;
                }
                let v = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
                o.copy_from_slice(&[(v >> 16) as u8, (v >> 8) as u8, v as u8]);
                i += 4;
                w += 3;
            }
        }
        let Some(&ch) = body.get(i) else { break };
        i += 1;
        match sextet(ch) {
            v @ 0..64 => {
                acc = acc << 6 | u32::from(v);
                n += 1;
                if n == 4 {
                    dst.get_mut(w..w + 3)?.copy_from_slice(&[
                        (acc >> 16) as u8,
                        (acc >> 8) as u8,
                        acc as u8,
                    ]);
                    w += 3;
                    (acc, n) = (0, 0);
                }
            }
            CRLF => {}
            PAD => {
                let rest = body.get(i..).unwrap_or_default();
                if !rest.iter().all(|&b| matches!(b, b'=' | b'\r' | b'\n')) {
                    return None;
                }
                break;
            }
            _ => return None,
        }
    }
    match n {
        0 => Some(w),
        2 if acc & 0xf == 0 => {
            *dst.get_mut(w)? = (acc >> 4) as u8;
            Some(w + 1)
        }
        3 if acc & 0x3 == 0 => {
            dst.get_mut(w..w + 2)?.copy_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
            Some(w + 2)
        }
        _ => None,
    }
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
    STANDARD_NO_PAD.decode(&clean).ok().or_else(|| {
        // a dangling single character: drop it (seen in truncated real mail)
        if clean.len() % 4 == 1 {
            clean.pop();
            STANDARD_NO_PAD.decode(&clean).ok()
        } else {
            None
        }
    })
}

/// The text of a `B` encoded-word (RFC 2047 §4.1), as real senders write it: padding
/// optional (trailing `=` ignored), non-zero trailing bits accepted. `None` when not base64.
pub(crate) fn decode_base64_word(text: &[u8]) -> Option<Vec<u8>> {
    const WORD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let mut end = text.len();
    while end > 0 && text.get(end - 1) == Some(&b'=') {
        end -= 1;
    }
    WORD.decode(text.get(..end)?).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn mime_bodies() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64(b"aGVs bG8").unwrap(), b"hello");
        assert!(decode_base64(b"aGVsbG8=Z").is_none());
        assert_eq!(decode_base64(b"aGVsbG8hZ").unwrap(), b"hello!");
        assert!(decode_base64(b"!!!").is_none());
        assert_eq!(decode_base64(b"").unwrap(), b"");
    }

    #[test]
    fn decoding_into_a_reused_buffer() {
        let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
        let mut out = vec![1, 2, 3];
        for len in [0, 1, 2, 3, 56, 57, 58, 1000, 3000] {
            let enc = encode_base64_mime(&data[..len]);
            assert!(decode_base64_into(&enc, &mut out), "{len}");
            assert_eq!(out, &data[..len], "{len}");
            // the same text on lines of other lengths, LF, blanks around
            let text = encode_base64(&data[..len]);
            for width in [3usize, 4, 5, 64, 77] {
                let mut odd = b"  \n".to_vec();
                for chunk in text.as_bytes().chunks(width) {
                    odd.extend_from_slice(chunk);
                    odd.extend_from_slice(b" \n");
                }
                odd.extend_from_slice(b"\r\n\r\n");
                assert_eq!(decode_base64(&odd).unwrap(), &data[..len], "{len} {width}");
            }
        }
        // every single-character change of a short text: the one-pass decoder agrees with
        // the copying paths (`decode_copying`) on all of them
        // and so does the line-wise SIMD decoder, on texts of lines of one length too
        for base in [
            &b"aGVsbG8h\r\nd29y bGQ=\r\n"[..],
            b"aGVs\r\nbG8h\r\nd29y\r\nbGQ=\r\n",
            b"aGVsbG8h\nd29ybGQh\naGVsbA==\n",
        ] {
            for pos in 0..base.len() {
                for ch in [b'A', b'=', b'\r', b'\n', b' ', b'\t', b'!', 0x0c, b'/', b'Q'] {
                    let mut t = base.to_vec();
                    t[pos] = ch;
                    // each fast decoder, when it accepts the text, gives the copying paths' bytes
                    for fast in [decode_plain as fn(&[u8], &mut Vec<u8>) -> bool, decode_lines] {
                        let mut out = Vec::new();
                        if fast(&t, &mut out) {
                            let text = String::from_utf8_lossy(&t);
                            assert_eq!(Some(out), decode_copying(&t), "{text:?}");
                        }
                    }
                    let mut into = Vec::new();
                    let ok = decode_base64_into(&t, &mut into);
                    assert_eq!(ok.then_some(into), decode_copying(&t));
                }
            }
        }
        // `=` inside, a last line of only padding, trailing bits, one dangling character
        assert!(decode_base64(b"aGVs\r\nbG8=\r\naGVs\r\n").is_none());
        assert_eq!(decode_base64(b"aGVsbG8h\r\n==\r\n").unwrap(), b"hello!");
        assert_eq!(decode_base64(b"aGVsbA\r\n==\r\n").unwrap(), b"hell");
        assert!(decode_base64(b"aGVsbB==\r\n").is_none());
        assert_eq!(decode_base64(b"aGVsbG8hZ\r\n").unwrap(), b"hello!");
        assert_eq!(decode_base64(b"aGVs\r\n").unwrap(), b"hel");
    }

    /// The copying paths alone (what `decode_base64` was before the one-pass decoder).
    fn decode_copying(body: &[u8]) -> Option<Vec<u8>> {
        let mut clean = Vec::new();
        for line in body.split(|&b| b == b'\n') {
            clean.extend_from_slice(line.trim_ascii());
        }
        while clean.last() == Some(&b'=') {
            clean.pop();
        }
        STANDARD_NO_PAD.decode(&clean).ok().or_else(|| decode_base64_lenient(body))
    }

    #[test]
    fn strict_and_words() {
        assert_eq!(decode_base64_strict(b"aGVsbG8=").unwrap(), b"hello");
        assert!(decode_base64_strict(b"aGVsbG8").is_err());
        assert!(decode_base64_strict(b"aGVs\nbG8=").is_err());
        let e = decode_base64_strict(b"a!==").unwrap_err();
        assert_eq!(e.to_string(), "Invalid symbol 33, offset 1.");
        assert_eq!(decode_base64_word(b"YQ").unwrap(), b"a");
        assert_eq!(decode_base64_word(b"YQ==").unwrap(), b"a");
        assert_eq!(decode_base64_word(b"YR").unwrap(), b"a");
        assert!(decode_base64_word(b"!!!").is_none());
        assert_eq!(decode_base64_word(b"").unwrap(), b"");
    }

    #[test]
    fn encoding_round_trips() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let lines = encode_base64_mime(&data);
        assert!(lines.ends_with(b"\r\n"));
        for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert!(line.len() <= MIME_LINE + 1 && line.ends_with(b"\r"));
        }
        assert_eq!(decode_base64(&lines).unwrap(), data);
        assert_eq!(decode_base64_strict(encode_base64(&data).as_bytes()).unwrap(), data);
        assert!(encode_base64_mime(b"").is_empty());
    }
}
