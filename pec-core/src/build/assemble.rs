//! The MIME serialisation every kind shares (RFC 6109 §4): header fields, then a
//! `multipart/mixed` body of the human text (`multipart/alternative`, quoted-printable), then
//! `daticert.xml` (base64), then `postacert.eml`, all CRLF-canonical.

use crate::crypto::sha1_hex;
use crate::daticert::Daticert;
use crate::error::Result;
use crate::headers::{check_no_injection, quoted_printable};
use crate::mime::canonicalize_crlf_vec;

use super::text::HumanText;

/// The parts of a message under construction.
pub(super) struct Draft {
    pub(super) headers: Vec<String>,
    pub(super) text: HumanText,
    pub(super) daticert: Option<Daticert>,
    pub(super) postacert: Option<Vec<u8>>,
}

/// `Name: value\r\n`, refusing CR/LF/NUL in the value.
pub(super) fn field(name: &str, value: &str) -> Result<String> {
    check_no_injection(name, value)?;
    Ok(format!("{name}: {value}\r\n"))
}

/// Serialises a draft as a complete unsigned message.
pub(super) fn assemble(d: Draft, seed: &str) -> Result<Vec<u8>> {
    let plain = quoted_printable(&d.text.plain());
    let html = quoted_printable(&d.text.html());
    let xml = match &d.daticert {
        Some(dc) => Some(dc.to_xml()?),
        None => None,
    };
    let postacert = d.postacert.map(canonicalize_crlf_vec);
    let (outer, inner) = boundaries(seed, postacert.as_deref().unwrap_or(&[]));

    let mut out: Vec<u8> = Vec::with_capacity(
        postacert.as_ref().map_or(0, Vec::len) + plain.len() + html.len() + 4096,
    );
    for f in &d.headers {
        out.extend_from_slice(f.as_bytes());
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(
        format!("Content-Type: multipart/mixed; boundary=\"{outer}\"\r\n\r\n").as_bytes(),
    );
    out.extend_from_slice(b"This is a multi-part message in MIME format.\r\n");
    // human text
    out.extend_from_slice(format!("--{outer}\r\n").as_bytes());
    out.extend_from_slice(
        format!("Content-Type: multipart/alternative; boundary=\"{inner}\"\r\n\r\n").as_bytes(),
    );
    for (mt, body) in [("text/plain", &plain), ("text/html", &html)] {
        out.extend_from_slice(format!("--{inner}\r\n").as_bytes());
        out.extend_from_slice(
            format!(
                "Content-Type: {mt}; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: \
                 quoted-printable\r\nContent-Disposition: inline\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(body.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{inner}--\r\n\r\n").as_bytes());
    if let Some(xml) = xml {
        out.extend_from_slice(format!("--{outer}\r\n").as_bytes());
        out.extend_from_slice(
            b"Content-Type: application/xml; name=\"daticert.xml\"\r\n\
              Content-Transfer-Encoding: base64\r\n\
              Content-Disposition: inline; filename=\"daticert.xml\"\r\n\r\n",
        );
        out.extend_from_slice(&crate::codec::encode_base64_mime(xml.as_bytes()));
    }
    if let Some(p) = &postacert {
        let cte = if p.is_ascii() { "7bit" } else { "8bit" };
        out.extend_from_slice(format!("--{outer}\r\n").as_bytes());
        out.extend_from_slice(
            format!(
                "Content-Type: message/rfc822; name=\"postacert.eml\"\r\n\
                 Content-Transfer-Encoding: {cte}\r\n\
                 Content-Disposition: inline; filename=\"postacert.eml\"\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{outer}--\r\n").as_bytes());
    Ok(canonicalize_crlf_vec(out))
}

/// Two boundaries derived from `seed`, neither occurring in `content`.
fn boundaries(seed: &str, content: &[u8]) -> (String, String) {
    let mut n = 0u32;
    loop {
        let h = sha1_hex(format!("{seed}/{n}").as_bytes());
        let outer = format!("----=_PEC_{}", h.get(..24).unwrap_or(&h));
        let inner = format!("----=_PEC_ALT_{}", h.get(16..40).unwrap_or(&h));
        let clash = |b: &str| crate::mime::find(content, b.as_bytes()).is_some();
        // bounded: a clash with a SHA-1-derived string needs adversarial luck each round
        if n >= 64 || (!clash(&outer) && !clash(&inner)) {
            return (outer, inner);
        }
        n += 1;
    }
}
