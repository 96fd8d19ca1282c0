//! The engine's configuration: the provider file extended with the sections of ENGINE.md
//! §Config. The keys read here are the contract; every other key (`[listen]`, `[relay]`,
//! `[mailbox]`, `[admin]`, `ldap`, PKCS#11 signing, ...) is accepted and ignored, for
//! the daemon to read.
//!
//! Keys this engine adds: `[dns]` and `[auth]` (sender authentication at the incoming point,
//! see [`DnsSection`], [`AuthSection`]); `[atrest]` and `[quarantine]` (encryption at rest
//! of sealed log exports and of the quarantine, see [`EngineConfig::atrest`],
//! [`QuarantineSection`]); `[log] tsa_ca` and `node` (see [`LogSection`]); `[limits] max_size` (formal-check limit of size × recipients, bytes,
//! default 30 MB) and `hard_size` (above it the access point answers 552, default 100 MB).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::Duration;
use serde::Deserialize;

use pec_core::chain::TrustStore;
use pec_core::index::{Directory, ProviderDirectory};
use pec_core::points::{OrdinaryMail, Policy};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::revocation::CrlStore;
use pec_core::signer::{Signer, SoftwareSigner};
use pec_core::smime::VerifyOptions;

use crate::EngineError;

/// The configuration file, as read.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EngineConfig {
    /// `gestore-emittente` (equals `providerName` in the index).
    pub name: String,
    /// The provider's mail domain (service address `posta-certificata@<domain>`).
    pub domain: String,
    /// The providers index (LDIF path, relative to the file).
    #[serde(default)]
    pub index: Option<String>,
    /// PEC domains known without an index (the provider file's key).
    #[serde(default)]
    pub certified_domains: Vec<String>,
    /// The PEC domains whose mailboxes this provider hosts (default `[domain]`).
    #[serde(default)]
    pub local_domains: Option<Vec<String>>,
    /// The zone of generated times (default `Europe/Rome`).
    #[serde(default)]
    pub timezone: Option<String>,
    /// `[signing]`.
    #[serde(default)]
    pub signing: Option<SigningSection>,
    /// `[trust]`.
    #[serde(default)]
    pub trust: Option<TrustSection>,
    /// `[store]`.
    #[serde(default)]
    pub store: Option<StoreSection>,
    /// `[incoming]`.
    #[serde(default)]
    pub incoming: Option<IncomingSection>,
    /// `[timeouts]`.
    #[serde(default)]
    pub timeouts: Option<TimeoutsSection>,
    /// `[limits]` (added by this engine).
    #[serde(default)]
    pub limits: Option<LimitsSection>,
    /// `[log]`: the legal log's exports and seals.
    #[serde(default)]
    pub log: Option<LogSection>,
    /// `[dns]`: the resolver of sender authentication (its presence turns it on).
    #[serde(default)]
    pub dns: Option<DnsSection>,
    /// `[auth]`: sender authentication at the incoming point.
    #[serde(default)]
    pub auth: Option<AuthSection>,
    /// `[atrest]`: whom sealed log exports and the quarantine are encrypted to (MAILSEC.md
    /// §3; `recipients = ["archive.pem", "auditor.pem"]`, `key_transport`).
    #[serde(default)]
    pub atrest: Option<pec_core::atrest::AtRestConfig>,
    /// `[quarantine]`: where quarantined messages are kept.
    #[serde(default)]
    pub quarantine: Option<QuarantineSection>,
    /// The directory relative paths are resolved against (the file's own).
    #[serde(skip)]
    pub base: PathBuf,
}

/// `[signing]`: a software key (`key`, `cert`, `chain`) or a PKCS#11 key (`pkcs11_uri`,
/// `pkcs11_module`, `pin_source`; `cert` optional: else read from the token).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SigningSection {
    /// PEM private key.
    pub key: Option<String>,
    /// PEM certificate.
    pub cert: Option<String>,
    /// PEM intermediate certificates.
    pub chain: Option<String>,
    /// RFC 7512 URI of the private key.
    pub pkcs11_uri: Option<String>,
    /// The PKCS#11 module (else the URI's `module-path`).
    pub pkcs11_module: Option<String>,
    /// `file:PATH` or `env:VAR` (else the URI's `pin-source`; a `pin-value` is refused).
    pub pin_source: Option<String>,
    /// PKCS#11 sessions kept open (default 4).
    pub pkcs11_sessions: Option<usize>,
}

/// `[trust]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TrustSection {
    /// PEM bundles of trust anchors.
    #[serde(default)]
    pub ca_files: Vec<String>,
    /// A directory of trust anchors.
    pub ca_path: Option<String>,
    /// CRL files.
    #[serde(default)]
    pub crls: Vec<String>,
    /// The certificates allowed to sign a `.p7m` providers index (PEM or DER); the signature
    /// must also be valid against `ca_files` / `ca_path`.
    #[serde(default)]
    pub index_signers: Vec<String>,
}

/// `[store]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct StoreSection {
    /// `sqlite:PATH` (relative to the file) or `postgresql://…`.
    pub url: String,
}

/// `[incoming]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct IncomingSection {
    /// `wrap` (default) or `refuse`.
    pub ordinary_mail: Option<String>,
}

/// `[timeouts]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TimeoutsSection {
    /// Default `12h`.
    pub take_charge: Option<String>,
    /// Default `24h`.
    pub delivery: Option<String>,
    /// Default `23h`; inside [22 h, `delivery`].
    pub delivery_fire: Option<String>,
}

/// `[log]` (ENGINE.md §Config; docs/LEGAL-LOG.md).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LogSection {
    /// Where daily exports and seals are written (`DAY.jsonl`, `DAY.tsr` / `DAY.p7s`).
    pub dir: Option<String>,
    /// The RFC 3161 time-stamping authority (`http://` or `https://`); without it a day is
    /// sealed with the provider's own CMS signature only.
    pub tsa_url: Option<String>,
    /// The TSA's CA (PEM): a token is checked against it when received (added by this engine).
    pub tsa_ca: Option<String>,
    /// This node's name: one hash chain per node (default: the host name; added by this
    /// engine).
    pub node: Option<String>,
}

/// `[quarantine]`: the directory where the access and incoming points keep each message
/// they quarantine (a virus), as `<identifier>.eml.p7m` encrypted to `[atrest]` (else
/// `<identifier>.eml`), for 30 months (docs/SPEC.md §1.2). Without it nothing is kept.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineSection {
    /// The directory (relative to the configuration file).
    pub dir: String,
}

/// `[dns]` (MAILSEC.md §1): where sender authentication asks DNS. Exactly one of `zone` (a
/// static zone text answering every name, nothing reaching the network: tests and closed
/// networks; format in `pec_core::mailsec::auth`) and `nameservers` (`ip` or `ip:port`,
/// `[v6]:port`; port 53 by default). Its presence turns sender authentication on.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSection {
    /// A static zone file (relative to the configuration file).
    pub zone: Option<String>,
    /// Recursive resolvers to ask.
    #[serde(default)]
    pub nameservers: Vec<String>,
    /// Each DNS query's timeout (default `5s`; two attempts); a whole check is bounded by
    /// eight times it.
    pub timeout: Option<String>,
}

/// `[auth]` (MAILSEC.md §1): sender authentication at the incoming point, on when `[dns]`
/// is present. Advisory: S/MIME and the index decide every PEC outcome.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// The authserv-id of the `Authentication-Results` field (default: the host name).
    pub authserv_id: Option<String>,
    /// Ordinary mail failing DMARC for a `p=reject` domain: `wrap` (default: an anomaly
    /// envelope as for any ordinary mail) or `discard` (dropped, logged as
    /// `scartato-dmarc`). Never a 5xx: after the queue it would bounce to the forged sender.
    pub dmarc_reject: Option<String>,
    /// Whether anomaly envelopes carry the `Authentication-Results` field (default `true`).
    pub anomaly_header: Option<bool>,
}

/// `[limits]`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LimitsSection {
    /// Formal-check limit (size × recipients), bytes.
    pub max_size: Option<usize>,
    /// Hard size limit, bytes.
    pub hard_size: Option<usize>,
}

fn cfg(msg: impl Into<String>) -> EngineError {
    EngineError::Config(msg.into())
}

/// Parses `12h`, `23h`, `30m`, `90s`, `1d` (a bare number is hours).
///
/// # Errors
/// [`EngineError::Config`].
pub fn parse_duration(s: &str) -> Result<Duration, EngineError> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "h"),
    };
    let n: i64 = num.parse().map_err(|_| cfg(format!("bad duration {s:?}")))?;
    Ok(match unit {
        "s" => Duration::seconds(n),
        "m" | "min" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(cfg(format!("bad duration unit in {s:?} (s, m, h, d)"))),
    })
}

impl EngineConfig {
    /// Parses the file's text; relative paths resolve against `base`.
    ///
    /// # Errors
    /// [`EngineError::Config`] with the TOML message.
    pub fn parse(text: &str, base: &Path) -> Result<EngineConfig, EngineError> {
        let mut c: EngineConfig = toml::from_str(text).map_err(|e| cfg(e.to_string()))?;
        c.base = base.to_path_buf();
        if c.name.trim().is_empty() || c.domain.trim().is_empty() {
            return Err(cfg("name and domain are required"));
        }
        c.policy()?;
        c.auth_settings()?;
        c.atrest()?;
        c.quarantine()?;
        Ok(c)
    }

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    /// [`EngineError::Config`].
    pub fn load(path: &Path) -> Result<EngineConfig, EngineError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| cfg(format!("{}: {e}", path.display())))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &base)
    }

    /// A path of the file, resolved against its directory.
    pub fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() { p.to_path_buf() } else { self.base.join(p) }
    }

    /// The provider's zone (`timezone`, default `Europe/Rome`).
    ///
    /// # Errors
    /// [`EngineError::Config`] for an unknown zone.
    pub fn tz(&self) -> Result<chrono_tz::Tz, EngineError> {
        let tz = self.timezone.as_deref().unwrap_or("Europe/Rome");
        tz.parse().map_err(|_| cfg(format!("unknown time zone {tz:?}")))
    }

    /// This node's name for the legal log (`[log] node`, else the host name).
    pub fn node(&self) -> String {
        self.log
            .as_ref()
            .and_then(|l| l.node.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(crate::host_name)
    }

    /// Reads a file the configuration names (relative to its directory).
    ///
    /// # Errors
    /// [`EngineError::Config`].
    pub fn read_file(&self, p: &str) -> Result<Vec<u8>, EngineError> {
        self.read(p)
    }

    fn read(&self, p: &str) -> Result<Vec<u8>, EngineError> {
        let path = self.path(p);
        std::fs::read(&path).map_err(|e| cfg(format!("{}: {e}", path.display())))
    }

    /// The store URL, with a relative SQLite path resolved (default `sqlite:pec-state.db`
    /// beside the file).
    pub fn store_url(&self) -> String {
        let url =
            self.store.as_ref().map(|s| s.url.clone()).unwrap_or("sqlite:pec-state.db".into());
        match url.strip_prefix("sqlite:") {
            Some(p) => format!("sqlite:{}", self.path(p).display()),
            None => url,
        }
    }

    /// The `[atrest]` recipients, `None` without the section: each file read (relative to
    /// the configuration file) and every certificate in it a recipient.
    ///
    /// # Errors
    /// [`EngineError::Config`] naming the file: empty `recipients`, an unknown
    /// `key_transport`, a missing or unreadable file, a file holding no certificate, a
    /// certificate whose key is not RSA (2048 to 8192 bits).
    pub fn atrest(&self) -> Result<Option<Arc<crate::atrest::AtRest>>, EngineError> {
        use pec_core::atrest::{KeyTransport, Recipient};
        let Some(a) = &self.atrest else { return Ok(None) };
        let transport = match a.key_transport.as_deref() {
            None => KeyTransport::default(),
            Some(name) => KeyTransport::from_name(name).ok_or_else(|| {
                cfg(format!(
                    "[atrest] key_transport {name:?}: expected oaep-sha256, oaep-sha1 or pkcs1"
                ))
            })?,
        };
        if a.recipients.is_empty() {
            return Err(cfg("[atrest] recipients is empty (give the certificates to encrypt to)"));
        }
        let mut recipients = Vec::new();
        for p in &a.recipients {
            let shown = p.display().to_string();
            let bytes = self.read(&shown).map_err(|e| cfg(format!("[atrest] recipients: {e}")))?;
            let found = Recipient::from_pem_or_der(&bytes, transport).map_err(|e| {
                cfg(format!("[atrest] recipients: {}: {e}", self.path(&shown).display()))
            })?;
            recipients.extend(found);
        }
        Ok(Some(Arc::new(crate::atrest::AtRest::new(recipients)?)))
    }

    /// The quarantine (`[quarantine] dir`, encrypted to `[atrest]`), `None` without the
    /// section.
    ///
    /// # Errors
    /// [`EngineError::Config`]: an empty `dir`, or as [`EngineConfig::atrest`].
    pub fn quarantine(&self) -> Result<Option<crate::atrest::Quarantine>, EngineError> {
        let Some(q) = &self.quarantine else { return Ok(None) };
        if q.dir.trim().is_empty() {
            return Err(cfg("[quarantine] dir is empty"));
        }
        Ok(Some(crate::atrest::Quarantine::new(self.path(&q.dir), self.atrest()?)))
    }

    /// Sender authentication's settings (`[dns]`, `[auth]`), `None` when `[dns]` is absent.
    ///
    /// # Errors
    /// [`EngineError::Config`]: both or neither of `zone` and `nameservers`, a bad address,
    /// duration, authserv-id or `dmarc_reject` value, `[auth]` without `[dns]`.
    pub fn auth_settings(&self) -> Result<Option<AuthSettings>, EngineError> {
        let Some(dns) = &self.dns else {
            if self.auth.is_some() {
                return Err(cfg("[auth] needs a [dns] section (zone or nameservers)"));
            }
            return Ok(None);
        };
        let source = match (&dns.zone, dns.nameservers.is_empty()) {
            (Some(z), true) => DnsSource::Zone(self.path(z)),
            (None, false) => {
                let mut v = Vec::new();
                for n in &dns.nameservers {
                    v.push(parse_nameserver(n)?);
                }
                DnsSource::Nameservers(v)
            }
            _ => return Err(cfg("[dns] needs exactly one of zone and nameservers")),
        };
        let timeout = match &dns.timeout {
            Some(t) => parse_duration(t)?
                .to_std()
                .ok()
                .filter(|d| !d.is_zero() && d.as_secs() <= 60)
                .ok_or_else(|| cfg(format!("[dns] timeout {t:?}: from 1s to 60s")))?,
            None => std::time::Duration::from_secs(5),
        };
        let a = self.auth.clone().unwrap_or_default();
        let authserv_id = a.authserv_id.clone().unwrap_or_else(crate::host_name);
        let ok = !authserv_id.is_empty()
            && authserv_id.len() <= 253
            && authserv_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        if !ok {
            return Err(cfg(format!("[auth] authserv_id {authserv_id:?} is not a host name")));
        }
        let discard = match a.dmarc_reject.as_deref() {
            None | Some("wrap") => false,
            Some("discard") => true,
            Some(o) => return Err(cfg(format!("[auth] dmarc_reject = {o:?}: wrap or discard"))),
        };
        Ok(Some(AuthSettings {
            source,
            timeout,
            authserv_id,
            discard,
            anomaly_header: a.anomaly_header.unwrap_or(true),
        }))
    }

    /// The decisions' policy from the file.
    ///
    /// # Errors
    /// [`EngineError::Config`] for a bad duration or policy value, or a 24 h notice fired
    /// outside [22 h, `delivery`] (RFC 6109 §3.1.6).
    pub fn policy(&self) -> Result<Policy, EngineError> {
        let mut p = Policy::new(&self.domain);
        if let Some(l) = &self.local_domains {
            p.local_domains = l.iter().map(|d| d.to_ascii_lowercase()).collect();
        }
        if let Some(i) = &self.incoming {
            p.ordinary_mail = match i.ordinary_mail.as_deref() {
                None | Some("wrap") => OrdinaryMail::Wrap,
                Some("refuse") => OrdinaryMail::Refuse,
                Some(o) => {
                    return Err(cfg(format!("[incoming] ordinary_mail = {o:?}: wrap or refuse")));
                }
            };
        }
        if let Some(t) = &self.timeouts {
            if let Some(s) = &t.take_charge {
                p.take_charge = parse_duration(s)?;
            }
            let delivery = t
                .delivery
                .as_deref()
                .map(parse_duration)
                .transpose()?
                .unwrap_or(Duration::hours(24));
            if let Some(s) = &t.delivery_fire {
                p.delivery_fire = parse_duration(s)?;
            }
            if p.delivery_fire < Duration::hours(22) || p.delivery_fire > delivery {
                return Err(cfg(
                    "[timeouts] delivery_fire must lie in [22h, delivery] (RFC 6109 §3.1.6)",
                ));
            }
        }
        if let Some(l) = &self.limits {
            if let Some(m) = l.max_size {
                p.max_size = m;
            }
            if let Some(h) = l.hard_size {
                p.hard_size = h;
            }
        }
        Ok(p)
    }

    /// The providers index named by `index`: LDIF, or a signed `.p7m` (verified against
    /// `[trust] index_signers`).
    ///
    /// # Errors
    /// [`EngineError::Config`] when it is missing or unreadable.
    pub fn directory(&self) -> Result<Arc<dyn ProviderDirectory>, EngineError> {
        let Some(i) = &self.index else {
            return Err(cfg("the engine needs the providers index (index = \"….ldif\")"));
        };
        let bytes = self.read(i)?;
        let d = if i.to_ascii_lowercase().ends_with(".p7m") {
            // a signed index is used only when its signature is valid against index_signers
            let signers = self.trust.as_ref().map(|t| t.index_signers.as_slice()).unwrap_or(&[]);
            if signers.is_empty() {
                return Err(cfg(format!("{i}: a signed index needs [trust] index_signers")));
            }
            // named by the caller AND valid against the [trust] anchors (issue 12, finding 5)
            let mut named = pec_core::index::IndexSigners::new();
            for f in signers {
                named.add(&self.read(f)?).map_err(|e| cfg(format!("{f}: {e}")))?;
            }
            let t = self.trust.as_ref().ok_or_else(|| cfg("[trust] is required"))?;
            let mut trust = TrustStore::new();
            for f in &t.ca_files {
                trust.add_pem_bundle(&self.read(f)?).map_err(|e| cfg(format!("{f}: {e}")))?;
            }
            if let Some(p) = &t.ca_path {
                trust.add_dir(&self.path(p)).map_err(|e| cfg(format!("{p}: {e}")))?;
            }
            let opts = VerifyOptions { trust: Arc::new(trust), ..VerifyOptions::default() };
            pec_core::index::load_signed_index(&bytes, &named, &opts)
        } else {
            Directory::from_ldif(&bytes)
        };
        Ok(Arc::new(d.map_err(|e| cfg(format!("{i}: {e}")))?))
    }

    /// The issuing provider, classifying through `directory`.
    ///
    /// # Errors
    /// [`EngineError::Config`].
    pub fn provider(&self, directory: Arc<dyn ProviderDirectory>) -> Result<Provider, EngineError> {
        let tz = self.timezone.as_deref().unwrap_or("Europe/Rome");
        let tz: chrono_tz::Tz = tz.parse().map_err(|_| cfg(format!("unknown time zone {tz:?}")))?;
        let p = Provider::new(
            self.name.clone(),
            self.domain.clone(),
            RecipientPolicy::CertifiedDomains(
                self.certified_domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            ),
        )
        .map_err(|e| cfg(e.to_string()))?
        .with_timezone(tz)
        .with_directory(directory);
        Ok(match self.limits.as_ref().and_then(|l| l.max_size) {
            Some(m) => p.with_max_size(m),
            None => p,
        })
    }

    /// The signer of `[signing]`: a software key, or a PKCS#11 key.
    ///
    /// # Errors
    /// [`EngineError::Config`].
    pub fn signer(&self) -> Result<Arc<dyn Signer>, EngineError> {
        let s = self.signing.as_ref().ok_or_else(|| cfg("[signing] is required"))?;
        if let Some(uri) = &s.pkcs11_uri {
            let chain = match &s.chain {
                Some(c) => pec_core::signer::pem_certificates(&self.read(c)?)
                    .map_err(|e| cfg(format!("[signing] chain: {e}")))?,
                None => Vec::new(),
            };
            return self.pkcs11_signer(s, uri, chain);
        }
        let (Some(key), Some(cert)) = (&s.key, &s.cert) else {
            return Err(cfg("[signing] needs key and cert, or pkcs11_uri"));
        };
        let chain_pem = match &s.chain {
            Some(c) => self.read(c)?,
            None => Vec::new(),
        };
        let signer = SoftwareSigner::from_pem(&self.read(key)?, &self.read(cert)?, &chain_pem)
            .map_err(|e| cfg(format!("[signing]: {e}")))?;
        Ok(Arc::new(signer))
    }

    #[cfg(feature = "pkcs11")]
    fn pkcs11_signer(
        &self,
        s: &SigningSection,
        uri: &str,
        chain: Vec<Vec<u8>>,
    ) -> Result<Arc<dyn Signer>, EngineError> {
        use pec_core::pkcs11::{CertSource, Pin, PinSource, Pkcs11Signer, Pkcs11Uri};
        let e = |x: pec_core::Error| cfg(format!("[signing] pkcs11: {x}"));
        let mut uri = Pkcs11Uri::parse(uri).map_err(e)?;
        if uri.pin_value.is_some() {
            return Err(cfg("[signing] pkcs11_uri: pin-value is refused, use pin_source"));
        }
        if let Some(ps) = &s.pin_source {
            uri.pin_source = Some(PinSource::parse(ps).map_err(e)?);
        }
        if uri.pin_source.is_none() {
            return Err(cfg("[signing] needs pin_source (file:PATH or env:VAR)"));
        }
        let module = match (&s.pkcs11_module, &uri.module_path) {
            (Some(m), _) => self.path(m),
            (None, Some(p)) => PathBuf::from(p),
            (None, None) => return Err(cfg("[signing] needs pkcs11_module")),
        };
        let cert = match &s.cert {
            Some(c) => {
                let bytes = self.read(c)?;
                let der = pec_core::signer::pem_certificates(&bytes)
                    .map_err(e)?
                    .into_iter()
                    .next()
                    .unwrap_or(bytes);
                CertSource::Der(der)
            }
            None => CertSource::FromToken,
        };
        let sessions = s.pkcs11_sessions.unwrap_or(4);
        let signer =
            Pkcs11Signer::open(&module, &uri, Pin::FromUri, cert, chain, sessions).map_err(e)?;
        Ok(Arc::new(signer))
    }

    #[cfg(not(feature = "pkcs11"))]
    fn pkcs11_signer(
        &self,
        _: &SigningSection,
        _: &str,
        _: Vec<Vec<u8>>,
    ) -> Result<Arc<dyn Signer>, EngineError> {
        Err(cfg("this build has no PKCS#11 support (feature `pkcs11`)"))
    }

    /// What inbound messages are verified against: `[trust]` and the index.
    ///
    /// # Errors
    /// [`EngineError::Config`].
    pub fn verify_options(
        &self,
        directory: Arc<dyn ProviderDirectory>,
    ) -> Result<VerifyOptions, EngineError> {
        let t = self.trust.as_ref().ok_or_else(|| cfg("[trust] is required"))?;
        let mut trust = TrustStore::new();
        for f in &t.ca_files {
            trust.add_pem_bundle(&self.read(f)?).map_err(|e| cfg(format!("{f}: {e}")))?;
        }
        if let Some(p) = &t.ca_path {
            trust.add_dir(&self.path(p)).map_err(|e| cfg(format!("{p}: {e}")))?;
        }
        if trust.is_empty() {
            return Err(cfg("[trust] names no trust anchor"));
        }
        let crls = if t.crls.is_empty() {
            None
        } else {
            let mut c = CrlStore::new();
            for f in &t.crls {
                c.add(&self.read(f)?).map_err(|e| cfg(format!("{f}: {e}")))?;
            }
            Some(Arc::new(c))
        };
        Ok(VerifyOptions {
            trust: Arc::new(trust),
            crls,
            index: Some(directory),
            ..VerifyOptions::default()
        })
    }
}

/// Where sender authentication asks DNS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DnsSource {
    /// A static zone file (answers every name).
    Zone(PathBuf),
    /// Recursive resolvers.
    Nameservers(Vec<std::net::SocketAddr>),
}

/// `[dns]` and `[auth]`, checked ([`EngineConfig::auth_settings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    /// Where DNS answers come from.
    pub source: DnsSource,
    /// Each query's timeout.
    pub timeout: std::time::Duration,
    /// The authserv-id.
    pub authserv_id: String,
    /// `dmarc_reject = "discard"`.
    pub discard: bool,
    /// `anomaly_header`.
    pub anomaly_header: bool,
}

/// `ip`, `ip:port` or `[v6]:port` (port 53 by default).
fn parse_nameserver(s: &str) -> Result<std::net::SocketAddr, EngineError> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 53));
    }
    s.parse().map_err(|_| cfg(format!("[dns] nameservers: {s:?} is not ip or ip:port")))
}
