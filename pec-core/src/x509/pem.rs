//! The one PEM reader of the engine (RFC 7468, read laxly): certificates and trust bundles
//! ([`crate::chain`]), CRLs ([`crate::revocation`]), keys and certificates of a signer
//! ([`crate::signer`]) and signed providers indexes ([`crate::index`]).
//!
//! A block starts at `-----BEGIN <label>-----` (anywhere in the input) and ends at the
//! matching `-----END <label>-----`; text outside blocks is skipped, whitespace inside the
//! base64 is ignored. RFC 1421 header lines (`Proc-Type: ...`, an encrypted legacy key) are
//! skipped up to the empty line that ends them, or refused, as the caller chooses. Each caller
//! maps [`PemError`] onto its own error code.

use std::fmt;

use base64::Engine as _;

/// One PEM block: its label and the DER it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PemBlock {
    /// The label of the BEGIN line (`CERTIFICATE`, `X509 CRL`, `PRIVATE KEY`, ...).
    pub label: String,
    /// The decoded contents.
    pub der: Vec<u8>,
}

/// What to do with RFC 1421 header lines inside a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Headers {
    /// Skip them, up to the empty line that ends them (certificates, CRLs).
    Skip,
    /// Refuse the block: headers mean an encrypted legacy key (keys, signed indexes).
    Refuse,
}

/// Why the input is not usable PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PemError {
    /// A BEGIN line without its closing dashes.
    UnterminatedBegin,
    /// A label that is not UTF-8.
    LabelNotText,
    /// No `-----END <label>-----` for a block.
    MissingEnd(String),
    /// Header lines in a block, where [`Headers::Refuse`] was asked for.
    Headers(String),
    /// The contents of a block are not base64.
    BadBase64(String),
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemError::UnterminatedBegin => f.write_str("unterminated BEGIN line"),
            PemError::LabelNotText => f.write_str("label is not text"),
            PemError::MissingEnd(l) => write!(f, "missing END line of the {l} block"),
            PemError::Headers(l) => write!(f, "header lines in the {l} block"),
            PemError::BadBase64(l) => write!(f, "bad base64 in the {l} block"),
        }
    }
}

const BEGIN: &[u8] = b"-----BEGIN ";

/// Whether `data` holds a PEM BEGIN line (else callers read it as DER or bare base64).
pub(crate) fn is_pem(data: &[u8]) -> bool {
    find(data, BEGIN).is_some()
}

/// Every PEM block of `input`, in order.
///
/// # Errors
/// A block without its END line, a label that is not text, contents that are not base64,
/// or header lines with [`Headers::Refuse`].
pub(crate) fn pem_blocks(input: &[u8], headers: Headers) -> Result<Vec<PemBlock>, PemError> {
    let mut out = Vec::new();
    let mut rest = input;
    while let Some(pos) = find(rest, BEGIN) {
        let after = rest.get(pos + BEGIN.len()..).unwrap_or(&[]);
        let label_end = find(after, b"-----").ok_or(PemError::UnterminatedBegin)?;
        let label = std::str::from_utf8(after.get(..label_end).unwrap_or(&[]))
            .map_err(|_| PemError::LabelNotText)?
            .to_owned();
        let body = after.get(label_end + 5..).unwrap_or(&[]);
        let end_marker = format!("-----END {label}-----");
        let end =
            find(body, end_marker.as_bytes()).ok_or_else(|| PemError::MissingEnd(label.clone()))?;
        let text = body.get(..end).unwrap_or(&[]);
        // RFC 1421 headers ("Proc-Type: ..."), if any, end with an empty line.
        let text = match (find(text, b":"), headers) {
            (Some(_), Headers::Refuse) => return Err(PemError::Headers(label)),
            (Some(_), Headers::Skip) => match (find(text, b"\n\n"), find(text, b"\r\n\r\n")) {
                (Some(p), _) => text.get(p + 2..).unwrap_or(&[]),
                (None, Some(p)) => text.get(p + 4..).unwrap_or(&[]),
                (None, None) => text,
            },
            (None, _) => text,
        };
        let der = decode_base64(text).ok_or_else(|| PemError::BadBase64(label.clone()))?;
        out.push(PemBlock { label, der });
        rest = body.get(end + end_marker.len()..).unwrap_or(&[]);
    }
    Ok(out)
}

/// Strict base64 (standard alphabet, padded), whitespace ignored: the body of a PEM block,
/// or a bare base64 file.
pub(crate) fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(&compact).ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    crate::mime::find(hay, needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn blocks_labels_and_framing() {
        // Text around blocks, CRLF, base64 split over lines, a BEGIN line not at a line start.
        let pem = b"text -----BEGIN X509 CRL-----\r\nAA\r\nEC\r\n-----END X509 CRL-----\r\n\
            more text\n-----BEGIN PKCS7-----\n  BAU=  \n-----END PKCS7-----";
        let blocks = pem_blocks(pem, Headers::Refuse).unwrap();
        let labels: Vec<&str> = blocks.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["X509 CRL", "PKCS7"]);
        assert_eq!(blocks[0].der, [0, 1, 2]);
        assert_eq!(blocks[1].der, [4, 5]);
        assert!(is_pem(pem));
        assert!(!is_pem(b"\x30\x03"));
        assert_eq!(pem_blocks(b"", Headers::Skip).unwrap(), []);
        assert_eq!(
            pem_blocks(b"-----BEGIN CERTIFICATE-----\nAAEC\n", Headers::Skip),
            Err(PemError::MissingEnd("CERTIFICATE".into()))
        );
        assert_eq!(
            pem_blocks(b"-----BEGIN A-----\nAA==\n-----END B-----\n", Headers::Skip),
            Err(PemError::MissingEnd("A".into()))
        );
        assert_eq!(
            pem_blocks(b"-----BEGIN CERTIFICATE", Headers::Skip),
            Err(PemError::UnterminatedBegin)
        );
        assert_eq!(
            pem_blocks(b"-----BEGIN X-----\n!!\n-----END X-----", Headers::Skip),
            Err(PemError::BadBase64("X".into()))
        );
    }

    #[test]
    fn rfc1421_headers_skipped_or_refused() {
        let pem = b"-----BEGIN X-----\nProc-Type: 4,ENCRYPTED\n\nAAEC\n-----END X-----\n";
        assert_eq!(pem_blocks(pem, Headers::Skip).unwrap()[0].der, [0, 1, 2]);
        assert_eq!(pem_blocks(pem, Headers::Refuse), Err(PemError::Headers("X".into())));
        let crlf = b"-----BEGIN X-----\r\nA: b\r\n\r\nAAEC\r\n-----END X-----\r\n";
        assert_eq!(pem_blocks(crlf, Headers::Skip).unwrap()[0].der, [0, 1, 2]);
        // Headers without the empty line that ends them: the colon is not base64.
        let open = b"-----BEGIN X-----\nA: b\nAAEC\n-----END X-----\n";
        assert_eq!(pem_blocks(open, Headers::Skip), Err(PemError::BadBase64("X".into())));
    }
}
