//! `multipart/signed` framing (RFC 1847 §2.1, RFC 5751 §3.4.3; docs/SPEC.md §4).
//!
//! The signed entity is written once, as CRLF bytes, signed, and put on the wire unchanged as
//! the first part: the signed bytes run from after the CRLF that ends the first boundary
//! line up to, not including, the CRLF before the next boundary line.

use chrono::{DateTime, Utc};

use super::sign::sign_detached;
use crate::error::{Error, ParseError, Result, SignatureError};
use crate::signer::Signer;

/// Length of the base64 lines of `smime.p7s` (RFC 2045 §6.8: at most 76 characters).
const BASE64_LINE: usize = 76;

/// Signs a complete unsigned RFC 5322 message and returns it as `multipart/signed`
/// (RFC 5751 §3.4.3, "clear-signed"; docs/SPEC.md §4).
///
/// Bare LF line ends are first turned into CRLF. The message's `Content-*` header fields and
/// its body become the signed entity (part 1, exactly as signed); every other header field
/// stays in the outer header, in order and byte for byte; `MIME-Version: 1.0` is added when
/// absent; part 2 is the detached CMS (`application/pkcs7-signature`, `smime.p7s`, base64 in
/// 76-character lines). The boundary is random and checked not to occur in the entity.
///
/// # Errors
/// [`ParseError::Empty`] or [`ParseError::MalformedHeaders`] when the header block is not
/// RFC 5322, and every error of [`sign_detached`].
pub fn sign_message(
    message: &[u8],
    signer: &dyn Signer,
    signing_time: DateTime<Utc>,
) -> Result<Vec<u8>> {
    if message.is_empty() {
        return Err(ParseError::Empty.into());
    }
    let msg = crate::mime::canonicalize_crlf(message);
    let (header, body): (&[u8], &[u8]) = match crate::mime::body_offset(&msg) {
        Some(b) => {
            (msg.get(..b.saturating_sub(2)).unwrap_or_default(), msg.get(b..).unwrap_or_default())
        }
        None => (&msg, &[]),
    };
    let fields = header_fields(header)?;
    let mut entity = Vec::with_capacity(body.len() + header.len() + 2);
    let mut outer = Vec::with_capacity(header.len() + 256);
    let mut has_mime_version = false;
    for f in &fields {
        let name = f.split(|&b| b == b':').next().unwrap_or_default().trim_ascii();
        let target = if name.get(..8).is_some_and(|p| p.eq_ignore_ascii_case(b"content-")) {
            &mut entity
        } else {
            has_mime_version |= name.eq_ignore_ascii_case(b"mime-version");
            &mut outer
        };
        target.extend_from_slice(f);
        if !f.ends_with(b"\r\n") {
            target.extend_from_slice(b"\r\n");
        }
    }
    entity.extend_from_slice(b"\r\n");
    entity.extend_from_slice(body);

    let boundary = boundary_for(&entity)?;
    let cms = sign_detached(&entity, signer, signing_time)?;
    let b64 = crate::codec::encode_base64(&cms);

    let mut out = outer;
    out.reserve(entity.len() + b64.len() + b64.len() / BASE64_LINE * 2 + 512);
    if !has_mime_version {
        out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    }
    out.extend_from_slice(
        b"Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=sha-256; boundary=\"",
    );
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"\"\r\n\r\nThis is an S/MIME signed message\r\n\r\n--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&entity);
    out.extend_from_slice(b"\r\n--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(
        b"\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
          Content-Transfer-Encoding: base64\r\n\
          Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n",
    );
    for line in b64.as_bytes().chunks(BASE64_LINE) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    Ok(out)
}

/// Splits a CRLF header block into fields (each with its continuation lines and CRLFs).
fn header_fields(header: &[u8]) -> Result<Vec<&[u8]>> {
    let mut fields: Vec<&[u8]> = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    while pos < header.len() {
        let rest = header.get(pos..).unwrap_or_default();
        let line_len = match rest.windows(2).position(|w| w == b"\r\n") {
            Some(p) => p + 2,
            None => rest.len(),
        };
        let line = rest.get(..line_len).unwrap_or_default();
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if start.is_none() {
                return Err(
                    ParseError::MalformedHeaders("continuation line before any field").into()
                );
            }
        } else {
            let colon = line.iter().position(|&b| b == b':');
            let valid_name = colon.is_some_and(|c| {
                c > 0 && line.get(..c).is_some_and(|n| n.iter().all(|&b| (33..=126).contains(&b)))
            });
            if !valid_name {
                return Err(ParseError::MalformedHeaders("line is not a header field").into());
            }
            if let Some(s) = start {
                fields.push(header.get(s..pos).unwrap_or_default());
            }
            start = Some(pos);
        }
        pos += line_len;
    }
    if let Some(s) = start {
        fields.push(header.get(s..).unwrap_or_default());
    }
    Ok(fields)
}

/// A random boundary that does not occur in `entity` (RFC 2046 §5.1.1).
fn boundary_for(entity: &[u8]) -> Result<String> {
    for _ in 0..8 {
        let mut r = [0u8; 16];
        getrandom::fill(&mut r).map_err(|e| {
            SignatureError::SigningFailed(format!("no randomness for boundary: {e}"))
        })?;
        let b = format!("----=_pec_{}", crate::crypto::hex(&r));
        if crate::mime::find(entity, b.as_bytes()).is_none() {
            return Ok(b);
        }
    }
    Err(Error::InvalidArgument("no boundary absent from the content was found".into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn fields() {
        let h = b"A: 1\r\nB: 2\r\n 3\r\nContent-Type: x\r\n";
        let f = header_fields(h).unwrap();
        assert_eq!(f, vec![&b"A: 1\r\n"[..], b"B: 2\r\n 3\r\n", b"Content-Type: x\r\n"]);
        assert!(header_fields(b" x\r\n").is_err());
        assert!(header_fields(b"From nobody\r\n").is_err());
        assert_eq!(header_fields(b"A: 1").unwrap(), vec![&b"A: 1"[..]]);
    }

    #[test]
    fn crlf_canonical() {
        assert_eq!(&*crate::mime::canonicalize_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert!(matches!(crate::mime::canonicalize_crlf(b"a\r\n"), std::borrow::Cow::Borrowed(_)));
    }
}
