//! Judging a path (RFC 5280 §6.1 as it matters for S/MIME signers): the certificate profile
//! of every position (signer, intermediate), pathLenConstraint, name constraints of every CA
//! ([`super::constraints`]), validity at the evaluation time, revocation through
//! [`crate::revocation`], and the weak algorithms and keys of the path.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Purpose, TrustStore};
use crate::report::{Reason, RevocationStatus, Weakness};
use crate::revocation::{CrlStore, CrlVerdict};
use crate::x509::cert::{CertInfo, KU_DIGITAL_SIGNATURE, KU_KEY_CERT_SIGN, KU_NON_REPUDIATION};
use crate::x509::oid;

#[derive(Clone, Debug)]
pub(super) struct Evaluation {
    /// No structural violation (constraints, key usage, extensions).
    pub(super) sound: bool,
    /// Validity findings (`expired`, `not-yet-valid`).
    pub(super) time: Vec<Reason>,
}

/// Checks a complete path (`path` signer first, then intermediates; `anchor` on top) at `at`.
pub(super) fn evaluate(
    path: &[Arc<CertInfo>],
    anchor: Option<&CertInfo>,
    at: DateTime<Utc>,
    purpose: Purpose,
) -> Evaluation {
    let mut sound = true;
    let mut time = Vec::new();
    for (i, c) in path.iter().enumerate() {
        if c.bad_extensions || c.bad_names {
            sound = false;
        }
        if i == 0 {
            sound &= match purpose {
                Purpose::EmailSigning => usable_for_email_signing(c),
                Purpose::TimeStamping => usable_for_time_stamping(c),
            };
        } else {
            sound &= can_sign_certificates(c);
            // pathLenConstraint: non-self-issued intermediates below this one.
            if let Some(max) = c.path_len {
                let below =
                    path.get(1..i).map_or(0, |s| s.iter().filter(|x| !x.self_issued()).count());
                sound &= below <= usize::from(max);
            }
        }
        time.extend(time_finding(c, at));
    }
    if let Some(a) = anchor
        && let Some(max) = a.path_len
    {
        let below = path.get(1..).map_or(0, |s| s.iter().filter(|x| !x.self_issued()).count());
        sound &= below <= usize::from(max);
    }
    // Name constraints of every CA (anchor included) over the certificates below it.
    if sound {
        let cas = path.iter().enumerate().skip(1).map(|(i, c)| (i, &**c));
        let cas = cas.chain(anchor.map(|a| (path.len(), a)));
        'outer: for (j, ca) in cas {
            let Some(nc) = &ca.name_constraints else { continue };
            for (k, c) in path.iter().enumerate().take(j) {
                if k > 0 && c.self_issued() {
                    continue;
                }
                if !nc.allow(c) {
                    sound = false;
                    break 'outer;
                }
            }
        }
    }
    time.sort();
    time.dedup();
    Evaluation { sound, time }
}

/// RFC 5280 §6.1.4 (k), (n): a v3 certificate with basicConstraints cA and, when keyUsage
/// is present, keyCertSign.
pub(super) fn can_sign_certificates(c: &CertInfo) -> bool {
    c.version == 2
        && c.is_ca
        && !c.bad_extensions
        && c.key_usage.is_none_or(|ku| ku & KU_KEY_CERT_SIGN != 0)
}

/// docs/SPEC.md §7.2: keyUsage digitalSignature (or nonRepudiation); extendedKeyUsage, when
/// present, emailProtection (RFC 5750 §4.4.4) or anyExtendedKeyUsage.
fn usable_for_email_signing(c: &CertInfo) -> bool {
    let ku = c.key_usage.is_none_or(|ku| ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION) != 0);
    let eku = c.eku.as_ref().is_none_or(|list| {
        list.iter().any(|o| *o == oid::ID_KP_EMAIL_PROTECTION || *o == oid::ANY_EXTENDED_KEY_USAGE)
    });
    ku && eku
}

/// RFC 3161 §2.3: extendedKeyUsage present with id-kp-timeStamping (the TSA's only purpose;
/// RFC 3161 asks for it critical and alone: openssl refuses other certificates); keyUsage, when
/// present, digitalSignature or nonRepudiation.
fn usable_for_time_stamping(c: &CertInfo) -> bool {
    let ku = c.key_usage.is_none_or(|ku| ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION) != 0);
    let eku = c.eku.as_ref().is_some_and(|list| list.contains(&oid::ID_KP_TIME_STAMPING));
    ku && eku
}

/// `not-yet-valid` / `expired` when `at` is outside the certificate's validity.
pub(super) fn time_finding(c: &CertInfo, at: DateTime<Utc>) -> Option<Reason> {
    if at < c.not_before {
        Some(Reason::NotYetValid)
    } else if at > c.not_after {
        Some(Reason::Expired)
    } else {
        None
    }
}

/// The weaknesses of a path (see [`PathOutcome::weaknesses`]): certificate signatures of the
/// certificates that are not trust anchors, RSA key sizes of all, anchor included.
pub(super) fn path_weaknesses(
    trust: &TrustStore,
    path: &[Arc<CertInfo>],
    anchor: Option<&CertInfo>,
) -> Vec<Weakness> {
    let mut out = Vec::new();
    for c in path {
        if !trust.sha1s.contains(&c.sha1) {
            out.extend(c.signature_weakness);
        }
        if c.key.rsa_bits().is_some_and(|b| b < 2048) {
            out.push(Weakness::RsaKeyUnder2048);
        }
    }
    if anchor.is_some_and(|a| a.key.rsa_bits().is_some_and(|b| b < 2048)) {
        out.push(Weakness::RsaKeyUnder2048);
    }
    out.sort();
    out.dedup();
    out
}

pub(super) fn check_revocation(
    path: &[Arc<CertInfo>],
    anchor: Option<&CertInfo>,
    at: DateTime<Utc>,
    claimed: bool,
    crls: Option<&CrlStore>,
) -> RevocationStatus {
    let Some(crls) = crls else { return RevocationStatus::NotChecked };
    if crls.is_empty() && !crls.has_fetcher() {
        return RevocationStatus::NotChecked;
    }
    let mut unknown = false;
    for (i, cert) in path.iter().enumerate() {
        let issuer: &CertInfo = match path.get(i + 1) {
            Some(p) => p,
            None => match anchor {
                Some(a) => a,
                // The signer is itself an anchor: nothing to check.
                None => continue,
            },
        };
        match crls.check(cert, issuer, at, claimed) {
            CrlVerdict::Revoked => return RevocationStatus::Revoked,
            CrlVerdict::Unknown => unknown = true,
            CrlVerdict::Good => {}
        }
    }
    if unknown { RevocationStatus::Unknown } else { RevocationStatus::Good }
}
