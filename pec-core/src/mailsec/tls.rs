//! Inter-provider TLS from the providers index (MAILSEC.md §2): SHA-256 fingerprints of
//! certificates and public keys (what Postfix's `check_ccert_access` matches with
//! `smtpd_tls_fingerprint_digest = sha256`), DANE `3 1 1` TLSA records, and the four files of
//! `pec index postfix-maps` ([`postfix_maps`]).
//!
//! The index holds each provider's managed domains and S/MIME signing certificates, but no MX
//! names and no TLS certificates: the policy toward every other provider's domain is
//! `encrypt` (TLS required, peer not authenticated), raised per peer by `[tls.peers]`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use der::{Decode as _, Encode as _};
use x509_cert::Certificate;

use super::TlsConfig;
use crate::crypto::{DigestAlgorithm, hex};
use crate::error::{CertificateError, Result};
use crate::index::ProviderRecord;
use crate::x509::pem::is_pem;

/// The two SHA-256 fingerprints Postfix matches a client certificate by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprints {
    /// SHA-256 of the certificate's DER, `AA:BB:...` (as `openssl x509 -fingerprint -sha256`).
    pub certificate: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo, `AA:BB:...` (Postfix's public-key
    /// fingerprint; also the data of a `3 1 1` TLSA record).
    pub public_key: String,
}

/// The certificates of a file: every `CERTIFICATE` block of PEM, or the whole input as DER.
///
/// # Errors
/// [`CertificateError::BadCertificate`] for bad PEM, a PEM file without certificate, or input
/// that does not parse as a certificate.
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let certs =
        if is_pem(bytes) { crate::signer::pem_certificates(bytes)? } else { vec![bytes.to_vec()] };
    if certs.is_empty() {
        return Err(CertificateError::BadCertificate("no CERTIFICATE block in PEM".into()).into());
    }
    for c in &certs {
        parse(c)?;
    }
    Ok(certs)
}

fn parse(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der)
        .map_err(|e| CertificateError::BadCertificate(format!("certificate: {e}")).into())
}

/// The DER SubjectPublicKeyInfo of a certificate, exactly as encoded in it.
///
/// # Errors
/// [`CertificateError::BadCertificate`] when `cert_der` is not a certificate.
pub fn spki_der(cert_der: &[u8]) -> Result<Vec<u8>> {
    parse(cert_der)?
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| CertificateError::BadCertificate(format!("public key: {e}")).into())
}

/// Uppercase hex with colons, as Postfix and OpenSSL print fingerprints.
pub fn colon_hex(bytes: &[u8]) -> String {
    let h = hex(bytes).to_ascii_uppercase();
    let mut s = String::with_capacity(h.len() * 3 / 2);
    for (i, pair) in h.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(std::str::from_utf8(pair).unwrap_or_default());
    }
    s
}

/// The SHA-256 fingerprints of a certificate and of its public key.
///
/// # Errors
/// [`CertificateError::BadCertificate`] when `cert_der` is not a certificate.
pub fn fingerprints(cert_der: &[u8]) -> Result<Fingerprints> {
    let spki = spki_der(cert_der)?;
    Ok(Fingerprints {
        certificate: colon_hex(&DigestAlgorithm::Sha256.digest(cert_der)),
        public_key: colon_hex(&DigestAlgorithm::Sha256.digest(&spki)),
    })
}

/// The RDATA of a DANE-EE TLSA record (`3 1 1`: end entity, SubjectPublicKeyInfo, SHA-256),
/// lowercase hex: `3 1 1 <64 hex digits>` (RFC 6698 §2.1, RFC 7671). It survives a
/// certificate renewal that keeps the key.
///
/// # Errors
/// [`CertificateError::BadCertificate`] when `cert_der` is not a certificate.
pub fn tlsa_rdata(cert_der: &[u8]) -> Result<String> {
    Ok(format!("3 1 1 {}", hex(&DigestAlgorithm::Sha256.digest(&spki_der(cert_der)?))))
}

/// The TLSA resource record of `host`'s SMTP service (port 25) for a certificate.
///
/// # Errors
/// As [`tlsa_rdata`]; [`crate::error::BuildError::ProviderConfig`] for a bad host name.
pub fn tlsa_record(host: &str, cert_der: &[u8]) -> Result<String> {
    super::check_dns_name("MX host", host)?;
    Ok(format!("_25._tcp.{}. IN TLSA {}", host.trim_end_matches('.'), tlsa_rdata(cert_der)?))
}

/// What [`postfix_maps`] works from. Certificates are DER, already read by the caller.
#[derive(Clone, Debug)]
pub struct MapsInput<'a> {
    /// Our `providerName` (our own index entries are left out of the maps).
    pub own_name: &'a str,
    /// Our mail domain.
    pub own_domain: &'a str,
    /// The `[tls]` section (may be the default).
    pub tls: &'a TlsConfig,
    /// Every record of the providers index.
    pub records: &'a [Arc<ProviderRecord>],
    /// The MX's current TLS certificate (`[tls] cert`).
    pub tls_cert: Option<&'a [u8]>,
    /// The next TLS certificate (`[tls] next_cert`).
    pub next_cert: Option<&'a [u8]>,
    /// The client certificates of each `[tls.peers]` entry, by its key.
    pub peer_certs: &'a BTreeMap<String, Vec<Vec<u8>>>,
    /// Also list the index's S/MIME certificates of the other providers in `ccert_access`
    /// (they match only where a peer uses its signing certificate for TLS: test networks).
    pub index_certs: bool,
    /// The directory the maps are installed in, as `main.cf` names it.
    pub map_dir: &'a str,
}

/// The four files of `pec index postfix-maps`, as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostfixMaps {
    /// `smtp_tls_policy_maps`: next hop → TLS level and attributes, sorted by key.
    pub tls_policy: String,
    /// `check_ccert_access`: `AA:BB:... OK` lines, sorted by fingerprint.
    pub ccert_access: String,
    /// The TLSA records of our MX hosts.
    pub tlsa_zone: String,
    /// The `main.cf` settings that use the maps.
    pub main_cf_snippet: String,
}

impl PostfixMaps {
    /// The files as (name, content) pairs, in a fixed order.
    pub fn files(&self) -> [(&'static str, &str); 4] {
        [
            ("tls_policy", &self.tls_policy),
            ("ccert_access", &self.ccert_access),
            ("tlsa.zone", &self.tlsa_zone),
            ("main.cf.snippet", &self.main_cf_snippet),
        ]
    }
}

const GENERATED: &str =
    "generated by `pec index postfix-maps` from the providers index; do not edit";

/// Builds the Postfix TLS files from the index and the `[tls]` section (MAILSEC.md §2).
///
/// # Errors
/// [`crate::error::BuildError::ProviderConfig`] for a bad `[tls]` value,
/// [`CertificateError::BadCertificate`] for a certificate that does not parse.
pub fn postfix_maps(input: &MapsInput<'_>) -> Result<PostfixMaps> {
    input.tls.validate()?;
    let is_own = |r: &ProviderRecord| {
        r.name.eq_ignore_ascii_case(input.own_name) || r.manages(input.own_domain)
    };
    let others: Vec<&ProviderRecord> =
        input.records.iter().map(Arc::as_ref).filter(|r| !is_own(r)).collect();

    // tls_policy
    let mut policy: BTreeMap<String, String> = BTreeMap::new();
    for r in &others {
        for d in &r.managed_domains {
            if !input.own_domain.eq_ignore_ascii_case(d) {
                policy.insert(d.to_ascii_lowercase(), "encrypt".to_owned());
            }
        }
    }
    for (key, peer) in &input.tls.peers {
        let mut value = peer.policy.clone().unwrap_or_else(|| "encrypt".to_owned());
        if let Some(m) = &peer.match_names {
            let _ = write!(value, " match={m}");
        }
        if let Some(t) = &peer.tafile {
            let _ = write!(value, " tafile={t}");
        }
        policy.insert(key.to_ascii_lowercase(), value.clone());
        if let Some(hop) = &peer.nexthop {
            policy.insert(hop.clone(), value);
        }
    }
    let mut tls_policy = format!("# {GENERATED}\n");
    for (k, v) in &policy {
        let _ = writeln!(tls_policy, "{k} {v}");
    }

    // ccert_access
    let mut fps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |der: &[u8], label: &str| -> Result<()> {
        let f = fingerprints(der)?;
        fps.entry(f.certificate).or_default().push(format!("{label}: certificate"));
        fps.entry(f.public_key).or_default().push(format!("{label}: public key"));
        Ok(())
    };
    for (key, certs) in input.peer_certs {
        for c in certs {
            add(c, &format!("peer {key}"))?;
        }
    }
    if input.index_certs {
        for r in &others {
            for c in &r.certificates {
                add(c, &format!("index {}", one_line(&r.name)))?;
            }
        }
    }
    let mut ccert_access = format!("# {GENERATED}\n# smtpd_tls_fingerprint_digest = sha256\n");
    for (fp, labels) in &fps {
        let _ = writeln!(ccert_access, "# {}\n{fp} OK", labels.join("; "));
    }

    // tlsa.zone
    let hosts: Vec<String> = if input.tls.mx_hosts.is_empty() {
        vec![input.own_domain.to_ascii_lowercase()]
    } else {
        input.tls.mx_hosts.iter().map(|h| h.to_ascii_lowercase()).collect()
    };
    let mut tlsa_zone = format!("; {GENERATED}\n");
    for h in &hosts {
        for (what, cert) in [("current", input.tls_cert), ("next", input.next_cert)] {
            if let Some(c) = cert {
                let _ = writeln!(tlsa_zone, "; {what} certificate\n{}", tlsa_record(h, c)?);
            }
        }
    }

    let dir = input.map_dir.trim_end_matches('/');
    let main_cf_snippet = format!(
        "# {GENERATED}\n\
         # run `postmap {dir}/tls_policy {dir}/ccert_access` after each update\n\
         smtpd_tls_security_level = may\n\
         smtpd_tls_ask_ccert = yes\n\
         smtpd_tls_fingerprint_digest = sha256\n\
         smtp_tls_policy_maps = hash:{dir}/tls_policy\n\
         # client-certificate access, for an inter-node or backup-MX port only (never port 25,\n\
         # which must accept plain mail), in master.cf:\n\
         #   -o smtpd_tls_security_level=encrypt -o smtpd_tls_ask_ccert=yes\n\
         #   -o smtpd_recipient_restrictions=check_ccert_access,hash:{dir}/ccert_access,reject\n"
    );
    Ok(PostfixMaps { tls_policy, ccert_access, tlsa_zone, main_cf_snippet })
}

/// A label for a comment line: control characters replaced.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn colon_hex_format() {
        assert_eq!(colon_hex(&[0xab, 0x01, 0xff]), "AB:01:FF");
        assert_eq!(colon_hex(&[]), "");
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(read_certificates(b"garbage").is_err());
        assert!(read_certificates(b"-----BEGIN FOO-----\nAA==\n-----END FOO-----\n").is_err());
        assert!(fingerprints(b"").is_err());
        assert!(tlsa_rdata(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    }
}
