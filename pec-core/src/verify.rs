//! Verification of a whole message as it arrived: parse, locate the exact signed bytes and
//! the detached signature, verify them (docs/SPEC.md §7.3).

use crate::error::Result;
use crate::limits::Limits;
use crate::message::{PecMessage, SignedMessage, SignedParts};
use crate::smime::{Reason, VerificationReport, VerifyOptions};

/// Verifies a signed message given as raw bytes.
///
/// Returns a report (never a bare bool): a message without a signature gives the verdict
/// `invalid` with reason `no-signature`.
///
/// # Errors
/// Only when the bytes cannot be parsed as a message at all.
pub fn verify_message(raw: &[u8], opts: &VerifyOptions) -> Result<VerificationReport> {
    let msg = SignedMessage::parse(raw, &Limits::default())?;
    let from = msg.from_domain();
    Ok(verify_signed(msg.signed.as_ref(), from.as_deref(), opts))
}

/// Verifies an already parsed message.
///
/// The `From:` domain is checked against the signing provider's `managedDomains` when an
/// index is given (a provider signing for a domain it does not manage is impersonation).
pub fn verify_parsed(msg: &PecMessage<'_>, opts: &VerifyOptions) -> VerificationReport {
    let from = msg.from_domain();
    verify_signed(msg.signed.as_ref(), from.as_deref(), opts)
}

fn verify_signed(
    signed: Option<&SignedParts<'_>>,
    from: Option<&str>,
    opts: &VerifyOptions,
) -> VerificationReport {
    match signed {
        None => VerificationReport::from_reasons(vec![Reason::NoSignature]),
        Some(s) if s.signature.is_empty() => {
            VerificationReport::from_reasons(vec![Reason::MalformedSignature])
        }
        Some(s) => crate::smime::verify_detached(s.content, &s.signature, from, opts),
    }
}
