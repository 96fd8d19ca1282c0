//! S/MIME (CMS SignedData) signing and verification of PEC messages (RFC 6109 §2.1, §7.3;
//! docs/SPEC.md §7).
//!
//! Verification never returns a bare bool: it returns a [`VerificationReport`] with a
//! [`Verdict`], the [`Reason`]s, the signer, the signing time and the digest strength.
//!
//! # Which time a signature is judged at
//!
//! A PEC message is legal evidence about the moment it was signed, and provider certificates
//! expire long before that evidence stops mattering: the real receipts of 2018 must still
//! verify today. So [`VerifyTime::SigningTime`] evaluates the path at the CMS signingTime. But
//! that attribute is the signer's own claim (RFC 5652 §11.3), and PEC signatures carry no
//! trusted timestamp to check it against. The claim is therefore accepted (nothing better is
//! available) and the report says that it was a claim: `time_source` is
//! [`TimeSource::SigningTimeClaimed`], while a time the caller gives ([`VerifyTime::At`]) is
//! [`TimeSource::Given`] and trusted as it is. A claim cannot rescue a compromised key: a
//! certificate that a CRL revokes for key compromise (or without a reason) is revoked whatever
//! the claimed date, and every CRL given is used, including CRLs issued after the claim. A
//! claim more than five minutes after the verifier's clock ([`VerifyOptions::now`]) is
//! `signing-time-in-future`. What the claim cannot show is that an expired certificate's key
//! did not sign later, backdating: an auditor who needs that should verify at a time they trust
//! (`--at`, e.g. when the message was received and logged) or, when PEC adopts them, at an
//! RFC 3161 timestamp.

use std::fmt;

use chrono::{DateTime, Utc};

// The CMS reader is the engine's one TLV reader; the OIDs come from `const_oid::db`.
use crate::x509::der as ber;
mod multipart;
mod oid;
mod sign;
mod verify;

pub use multipart::sign_message;
pub use sign::{sign_attached, sign_detached};
pub use verify::{
    MAX_ATTACHED_CMS_SIZE, MAX_CMS_SIZE, verify_attached, verify_attached_for, verify_detached,
};

// The verification vocabulary lives in the leaf module `report`; these paths stay.
pub use crate::report::{
    ProviderSummary, Reason, RevocationStatus, SignedScope, SignerSummary, TimeSource, Verdict,
    VerificationReport, Weakness,
};

/// At which instant certificates are evaluated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VerifyTime {
    /// The current time.
    #[default]
    Now,
    /// A given instant.
    At(DateTime<Utc>),
    /// The CMS signingTime (legal evidence is judged at signing time); falls back to now when
    /// the signature has none.
    ///
    /// The signingTime is the signer's own claim (RFC 5652 §11.3), not a trusted timestamp:
    /// the report says so ([`TimeSource::SigningTimeClaimed`]), and a certificate revoked for
    /// key compromise is revoked whatever the claim (see [`crate::revocation`]). Nothing else
    /// corroborates the claim, so an expired certificate whose key signs today while claiming a
    /// past instant inside its validity is judged at that instant. Callers that need more
    /// should evaluate at a time they trust ([`VerifyTime::At`], e.g. the time the message was
    /// received and logged), or, later, at an RFC 3161 timestamp.
    SigningTime,
}

/// What a verification checks against.
#[derive(Clone, Default)]
pub struct VerifyOptions {
    /// Trust anchors for the certificate path.
    pub trust: std::sync::Arc<crate::chain::TrustStore>,
    /// CRLs (revocation is `not-checked` without them).
    pub crls: Option<std::sync::Arc<crate::revocation::CrlStore>>,
    /// The providers index used as trust list (signer must be in it; `From:` domain must be
    /// managed by that provider).
    pub index: Option<std::sync::Arc<dyn crate::index::ProviderDirectory>>,
    /// When certificates are evaluated.
    pub time: VerifyTime,
    /// The verifier's "now" (`None`: the system clock): the evaluation instant of
    /// [`VerifyTime::Now`] and the clock a signingTime claim is compared with
    /// (`signing-time-in-future`). A provider engine sets its own clock here.
    pub now: Option<DateTime<Utc>>,
}

impl fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyOptions")
            .field("trust", &self.trust.len())
            .field("crls", &self.crls)
            .field("index", &self.index.is_some())
            .field("time", &self.time)
            .field("now", &self.now)
            .finish()
    }
}
