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
//! With the cargo feature `crl-http`, [`HttpCrlFetcher`] fetches `http://` and `https://`
//! distribution points with ureq (blocking; TLS by rustls on aws-lc-rs; proxies from the
//! environment).

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
pub(crate) use http::agent as http_agent;

#[cfg(feature = "crl-http")]
mod http {
    //! CRL distribution points over HTTP and HTTPS, with ureq.

    use std::sync::{Arc, OnceLock};
    use std::time::Duration;

    use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};

    use super::CrlFetcher;
    use crate::error::{Error, Result};

    /// Fetches `http://` and `https://` CRL distribution points (cargo feature `crl-http`)
    /// with ureq: TLS by rustls on the aws-lc-rs provider (the crate's one crypto library),
    /// server certificates checked against the system bundle (`SSL_CERT_FILE`, else
    /// `/etc/ssl/certs/ca-certificates.crt` and the other usual places), else Mozilla's
    /// roots; a proxy from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`, upper or lower case; ureq 3 reaches every URL through an HTTP proxy with
    /// `CONNECT`, plain `http://` too, so a proxy that allows `CONNECT` only to port 443
    /// needs the CRL hosts in `NO_PROXY`); IPv6 literals as `http://[::1]:8080/x.crl`.
    ///
    /// Follows up to `max_redirects` redirects; refuses bodies larger than `max_size`; every
    /// connection attempt, read and write is bounded by `timeout`, and a whole fetch by four
    /// times `timeout`.
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

        fn agent(&self) -> ureq::Agent {
            agent(self.timeout, self.max_redirects, "application/pkix-crl, */*")
        }
    }

    /// The one HTTP(S) client configuration of the crate (CRL fetcher, RFC 3161 client): TLS
    /// by rustls on aws-lc-rs with the system roots, proxies from the environment, every
    /// connect, read and write bounded by `timeout` and the whole exchange by four times it.
    pub(crate) fn agent(timeout: Duration, max_redirects: u8, accept: &str) -> ureq::Agent {
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(roots())
            .unversioned_rustls_crypto_provider(Arc::new(
                rustls::crypto::aws_lc_rs::default_provider(),
            ))
            .build();
        ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(ureq::Proxy::try_from_env())
            .https_only(false)
            .http_status_as_error(false)
            .max_redirects(u32::from(max_redirects))
            .max_redirects_will_error(true)
            .user_agent("pec-core")
            .accept(accept)
            .timeout_global(Some(timeout.saturating_mul(4)))
            .timeout_connect(Some(timeout))
            .timeout_per_read(Some(timeout))
            .timeout_per_write(Some(timeout))
            .max_idle_connections(0)
            .build()
            .into()
    }

    impl CrlFetcher for HttpCrlFetcher {
        fn fetch(&self, url: &str) -> Result<Vec<u8>> {
            let err = |m: String| Error::Io { path: url.to_owned(), message: m };
            let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("http" | "https")) {
                return Err(err("unsupported URL".into()));
            }
            let mut response = self.agent().get(url).call().map_err(|e| err(e.to_string()))?;
            if response.status() != 200 {
                return Err(err(format!("HTTP status {} (not 200)", response.status())));
            }
            let limit = u64::try_from(self.max_size).unwrap_or(u64::MAX);
            response.body_mut().with_config().limit(limit).read_to_vec().map_err(|e| match e {
                ureq::Error::BodyExceedsLimit(_) => err("response too large".into()),
                e => err(e.to_string()),
            })
        }
    }

    /// The trust anchors for HTTPS, loaded once: the system bundle, else Mozilla's roots.
    fn roots() -> RootCerts {
        static ROOTS: OnceLock<RootCerts> = OnceLock::new();
        ROOTS
            .get_or_init(|| {
                let env = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
                let files = env.into_iter().chain(
                    [
                        "/etc/ssl/certs/ca-certificates.crt",
                        "/etc/pki/tls/certs/ca-bundle.crt",
                        "/etc/ssl/ca-bundle.pem",
                        "/etc/ssl/cert.pem",
                    ]
                    .into_iter()
                    .map(std::path::PathBuf::from),
                );
                for f in files {
                    let Ok(pem) = std::fs::read(&f) else { continue };
                    let Ok(ders) = crate::x509::cert::pem_certificates(&pem) else { continue };
                    if !ders.is_empty() {
                        let certs: Vec<Certificate<'static>> =
                            ders.iter().map(|d| Certificate::from_der(d).to_owned()).collect();
                        return RootCerts::from(certs);
                    }
                }
                RootCerts::WebPki
            })
            .clone()
    }
}
