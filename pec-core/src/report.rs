//! The verification vocabulary: [`Verdict`], [`Reason`], [`RevocationStatus`], [`TimeSource`],
//! [`SignedScope`], [`Weakness`], the signer and provider summaries and the
//! [`VerificationReport`] that carries them.
//!
//! A leaf of the engine: it depends only on the result codes ([`crate::error::Code`], which
//! every [`Reason`] maps onto) and on the digest names of [`crate::crypto`]. Every layer
//! that finds something (`chain`, `smime`, `verify`) writes in these words; they are also
//! re-exported from [`crate::smime`], where they were first declared.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::crypto::DigestAlgorithm;

/// The overall outcome of a verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Signature, chain, validity, revocation (and index, when given) all pass.
    Valid,
    /// Something is definitely wrong (bad signature, revoked, untrusted, impersonation...).
    Invalid,
    /// Nothing is wrong, but something could not be established (revocation unknown).
    Indeterminate,
}

impl Verdict {
    /// Wire name: `valid`, `invalid`, `indeterminate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Indeterminate => "indeterminate",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

reason_table! {
    /// A verification finding. The wire names are stable: the C, Python and Perl layers use them.
    pub enum Reason {
        /// `no-signature`: the message is not signed.
        NoSignature = "no-signature",
        /// `malformed-signature`: the CMS structure cannot be decoded.
        MalformedSignature = "malformed-signature",
        /// `content-mismatch`: the messageDigest does not match the signed bytes.
        ContentMismatch = "content-mismatch",
        /// `bad-signature`: the RSA signature over the signed attributes is wrong.
        BadSignature = "bad-signature",
        /// `untrusted-chain`: no path to a trust anchor (or a path violating constraints).
        UntrustedChain = "untrusted-chain",
        /// `expired`: a certificate of the path had expired at the evaluation time.
        Expired = "expired",
        /// `not-yet-valid`: a certificate of the path was not yet valid at the evaluation time.
        NotYetValid = "not-yet-valid",
        /// `revoked`: a certificate of the path is revoked by a CRL.
        Revoked = "revoked",
        /// `revocation-unknown`: no usable CRL for a certificate of the path.
        RevocationUnknown = "revocation-unknown",
        /// `not-in-index`: the signer certificate is not in the providers index.
        NotInIndex = "not-in-index",
        /// `from-domain-mismatch`: the `From:` domain is not managed by the signing provider
        /// (also: not exactly one `From:` field with exactly one mailbox, when an index is given).
        FromDomainMismatch = "from-domain-mismatch",
        /// `signing-time-in-future`: the signingTime claim is more than five minutes after the
        /// verifier's clock.
        SigningTimeInFuture = "signing-time-in-future",
        /// `daticert-mismatch`: daticert `gestore-emittente` is not the signing provider's
        /// `providerName`, or the address the provider acted for is not in a domain it manages.
        DaticertMismatch = "daticert-mismatch",
        /// `partially-signed`: the signed entity is not the message's top-level entity (a
        /// mailing list or a forward wrapped it); the verdict is at most `indeterminate`.
        PartiallySigned = "partially-signed",
        /// `header-mismatch`: the outer `X-Ricevuta`/`X-Trasporto` disagrees with daticert `tipo`.
        HeaderMismatch = "header-mismatch",
    }
}

impl Reason {
    /// Whether this finding makes the verdict `invalid` (otherwise `indeterminate`).
    pub fn is_fatal(self) -> bool {
        !matches!(self, Reason::RevocationUnknown | Reason::PartiallySigned)
    }
}

/// Revocation outcome for the signer's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RevocationStatus {
    /// Every certificate of the path was checked against a valid CRL and is not revoked.
    Good,
    /// A certificate of the path is revoked.
    Revoked,
    /// Some certificate could not be checked (no CRL, CRL out of date, bad CRL signature).
    Unknown,
    /// Revocation was not checked (no CRLs given and no fetcher).
    NotChecked,
}

impl RevocationStatus {
    /// Wire name: `good`, `revoked`, `unknown`, `not-checked`.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationStatus::Good => "good",
            RevocationStatus::Revoked => "revoked",
            RevocationStatus::Unknown => "unknown",
            RevocationStatus::NotChecked => "not-checked",
        }
    }
}

/// Which instant the certificate path was evaluated at, and where it came from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TimeSource {
    /// The verifier's clock.
    #[default]
    Now,
    /// An instant the caller gave (`--at`): trusted and compared as it is.
    Given,
    /// The signer's own signingTime claim (`--at-signing-time`): a claim, not a fact, so
    /// revocation for key compromise applies whatever the dates.
    SigningTimeClaimed,
}

impl TimeSource {
    /// Wire name: `now`, `given`, `signing-time-claimed`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::Now => "now",
            TimeSource::Given => "given",
            TimeSource::SigningTimeClaimed => "signing-time-claimed",
        }
    }
}

/// What the signature covers, relative to the message as it arrived.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SignedScope {
    /// The signed entity is the message's top-level entity: what the user sees is signed.
    #[default]
    Whole,
    /// The signed entity is nested inside unsigned MIME (a mailing list or a forward wrapped
    /// it): headers and parts outside it are not covered.
    Inner,
}

impl SignedScope {
    /// Wire name: `whole`, `inner`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignedScope::Whole => "whole",
            SignedScope::Inner => "inner",
        }
    }
}

/// A weak algorithm or key found in the signature or its path, by stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weakness {
    /// `sha1-digest`: the SignerInfo digest is SHA-1.
    Sha1Digest,
    /// `md5-digest`: the SignerInfo digest is MD5.
    Md5Digest,
    /// `sha1-signature`: the CMS signature algorithm uses SHA-1.
    Sha1Signature,
    /// `sha1-certificate`: a certificate below the trust anchor is signed with SHA-1.
    Sha1Certificate,
    /// `md5-certificate`: a certificate below the trust anchor is signed with MD5.
    Md5Certificate,
    /// `rsa-key-under-2048`: the signer's or a path certificate's RSA key is under 2048 bits.
    RsaKeyUnder2048,
}

impl Weakness {
    /// Every weakness.
    pub const ALL: &'static [Weakness] = &[
        Weakness::Sha1Digest,
        Weakness::Md5Digest,
        Weakness::Sha1Signature,
        Weakness::Sha1Certificate,
        Weakness::Md5Certificate,
        Weakness::RsaKeyUnder2048,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Weakness::Sha1Digest => "sha1-digest",
            Weakness::Md5Digest => "md5-digest",
            Weakness::Sha1Signature => "sha1-signature",
            Weakness::Sha1Certificate => "sha1-certificate",
            Weakness::Md5Certificate => "md5-certificate",
            Weakness::RsaKeyUnder2048 => "rsa-key-under-2048",
        }
    }

    /// Parses a wire name.
    pub fn from_wire(s: &str) -> Option<Weakness> {
        Weakness::ALL.iter().copied().find(|w| w.as_str() == s)
    }
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signer certificate, described.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignerSummary {
    /// Subject DN (RFC 4514 string).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// SHA-1 of the DER certificate, lowercase hex (what `providerCertificateHash` holds).
    pub sha1: String,
    /// notBefore.
    pub not_before: Option<DateTime<Utc>>,
    /// notAfter.
    pub not_after: Option<DateTime<Utc>>,
    /// The rfc822Name of subjectAltName (or emailAddress of the subject), if any.
    pub email: Option<String>,
    /// The DER certificate.
    pub der: Vec<u8>,
}

/// The provider that signed, from the index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProviderSummary {
    /// `providerName`.
    pub name: String,
    /// `mailReceipt`.
    pub mail_receipt: String,
}

/// The result of verifying a signed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationReport {
    /// The verdict.
    pub verdict: Verdict,
    /// Every finding, sorted and without duplicates; empty when valid.
    pub reasons: Vec<Reason>,
    /// Digest algorithm of the SignerInfo.
    pub digest: Option<DigestAlgorithm>,
    /// Whether the digest is weak (SHA-1): the signature may still be valid.
    pub weak_digest: bool,
    /// The CMS signingTime attribute.
    pub signing_time: Option<DateTime<Utc>>,
    /// The instant the path was evaluated at.
    pub evaluated_at: Option<DateTime<Utc>>,
    /// The signer certificate.
    pub signer: Option<SignerSummary>,
    /// Subjects of the validated (or best-effort) path, signer first.
    pub chain: Vec<String>,
    /// Revocation outcome.
    pub revocation: RevocationStatus,
    /// The provider from the index, when an index was given and matched.
    pub provider: Option<ProviderSummary>,
    /// Whether the digest matched only after CRLF canonicalisation (mail stored with LF).
    pub canonicalized: bool,
    /// Where the evaluation instant came from.
    pub time_source: TimeSource,
    /// What the signature covers; `None` when there is no signature.
    pub signed_scope: Option<SignedScope>,
    /// Weak algorithms and keys, sorted, by stable name (SHA-1 messages stay `valid`).
    pub weaknesses: Vec<Weakness>,
}

impl VerificationReport {
    /// A report with the given reasons; the verdict is derived from them.
    pub fn from_reasons(mut reasons: Vec<Reason>) -> Self {
        reasons.sort();
        reasons.dedup();
        VerificationReport {
            verdict: Self::verdict_of(&reasons),
            reasons,
            digest: None,
            weak_digest: false,
            signing_time: None,
            evaluated_at: None,
            signer: None,
            chain: Vec::new(),
            revocation: RevocationStatus::NotChecked,
            provider: None,
            canonicalized: false,
            time_source: TimeSource::Now,
            signed_scope: None,
            weaknesses: Vec::new(),
        }
    }

    /// Adds a reason and re-derives the verdict.
    pub fn add_reason(&mut self, r: Reason) {
        if !self.reasons.contains(&r) {
            self.reasons.push(r);
            self.reasons.sort();
        }
        self.verdict = Self::verdict_of(&self.reasons);
    }

    /// Adds a weakness (kept sorted and unique).
    pub fn add_weakness(&mut self, w: Weakness) {
        if !self.weaknesses.contains(&w) {
            self.weaknesses.push(w);
            self.weaknesses.sort();
        }
    }

    fn verdict_of(reasons: &[Reason]) -> Verdict {
        if reasons.iter().any(|r| r.is_fatal()) {
            Verdict::Invalid
        } else if reasons.is_empty() {
            Verdict::Valid
        } else {
            Verdict::Indeterminate
        }
    }
}
