//! Verification of a whole message as it arrived: parse, locate the exact signed bytes and
//! the detached signature, verify them (docs/SPEC.md §7.3), then bind what the reader sees
//! to what was signed:
//!
//! - `multipart/signed` has exactly two parts (RFC 1847 §2.1), else `malformed-signature`;
//! - the signed entity is the top-level entity (`signed_scope` `whole`), else `inner` and
//!   `partially-signed` (mailing lists and forwards wrap real messages: still verifiable,
//!   at most `indeterminate`);
//! - the kind the outer `X-Ricevuta`/`X-Trasporto` claims equals the signed daticert `tipo`,
//!   else `header-mismatch`;
//! - with a providers index (RFC 6109 §4.5, §7; docs/SPEC.md §7.3): exactly one `From:`
//!   field holding exactly one mailbox, in a domain the signing provider manages, else
//!   `from-domain-mismatch`; daticert `gestore-emittente` is the signing provider's
//!   `providerName` and the address it acted for is in a domain it manages, else
//!   `daticert-mismatch`.

use std::sync::Arc;

pub mod index;

use crate::daticert::Daticert;
use crate::error::Result;
use crate::headers::single_mailbox_unnamed;
use crate::index::ProviderRecord;
use crate::limits::Limits;
use crate::message::{
    PecMessage, SignedMessage, SignedParts, header_disagrees, header_kind_of, is_daticert_by_name,
    is_unnamed_xml, sole_from_unnamed,
};
use crate::mime::{Entity, Headers};
use crate::model::{CertError, CertType};
use crate::smime::{Reason, SignedScope, VerificationReport, VerifyOptions};

/// Verifies a signed message given as raw bytes.
///
/// Returns a report (never a bare bool): a message without a signature gives the verdict
/// `invalid` with reason `no-signature`.
///
/// # Errors
/// Only when the bytes cannot be parsed as a message at all.
pub fn verify_message(raw: &[u8], opts: &VerifyOptions) -> Result<VerificationReport> {
    let limits = Limits::default();
    let msg = SignedMessage::locate(raw, &limits, false)?;
    let read = msg.signed.as_ref().map(|s| read_daticert(s.content, &limits));
    let daticert = match &read {
        Some(Ok(Some(d))) => SignedDaticert::Present(d),
        Some(Err(Unreadable)) => SignedDaticert::Broken,
        Some(Ok(None)) | None => SignedDaticert::Absent,
    };
    Ok(verify_signed(msg.signed.as_ref(), &msg.headers, &daticert, opts))
}

/// Verifies an already parsed message; same checks and same report as [`verify_message`].
pub fn verify_parsed(msg: &PecMessage<'_>, opts: &VerifyOptions) -> VerificationReport {
    let daticert = match &msg.daticert {
        Some(d) => SignedDaticert::Present(d),
        None => SignedDaticert::Absent,
    };
    verify_signed(msg.signed.as_ref(), &msg.headers, &daticert, opts)
}

/// The `daticert.xml` inside the signed content.
enum SignedDaticert<'d> {
    /// None (an anomaly envelope, ordinary S/MIME mail).
    Absent,
    /// Present but unreadable.
    Broken,
    /// Read.
    Present(&'d Daticert),
}

/// A `daticert.xml` (or signed content) that cannot be read.
struct Unreadable;

/// Locates and reads `daticert.xml` in the signed bytes: the part [`PecMessage`] reads
/// (breadth-first, by name, else the first unnamed `application/xml`), found without parsing
/// the parts after it ([`Entity::find_breadth_first`]: the original, often most of the
/// bytes, is not scanned a second time).
fn read_daticert(
    content: &[u8],
    limits: &Limits,
) -> std::result::Result<Option<Daticert>, Unreadable> {
    let find = |pred: &dyn Fn(&Entity<'_>) -> bool| {
        Entity::find_breadth_first(content, limits, pred).map_err(|_| Unreadable)
    };
    let Some(part) =
        find(&is_daticert_by_name)?.map_or_else(|| find(&is_unnamed_xml), |p| Ok(Some(p)))?
    else {
        return Ok(None);
    };
    let bytes = part.decoded_body().map_err(|_| Unreadable)?;
    Daticert::parse(&bytes).map(Some).map_err(|_| Unreadable)
}

fn verify_signed(
    signed: Option<&SignedParts<'_>>,
    headers: &Headers<'_>,
    daticert: &SignedDaticert<'_>,
    opts: &VerifyOptions,
) -> VerificationReport {
    let mut report = verify_signed_parts(signed, headers, daticert, opts);
    // A report that never reached the certificate path still says which time the caller
    // asked for: a given instant stays `given` even when nothing could be evaluated.
    if report.evaluated_at.is_none() && matches!(opts.time, crate::smime::VerifyTime::At(_)) {
        report.time_source = crate::smime::TimeSource::Given;
    }
    report
}

fn verify_signed_parts(
    signed: Option<&SignedParts<'_>>,
    headers: &Headers<'_>,
    daticert: &SignedDaticert<'_>,
    opts: &VerifyOptions,
) -> VerificationReport {
    let Some(s) = signed else {
        return VerificationReport::from_reasons(vec![Reason::NoSignature]);
    };
    let mut report = if s.signature.is_empty() {
        VerificationReport::from_reasons(vec![Reason::MalformedSignature])
    } else {
        // the From: domain is checked below, against the single From: mailbox
        crate::smime::verify_detached(s.content, &s.signature, None, opts)
    };
    report.signed_scope = Some(s.scope);
    if s.scope == SignedScope::Inner {
        report.add_reason(Reason::PartiallySigned);
    }
    if s.part_count != 2 {
        report.add_reason(Reason::MalformedSignature);
    }
    if let (Some(header_kind), SignedDaticert::Present(d)) = (header_kind_of(headers), daticert)
        && header_disagrees(&header_kind, d)
    {
        report.add_reason(Reason::HeaderMismatch);
    }
    if let Some(record) = signing_record(&report, opts) {
        let from_ok =
            sole_from_unnamed(headers).is_some_and(|m| record.manages(&m.domain_lowercase()));
        if !from_ok {
            report.add_reason(Reason::FromDomainMismatch);
        }
        let daticert_ok = match daticert {
            SignedDaticert::Absent => true,
            // a signed daticert nobody can read binds nothing to the signer
            SignedDaticert::Broken => report.reasons.contains(&Reason::ContentMismatch),
            SignedDaticert::Present(d) => daticert_binds(d, &record),
        };
        if !daticert_ok {
            report.add_reason(Reason::DaticertMismatch);
        }
    }
    report
}

/// The index record of the signing certificate (as the signature layer found it), when an
/// index is given and the signer is in it.
fn signing_record(
    report: &VerificationReport,
    opts: &VerifyOptions,
) -> Option<Arc<ProviderRecord>> {
    let index = opts.index.as_ref()?;
    let provider = report.provider.as_ref()?;
    match &report.signer {
        Some(signer) => index.by_cert_hash(&signer.sha1),
        None => index.by_name(&provider.name),
    }
}

/// Whether daticert speaks for the signing provider: `gestore-emittente` is its
/// `providerName`, and the address it acted for is in a domain it manages (docs/SPEC.md
/// §3.1: the sender's provider issues the envelope, acceptance, non-acceptance and timeout
/// notices, for `mittente`; the recipient's provider issues take-charge, delivery,
/// non-delivery and virus-detection notices, for `consegna`/`ricezione`; a non-delivery for
/// virus is issued by the sender's provider (docs/SPEC.md §9.4), so it may speak for either).
fn daticert_binds(d: &Daticert, record: &ProviderRecord) -> bool {
    if !same_name(&d.issuer, &record.name) {
        return false;
    }
    let manages = |addr: &str| {
        single_mailbox_unnamed(addr.as_bytes())
            .is_some_and(|m| record.manages(&m.domain_lowercase()))
    };
    let sender_side = || manages(&d.sender);
    let recipient_side = || {
        let mut addrs = d.delivery.iter().chain(d.received.iter()).peekable();
        addrs.peek().is_some() && addrs.all(|a| manages(a))
    };
    match &d.kind {
        Some(
            CertType::Certified
            | CertType::Acceptance
            | CertType::NonAcceptance
            | CertType::DeliveryTimeout,
        ) => sender_side(),
        Some(CertType::TakeCharge | CertType::Delivery | CertType::VirusDetection) => {
            recipient_side()
        }
        Some(CertType::NonDelivery) if d.error == CertError::Virus => {
            sender_side() || recipient_side()
        }
        Some(CertType::NonDelivery) => recipient_side(),
        Some(CertType::Other(_)) | None => false,
    }
}

/// Whether two provider names are the same for [`normalize_name`]; ASCII names (the usual
/// case) are compared word by word without building either.
fn same_name(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        let (mut x, mut y) = (a.split_whitespace(), b.split_whitespace());
        loop {
            match (x.next(), y.next()) {
                (None, None) => return true,
                (Some(p), Some(q)) if p.eq_ignore_ascii_case(q) => {}
                _ => return false,
            }
        }
    }
    normalize_name(a) == normalize_name(b)
}

/// A provider name compared as the index compares it: whitespace runs collapsed,
/// case-insensitive.
fn normalize_name(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daticert part [`read_daticert`] finds lazily is the one [`PecMessage`] finds in
    /// the whole tree, on every message whose tree parses: the fuzz seeds (every kind, and
    /// the hostile shapes), the interop samples, each whole and its signed content alone.
    #[test]
    fn the_lazy_daticert_search_finds_what_the_whole_tree_gives() {
        let limits = Limits::default();
        let mut inputs: Vec<Vec<u8>> = pec_testkit::fuzz_seeds::generate()
            .unwrap()
            .into_iter()
            .filter(|s| s.target == "message")
            .map(|s| {
                let m = pec_testkit::fuzz_seeds::WORLD_MARKER;
                let end = s.data.windows(m.len()).position(|w| w == m).unwrap_or(s.data.len());
                s.data[..end].to_vec()
            })
            .collect();
        if let Some(dir) = pec_testkit::env::interop_dir() {
            let mut stack = vec![dir];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).unwrap().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "eml") {
                        inputs.push(std::fs::read(&p).unwrap());
                    }
                }
            }
        }
        // two daticert-like parts, a named one deeper than an unnamed one, nested parts
        inputs.push(
            b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\
              Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
              Content-Type: application/xml; name=daticert.xml\r\n\r\n<x/>\r\n--b--\r\n\
              --a\r\nContent-Type: application/xml\r\n\r\n<y/>\r\n--a--\r\n"
                .to_vec(),
        );
        let (mut compared, mut found) = (0, 0);
        for raw in &inputs {
            let mut contents = vec![&raw[..]];
            if let Ok(m) = SignedMessage::locate(raw, &limits, false)
                && let Some(s) = m.signed
            {
                contents.push(s.content);
            }
            for content in contents {
                let Ok(root) = Entity::parse(content, &limits) else { continue };
                let whole = crate::message::daticert_part_of(&root).map(|e| (e.offset, e.bytes));
                let lazy = Entity::find_breadth_first(content, &limits, &is_daticert_by_name)
                    .unwrap()
                    .or_else(|| {
                        Entity::find_breadth_first(content, &limits, &is_unnamed_xml).unwrap()
                    })
                    .map(|e| (e.offset, e.bytes));
                assert_eq!(lazy, whole);
                compared += 1;
                found += usize::from(whole.is_some());
            }
        }
        assert!(compared > 20 && found > 10, "{compared} compared, {found} with a daticert");
    }

    #[test]
    fn provider_names_compare_as_normalised() {
        let names = [
            "Example PEC S.p.A.",
            "example  pec\ts.p.a.",
            " EXAMPLE PEC S.P.A. ",
            "Example PEC",
            "ExamplePEC S.p.A.",
            "",
            "   ",
            "Poste Italiane S.p.A. \u{c8}",
            "poste italiane s.p.a. \u{e8}",
            "Straße",
            "STRASSE",
        ];
        for a in names {
            for b in names {
                assert_eq!(same_name(a, b), normalize_name(a) == normalize_name(b), "{a:?} {b:?}");
            }
        }
    }
}
