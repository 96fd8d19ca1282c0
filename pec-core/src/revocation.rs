//! Certificate revocation lists: loading (PEM or DER), checking (signature, issuer, scope,
//! dates), a cache, and a pluggable fetcher for CRL distribution points (offline by default).
//!
//! docs/SPEC.md §7.3 step 3: "check revocation (CRL; if cached, refresh often enough to track CA
//! publication)". The rules are those of RFC 5280 §6.3 for complete, direct CRLs:
//!
//! * **Usable.** The CRL's issuer name matches the certificate's issuer, its signature verifies
//!   with the issuer's key (which, when it has keyUsage, must allow `cRLSign`), and it has a
//!   `nextUpdate` (RFC 5280 §5.1.2.5: a CRL without one says nothing about freshness, so it is
//!   never usable). Delta CRLs, indirect CRLs (RFC 5280 §5.2.5 `indirectCRL`, or a
//!   distribution point of the certificate naming another `cRLIssuer`), attribute-certificate
//!   CRLs and CRLs with an unknown critical extension are never usable: the status is then
//!   `unknown`, never `good`.
//! * **Scope** (RFC 5280 §5.2.5, §6.3.3 (b), (d)). A CRL with an issuingDistributionPoint
//!   covers a certificate only when one of its distribution point names matches one of the
//!   certificate's CRLDistributionPoints names (a `nameRelativeToCRLIssuer` is resolved
//!   against the CRL issuer; a certificate without the extension has the implied point named
//!   by its issuer), `onlyContainsUserCerts` / `onlyContainsCACerts` agree with the
//!   certificate's basicConstraints, and its `onlySomeReasons` meet the point's reasons. A CRL
//!   that does not cover the certificate is ignored. `good` needs usable CRLs whose reasons
//!   together cover every reason; a CRL partitioned by reason only answers for its reasons.
//! * **Time.** Evaluated at an instant `at`: a CRL is evidence about `at` when `at ≤
//!   nextUpdate`, whether it was current at `at` or issued later (a CRL issued after the
//!   signature still says whether the certificate had been revoked before it). A CRL whose
//!   `nextUpdate` passed before `at` is stale and ignored. A listed certificate is revoked at
//!   `at` when its `revocationDate`, or its `invalidityDate` entry extension when earlier, is at
//!   or before `at`. When `at` is the signer's own signingTime claim (RFC 5652 §11.3: the
//!   signer chose it), an entry whose reason is keyCompromise, cACompromise, aACompromise,
//!   unspecified or absent revokes whatever its dates: whoever holds a compromised key can
//!   also backdate the claim. A time given by the caller is trusted and compared as it is.
//!
//! CRLs fetched from distribution points are cached by (issuer, distribution point): a CRL
//! fetched for one partition is never taken as the answer for another.
//!
//! With the cargo feature `crl-http`, [`HttpCrlFetcher`] fetches `http://` distribution
//! points with a small blocking HTTP/1.1 client (no extra dependency).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use der::Decode;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::IssuingDistributionPoint;

use crate::error::{CertificateError, Error, Result};
use crate::x509::cache::SignatureCache;
use crate::x509::cert::{CertInfo, KU_CRL_SIGN, SigAlg, sha256_of, to_chrono};
use crate::x509::der::raw_tbs;
use crate::x509::dp::{ALL_REASONS, CertDp, DpName, MAX_DPS};
use crate::x509::name::name_key;
use crate::x509::oid;
use crate::x509::pem::{Headers, pem_blocks};

/// Fetches a CRL from a distribution point URL. Offline by default: no fetcher is set.
pub trait CrlFetcher: Send + Sync {
    /// Returns the CRL bytes (PEM or DER) at `url`.
    ///
    /// # Errors
    /// Any transport failure.
    fn fetch(&self, url: &str) -> Result<Vec<u8>>;
}

/// The same distribution point is not fetched again within this interval.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);
/// Distribution points remembered by the fetch cache.
const MAX_FETCHED_URLS: usize = 1024;
/// Distribution points tried per certificate.
const MAX_URLS_PER_CERT: usize = 4;
/// CRL signature verdicts remembered.
const SIGNATURE_CACHE_SIZE: usize = 4096;

/// The (issuer name key, distribution point URL) a fetched CRL is cached under.
type FetchKey = (String, String);

/// A set of CRLs, parsed once and shared (read-only on the verification path).
///
/// CRLs fetched from distribution points and verified CRL signatures are cached inside the
/// store (shared by clones, `Send + Sync`).
#[derive(Clone, Default)]
pub struct CrlStore {
    crls: Vec<Arc<CrlInfo>>,
    by_issuer: HashMap<String, Vec<usize>>,
    fetcher: Option<Arc<dyn CrlFetcher>>,
    state: Arc<CrlState>,
}

impl std::fmt::Debug for CrlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlStore")
            .field("crls", &self.crls.len())
            .field("fetched", &self.fetched_count())
            .field("fetcher", &self.fetcher.is_some())
            .finish()
    }
}

impl CrlStore {
    /// An empty store.
    pub fn new() -> Self {
        CrlStore::default()
    }

    /// Adds the CRLs of a PEM or DER file's contents; returns how many were added.
    ///
    /// PEM input may hold several `X509 CRL` blocks; DER input is one CRL.
    ///
    /// # Errors
    /// Bytes that are not a CRL (nothing is added then).
    pub fn add(&mut self, bytes: &[u8]) -> Result<usize> {
        let parsed = parse_crls(bytes)?;
        let n = parsed.len();
        for crl in parsed {
            let idx = self.crls.len();
            self.by_issuer.entry(crl.issuer_key.clone()).or_default().push(idx);
            self.crls.push(Arc::new(crl));
        }
        Ok(n)
    }

    /// Sets the fetcher used for distribution points when no cached CRL covers an issuer.
    pub fn set_fetcher(&mut self, fetcher: Arc<dyn CrlFetcher>) {
        self.fetcher = Some(fetcher);
    }

    /// Number of CRLs held (added and fetched).
    pub fn len(&self) -> usize {
        self.crls.len() + self.fetched_count()
    }

    /// Whether the store holds no CRL.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a fetcher is set.
    pub fn has_fetcher(&self) -> bool {
        self.fetcher.is_some()
    }

    /// Whether any added CRL lists `serial` (big-endian bytes), without any issuer, signature
    /// or date check: a diagnostic helper.
    pub fn lists_serial(&self, serial: &[u8]) -> bool {
        let serial = strip_zeros(serial);
        self.crls.iter().any(|c| c.revoked.contains_key(serial))
    }

    fn fetched_count(&self) -> usize {
        self.state.fetched.read().map(|m| m.values().map(Vec::len).sum()).unwrap_or(0)
    }

    /// The revocation verdict for `cert` issued by `issuer` at `at` (RFC 5280 §6.3); `claimed`
    /// when `at` is the signer's own signingTime claim (see the module documentation).
    pub(crate) fn check(
        &self,
        cert: &CertInfo,
        issuer: &CertInfo,
        at: DateTime<Utc>,
        claimed: bool,
    ) -> CrlVerdict {
        // Reasons covered so far by usable CRLs that do not list the certificate.
        let mut covered = 0u16;
        let local = self
            .by_issuer
            .get(&cert.issuer_key)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.crls.get(i).cloned());
        let keys: Vec<FetchKey> = cert
            .crl_urls
            .iter()
            .take(MAX_DPS)
            .map(|u| (cert.issuer_key.clone(), u.clone()))
            .collect();
        let fetched: Vec<Arc<CrlInfo>> = self
            .state
            .fetched
            .read()
            .map(|m| keys.iter().filter_map(|k| m.get(k)).flatten().cloned().collect())
            .unwrap_or_default();
        for crl in local.chain(fetched) {
            match self.judge(&crl, cert, issuer, at, claimed) {
                Some((true, _)) => return CrlVerdict::Revoked,
                Some((false, reasons)) => covered |= reasons,
                None => {}
            }
        }
        if covered == ALL_REASONS {
            return CrlVerdict::Good;
        }
        let Some(fetcher) = &self.fetcher else { return CrlVerdict::Unknown };
        let urls = keys
            .into_iter()
            .filter(|(_, u)| u.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")))
            .take(MAX_URLS_PER_CERT);
        for key in urls {
            if !self.state.may_fetch(&key) {
                continue;
            }
            let Ok(bytes) = fetcher.fetch(&key.1) else { continue };
            let Ok(parsed) = parse_crls(&bytes) else { continue };
            let parsed: Vec<Arc<CrlInfo>> = parsed
                .into_iter()
                .filter(|c| c.issuer_key == cert.issuer_key)
                .map(Arc::new)
                .collect();
            if let Ok(mut map) = self.state.fetched.write() {
                if map.len() >= MAX_FETCHED_URLS {
                    map.clear();
                }
                map.insert(key, parsed.clone());
            }
            for crl in &parsed {
                match self.judge(crl, cert, issuer, at, claimed) {
                    Some((true, _)) => return CrlVerdict::Revoked,
                    Some((false, reasons)) => covered |= reasons,
                    None => {}
                }
            }
            if covered == ALL_REASONS {
                return CrlVerdict::Good;
            }
        }
        CrlVerdict::Unknown
    }

    /// `None` when `crl` is not usable for `cert` at `at`, else whether it revokes `cert` at
    /// `at` and the reasons it answers for.
    fn judge(
        &self,
        crl: &CrlInfo,
        cert: &CertInfo,
        issuer: &CertInfo,
        at: DateTime<Utc>,
        claimed: bool,
    ) -> Option<(bool, u16)> {
        if !crl.usable || crl.issuer_key != issuer.subject_key {
            return None;
        }
        // RFC 5280 §5.1.2.5: no nextUpdate, no freshness: unusable. A CRL issued after `at`
        // is still evidence about `at`; one that went stale before `at` is not.
        let next_update = crl.next_update?;
        if at > next_update {
            return None;
        }
        let reasons = scope(crl, cert)?;
        if issuer.key_usage.is_some_and(|ku| ku & KU_CRL_SIGN == 0) {
            return None;
        }
        if let (Some(a), Some(s)) = (&crl.aki, &issuer.ski)
            && a != s
        {
            return None;
        }
        if !self.signature_ok(crl, issuer) {
            return None;
        }
        let entry = crl.revoked.get(strip_zeros(&cert.serial));
        Some((entry.is_some_and(|e| e.revokes_at(at, claimed)), reasons))
    }

    fn signature_ok(&self, crl: &CrlInfo, issuer: &CertInfo) -> bool {
        self.state.signatures.verdict(&issuer.sha256, &crl.sha256, || {
            let tbs = crl.der.get(crl.tbs.clone()).unwrap_or(&[]);
            issuer.key.verify(crl.sig_alg, tbs, &crl.signature)
        })
    }
}

/// The revocation verdict for one certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrlVerdict {
    /// A usable CRL of the issuer does not list it.
    Good,
    /// A usable CRL of the issuer lists it.
    Revoked,
    /// No usable CRL.
    Unknown,
}

/// Caches shared by clones of a [`CrlStore`].
#[derive(Debug, Default)]
struct CrlState {
    /// (issuer, distribution point URL) → CRLs of that issuer fetched from it.
    fetched: RwLock<HashMap<FetchKey, Vec<Arc<CrlInfo>>>>,
    /// (issuer, distribution point URL) → last fetch attempt.
    attempts: Mutex<HashMap<FetchKey, Instant>>,
    /// (issuer certificate, CRL) → signature verified.
    signatures: SignatureCache<SIGNATURE_CACHE_SIZE>,
}

impl CrlState {
    fn may_fetch(&self, key: &FetchKey) -> bool {
        let Ok(mut attempts) = self.attempts.lock() else { return false };
        let now = Instant::now();
        if let Some(last) = attempts.get(key)
            && now.duration_since(*last) < REFETCH_INTERVAL
        {
            return false;
        }
        if attempts.len() >= MAX_FETCHED_URLS {
            attempts.retain(|_, t| now.duration_since(*t) < REFETCH_INTERVAL);
        }
        attempts.insert(key.clone(), now);
        true
    }
}

/// A CRL, parsed once.
#[derive(Debug)]
struct CrlInfo {
    der: Vec<u8>,
    sha256: [u8; 32],
    tbs: Range<usize>,
    issuer_key: String,
    next_update: Option<DateTime<Utc>>,
    /// Serial number (leading zeros stripped) → entry.
    revoked: HashMap<Vec<u8>, RevokedEntry>,
    sig_alg: Option<SigAlg>,
    signature: Vec<u8>,
    aki: Option<Vec<u8>>,
    /// Complete, direct, not a delta, no unknown critical extension.
    usable: bool,
    only_user_certs: bool,
    only_ca_certs: bool,
    /// The issuingDistributionPoint's names (a relative name resolved against the issuer).
    idp_names: Option<Vec<DpName>>,
    /// The issuingDistributionPoint's onlySomeReasons (every reason when absent).
    only_some_reasons: u16,
}

/// One entry of a CRL.
#[derive(Clone, Copy, Debug)]
struct RevokedEntry {
    /// revocationDate.
    date: DateTime<Utc>,
    /// The invalidityDate entry extension (RFC 5280 §5.3.2).
    invalidity: Option<DateTime<Utc>>,
    /// The CRLReason code (RFC 5280 §5.3.1), `None` when absent or unreadable.
    reason: Option<u8>,
}

impl RevokedEntry {
    /// Whether the entry revokes the certificate at `at` (`claimed`: `at` is the signer's
    /// own claim).
    fn revokes_at(&self, at: DateTime<Utc>, claimed: bool) -> bool {
        if claimed && self.compromise() {
            return true;
        }
        self.since() <= at
    }

    /// The earlier of revocationDate and invalidityDate.
    fn since(&self) -> DateTime<Utc> {
        self.invalidity.map_or(self.date, |i| i.min(self.date))
    }

    /// unspecified (0), keyCompromise (1), cACompromise (2), aACompromise (10) or no reason:
    /// the key may have been in someone else's hands, so any claim made with it is void.
    fn compromise(&self) -> bool {
        matches!(self.reason, None | Some(0 | 1 | 2 | 10))
    }

    /// Two entries for the same serial: the one that revokes more.
    fn merge(self, other: RevokedEntry) -> RevokedEntry {
        let (first, second) =
            if self.since() <= other.since() { (self, other) } else { (other, self) };
        if second.compromise() && !first.compromise() {
            RevokedEntry { reason: second.reason, ..first }
        } else {
            first
        }
    }
}

/// The reasons `crl` answers for about `cert`, `None` when it does not cover `cert`
/// (RFC 5280 §6.3.3 (b), (d); direct CRLs only).
fn scope(crl: &CrlInfo, cert: &CertInfo) -> Option<u16> {
    if (crl.only_user_certs && cert.is_ca()) || (crl.only_ca_certs && !cert.is_ca()) {
        return None;
    }
    // §6.3.3 (a): without the extension, one point with every reason, served by the issuer.
    let implied = [CertDp { names: None, reasons: ALL_REASONS, crl_issuer: None }];
    let dps: &[CertDp] = cert.crl_dps.as_deref().unwrap_or(&implied);
    let issuer = DpName::Directory(cert.issuer_key.clone());
    let mut reasons = 0u16;
    for dp in dps {
        // A point served by another CRL issuer needs an indirect CRL: not supported.
        if dp.crl_issuer.as_ref().is_some_and(|names| !names.contains(&issuer)) {
            continue;
        }
        if let Some(idp) = &crl.idp_names {
            let theirs: &[DpName] = match (&dp.names, &dp.crl_issuer) {
                (Some(names), _) => names,
                (None, Some(names)) => names,
                (None, None) => std::slice::from_ref(&issuer),
            };
            if !idp.iter().any(|n| theirs.contains(n)) {
                continue;
            }
        }
        reasons |= dp.reasons;
    }
    let reasons = reasons & crl.only_some_reasons;
    (reasons != 0).then_some(reasons)
}

fn parse_crls(bytes: &[u8]) -> Result<Vec<CrlInfo>> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![parse_crl(bytes.to_vec())?]);
    }
    let blocks = pem_blocks(bytes, Headers::Skip).map_err(|e| bad_crl(&format!("PEM: {e}")))?;
    if let Some(b) = blocks.iter().find(|b| b.label != "X509 CRL") {
        return Err(bad_crl(&format!("PEM: unexpected PEM block {:?}", b.label)));
    }
    if blocks.is_empty() {
        return Err(bad_crl("no CRL found"));
    }
    blocks.into_iter().map(|b| parse_crl(b.der)).collect()
}

fn parse_crl(der: Vec<u8>) -> Result<CrlInfo> {
    let tbs = raw_tbs(&der).ok_or_else(|| bad_crl("not a DER CRL"))?;
    let crl = CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&der)
        .map_err(|e| bad_crl(&e.to_string()))?;
    let list = &crl.tbs_cert_list;
    let sig_alg = if list.signature.oid == crl.signature_algorithm.oid {
        SigAlg::from_oid(&crl.signature_algorithm.oid)
    } else {
        None
    };
    let signature =
        crl.signature.as_bytes().ok_or_else(|| bad_crl("signature has unused bits"))?.to_vec();
    let mut info = CrlInfo {
        sha256: sha256_of(&der),
        tbs,
        issuer_key: name_key(&list.issuer),
        next_update: list.next_update.map(to_chrono),
        revoked: HashMap::new(),
        sig_alg,
        signature,
        aki: None,
        usable: true,
        only_user_certs: false,
        only_ca_certs: false,
        idp_names: None,
        only_some_reasons: ALL_REASONS,
        der: Vec::new(),
    };
    let issuer_key = info.issuer_key.clone();
    for ext in list.crl_extensions.as_deref().unwrap_or(&[]) {
        match ext.extn_id {
            oid::ID_CE_ISSUING_DISTRIBUTION_POINT => {
                match IssuingDistributionPoint::from_der(ext.extn_value.as_bytes()) {
                    Ok(idp) => {
                        info.only_user_certs = idp.only_contains_user_certs;
                        info.only_ca_certs = idp.only_contains_ca_certs;
                        info.idp_names = idp
                            .distribution_point
                            .as_ref()
                            .map(|d| DpName::full(d, Some(&issuer_key)));
                        if let Some(r) = idp.only_some_reasons {
                            info.only_some_reasons = r.bits() & ALL_REASONS;
                        }
                        // Indirect CRLs are not supported: `unknown` rather than a guess.
                        if idp.indirect_crl || idp.only_contains_attribute_certs {
                            info.usable = false;
                        }
                    }
                    Err(_) => info.usable = false,
                }
            }
            oid::ID_CE_DELTA_CRL_INDICATOR => info.usable = false,
            oid::ID_CE_AUTHORITY_KEY_IDENTIFIER => {
                info.aki = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(
                    ext.extn_value.as_bytes(),
                )
                .ok()
                .and_then(|a| a.key_identifier)
                .map(|o| o.as_bytes().to_vec());
            }
            oid::ID_CE_CRL_NUMBER | oid::ID_CE_FRESHEST_CRL | oid::ID_PE_AUTHORITY_INFO_ACCESS => {}
            _ => info.usable &= !ext.critical,
        }
    }
    for entry in list.revoked_certificates.as_deref().unwrap_or(&[]) {
        let mut e =
            RevokedEntry { date: to_chrono(entry.revocation_date), invalidity: None, reason: None };
        for ext in entry.crl_entry_extensions.as_deref().unwrap_or(&[]) {
            let value = ext.extn_value.as_bytes();
            match ext.extn_id {
                // ENUMERATED, one content octet; unreadable counts as absent.
                oid::ID_CE_CRL_REASONS => {
                    e.reason = match value {
                        [0x0a, 0x01, r] => Some(*r),
                        _ => None,
                    }
                }
                // Unreadable: the revocationDate alone decides.
                oid::ID_CE_INVALIDITY_DATE => {
                    e.invalidity = der::asn1::GeneralizedTime::from_der(value)
                        .ok()
                        .map(|t| to_chrono(x509_cert::time::Time::GeneralTime(t)));
                }
                oid::ID_CE_HOLD_INSTRUCTION_CODE => {}
                // certificateIssuer (indirect CRL) or unknown critical entry extension.
                _ => info.usable &= !ext.critical,
            }
        }
        // removeFromCRL (8) only appears in delta CRLs: such an entry revokes nothing.
        if e.reason == Some(8) {
            continue;
        }
        let serial = strip_zeros(entry.serial_number.as_bytes()).to_vec();
        let merged = match info.revoked.get(&serial) {
            Some(old) => old.merge(e),
            None => e,
        };
        info.revoked.insert(serial, merged);
    }
    info.der = der;
    Ok(info)
}

fn strip_zeros(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|&b| b != 0).unwrap_or(serial.len());
    serial.get(start..).unwrap_or(&[])
}

fn bad_crl(msg: &str) -> Error {
    Error::Certificate(CertificateError::BadCrl(msg.to_owned()))
}

#[cfg(feature = "crl-http")]
pub use http::HttpCrlFetcher;

#[cfg(feature = "crl-http")]
mod http {
    //! A tiny blocking HTTP/1.1 GET client for CRL distribution points.

    use std::io::{Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::{Duration, Instant};

    use super::CrlFetcher;
    use crate::error::{Error, Result};

    /// Fetches `http://` CRL distribution points over a plain TCP connection (cargo feature
    /// `crl-http`). Follows up to `max_redirects` redirects to `http://` URLs; refuses bodies
    /// larger than `max_size`; every connection attempt, read and write is bounded by
    /// `timeout`, and a whole fetch by four times `timeout`.
    #[derive(Clone, Debug)]
    pub struct HttpCrlFetcher {
        /// Connect/read/write timeout.
        pub timeout: Duration,
        /// Largest body accepted (bytes).
        pub max_size: usize,
        /// Redirects followed.
        pub max_redirects: u8,
    }

    impl Default for HttpCrlFetcher {
        fn default() -> Self {
            HttpCrlFetcher {
                timeout: Duration::from_secs(10),
                max_size: 10 * 1024 * 1024,
                max_redirects: 3,
            }
        }
    }

    impl HttpCrlFetcher {
        /// A fetcher with a 10 s timeout, a 10 MiB size cap and 3 redirects.
        pub fn new() -> Self {
            HttpCrlFetcher::default()
        }

        fn get(&self, url: &str) -> Result<Response> {
            let err = |m: &str| Error::Io { path: url.to_owned(), message: m.to_owned() };
            let (host, port, path) = parse_url(url).ok_or_else(|| err("unsupported URL"))?;
            let addrs = (host.as_str(), port)
                .to_socket_addrs()
                .map_err(|e| err(&format!("cannot resolve host: {e}")))?;
            let mut stream = None;
            let mut last = String::from("no address");
            for addr in addrs.take(8) {
                match TcpStream::connect_timeout(&addr, self.timeout) {
                    Ok(s) => {
                        stream = Some(s);
                        break;
                    }
                    Err(e) => last = e.to_string(),
                }
            }
            let mut stream = stream.ok_or_else(|| err(&format!("cannot connect: {last}")))?;
            let io = |e: std::io::Error| err(&e.to_string());
            stream.set_read_timeout(Some(self.timeout)).map_err(io)?;
            stream.set_write_timeout(Some(self.timeout)).map_err(io)?;
            let host_header = if port == 80 { host.clone() } else { format!("{host}:{port}") };
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: pec-core\r\n\
                 Accept: application/pkix-crl, */*\r\nConnection: close\r\n\r\n"
            );
            stream.write_all(request.as_bytes()).map_err(io)?;
            let deadline = Instant::now() + self.timeout.saturating_mul(4);
            let cap = self.max_size.saturating_add(64 * 1024);
            let mut buf = Vec::new();
            let mut chunk = [0u8; 16 * 1024];
            loop {
                if Instant::now() > deadline {
                    return Err(err("timed out"));
                }
                let n = stream.read(&mut chunk).map_err(io)?;
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                if buf.len() > cap {
                    return Err(err("response too large"));
                }
                if let Some(done) = complete(&buf)
                    && done
                {
                    break;
                }
            }
            parse_response(&buf, self.max_size).map_err(err)
        }
    }

    impl CrlFetcher for HttpCrlFetcher {
        fn fetch(&self, url: &str) -> Result<Vec<u8>> {
            let mut url = url.to_owned();
            for _ in 0..=self.max_redirects {
                match self.get(&url)? {
                    Response::Body(b) => return Ok(b),
                    Response::Redirect(to) => url = to,
                }
            }
            Err(Error::Io { path: url, message: "too many redirects".to_owned() })
        }
    }

    enum Response {
        Body(Vec<u8>),
        Redirect(String),
    }

    /// `http://host[:port][/path]` → (host, port, path). No user info, no fragments.
    fn parse_url(url: &str) -> Option<(String, u16, String)> {
        if url.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return None;
        }
        let scheme = url.get(..7)?;
        if !scheme.eq_ignore_ascii_case("http://") {
            return None;
        }
        let rest = url.get(7..)?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (rest.get(..i)?, rest.get(i..)?),
            None => (rest, "/"),
        };
        let path = path.split('#').next().unwrap_or("/");
        if authority.contains('@') || authority.is_empty() {
            return None;
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().ok()?,
                None if after.is_empty() => 80,
                None => return None,
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), p.parse().ok()?),
                None => (authority.to_owned(), 80),
            }
        };
        if host.is_empty() {
            return None;
        }
        Some((host, port, path.to_owned()))
    }

    fn header_end(buf: &[u8]) -> Option<usize> {
        buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
    }

    /// Whether the response in `buf` is complete (`None` while headers are incomplete).
    fn complete(buf: &[u8]) -> Option<bool> {
        let end = header_end(buf)?;
        let headers = std::str::from_utf8(buf.get(..end)?).ok()?;
        let body = buf.get(end..)?;
        if let Some(len) = header(headers, "content-length").and_then(|v| v.parse::<usize>().ok()) {
            return Some(body.len() >= len);
        }
        if header(headers, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            return Some(body.windows(5).any(|w| w == b"0\r\n\r\n"));
        }
        Some(false)
    }

    fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
        headers.split("\r\n").skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }

    fn parse_response(buf: &[u8], max_size: usize) -> std::result::Result<Response, &'static str> {
        let end = header_end(buf).ok_or("truncated HTTP response")?;
        let headers =
            std::str::from_utf8(buf.get(..end).unwrap_or(&[])).map_err(|_| "bad HTTP headers")?;
        let status_line = headers.split("\r\n").next().unwrap_or("");
        let mut parts = status_line.split_whitespace();
        if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
            return Err("not an HTTP/1.x response");
        }
        let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or("bad HTTP status")?;
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let to = header(headers, "location").ok_or("redirect without Location")?;
            if !to.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")) {
                return Err("redirect to a non-http URL");
            }
            return Ok(Response::Redirect(to.to_owned()));
        }
        if status != 200 {
            return Err("HTTP status is not 200");
        }
        let raw = buf.get(end..).unwrap_or(&[]);
        let body = if header(headers, "transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            dechunk(raw, max_size)?
        } else if let Some(len) =
            header(headers, "content-length").and_then(|v| v.parse::<usize>().ok())
        {
            raw.get(..len).ok_or("truncated HTTP body")?.to_vec()
        } else {
            raw.to_vec()
        };
        if body.len() > max_size {
            return Err("response too large");
        }
        Ok(Response::Body(body))
    }

    fn dechunk(mut raw: &[u8], max_size: usize) -> std::result::Result<Vec<u8>, &'static str> {
        let mut out = Vec::new();
        loop {
            let line_end =
                raw.windows(2).position(|w| w == b"\r\n").ok_or("truncated chunked body")?;
            let line = std::str::from_utf8(raw.get(..line_end).unwrap_or(&[]))
                .map_err(|_| "bad chunk size")?;
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
            raw = raw.get(line_end + 2..).ok_or("truncated chunked body")?;
            if size == 0 {
                return Ok(out);
            }
            if out.len().saturating_add(size) > max_size {
                return Err("response too large");
            }
            out.extend_from_slice(raw.get(..size).ok_or("truncated chunk")?);
            raw = raw.get(size + 2..).ok_or("truncated chunked body")?;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn urls() {
            assert_eq!(
                parse_url("http://crl.example.invalid/pec-ca.crl"),
                Some(("crl.example.invalid".into(), 80, "/pec-ca.crl".into()))
            );
            assert_eq!(parse_url("http://[::1]:8080"), Some(("::1".into(), 8080, "/".into())));
            assert_eq!(parse_url("https://x/"), None);
            assert_eq!(parse_url("http://u@x/"), None);
            assert_eq!(parse_url("http://x/a b"), None);
            assert_eq!(parse_url("http://x:99999/"), None);
        }

        #[test]
        fn chunked() {
            let body = dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", 100);
            assert_eq!(body, Ok(b"abcde".to_vec()));
            assert!(dechunk(b"3\r\nabc\r\n", 100).is_err());
            assert!(dechunk(b"ff\r\nabc", 100).is_err());
        }
    }
}
