//! The provider that issues envelopes and notices: its name (`gestore-emittente`), its mail
//! domain (service address `posta-certificata@<domain>`, docs/SPEC.md §1.4, §3.2), how it
//! tells certified from ordinary recipients (§1.1 step 3, §6.2 `destinatari@tipo`) and the
//! generator of its PEC identifiers (§5).
//!
//! pec-core does no file I/O: [`ProviderFile::parse`] reads the text of the provider file the
//! caller loaded; an `index` path in it is for the caller to load into a
//! [`ProviderDirectory`] and hand to [`Provider::with_directory`].

use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use crate::error::{BuildError, Result};
use crate::headers::{check_no_injection, validate_addr_spec};
use crate::identifier::IdentifierGenerator;
use crate::index::ProviderDirectory;
use crate::model::RecipientType;

/// The default size limit of the access point's formal checks: 30 MB of message size ×
/// number of recipients (RFC 6109 §3.1.1; docs/SPEC.md §10.1).
pub const DEFAULT_MAX_SIZE: usize = 30 * 1000 * 1000;

/// The provider file, as text (TOML):
///
/// ```toml
/// name = "Example PEC S.p.A."            # gestore-emittente
/// domain = "pec.example.it"              # service address posta-certificata@<domain>
/// certified_domains = ["pec.example.it"] # PEC domains, until an index is given
/// index = "providers.ldif"               # optional: a path the caller loads
/// timezone = "Europe/Rome"               # optional: zone of generated times
/// ```
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProviderFile {
    /// `gestore-emittente` (equals `providerName` in the index).
    pub name: String,
    /// The provider's mail domain.
    pub domain: String,
    /// The PEC domains known without an index.
    #[serde(default)]
    pub certified_domains: Vec<String>,
    /// A providers index (LDIF) path for the caller to load.
    #[serde(default)]
    pub index: Option<String>,
    /// An IANA time zone name (e.g. `Europe/Rome`) for the time of generated messages.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Inter-provider TLS (`[tls]`, MAILSEC.md §2): see [`crate::mailsec`].
    #[serde(default)]
    pub tls: Option<crate::mailsec::TlsConfig>,
    /// DKIM signing (`[dkim]`, MAILSEC.md §1): see [`crate::mailsec`].
    #[serde(default)]
    pub dkim: Option<crate::mailsec::DkimConfig>,
}

impl ProviderFile {
    /// Parses the provider file's text.
    ///
    /// # Errors
    /// [`BuildError::ProviderConfig`] with the TOML message, or when `name`/`domain` are
    /// empty, contain CR/LF, or `domain` is not a mail domain.
    pub fn parse(text: &str) -> Result<ProviderFile> {
        let file: ProviderFile =
            toml::from_str(text).map_err(|e| BuildError::ProviderConfig(e.to_string()))?;
        file.validate()?;
        Ok(file)
    }

    /// Checks the fields as [`ProviderFile::parse`] does: for a provider file made field by
    /// field (the C ABI's structured constructor) rather than parsed from TOML.
    ///
    /// # Errors
    /// [`BuildError::ProviderConfig`] when `name`/`domain` are empty, contain CR/LF, a domain
    /// is not a mail domain, or the time zone is unknown.
    pub fn validate(&self) -> Result<()> {
        validate_name(&self.name)?;
        validate_domain(&self.domain)?;
        for d in &self.certified_domains {
            validate_domain(d)?;
        }
        if let Some(tz) = &self.timezone {
            tz.parse::<chrono_tz::Tz>()
                .map_err(|_| BuildError::ProviderConfig(format!("unknown time zone {tz:?}")))?;
        }
        if let Some(t) = &self.tls {
            t.validate()?;
        }
        if let Some(d) = &self.dkim {
            d.validate()?;
        }
        Ok(())
    }
}

/// How recipients are classified `certificato` (PEC domain) or `esterno` (ordinary mail).
#[derive(Clone)]
pub enum RecipientPolicy {
    /// A fixed list of PEC domains (ASCII case-insensitive, exact).
    CertifiedDomains(Vec<String>),
    /// The providers index: a domain is certified when some provider's `managedDomains`
    /// holds it (docs/SPEC.md §1.1 step 3).
    Index(Arc<dyn ProviderDirectory>),
}

impl fmt::Debug for RecipientPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecipientPolicy::CertifiedDomains(d) => {
                f.debug_tuple("CertifiedDomains").field(d).finish()
            }
            RecipientPolicy::Index(_) => f.write_str("Index(..)"),
        }
    }
}

impl RecipientPolicy {
    /// `certificato` or `esterno` for `address` (by its domain, case-insensitive).
    pub fn classify(&self, address: &str) -> RecipientType {
        let Some((_, domain)) = address.trim().rsplit_once('@') else {
            return RecipientType::External;
        };
        let domain = domain.trim_end_matches('>');
        let certified = match self {
            RecipientPolicy::CertifiedDomains(list) => {
                list.iter().any(|d| d.eq_ignore_ascii_case(domain))
            }
            RecipientPolicy::Index(dir) => dir.by_domain(&domain.to_ascii_lowercase()).is_some(),
        };
        if certified { RecipientType::Certified } else { RecipientType::External }
    }
}

/// The issuing provider: what every builder needs about who certifies.
#[derive(Debug)]
pub struct Provider {
    /// `gestore-emittente`.
    pub name: String,
    /// The provider's mail domain; service address `posta-certificata@<domain>`.
    pub domain: String,
    /// Certified / external classification of recipients.
    pub recipients: RecipientPolicy,
    pub(crate) ids: IdentifierGenerator,
    pub(crate) timezone: Option<chrono_tz::Tz>,
    pub(crate) max_size: usize,
}

impl Provider {
    /// A provider named `name` on `domain`.
    ///
    /// # Errors
    /// [`BuildError::ProviderConfig`] for an empty name or one with CR/LF, or a bad domain.
    pub fn new(
        name: impl Into<String>,
        domain: impl Into<String>,
        recipients: RecipientPolicy,
    ) -> Result<Provider> {
        let name = name.into();
        let domain = domain.into();
        validate_name(&name)?;
        validate_domain(&domain)?;
        let ids = IdentifierGenerator::new(&domain)
            .map_err(|e| BuildError::ProviderConfig(e.to_string()))?;
        Ok(Provider { name, domain, recipients, ids, timezone: None, max_size: DEFAULT_MAX_SIZE })
    }

    /// A provider from the provider file's text (see [`ProviderFile`]). An `index` entry is
    /// not loaded here: load it and call [`Provider::with_directory`].
    ///
    /// # Errors
    /// As [`ProviderFile::parse`].
    pub fn from_toml(text: &str) -> Result<Provider> {
        Self::from_file(&ProviderFile::parse(text)?)
    }

    /// A provider from a parsed [`ProviderFile`].
    ///
    /// # Errors
    /// As [`Provider::new`]; an unknown time zone.
    pub fn from_file(file: &ProviderFile) -> Result<Provider> {
        let mut p = Provider::new(
            file.name.clone(),
            file.domain.clone(),
            RecipientPolicy::CertifiedDomains(
                file.certified_domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            ),
        )?;
        if let Some(tz) = &file.timezone {
            p.timezone =
                Some(tz.parse::<chrono_tz::Tz>().map_err(|_| {
                    BuildError::ProviderConfig(format!("unknown time zone {tz:?}"))
                })?);
        }
        Ok(p)
    }

    /// Classifies recipients through the providers index from now on.
    pub fn with_directory(mut self, directory: Arc<dyn ProviderDirectory>) -> Provider {
        self.recipients = RecipientPolicy::Index(directory);
        self
    }

    /// [`Provider::with_directory`] under the index name (one vocabulary: "index").
    pub fn with_index(self, index: Arc<dyn ProviderDirectory>) -> Provider {
        self.with_directory(index)
    }

    /// Sets the time zone used when a build is given no time.
    pub fn with_timezone(mut self, tz: chrono_tz::Tz) -> Provider {
        self.timezone = Some(tz);
        self
    }

    /// Sets the formal-check size limit (message size × recipients; default
    /// [`DEFAULT_MAX_SIZE`]).
    pub fn with_max_size(mut self, max_size: usize) -> Provider {
        self.max_size = max_size;
        self
    }

    /// The formal-check size limit.
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// The service address, `posta-certificata@<domain>` (docs/SPEC.md §1.4).
    pub fn service_address(&self) -> String {
        format!("posta-certificata@{}", self.domain)
    }

    /// `certificato` or `esterno` for `address`.
    pub fn classify(&self, address: &str) -> RecipientType {
        self.recipients.classify(address)
    }

    /// The service mailbox (`mailReceipt`) of the provider managing `address`'s domain, when
    /// the index knows it.
    pub fn mail_receipt_for(&self, address: &str) -> Option<String> {
        let RecipientPolicy::Index(dir) = &self.recipients else { return None };
        let (_, domain) = address.trim().rsplit_once('@')?;
        let rec = dir.by_domain(&domain.to_ascii_lowercase())?;
        let m = rec.mail_receipt.trim();
        if m.is_empty() { None } else { Some(m.to_string()) }
    }

    /// A fresh PEC identifier (`local@domain`, no angle brackets) for time `at`.
    pub fn next_id(&self, at: &chrono::DateTime<chrono::FixedOffset>) -> String {
        self.ids.next_id(at)
    }
}

fn validate_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(BuildError::ProviderConfig("provider name is empty".into()).into());
    }
    if check_no_injection("gestore-emittente", name).is_err() || name.chars().any(char::is_control)
    {
        return Err(BuildError::ProviderConfig(
            "provider name contains a line break or control character".into(),
        )
        .into());
    }
    Ok(())
}

fn validate_domain(domain: &str) -> Result<()> {
    let ok = crate::headers::validate_domain(domain).is_ok()
        && validate_addr_spec(&format!("posta-certificata@{domain}")).is_ok();
    if ok {
        Ok(())
    } else {
        Err(BuildError::ProviderConfig(format!("invalid mail domain {domain:?}")).into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn provider_file() {
        let p = Provider::from_toml(
            "name = \"Example PEC S.p.A.\"\ndomain = \"pec.example.it\"\ncertified_domains = [\"PEC.example.it\"]\n",
        )
        .unwrap();
        assert_eq!(p.service_address(), "posta-certificata@pec.example.it");
        assert_eq!(p.classify("a@Pec.Example.IT"), RecipientType::Certified);
        assert_eq!(p.classify("a@example.com"), RecipientType::External);
        assert!(Provider::from_toml("name = \"x\"").is_err());
        assert!(Provider::from_toml("name = \"a\\nb\"\ndomain = \"pec.example.it\"").is_err());
        assert!(Provider::from_toml("name = \"a\"\ndomain = \"pec example.it\"").is_err());
        let f = ProviderFile::parse(
            "name = \"a\"\ndomain = \"x.it\"\nindex = \"i.ldif\"\ntimezone = \"Europe/Rome\"",
        )
        .unwrap();
        assert_eq!(f.index.as_deref(), Some("i.ldif"));
        assert!(
            ProviderFile::parse("name = \"a\"\ndomain = \"x.it\"\ntimezone = \"Mars/X\"").is_err()
        );
    }
    #[test]
    fn provider_file_made_field_by_field_is_checked_as_parsed() {
        let ok = ProviderFile {
            name: "a".into(),
            domain: "x.it".into(),
            certified_domains: vec!["x.it".into()],
            timezone: Some("Europe/Rome".into()),
            ..ProviderFile::default()
        };
        ok.validate().unwrap();
        for bad in [
            ProviderFile { name: "a\r\nb".into(), ..ok.clone() },
            ProviderFile { domain: "x it".into(), ..ok.clone() },
            ProviderFile { certified_domains: vec!["".into()], ..ok.clone() },
            ProviderFile { timezone: Some("Mars/X".into()), ..ok.clone() },
        ] {
            let e = bad.validate().unwrap_err();
            assert_eq!(e.code(), crate::Code::ProviderConfig, "{bad:?}");
        }
    }
}
