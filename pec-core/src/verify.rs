//! Verification of a whole message as it arrived: parse, locate the exact signed bytes and
//! the detached signature, verify them (spec digest §7.3).

use crate::error::Result;
use crate::message::PecMessage;
use crate::smime::{Reason, VerificationReport, VerifyOptions};

/// Verifies a signed message given as raw bytes.
///
/// Returns a report (never a bare bool): a message without a signature gives the verdict
/// `invalid` with reason `no-signature`.
///
/// # Errors
/// Only when the bytes cannot be parsed as a message at all.
pub fn verify_message(raw: &[u8], opts: &VerifyOptions) -> Result<VerificationReport> {
    let msg = PecMessage::parse(raw)?;
    Ok(verify_parsed(&msg, opts))
}

/// Verifies an already parsed message.
///
/// The `From:` domain is checked against the signing provider's `managedDomains` when an
/// index is given (a provider signing for a domain it does not manage is impersonation).
pub fn verify_parsed(msg: &PecMessage<'_>, opts: &VerifyOptions) -> VerificationReport {
    match &msg.signed {
        None => VerificationReport::from_reasons(vec![Reason::NoSignature]),
        Some(s) if s.signature.is_empty() => {
            VerificationReport::from_reasons(vec![Reason::MalformedSignature])
        }
        Some(s) => {
            let from = msg.from_domain();
            crate::smime::verify_detached(s.content, &s.signature, from.as_deref(), opts)
        }
    }
}
