//! Two PEC providers on the generated PKI: "Example PEC S.p.A." (`pec.example.it`, the
//! sender's) and "Other PEC S.r.l." (`pec.other.it`, the recipient's), with their signers,
//! providers-index records, trust anchor, CRLs and verification options.

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{Duration, Utc};
use pec_core::chain::TrustStore;
use pec_core::index::{Directory, ProviderDirectory, ProviderRecord};
use pec_core::provider::{Provider, RecipientPolicy};
use pec_core::revocation::CrlStore;
use pec_core::signer::SoftwareSigner;
use pec_core::smime::{VerifyOptions, VerifyTime};
use pec_core::{Error, Result};

use crate::pki::{ProviderSpec, TestPki, pem};

/// The sender's provider.
pub const EXAMPLE: ProviderSpec<'static> =
    ProviderSpec { name: "Example PEC S.p.A.", domain: "pec.example.it" };
/// The recipient's provider.
pub const OTHER: ProviderSpec<'static> =
    ProviderSpec { name: "Other PEC S.r.l.", domain: "pec.other.it" };

/// Provider A of the end-to-end tests behind Postfix (127.0.0.2, ENGINE.md §4).
pub const ALPHA: ProviderSpec<'static> =
    ProviderSpec { name: "Alpha PEC S.p.A.", domain: "pec.alpha.test" };
/// Provider B of the end-to-end tests behind Postfix (127.0.0.3).
pub const BETA: ProviderSpec<'static> =
    ProviderSpec { name: "Beta PEC S.r.l.", domain: "pec.beta.test" };

/// Two providers and their PKI (root → name-constrained PEC CA → one certificate each).
#[derive(Clone, Debug)]
pub struct TwoProviders {
    /// The generated PKI; `pki.providers[i]` is provider `i`.
    pub pki: TestPki,
    specs: [(String, String); 2],
}

impl TwoProviders {
    /// [`EXAMPLE`] and [`OTHER`], certificates valid from a day ago for `days` days.
    ///
    /// # Errors
    /// Key generation or encoding failure.
    pub fn generate(days: i64) -> Result<TwoProviders> {
        TwoProviders::generate_with([EXAMPLE, OTHER], days)
    }

    /// Two given providers, certificates valid from a day ago for `days` days.
    ///
    /// # Errors
    /// Key generation or encoding failure.
    pub fn generate_with(specs: [ProviderSpec<'_>; 2], days: i64) -> Result<TwoProviders> {
        let now = Utc::now();
        let pki = TestPki::generate(&specs, now - Duration::days(1), now + Duration::days(days))?;
        Ok(TwoProviders { pki, specs: specs.map(|s| (s.name.to_string(), s.domain.to_string())) })
    }

    /// `providerName` of provider `i` (0 or 1).
    pub fn name(&self, i: usize) -> &str {
        &self.specs[i].0
    }

    /// PEC domain of provider `i`.
    pub fn domain(&self, i: usize) -> &str {
        &self.specs[i].1
    }

    /// Provider `i`'s software signer (its key, its certificate, the PEC CA as chain).
    ///
    /// # Errors
    /// The key or certificate does not load.
    pub fn signer(&self, i: usize) -> Result<SoftwareSigner> {
        let p = self.issued(i)?;
        SoftwareSigner::from_der(
            &p.key_pkcs8,
            p.cert_der.clone(),
            vec![self.pki.ca.cert_der.clone()],
        )
    }

    /// Provider `i`'s record in the providers index (its certificate and hash, its domain,
    /// `ricevute@<domain>`).
    ///
    /// # Panics
    /// When `i` is not 0 or 1.
    pub fn record(&self, i: usize) -> ProviderRecord {
        let (name, domain) = (self.name(i), self.domain(i));
        let der = &self.pki.providers[i].cert_der;
        ProviderRecord {
            dn: format!("providerName={name},o=postacert"),
            name: name.to_string(),
            cert_hashes: vec![pec_core::crypto::sha1_hex(der)],
            certificates: vec![der.clone()],
            mail_receipt: format!("ricevute@{domain}"),
            managed_domains: vec![domain.to_string()],
            ..ProviderRecord::default()
        }
    }

    /// The providers index of both, in memory.
    ///
    /// # Errors
    /// The records do not make an index.
    pub fn index(&self) -> Result<Arc<dyn ProviderDirectory>> {
        Ok(Arc::new(Directory::from_records(vec![self.record(0), self.record(1)])?))
    }

    /// The same index as LDIF (`providerCertificate;binary::` in base64).
    pub fn ldif(&self) -> String {
        let mut out = String::new();
        for i in 0..2 {
            let r = self.record(i);
            out.push_str(&format!(
                "{}dn: {}\nobjectClass: provider\nproviderName: {}\nproviderCertificateHash: {}\nproviderCertificate;binary:: {}\nmailReceipt: {}\nmanagedDomains: {}\n",
                if i > 0 { "\n" } else { "" },
                r.dn,
                r.name,
                r.cert_hashes[0],
                base64::engine::general_purpose::STANDARD.encode(&r.certificates[0]),
                r.mail_receipt,
                r.managed_domains[0],
            ));
        }
        out
    }

    /// A trust store holding the root.
    ///
    /// # Errors
    /// The root does not load.
    pub fn trust(&self) -> Result<TrustStore> {
        let mut trust = TrustStore::new();
        trust.add_der(&self.pki.root.cert_der)?;
        Ok(trust)
    }

    /// The CRLs of the PEC CA and of the root, revoking nothing.
    ///
    /// # Errors
    /// A CRL does not load.
    pub fn crls(&self) -> Result<CrlStore> {
        let mut crls = CrlStore::new();
        crls.add(&self.pki.crl_der)?;
        crls.add(&self.pki.root_crl_der)?;
        Ok(crls)
    }

    /// Everything a verifier has: trust anchor, CRLs, the index; certificates judged at the
    /// signing time.
    ///
    /// # Errors
    /// As [`TwoProviders::trust`], [`TwoProviders::crls`], [`TwoProviders::index`].
    pub fn verify_options(&self) -> Result<VerifyOptions> {
        Ok(VerifyOptions {
            trust: Arc::new(self.trust()?),
            crls: Some(Arc::new(self.crls()?)),
            index: Some(self.index()?),
            time: VerifyTime::SigningTime,
            ..VerifyOptions::default()
        })
    }

    /// Provider `i` for building, with both domains certified.
    ///
    /// # Errors
    /// An invalid name or domain.
    pub fn provider(&self, i: usize) -> Result<Provider> {
        let certified = vec![self.domain(0).to_string(), self.domain(1).to_string()];
        Provider::new(self.name(i), self.domain(i), RecipientPolicy::CertifiedDomains(certified))
    }

    /// Writes the PKI as the CLI takes it: `root.pem`, `chain.pem` (PEC CA), `a.key`/`a.pem`
    /// and `b.key`/`b.pem` (the two providers), `crl.pem`, `root-crl.pem`, `a.toml`/`b.toml`
    /// (provider configurations, both domains certified) and `index.ldif`.
    ///
    /// # Errors
    /// A write fails.
    pub fn write_files(&self, dir: &Path) -> Result<()> {
        let w = |name: &str, data: &[u8]| {
            let path = dir.join(name);
            std::fs::write(&path, data).map_err(|e| Error::io(path.display(), &e))
        };
        let p = &self.pki;
        w("root.pem", p.root.cert_pem().as_bytes())?;
        w("chain.pem", p.ca.cert_pem().as_bytes())?;
        for (i, tag) in ["a", "b"].into_iter().enumerate() {
            let issued = self.issued(i)?;
            w(&format!("{tag}.key"), issued.key_pem().as_bytes())?;
            w(&format!("{tag}.pem"), issued.cert_pem().as_bytes())?;
            let toml = format!(
                "name = \"{}\"\ndomain = \"{}\"\ncertified_domains = [\"{}\", \"{}\"]\n",
                self.name(i),
                self.domain(i),
                self.domain(0),
                self.domain(1)
            );
            w(&format!("{tag}.toml"), toml.as_bytes())?;
        }
        w("crl.pem", pem("X509 CRL", &p.crl_der).as_bytes())?;
        w("root-crl.pem", pem("X509 CRL", &p.root_crl_der).as_bytes())?;
        w("index.ldif", self.ldif().as_bytes())?;
        Ok(())
    }

    /// [`TwoProviders::write_files`], plus one provider engine configuration per provider
    /// (`a-engine.toml`, `b-engine.toml`: ENGINE.md §Config with the index, the software key,
    /// the root as trust anchor and the store `sqlite:a.db` / `sqlite:b.db` beside them), as
    /// the engine's C, Python and Perl tests open them.
    ///
    /// # Errors
    /// A write fails.
    pub fn write_engine_files(&self, dir: &Path) -> Result<()> {
        self.write_files(dir)?;
        for (i, tag) in ["a", "b"].into_iter().enumerate() {
            let toml = format!(
                "name = \"{name}\"\ndomain = \"{domain}\"\nindex = \"index.ldif\"\n\
                 timezone = \"Europe/Rome\"\n\n[signing]\nkey = \"{tag}.key\"\n\
                 cert = \"{tag}.pem\"\nchain = \"chain.pem\"\n\n[trust]\n\
                 ca_files = [\"root.pem\"]\n\n[store]\nurl = \"sqlite:{tag}.db\"\n",
                name = self.name(i),
                domain = self.domain(i),
            );
            let path = dir.join(format!("{tag}-engine.toml"));
            std::fs::write(&path, toml).map_err(|e| Error::io(path.display(), &e))?;
        }
        Ok(())
    }

    fn issued(&self, i: usize) -> Result<&crate::pki::Issued> {
        self.pki
            .providers
            .get(i)
            .ok_or_else(|| Error::InvalidArgument(format!("no provider {i} in the test PKI")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_providers_index_loads_as_ldif_and_records_alike() {
        let s = TwoProviders::generate(30).unwrap();
        let from_ldif = Directory::from_ldif(s.ldif().as_bytes()).unwrap();
        assert_eq!(from_ldif.len(), 2);
        let idx = s.index().unwrap();
        for i in 0..2 {
            let a = from_ldif.by_domain(s.domain(i)).unwrap();
            let b = idx.by_domain(s.domain(i)).unwrap();
            assert_eq!(
                (&a.name, &a.cert_hashes, &a.mail_receipt),
                (&b.name, &b.cert_hashes, &b.mail_receipt)
            );
        }
        s.signer(1).unwrap();
        s.verify_options().unwrap();
        assert!(s.signer(2).is_err());
    }
}
