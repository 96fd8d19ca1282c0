//! Certificate revocation lists: loading (PEM or DER), checking (signature, issuer,
//! thisUpdate/nextUpdate), a cache, and a pluggable fetcher for CRL distribution points
//! (offline by default).
//!
//! Spec digest §7.3 step 3: "check revocation (CRL; if cached, refresh often enough to track CA
//! publication)". A CRL is usable for a certificate (RFC 5280 §6.3, simplified to complete,
//! direct CRLs) when its issuer name matches the certificate's issuer, its signature verifies
//! with the issuer's key (which, when it has keyUsage, must allow `cRLSign`), and
//! `thisUpdate ≤ at ≤ nextUpdate`. Delta CRLs, indirect CRLs, CRLs partitioned by reason and
//! CRLs with an unknown critical extension are never usable. A CRL whose issuing distribution
//! point is limited to end-entity (or CA) certificates is used only for those.
//!
//! With the cargo feature `crl-http`, [`HttpCrlFetcher`] fetches `http://` and `https://`
//! distribution points with ureq (blocking; TLS by rustls on aws-lc-rs; proxies from the
//! environment).

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::Decode;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::IssuingDistributionPoint;

use crate::chain::{CertInfo, KU_CRL_SIGN, SigAlg};
use crate::error::{CertificateError, Error, Result};

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
        self.crls.iter().any(|c| c.revoked.contains(serial))
    }

    fn fetched_count(&self) -> usize {
        self.state.fetched.read().map(|m| m.values().map(Vec::len).sum()).unwrap_or(0)
    }

    /// The revocation verdict for `cert` issued by `issuer` at `at` (RFC 5280 §6.3).
    pub(crate) fn check(
        &self,
        cert: &CertInfo,
        issuer: &CertInfo,
        at: DateTime<Utc>,
    ) -> CrlVerdict {
        let mut usable = false;
        let local = self
            .by_issuer
            .get(&cert.issuer_key)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|&i| self.crls.get(i).cloned());
        let fetched: Vec<Arc<CrlInfo>> = self
            .state
            .fetched
            .read()
            .map(|m| {
                m.values().flatten().filter(|c| c.issuer_key == cert.issuer_key).cloned().collect()
            })
            .unwrap_or_default();
        for crl in local.chain(fetched) {
            match self.judge(&crl, cert, issuer, at) {
                Some(true) => return CrlVerdict::Revoked,
                Some(false) => usable = true,
                None => {}
            }
        }
        if usable {
            return CrlVerdict::Good;
        }
        let Some(fetcher) = &self.fetcher else { return CrlVerdict::Unknown };
        let urls = cert
            .crl_urls
            .iter()
            .filter(|u| u.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")))
            .take(MAX_URLS_PER_CERT);
        for url in urls {
            if !self.state.may_fetch(url) {
                continue;
            }
            let Ok(bytes) = fetcher.fetch(url) else { continue };
            let Ok(parsed) = parse_crls(&bytes) else { continue };
            let parsed: Vec<Arc<CrlInfo>> = parsed.into_iter().map(Arc::new).collect();
            if let Ok(mut map) = self.state.fetched.write() {
                if map.len() >= MAX_FETCHED_URLS {
                    map.clear();
                }
                map.insert(url.clone(), parsed.clone());
            }
            for crl in parsed.iter().filter(|c| c.issuer_key == cert.issuer_key) {
                match self.judge(crl, cert, issuer, at) {
                    Some(true) => return CrlVerdict::Revoked,
                    Some(false) => usable = true,
                    None => {}
                }
            }
            if usable {
                return CrlVerdict::Good;
            }
        }
        CrlVerdict::Unknown
    }

    /// `None` when `crl` is not usable for `cert`, else whether it lists `cert`.
    fn judge(
        &self,
        crl: &CrlInfo,
        cert: &CertInfo,
        issuer: &CertInfo,
        at: DateTime<Utc>,
    ) -> Option<bool> {
        if !crl.usable || crl.issuer_key != issuer.subject_key {
            return None;
        }
        if (crl.only_user_certs && cert.is_ca()) || (crl.only_ca_certs && !cert.is_ca()) {
            return None;
        }
        if at < crl.this_update || crl.next_update.is_some_and(|n| at > n) {
            return None;
        }
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
        Some(crl.revoked.contains(strip_zeros(&cert.serial)))
    }

    fn signature_ok(&self, crl: &CrlInfo, issuer: &CertInfo) -> bool {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&issuer.sha256);
        key[32..].copy_from_slice(&crl.sha256);
        if let Ok(map) = self.state.signatures.read()
            && let Some(ok) = map.get(&key)
        {
            return *ok;
        }
        let tbs = crl.der.get(crl.tbs.clone()).unwrap_or(&[]);
        let ok = issuer.key.verify(crl.sig_alg, tbs, &crl.signature);
        if let Ok(mut map) = self.state.signatures.write() {
            if map.len() >= SIGNATURE_CACHE_SIZE {
                map.clear();
            }
            map.insert(key, ok);
        }
        ok
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
    /// Distribution point URL → CRLs fetched from it.
    fetched: RwLock<HashMap<String, Vec<Arc<CrlInfo>>>>,
    /// Distribution point URL → last fetch attempt.
    attempts: Mutex<HashMap<String, Instant>>,
    /// (SHA-256 of issuer certificate ‖ SHA-256 of CRL) → signature verified.
    signatures: RwLock<HashMap<[u8; 64], bool>>,
}

impl CrlState {
    fn may_fetch(&self, url: &str) -> bool {
        let Ok(mut attempts) = self.attempts.lock() else { return false };
        let now = Instant::now();
        if let Some(last) = attempts.get(url)
            && now.duration_since(*last) < REFETCH_INTERVAL
        {
            return false;
        }
        if attempts.len() >= MAX_FETCHED_URLS {
            attempts.retain(|_, t| now.duration_since(*t) < REFETCH_INTERVAL);
        }
        attempts.insert(url.to_owned(), now);
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
    this_update: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
    revoked: HashSet<Vec<u8>>,
    sig_alg: Option<SigAlg>,
    signature: Vec<u8>,
    aki: Option<Vec<u8>>,
    /// Complete, direct, not a delta, no unknown critical extension.
    usable: bool,
    only_user_certs: bool,
    only_ca_certs: bool,
}

fn parse_crls(bytes: &[u8]) -> Result<Vec<CrlInfo>> {
    if bytes.first() == Some(&0x30) {
        return Ok(vec![parse_crl(bytes.to_vec())?]);
    }
    let blocks = crate::chain::pem_blocks(bytes, &|l| l == "X509 CRL")
        .map_err(|e| bad_crl(&e.to_string()))?;
    if blocks.is_empty() {
        return Err(bad_crl("no CRL found"));
    }
    blocks.into_iter().map(parse_crl).collect()
}

fn parse_crl(der: Vec<u8>) -> Result<CrlInfo> {
    let tbs = crate::chain::raw_tbs(&der).ok_or_else(|| bad_crl("not a DER CRL"))?;
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
        sha256: crate::chain::sha256_of(&der),
        tbs,
        issuer_key: crate::chain::name_key(&list.issuer),
        this_update: to_chrono(list.this_update),
        next_update: list.next_update.map(to_chrono),
        revoked: HashSet::new(),
        sig_alg,
        signature,
        aki: None,
        usable: true,
        only_user_certs: false,
        only_ca_certs: false,
        der: Vec::new(),
    };
    for ext in list.crl_extensions.as_deref().unwrap_or(&[]) {
        match ext.extn_id {
            OID_ISSUING_DISTRIBUTION_POINT => {
                match IssuingDistributionPoint::from_der(ext.extn_value.as_bytes()) {
                    Ok(idp) => {
                        info.only_user_certs = idp.only_contains_user_certs;
                        info.only_ca_certs = idp.only_contains_ca_certs;
                        if idp.indirect_crl
                            || idp.only_some_reasons.is_some()
                            || idp.only_contains_attribute_certs
                        {
                            info.usable = false;
                        }
                    }
                    Err(_) => info.usable = false,
                }
            }
            OID_DELTA_CRL_INDICATOR => info.usable = false,
            OID_AUTHORITY_KEY_IDENTIFIER => {
                info.aki = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(
                    ext.extn_value.as_bytes(),
                )
                .ok()
                .and_then(|a| a.key_identifier)
                .map(|o| o.as_bytes().to_vec());
            }
            OID_CRL_NUMBER | OID_FRESHEST_CRL | OID_AUTHORITY_INFO_ACCESS => {}
            _ => info.usable &= !ext.critical,
        }
    }
    for entry in list.revoked_certificates.as_deref().unwrap_or(&[]) {
        let mut remove = false;
        for ext in entry.crl_entry_extensions.as_deref().unwrap_or(&[]) {
            match ext.extn_id {
                // removeFromCRL (8) only appears in delta CRLs: such an entry revokes nothing.
                OID_CRL_REASON => remove = ext.extn_value.as_bytes() == [0x0a, 0x01, 0x08],
                OID_INVALIDITY_DATE | OID_HOLD_INSTRUCTION => {}
                // certificateIssuer (indirect CRL) or unknown critical entry extension.
                _ => info.usable &= !ext.critical,
            }
        }
        if !remove {
            info.revoked.insert(strip_zeros(entry.serial_number.as_bytes()).to_vec());
        }
    }
    info.der = der;
    Ok(info)
}

fn strip_zeros(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|&b| b != 0).unwrap_or(serial.len());
    serial.get(start..).unwrap_or(&[])
}

fn to_chrono(t: x509_cert::time::Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn bad_crl(msg: &str) -> Error {
    Error::Certificate(CertificateError::BadCrl(msg.to_owned()))
}

const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const OID_CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
const OID_HOLD_INSTRUCTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.23");
const OID_INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");
const OID_DELTA_CRL_INDICATOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.27");
const OID_ISSUING_DISTRIBUTION_POINT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const OID_AUTHORITY_KEY_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_FRESHEST_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.46");
const OID_AUTHORITY_INFO_ACCESS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");

#[cfg(feature = "crl-http")]
pub use http::HttpCrlFetcher;

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
                .max_redirects(u32::from(self.max_redirects))
                .max_redirects_will_error(true)
                .user_agent("pec-core")
                .accept("application/pkix-crl, */*")
                .timeout_global(Some(self.timeout.saturating_mul(4)))
                .timeout_connect(Some(self.timeout))
                .timeout_per_read(Some(self.timeout))
                .timeout_per_write(Some(self.timeout))
                .max_idle_connections(0)
                .build()
                .into()
        }
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
                    let Ok(ders) = crate::signer::pem_certificates(&pem) else { continue };
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
