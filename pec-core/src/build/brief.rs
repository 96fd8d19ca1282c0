//! The brief delivery receipt transformation (RFC 6109 §3.3.2.2; docs/SPEC.md §3.3).
//!
//! The MIME structure of the original is kept byte for byte; every part with a `name`
//! (`Content-Type`) or `filename` (`Content-Disposition`) parameter, and every
//! `message/rfc822` part, is replaced by a `text/plain` part `<name>.hash` holding the
//! 40-hex SHA-1 of the part's transfer-encoded body as transmitted. Inside
//! `multipart/signed` only the signed content is transformed (the signature part is left
//! untouched); `application/pkcs7-mime` cannot be opened and stays as it is.

use std::ops::Range;

use crate::crypto::sha1_hex;
use crate::error::Result;
use crate::limits::Limits;
use crate::mime::Entity;

/// The name given to an unnamed `message/rfc822` part.
const UNNAMED_MESSAGE: &str = "messaggio.eml";

/// Returns `original` with named parts replaced by their `.hash` parts.
///
/// # Errors
/// Limits exceeded while scanning the original.
pub fn brief_original(original: &[u8]) -> Result<Vec<u8>> {
    let root = Entity::parse(original, &Limits::default())?;
    let mut replacements: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    // explicit stack: (entity, is_root)
    let mut stack: Vec<(&Entity<'_>, bool)> = vec![(&root, true)];
    while let Some((e, is_root)) = stack.pop() {
        let mt = e.content_type.mime_type.as_str();
        if mt == "application/pkcs7-mime" || mt == "application/x-pkcs7-mime" {
            continue;
        }
        if !is_root {
            let name = e.filename().filter(|n| !n.trim().is_empty());
            if name.is_some() || mt == "message/rfc822" {
                let name = name.unwrap_or_else(|| UNNAMED_MESSAGE.to_string());
                let range = e.offset..e.offset + e.bytes.len();
                replacements.push((range, hash_part(&name, &sha1_hex(e.body()))));
                continue;
            }
        }
        if e.content_type.is_multipart() {
            if mt == "multipart/signed" {
                if let Some(first) = e.children.first() {
                    stack.push((first, false));
                }
            } else {
                for c in e.children.iter().rev() {
                    stack.push((c, false));
                }
            }
        }
    }
    replacements.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(original.len());
    let mut pos = 0usize;
    for (r, bytes) in replacements {
        if r.start < pos || r.end > original.len() {
            continue;
        }
        out.extend_from_slice(original.get(pos..r.start).unwrap_or(&[]));
        out.extend_from_slice(&bytes);
        pos = r.end;
    }
    out.extend_from_slice(original.get(pos..).unwrap_or(&[]));
    Ok(out)
}

/// The replacement part for `name` holding `hex`.
fn hash_part(name: &str, hex: &str) -> Vec<u8> {
    let file = format!("{name}.hash");
    let (ct_name, disp_name) = filename_params(&file);
    format!(
        "Content-Type: text/plain; charset=\"us-ascii\"; {ct_name}\r\n\
         Content-Disposition: attachment; {disp_name}\r\n\
         Content-Transfer-Encoding: 7bit\r\n\
         \r\n\
         {hex}"
    )
    .into_bytes()
}

/// `name=...` and `filename=...` parameters: quoted when plain printable ASCII, else
/// RFC 2231 percent-encoded UTF-8 (never a raw control character in a header).
fn filename_params(file: &str) -> (String, String) {
    let plain = file.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        (format!("name=\"{file}\""), format!("filename=\"{file}\""))
    } else {
        let mut enc = String::from("utf-8''");
        for b in file.bytes() {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                enc.push(b as char);
            } else {
                enc.push_str(&format!("%{b:02X}"));
            }
        }
        (format!("name*={enc}"), format!("filename*={enc}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn replaces_named_parts_and_keeps_structure() {
        let orig = b"From: a@b.it\r\nContent-Type: multipart/mixed; boundary=\"X\"\r\n\r\n--X\r\nContent-Type: text/plain\r\n\r\nhello\r\n--X\r\nContent-Type: application/pdf; name=\"f.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\n--X--\r\n";
        let out = brief_original(orig).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.contains("--X\r\nContent-Type: text/plain\r\n\r\nhello\r\n--X\r\n"));
        assert!(s.contains("filename=\"f.pdf.hash\""));
        assert!(s.contains(&format!("\r\n\r\n{}\r\n--X--\r\n", sha1_hex(b"JVBERi0x"))));
        let (n, _) = filename_params("fà.pdf.hash");
        assert_eq!(n, "name*=utf-8''f%C3%A0.pdf.hash");
    }
}
