//! A byte-exact MIME scanner: header fields and multipart bodies located by offsets into the
//! bytes as they arrived, never re-serialised (RFC 5322, RFC 2045-2049).
//!
//! (In progress: more of the scanner lands here.)

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
    while let Some(p) = memchr_lf(&msg[i..]) {
        let lf = i + p;
        let next = lf + 1;
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

fn memchr_lf(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
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
}
