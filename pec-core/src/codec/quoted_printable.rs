//! Quoted-printable (RFC 2045 §6.7) for MIME bodies, and the `Q` encoding of RFC 2047 §4.2
//! for encoded-words.

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The value of one hexadecimal digit (either case).
pub(crate) fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn push_escape(out: &mut String, b: u8) {
    out.push('=');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

/// Encodes a UTF-8 text as quoted-printable (RFC 2045 §6.7) for the human-readable parts:
/// line ends (CRLF, LF or CR) become CRLF hard breaks; lines are cut with soft breaks (`=`)
/// so that no line exceeds 76 characters, never inside an `=XX`; blanks at the end of a line
/// are encoded; `=` and every byte outside printable ASCII are `=XX` (upper case); a line
/// starting with `From ` gets its `F` encoded so that mbox storage cannot alter signed text.
pub fn encode_quoted_printable(text: &str) -> String {
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
                push_escape(&mut out, c);
            }
            col += width;
        }
    }
    out
}

/// Decodes quoted-printable (RFC 2045 §6.7), leniently: invalid escapes are kept literally.
pub fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&c) = body.get(i) {
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
            if let (Some(h), Some(l)) = (
                body.get(i + 1).and_then(|&h| hex_value(h)),
                body.get(i + 2).and_then(|&l| hex_value(l)),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Bytes written literally inside a `Q` encoded-word (RFC 2047 §5 (3), the strictest set).
fn q_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'!' | b'*' | b'+' | b'-' | b'/')
}

/// The length of `bytes` in the `Q` encoding.
pub(crate) fn q_encoded_len(bytes: &[u8]) -> usize {
    bytes.iter().map(|&b| if q_literal(b) || b == b' ' { 1 } else { 3 }).sum()
}

/// Appends `bytes` in the `Q` encoding (RFC 2047 §4.2, the strictest literal set of §5 (3);
/// space as `_`).
pub(crate) fn encode_q(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if q_literal(b) {
            out.push(char::from(b));
        } else if b == b' ' {
            out.push('_');
        } else {
            push_escape(out, b);
        }
    }
}

/// Decodes the text of a `Q` encoded-word (RFC 2047 §4.2): `_` is a space, `=XX` a byte, an
/// `=` not followed by two hexadecimal digits is kept literally.
pub(crate) fn decode_q(text: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => v.push(b' '),
            b'=' => {
                let hex = match (text.get(i + 1), text.get(i + 2)) {
                    (Some(&h), Some(&l)) => hex_value(h).zip(hex_value(l)),
                    _ => None,
                };
                match hex {
                    Some((h, l)) => {
                        v.push(h * 16 + l);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn bodies() {
        assert_eq!(decode_quoted_printable(b"a=3Db=\r\nc"), b"a=bc");
        assert_eq!(decode_quoted_printable(b"a=\nb=zz=4"), b"ab=zz=4");
        assert_eq!(decode_quoted_printable(b"=e8="), b"\xe8=");
        let text = "Caffè = €\nFrom here\n\tend ";
        let qp = encode_quoted_printable(text);
        assert_eq!(decode_quoted_printable(qp.as_bytes()), text.replace('\n', "\r\n").as_bytes());
    }

    #[test]
    fn q_words() {
        let mut s = String::new();
        encode_q("a b=è?_".as_bytes(), &mut s);
        assert_eq!(s, "a_b=3D=C3=A8=3F=5F");
        assert_eq!(q_encoded_len("a b=è?_".as_bytes()), s.len());
        assert_eq!(decode_q(s.as_bytes()), "a b=è?_".as_bytes());
        assert_eq!(decode_q(b"=ZZ=E"), b"=ZZ=E");
        // a sign is not a hexadecimal digit (u8::from_str_radix would take "+1")
        assert_eq!(decode_q(b"=+1"), b"=+1");
    }
}
