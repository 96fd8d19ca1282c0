//! X.509 certificate paths for S/MIME: path building from the certificates in a message plus
//! trust anchors, validity at a chosen time, key usage, rfc822Name name constraints, and
//! revocation through [`crate::revocation`].
//!
//! docs/SPEC.md §7.3 step 3: "build and validate the full certification path, check revocation
//! (CRL) and the validity period", with the certificate profile of §7.2 (RFC 5750, RFC 5280).
//! The rules applied are those of RFC 5280 §6.1 that matter for S/MIME signers:
//!
//! * path building from the signer through the certificates carried in the CMS to a trust
//!   anchor: issuer/subject names compared after RFC 5280 §7.1-style case and whitespace
//!   folding (so identical DER always matches), authority/subject key identifiers to order
//!   the alternatives,
//!   signatures verified (RSA PKCS#1 v1.5 with SHA-1/256/384/512, ECDSA P-256/P-384), loops
//!   refused, depth and work bounded, alternatives tried when a branch fails;
//! * every intermediate has basicConstraints `cA` (and its `pathLenConstraint` holds) and
//!   `keyCertSign` when keyUsage is present; the signer's keyUsage, when present, has
//!   `digitalSignature` or `nonRepudiation`, its extendedKeyUsage, when present,
//!   `emailProtection` or `anyExtendedKeyUsage`; an unknown critical extension makes a
//!   certificate unusable;
//! * name constraints (RFC 5280 §4.2.1.10) of every CA of the path, trust anchor included,
//!   applied to the rfc822Names (subjectAltName and the subject's `emailAddress`), dNSNames,
//!   iPAddresses and directoryNames of the certificates below it: the real AgID CA1 carries
//!   rfc822Name and directoryName constraints; an rfc822Name (or subject `emailAddress`) that
//!   is not a mailbox (RFC 5280 §4.2.1.6: one `@`, Dot-string local part, LDH domain) makes
//!   its certificate unusable, so `a@evil.example@pec.example.it` cannot pass a constraint;
//! * validity of the signer and the intermediates at the evaluation time, which may be in the
//!   past (legal evidence is judged at signing time). Trust anchors are trusted as given
//!   (RFC 5280 §6.1.1 d: their own validity is not checked);
//! * revocation of every non-anchor certificate against CRLs of its issuer
//!   ([`crate::revocation::CrlStore`]) that cover it (issuing distribution point scope), at
//!   the evaluation time; when that time is the signer's own signingTime claim, a revocation
//!   for key compromise applies whatever its date ([`validate_path_at`]).
//!
//! Trust anchors are parsed once. A [`TrustStore`] also remembers which certificate
//! signatures it has verified (keyed by the SHA-256 of the issuer and of the subject
//! certificate DER), and keeps recently parsed certificates, so that the same chain seen again
//! costs no public-key operation and no re-parse.
//!
//! The module is split by what it does: `search` builds candidate paths, `constraints`
//! holds the name-constraint semantics, `validate` judges a path (structure, validity,
//! revocation) and gives the [`PathOutcome`]. Certificates are parsed and described one layer
//! below, in `crate::x509`, which `crate::revocation` shares.
//!
//! Distinguished names are written RFC 4514 style: most specific RDN first
//! (`CN=Posta Certificata ARUBA PEC, O=Aruba PEC S.p.A., L=Ponte San Pietro, ST=Bergamo, C=IT`),
//! RDNs separated by `", "`, multi-valued RDNs joined by `+`, the usual short names (`CN`, `O`,
//! `OU`, `C`, `L`, `ST`, `STREET`, `DC`, `UID`, `emailAddress`, `serialNumber`, ...), other
//! attribute types as dotted OIDs with a `#`-hex DER value, specials escaped with `\`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::report::{Reason, RevocationStatus, SignerSummary, TimeSource, Weakness};
use crate::revocation::CrlStore;
use crate::x509::cache::SignatureCache;
use crate::x509::cert::{CertInfo, pem_certificates, sha1_of, sha256_of};

mod constraints;
mod search;
mod validate;

use search::Search;
use validate::evaluate;

pub use crate::x509::cert::{describe_certificate, parse_certificates};
pub use crate::x509::name::format_name;

// At its old path for `smime`.
pub(crate) use crate::x509::cert::rsa_modulus_bits;

/// Longest path considered: signer plus intermediates (the trust anchor not counted).
pub const MAX_PATH_LEN: usize = 8;
/// Candidate certificates considered per validation (those past this many are ignored: a CMS
/// carries two or three).
pub const MAX_CANDIDATES: usize = 128;
/// Signature verifications (cache misses) one validation may spend while searching.
const MAX_SIGNATURE_CHECKS: u32 = 64;
/// Issuer/subject edges one validation may explore.
const MAX_EDGES: u32 = 1024;
/// Bounds of the per-store caches (entries); a full cache is emptied.
const SIGNATURE_CACHE_SIZE: usize = 8192;
const PARSED_CACHE_SIZE: usize = 2048;
/// Files larger than this are skipped by [`TrustStore::add_dir`].
const MAX_ANCHOR_FILE: u64 = 16 * 1024 * 1024;
/// Directory entries read by [`TrustStore::add_dir`].
const MAX_DIR_ENTRIES: usize = 100_000;

/// Trust anchors: a PEM bundle, DER certificates, or a hashed directory (`/etc/ssl/certs`).
///
/// Anchors are deduplicated by SHA-1 and indexed by (normalised) subject name. Clones share
/// the verification caches, which are `Send + Sync` and bounded.
#[derive(Clone, Default)]
pub struct TrustStore {
    anchors: Vec<Arc<CertInfo>>,
    by_subject: HashMap<String, Vec<usize>>,
    sha1s: HashSet<[u8; 20]>,
    cache: Arc<VerifyCache>,
}

impl TrustStore {
    /// An empty store (nothing is trusted).
    pub fn new() -> Self {
        TrustStore::default()
    }

    /// Adds every certificate of a PEM bundle; returns how many were added (certificates
    /// already present are not counted).
    ///
    /// # Errors
    /// A PEM block that is not a certificate, or a certificate that does not parse.
    pub fn add_pem_bundle(&mut self, pem: &[u8]) -> Result<usize> {
        let ders = pem_certificates(pem)?;
        let mut parsed = Vec::with_capacity(ders.len());
        for der in ders {
            if self.sha1s.contains(&sha1_of(&der)) {
                continue;
            }
            parsed.push(CertInfo::parse(der)?);
        }
        Ok(parsed.into_iter().map(|c| usize::from(self.insert(c))).sum())
    }

    /// Adds one DER certificate (a certificate already present is ignored).
    ///
    /// # Errors
    /// Bad DER.
    pub fn add_der(&mut self, der: &[u8]) -> Result<()> {
        if !self.sha1s.contains(&sha1_of(der)) {
            self.insert(CertInfo::parse(der.to_vec())?);
        }
        Ok(())
    }

    /// Adds every certificate file of a directory (hashed `c_rehash` links or any `.pem`/`.crt`).
    ///
    /// Every regular file or symbolic link to one that holds PEM or DER certificates is read;
    /// other and unreadable files are skipped. Certificates are deduplicated by SHA-1
    /// (`/etc/ssl/certs` holds each anchor under two names plus a bundle). Returns how many
    /// anchors were added.
    ///
    /// # Errors
    /// The directory cannot be read.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir.display(), &e))?;
        let mut paths: Vec<_> =
            entries.take(MAX_DIR_ENTRIES).filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        let mut added = 0;
        for path in paths {
            // `metadata` follows symbolic links: dangling links and directories are skipped.
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            if !meta.is_file() || meta.len() > MAX_ANCHOR_FILE {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else { continue };
            let Ok(ders) = parse_certificates(&bytes) else { continue };
            for der in ders {
                if self.sha1s.contains(&sha1_of(&der)) {
                    continue;
                }
                if let Ok(info) = CertInfo::parse(der) {
                    added += usize::from(self.insert(info));
                }
            }
        }
        Ok(added)
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.anchors.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Whether a DER certificate is one of the anchors (same bytes).
    pub fn contains(&self, der: &[u8]) -> bool {
        self.sha1s.contains(&sha1_of(der))
    }

    /// The anchors, DER.
    pub fn anchors(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.anchors.iter().map(|a| a.der.as_slice())
    }

    /// Number of certificate signatures currently remembered as verified (or as failed).
    pub fn cached_signatures(&self) -> usize {
        self.cache.signatures.len()
    }

    fn insert(&mut self, info: CertInfo) -> bool {
        if !self.sha1s.insert(info.sha1) {
            return false;
        }
        let idx = self.anchors.len();
        self.by_subject.entry(info.subject_key.clone()).or_default().push(idx);
        self.anchors.push(Arc::new(info));
        true
    }

    fn anchors_named(&self, key: &str) -> &[usize] {
        self.by_subject.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Describes a DER certificate like [`describe_certificate`], through the store's cache
    /// of parsed certificates (a verifier sees the same signers again and again).
    ///
    /// # Errors
    /// Bad DER.
    pub fn describe(&self, der: &[u8]) -> Result<SignerSummary> {
        Ok(self.parse_cached(der)?.summary())
    }

    /// Parses a certificate, through the store's cache of recently parsed certificates.
    ///
    /// The cache is looked up by [`quick_key`] (no digest, no allocation) and a hit is
    /// confirmed by comparing the whole DER, so a look-up costs one `memcmp`.
    fn parse_cached(&self, der: &[u8]) -> Result<Arc<CertInfo>> {
        let key = quick_key(der);
        if let Ok(map) = self.cache.parsed.read()
            && let Some(c) = map.get(&key)
            && c.der == der
        {
            return Ok(Arc::clone(c));
        }
        let info = Arc::new(CertInfo::parse_with_sha256(der.to_vec(), sha256_of(der))?);
        if let Ok(mut map) = self.cache.parsed.write() {
            if map.len() >= PARSED_CACHE_SIZE {
                map.clear();
            }
            map.insert(key, Arc::clone(&info));
        }
        Ok(info)
    }

    /// Whether `issuer`'s key verifies `subject`'s signature, through the signature cache.
    pub(crate) fn signature_ok(&self, issuer: &CertInfo, subject: &CertInfo) -> bool {
        self.cache.signatures.verdict(&issuer.sha256, &subject.sha256, || {
            issuer.key.verify(subject.sig_alg, subject.tbs(), &subject.signature)
        })
    }
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("anchors", &self.anchors.len())
            .field("cached_signatures", &self.cached_signatures())
            .finish()
    }
}

/// Caches shared by clones of a [`TrustStore`].
#[derive(Debug, Default)]
struct VerifyCache {
    /// (issuer, subject) → signature verified.
    signatures: SignatureCache<SIGNATURE_CACHE_SIZE>,
    /// [`quick_key`] of DER → parsed certificate (a hit is confirmed by the whole DER).
    parsed: RwLock<HashMap<QuickKey, Arc<CertInfo>>>,
}

/// The parsed-certificate cache key: the DER length and its last 32 bytes (the end of the
/// signature value, which differs between any two certificates one issuer signs). Only a
/// hint: a hit is confirmed by comparing the whole DER, so a crafted collision costs a
/// re-parse, never a wrong certificate.
type QuickKey = (usize, [u8; 32]);

fn quick_key(der: &[u8]) -> QuickKey {
    let mut tail = [0u8; 32];
    let n = der.len().min(32);
    if let (Some(dst), Some(src)) = (tail.get_mut(..n), der.get(der.len() - n..)) {
        dst.copy_from_slice(src);
    }
    (der.len(), tail)
}

/// The outcome of path validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathOutcome {
    /// Subjects of the path found (signer first), best effort when invalid.
    pub chain: Vec<String>,
    /// Findings (`untrusted-chain`, `expired`, `not-yet-valid`, `revoked`, `revocation-unknown`).
    pub reasons: Vec<Reason>,
    /// Revocation outcome.
    pub revocation: RevocationStatus,
    /// Weak algorithms and keys of the path (sorted): `sha1-certificate` / `md5-certificate`
    /// for a certificate below the trust anchor signed with SHA-1 / MD5, `rsa-key-under-2048`
    /// for any RSA key of the path, anchor included. For an untrusted outcome, those of the
    /// longest partial chain (so an MD5-signed certificate that breaks the path is named).
    pub weaknesses: Vec<Weakness>,
}

/// Validates the path from `leaf` (DER) to an anchor of `trust`, using `candidates` (the
/// certificates carried in the CMS) as intermediates, evaluated at `at`, checking revocation
/// against `crls` when given.
///
/// docs/SPEC.md §7.3 step 3. `reasons` is sorted and empty when the path is valid. A path that
/// is sound but has a certificate outside its validity period is reported with its chain and
/// `expired` / `not-yet-valid`; no acceptable path gives `untrusted-chain` (with the longest
/// partial chain found). Revocation is checked for every non-anchor certificate of a sound
/// path; it is `not-checked` when `crls` is `None`, or empty without a fetcher.
///
/// `at` is trusted as given ([`TimeSource::Given`]): see [`validate_path_at`].
pub fn validate_path(
    leaf: &[u8],
    candidates: &[Vec<u8>],
    trust: &TrustStore,
    at: DateTime<Utc>,
    crls: Option<&CrlStore>,
) -> PathOutcome {
    validate_path_at(leaf, candidates, trust, at, TimeSource::Given, crls)
}

/// [`validate_path`] at `at`, which came from `source`. With
/// [`TimeSource::SigningTimeClaimed`] the instant is the signer's own claim: a certificate
/// that a CRL revokes for key compromise (keyCompromise, cACompromise, aACompromise,
/// unspecified or no reason) counts as revoked whatever the revocation date, so a backdated
/// claim cannot escape it ([`crate::revocation`]).
pub fn validate_path_at(
    leaf: &[u8],
    candidates: &[Vec<u8>],
    trust: &TrustStore,
    at: DateTime<Utc>,
    source: TimeSource,
    crls: Option<&CrlStore>,
) -> PathOutcome {
    validate_path_for(leaf, candidates, trust, at, source, crls, Purpose::EmailSigning)
}

/// What the signer certificate of a path must be good for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Purpose {
    /// S/MIME signing (docs/SPEC.md §7.2: extendedKeyUsage, when present, emailProtection).
    #[default]
    EmailSigning,
    /// An RFC 3161 time-stamping authority (extendedKeyUsage id-kp-timeStamping required).
    TimeStamping,
}

/// [`validate_path_at`] for a signer certificate used for `purpose`.
pub fn validate_path_for(
    leaf: &[u8],
    candidates: &[Vec<u8>],
    trust: &TrustStore,
    at: DateTime<Utc>,
    source: TimeSource,
    crls: Option<&CrlStore>,
    purpose: Purpose,
) -> PathOutcome {
    let refs: Vec<&[u8]> = candidates.iter().map(Vec::as_slice).collect();
    validate_path_refs(leaf, &refs, trust, at, source, crls, purpose)
}

/// [`validate_path_for`] over borrowed candidates (the certificates of a CMS, not copied).
pub(crate) fn validate_path_refs(
    leaf: &[u8],
    candidates: &[&[u8]],
    trust: &TrustStore,
    at: DateTime<Utc>,
    source: TimeSource,
    crls: Option<&CrlStore>,
    purpose: Purpose,
) -> PathOutcome {
    let Ok(leaf) = trust.parse_cached(leaf) else {
        return PathOutcome {
            chain: Vec::new(),
            reasons: vec![Reason::UntrustedChain],
            revocation: RevocationStatus::NotChecked,
            weaknesses: Vec::new(),
        };
    };
    let mut cands: Vec<Arc<CertInfo>> = Vec::new();
    for der in candidates.iter().take(MAX_CANDIDATES) {
        if let Ok(c) = trust.parse_cached(der)
            && c.sha256 != leaf.sha256
            && !trust.sha1s.contains(&c.sha1)
            && !cands.iter().any(|o| o.sha256 == c.sha256)
        {
            cands.push(c);
        }
    }
    let mut search = Search::new(trust, &cands, at, &leaf, purpose);
    let found = if trust.sha1s.contains(&leaf.sha1) {
        // The signer certificate is itself a trust anchor.
        let path = vec![Arc::clone(&leaf)];
        let eval = evaluate(&path, None, at, purpose);
        if eval.sound { Some((path, None, eval)) } else { None }
    } else {
        let mut path = vec![Arc::clone(&leaf)];
        search.extend(&mut path)
    };
    let found = found.or_else(|| search.fallback.take());
    match found {
        Some((path, anchor, eval)) => {
            let mut reasons = eval.time;
            let claimed = source == TimeSource::SigningTimeClaimed;
            let revocation =
                validate::check_revocation(&path, anchor.as_deref(), at, claimed, crls);
            match revocation {
                RevocationStatus::Revoked => reasons.push(Reason::Revoked),
                RevocationStatus::Unknown => reasons.push(Reason::RevocationUnknown),
                RevocationStatus::Good | RevocationStatus::NotChecked => {}
            }
            reasons.sort();
            reasons.dedup();
            let mut chain: Vec<String> = path.iter().map(|c| c.subject_text.clone()).collect();
            if let Some(a) = &anchor {
                chain.push(a.subject_text.clone());
            }
            let weaknesses = validate::path_weaknesses(trust, &path, anchor.as_deref());
            PathOutcome { chain, reasons, revocation, weaknesses }
        }
        None => {
            let mut reasons = vec![Reason::UntrustedChain];
            for c in &search.longest {
                reasons.extend(validate::time_finding(c, at));
            }
            reasons.sort();
            reasons.dedup();
            PathOutcome {
                chain: search.longest.iter().map(|c| c.subject_text.clone()).collect(),
                reasons,
                revocation: RevocationStatus::NotChecked,
                weaknesses: validate::path_weaknesses(trust, &search.longest, None),
            }
        }
    }
}
