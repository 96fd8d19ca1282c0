//! Path search: depth first from the signer through the certificates the CMS carries to a
//! trust anchor, key identifiers ordering the alternatives, loops refused, depth and work
//! bounded; the first fully valid path wins, a sound path with validity findings is kept as
//! fallback, and the longest partial path is remembered for an untrusted outcome.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::validate::{Evaluation, can_sign_certificates, evaluate};
use super::{MAX_EDGES, MAX_PATH_LEN, MAX_SIGNATURE_CHECKS, Purpose, TrustStore};
use crate::x509::cert::CertInfo;

/// A complete path: non-anchor certificates (signer first), the anchor (None when the signer
/// is itself an anchor), and its evaluation.
pub(super) type FoundPath = (Vec<Arc<CertInfo>>, Option<Arc<CertInfo>>, Evaluation);

pub(super) struct Search<'a> {
    trust: &'a TrustStore,
    cands: &'a [Arc<CertInfo>],
    at: DateTime<Utc>,
    purpose: Purpose,
    signature_checks: u32,
    edges: u32,
    /// The first sound path with validity findings, used when no fully valid path exists.
    pub(super) fallback: Option<FoundPath>,
    /// The longest partial path seen (best-effort chain of an untrusted outcome).
    pub(super) longest: Vec<Arc<CertInfo>>,
}

impl<'a> Search<'a> {
    pub(super) fn new(
        trust: &'a TrustStore,
        cands: &'a [Arc<CertInfo>],
        at: DateTime<Utc>,
        leaf: &Arc<CertInfo>,
        purpose: Purpose,
    ) -> Search<'a> {
        Search {
            trust,
            cands,
            at,
            purpose,
            signature_checks: 0,
            edges: 0,
            fallback: None,
            longest: vec![Arc::clone(leaf)],
        }
    }

    fn budget_left(&self) -> bool {
        self.signature_checks < MAX_SIGNATURE_CHECKS && self.edges < MAX_EDGES
    }

    fn signature_ok(&mut self, issuer: &CertInfo, subject: &CertInfo) -> bool {
        self.edges += 1;
        self.signature_checks += 1;
        self.trust.signature_ok(issuer, subject)
    }

    /// Depth-first extension of `path` (never empty) towards an anchor. Returns the first
    /// fully valid path; records sound paths with validity findings as fallback.
    pub(super) fn extend(&mut self, path: &mut Vec<Arc<CertInfo>>) -> Option<FoundPath> {
        let cur = Arc::clone(path.last()?);
        if path.len() > self.longest.len() {
            self.longest = path.clone();
        }
        // 1. Anchors named as the issuer, the key identifier match first.
        let mut anchors: Vec<Arc<CertInfo>> = self
            .trust
            .anchors_named(&cur.issuer_key)
            .iter()
            .filter_map(|&i| self.trust.anchors.get(i).cloned())
            .collect();
        anchors.sort_by_key(|a| aki_rank(&cur, a));
        for anchor in anchors {
            if !self.budget_left() {
                return None;
            }
            if !self.signature_ok(&anchor, &cur) {
                continue;
            }
            let eval = evaluate(path, Some(&anchor), self.at, self.purpose);
            if eval.sound && eval.time.is_empty() {
                return Some((path.clone(), Some(anchor), eval));
            }
            if eval.sound && self.fallback.is_none() {
                self.fallback = Some((path.clone(), Some(anchor), eval));
            }
        }
        if path.len() >= MAX_PATH_LEN {
            return None;
        }
        // 2. Intermediates from the message.
        let mut issuers: Vec<Arc<CertInfo>> = self
            .cands
            .iter()
            .filter(|c| {
                c.subject_key == cur.issuer_key
                    && can_sign_certificates(c)
                    && !path.iter().any(|p| p.sha256 == c.sha256)
            })
            .cloned()
            .collect();
        issuers.sort_by_key(|c| aki_rank(&cur, c));
        for issuer in issuers {
            if !self.budget_left() {
                return None;
            }
            if !self.signature_ok(&issuer, &cur) {
                continue;
            }
            path.push(issuer);
            if let Some(found) = self.extend(path) {
                return Some(found);
            }
            path.pop();
        }
        None
    }
}

/// 0 when `issuer`'s subject key identifier equals `cert`'s authority key identifier, 1 when
/// either is absent, 2 when they differ (tried last: identifiers are only hints).
fn aki_rank(cert: &CertInfo, issuer: &CertInfo) -> u8 {
    match (&cert.aki, &issuer.ski) {
        (Some(a), Some(s)) if a == s => 0,
        (Some(_), Some(_)) => 2,
        _ => 1,
    }
}
