//! Hostile-input limits, documented and enforced. Each exceeded limit is a typed
//! [`crate::error::LimitError`].

/// Limits applied while parsing untrusted input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a message, in bytes (default 64 MiB: twice the 30 MB PEC limit,
    /// RFC 6109 §3.1.1, to leave room for base64 and envelopes).
    pub max_message_size: usize,
    /// Maximum MIME nesting depth (default 32).
    pub max_depth: usize,
    /// Maximum number of MIME parts in a message (default 10 000).
    pub max_parts: usize,
    /// Maximum length of one header field, unfolded, in bytes (default 64 KiB).
    pub max_header_field: usize,
    /// Maximum number of header fields in one header block (default 2 000).
    pub max_header_fields: usize,
    /// Maximum number of header fields in all the header blocks of one MIME tree (default
    /// 100 000): each field costs a fixed-size record, so this bounds the memory of many
    /// parts with many tiny fields each (issue 12, finding 6).
    pub max_total_header_fields: usize,
    /// Maximum boundary length (RFC 2046 allows 70; default 200 for real-world slack).
    pub max_boundary: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 64 * 1024 * 1024,
            max_depth: 32,
            max_parts: 10_000,
            max_header_field: 64 * 1024,
            max_header_fields: 2_000,
            max_total_header_fields: 100_000,
            max_boundary: 200,
        }
    }
}

impl Limits {
    pub(crate) fn check(what: &'static str, limit: usize, actual: usize) -> crate::Result<()> {
        if actual > limit {
            Err(crate::error::LimitError { what, limit: limit as u64, actual: actual as u64 }
                .into())
        } else {
            Ok(())
        }
    }
}
