//! Header values: RFC 2047 encoding/decoding, addresses, injection checks (in progress).

/// Unfolds and decodes RFC 2047 encoded words (placeholder: unfolds only).
pub fn decode_unstructured(raw: &[u8]) -> String {
    let s: Vec<u8> = raw.iter().copied().filter(|&c| c != b'\r' && c != b'\n').collect();
    String::from_utf8_lossy(&s).trim().to_string()
}
