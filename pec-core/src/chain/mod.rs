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
//! Distinguished names are written RFC 4514 style: most specific RDN first
//! (`CN=Posta Certificata ARUBA PEC, O=Aruba PEC S.p.A., L=Ponte San Pietro, ST=Bergamo, C=IT`),
//! RDNs separated by `", "`, multi-valued RDNs joined by `+`, the usual short names (`CN`, `O`,
//! `OU`, `C`, `L`, `ST`, `STREET`, `DC`, `UID`, `emailAddress`, `serialNumber`, ...), other
//! attribute types as dotted OIDs with a `#`-hex DER value, specials escaped with `\`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Tag, Tagged};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, ExtendedKeyUsage,
    NameConstraints, SubjectAltName,
};
use x509_cert::name::Name;

use crate::crypto::DigestAlgorithm;
use crate::error::{CertificateError, Error, Result};
use crate::revocation::{CrlStore, CrlVerdict};
use crate::report::{Reason, RevocationStatus, SignerSummary, TimeSource, Weakness};

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
        self.cache.signatures.read().map(|m| m.len()).unwrap_or(0)
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
    fn parse_cached(&self, der: &[u8]) -> Result<Arc<CertInfo>> {
        let digest = sha256_of(der);
        if let Ok(map) = self.cache.parsed.read()
            && let Some(c) = map.get(&digest)
        {
            return Ok(Arc::clone(c));
        }
        let info = Arc::new(CertInfo::parse_with_sha256(der.to_vec(), digest)?);
        if let Ok(mut map) = self.cache.parsed.write() {
            if map.len() >= PARSED_CACHE_SIZE {
                map.clear();
            }
            map.insert(digest, Arc::clone(&info));
        }
        Ok(info)
    }

    /// Whether `issuer`'s key verifies `subject`'s signature, through the signature cache.
    pub(crate) fn signature_ok(&self, issuer: &CertInfo, subject: &CertInfo) -> bool {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&issuer.sha256);
        key[32..].copy_from_slice(&subject.sha256);
        if let Ok(map) = self.cache.signatures.read()
            && let Some(ok) = map.get(&key)
        {
            return *ok;
        }
        let ok = issuer.key.verify(subject.sig_alg, subject.tbs(), &subject.signature);
        if let Ok(mut map) = self.cache.signatures.write() {
            if map.len() >= SIGNATURE_CACHE_SIZE {
                map.clear();
            }
            map.insert(key, ok);
        }
        ok
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
    /// (SHA-256 of issuer DER ‖ SHA-256 of subject DER) → signature verified.
    signatures: RwLock<HashMap<[u8; 64], bool>>,
    /// SHA-256 of DER → parsed certificate.
    parsed: RwLock<HashMap<[u8; 32], Arc<CertInfo>>>,
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
    let mut search = Search {
        trust,
        cands: &cands,
        at,
        signature_checks: 0,
        edges: 0,
        fallback: None,
        longest: vec![Arc::clone(&leaf)],
    };
    let found = if trust.sha1s.contains(&leaf.sha1) {
        // The signer certificate is itself a trust anchor.
        let path = vec![Arc::clone(&leaf)];
        let eval = search.evaluate(&path, None);
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
            let revocation = check_revocation(&path, anchor.as_deref(), at, claimed, crls);
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
            let weaknesses = path_weaknesses(trust, &path, anchor.as_deref());
            PathOutcome { chain, reasons, revocation, weaknesses }
        }
        None => {
            let mut reasons = vec![Reason::UntrustedChain];
            for c in &search.longest {
                reasons.extend(c.time_finding(at));
            }
            reasons.sort();
            reasons.dedup();
            PathOutcome {
                chain: search.longest.iter().map(|c| c.subject_text.clone()).collect(),
                reasons,
                revocation: RevocationStatus::NotChecked,
                weaknesses: path_weaknesses(trust, &search.longest, None),
            }
        }
    }
}

/// The weaknesses of a path (see [`PathOutcome::weaknesses`]): certificate signatures of the
/// certificates that are not trust anchors, RSA key sizes of all, anchor included.
fn path_weaknesses(
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

/// Describes a DER certificate (subject, issuer, serial, SHA-1, validity, email).
///
/// Names are RFC 4514 strings, most specific RDN first (see the module documentation), the
/// serial is uppercase hex without leading zeros (`0` for zero), the SHA-1 lowercase hex, the
/// email the first rfc822Name of subjectAltName or else the subject's `emailAddress`.
///
/// # Errors
/// Bad DER.
pub fn describe_certificate(der: &[u8]) -> Result<SignerSummary> {
    let info = CertInfo::parse(der.to_vec())?;
    Ok(info.summary())
}

/// Splits PEM (`CERTIFICATE`, `X509 CERTIFICATE` or `TRUSTED CERTIFICATE` blocks) or a single
/// DER certificate into DER certificates. Only the framing is checked, not the contents.
///
/// # Errors
/// A PEM block that is not a certificate, bad base64, or bytes that are neither PEM nor DER.
pub fn parse_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    if bytes.first() == Some(&0x30) {
        return match der_tlv(bytes) {
            Some((0x30, _, total)) if total == bytes.len() => Ok(vec![bytes.to_vec()]),
            _ => Err(bad_cert("not a DER certificate")),
        };
    }
    let ders = pem_certificates(bytes)?;
    if ders.is_empty() {
        return Err(bad_cert("no certificate found"));
    }
    Ok(ders)
}

// ---------------------------------------------------------------------------------------------
// Path search
// ---------------------------------------------------------------------------------------------

/// A complete path: non-anchor certificates (signer first), the anchor (None when the signer
/// is itself an anchor), and its evaluation.
type FoundPath = (Vec<Arc<CertInfo>>, Option<Arc<CertInfo>>, Evaluation);

struct Search<'a> {
    trust: &'a TrustStore,
    cands: &'a [Arc<CertInfo>],
    at: DateTime<Utc>,
    signature_checks: u32,
    edges: u32,
    /// The first sound path with validity findings, used when no fully valid path exists.
    fallback: Option<FoundPath>,
    /// The longest partial path seen (best-effort chain of an untrusted outcome).
    longest: Vec<Arc<CertInfo>>,
}

#[derive(Clone, Debug)]
struct Evaluation {
    /// No structural violation (constraints, key usage, extensions).
    sound: bool,
    /// Validity findings (`expired`, `not-yet-valid`).
    time: Vec<Reason>,
}

impl Search<'_> {
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
    fn extend(&mut self, path: &mut Vec<Arc<CertInfo>>) -> Option<FoundPath> {
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
        anchors.sort_by_key(|a| cur.aki_rank(a));
        for anchor in anchors {
            if !self.budget_left() {
                return None;
            }
            if !self.signature_ok(&anchor, &cur) {
                continue;
            }
            let eval = self.evaluate(path, Some(&anchor));
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
                    && c.can_sign_certificates()
                    && !path.iter().any(|p| p.sha256 == c.sha256)
            })
            .cloned()
            .collect();
        issuers.sort_by_key(|c| cur.aki_rank(c));
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

    /// Checks a complete path (`path` signer first, then intermediates; `anchor` on top).
    fn evaluate(&self, path: &[Arc<CertInfo>], anchor: Option<&CertInfo>) -> Evaluation {
        let mut sound = true;
        let mut time = Vec::new();
        for (i, c) in path.iter().enumerate() {
            if c.bad_extensions || c.bad_names {
                sound = false;
            }
            if i == 0 {
                sound &= c.usable_for_email_signing();
            } else {
                sound &= c.can_sign_certificates();
                // pathLenConstraint: non-self-issued intermediates below this one.
                if let Some(max) = c.path_len {
                    let below =
                        path.get(1..i).map_or(0, |s| s.iter().filter(|x| !x.self_issued()).count());
                    sound &= below <= usize::from(max);
                }
            }
            time.extend(c.time_finding(self.at));
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
}

fn check_revocation(
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

// ---------------------------------------------------------------------------------------------
// Parsed certificates
// ---------------------------------------------------------------------------------------------

/// A signature algorithm this module can verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SigAlg {
    /// RSA PKCS#1 v1.5.
    Rsa(DigestAlgorithm),
    /// ECDSA (ASN.1 DER signature).
    Ecdsa(DigestAlgorithm),
}

impl SigAlg {
    /// The algorithm of a signatureAlgorithm OID; `None` when unsupported.
    pub(crate) fn from_oid(oid: &ObjectIdentifier) -> Option<SigAlg> {
        Some(match *oid {
            OID_SHA1_RSA => SigAlg::Rsa(DigestAlgorithm::Sha1),
            OID_SHA256_RSA => SigAlg::Rsa(DigestAlgorithm::Sha256),
            OID_SHA384_RSA => SigAlg::Rsa(DigestAlgorithm::Sha384),
            OID_SHA512_RSA => SigAlg::Rsa(DigestAlgorithm::Sha512),
            OID_ECDSA_SHA256 => SigAlg::Ecdsa(DigestAlgorithm::Sha256),
            OID_ECDSA_SHA384 => SigAlg::Ecdsa(DigestAlgorithm::Sha384),
            OID_ECDSA_SHA512 => SigAlg::Ecdsa(DigestAlgorithm::Sha512),
            _ => return None,
        })
    }
}

/// A subject public key this module can verify with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PublicKey {
    /// DER `RSAPublicKey`.
    Rsa(Vec<u8>),
    /// Uncompressed P-256 point.
    EcP256(Vec<u8>),
    /// Uncompressed P-384 point.
    EcP384(Vec<u8>),
    /// Any other key.
    Unsupported,
}

impl PublicKey {
    /// The modulus size of an RSA key, in bits.
    pub(crate) fn rsa_bits(&self) -> Option<usize> {
        match self {
            PublicKey::Rsa(k) => rsa_modulus_bits(k),
            _ => None,
        }
    }

    /// Verifies `signature` over `message` with this key.
    pub(crate) fn verify(&self, alg: Option<SigAlg>, message: &[u8], signature: &[u8]) -> bool {
        use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
        let Some(alg) = alg else { return false };
        let (algorithm, key): (&'static dyn VerificationAlgorithm, &[u8]) = match (self, alg) {
            (PublicKey::Rsa(k), SigAlg::Rsa(d)) => {
                return crate::crypto::verify_rsa_pkcs1(d, k, message, signature);
            }
            (PublicKey::EcP256(k), SigAlg::Ecdsa(DigestAlgorithm::Sha256)) => {
                (&sig::ECDSA_P256_SHA256_ASN1, k)
            }
            (PublicKey::EcP256(k), SigAlg::Ecdsa(DigestAlgorithm::Sha384)) => {
                (&sig::ECDSA_P256_SHA384_ASN1, k)
            }
            (PublicKey::EcP256(k), SigAlg::Ecdsa(DigestAlgorithm::Sha512)) => {
                (&sig::ECDSA_P256_SHA512_ASN1, k)
            }
            (PublicKey::EcP384(k), SigAlg::Ecdsa(DigestAlgorithm::Sha256)) => {
                (&sig::ECDSA_P384_SHA256_ASN1, k)
            }
            (PublicKey::EcP384(k), SigAlg::Ecdsa(DigestAlgorithm::Sha384)) => {
                (&sig::ECDSA_P384_SHA384_ASN1, k)
            }
            (PublicKey::EcP384(k), SigAlg::Ecdsa(DigestAlgorithm::Sha512)) => {
                (&sig::ECDSA_P384_SHA512_ASN1, k)
            }
            _ => return false,
        };
        UnparsedPublicKey::new(algorithm, key).verify(message, signature).is_ok()
    }
}

/// A certificate, parsed once: what path validation and revocation need.
#[derive(Debug)]
pub(crate) struct CertInfo {
    pub(crate) der: Vec<u8>,
    pub(crate) sha256: [u8; 32],
    pub(crate) sha1: [u8; 20],
    tbs: Range<usize>,
    /// Normalised issuer name (the look-up key of issuers and CRLs).
    pub(crate) issuer_key: String,
    /// Normalised subject name.
    pub(crate) subject_key: String,
    pub(crate) subject: Name,
    pub(crate) issuer: Name,
    version: u8,
    /// Serial number bytes (big-endian, leading zeros stripped).
    pub(crate) serial: Vec<u8>,
    pub(crate) sig_alg: Option<SigAlg>,
    /// `sha1-certificate` / `md5-certificate` when signed with SHA-1 / MD5.
    signature_weakness: Option<Weakness>,
    pub(crate) signature: Vec<u8>,
    pub(crate) key: PublicKey,
    pub(crate) not_before: DateTime<Utc>,
    pub(crate) not_after: DateTime<Utc>,
    /// A recognised extension is malformed or duplicated, or an unknown one is critical.
    bad_extensions: bool,
    /// An rfc822Name of subjectAltName or an `emailAddress` of the subject is not a mailbox
    /// (RFC 5280 §4.2.1.6): the certificate is unusable in a path.
    bad_names: bool,
    is_ca: bool,
    path_len: Option<u8>,
    /// keyUsage bits (bit 0 = digitalSignature), when present.
    pub(crate) key_usage: Option<u16>,
    eku: Option<Vec<ObjectIdentifier>>,
    name_constraints: Option<Constraints>,
    /// rfc822Names of subjectAltName, then `emailAddress` attributes of the subject.
    emails: Vec<String>,
    dns_names: Vec<String>,
    ip_addresses: Vec<Vec<u8>>,
    /// Subject (when not empty) and subjectAltName directoryNames, as RDN keys.
    directory_names: Vec<Vec<RdnKey>>,
    /// RFC 4514 form of the subject.
    subject_text: String,
    pub(crate) ski: Option<Vec<u8>>,
    pub(crate) aki: Option<Vec<u8>>,
    /// `http://`, `ldap://`... URIs of the CRL distribution points.
    pub(crate) crl_urls: Vec<String>,
    /// The CRL distribution points, `None` without the extension (RFC 5280 §6.3.3 (a)).
    pub(crate) crl_dps: Option<Vec<crate::revocation::CertDp>>,
}

const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
const KU_NON_REPUDIATION: u16 = 1 << 1;
const KU_KEY_CERT_SIGN: u16 = 1 << 5;
/// keyUsage `cRLSign`.
pub(crate) const KU_CRL_SIGN: u16 = 1 << 6;

impl CertInfo {
    pub(crate) fn parse(der: Vec<u8>) -> Result<CertInfo> {
        let digest = sha256_of(&der);
        CertInfo::parse_with_sha256(der, digest)
    }

    fn parse_with_sha256(der: Vec<u8>, sha256: [u8; 32]) -> Result<CertInfo> {
        let tbs = raw_tbs(&der).ok_or_else(|| bad_cert("not a DER certificate"))?;
        let cert = Certificate::from_der(&der).map_err(|e| bad_cert(&e.to_string()))?;
        let tbs_cert = cert.tbs_certificate();
        let sig_alg = if tbs_cert.signature().oid == cert.signature_algorithm().oid {
            SigAlg::from_oid(&cert.signature_algorithm().oid)
        } else {
            None
        };
        let signature = cert
            .signature()
            .as_bytes()
            .ok_or_else(|| bad_cert("signature has unused bits"))?
            .to_vec();
        let spki = tbs_cert.subject_public_key_info();
        let key = match spki.algorithm.oid {
            OID_RSA_ENCRYPTION => spki
                .subject_public_key
                .as_bytes()
                .map_or(PublicKey::Unsupported, |k| PublicKey::Rsa(k.to_vec())),
            OID_EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
                match (curve, spki.subject_public_key.as_bytes()) {
                    (Some(OID_P256), Some(k)) => PublicKey::EcP256(k.to_vec()),
                    (Some(OID_P384), Some(k)) => PublicKey::EcP384(k.to_vec()),
                    _ => PublicKey::Unsupported,
                }
            }
            _ => PublicKey::Unsupported,
        };
        let validity = tbs_cert.validity();
        let not_before = to_chrono(validity.not_before);
        let not_after = to_chrono(validity.not_after);
        let mut info = CertInfo {
            sha1: sha1_of(&der),
            sha256,
            tbs,
            issuer_key: name_key(tbs_cert.issuer()),
            subject_key: name_key(tbs_cert.subject()),
            subject: tbs_cert.subject().clone(),
            issuer: tbs_cert.issuer().clone(),
            version: tbs_cert.version() as u8,
            serial: tbs_cert.serial_number().as_bytes().to_vec(),
            sig_alg,
            signature_weakness: signature_weakness(&cert.signature_algorithm().oid),
            signature,
            key,
            not_before,
            not_after,
            bad_extensions: false,
            bad_names: false,
            is_ca: false,
            path_len: None,
            key_usage: None,
            eku: None,
            name_constraints: None,
            emails: Vec::new(),
            dns_names: Vec::new(),
            ip_addresses: Vec::new(),
            directory_names: Vec::new(),
            subject_text: format_name(tbs_cert.subject()),
            ski: None,
            aki: None,
            crl_urls: Vec::new(),
            crl_dps: None,
            der,
        };
        let mut seen = HashSet::new();
        for ext in tbs_cert.extensions().map(|e| e.as_slice()).unwrap_or(&[]) {
            if !seen.insert(ext.extn_id) {
                info.bad_extensions = true;
                continue;
            }
            let ok = info.apply_extension(ext.extn_id, ext.extn_value.as_bytes());
            match ok {
                Some(true) => {}
                // Malformed recognised extension.
                Some(false) => info.bad_extensions = true,
                // Unknown extension.
                None => info.bad_extensions |= ext.critical,
            }
        }

        if !info.subject.is_empty() {
            let keys = rdn_keys(&info.subject);
            info.directory_names.insert(0, keys);
        }
        for atv in info.subject.iter() {
            if atv.oid == OID_EMAIL_ADDRESS
                && let Some(s) = directory_string(&atv.value)
            {
                if is_mailbox(&s) {
                    info.emails.push(s);
                } else {
                    info.bad_names = true;
                }
            }
        }
        Ok(info)
    }

    /// Records one extension: `Some(true)` when understood, `Some(false)` when malformed,
    /// `None` when unknown.
    fn apply_extension(&mut self, oid: ObjectIdentifier, value: &[u8]) -> Option<bool> {
        Some(match oid {
            OID_BASIC_CONSTRAINTS => match BasicConstraints::from_der(value) {
                Ok(bc) => {
                    self.is_ca = bc.ca;
                    self.path_len = if bc.ca { bc.path_len_constraint } else { None };
                    true
                }
                Err(_) => false,
            },
            OID_KEY_USAGE => match BitString::from_der(value) {
                Ok(bits) => {
                    let mut flags = 0u16;
                    for (i, bit) in bits.bits().enumerate().take(16) {
                        if bit {
                            flags |= 1 << i;
                        }
                    }
                    self.key_usage = Some(flags);
                    true
                }
                Err(_) => false,
            },
            OID_EXT_KEY_USAGE => match ExtendedKeyUsage::from_der(value) {
                Ok(eku) => {
                    self.eku = Some(eku.0);
                    true
                }
                Err(_) => false,
            },
            OID_NAME_CONSTRAINTS => match NameConstraints::from_der(value) {
                Ok(nc) => {
                    self.name_constraints = Some(Constraints::new(&nc));
                    true
                }
                Err(_) => false,
            },
            OID_SUBJECT_ALT_NAME => match SubjectAltName::from_der(value) {
                Ok(san) => {
                    for gn in san.0 {
                        match gn {
                            GeneralName::Rfc822Name(s) => {
                                let s = s.to_string();
                                if is_mailbox(&s) {
                                    self.emails.push(s);
                                } else {
                                    self.bad_names = true;
                                }
                            }
                            GeneralName::DnsName(s) => self.dns_names.push(s.to_string()),
                            GeneralName::IpAddress(o) => {
                                self.ip_addresses.push(o.as_bytes().to_vec())
                            }
                            GeneralName::DirectoryName(n) => {
                                self.directory_names.push(rdn_keys(&n))
                            }
                            _ => {}
                        }
                    }
                    true
                }
                Err(_) => false,
            },
            OID_SUBJECT_KEY_IDENTIFIER => {
                // Lenient: a broken key identifier only loses a path-building hint.
                self.ski = OctetString::from_der(value).ok().map(|o| o.as_bytes().to_vec());
                true
            }
            OID_AUTHORITY_KEY_IDENTIFIER => {
                self.aki = AuthorityKeyIdentifier::from_der(value)
                    .ok()
                    .and_then(|a| a.key_identifier)
                    .map(|o| o.as_bytes().to_vec());
                true
            }
            OID_CRL_DISTRIBUTION_POINTS => {
                if let Ok(dps) = CrlDistributionPoints::from_der(value) {
                    self.crl_dps = Some(crate::revocation::cert_dps(&dps.0, &self.issuer));
                    for dp in dps.0 {
                        if let Some(DistributionPointName::FullName(names)) = dp.distribution_point
                        {
                            for n in names {
                                if let GeneralName::UniformResourceIdentifier(u) = n {
                                    self.crl_urls.push(u.to_string());
                                }
                            }
                        }
                    }
                }
                true
            }
            // Recognised, not enforced (no policy processing: S/MIME validation here runs
            // with any-policy and no explicit-policy requirement).
            OID_CERTIFICATE_POLICIES
            | OID_POLICY_MAPPINGS
            | OID_POLICY_CONSTRAINTS
            | OID_INHIBIT_ANY_POLICY
            | OID_AUTHORITY_INFO_ACCESS
            | OID_SUBJECT_INFO_ACCESS
            | OID_ISSUER_ALT_NAME
            | OID_FRESHEST_CRL
            | OID_SUBJECT_DIRECTORY_ATTRIBUTES
            | OID_PRIVATE_KEY_USAGE_PERIOD => true,
            _ => return None,
        })
    }

    pub(crate) fn tbs(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or(&[])
    }

    /// Whether basicConstraints says cA.
    pub(crate) fn is_ca(&self) -> bool {
        self.is_ca
    }

    fn self_issued(&self) -> bool {
        self.issuer_key == self.subject_key
    }

    /// RFC 5280 §6.1.4 (k), (n): a v3 certificate with basicConstraints cA and, when keyUsage
    /// is present, keyCertSign.
    fn can_sign_certificates(&self) -> bool {
        self.version == 2
            && self.is_ca
            && !self.bad_extensions
            && self.key_usage.is_none_or(|ku| ku & KU_KEY_CERT_SIGN != 0)
    }

    /// docs/SPEC.md §7.2: keyUsage digitalSignature (or nonRepudiation); extendedKeyUsage, when
    /// present, emailProtection (RFC 5750 §4.4.4) or anyExtendedKeyUsage.
    fn usable_for_email_signing(&self) -> bool {
        let ku =
            self.key_usage.is_none_or(|ku| ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION) != 0);
        let eku = self.eku.as_ref().is_none_or(|list| {
            list.iter().any(|o| *o == OID_KP_EMAIL_PROTECTION || *o == OID_ANY_EKU)
        });
        ku && eku
    }

    fn time_finding(&self, at: DateTime<Utc>) -> Option<Reason> {
        if at < self.not_before {
            Some(Reason::NotYetValid)
        } else if at > self.not_after {
            Some(Reason::Expired)
        } else {
            None
        }
    }

    /// 0 when `issuer`'s subject key identifier equals our authority key identifier, 1 when
    /// either is absent, 2 when they differ (tried last: identifiers are only hints).
    fn aki_rank(&self, issuer: &CertInfo) -> u8 {
        match (&self.aki, &issuer.ski) {
            (Some(a), Some(s)) if a == s => 0,
            (Some(_), Some(_)) => 2,
            _ => 1,
        }
    }

    fn summary(&self) -> SignerSummary {
        SignerSummary {
            subject: self.subject_text.clone(),
            issuer: format_name(&self.issuer),
            serial: serial_hex(&self.serial),
            sha1: crate::crypto::hex(&self.sha1),
            not_before: Some(self.not_before),
            not_after: Some(self.not_after),
            email: self.emails.first().cloned(),
            der: self.der.clone(),
        }
    }
}

/// Uppercase hex of a serial number, whole octets (as `openssl x509 -serial` prints it).
fn serial_hex(serial: &[u8]) -> String {
    if serial.is_empty() {
        return "00".to_owned();
    }
    crate::crypto::hex(serial).to_ascii_uppercase()
}

fn to_chrono(t: x509_cert::time::Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The weakness of a certificate signature algorithm (SHA-1 or MD5 based), if any.
fn signature_weakness(oid: &ObjectIdentifier) -> Option<Weakness> {
    match *oid {
        OID_SHA1_RSA | OID_SHA1_RSA_OIW | OID_ECDSA_SHA1 | OID_DSA_SHA1 => {
            Some(Weakness::Sha1Certificate)
        }
        OID_MD5_RSA => Some(Weakness::Md5Certificate),
        _ => None,
    }
}

/// The size in bits of the modulus of a DER `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
pub(crate) fn rsa_modulus_bits(rsa_public_key: &[u8]) -> Option<usize> {
    let (tag, header, _) = der_tlv(rsa_public_key)?;
    if tag != 0x30 {
        return None;
    }
    let inner = rsa_public_key.get(header..)?;
    let (tag, header, total) = der_tlv(inner)?;
    if tag != 0x02 {
        return None;
    }
    let n = inner.get(header..total)?;
    let start = n.iter().position(|&b| b != 0)?;
    let first = *n.get(start)?;
    Some((n.len() - start - 1) * 8 + (8 - first.leading_zeros() as usize))
}

fn bad_cert(msg: &str) -> Error {
    Error::Certificate(CertificateError::BadCertificate(msg.to_owned()))
}

pub(crate) fn sha256_of(data: &[u8]) -> [u8; 32] {
    let d = DigestAlgorithm::Sha256.digest(data);
    let mut out = [0u8; 32];
    if d.len() == 32 {
        out.copy_from_slice(&d);
    }
    out
}

fn sha1_of(data: &[u8]) -> [u8; 20] {
    let d = DigestAlgorithm::Sha1.digest(data);
    let mut out = [0u8; 20];
    if d.len() == 20 {
        out.copy_from_slice(&d);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// DER and PEM framing
// ---------------------------------------------------------------------------------------------

/// One DER TLV at the start of `input`: (tag byte, header length, total length). Definite
/// lengths of up to four octets; low tag numbers only.
pub(crate) fn der_tlv(input: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *input.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *input.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i)?);
        }
        (len, 2 + n)
    };
    let total = header.checked_add(len)?;
    (total <= input.len()).then_some((tag, header, total))
}

/// The byte range of the first element (tbsCertificate / tbsCertList) of a signed SEQUENCE:
/// the signature is verified over these bytes as they arrived, never over a re-encoding.
pub(crate) fn raw_tbs(der: &[u8]) -> Option<Range<usize>> {
    let (tag, header, total) = der_tlv(der)?;
    if tag != 0x30 || total != der.len() {
        return None;
    }
    let (tag, _, inner) = der_tlv(der.get(header..)?)?;
    (tag == 0x30).then_some(header..header + inner)
}

/// DER blobs of the PEM blocks labelled `label_ok` in `input`.
pub(crate) fn pem_blocks(input: &[u8], label_ok: &dyn Fn(&str) -> bool) -> Result<Vec<Vec<u8>>> {
    const BEGIN: &[u8] = b"-----BEGIN ";
    let mut out = Vec::new();
    let mut rest = input;
    while let Some(pos) = find(rest, BEGIN) {
        let after = rest.get(pos + BEGIN.len()..).unwrap_or(&[]);
        let label_end = find(after, b"-----").ok_or_else(|| bad_pem("unterminated BEGIN line"))?;
        let label = std::str::from_utf8(after.get(..label_end).unwrap_or(&[]))
            .map_err(|_| bad_pem("label is not text"))?
            .to_owned();
        let body = after.get(label_end + 5..).unwrap_or(&[]);
        let end_marker = format!("-----END {label}-----");
        let end = find(body, end_marker.as_bytes()).ok_or_else(|| bad_pem("missing END line"))?;
        if !label_ok(&label) {
            return Err(bad_pem(&format!("unexpected PEM block {label:?}")));
        }
        let text = body.get(..end).unwrap_or(&[]);
        // Skip RFC 1421 headers ("Proc-Type: ..."), if any: they end with an empty line.
        let text = match (find(text, b":"), find(text, b"\n\n"), find(text, b"\r\n\r\n")) {
            (Some(_), Some(p), _) => text.get(p + 2..).unwrap_or(&[]),
            (Some(_), None, Some(p)) => text.get(p + 4..).unwrap_or(&[]),
            _ => text,
        };
        let b64: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .map_err(|_| bad_pem("bad base64"))?;
        out.push(der);
        rest = body.get(end + end_marker.len()..).unwrap_or(&[]);
    }
    Ok(out)
}

fn bad_pem(msg: &str) -> Error {
    Error::Certificate(CertificateError::BadCertificate(format!("PEM: {msg}")))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    crate::mime::find(hay, needle)
}

fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>> {
    let blocks = pem_blocks(pem, &|l| {
        matches!(l, "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE")
    })?;
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        // A TRUSTED CERTIFICATE is the certificate followed by OpenSSL trust settings.
        match der_tlv(&b) {
            Some((0x30, _, total)) if total == b.len() => out.push(b),
            Some((0x30, _, total)) => out.push(b.get(..total).unwrap_or(&[]).to_vec()),
            _ => return Err(bad_cert("PEM block is not a DER certificate")),
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// A DirectoryString (or IA5/Printable...) attribute value as text.
pub(crate) fn directory_string(value: &der::asn1::Any) -> Option<String> {
    let bytes = value.value();
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::VisibleString
        | Tag::NumericString => std::str::from_utf8(bytes).ok().map(str::to_owned),
        // T.61 in theory, Latin-1 in practice.
        Tag::TeletexString => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            if !bytes.len().is_multiple_of(2) {
                return None;
            }
            let units: Vec<u16> =
                bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// RFC 5280 §7.1-style comparison key of a name: attribute values case-folded with
/// whitespace trimmed and collapsed, RDN members sorted, non-string values as DER hex.
pub(crate) fn name_key(name: &Name) -> String {
    let mut key = String::new();
    for rdn in name.iter_rdn() {
        key.push_str(&rdn_key(rdn));
    }
    key
}

/// The [`name_key`] segment of one RDN: appending it to a name's key gives the key of that
/// name extended by the RDN (a `nameRelativeToCRLIssuer`, RFC 5280 §4.2.1.13).
pub(crate) fn rdn_key(rdn: &x509_cert::name::RelativeDistinguishedName) -> String {
    let mut members: Vec<String> = rdn.iter().map(atv_key).collect();
    members.sort();
    let mut key = String::from("{");
    for m in members {
        key.push_str(&m);
    }
    key.push('}');
    key
}

fn atv_key(atv: &x509_cert::attr::AttributeTypeAndValue) -> String {
    let value = match directory_string(&atv.value) {
        Some(s) => fold(&s),
        None => format!("#{}", crate::crypto::hex(&atv.value.to_der().unwrap_or_default())),
    };
    // Length-prefixed: no value can fake a separator.
    format!("{}:{}:{}", atv.oid, value.len(), value)
}

/// Case folding and whitespace collapsing (RFC 4518 insignificant space handling, simplified).
fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

const SHORT_NAMES: &[(ObjectIdentifier, &str)] = &[
    (ObjectIdentifier::new_unwrap("2.5.4.3"), "CN"),
    (ObjectIdentifier::new_unwrap("2.5.4.4"), "SN"),
    (ObjectIdentifier::new_unwrap("2.5.4.5"), "serialNumber"),
    (ObjectIdentifier::new_unwrap("2.5.4.6"), "C"),
    (ObjectIdentifier::new_unwrap("2.5.4.7"), "L"),
    (ObjectIdentifier::new_unwrap("2.5.4.8"), "ST"),
    (ObjectIdentifier::new_unwrap("2.5.4.9"), "STREET"),
    (ObjectIdentifier::new_unwrap("2.5.4.10"), "O"),
    (ObjectIdentifier::new_unwrap("2.5.4.11"), "OU"),
    (ObjectIdentifier::new_unwrap("2.5.4.12"), "title"),
    (ObjectIdentifier::new_unwrap("2.5.4.17"), "postalCode"),
    (ObjectIdentifier::new_unwrap("2.5.4.42"), "GN"),
    (ObjectIdentifier::new_unwrap("2.5.4.43"), "initials"),
    (ObjectIdentifier::new_unwrap("2.5.4.46"), "dnQualifier"),
    (ObjectIdentifier::new_unwrap("2.5.4.65"), "pseudonym"),
    (ObjectIdentifier::new_unwrap("2.5.4.97"), "organizationIdentifier"),
    (ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.1"), "UID"),
    (ObjectIdentifier::new_unwrap("0.9.2342.19200300.100.1.25"), "DC"),
    (OID_EMAIL_ADDRESS, "emailAddress"),
];

/// RFC 4514 string of a name, most specific RDN first, RDNs separated by `", "`.
pub fn format_name(name: &Name) -> String {
    let mut out = String::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match SHORT_NAMES.iter().find(|(o, _)| *o == atv.oid) {
                Some((_, short)) => out.push_str(short),
                None => {
                    let _ = write!(out, "{}", atv.oid);
                }
            }
            out.push('=');
            match directory_string(&atv.value) {
                Some(s) => escape_rfc4514(&s, &mut out),
                None => {
                    out.push('#');
                    out.push_str(&crate::crypto::hex(&atv.value.to_der().unwrap_or_default()));
                }
            }
        }
    }
    out
}

fn escape_rfc4514(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\0'..='\x1f' | '\x7f' => {
                let _ = write!(out, "\\{:02X}", c as u32);
            }
            _ => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Name constraints (RFC 5280 §4.2.1.10)
// ---------------------------------------------------------------------------------------------

/// One RDN as sorted comparison keys of its members.
type RdnKey = Vec<String>;

fn rdn_keys(name: &Name) -> Vec<RdnKey> {
    name.iter_rdn()
        .map(|rdn| {
            let mut v: Vec<String> = rdn.iter().map(atv_key).collect();
            v.sort();
            v
        })
        .collect()
}

/// One subtree base of a nameConstraints extension, prepared for matching.
#[derive(Clone, Debug)]
enum Subtree {
    Email(String),
    Dns(String),
    Ip(Vec<u8>),
    Directory(Vec<RdnKey>),
    /// A name form this module does not match (URI, otherName...): no name of ours has it.
    Other,
}

/// A nameConstraints extension (RFC 5280 §4.2.1.10), prepared once.
#[derive(Clone, Debug, Default)]
struct Constraints {
    permitted: Vec<Subtree>,
    excluded: Vec<Subtree>,
}

impl Constraints {
    fn new(nc: &NameConstraints) -> Constraints {
        let prep = |list: &Option<Vec<x509_cert::ext::pkix::constraints::name::GeneralSubtree>>| {
            list.as_deref()
                .unwrap_or(&[])
                .iter()
                .map(|s| match &s.base {
                    GeneralName::Rfc822Name(c) => Subtree::Email(c.to_string()),
                    GeneralName::DnsName(c) => Subtree::Dns(c.to_string()),
                    GeneralName::IpAddress(c) => Subtree::Ip(c.as_bytes().to_vec()),
                    GeneralName::DirectoryName(c) => Subtree::Directory(rdn_keys(c)),
                    _ => Subtree::Other,
                })
                .collect()
        };
        Constraints {
            permitted: prep(&nc.permitted_subtrees),
            excluded: prep(&nc.excluded_subtrees),
        }
    }

    /// Whether the names of `cert` satisfy the constraints: every name of a form with
    /// permitted subtrees matches one of them, and no name matches an excluded subtree.
    fn allow(&self, cert: &CertInfo) -> bool {
        let names = cert
            .emails
            .iter()
            .map(|e| Candidate::Email(e))
            .chain(cert.dns_names.iter().map(|d| Candidate::Dns(d)))
            .chain(cert.ip_addresses.iter().map(|i| Candidate::Ip(i)))
            .chain(cert.directory_names.iter().map(|d| Candidate::Directory(d)));
        for name in names {
            let mut of_kind = self.permitted.iter().filter(|s| name.same_kind(s)).peekable();
            if of_kind.peek().is_some() && !of_kind.any(|s| name.matches(s)) {
                return false;
            }
            if self.excluded.iter().any(|s| name.same_kind(s) && name.matches(s)) {
                return false;
            }
        }
        true
    }
}

/// A name of a certificate subject to name constraints.
enum Candidate<'a> {
    Email(&'a str),
    Dns(&'a str),
    Ip(&'a [u8]),
    Directory(&'a [RdnKey]),
}

impl Candidate<'_> {
    fn same_kind(&self, s: &Subtree) -> bool {
        matches!(
            (self, s),
            (Candidate::Email(_), Subtree::Email(_))
                | (Candidate::Dns(_), Subtree::Dns(_))
                | (Candidate::Ip(_), Subtree::Ip(_))
                | (Candidate::Directory(_), Subtree::Directory(_))
        )
    }

    fn matches(&self, s: &Subtree) -> bool {
        match (self, s) {
            (Candidate::Email(e), Subtree::Email(c)) => email_matches(c, e),
            (Candidate::Dns(d), Subtree::Dns(c)) => dns_matches(c, d),
            (Candidate::Ip(i), Subtree::Ip(c)) => ip_matches(c, i),
            // directoryName: the constraint's RDNs are the first RDNs of the name.
            (Candidate::Directory(n), Subtree::Directory(c)) => {
                c.len() <= n.len() && c.iter().zip(n.iter()).all(|(a, b)| a == b)
            }
            _ => false,
        }
    }
}

/// Whether `s` is a mailbox as an rfc822Name must be (RFC 5280 §4.2.1.6, RFC 5321 §4.1.2
/// `Mailbox`): exactly one `@`, a Dot-string local part of at most 64 octets, a domain of
/// letter-digit-hyphen labels (each 1-63 octets, no leading or trailing hyphen) of at most
/// 255 octets. Quoted local parts and address literals are refused: a certificate's mailbox
/// never needs them, and a quoted `@` would let a name carry a second domain.
pub(crate) fn is_mailbox(s: &str) -> bool {
    const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    let Some((local, domain)) = s.split_once('@') else { return false };
    let atom_ok = |a: &[u8]| {
        !a.is_empty() && a.iter().all(|b| b.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(b))
    };
    let label_ok = |l: &[u8]| {
        (1..=63).contains(&l.len())
            && l.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && l.first() != Some(&b'-')
            && l.last() != Some(&b'-')
    };
    (1..=64).contains(&local.len())
        && local.as_bytes().split(|&b| b == b'.').all(atom_ok)
        && (1..=255).contains(&domain.len())
        && domain.as_bytes().split(|&b| b == b'.').all(label_ok)
}

/// rfc822Name constraint semantics: `local@host` = that mailbox, `.domain` = any mailbox at
/// a host under the domain, `host` = any mailbox at that host. Hosts compare case-insensitively.
fn email_matches(constraint: &str, email: &str) -> bool {
    let Some((local, host)) = email.rsplit_once('@') else { return false };
    if local.is_empty() || host.is_empty() {
        return false;
    }
    if let Some((c_local, c_host)) = constraint.rsplit_once('@') {
        return c_local == local && c_host.eq_ignore_ascii_case(host);
    }
    if constraint.starts_with('.') {
        return host.len() > constraint.len() && ends_with_ignore_case(host, constraint);
    }
    host.eq_ignore_ascii_case(constraint)
}

/// dNSName constraint: the name itself or any name with more labels on the left.
fn dns_matches(constraint: &str, name: &str) -> bool {
    let name = name.trim_end_matches('.');
    let constraint = constraint.trim_end_matches('.');
    if constraint.is_empty() {
        return true;
    }
    if let Some(suffix) = constraint.strip_prefix('.') {
        return name.len() > suffix.len() + 1 && ends_with_ignore_case(name, constraint);
    }
    name.eq_ignore_ascii_case(constraint)
        || (name.len() > constraint.len()
            && ends_with_ignore_case(name, constraint)
            && name.as_bytes().get(name.len() - constraint.len() - 1) == Some(&b'.'))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()
            .get(s.len() - suffix.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix.as_bytes()))
}

/// iPAddress constraint: address and mask of the same family (8 or 32 octets).
fn ip_matches(constraint: &[u8], ip: &[u8]) -> bool {
    if constraint.len() != ip.len() * 2 {
        return false;
    }
    let (addr, mask) = constraint.split_at(ip.len());
    ip.iter().zip(addr).zip(mask).all(|((i, a), m)| i & m == a & m)
}

// ---------------------------------------------------------------------------------------------
// Object identifiers
// ---------------------------------------------------------------------------------------------

const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_SHA1_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const OID_MD5_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.4");
/// `sha-1WithRSAEncryption` (OIW), still seen in old certificates.
const OID_SHA1_RSA_OIW: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.29");
const OID_ECDSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
const OID_DSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10040.4.3");
const OID_SHA256_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_SHA384_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_SHA512_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
const OID_EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
const OID_SUBJECT_DIRECTORY_ATTRIBUTES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.9");
const OID_SUBJECT_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const OID_PRIVATE_KEY_USAGE_PERIOD: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.16");
const OID_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const OID_ISSUER_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.18");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_NAME_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.30");
const OID_CRL_DISTRIBUTION_POINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
const OID_CERTIFICATE_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
const OID_POLICY_MAPPINGS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.33");
const OID_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_POLICY_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.36");
const OID_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_FRESHEST_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.46");
const OID_INHIBIT_ANY_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.54");
const OID_AUTHORITY_INFO_ACCESS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
const OID_SUBJECT_INFO_ACCESS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.11");
const OID_KP_EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
const OID_ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc822_constraints() {
        assert!(email_matches("pec.example.it", "a@pec.example.it"));
        assert!(email_matches("pec.example.it", "a@PEC.Example.IT"));
        assert!(!email_matches("pec.example.it", "a@x.pec.example.it"));
        assert!(email_matches(".pec.example.it", "a@x.pec.example.it"));
        assert!(!email_matches(".pec.example.it", "a@pec.example.it"));
        assert!(!email_matches(".pec.example.it", "a@xpec.example.it"));
        assert!(email_matches("a@pec.example.it", "a@pec.example.it"));
        assert!(!email_matches("a@pec.example.it", "b@pec.example.it"));
        assert!(!email_matches("pec.example.it", "pec.example.it"));
        assert!(!email_matches("example.it", "a@evilexample.it"));
    }

    #[test]
    fn mailboxes() {
        for ok in [
            "posta-certificata@pec.example.it",
            "a.b+c@x-y.example.it",
            "o'neil@localhost",
            "A!#$%&'*+-/=?^_`{|}~@EXAMPLE.IT",
        ] {
            assert!(is_mailbox(ok), "{ok}");
        }
        let long_local = format!("{}@example.it", "a".repeat(65));
        let long_label = format!("a@{}.it", "b".repeat(64));
        for bad in [
            "ceo@evil.example.com@pec.example.it",
            "pec.example.it",
            "@pec.example.it",
            "a@",
            "a..b@example.it",
            ".a@example.it",
            "a.@example.it",
            "\"a@b\"@example.it",
            "a b@example.it",
            "a@example..it",
            "a@example.it.",
            "a@-example.it",
            "a@example-.it",
            "a@[192.0.2.1]",
            "a@exa_mple.it",
            "\u{e0}@example.it",
            long_local.as_str(),
            long_label.as_str(),
        ] {
            assert!(!is_mailbox(bad), "{bad}");
        }
    }

    #[test]
    fn rsa_modulus_sizes() {
        // SEQUENCE { INTEGER 0x00 0x80 ..., INTEGER 3 }: 1024 bits (leading zero octet)
        let mut n = vec![0x00, 0x80];
        n.extend([0u8; 127]);
        let mut key = vec![0x30, 0x81, 0x87, 0x02, 0x81, 0x81];
        key.extend(&n);
        key.extend([0x02, 0x01, 0x03]);
        assert_eq!(rsa_modulus_bits(&key), Some(1024));
        key[7] = 0x01; // top octet 0x01: 1017 bits
        assert_eq!(rsa_modulus_bits(&key), Some(1017));
        assert_eq!(rsa_modulus_bits(&[0x30, 0x00]), None);
        assert_eq!(rsa_modulus_bits(&[0x04, 0x00]), None);
    }

    #[test]
    fn dns_and_ip_constraints() {
        assert!(dns_matches("example.it", "example.it"));
        assert!(dns_matches("example.it", "a.example.it"));
        assert!(!dns_matches("example.it", "aexample.it"));
        assert!(dns_matches("", "anything"));
        assert!(ip_matches(&[10, 0, 0, 0, 255, 0, 0, 0], &[10, 1, 2, 3]));
        assert!(!ip_matches(&[10, 0, 0, 0, 255, 0, 0, 0], &[11, 1, 2, 3]));
        assert!(ip_matches(&[0; 8], &[11, 1, 2, 3]));
    }

    #[test]
    fn tlv_bounds() {
        assert_eq!(der_tlv(&[0x30, 0x00]), Some((0x30, 2, 2)));
        assert_eq!(der_tlv(&[0x30, 0x81]), None);
        assert_eq!(der_tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(der_tlv(&[0x30, 0x82, 0xff, 0xff]), None);
        assert_eq!(raw_tbs(&[0x30, 0x02, 0x30, 0x00]), Some(2..4));
        assert!(parse_certificates(b"-----BEGIN CERTIFICATE-----\nAAAA").is_err());
        assert!(
            parse_certificates(b"-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n")
                .is_err()
        );
        assert_eq!(serial_hex(&[0x0b, 0xe0]), "0BE0");
        assert_eq!(serial_hex(&[]), "00");
    }
}
