//! Mail security around PEC (MAILSEC.md): inter-provider TLS material from the providers index
//! ([`tls`]: Postfix maps, client-certificate fingerprints, TLSA records) and DKIM signing of
//! the messages pec builds ([`dkim`]: the signature with feature `mailauth`, the DNS record
//! always), and sender authentication at the incoming point ([`auth`]: SPF, DKIM, DMARC and
//! ARC results and the `Authentication-Results` field, the checks with feature `mailauth`).
//!
//! Nothing here touches the S/MIME-signed part of a message: DKIM only prepends one field to
//! the outer header block (MAILSEC.md §0.1).
//!
//! The provider file gains two optional sections, parsed here and checked when the file is
//! parsed ([`crate::provider::ProviderFile::parse`]):
//!
//! ```toml
//! [tls]
//! cert = "mx.pem"                      # the MX's TLS certificate (tlsa.zone)
//! next_cert = "mx-next.pem"            # the next one, published ahead of the rollover
//! mx_hosts = ["mx.pec.example.it"]     # default: the provider domain
//! [tls.peers."pec.beta.test"]
//! policy = "secure"                    # default "encrypt"
//! match = "mx.pec.beta.test"
//! tafile = "/etc/postfix/pec-ca.pem"
//! nexthop = "[127.0.0.3]:2525"
//! certs = ["beta-client.pem"]          # client certificates for ccert_access
//! [dkim]
//! selector = "pec-20250101"
//! domain = "pec.example.it"            # default: the provider domain
//! key = "dkim.pem"                     # or pkcs11_uri (+ pkcs11_module, pin_source)
//! ```
//!
//! Paths are for the caller to resolve (pec-core does no file I/O).

pub mod auth;
pub mod dkim;
pub mod tls;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::{BuildError, Result};

/// The `[tls]` section of the provider file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The MX's TLS certificate (PEM or DER path).
    #[serde(default)]
    pub cert: Option<String>,
    /// The next TLS certificate, published as a second TLSA record before the rollover.
    #[serde(default)]
    pub next_cert: Option<String>,
    /// The provider's MX host names (default: the provider domain).
    #[serde(default)]
    pub mx_hosts: Vec<String>,
    /// Per-peer settings, by the peer's domain (or any next hop).
    #[serde(default)]
    pub peers: BTreeMap<String, TlsPeer>,
}

/// One `[tls.peers."<domain>"]` table.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsPeer {
    /// The Postfix TLS security level toward this peer (default `encrypt`).
    #[serde(default)]
    pub policy: Option<String>,
    /// The `match=` attribute (names the peer certificate must carry).
    #[serde(default, rename = "match")]
    pub match_names: Option<String>,
    /// The `tafile=` attribute (trust anchors for `secure`/`verify`).
    #[serde(default)]
    pub tafile: Option<String>,
    /// The next hop Postfix looks the policy up by, e.g. `[127.0.0.3]:2525`.
    #[serde(default)]
    pub nexthop: Option<String>,
    /// The peer's client certificates (PEM or DER paths) for `ccert_access`.
    #[serde(default)]
    pub certs: Vec<String>,
}

/// The `[dkim]` section of the provider file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    /// The `d=` domain (default: the provider domain).
    #[serde(default)]
    pub domain: Option<String>,
    /// The `s=` selector.
    pub selector: String,
    /// A PEM (or DER) RSA private key path.
    #[serde(default)]
    pub key: Option<String>,
    /// A PKCS#11 URI naming the key (instead of `key`).
    #[serde(default)]
    pub pkcs11_uri: Option<String>,
    /// The PKCS#11 module.
    #[serde(default)]
    pub pkcs11_module: Option<String>,
    /// Where the PIN is: `file:PATH` or `env:VARIABLE`.
    #[serde(default)]
    pub pin_source: Option<String>,
}

/// The Postfix TLS security levels a peer policy may name.
pub const TLS_LEVELS: &[&str] =
    &["none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure"];

impl TlsConfig {
    /// Checks every value that ends up in a Postfix map or a zone file: host and domain
    /// names, known security levels, attribute values without blanks or control characters.
    ///
    /// # Errors
    /// [`BuildError::ProviderConfig`] naming the bad value.
    pub fn validate(&self) -> Result<()> {
        for h in &self.mx_hosts {
            check_dns_name("tls.mx_hosts", h)?;
        }
        for (key, peer) in &self.peers {
            check_map_token("tls.peers key", key)?;
            if let Some(p) = &peer.policy {
                if !TLS_LEVELS.contains(&p.as_str()) {
                    return Err(config(format!(
                        "tls.peers.{key:?}.policy {p:?} is not a Postfix TLS level ({})",
                        TLS_LEVELS.join(", ")
                    )));
                }
            }
            for (what, v) in
                [("match", &peer.match_names), ("tafile", &peer.tafile), ("nexthop", &peer.nexthop)]
            {
                if let Some(v) = v {
                    check_map_token(what, v)?;
                }
            }
        }
        Ok(())
    }
}

impl DkimConfig {
    /// Checks the selector and domain (DNS names) and that exactly one key source is named.
    ///
    /// # Errors
    /// [`BuildError::ProviderConfig`].
    pub fn validate(&self) -> Result<()> {
        dkim::check_selector(&self.selector)?;
        if let Some(d) = &self.domain {
            check_dns_name("dkim.domain", d)?;
        }
        if self.key.is_some() == self.pkcs11_uri.is_some() {
            return Err(config("[dkim] needs exactly one of key and pkcs11_uri".into()));
        }
        Ok(())
    }
}

fn config(message: String) -> crate::Error {
    BuildError::ProviderConfig(message).into()
}

/// A host or domain name: letters, digits, `-`, `_` and dots, labels of 1 to 63 characters.
pub(crate) fn check_dns_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.trim_end_matches('.').split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok { Ok(()) } else { Err(config(format!("{what}: {name:?} is not a DNS name"))) }
}

/// A token of a Postfix table line: printable ASCII without blanks, `#` or `,`.
fn check_map_token(what: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b'#' && b != b',');
    if ok {
        Ok(())
    } else {
        Err(config(format!("{what}: {v:?} holds a blank, a control character, `#` or `,`")))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let mut t = TlsConfig { mx_hosts: vec!["mx.pec.example.it".into()], ..Default::default() };
        t.validate().unwrap();
        t.mx_hosts.push("bad host".into());
        assert!(t.validate().is_err());
        t.mx_hosts.pop();
        t.peers.insert(
            "pec.beta.test".into(),
            TlsPeer {
                policy: Some("secure".into()),
                nexthop: Some("[127.0.0.3]:2525".into()),
                ..Default::default()
            },
        );
        t.validate().unwrap();
        t.peers.get_mut("pec.beta.test").unwrap().policy = Some("bogus".into());
        assert!(t.validate().is_err());
        t.peers.get_mut("pec.beta.test").unwrap().policy = None;
        t.peers.get_mut("pec.beta.test").unwrap().tafile = Some("a b".into());
        assert!(t.validate().is_err());
        let d =
            DkimConfig { selector: "s1".into(), key: Some("k.pem".into()), ..Default::default() };
        d.validate().unwrap();
        assert!(DkimConfig { selector: "s1".into(), ..Default::default() }.validate().is_err());
        assert!(
            DkimConfig { selector: "a;b".into(), key: Some("k".into()), ..Default::default() }
                .validate()
                .is_err()
        );
    }
}
