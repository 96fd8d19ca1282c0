//! Verification of a whole message as it arrived: parse, locate the exact signed bytes and
//! the detached signature, verify them (spec digest §7.3).

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
    let mut report = match signed {
        None => VerificationReport::from_reasons(vec![Reason::NoSignature]),
        Some(s) if s.signature.is_empty() => {
            VerificationReport::from_reasons(vec![Reason::MalformedSignature])
        }
        Some(s) => crate::smime::verify_detached(s.content, &s.signature, from, opts),
    };
    if signed.is_some() && report.signed_scope.is_none() {
        report.signed_scope = Some(crate::smime::SignedScope::Whole);
    }
    // which instant the path was judged at: the caller's clock, the caller's instant, or
    // the signer's own signingTime claim (the clock when there is none)
    report.time_source = match opts.time {
        crate::smime::VerifyTime::Now => crate::smime::TimeSource::Now,
        crate::smime::VerifyTime::At(_) => crate::smime::TimeSource::Given,
        crate::smime::VerifyTime::SigningTime if report.signing_time.is_some() => {
            crate::smime::TimeSource::SigningTimeClaimed
        }
        crate::smime::VerifyTime::SigningTime => crate::smime::TimeSource::Now,
    };
    report
}
